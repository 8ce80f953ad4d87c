"""Chapter 03's experiments: one runner per training recipe, with explicit arguments (no global cfg).

Each runner trains a network (behind `cached(recipe, fn)`, the network store: a rerun after an
analysis edit reads the trained runs back instead of retraining) and returns a picklable dict of what
was measured during training plus a training record (`record`: epochs or steps used, final train
loss and accuracy, test accuracy, whether the recipe's criterion was reached). The values that decide
claims are computed from these dicts by the small functions in `ch03.py` (unit-tested).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from .. import data, features, models, optim, train
from ..metrics import collapse, gram
from .ch03 import (StepRecorder, grokking_delay, increment_spearman, linear_r2, relative_movement,
                   spearman_levels, virtual_inputs)

VERSION = 1  # bump when a runner's measurement changes (part of every recipe)


def cached(recipe: dict[str, Any], fn: Callable[[], Any]) -> Any:
    """Return fn(), through the network store `layerwise.store.cached` when the package has one."""
    try:
        from .. import store
    except ImportError:
        return fn()
    return store.cached(dict(recipe, chapter="03", version=VERSION), fn)


def accuracy(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples whose largest output is the label (eval mode, no grad; `train.accuracy`)."""
    return float(train.accuracy(features.layer_features(model, x)[-1], labels.cpu()))


def record(hist: train.History, *, reached: bool, **extra: Any) -> dict[str, Any]:
    """The training record of one net: epochs run, final train loss, criterion reached, and `extra`."""
    return dict(epochs_run=hist.epochs_run, steps=hist.steps, train_loss=float(hist.loss[-1]),
                reached=bool(reached), **extra)


# ---------------------------------------------------------------------------------------------------
# 3. Swiss roll (Fig. 1)

def roll_run(seed: int, *, n: int, width: int, steps: int, lr: float) -> dict[str, Any]:
    """Train the authors' 2-32-32-1 GELU net (no first-layer bias) by full-batch GD on the Swiss roll
    drawn with `seed`; return the per-step input gradients (S+1, n, 2), first-layer Grams and VCs."""
    def fn():
        x, t = data.swiss_roll(n, seed=seed)
        net = models.MLP(2, width, 3, 1, activation="gelu", init="torch", seed=seed)
        net.layers[0].bias = None  # the authors' first layer has no bias

        def snap(epoch, model):
            g = gram.layer_gradients(model, x, t)[0]
            h_virtual = g.h - lr * g.grad_h
            return g.grad_h, gram.weight_gram(g.weight), h_virtual.T @ h_virtual - g.h.T @ g.h

        hist = train.fit(net, x, t, epochs=steps, lr=lr, loss="mse", progress=False, callback=snap,
                         snapshot_epochs=range(1, steps + 1), seed=seed)
        return dict(x=x, t=t, grads=torch.stack([s[0] for _, s in hist.snapshots]),
                    grams=torch.stack([s[1] for _, s in hist.snapshots]),
                    vcs=torch.stack([s[2] for _, s in hist.snapshots]),
                    record=record(hist, reached=hist.loss[-1] < hist.loss[0], mse_start=float(hist.loss[0])))
    return cached(dict(run="swiss-roll", seed=seed, n=n, width=width, steps=steps, lr=lr), fn)


def roll_values(run: dict[str, Any], *, gain: float, lr: float, show_to: int) -> dict[str, Any]:
    """The Swiss-roll numbers of one run: R^2 of X~_s -> t at the display gain, at the true step, for
    the frozen-weights control (the first step's gradient repeated), and the Gram-VC cosines."""
    x, t, grads, grams, vcs = run["x"], run["t"], run["grads"], run["grams"], run["vcs"]
    display = virtual_inputs(x, grads, gain)
    acc_vc = vcs.cumsum(0)
    return dict(
        r2_start=linear_r2(x, t), r2_display=linear_r2(display[show_to], t),
        r2_true_step=linear_r2(virtual_inputs(x, grads, lr)[show_to], t),
        r2_frozen=linear_r2(x - show_to * gain * grads[0], t),
        cos_accumulated=gram.matrix_cosine(grams[-1] - grams[0], acc_vc[-1]),
        cos_frozen=gram.matrix_cosine(grams[-1] - grams[0], vcs[0]),
        cos_one_step_min=min(gram.matrix_cosine(grams[k + 1] - grams[k], vcs[k]) for k in range(len(vcs) - 1)))


