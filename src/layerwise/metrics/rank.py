"""Ranks of feature matrices: numerical (two conventions), effective (Roy & Vetterli) and stable."""
from __future__ import annotations

import torch


def singular_values(z: torch.Tensor, *, center: bool = False) -> torch.Tensor:
    """Return the singular values (descending, float64) of z (n, d), column-centred if `center`."""
    z = z.reshape(z.shape[0], -1).double()
    if center:
        z = z - z.mean(0)
    return torch.linalg.svdvals(z)


def numerical_rank(z: torch.Tensor, *, convention: str = "energy", energy: float = 0.95,
                   threshold: float = 1e-3) -> int:
    """Return the numerical rank of features z (n, d).

    convention="energy" (Wang et al. Fig. 1): the smallest r whose top-r singular values of the
    uncentred z reach `energy` of the sum of all singular values.
    convention="tunnel" (Masarczyk et al.): the number of eigenvalues of the centred covariance
    z_c^T z_c / (n - 1) above `threshold` times the largest.
    """
    if convention == "energy":
        s = singular_values(z)
        cum = torch.cumsum(s, 0) / s.sum()
        return int(torch.searchsorted(cum, torch.tensor(energy, dtype=cum.dtype) - 1e-12).item()) + 1
    if convention == "tunnel":
        eig = singular_values(z, center=True).pow(2)
        return int((eig > threshold * eig[0]).sum())
    raise ValueError(f"convention must be 'energy' or 'tunnel', got {convention!r}")


def effective_rank(z: torch.Tensor, *, center: bool = False) -> float:
    """Return exp(H(p)) with p_k = s_k / sum_j s_j over the singular values s of z (n, d).

    Lies in [1, rank(z)]; k equal nonzero singular values give exactly k.
    """
    s = singular_values(z, center=center)
    p = s[s > 0] / s.sum()
    return float(torch.exp(-(p * p.log()).sum()))


def stable_rank(z: torch.Tensor, *, center: bool = False) -> float:
    """Return ||z||_F^2 / ||z||_2^2, in [1, rank(z)]."""
    s = singular_values(z, center=center)
    return float(s.pow(2).sum() / s[0].pow(2))
