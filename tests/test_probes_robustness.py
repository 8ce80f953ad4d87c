"""Group robustness metrics, DFR (last-layer retraining) and retraining from layer k."""
import numpy as np
import pytest
import torch

from layerwise import data
from layerwise.data import CORE, SPURIOUS
from layerwise.metrics import probes


def test_group_accuracies_and_worst_group_by_hand():
    pred = torch.tensor([0, 0, 1, 1, 1, 0])
    labels = torch.tensor([0, 1, 1, 1, 0, 0])
    groups = torch.tensor([0, 1, 3, 3, 0, 1])
    acc = probes.group_accuracies(pred, labels, groups)
    assert acc == {0: 0.5, 1: 0.5, 3: 1.0}
    assert probes.worst_group_accuracy(pred, labels, groups) == 0.5


def test_binary_auc_equals_the_mann_whitney_pair_count():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(200, generator=gen, dtype=torch.float64)
    labels = (torch.rand(200, generator=gen) < 0.4).long()
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = (pos[:, None] > neg[None, :]).double().mean()
    assert abs(probes.binary_auc(scores, labels) - float(pairs)) < 1e-12
    logits = torch.stack([torch.zeros(200, dtype=torch.float64), scores], 1)
    assert probes.binary_auc(logits, labels) == probes.binary_auc(scores, labels)
    assert probes.binary_auc(-scores, labels) == pytest.approx(1 - float(pairs))


def _hand_features(d: data.GroupDataset) -> torch.Tensor:
    """Fixed features built by hand: 8 noisy copies of x_s, one faint copy of x_c, 20 noise units."""
    gen = torch.Generator().manual_seed(len(d))
    xs = d.x[:, SPURIOUS:SPURIOUS + 1].double()
    copies = xs * torch.linspace(0.5, 2.0, 8, dtype=torch.float64) + 0.3 * torch.randn(len(d), 8, generator=gen,
                                                                                        dtype=torch.float64)
    core = 0.1 * d.x[:, CORE:CORE + 1].double()
    noise = torch.randn(len(d), 20, generator=gen, dtype=torch.float64)
    return torch.cat([copies, core, noise], 1)


def test_dfr_recovers_the_core_feature_from_fixed_features():
    splits = data.core_spurious_splits(2000, 2000, 1600, p=1.0, seed=0)
    held, flipped, ind = splits["heldout"], splits["flipped"], splits["id"]
    head = probes.dfr(_hand_features(held), held.labels, held.groups, seed=0)
    flip_acc = float((head.predict(_hand_features(flipped)) == flipped.labels).double().mean())
    wga = probes.worst_group_accuracy(head.predict(_hand_features(splits["balanced"])),
                                      splits["balanced"].labels, splits["balanced"].groups)
    assert flip_acc >= 0.97 and wga >= 0.97
    assert float((head.predict(_hand_features(ind)) == ind.labels).double().mean()) >= 0.97
    w = np.abs(head.coef[0])
    assert w.argmax() == 8  # the core column carries the largest standardised weight
    assert head.C in probes.DFR_CS and set(head.tuning) == set(probes.DFR_CS)


def test_erm_logistic_on_the_same_features_latches_onto_the_spurious_copies():
    """Control for the DFR test: fitted on the p = 1 training set instead, the spurious copies win."""
    from sklearn.linear_model import LogisticRegression

    splits = data.core_spurious_splits(2000, 2000, 400, p=1.0, seed=0)
    tr, flipped = splits["train"], splits["flipped"]
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(_hand_features(tr).numpy(), tr.labels.numpy())
    flip_acc = float((clf.predict(_hand_features(flipped).numpy()) == flipped.labels.numpy()).mean())
    assert flip_acc <= 0.1


def test_dfr_refuses_a_single_class():
    with pytest.raises(ValueError, match="both classes"):
        probes.dfr(torch.randn(10, 3), torch.zeros(10), torch.zeros(10))


def test_retrain_head_depth_one_learns_a_linearly_decodable_label_and_is_seeded():
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(300, 6, generator=gen) * torch.tensor([5.0, 1, 1, 1, 1, 0.0])  # one dead unit
    labels = (z[:, 1] > 0).long()
    heads = [probes.retrain_head(z, labels, depth=d, width=8, epochs=100, lr=0.05, seed=0) for d in (1, 3)]
    for head in heads:
        assert float((head.predict(z) == labels).double().mean()) >= 0.97
    again = probes.retrain_head(z, labels, depth=3, width=8, epochs=100, lr=0.05, seed=0)
    assert torch.equal(again.logits(z), heads[1].logits(z))


def test_dfr_on_an_unbalanced_heldout_set_averages_balanced_refits_and_still_finds_the_core():
    held = data.core_spurious(3000, p=0.8, seed=11)  # groups of unequal size: refits differ
    flipped = data.core_spurious(1000, p=0.0, seed=12)
    head = probes.dfr(_hand_features(held), held.labels, held.groups, n_refits=5, seed=1)
    assert float((head.predict(_hand_features(flipped)) == flipped.labels).double().mean()) >= 0.97