# ---------------------------------------------------------------------------------------------------
# 4-5. Target linearity over training (Fig. 4) and neural collapse

def tl_run(seed: int, split: data.Split, *, width: int, depth: int, epochs: int, lr: float, momentum: float,
           batch_size: int, snapshot_every: int, criterion_loss: float, recipe: dict[str, Any],
           optimizer: str = "sgd") -> dict[str, Any]:
    """Train the TL network (GELU MLP, CE; SGD with momentum, or Adam with torch's defaults) until its epoch loss is <= criterion_loss
    or `epochs` pass, snapshotting every `snapshot_every` optimiser steps: TL and surrogate per hidden
    layer (true and shuffled labels), feature movement, the last layer's collapse C and its TL bound,
    the norm of the weight feeding it, and the full-set training loss."""
    tr, te = split.train, split.test
    n_cls, hidden = tr.n_classes, list(range(1, depth))
    shuffled = tr.labels[torch.randperm(len(tr), generator=torch.Generator().manual_seed(seed + 7919))]

    def fn():
        net = models.MLP(tr.x.shape[1], width, depth, n_cls, activation="gelu", init="torch", seed=seed)
        f0 = features.layer_features(net, tr.x)

        def snapshot(step, model):
            f = features.layer_features(model, tr.x)
            w = [w.detach().cpu() for w in model.weights()]
            tl, sur = gram.hidden_target_linearity(f, w, tr.labels, n_classes=n_cls)
            last = f[depth - 1]
            return dict(tl=tl, sur=sur,
                        tl_shuffled=[gram.target_linearity(f[l], shuffled, n_classes=n_cls) for l in hidden],
                        sur_shuffled=[gram.gram_surrogate(f[l], w[l], shuffled, n_classes=n_cls) for l in hidden],
                        move=[relative_movement(f[l], f0[l]) for l in hidden],
                        c_last=collapse.within_class_compression(last, tr.labels),
                        bound=gram.collapse_tl_bound(last, tr.labels, n_classes=n_cls),
                        w_norm=float(w[depth - 2].norm()),
                        loss=float(torch.nn.functional.cross_entropy(f[-1].double(), tr.labels)))

        rec = StepRecorder(net, snapshot, snapshot_every)
        hist = train.fit(net, tr.x, tr.labels, epochs=epochs, lr=lr, loss="ce", batch_size=batch_size, seed=seed,
                         progress=False, stop_loss=criterion_loss,
                         make_optimizer=lambda p: rec.attach(torch.optim.SGD(p, lr=lr, momentum=momentum)
                                                             if optimizer == "sgd" else torch.optim.Adam(p, lr=lr)))
        if rec.records[-1][0] != hist.steps:  # always keep the end of training
            rec.records.append((hist.steps, snapshot(hist.steps, net)))
        out = {k: np.array([r[k] for _, r in rec.records]) for k in rec.records[0][1]}
        out["steps"] = np.array([s for s, _ in rec.records])
        out["record"] = record(hist, reached=hist.loss[-1] <= criterion_loss, train_acc=accuracy(net, tr.x, tr.labels),
                               test_acc=accuracy(net, te.x, te.labels))
        return out
    return cached(dict(recipe, run="tl", optimizer=optimizer, seed=seed, width=width, depth=depth, epochs=epochs, lr=lr,
                       momentum=momentum, batch_size=batch_size, snapshot_every=snapshot_every,
                       criterion_loss=criterion_loss), fn)


