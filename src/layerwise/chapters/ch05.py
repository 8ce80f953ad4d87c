"""Chapter 05, extractor and tunnel: its parameters (book defaults, smoke/paper values, help), rules,
and the helpers that decide its verdicts (tunnel preconditions, peaks that must beat their neighbours)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..params import CHOICES, DATASETS, OPTIMIZERS, Bool, Choice, ConfigError, Float, Int, ListOf, Param, Path

PARAMS = dict(
    dataset=Param('mnist1d', "data set of the tunnel experiments (MNIST-1D: raw-input probe ~0.23, so a tunnel can exist)",
                  paper='cifar10', rule=Choice(*DATASETS)),
    data_root=Param('', "folder of the torchvision files (paper preset only)", rule=Path()),
    download=Param(False, "allow torchvision to download the data set into data_root", rule=Bool()),
    n_train=Param(0, "training samples, class-stratified subset (0 = the whole training split)", smoke=600, rule=Int(min=0)),
    n_measure=Param(0, "training samples on which ranks and CKA are measured (0 = all of them)", paper=10000, rule=Int(min=0)),
    width=Param(128, "width of the tunnel MLPs (the paper: 1024)", smoke=32, paper=1024, rule=Int(min=1, width=True)),
    depth=Param(12, "weight matrices of the main tunnel MLP (hidden layers 1..depth-1)", smoke=4, paper=12, rule=Int(min=1)),
    compare_depth=Param(6, "depth of the shorter MLP of claim 3 (depth 6 against 12)", smoke=3, paper=6, rule=Int(min=1)),
    epochs=Param(100, "training epochs of the tunnel MLPs (SGD, minibatches)", smoke=2, paper=100, rule=Int(min=1)),
    lr=Param(0.01, "SGD learning rate of the tunnel MLPs", rule=Float(min=0, closed="right")),
    momentum=Param(0.9, "SGD momentum of the tunnel MLPs", rule=Float(min=0, max=1, closed="left")),
    weight_decay=Param(0.0005, "weight decay of the tunnel MLPs", rule=Float(min=0)),
    batch_size=Param(128, "minibatch size of the tunnel MLPs", rule=Int(min=1)),
    n_seeds=Param(3, "seeds of every tunnel experiment (seed s = seed + i; Masarczyk et al. ran 3)", smoke=1, paper=3, rule=Int(min=1)),
    min_probe_gain=Param(0.1, "precondition of a tunnel claim: the best layer's probe beats the raw input's by at least this", rule=Float(min=0, max=1, closed="left")),
    class_counts=Param([2, 5, 10], "numbers of classes C of claim 4 (the first C classes)", smoke=[2, 10], rule=ListOf(Int(min=2, max=10))),
    ood_train_classes=Param(5, "classes the OOD network is trained on; the rest are held out (claim 7)", rule=Int(min=2, max=8)),
    early_fraction=Param(0.1, "fraction of training at which the ranks are compared with the final ones (claim 5)", rule=Float(min=0, max=1, closed="neither")),
    mb_batch_size=Param(256, "batch size of minibatch debiased CKA (Nguyen et al.: 256)", rule=Int(min=4)),
    mb_epochs=Param(10, "passes of minibatch CKA over the samples (Nguyen et al.: 10)", smoke=1, rule=Int(min=1)),
    cs_depths=Param([2, 3, 5, 9], "depths of the seed's part 1 networks on core/spurious data", smoke=[2, 3],
                    paper=[2, 3, 4, 5, 6, 7, 8, 9], rule=ListOf(Int(min=2))),
    cs_width=Param(120, "width of the part 1 networks (the seed's 120)", smoke=32, rule=Int(min=1, width=True)),
    cs_core_strengths=Param([0.1, 0.25, 1.0], "core-feature strengths a_core of part 1", smoke=[0.25, 1.0], rule=ListOf(Float(min=0, closed="right"))),
    cs_n_train=Param(600, "training samples of the core/spurious data", smoke=200, paper=1200, rule=Int(min=1)),
    cs_epochs=Param(300, "full-batch epochs of part 1 (stops early at loss 1e-4)", smoke=20, paper=1500, rule=Int(min=1)),
    cs_lr=Param(0.02, "gradient-descent learning rate of part 1 (momentum 0.9, the seed's)", rule=Float(min=0, closed="right")),
    cs_seeds=Param(3, "seeds of part 1", smoke=1, paper=3, rule=Int(min=1)),
    ntk_depths=Param([2, 3, 4, 5, 6, 7, 8, 9], "depths of the part 2 networks (1 to 8 hidden layers)", smoke=[2, 3, 4], rule=ListOf(Int(min=2))),
    ntk_width=Param(120, "width of the part 2 networks", smoke=32, rule=Int(min=1, width=True)),
    ntk_n_train=Param(200, "yin-yang training samples of part 2 (200 keeps book within its 4-minute budget)",
                      smoke=100, paper=1200, rule=Int(min=1)),
    ntk_n_kernel=Param(200, "held-out yin-yang points on which the NTK is computed", smoke=40, paper=500, rule=Int(min=4)),
    ntk_epochs=Param(300, "full-batch epochs of part 2 (stops early at loss 1e-4)", smoke=20, paper=1500, rule=Int(min=1)),
    ntk_optimizer=Param('adam', "optimiser of part 2", rule=Choice(*OPTIMIZERS)),
    ntk_lr=Param(0.003, "learning rate of part 2", rule=Float(min=0, closed="right")),
    ntk_seeds=Param(5, "seeds of part 2 (a peak must beat its neighbours beyond seed noise)", smoke=1, paper=5, rule=Int(min=1)),
    hmm_depth=Param(9, "depth of the open-step networks on the hidden manifold model", smoke=3, rule=Int(min=1)),
    hmm_width=Param(120, "width of the open-step networks", smoke=32, rule=Int(min=1, width=True)),
    hmm_n_train=Param(600, "hidden-manifold training samples", smoke=200, paper=5000, rule=Int(min=1)),
    hmm_latent_dim=Param(10, "latent dimension D of the hidden manifold model (Goldt et al.: 10)", rule=Int(min=1)),
    hmm_ambient_dim=Param(100, "input dimension N of the hidden manifold model (Goldt et al.: 784)", paper=784, rule=Int(min=1)),
    hmm_epochs=Param(300, "full-batch epochs of the open step (stops early at loss 1e-4)", smoke=20, paper=1500, rule=Int(min=1)),
    hmm_optimizer=Param('adam', "optimiser of the open step", rule=Choice(*OPTIMIZERS)),
    hmm_lr=Param(0.003, "learning rate of the open step", rule=Float(min=0, closed="right")),
    hmm_seeds=Param(3, "seeds of the open step (each draws its own manifold, teacher and network)", smoke=1, paper=3, rule=Int(min=1)),
)


def check(p: dict[str, Any]) -> None:
    hint = "(set it in the parameters cell or with -p NAME VALUE)"
    ints = ["n_measure", "compare_depth", "ood_train_classes", "mb_batch_size", "mb_epochs", "cs_width",
            "cs_n_train", "cs_epochs", "cs_seeds", "ntk_width", "ntk_n_train", "ntk_n_kernel", "ntk_epochs",
            "ntk_seeds", "hmm_depth", "hmm_width", "hmm_n_train", "hmm_latent_dim", "hmm_ambient_dim",
            "hmm_epochs", "hmm_seeds"]
    for name in ints:
        if p[name] < (0 if name == "n_measure" else 1):
            raise ConfigError(f"{name} must be an integer >= {0 if name == 'n_measure' else 1}, got {p[name]} {hint}")
    for name in ("cs_lr", "ntk_lr", "hmm_lr"):
        if p[name] <= 0:
            raise ConfigError(f"{name} must be a number > 0, got {p[name]} {hint}")
    if not 0 <= p["min_probe_gain"] < 1:
        raise ConfigError(f"min_probe_gain must be in [0, 1) (an accuracy difference), got {p['min_probe_gain']} {hint}")
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


# --- helpers that decide verdicts ---------------------------------------------------------------

def has_tunnel(start: int, input_probe: float, probe: Sequence[float], *, min_gain: float) -> bool:
    """Return whether a network has a tunnel to speak of.

    probe (M,): probe accuracy of hidden layers 1..M; start: the probe-rule l* in that numbering.
    Three conditions: an extractor (l* > 1), a tunnel after it (l* < M: at least one layer follows
    l*), and something for the extractor to build (the best layer's probe beats the probe on the raw
    input by at least `min_gain`, accuracy units). Without them "the probe saturates after l*" holds
    by construction: l* = 1 when the input is already linearly separable, and nothing follows l* = M.
    """
    return bool(1 < start < len(probe) and max(probe) - input_probe >= min_gain)


def best_interior(curve: Sequence[float]) -> int:
    """Return the index of the largest value among the interior points 1..M-2 of `curve` (M >= 3),
    the first on ties: the candidate "intermediate peak" of a curve over depths or layers."""
    v = np.asarray(curve, dtype=float)
    if v.size < 3:
        raise ValueError(f"an interior peak needs >= 3 points, got {v.size}")
    return int(1 + np.argmax(v[1:-1]))


def peak_margin(curve: Sequence[float], index: int) -> float:
    """Return curve[index] minus the larger of its two neighbours (> 0: a strict local peak there).

    `index` must be interior (1..M-2). Evaluated per seed at the peak of the mean curve, it asks
    whether the peak beats its neighbours in each run, not only on average.
    """
    v = np.asarray(curve, dtype=float)
    if not 0 < index < v.size - 1:
        raise ValueError(f"index must be interior (1..{v.size - 2}), got {index}")
    return float(v[index] - max(v[index - 1], v[index + 1]))


def tunnel_lengths(starts: dict[int, int], depth: int) -> list[int]:
    """Return the tunnel length depth - l* per class count, in increasing order of C: the hidden
    layers l*..depth-1 (claim 4 compares them across C)."""
    return [depth - starts[c] for c in sorted(starts)]
