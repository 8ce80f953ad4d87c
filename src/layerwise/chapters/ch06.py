"""Chapter 06, spurious features: its parameters (book defaults, smoke/paper values, help), rules and the
helpers that decide its verdicts (latching checkpoints, matched-accuracy comparisons, the best layer to
retrain from, MNIST-1D with a planted spurious feature)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from ..params import Choice, ConfigError, Float, Int, ListOf, Param
from ..metrics.landmarks import TUNNEL_RULES

PARAMS = dict(
    n_train=Param(600, "training samples of the core/spurious data", smoke=300, paper=1200, rule=Int(min=1)),
    n_test=Param(1000, "samples of each core/spurious test split (ID, balanced, flipped, randomised)", smoke=400, paper=4000, rule=Int(min=1)),
    n_heldout=Param(800, "group-balanced held-out samples for DFR (about n_heldout/4 per group)", smoke=400, paper=2000, rule=Int(min=16)),
    p_values=Param([0.9, 1.0], "training probabilities p that s = y (must include 0.9 and 1.0)", smoke=[0.9, 1.0], paper=[0.9, 0.99, 1.0], rule=ListOf(Float(min=0.5, max=1), min_len=2)),
    mu=Param(2.0, "core feature mean mu: x_c = a_core (y mu + sigma eps)", rule=Float(min=0, closed="right")),
    sigma=Param(0.2, "core feature noise sigma", rule=Float(min=0, closed="right")),
    a_core=Param(0.25, "core feature scale a_c", rule=Float(min=0, closed="right")),
    a_spurious=Param(6.0, "spurious feature scale a_s: x_s = a_s s + eps'", rule=Float(min=0, closed="right")),
    n_noise=Param(10, "pure-noise input coordinates", rule=Int(min=0)),
    noise_scale=Param(0.1, "standard deviation of the noise coordinates", rule=Float(min=0, closed="right")),
    width=Param(120, "hidden width of the core/spurious MLP", rule=Int(min=1, width=True)),
    depth=Param(5, "weight matrices of the core/spurious MLP (4 hidden layers)", rule=Int(min=3)),
    lr=Param(0.02, "learning rate of full-batch gradient descent (core/spurious)", rule=Float(min=0, closed="right")),
    momentum=Param(0.9, "momentum of the core/spurious training", rule=Float(min=0, max=1, closed="left")),
    epochs=Param(1000, "epoch cap of the p < 1 runs, which stop at stop_loss (a run that does not is censored)", smoke=250, paper=3000, rule=Int(min=1)),
    persist_epochs=Param(300, "epochs of the p = 1 runs (no stop: does anything change after the fit?)", smoke=40, paper=1000, rule=Int(min=1)),
    stop_loss=Param(0.001, "p < 1 runs stop once the training loss is below this (note 06, claim 3)", rule=Float(min=0)),
    n_seeds=Param(8, "initialisations of the core/spurious runs per p (latching, end states, DFR, SD pairs)", smoke=3, paper=10, rule=Int(min=1)),
    n_inits=Param(10, "initialisations for the gradient ratio at initialisation", smoke=3, rule=Int(min=1)),
    sd_coefs=Param([0.001, 0.01, 0.1], "spectral decoupling strengths lambda", smoke=[0.1], rule=ListOf(Float(min=0))),
    sd_epochs=Param(200, "epochs of each spectral decoupling run (train accuracy reaches 1 at about epoch 110-170)", smoke=120, paper=3000, rule=Int(min=1)),
    sd_inits=Param(8, "paired initialisations (plain and SD from the same init) per lambda; at most n_seeds", smoke=3, paper=10, rule=Int(min=1)),
    dfr_refits=Param(20, "DFR refits on balanced subsamples (one when the held-out groups are equal)", smoke=2, rule=Int(min=1)),
    lms_n_train=Param(5000, "LMS-5 training examples", smoke=600, paper=100000, rule=Int(min=1)),
    lms_n_test=Param(2000, "LMS-5 test examples", smoke=400, paper=10000, rule=Int(min=1)),
    lms_dim=Param(50, "LMS-5 dimension (1 linear + dim-1 slab coordinates)", rule=Int(min=1)),
    lms_margin=Param(0.1, "LMS-5 margin gamma", rule=Float(min=0, max=0.25, closed="neither", why="(so five slabs fit in [-1, 1])")),
    lms_width=Param(100, "hidden width of the LMS-5 MLP", rule=Int(min=1, width=True)),
    lms_depth=Param(3, "weight matrices of the LMS-5 MLP (2 hidden layers)", rule=Int(min=1)),
    lms_lr=Param(0.1, "LMS-5 SGD learning rate", rule=Float(min=0, closed="right")),
    lms_weight_decay=Param(5e-05, "LMS-5 weight decay", rule=Float(min=0)),
    lms_batch_size=Param(256, "LMS-5 minibatch size", rule=Int(min=1)),
    lms_epochs=Param(8, "LMS-5 epochs", smoke=2, paper=20, rule=Int(min=1)),
    lms_seeds=Param(5, "LMS-5 seeds (data rotation, sample and initialisation)", smoke=3, paper=10, rule=Int(min=1)),
    moons_n=Param(300, "two-moons samples", rule=Int(min=1)),
    moons_margin=Param(0.1, "two-moons gap Delta (> 0 separable)", rule=Float()),
    moons_width=Param(500, "hidden width of the two-moons network", smoke=64, rule=Int(min=1, width=True)),
    moons_lr=Param(0.01, "two-moons learning rate (full batch, momentum 0.9)", rule=Float(min=0, closed="right")),
    moons_epochs=Param(300, "two-moons epochs (the authors: 1,000 in Fig. 1, 10,000 in Fig. 2)", smoke=30, paper=10000, rule=Int(min=1)),
    moons_sd=Param(0.003, "SD coefficient c of the one-logit two-moons loss (we use lambda = 4c)", rule=Float(min=0)),
    moons_seeds=Param(10, "two-moons seeds", smoke=2, rule=Int(min=1)),
    deep_depth=Param(8, "weight matrices of the deep core/spurious net (p = 1 retraining profile)", smoke=4, rule=Int(min=3)),
    deep_width=Param(120, "hidden width of the deep core/spurious net", smoke=32, rule=Int(min=1, width=True)),
    deep_epochs=Param(100, "epochs of the deep core/spurious net (p = 1 fits within a few dozen)", smoke=30, paper=2000, rule=Int(min=1)),
    deep_seeds=Param(3, "initialisations of the deep core/spurious net", smoke=1, paper=10, rule=Int(min=1)),
    head_epochs=Param(50, "epochs of each new head of depth L - k (Adam, full batch; first initialisation only)", smoke=10, paper=300, rule=Int(min=1)),
    head_lr=Param(0.01, "Adam learning rate of the new heads", rule=Float(min=0, closed="right")),
    rt_p=Param(1.0, "MNIST-1D with a planted feature: probability that the planted class equals the label in training", rule=Float(min=0.5, max=1, closed="right")),
    rt_scale=Param(2.0, "size of the planted feature (a_s times a one-hot of the planted class, appended to x)", rule=Float(min=0, closed="right")),
    rt_depth=Param(8, "weight matrices of the MNIST-1D net retrained from layer k", smoke=4, rule=Int(min=3)),
    rt_width=Param(128, "hidden width of the MNIST-1D net", smoke=32, rule=Int(min=1, width=True)),
    rt_epochs=Param(25, "epochs of the MNIST-1D net (Adam, minibatch)", smoke=3, paper=200, rule=Int(min=1)),
    rt_lr=Param(0.001, "Adam learning rate of the MNIST-1D net", rule=Float(min=0, closed="right")),
    rt_batch_size=Param(128, "minibatch size of the MNIST-1D net", rule=Int(min=1)),
    rt_seeds=Param(3, "initialisations of the MNIST-1D net", smoke=1, paper=5, rule=Int(min=1)),
    rt_tol=Param(0.02, "best layer: the deepest k within max(rt_tol, 2 binomial standard errors) of the best accuracy", rule=Float(min=0, max=1, closed="left")),
    tunnel_rules=Param(["rank", "cka"], "tunnel-start rules of the core/spurious retraining claim (all rules are shown)", rule=ListOf(Choice(*TUNNEL_RULES))),
    rt_tunnel_rules=Param(["cka", "probe"], "tunnel-start rules of the MNIST-1D retraining claim (rank is shown, not "
                          "tested: see section 8b)", rule=ListOf(Choice(*TUNNEL_RULES))),
    cka_threshold=Param(0.9, "CKA threshold of the 'cka' and 'cka-block' tunnel rules", rule=Float(min=0, max=1, closed="neither")),
)


_CH06_POSITIVE_INT = ("n_heldout", "n_inits", "sd_epochs", "sd_inits", "dfr_refits", "lms_n_train", "lms_n_test",
                      "lms_dim", "lms_width", "lms_depth", "lms_batch_size", "lms_epochs", "lms_seeds", "moons_n",
                      "moons_width", "moons_epochs", "moons_seeds", "deep_depth", "deep_width", "deep_epochs",
                      "deep_seeds", "head_epochs", "rt_width", "rt_epochs", "rt_batch_size", "rt_seeds")
_CH06_POSITIVE_FLOAT = ("mu", "sigma", "a_core", "a_spurious", "noise_scale", "lms_lr", "moons_lr", "rt_scale", "rt_lr", "head_lr")


def check(p: dict[str, Any]) -> None:
    if p["sd_inits"] > p["n_seeds"]:
        raise ConfigError(f"sd_inits must be at most n_seeds (SD runs pair with the plain runs of section 4), "
                          f"got sd_inits={p['sd_inits']} > n_seeds={p['n_seeds']}")
    for name in _CH06_POSITIVE_INT:
        if p[name] < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {p[name]} (set it with -p {name} N)")
    if p["n_noise"] < 0:
        raise ConfigError(f"n_noise must be an integer >= 0, got {p['n_noise']}")
    for name in _CH06_POSITIVE_FLOAT:
        if p[name] <= 0:
            raise ConfigError(f"{name} must be a number > 0, got {p[name]} (set it with -p {name} X)")
    for name in ("lms_weight_decay", "moons_sd"):
        if p[name] < 0:
            raise ConfigError(f"{name} must be a number >= 0, got {p[name]}")
    for sd in p["sd_coefs"]:
        if sd < 0:
            raise ConfigError(f"sd_coefs must hold numbers >= 0, got {p['sd_coefs']}")
    if not all(0.5 <= prob <= 1.0 for prob in p["p_values"]) or not {0.9, 1.0} <= set(p["p_values"]):
        raise ConfigError(f"p_values must lie in [0.5, 1] (the probability that s = y in training) and include "
                          f"0.9 and 1.0, where note 06 states its claims; got {p['p_values']}")
    if not 0 < p["lms_margin"] < 0.25:
        raise ConfigError(f"lms_margin must be in (0, 0.25) so five slabs fit in [-1, 1], got {p['lms_margin']}")
    if p["moons_margin"] == 0:
        raise ConfigError("moons_margin must be non-zero (> 0 separable, < 0 overlapping), got 0")
    for name in ("depth", "deep_depth", "rt_depth"):
        if p[name] < 3:
            raise ConfigError(f"{name} must be >= 3 (two hidden layers at least, to retrain from), got {p[name]}")
    if p["n_heldout"] < 16:
        raise ConfigError(f"n_heldout must be >= 16 so DFR has a few samples per group in both halves, got {p['n_heldout']}")
    if not 0.5 < p["rt_p"] <= 1:
        raise ConfigError(f"rt_p must be in (0.5, 1] (the planted feature agrees with the label more often than not), "
                          f"got {p['rt_p']}")
    if not 0 <= p["rt_tol"] < 1:
        raise ConfigError(f"rt_tol must be in [0, 1), got {p['rt_tol']}")
    if not 0 < p["cka_threshold"] < 1:
        raise ConfigError(f"cka_threshold must be in (0, 1), got {p['cka_threshold']}")
    for name in ("tunnel_rules", "rt_tunnel_rules"):
        if not p[name] or any(r not in TUNNEL_RULES for r in p[name]):
            raise ConfigError(f"{name} must be a non-empty list of {', '.join(TUNNEL_RULES)}, got {p[name]}")


# --- helpers that decide verdicts ----------------------------------------------------------------

def early_checkpoint(snapshots: Sequence[tuple[int, dict]], last_epoch: float) -> dict[str, float]:
    """Return {"epoch", "ID", "flipped"} of the checkpoint in epochs 1..last_epoch with the lowest flipped
    accuracy (the first on ties): the most latched early state (note 06, claim 2).

    snapshots: [(epoch, {"id": acc, "flipped": acc, ...})] in training order; epoch 0 (untrained) is
    skipped. With no checkpoint in the window, the first checkpoint after epoch 0 is used.
    """
    trained = [(e, a) for e, a in snapshots if e > 0]
    if not trained:
        raise ValueError("early_checkpoint needs at least one checkpoint after epoch 0")
    window = [(e, a) for e, a in trained if e <= last_epoch] or trained[:1]
    epoch, acc = min(window, key=lambda ea: ea[1]["flipped"])
    return {"epoch": int(epoch), "ID": float(acc["id"]), "flipped": float(acc["flipped"])}


def latch_window(snapshots: Sequence[tuple[int, dict]], *, id_band=(0.85, 0.95), flipped_max: float = 0.10,
                 let_go: float = 0.95) -> tuple[int | None, int | None, int | None]:
    """Return (first, last) checkpoint epochs that are latched (ID accuracy in `id_band`, flipped <=
    `flipped_max`) and the first epoch with flipped >= `let_go`; None where it never happens."""
    latched = [e for e, a in snapshots if e > 0 and id_band[0] <= a["id"] <= id_band[1] and a["flipped"] <= flipped_max]
    released = next((e for e, a in snapshots if e > 0 and a["flipped"] >= let_go), None)
    return (latched[0] if latched else None), (latched[-1] if latched else None), released


def flipped_at_train_accuracy(snapshots: Sequence[tuple[int, dict]], level: float, *, interpolate: bool = True) -> float:
    """Return the flipped accuracy when the training accuracy first reaches `level` (NaN if never).

    Interpolated linearly between the two checkpoints that bracket the level (checkpoints are a few
    epochs apart while the flipped accuracy moves fast); interpolate=False returns the raw value at
    the first checkpoint at or above the level.
    """
    snaps = [(a["train"], a["flipped"]) for _, a in snapshots]
    for i, (tr, fl) in enumerate(snaps):
        if tr >= level:
            if not interpolate or i == 0 or snaps[i - 1][0] >= tr:
                return float(fl)
            tr0, fl0 = snaps[i - 1]
            return float(fl0 + (fl - fl0) * (level - tr0) / (tr - tr0))
    return float("nan")


def best_retrain_layer(accuracy: Sequence[float], layers: Sequence[int] | None = None, *, tol: float = 0.02) -> int:
    """Return the deepest layer whose accuracy is within `tol` of the best layer's.

    accuracy (M,): e.g. the conflict-group accuracy of a head refitted on each layer's frozen features.
    The deepest such layer is the one that keeps the most of the trained network while losing nothing.
    """
    v = np.asarray(accuracy, dtype=float)
    idx = np.arange(v.size) if layers is None else np.asarray(layers, dtype=int)
    if v.size == 0 or idx.shape != v.shape or not np.all(np.isfinite(v)):
        raise ValueError(f"best_retrain_layer needs finite accuracies, one per layer, got {v.tolist()}")
    return int(idx[np.nonzero(v >= v.max() - tol)[0][-1]])


def plant_spurious(x: torch.Tensor, labels: torch.Tensor, *, p: float, scale: float, n_classes: int,
                   seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (x with a planted feature appended, planted class s, group) for a K-class data set.

    x (n, d), labels (n,) in 0..K-1. s = label with probability p, otherwise a class drawn uniformly from
    the K - 1 others; the returned inputs are [x, scale * one_hot(s)] of shape (n, d + K). group =
    1 where s agrees with the label, 0 where it conflicts. p = 1 plants a fully predictive shortcut,
    p = 0 a fully misleading one (every sample conflicts).
    """
    if not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1], got {p}")
    gen = torch.Generator().manual_seed(seed)
    n = labels.shape[0]
    agree = torch.rand(n, generator=gen) < p
    other = (labels + torch.randint(1, n_classes, (n,), generator=gen)) % n_classes
    s = torch.where(agree, labels, other)
    planted = scale * torch.nn.functional.one_hot(s, n_classes).to(x.dtype)
    return torch.cat([x, planted], 1), s, (s == labels).long()


