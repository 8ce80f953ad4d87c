"""Per-layer linear probes."""
from __future__ import annotations

import torch


def linear_probe_accuracy(z_train: torch.Tensor, y_train: torch.Tensor, z_test: torch.Tensor | None = None,
                          y_test: torch.Tensor | None = None, *, ridge: float = 1e-3) -> float:
    """Return the accuracy of a least-squares linear probe (with bias) from features to one-hot labels.

    The probe minimises ||[Z 1] W - Y||^2 + lam ||W||^2 in closed form, lam = ridge * ||[Z 1]||_F^2 / (d+1)
    (scale-invariant, so layers of very different norms are probed alike): the MSE probe of
    Wang et al. at convergence. Solved in feature space ((d+1)^2 system) or sample space (n^2),
    whichever is smaller. Evaluated on (z_test, y_test) when given, else on the training set.
    """
    z = _design(z_train)
    k = int(y_train.max()) + 1
    y = torch.nn.functional.one_hot(y_train.long(), k).double()
    n, d = z.shape
    lam = ridge * float(z.pow(2).sum()) / d
    if d <= n:
        w = torch.linalg.solve(z.T @ z + lam * torch.eye(d, dtype=z.dtype), z.T @ y)
    else:
        w = z.T @ torch.linalg.solve(z @ z.T + lam * torch.eye(n, dtype=z.dtype), y)
    ze, ye = (z, y_train) if z_test is None else (_design(z_test), y_test)
    return float(((ze @ w).argmax(1) == ye.long()).double().mean())


def _design(z: torch.Tensor) -> torch.Tensor:
    z = z.reshape(z.shape[0], -1).double()
    return torch.cat([z, torch.ones(z.shape[0], 1, dtype=z.dtype)], 1)
