"""MNIST-1D: generated offline with the published arguments, deterministic, balanced."""
import numpy as np
import pytest
import torch

from layerwise import data


@pytest.fixture(scope="module")
def split():
    return data.load("mnist1d")


def test_mnist1d_has_the_published_shapes_and_split(split):
    assert split.train.x.shape == (4000, 40) and split.test.x.shape == (1000, 40)
    assert split.train.x.dtype == torch.float32 and split.train.n_classes == 10


def test_mnist1d_classes_are_balanced(split):
    counts = torch.bincount(torch.cat([split.train.labels, split.test.labels]), minlength=10)
    assert counts.tolist() == [500] * 10  # 5000 samples, 500 per template
    train_counts = torch.bincount(split.train.labels, minlength=10)
    assert int(train_counts.min()) >= 380 and int(train_counts.max()) <= 420


def test_mnist1d_is_deterministic_and_leaves_numpy_global_state_alone(split):
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    again = data.load("mnist1d")
    assert np.random.rand() == expected
    assert torch.equal(again.train.x, split.train.x) and torch.equal(again.test.labels, split.test.labels)


def test_mnist1d_inputs_are_standardised_by_the_generator(split):
    x = torch.cat([split.train.x, split.test.x]).double()
    assert abs(float(x.mean())) < 1e-6 and abs(float(x.std()) - 1) < 1e-3


def test_mnist1d_n_train_takes_a_stratified_subset():
    small = data.load("mnist1d", n_train=500)
    assert abs(len(small.train) - 500) <= 10 and len(small.test) == 1000  # stratified rounding
    assert torch.bincount(small.train.labels, minlength=10).min() >= 45


def test_mnist1d_rejects_unknown_generator_arguments():
    with pytest.raises(data.DataError, match="unknown MNIST-1D argument 'samples'"):
        data.mnist1d(samples=10)
