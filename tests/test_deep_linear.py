"""The exact width reduction of orthogonally initialised deep linear nets and the batched ensemble."""
import pytest
import torch

from layerwise.data import nearly_orthonormal
from layerwise.deep_linear import (DeepLinearEnsemble, lift, reduce_orthogonal_init, reduced_weight_assumptions,
                                   side_by_side)
from layerwise.features import layer_features
from layerwise.metrics.collapse import layerwise_collapse
from layerwise.metrics.weights import WeightsError, weight_assumptions
from layerwise.models import MLP
from layerwise.train import fit

D, H, K, XI, ALPHA = 12, 40, 3, 0.4, 2.0


@pytest.fixture
def float64_default():
    """Build the MLPs in float64 so that their init is orthogonal to 1e-16 (float32 inits: to 1e-8)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _net(depth: int, seed: int, width: int = H) -> MLP:
    return MLP(D, width, depth, K, activation="linear", bias=False, init="orthogonal", init_scale=XI,
               output_scale=ALPHA, seed=seed).double()


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_reduced_init_reproduces_the_full_outputs_with_width_d_plus_k(depth):
    model = _net(depth, seed=1)
    red = reduce_orthogonal_init(model.weights(), XI)
    assert [v.shape[1] for v in red.bases] == [D + K] * (depth - 1)
    assert red.complement == [H - D - K] * (depth - 1)
    x = torch.randn(7, D, dtype=torch.float64)
    ens = DeepLinearEnsemble([w.unsqueeze(0) for w in red.weights], output_scale=ALPHA)
    with torch.no_grad():
        assert torch.allclose(ens(x), model(x), atol=1e-12)


def test_gradient_descent_on_the_reduced_ensemble_equals_full_width_training_exactly(float64_default):
    """Two seeds of a width-40, depth-4 net trained at full width vs. inside their (d+K)-dim subspaces."""
    depth, epochs = 4, 150
    data = [nearly_orthonormal(3, K, D, seed=s) for s in (0, 1)]
    models = [_net(depth, seed=s) for s in (0, 1)]
    inits = [[w.detach().clone() for w in m.weights()] for m in models]
    reds = [reduce_orthogonal_init(w, XI) for w in inits]
    ens = DeepLinearEnsemble.from_reductions(reds, output_scale=ALPHA)
    y = torch.nn.functional.one_hot(data[0].labels, K).double()
    fit(ens, side_by_side([d.x for d in data]), y.repeat(1, 2), epochs=epochs, lr=0.05, schedule="cosine",
        lr_min=1e-3, loss="mse", progress=False)
    for m, (model, d, init, red) in enumerate(zip(models, data, inits, reds)):
        fit(model, d.x, d.labels, epochs=epochs, lr=0.05, schedule="cosine", lr_min=1e-3, loss="mse", progress=False)
        full = [w.detach() for w in model.weights()]
        lifted = lift(ens.member_weights(m), red, init)
        for a, b in zip(full, lifted):
            assert torch.allclose(a, b, atol=1e-10)
        want = weight_assumptions(full, d.x, d.labels, k=K, alpha=ALPHA)
        got = reduced_weight_assumptions(ens.member_weights(m), red.complement, XI, d.x, d.labels, k=K, alpha=ALPHA)
        for key in want:
            assert got[key] == pytest.approx(want[key], rel=1e-8, abs=1e-14), key
        c_full, d_full = layerwise_collapse(layer_features(model, d.x)[:-1], d.labels)
        feats = [f[m] for f in ens.features(side_by_side([dd.x for dd in data]))][:-1]
        c_red, d_red = layerwise_collapse([f.detach() for f in feats], d.labels)
        assert c_red == pytest.approx(c_full, rel=1e-8)
        assert d_red == pytest.approx(d_full, rel=1e-8)


def test_reduced_measures_equal_the_full_measures_at_init_for_every_depth(float64_default):
    data = nearly_orthonormal(3, K, D, seed=3)
    for depth in (2, 3, 4):
        w = _net(depth, seed=depth).weights()
        red = reduce_orthogonal_init(w, XI)
        got = reduced_weight_assumptions(red.weights, red.complement, XI, data.x, data.labels, k=K, alpha=ALPHA)
        want = weight_assumptions(w, data.x, data.labels, k=K, alpha=ALPHA)
        assert got == pytest.approx(want, rel=1e-8, abs=1e-14)


def test_ensemble_loss_is_the_sum_of_member_losses():
    gen = torch.Generator().manual_seed(0)
    ws = [torch.randn(3, 5, 4, generator=gen, dtype=torch.float64), torch.randn(3, 2, 5, generator=gen, dtype=torch.float64)]
    ens = DeepLinearEnsemble(ws, output_scale=1.5)
    xs = [torch.randn(6, 4, generator=gen, dtype=torch.float64) for _ in range(3)]
    y = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        out = ens(side_by_side(xs))
    total = (out - y.repeat(1, 3)).pow(2).sum(1).mean()
    members = sum((1.5 * xs[m] @ ws[0][m].T @ ws[1][m].T - y).pow(2).sum(1).mean() for m in range(3))
    assert float(total) == pytest.approx(float(members), rel=1e-12)


def test_reduction_refuses_trained_or_non_orthogonal_weights():
    with pytest.raises(WeightsError, match="orthogonal"):
        reduce_orthogonal_init([torch.randn(8, 4), torch.randn(8, 8), torch.randn(2, 8)], 0.1)


def test_ensemble_refuses_members_of_different_shapes():
    reds = [reduce_orthogonal_init(_net(3, 0, width=w).weights(), XI) for w in (10, 40)]
    with pytest.raises(WeightsError, match="group them by shape"):
        DeepLinearEnsemble.from_reductions(reds)


def test_reduced_balance_gaps_equal_the_full_gaps_and_norms(float64_default):
    from layerwise.deep_linear import reduced_balance_gaps
    from layerwise.metrics.weights import balance_gaps

    w = _net(4, seed=5).weights()
    red = reduce_orthogonal_init(w, XI)
    gaps, norms = reduced_balance_gaps(red.weights, red.complement, XI)
    assert gaps == pytest.approx(balance_gaps(w), rel=1e-10, abs=1e-12)
    assert norms == pytest.approx([float(torch.linalg.matrix_norm(m.detach().double())) for m in w[:-1]], rel=1e-12)
