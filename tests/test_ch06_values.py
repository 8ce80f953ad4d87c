"""Chapter 6's value functions (what shapes a claim's values and controls) on small cases with known answers."""
import math

import pytest
import torch

from layerwise.chapters import ch06
from layerwise.chapters import ch06_runs as R


def test_matched_gap_averages_over_the_levels_both_runs_reach_and_is_unbiased_under_noise():
    a = {0.95: 0.5, 0.99: 0.9, 1.0: float("nan")}
    b = {0.95: 0.4, 0.99: 0.7, 1.0: 1.0}
    assert ch06.matched_gap(a, b) == pytest.approx(0.15)  # (0.1 + 0.2) / 2; level 1.0 not reached by a
    assert ch06.matched_gap({0.95: float("nan")}, {0.95: 1.0}) is None
    # two runs equal in distribution: the mean gap is centred on 0, the worst level would not be
    gen = torch.Generator().manual_seed(0)
    gaps = []
    for _ in range(400):
        x, y = torch.rand(3, generator=gen), torch.rand(3, generator=gen)
        gaps.append(ch06.matched_gap(dict(enumerate(x.tolist())), dict(enumerate(y.tolist()))))
    assert abs(sum(gaps) / len(gaps)) < 0.03


def test_noise_tolerance_is_two_binomial_standard_errors_with_a_floor():
    assert ch06.noise_tolerance(0.19, 500) == pytest.approx(2 * math.sqrt(0.19 * 0.81 / 500))
    assert ch06.noise_tolerance(1.0, 500, floor=0.02) == 0.02
    with pytest.raises(ValueError):
        ch06.noise_tolerance(0.5, 0)


def test_stopped_and_transient_values_censor_runs_that_did_not_reach_their_stop():
    assert ch06.stopped_value(0.97, True) == 0.97 and ch06.stopped_value(0.97, False) is None
    assert ch06.transient_values({0.9: 1.0, 1.0: 0.0}, {0.9: True, 1.0: False}) == {"p=0.9": 1.0, "p=1.0": 0.0}
    assert ch06.transient_values({0.9: 1.0, 0.99: 0.5, 1.0: 0.0}, {0.9: True, 0.99: False, 1.0: True}) is None
    assert ch06.transient_test([1.0, 0.9]) == {"p=0.9": ">= 0.95", "p=1.0": "<= 0.10"}


def test_p1_parts_and_dfr_parts_read_the_end_states():
    state = {"flipped": 0.0, "id": 0.9, "randomised": 0.5, "core_permuted": 0.89}
    assert ch06.p1_parts(state) == pytest.approx({"flipped": 0.0, "ID": 0.9, "x_s permuted": 0.5,
                                                  "x_c permuted - ID": -0.01})
    erm = {"id": 0.9, "flipped": 0.0, "randomised": 0.5, "worst_group": 0.0}
    dfr = {"id": 0.88, "flipped": 0.99, "randomised": 0.99, "worst_group": 0.97}
    assert R.dfr_parts(erm, dfr) == pytest.approx({"flipped": 0.99, "worst group": 0.97,
                                                   "worst group - own output's": 0.97, "ID - own output's": -0.02})


def test_boundary_values_are_best_k_minus_l_star_and_posed_only_with_an_extractor_under_every_rule():
    profiles = {0: {"best_k": 4, "starts": {"cka": 4, "probe": 5}}, 1: {"best_k": 3, "starts": {"cka": 1, "probe": 3}}}
    vals, guess, posed = ch06.boundary_values(profiles, ["cka", "probe"], last=7)
    assert vals == {"cka": {0: 0, 1: 2}, "probe": {0: -1, 1: 0}}
    assert guess == {"cka": {0: 3, 1: 6}, "probe": {0: 2, 1: 4}}
    assert posed == {0: True, 1: False}


def test_training_summary_and_latched_span_words():
    recs = [{"epochs": 170, "reached": True, "test_acc": 0.99}, {"epochs": 210, "reached": False, "test_acc": 1.0}]
    assert R.training_summary(recs, "loss < 0.001") == (
        "2 nets, 1 of 2 reached loss < 0.001 (epochs used: 170-210); test accuracy 0.99-1.00")
    assert R.training_summary(recs[:1], "x").startswith("1 net, all reached x (epochs used: 170)")
    snaps = [(0, {"id": 0.5, "flipped": 0.5}), (3, {"id": 0.9, "flipped": 0.0}), (9, {"id": 0.9, "flipped": 0.05}),
             (20, {"id": 1.0, "flipped": 1.0})]
    assert R.latched_span([snaps, snaps[:3]]) == "9"
    assert R.latched_span([snaps[:1]]) == "none"
    assert R.snapshot_epochs(25) == [*range(1, 21), 22, 24]


def test_init_gradient_ratio_grows_with_the_size_of_the_spurious_column():
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (200,), generator=gen)
    sign = (2 * y - 1).float()
    x = torch.stack([0.5 * sign, 6.0 * sign, *torch.randn(2, 200, generator=gen)], 1)
    small = x.clone()
    small[:, 1] = 0.5 * sign
    big = R.init_gradient_ratio(x, y, width=16, depth=3, seed=0)
    even = R.init_gradient_ratio(small, y, width=16, depth=3, seed=0)
    assert even == pytest.approx(1.0, rel=1e-5)  # identical columns get identical gradients
    assert big > 5


def test_add_best_layers_uses_a_noise_tolerance_so_a_layer_within_noise_of_the_best_counts():
    rows = [{"layer": k, "conflict": a} for k, a in enumerate([0.10, 0.19, 0.17, 0.05])]
    profiles = {0: {"rows": rows}}
    ch06.add_best_layers(profiles, n_eval=500, floor=0.0)
    assert profiles[0]["tol"] == pytest.approx(2 * math.sqrt(0.19 * 0.81 / 500))  # about 0.035
    assert profiles[0]["best_k"] == 2  # 0.17 is within two standard errors of 0.19
    ch06.add_best_layers(profiles, n_eval=100000, floor=0.0)
    assert profiles[0]["best_k"] == 1


def test_mean_over_choices_averages_per_seed_and_censors_a_seed_missing_anywhere():
    out = ch06.mean_over_choices({"a": {0: 0.1, 1: -0.3, 2: 0.0}, "b": {0: 0.3, 1: None, 2: 0.2}})
    assert out[0] == pytest.approx(0.2) and out[1] is None and out[2] == pytest.approx(0.1)
