"""Chapter 05 data: yin-yang, disk and the hidden manifold model (Gaussian and Bernoulli latents)."""
import pytest
import torch

from layerwise.data import DataError, disk, hidden_manifold, yin_yang


def test_yin_yang_is_balanced_and_inside_the_disk():
    data = yin_yang(999, seed=1)
    assert data.x.shape == (999, 2) and data.x.dtype == torch.float32
    assert torch.bincount(data.labels).tolist() == [500, 499]
    assert float(data.x.norm(dim=1).max()) <= 1.0
    three = yin_yang(900, n_classes=3, radius=2.0)
    assert torch.bincount(three.labels).tolist() == [300, 300, 300]
    assert float(three.x.norm(dim=1).max()) <= 2.0


def test_yin_yang_half_turn_swaps_the_two_colours_and_keeps_the_dots():
    data = yin_yang(2000, seed=2, balanced=False)
    flipped = yin_yang(2000, seed=2, balanced=False)  # same points
    from layerwise.data import _yin_yang_label

    pts = data.x.double()
    assert torch.equal(_yin_yang_label(-pts, 2, 0.2), 1 - flipped.labels)
    three = _yin_yang_label(pts, 3, 0.2)
    assert torch.equal(_yin_yang_label(-pts, 3, 0.2) == 2, three == 2)


def test_yin_yang_dots_take_the_opposite_colour_of_their_lobe():
    from layerwise.data import _yin_yang_label

    pts = torch.tensor([[0.0, 0.5], [0.0, -0.5], [-0.3, 0.5], [0.3, -0.5], [-0.9, 0.0], [0.9, 0.0]],
                       dtype=torch.float64)
    assert _yin_yang_label(pts, 2, 0.2).tolist() == [1, 0, 0, 1, 0, 1]
    assert _yin_yang_label(pts, 3, 0.2).tolist() == [2, 2, 0, 1, 0, 1]


def test_unbalanced_yin_yang_class_shares_follow_the_areas():
    data = yin_yang(20000, balanced=False, n_classes=3, seed=3)
    share = torch.bincount(data.labels).double() / 20000
    assert float(share[2]) == pytest.approx(2 * 0.2 ** 2, abs=0.01)  # two dots of area pi 0.2^2 / pi


def test_disk_labels_are_inside_the_balanced_radius():
    data = disk(4000, seed=4)
    assert data.x.shape == (4000, 2)
    inside = data.x.double().norm(dim=1) < (2 / torch.pi) ** 0.5
    assert torch.equal(inside.long(), data.labels)
    assert abs(data.labels.double().mean().item() - 0.5) < 0.03


def test_generators_are_deterministic_in_their_seed():
    assert torch.equal(yin_yang(100, seed=5).x, yin_yang(100, seed=5).x)
    assert not torch.equal(disk(100, seed=5).x, disk(100, seed=6).x)
    a, ca = hidden_manifold(50, seed=7)
    b, cb = hidden_manifold(50, seed=7)
    assert torch.equal(a.x, b.x) and torch.equal(ca, cb)


def test_hidden_manifold_linear_inputs_span_exactly_the_latent_dimension():
    data, latent = hidden_manifold(200, latent_dim=6, ambient_dim=40, nonlinearity="linear", standardize=False)
    assert data.x.shape == (200, 40) and latent.shape == (200, 6)
    assert int(torch.linalg.matrix_rank(data.x.double(), rtol=1e-5)) == 6


def test_hidden_manifold_shares_the_manifold_between_train_and_test_draws():
    train, c_train = hidden_manifold(300, nonlinearity="linear", standardize=False, seed=1, manifold_seed=9)
    test, c_test = hidden_manifold(300, nonlinearity="linear", standardize=False, seed=2, manifold_seed=9)
    mixing = torch.linalg.lstsq(c_train, train.x.double()).solution
    assert torch.allclose(c_test @ mixing, test.x.double(), atol=1e-4)


def test_hidden_manifold_labels_depend_on_the_latent_only():
    sign, c1 = hidden_manifold(300, nonlinearity="sign", seed=3)
    tanh, c2 = hidden_manifold(300, nonlinearity="tanh", noise=0.5, seed=3)
    assert torch.equal(c1, c2) and torch.equal(sign.labels, tanh.labels)
    assert abs(sign.labels.double().mean().item() - 0.5) < 0.1


def test_hidden_manifold_sign_inputs_are_standardised_and_bernoulli_latents_are_binary():
    data, _ = hidden_manifold(500, seed=0)
    assert abs(data.x.double().mean().item()) < 1e-6 and data.x.double().std().item() == pytest.approx(1.0, abs=1e-6)
    bern, c = hidden_manifold(4000, latent="bernoulli", p=0.3, seed=0)
    assert set(c.unique().tolist()) == {0.0, 1.0}
    assert c.mean().item() == pytest.approx(0.3, abs=0.02)
    assert bern.name == "hidden-manifold-bernoulli"


@pytest.mark.parametrize("call, match", [
    (lambda: yin_yang(10, n_classes=4), "n_classes"),
    (lambda: yin_yang(0), "n must be"),
    (lambda: disk(10, radius=2.0), "radius"),
    (lambda: hidden_manifold(10, latent="uniform"), "latent must be"),
    (lambda: hidden_manifold(10, nonlinearity="sigmoid"), "nonlinearity"),
    (lambda: hidden_manifold(10, latent="bernoulli", p=1.0), "p \\(the Bernoulli"),
])
def test_generators_reject_bad_arguments_by_name(call, match):
    with pytest.raises(DataError, match=match):
        call()