def matched_gap(a: dict[float, float], b: dict[float, float]) -> float | None:
    """Return the mean over accuracy levels of a[level] - b[level], over the levels both runs reach (finite
    in both); None when they share none. a, b: {train-accuracy level: flipped accuracy there}
    (`flipped_at_train_accuracy`). The mean, unlike the worst level, has no downward bias under noise."""
    gaps = [a[lv] - b[lv] for lv in a if lv in b and np.isfinite(a[lv]) and np.isfinite(b[lv])]
    return float(np.mean(gaps)) if gaps else None


def noise_tolerance(accuracy: float, n: int, *, floor: float = 0.0, z: float = 2.0) -> float:
    """Return max(floor, z binomial standard errors of an accuracy measured on n samples): the tolerance
    below which two layers' accuracies on the same n test samples are not told apart."""
    if n < 1 or not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"noise_tolerance needs n >= 1 and an accuracy in [0, 1], got n={n}, accuracy={accuracy}")
    return float(max(floor, z * np.sqrt(accuracy * (1.0 - accuracy) / n)))


def stopped_value(value: float, reached: bool) -> float | None:
    """Return a run's end-state value when its training reached the stop criterion, else None (censored:
    the end state the claim is about was not reached within the epoch budget)."""
    return float(value) if reached else None


