import json

import pytest

from layerwise import config
from layerwise.claims import (FAIL, INCONCLUSIVE, NOT_REPRODUCED, NOT_SUPPORTED, PASS, REPRODUCED, SUPPORTED, TIE,
                              ClaimError, Control, Ledger, SanityError, bootstrap_mean_interval, evaluate,
                              evaluate_value, spearman_with_position)


@pytest.fixture
def ledger(tmp_path):
    return Ledger(config.resolve("01", "smoke", results_dir=tmp_path))


@pytest.mark.parametrize("test, value, expected", [
    (">= 0.999", 0.9995, PASS), (">= 0.999", 0.99, FAIL), (">= 1", 1.0, PASS), ("> 1", 1.0, TIE),
    ("< 0.1", 0.1, TIE), ("< 0.1", 0.05, PASS),
    ("in [0.25, 0.32]", [0.28, 0.29], PASS), ("in [0.25, 0.32]", [0.28, 0.33], FAIL),
    ("within 5% of 0.285", 0.29, PASS), ("within 5% of 0.285", 0.31, FAIL),
    ("<= 3", {"a": 1, "b": 3}, PASS), (">= 0", float("nan"), FAIL),
    ("increasing", [1, 2, 3], PASS), ("increasing", [7, 7, 7, 7], TIE), ("increasing", [1, 3, 2], FAIL),
    ("non-decreasing", [7, 7, 8], PASS), ("decreasing", [3, 2, 2], TIE), ("non-increasing", [3, 4], FAIL),
    ("last >= 0.98", [0.1, 0.5, 0.99], PASS), ("first < 0.5", [0.6, 0.1], FAIL), ("max <= 2", [1, 2], PASS),
    ("mean in [1, 2]", [1, 3], PASS), ("min > 0", [0, 1], TIE),
    ("spearman >= 0.9", [0.1, 0.2, 0.5, 0.9], PASS), ("spearman >= 0.9", [0.9, 0.1, 0.5], FAIL),
    ("increasing and last >= 0.98", [0.5, 0.9, 0.99], PASS), ("increasing and last >= 0.98", [0.5, 0.9], FAIL),
    ({"r2": ">= 0.99", "d": "increasing"}, {"r2": 0.995, "d": [1, 2]}, PASS),
    ({"r2": ">= 0.99", "d": "increasing"}, {"r2": 0.995, "d": [1, 1]}, TIE),
    ({"r2": ">= 0.99", "d": "increasing"}, {"r2": 0.9, "d": [1, 1]}, FAIL),
])
def test_each_test_gives_pass_fail_or_tie(test, value, expected):
    assert evaluate_value(test, value) == expected
    assert evaluate(test, value) is (expected == PASS)


def test_malformed_tests_and_rules_are_rejected(ledger):
    with pytest.raises(ClaimError, match="cannot read test"):
        evaluate("about 3", 3)
    with pytest.raises(ClaimError, match="needs a sequence"):
        evaluate("increasing", 3)
    with pytest.raises(ClaimError, match="rule must be"):
        ledger.claim("x", statement="s", source="s", test="> 0", values=[1, 2, 3], control=Control("c", [0, 0, 0]),
                     rule="most")
    with pytest.raises(ClaimError, match="needs a Control"):
        ledger.claim("y", statement="s", source="s", test="> 0", values=[1, 2, 3], control=None)


def test_spearman_with_position_is_one_for_a_monotone_sequence_and_minus_one_reversed():
    assert spearman_with_position([0.1, 0.4, 0.5, 2.0]) == pytest.approx(1.0)
    assert spearman_with_position([3, 2, 1]) == pytest.approx(-1.0)
    assert spearman_with_position([1, 1, 1]) == 0.0


def claim(ledger, values, control, **kw):
    kw.setdefault("test", ">= 0.9")
    return ledger.claim(f"c{len(ledger.entries)}", statement="s", source="src", values=values,
                        control=Control("untrained net", control), **kw)


