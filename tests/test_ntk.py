"""Layerwise tangent kernels: the Hadamard fast path against torch.func, layouts, ranks, errors."""
from __future__ import annotations

import pytest
import torch

from layerwise.metrics import ntk
from layerwise.metrics.ntk import (NTKError, full_ntk, layerwise_ntk, layerwise_ntk_reference, ntk_effective_rank,
                                   ntk_rank, output_trace, tangent_kernels)
from layerwise.metrics.rank import effective_rank, numerical_rank
from layerwise.models import MLP
from layerwise.train import fit


def _data(n=7, d=5, o=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen, dtype=torch.float64), torch.randint(0, o, (n,), generator=gen)


def _model(activation="relu", bias=True, **kw):
    kw = {"init": "torch", "seed": 3, **kw}
    return MLP(5, 11, 4, 3, activation=activation, bias=bias, **kw).double()


def _rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("trained", [False, True], ids=["init", "trained"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "linear"])
def test_fast_kernels_equal_torch_func_reference_in_float64(activation, bias, trained):
    model = _model(activation, bias)
    x, y = _data()
    if trained:
        fit(model, x, y, epochs=5, lr=0.05, progress=False)
    for outputs in ("full", "trace"):
        fast = layerwise_ntk(model, x, outputs=outputs)
        ref = layerwise_ntk_reference(model, x, outputs=outputs)
        assert fast.shape == ref.shape == ((4, 21, 21) if outputs == "full" else (4, 7, 7))
        for l in range(4):
            assert _rel(fast[l], ref[l]) < 1e-10


@pytest.mark.parametrize("bias", [True, False])
def test_weight_multipliers_and_output_scale_enter_as_alpha(bias):
    model = _model("relu", bias, parametrization="ntk", init_scale=1.3, output_scale=0.4)
    assert model.weight_multipliers[0] != 1.0
    x, _ = _data()
    lk = tangent_kernels(model, x)
    assert lk.alpha == tuple(model.weight_multipliers)
    assert _rel(lk.kernels, layerwise_ntk_reference(model, x)) < 1e-10


def test_walk_reproduces_the_model_output():
    model = _model("tanh", True, parametrization="ntk", output_scale=2.0)
    x, _ = _data()
    hs, deltas = ntk._forward_and_deltas(model, x)
    feats = model.features(x)
    for l, h in enumerate(hs):
        assert torch.equal(h, feats[l])
    assert [d.shape for d in deltas] == [(3, 7, 11)] * 3 + [(3, 7, 3)]


def test_full_ntk_is_the_sum_of_layer_kernels_and_matches_all_parameters():
    model = _model("relu", True)
    x, _ = _data()
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}
    jac = vmap(jacrev(lambda p, xi: functional_call(model, p, (xi[None],))[0]), in_dims=(None, 0))(params, x)
    j = torch.cat([v.reshape(7, 3, -1) for v in jac.values()], -1).reshape(21, -1)
    assert _rel(full_ntk(model, x), j @ j.T) < 1e-10


def test_trace_kernels_are_the_output_trace_of_full_kernels():
    model = _model("tanh", False)
    x, _ = _data()
    full, trace = tangent_kernels(model, x), tangent_kernels(model, x, outputs="trace")
    assert _rel(output_trace(full.kernels, 3), trace.kernels) < 1e-12
    assert _rel(output_trace(full.backward, 3), trace.backward) < 1e-12
    assert torch.equal(full.forward, trace.forward)


def test_first_forward_kernel_is_xxt_and_readout_backward_is_identity_blocks():
    model = _model("relu", True, output_scale=0.5)
    x, _ = _data()
    lk = tangent_kernels(model, x)
    assert _rel(lk.forward[0], x @ x.T) < 1e-14
    expected = 0.25 * torch.kron(torch.ones(7, 7, dtype=x.dtype), torch.eye(3, dtype=x.dtype))  # example-major
    assert _rel(lk.backward[-1], expected) < 1e-14


def test_hadamard_identity_holds_entrywise_with_bias_term():
    model = _model("relu", True)
    x, _ = _data()
    lk = tangent_kernels(model, x)
    l = 2
    s = lk.alpha[l] ** 2 * lk.forward[l] + 1.0
    assert _rel(lk.kernels[l], lk.backward[l] * torch.kron(s, torch.ones(3, 3, dtype=x.dtype))) < 1e-14
    assert _rel(lk.scaled_forward()[l], s) < 1e-14


def test_tangent_kernels_leave_the_model_untouched():
    model = _model("relu", True)
    before = [p.detach().clone() for p in model.parameters()]
    x, _ = _data()
    with torch.no_grad():  # works inside no_grad as well
        tangent_kernels(model, x)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_kernels_are_symmetric_positive_semidefinite():
    model = _model("relu", True)
    x, _ = _data()
    k = layerwise_ntk(model, x)
    assert torch.allclose(k, k.transpose(1, 2), atol=1e-12)
    assert float(torch.linalg.eigvalsh(k).min()) > -1e-10 * float(k.abs().max())


def test_batchnorm_models_are_refused_with_a_clear_error():
    model = MLP(5, 8, 3, 2, batchnorm=True).double()
    with pytest.raises(NTKError, match="batchnorm"):
        layerwise_ntk(model, _data(d=5)[0])
    with pytest.raises(NTKError, match="batchnorm"):
        layerwise_ntk_reference(model, _data(d=5)[0])


def test_non_mlp_and_bad_outputs_are_refused():
    with pytest.raises(NTKError, match="MLP"):
        layerwise_ntk(torch.nn.Linear(5, 2), _data()[0])
    with pytest.raises(NTKError, match="outputs must be one of"):
        layerwise_ntk(_model(), _data()[0], outputs="diag")


@pytest.mark.parametrize("convention", ["energy", "tunnel"])
def test_ntk_rank_equals_numerical_rank_of_the_tangent_features(convention):
    gen = torch.Generator().manual_seed(1)
    j = torch.randn(30, 6, generator=gen, dtype=torch.float64) @ torch.randn(6, 50, generator=gen, dtype=torch.float64)
    j = j + 1e-2 * torch.randn(30, 50, generator=gen, dtype=torch.float64)
    assert ntk_rank(j @ j.T, convention=convention) == numerical_rank(j, convention=convention)
    assert ntk_effective_rank(j @ j.T) == pytest.approx(effective_rank(j), rel=1e-9)


def test_ntk_rank_of_a_rank_r_kernel():
    gen = torch.Generator().manual_seed(2)
    q, _ = torch.linalg.qr(torch.randn(20, 4, generator=gen, dtype=torch.float64))
    k = q @ q.T  # four equal eigenvalues
    assert ntk_rank(k, energy=0.99) == 4
    assert ntk_effective_rank(k) == pytest.approx(4.0, rel=1e-9)
    with pytest.raises(NTKError, match="convention"):
        ntk_rank(k, convention="stable")
