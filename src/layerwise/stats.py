"""Small statistics used across chapters: least-squares line fits with R^2 and intervals."""
from __future__ import annotations

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
