"""Chapter 4's `paper` preset code path (MNIST/CIFAR-10 loaders, deep sweep) on tiny stand-in data."""
import pytest
import torch

from layerwise import book
from layerwise.data import equicorrelated_inputs
from layerwise.io import read_json
from layerwise.metrics.signal_propagation import input_correlations


@pytest.mark.slow
def test_paper_preset_runs_on_tiny_fake_data(book_copy, tmp_path):
    params = dict(dataset="fake", n_train=120, n_align=20, depth=3, width=16, epochs=1,
                  sweep_depths=[3, 4, 5], sweep_width=16, sweep_epochs=1, n_seeds=1, theory_width=64,
                  theory_depth=4)
    result = book.run_chapter("04", preset="paper", params=params, output=tmp_path / "paper", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["preset"] == "paper" and ledger["params"]["dataset"] == "fake"
    ids = {c["id"] for c in ledger["claims"]}
    assert {"lou22-peak-slope", "lou22-eh-predictor"} <= ids
    assert "hadamard-identity" in {e["id"] for e in ledger["sanity"]}


def test_equicorrelated_inputs_have_the_asked_cosines():
    x = equicorrelated_inputs(5, 12, 0.3, seed=1)
    assert x.shape == (5, 12)
    assert torch.allclose(x.norm(dim=1), torch.full((5,), 12 ** 0.5, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(input_correlations(x), torch.full((10,), 0.3, dtype=torch.float64), atol=1e-12)


# --- the helpers that decide chapter 4's verdicts (constructed cases with known answers) ---------

from layerwise import config  # noqa: E402
from layerwise.chapters import ch04  # noqa: E402
from layerwise.config import ConfigError  # noqa: E402


def test_depth_overrides_validate_under_the_shared_name():
    assert config.parse_value("04", "depth", "10") == 10
    assert config.parse_value("04", "sweep_depths", "11,21,31") == [11, 21, 31]
    assert config.parse_value("04", "theory_depth", "21") == 21
    with pytest.raises(ConfigError, match="unknown parameter 'hidden_layers'"):
        config.parse_value("04", "hidden_layers", "10")


@pytest.mark.parametrize("params, message", [
    (dict(depth=2), "depth must hold integers >= 3"),
    (dict(sweep_depths=[11, 11, 21]), "sweep_depths must list >= 3 increasing depths"),
    (dict(sweep_depths=[11, 21]), "sweep_depths must list >= 3 increasing depths"),
    (dict(n_align=5), "n_align must be in"),
    (dict(n_train=20, n_align=50), "n_train=20 must be 0"),
])
def test_bad_chapter4_parameters_are_refused_before_any_work(tmp_path, params, message):
    with pytest.raises(ConfigError, match=message):
        config.resolve("04", "smoke", results_dir=tmp_path, **params)


def test_tolerance_is_two_layers_or_fifteen_percent_of_the_hidden_layers():
    assert ch04.hidden(11) == 10
    assert ch04.tolerance(11) == 2.0 and ch04.tolerance(14) == 2.0  # 0.15 * 13 = 1.95 < 2
    assert ch04.tolerance(51) == pytest.approx(7.5)


def test_hits_count_a_prediction_on_the_tolerance_boundary_as_a_hit():
    peaks = {11: 6, 51: 30}
    assert ch04.hits(peaks, {11: 8, 51: 22.5}) == {11: True, 51: True}  # |6-8| = 2, |30-22.5| = 7.5
    assert ch04.hits(peaks, {11: 9, 51: 22}) == {11: False, 51: False}
    assert ch04.hit_fraction(peaks, {11: 6, 51: 0}) == 0.5
    with pytest.raises(ValueError, match="no prediction for depth 51"):
        ch04.hits(peaks, {11: 6})


def test_null_predictors_middle_and_random_interior_layers():
    assert ch04.middle_layer(11) == 6 and ch04.middle_layer(4) == 2.5
    assert ch04.relative_position(ch04.middle_layer(51), 51) == 0.5
    assert ch04.relative_position(1, 11) == 0 and ch04.relative_position(11, 11) == 1
    draws = ch04.random_interior_layers([3, 11, 51], seed=7)
    assert draws == ch04.random_interior_layers([3, 11, 51], seed=7)  # deterministic given the seed
    assert draws[3] == 2 and all(2 <= draws[d] <= d - 1 for d in draws)
    many = [ch04.random_interior_layers([11], seed=s)[11] for s in range(400)]
    assert set(many) == set(range(2, 11))  # every interior layer 2..L, never 1 or L + 1


def test_peak_margin_and_interior_on_a_constructed_profile():
    assert ch04.peak_margin([0.1, 0.3, 0.5, 0.2]) == pytest.approx(0.3)
    assert ch04.peak_margin([0.5, 0.3, 0.1]) == 0.0  # peak at an external layer: no margin
    assert ch04.interior(2, 11) and not ch04.interior(1, 11) and not ch04.interior(11, 11)


def test_peak_slope_recovers_a_planted_power_law_in_hidden_layers():
    depths = [11, 21, 31, 41, 51]
    fit = ch04.peak_slope(depths, [2.0 * (d - 1) ** 0.6 for d in depths])
    assert fit.slope == pytest.approx(0.6, abs=1e-12)
    assert ch04.peak_slope(depths, [1 + (d - 1) / 2 for d in depths]).slope == pytest.approx(0.911, abs=1e-3)


def test_window_slopes_of_the_mean_field_balance_approach_three_fifths():
    slopes = ch04.window_slopes(0.5, [10, 400])
    assert slopes[10] > slopes[400] > 0.6
    assert slopes[400] < 0.7


def test_lr_scales_inversely_with_hidden_layers():
    assert ch04.lr_for(11, 0.01) == pytest.approx(0.01)
    assert ch04.lr_for(51, 0.01) == pytest.approx(0.002)
    assert ch04.lr_for(51, 0.01, scale_with_depth=False) == 0.01
    assert ch04.snapshot_grid(30) == [1, 2, 4, 8, 16]
