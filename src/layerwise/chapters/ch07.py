"""Chapter 07, where the lenses agree: its parameters (book defaults, smoke/paper values, help), rules and
the helpers that summarise landmarks and their stability over networks."""
from __future__ import annotations

from typing import Any

from ..params import DATASETS, Bool, Choice, ConfigError, Float, Int, ListOf, Param, Path

PARAMS = dict(
    width=Param(256, "hidden width of every MLP", smoke=32, rule=Int(min=1, width=True)),
    sweep_depths=Param([6, 10, 16], "depths L (weight matrices) of the MLP family", smoke=[4, 6],
                       paper=[6, 10, 16, 24, 32, 50], rule=ListOf(Int(min=3))),
    n_seeds=Param(3, "seeds per (task, depth): initialisation and batch order; claims need >= 3", smoke=1, paper=5, rule=Int(min=1)),
    epochs=Param(20, "epoch cap (SGD, minibatch): training stops once train accuracy >= 0.99", smoke=2, paper=50, rule=Int(min=1)),
    lr=Param(0.01, "SGD learning rate", rule=Float(min=0, closed="right")),
    momentum=Param(0.9, "SGD momentum", rule=Float(min=0, max=1, closed="left")),
    batch_size=Param(128, "minibatch size", rule=Int(min=1)),
    datasets=Param(["digits", "mnist1d"], "real data sets of the synthesis (digits, mnist1d, or a torchvision set)",
                   paper=["mnist1d", "mnist"], rule=ListOf(Choice(*DATASETS))),
    data_root=Param('', "folder holding torchvision data sets (paper preset)", rule=Path()),
    download=Param(False, "allow downloading a torchvision data set into data_root", rule=Bool()),
    n_train=Param(2000, "training samples of each real data set (0 = all; a stratified subset otherwise)",
                  smoke=300, paper=10000, rule=Int(min=0)),
    latent_dims=Param([2, 8, 32], "latent dimensions D of the hidden manifold tasks (the difficulty knob)",
                      smoke=[2, 8], paper=[2, 4, 8, 16, 32, 64], rule=ListOf(Int(min=1))),
    ambient_dim=Param(100, "input dimension of the hidden manifold tasks", rule=Int(min=1)),
    n_samples=Param(1000, "training samples of each hidden manifold task", smoke=200, paper=10000, rule=Int(min=1)),
    n_test=Param(500, "test samples of each hidden manifold task", smoke=100, paper=2000, rule=Int(min=1)),
    n_kernel=Param(100, "stratified training examples for the tangent kernels", smoke=20, paper=200, rule=Int(min=1)),
    n_kernel_draws=Param(3, "draws of the kernel examples: the alignment peak's stability band", smoke=2, rule=Int(min=1)),
    n_cka=Param(512, "training examples for the CKA matrix and the ranks", smoke=100, paper=2000, rule=Int(min=1)),
    cka_threshold=Param(0.9, "tunnel start: CKA with the last hidden layer >= this from the start on", rule=Float(min=0, max=1, closed="left")),
    cka_thresholds=Param([0.85, 0.9, 0.95], "CKA-threshold grid: the tunnel start's stability band", rule=ListOf(Float(min=0, max=1, closed="left"))),
    tl_rel=Param(0.05, "TL saturation: first layer within this (relative) of the last hidden layer's TL", rule=Float(min=0, max=1, closed="left")),
    tl_rels=Param([0.02, 0.05, 0.1], "tolerance grid: TL saturation's stability band", rule=ListOf(Float(min=0, max=1, closed="left"))),
    onset_tol=Param(0.1, "compression onset: last layer with C_l >= (1 - onset_tol) max C_l", rule=Float(min=0, max=1, closed="left")),
    onset_tols=Param([0.05, 0.1, 0.2], "tolerance grid: the compression onset's stability band", rule=ListOf(Float(min=0, max=1, closed="left"))),
    rank_thresholds=Param([0.0001, 0.001, 0.01], "eigenvalue-threshold grid of the numerical rank: the rank peak's band", rule=ListOf(Float(min=0, max=1, closed="neither"))),
    max_band=Param(1, "a landmark is stable when its band (over its grid, and over seeds) is at most this many layers", rule=Int(min=0)),
)


def check(p: dict[str, Any]) -> None:
    for name in ("latent_dims", "ambient_dim", "n_kernel", "n_cka", "n_kernel_draws"):
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
    for name, default in (("cka_thresholds", "cka_threshold"), ("tl_rels", "tl_rel"), ("onset_tols", "onset_tol")):
        if not p[name] or any(not 0 <= v < 1 for v in p[name]) or p[default] not in p[name]:
            raise ConfigError(f"{name} must be a list of numbers in [0, 1) that holds {default} = {p[default]}, "
                              f"got {p[name]}")
    if not p["rank_thresholds"] or any(not 0 < v < 1 for v in p["rank_thresholds"]) or 0.001 not in p["rank_thresholds"]:
        raise ConfigError(f"rank_thresholds must be numbers in (0, 1) holding 0.001 (the tunnel convention), "
                          f"got {p['rank_thresholds']}")
    if p["max_band"] < 0:
        raise ConfigError(f"max_band must be an integer >= 0 (layers), got {p['max_band']}")
    if not p["datasets"]:
        raise ConfigError("datasets must name at least one real data set (e.g. ['digits', 'mnist1d'])")
