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

from ..config import CHOICES, ConfigError, Param
from ..data import IMAGE_SHAPES
from ..metrics.landmarks import half_gain_epoch

PARAMS = dict(
    dataset=Param('mnist1d', "data of the MLP target-linearity runs (Figs. 4, 9): mnist1d (wide TL window), digits, or a torchvision set with data_root", paper='cifar10'),
    cnn_dataset=Param('digits', "image data of the CNN runs (Fig. 6): digits (8x8), or a torchvision image set with data_root", paper='cifar10'),
    data_root=Param('', "folder holding torchvision data sets (paper preset)"),
    download=Param(False, "allow downloading a torchvision data set into data_root"),
    n_train=Param(1000, "training samples of the MLP and CNN runs (0 = all; a stratified subset otherwise)", smoke=200,
                  paper=0),
    n_seeds=Param(5, "seeds of the VAE, attention and NFA claims (seed, seed + 1, ...)", smoke=3),
    tl_seeds=Param(5, "seeds of the SGD and Adam MLP runs (chapter 3's recipe)", smoke=3),
    tl_width=Param(128, "hidden width of the TL MLP (Linear + GELU; the paper's 256)", smoke=16, paper=256),
    tl_depth=Param(5, "weight matrices of the TL MLP (hidden layers + readout; the paper's 4 hidden layers = 5)"),
    tl_epochs=Param(300, "most training epochs of the TL MLP (it stops at its loss criterion)", smoke=3, paper=100),
    tl_batch_size=Param(64, "minibatch size of the TL MLP (the paper's 64)"),
    tl_stop_loss=Param(0.1, "training criterion of the TL MLP: mean train cross-entropy <= this", smoke=2.0, paper=0.0),
    tl_snapshot_every=Param(80, "optimiser steps between TL snapshots", smoke=2, paper=782),
    sgd_lr=Param(0.01, "SGD learning rate of the TL MLP (the paper's 5e-4 over ~80k steps)", paper=0.0005),
    sgd_momentum=Param(0.8, "SGD momentum of the TL MLP (the paper's 0.8)"),
    adam_lr=Param(0.001, "Adam learning rate of the TL MLP (torch defaults otherwise; the paper's were not found)"),
    tl_margin=Param(0.05, "how much more the last-minus-first TL must be after training than in the untrained net"),
    cnn_channels=Param(16, "channels of each of the three 3x3 convolutions of the small CNN", smoke=4),
    cnn_epochs=Param(40, "most training epochs of the CNN runs (they stop at their loss criterion)", smoke=2, paper=20),
    cnn_stop_loss=Param(0.05, "training criterion of the CNN runs: mean train cross-entropy <= this", smoke=2.0,
                        paper=0.0),
    cnn_lr=Param(0.01, "learning rate of the CNN runs, SGD and Gram-preserving (the paper's plotted 0.01)"),
    cnn_momentum=Param(0.95, "momentum of the CNN runs (the paper's 0.95)"),
    cnn_batch_size=Param(64, "minibatch size of the CNN runs"),
    cnn_n_seeds=Param(12, "paired seeds of the CNN comparison (same initialisation and batch order for both updates)", smoke=3, paper=5),
    cnn_margin=Param(0.01, "how far the Gram-preserving final test accuracy may fall below SGD's (paired, mean over seeds)"),
    vae_dataset=Param('digits', "image data of the VAE (pixels in [0, 1], binarised at 0.5 for the Bernoulli decoder)", paper='mnist'),
    vae_width=Param(256, "hidden width of the VAE's encoder and decoder", smoke=32),
    vae_depth=Param(2, "hidden layers of the VAE's encoder (and of its mirror-image decoder)"),
    latent_dim=Param(8, "dimension of the VAE's latent code"),
    vae_epochs=Param(40, "training epochs of the VAE (Adam)", smoke=2, paper=100),
    vae_lr=Param(0.001, "Adam learning rate of the VAE"),
    vae_batch_size=Param(64, "minibatch size of the VAE"),
    interp_steps=Param(8, "decoded points on each straight latent path between two class means"),
    attention=Param('small', "attention model: small (a transformer trained here) or bert (fine-tune BERT, needs bert_weights)", paper='bert'),
    bert_weights=Param('', "folder with BERT weights for attention=bert"),
    seq_len=Param(16, "tokens per sequence of the majority task"),
    seq_classes=Param(4, "vocabulary size = number of classes of the majority task"),
    n_sequences=Param(2000, "training sequences of the majority task", smoke=200),
    d_model=Param(32, "width of the small transformer", smoke=16),
    n_heads=Param(2, "attention heads per block (divides d_model)"),
    n_blocks=Param(3, "transformer blocks of the small transformer", smoke=2),
    attn_epochs=Param(25, "training epochs of the transformer (Adam)", smoke=2, paper=3),
    attn_lr=Param(0.001, "Adam learning rate of the transformer", paper=2e-05),
    attn_batch_size=Param(64, "minibatch size of the transformer"),
    nfa_n=Param(1000, "points of the disk and yin-yang data of the NFA runs", smoke=200),
    nfa_width=Param(120, "hidden width of the NFA ReLU MLP (seed 003's setting)", smoke=16),
    nfa_depth=Param(4, "weight matrices of the NFA ReLU MLP"),
    nfa_epochs=Param(150, "training epochs of the NFA runs", smoke=4, paper=1500),
    nfa_lr=Param(0.02, "SGD learning rate of the NFA runs"),
    nfa_momentum=Param(0.9, "SGD momentum of the NFA runs"),
    nfa_batch_size=Param(100, "minibatch size of the NFA runs"),
    n_snapshots=Param(6, "measurements over training of the VAE, transformer and NFA runs (plus initialisation)", smoke=2),
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
    for name in ("tl_margin", "cnn_margin"):
        if isinstance(p[name], bool) or not isinstance(p[name], (int, float)) or not 0 <= p[name] < 1:
            raise ConfigError(f"{name} must be a number in [0, 1), got {p[name]!r} (-p {name} VALUE)")
    for name in ("tl_stop_loss", "cnn_stop_loss"):
        if p[name] < 0:
            raise ConfigError(f"{name} must be >= 0 (0 = train for all epochs), got {p[name]}")
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


# --- the VAE's interpolation (section 3) ---------------------------------------------------------------

def class_means(vae: nn.Module, vx: torch.Tensor, vy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (mu of every sample (n, k), the class means of mu (K, k)) of a trained VAE."""
    vae.eval()
    with torch.no_grad():
        mu = vae.encode(vx)[0]
    return mu, torch.stack([mu[vy == k].mean(0) for k in range(int(vy.max()) + 1)])


def decode_path(vae: nn.Module, means: torch.Tensor, a: int, b: int, t: torch.Tensor) -> torch.Tensor:
    """Decode the straight latent path (1 - t) mean_a + t mean_b: pixel probabilities (len(t), d)."""
    with torch.no_grad():
        return vae.decode((1 - t)[:, None] * means[a] + t[:, None] * means[b])


def pair_rows(vae: nn.Module, vx: torch.Tensor, vy: torch.Tensor, t: torch.Tensor) -> list[dict[str, Any]]:
    """For every class pair (a, b): TL of mu (and of the raw pixels) against the binary label on the
    samples of a and b, and the straightness of the decoded path between the class means."""
    from ..metrics import gram

    mu, means = class_means(vae, vx, vy)
    rows = []
    for a in range(len(means)):
        for b in range(a + 1, len(means)):
            mask = (vy == a) | (vy == b)
            target = (vy[mask] == b).long()
            rows.append(dict(pair=f"{a}-{b}", latent_TL=gram.target_linearity(mu[mask], target),
                             input_TL=gram.target_linearity(vx[mask], target),
                             straightness=gram.path_straightness(decode_path(vae, means, a, b, t))))
    return rows


def random_projection_tl(vx: torch.Tensor, k: int, seed: int) -> float:
    """TL of the centred image regressed on a random k-dim linear projection of the (binarised) input: what
    any linear k-dim summary of the image already gives (the VAE latent's control)."""
    from ..metrics import gram

    proj = torch.randn(vx.shape[1], k, generator=torch.Generator().manual_seed(seed + 2024), dtype=torch.float64)
    return gram.target_linearity(vx.double() @ proj, vx.double())
