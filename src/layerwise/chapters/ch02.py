"""Chapter 02, assumption checks: its parameters (book defaults, smoke/paper values, help) and rules."""
from __future__ import annotations

from typing import Any

from ..config import CHOICES, ConfigError, Param

PARAMS = dict(
    n_per_class=Param(10, ""),
    n_classes=Param(3, ""),
    dim=Param(50, ""),
    init_scale=Param(0.1, ""),
    alpha=Param(1.0, ""),
    lr=Param(0.1, ""),
    lr_min=Param(0.0001, ""),
    epochs=Param(100000, "", smoke=3000),
    stop_loss=Param(1e-10, "", smoke=1e-06),
    n_seeds=Param(2, "", smoke=1, paper=10),
    sweep_depths=Param([2, 3, 4, 5], "", smoke=[2, 3]),
    width=Param(400, "", smoke=60),
    sweep_widths=Param([200, 400, 700], "", smoke=[60, 100], paper=[200, 300, 400, 500, 600, 700]),
    depth=Param(5, "", smoke=3),
    rate_depth=Param(6, ""),
    rate_width=Param(50, ""),
    rate_init_scale=Param(0.3, ""),
    rate_alpha=Param(100.0, ""),
    rate_lr=Param(0.1, ""),
    rate_lr_min=Param(0.01, ""),
    rate_epochs=Param(5000, "", smoke=300),
    rate_stop_loss=Param(1e-11, ""),
    rate_init_scales=Param([0.4, 0.5, 0.6], "", smoke=[0.5]),
    rate_weight_decays=Param([0.003, 0.01, 0.03], "", smoke=[0.01]),
    decay_epochs=Param(300, "", smoke=30),
    rate_activations=Param(['tanh', 'relu'], "", smoke=['relu']),
    nonlinear_epochs=Param(1000, "", smoke=30),
    dataset=Param('digits', "", paper='cifar10'),
    data_root=Param('', ""),
    download=Param(False, ""),
    n_train=Param(0, ""),
    net_width=Param(64, "", smoke=16, paper=1024),
    extractor_depth=Param(2, ""),
    head_depths=Param([1, 2, 3, 4, 5], "", smoke=[1, 3]),
    net_epochs=Param(200, "", smoke=5, paper=200),
    net_lr=Param(0.001, ""),
    net_init_scale=Param(0.3, ""),
    n_probe_per_class=Param(10, ""),
    n_probe_draws=Param(5, "", smoke=2),
)


def check(p: dict[str, Any]) -> None:
    for name in ("extractor_depth", "n_probe_per_class", "n_probe_draws", "decay_epochs", "nonlinear_epochs"):
        if p[name] < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {p[name]}")
    if min(p["head_depths"]) < 1:
        raise ConfigError(f"head_depths must all be >= 1 (projection-head layers), got {p['head_depths']}")
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
