"""Chapter 6 generators: core/spurious splits, Shah's LMS-5 data, Pezeshki's shifted two moons."""
import math

import pytest
import torch

from layerwise import data
from layerwise.data import CORE, SPURIOUS, DataError


def _sd(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.5, 0.9, 0.99])
def test_core_spurious_group_proportions_match_p_within_sampling_error(p):
    n = 20000
    d = data.core_spurious(n, p=p, seed=3)
    frac = torch.bincount(d.groups, minlength=4).double() / n
    expected = torch.tensor([p / 2, (1 - p) / 2, (1 - p) / 2, p / 2], dtype=torch.float64)
    for g in range(4):
        assert abs(frac[g] - expected[g]) < 4 * _sd(float(expected[g]), n) + 1e-12, (g, frac, expected)
    agree = (d.spurious == d.labels * 2 - 1).double().mean()
    assert abs(agree - p) < 4 * _sd(p, n) + 1e-12


def test_core_spurious_feature_scales_follow_the_generative_model():
    d = data.core_spurious(20000, p=0.9, n_noise=5, seed=1)
    y = (d.labels * 2 - 1).double()
    xc, xs = d.x[:, CORE].double(), d.x[:, SPURIOUS].double()
    assert torch.allclose((xc * y).mean(), torch.tensor(0.5, dtype=torch.float64), atol=2e-3)  # a_c mu
    assert abs((xc - 0.25 * 2 * y).std() - 0.05) < 2e-3  # a_c sigma
    assert abs((xs - 6.0 * d.spurious.double()).std() - 1.0) < 0.03
    assert abs((xs * y).mean() - 6.0 * (2 * 0.9 - 1)) < 0.1  # E[y x_s] = a_s (2p - 1) = 4.8
    assert d.x.shape == (20000, 7) and abs(d.x[:, 2:].std() - 0.1) < 3e-3


def test_flipped_split_has_s_equal_minus_y_everywhere():
    splits = data.core_spurious_splits(200, 500, 400, p=0.9, seed=0)
    flipped = splits["flipped"]
    assert torch.equal(flipped.spurious, -(flipped.labels * 2 - 1))
    assert set(flipped.groups.tolist()) <= {1, 2}
    # and x_s points the wrong way on almost every sample (noise sd 1 against a_s = 6)
    assert float((torch.sign(flipped.x[:, SPURIOUS]) == flipped.spurious).double().mean()) > 0.999


def test_splits_are_distinct_draws_and_heldout_is_group_balanced():
    splits = data.core_spurious_splits(300, 400, 800, p=1.0, seed=2)
    assert set(splits) == {"train", "id", "balanced", "flipped", "randomised", "heldout"}
    assert not torch.equal(splits["train"].x[:10], splits["id"].x[:10])
    counts = torch.bincount(splits["heldout"].groups, minlength=4)
    assert counts.min() == counts.max() and counts.min() > 150
    assert set(splits["train"].groups.tolist()) == {0, 3}  # p = 1: no conflicting samples
    bal = torch.bincount(splits["balanced"].groups, minlength=4).double() / 400
    assert (bal - 0.25).abs().max() < 4 * _sd(0.25, 400)


def test_randomised_split_permutes_only_the_spurious_column_and_regroups():
    splits = data.core_spurious_splits(10, 2000, 40, p=0.9, seed=4)
    ind, rnd = splits["id"], splits["randomised"]
    keep = [c for c in range(ind.x.shape[1]) if c != SPURIOUS]
    assert torch.equal(ind.x[:, keep], rnd.x[:, keep])
    assert torch.equal(torch.sort(ind.x[:, SPURIOUS]).values, torch.sort(rnd.x[:, SPURIOUS]).values)
    agree = float((rnd.spurious == rnd.labels * 2 - 1).double().mean())
    assert abs(agree - 0.5) < 4 * _sd(0.5, 2000)
    assert torch.equal(rnd.groups, data.group_of(rnd.labels, rnd.spurious))


