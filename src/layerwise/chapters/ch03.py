"""Chapter 03, the gram learning equation: its parameters (book defaults, smoke/paper values, help) and rules."""
from __future__ import annotations

from typing import Any

from ..config import CHOICES, ConfigError, Param

PARAMS = dict(
    check_width=Param(32, ""),
    check_depth=Param(4, ""),
    check_n=Param(128, "", smoke=32),
    check_lr=Param(0.01, ""),
    roll_n=Param(1000, "", smoke=200),
    roll_width=Param(32, ""),
    roll_steps=Param(100, "", smoke=20),
    roll_lr=Param(0.05, ""),
    roll_gain=Param(700.0, ""),
    roll_seeds=Param(3, "", smoke=1),
    dataset=Param('digits', "", paper='cifar10'),
    data_root=Param('', ""),
    download=Param(False, ""),
    n_train=Param(0, "", smoke=300),
    batch_size=Param(64, ""),
    tl_width=Param(256, "", smoke=32),
    tl_depth=Param(5, ""),
    tl_epochs=Param(30, "", smoke=3, paper=100),
    tl_lr=Param(0.05, "", paper=0.0005),
    tl_momentum=Param(0.8, "", paper=0.8),
    white_dataset=Param('digits', "", paper='mnist'),
    white_width=Param(128, "", smoke=16, paper=256),
    white_depth=Param(3, ""),
    white_epochs=Param(10, "", smoke=2, paper=20),
    white_lr=Param(0.05, "", paper=0.01),
    white_momentum=Param(0.85, ""),
    white_seeds=Param(3, "", smoke=2, paper=5),
    stair_n=Param(1000, "", smoke=200),
    stair_dim=Param(10, ""),
    stair_widths=Param([32, 64, 128, 256, 512], "", smoke=[16, 32], paper=[32, 128, 512, 1024]),
    stair_steps=Param(200, "", smoke=20, paper=2000),
    stair_lr=Param(0.1, "", paper=0.01),
    stair_log_every=Param(5, "", paper=20),
    rand_ps=Param([0.0, 0.5, 1.0], "", smoke=[0.0, 1.0], paper=[0.0, 0.25, 0.5, 0.75, 0.9, 1.0]),
    rand_n_train=Param(600, "", smoke=200, paper=0),
    rand_width=Param(64, "", smoke=32, paper=256),
    rand_depth=Param(4, ""),
    rand_epochs=Param(80, "", smoke=4, paper=200),
    rand_lr=Param(0.02, "", paper=0.005),
    rand_momentum=Param(0.95, ""),
    rand_log_every=Param(8, "", smoke=2, paper=10),
    grok_modulus=Param(31, "", smoke=7, paper=61),
    grok_width=Param(128, "", smoke=32, paper=256),
    grok_depth=Param(4, ""),
    grok_epochs=Param(800, "", smoke=40, paper=500),
    grok_lr=Param(0.003, "", paper=0.001),
    grok_weight_decays=Param([0.0, 3.0], "", smoke=[3.0], paper=[0.0, 0.25, 0.5, 0.75]),
    grok_batch_size=Param(0, "", paper=32),
    grok_train_fraction=Param(0.7, ""),
    grok_log_every=Param(20, "", smoke=10, paper=10),
)


_CH03_POSITIVE = ("check_width", "check_depth", "check_n", "check_lr", "roll_n", "roll_width", "roll_steps",
                  "roll_lr", "roll_gain", "roll_seeds", "tl_width", "tl_epochs", "tl_lr", "white_width",
                  "white_epochs", "white_lr", "white_seeds", "stair_n", "stair_steps", "stair_lr",
                  "stair_log_every", "rand_width", "rand_epochs", "rand_lr", "rand_log_every", "grok_modulus",
                  "grok_width", "grok_epochs", "grok_lr", "grok_log_every")

def check(p: dict[str, Any]) -> None:
    for name in _CH03_POSITIVE:
        if p[name] <= 0:
            raise ConfigError(f"{name} must be > 0, got {p[name]} (set it in the parameters cell or with -p {name} N)")
    for name in ("check_depth", "tl_depth", "white_depth", "rand_depth", "grok_depth"):
        if p[name] < 3:
            raise ConfigError(f"{name} must be >= 3 (at least two hidden layers), got {p[name]}")
    if p["stair_dim"] < 4:
        raise ConfigError(f"stair_dim must be >= 4 (the staircase target uses x1..x4), got {p['stair_dim']}")
    for name in ("tl_momentum", "white_momentum", "rand_momentum"):
        if not 0 <= p[name] < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {p[name]}")
    if not all(0 <= q <= 1 for q in p["rand_ps"]):
        raise ConfigError(f"rand_ps must lie in [0, 1] (label-noise probabilities), got {p['rand_ps']}")
    if not 0 < p["grok_train_fraction"] < 1:
        raise ConfigError(f"grok_train_fraction must be in (0, 1), got {p['grok_train_fraction']}")
    if any(w < 0 for w in p["grok_weight_decays"]) or any(w < 1 for w in p["stair_widths"]):
        raise ConfigError("grok_weight_decays must be >= 0 and stair_widths >= 1, got "
                          f"{p['grok_weight_decays']} and {p['stair_widths']}")
    if p["white_dataset"] not in CHOICES["dataset"]:
        raise ConfigError(f"white_dataset must be one of {', '.join(CHOICES['dataset'])}, got {p['white_dataset']!r}")
    if p["grok_batch_size"] < 0 or p["rand_n_train"] < 0:
        raise ConfigError("grok_batch_size and rand_n_train must be >= 0 (0 = full batch / all samples)")