def tl_layer_values(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Per hidden layer of one TL run: untrained and final TL, gains (true and shuffled labels),
    half-gain steps of TL and of the feature movement, and the increment correlations (None with fewer than
    3 snapshots)."""
    tl, steps = run["tl"], [int(s) for s in run["steps"]]
    rho = increment_spearman if len(steps) >= 3 else (lambda a, b: None)  # changes need >= 3 snapshots
    half = gram.half_gain_epochs(tl, steps)
    half_move = gram.half_gain_epochs(run["move"], steps)
    return [dict(layer=j + 1, TL_untrained=float(tl[0, j]), TL_end=float(tl[-1, j]),
                 gain=float(tl[-1, j] - tl[0, j]),
                 gain_shuffled=float(run["tl_shuffled"][-1, j] - run["tl_shuffled"][0, j]),
                 half_gain_step=half[j], half_movement_step=half_move[j],
                 rho_changes=rho(run["sur"][:, j], tl[:, j]),
                 rho_changes_shuffled=rho(run["sur_shuffled"][:, j], tl[:, j]),
                 rho_levels_clock=spearman_levels(steps, tl[:, j]))
            for j in range(tl.shape[1])]


# ---------------------------------------------------------------------------------------------------
# 6. Gram whitening (Fig. 2)

WHITE_ARMS = ("SGD", "whitened (SVD)", "readout only")


def white_run(arm: str, seed: int, split: data.Split, *, width: int, depth: int, epochs: int, lr: float,
              momentum: float, batch_size: int, criterion_loss: float, polar: str = "svd",
              recipe: dict[str, Any]) -> dict[str, Any]:
    """Train one arm of the whitening comparison (float64) until the epoch loss <= criterion_loss or
    `epochs` pass; return the test accuracy per epoch, the whitened arm's Gram errors and the record."""
    tr, te = split.train, split.test

    def fn():
        net = models.MLP(tr.x.shape[1], width, depth, tr.n_classes, activation="gelu", init="torch",
                         seed=seed).double()
        if arm == "readout only":
            for layer in net.layers[:-1]:
                layer.requires_grad_(False)
        made = []

        def make(params):
            params = [p for p in params if p.requires_grad]
            made.append(optim.GramPreservingSGD(params, lr=lr, momentum=momentum, polar=polar, track_gram_error=True)
                        if arm.startswith("whitened") else torch.optim.SGD(params, lr=lr, momentum=momentum))
            return made[0]

        x_tr, x_te = tr.x.double(), te.x.double()
        h = train.fit(net, x_tr, tr.labels, epochs=epochs, lr=lr, loss="ce", batch_size=batch_size,
                      make_optimizer=make, seed=seed, progress=False, stop_loss=criterion_loss,
                      callback=lambda e, m: accuracy(m, x_te, te.labels), snapshot_epochs=range(1, epochs + 1))
        return dict(test_acc=[a for _, a in h.snapshots], gram_errors=list(getattr(made[0], "gram_errors", [])),
                    record=record(h, reached=h.loss[-1] <= criterion_loss, train_acc=accuracy(net, x_tr, tr.labels),
                                  test_acc=h.snapshots[-1][1]))
    return cached(dict(recipe, run="whitening", arm=arm, seed=seed, width=width, depth=depth, epochs=epochs, lr=lr,
                       momentum=momentum, batch_size=batch_size, criterion_loss=criterion_loss, polar=polar), fn)


# ---------------------------------------------------------------------------------------------------
# 7. Staircase (Fig. 8)

def stair_run(width: int, seed: int, *, n: int, dim: int, steps: int, lr: float, shuffled: bool,
              log_every: int = 0) -> dict[str, Any]:
    """Train the authors' staircase net (bias-free ReLU, 2 hidden layers, N(0, 1/fan-in), output / sqrt(width))
    by full-batch GD on the staircase drawn with `seed` (or its shuffled target); return the final and
    initial MSE, the relative movement of the last hidden features and, if log_every, OLS distances."""
    def fn():
        x, y = data.staircase(n, dim, seed=seed)
        if shuffled:
            y = y[torch.randperm(n, generator=torch.Generator().manual_seed(seed + 104729))]
        net = models.MLP(dim, width, 3, 1, activation="relu", bias=False, init="lecun", output_scale=width ** -0.5,
                         seed=seed)
        h0 = features.layer_features(net, x)[2]

        def snap(epoch, model):
            f = features.layer_features(model, x)
            return dict(**gram.ols_distances(f[2], y, f[3]), movement=relative_movement(f[2], h0))

        every = range(log_every, steps + 1, log_every) if log_every else [steps]
        hist = train.fit(net, x, y, epochs=steps, lr=lr, loss="mse", progress=False, callback=snap,
                         snapshot_epochs=every)
        return dict(mse=float(hist.loss[-1]), mse_untrained=float(hist.loss[0]),
                    movement=hist.snapshots[-1][1]["movement"],
                    log=[dict(step=e, mse=hist.loss[e], **s) for e, s in hist.snapshots] if log_every else [])
    return cached(dict(run="staircase", width=width, seed=seed, n=n, dim=dim, steps=steps, lr=lr, shuffled=shuffled,
                       log_every=log_every), fn)


# ---------------------------------------------------------------------------------------------------
# 8. Grokking (Fig. 13)

def grok_run(seed: int, weight_decay: float, *, modulus: int, train_fraction: float, width: int, depth: int,
             steps: int, lr: float, log_every: int, float64: bool, with_tl: bool,
             stop_at: float | None = None) -> dict[str, Any]:
    """Train the ReLU net on (a + b) mod p (split drawn with `seed`) by full-batch AdamW (betas 0.9, 0.98)
    for `steps` steps, or until test accuracy >= stop_at at a snapshot; return per-snapshot train/test
    accuracy (and train TL per hidden layer if with_tl), the grokking delay and the record."""
    def fn():
        dtype = torch.float64 if float64 else torch.float32
        split = data.modular_addition(modulus, train_fraction=train_fraction, seed=seed)
        tr, te = split.train, split.test
        x_tr, x_te = tr.x.to(dtype), te.x.to(dtype)
        net = models.MLP(x_tr.shape[1], width, depth, modulus, activation="relu", init="torch", seed=seed).to(dtype)
        opt = torch.optim.AdamW(net.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=weight_decay)
        rows, step, loss = [], 0, float("nan")
        while True:
            if step % log_every == 0:
                tl = gram.model_target_linearity(net, x_tr, tr.labels, n_classes=modulus)[0] if with_tl else []
                rows.append(dict(step=step, train_acc=accuracy(net, x_tr, tr.labels), test_acc=accuracy(net, x_te, te.labels),
                                 **{f"TL_{l + 1}": v for l, v in enumerate(tl)}))
                if step >= steps or (stop_at is not None and rows[-1]["test_acc"] >= stop_at):
                    break
            net.train()
            loss = torch.nn.functional.cross_entropy(net(x_tr), tr.labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
        delay = grokking_delay([r["step"] for r in rows], [r["train_acc"] for r in rows],
                                    [r["test_acc"] for r in rows])
        return dict(rows=rows, delay=delay, record=dict(epochs_run=step, steps=step, train_loss=float(loss),
                                                        reached=rows[-1]["train_acc"] >= 0.99,
                                                        train_acc=rows[-1]["train_acc"], test_acc=rows[-1]["test_acc"]))
    return cached(dict(run="grokking", seed=seed, weight_decay=weight_decay, modulus=modulus,
                       train_fraction=train_fraction, width=width, depth=depth, steps=steps, lr=lr,
                       log_every=log_every, float64=float64, with_tl=with_tl, stop_at=stop_at), fn)


def summary_line(records: Sequence[dict[str, Any]], criterion: str, *, unit: str = "epochs") -> str:
    """One line per recipe: how many nets reached the criterion, in how many epochs, final accuracies."""
    n, hit = len(records), sum(r["reached"] for r in records)
    used = [r["epochs_run"] for r in records]
    text = (f"{n} nets, {'all' if hit == n else f'{hit} of {n}'} reached {criterion} "
            f"in {min(used)}-{max(used)} {unit}")
    for key, name in (("train_acc", "train accuracy"), ("test_acc", "test accuracy")):
        vals = [r[key] for r in records if key in r]
        if vals:
            text += f"; {name} {min(vals):.3f}-{max(vals):.3f}"
    return text


def roll_frames(run: dict[str, Any], *, gain: float, show_to: int, panels: int = 4) -> "pd.DataFrame":
    """The Swiss-roll figure's data: the cumulative virtual update at `panels` steps from 0 to show_to and the
    frozen-weights control, each min-max scaled per coordinate, with the roll parameter t."""
    import pandas as pd

    xs = virtual_inputs(run["x"], run["grads"], gain)
    shown = {f"step {k}": xs[k] for k in sorted({int(round(v)) for v in np.linspace(0, show_to, panels)})}
    shown["frozen weights"] = run["x"] - show_to * gain * run["grads"][0]
    frames = []
    for name, z in shown.items():
        z = (z - z.min(0).values) / (z.max(0).values - z.min(0).values)
        frames.append(pd.DataFrame({"x̃₁": z[:, 0], "x̃₂": z[:, 1], "t": run["t"], "step": name}))
    return pd.concat(frames)


def white_seed(seed: int, split: data.Split, *, epochs: int, criterion_loss: float, **kw: Any) -> dict[str, Any]:
    """The three whitening arms of one seed: SGD and whitened to the criterion, then the readout-only
    control for as many epochs as SGD took (a paired budget). Returns {arm: run}."""
    out = {arm: white_run(arm, seed, split, epochs=epochs, criterion_loss=criterion_loss, **kw)
           for arm in ("SGD", "whitened (SVD)")}
    out["readout only"] = white_run("readout only", seed, split, epochs=out["SGD"]["record"]["epochs_run"],
                                    criterion_loss=0.0, **kw)
    return out
