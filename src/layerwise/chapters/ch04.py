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

from ..params import DATASETS, Bool, Choice, ConfigError, Float, Int, ListOf, Param, Path
from ..metrics import landmarks
from ..metrics import signal_propagation as sp
from ..stats import LineFit

PARAMS = dict(
    dataset=Param('mnist1d', "data set: mnist1d (offline, not linearly solvable), digits, or a torchvision set with "
                  "data_root", paper='mnist', rule=Choice(*DATASETS)),
    data_root=Param('', "folder holding torchvision data sets (paper preset)", rule=Path()),
    download=Param(False, "allow downloading a torchvision data set into data_root", rule=Bool()),
    n_train=Param(1000, "training examples (a class-stratified subset; 0 = all): every net must fit them within "
                  "the CPU budget", smoke=300, paper=0, rule=Int(min=0)),
    n_align=Param(50, "fixed, class-stratified training examples on which every alignment is measured "
                  "(kernels are (10 n_align)^2 per layer)", smoke=20, paper=100, rule=Int(min=10, max=2000)),
    depth=Param(11, "weight matrices of the section-3 network (L = depth - 1 hidden ReLU layers)", smoke=4,
                rule=Int(min=3)),
    width=Param(64, "hidden width of the section-3 network", smoke=32, paper=256, rule=Int(min=10, width=True)),
    lr=Param(0.002, "Adam learning rate at L = 10; a net with L hidden layers gets lr * sqrt(10 / L), annealed "
             "to 0 by a cosine schedule over its epoch budget", smoke=0.01, rule=Float(min=0, closed="right")),
    batch_size=Param(128, "minibatch size (Baratin et al.'s and the authors' research code's)", rule=Int(min=1)),
    epochs=Param(50, "epoch budget at L = 10; a net with L hidden layers gets epochs * sqrt(L / 10) per cycle",
                 smoke=100, paper=300, rule=Int(min=1)),
    criterion_loss=Param(0.1, "training criterion: the training loss after training is at most this (the "
                         "authors' research code measures once the running loss is below 0.1)",
                         rule=Float(min=0, closed="right")),
    sweep_depths=Param([11, 21, 41], "depths of the depth sweep (L = depth - 1 = 10, 20, 40)",
                       smoke=[3, 4, 5], paper=[11, 21, 31, 41, 51, 61, 71, 81, 91, 101], rule=ListOf(Int(min=3))),
    sweep_width=Param(64, "hidden width of the depth sweep", smoke=32, paper=256, rule=Int(min=10, width=True)),
    n_seeds=Param(16, "seeds per depth of the sweep (seed s = seed + i); claims need >= 3", smoke=3, paper=5,
                  rule=Int(min=1)),
    theory_width=Param(2048, "width of the network compared with the mean-field recursions", smoke=256,
                       rule=Int(min=1, width=True)),
    theory_depth=Param(21, "weight matrices of that network (L = 20 hidden layers)", smoke=6,
                       rule=Int(min=2)),
)


def check(p: dict[str, Any]) -> None:
    """Raise ConfigError for parameter combinations the chapter cannot run (single values: the rules)."""
    depths = p["sweep_depths"]
    if len(depths) < 3 or any(b <= a for a, b in zip(depths, depths[1:])):
        raise ConfigError(f"sweep_depths must list >= 3 increasing depths (a log-log slope needs three), got {depths} "
                          "(e.g. -p sweep_depths 11,21,31)")
    if 0 < p["n_train"] < p["n_align"]:
        raise ConfigError(f"n_train={p['n_train']} must be 0 (all) or >= n_align={p['n_align']}: the alignment "
                          "sample is drawn from the training set")


# --- the helpers that decide verdicts ------------------------------------------------------------

def hidden(depth: int) -> int:
    """Return L = depth - 1, the number of hidden ReLU layers of an MLP with `depth` weight matrices."""
    return int(depth) - 1


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


def random_interior_layers(depths: Sequence[int], seed: int) -> dict[int, int]:
    """Return {depth: a layer drawn uniformly from the interior layers 2..L} (deterministic given `seed`)."""
    rng = np.random.default_rng(seed)
    return {int(d): int(rng.integers(2, hidden(d) + 1)) for d in depths}


