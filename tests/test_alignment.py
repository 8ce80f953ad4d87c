"""Centred kernel alignment and kernel-target alignment: identities, bounds and conventions."""
from __future__ import annotations

import pytest
import torch

from layerwise.metrics.alignment import (AlignmentError, center_kernel, centered_targets, kernel_alignment,
                                         kernel_target_alignment)
from layerwise.metrics.ntk import output_trace

N, O = 12, 4


def _labels(seed=0):
    return torch.randint(0, O, (N,), generator=torch.Generator().manual_seed(seed))


def _psd(m, seed=0, rank=None):
    g = torch.Generator().manual_seed(seed)
    j = torch.randn(m, rank or m, generator=g, dtype=torch.float64)
    return j @ j.T


def _yy(labels):
    v = centered_targets(labels, O, dtype=torch.float64).reshape(-1)
    return torch.outer(v, v)


@pytest.mark.parametrize("convention", ["full", "global", "trace"])
def test_alignment_of_the_target_kernel_with_itself_is_one(convention):
    y = _labels()
    assert float(kernel_target_alignment(_yy(y), y, convention=convention)) == pytest.approx(1.0, abs=1e-12)
    yoh = torch.nn.functional.one_hot(y, O).double()
    assert float(kernel_alignment(yoh @ yoh.T, yoh @ yoh.T)) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("convention", ["full", "global", "trace"])
def test_every_alignment_lies_in_minus_one_one_and_psd_ones_in_zero_one(convention):
    y = _labels(1)
    g = torch.Generator().manual_seed(5)
    sym = torch.randn(50, N * O, N * O, generator=g, dtype=torch.float64)
    sym = sym + sym.transpose(1, 2)
    a = kernel_target_alignment(sym, y, convention=convention)
    assert a.shape == (50,) and bool((a.abs() <= 1 + 1e-12).all())
    assert bool((a < 0).any())  # indefinite kernels do reach negative values
    psd = torch.stack([_psd(N * O, s) for s in range(10)])
    b = kernel_target_alignment(psd, y, convention=convention)
    assert bool(((b >= -1e-12) & (b <= 1 + 1e-12)).all())
    c = kernel_alignment(sym[:25], sym[25:], n_outputs=O)
    assert bool((c.abs() <= 1 + 1e-12).all())


@pytest.mark.parametrize("n_outputs", [O, 1])
def test_centring_leaves_the_quadratic_form_of_centred_targets_unchanged(n_outputs):
    y = _labels(2)
    v = centered_targets(y, O, dtype=torch.float64).reshape(-1)
    k = _psd(N * O, 3)
    assert float(v @ center_kernel(k, n_outputs) @ v) == pytest.approx(float(v @ k @ v), rel=1e-12)


def test_per_output_centring_is_the_kronecker_projector_and_centres_the_jacobian():
    g = torch.Generator().manual_seed(4)
    jac = torch.randn(N, O, 9, generator=g, dtype=torch.float64)  # tangent features, example-major rows
    k = jac.reshape(N * O, 9) @ jac.reshape(N * O, 9).T
    h = torch.eye(N, dtype=torch.float64) - 1.0 / N
    p = torch.kron(h, torch.eye(O, dtype=torch.float64))
    jc = (jac - jac.mean(0, keepdim=True)).reshape(N * O, 9)
    assert torch.allclose(center_kernel(k, O), p @ k @ p, atol=1e-12)
    assert torch.allclose(center_kernel(k, O), jc @ jc.T, atol=1e-12)
    c = torch.eye(N * O, dtype=torch.float64) - 1.0 / (N * O)
    assert torch.allclose(center_kernel(k, 1), c @ k @ c, atol=1e-12)


def test_full_convention_equals_the_output_major_precedent_formula():
    y = _labels(3)
    k = _psd(N * O, 6)
    perm = torch.arange(N * O).reshape(N, O).T.reshape(-1)  # output-major position -> example-major index
    k_om = k[perm][:, perm]
    h = torch.eye(N, dtype=torch.float64) - 1.0 / N
    p = torch.kron(torch.eye(O, dtype=torch.float64), h)  # (I_o kron H) in output-major order
    kc = p @ k_om @ p
    yv = centered_targets(y, O, dtype=torch.float64).T.reshape(-1)  # flattened output-major
    expected = yv @ kc @ yv / (kc.norm() * yv.dot(yv))
    assert float(kernel_target_alignment(k, y)) == pytest.approx(float(expected), rel=1e-12)


