"""Chapter 06, spurious features: its parameters (book defaults, smoke/paper values, help) and rules."""
from __future__ import annotations

from typing import Any

from ..config import ConfigError, Param

PARAMS = dict(
    n_train=Param(600, "", smoke=300, paper=1200),
    n_test=Param(1000, "", smoke=400, paper=4000),
    n_heldout=Param(800, "", smoke=400, paper=2000),
    p_values=Param([0.9, 0.99, 1.0], "", smoke=[0.9, 1.0]),
    mu=Param(2.0, ""),
    sigma=Param(0.2, ""),
    a_core=Param(0.25, ""),
    a_spurious=Param(6.0, ""),
    n_noise=Param(10, ""),
    noise_scale=Param(0.1, ""),
    width=Param(120, ""),
    depth=Param(5, ""),
    lr=Param(0.02, ""),
    momentum=Param(0.9, ""),
    epochs=Param(600, "", smoke=80, paper=3000),
    stop_loss=Param(0.001, ""),
    n_inits=Param(10, "", smoke=3),
    sd_coefs=Param([0.001, 0.01, 0.1], "", smoke=[0.1]),
    sd_epochs=Param(250, "", smoke=40, paper=3000),
    dfr_refits=Param(20, "", smoke=2),
    lms_n_train=Param(5000, "", smoke=600, paper=100000),
    lms_n_test=Param(2000, "", smoke=400, paper=10000),
    lms_dim=Param(50, ""),
    lms_margin=Param(0.1, ""),
    lms_width=Param(100, ""),
    lms_depth=Param(3, ""),
    lms_lr=Param(0.1, ""),
    lms_weight_decay=Param(5e-05, ""),
    lms_batch_size=Param(256, ""),
    lms_epochs=Param(8, "", smoke=2, paper=20),
    moons_n=Param(300, ""),
    moons_margin=Param(0.1, ""),
    moons_width=Param(500, "", smoke=64),
    moons_lr=Param(0.01, ""),
    moons_epochs=Param(300, "", smoke=30, paper=1000),
    moons_sd=Param(0.003, ""),
    moons_seeds=Param(10, "", smoke=2),
    deep_depth=Param(8, "", smoke=4),
    deep_width=Param(120, "", smoke=32),
    deep_epochs=Param(300, "", smoke=30, paper=2000),
    deep_seeds=Param(3, "", smoke=1, paper=10),
    head_epochs=Param(100, "", smoke=10, paper=300),
    head_lr=Param(0.01, ""),
)


_CH06_POSITIVE_INT = ("n_heldout", "n_inits", "sd_epochs", "dfr_refits", "lms_n_train", "lms_n_test",
                      "lms_dim", "lms_width", "lms_depth", "lms_batch_size", "lms_epochs", "moons_n",
                      "moons_width", "moons_epochs", "moons_seeds", "deep_depth", "deep_width", "deep_epochs", "deep_seeds",
                      "head_epochs")
_CH06_POSITIVE_FLOAT = ("mu", "sigma", "a_core", "a_spurious", "noise_scale", "lms_lr", "moons_lr", "head_lr")

_CH06_POSITIVE_FLOAT = ("mu", "sigma", "a_core", "a_spurious", "noise_scale", "lms_lr", "moons_lr", "head_lr")

def check(p: dict[str, Any]) -> None:
    for name in _CH06_POSITIVE_INT:
        if p[name] < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {p[name]} (set it with -p {name} N)")
    if p["n_noise"] < 0:
        raise ConfigError(f"n_noise must be an integer >= 0, got {p['n_noise']}")
    for name in _CH06_POSITIVE_FLOAT:
        if p[name] <= 0:
            raise ConfigError(f"{name} must be a number > 0, got {p[name]} (set it with -p {name} X)")
    for name in ("lms_weight_decay", "moons_sd"):
        if p[name] < 0:
            raise ConfigError(f"{name} must be a number >= 0, got {p[name]}")
    for sd in p["sd_coefs"]:
        if sd < 0:
            raise ConfigError(f"sd_coefs must hold numbers >= 0, got {p['sd_coefs']}")
    if not all(0.5 <= prob <= 1.0 for prob in p["p_values"]) or not {0.9, 1.0} <= set(p["p_values"]):
        raise ConfigError(f"p_values must lie in [0.5, 1] (the probability that s = y in training) and include "
                          f"0.9 and 1.0, where note 06 states its claims; got {p['p_values']}")
    if not 0 < p["lms_margin"] < 0.25:
        raise ConfigError(f"lms_margin must be in (0, 0.25) so five slabs fit in [-1, 1], got {p['lms_margin']}")
    if p["moons_margin"] == 0:
        raise ConfigError("moons_margin must be non-zero (> 0 separable, < 0 overlapping), got 0")
    if p["deep_depth"] < 2 or p["depth"] < 2:
        raise ConfigError(f"depth and deep_depth must be >= 2 (a hidden layer to retrain from), got "
                          f"{p['depth']} and {p['deep_depth']}")
    if p["n_heldout"] < 16:
        raise ConfigError(f"n_heldout must be >= 16 so DFR has a few samples per group in both halves, got {p['n_heldout']}")
