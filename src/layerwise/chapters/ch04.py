"""Chapter 04, the equilibrium layer: its parameters (book defaults, smoke/paper values, help), rules,
and the helpers that decide its verdicts (tolerance hits, null predictors, relative peak position,
per-seed slopes).

Numbering. `depth` is the number of weight matrices of `models.MLP` (the one meaning across the
book); the paper's and note 04's L is the number of hidden ReLU layers, L = depth - 1. Weight layers
are numbered l = 1..L+1 (l = 1 acts on the input, l = L+1 is the readout), as in
`metrics.alignment.peak_layer`.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..params import CHOICES, DATASETS, Bool, Choice, ConfigError, Float, Int, ListOf, Param, Path
from ..metrics import signal_propagation as sp
from ..stats import LineFit

PARAMS = dict(
    dataset=Param('mnist1d', "data set: mnist1d (offline, not linearly solvable), digits, or a torchvision set with "
                  "data_root", paper='mnist', rule=Choice(*DATASETS)),
    data_root=Param('', "folder holding torchvision data sets (paper preset)", rule=Path()),
    download=Param(False, "allow downloading a torchvision data set into data_root", rule=Bool()),
    n_train=Param(0, "training examples (0 = all; a class-stratified subset otherwise)", smoke=300, rule=Int(min=0)),
    n_align=Param(50, "fixed, class-stratified training examples on which every alignment is measured "
                  "(kernels are (10 n_align)^2 per layer)", smoke=20, paper=100, rule=Int(min=1)),
    depth=Param(11, "weight matrices of the section-3 network (L = depth - 1 hidden ReLU layers)", smoke=4, rule=Int(min=1)),
    width=Param(128, "hidden width of the section-3 network", smoke=16, paper=256, rule=Int(min=10, width=True)),
    lr=Param(0.01, "SGD learning rate at depth 11 (L = 10); see scale_lr_with_depth", rule=Float(min=0, closed="right")),
    scale_lr_with_depth=Param(True, "use lr * 10 / (depth - 1) at every depth (the NTK grows linearly with depth)", rule=Bool()),
    momentum=Param(0.9, "SGD momentum (Baratin et al.'s recipe)", rule=Float(min=0, max=1, closed="left")),
    weight_decay=Param(0.0005, "weight decay (Baratin et al.'s recipe)", rule=Float(min=0)),
    batch_size=Param(128, "minibatch size (Baratin et al.'s recipe)", rule=Int(min=1)),
    epochs=Param(30, "epoch budget of the section-3 network (training stops earlier at stop_loss)",
                 smoke=2, paper=200, rule=Int(min=1)),
    stop_loss=Param(0.01, "training stops once an epoch's mean training loss falls below this", rule=Float(min=0)),
    sweep_depths=Param([11, 21, 31, 41, 51], "depths of the depth sweep (L = depth - 1 = 10..50, note 04's range)",
                       smoke=[3, 4, 5], paper=[11, 21, 31, 41, 51, 61, 71, 81, 91, 101], rule=ListOf(Int(min=1))),
    sweep_width=Param(64, "hidden width of the depth sweep", smoke=16, paper=256, rule=Int(min=10, width=True)),
    sweep_epochs=Param(30, "epoch budget of every network of the depth sweep", smoke=2, paper=200, rule=Int(min=1)),
    n_seeds=Param(5, "seeds per depth of the sweep (seed s = seed + i); claims need >= 3", smoke=1, rule=Int(min=1)),
    theory_width=Param(2048, "width of the network compared with the mean-field recursions", smoke=256, rule=Int(min=1, width=True)),
    theory_depth=Param(21, "weight matrices of that network (L = 20 hidden layers, note 04's setting)", smoke=6, rule=Int(min=2)),
)


def check(p: dict[str, Any]) -> None:
    """Raise ConfigError for parameter combinations the chapter cannot run."""
    hint = "(set it in the parameters cell or with -p NAME VALUE)"
    if p["dataset"] not in CHOICES["dataset"]:
        raise ConfigError(f"dataset must be one of {', '.join(CHOICES['dataset'])}, got {p['dataset']!r} {hint}")
    for name, value in (("depth", p["depth"]), *(("sweep_depths", d) for d in p["sweep_depths"])):
        if value < 3:
            raise ConfigError(f"{name} must hold integers >= 3 (L >= 2 hidden layers, so that a layer lies between "
                              f"the first and the readout), got {value} {hint.replace('NAME', name)}")
    if p["theory_depth"] < 2:
        raise ConfigError(f"theory_depth must be >= 2, got {p['theory_depth']} {hint.replace('NAME', 'theory_depth')}")
    depths = p["sweep_depths"]
    if len(depths) < 3 or any(b <= a for a, b in zip(depths, depths[1:])):
        raise ConfigError(f"sweep_depths must list >= 3 increasing depths (a log-log slope needs three), got {depths} "
                          "(e.g. -p sweep_depths 11,21,31)")
    if not 10 <= p["n_align"] <= 2000:
        raise ConfigError(f"n_align must be in [10, 2000] (kernels are (10 n_align)^2 per layer), got {p['n_align']}")
    if min(p["width"], p["sweep_width"]) < 10:
        raise ConfigError(f"width and sweep_width must be >= 10 (the number of classes), got "
                          f"{p['width']} and {p['sweep_width']}")
    if 0 < p["n_train"] < p["n_align"]:
        raise ConfigError(f"n_train={p['n_train']} must be 0 (all) or >= n_align={p['n_align']}: the alignment "
                          "sample is drawn from the training set")


# --- the helpers that decide verdicts ------------------------------------------------------------

def hidden(depth: int) -> int:
    """Return L = depth - 1, the number of hidden ReLU layers of an MLP with `depth` weight matrices."""
    return int(depth) - 1


def lr_for(depth: int, lr: float, scale_with_depth: bool = True) -> float:
    """Return the learning rate of a net with `depth` weight matrices: lr * 10 / L (L = depth - 1), or lr."""
    return lr * (10 / hidden(depth) if scale_with_depth else 1.0)


def tolerance(depth: int) -> float:
    """Return note 04's tolerance max(2, 0.15 L) around a predicted peak layer (L = depth - 1)."""
    return max(2.0, 0.15 * hidden(depth))


