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

from ..params import DATASETS, Bool, Choice, ConfigError, Float, Int, ListOf, Param, Path

PARAMS = dict(
    # 1. the identity and one GD step (sanity checks)
    check_width=Param(32, "hidden width of the random MLPs on which the identities are checked", rule=Int(min=1, width=True)),
    check_depth=Param(4, "weight layers of those MLPs (>= 3: two hidden layers)", rule=Int(min=3)),
    check_n=Param(128, "Gaussian input samples for the identity checks", smoke=32, rule=Int(min=1)),
    check_lr=Param(0.01, "step size eta of the one-step decomposition (halved down to eta/16)", rule=Float(min=0, closed="right")),
    # 2. Swiss roll (Fig. 1)
    roll_n=Param(1000, "Swiss-roll points (the authors: 1000)", smoke=200, rule=Int(min=10)),
    roll_width=Param(32, "hidden width of the 2-32-32-1 Swiss-roll network", rule=Int(min=1, width=True)),
    roll_steps=Param(100, "full-batch GD steps on the Swiss roll (the authors: 100)", smoke=20, rule=Int(min=1)),
    roll_lr=Param(0.05, "GD learning rate on the Swiss roll (the authors: 0.05)", rule=Float(min=0, closed="right")),
    roll_gain=Param(700.0, "display gain g of the cumulative virtual update X - g sum grad_X L (the authors: 700)", rule=Float(min=0, closed="right")),
    roll_seeds=Param(60, "seeds of the Swiss-roll run (a new roll and network each; ~0.3 s CPU a seed)", smoke=3,
                     rule=Int(min=1)),
    # 3-4. target linearity over training (Fig. 4) and neural collapse
    dataset=Param("mnist1d", "data set of the target-linearity run (the paper: CIFAR-10)", paper="cifar10", rule=Choice(*DATASETS)),
    data_root=Param("", "folder holding torchvision data sets (paper preset only)", rule=Path()),
    download=Param(False, "allow torchvision to download data sets into data_root", rule=Bool()),
    n_train=Param(1000, "training samples of the TL run (stratified subset; 0 = all)", smoke=200, paper=0, rule=Int(min=0)),
    batch_size=Param(64, "minibatch size of the TL and whitening runs (the paper: 64)", rule=Int(min=1)),
    tl_width=Param(128, "hidden width of the TL network (the paper: 256)", smoke=16, paper=256, rule=Int(min=1, width=True)),
    tl_depth=Param(5, "weight layers of the TL network (5 = 4 hidden layers, as in the paper)", rule=Int(min=3)),
    tl_epochs=Param(300, "most training epochs of the TL network (it stops at its loss criterion)", smoke=3,
                    paper=100, rule=Int(min=1)),
    tl_lr=Param(0.01, "SGD learning rate of the TL network (the paper: 5e-4 over ~80k steps)", paper=0.0005, rule=Float(min=0, closed="right")),
    tl_momentum=Param(0.8, "SGD momentum of the TL network (the paper: 0.8)", rule=Float(min=0, max=1, closed="left")),
    tl_stop_loss=Param(0.1, "training criterion of the TL network: mean train cross-entropy <= this (0 = all epochs)",
                       smoke=2.0, paper=0.0, rule=Float(min=0)),
    tl_seeds=Param(5, "seeds of the TL network (initialisation and minibatch order)", smoke=3, rule=Int(min=1)),
    tl_snapshot_every=Param(80, "optimiser steps between TL snapshots (the paper: one per epoch)", smoke=2,
                            paper=782, rule=Int(min=1)),
    tl_margin=Param(0.05, "how much more TL_4 - TL_1 must be after training than in the untrained net",
                    rule=Float(min=0, max=1)),
    # 5. Gram whitening (Fig. 2)
    white_dataset=Param("digits", "data set of the whitening comparison (the paper: MNIST)", paper="mnist", rule=Choice(*DATASETS)),
    white_width=Param(64, "hidden width of the whitening MLP (the paper: 256)", smoke=16, paper=256, rule=Int(min=1, width=True)),
    white_depth=Param(3, "weight layers of the whitening MLP (3 = 2 hidden layers, as in the paper)", rule=Int(min=3)),
    white_epochs=Param(100, "most training epochs of each whitening arm (it stops at its loss criterion)", smoke=2,
                       paper=20, rule=Int(min=1)),
    white_lr=Param(0.01, "SGD learning rate of every whitening arm (the paper: 0.01)", rule=Float(min=0, closed="right")),
    white_momentum=Param(0.85, "SGD momentum of every whitening arm (the paper: 0.85)", rule=Float(min=0, max=1, closed="left")),
    white_stop_loss=Param(0.05, "training criterion of the whitening arms: mean train cross-entropy <= this (0 = all epochs)",
                          smoke=2.0, paper=0.0, rule=Float(min=0)),
    white_seeds=Param(6, "paired seeds of the whitening comparison (the paper: 5)", smoke=3, paper=5, rule=Int(min=1)),
    white_margin=Param(0.01, "accuracy margin of 'matches SGD': whitened >= SGD - margin (>= 1 / test size)",
                       rule=Float(min=0, max=0.5, closed="neither")),
    # 6. staircase (Fig. 8)
    stair_n=Param(1000, "staircase samples (the authors: 1000)", smoke=200, rule=Int(min=10)),
    stair_dim=Param(10, "staircase input dimension (the authors: 10; >= 4, the target uses x1..x4)", rule=Int(min=4)),
    stair_widths=Param([16, 32, 64, 128], "hidden widths compared on the staircase (>= 3)", smoke=[8, 16, 32],
                       paper=[32, 128, 512, 1024], rule=ListOf(Int(min=1, width=True), min_len=3)),
    stair_steps=Param(200, "full-batch GD steps on the staircase (the authors: 2000 at lr 0.01)", smoke=20,
                      paper=2000, rule=Int(min=1)),
    stair_lr=Param(0.1, "staircase GD learning rate (0.1 x 200 steps = the authors' 0.01 x 2000)", paper=0.01, rule=Float(min=0, closed="right")),
    stair_log_every=Param(10, "steps between staircase distance snapshots (first seed only)", paper=20, rule=Int(min=1)),
    stair_seeds=Param(8, "staircase seeds (network and data; the authors' data seed is 42)", smoke=3, rule=Int(min=1)),
    # 7. grokking (Fig. 13)
    grok_modulus=Param(31, "modulus p of (a + b) mod p (the paper: 61; >= 3)", smoke=7, paper=61, rule=Int(min=3)),
    grok_width=Param(128, "hidden width of the grokking network (the paper: 256)", smoke=32, paper=256, rule=Int(min=1, width=True)),
    grok_depth=Param(4, "weight layers of the grokking network (4 = 3 hidden layers, as in the paper)", rule=Int(min=3)),
    grok_steps=Param(3000, "most full-batch AdamW steps of a grokking run (it stops at test accuracy 0.95)",
                     smoke=40, paper=10000, rule=Int(min=1)),
    grok_lr=Param(0.003, "AdamW learning rate of the grokking run (the paper: 1e-3)", paper=0.001, rule=Float(min=0, closed="right")),
    grok_weight_decay=Param(3.0, "AdamW weight decay of the grokking run (the control: 0)", paper=0.75, rule=Float(min=0, closed="right")),
    grok_train_fraction=Param(0.7, "fraction of all pairs used for training (the paper: 0.7)", rule=Float(min=0, max=1, closed="neither")),
    grok_log_every=Param(50, "steps between grokking snapshots", smoke=10, rule=Int(min=1)),
    grok_float64=Param(False, "train the grokking network in float64 (the authors' choice; float32 halves the cost)",
                       paper=True, rule=Bool()),
    grok_seeds=Param(3, "held-out seeds seed + 1, + 2, ... (the setting was found on seed)", smoke=3, rule=Int(min=1)),
)


