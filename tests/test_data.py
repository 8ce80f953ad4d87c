import pytest
import torch

from layerwise import data


def test_nearly_orthonormal_data_match_note_01():
    ds = data.nearly_orthonormal(10, 3, 50, seed=0)
    x = ds.x
    assert x.shape == (30, 50) and x.dtype == torch.float64
    gram = x @ x.T
    # the noise has Frobenius norm 1 in total, so deviations from orthonormality are ~0.1-0.2
    assert (gram.diagonal() - 1).abs().max() < 0.4
    off = gram - torch.diag(gram.diagonal())
    assert off.abs().max() < 0.4
    assert torch.equal(ds.labels, torch.arange(3).repeat_interleave(10))


def test_nearly_orthonormal_noise_has_unit_frobenius_norm():
    clean = data.nearly_orthonormal(5, 2, 20, noise=0.0, seed=3).x
    noisy = data.nearly_orthonormal(5, 2, 20, noise=1.0, seed=3).x
    assert torch.allclose(clean @ clean.T, torch.eye(10, dtype=torch.float64), atol=1e-12)
    assert (noisy - clean).norm().item() == pytest.approx(1.0, rel=1e-12)


def test_same_seed_same_data():
    a = data.nearly_orthonormal(4, 3, 20, seed=5).x
    b = data.nearly_orthonormal(4, 3, 20, seed=5).x
    assert torch.equal(a, b)


def test_digits_ship_offline_and_are_standardised():
    split = data.digits(seed=0)
    assert split.train.x.shape[1] == 64 and split.train.n_classes == 10
    assert len(split.train) + len(split.test) == 1797
    assert split.train.x.mean(0).abs().max() < 1e-4


def test_nan_in_data_is_rejected_at_the_boundary():
    x = torch.zeros(4, 2)
    x[1, 1] = float("nan")
    with pytest.raises(data.DataError, match="NaN/inf"):
        data.Dataset(x, torch.zeros(4, dtype=torch.long), 2, "toy")


def test_missing_torchvision_data_names_the_flag_and_the_path(tmp_path):
    with pytest.raises(data.DataError, match="download=True") as err:
        data.load("cifar10", data_root=tmp_path, download=False)
    assert str(tmp_path) in str(err.value)
    with pytest.raises(data.DataError, match="data_root"):
        data.load("mnist")


def test_fake_data_stands_in_for_cifar_shapes():
    split = data.load("fake", n_train=40, seed=0)
    assert split.train.x.shape == (40, 3 * 32 * 32)
    assert split.train.labels.max() < 10


def test_stratified_subset_keeps_class_proportions():
    labels = torch.arange(4).repeat_interleave(100)
    idx = data.stratified_subset(labels, 40, seed=0)
    assert torch.bincount(labels[idx]).tolist() == [10, 10, 10, 10]