def test_all_seeds_passing_with_a_failing_control_reproduce(ledger):
    c = claim(ledger, {0: 0.95, 1: 0.97, 2: 0.91}, {0: 0.5, 1: 0.4, 2: 0.6})
    assert c.verdict == REPRODUCED and c.reason == "3/3 seeds pass (rule: all)" and c.decide == ""
    assert c.control["outcome"] == "untrained net: 0/3 seeds pass (rule all: fails)"
    assert c.measured == "0.95 / 0.97 / 0.91 (seeds 0, 1, 2)" and c.value == "mean 0.943"
    assert c.control["measured"] == "0.5 / 0.4 / 0.6 (seeds 0, 1, 2)" and c.control["value"] == "mean 0.5"


def test_a_control_that_passes_by_the_same_rule_makes_the_claim_inconclusive(ledger):
    c = claim(ledger, [0.95, 0.97, 0.91], [0.93, 0.92, 0.95])
    assert c.verdict == INCONCLUSIVE and "the control does as well" in c.reason
    assert c.decide.startswith("the effect over the control: declare a margin (the paired effect here is mean")
    once = claim(ledger, [0.95, 0.97, 0.91], [0.93, 0.1, 0.1])  # passing on one seed is no veto
    assert once.verdict == REPRODUCED and once.control["outcome"].endswith("1/3 seeds pass (rule all: undecided)")


def test_a_control_that_only_ties_does_not_fake_the_effect(ledger):
    c = claim(ledger, [[1, 2, 3]] * 3, [[1, 1, 1]] * 3, test="increasing")
    assert c.verdict == REPRODUCED


def test_a_margin_over_the_control_is_tested_per_seed(ledger):
    beats = claim(ledger, [0.31, 0.32, 0.31], [0.25, 0.26, 0.24], test="> 0", margin=">= 0.05")
    assert beats.verdict == REPRODUCED
    same = claim(ledger, [0.246, 0.290, 0.246], [0.263, 0.304, 0.241], test="> 0", margin=">= 0.05")
    assert same.verdict == NOT_REPRODUCED and "3/3 seeds fail" in same.reason


def test_disagreeing_seeds_are_inconclusive_and_all_failing_is_not_reproduced(ledger):
    mixed = claim(ledger, [29, 34, 37], [100, 100, 100], test="in [9, 30]")
    assert mixed.verdict == INCONCLUSIVE and mixed.reason.startswith("seeds disagree: 1/3 seeds pass")
    fails = claim(ledger, [0.1, 0.2, 0.3], [0.0, 0.0, 0.0])
    assert fails.verdict == NOT_REPRODUCED


def test_ties_are_never_reproductions(ledger):
    c = claim(ledger, [[7, 7, 7, 7]] * 3, [[1, 2, 3, 4]] * 3, test="increasing")
    assert c.verdict == INCONCLUSIVE and c.reason.startswith("ties decide it: 0/3 seeds pass, 3 ties")


def test_k_of_n_rule(ledger):
    c = claim(ledger, [0.95, 0.97, 0.5], [0.1, 0.1, 0.1], rule="2 of 3")
    assert c.verdict == REPRODUCED
    c = claim(ledger, [0.95, 0.5, 0.5], [0.1, 0.1, 0.1], rule="2 of 3")
    assert c.verdict == NOT_REPRODUCED


def test_fewer_seeds_than_the_minimum_is_inconclusive(ledger):
    c = claim(ledger, [0.99], [0.1])
    assert c.verdict == INCONCLUSIVE and "only 1 seed" in c.reason