def hits(peaks: Mapping[int, float], predictions: Mapping[int, float]) -> dict[int, bool]:
    """Return {depth: |peak - prediction| <= tolerance(depth)} for the depths in `peaks`.

    peaks, predictions: {depth: weight-layer index}; a prediction may be fractional (the middle layer).
    """
    missing = sorted(set(peaks) - set(predictions))
    if missing:
        raise ValueError(f"no prediction for depth {missing[0]}")
    return {d: bool(abs(float(peaks[d]) - float(predictions[d])) <= tolerance(d)) for d in peaks}


def hit_fraction(peaks: Mapping[int, float], predictions: Mapping[int, float]) -> float:
    """Return the fraction of depths at which `predictions` lands within the tolerance of `peaks`."""
    h = hits(peaks, predictions)
    return sum(h.values()) / len(h)


def middle_layer(depth: int) -> float:
    """Return the middle weight layer 1 + L / 2 of layers 1..L+1 (a fractional layer when L is odd)."""
    return 1 + hidden(depth) / 2


def random_interior_layers(depths: Sequence[int], seed: int) -> dict[int, int]:
    """Return {depth: a layer drawn uniformly from the interior layers 2..L} (deterministic given `seed`)."""
    rng = np.random.default_rng(seed)
    return {int(d): int(rng.integers(2, hidden(d) + 1)) for d in depths}


def relative_position(layer: float, depth: int) -> float:
    """Return (l - 1) / L in [0, 1]: 0 at the first weight layer, 1 at the readout, 1/2 at `middle_layer`."""
    return (float(layer) - 1) / hidden(depth)


def peak_margin(profile: Sequence[float]) -> float:
    """Return max_l A_l - max(A_1, A_{L+1}): how far the peak of an (L+1,) profile rises above both ends."""
    a = np.asarray(profile, dtype=float).reshape(-1)
    return float(a.max() - max(a[0], a[-1]))


