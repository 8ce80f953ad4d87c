import json

import pytest

from layerwise import config
from layerwise.claims import (FAIL, INCONCLUSIVE, NOT_REPRODUCED, PASS, REPRODUCED, TIE, ClaimError, Control,
                              Ledger, SanityError, bootstrap_mean_interval, evaluate, evaluate_value,
                              spearman_with_position)


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
    assert c.verdict == REPRODUCED
    assert "3/3 seeds pass (rule: all)" in c.reason and "control does not (untrained net passes on 0/3 seeds)" in c.reason
    assert c.measured == "0.95 / 0.97 / 0.91 (seeds 0, 1, 2)"
    assert c.control["measured"] == "0.5 / 0.4 / 0.6 (seeds 0, 1, 2)"


def test_a_control_that_passes_too_makes_the_claim_inconclusive(ledger):
    c = claim(ledger, [0.95, 0.97, 0.91], [0.93, 0.92, 0.95])
    assert c.verdict == INCONCLUSIVE and "control passes the same test too" in c.reason
    partly = claim(ledger, [0.95, 0.97, 0.91], [0.93, 0.1, 0.1])  # the control fakes it on one seed
    assert partly.verdict == INCONCLUSIVE


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
    assert ledger.counts() == {REPRODUCED: 1, NOT_REPRODUCED: 0, INCONCLUSIVE: 0}
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
    claim(ledger, [0.95, 0.97, 0.91], [0.1, 0.1, 0.1], section="2. The rate",
          explain={REPRODUCED: "Measured {measured}.", NOT_REPRODUCED: "never shown"})
    claim(ledger, [0.1, 0.2, 0.3], [0.0, 0.0, 0.0])
    text = ledger.closing()._repr_markdown_()
    assert "**Reproduced** (1)" in text and "**Not reproduced** (1)" in text and "Inconclusive" not in text
    assert "Measured 0.95 / 0.97 / 0.91 (seeds 0, 1, 2)." in text and "never shown" not in text
    assert '(<a href="#the-rate">2. The rate</a>)' in text
    assert "1 reproduced, 1 not reproduced, 0 inconclusive" in ledger.verdict_box().text


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
