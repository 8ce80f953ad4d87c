"""Signal propagation at initialisation: ReLU mean-field correlations at the Edge of Chaos, their
empirical counterparts on a network, and the balance point of the Equilibrium Hypothesis (note 04, sec. 3).

Mean-field setting (reconstruction [R] of note 04): infinitely wide ReLU MLP at the Edge of Chaos
(sigma_w^2 = 2, He initialisation, zero biases). For two inputs with correlation c_0:

    c_{l+1} = f(c_l),  f(c) = (sqrt(1 - c^2) + c (pi - arccos c)) / pi     forward correlation of h_l
    ct_l = prod_{k=l}^{L-1} f'(c_k),  f'(c) = 1 - arccos(c) / pi            backward correlation at h_l

for a net with L hidden layers (L + 1 weight matrices). Forward information 1 - c_l is high near
the input, backward information ct_l near the output; the balance point is the first l with
ct_l >= 1 - c_l (this rule reproduces note 04's finite-depth table). Asymptotically
1 - c_l ~ kappa / l^2 with kappa = 9 pi^2 / 2 and ct_l ~ (l / L)^3, so l* ~ kappa^(1/5) L^(3/5).

Index conventions: representation index l = 0..L (h_0 = x, as `MLP.features`). Weight layer
l_w = 1..L+1 (entry l_w - 1 of `metrics.ntk` results) has forward kernel on h_{l_w - 1} and backward
kernel on delta_{l_w}, whose mean-field correlations are c_{l_w - 1} and ct_{l_w - 1}: the balance
point in weight-layer index is therefore (representation index) + 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..stats import LineFit, linear_fit

KAPPA = 9 * math.pi ** 2 / 2


class SignalError(ValueError):
    """A signal-propagation quantity was asked for with arguments it cannot be computed from."""


def relu_correlation_map(c: torch.Tensor | float) -> torch.Tensor:
    """Return f(c) = (sqrt(1 - c^2) + c (pi - arccos c)) / pi, the correlation of ReLU(u), ReLU(v)
    for standard Gaussians u, v with correlation c (elementwise, float64, c clamped to [-1, 1])."""
    c = torch.as_tensor(c, dtype=torch.float64).clamp(-1, 1)
    return (torch.sqrt(1 - c * c) + c * (math.pi - torch.arccos(c))) / math.pi


def relu_correlation_slope(c: torch.Tensor | float) -> torch.Tensor:
    """Return f'(c) = 1 - arccos(c) / pi = 2 E[1{u > 0} 1{v > 0}] (elementwise, float64)."""
    c = torch.as_tensor(c, dtype=torch.float64).clamp(-1, 1)
    return 1 - torch.arccos(c) / math.pi


def forward_correlations(c0: torch.Tensor | float, hidden_layers: int) -> torch.Tensor:
    """Return c_0..c_L (L + 1, *c0.shape): the mean-field correlations of h_0 = x, h_1, ..., h_L."""
    _check_layers(hidden_layers)
    c = [torch.as_tensor(c0, dtype=torch.float64)]
    for _ in range(hidden_layers):
        c.append(relu_correlation_map(c[-1]))
    return torch.stack(c)


def backward_correlations(c: torch.Tensor) -> torch.Tensor:
    """Return ct_0..ct_L (L + 1, ...), ct_l = prod_{k=l}^{L-1} f'(c_k), from c = c_0..c_L (L + 1, ...).

    ct_l is the mean-field correlation of the back-propagated gradient d f / d h_l (ct_L = 1).
    """
    slopes = relu_correlation_slope(c[:-1])
    ones = torch.ones_like(c[:1])
    # reverse cumulative product: ct_l = f'(c_l) ... f'(c_{L-1})
    tail = torch.flip(torch.cumprod(torch.flip(slopes, [0]), 0), [0])
    return torch.cat([tail, ones])


@dataclass(frozen=True)
class MeanFieldProfile:
    """Mean-field information profiles over representations l = 0..L (averaged over input pairs).

    forward_info: (L + 1,) mean of 1 - c_l; backward_info: (L + 1,) mean of ct_l;
    balance: the balance point l* (representation index, see `balance_point`).
    """

    forward_info: torch.Tensor
    backward_info: torch.Tensor
    balance: int


def meanfield_profile(hidden_layers: int, c0: torch.Tensor | float = 0.5) -> MeanFieldProfile:
    """Return the MeanFieldProfile of a ReLU net with `hidden_layers` hidden layers at the Edge of Chaos.

    c0: one input correlation, or a tensor of them (e.g. every pair of a data set), over which
    1 - c_l and ct_l are averaged before the balance point is taken.
    """
    c = forward_correlations(c0, hidden_layers)
    ct = backward_correlations(c)
    fwd = (1 - c).reshape(c.shape[0], -1).mean(1)
    bwd = ct.reshape(ct.shape[0], -1).mean(1)
    return MeanFieldProfile(fwd, bwd, balance_point(fwd, bwd))


def meanfield_balance(hidden_layers: int, c0: torch.Tensor | float = 0.5) -> int:
    """Return the mean-field balance point l* (representation index 0..L) of note 04's table."""
    return meanfield_profile(hidden_layers, c0).balance


