"""Chapter 04, the equilibrium layer: its parameters (book defaults, smoke/paper values, help) and rules."""
from __future__ import annotations

from typing import Any

from ..config import CHOICES, ConfigError, Param

PARAMS = dict(
    datasets=Param(['digits'], "", paper=['mnist', 'cifar10']),
    data_root=Param('', ""),
    download=Param(False, ""),
    n_train=Param(0, "", smoke=200),
    n_align=Param(100, "", smoke=30),
    hidden_layers=Param(10, "", smoke=3),
    width=Param(256, "", smoke=32),
    lr=Param(0.01, ""),
    scale_lr_with_depth=Param(True, ""),
    momentum=Param(0.9, ""),
    weight_decay=Param(0.0005, ""),
    batch_size=Param(128, ""),
    epochs=Param(40, "", smoke=3, paper=200),
    stop_loss=Param(0.01, ""),
    sweep_hidden_layers=Param([5, 10, 15, 20, 25], "", smoke=[2, 3, 4], paper=[10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
    sweep_width=Param(128, "", smoke=32, paper=256),
    sweep_epochs=Param(60, "", smoke=2, paper=200),
    n_seeds=Param(3, "", smoke=1, paper=3),
    theory_width=Param(2048, "", smoke=256),
    theory_hidden_layers=Param(20, ""),
)


def check(p: dict[str, Any]) -> None:
    bad = [d for d in p["datasets"] if d not in CHOICES["dataset"]]
    if bad:
        raise ConfigError(f"datasets must list names from {', '.join(CHOICES['dataset'])}, got {bad[0]!r} "
                          "(e.g. -p datasets mnist,cifar10)")
    for name, value in (("hidden_layers", p["hidden_layers"]), ("theory_hidden_layers", p["theory_hidden_layers"]),
                        ("n_align", p["n_align"]), *(("sweep_hidden_layers", v) for v in p["sweep_hidden_layers"])):
        if value < 1:
            raise ConfigError(f"{name} must hold integers >= 1, got {value} (set it in the parameters cell "
                              f"or with -p {name} VALUE)")
    if p["n_align"] < 10 or p["n_align"] > 2000:
        raise ConfigError(f"n_align must be in [10, 2000] (kernels are (10 n_align)^2 per layer), got {p['n_align']}")
    if min(p["width"], p["sweep_width"]) < 10:
        raise ConfigError(f"width and sweep_width must be >= 10 (the number of classes), got "
                          f"{p['width']} and {p['sweep_width']}")
    if 0 < p["n_train"] < p["n_align"]:
        raise ConfigError(f"n_train={p['n_train']} must be 0 (all) or >= n_align={p['n_align']}: the alignment "
                          "sample is drawn from the training set")