def test_mean_interval_rule_straddling_the_threshold_is_inconclusive(ledger):
    lo, hi = bootstrap_mean_interval([0.88, 0.90, 0.93, 0.95, 0.86])
    assert lo < 0.9 < hi
    c = claim(ledger, [0.88, 0.90, 0.93, 0.95, 0.86], [0.1] * 5, rule="mean-ci")
    assert c.verdict == INCONCLUSIVE and "straddles" in c.reason
    c = claim(ledger, [0.95, 0.96, 0.97], [0.1, 0.2, 0.1], rule="mean-ci")
    assert c.verdict == REPRODUCED


def test_bootstrap_interval_contains_the_mean_and_is_deterministic():
    values = [1.0, 2.0, 4.0, 3.0]
    lo, hi = bootstrap_mean_interval(values)
    assert lo <= 2.5 <= hi and (lo, hi) == bootstrap_mean_interval(values)
    assert lo >= 1.0 and hi <= 4.0


def test_analysis_choices_hold_only_if_they_hold_at_every_choice(ledger):
    values = {0.85: [5, 5, 6], 0.9: [5, 6, 6], 0.95: [7, 8, 9]}
    c = claim(ledger, values, [1, 1, 1], test="in [4, 6]", over="CKA threshold")
    assert c.verdict == INCONCLUSIVE and c.reason.startswith("depends on the CKA threshold")
    assert "not reproduced at CKA threshold = 0.95" in c.reason
    assert set(c.by_choice) == {"0.85", "0.9", "0.95"}
    stable = claim(ledger, {0.85: [5, 5, 6], 0.9: [5, 6, 6]}, [1, 1, 1], test="in [4, 6]", over="CKA threshold")
    assert stable.verdict == REPRODUCED and stable.reason.startswith("at every CKA threshold")


def test_a_failed_precondition_makes_the_claim_inconclusive(ledger):
    c = claim(ledger, [0.95, 0.97, 0.91], [0.1, 0.1, 0.1], requires={"a tunnel exists (l* > 1)": False})
    assert c.verdict == INCONCLUSIVE and c.reason == "precondition not met: a tunnel exists (l* > 1)"


def test_sanity_entries_do_not_count_and_a_failing_one_fails_the_run_after_saving(ledger, tmp_path):
    ledger.sanity("identity", measured=1e-15, test="<= 1e-12", statement="the identity holds")
    claim(ledger, [0.95, 0.97, 0.91], [0.1, 0.1, 0.1])
    assert ledger.counts() == {REPRODUCED: 1, NOT_REPRODUCED: 0, SUPPORTED: 0, NOT_SUPPORTED: 0, INCONCLUSIVE: 0}
    saved = json.loads(ledger.save().read_text())
    assert [e["id"] for e in saved["sanity"]] == ["identity"] and len(saved["claims"]) == 1
    assert saved["claims"][0]["control"]["values"] == {"0": 0.1, "1": 0.1, "2": 0.1}
    ledger.sanity("broken", measured=0.3, test="<= 1e-12", statement="another identity")
    with pytest.raises(SanityError, match="broken"):
        ledger.save()
    assert json.loads((tmp_path / "claims.json").read_text())["sanity"][1]["verdict"] == "FAILED"


def test_ids_are_unique_across_kinds(ledger):
    ledger.sanity("a", measured=0, test="<= 1", statement="s")
    with pytest.raises(ClaimError, match="already recorded"):
        claim_id = "a"
        ledger.claim(claim_id, statement="s", source="s", test="> 0", values=[1, 1, 1], control=Control("c", [0] * 3))


