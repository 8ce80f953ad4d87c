"""The 1-D CNN front end (MNIST-1D): shapes of its per-layer features, determinism, argument checks."""
import pytest
import torch

from layerwise import models


def test_small_cnn1d_features_have_the_documented_flat_shapes_for_mnist1d_length_40():
    model = models.SmallCNN1d(40, 10, channels=8, seed=0)
    feats = model.features(torch.randn(6, 40))
    assert [tuple(f.shape) for f in feats] == [(6, 40), (6, 8 * 20), (6, 8 * 10), (6, 8 * 5), (6, 10)]
    assert model.lengths == [40, 20, 10, 5] and model.depth == 4
    assert torch.allclose(feats[-1], model(feats[0]))
    assert all((f >= 0).all() for f in feats[1:4])  # hidden features are after the ReLU


def test_small_cnn1d_rounds_odd_lengths_up():
    model = models.SmallCNN1d(41, 3, channels=2, seed=0)
    assert model.lengths == [41, 21, 11, 6]
    assert model(torch.randn(2, 41)).shape == (2, 3)


def test_small_cnn1d_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = models.SmallCNN1d(40, 10, seed=4), models.SmallCNN1d(40, 10, seed=4)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = models.SmallCNN1d(40, 10, seed=5)
    assert not torch.equal(a.fc.weight, c.fc.weight)


def test_small_cnn1d_rejects_an_empty_signal_by_name():
    with pytest.raises(models.ModelError, match="signal_length"):
        models.SmallCNN1d(0, 10)
