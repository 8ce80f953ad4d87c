"""Chapter 03b, the Gram beyond plain MLPs: its parameters (book defaults, smoke/paper values, help), rules,
and the helpers that shape its VAE claims (class-pair interpolation, the random-projection control). The
runners are in `ch03b_runs.py`; the MLP target-linearity runs and their values are chapter 3's.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..params import DATASETS, Bool, Choice, ConfigError, Float, Int, Param, Path
from ..data import IMAGE_SHAPES

PARAMS = dict(
    dataset=Param('mnist1d', "data of the MLP target-linearity runs (Figs. 4, 9): mnist1d (wide TL window), digits, or a torchvision set with data_root", paper='cifar10', rule=Choice(*DATASETS)),
    cnn_dataset=Param('digits', "image data of the CNN runs (Fig. 6): digits (8x8), or a torchvision image set with data_root", paper='cifar10', rule=Choice(*IMAGE_SHAPES)),
    data_root=Param('', "folder holding torchvision data sets (paper preset)", rule=Path()),
    download=Param(False, "allow downloading a torchvision data set into data_root", rule=Bool()),
    n_train=Param(1000, "training samples of the MLP and CNN runs (0 = all; a stratified subset otherwise)", smoke=200,
                  paper=0, rule=Int(min=0)),
    n_seeds=Param(5, "seeds of the VAE, attention and NFA claims (seed, seed + 1, ...)", smoke=3, rule=Int(min=1)),
    tl_seeds=Param(5, "seeds of the SGD and Adam MLP runs (chapter 3's recipe)", smoke=3, rule=Int(min=1)),
    tl_width=Param(128, "hidden width of the TL MLP (Linear + GELU; the paper's 256)", smoke=16, paper=256, rule=Int(min=1, width=True)),
    tl_depth=Param(5, "weight matrices of the TL MLP (hidden layers + readout; the paper's 4 hidden layers = 5)", rule=Int(min=3)),
    tl_epochs=Param(300, "most training epochs of the TL MLP (it stops at its loss criterion)", smoke=3, paper=100, rule=Int(min=1)),
    tl_batch_size=Param(64, "minibatch size of the TL MLP (the paper's 64)", rule=Int(min=1)),
    tl_stop_loss=Param(0.1, "training criterion of the TL MLP: mean train cross-entropy <= this (0 = all epochs)", smoke=2.0,
                       paper=0.0, rule=Float(min=0)),
    tl_snapshot_every=Param(160, "optimiser steps between TL snapshots", smoke=2, paper=782, rule=Int(min=1)),
    sgd_lr=Param(0.01, "SGD learning rate of the TL MLP (the paper's 5e-4 over ~80k steps)", paper=0.0005, rule=Float(min=0, closed="right")),
    sgd_momentum=Param(0.8, "SGD momentum of the TL MLP (the paper's 0.8)", rule=Float(min=0, max=1, closed="left")),
    adam_lr=Param(0.001, "Adam learning rate of the TL MLP (torch defaults otherwise; the paper's were not found)", rule=Float(min=0, closed="right")),
    tl_margin=Param(0.05, "how much more the last-minus-first hidden TL must be after training than in the untrained net", rule=Float(min=0, max=1, closed="left")),
    cnn_channels=Param(16, "channels of each of the three 3x3 convolutions of the small CNN", smoke=4, rule=Int(min=1, width=True)),
    cnn_epochs=Param(40, "most training epochs of the CNN runs (they stop at their loss criterion)", smoke=2, paper=20, rule=Int(min=1)),
    cnn_stop_loss=Param(0.05, "training criterion of the CNN runs: mean train cross-entropy <= this (0 = all epochs)", smoke=2.0,
                        paper=0.0, rule=Float(min=0)),
    cnn_lr=Param(0.01, "learning rate of the CNN runs, SGD and Gram-preserving (the paper's plotted 0.01)", rule=Float(min=0, closed="right")),
    cnn_momentum=Param(0.95, "momentum of the CNN runs (the paper's 0.95)", rule=Float(min=0, max=1, closed="left")),
    cnn_batch_size=Param(64, "minibatch size of the CNN runs", rule=Int(min=1)),
    cnn_n_seeds=Param(24, "paired seeds of the CNN comparison (same initialisation and batch order for both updates)", smoke=3, paper=5, rule=Int(min=2)),
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
    nfa_width=Param(120, "hidden width of the NFA ReLU MLP (chapter 5's disk and yin-yang setting)", smoke=16, rule=Int(min=1, width=True)),
    nfa_depth=Param(4, "weight matrices of the NFA ReLU MLP (>= 3: a hidden-to-hidden layer)", rule=Int(min=3)),
    nfa_epochs=Param(150, "training epochs of the NFA runs", smoke=4, paper=1500, rule=Int(min=1)),
    nfa_lr=Param(0.02, "SGD learning rate of the NFA runs", rule=Float(min=0, closed="right")),
    nfa_momentum=Param(0.9, "SGD momentum of the NFA runs", rule=Float(min=0, max=1, closed="left")),
    nfa_batch_size=Param(100, "minibatch size of the NFA runs", rule=Int(min=1)),
    n_snapshots=Param(6, "measurements over training of the VAE, transformer and NFA runs (plus initialisation)", smoke=2, rule=Int(min=1)),
)


def check(p: dict[str, Any]) -> None:
    """Raise ConfigError when the transformer's width does not split into its heads (a cross-parameter rule)."""
    if p["d_model"] % p["n_heads"]:
        raise ConfigError(f"d_model ({p['d_model']}) must be divisible by n_heads ({p['n_heads']})")


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


def half_way(curve: list[float]) -> float:
    """The value at the middle epoch of a per-epoch curve (epochs 1..E): the half-trained control."""
    if not curve:
        raise ValueError("half_way needs a curve of at least one epoch")
    return float(curve[max(len(curve) // 2, 1) - 1])


def worst_by_seed(series: Any, labels: str) -> dict:
    """{seed: the smallest value over hidden layers and data sets} of a Series indexed by (labels, seed,
    data, layer), for one labelling ("true" or "shuffled")."""
    return series.xs(labels).groupby(level="seed").min().to_dict()
