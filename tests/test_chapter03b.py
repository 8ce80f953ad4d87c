"""Chapter 03b's `paper` preset: its code path on tiny stand-in data, and the BERT setting without weights."""
from layerwise import book
from layerwise.io import read_json

TINY = dict(dataset="fake", cnn_dataset="fake", vae_dataset="fake", cnn_n_seeds=2, n_train=60, n_test=30, tl_width=8, tl_epochs=1, cnn_channels=2,
            cnn_epochs=1, n_seeds=1, vae_width=8, vae_epochs=1, n_sequences=64, d_model=8, n_blocks=1,
            attn_epochs=1, nfa_n=60, nfa_width=8, nfa_epochs=2, n_snapshots=1)


def test_paper_preset_code_path_runs_on_tiny_stand_in_data(book_copy, tmp_path):
    result = book.run_chapter("03b", preset="paper", params={**TINY, "attention": "small"}, output=tmp_path / "paper",
                              device="cpu", root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["params"]["sgd_lr"] == 0.0005 and ledger["params"]["n_seeds"] == 1


def test_paper_preset_without_bert_weights_stops_with_instructions(book_copy, tmp_path):
    result = book.run_chapter("03b", preset="paper", params=TINY, output=tmp_path / "bert", device="cpu",
                              root=book_copy, progress=False)
    assert not result.ok
    assert "ModelError" in result.error and "bert_weights" in result.error
    assert not (result.output / "claims.json").exists()


# --- the helpers that decide chapter 03b's verdicts, on constructed cases ------------------------------------
import pytest
import torch

from layerwise import models
from layerwise.chapters import ch03b


def test_depth_profile_stats_of_a_known_profile():
    stats = ch03b.depth_profile_stats([0.884, 0.876, 0.877, 0.874])  # the untrained net of the last run
    assert stats["min step"] == pytest.approx(-0.008) and stats["last - first"] == pytest.approx(-0.010)


def test_tied_layers_groups_shared_epochs_and_ignores_layers_that_never_gain():
    assert ch03b.tied_layers([2, 2, 3, None, None]) == {2: [0, 1]}
    assert ch03b.tied_layers([1, 2, 3]) == {}


def test_refined_half_gain_keeps_distinct_epochs_and_resolves_ties_by_step():
    epochs = [0, 1, 2, 3]
    # layer 0 and 1 both cross half their gain (0.5) in epoch 2; layer 2 in epoch 3; layer 3 never gains
    curves = [[0.0, 0.0, 0.0, 1.0], [0.2, 0.1, 0.1, 0.9], [0.8, 0.7, 0.2, 0.8], [1.0, 1.0, 1.0, 0.5]]

    def replay(e, layers):
        assert e == 2 and layers == [0, 1]
        # 4 steps: layer 0 reaches 0.5 at step 3, layer 1 at step 2
        return [[0.3, 0.3], [0.4, 0.6], [0.6, 0.7], [0.8, 0.7]]

    times = ch03b.refined_half_gain(epochs, curves, replay)
    assert times == [pytest.approx(1.75), pytest.approx(1.5), 3.0, None]


def test_order_values_marks_layers_that_never_gain_and_keeps_only_complete_seeds():
    shown, complete, missing = ch03b.order_values({0: [1.5, 2.0, 3.0], 1: [2.0, None, 4.0]})
    assert shown == {0: [1.5, 2.0, 3.0], 1: [2.0, ch03b.NEVER, 4.0]}
    assert complete == {0: [1.5, 2.0, 3.0]} and missing == {1: [2]}


def test_refined_half_gain_refuses_a_replay_that_does_not_reach_the_epoch_value():
    with pytest.raises(ValueError, match="not exact"):
        ch03b.refined_half_gain([0, 1, 2], [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]], lambda e, ls: [[0.1, 0.1], [0.2, 0.2]])


def test_replaying_an_epoch_from_its_checkpoint_reproduces_the_run_exactly():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(50, 4, generator=g), torch.randint(0, 3, (50,), generator=g)
    net = models.MLP(4, 8, 3, 3, activation="gelu", init="torch", seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    measure = lambda m: float(m.weights()[0].detach().sum())  # noqa: E731
    run = ch03b.train_epoch_checkpoints(net, opt, x, y, epochs=3, batch_size=16, lr=0.01, seed=1, measure=measure)
    assert run.steps_per_epoch == 4 and run.epochs == [0, 1, 2, 3]
    again = ch03b.replay_epoch(run, net, opt, x, y, 2, batch_size=16, lr=0.01, seed=1, measure=measure)
    assert len(again) == 4 and again[-1] == run.values[2]
