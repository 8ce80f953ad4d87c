"""Within-class compression C_l and between-class discrimination D_l (Wang et al. 2023, note 01)."""
from __future__ import annotations

import torch


def class_means(z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Return the (K, d) class means of features z (n, d) for integer labels (n,) in 0..K-1."""
    k = int(labels.max()) + 1
    onehot = torch.nn.functional.one_hot(labels.long(), k).to(z.dtype)
    return (onehot.T @ z) / onehot.sum(0).unsqueeze(1)


def within_class_compression(z: torch.Tensor, labels: torch.Tensor) -> float:
    """Return C = Tr(Sigma_W) / Tr(Sigma_B) for features z (n, d) and labels (n,).

    Sigma_W = (1/N) sum_i (z_i - mu_{y_i})(z_i - mu_{y_i})^T, Sigma_B = (1/K) sum_k (mu_k - mu_G)(..)^T
    with mu_G the global mean; only the traces are formed (O(n d)).
    """
    z = z.reshape(z.shape[0], -1).double()
    mu = class_means(z, labels)
    within = (z - mu[labels.long()]).pow(2).sum() / z.shape[0]
    between = (mu - z.mean(0)).pow(2).sum() / mu.shape[0]
    return float(within / between)


def between_class_discrimination(z: torch.Tensor, labels: torch.Tensor, *, signed: bool = True) -> float:
    """Return D = 1 - max_{k != k'} cos(mu_k, mu_k') of the uncentred class means.

    signed=True takes the signed maximum, as the authors' code does (D > 1 when every pair of means
    points apart); signed=False takes max |cos|, as their docstring writes it, so D lies in [0, 1].
    """
    mu = class_means(z.reshape(z.shape[0], -1).double(), labels)
    unit = mu / mu.norm(dim=1, keepdim=True)
    cos = unit @ unit.T if signed else (unit @ unit.T).abs()
    cos.fill_diagonal_(-float("inf"))
    return float(1 - cos.max())


def layerwise_collapse(features: list[torch.Tensor], labels: torch.Tensor, *,
                       signed: bool = True) -> tuple[list[float], list[float]]:
    """Return ([C_l], [D_l]) for every feature matrix in `features` (list of (n, d_l)); `signed` as in
    `between_class_discrimination`."""
    return ([within_class_compression(z, labels) for z in features],
            [between_class_discrimination(z, labels, signed=signed) for z in features])


def predicted_compression_rate(init_scale: float, alpha: float, n_per_class: float, depth: int) -> float:
    """Return the closed-form layer-to-layer ratio C_l / C_{l-1} = xi^2 alpha^(2/L) n^(-1/L) (note 01, §3).

    For a deep linear net trained to a minimum-norm, balanced solution from orthogonal init of scale
    xi = `init_scale`, with output multiplier alpha, n = `n_per_class` samples per class and L =
    `depth` weight matrices: the K top singular values of every W_l are (sqrt(n) / alpha)^(1/L) and
    the bulk stays at xi, so each layer shrinks within-class spread relative to the class means by
    (xi / top)^2. An inference of note 01, checked numerically there; dimensionless.
    """
    for name, value in (("init_scale", init_scale), ("alpha", alpha), ("n_per_class", n_per_class)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an integer >= 1 (the number of weight matrices L), got {depth!r}")
    return init_scale ** 2 * alpha ** (2 / depth) * n_per_class ** (-1 / depth)
