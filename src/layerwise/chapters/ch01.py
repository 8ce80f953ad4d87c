"""Chapter 01, deep linear compression: its parameters (book defaults, smoke/paper values, help) and rules."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..params import DATASETS, Bool, Choice, ConfigError, Float, Int, ListOf, Param, Path
from ..stats import linear_fit

PARAMS = dict(
    n_per_class=Param(10, "points per class n of the theory data (Fig. 4)", rule=Int(min=1)),
    n_classes=Param(3, "number of classes K of the theory data", rule=Int(min=2)),
    dim=Param(50, "input dimension d (and width) of the theory nets; n_per_class * n_classes <= dim keeps the data orthonormal", rule=Int(min=1)),
    depth=Param(6, "weight matrices L of the theory nets", rule=Int(min=3)),
    init_scale=Param(0.3, "orthogonal initialisation scale xi of the theory nets", rule=Float(min=0, closed="right")),
    alpha=Param(100.0, "output multiplier alpha of the theory nets", rule=Float(min=0, closed="right")),
    lr=Param(0.1, "initial learning rate of full-batch gradient descent (theory nets)", rule=Float(min=0, closed="right")),
    lr_min=Param(0.01, "final learning rate of the cosine schedule (theory nets)", rule=Float(min=0)),
    epochs=Param(5000, "epoch budget of the theory nets", smoke=400, rule=Int(min=1)),
    stop_loss=Param(1e-11, "training stops once the loss falls below this (the interpolation the theory assumes)", rule=Float(min=0)),
    n_seeds=Param(3, "seeds per claim (data draw and initialisation); claims need >= 3", smoke=3, paper=10, rule=Int(min=1)),
    rate_init_scales=Param([0.1, 0.3, 0.5], "values of xi in the closed-form rate grid", smoke=[0.3], rule=ListOf(Float(min=0, closed="right"))),
    rate_alphas=Param([1.0, 100.0], "values of alpha in the closed-form rate grid", smoke=[100.0], rule=ListOf(Float(min=0, closed="right"))),
    sweep_depths=Param([4, 5, 6, 7, 8, 9, 10], "depths L of the depth sweep", smoke=[4, 6], rule=ListOf(Int(min=3))),
    sweep_n_per_class=Param([10, 15, 20, 30, 50], "values of n of the sample-size sweep (N = n K past d breaks orthogonality)", smoke=[10, 20], paper=[10, 15, 20, 30, 50, 100], rule=ListOf(Int(min=1))),
    dataset=Param('mnist1d', "data set of the nonlinear nets (Figs. 1, 5): mnist1d, digits, or a torchvision set with data_root", paper='cifar10', rule=Choice(*DATASETS)),
    data_root=Param('', "folder holding torchvision data sets (paper preset)", rule=Path()),
    download=Param(False, "allow downloading a torchvision data set into data_root", rule=Bool()),
    n_train=Param(0, "training samples of the nonlinear nets (0 = all; a stratified subset otherwise)", smoke=300, rule=Int(min=0)),
    net_width=Param(256, "hidden width of the nonlinear nets", smoke=32, paper=1024, rule=Int(min=1, width=True)),
    net_depth=Param(8, "weight matrices of the nonlinear nets (hidden layers + classifier)", rule=Int(min=2)),
    hybrid_nonlinear=Param(3, "nonlinear (Linear-BN-ReLU) hidden layers at the front of the hybrid net; the rest are linear", rule=Int(min=0)),
    net_epochs=Param(60, "training epochs of the nonlinear nets", smoke=2, paper=400, rule=Int(min=1)),
    net_lr=Param(0.01, "learning rate of the nonlinear nets (SGD, cosine to 1% of it)", paper=0.0001, rule=Float(min=0, closed="right")),
    net_momentum=Param(0.9, "SGD momentum of the nonlinear nets", rule=Float(min=0, max=1, closed="left")),
    net_weight_decay=Param(0.0001, "weight decay of the nonlinear nets", rule=Float(min=0)),
    net_batch_size=Param(128, "minibatch size of the nonlinear nets", paper=128, rule=Int(min=1)),
    net_init_scale=Param(0.1, "orthogonal initialisation scale of the nonlinear nets", rule=Float(min=0, closed="right")),
    alpha_hybrid=Param(100.0, "output multiplier of the hybrid net", rule=Float(min=0, closed="right")),
    alpha_mlp=Param(1.0, "output multiplier of the all-nonlinear MLP", rule=Float(min=0, closed="right")),
)


def check(p: dict[str, Any]) -> None:
    for n in [p["n_per_class"], *p["sweep_n_per_class"]]:
        if n * p["n_classes"] > 10_000:
            raise ConfigError(f"n_per_class={n} gives more than 10000 samples for the theory data")
    if p["net_width"] < 10:
        raise ConfigError(f"net_width must be >= 10 (the number of classes), got {p['net_width']}")
    if p["hybrid_nonlinear"] >= p["net_depth"]:
        raise ConfigError(f"hybrid_nonlinear must be < net_depth={p['net_depth']} (it counts hidden "
                          f"layers), got {p['hybrid_nonlinear']}")


# --- what decides chapter 1's verdicts -------------------------------------------------------------

def profile_stats(c: Sequence[float], d: Sequence[float]) -> dict[str, Any]:
    """Return the per-seed measures of a compression profile read by the Fig. 4 claims.

    c (L,): C_l for l = 0..L-1 (l = 0 the input); d (L,): D_l. Returns rate = exp(slope) of the
    least-squares line of log C_l on l, r2_log_c its R^2, ratios C_l / C_(l-1) (L-1,), and for
    l >= 1: r2_d (R^2 of the line D_l on l), d_slope, d (D_1..D_(L-1), rounded to 6 decimals: the
    initial weights are drawn in float32, so an untrained net's D_l is constant only to ~1e-8, and
    rounding makes it read as ties, not noise).
    """
    c, d = np.asarray(c, dtype=float), np.asarray(d, dtype=float)
    if c.shape != d.shape or c.size < 3 or np.any(c <= 0):
        raise ValueError(f"profile_stats needs >= 3 layers of positive C_l and matching D_l, got {c.size}, {d.size}")
    layers = np.arange(c.size)
    fit_c = linear_fit(layers, np.log(c))
    fit_d = linear_fit(layers[1:], d[1:])
    return dict(rate=float(np.exp(fit_c.slope)), r2_log_c=fit_c.r2, ratios=(c[1:] / c[:-1]).tolist(),
                r2_d=fit_d.r2, d_slope=fit_d.slope, d=np.round(d[1:], 6).tolist())


def rate_errors(measured: Sequence[float], predicted: Sequence[float]) -> list[float]:
    """Return 100 |measured / predicted - 1| per entry: the relative error of a rate, in percent."""
    m, p = np.asarray(measured, dtype=float), np.asarray(predicted, dtype=float)
    return (100 * np.abs(m / p - 1)).tolist()


def rank_profile_test(rank: Sequence[float], first: int) -> dict[str, Any]:
    """Return {"from first": rank[first:], "last/max": rank[-1] / max(rank)} for the hybrid rank claim.

    rank (M,) lists hidden layers 1..M in order; `first` is the 0-based position where the linear
    layers' fall is read from.
    """
    r = [float(v) for v in rank]
    return {"from first": r[first:], "last/max": r[-1] / max(r)}


def compression_decades(c: Sequence[float]) -> dict[str, Any]:
    """Return {"C": c, "decades": log10(c[0] / c[-1])}: how far a C_l profile falls, in decades."""
    c = [float(v) for v in c]
    return {"C": c, "decades": float(np.log10(c[0] / c[-1]))}