def test_closing_section_is_rendered_from_the_run_with_the_authors_reading(ledger):
    claim(ledger, [0.95, 0.97, 0.91], [0.1, 0.1, 0.1], section="2. The rate", figure="fig-ch01-rate",
          explain={REPRODUCED: "Measured {measured}.", NOT_REPRODUCED: "never shown"})
    claim(ledger, [0.1, 0.2, 0.3], [0.0, 0.0, 0.0])
    text = ledger.closing()._repr_markdown_()
    assert text.startswith("This chapter tested 2 claims on its own runs: 1 reproduced and 1 not reproduced.")
    assert "**Reproduced.** Measured 0.95 / 0.97 / 0.91 (seeds 0, 1, 2) (" in text
    assert "**Not reproduced.** s (>= 0.9): not reproduced (mean 0.2, 0/3 seeds pass; untrained net mean 0)." in text
    assert "never shown" not in text and "Inconclusive" not in text
    assert '<a href="#the-rate">&sect;&nbsp;2. The rate</a>, <a href="#fig-ch01-rate">figure</a>' in text
    assert not hasattr(ledger, "verdict_box")  # the box lives in scoreboard only (no claims <-> scoreboard cycle)


def test_recorded_numbers_are_saved_beside_the_claims(ledger):
    assert ledger.record("rate", 0.285) == 0.285
    ledger.record("r2", float("nan"))
    with pytest.raises(ClaimError, match="already recorded"):
        ledger.record("rate", 1.0)
    with pytest.raises(ClaimError, match="single number"):
        ledger.record("ratios", [0.2, 0.3])
    assert json.loads(ledger.save().read_text())["numbers"] == {"rate": 0.285, "r2": None}


def test_mean_interval_rule_with_one_seed_is_inconclusive_not_an_error(ledger):
    c = claim(ledger, [0.95], [0.1], rule="mean-ci")
    assert c.verdict == INCONCLUSIVE and "only 1 seed" in c.reason


def test_a_mean_interval_control_that_only_ties_the_threshold_does_not_fake_the_effect(ledger):
    c = claim(ledger, [1.3, 1.4, 1.35], [1.0, 1.0, 1.0], test="> 1", rule="mean-ci")
    assert c.verdict == REPRODUCED


# --- the rules of issue 21: effect-based decisions, censoring, controls, training, provenance ---------

import numpy as np  # noqa: E402
from scipy import stats as sps  # noqa: E402

from layerwise import stats  # noqa: E402
from layerwise.claims import Markdown  # noqa: E402


@pytest.mark.parametrize("values", [[1.0, 2.0, 4.0, 3.0], [0.28, 0.29, 0.27], [5.0, 5.5, 4.9, 5.2, 5.1, 6.0]])
def test_t_interval_matches_scipy(values):
    x = np.asarray(values)
    expected = sps.t.interval(0.95, x.size - 1, loc=x.mean(), scale=sps.sem(x))
    assert stats.t_interval(values) == pytest.approx(expected)


@pytest.mark.parametrize("k, n", [(0, 8), (3, 8), (8, 8), (17, 20), (1, 1)])
def test_clopper_pearson_matches_scipy(k, n):
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert stats.clopper_pearson(k, n) == pytest.approx((ci.low, ci.high))


def test_seeds_needed_are_the_first_count_that_decides():
    n = stats.seeds_to_clear(0.1, 0.05)
    half = lambda m: sps.t.ppf(0.975, m - 1) * 0.1 / np.sqrt(m)  # noqa: E731
    assert half(n) < 0.05 <= half(n - 1)
    assert stats.seeds_to_clear(0.1, 0.0) is None
    n = stats.seeds_to_decide_rate(1.0, 0.9)
    assert stats.clopper_pearson(n, n)[0] >= 0.9 > stats.clopper_pearson(n - 1, n - 1)[0]
    assert stats.seeds_to_decide_rate(0.5, 0.5) is None