def relative_position(layer: float, depth: int) -> float:
    """Return (l - 1) / L in [0, 1]: 0 at the first weight layer, 1 at the readout, 1/2 at `middle_layer`."""
    return (float(layer) - 1) / hidden(depth)


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


def epochs_for(depth: int, epochs_at_10: int) -> int:
    """Return the epoch budget of a net with `depth` weight matrices: epochs_at_10 * sqrt(L / 10), rounded.

    Deeper plain nets need more (and smaller) steps to fit: measured on MNIST-1D with Adam, about 30,
    40 and 60 epochs to a running training loss of 0.1 at L = 10, 20, 40 (1000 training examples).
    """
    return max(1, int(round(epochs_at_10 * (hidden(depth) / 10) ** 0.5)))


def lr_for(depth: int, lr_at_10: float) -> float:
    """Return the Adam learning rate of a net with `depth` weight matrices: lr_at_10 * sqrt(10 / L).

    With a constant rate the deepest nets' losses spike and some stay above the criterion; the
    smaller rate pairs with the longer budget of `epochs_for` (the same lr * epochs at every depth).
    """
    return float(lr_at_10) * (10 / hidden(depth)) ** 0.5


def first_epoch_below(losses: Sequence[float], level: float) -> int | None:
    """Return the first epoch e >= 1 whose mean training loss losses[e] is <= level (None if never).

    losses[0] is the loss before training (the `train.History.loss` convention).
    """
    for epoch, value in enumerate(losses):
        if epoch >= 1 and value <= level:
            return epoch
    return None


def _accuracy_and_loss(net, x, y) -> tuple[float, float]:
    """Return (accuracy, mean cross-entropy) of `net` on (x, y), in eval mode (the book's `train.accuracy`)."""
    import torch

    from .. import train

    net.eval()
    with torch.no_grad():
        out = net(x)
        return float(train.accuracy(out, y)), float(torch.nn.functional.cross_entropy(out, y))


def train_depth(split, align_idx, depth: int, width: int, seeds: Sequence[int], *, epochs: int, lr: float,
                batch_size: int, criterion_loss: float, rounds: int = 4, device="cpu") -> list[dict[str, Any]]:
    """Train one He-initialised ReLU MLP per seed (`depth` weight matrices, biases) to the criterion.

    The recipe (the chapter's): cross-entropy, Adam at `lr` annealed to 0 by a cosine schedule over
    `epochs` epochs, minibatches of `batch_size` in each seed's own order; the seeds' nets are trained
    at once as an `ensemble.Ensemble` (each exactly as alone). The criterion: the training loss over
    the whole training set, after training, is <= `criterion_loss`. A net that misses it gets another
    cosine cycle of `epochs` epochs from where it stopped (a warm restart), up to `rounds` cycles.

    Returns one dict per seed: depth, seed; init (LayerAlignment at initialisation), balance (the
    balance point measured at initialisation, weight-layer numbering), ntk_scale (mean NTK diagonal at
    init, summed over outputs); final (LayerAlignment after training); epochs (epochs run, a multiple
    of `epochs`), first_below (first epoch whose running mean loss was <= criterion_loss, or None),
    train_loss, train_acc, test_acc (after training) and reached (train_loss <= criterion_loss).
    """
    from .. import models
    from ..metrics import alignment, ntk

    xa, ya = split.train.x[align_idx].to(device), split.train.labels[align_idx].to(device)
    nets = [models.MLP(split.train.x.shape[1], width, depth, split.train.n_classes, activation="relu", init="he",
                       bias=True, seed=int(s)).to(device) for s in seeds]
    out = []
    for s, net in zip(seeds, nets):
        lk0 = ntk.tangent_kernels(net, xa)  # one set of kernels at init serves all three measurements
        out.append(dict(depth=int(depth), seed=int(s), init=alignment.kernel_alignments(lk0, ya),
                        balance=sp.kernel_correlations(lk0).balance(),
                        ntk_scale=float(ntk.output_trace(lk0.ntk(), lk0.n_outputs).diagonal().mean()),
                        losses=[], epochs=0))
        del lk0
    todo = list(range(len(nets)))
    for _ in range(max(1, rounds)):
        trained, losses = _fit_cycle([nets[m] for m in todo], [int(seeds[m]) for m in todo], split, epochs=epochs,
                                     lr=lr, batch_size=batch_size, device=device)
        for m, net, curve in zip(todo, trained, losses):
            nets[m] = net
            row = out[m]
            row["losses"] += curve if not row["losses"] else curve[1:]
            row["epochs"] += epochs
            row["train_acc"], row["train_loss"] = _accuracy_and_loss(net, split.train.x.to(device),
                                                                     split.train.labels.to(device))
        todo = [m for m in todo if out[m]["train_loss"] > criterion_loss]
        if not todo:
            break
    for row, net in zip(out, nets):
        row["test_acc"], _ = _accuracy_and_loss(net, split.test.x.to(device), split.test.labels.to(device))
        row.update(final=alignment.layerwise_alignment(net, xa, ya),
                   first_below=first_epoch_below(row.pop("losses"), criterion_loss),
                   reached=bool(row["train_loss"] <= criterion_loss))
    return out


