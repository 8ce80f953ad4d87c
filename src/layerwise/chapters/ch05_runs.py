"""Chapter 05's experiment in the package: training recipes, the training runs (behind the network
store), the per-network measurements and the values its claims test.

Recipes are JSON-able dicts that fix a trained network completely (task, data, architecture,
optimiser, epochs, criterion, seed): `train_net(recipe)` returns its training record (trained
weights, losses, epochs used, train/test accuracy, whether it met its criterion, and what was
measured during training), and is the function `store.cached` keys on the recipe. Chapter 7 trains
MLPs of the same family: `mlp_recipe(...)` + `train_net(...)` give it the same nets where the
recipes agree.

Layer numbering: a network of depth L (weight matrices) has the input at l = 0, hidden layers
l = 1..L-1 and the output at l = L; per-layer lists below run over hidden layers 1..L-1 unless said.
"""
from __future__ import annotations

import copy
import functools
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .. import data, features, models, train
from ..metrics import cka, landmarks, rank
from ..metrics.probes import linear_probe_accuracy

AUTHORS_TOL = "authors' default tolerance"
REL_TOL = "1e-3 of the largest"
RANK_RULES = (AUTHORS_TOL, REL_TOL)
START_RULES = ("probe 95%", "probe 98%", "rank", "CKA 0.9")


# --- accuracy, ranks and the tunnel start ---------------------------------------------------------

