"""Chapter 6's verdict helpers on constructed cases whose answer is known."""
import math

import pytest
import torch

from layerwise.chapters import ch06, ch06_runs


def _snaps(rows):
    return [(e, {"train": tr, "id": i, "flipped": f}) for e, tr, i, f in rows]


SNAPS = _snaps([(0, 0.5, 0.1, 1.0), (1, 0.8, 0.6, 0.4), (2, 0.9, 0.9, 0.02), (3, 0.9, 0.9, 0.0),
                (10, 0.94, 0.9, 0.05), (20, 0.98, 0.95, 0.6), (30, 1.0, 1.0, 1.0)])


def test_early_checkpoint_is_the_most_latched_checkpoint_in_the_window_and_skips_epoch_zero():
    assert ch06.early_checkpoint(SNAPS, 5) == {"epoch": 3, "ID": 0.9, "flipped": 0.0}
    assert ch06.early_checkpoint(SNAPS, 1) == {"epoch": 1, "ID": 0.6, "flipped": 0.4}
    assert ch06.early_checkpoint(SNAPS, 0.5)["epoch"] == 1  # no checkpoint in the window: the first one


def test_latch_window_finds_first_and_last_latched_epochs_and_the_release():
    assert ch06.latch_window(SNAPS) == (2, 10, 30)
    assert ch06.latch_window(_snaps([(0, 0.5, 0.5, 0.5), (1, 1.0, 1.0, 1.0)])) == (None, None, 1)


def test_flipped_at_train_accuracy_interpolates_between_bracketing_checkpoints():
    # train 0.94 -> 0.98 brackets 0.96: halfway, flipped 0.05 -> 0.6
    assert ch06.flipped_at_train_accuracy(SNAPS, 0.96) == pytest.approx(0.325)
    assert ch06.flipped_at_train_accuracy(SNAPS, 0.96, interpolate=False) == 0.6
    assert ch06.flipped_at_train_accuracy(SNAPS, 0.5) == 1.0  # reached at epoch 0
    assert math.isnan(ch06.flipped_at_train_accuracy(SNAPS[:4], 0.99))


def test_best_retrain_layer_is_the_deepest_layer_within_tolerance_of_the_best():
    acc = [0.30, 0.80, 0.85, 0.84, 0.70, 0.60]
    assert ch06.best_retrain_layer(acc) == 3
    assert ch06.best_retrain_layer(acc, tol=0.0) == 2
    assert ch06.best_retrain_layer(acc, layers=range(1, 7), tol=0.2) == 5
    with pytest.raises(ValueError):
        ch06.best_retrain_layer([0.1, float("nan")])


def test_plant_spurious_appends_a_scaled_one_hot_that_agrees_with_probability_p():
    x = torch.zeros(4000, 3)
    labels = torch.arange(4000) % 10
    xp, s, agree = ch06.plant_spurious(x, labels, p=0.8, scale=2.0, n_classes=10, seed=0)
    assert xp.shape == (4000, 13) and torch.equal(xp[:, :3], x)
    assert torch.equal(xp[:, 3:].argmax(1), s) and set(xp[:, 3:].unique().tolist()) == {0.0, 2.0}
    assert torch.equal(agree, (s == labels).long())
    assert abs(agree.double().mean().item() - 0.8) < 0.03
    _, s0, agree0 = ch06.plant_spurious(x, labels, p=0.0, scale=1.0, n_classes=10, seed=1)
    assert agree0.sum() == 0 and s0.min() >= 0 and s0.max() <= 9  # always a different class
    _, _, agree1 = ch06.plant_spurious(x, labels, p=1.0, scale=1.0, n_classes=10, seed=1)
    assert agree1.all()


def test_chapter06_at_smoke_shows_the_core_spurious_science(book_copy, tmp_path):
    """At smoke the nets are small and short-trained, but the chapter's central facts already hold: the
    sign of x_c is the Bayes rule, p = 1 nets read x_s only, finished p = 0.9 nets read x_c, and DFR on a
    p = 1 net's penultimate layer recovers the core feature."""
    from layerwise import book
    from layerwise.io import read_json

    result = book.run_chapter("06", preset="smoke", output=tmp_path / "06", device="cpu", root=book_copy,
                              progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    claims = {c["id"]: c for c in ledger["claims"]}
    assert set(claims) == set(ch06_runs.CLAIMS)
    assert all(e["verdict"] == "ok" for e in ledger["sanity"])
    assert all(v["flipped"] <= 0.1 and abs(v["x_c permuted - ID"]) <= 0.02
               for v in claims["shah20-p1-spurious-only"]["values"].values())
    assert all(v >= 0.95 for v in claims["end-state-p090"]["values"].values() if v is not None)
    assert sum(v["flipped"] >= 0.9 for v in claims["kirichenko23-dfr-p1"]["values"].values()) >= 2
    assert all(c["provenance"] and c["control"]["name"] for c in claims.values())
