"""Chapter 03b, the Gram beyond plain MLPs: its parameters (book defaults, smoke/paper values, help), rules,
and the helpers that decide its verdicts (half-gain order at step resolution, depth statistics).

The TL runs use `train_epoch_checkpoints`: `train.fit` driven one minibatch at a time with one persistent
optimizer, so that the model and optimizer state at the start of every epoch can be kept and an epoch replayed
exactly, one step at a time, where two layers reach half their gain in the same epoch.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..params import CHOICES, DATASETS, Bool, Choice, ConfigError, Float, Int, Param, Path
from ..data import IMAGE_SHAPES
from ..metrics.landmarks import half_gain_epoch

PARAMS = dict(
    dataset=Param('mnist1d', "data of the MLP target-linearity runs (Figs. 4, 9): mnist1d (wide TL window), digits, or a torchvision set with data_root", paper='cifar10', rule=Choice(*DATASETS)),
    cnn_dataset=Param('digits', "image data of the CNN runs (Fig. 6): digits (8x8), or a torchvision image set with data_root", paper='cifar10', rule=Choice(*IMAGE_SHAPES)),
    data_root=Param('', "folder holding torchvision data sets (paper preset)", rule=Path()),
    download=Param(False, "allow downloading a torchvision data set into data_root", rule=Bool()),
    n_train=Param(0, "training samples of the MLP and CNN runs (0 = all; a stratified subset otherwise)", smoke=300, rule=Int(min=0)),
    n_test=Param(0, "test samples of the MLP and CNN runs (0 = all; a stratified subset otherwise)", smoke=100, rule=Int(min=0)),
    n_seeds=Param(3, "seeds of the MLP, VAE, attention and NFA claims (seed, seed + 1, ...); claims need >= 3", smoke=1, paper=5, rule=Int(min=1)),
    tl_width=Param(256, "hidden width of the TL MLP (Linear + GELU)", smoke=32, rule=Int(min=1, width=True)),
    tl_depth=Param(5, "weight matrices of the TL MLP (hidden layers + readout; the paper's 4 hidden layers = 5)", rule=Int(min=3)),
    tl_epochs=Param(40, "training epochs of the TL MLP", smoke=3, paper=100, rule=Int(min=1)),
    tl_batch_size=Param(64, "minibatch size of the TL MLP (the paper's 64)", rule=Int(min=1)),
    sgd_lr=Param(0.01, "SGD learning rate of the TL MLP (the paper's 5e-4 is too slow for a short CPU run)", paper=0.0005, rule=Float(min=0, closed="right")),
    sgd_momentum=Param(0.8, "SGD momentum of the TL MLP (the paper's 0.8)", rule=Float(min=0, max=1, closed="left")),
    adam_lr=Param(0.001, "Adam learning rate of the TL MLP (torch defaults otherwise; the paper's were not found)", rule=Float(min=0, closed="right")),
    depth_slack=Param(0.01, "slack of 'final TL non-decreasing with depth' (note 03, claim 5): each step may fall by this much", rule=Float(min=0, max=1, closed="left")),
    tl_margin=Param(0.05, "how much more the last-minus-first hidden TL must be after training than in the untrained net", rule=Float(min=0, max=1, closed="left")),
    cnn_channels=Param(16, "channels of each of the three 3x3 convolutions of the small CNN", smoke=4, rule=Int(min=1, width=True)),
    cnn_epochs=Param(12, "training epochs of the CNN runs", smoke=2, paper=20, rule=Int(min=1)),
    cnn_lr=Param(0.01, "learning rate of the CNN runs, SGD and Gram-preserving (the paper's plotted 0.01)", rule=Float(min=0, closed="right")),
    cnn_momentum=Param(0.95, "momentum of the CNN runs (the paper's 0.95)", rule=Float(min=0, max=1, closed="left")),
    cnn_batch_size=Param(64, "minibatch size of the CNN runs", rule=Int(min=1)),
    cnn_n_seeds=Param(8, "paired seeds of the CNN comparison (same initialisation and batch order for both updates; >= 2 for the interval)", smoke=2, paper=5, rule=Int(min=2)),
    cnn_margin=Param(0.01, "how far the Gram-preserving final test accuracy may fall below SGD's (paired, mean over seeds)", rule=Float(min=0, max=1, closed="left")),
    vae_dataset=Param('digits', "image data of the VAE (pixels in [0, 1], binarised at 0.5 for the Bernoulli decoder)", paper='mnist', rule=Choice(*DATASETS)),
    vae_width=Param(256, "hidden width of the VAE's encoder and decoder", smoke=32, rule=Int(min=1, width=True)),
    vae_depth=Param(2, "hidden layers of the VAE's encoder (and of its mirror-image decoder)", rule=Int(min=1)),
    latent_dim=Param(8, "dimension of the VAE's latent code", rule=Int(min=1)),
    vae_epochs=Param(40, "training epochs of the VAE (Adam)", smoke=2, paper=100, rule=Int(min=1)),
    vae_lr=Param(0.001, "Adam learning rate of the VAE", rule=Float(min=0, closed="right")),
    vae_batch_size=Param(64, "minibatch size of the VAE", rule=Int(min=1)),
    interp_steps=Param(8, "decoded points on each straight latent path between two class means", rule=Int(min=1)),
    attention=Param('small', "attention model: small (a transformer trained here) or bert (fine-tune BERT, needs bert_weights)", paper='bert', rule=Choice("small", "bert")),
    bert_weights=Param('', "folder with BERT weights for attention=bert", rule=Path()),
    seq_len=Param(16, "tokens per sequence of the majority task", rule=Int(min=1)),
    seq_classes=Param(4, "vocabulary size = number of classes of the majority task", rule=Int(min=2)),
    n_sequences=Param(2000, "training sequences of the majority task", smoke=200, rule=Int(min=1)),
    d_model=Param(32, "width of the small transformer", smoke=16, rule=Int(min=1, width=True)),
    n_heads=Param(2, "attention heads per block (divides d_model)", rule=Int(min=1)),
    n_blocks=Param(3, "transformer blocks of the small transformer", smoke=2, rule=Int(min=1)),
    attn_epochs=Param(25, "training epochs of the transformer (Adam)", smoke=2, paper=3, rule=Int(min=1)),
    attn_lr=Param(0.001, "Adam learning rate of the transformer", paper=2e-05, rule=Float(min=0, closed="right")),
    attn_batch_size=Param(64, "minibatch size of the transformer", rule=Int(min=1)),
    nfa_n=Param(1000, "points of the disk and yin-yang data of the NFA runs", smoke=200, rule=Int(min=1)),
    nfa_width=Param(120, "hidden width of the NFA ReLU MLP (seed 003's setting)", smoke=16, rule=Int(min=1, width=True)),
    nfa_depth=Param(4, "weight matrices of the NFA ReLU MLP", rule=Int(min=2)),
    nfa_epochs=Param(150, "training epochs of the NFA runs", smoke=4, paper=1500, rule=Int(min=1)),
    nfa_lr=Param(0.02, "SGD learning rate of the NFA runs", rule=Float(min=0, closed="right")),
    nfa_momentum=Param(0.9, "SGD momentum of the NFA runs", rule=Float(min=0, max=1, closed="left")),
    nfa_batch_size=Param(100, "minibatch size of the NFA runs", rule=Int(min=1)),
    n_snapshots=Param(6, "measurements over training of the VAE, transformer and NFA runs (plus initialisation)", smoke=2, rule=Int(min=1)),
)


_CH03B_CHOICES = {"attention": ("small", "bert"), "vae_dataset": CHOICES["dataset"],
                  "cnn_dataset": tuple(IMAGE_SHAPES)}


def check(p: dict[str, Any]) -> None:
    """Raise ConfigError for a choice outside its list, a non-positive size or rate, or inconsistent sizes."""
    for name, accepted in _CH03B_CHOICES.items():
        if p[name] not in accepted:
            raise ConfigError(f"{name} must be one of {', '.join(accepted)}, got {p[name]!r} (-p {name} VALUE)")
    for name, value in p.items():
        if name.endswith(("_lr", "_epochs", "_width", "_depth", "_batch_size", "_dim", "_n", "_classes", "_seeds",
                          "_channels", "_steps", "_sequences", "_blocks", "_heads", "_model", "_snapshots")):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{name} must be a number > 0, got {value!r} (-p {name} VALUE)")
    for name in ("depth_slack", "tl_margin", "cnn_margin"):
        if isinstance(p[name], bool) or not isinstance(p[name], (int, float)) or not 0 <= p[name] < 1:
            raise ConfigError(f"{name} must be a number in [0, 1), got {p[name]!r} (-p {name} VALUE)")
    if p["cnn_n_seeds"] < 2:
        raise ConfigError(f"cnn_n_seeds must be >= 2 (a bootstrap interval of the paired difference), got {p['cnn_n_seeds']}")
    if p["d_model"] % p["n_heads"]:
        raise ConfigError(f"d_model ({p['d_model']}) must be divisible by n_heads ({p['n_heads']})")
    if p["tl_depth"] < 3 or p["nfa_depth"] < 2:
        raise ConfigError(f"tl_depth must be >= 3 and nfa_depth >= 2 (hidden layers to compare), got "
                          f"{p['tl_depth']}, {p['nfa_depth']}")


# --- depth statistics -----------------------------------------------------------------------------

def depth_profile_stats(tl: Sequence[float]) -> dict[str, float]:
    """Return {"min step": min_l (TL_{l+1} - TL_l), "last - first": TL_L - TL_1} of a per-layer TL profile.

    tl: TL of hidden layers 1..L (L >= 2). "min step" >= -slack is note 03's "non-decreasing with depth
    (slack)"; "last - first" > 0 its "last hidden > first hidden".
    """
    if len(tl) < 2:
        raise ValueError(f"depth_profile_stats needs >= 2 layers, got {len(tl)}")
    steps = [float(b - a) for a, b in zip(tl[:-1], tl[1:])]
    return {"min step": min(steps), "last - first": float(tl[-1] - tl[0])}


# --- half-gain order at step resolution -----------------------------------------------------------

def tied_layers(epochs: Sequence[int | None]) -> dict[int, list[int]]:
    """Return {epoch: [layer indices]} of the half-gain epochs shared by two or more layers (None ignored)."""
    groups: dict[int, list[int]] = {}
    for layer, e in enumerate(epochs):
        if e is not None:
            groups.setdefault(int(e), []).append(layer)
    return {e: ls for e, ls in groups.items() if len(ls) > 1}


def refined_half_gain(epochs: Sequence[int], curves: Sequence[Sequence[float]],
                      replay: Callable[[int, list[int]], Sequence[Sequence[float]]]) -> list[float | None]:
    """Return each layer's half-gain time in epochs, refined to the step where layers share an epoch.

    epochs (T,) the measured epochs (0 first); curves (T, L) one value per layer at each; `replay(e, layers)`
    returns, for epoch e replayed one step at a time, the values (S, len(layers)) after each of its S steps
    (the last row is the end of epoch e). A layer's half-gain epoch is `landmarks.half_gain_epoch` (None when
    its curve never gains: the layer does not linearise, and has no place in an order). Layers alone in
    their half-gain epoch e keep e (an ordering between different epochs is already resolved); layers
    sharing one get e - 1 + k / S, k = the first step of epoch e at which they have covered half their
    gain (values[-1] - values[0] of the per-epoch curve).
    """
    c = [list(map(float, row)) for row in curves]
    if len(c) != len(epochs):
        raise ValueError(f"refined_half_gain: {len(epochs)} epochs but {len(c)} rows of values")
    n_layers = len(c[0])
    coarse = [half_gain_epoch(list(epochs), [row[j] for row in c]) for j in range(n_layers)]
    out: list[float | None] = [None if e is None else float(e) for e in coarse]
    for e, layers in tied_layers(coarse).items():
        rows = [list(map(float, r)) for r in replay(e, layers)]
        steps = len(rows)
        for k, layer in enumerate(layers):
            start, end = c[0][layer], c[-1][layer]
            inner = [r[k] for r in rows]
            # the same landmark on the time axis [start, steps of epoch e, end of training]
            step = half_gain_epoch([0, *range(1, steps + 1), steps + 1], [start, *inner, end])
            if step is None or step > steps:
                raise ValueError(f"layer {layer}: the replay of epoch {e} does not reach the half gain its "
                                 "per-epoch curve reached (the replay is not exact)")
            out[layer] = e - 1 + step / steps
    return out


NEVER = -1.0  # shown in place of the half-gain time of a layer whose TL never gains


def order_values(times_by_seed: dict[Any, Sequence[float | None]]) -> tuple[dict, dict, dict]:
    """Split per-seed half-gain times for an ordering claim: return (shown, complete, missing).

    shown: {seed: times} with NEVER (-1) for a layer that never gains; complete: {seed: times} of the seeds
    where every layer gains (only these have an order to test); missing: {seed: [1-based layers]} of the
    layers that never gain. A layer that never gains has not linearised: the claim "layers linearise one after
    another" has no order to test on that seed, so the claim's precondition fails (inconclusive) and a
    control seed with such a layer cannot pass.
    """
    shown, complete, missing = {}, {}, {}
    for seed, times in times_by_seed.items():
        shown[seed] = [NEVER if t is None else float(t) for t in times]
        gone = [i + 1 for i, t in enumerate(times) if t is None]
        if gone:
            missing[seed] = gone
        else:
            complete[seed] = [float(t) for t in times]
    return shown, complete, missing


# --- training with epoch checkpoints --------------------------------------------------------------

@dataclass
class CheckpointRun:
    """What `train_epoch_checkpoints` returns: the measured curve and the state at each epoch start."""

    epochs: list[int] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    checkpoints: dict[int, tuple[dict, dict]] = field(default_factory=dict)
    steps_per_epoch: int = 0


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[torch.Tensor]:
    """Return the minibatch indices of `epoch` (a permutation of 0..n-1 drawn from (seed, epoch))."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, *,
          loss: str, lr: float) -> None:
    from ..train import fit

    fit(model, x[idx], y[idx], epochs=1, lr=lr, loss=loss, batch_size=0, make_optimizer=lambda _: opt,
        progress=False)


