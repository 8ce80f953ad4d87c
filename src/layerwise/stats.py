"""Small statistics used across chapters: least-squares line fits with R^2, and the intervals the ledger
decides on (Student-t interval of a mean, Clopper-Pearson interval of a rate, seeds needed to decide)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class LineFit:
    """y ~ slope * x + intercept, with R^2 and the 95% confidence interval of the slope."""

    slope: float
    intercept: float
    r2: float
    slope_ci: tuple[float, float]


def linear_fit(x: Sequence[float], y: Sequence[float]) -> LineFit:
    """Return the ordinary least-squares line through points (x_i, y_i) (at least 2 points).

    The slope interval uses Student's t with n - 2 degrees of freedom (NaN-wide for n = 2).
    """
    from scipy import stats as sps

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"linear_fit needs two equal-length sequences of >= 2 points, got {x.size} and {y.size}")
    res = sps.linregress(x, y)
    if x.size > 2:
        half = sps.t.ppf(0.975, x.size - 2) * res.stderr
        ci = (res.slope - half, res.slope + half)
    else:
        ci = (float("nan"), float("nan"))
    r2 = float(res.rvalue ** 2) if np.ptp(y) > 0 else 1.0
    return LineFit(float(res.slope), float(res.intercept), r2, (float(ci[0]), float(ci[1])))


# --- intervals the ledger decides on (claims.py) ------------------------------------------------

def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Return the Student-t `level` interval of the mean of `values` (two-sided, n - 1 degrees of freedom).

    Needs at least 2 values; equal values give a zero-width interval at their mean.
    """
    from scipy import stats as sps

    x = np.asarray(values, dtype=float)
    if x.size < 2:
        raise ValueError(f"a t-interval needs >= 2 values, got {x.size}")
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    half = float(sps.t.ppf((1 + level) / 2, x.size - 1)) * sd / math.sqrt(x.size)
    return mean - half, mean + half


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Return the exact (Clopper-Pearson) `level` interval of a rate from `k` successes in `n` trials."""
    from scipy import stats as sps

    if not 0 <= k <= n or n < 1:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    alpha = 1 - level
    lo = 0.0 if k == 0 else float(sps.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(sps.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def seeds_to_clear(sd: float, distance: float, *, level: float = 0.95, limit: int = 10_000) -> int | None:
    """Return the smallest number of seeds whose t-interval half-width, at spread `sd`, is below
    `distance` (the gap from the mean to the bound the interval must clear); None beyond `limit`
    or when the gap is zero."""
    from scipy import stats as sps

    if not (distance > 0) or not math.isfinite(sd):
        return None
    if sd == 0:
        return 2
    n = np.arange(2, limit + 1)
    half = sps.t.ppf((1 + level) / 2, n - 1) * sd / np.sqrt(n)
    ok = np.nonzero(half < distance)[0]
    return int(n[ok[0]]) if ok.size else None


def seeds_to_decide_rate(rate: float, p: float, *, level: float = 0.95, limit: int = 5_000) -> int | None:
    """Return the smallest number of seeds at which an observed pass `rate` puts the Clopper-Pearson
    interval on one side of `p` (lower bound >= p when rate > p, upper bound < p when rate < p);
    None when rate == p or beyond `limit`."""
    from scipy import stats as sps

    if rate == p:
        return None
    n = np.arange(1, limit + 1)
    k = np.clip(np.round(rate * n), 0, n)
    alpha = 1 - level
    with np.errstate(all="ignore"):
        if rate > p:
            bound = np.where(k == 0, 0.0, sps.beta.ppf(alpha / 2, np.maximum(k, 1), n - k + 1))
            ok = np.nonzero(bound >= p)[0]
        else:
            bound = np.where(k == n, 1.0, sps.beta.ppf(1 - alpha / 2, k + 1, np.maximum(n - k, 1)))
            ok = np.nonzero(bound < p)[0]
    return int(n[ok[0]]) if ok.size else None
