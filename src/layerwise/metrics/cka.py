"""Centred kernel alignment (CKA) between representations: linear, debiased, all-layer and minibatch.

Notation (Kornblith et al. 2019): X (n, p1), Y (n, p2) share their n samples (rows); X_c, Y_c have
centred columns; K = X_c X_c^T and L = Y_c Y_c^T are the centred linear Gram matrices.

    HSIC_0(K, L) = tr(K L) / (n - 1)^2                  (biased; tr(K L) = ||Y_c^T X_c||_F^2)
    HSIC_1(K, L) = [tr(K~ L~) + 1'K~1 1'L~1 / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n (n-3))
                                                         (unbiased, Song et al.; K~ = K, zero diagonal)
    CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))

For centred linear features the HSIC_1 bracket is (derived from the definition; tested against
`hsic1_reference`):  ||Y_c^T X_c||_F^2 - n/(n-2) sum_i ||x_i||^2 ||y_i||^2 + ||X_c||_F^2 ||Y_c||_F^2/((n-1)(n-2)),
so both estimators need only tr(K L), the squared row norms and the total squared norms. HSIC_1 is
an exact U-statistic of ||Cov(x, y)||_F^2 and does not change when a constant is added to either
representation, so centring first is free. Every function computes in float64 on the inputs'
device and returns float64 values (matrices on that device).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

METHODS = ("auto", "feature", "gram")


class CKAError(ValueError):
    """Representations CKA cannot compare (mismatched samples, too few samples, unknown method)."""


def linear_cka(x: torch.Tensor, y: torch.Tensor, *, debiased: bool = False, method: str = "auto") -> float:
    """Return the linear CKA of representations x (n, p1) and y (n, p2) of the same n samples.

    Trailing dimensions are flattened; computed in float64. `debiased=True` uses the unbiased HSIC_1
    (Song et al.; can be slightly negative, needs n >= 4) in numerator and denominator, else the
    biased HSIC_0 of Kornblith et al.
    `method` picks the space: "feature" forms ||Y_c^T X_c||_F^2 from p x p cross products,
    O(n (p1 p2 + p1^2 + p2^2)) time and O(p^2) memory; "gram" forms the n x n centred Grams,
    O(n^2 (p1 + p2)) time and O(n^2) memory; "auto" (default) takes the one with fewer operations
    for these shapes (feature space when p1, p2 are small against n, Gram space when p >> n).
    A representation with no variance (all rows equal) gives NaN.
    """
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    _check_pair(x, y, debiased, method)
    xc, yc = x - x.mean(0), y - y.mean(0)
    n, p1, p2 = x.shape[0], x.shape[1], y.shape[1]
    if method == "auto":
        method = "feature" if p1 * p2 + p1 * p1 + p2 * p2 <= n * (p1 + p2 + 1) else "gram"
    if method == "feature":
        kl, kk, ll = (yc.T @ xc).pow(2).sum(), (xc.T @ xc).pow(2).sum(), (yc.T @ yc).pow(2).sum()
    else:
        k, l_ = xc @ xc.T, yc @ yc.T
        kl, kk, ll = (k * l_).sum(), k.pow(2).sum(), l_.pow(2).sum()
    if not debiased:
        return float(kl / torch.sqrt(kk * ll))
    dx, dy = xc.pow(2).sum(1), yc.pow(2).sum(1)
    hxy = _hsic1_bracket(kl, dx @ dy, dx.sum() * dy.sum(), n)
    hxx = _hsic1_bracket(kk, dx @ dx, dx.sum() ** 2, n)
    hyy = _hsic1_bracket(ll, dy @ dy, dy.sum() ** 2, n)
    return float(hxy / torch.sqrt(hxx * hyy))


def cka_matrix(features: Sequence[torch.Tensor], *, debiased: bool = False, method: str = "auto",
               block_size: int = 256) -> torch.Tensor:
    """Return the (L, L) float64 matrix of linear CKA between every pair of `features`.

    features: L tensors (n, p_l) of the same n samples (e.g. `layer_features(model, x)`); widths may
    differ. Equals `linear_cka(features[i], features[j], debiased=...)` entry by entry, in one pass
    over the layers that forms each product once:
    - "feature": centre, then per layer i one product X_i^T [X_i .. X_L] (the upper block triangle
      of Z^T Z, Z = [X_1 .. X_L]); block (i, j) has squared Frobenius norm tr(K_i K_j).
      O(n sum_{i<=j} p_i p_j) time, O(p_i P) memory, P = sum p_l.
    - "gram": the centred Grams of all layers tile by tile (`block_size` rows and columns; upper
      triangle of tiles only, Grams being symmetric), each tile of all layers flattened into an
      (L, block_size^2) matrix G, accumulating G G^T. O(n^2 (P + L^2) / 2) time,
      O(L block_size^2) memory.
    "auto" takes whichever needs fewer multiply-adds for these shapes: feature space when the
    layers are narrow against n, Gram space when they are wide. The debiased version adds the
    row-norm and trace terms of HSIC_1, O(L n).
    """
    xs = _centred_list(features, debiased, method)
    n = xs[0].shape[0]
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise CKAError(f"block_size must be an integer >= 1, got {block_size!r}")
    if method == "auto":
        method = "feature" if _feature_cost(xs) <= _gram_cost(xs) else "gram"
    cross = _cross_feature(xs) if method == "feature" else _cross_gram(xs, block_size)
    if debiased:
        rows = torch.stack([x.pow(2).sum(1) for x in xs])  # (L, n): diagonals of the Grams
        traces = rows.sum(1)
        cross = _hsic1_bracket(cross, rows @ rows.T, torch.outer(traces, traces), n)
    scale = torch.sqrt(torch.diagonal(cross))
    return cross / torch.outer(scale, scale)


def minibatch_cka_matrix(features: Sequence[torch.Tensor], *, batch_size: int = 256, n_epochs: int = 1,
                         seed: int = 0) -> torch.Tensor:
    """Return the (L, L) minibatch CKA of Nguyen et al. (2021) between every pair of `features`.

    CKA_mb(i, j) = sum_b HSIC_1(K_i^b, K_j^b) / sqrt(sum_b HSIC_1(K_i^b, K_i^b) sum_b HSIC_1(K_j^b, K_j^b))
    over minibatches b of `batch_size` samples: each of `n_epochs` passes shuffles the n samples
    (torch.Generator seeded with `seed`) and cuts them into batches, dropping a last batch smaller
    than 4 (HSIC_1 needs 4 samples). Each sum is unbiased for n_batches * HSIC; the ratio is
    consistent. Memory O(L batch_size^2) instead of O(L n^2). Nguyen et al.'s code uses
    batch_size=256 and 10 passes.
    """
    xs = _centred_list(features, True, "gram")
    n = xs[0].shape[0]
    if not isinstance(batch_size, int) or batch_size < 4:
        raise CKAError(f"batch_size must be an integer >= 4 (HSIC_1 needs 4 samples), got {batch_size!r}")
    if not isinstance(n_epochs, int) or n_epochs < 1:
        raise CKAError(f"n_epochs must be an integer >= 1, got {n_epochs!r}")
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros(len(xs), len(xs), dtype=torch.float64, device=xs[0].device)
    for _ in range(n_epochs):
        order = torch.randperm(n, generator=gen).to(xs[0].device)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            if len(idx) >= 4:
                total += hsic1_matrix([x[idx] for x in xs])
    scale = torch.sqrt(torch.diagonal(total))
    return total / torch.outer(scale, scale)


def minibatch_cka(x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 256, n_epochs: int = 1,
                  seed: int = 0) -> float:
    """Return the minibatch debiased CKA (Nguyen et al.) of x (n, p1) and y (n, p2); see
    `minibatch_cka_matrix`."""
    return float(minibatch_cka_matrix([x, y], batch_size=batch_size, n_epochs=n_epochs, seed=seed)[0, 1])


def hsic1_matrix(features: Sequence[torch.Tensor]) -> torch.Tensor:
    """Return the (L, L) unbiased HSIC_1 of the linear kernels of every pair of `features` (n, p_l),
    n >= 4, float64, in Gram space (meant for minibatches, where n is small)."""
    xs = _centred_list(features, True, "gram")
    n = xs[0].shape[0]
    rows = torch.stack([x.pow(2).sum(1) for x in xs])
    traces = rows.sum(1)
    cross = _cross_gram(xs, 256)
    return _hsic1_bracket(cross, rows @ rows.T, torch.outer(traces, traces), n) / (n * (n - 3))


def hsic0(k: torch.Tensor, l_: torch.Tensor) -> float:
    """Return the biased HSIC tr(K H L H) / (n - 1)^2 of two (n, n) Gram matrices (any kernel)."""
    k, l_ = k.double(), l_.double()
    n = k.shape[0]
    h = torch.eye(n, dtype=torch.float64, device=k.device) - 1.0 / n
    return float(torch.trace(k @ h @ l_ @ h) / (n - 1) ** 2)


def hsic1_reference(k: torch.Tensor, l_: torch.Tensor) -> float:
    """Return the unbiased HSIC_1 of two (n, n) Gram matrices, n >= 4, straight from Song et al.'s
    formula (zeroed diagonals, explicit ones vectors); O(n^2) given the Grams. The slow reference
    the feature-space and all-layer forms are tested against."""
    k, l_ = k.double().clone(), l_.double().clone()
    n = k.shape[0]
    if n < 4:
        raise CKAError(f"HSIC_1 needs n >= 4 samples, got n={n}")
    k.fill_diagonal_(0.0)
    l_.fill_diagonal_(0.0)
    ones = torch.ones(n, dtype=torch.float64, device=k.device)
    term1 = torch.trace(k @ l_)
    term2 = (ones @ k @ ones) * (ones @ l_ @ ones) / ((n - 1) * (n - 2))
    term3 = 2.0 / (n - 2) * (ones @ k @ l_ @ ones)
    return float((term1 + term2 - term3) / (n * (n - 3)))


def cka_from_grams(k: torch.Tensor, l_: torch.Tensor, *, debiased: bool = False) -> float:
    """Return CKA of two (n, n) Gram matrices (any kernel) from `hsic0` or `hsic1_reference`: the
    direct, O(n^3) definition, kept as a reference for the fast linear forms."""
    hsic = hsic1_reference if debiased else hsic0
    return hsic(k, l_) / math.sqrt(hsic(k, k) * hsic(l_, l_))


def _hsic1_bracket(cross: torch.Tensor, diag_dot: torch.Tensor, trace_prod: torch.Tensor, n: int) -> torch.Tensor:
    """Return n (n-3) HSIC_1 from tr(K L), sum_i K_ii L_ii and tr K tr L of centred linear Grams."""
    return cross - n / (n - 2) * diag_dot + trace_prod / ((n - 1) * (n - 2))


def _feature_cost(xs: list[torch.Tensor]) -> float:
    """Return the multiply-adds of the feature-space route: n sum_{i<=j} p_i p_j."""
    widths = [x.shape[1] for x in xs]
    return xs[0].shape[0] * sum(widths[i] * sum(widths[i:]) for i in range(len(widths)))


def _gram_cost(xs: list[torch.Tensor]) -> float:
    """Return the multiply-adds of the Gram route: n^2 (sum_l p_l + L^2) / 2."""
    return xs[0].shape[0] ** 2 / 2 * (sum(x.shape[1] for x in xs) + len(xs) ** 2)


def _cross_feature(xs: list[torch.Tensor]) -> torch.Tensor:
    """Return tr(K_i K_j) = ||X_i^T X_j||_F^2 for all pairs: per layer i one product X_i^T [X_i .. X_L]
    (the upper block triangle of Z^T Z, Z = [X_1 .. X_L] centred), summed block by block."""
    widths = [x.shape[1] for x in xs]
    z = torch.cat(xs, 1)
    seg = torch.repeat_interleave(torch.arange(len(xs)), torch.tensor(widths)).to(z.device)
    out = torch.zeros(len(xs), len(xs), dtype=torch.float64, device=z.device)
    offset = 0
    for i, x in enumerate(xs):
        col_norms = (x.T @ z[:, offset:]).pow(2).sum(0)  # (P - offset,) squared column norms
        out[i, i:] = torch.zeros(len(xs) - i, dtype=torch.float64, device=z.device).index_add_(
            0, seg[offset:] - i, col_norms)
        offset += widths[i]
    return out + torch.triu(out, 1).T


def _cross_gram(xs: list[torch.Tensor], block_size: int) -> torch.Tensor:
    """Return tr(K_i K_j) for all pairs from the centred Grams K_i = X_i X_i^T, built tile by tile.

    K_i is symmetric, so only tiles (a, b) with a <= b are formed, the off-diagonal ones counted
    twice: about half the n^2 p work of full Grams. Each tile pair flattens the L tiles into an
    (L, block_size^2) matrix G and adds G G^T.
    """
    n, n_layers = xs[0].shape[0], len(xs)
    stacked = torch.stack(xs) if len({x.shape[1] for x in xs}) == 1 else None
    out = torch.zeros(n_layers, n_layers, dtype=torch.float64, device=xs[0].device)
    starts = range(0, n, block_size)
    for a in starts:
        for b in starts:
            if b < a:
                continue
            if stacked is not None:
                g = torch.bmm(stacked[:, a:a + block_size], stacked[:, b:b + block_size].transpose(1, 2))
            else:
                g = torch.stack([x[a:a + block_size] @ x[b:b + block_size].T for x in xs])
            g = g.reshape(n_layers, -1)
            out += (1.0 if a == b else 2.0) * (g @ g.T)
    return out


def _centred_list(features: Sequence[torch.Tensor], debiased: bool, method: str) -> list[torch.Tensor]:
    """Return the features as float64 (n, p_l) matrices with centred columns, after checking them."""
    xs = [_as_matrix(f, f"features[{i}]") for i, f in enumerate(features)]
    if not xs:
        raise CKAError("features must hold at least one representation, got an empty list")
    for i, x in enumerate(xs):
        _check_pair(xs[0], x, debiased, method, names=("features[0]", f"features[{i}]"))
        if x.device != xs[0].device:
            raise CKAError(f"features[{i}] is on {x.device} but features[0] is on {xs[0].device}")
    return [x - x.mean(0) for x in xs]


def _as_matrix(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise CKAError(f"{name} must be a torch.Tensor of shape (n, p), got {type(x).__name__}")
    if x.dim() < 2:
        raise CKAError(f"{name} must have shape (n, p) (n samples in rows), got shape {tuple(x.shape)}")
    x = x.detach().reshape(x.shape[0], -1).to(torch.float64)
    if not bool(torch.isfinite(x).all()):
        raise CKAError(f"{name} holds NaN or inf values; CKA needs finite features")
    return x


def _check_pair(x: torch.Tensor, y: torch.Tensor, debiased: bool, method: str,
                names: tuple[str, str] = ("x", "y")) -> None:
    if method not in METHODS:
        raise CKAError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if x.shape[0] != y.shape[0]:
        raise CKAError(f"{names[0]} and {names[1]} must hold the same samples (rows), got "
                       f"{x.shape[0]} and {y.shape[0]} rows")
    if x.shape[0] < (4 if debiased else 2):
        raise CKAError(f"CKA needs n >= {4 if debiased else 2} samples{' (debiased)' if debiased else ''}, "
                       f"got n={x.shape[0]}")
