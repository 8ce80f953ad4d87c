"""optim: the Gram-preserving (whitening) update of note 03, section 4."""
import pytest
import torch

from layerwise import optim
from layerwise.metrics.gram import weight_gram
from layerwise.models import MLP
from layerwise.train import fit


def _pair(d_out, d_in, seed=0, step=0.05):
    gen = torch.Generator().manual_seed(seed)
    w1 = torch.randn(d_out, d_in, generator=gen, dtype=torch.float64)
    return w1, w1 - step * torch.randn(d_out, d_in, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("shape", [(256, 256), (256, 64), (10, 256)])
def test_exact_polar_rotation_keeps_the_gram_to_1e10(shape):
    w1, w2 = _pair(*shape)
    assert optim.gram_relative_change(w2, optim.gram_preserving_rotation(w1, w2)) <= 1e-10


def test_rotation_keeps_the_gram_of_reshaped_conv_kernels():
    gen = torch.Generator().manual_seed(1)
    k1 = torch.randn(16, 3, 3, 3, generator=gen, dtype=torch.float64)
    k2 = k1 - 0.1 * torch.randn(16, 3, 3, 3, generator=gen, dtype=torch.float64)
    out = optim.gram_preserving_rotation(k1, k2)
    assert out.shape == k2.shape
    torch.testing.assert_close(weight_gram(out), weight_gram(k2), rtol=1e-10, atol=1e-12)


def test_polar_factor_is_orthogonal_and_the_procrustes_rotation_is_closest_to_w1():
    w1, w2 = _pair(12, 30, step=0.5)
    o = optim.polar_factor(w1 @ w2.T)
    torch.testing.assert_close(o @ o.T, torch.eye(12, dtype=torch.float64))
    best = (o @ w2 - w1).norm()
    gen = torch.Generator().manual_seed(3)
    for _ in range(20):  # no other orthogonal matrix does better (orthogonal Procrustes)
        q, _ = torch.linalg.qr(o + 0.05 * torch.randn(12, 12, generator=gen, dtype=torch.float64))
        assert (q @ w2 - w1).norm() >= best - 1e-12


def test_newton_schulz_polar_converges_on_wide_layers_and_lags_on_square_ones():
    w1, w2 = _pair(10, 256)
    ns = optim.gram_preserving_rotation(w1, w2, method="newton_schulz")
    assert optim.gram_relative_change(w2, ns) <= 1e-8
    w1, w2 = _pair(256, 256)
    ns = optim.gram_preserving_rotation(w1, w2, method="newton_schulz")
    assert 1e-8 < optim.gram_relative_change(w2, ns) <= 5e-2  # note 03: ~3e-3 with 10 steps


def test_gram_preserving_sgd_trains_through_fit_and_keeps_every_step_gram():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (64,), generator=gen)
    model = MLP(5, 32, 3, 3, activation="gelu", init="torch", seed=0).double()
    opts = []

    def make(params):
        opts.append(optim.GramPreservingSGD(params, lr=0.05, momentum=0.85, track_gram_error=True))
        return opts[0]

    hist = fit(model, x, y, epochs=5, lr=0.05, loss="ce", batch_size=16, make_optimizer=make)
    assert hist.loss[-1] < hist.loss[0]
    assert len(opts[0].gram_errors) == hist.steps == 20
    assert max(opts[0].gram_errors) <= 1e-10


def test_gram_preserving_step_changes_the_gram_exactly_as_the_base_step():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(30, 4, generator=gen, dtype=torch.float64)
    plain = MLP(4, 8, 2, 2, activation="tanh", seed=1).double()
    white = MLP(4, 8, 2, 2, activation="tanh", seed=1).double()
    for model, opt in ((plain, torch.optim.SGD(plain.parameters(), lr=0.1)),
                       (white, optim.GramPreservingSGD(white.parameters(), lr=0.1))):
        model(x).pow(2).mean().backward()
        opt.step()
    for a, b in zip(plain.layers, white.layers):
        torch.testing.assert_close(weight_gram(b.weight.detach()), weight_gram(a.weight.detach()), rtol=1e-10, atol=1e-13)
        torch.testing.assert_close(b.bias, a.bias)  # biases untouched
    assert not torch.allclose(plain.layers[0].weight, white.layers[0].weight)


def test_gram_preserving_rejects_unknown_polar_method():
    with pytest.raises(optim.OptimError, match="polar must be one of"):
        optim.GramPreservingSGD([torch.nn.Parameter(torch.ones(2, 2))], lr=0.1, polar="qr")
