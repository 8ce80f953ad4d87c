"""Mean-field signal propagation of ReLU nets at the Edge of Chaos (note 04, sec. 3; claims 2-3)."""
from __future__ import annotations

import math

import pytest
import torch

from layerwise.metrics.signal_propagation import (KAPPA, SignalError, asymptotic_balance, backward_correlations,
                                                  kernel_correlations,
                                                  balance_point, empirical_correlations, forward_correlations,
                                                  input_correlations, meanfield_balance, meanfield_correlations,
                                                  power_law_fit, relu_correlation_map, relu_correlation_slope)
from layerwise.models import MLP

NOTE_TABLE = {10: 4, 20: 7, 30: 10, 40: 13, 50: 15, 100: 25, 200: 42, 400: 67, 800: 106, 1600: 166}


def test_relu_correlation_map_closed_form_values_and_monte_carlo():
    assert float(relu_correlation_map(1.0)) == pytest.approx(1.0, abs=1e-15)
    assert float(relu_correlation_map(0.0)) == pytest.approx(1 / math.pi, abs=1e-15)
    assert float(relu_correlation_map(-1.0)) == pytest.approx(0.0, abs=1e-15)
    g = torch.Generator().manual_seed(0)
    u, w = torch.randn(2, 2_000_000, generator=g, dtype=torch.float64)
    for c in (-0.5, 0.3, 0.8):
        v = c * u + math.sqrt(1 - c * c) * w
        mc = (u.relu() * v.relu()).mean() / u.relu().pow(2).mean()
        assert float(relu_correlation_map(c)) == pytest.approx(float(mc), abs=3e-3)
        mc_slope = 2 * ((u > 0) & (v > 0)).double().mean()
        assert float(relu_correlation_slope(c)) == pytest.approx(float(mc_slope), abs=3e-3)


def test_slope_is_the_derivative_of_the_map():
    c = torch.linspace(-0.9, 0.9, 19, dtype=torch.float64)
    h = 1e-6
    fd = (relu_correlation_map(c + h) - relu_correlation_map(c - h)) / (2 * h)
    assert torch.allclose(fd, relu_correlation_slope(c), atol=1e-8)


def test_balance_points_reproduce_the_note_finite_depth_table():
    assert {L: meanfield_balance(L, 0.5) for L in NOTE_TABLE} == NOTE_TABLE


def test_finite_depth_slopes_match_the_note():
    small, large = [10, 20, 30, 40, 50], [200, 400, 800, 1600, 3200]
    assert power_law_fit(small, [meanfield_balance(L, 0.5) for L in small]).slope == pytest.approx(0.83, abs=0.01)
    assert power_law_fit(small, [meanfield_balance(L, 0.0) for L in small]).slope == pytest.approx(0.74, abs=0.01)
    assert power_law_fit(large, [meanfield_balance(L, 0.5) for L in large]).slope == pytest.approx(0.65, abs=0.01)
    assert power_law_fit(large, [meanfield_balance(L, 0.0) for L in large]).slope == pytest.approx(0.64, abs=0.01)


@pytest.mark.parametrize("c0", [0.0, 0.5, 0.9])
def test_forward_correlation_reaches_the_edge_of_chaos_rate(c0):
    """Claim 3a: 2 l^2 (1 - c_l) / (9 pi^2) in [0.90, 1.0] at l = 500 and [0.97, 1.0] at l = 2000."""
    c = forward_correlations(c0, 2000)
    ratio = lambda l: float(l * l * (1 - c[l]) / KAPPA)  # noqa: E731
    assert 0.90 <= ratio(500) <= 1.0
    assert 0.97 <= ratio(2000) <= 1.0


def test_backward_correlation_is_cubic_in_relative_depth():
    """Claim 3b: ct_l / (l / L)^3 in [1.0, 1.2] for l / L >= 1/2 at L = 1000."""
    ct = backward_correlations(forward_correlations(0.5, 1000))
    ratios = torch.stack([ct[l] / (l / 1000) ** 3 for l in range(500, 1001)])
    assert float(ratios.min()) >= 1.0 - 1e-12 and float(ratios.max()) <= 1.2
    assert float(ct[-1]) == 1.0


