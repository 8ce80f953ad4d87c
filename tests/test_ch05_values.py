"""Chapter 05's value functions (chapters/ch05_runs.py) on small cases with known answers."""
import numpy as np
import pytest
import torch

from layerwise import data, models
from layerwise.chapters import ch05_runs as R
from layerwise.metrics import landmarks


def test_accuracy_counts_argmax_hits():
    out = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0], [0.0, 1.0]])
    assert R.accuracy(out, torch.tensor([0, 1, 1, 1])) == 0.75


def test_the_two_rank_rules_count_eigenvalues_above_their_thresholds():
    # centred features with covariance eigenvalues 1, 1e-2, 1e-4 (exact: orthogonal columns)
    n = 1000
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(n, 3, generator=gen, dtype=torch.float64))
    q = q - q.mean(0)
    h = q * torch.tensor([1.0, 1e-1, 1e-2], dtype=torch.float64)
    assert R.covariance_rank(h, R.REL_TOL) == 2  # 1e-4 < 1e-3 of the largest
    assert R.covariance_rank(h, R.AUTHORS_TOL) == 3  # 1e-4 > 3 * eps32
    with pytest.raises(ValueError):
        R.covariance_rank(h, "no such rule")


def test_tunnel_start_of_the_authors_rule_uses_the_final_layer():
    probe = [0.40, 0.50, 0.59, 0.60, 0.55]  # the last layer is below the best
    layers = range(1, 6)
    assert landmarks.tunnel_start(layers, rule="probe", probe=probe, fraction=0.98) == 3  # 0.588 of best
    assert landmarks.tunnel_start(layers, rule="probe", probe=probe, fraction=0.98, reference="last") == 3
    assert landmarks.tunnel_start(layers, rule="probe", probe=probe, fraction=0.8, reference="last") == 2
    with pytest.raises(landmarks.LandmarkError):
        landmarks.tunnel_start(layers, rule="probe", probe=probe, reference="middle")


def test_tunnel_starts_under_every_rule():
    probe = [0.4, 0.5, 0.58, 0.6, 0.6]
    ranks = [40, 50, 30, 20, 10]
    cka = np.ones((5, 5))
    cka[:2, :] = cka[:, :2] = 0.5
    cka[np.diag_indices(5)] = 1.0
    starts = R.tunnel_starts(probe, ranks, cka)
    assert starts == {"probe 95%": 3, "probe 98%": 4, "rank": 2, "CKA 0.9": 3}


def test_a_tunnel_needs_an_extractor_a_tunnel_and_a_gain_over_the_input():
    assert not R.has_tunnel(1, 0.94, [0.96, 0.97, 0.97], min_gain=0.1)  # the input is already separable
    assert not R.has_tunnel(4, 0.23, [0.40, 0.45, 0.50, 0.55], min_gain=0.1)  # l* is the last layer
    assert R.has_tunnel(3, 0.23, [0.40, 0.55, 0.62, 0.62], min_gain=0.1)


def test_late_rise_and_last_rank():
    assert R.last_rank([50, 30, 12]) == 12.0
    assert R.late_rise([50, 40, 30, 20, 22, 21]) == pytest.approx(0.1)  # 20 -> 22 in the last half
    assert R.late_rise([50, 40, 60, 30, 20]) == 0.0  # the rise 40 -> 60 is in the first half


def test_saturation_gap_and_cka_to_last_start_at_l_star():
    probe = [0.4, 0.55, 0.6, 0.58, 0.59]
    assert R.saturation_gap(probe, 3) == pytest.approx(0.02)
    assert R.saturation_gap(probe, 1) == pytest.approx(0.2)
    m = np.array([[1.0, 0.3, 0.2], [0.3, 1.0, 0.8], [0.2, 0.8, 1.0]])
    assert R.to_last_min(m, 2) == 0.8 and R.to_last_min(m, 3) == 1.0


def test_depth_shift_class_value_and_ood_drop():
    assert R.depth_shift(7, 4) == 3 and R.depth_shift(4, 7) == 3
    assert R.tunnel_length(5, 12) == 7
    assert R.class_value({2: 3, 5: 5, 10: 9}, 12) == 6  # 9 layers of tunnel at C = 2, 3 at C = 10
    assert R.class_value({10: 3, 2: 9}, 12) == -6
    assert R.ood_drop([0.5, 0.7, 0.6, 0.4], 2) == pytest.approx(0.3)