def interior(layer: int, depth: int) -> bool:
    """Return whether weight layer `layer` is neither the first (1) nor the readout (depth)."""
    return 1 < int(layer) < int(depth)


def peak_slope(depths: Sequence[int], peaks: Sequence[float]) -> LineFit:
    """Return the log-log fit of the peak layer against L = depth - 1 (note 04, claim 5), >= 3 points."""
    return sp.power_law_fit([hidden(d) for d in depths], list(peaks))


def window_slopes(c0, starts: Sequence[int], ratio: float = 5.0) -> dict[int, float]:
    """Return {L0: log-log slope of the mean-field balance point over L in [L0, ratio * L0]}.

    The balance point is taken in weight-layer numbering from the recursions started at the input
    correlations `c0` (a float or a tensor of pairwise cosines), at 5 log-spaced L per window.
    """
    out = {}
    for start in starts:
        ls = sorted({int(round(v)) for v in np.geomspace(start, ratio * start, 5)})
        bal = [sp.meanfield_correlations(L + 1, c0).balance() for L in ls]
        out[int(start)] = float(sp.power_law_fit(ls, bal).slope)
    return out


def snapshot_grid(max_epochs: int) -> list[int]:
    """Return the epochs 1, 2, 4, 8, ... up to max_epochs (a geometric grid, as Baratin et al. log at
    floor(5 * 1.15^k) steps)."""
    return [2 ** k for k in range(20) if 2 ** k <= max_epochs]


def run_network(split, align_idx, depth: int, width: int, seed: int, epochs: int, *, lr: float, momentum: float,
                weight_decay: float, batch_size: int, stop_loss: float, device="cpu",
                snapshots: Sequence[int] = ()) -> dict[str, Any]:
    """Train one He-initialised ReLU MLP (`depth` weight matrices, biases) with the chapter's recipe.

    Returns a dict: depth, seed, diverged; init (LayerAlignment at initialisation), balance (the
    balance point measured at initialisation, weight-layer numbering), ntk_scale (mean NTK diagonal
    at init, summed over outputs); and when training did not diverge, final (LayerAlignment after
    training), history, loss, epochs, test_acc. `align_idx` indexes the fixed alignment sample in
    split.train; `lr` is used as given (see `lr_for`).
    """
    import torch

    from .. import models, train
    from ..metrics import alignment, ntk

    xa, ya = split.train.x[align_idx].to(device), split.train.labels[align_idx].to(device)
    net = models.MLP(split.train.x.shape[1], width, depth, split.train.n_classes, activation="relu", init="he",
                     bias=True, seed=seed).to(device)
    lk0 = ntk.tangent_kernels(net, xa)  # one set of kernels at init serves all three measurements
    out = dict(depth=depth, seed=seed, diverged=False, init=alignment.kernel_alignments(lk0, ya),
               balance=sp.kernel_correlations(lk0).balance(),
               ntk_scale=float(ntk.output_trace(lk0.ntk(), lk0.n_outputs).diagonal().mean()))
    del lk0
    record = lambda epoch, model: alignment.layerwise_alignment(model, xa, ya)  # noqa: E731
    try:
        hist = train.fit(net, split.train.x, split.train.labels, epochs=epochs, lr=lr, loss="ce",
                         batch_size=batch_size, momentum=momentum, weight_decay=weight_decay, stop_loss=stop_loss,
                         seed=seed, callback=record if snapshots else None, snapshot_epochs=snapshots, progress=False)
    except train.DivergenceError as err:
        print(f"depth={depth} seed={seed}: {err}")
        return {**out, "diverged": True}
    final = alignment.layerwise_alignment(net, xa, ya)
    net.eval()
    with torch.no_grad():
        acc = float((net(split.test.x.to(device)).argmax(1).cpu() == split.test.labels).float().mean())
    return {**out, "final": final, "history": hist, "loss": hist.loss[-1], "epochs": hist.epochs_run,
            "test_acc": acc}