def test_mean_rule_decides_on_the_t_interval_and_says_how_many_seeds_would_decide(ledger):
    ok = claim(ledger, [0.28, 0.29, 0.27, 0.285], [1.0, 0.98, 1.01, 0.99], test="in [0.25, 0.32]", rule="mean")
    assert ok.verdict == REPRODUCED and ok.value.startswith("mean 0.281, 95% CI [0.268, 0.295]")
    assert ok.control["verdict"] == "fails" and "fails 'in [0.25, 0.32]'" in ok.control["outcome"]
    out = claim(ledger, [0.5, 0.52, 0.51], [1.0, 0.98, 1.01], test="in [0.25, 0.32]", rule="mean")
    assert out.verdict == NOT_REPRODUCED
    values = [0.88, 0.90, 0.93, 0.95, 0.86]
    open_ = claim(ledger, values, [0.1] * 5, rule="mean")
    assert open_.verdict == INCONCLUSIVE and "straddles" in open_.reason
    n = stats.seeds_to_clear(float(np.std(values, ddof=1)), abs(np.mean(values) - 0.9))
    assert open_.decide == (f"the interval would clear the threshold at about {n} seeds at the observed spread "
                            "(this run has 5)")
    old = claim(ledger, [0.95, 0.96, 0.97], [0.1, 0.2, 0.1], rule="mean-ci")  # the old name still works
    assert old.verdict == REPRODUCED and old.rule == "mean"


def test_mean_rule_with_a_margin_decides_on_the_paired_effect(ledger):
    values, control = [0.31, 0.33, 0.32, 0.30], [0.25, 0.26, 0.25, 0.24]
    beats = claim(ledger, values, control, test="> 0", margin=">= 0.05", rule="mean")
    assert beats.verdict == REPRODUCED and "effect mean 0.065" in beats.value
    close = claim(ledger, [0.1, 0.12, 0.05], [0.0, 0.01, 0.02], test=None, margin=">= 0.05", rule="mean")
    assert close.verdict == INCONCLUSIVE and close.decide.startswith("the interval would clear the threshold at about")
    assert close.value == "effect mean 0.08, 95% CI [-0.0283, 0.188]"
    below = claim(ledger, [0.26, 0.27, 0.26], [0.25, 0.26, 0.25], test=None, margin=">= 0.05", rule="mean")
    assert below.verdict == NOT_REPRODUCED
    with pytest.raises(ClaimError, match="paired effect"):
        claim(ledger, {0: 1, 1: 1, 2: 1}, {0: 0, 1: 0}, margin=">= 0.1", rule="mean")


def test_mean_rule_control_that_does_as_well_is_inconclusive(ledger):
    c = claim(ledger, [0.95, 0.96, 0.97], [0.94, 0.95, 0.96], rule="mean")
    assert c.verdict == INCONCLUSIVE and "the control does as well" in c.reason and "paired effect" in c.decide


def test_rate_rule_uses_the_clopper_pearson_interval_against_the_control(ledger):
    strong = claim(ledger, [1.0] * 10, [0.0] * 10, test=">= 0.5", rule="rate >= 0.6")
    assert strong.verdict == REPRODUCED and strong.value == "pass rate 10/10, 95% CI [0.692, 1]"
    assert "(below the claim's)" in strong.control["outcome"]
    weak = claim(ledger, [1.0] * 3 + [0.0] * 7, [0.0] * 10, test=">= 0.5", rule="rate >= 0.9")
    assert weak.verdict == NOT_REPRODUCED
    unsure = claim(ledger, [1.0] * 9 + [0.0], [0.0] * 10, test=">= 0.5", rule="rate >= 0.6")
    assert unsure.verdict == INCONCLUSIVE
    assert unsure.decide.startswith("the interval would clear 0.6 at about ") and "pass rate 9/10" in unsure.decide
    faked = claim(ledger, [1.0] * 10, [1.0] * 6 + [0.0] * 4, test=">= 0.5", rule="rate >= 0.6")
    assert faked.verdict == INCONCLUSIVE and "not below the claim's" in faked.reason


def test_k_of_n_control_is_judged_by_the_same_rule(ledger):
    c = claim(ledger, [0.95, 0.97, 0.5], [0.95, 0.1, 0.1], rule="2 of 3")
    assert c.verdict == REPRODUCED  # the control passes on 1 seed, not 2
    c = claim(ledger, [0.95, 0.97, 0.5], [0.95, 0.95, 0.1], rule="2 of 3")
    assert c.verdict == INCONCLUSIVE and "control does as well" in c.reason


