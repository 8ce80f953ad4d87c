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


def between_class_discrimination(z: torch.Tensor, labels: torch.Tensor) -> float:
    """Return D = 1 - max_{k != k'} cos(mu_k, mu_k') of the uncentred class means (signed maximum)."""
    mu = class_means(z.reshape(z.shape[0], -1).double(), labels)
    unit = mu / mu.norm(dim=1, keepdim=True)
    cos = unit @ unit.T
    cos.fill_diagonal_(-float("inf"))
    return float(1 - cos.max())


def layerwise_collapse(features: list[torch.Tensor], labels: torch.Tensor) -> tuple[list[float], list[float]]:
    """Return ([C_l], [D_l]) for every feature matrix in `features` (list of (n, d_l))."""
    return ([within_class_compression(z, labels) for z in features],
            [between_class_discrimination(z, labels) for z in features])


def predicted_compression_rate(init_scale: float, alpha: float, n_per_class: int, depth: int) -> float:
    """Return the closed-form per-layer compression rate rho = xi^2 alpha^(2/L) n^(-1/L).

    For min-norm, balanced deep linear weights the top-K singular values of every layer approach
    (sqrt(n)/alpha)^(1/L) while the bulk stays at the init scale xi, so C_l / C_{l-1} ~ rho
    (reference note 01, section 3; an inference checked numerically, not the paper's statement).
    """
    return init_scale ** 2 * alpha ** (2 / depth) * n_per_class ** (-1 / depth)