def train_epoch_checkpoints(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, *,
                            epochs: int, batch_size: int, lr: float, seed: int, loss: str = "ce",
                            measure: Callable[[nn.Module], Any]) -> CheckpointRun:
    """Train `model` in place with `opt` (one `train.fit` step per minibatch); return the measured curve.

    `measure(model)` is recorded at epoch 0 and after every epoch; the model and optimizer state at the start
    of every epoch are kept (`replay_epoch` reruns one exactly). lr is the rate `fit` sets on `opt`.
    """
    run = CheckpointRun(steps_per_epoch=len(epoch_batches(x.shape[0], batch_size, seed, 1)))
    run.epochs.append(0)
    run.values.append(measure(model))
    for e in range(1, epochs + 1):
        run.checkpoints[e] = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()))
        for idx in epoch_batches(x.shape[0], batch_size, seed, e):
            _step(model, opt, x, y, idx, loss=loss, lr=lr)
        run.epochs.append(e)
        run.values.append(measure(model))
    return run


def replay_epoch(run: CheckpointRun, model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
                 y: torch.Tensor, epoch: int, *, batch_size: int, lr: float, seed: int, loss: str = "ce",
                 measure: Callable[[nn.Module], Any]) -> list[Any]:
    """Return `measure(model)` after every step of `epoch`, rerun from its checkpoint (model, opt overwritten)."""
    model_state, opt_state = run.checkpoints[epoch]
    model.load_state_dict(model_state)
    opt.load_state_dict(copy.deepcopy(opt_state))
    out = []
    for idx in epoch_batches(x.shape[0], batch_size, seed, epoch):
        _step(model, opt, x, y, idx, loss=loss, lr=lr)
        out.append(measure(model))
    return out
