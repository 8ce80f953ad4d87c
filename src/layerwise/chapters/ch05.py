"""Chapter 05, extractor and tunnel: its parameters (book defaults, smoke/paper values, help) and rules."""
from __future__ import annotations

from typing import Any

from ..config import CHOICES, ConfigError, Param

PARAMS = dict(
    dataset=Param('digits', "", paper='cifar10'),
    data_root=Param('', ""),
    download=Param(False, ""),
    n_train=Param(0, "", smoke=300),
    n_measure=Param(0, "", paper=10000),
    width=Param(128, "", smoke=32, paper=1024),
    depth=Param(12, "", smoke=4, paper=12),
    compare_depth=Param(6, "", smoke=3, paper=6),
    epochs=Param(100, "", smoke=2, paper=100),
    lr=Param(0.01, ""),
    momentum=Param(0.9, ""),
    weight_decay=Param(0.0005, ""),
    batch_size=Param(128, ""),
    n_seeds=Param(1, "", paper=3),
    class_counts=Param([2, 5, 10], "", smoke=[2, 10]),
    ood_train_classes=Param(5, ""),
    early_fraction=Param(0.1, ""),
    mb_batch_size=Param(256, ""),
    mb_epochs=Param(10, "", smoke=1),
    cs_depths=Param([2, 3, 5, 9], "", smoke=[2, 3], paper=[2, 3, 4, 5, 6, 7, 8, 9]),
    cs_width=Param(120, "", smoke=32),
    cs_core_strengths=Param([0.1, 0.25, 1.0], "", smoke=[0.25, 1.0]),
    cs_n_train=Param(600, "", smoke=200, paper=1200),
    cs_epochs=Param(300, "", smoke=20, paper=1500),
    cs_lr=Param(0.02, ""),
    ntk_depths=Param([2, 3, 4, 5, 6, 7, 8, 9], "", smoke=[2, 3]),
    ntk_width=Param(120, "", smoke=32),
    ntk_n_train=Param(400, "", smoke=200, paper=1200),
    ntk_n_kernel=Param(200, "", smoke=40, paper=500),
    ntk_epochs=Param(300, "", smoke=20, paper=1500),
    ntk_optimizer=Param('adam', ""),
    ntk_lr=Param(0.003, ""),
    ntk_seeds=Param(2, "", smoke=1, paper=5),
    hmm_depth=Param(9, "", smoke=3),
    hmm_width=Param(120, "", smoke=32),
    hmm_n_train=Param(600, "", smoke=200, paper=5000),
    hmm_latent_dim=Param(10, ""),
    hmm_ambient_dim=Param(100, "", paper=784),
    hmm_epochs=Param(300, "", smoke=20, paper=1500),
    hmm_optimizer=Param('adam', ""),
    hmm_lr=Param(0.003, ""),
)


def check(p: dict[str, Any]) -> None:
    hint = "(set it in the parameters cell or with -p NAME VALUE)"
    ints = ["n_measure", "compare_depth", "ood_train_classes", "mb_batch_size", "mb_epochs", "cs_width",
            "cs_n_train", "cs_epochs", "ntk_width", "ntk_n_train", "ntk_n_kernel", "ntk_epochs", "ntk_seeds",
            "hmm_depth", "hmm_width", "hmm_n_train", "hmm_latent_dim", "hmm_ambient_dim", "hmm_epochs"]
    for name in ints:
        if p[name] < (0 if name == "n_measure" else 1):
            raise ConfigError(f"{name} must be an integer >= {0 if name == 'n_measure' else 1}, got {p[name]} {hint}")
    for name in ("cs_lr", "ntk_lr", "hmm_lr"):
        if p[name] <= 0:
            raise ConfigError(f"{name} must be a number > 0, got {p[name]} {hint}")
    if min(p["cs_core_strengths"]) <= 0:
        raise ConfigError(f"every entry of cs_core_strengths must be > 0, got {p['cs_core_strengths']} {hint}")
    for name in ("depth", "compare_depth", "hmm_depth"):
        if p[name] < 3:
            raise ConfigError(f"{name} must be >= 3 (at least two hidden layers to compare), got {p[name]} {hint}")
    for name in ("cs_depths", "ntk_depths"):
        if min(p[name]) < 2:
            raise ConfigError(f"every entry of {name} must be >= 2 (one hidden layer), got {p[name]} {hint}")
    if any(not 2 <= c <= 10 for c in p["class_counts"]):
        raise ConfigError(f"class_counts must lie in [2, 10] (the data sets have 10 classes), got {p['class_counts']} {hint}")
    if not 2 <= p["ood_train_classes"] <= 8:
        raise ConfigError(f"ood_train_classes must be in [2, 8] so that >= 2 classes are held out, got "
                          f"{p['ood_train_classes']} {hint}")
    if not 0 < p["early_fraction"] < 1:
        raise ConfigError(f"early_fraction must be in (0, 1), got {p['early_fraction']} {hint}")
    for name in ("ntk_optimizer", "hmm_optimizer"):
        if p[name] not in CHOICES["optimizer"]:
            raise ConfigError(f"{name} must be one of {', '.join(CHOICES['optimizer'])}, got {p[name]!r} {hint}")
    if p["mb_batch_size"] < 4 or p["ntk_n_kernel"] < 4:
        raise ConfigError(f"mb_batch_size and ntk_n_kernel must be >= 4 (debiased HSIC needs 4 samples) {hint}")
