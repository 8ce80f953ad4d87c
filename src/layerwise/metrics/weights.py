"""Weight-space measures of Wang et al.'s Assumption 2: minimum norm, balancedness, low rank (note 01, §3).

Conventions used by every function here:
- `weights` is the list [W_1, ..., W_L] in PyTorch's (out, in) layout, as `MLP.weights()` returns it:
  W_1 is (h, d), hidden W_l are (h, h), the classifier W_L is (K, h). The end-to-end map is
  W_{L:1} = W_L W_{L-1} ... W_1, a (K, d) matrix.
- Data are ROWS: x is (N, d) with one sample x_i per row (the book's `Dataset.x`), targets y are
  (N, K) or integer labels (N,). The network computes f(x_i) = alpha * W_{L:1} x_i, i.e. the outputs
  are F = alpha * X W_{L:1}^T, with alpha the output multiplier (`MLP.output_scale`).
- Every value is computed in float64.
"""
from __future__ import annotations

from typing import Sequence

import torch


class WeightsError(ValueError):
    """The weights or data cannot be measured as asked; the message names the argument."""


def _as_float64(weights: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    if len(weights) == 0:
        raise WeightsError("weights must be a non-empty list [W_1, ..., W_L] of 2-D tensors, got []")
    out = [w.detach().double().cpu() for w in weights]
    for i, w in enumerate(out):
        if w.ndim != 2:
            raise WeightsError(f"weights[{i}] must be a 2-D (out, in) matrix, got shape {tuple(w.shape)}")
    for i in range(len(out) - 1):
        if out[i + 1].shape[1] != out[i].shape[0]:
            raise WeightsError(f"weights[{i + 1}] has {out[i + 1].shape[1]} input columns but weights[{i}] "
                               f"has {out[i].shape[0]} output rows; pass [W_1, ..., W_L] in order")
    return out


def end_to_end(weights: Sequence[torch.Tensor]) -> torch.Tensor:
    """Return W_{L:1} = W_L ... W_1, shape (d_L, d_0), float64, for weights [W_1, ..., W_L] ((out, in))."""
    ws = _as_float64(weights)
    prod = ws[0]
    for w in ws[1:]:
        prod = w @ prod
    return prod


def _targets(y: torch.Tensor, n_out: int) -> torch.Tensor:
    if y.ndim == 1 and not y.is_floating_point():
        return torch.nn.functional.one_hot(y.long(), n_out).double()
    return y.reshape(y.shape[0], -1).double()


def min_norm_solution(x: torch.Tensor, y: torch.Tensor, n_out: int | None = None) -> torch.Tensor:
    """Return the minimum-Frobenius-norm least-squares map W* (K, d) from rows x (N, d) to targets y.

    W* = Y^T (X X^T)^+ X = Y^T (X^+)^T, the smallest-norm W minimising ||X W^T - Y||_F; when the rows
    of X are linearly independent (N <= d, the theory data) it interpolates, X W*^T = Y. In the
    column convention of note 01 (X_c = X^T, Y_c = Y^T) this is Y_c (X_c^T X_c)^+ X_c^T.
    y: (N, K) float targets, or integer labels (N,) one-hot encoded to `n_out` classes.
    """
    if x.ndim != 2:
        raise WeightsError(f"x must be (N, d) with one sample per row, got shape {tuple(x.shape)}")
    if y.ndim == 1 and not y.is_floating_point() and n_out is None:
        n_out = int(y.max()) + 1
    target = _targets(y, n_out or 0)
    if target.shape[0] != x.shape[0]:
        raise WeightsError(f"x has {x.shape[0]} rows but y has {target.shape[0]}; pass samples as rows")
    return (torch.linalg.pinv(x.double()) @ target).T


def min_norm_residual(weights: Sequence[torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                      alpha: float = 1.0) -> float:
    """Return ||W* - alpha W_{L:1}||_F, the distance of the trained map from the minimum-norm solution.

    Assumption 2(a) of Wang et al. as Fig. 6 measures it. W* = Y^T (X X^T)^+ X (`min_norm_solution`)
    for data rows x (N, d) and targets y ((N, K) floats or integer labels (N,)); weights are
    [W_1, ..., W_L] in (out, in) layout and alpha is the output multiplier, so the network's
    end-to-end map is alpha W_{L:1} (K, d). The authors' code has alpha = 1 in these runs and omits it.
    """
    prod = end_to_end(weights)
    if prod.shape[1] != x.shape[1]:
        raise WeightsError(f"W_1 expects {prod.shape[1]} input features but x has {x.shape[1]} columns")
    target = min_norm_solution(x, y, n_out=prod.shape[0])
    if target.shape[0] != prod.shape[0]:
        raise WeightsError(f"the network has {prod.shape[0]} outputs but y has {target.shape[0]} columns")
    return float(torch.linalg.matrix_norm(target - alpha * prod))


def balance_gaps(weights: Sequence[torch.Tensor]) -> list[float]:
    """Return [||W_{l+1}^T W_{l+1} - W_l W_l^T||_F for l = 1..L-1] (unnormalised, L - 1 values).

    Gradient flow on any loss of the end-to-end map W_{L:1} conserves each matrix
    W_{l+1}^T W_{l+1} - W_l W_l^T (Arora et al. 2018), so these gaps stay at their initial values
    up to the discretisation error of GD (and shrink under weight decay). Weights [W_1, ..., W_L] in
    (out, in) layout, without the output multiplier.
    """
    ws = _as_float64(weights)
    return [float(torch.linalg.matrix_norm(ws[l + 1].T @ ws[l + 1] - ws[l] @ ws[l].T))
            for l in range(len(ws) - 1)]


def balancedness(weights: Sequence[torch.Tensor]) -> float:
    """Return mean_{l=1..L-1} ||W_{l+1}^T W_{l+1} - W_l W_l^T||_F / ||W_l||_F (0 = exactly balanced).

    Assumption 2(b) as Fig. 6 plots it. The division by ||W_l||_F follows the authors' code
    (`check_balance_2(normalize=True)` in assumption.ipynb), not the figure's legend, which shows the
    unnormalised norm. The pairs run over every consecutive pair, the classifier W_L included.
    Needs L >= 2 weights [W_1, ..., W_L] in (out, in) layout, without the output multiplier.
    """
    ws = _as_float64(weights)
    if len(ws) < 2:
        raise WeightsError(f"balancedness needs at least 2 weight matrices, got {len(ws)}")
    gaps = balance_gaps(ws)
    return float(sum(g / float(torch.linalg.matrix_norm(w)) for g, w in zip(gaps, ws)) / len(gaps))


def bulk_singular_values(weights: Sequence[torch.Tensor], k: int, dim: int | None = None) -> torch.Tensor:
    """Return the pooled middle singular values sigma_{k+1}..sigma_{dim-k} of W_1, ..., W_{L-1} (float64).

    Singular values are sorted in decreasing order and counted from 1, so each layer contributes
    dim - 2k values (1-based indices k+1..dim-k, i.e. the 0-based slice [k:dim-k], as in the authors'
    `check_singular_value_all`). The classifier W_L is excluded. `dim` is d, the INPUT dimension
    (50 in Fig. 6), default W_1's number of input columns. The hidden (h, h) layers have h >= d
    singular values; the rectangular W_1 (h, d) has min(h, d): with h >= d that is d, so the slice
    drops its k top and k bottom values; with h < d the slice does not fit and WeightsError is raised.
    """
    ws = _as_float64(weights)
    if len(ws) < 2:
        raise WeightsError(f"the bulk is pooled over W_1..W_(L-1): needs L >= 2 weights, got {len(ws)}")
    dim = ws[0].shape[1] if dim is None else dim
    if not isinstance(k, int) or k < 0 or dim - 2 * k < 1:
        raise WeightsError(f"k must be an integer in [0, (dim - 1) / 2] so that sigma_(k+1)..sigma_(dim-k) "
                           f"is non-empty; got k={k!r}, dim={dim}")
    parts = []
    for i, w in enumerate(ws[:-1]):
        if min(w.shape) < dim - k:
            raise WeightsError(f"W_{i + 1} has shape {tuple(w.shape)}: only {min(w.shape)} singular values, "
                               f"fewer than dim - k = {dim - k}; pass a smaller dim")
        parts.append(torch.linalg.svdvals(w)[k:dim - k])
    return torch.cat(parts)


def bulk_singular_value_variance(weights: Sequence[torch.Tensor], k: int, dim: int | None = None,
                                 correction: int = 1) -> float:
    """Return the variance of the pooled bulk singular values sigma_{k+1}..sigma_{dim-k} of W_1..W_{L-1}.

    Assumption 2(c) ("approximately low rank": the middle singular values are equal) as Fig. 6
    measures it; see `bulk_singular_values` for which values are pooled. k is the number of
    classes K and dim the input dimension d. `correction=1` gives the unbiased variance (divide by
    m - 1), as the authors' `torch.var`; 0 gives the population variance.
    """
    s = bulk_singular_values(weights, k, dim)
    if s.numel() <= correction:
        return 0.0
    return float(torch.var(s, correction=correction))


def weight_assumptions(weights: Sequence[torch.Tensor], x: torch.Tensor, y: torch.Tensor, *, k: int,
                       alpha: float = 1.0, dim: int | None = None) -> dict[str, float]:
    """Return the three Fig. 6 measures of one network as a dict: residual, balance, bulk_variance."""
    return {"residual": min_norm_residual(weights, x, y, alpha),
            "balance": balancedness(weights),
            "bulk_variance": bulk_singular_value_variance(weights, k, dim)}
