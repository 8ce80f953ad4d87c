"""Chapter 03's value functions on small cases with known answers (the functions that shape its claims)."""
import numpy as np
import pytest
import torch

from layerwise.chapters import ch03
from layerwise.chapters import ch03_runs as runs


def test_rank_trend_reads_a_trend_not_strict_order():
    assert ch03.rank_trend([1.0, 2.0, 3.0, 4.0]) == pytest.approx(1.0)
    assert ch03.rank_trend([4.0, 3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    # one noisy step costs a little, not the sign: layers 2-4 ordered, layer 1 last
    assert ch03.rank_trend([2720, 1440, 1760, 2560]) == pytest.approx(-0.2)
    assert ch03.rank_trend([1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8)
    assert ch03.rank_trend([1.0, None, 3.0]) is None and ch03.rank_trend([1.0, 2.0]) is None
    assert ch03.rank_trend([5.0, 5.0, 5.0]) == 0.0
    assert ch03.rank_trend([3.0, 2.0, 1.0], positions=[32, 16, 8]) == pytest.approx(1.0)


def test_last_minus_first():
    assert ch03.last_minus_first([0.2, 0.9, 0.5]) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        ch03.last_minus_first([1.0])


def test_roll_values_on_a_run_whose_gradients_point_along_the_target():
    t = torch.linspace(0, 1, 40)
    x = torch.stack([torch.cos(6 * t), torch.sin(6 * t)], 1)  # a curled curve: not linear in t
    grads = (-t[None, :, None] * torch.tensor([1.0, 0.0])).expand(11, 40, 2).clone()  # pushes x1 along t
    grams = torch.stack([torch.eye(2) * (1 + k) for k in range(11)])
    vcs = torch.stack([torch.eye(2) for _ in range(10)])
    run = dict(x=x, t=t, grads=grads, grams=grams, vcs=vcs)
    v = runs.roll_values(run, gain=1000.0, lr=1e-6, show_to=10)
    assert v["r2_display"] > 0.999 and v["r2_start"] < 0.9  # a large gain makes x~ linear in t
    assert v["r2_true_step"] == pytest.approx(v["r2_start"], abs=1e-4)  # the true step barely moves x
    assert v["r2_frozen"] == pytest.approx(v["r2_display"], abs=1e-6)  # constant gradients: frozen = trained
    assert v["cos_accumulated"] == pytest.approx(1.0) and v["cos_frozen"] == pytest.approx(1.0)


def test_tl_layer_values_gains_half_gain_steps_and_increment_correlations():
    steps = np.array([0, 10, 20, 30, 40])
    tl = np.array([[0.2, 0.2], [0.35, 0.2], [0.4, 0.4], [0.4, 0.6], [0.4, 0.6]])
    run = dict(steps=steps, tl=tl, tl_shuffled=np.full((5, 2), 0.1), move=np.array([[0, 0], [1, 0], [1, 1], [1, 1], [1, 1.0]]),
               sur=tl * 3, sur_shuffled=np.array([[1, 1], [1, 2], [3, 1], [1, 5], [2, 2.0]]))
    rows = runs.tl_layer_values(run)
    assert [r["gain"] for r in rows] == pytest.approx([0.2, 0.4])
    assert [r["gain_shuffled"] for r in rows] == pytest.approx([0.0, 0.0])
    assert [r["half_gain_step"] for r in rows] == [10, 20]  # first snapshot at >= half the gain
    assert [r["half_movement_step"] for r in rows] == [10, 20]
    assert rows[0]["rho_changes"] == pytest.approx(1.0)  # the surrogate is 3 x TL: same changes
    assert ch03.rank_trend([r["half_gain_step"] for r in rows] + [30]) == pytest.approx(1.0)


def test_summary_line_counts_nets_that_reached_the_criterion():
    recs = [dict(epochs_run=30, reached=True, train_acc=0.99, test_acc=0.96),
            dict(epochs_run=42, reached=False, train_acc=0.97, test_acc=0.95)]
    line = runs.summary_line(recs, "loss <= 0.05")
    assert line.startswith("2 nets, 1 of 2 reached loss <= 0.05 in 30-42 epochs")
    assert "test accuracy 0.950-0.960" in line


def test_grok_run_stops_when_it_generalises_and_the_control_runs_as_long():
    kw = dict(modulus=5, train_fraction=0.7, width=16, depth=3, lr=0.01, log_every=5, float64=False, with_tl=True)
    run = runs.grok_run(0, 0.5, steps=40, stop_at=0.0, **kw)  # test accuracy >= 0 at the first snapshot
    assert run["record"]["steps"] == 0 and len(run["rows"]) == 1 and "TL_1" in run["rows"][0]
    full = runs.grok_run(0, 0.0, steps=20, **kw)
    assert full["record"]["steps"] == 20 and [r["step"] for r in full["rows"]] == [0, 5, 10, 15, 20]


def test_tl_layer_values_with_two_snapshots_has_no_increment_correlation():
    run = dict(steps=np.array([0, 1]), tl=np.array([[0.2, 0.2], [0.3, 0.4]]), tl_shuffled=np.zeros((2, 2)),
               move=np.array([[0.0, 0.0], [1.0, 1.0]]), sur=np.ones((2, 2)), sur_shuffled=np.ones((2, 2)))
    rows = runs.tl_layer_values(run)
    assert [r["rho_changes"] for r in rows] == [None, None] and [r["half_gain_step"] for r in rows] == [1, 1]


def test_trends_by_seed_orders_by_width_within_each_seed():
    import pandas as pd

    df = pd.DataFrame(dict(seed=[0] * 3 + [1] * 3, width=[64, 16, 32] * 2, target=["a"] * 6,
                           movement=[0.1, 0.9, 0.5, 0.2, 0.1, 0.3]))
    assert ch03.trends_by_seed(df, "movement", where=dict(target="a")) == {0: pytest.approx(-1.0),
                                                                          1: pytest.approx(0.5)}