def _fit_cycle(nets, seeds, split, *, epochs: int, lr: float, batch_size: int, device) -> tuple[list, list]:
    """Train `nets` (one seed each) for one cosine cycle of Adam, as one ensemble; return (nets, loss curves)."""
    from .. import train
    from ..ensemble import Ensemble

    x, y = split.train.x.to(device), split.train.labels.to(device)
    kw = dict(epochs=epochs, lr=lr, loss="ce", batch_size=batch_size, optimizer="adam", schedule="cosine",
              progress=False)
    if len(nets) == 1:
        hist = train.fit(nets[0], x, y, seed=seeds[0], **kw)
        return nets, [list(hist.loss)]
    ens = Ensemble(nets)
    hist = train.fit(ens, x, y, seed=seeds, **kw)
    return ens.unstack(), [list(hist.member(m).loss) for m in range(len(nets))]


def run_network(split, align_idx, depth: int, width: int, seed: int, epochs: int, *, lr: float, batch_size: int,
                criterion_loss: float, device="cpu", snapshots: Sequence[int] = ()) -> dict[str, Any]:
    """Train one net with the chapter's recipe (see `train_depth`), keeping alignments at `snapshots`.

    Returns train_depth's dict for this net plus history (the `train.History`, whose snapshots hold
    the LayerAlignment at epoch 0 and at each snapshot epoch).
    """
    from .. import models, train
    from ..metrics import alignment, ntk

    xa, ya = split.train.x[align_idx].to(device), split.train.labels[align_idx].to(device)
    net = models.MLP(split.train.x.shape[1], width, depth, split.train.n_classes, activation="relu", init="he",
                     bias=True, seed=seed).to(device)
    lk0 = ntk.tangent_kernels(net, xa)
    row = dict(depth=int(depth), seed=int(seed), init=alignment.kernel_alignments(lk0, ya),
               balance=sp.kernel_correlations(lk0).balance())
    del lk0
    record = lambda epoch, model: alignment.layerwise_alignment(model, xa, ya)  # noqa: E731
    hist = train.fit(net, split.train.x.to(device), split.train.labels.to(device), epochs=epochs, lr=lr, loss="ce",
                     batch_size=batch_size, optimizer="adam", schedule="cosine", seed=seed, callback=record,
                     snapshot_epochs=snapshots, progress=False)
    train_acc, train_loss = _accuracy_and_loss(net, split.train.x.to(device), split.train.labels.to(device))
    test_acc, _ = _accuracy_and_loss(net, split.test.x.to(device), split.test.labels.to(device))
    row.update(final=alignment.layerwise_alignment(net, xa, ya), history=hist, epochs=int(hist.epochs_run),
               first_below=first_epoch_below(hist.loss, criterion_loss), train_loss=train_loss, train_acc=train_acc,
               test_acc=test_acc, reached=bool(train_loss <= criterion_loss))
    return row


