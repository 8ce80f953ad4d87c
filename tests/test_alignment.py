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