def check(p: dict[str, Any]) -> None:
    """Raise ConfigError for a grokking split without classes or test pairs (a cross-parameter rule)."""
    check_grokking_split(p["grok_modulus"], p["grok_train_fraction"])


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


def rank_trend(values: Sequence[float | None], positions: Sequence[float] | None = None) -> float | None:
    """Return Spearman's rank correlation of `values` with their positions (depth, width, ...).

    +1 when the values rise strictly with position, -1 when they fall; a trend statistic that does not
    demand strict order at every step (a noisy step costs a little, not the verdict). None when a value
    is missing (e.g. a layer without a half-gain time) or fewer than 3 values are given; 0.0 if constant.
    """
    from scipy.stats import spearmanr

    if len(values) < 3 or any(v is None for v in values):
        return None
    pos = list(range(len(values))) if positions is None else list(positions)
    v = np.asarray(values, dtype=float)
    if np.ptp(v) == 0:
        return 0.0
    return float(spearmanr(pos, v).statistic)


def last_minus_first(profile: Sequence[float]) -> float:
    """Return profile[-1] - profile[0]: how much more the deepest layer has than the first."""
    if len(profile) < 2:
        raise ValueError(f"last_minus_first needs >= 2 layers, got {list(profile)}")
    return float(profile[-1] - profile[0])


def trends_by_seed(df: Any, column: str, *, over: str = "width", where: dict[str, Any] | None = None) -> dict:
    """{seed: rank_trend of `column` ordered by `over`} of a long table with a `seed` column, restricted to
    the rows matching `where` (e.g. {"target": "staircase"})."""
    sub = df
    for key, value in (where or {}).items():
        sub = sub[sub[key] == value]
    return {s: rank_trend(g.sort_values(over)[column].tolist()) for s, g in sub.groupby("seed")}
