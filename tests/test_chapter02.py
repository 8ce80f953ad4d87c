"""Chapter 2: the helpers that decide its verdicts (constructed cases), its parameter rules, and its
paper-preset code path (CIFAR-10 transfer, 10 seeds, every width) on tiny stand-in data."""
import math

import pytest

from layerwise import book, config
from layerwise.chapters import ch02
from layerwise.io import read_json

TINY = dict(dataset="fake", n_train=200, net_width=16, net_epochs=2, head_depths=[1, 2], n_seeds=1, rate_seeds=1,
            transfer_seeds=1, sweep_depths=[2], width=60, sweep_widths=[60, 80], depth=2, epochs=300, stop_loss=1e-3,
            rate_epochs=100, rate_init_scales=[0.5], rate_weight_decays=[1e-2], decay_epochs=300,
            rate_activations=["relu"], nonlinear_epochs=5)


def test_rate_error_is_zero_for_an_exact_geometric_sequence():
    assert ch02.rate_error([8.0, 4.0, 2.0, 1.0], 0.5) == pytest.approx(0.0, abs=1e-15)


def test_rate_error_is_the_worst_layer_and_accepts_one_prediction_per_ratio():
    # ratios 0.5, 0.6: against 0.5 the second is 20% off
    assert ch02.rate_error([1.0, 0.5, 0.3], 0.5) == pytest.approx(0.2)
    assert ch02.rate_error([1.0, 0.5, 0.3], [0.5, 0.6]) == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError):
        ch02.rate_error([1.0], 0.5)


def test_worst_per_seed_takes_each_seeds_largest_value():
    rows = [dict(seed=0, r=0.1), dict(seed=1, r=0.3), dict(seed=0, r=0.2), dict(seed=1, r=0.05)]
    assert ch02.worst_per_seed(rows, "r") == {0: 0.2, 1: 0.3}


def test_relative_fall_of_a_halving_is_one_half_and_of_a_constant_is_zero():
    assert ch02.relative_fall([0.06, 0.045, 0.03]) == pytest.approx(0.5)
    assert ch02.relative_fall([2.0, 2.0]) == 0.0
    assert ch02.relative_fall([1.0, 2.0]) == pytest.approx(-1.0)  # a rise is a negative fall
    with pytest.raises(ValueError):
        ch02.relative_fall([0.0, 1.0])


def test_gap_drift_is_relative_to_the_largest_initial_gap():
    assert ch02.gap_drift([2.0, 0.0, 1.0], [2.0, 0.0, 1.0]) == 0.0
    assert ch02.gap_drift([2.0, 0.0, 1.0], [2.02, 0.01, 1.0]) == pytest.approx(0.01)
    with pytest.raises(ValueError):
        ch02.gap_drift([1.0, 2.0], [1.0])


def test_gain_points_and_ratio_compare_the_deepest_with_the_shallowest_head():
    acc = {3: 0.70, 1: 0.60, 5: 0.66}  # keys unordered on purpose
    assert ch02.gain_points(acc) == pytest.approx(6.0)
    assert ch02.ratio_last_first({1: 0.01, 5: 0.12, 2: 0.5}) == pytest.approx(12.0)
    assert math.isclose(ch02.gain_points({1: 0.5, 2: 0.5}), 0.0)
    with pytest.raises(ValueError):
        ch02.gain_points({1: 0.5})


def test_paper_preset_is_the_papers_fig6_grid():
    table = config.preset_table("02", "paper")
    assert table["n_seeds"] == 10 and table["sweep_widths"] == [200, 300, 400, 500, 600, 700]
    assert table["sweep_depths"] == [2, 3, 4, 5] and table["init_scale"] == 0.1 and table["stop_loss"] == 1e-10


def test_book_preset_has_enough_seeds_for_claims():
    table = config.preset_table("02", "book")
    assert table["n_seeds"] >= 5 and table["rate_seeds"] >= 8 and table["transfer_seeds"] >= 6


def test_the_reduced_ensemble_follows_full_width_gradient_descent():
    from layerwise import data
    from layerwise.chapters import ch02_runs

    ds = data.nearly_orthonormal(5, 3, 20, seed=0)
    assert ch02_runs.reduction_gap(ds, width=40, depth=3, init_scale=0.3, alpha=1.0, lr=0.1, steps=20, seed=0) < 1e-6


