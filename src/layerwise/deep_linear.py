"""Wide deep linear nets from orthogonal init, trained exactly in a (d + K)-dimensional subspace per layer.

Why this is exact. Take a bias-free linear net W_L ... W_1 with Wang et al.'s orthogonal init
(`MLP(activation="linear", init="orthogonal")`): W_1(0) = xi U (h, d), hidden W_l(0) = xi Q_l,
W_L(0) = xi [Q_K, 0]. At hidden layer l let F_l be the image of the input space under W_l(0)..W_1(0)
(d-dimensional) and B_l the image of the output space under W_{l+1}(0)^T..W_L(0)^T (K-dimensional),
and V_l = F_l + B_l (dimension r_l = min(h, d + K) in general position). Then W_l(0) maps V_{l-1}
onto V_l and its orthogonal complement onto V_l's complement, and every gradient of a loss of the
outputs is alpha W_{L:l+1}^T G H_{l-1}^T, whose columns lie in V_l and rows in V_{l-1}. So gradient
descent (no weight decay, no momentum needed but allowed) changes W_l only on the block V_l x V_{l-1}:

    W_l(t) = W_l(0) + V_l (R_l(t) - R_l(0)) V_{l-1}^T,     R_l = V_l^T W_l V_{l-1}  (r_l, r_{l-1}),

with V_0 = I_d and V_L = I_K, and R(t) follows exactly the GD trajectory of the small net R_L..R_1.
The block W_l(0) on the complement keeps its h - r_l singular values equal to xi. Outputs and
features are the same (features up to the isometry V_l), so a width-700 run costs what a width-53
run costs, and many runs of equal shapes are trained at once as a `DeepLinearEnsemble`.
Weight decay breaks the reduction (it shrinks the complement block too); use full width for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from .metrics.weights import WeightsError, _as_float64, min_norm_residual


@dataclass(frozen=True)
class Reduction:
    """The invariant subspaces of one orthogonally initialised deep linear net.

    bases: [V_1, ..., V_{L-1}], V_l of shape (h_l, r_l) with orthonormal columns (float64).
    weights: the reduced initial weights [R_1(0), ..., R_L(0)], R_l (r_l, r_{l-1}), r_0 = d, r_L = K.
    complement: [h_l - r_l for l = 1..L-1], how many singular values xi each hidden W_l keeps outside.
    init_scale: xi, the singular value of the untouched complement block.
    """

    bases: list[torch.Tensor]
    weights: list[torch.Tensor]
    complement: list[int]
    init_scale: float


def _orth(a: torch.Tensor, tol: float = 1e-10) -> torch.Tensor:
    """Return an orthonormal basis (rows, rank) of the column space of a (float64)."""
    u, s, _ = torch.linalg.svd(a, full_matrices=False)
    return u[:, : int((s > tol * s[0]).sum())]


def reduce_orthogonal_init(weights: Sequence[torch.Tensor], init_scale: float) -> Reduction:
    """Return the Reduction of a deep linear net at its orthogonal init, weights [W_1(0), ..., W_L(0)].

    The weights must be the untrained output of `MLP(..., activation="linear", bias=False,
    init="orthogonal", init_scale=init_scale).weights()` (out, in layout); any square hidden layer
    must be init_scale times an orthogonal matrix, which is checked.
    """
    ws = _as_float64(weights)
    if len(ws) < 2:
        raise WeightsError(f"a reduction needs depth >= 2 weight matrices, got {len(ws)}")
    for i, w in enumerate(ws[1:-1], start=2):
        eye = torch.eye(w.shape[0], dtype=w.dtype)
        if w.shape[0] != w.shape[1] or not torch.allclose(w @ w.T, init_scale ** 2 * eye, atol=1e-5 * init_scale ** 2):
            raise WeightsError(f"W_{i} is not init_scale * orthogonal; reduce_orthogonal_init needs the untrained "
                               f"weights of MLP(init='orthogonal', init_scale={init_scale})")
    depth = len(ws)
    bases = []
    for l in range(1, depth):
        fwd = ws[0]
        for w in ws[1:l]:
            fwd = w @ fwd  # W_l(0)..W_1(0): (h_l, d)
        bwd = ws[-1].T
        for w in reversed(ws[l:-1]):
            bwd = w.T @ bwd  # W_{l+1}(0)^T..W_L(0)^T: (h_l, K)
        bases.append(_orth(torch.cat([fwd, bwd], 1)))
    full = [torch.eye(ws[0].shape[1], dtype=torch.float64)] + bases + [torch.eye(ws[-1].shape[0], dtype=torch.float64)]
    reduced = [full[l + 1].T @ ws[l] @ full[l] for l in range(depth)]
    complement = [v.shape[0] - v.shape[1] for v in bases]
    return Reduction(bases, reduced, complement, float(init_scale))


def lift(reduced: Sequence[torch.Tensor], reduction: Reduction, init_weights: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Return the full-width weights W_l = W_l(0) + V_l (R_l - R_l(0)) V_{l-1}^T (float64, (out, in)).

    The slow reference: `reduced_weight_assumptions` gives the same measures without forming these.
    """
    ws = _as_float64(init_weights)
    rs = _as_float64(reduced)
    eye_in = torch.eye(ws[0].shape[1], dtype=torch.float64)
    eye_out = torch.eye(ws[-1].shape[0], dtype=torch.float64)
    full = [eye_in] + list(reduction.bases) + [eye_out]
    return [w + full[l + 1] @ (r - r0) @ full[l].T for l, (w, r, r0) in enumerate(zip(ws, rs, reduction.weights))]