def test_subset_keeps_attributes_and_balance_refuses_missing_groups():
    d = data.core_spurious(100, p=0.7, seed=0)
    sub = d.subset(torch.arange(10))
    assert isinstance(sub, data.GroupDataset) and torch.equal(sub.groups, d.groups[:10])
    with pytest.raises(DataError, match="empty"):
        data.balance_groups(data.core_spurious(100, p=1.0))
    with pytest.raises(DataError, match="p"):
        data.core_spurious(10, p=1.5)


def test_permute_columns_moves_listed_columns_together():
    x = torch.arange(20.0).reshape(5, 4)
    out = data.permute_columns(x, [1, 2], seed=0)
    assert torch.equal(out[:, [0, 3]], x[:, [0, 3]])
    assert torch.equal(out[:, 2] - out[:, 1], x[:, 2] - x[:, 1])  # one shared permutation
    assert torch.equal(torch.sort(out[:, 1]).values, x[:, 1])


def test_lms5_each_coordinate_alone_separates_the_classes():
    z, labels = data.lms5_latent(5000, dim=50, margin=0.1, seed=0)
    y = labels.bool()
    # linear coordinate: the sign, with margin 0.1 on both sides
    assert bool((z[y, 0] >= 0.1).all()) and bool((z[~y, 0] <= -0.1).all())
    # every slab coordinate: class + lives in 0.32 <= |z| <= 0.56, class - in |z| <= 0.12 or |z| >= 0.76
    a = z[:, 1:].abs()
    assert bool(((a[y] >= 0.32 - 1e-12) & (a[y] <= 0.56 + 1e-12)).all())
    assert bool(((a[~y] <= 0.12 + 1e-12) | (a[~y] >= 0.76 - 1e-12)).all())
    assert float(a.max()) <= 1.0
    frac_centre = float((a[~y] <= 0.12 + 1e-12).double().mean())
    assert abs(frac_centre - 0.75) < 0.01


def test_lms5_rotation_is_undone_by_randomise_in_basis_bookkeeping():
    rot = data.random_rotation(50, seed=1)
    assert torch.allclose(rot @ rot.T, torch.eye(50, dtype=torch.float64), atol=1e-12)
    d = data.lms5(400, rotation=rot, seed=2)
    z, labels = data.lms5_latent(400, seed=2)
    assert torch.allclose(d.x.double() @ rot.T, z, atol=1e-5) and torch.equal(d.labels, labels)
    s_rand = data.randomise_in_basis(d.x, [0], rot, seed=0).double() @ rot.T
    assert torch.allclose(s_rand[:, 1:], z[:, 1:], atol=1e-5)  # slabs untouched
    assert not torch.allclose(s_rand[:, 0], z[:, 0], atol=1e-3)
    sc = data.randomise_in_basis(d.x, range(1, 50), rot, seed=0).double() @ rot.T
    assert torch.allclose(sc[:, 0], z[:, 0], atol=1e-5)


def test_shifted_moons_are_separable_with_gap_twice_the_margin():
    for seed in range(3):
        d = data.shifted_moons(300, margin=0.1, seed=seed)
        ypm = d.labels * 2 - 1
        first = d.x[:, 0].double() * -ypm  # class +1 lies at x_0 <= -margin, class -1 at x_0 >= margin
        assert float(first.min()) >= 0.1 - 1e-6
        assert float(first.min()) < 0.1 + 0.02  # and some point comes close to it
    neg = data.shifted_moons(300, margin=-0.1, seed=0)
    first = neg.x[:, 0] * -(neg.labels * 2 - 1)
    assert float(first.min()) < 0  # the control overlaps


def test_id_split_can_follow_note_06_at_p_090_while_training_at_p_1():
    splits = data.core_spurious_splits(500, 4000, 40, p=1.0, p_id=0.9, seed=1)
    assert set(splits["train"].groups.tolist()) == {0, 3}
    conflict = float(((splits["id"].groups == 1) | (splits["id"].groups == 2)).double().mean())
    assert abs(conflict - 0.1) < 4 * _sd(0.1, 4000)