def test_fig6_runs_end_balanced_by_the_conserved_gap_and_near_minimum_norm():
    from layerwise.chapters import ch02_runs

    rows, snaps = ch02_runs.train_fig6(3, [60], [0, 1], init_scale=0.1, alpha=1.0, n_per_class=5, n_classes=3, dim=20,
                                       lr=0.1, lr_min=1e-4, epochs=20000, stop_loss=1e-8)
    assert all(r["reached"] for r in rows) and snaps
    for r in rows:
        assert ch02.gap_drift(r["gaps_init"], r["gaps_final"]) < 0.01  # conservation law of gradient flow
        # the first pair's gap is xi^2 sqrt(h - d) at init and stays there
        assert r["gaps_final"][0] == pytest.approx(0.1 ** 2 * math.sqrt(60 - 20), rel=0.01)
        assert r["residual"] < 0.2 * r["residual_init"] and r["bulk_variance"] < 1e-6


def test_class_slice_and_snapshot_schedule():
    import torch
    from types import SimpleNamespace

    from layerwise.chapters import ch02_runs

    ds = SimpleNamespace(x=torch.arange(10.0)[:, None], labels=torch.arange(10))
    x, y = ch02_runs.class_slice(ds, 5)
    assert y.tolist() == [0, 1, 2, 3, 4] and x[:, 0].tolist() == [5.0, 6.0, 7.0, 8.0, 9.0]
    epochs = ch02_runs.log_epochs(1000)
    assert epochs[0] == 1 and epochs[-1] == 1000 and epochs == sorted(set(epochs))


def test_chapter02_paper_code_path_runs_on_fake_images(book_copy, tmp_path):
    result = book.run_chapter("02", preset="paper", params=TINY, output=tmp_path / "paper", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["params"]["dataset"] == "fake" and ledger["params"]["net_width"] == 16
    ids = {c["id"] for c in ledger["claims"]}
    assert {"wang23-transfer-head-depth", "wang23-assumptions-min-norm"} <= ids
    assert all(c["verdict"] == "inconclusive" for c in ledger["claims"])  # one seed: never a verdict
    assert all(e["verdict"] == "ok" for e in ledger["sanity"])


def test_chapter02_rejects_inputs_it_cannot_use():
    with pytest.raises(config.ConfigError, match="N = n_per_class"):
        config.resolve("02", "smoke", n_per_class=20)
    with pytest.raises(config.ConfigError, match="head_depths"):
        config.resolve("02", "smoke", head_depths=[0, 1])
    with pytest.raises(config.ConfigError, match="head_depths needs at least two"):
        config.resolve("02", "smoke", head_depths=[3, 3])
    with pytest.raises(config.ConfigError, match="sweep_widths"):
        config.resolve("02", "smoke", sweep_widths=[100])


def test_scaled_probe_is_invariant_to_scaled_rotations_of_the_features():
    import torch

    gen = torch.Generator().manual_seed(0)
    z, z_test = torch.randn(120, 8, generator=gen), torch.randn(60, 8, generator=gen)
    y, y_test = z[:, :3].argmax(1), z_test[:, :3].argmax(1)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=gen))
    base = ch02.scaled_probe_accuracy(z, y, z_test, y_test)
    assert base > 0.8
    for c in (1e-3, 0.3, 50.0):
        assert ch02.scaled_probe_accuracy(c * z @ q, y, c * z_test @ q, y_test) == base


def test_change_from_baseline_passes_the_decoupling_test_only_when_measures_improve_and_rate_leaves():
    from layerwise import claims

    test = {"residual change": "< 0", "balance change": "< 0", "rate error": "> 0.1"}
    base = dict(residual=0.7, balance=0.05, rate_error=0.02)
    decayed = dict(residual=0.4, balance=0.03, rate_error=0.6)
    assert ch02.change_from_baseline(decayed, base) == pytest.approx(
        {"residual change": -0.3, "balance change": -0.02, "rate error": 0.6})
    assert claims.evaluate(test, ch02.change_from_baseline(decayed, base))
    assert not claims.evaluate(test, ch02.change_from_baseline(base, base))  # the baseline against itself: ties


def test_sqrt_width_law_is_constant_for_a_residual_falling_like_one_over_sqrt_width():
    import pandas as pd

    from layerwise.chapters import ch02_runs

    rows = pd.DataFrame([dict(depth=5, width=h, seed=s, residual=c / h ** 0.5)
                         for h in (200, 400, 700) for s in (0, 1) for c in [0.8]])
    law = ch02_runs.sqrt_width_law(rows, rows.assign(residual=rows.residual * 10), 5)
    assert law["small init"].tolist() == pytest.approx([0.8] * 3) and law["large init"].tolist() == pytest.approx([8.0] * 3)