@pytest.mark.parametrize("rule, n, test", [("all", 8, ">= 0.5"), ("rate >= 0.7", 20, ">= 0.5"), ("mean", 8, ">= 0.5"),
                                           ("6 of 8", 8, ">= 0.5")])
def test_a_control_passing_ten_percent_of_the_time_never_flips_a_strong_claim(ledger, rule, n, test):
    """Issue 21's acceptance: 200 disjoint simulated seed sets, the same verdict on every one. Under the
    old any-seed veto the same control would have vetoed the claim on a large share of them."""
    rng = np.random.default_rng(21)
    verdicts, vetoed = set(), 0
    for k in range(200):
        values = {s: float(v) for s, v in zip(range(k * n, (k + 1) * n), rng.normal(0.9, 0.05, n))}
        passes = rng.random(n) < 0.1  # the control passes the test on 10% of seeds
        control = {s: (0.7 if p else 0.2) + float(rng.normal(0, 0.02)) for s, p in zip(values, passes)}
        vetoed += bool(passes.any())
        verdicts.add(ledger.claim(f"sim-{k}", statement="s", source="sim", test=test, values=values,
                                  control=Control("untrained net", control), rule=rule).verdict)
    assert verdicts == {REPRODUCED}
    assert vetoed > 100  # the old veto: P(any of n seeds) = 1 - 0.9^n


def test_an_empty_control_is_refused_at_declaration(ledger):
    with pytest.raises(ClaimError, match="has no values"):
        claim(ledger, [0.95, 0.97, 0.91], {})


def test_a_control_with_fewer_seeds_than_the_minimum_is_inconclusive(ledger):
    c = claim(ledger, {0: 0.95, 1: 0.97, 2: 0.91}, {0: 0.1, 1: 0.1})
    assert c.verdict == INCONCLUSIVE and "the control has 2 usable seeds" in c.reason
    assert c.decide == "the control on at least 3 seeds (this run has 2)"


def test_censored_seeds_decide_nothing_unless_the_verdict_holds_either_way(ledger):
    c = claim(ledger, [1000, None, 2000], [9000] * 3, test="<= 5000", censored="not within 6000 steps")
    assert c.verdict == INCONCLUSIVE and c.reason.startswith("censored: 1 of 3 seeds (not within 6000 steps)")
    assert c.decide == "1 of 3 seeds censored (not within 6000 steps): a longer run would decide it"
    assert c.measured == "1000 / censored / 2000 (seeds 0, 1, 2)" and c.censored == 1
    holds = claim(ledger, [1000, None, 2000, 1500], [9000] * 4, test="<= 5000", rule="3 of 4")
    assert holds.verdict == REPRODUCED and "the verdict holds either way" in holds.reason
    mean = claim(ledger, [1000, None, 2000], [9000] * 3, test="<= 5000", rule="mean", censored="not within 6000 steps")
    assert mean.verdict == INCONCLUSIVE and mean.reason.startswith("censored")


def test_undertrained_nets_make_the_claim_inconclusive(ledger):
    c = claim(ledger, [0.95, 0.97, 0.91], [0.1, 0.1, 0.1], trained={0: True, 1: False, 2: False})
    assert c.verdict == INCONCLUSIVE
    assert c.reason.startswith("undertrained: 2 of 3 nets did not reach the criterion (the values alone: reproduced")
    assert c.decide.startswith("2 of 3 nets did not reach the training criterion")
    assert claim(ledger, [0.95, 0.97, 0.91], [0.1] * 3, trained=[True] * 3).verdict == REPRODUCED


