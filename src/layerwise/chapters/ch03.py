"""Chapter 03, the Gram learning equation: its parameters (book defaults, smoke/paper values, help),
cross-parameter rules, and the helpers that decide its verdicts (unit-tested in tests/test_chapter03.py).

Helpers:
- `StepRecorder`: snapshots every k optimiser steps (not only per epoch), through a post-step hook.
- `increment_spearman`: rank correlation of the per-interval CHANGES of two curves (the clock, which
  every monotone curve tracks, cannot fake it).
- `order_separation`: the smallest gap between consecutive half-gain times (> 0 iff strictly ordered).
- `grokking_delay`: steps from fitting the training set to generalising (None if either never happens).
- `virtual_inputs`, `linear_r2`: the Swiss-roll cumulative virtual update and its linearity in the target.
- `relative_movement`: ||H - H_0|| / ||H_0|| (how far features moved from their initial values).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..params import CHOICES, DATASETS, Bool, Choice, ConfigError, Float, Int, ListOf, Param, Path

PARAMS = dict(
    # 1-2. the identity and one GD step (sanity checks)
    check_width=Param(32, "hidden width of the random MLPs on which the identities are checked", rule=Int(min=1, width=True)),
    check_depth=Param(4, "weight layers of those MLPs", rule=Int(min=1)),
    check_n=Param(128, "Gaussian input samples for the identity checks", smoke=32, rule=Int(min=1)),
    check_lr=Param(0.01, "step size eta of the one-step decomposition (halved down to eta/16)", rule=Float(min=0, closed="right")),
    # 3. Swiss roll (Fig. 1)
    roll_n=Param(1000, "Swiss-roll points (the authors: 1000)", smoke=200, rule=Int(min=1)),
    roll_width=Param(32, "hidden width of the 2-32-32-1 Swiss-roll network", rule=Int(min=1, width=True)),
    roll_steps=Param(100, "full-batch GD steps on the Swiss roll (the authors: 100)", smoke=20, rule=Int(min=1)),
    roll_lr=Param(0.05, "GD learning rate on the Swiss roll (the authors: 0.05)", rule=Float(min=0, closed="right")),
    roll_gain=Param(700.0, "display gain g of the cumulative virtual update X - g sum grad_X L (the authors: 700)", rule=Float(min=0, closed="right")),
    roll_seeds=Param(3, "seeds (network initialisations) of the Swiss-roll run", smoke=1, rule=Int(min=1)),
    # 4-5. target linearity over training (Fig. 4) and neural collapse
    dataset=Param("mnist1d", "data set of the target-linearity run (the paper: CIFAR-10)", paper="cifar10", rule=Choice(*DATASETS)),
    data_root=Param("", "folder holding torchvision data sets (paper preset only)", rule=Path()),
    download=Param(False, "allow torchvision to download data sets into data_root", rule=Bool()),
    n_train=Param(2000, "training samples of the TL and whitening runs (stratified subset; 0 = all)", smoke=300,
                  paper=0, rule=Int(min=0)),
    batch_size=Param(64, "minibatch size of the TL, whitening and random-label runs (the paper: 64)", rule=Int(min=1)),
    tl_width=Param(128, "hidden width of the TL network (the paper: 256)", smoke=16, paper=256, rule=Int(min=1, width=True)),
    tl_depth=Param(5, "weight layers of the TL network (5 = 4 hidden layers, as in the paper)", rule=Int(min=1)),
    tl_epochs=Param(40, "training epochs of the TL network (the paper: 100)", smoke=2, paper=100, rule=Int(min=1)),
    tl_lr=Param(0.1, "SGD learning rate of the TL network (the paper: 5e-4)", paper=0.0005, rule=Float(min=0, closed="right")),
    tl_momentum=Param(0.8, "SGD momentum of the TL network (the paper: 0.8)", rule=Float(min=0, max=1, closed="left")),
    tl_seeds=Param(3, "seeds of the TL network (initialisation and minibatch order)", smoke=1, rule=Int(min=1)),
    tl_snapshot_every=Param(4, "optimiser steps between TL snapshots (the paper: one per epoch)", smoke=2,
                            paper=782, rule=Int(min=1)),
    # 6. Gram whitening (Fig. 2)
    white_dataset=Param("mnist1d", "data set of the whitening comparison (the paper: MNIST)", paper="mnist", rule=Choice(*DATASETS)),
    white_width=Param(128, "hidden width of the whitening MLP (the paper: 256)", smoke=16, paper=256, rule=Int(min=1, width=True)),
    white_depth=Param(3, "weight layers of the whitening MLP (3 = 2 hidden layers, as in the paper)", rule=Int(min=1)),
    white_epochs=Param(10, "training epochs of each whitening arm (the paper: 20)", smoke=2, paper=20, rule=Int(min=1)),
    white_lr=Param(0.05, "SGD learning rate of every whitening arm (the paper: 0.01)", paper=0.01, rule=Float(min=0, closed="right")),
    white_momentum=Param(0.85, "SGD momentum of every whitening arm (the paper: 0.85)", rule=Float(min=0, max=1, closed="left")),
    white_seeds=Param(5, "paired seeds of the whitening comparison (the paper: 5)", smoke=2, rule=Int(min=1)),
    white_margin=Param(0.01, "accuracy margin of 'matches SGD': whitened >= SGD - margin (>= 1 / test size)", rule=Float(min=0, max=0.5, closed="neither")),
    # 7. staircase (Fig. 8)
    stair_n=Param(1000, "staircase samples (the authors: 1000)", smoke=200, rule=Int(min=1)),
    stair_dim=Param(10, "staircase input dimension (the authors: 10)", rule=Int(min=1)),
    stair_widths=Param([32, 64, 128, 256], "hidden widths compared on the staircase", smoke=[16, 32],
                       paper=[32, 128, 512, 1024], rule=ListOf(Int(min=1, width=True))),
    stair_steps=Param(200, "full-batch GD steps on the staircase (the authors: 2000 at lr 0.01)", smoke=20,
                      paper=2000, rule=Int(min=1)),
    stair_lr=Param(0.1, "staircase GD learning rate (0.1 x 200 steps = the authors' 0.01 x 2000)", paper=0.01, rule=Float(min=0, closed="right")),
    stair_log_every=Param(10, "steps between staircase distance snapshots (first seed only)", paper=20, rule=Int(min=1)),
    stair_seeds=Param(3, "staircase seeds (network initialisations; the data keep the authors' seed 42)", smoke=1, rule=Int(min=1)),
    # 8. random labels (Fig. 12)
    rand_dataset=Param("digits", "data set of the random-label run (the paper: CIFAR-10)", paper="cifar10", rule=Choice(*DATASETS)),
    rand_ps=Param([0.0, 0.5, 1.0], "label-noise probabilities p", smoke=[0.0, 1.0],
                  paper=[0.0, 0.25, 0.5, 0.75, 0.9, 1.0], rule=ListOf(Float())),
    rand_n_train=Param(600, "training samples of the random-label run (0 = all)", smoke=200, paper=0, rule=Int(min=0)),
    rand_width=Param(64, "hidden width of the random-label network (TL of random labels ~ width / n)", smoke=32,
                     paper=256, rule=Int(min=1, width=True)),
    rand_depth=Param(4, "weight layers of the random-label network (4 = 3 hidden layers, as in the paper)", rule=Int(min=1)),
    rand_epochs=Param(80, "training epochs of the random-label run (the paper: 200)", smoke=4, paper=200, rule=Int(min=1)),
    rand_lr=Param(0.02, "SGD learning rate of the random-label run (the paper: 0.005)", paper=0.005, rule=Float(min=0, closed="right")),
    rand_momentum=Param(0.95, "SGD momentum of the random-label run (the paper: 0.95)", rule=Float(min=0, max=1, closed="left")),
    rand_log_every=Param(8, "epochs between random-label snapshots", smoke=2, paper=10, rule=Int(min=1)),
    # 9. grokking (Fig. 13)
    grok_modulus=Param(31, "modulus p of (a + b) mod p (the paper: 61; >= 3)", smoke=7, paper=61, rule=Int(min=1)),
    grok_width=Param(128, "hidden width of the grokking network (the paper: 256)", smoke=32, paper=256, rule=Int(min=1, width=True)),
    grok_depth=Param(4, "weight layers of the grokking network (4 = 3 hidden layers, as in the paper)", rule=Int(min=1)),
    grok_epochs=Param(800, "grokking epochs (full batch: steps; the paper: 500 epochs of batch 32)", smoke=40,
                      paper=500, rule=Int(min=1)),
    grok_lr=Param(0.003, "AdamW learning rate of the grokking run (the paper: 1e-3)", paper=0.001, rule=Float(min=0, closed="right")),
    grok_weight_decays=Param([0.0, 3.0], "AdamW weight decays compared (the first is the control)",
                             smoke=[0.0, 3.0], paper=[0.0, 0.25, 0.5, 0.75], rule=ListOf(Float(min=0))),
    grok_batch_size=Param(0, "grokking minibatch size (0 = full batch; the paper: 32)", paper=32, rule=Int(min=0)),
    grok_train_fraction=Param(0.7, "fraction of all pairs used for training (the paper: 0.7)", rule=Float(min=0, max=1, closed="neither")),
    grok_log_every=Param(20, "epochs between grokking snapshots", smoke=10, paper=10, rule=Int(min=1)),
    grok_float64=Param(False, "train the grokking network in float64 (the authors' choice; float32 halves the cost)",
                       paper=True, rule=Bool()),
    grok_seeds=Param(3, "held-out seeds cfg.seed + 1, + 2, ... (the setting was found on cfg.seed)", smoke=1, rule=Int(min=1)),
)


_CH03_POSITIVE = ("check_width", "check_depth", "check_n", "check_lr", "roll_n", "roll_width", "roll_steps",
                  "roll_lr", "roll_gain", "roll_seeds", "tl_width", "tl_epochs", "tl_lr", "tl_seeds",
                  "tl_snapshot_every", "white_width", "white_epochs", "white_lr", "white_seeds", "white_margin",
                  "stair_n", "stair_steps", "stair_lr", "stair_log_every", "stair_seeds", "rand_width",
                  "rand_epochs", "rand_lr", "rand_log_every", "grok_modulus", "grok_width", "grok_epochs",
                  "grok_lr", "grok_log_every", "grok_seeds")


def check(p: dict[str, Any]) -> None:
    """Raise ConfigError (naming the parameter, its value and what is accepted) before any work."""
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
    check_grokking_split(p["grok_modulus"], p["grok_train_fraction"])
    if any(w < 0 for w in p["grok_weight_decays"]) or any(w < 1 for w in p["stair_widths"]):
        raise ConfigError("grok_weight_decays must be >= 0 and stair_widths >= 1, got "
                          f"{p['grok_weight_decays']} and {p['stair_widths']}")
    if len(p["grok_weight_decays"]) < 2 or p["grok_weight_decays"][0] != 0 or min(p["grok_weight_decays"][1:]) <= 0:
        raise ConfigError("grok_weight_decays must start with 0 (the control: no weight decay) and list at least "
                          f"one weight decay > 0 after it, got {p['grok_weight_decays']}")
    for name in ("white_dataset", "rand_dataset"):
        if p[name] not in CHOICES["dataset"]:
            raise ConfigError(f"{name} must be one of {', '.join(CHOICES['dataset'])}, got {p[name]!r}")
    if p["grok_batch_size"] < 0 or p["rand_n_train"] < 0:
        raise ConfigError("grok_batch_size and rand_n_train must be >= 0 (0 = full batch / all samples)")
    if p["white_margin"] >= 0.5:
        raise ConfigError(f"white_margin must be in (0, 0.5) (an accuracy difference), got {p['white_margin']}")


def check_grokking_split(modulus: int, train_fraction: float) -> None:
    """Raise ConfigError unless (a + b) mod `modulus` gives >= 3 classes and a train/test split of the
    modulus^2 pairs with at least `modulus` training pairs and one test pair (what the notebook needs:
    a TL needs two or more classes, a test accuracy one test pair)."""
    if modulus < 3:
        raise ConfigError(f"grok_modulus must be >= 3 (target linearity needs >= 2 classes among the training "
                          f"pairs and the test split a pair), got {modulus} (set it with -p grok_modulus N)")
    cut = int(round(train_fraction * modulus ** 2))
    if cut < modulus or cut >= modulus ** 2:
        raise ConfigError(f"grok_train_fraction={train_fraction} leaves {cut} of {modulus ** 2} pairs for training "
                          f"at grok_modulus={modulus}; it needs >= {modulus} training pairs and >= 1 test pair")


# ----------------------------------------------------------------------------------------------
# helpers that decide verdicts


class StepRecorder:
    """Calls `fn(step, model)` after every `every`-th optimiser step and keeps (step, result) pairs.

    Attach it with `recorder.attach(optimizer)` inside `train.fit(..., make_optimizer=...)`: a
    post-step hook, so training itself is unchanged. `records` starts with (0, fn(0, model)) when
    `at_start` (before any step).
    """

    def __init__(self, model: torch.nn.Module, fn: Callable[[int, torch.nn.Module], Any], every: int, *,
                 at_start: bool = True):
        if every < 1:
            raise ValueError(f"every must be >= 1 optimiser step, got {every}")
        self.model, self.fn, self.every, self.steps = model, fn, every, 0
        self.records: list[tuple[int, Any]] = [(0, fn(0, model))] if at_start else []

    def attach(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """Register the hook on `optimizer` and return it."""
        optimizer.register_step_post_hook(self._hook)
        return optimizer

    def _hook(self, optimizer, args, kwargs) -> None:
        self.steps += 1
        if self.steps % self.every == 0:
            was_training = self.model.training
            self.records.append((self.steps, self.fn(self.steps, self.model)))
            self.model.train(was_training)


def increment_spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Return Spearman's rank correlation between the successive changes of two curves a, b (T,).

    The changes are a[t+1] - a[t] (T - 1 of them). Two curves that merely both rise over training
    correlate perfectly as levels (and with the epoch index); their changes correlate only if the
    two move in the same intervals. Returns 0.0 when either set of changes is constant.
    """
    from scipy.stats import spearmanr

    da, db = np.diff(np.asarray(a, dtype=float)), np.diff(np.asarray(b, dtype=float))
    if da.shape != db.shape or da.size < 2:
        raise ValueError(f"increment_spearman needs two curves of the same length >= 3, got {len(a)} and {len(b)}")
    if np.ptp(da) == 0 or np.ptp(db) == 0:
        return 0.0
    return float(spearmanr(da, db).statistic)