def p1_parts(state: dict[str, float]) -> dict[str, float]:
    """Return the four parts of the p = 1 claim from an end state (`ch06_runs.end_state`): flipped and ID
    accuracy, accuracy with x_s permuted (the randomised split), and the change when x_c is permuted."""
    return {"flipped": state["flipped"], "ID": state["id"], "x_s permuted": state["randomised"],
            "x_c permuted - ID": state["core_permuted"] - state["id"]}


def transient_values(flipped: dict[float, float], reached: dict[float, bool]) -> dict[str, float] | None:
    """Return {"p=0.9": flipped accuracy, ..., "p=1.0": ...} of one seed's runs at each training p, or None
    (censored) when a p < 1 run did not reach its stop criterion: its end state is then not the one the
    claim is about. The p = 1 run has no stop; it is never censored."""
    if any(p < 1 and not reached.get(p, False) for p in flipped):
        return None
    return {f"p={p}": float(v) for p, v in sorted(flipped.items())}


def transient_test(p_values) -> dict[str, str]:
    """Return the per-p test of the transient-latching claim: flipped >= 0.95 below p = 1, <= 0.10 at p = 1."""
    return {f"p={p}": (">= 0.95" if p < 1 else "<= 0.10") for p in sorted(p_values)}


def boundary_values(profiles: dict, rules, last: int) -> tuple[dict, dict, dict]:
    """Return the retraining-depth claim's inputs from per-seed profiles {seed: {"best_k": k, "starts":
    {rule: l*}}}: ({rule: {seed: best k - l*}}, the same for the penultimate-layer guess `last`, and
    {seed: posed}, posed when every rule finds an extractor, l* >= 2)."""
    vals = {r: {s: d["best_k"] - d["starts"][r] for s, d in profiles.items()} for r in rules}
    guess = {r: {s: last - d["starts"][r] for s, d in profiles.items()} for r in rules}
    return vals, guess, {s: all(d["starts"][r] >= 2 for r in rules) for s, d in profiles.items()}


def add_best_layers(profiles: dict, *, n_eval: int, floor: float) -> None:
    """For each profile {"rows": [{"layer", "conflict", ...}]} add "tol" (`noise_tolerance` of the best
    layer's conflict accuracy on n_eval samples, at least `floor`) and "best_k" (`best_retrain_layer`)."""
    for d in profiles.values():
        conflict = [r["conflict"] for r in d["rows"]]
        d["tol"] = noise_tolerance(max(conflict), n_eval, floor=floor)
        d["best_k"] = best_retrain_layer(conflict, [r["layer"] for r in d["rows"]], tol=d["tol"])


def mean_over_choices(values: dict[Any, dict[Any, float | None]]) -> dict[Any, float | None]:
    """Return {seed: mean over choices of values[choice][seed]} from {choice: {seed: value}}; None (censored)
    for a seed whose value is None at any choice. Averaging paired gaps over a grid (e.g. the SD strengths)
    before the interval over seeds cuts the init-to-init noise of each single choice."""
    seeds = [s for s in next(iter(values.values()))] if values else []
    out = {}
    for s in seeds:
        v = [values[c].get(s) for c in values]
        out[s] = None if any(x is None for x in v) else float(np.mean(v))
    return out