def test_trace_convention_accepts_full_or_summed_kernels_and_labels_or_one_hot():
    y = _labels(4)
    k = _psd(N * O, 7)
    a = kernel_target_alignment(k, y, convention="trace")
    assert float(a) == pytest.approx(float(kernel_target_alignment(output_trace(k, O), y, convention="trace")), rel=1e-12)
    yoh = torch.nn.functional.one_hot(y, O).double()
    assert float(kernel_target_alignment(k, yoh)) == pytest.approx(float(kernel_target_alignment(k, y)), rel=1e-12)
    kt = output_trace(k, O)
    expected = kernel_alignment(kt, yoh @ yoh.T)
    assert float(a) == pytest.approx(float(expected), rel=1e-12)


def test_conventions_differ_only_in_normalisation():
    y = _labels(5)
    k = _psd(N * O, 8)
    v = centered_targets(y, O, dtype=torch.float64).reshape(-1)
    full, glob = kernel_target_alignment(k, y), kernel_target_alignment(k, y, convention="global")
    ratio = float(glob / full)
    assert ratio == pytest.approx(float(center_kernel(k, O).norm() / center_kernel(k, 1).norm()), rel=1e-12)
    assert float(full * center_kernel(k, O).norm() * v.dot(v)) == pytest.approx(float(v @ k @ v), rel=1e-12)


def test_kernel_alignment_is_symmetric_and_scale_invariant():
    a, b = _psd(N, 1), _psd(N, 2, rank=3)
    assert float(kernel_alignment(a, b)) == pytest.approx(float(kernel_alignment(b, a)), rel=1e-14)
    assert float(kernel_alignment(3 * a, 0.5 * b)) == pytest.approx(float(kernel_alignment(a, b)), rel=1e-12)
    assert float(kernel_alignment(a, a)) == pytest.approx(1.0, abs=1e-14)


def test_bad_arguments_name_what_is_accepted():
    y = _labels()
    with pytest.raises(AlignmentError, match="convention must be one of"):
        kernel_target_alignment(_psd(N * O), y, convention="cka")
    with pytest.raises(AlignmentError, match="multiple of"):
        kernel_target_alignment(_psd(N * O + 1), y)
    with pytest.raises(AlignmentError, match="labels must lie in"):
        kernel_target_alignment(_psd(N * 2), y)
    with pytest.raises(AlignmentError, match="same size"):
        kernel_alignment(_psd(N), _psd(N + 1))


def test_layerwise_alignment_matches_the_kernels_and_peaks():
    from layerwise.metrics.alignment import LayerAlignment, layerwise_alignment, peak_layer
    from layerwise.metrics.ntk import full_ntk, layerwise_ntk
    from layerwise.models import MLP

    model = MLP(6, 16, 4, O, seed=1).double()
    x = torch.randn(N, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = _labels(6)
    la = layerwise_alignment(model, x, y)
    k = layerwise_ntk(model, x)
    assert torch.allclose(la.tangent, kernel_target_alignment(k, y), atol=1e-12)
    assert torch.allclose(la.tangent_trace, kernel_target_alignment(k, y, convention="trace"), atol=1e-12)
    assert la.network == pytest.approx(float(kernel_target_alignment(full_ntk(model, x), y)), abs=1e-12)
    assert float(la.forward[0]) == pytest.approx(float(kernel_alignment(x @ x.T, _onehot_gram(y))), abs=1e-12)
    assert la.peak() == peak_layer(la.tangent) == int(la.tangent.argmax()) + 1
    assert la.peak("trace") == int(la.tangent_trace.argmax()) + 1
    assert peak_layer(torch.tensor([0.1, 0.3, 0.3, 0.2])) == 2
    assert isinstance(la, LayerAlignment)


def test_forward_factor_has_zero_full_alignment():
    """F kron 1 1^T cannot tell outputs apart: its per-output-centred alignment with centred one-hot
    targets vanishes, which is why the forward kernel is aligned as an n x n kernel."""
    y = _labels(7)
    f = _psd(N, 9)
    expanded = torch.kron(f, torch.ones(O, O, dtype=torch.float64))
    assert abs(float(kernel_target_alignment(expanded, y))) < 1e-12


def _onehot_gram(y):
    yoh = torch.nn.functional.one_hot(y, O).double()
    return yoh @ yoh.T


def test_kernel_alignments_need_full_kernels():
    from layerwise.metrics.alignment import kernel_alignments
    from layerwise.metrics.ntk import tangent_kernels
    from layerwise.models import MLP

    model = MLP(6, 8, 3, O, seed=1).double()
    x = torch.randn(N, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(AlignmentError, match="full"):
        kernel_alignments(tangent_kernels(model, x, outputs="trace"), _labels())
