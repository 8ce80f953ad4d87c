"""Training to a criterion: fit(criterion=..., eval_data=...) records whether each net reached it, and
summary_line says so in one line."""
from __future__ import annotations

import pytest
import torch

from layerwise import train
from layerwise.ensemble import Ensemble
from layerwise.models import MLP
from layerwise.train import Criterion, History


def blobs(n=60, seed=0, gap=4.0):
    """Two Gaussian blobs `gap` apart in 2-d (linearly separable): labels 0/1."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 2, generator=g) * 0.5 + gap * (y[:, None].float() - 0.5)
    return x, y


def test_criteria_parse_strictly():
    assert Criterion.parse("train_acc >= 0.99") == Criterion("train_acc", ">=", 0.99)
    assert Criterion.parse(" loss<1e-3 ") == Criterion("loss", "<", 0.001)
    assert str(Criterion.parse("loss <= 1e-3")) == "loss <= 0.001"
    for bad in ("acc >= 0.9", "train_acc <= 0.9", "loss >= 1", "train_acc >= 1.5", "loss <= 0", "train_acc >= 0.9x",
                "train_acc >= 0.9 and loss <= 1", "", "train_acc"):
        with pytest.raises(ValueError, match="criterion|train_acc|loss"):
            Criterion.parse(bad)
    with pytest.raises(ValueError, match="criterion must read"):
        train.fit(MLP(2, 4, 2, 2), *blobs(), epochs=1, lr=0.1, criterion="accuracy 99%", progress=False)


def test_accuracy_of_labels_one_hot_and_one_output():
    out = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    assert train.accuracy(out, torch.tensor([0, 1, 1, 1])).item() == 0.75
    assert train.accuracy(out, torch.eye(2)[[0, 1, 1, 1]]).item() == 0.75
    one = torch.tensor([[0.3], [-2.0], [1.0]])
    assert train.accuracy(one, torch.tensor([1.0, -1.0, -1.0])).item() == pytest.approx(2 / 3)  # signs
    assert train.accuracy(one, torch.tensor([1.0, 0.0, 1.0])).item() == pytest.approx(2 / 3)  # > 0.5
    assert train.accuracy(torch.stack([out, -out]), torch.tensor([0, 1, 1, 1])).tolist() == [0.75, 0.25]


def test_training_stops_at_the_first_epoch_that_meets_the_criterion():
    x, y = blobs()
    x_test, y_test = blobs(seed=1)
    hist = train.fit(MLP(2, 16, 2, 2, seed=0), x, y, epochs=200, lr=0.1, loss="ce", criterion="train_acc >= 0.99",
                     eval_data=(x_test, y_test), progress=False)
    assert hist.reached is True and hist.stopped_early and hist.epochs_run < 200
    assert hist.train_acc >= 0.99 and hist.test_acc >= 0.9 and hist.criterion == "train_acc >= 0.99"
    assert hist.final_loss == hist.loss[-1] and len(hist.loss) == hist.epochs_run + 1
    # one epoch earlier it had not: the same net trained for epochs_run - 1 epochs misses the criterion
    if hist.epochs_run > 1:
        short = train.fit(MLP(2, 16, 2, 2, seed=0), x, y, epochs=hist.epochs_run - 1, lr=0.1, loss="ce",
                          criterion="train_acc >= 0.99", progress=False)
        assert short.reached is False and short.train_acc < 0.99


def test_an_unreached_criterion_uses_the_whole_budget_and_says_so():
    x, y = blobs()
    hist = train.fit(MLP(2, 8, 2, 2, seed=0), x, y, epochs=3, lr=0.01, criterion="loss <= 1e-9", progress=False)
    assert hist.reached is False and hist.epochs_run == 3 and not hist.stopped_early
    assert hist.final_loss == hist.loss[-1] > 1e-9 and hist.train_acc is None  # a loss criterion: no accuracy


def test_a_criterion_that_is_never_met_leaves_training_exactly_as_it_was():
    x, y = blobs()
    runs = []
    for kwargs in ({}, {"criterion": "train_acc >= 1.0"}, {"criterion": "loss <= 1e-12", "eval_data": (x, y)}):
        net = MLP(2, 8, 3, 2, seed=3)
        hist = train.fit(net, x, y * 0 + torch.randint(0, 2, (60,), generator=torch.Generator().manual_seed(0)),
                         epochs=5, lr=0.05, batch_size=16, momentum=0.9, seed=2, progress=False, **kwargs)
        runs.append((hist.loss, [p.detach().clone() for p in net.parameters()], net.training))
    for loss, params, training in runs[1:]:
        assert loss == runs[0][0] and all(torch.equal(a, b) for a, b in zip(params, runs[0][1])) and training
    hist = train.fit(MLP(2, 8, 2, 2), x, y, epochs=2, lr=0.1, progress=False)
    assert (hist.criterion, hist.reached, hist.train_acc, hist.test_acc) == (None, None, None, None)


def test_an_ensemble_checks_the_criterion_per_member():
    x, y = blobs()
    nets = [MLP(2, 16, 2, 2, seed=s) for s in (0, 1)]
    hist = train.fit(Ensemble(nets), x, y, epochs=200, lr=0.1, loss="ce", criterion="train_acc >= 0.99",
                     eval_data=blobs(seed=1), progress=False, seed=[0, 1])
    assert hist.reached and hist.member_reached == [True, True] and hist.epochs_run < 200
    m = hist.member(1)
    assert m.reached and m.train_acc >= 0.99 and m.test_acc == hist.member_test_acc[1] and m.criterion == hist.criterion


def record(reached, epochs, acc, test=None, criterion="train_acc >= 0.99"):
    return History(loss=[1.0, 0.1], epochs_run=epochs, criterion=criterion, reached=reached, final_loss=0.1,
                   train_acc=acc, test_acc=test)


def test_summary_line_all_reached():
    hs = [record(True, 40, 1.0, 0.55), record(True, 180, 0.995, 0.68), record(True, 75, 1.0, 0.6)]
    assert train.summary_line(hs) == "3 nets, all reached train accuracy >= 0.99 in 40-180 epochs; test 0.55-0.68"
    assert train.summary_line([record(True, 40, 1.0)]) == "1 net, all reached train accuracy >= 0.99 in 40 epochs"


def test_summary_line_names_the_seeds_that_did_not_reach_it():
    hs = {0: record(True, 40, 1.0, 0.6), 3: record(False, 600, 0.93, 0.5), 5: record(True, 90, 1.0, 0.62),
          7: record(False, 600, 0.95, 0.51)}
    assert train.summary_line(hs) == ("2 of 4 nets reached train accuracy >= 0.99 in 40-90 epochs; 2 did not "
                                      "(seeds 3, 7: 0.93, 0.95 after 600 epochs); test 0.50-0.62")
    none = [record(False, 600, 0.5, criterion="loss <= 0.001")]
    assert train.summary_line(none, what="the loss") == (
        "1 net, none reached the loss <= 0.001; final training loss 0.1 after 600 epochs")
    with pytest.raises(ValueError, match="one criterion"):
        train.summary_line([record(True, 1, 1.0), record(True, 1, 1.0, criterion="loss <= 0.001")])
