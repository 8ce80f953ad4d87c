"""Chapter 02, assumption checks: its parameters (book defaults, smoke/paper values, help), rules, and
the helpers that decide its verdicts (each tested on constructed cases in tests/test_chapter02.py)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..params import ACTIVATIONS, CHOICES, DATASETS, Bool, Choice, ConfigError, Float, Int, ListOf, Param, Path

PARAMS = dict(
    # Fig. 6: theory data, orthogonal init, GD until the loss is tiny
    n_per_class=Param(10, "points per class n of the theory data (Fig. 6 uses chapter 1's data)", rule=Int(min=1)),
    n_classes=Param(3, "number of classes K of the theory data", rule=Int(min=2)),
    dim=Param(50, "input dimension d of the theory data; also the d of the bulk slice sigma_(K+1..d-K)", rule=Int(min=1)),
    init_scale=Param(0.1, "orthogonal initialisation scale xi of the Fig. 6 nets", rule=Float(min=0, closed="right")),
    control_init_scale=Param(1.0, "init scale of the control nets: the same GD from a large init, which "
                                  "interpolates without the small-init bias", rule=Float(min=0, closed="right")),
    alpha=Param(1.0, "output multiplier alpha of the Fig. 6 nets", rule=Float(min=0, closed="right")),
    lr=Param(0.1, "initial learning rate of full-batch gradient descent (Fig. 6)", rule=Float(min=0, closed="right")),
    lr_min=Param(0.0001, "final learning rate of the cosine schedule, reached at `epochs` (Fig. 6)", rule=Float(min=0)),
    epochs=Param(100000, "epoch budget (and cosine length) of the Fig. 6 nets; they stop at stop_loss first",
                 smoke=3000, rule=Int(min=1)),
    stop_loss=Param(1e-10, "training stops once the loss falls below this (Fig. 6)", smoke=1e-06, rule=Float(min=0)),
    n_seeds=Param(5, "seeds s = seed .. seed + n_seeds - 1 (data draw and initialisation) for every claim; "
                     "claims need >= 3", smoke=1, paper=10, rule=Int(min=1)),
    sweep_depths=Param([2, 3, 4, 5], "depths L of the Fig. 6 depth sweep (at `width`)", smoke=[2, 3], rule=ListOf(Int(min=2))),
    width=Param(400, "hidden width h of the Fig. 6 depth sweep", smoke=60, rule=Int(min=1, width=True)),
    sweep_widths=Param([200, 400, 700], "widths h of the Fig. 6 width sweep (at `depth`)", smoke=[60, 100],
                       paper=[200, 300, 400, 500, 600, 700], rule=ListOf(Int(min=1, width=True))),
    depth=Param(5, "depth L (weight matrices) of the Fig. 6 width sweep and of the training-time snapshots",
                smoke=3, rule=Int(min=2)),
    # what breaks the assumptions (chapter 1's theory setting)
    rate_depth=Param(6, "depth L of the theory-setting nets whose assumptions are broken (chapter 1)", rule=Int(min=3)),
    rate_width=Param(50, "width h of the theory-setting nets", rule=Int(min=1, width=True)),
    rate_init_scale=Param(0.3, "init scale xi of the theory-setting baseline", rule=Float(min=0, closed="right")),
    rate_alpha=Param(100.0, "output multiplier alpha of the theory-setting nets", rule=Float(min=0, closed="right")),
    rate_lr=Param(0.1, "initial learning rate of the theory-setting nets (GD, cosine)", rule=Float(min=0, closed="right")),
    rate_lr_min=Param(0.01, "final learning rate of the theory-setting cosine schedule", rule=Float(min=0)),
    rate_epochs=Param(5000, "epoch budget of the theory-setting nets that train to rate_stop_loss", smoke=300, rule=Int(min=1)),
    rate_stop_loss=Param(1e-11, "the theory-setting nets stop once the loss is below this", rule=Float(min=0)),
    rate_init_scales=Param([0.4, 0.5, 0.6], "larger init scales xi tried (one intervention each)", smoke=[0.5], rule=ListOf(Float(min=0, closed="right"))),
    rate_weight_decays=Param([0.003, 0.01, 0.03], "weight decays tried (one intervention each)", smoke=[0.01], rule=ListOf(Float(min=0))),
    decay_epochs=Param(300, "fixed epochs of the weight-decay runs (their loss cannot reach the threshold)",
                       smoke=30, rule=Int(min=1)),
    rate_activations=Param(['tanh', 'relu'], "nonlinearities inserted in every hidden layer (one run each)",
                           smoke=['relu'], rule=ListOf(Choice(*ACTIVATIONS))),
    nonlinear_epochs=Param(1000, "epoch cap of the nonlinear runs", smoke=30, rule=Int(min=1)),
    # transfer (projection head)
    dataset=Param('mnist1d', "data set of the transfer experiment (classes 0-4 pre-train, 5-9 transfer): "
                             "mnist1d, digits, or a torchvision set with data_root", paper='cifar10', rule=Choice(*DATASETS)),
    data_root=Param('', "folder holding torchvision data sets (paper preset)", rule=Path()),
    download=Param(False, "allow downloading a torchvision data set into data_root", rule=Bool()),
    n_train=Param(0, "training samples of the transfer data set (0 = all; a stratified subset otherwise)",
                  smoke=600, rule=Int(min=0)),
    net_width=Param(64, "hidden width of the transfer nets (extractor and head)", smoke=16, paper=1024, rule=Int(min=1, width=True)),
    extractor_depth=Param(2, "Linear-BN-ReLU extractor layers kept after pre-training", rule=Int(min=1)),
    head_depths=Param([1, 2, 3, 4, 5], "projection-head depths m (linear layers between extractor and "
                                        "classifier) compared", smoke=[1, 3], rule=ListOf(Int(min=1))),
    net_epochs=Param(300, "full-batch Adam epochs of the transfer nets", smoke=5, paper=200, rule=Int(min=1)),
    net_lr=Param(0.003, "Adam learning rate of the transfer nets (cosine to 1% of it)", rule=Float(min=0, closed="right")),
    net_init_scale=Param(0.3, "orthogonal init scale of the transfer nets (the theory setting's xi)", rule=Float(min=0, closed="right")),
    probe_ridge=Param(0.001, "relative ridge of the least-squares transfer probe in the tables, figures and the "
                             "precondition", rule=Float(min=0, closed="right")),
    probe_ridges=Param([0.0001, 0.001, 0.01], "relative probe ridges the transfer-accuracy claims must hold at "
                                              "(an analysis choice)", rule=ListOf(Float(min=0, closed="right"))),
)


def check(p: dict[str, Any]) -> None:
    """Raise ConfigError for parameter combinations the chapter cannot use."""
    if p["extractor_depth"] < 1 or p["decay_epochs"] < 1 or p["nonlinear_epochs"] < 1:
        bad = next(n for n in ("extractor_depth", "decay_epochs", "nonlinear_epochs") if p[n] < 1)
        raise ConfigError(f"{bad} must be an integer >= 1, got {p[bad]}")
    if min(p["head_depths"]) < 1:
        raise ConfigError(f"head_depths must all be >= 1 (projection-head layers), got {p['head_depths']}")
    if len(set(p["head_depths"])) < 2:
        raise ConfigError(f"head_depths needs at least two different depths to compare, got {p['head_depths']}")
    if len(set(p["sweep_widths"])) < 2:
        raise ConfigError(f"sweep_widths needs at least two widths (the residual's fall), got {p['sweep_widths']}")
    if p["probe_ridge"] <= 0 or min(p["probe_ridges"]) <= 0:
        raise ConfigError(f"probe_ridge and probe_ridges must be > 0, got {p['probe_ridge']} and {p['probe_ridges']}")
    if p["control_init_scale"] <= 0:
        raise ConfigError(f"control_init_scale must be a number > 0, got {p['control_init_scale']}")
    bad = [a for a in p["rate_activations"] if a not in CHOICES["activation"]]
    if bad:
        raise ConfigError(f"rate_activations must be among {', '.join(CHOICES['activation'])}, got {bad}")
    if p["n_per_class"] * p["n_classes"] > p["dim"]:
        raise ConfigError(f"the Fig. 6 data need N = n_per_class * n_classes <= dim (orthonormal inputs); got "
                          f"N = {p['n_per_class'] * p['n_classes']} > dim = {p['dim']}")
    if p["n_classes"] < 2 or p["dim"] - 2 * p["n_classes"] < 1:
        raise ConfigError(f"need n_classes >= 2 and dim > 2 * n_classes for the bulk singular values, got "
                          f"n_classes={p['n_classes']}, dim={p['dim']}")
    if min([p["width"], *p["sweep_widths"], p["rate_width"]]) < p["n_classes"]:
        raise ConfigError(f"widths must be >= n_classes = {p['n_classes']} (orthogonal init)")
    if min(p["sweep_depths"]) < 2 or p["depth"] < 2 or p["rate_depth"] < 3:
        raise ConfigError("sweep_depths and depth must be >= 2 and rate_depth >= 3 (balance needs two layers, "
                          "a rate needs a hidden layer)")
    if p["net_width"] < 5:
        raise ConfigError(f"net_width must be >= 5 (the 5 source classes), got {p['net_width']}")


# --- helpers that decide the verdicts -------------------------------------------------------------

def rate_error(c: Sequence[float], predicted: float | Sequence[float]) -> float:
    """Return max_l |(C_l / C_(l-1)) / predicted_l - 1| over l = 1..len(c)-1.

    c: [C_0, ..., C_m] (m >= 1); predicted: one rate for every layer, or one per ratio (m values).
    """
    c = np.asarray(c, dtype=float)
    if c.size < 2:
        raise ValueError(f"a rate needs at least two values of C, got {c.size}")
    return float(np.max(np.abs(c[1:] / c[:-1] / np.asarray(predicted, dtype=float) - 1)))


def worst_per_seed(rows: Iterable[Mapping[str, Any]], column: str) -> dict[int, float]:
    """Return {seed: max of `column` over the rows of that seed} (a seed's worst run)."""
    out: dict[int, float] = {}
    for r in rows:
        s = int(r["seed"])
        out[s] = max(out.get(s, -np.inf), float(r[column]))
    return dict(sorted(out.items()))


def relative_fall(values: Sequence[float]) -> float:
    """Return 1 - last / first: how far a quantity falls from the first to the last point (0.5 = halves)."""
    if len(values) < 2 or values[0] == 0:
        raise ValueError(f"relative_fall needs >= 2 values and a non-zero first one, got {list(values)}")
    return float(1 - values[-1] / values[0])


def gap_drift(gaps_init: Sequence[float], gaps_final: Sequence[float]) -> float:
    """Return max_l |g_l(end) - g_l(init)| / max_l g_l(init): how far the balance gaps moved in training."""
    gi, gf = np.asarray(gaps_init, dtype=float), np.asarray(gaps_final, dtype=float)
    if gi.shape != gf.shape or gi.size == 0 or gi.max() <= 0:
        raise ValueError("gap_drift needs two equal-length lists of gaps with a positive initial gap")
    return float(np.max(np.abs(gf - gi)) / gi.max())


def gain_points(by_depth: Mapping[int, float]) -> float:
    """Return 100 * (value at the largest key - value at the smallest key): an accuracy gain in points."""
    keys = sorted(by_depth)
    if len(keys) < 2:
        raise ValueError(f"a gain needs values at two depths at least, got {dict(by_depth)}")
    return float(100 * (by_depth[keys[-1]] - by_depth[keys[0]]))


def ratio_last_first(by_depth: Mapping[int, float]) -> float:
    """Return value at the largest key / value at the smallest key (e.g. C at m_max over C at m_min)."""
    keys = sorted(by_depth)
    if len(keys) < 2 or by_depth[keys[0]] == 0:
        raise ValueError(f"a ratio needs two depths and a non-zero first value, got {dict(by_depth)}")
    return float(by_depth[keys[-1]] / by_depth[keys[0]])


def scaled_probe_accuracy(z_train, y_train, z_test, y_test, *, ridge: float = 1e-3) -> float:
    """Return `probes.linear_probe_accuracy` on features divided by their training RMS (one scalar).

    The probe's ridge is relative to ||[Z 1]||_F, whose bias column does not scale with Z: a layer
    whose features are 0.3^m times smaller would be regularised harder. Dividing by one scalar first
    makes the accuracy invariant to z -> c z Q (c > 0, Q orthogonal), the map an untrained linear head
    applies, so layers are compared on their geometry, not their scale. z_*: (n, d); y_*: (n,) labels.
    """
    import torch

    from ..metrics import probes

    scale = float(torch.as_tensor(z_train).double().pow(2).mean().sqrt())
    scale = scale if scale > 0 else 1.0
    return probes.linear_probe_accuracy(z_train / scale, y_train, z_test / scale, y_test, ridge=ridge)


def change_from_baseline(run: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, float]:
    """Return {"residual change", "balance change": run - baseline, "rate error": the run's own}.

    The value of the weight-decay claim: both changes negative and a rate error above 10% means the
    assumption measures improved while the rate left the closed form.
    """
    return {"residual change": float(run["residual"] - baseline["residual"]),
            "balance change": float(run["balance"] - baseline["balance"]),
            "rate error": float(run["rate_error"])}
