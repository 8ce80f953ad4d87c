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