def test_unposed_seeds_are_dropped_and_said(ledger):
    c = claim(ledger, {0: 0.95, 1: 0.97, 2: 0.91, 3: 0.2}, {s: 0.1 for s in range(4)},
              posed={0: True, 1: True, 2: True, 3: False})
    assert c.verdict == REPRODUCED and c.dropped == ["3"] and c.seeds == 3
    assert "1 of 4 seeds dropped: the claim cannot be posed there (seed 3)" in c.reason
    few = claim(ledger, {0: 0.95, 1: 0.97, 2: 0.91}, [0.1] * 3, posed=[True, False, True])
    assert few.verdict == INCONCLUSIVE and "only 2 seeds" in few.reason


def test_provenance_sets_the_verdict_words(ledger):
    book = claim(ledger, [0.95, 0.97, 0.91], [0.1] * 3, provenance="book")
    assert book.verdict == SUPPORTED and book.provenance == "book"
    assert claim(ledger, [0.1, 0.2, 0.1], [0.1] * 3, provenance="book").verdict == NOT_SUPPORTED
    assert claim(ledger, [0.95, 0.97, 0.5], [0.1] * 3, provenance="book").verdict == INCONCLUSIVE
    assert claim(ledger, [0.95, 0.97, 0.91], [0.1] * 3, provenance="authors' output").provenance == "authors"
    assert claim(ledger, [0.95, 0.97, 0.91], [0.1] * 3).provenance == "unspecified"
    with pytest.raises(ClaimError, match="provenance must be one of"):
        claim(ledger, [0.95, 0.97, 0.91], [0.1] * 3, provenance="folklore")
    assert "1 supported, 1 not supported" in ledger.summary()


def test_every_inconclusive_claim_says_what_would_decide_it(ledger):
    cases = [dict(values=[0.95], control=[0.1]), dict(values=[0.95, 0.5, 0.97], control=[0.1] * 3),
             dict(values=[[7, 7, 7]] * 3, control=[[1, 2, 3]] * 3, test="increasing"),
             dict(values=[0.95] * 3, control=[0.1] * 3, requires={"a tunnel exists": False}),
             dict(values={0.9: [5, 5, 6], 0.95: [7, 8, 9]}, control=[1, 1, 1], test="in [4, 6]", over="threshold")]
    for kw in cases:
        c = claim(ledger, kw.pop("values"), kw.pop("control"), **kw)
        assert c.verdict == INCONCLUSIVE and c.decide, c
    assert all(c.decide == "" for c in ledger.claims if c.verdict != INCONCLUSIVE)


def test_the_statement_gets_its_test_appended_once(ledger):
    assert claim(ledger, [0.95] * 3, [0.1] * 3, test=">= 0.9").statement == "s (>= 0.9)"
    c = ledger.claim("with-numbers", statement="the ratio lies in [0.25, 0.32].", source="s", test="in [0.25, 0.32]",
                     values=[0.3] * 3, control=Control("c", [1.0] * 3))
    assert c.statement == "the ratio lies in [0.25, 0.32]."
    c = ledger.claim("margin", statement="TL grows.", source="s", test="> 0", margin=">= 0.05",
                     values=[0.3] * 3, control=Control("untrained net", [0.1] * 3))
    assert c.statement == "TL grows (> 0; effect over the untrained net >= 0.05)."


def test_section_context_and_headline_fields(ledger, tmp_path):
    with ledger.section("3. The rate", source="Wang et al. 2023", provenance="paper"):
        c = ledger.claim("in-section", statement="s", test=">= 0.9", values=[0.95] * 3, control=Control("c", [0.1] * 3),
                         headline=True, figure="fig-ch01-rate")
        s = ledger.sanity("identity", measured=0.0, test="<= 1e-12", statement="x")
    after = claim(ledger, [0.95] * 3, [0.1] * 3)
    assert (c.section, c.source, c.provenance, c.headline, c.figure) == (
        "3. The rate", "Wang et al. 2023", "paper", True, "fig-ch01-rate")
    assert s.section == "3. The rate" and after.section == "" and after.provenance == "unspecified"
    saved = json.loads(ledger.save().read_text())
    assert saved["claims"][0]["headline"] is True and saved["claims"][0]["figure"] == "fig-ch01-rate"