def balance_point(forward_info: torch.Tensor, backward_info: torch.Tensor, *, interpolate: bool = False):
    """Return the first index l with backward_info[l] >= forward_info[l] (an int), or with
    `interpolate` the crossing of the two profiles by linear interpolation (a float).

    forward_info, backward_info: (m,) profiles over consecutive layers, forward decreasing and
    backward increasing with l. Returns m - 1 (or float(m - 1)) when they never cross, 0 when the
    backward information already dominates at index 0.
    """
    fwd, bwd = torch.as_tensor(forward_info, dtype=torch.float64), torch.as_tensor(backward_info, dtype=torch.float64)
    if fwd.shape != bwd.shape or fwd.dim() != 1 or fwd.numel() == 0:
        raise SignalError(f"profiles must be two 1-d tensors of the same length, got {tuple(fwd.shape)} "
                          f"and {tuple(bwd.shape)}")
    gap = fwd - bwd
    crossed = torch.nonzero(gap <= 0).flatten()
    if crossed.numel() == 0:
        return float(fwd.numel() - 1) if interpolate else fwd.numel() - 1
    i = int(crossed[0])
    if not interpolate:
        return i
    if i == 0:
        return 0.0
    return float(i - 1 + gap[i - 1] / (gap[i - 1] - gap[i]))


def asymptotic_balance(hidden_layers: int | float) -> float:
    """Return kappa^(1/5) L^(3/5) (about 2.13 L^0.6), the large-depth balance point."""
    return KAPPA ** 0.2 * float(hidden_layers) ** 0.6


def cosine_kernel(k: torch.Tensor) -> torch.Tensor:
    """Return K_ij / sqrt(K_ii K_jj) for kernels (..., n, n) with a positive diagonal."""
    d = torch.diagonal(k, dim1=-2, dim2=-1).clamp_min(torch.finfo(k.dtype).tiny).sqrt()
    return k / (d.unsqueeze(-1) * d.unsqueeze(-2))


def mean_offdiagonal(k: torch.Tensor) -> torch.Tensor:
    """Return the mean of the off-diagonal entries of k (..., n, n): (...,)."""
    n = k.shape[-1]
    if n < 2:
        raise SignalError(f"need at least 2 examples for an off-diagonal mean, got {n}")
    return (k.sum((-2, -1)) - torch.diagonal(k, dim1=-2, dim2=-1).sum(-1)) / (n * (n - 1))


def input_correlations(x: torch.Tensor) -> torch.Tensor:
    """Return the cosines cos(x_i, x_j) of every pair i < j of inputs x (n, d): (n (n - 1) / 2,)."""
    c = cosine_kernel(x.double() @ x.double().T)
    i, j = torch.triu_indices(x.shape[0], x.shape[0], 1)
    return c[i, j]


@dataclass(frozen=True)
class LayerCorrelations:
    """Correlations per weight layer l_w = 1..L+1 (entry l_w - 1), averaged over pairs of inputs.

    forward: (L + 1,) mean cosine of the forward kernel F_l (layer input h_{l-1}).
    backward: (L + 1,) mean cosine of the backward kernel B_l summed over outputs (delta_l).
    """

    forward: torch.Tensor
    backward: torch.Tensor

    def balance(self, *, interpolate: bool = False):
        """Return the balance point in weight-layer index 1..L+1 (first l_w with backward >= 1 - forward)."""
        return balance_point(1 - self.forward, self.backward, interpolate=interpolate) + 1


def empirical_correlations(model: nn.Module, x: torch.Tensor) -> LayerCorrelations:
    """Return the LayerCorrelations measured on `model` (an MLP) at inputs x (n, in_dim), n >= 2.

    The empirical counterparts of c_{l-1} and ct_{l-1}: cosines of the forward and backward kernels
    of `metrics.ntk.tangent_kernels` (backward summed over outputs), averaged over pairs i != j.
    """
    from .ntk import tangent_kernels

    return kernel_correlations(tangent_kernels(model, x, outputs="trace"))


def kernel_correlations(lk) -> LayerCorrelations:
    """Return the LayerCorrelations of precomputed `metrics.ntk.LayerKernels` ("full" or "trace";
    a full backward kernel is summed over outputs first)."""
    from .ntk import output_trace

    backward = lk.backward if lk.outputs == "trace" else output_trace(lk.backward, lk.n_outputs)
    return LayerCorrelations(mean_offdiagonal(cosine_kernel(lk.forward.double())),
                             mean_offdiagonal(cosine_kernel(backward.double())))


def meanfield_correlations(depth: int, c0: torch.Tensor | float) -> LayerCorrelations:
    """Return the mean-field LayerCorrelations of a ReLU MLP with `depth` weight layers
    (depth - 1 hidden layers) at the Edge of Chaos, averaged over the input correlations c0."""
    _check_layers(depth - 1)
    c = forward_correlations(c0, depth - 1)
    ct = backward_correlations(c)
    return LayerCorrelations(c.reshape(depth, -1).mean(1), ct.reshape(depth, -1).mean(1))


def power_law_fit(x, y) -> LineFit:
    """Return the least-squares line log y = slope * log x + intercept (`stats.LineFit`, with R^2 and
    the 95% t-interval of the slope) for positive x, y of equal length >= 3 (repeated x allowed)."""
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if lx.shape != ly.shape or lx.size < 3 or not (np.isfinite(lx).all() and np.isfinite(ly).all()):
        raise SignalError("power_law_fit needs >= 3 pairs of positive finite numbers of equal length")
    return linear_fit(lx, ly)


def _check_layers(hidden_layers: int) -> None:
    if isinstance(hidden_layers, bool) or not isinstance(hidden_layers, int) or hidden_layers < 1:
        raise SignalError(f"hidden_layers must be an integer >= 1, got {hidden_layers!r}")