def training_summary(rows: Sequence[Mapping[str, Any]], criterion_loss: float) -> str:
    """Return one line on a recipe's nets: how many reached the criterion, in which epochs, accuracies.

    rows: dicts with epochs, first_below, reached, train_acc, test_acc (as `train_depth` returns).
    """
    def span(values, fmt="d"):
        lo, hi = format(min(values), fmt), format(max(values), fmt)
        return lo if lo == hi else f"{lo}-{hi}"

    n, hit = len(rows), sum(bool(r["reached"]) for r in rows)
    firsts = [int(r["first_below"]) for r in rows if r["first_below"] is not None]
    head = ("the net reached" if n == 1 and hit else f"all {n} nets reached" if hit == n
            else f"{hit} of {n} nets reached")
    first = f" (the running loss first fell below it at epoch {span(firsts)})" if firsts else ""
    return (f"{head} a training loss ≤ {criterion_loss:g} in {span([int(r['epochs']) for r in rows])} epochs"
            f"{first}; train accuracy {span([r['train_acc'] for r in rows], '.2f')}, test accuracy "
            f"{span([r['test_acc'] for r in rows], '.2f')}")


# --- per-network values that the claims are made of ----------------------------------------------

def weight_layers(depth: int) -> range:
    """Return the weight layers 1..L+1 of a net with `depth` weight matrices (the chapter's numbering)."""
    return range(1, int(depth) + 1)


def middle(depth: int) -> float:
    """Return the middle weight layer 1 + L/2 (`metrics.landmarks.middle_layer` of layers 1..L+1)."""
    return landmarks.middle_layer(weight_layers(depth))


def interior_margin(profile: Sequence[float]) -> float:
    """Return the signed margin of an (L+1,) alignment profile: best hidden layer minus the larger end.

    `metrics.landmarks.interior_peak_margin` over layers 1..L+1: > 0 when the peak is interior (by
    that much), < 0 when the input layer or the readout aligns best.
    """
    a = np.asarray(profile, dtype=float).reshape(-1)
    return landmarks.interior_peak_margin(a, range(1, a.size + 1))


def endpoint_change(by_depth: Mapping[int, float], transform=None) -> float:
    """Return f(deepest) - f(shallowest) of {depth: value}, f = transform(value, depth) or the value.

    With transform=relative_position this is the change of the relative peak position (l - 1) / L
    from the shallowest to the deepest net (< 0: the peak sits relatively earlier in deeper nets).
    """
    lo, hi = min(by_depth), max(by_depth)
    f = (lambda v, d: float(v)) if transform is None else transform
    return float(f(by_depth[hi], hi) - f(by_depth[lo], lo))


def best_null_hits(peaks: Mapping[int, float], nulls: Mapping[str, Mapping[int, float]]) -> tuple[str, float]:
    """Return (name, hit fraction) of the null predictor that hits `peaks` most often (first on ties)."""
    scores = {name: hit_fraction(peaks, pred) for name, pred in nulls.items()}
    best = max(scores, key=lambda k: scores[k])
    return best, scores[best]


def per_seed(rows: Sequence[Mapping[str, Any]], value) -> dict[int, float]:
    """Return {seed: value({depth: row})} from sweep rows (dicts with depth and seed)."""
    seeds = sorted({int(r["seed"]) for r in rows})
    return {s: value({int(r["depth"]): r for r in rows if int(r["seed"]) == s}) for s in seeds}


def hadamard_errors(x, n_classes: int, seed: int) -> dict[str, float]:
    """Return the largest relative error between the Hadamard-factored K_l and per-example Jacobians.

    A small He ReLU MLP (width 32, 4 weight matrices) in float64 on `x`, with and without biases, at
    initialisation and after 20 epochs of SGD: {"bias, init": error, ...} (section 1's sanity check).
    """
    import torch

    from .. import models, train
    from ..metrics import ntk

    labels = torch.arange(x.shape[0]) % n_classes
    errors = {}
    for bias in (True, False):
        net = models.MLP(x.shape[1], 32, 4, n_classes, activation="relu", bias=bias, init="he", seed=seed).double()
        for stage in ("init", "trained"):
            if stage == "trained":
                train.fit(net, x.double(), labels, epochs=20, lr=0.05, loss="ce", momentum=0.9, seed=seed,
                          progress=False)
            fast, ref = ntk.layerwise_ntk(net, x.double()), ntk.layerwise_ntk_reference(net, x.double())
            errors[f"{'bias' if bias else 'no bias'}, {stage}"] = max(
                float((fast[l] - ref[l]).norm() / ref[l].norm()) for l in range(fast.shape[0]))
    return errors


