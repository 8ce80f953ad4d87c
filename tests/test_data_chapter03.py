"""data: the generators chapter 03 adds (Swiss roll, staircase, modular addition, random labels)."""
import pytest
import torch

from layerwise import data


def test_swiss_roll_is_scaled_to_the_unit_square_and_deterministic():
    x, t = data.swiss_roll(500, seed=3)
    assert x.shape == (500, 2) and t.shape == (500,)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0 and float(t.min()) == 0.0 and float(t.max()) == 1.0
    x2, t2 = data.swiss_roll(500, seed=3)
    assert torch.equal(x, x2) and torch.equal(t, t2)


def test_swiss_roll_parameter_orders_the_points_along_one_curve():
    x, t = data.swiss_roll(400, seed=0)
    along = x[torch.argsort(t)]
    step = (along[1:] - along[:-1]).norm(dim=1).mean()  # neighbours in t are neighbours in the plane
    spread = torch.cdist(x, x).mean()
    assert step < 0.05 * spread


def test_staircase_target_is_the_sum_of_leading_monomials():
    x, y = data.staircase(50, 10, seed=42)
    x1, x2, x3, x4 = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
    torch.testing.assert_close(y, x1 * x2 * x3 * x4 + x1 * x2 * x3 + x1 * x2 + x1)
    with pytest.raises(data.DataError, match="dim >= 4"):
        data.staircase(10, 3)


def test_modular_addition_labels_every_pair_once_across_the_split():
    split = data.modular_addition(7, train_fraction=0.7, seed=0)
    assert len(split.train) == 34 and len(split.test) == 15
    x = torch.cat([split.train.x, split.test.x])
    labels = torch.cat([split.train.labels, split.test.labels])
    a, b = x[:, :7].argmax(1), x[:, 7:].argmax(1)
    assert torch.equal(labels, (a + b) % 7)
    assert len({(int(i), int(j)) for i, j in zip(a, b)}) == 49


def test_random_labels_keeps_labels_at_p0_and_mostly_changes_them_at_p1():
    base = data.Dataset(torch.zeros(2000, 2), torch.arange(2000) % 10, 10, "toy")
    assert torch.equal(data.random_labels(base, 0.0).labels, base.labels)
    changed = (data.random_labels(base, 1.0, seed=1).labels != base.labels).double().mean()
    assert float(changed) == pytest.approx(0.9, abs=0.03)  # a uniform draw keeps the label 1/K of the time
    with pytest.raises(data.DataError, match="p must be in"):
        data.random_labels(base, 1.5)