def test_asymptotic_balance_constant():
    assert KAPPA ** 0.2 == pytest.approx(2.13, abs=0.01)
    assert asymptotic_balance(32) == pytest.approx(KAPPA ** 0.2 * 8, rel=1e-12)


def test_balance_point_first_crossing_and_interpolation():
    fwd = torch.tensor([1.0, 0.6, 0.4, 0.3])
    bwd = torch.tensor([0.0, 0.2, 0.5, 0.9])
    assert balance_point(fwd, bwd) == 2
    assert balance_point(fwd, bwd, interpolate=True) == pytest.approx(1 + 0.4 / 0.5)
    assert balance_point(fwd, torch.zeros(4)) == 3
    assert balance_point(torch.zeros(4), bwd) == 0
    with pytest.raises(SignalError):
        balance_point(fwd, bwd[:3])


def test_empirical_correlations_follow_the_mean_field_recursions():
    """Claim 2: width 2048, L = 20 hidden layers, He init, no bias, c_0 = 0.5: forward within 0.05,
    backward within 0.15 of the recursions (one network, averaged over the pairs of 6 inputs)."""
    q, _ = torch.linalg.qr(torch.randn(256, 7, generator=torch.Generator().manual_seed(0)))
    x = 16 * (0.5 ** 0.5 * q[:, :1] + 0.5 ** 0.5 * q[:, 1:]).T  # six inputs, every pairwise cosine 0.5
    assert torch.allclose(input_correlations(x), torch.full((15,), 0.5, dtype=torch.float64), atol=1e-5)
    model = MLP(256, 2048, 21, 1, activation="relu", bias=False, init="he", seed=0)
    emp, mf = empirical_correlations(model, x), meanfield_correlations(21, 0.5)
    assert emp.forward.shape == mf.forward.shape == (21,)
    assert float((emp.forward - mf.forward).abs().max()) <= 0.05
    assert float((emp.backward - mf.backward).abs().max()) <= 0.15
    assert float(emp.backward[-1]) == pytest.approx(1.0, abs=1e-6)  # readout: delta = e_k for every input


def test_meanfield_correlations_index_the_weight_layers():
    mf = meanfield_correlations(11, 0.5)
    c = forward_correlations(0.5, 10)
    assert torch.equal(mf.forward, c)
    assert mf.balance() == meanfield_balance(10, 0.5) + 1


def test_power_law_fit_recovers_an_exponent_and_brackets_it():
    x = [10, 20, 30, 40, 50] * 3
    assert power_law_fit(x, [2 * v ** 0.6 for v in x]).slope == pytest.approx(0.6, abs=1e-12)
    noise = torch.randn(15, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fit = power_law_fit(x, [2 * v ** 0.6 * math.exp(0.05 * float(e)) for v, e in zip(x, noise)])
    assert fit.slope_ci[0] < 0.6 < fit.slope_ci[1]
    with pytest.raises(SignalError):
        power_law_fit([1, 2], [1, 2])


def test_layer_count_is_validated():
    with pytest.raises(SignalError, match="hidden_layers"):
        forward_correlations(0.5, 0)


def test_kernel_correlations_agree_for_full_and_trace_kernels():
    from layerwise.metrics.ntk import tangent_kernels

    model = MLP(8, 16, 4, 3, seed=2).double()
    x = torch.randn(9, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    full = kernel_correlations(tangent_kernels(model, x))
    trace = empirical_correlations(model, x)
    assert torch.allclose(full.forward, trace.forward, atol=1e-12)
    assert torch.allclose(full.backward, trace.backward, atol=1e-12)
    assert float(full.forward[0]) == pytest.approx(float(input_correlations(x).mean()), abs=1e-12)
