"""Chapter 07, where the lenses agree: its parameters (book defaults, smoke/paper values, help) and rules."""
from __future__ import annotations

from typing import Any

from ..config import ConfigError, Param

PARAMS = dict(
    width=Param(256, "", smoke=32),
    sweep_depths=Param([6, 10, 16, 24], "", smoke=[3, 5], paper=[6, 10, 16, 24, 32, 50]),
    n_seeds=Param(2, "", smoke=1, paper=5),
    epochs=Param(20, "", smoke=2, paper=50),
    lr=Param(0.01, ""),
    momentum=Param(0.9, ""),
    batch_size=Param(128, ""),
    dataset=Param('digits', "", paper='mnist'),
    data_root=Param('', ""),
    download=Param(False, ""),
    n_train=Param(0, "", smoke=300, paper=10000),
    latent_dims=Param([2, 8, 32], "", smoke=[2, 8], paper=[2, 4, 8, 16, 32, 64]),
    ambient_dim=Param(100, ""),
    n_samples=Param(1000, "", smoke=200, paper=10000),
    n_test=Param(500, "", smoke=100, paper=2000),
    n_kernel=Param(100, "", smoke=20, paper=200),
    n_cka=Param(512, "", smoke=100, paper=2000),
    cka_threshold=Param(0.9, ""),
    tl_rel=Param(0.05, ""),
    onset_tol=Param(0.1, ""),
)


def check(p: dict[str, Any]) -> None:
    for name in ("latent_dims", "ambient_dim", "n_kernel", "n_cka"):
        values = p[name] if isinstance(p[name], list) else [p[name]]
        if any(v < 1 for v in values):
            raise ConfigError(f"{name} must hold integers >= 1, got {p[name]!r}")
    if min(p["sweep_depths"]) < 3:
        raise ConfigError(f"sweep_depths must be >= 3 (two hidden layers at least), got {p['sweep_depths']}")
    if p["n_test"] < 1:
        raise ConfigError(f"n_test must be >= 1 (held-out samples of the hidden manifold task), got {p['n_test']}")
    for name in ("cka_threshold", "tl_rel", "onset_tol"):
        if not 0 <= p[name] < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {p[name]}")