def accuracy(outputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Return the accuracy of outputs (n, K) against integer labels (n,): `train.accuracy`, as a float."""
    return float(train.accuracy(torch.as_tensor(outputs), torch.as_tensor(labels)))


def covariance_rank(h: torch.Tensor, rule: str = AUTHORS_TOL) -> int:
    """Return the numerical rank of features h (n, d) under one of `RANK_RULES`.

    Both count eigenvalues of the centred covariance above a fraction of the largest: the authors'
    code (`torch.linalg.matrix_rank(torch.cov(R.T))`, PyTorch's default tolerance on float32 features)
    keeps those above d * eps_float32 of the largest; the tunnel literature's rule keeps those above
    1e-3 of it. At d = 8000 the two agree; at d = 128 the authors' rule counts more directions.
    """
    if rule == AUTHORS_TOL:
        d = h.reshape(h.shape[0], -1).shape[1]
        return rank.numerical_rank(h, convention="tunnel", threshold=d * torch.finfo(torch.float32).eps)
    if rule == REL_TOL:
        return rank.numerical_rank(h, convention="tunnel", threshold=1e-3)
    raise ValueError(f"rule must be one of {RANK_RULES}, got {rule!r}")


def tunnel_starts(probe: Sequence[float], ranks: Sequence[float], cka_hidden: Any) -> dict[str, int]:
    """Return l* (hidden layers numbered 1..M) under each of `START_RULES`.

    probe 95% / 98%: the first layer whose probe reaches that share of the last hidden layer's probe
    (Masarczyk et al. as Harun et al. 2024 report it: of the final accuracy); rank: the first layer
    from which the rank never rises again; CKA 0.9: the first layer from which every layer has CKA
    >= 0.9 with the last hidden layer. All through `metrics.landmarks.tunnel_start`.
    """
    layers = range(1, len(probe) + 1)
    out = {f"probe {round(f * 100)}%": landmarks.tunnel_start(layers, rule="probe", probe=probe, fraction=f,
                                                              reference="last")
           for f in (0.95, 0.98)}
    out["rank"] = landmarks.tunnel_start(layers, rule="rank", rank=ranks)
    out["CKA 0.9"] = landmarks.tunnel_start(layers, rule="cka", cka=cka_hidden, threshold=0.9)
    return out


def has_tunnel(start: int, input_probe: float, probe: Sequence[float], *, min_gain: float) -> bool:
    """Return whether a network has a tunnel to speak of (the claims that need one are posed only there).

    probe (M,): probe accuracy of hidden layers 1..M; start: l* in that numbering. An extractor
    (l* > 1), a tunnel after it (l* < M), and something for the extractor to build (the best layer's
    probe beats the raw input's by at least `min_gain`).
    """
    return bool(1 < start < len(probe) and max(probe) - input_probe >= min_gain)


# --- recipes and training ---------------------------------------------------------------------------

def mlp_recipe(task: Mapping[str, Any], *, seed: int, depth: int, width: int, epochs: int, lr: float,
               optimizer: str = "sgd", momentum: float = 0.0, weight_decay: float = 0.0, batch_size: int = 0,
               init: str = "he", stop_loss: float | None = None, criterion: float = 0.99,
               rank_epochs: Sequence[int] = (), n_measure: int = 0, schedule: str = "constant") -> dict:
    """Return the recipe of one MLP classifier (a JSON-able dict; the network store's key).

    task: {"name": "classes", "dataset": "mnist1d", "classes": [...], "n_train": 0} (a class subset of
    a `data.load` data set, relabelled 0..C-1),
    {"name": "core_spurious", "n": 600, "a_core": 0.25}, {"name": "yin_yang", "n": 200} or
    {"name": "hidden_manifold", "n": 600, "latent": "gaussian", "latent_dim": 10, "ambient_dim": 100}.
    criterion: the training accuracy a net must reach to count as trained; schedule: "constant" or
    "cosine" (the learning rate annealed to 0 over `epochs`). rank_epochs: epochs at
    which every hidden layer's numerical rank (both rules) is recorded during training, on the first
    `n_measure` training samples (0 = all).
    """
    return dict(task=dict(task), seed=int(seed), depth=int(depth), width=int(width), epochs=int(epochs),
                lr=float(lr), optimizer=optimizer, momentum=float(momentum), weight_decay=float(weight_decay),
                batch_size=int(batch_size), init=init, stop_loss=stop_loss, criterion=float(criterion),
                rank_epochs=sorted({int(e) for e in rank_epochs}), n_measure=int(n_measure), schedule=schedule)


@functools.lru_cache(maxsize=4)
def _split(name: str, data_root: str = "", download: bool = False) -> data.Split:
    return data.load(name, data_root=data_root, download=download, seed=0)


def task_data(task: Mapping[str, Any], seed: int) -> tuple[data.Dataset, data.Dataset | None]:
    """Return (train, test) of a recipe's task; test is None where the task has no test split here."""
    name = task["name"]
    if name == "classes":
        split, classes = _split(task["dataset"], task.get("data_root", ""), task.get("download", False)), list(task["classes"])
        parts = []
        for ds in (split.train, split.test):
            keep = torch.isin(ds.labels, torch.tensor(classes))
            relabel = torch.full((int(split.train.n_classes),), -1, dtype=torch.int64)
            relabel[torch.tensor(classes)] = torch.arange(len(classes))
            parts.append(data.Dataset(ds.x[keep], relabel[ds.labels[keep]], len(classes), "mnist1d"))
        tr, te = parts
        n = int(task.get("n_train", 0))
        if 0 < n < len(tr):
            tr = tr.subset(data.stratified_subset(tr.labels, n, seed))
        return tr, te
    if name == "core_spurious":
        return (data.core_spurious(task["n"], a_core=task["a_core"], seed=seed),
                data.core_spurious(task["n"], a_core=task["a_core"], p=0.0, seed=seed + 1000))
    if name == "yin_yang":
        return data.yin_yang(task["n"], seed=seed), None
    if name == "hidden_manifold":
        shape = dict(latent_dim=task["latent_dim"], ambient_dim=task["ambient_dim"], latent=task["latent"],
                     manifold_seed=seed)
        return data.hidden_manifold(task["n"], seed=seed, **shape)[0], None
    raise ValueError(f"unknown task {name!r}")


def build(recipe: Mapping[str, Any], state: Mapping[str, torch.Tensor] | None = None) -> models.MLP:
    """Return the recipe's MLP at initialisation, or with `state` (a trained state dict) loaded."""
    tr, _ = task_data(recipe["task"], recipe["seed"])
    net = models.MLP(tr.x.shape[1], recipe["width"], recipe["depth"], tr.n_classes, init=recipe["init"],
                     seed=recipe["seed"])
    if state is not None:
        net.load_state_dict(state)
    return net


def measure_set(ds: data.Dataset, n: int) -> data.Dataset:
    """Return the first n samples of ds (all for n <= 0): where ranks and CKA are measured."""
    return ds if n <= 0 or n >= len(ds) else ds.subset(torch.arange(n))


def train_net(recipe: Mapping[str, Any]) -> dict:
    """Train the recipe's network and return its training record (picklable):

    state (trained state dict), loss (per epoch, index 0 before training), epochs_run, train_acc,
    test_acc (None without a test split), reached (train_acc >= criterion), criterion, and
    rank_snapshots [(epoch, {rank rule: [rank of hidden layer 1..L-1]})] at 0 and `rank_epochs`.
    """
    tr, te = task_data(recipe["task"], recipe["seed"])
    net = build(recipe)
    meas = measure_set(tr, recipe["n_measure"])

    def ranks(epoch: int, model: torch.nn.Module) -> dict[str, list[int]]:
        hidden = features.layer_features(model, meas.x)[1:-1]
        return {r: [covariance_rank(h, r) for h in hidden] for r in RANK_RULES}

    hist = train.fit(net, tr.x, tr.labels, loss="ce", optimizer=recipe["optimizer"], lr=recipe["lr"],
                     momentum=recipe["momentum"], weight_decay=recipe["weight_decay"],
                     batch_size=recipe["batch_size"], epochs=recipe["epochs"], stop_loss=recipe["stop_loss"],
                     schedule=recipe.get("schedule", "constant"),
                     seed=recipe["seed"], callback=ranks if recipe["rank_epochs"] else None,
                     snapshot_epochs=recipe["rank_epochs"])
    with torch.no_grad():
        train_acc = accuracy(net.eval()(tr.x), tr.labels)
        test_acc = None if te is None else accuracy(net(te.x), te.labels)
    return dict(state={k: v.detach().clone() for k, v in net.state_dict().items()}, loss=list(hist.loss),
                epochs_run=hist.epochs_run, train_acc=train_acc, test_acc=test_acc,
                reached=bool(train_acc >= recipe["criterion"]), criterion=recipe["criterion"],
                rank_snapshots=list(hist.snapshots))


def trained(recipe: Mapping[str, Any], fit: Callable[[Mapping[str, Any]], dict] = train_net) -> dict:
    """Return `fit(recipe)` through the network store (`store.cached`; trained once per recipe).

    The key adds to the recipe a hash of this module's training path (`fit`, `task_data`, `build`,
    `covariance_rank`), which the store's own code hash (train.py, models.py, data.py...) does not see.
    """
    try:
        from .. import store
    except ImportError:  # a package without the store trains every time
        return fit(recipe)
    return store.cached({**recipe, "code": _training_hash(fit)}, lambda: fit(recipe))


def _training_hash(fit: Callable[..., Any]) -> str:
    import hashlib
    import inspect

    h = hashlib.sha256()
    for fn in (fit, task_data, build, measure_set, covariance_rank):
        h.update(inspect.getsource(fn).encode())
    return h.hexdigest()[:16]


def training_summary(records: Sequence[Mapping[str, Any]], what: str) -> str:
    """Return one line on a recipe's nets: how many, how many met the criterion, epochs, accuracies."""
    n, ok = len(records), sum(bool(r["reached"]) for r in records)
    crit = records[0].get("criterion", 0.99) if records else float("nan")
    ep = [r["epochs_run"] for r in records]
    tr = [r["train_acc"] for r in records]
    te = [r["test_acc"] for r in records if r.get("test_acc") is not None]
    head = (f"{what}: {n} nets, all reached train accuracy >= {crit:g}" if ok == n else
            f"{what}: {n} nets, {ok} of {n} reached train accuracy >= {crit:g} (the rest are left out of "
            "claims about trained nets)")
    line = f"{head} in {min(ep)}-{max(ep)} epochs; train {min(tr):.2f}-{max(tr):.2f}"
    return line + (f", test {min(te):.2f}-{max(te):.2f}" if te else "")


# --- per-network measurements ---------------------------------------------------------------------

def tunnel_profile(net: torch.nn.Module, meas: data.Dataset, test: data.Dataset, *, min_gain: float,
                   input_probe: float | None = None) -> dict:
    """Return one network's per-hidden-layer profile on (meas, test): rank under both rules, erank,
    probe (fitted on meas, scored on test), CKA between hidden layers, l* under every rule, whether it
    has a tunnel (probe 98%), the raw-input probe and the hidden features on meas."""
    f_meas = features.layer_features(net, meas.x)
    f_test = features.layer_features(net, test.x)
    hidden = f_meas[1:-1]
    if input_probe is None:
        input_probe = linear_probe_accuracy(meas.x, meas.labels, test.x, test.labels)
    probe = [linear_probe_accuracy(a, meas.labels, b, test.labels) for a, b in zip(hidden, f_test[1:-1])]
    ranks = {r: [covariance_rank(h, r) for h in hidden] for r in RANK_RULES}
    erank = [rank.effective_rank(h, center=True) for h in hidden]
    cka_hidden = cka.cka_matrix(hidden).cpu()
    starts = tunnel_starts(probe, ranks[AUTHORS_TOL], cka_hidden)
    return dict(probe=probe, rank=ranks, erank=erank, cka=cka_hidden, starts=starts, start=starts["probe 98%"],
                input_probe=input_probe, tunnel=has_tunnel(starts["probe 98%"], input_probe, probe, min_gain=min_gain),
                features=f_meas, test_acc=accuracy(f_test[-1], test.labels))


def held_out_probes(net: torch.nn.Module, ds: data.Dataset, *, folds: int = 2, seed: int = 0) -> list[float]:
    """Return per hidden layer the probe accuracy on classes the net never saw, cross-fitted.

    ds: every sample of the held-out classes (train and test splits pooled); split into `folds`
    class-stratified folds, each scored by a probe fitted on the others, so that every sample is a
    test sample once (a larger test set than the test split alone).
    """
    fold = torch.empty(len(ds), dtype=torch.int64)
    gen = torch.Generator().manual_seed(seed)
    for c in torch.unique(ds.labels):
        idx = torch.nonzero(ds.labels == c).reshape(-1)
        idx = idx[torch.randperm(len(idx), generator=gen)]
        fold[idx] = torch.arange(len(idx)) % folds
    hidden = features.layer_features(net, ds.x)[1:-1]
    out = []
    for h in hidden:
        hits = 0.0
        for k in range(folds):
            a, b = fold != k, fold == k
            hits += linear_probe_accuracy(h[a], ds.labels[a], h[b], ds.labels[b]) * int(b.sum())
        out.append(hits / len(ds))
    return out


def ntk_measures(net: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor) -> dict:
    """Return the full NTK's numerical rank (1e-3 rule), effective rank, centred kernel-target
    alignment and the label energy in its top-2 eigenvectors, on points x, in float64."""
    from ..metrics.alignment import kernel_target_alignment
    from ..metrics.ntk import ntk_effective_rank, ntk_rank, tangent_kernels
    from ..metrics.tunnel import top_eigvec_label_energy

    k = tangent_kernels(copy.deepcopy(net).double(), x.double(), outputs="trace").ntk().cpu()
    return dict(rank=ntk_rank(k, convention="tunnel"), erank=ntk_effective_rank(k),
                kta=float(kernel_target_alignment(k, labels, convention="trace")),
                top2=top_eigvec_label_energy(k, labels, 2))


def linear_readout(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the least-squares affine read-out of target (n, k) from x (n, d): the best any linear
    map of the input can do (in sample), the raw-input control of the teacher-directions claim."""
    xd = torch.cat([x.double(), torch.ones(x.shape[0], 1, dtype=torch.float64)], 1)
    coef = torch.linalg.lstsq(xd, target.double()).solution
    return xd @ coef


# --- the values the claims test (unit-tested in tests/test_ch05_values.py) ------------------------

def last_rank(ranks: Sequence[float]) -> float:
    """Return the last hidden layer's rank (claim 1 asks for [C-1, 3C])."""
    return float(ranks[-1])


def late_rise(ranks: Sequence[float]) -> float:
    """Return the largest relative rise r_{l+1}/r_l - 1 over the last half of the layers (0 if none)."""
    half = list(ranks[len(ranks) // 2:])
    rises = [b / a - 1 for a, b in zip(half, half[1:]) if b > a]
    return round(max(rises), 12) if rises else 0.0


def saturation_gap(probe: Sequence[float], start: int) -> float:
    """Return max over layers l >= start (1-based) of (best probe - probe_l): claim 2 asks <= 0.02."""
    top = max(probe)
    return round(max(top - a for a in probe[start - 1:]), 12)


def to_last_min(cka_hidden: Any, start: int) -> float:
    """Return min over hidden layers l >= start (1-based) of CKA(l, last hidden layer)."""
    m = np.asarray(cka_hidden, dtype=float)
    return float(m[start - 1:, -1].min())


def depth_shift(start_deep: int, start_short: int) -> int:
    """Return |l*(deep) - l*(short)|: claim 3 asks that extra depth leave l* within one layer."""
    return abs(int(start_deep) - int(start_short))


def tunnel_length(start: int, depth: int) -> int:
    """Return the hidden layers l*..L-1 of a depth-L net: the tunnel's length."""
    return int(depth) - int(start)


def class_value(starts: Mapping[int, int], depth: int) -> int:
    """Return the tunnel length at the fewest classes minus that at the most (claim 4a: > 0)."""
    lo, hi = min(starts), max(starts)
    return tunnel_length(starts[lo], depth) - tunnel_length(starts[hi], depth)


def rank_gap(snapshots: Sequence[tuple[int, Any]], epoch: int, rule: str = AUTHORS_TOL) -> float:
    """Return max over hidden layers of |rank(epoch) / rank(final) - 1| from a record's rank snapshots
    [(epoch, {rule: ranks})] (the final = the last snapshot); claim 5 asks <= 0.25 at 10% of training."""
    snaps = dict(snapshots)
    early, final = snaps[epoch][rule], snapshots[-1][1][rule]
    return round(max(abs(a / b - 1) for a, b in zip(early, final)), 12)


def ood_drop(probes: Sequence[float], start: int) -> float:
    """Return the held-out probe at l* (1-based) minus at the last hidden layer (claim 7: the drop)."""
    return float(probes[start - 1] - probes[-1])


def peak_layer(values: Sequence[float]) -> int:
    """Return the 1-based hidden layer where `values` (hidden layers 1..M) is largest (first on ties)."""
    return landmarks.peak_layer(values, layers=range(1, len(values) + 1))


def interior(layer: int, m: int) -> bool:
    """Return whether a 1-based position lies strictly inside 1..m (an intermediate peak)."""
    return 1 < layer < m


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Return the Spearman rank correlation of x and y (average ranks on ties; 0 when either is constant)."""
    from scipy.stats import spearmanr

    if len(set(x)) < 2 or len(set(y)) < 2:
        return 0.0
    return float(spearmanr(x, y).statistic)


def best_interior(curve: Sequence[float]) -> int:
    """Return the 0-based index of the largest value among the interior points 1..M-2 (M >= 3)."""
    v = np.asarray(curve, dtype=float)
    if v.size < 3:
        raise ValueError(f"an interior peak needs >= 3 points, got {v.size}")
    return int(1 + np.argmax(v[1:-1]))


def interior_margins(curves: Mapping[Any, Sequence[float]]) -> dict:
    """Return {seed: best interior value minus the larger end value} of curves over depths: > 0 when
    the curve peaks at an intermediate depth (`landmarks.interior_peak_margin`)."""
    return {s: landmarks.interior_peak_margin(v) for s, v in curves.items()}


def peak_stats(curves: Mapping[Any, Sequence[float]]) -> tuple[int, dict]:
    """Return (p, {seed: margin}): p = the interior index with the largest mean over seeds of
    `curves` ({seed: values over depths}), and each seed's margin over p's two neighbours."""
    p = best_interior(np.mean([list(v) for v in curves.values()], axis=0))
    return p, {s: landmarks.neighbour_margin(v, p) for s, v in curves.items()}


def teacher_margin(hidden_cka: Sequence[float], label_cka: float, readout_cka: float) -> float:
    """Return the best hidden layer's CKA with the teacher's directions minus the stronger of two
    fakers: the one-hot labels alone and a linear read-out of the raw input (open step, claim c)."""
    return float(max(hidden_cka) - max(label_cka, readout_cka))


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Return (mean, lo, hi) with the Student-t 95% interval of the mean (lo = hi = mean for n < 2)."""
    v = np.asarray(list(values), dtype=float)
    m = float(v.mean())
    if v.size < 2:
        return m, m, m
    from scipy.stats import t

    half = float(t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, m - half, m + half


# --- the chapter's runs (explicit parameters: `p` is the resolved parameter dict, cfg.params) ------

def classes_task(p: Mapping[str, Any], classes: Sequence[int]) -> dict:
    """Return the task of a tunnel net trained on `classes` of the chapter's data set."""
    return {"name": "classes", "dataset": p["dataset"], "data_root": p["data_root"], "download": p["download"],
            "classes": [int(c) for c in classes], "n_train": p["n_train"]}


def tunnel_recipe(p: Mapping[str, Any], classes: Sequence[int], depth: int, seed: int) -> dict:
    """Return the recipe of a tunnel MLP (He init, SGD with momentum, minibatches, the learning rate
    annealed to 0 by a cosine schedule, criterion train accuracy >= 0.99) on `classes`, with the ranks
    recorded at 0, early_fraction and 100% of training."""
    early = max(1, round(p["early_fraction"] * p["epochs"]))
    return mlp_recipe(classes_task(p, classes), seed=seed, depth=depth, width=p["width"], epochs=p["epochs"],
                      lr=p["lr"], momentum=p["momentum"], weight_decay=p["weight_decay"],
                      batch_size=p["batch_size"], init="he", criterion=0.99, rank_epochs=[early, p["epochs"]],
                      n_measure=p["n_measure"], schedule="cosine")


def hardest_pair(p: Mapping[str, Any]) -> tuple[int, int]:
    """Return the pair of classes whose raw input a linear probe separates worst (train -> test split):
    the two-class task on which a tunnel can form at all (MNIST-1D's first two classes are separable)."""
    split = _split(p["dataset"], p["data_root"], p["download"])
    n = int(split.train.n_classes)
    scores = {}
    for a in range(n):
        for b in range(a + 1, n):
            tr, te = task_data(classes_task(p, [a, b]), 0)
            scores[(a, b)] = linear_probe_accuracy(tr.x, tr.labels, te.x, te.labels)
    return min(scores, key=scores.get)


def tunnel_run(p: Mapping[str, Any], classes: Sequence[int], depth: int, seed: int) -> dict:
    """Train (or fetch from the store) one tunnel net and measure it and its initialisation.

    Returns dict(seed, depth, classes, recipe, record (the training record), trained and untrained
    (`tunnel_profile`s; the untrained net is the same seed's initialisation), net, net0, meas, test).
    """
    recipe = tunnel_recipe(p, classes, depth, seed)
    record = trained(recipe)
    tr, te = task_data(recipe["task"], seed)
    meas = measure_set(tr, p["n_measure"])
    net, net0 = build(recipe, record["state"]), build(recipe)
    prof = tunnel_profile(net, meas, te, min_gain=p["min_probe_gain"])
    prof0 = tunnel_profile(net0, meas, te, min_gain=p["min_probe_gain"], input_probe=prof["input_probe"])
    return dict(seed=seed, depth=depth, classes=tuple(classes), recipe=recipe, record=record, trained=prof,
                untrained=prof0, net=net, net0=net0, meas=meas, test=te)


def profile_rows(runs: Sequence[Mapping[str, Any]], **extra: Any) -> list[dict]:
    """Return one row per (run, state, hidden layer): probe, rank (authors' rule), erank, CKA to last."""
    rows = []
    for r in runs:
        for state in ("trained", "untrained"):
            pr = r[state]
            for l, probe in enumerate(pr["probe"], start=1):
                rows.append(dict(seed=r["seed"], depth=r["depth"], classes=len(r["classes"]), state=state, layer=l,
                                 probe=probe, rank=pr["rank"][AUTHORS_TOL][l - 1], rank_rel=pr["rank"][REL_TOL][l - 1],
                                 erank=pr["erank"][l - 1], cka_to_last=float(pr["cka"][l - 1, -1]), **extra))
    return rows


def ood_run(run: Mapping[str, Any], p: Mapping[str, Any], folds: int = 2) -> dict:
    """Return the held-out-class probes (trained and untrained) of a net trained on classes 0..k-1:
    every sample of the other classes, cross-fitted over `folds` folds (`held_out_probes`)."""
    split = _split(p["dataset"], p["data_root"], p["download"])
    n = int(split.train.n_classes)
    held = [c for c in range(n) if c not in run["classes"]]
    tr, te = task_data(classes_task(p, held), run["seed"])
    pooled = data.Dataset(torch.cat([tr.x, te.x]), torch.cat([tr.labels, te.labels]), len(held), tr.name)
    return dict(trained=held_out_probes(run["net"], pooled, folds=folds, seed=run["seed"]),
                untrained=held_out_probes(run["net0"], pooled, folds=folds, seed=run["seed"]))


def core_spurious_runs(p: Mapping[str, Any], seed: int) -> tuple[list[dict], list[dict]]:
    """Train the boundary project's part-1 nets of one seed (every core strength and depth; Adam, full
    batch, stop at loss 1e-4, criterion train accuracy >= 0.99) and measure them and their
    initialisations. Returns (one row per net and state, one row per net, state and hidden layer)."""
    nets, layers = [], []
    for a in p["cs_core_strengths"]:
        for depth in p["cs_depths"]:
            recipe = mlp_recipe({"name": "core_spurious", "n": p["cs_n_train"], "a_core": a}, seed=seed, depth=depth,
                                width=p["cs_width"], epochs=p["cs_epochs"], lr=p["cs_lr"], optimizer="adam",
                                init="torch", stop_loss=1e-4, criterion=0.99)
            record = trained(recipe)
            tr, flipped = task_data(recipe["task"], seed)
            for state, net in (("trained", build(recipe, record["state"])), ("untrained", build(recipe))):
                f = features.layer_features(net, tr.x)
                hidden = f[1:-1]
                to_last = cka.cka_matrix(hidden)[:, -1]
                nets.append(dict(seed=seed, state=state, a_core=a, depth=depth, hidden_layers=depth - 1,
                                 train_acc=accuracy(f[-1], tr.labels), reached=record["reached"],
                                 epochs_run=record["epochs_run"],
                                 flipped_acc=accuracy(features.layer_features(net, flipped.x)[-1], flipped.labels),
                                 last_erank=rank.effective_rank(hidden[-1], center=True)))
                layers += [dict(seed=seed, state=state, a_core=a, depth=depth, layer=l,
                                erank=rank.effective_rank(h, center=True), rank=covariance_rank(h, AUTHORS_TOL),
                                cka_to_last=float(to_last[l - 1])) for l, h in enumerate(hidden, start=1)]
    return nets, layers


def part1_values(nets: Any, layers: Any, seed: int, state: str) -> dict:
    """Return one seed's values of the part-1 claims from `core_spurious_runs` tables (DataFrames):
    peak {a: erank-peak hidden layer of the deepest net}, interior (share of core strengths whose
    peak is interior), depth_interior (share whose last-layer erank over depth peaks inside the
    swept depths), moves (Spearman of peak layer with a_core) and late (min CKA with the last hidden
    layer over the second half of the deepest nets' layers). A core strength enters only when every
    one of its nets met the training criterion (`reached`), for the trained and the untrained state
    alike; `fitted` is the number of core strengths used (0: the claims cannot be posed on this seed)."""
    lay = layers[(layers.seed == seed) & (layers.state == state)]
    deepest = int(lay.depth.max())
    runs = nets[(nets.seed == seed) & (nets.state == state)]
    fit = runs.groupby("a_core").reached.all()
    strengths = sorted(a for a in fit.index if fit[a])
    if not strengths:
        return dict(peak={}, interior=0.0, depth_interior=0.0, moves=0.0, late=0.0, fitted=0)
    lay, runs = lay[lay.a_core.isin(strengths)], runs[runs.a_core.isin(strengths)]
    deep = lay[lay.depth == deepest]
    peak = {a: peak_layer(deep[deep.a_core == a].sort_values("layer").erank.tolist()) for a in strengths}
    depth_peak = {a: peak_layer(runs[runs.a_core == a].sort_values("depth").last_erank.tolist()) for a in strengths}
    m, n_depths = deepest - 1, runs.depth.nunique()
    return dict(peak=peak, interior=float(np.mean([interior(v, m) for v in peak.values()])),
                depth_interior=float(np.mean([interior(v, n_depths) for v in depth_peak.values()])),
                moves=spearman(strengths, [peak[a] for a in strengths]),
                late=float(deep[deep.layer > m // 2].cka_to_last.min()), fitted=len(strengths))


def ntk_runs(p: Mapping[str, Any], seed: int) -> list[dict]:
    """Return the part-2 rows of one seed: per depth and initialisation (PyTorch's default, He), the NTK
    measures (`ntk_measures`) on held-out yin-yang points at initialisation and after training
    (Adam, full batch, stop at loss 1e-4, criterion train accuracy >= 0.99)."""
    kernel = data.yin_yang(p["ntk_n_kernel"], seed=seed + 1000)
    rows = []
    for depth in p["ntk_depths"]:
        for init in ("torch", "he"):
            recipe = mlp_recipe({"name": "yin_yang", "n": p["ntk_n_train"]}, seed=seed, depth=depth,
                                width=p["ntk_width"], epochs=p["ntk_epochs"], lr=p["ntk_lr"], optimizer="adam",
                                init=init, stop_loss=1e-4, criterion=0.99)
            record = trained(recipe)
            for state, net in (("at initialisation", build(recipe)), ("trained", build(recipe, record["state"]))):
                rows.append(dict(seed=seed, depth=depth, hidden_layers=depth - 1, init=init, state=state,
                                 reached=record["reached"], train_acc=record["train_acc"],
                                 epochs_run=record["epochs_run"], **ntk_measures(net, kernel.x, kernel.labels)))
    return rows


def ntk_curves(df: Any, init: str, state: str, column: str) -> dict:
    """Return {seed: [column over the swept depths]} of one initialisation and state of `ntk_runs` rows."""
    g = df[(df.init == init) & (df.state == state)].sort_values("hidden_layers")
    return {s: g[g.seed == s][column].tolist() for s in sorted(g.seed.unique())}


def hmm_runs(p: Mapping[str, Any], seed: int) -> tuple[list[dict], list[dict]]:
    """Train the open-step nets of one seed (both latents; Adam, full batch, stop at loss 1e-4) and
    return (per layer l = 0..L-1 and state: CKA with the latent, the teacher's directions and the
    label, erank, rank; per latent and state: the summary the claims use)."""
    layers, summary = [], []
    for latent in ("gaussian", "bernoulli"):
        task = {"name": "hidden_manifold", "n": p["hmm_n_train"], "latent": latent, "latent_dim": p["hmm_latent_dim"],
                "ambient_dim": p["hmm_ambient_dim"]}
        recipe = mlp_recipe(task, seed=seed, depth=p["hmm_depth"], width=p["hmm_width"], epochs=p["hmm_epochs"],
                            lr=p["hmm_lr"], optimizer="adam", init="torch", stop_loss=1e-4, criterion=0.99)
        record = trained(recipe)
        shape = {k: task[k] for k in ("latent_dim", "ambient_dim", "latent")}
        ds, c = data.hidden_manifold(task["n"], seed=seed, manifold_seed=seed, **shape)
        teacher = c @ data.hidden_manifold_parameters(manifold_seed=seed, **shape)[1].T
        onehot = data.one_hot(ds.labels, 2, torch.float64)
        label_cka, readout_cka = cka.linear_cka(onehot, teacher), cka.linear_cka(linear_readout(ds.x, teacher), teacher)
        for state, net in (("untrained", build(recipe)), ("trained", build(recipe, record["state"]))):
            f = features.layer_features(net, ds.x)
            rows = [dict(seed=seed, state=state, latent=latent, layer=l, cka_latent=cka.linear_cka(h, c),
                         cka_teacher=cka.linear_cka(h, teacher), cka_label=cka.linear_cka(h, onehot),
                         erank=rank.effective_rank(h, center=True)) for l, h in enumerate(f[:-1])]
            layers += rows
            hidden = rows[1:]
            summary.append(dict(
                seed=seed, state=state, latent=latent, reached=record["reached"], train_acc=record["train_acc"],
                epochs_run=record["epochs_run"], erank_peak=peak_layer([r["erank"] for r in hidden]),
                cka_peak=peak_layer([r["cka_latent"] for r in hidden]),
                recover=max(r["cka_latent"] for r in hidden) - rows[0]["cka_latent"],
                teacher=teacher_margin([r["cka_teacher"] for r in hidden], label_cka, readout_cka),
                label_cka=label_cka, readout_cka=readout_cka, best_teacher=max(r["cka_teacher"] for r in hidden)))
    return layers, summary


def rule_chart(runs: Sequence[Mapping[str, Any]]) -> Any:
    """Return the interactive figure of the tunnel start against its rule (an offline Altair chart):
    every seed's probe curve over the hidden layers (thin grey lines) and, for the rule picked in the
    dropdown, each seed's l* (a point on its curve) and the layers from l* on shaded."""
    import altair as alt
    import pandas as pd

    curves = pd.DataFrame([dict(seed=r["seed"], layer=l, probe=v) for r in runs
                           for l, v in enumerate(r["trained"]["probe"], start=1)])
    starts = pd.DataFrame([dict(seed=r["seed"], rule=rule, start=l, probe=r["trained"]["probe"][l - 1],
                                end=len(r["trained"]["probe"]))
                           for r in runs for rule, l in r["trained"]["starts"].items()])
    pick = alt.param(name="rule", value=START_RULES[1],
                     bind=alt.binding_select(options=list(START_RULES), name="tunnel-start rule: "))
    x = alt.X("layer:Q", title="hidden layer l", axis=alt.Axis(tickMinStep=1, format="d"))
    base = alt.Chart(curves).mark_line(color="#9e9e9e", strokeWidth=1).encode(
        x=x, y=alt.Y("probe:Q", title="linear-probe test accuracy"), detail="seed:N")
    picked = alt.Chart(starts).transform_filter(alt.datum.rule == pick)
    band = picked.mark_rect(opacity=0.06, color="#1f77b4").encode(x="start:Q", x2="end:Q")
    dots = picked.mark_point(filled=True, size=70, color="#1f77b4").encode(
        x="start:Q", y="probe:Q", tooltip=["seed:N", "rule:N", alt.Tooltip("start:Q", title="l*")])
    return (band + base + dots).add_params(pick).properties(
        width=420, height=260, title="Where the tunnel starts depends on the rule")


# --- the claims' words (values, controls, seeds and preconditions come from the run) --------------

TUNNEL = "Masarczyk et al. 2023"
PROJECT = "the boundary project"
_EX = {"inconclusive": "Not decided by this run; what would decide it: {decide}."}
CLAIMS: dict[str, dict] = {
    "tunnel-1-last-rank": dict(
        provenance="reconstruction", source=f"{TUNNEL}, Fig. 2 as secondary sources report it", test="in [{lo}, {hi}]",
        statement="the last hidden layer's numerical rank falls to about the number of classes",
        explain={"reproduced": "Training brings the last hidden layer's rank down to about the number of classes "
                               "({value}; at initialisation {control_value}), under both rank rules.",
                 "not reproduced": "The last hidden layer keeps a rank outside [C-1, 3C].",
                 "inconclusive": "Whether the last hidden layer's rank falls to about the number of classes is not "
                                 "decided here; what would decide it: {decide}."}),
    "tunnel-2-probe-saturation": dict(
        provenance="paper", source=f"{TUNNEL}, Fig. 1 caption", test="<= 0.02",
        statement="after l* every layer's probe is within 2 points of the best layer's (largest gap)",
        explain={"reproduced": "Probes stop improving at $l^*$ (largest gap after it {value}): the layers after "
                               "it add no linear separability.",
                 "not reproduced": "Layers after $l^*$ still fall short of the best probe (largest gap {value}): "
                                   "separability keeps moving inside the 'tunnel'."}),
    "tunnel-6c-cka-to-last": dict(
        provenance="reconstruction", source=f"{TUNNEL}, Fig. 4 as secondary sources report it", test=">= 0.9",
        statement="every layer from l* on has linear CKA >= 0.9 with the last hidden layer (smallest value)",
        explain={"reproduced": "The layers after l* form one block of similar representations.",
                 "not reproduced": "The layers after l* keep changing their representation."}),
    "tunnel-3-depth": dict(
        provenance="reconstruction", source=f"{TUNNEL}, Fig. 9 as secondary sources report it", test="<= 1",
        statement="going from depth {short} to depth {deep} moves l* by at most one layer (|shift|)",
        explain={"reproduced": "The extractor keeps its length when the network gets deeper; the extra layers "
                               "join the tunnel.",
                 "not reproduced": "The extractor grows with depth: the deeper net's l* lies further in."}),
    "tunnel-4-classes": dict(
        provenance="reconstruction", source=f"{TUNNEL}, Table 3 as secondary sources report it", test="> 0",
        statement="the tunnel is longer with 2 classes than with {C} (layers from l* to the last hidden layer, "
                  "difference)",
        explain={"reproduced": "Fewer classes leave more of the network to the tunnel.",
                 "not reproduced": "Two classes do not give a longer tunnel than {C}."}),
    "tunnel-4b-rank-by-classes": dict(
        provenance="reconstruction", source=f"{TUNNEL}, Table 3 as secondary sources report it", test="> 0",
        statement="the last hidden layer's rank is larger with {C} classes than with 2 (difference)",
        explain={"reproduced": "The final rank grows with the number of classes.",
                 "not reproduced": "The final rank does not grow with the number of classes."}),
    "tunnel-5-early": dict(
        provenance="paper", source=f"{TUNNEL}, abstract ('the tunnel appears early in training')", test="<= 0.25",
        statement="at {early} of training every hidden layer's rank is within 25% of its final value "
                  "(largest relative gap)",
        explain={"reproduced": "The rank profile is in place after a tenth of training.",
                 "not reproduced": "At a tenth of training the ranks are still far from their final values."}),
    "tunnel-7-ood": dict(
        provenance="paper", source=f"{TUNNEL}, abstract and §3.2 (held-out classes for CIFAR-100)", test=">= 0.02",
        margin=">= 0.02",
        statement="a probe for held-out classes loses >= 2 points from l* to the last hidden layer, and >= 2 "
                  "points more than in the same net before training",
        explain={"reproduced": "Training makes the tunnel discard what held-out classes need (drop {value}, "
                               "before training {control_value}).",
                 "not reproduced": "A probe for held-out classes does not drop through the tunnel by more than "
                                   "depth alone makes it drop ({value} trained, {control_value} before training)."}),
    "seed-1a-rank-peak-intermediate": dict(
        provenance="book", source=f"{PROJECT}, part 1", test="> 0.5",
        statement="on core/spurious data the effective rank peaks at an intermediate hidden layer of the deepest "
                  "nets (share of core strengths)",
        explain={"supported": "An intermediate rank peak appears with training.",
                 "not supported": "The effective rank peaks at the first or last hidden layer."}),
    "seed-1b-rank-peak-across-depth": dict(
        provenance="book", source=f"{PROJECT}, part 1", test="> 0.5",
        statement="the last hidden layer's effective rank peaks at an intermediate depth of the swept nets "
                  "(share of core strengths)",
        explain={"supported": "There is a depth at which the last layer keeps the most dimensions.",
                 "not supported": "The last layer's effective rank is largest at the shallowest or deepest net."}),
    "seed-1c-peak-moves-with-core": dict(
        provenance="book", source=f"{PROJECT}, part 1", test="> 0",
        statement="a weaker core feature moves the rank peak to an earlier layer (Spearman of peak layer with "
                  "core strength)",
        explain={"supported": "The strength of the core feature sets where the rank peaks.",
                 "not supported": "The peak does not move with the core strength."}),
    "seed-1d-late-cka": dict(
        provenance="book", source=f"{PROJECT}, part 1", test=">= 0.9",
        statement="layers in the second half of the deepest nets have CKA >= 0.9 with the last hidden layer "
                  "(smallest value)",
        explain={"supported": "Training makes the late layers one similar block.",
                 "not supported": "The late layers keep changing their representation."}),
    "seed-2a-ntk-rank-peak": dict(
        provenance="book", source=f"{PROJECT}, part 2 (not in Yang & Salman 2019)", test="> 0",
        statement="the trained net's NTK rank peaks at an intermediate depth (best intermediate depth minus the "
                  "larger end)",
        explain={"supported": "Training creates an NTK-rank peak over depth (margin {value}).",
                 "not supported": "The trained NTK rank has no interior peak over depth (margin {value}).",
                 "inconclusive": "Whether training creates the project's NTK-rank peak over depth is not decided "
                                 "here (margin {value}, at initialisation {control_value}); what would decide it: "
                                 "{decide}."}),
    "seed-2b-alignment-up-to-peak": dict(
        provenance="book", source=f"{PROJECT}, part 2", test="> 0",
        statement="the top-2 NTK eigenvectors hold more label energy at the peak depth than at the shallowest",
        explain={"supported": "The kernel at the peak depth puts more label energy in its top directions.",
                 "not supported": "Depth up to the peak does not align the top eigenvectors with the labels."}),
    "seed-2c-concentration-beyond-peak": dict(
        provenance="book", source=f"{PROJECT}, part 2", test="> 0",
        statement="beyond the peak depth the NTK spectrum concentrates (erank at the peak minus erank of the "
                  "deepest)",
        explain={"supported": "Past the peak, depth concentrates the kernel's spectrum.",
                 "not supported": "The deepest kernel is not more concentrated than the one at the peak."}),
    "seed-2a-ntk-rank-peak-he-init": dict(
        provenance="book", source=f"{PROJECT}, part 2, from He initialisation", test="> 0",
        statement="trained from He initialisation, the NTK rank still peaks at an intermediate depth (best "
                  "intermediate depth minus the larger end)",
        explain={"supported": "The peak does not depend on the initialisation.",
                 "not supported": "From He initialisation the trained NTK rank has no interior peak."}),
    "book-2d-ntk-peak-follows-init": dict(
        provenance="book", source="this book (signal propagation: He et al. 2015, Schoenholz et al. 2017)",
        test="> 0", margin="> 0",
        statement="at initialisation the NTK rank peaks at an intermediate depth under PyTorch's default init, "
                  "more than under He init (best intermediate depth minus the larger end)",
        explain={"supported": "The 'critical depth' is a property of the initialisation, present before training.",
                 "not supported": "At initialisation the two inits do not differ as signal propagation predicts."}),
}
for _latent, _src in (("gaussian", "Goldt et al.'s Gaussian latent"), ("bernoulli", "the project's Bernoulli latent")):
    CLAIMS[f"seed-open-a-latent-peak-at-rank-peak-{_latent}"] = dict(
        provenance="book", source=f"{PROJECT}, open step ({_src})", test="<= 1",
        statement=f"hidden manifold model, {_latent} latent: the layer most CKA-similar to the latent is within one "
                  "layer of the effective-rank peak (distance)",
        explain={"supported": "The latent is best represented where the rank peaks.",
                 "not supported": "The latent-CKA peak and the rank peak are more than a layer apart."})
    CLAIMS[f"seed-open-b-extractor-recovers-latent-{_latent}"] = dict(
        provenance="book", source=f"{PROJECT}, open step ({_src})", test="> 0",
        statement=f"hidden manifold model, {_latent} latent: some hidden layer is more CKA-similar to the latent "
                  "than the input (difference)",
        explain={"supported": "The hidden layers recover the latent better than the input shows it.",
                 "not supported": "The input is the representation most similar to the latent."})
    CLAIMS[f"book-open-c-teacher-directions-{_latent}"] = dict(
        provenance="book", source="this book (added after the project's full-latent test had failed)", test="> 0",
        statement=f"hidden manifold model, {_latent} latent: some hidden layer is more CKA-similar to the teacher's "
                  "directions of the latent than both the one-hot labels and a linear read-out of the raw input "
                  "(margin over the stronger)",
        explain={"supported": "The layers hold the part of the latent the label uses, beyond what the labels or "
                              "a linear map of the input give (margin {value}).",
                 "not supported": "The labels alone or a linear read-out of the input match the teacher's "
                                  "directions as well as the best hidden layer (margin {value})."})


def claim_spec(claim_id: str, **fmt: Any) -> dict:
    """Return the ledger keywords of a claim (statement, source, provenance, test, explain, margin),
    with the run's numbers (`fmt`) filled into its statement, test and readings."""
    spec, keep = copy.deepcopy(CLAIMS[claim_id]), _Keep(fmt)
    for key in ("statement", "test"):
        spec[key] = spec[key].format_map(keep)
    spec["explain"] = {**_EX, **{k: v.format_map(keep) for k, v in spec["explain"].items()}}
    return spec


class _Keep(dict):
    """A format mapping that leaves unknown fields ({value}, {control_value}: the ledger's) in place."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def n_classes(p: Mapping[str, Any]) -> int:
    """Return the number of classes of the chapter's data set."""
    return int(_split(p["dataset"], p["data_root"], p["download"]).train.n_classes)


def seed_lines(df: Any, x: str, y: str, *, color: str, x_title: str, y_title: str, title: str = "",
               shared_y: tuple[float, float] | None = None) -> Any:
    """Return an Altair chart of `y` against `x`: one colour per `color` group, every seed a thin line,
    integer ticks on x (layers, depths)."""
    import altair as alt

    scale = alt.Scale(domain=list(shared_y)) if shared_y else alt.Scale(zero=False)
    return alt.Chart(df, title=title).mark_line(strokeWidth=1.2, opacity=0.75, point=alt.OverlayMarkDef(size=12)).encode(
        x=alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y(f"{y}:Q", title=y_title, scale=scale), color=alt.Color(f"{color}:N", title=None),
        detail="seed:N", tooltip=["seed:N", f"{color}:N", f"{x}:Q", alt.Tooltip(f"{y}:Q", format=".3f")],
    ).properties(width=300, height=220)