def test_explain_names_a_field_of_the_run_or_fails_at_declaration(ledger):
    c = claim(ledger, [0.95] * 3, [0.1] * 3, explain={REPRODUCED: "{value} against {control_value} ({tally})."})
    assert c.explain == "mean 0.95 against mean 0.1 (3/3 seeds pass)."
    with pytest.raises(ClaimError, match="explain names {nope}"):
        claim(ledger, [0.95] * 3, [0.1] * 3, explain={INCONCLUSIVE: "{nope}"})


def findings_ledger(tmp_path, values):
    ledger = Ledger(config.resolve("01", "smoke", results_dir=tmp_path))
    ledger.claim("rate", statement="the ratio lies in the band", provenance="paper", test="in [0.25, 0.32]",
                 rule="mean", values=values, control=Control("untrained net", [1.0, 0.98, 1.01, 0.99]),
                 headline=True, section="3. The rate",
                 explain={REPRODUCED: "The ratio sits in the paper's band ({value}).",
                          NOT_REPRODUCED: "The ratio falls outside the paper's band ({value})."})
    ledger.claim("other", statement="a side claim", test=">= 0.9", values=[0.95, 0.5, 0.97],
                 control=Control("c", [0.1] * 3), headline=True)
    ledger.claim("hidden", statement="not a headline", test=">= 0.9", values=[0.95] * 3,
                 control=Control("c", [0.1] * 3))
    return ledger


def test_findings_follow_the_verdicts_and_end_with_the_main_caveat(tmp_path):
    text = findings_ledger(tmp_path, [0.28, 0.29, 0.27, 0.285]).findings().text
    assert text.startswith("The ratio sits in the paper's band (mean 0.281, 95% CI [0.268, 0.295]).")
    # short: the claim in its author's words (the verdict box below states the test) and its value
    assert "A side claim: inconclusive (mean 0.807; c mean 0.1)." in text
    assert text.endswith("The main caveat: the claim that a side claim is inconclusive; what would decide "
                         "it: the seeds disagree (2 of 3 pass): a pass-rate rule ('rate >= p') over more seeds would "
                         "decide it.")
    assert "not a headline" not in text
    flipped = findings_ledger(tmp_path, [0.5, 0.52, 0.51, 0.5]).findings().text
    assert flipped.startswith("The ratio falls outside the paper's band (mean 0.508")
    assert flipped != text
    saved = json.loads(findings_ledger(tmp_path, [0.28, 0.29, 0.27, 0.285]).save().read_text())
    assert saved["findings"] == text


def test_closing_changes_when_a_verdict_flips(tmp_path):
    before = findings_ledger(tmp_path, [0.28, 0.29, 0.27, 0.285]).closing().text
    after = findings_ledger(tmp_path, [0.5, 0.52, 0.51, 0.5]).closing().text
    assert "**Reproduced.** The ratio sits in the paper's band" in before
    assert "**Not reproduced.** The ratio falls outside the paper's band" in after
    assert "What would decide it: the seeds disagree (2 of 3 pass)" in before
    assert isinstance(findings_ledger(tmp_path, [0.3] * 4).findings(), Markdown)


def test_a_rate_claim_whose_seeds_are_all_dropped_is_inconclusive_not_a_crash(tmp_path):
    ledger = Ledger(config.resolve("01", "smoke", results_dir=tmp_path))
    entry = ledger.claim("all-dropped", statement="s", source="x", provenance="book", test=">= 1",
                         values={0: 1.0, 1: 1.0, 2: 1.0}, control=Control("c", {0: 0.0, 1: 0.0, 2: 0.0}),
                         rule="rate >= 0.5", posed={0: False, 1: False, 2: False})
    assert entry.verdict == "inconclusive"