def order_separation(times: Sequence[int | None]) -> int | None:
    """Return min_l (times[l+1] - times[l]) of per-layer times (e.g. half-gain steps, shallow to deep).

    Positive iff the layers are strictly ordered (deeper later), 0 at a tie, negative when a deeper
    layer comes first; None when a layer has no time (its curve never gains).
    """
    if len(times) < 2:
        raise ValueError(f"order_separation needs >= 2 layers, got {list(times)}")
    if any(t is None for t in times):
        return None
    return int(min(b - a for a, b in zip(times, times[1:])))


def grokking_delay(epochs: Sequence[int], train_acc: Sequence[float], test_acc: Sequence[float], *,
                   fit: float = 0.99, generalise: float = 0.9) -> int | None:
    """Return (first epoch with test accuracy >= generalise) - (first epoch with train accuracy >= fit).

    None when either never happens in the recorded epochs. Negative when the test set is reached first.
    """
    def first(values: Sequence[float], level: float) -> int | None:
        hits = [e for e, v in zip(epochs, values) if v >= level]
        return int(hits[0]) if hits else None

    fitted, general = first(train_acc, fit), first(test_acc, generalise)
    return None if fitted is None or general is None else general - fitted


def virtual_inputs(x: torch.Tensor, grads: torch.Tensor, gain: float) -> torch.Tensor:
    """Return X~_s = X - gain * sum_{t<s} grad_X L_t for s = 0..S, shape (S+1, n, d).

    x (n, d) the inputs; grads (S+1, n, d) the input gradients grad_X L_t at steps t = 0..S.
    """
    cum = torch.cat([torch.zeros_like(grads[:1]), grads[:-1].cumsum(0)])
    return x.unsqueeze(0) - gain * cum


def linear_r2(inputs: torch.Tensor, target: torch.Tensor) -> float:
    """Return the R^2 of least squares WITH intercept from inputs (n, d) to a scalar target (n,)."""
    from ..metrics.gram import target_linearity

    ones = torch.ones(inputs.shape[0], 1, dtype=inputs.dtype)
    return target_linearity(torch.cat([inputs, ones], 1), target)


def relative_movement(h: torch.Tensor, h0: torch.Tensor) -> float:
    """Return ||h - h0||_F / ||h0||_F for features h, h0 (n, d) of the same samples."""
    return float((h.double() - h0.double()).norm() / h0.double().norm().clamp_min(torch.finfo(torch.float64).tiny))


def spearman_levels(a: Sequence[float], b: Sequence[float]) -> float:
    """Return Spearman's rank correlation between the levels of two curves a, b (T,) (the old test,
    which any two rising curves pass; shown beside `increment_spearman`). 0.0 if either is constant."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)