def edge_of_chaos_rates(c0s: Sequence[float] = (0.0, 0.5, 0.9)) -> tuple[dict, list[float]]:
    """Return ({"c0=..": {"l=500": r, "l=2000": r}}, [min, max]) of the Edge-of-Chaos asymptotics.

    r = l^2 (1 - c_l) / kappa (-> 1, Hayou et al.); [min, max] of ct_l / (l/L)^3 over l/L >= 1/2 at
    L = 1000 (note 04: in [1.0, 1.2]).
    """
    import torch

    edge = {}
    for c0 in c0s:
        c = sp.forward_correlations(c0, 2000)
        edge[f"c0={c0}"] = {f"l={l}": float(l ** 2 * (1 - c[l]) / sp.KAPPA) for l in (500, 2000)}
    ct = sp.backward_correlations(sp.forward_correlations(0.5, 1000))
    cubic = torch.stack([ct[l] / (l / 1000) ** 3 for l in range(500, 1001)])
    return edge, [float(cubic.min()), float(cubic.max())]


def summarise(run: Mapping[str, Any], balance_mf: float) -> dict[str, Any]:
    """Return the flat table row of one trained net (`train_depth` dict): peaks, margins, balance, training."""
    return dict(depth=run["depth"], L=hidden(run["depth"]), seed=run["seed"], l_max=run["final"].peak(),
                l_max_init=run["init"].peak(), margin=interior_margin(run["final"].tangent),
                margin_init=interior_margin(run["init"].tangent), balance=run["balance"], balance_mf=balance_mf,
                l_max_global=run["final"].peak("global"), l_max_trace=run["final"].peak("trace"),
                epochs=run["epochs"], first_below=run["first_below"], train_loss=run["train_loss"],
                train_acc=run["train_acc"], test_acc=run["test_acc"], reached=run["reached"])


# --- the network store -----------------------------------------------------------------------------

def measurement_code() -> str:
    """Return a hash of the code that trains and measures this chapter's nets beyond the store's own
    training-code hash: these functions and the alignment, kernel and propagation modules."""
    import hashlib
    import inspect

    from ..metrics import alignment, ntk

    parts = [inspect.getsource(obj) for obj in (train_depth, _fit_cycle, run_network, _accuracy_and_loss,
                                                first_epoch_below, alignment, ntk, sp)]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:16]


def cached_depth(split, align_idx, depth: int, width: int, seeds: Sequence[int], *, data: Mapping[str, Any],
                 **recipe) -> list[dict[str, Any]]:
    """Return `train_depth(split, align_idx, depth, width, seeds, **recipe)` through the network store.

    data: what identifies `split` and `align_idx` (dataset, n_train, seed, n_align); recipe: train_depth's
    keywords (epochs, lr, batch_size, criterion_loss, ...; device is not part of the key).
    """
    from .. import store

    key = dict(what="ch04 depth sweep", depth=int(depth), width=int(width), seeds=[int(s) for s in seeds],
               data=dict(data), code=measurement_code(), **{k: v for k, v in recipe.items() if k != "device"})
    return store.cached(key, lambda: train_depth(split, align_idx, depth, width, seeds, **recipe))


def cached_network(split, align_idx, depth: int, width: int, seed: int, epochs: int, *, data: Mapping[str, Any],
                   **recipe) -> dict[str, Any]:
    """Return `run_network(split, align_idx, depth, width, seed, epochs, **recipe)` through the network store."""
    from .. import store

    key = dict(what="ch04 one network", depth=int(depth), width=int(width), seed=int(seed), epochs=int(epochs),
               data=dict(data), code=measurement_code(), **{k: (list(v) if isinstance(v, (list, tuple)) else v)
                                                            for k, v in recipe.items() if k != "device"})
    return store.cached(key, lambda: run_network(split, align_idx, depth, width, seed, epochs, **recipe))