def test_rank_gap_compares_a_snapshot_with_the_final_one():
    snaps = [(0, {R.AUTHORS_TOL: [100, 100]}), (6, {R.AUTHORS_TOL: [50, 30]}), (60, {R.AUTHORS_TOL: [40, 20]})]
    assert R.rank_gap(snaps, 6) == pytest.approx(0.5)  # 30 / 20 - 1
    assert R.rank_gap(snaps, 0) == pytest.approx(4.0)
    assert R.rank_gap(snaps, 60) == 0.0


def test_peaks_interior_and_spearman():
    assert R.peak_layer([3, 7, 7, 2]) == 2  # 1-based, first on ties
    assert R.interior(2, 4) and not R.interior(1, 4) and not R.interior(4, 4)
    assert R.spearman([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert R.spearman([1, 2, 3], [5, 5, 5]) == 0.0  # a constant peak does not move


def test_peak_stats_take_the_best_interior_depth_of_the_mean_curve():
    assert R.best_interior([10, 3, 7, 5, 20]) == 2
    with pytest.raises(ValueError):
        R.best_interior([1, 2])
    assert R.interior_margins({0: [1, 5, 3, 2], 1: [1, 4, 4, 6]}) == {0: 3.0, 1: -2.0}
    p, margins = R.peak_stats({0: [1, 5, 3, 2], 1: [1, 4, 4, 2]})
    assert p == 1 and margins == {0: 2.0, 1: 0.0}


def test_teacher_margin_beats_the_stronger_faker():
    assert R.teacher_margin([0.2, 0.6, 0.5], 0.4, 0.55) == pytest.approx(0.05)
    assert R.teacher_margin([0.2, 0.3], 0.4, 0.1) == pytest.approx(-0.1)


def test_a_linear_readout_of_a_linear_target_is_exact():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(50, 4, generator=gen, dtype=torch.float64)
    target = x @ torch.tensor([[1.0], [2.0], [0.0], [-1.0]], dtype=torch.float64) + 3
    assert torch.allclose(R.linear_readout(x, target), target, atol=1e-10)


def test_mean_interval_is_the_student_t_interval():
    m, lo, hi = R.mean_interval([1.0, 2.0, 3.0])
    assert m == 2.0 and hi - m == pytest.approx(4.302653 / np.sqrt(3), rel=1e-5)


def test_held_out_probes_score_every_sample_once():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=gen)
    labels = (x[:, 0] > 0).long()
    ds = data.Dataset(x, labels, 2, "toy")
    net = models.MLP(5, 8, 3, 2, init="he", seed=0)
    probes = R.held_out_probes(net, ds, folds=2)
    assert len(probes) == 2 and all(0.5 <= p <= 1.0 for p in probes)
    assert all(p * 200 == pytest.approx(round(p * 200)) for p in probes)  # counts over all 200 samples


def test_a_recipe_fixes_its_network_and_its_record():
    task = {"name": "core_spurious", "n": 60, "a_core": 1.0}
    recipe = R.mlp_recipe(task, seed=3, depth=3, width=8, epochs=5, lr=0.01, optimizer="adam", init="torch",
                          rank_epochs=[0, 2, 5])
    a, b = R.train_net(recipe), R.train_net(dict(recipe))
    assert a["epochs_run"] == 5 and [e for e, _ in a["rank_snapshots"]] == [0, 2, 5]
    assert all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
    assert a["reached"] == (a["train_acc"] >= 0.99)
    line = R.training_summary([a, b], "toy")
    assert line.startswith("toy: 2 nets") and "epochs" in line


def test_part1_values_leave_out_the_core_strengths_whose_nets_did_not_fit():
    import pandas as pd

    nets, layers = [], []
    for a, fitted in ((0.1, False), (1.0, True)):
        for depth in (2, 4):
            for state in ("trained", "untrained"):
                nets.append(dict(seed=0, state=state, a_core=a, depth=depth, reached=fitted,
                                 last_erank=float(depth if a == 1.0 else 5 - depth)))
                layers += [dict(seed=0, state=state, a_core=a, depth=depth, layer=l, erank=[1, 3, 2][l - 1],
                                cka_to_last=0.95) for l in range(1, depth)]
    v = R.part1_values(pd.DataFrame(nets), pd.DataFrame(layers), 0, "trained")
    assert v["fitted"] == 1 and v["peak"] == {1.0: 2}  # only a_core = 1.0 enters; its erank peaks at layer 2
    assert v["interior"] == 1.0 and v["depth_interior"] == 0.0 and v["late"] == 0.95
    none = pd.DataFrame(nets).assign(reached=False)
    assert R.part1_values(none, pd.DataFrame(layers), 0, "trained")["fitted"] == 0