def _hidden(l: int, depth: int) -> bool:
    return 2 <= l <= depth - 1  # 1-based: W_1 and W_L have no complement block


def reduced_weight_assumptions(reduced: Sequence[torch.Tensor], complement: Sequence[int], init_scale: float,
                               x: torch.Tensor, y: torch.Tensor, *, k: int, alpha: float = 1.0,
                               dim: int | None = None) -> dict[str, float]:
    """Return the full-width net's residual, balance and bulk_variance from its reduced weights alone.

    Equals `metrics.weights.weight_assumptions(lift(...), x, y, k=k, alpha=alpha, dim=dim)` exactly:
    the complement block of every hidden W_l adds xi^2 P_perp to W_l W_l^T and to W_l^T W_l, adds
    xi^2 (h - r) to ||W_l||_F^2, and adds h - r singular values equal to xi. reduced: [R_1..R_L];
    complement: [h_l - r_l, l = 1..L-1]; x (N, d) rows; y (N, K) or labels (N,).
    """
    rs = _as_float64(reduced)
    depth, xi2 = len(rs), init_scale ** 2
    gaps, norms = [], []
    for l in range(1, depth):  # pair (W_l, W_{l+1}), 1-based
        r_lo, r_hi = rs[l - 1], rs[l]
        core = torch.linalg.matrix_norm(r_hi.T @ r_hi - r_lo @ r_lo.T) ** 2
        step = float(_hidden(l + 1, depth)) - float(_hidden(l, depth))
        gaps.append(float(torch.sqrt(core + xi2 ** 2 * complement[l - 1] * step ** 2)))
        extra = xi2 * complement[l - 1] if _hidden(l, depth) else 0.0
        norms.append(float(torch.sqrt(torch.linalg.matrix_norm(r_lo) ** 2 + extra)))
    balance = sum(g / n for g, n in zip(gaps, norms)) / len(gaps)
    dim = rs[0].shape[1] if dim is None else dim
    pooled = []
    for l in range(1, depth):
        s = torch.linalg.svdvals(rs[l - 1])
        if _hidden(l, depth):
            s = torch.sort(torch.cat([s, torch.full((complement[l - 1],), init_scale, dtype=s.dtype)]),
                           descending=True).values
        if s.numel() < dim - k:
            raise WeightsError(f"W_{l} has only {s.numel()} singular values, fewer than dim - k = {dim - k}")
        pooled.append(s[k:dim - k])
    bulk = torch.cat(pooled)
    return {"residual": min_norm_residual(rs, x, y, alpha), "balance": balance,
            "bulk_variance": float(torch.var(bulk)) if bulk.numel() > 1 else 0.0}


class DeepLinearEnsemble(nn.Module):
    """M bias-free deep linear nets of equal shapes, trained at once by `train.fit`.

    Member m maps its own inputs x_m (N, d) to alpha W_L^m ... W_1^m x_m. The module takes the members'
    inputs side by side, x of shape (N, M * d), and returns (N, M * K) with member m in columns
    m*K..(m+1)*K-1. With targets tiled the same way, fit's MSE loss is the SUM of the members' losses,
    so each member follows its own gradient exactly; stopping at `stop_loss` stops when the sum, hence
    every member's loss, is below it. weights: [W_1, ..., W_L], each (M, out, in).
    """

    def __init__(self, weights: Sequence[torch.Tensor], output_scale: float = 1.0):
        super().__init__()
        if len(weights) == 0 or any(w.ndim != 3 or w.shape[0] != weights[0].shape[0] for w in weights):
            raise WeightsError("weights must be a non-empty list of (M, out, in) tensors with the same M")
        self.params = nn.ParameterList(nn.Parameter(w.detach().clone()) for w in weights)
        self.output_scale = float(output_scale)
        self.members, self.in_dim, self.out_dim = weights[0].shape[0], weights[0].shape[2], weights[-1].shape[1]

    @classmethod
    def from_reductions(cls, reductions: Sequence[Reduction], output_scale: float = 1.0) -> "DeepLinearEnsemble":
        """Return the ensemble of the reduced initial weights of `reductions` (float64; equal shapes)."""
        shapes = {tuple(tuple(r.shape) for r in red.weights) for red in reductions}
        if len(shapes) != 1:
            raise WeightsError(f"the reductions have different reduced shapes {sorted(shapes)}; group them by shape")
        stacked = [torch.stack([red.weights[l] for red in reductions]) for l in range(len(reductions[0].weights))]
        return cls(stacked, output_scale)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return [h_0, ..., h_L], each (M, N, d_l): the members' inputs, hidden features and outputs."""
        h = x.reshape(x.shape[0], self.members, self.in_dim).transpose(0, 1)
        out = [h]
        for i, w in enumerate(self.params):
            h = h @ w.transpose(1, 2)
            out.append(h * self.output_scale if i == len(self.params) - 1 else h)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the members' outputs side by side, (N, M * K), for inputs side by side (N, M * d)."""
        return self.features(x)[-1].transpose(0, 1).reshape(x.shape[0], -1)

    def member_weights(self, m: int) -> list[torch.Tensor]:
        """Return member m's weights [W_1, ..., W_L] (detached, (out, in))."""
        return [w[m].detach() for w in self.params]


def side_by_side(xs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Return the members' inputs [(N, d)] * M as one (N, M * d) tensor for DeepLinearEnsemble."""
    return torch.cat(list(xs), dim=1)
