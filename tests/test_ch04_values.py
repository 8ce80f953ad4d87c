"""Chapter 4's value functions on constructed cases with known answers (the numbers its claims are made of)."""
import pytest
import torch

from layerwise import data
from layerwise.chapters import ch04


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
    assert ch04.middle(11) == 6 and ch04.middle(4) == 2.5  # 1 + L/2 over weight layers 1..L+1
    assert ch04.relative_position(ch04.middle(51), 51) == 0.5
    assert ch04.relative_position(1, 11) == 0 and ch04.relative_position(11, 11) == 1
    draws = ch04.random_interior_layers([3, 11, 51], seed=7)
    assert draws == ch04.random_interior_layers([3, 11, 51], seed=7)  # deterministic given the seed
    assert draws[3] == 2 and all(2 <= draws[d] <= d - 1 for d in draws)
    many = [ch04.random_interior_layers([11], seed=s)[11] for s in range(400)]
    assert set(many) == set(range(2, 11))  # every interior layer 2..L, never 1 or L + 1


def test_interior_margin_is_signed_so_an_untrained_control_can_pass_or_fail():
    assert ch04.interior_margin([0.1, 0.3, 0.5, 0.2]) == pytest.approx(0.3)
    assert ch04.interior_margin([0.5, 0.3, 0.1]) == pytest.approx(-0.2)  # peak at the input layer
    assert ch04.interior_margin([0.1, 0.3, 0.6]) == pytest.approx(-0.3)  # peak at the readout


def test_endpoint_change_of_peak_and_relative_position():
    peaks = {11: 6, 21: 9, 41: 13}  # L = 10, 20, 40
    assert ch04.endpoint_change(peaks) == 7
    # relative positions (6-1)/10 = 0.5 and (13-1)/40 = 0.3: the peak sits relatively earlier
    assert ch04.endpoint_change(peaks, ch04.relative_position) == pytest.approx(-0.2)
    middle = {d: ch04.middle(d) for d in peaks}
    assert ch04.endpoint_change(middle, ch04.relative_position) == 0.0


def test_best_null_is_the_null_that_hits_most_often():
    peaks = {11: 6, 21: 11, 41: 21}
    nulls = {"low": {11: 1, 21: 1, 41: 1}, "middle": {d: ch04.middle(d) for d in peaks}}
    assert ch04.best_null_hits(peaks, nulls) == ("middle", 1.0)


def test_per_seed_groups_rows_by_seed_and_depth():
    rows = [dict(seed=0, depth=11, v=1), dict(seed=0, depth=21, v=3), dict(seed=1, depth=11, v=2)]
    assert ch04.per_seed(rows, lambda by: sum(r["v"] for r in by.values())) == {0: 4, 1: 2}


def test_first_epoch_below_skips_the_loss_before_training():
    assert ch04.first_epoch_below([0.05, 2.0, 0.5, 0.09, 0.2], 0.1) == 3
    assert ch04.first_epoch_below([2.0, 1.0], 0.1) is None


def test_training_summary_counts_nets_that_reached_the_criterion():
    rows = [dict(epochs=50, first_below=20, reached=True, train_acc=1.0, test_acc=0.3),
            dict(epochs=71, first_below=None, reached=False, train_acc=0.9, test_acc=0.35)]
    line = ch04.training_summary(rows, 0.1)
    assert line.startswith("1 of 2 nets reached a training loss ≤ 0.1 in 50-71 epochs")
    assert "at epoch 20)" in line and "test accuracy 0.30-0.35" in line
    assert ch04.training_summary(rows[:1], 0.1).startswith("the net reached a training loss ≤ 0.1 in 50 epochs")


def test_train_depth_records_the_criterion_and_matches_separate_measurements():
    split = data.load("fake", n_train=120, seed=0)
    idx = data.stratified_subset(split.train.labels, 20, 0)
    rows = ch04.train_depth(split, idx, 4, 32, [0, 1], epochs=60, lr=0.01, batch_size=64, criterion_loss=0.1)
    assert [r["seed"] for r in rows] == [0, 1] and all(r["epochs"] in (60, 120) for r in rows)
    for r in rows:
        assert r["reached"] == (r["train_loss"] <= 0.1)
        assert 0 <= r["train_acc"] <= 1 and 0 <= r["test_acc"] <= 1
        assert r["final"].tangent.shape == (4,) and r["init"].tangent.shape == (4,)
        assert torch.all(r["final"].tangent.abs() <= 1)
        row = ch04.summarise(r, 2.0)
        assert row["l_max"] == int(torch.argmax(r["final"].tangent)) + 1
        assert row["margin"] == pytest.approx(ch04.interior_margin(r["final"].tangent))


def test_peak_slope_recovers_a_planted_power_law_in_hidden_layers():
    depths = [11, 21, 31, 41, 51]
    fit = ch04.peak_slope(depths, [2.0 * (d - 1) ** 0.6 for d in depths])
    assert fit.slope == pytest.approx(0.6, abs=1e-12)
    assert ch04.peak_slope(depths, [1 + (d - 1) / 2 for d in depths]).slope == pytest.approx(0.911, abs=1e-3)


def test_window_slopes_of_the_mean_field_balance_approach_three_fifths():
    slopes = ch04.window_slopes(0.5, [10, 400])
    assert slopes[10] > slopes[400] > 0.6
    assert slopes[400] < 0.7


def test_budget_grows_and_lr_shrinks_with_the_square_root_of_depth():
    assert ch04.epochs_for(11, 50) == 50 and ch04.epochs_for(41, 50) == 100
    assert ch04.lr_for(11, 0.002) == pytest.approx(0.002) and ch04.lr_for(41, 0.002) == pytest.approx(0.001)
    assert ch04.snapshot_grid(30) == [1, 2, 4, 8, 16]
