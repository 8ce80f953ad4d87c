"""Chapter 07's experiment with explicit arguments: the task family, one trained (and untrained) MLP per
(task, depth, seed) read through every lens (`lenses.all_lenses`), and the value functions of its claims:
band overlap between landmarks, the tunnel by the probe rule (no CKA), pinned landmarks, the depth trend
with task difficulty, the interactive landmark-vs-threshold chart and the answer paragraph.

Nets are keyed "task L=depth #seed"; a claim about a population of nets takes one value per net.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch

from .. import data, lenses, models, train
from .ch06_runs import training_summary  # noqa: F401  (one summary line per recipe, as in chapter 6)
from ..metrics import landmarks

MARKS = lenses.LANDMARKS


def make_tasks(*, datasets: Sequence[str], data_root: str, download: bool, n_train: int, latent_dims: Sequence[int],
               ambient_dim: int, n_samples: int, n_test: int, seed: int) -> dict[str, tuple[data.Split, int | None]]:
    """Return {task name: (Split, difficulty)}: the real data sets, then the hidden manifold model at each
    latent dimension D (the difficulty), all drawn from `seed`."""
    tasks = {name: (data.load(name, data_root=data_root, download=download, n_train=n_train, seed=seed), None)
             for name in datasets}
    for d in latent_dims:
        kw = dict(latent_dim=d, ambient_dim=ambient_dim, manifold_seed=seed)
        tr, _ = data.hidden_manifold(n_samples, seed=seed + 1, **kw)
        te, _ = data.hidden_manifold(n_test, seed=seed + 2, **kw)
        tasks[f"HMM D={d}"] = (data.Split(tr, te), d)
    return tasks


MEASURE_CODE = ("lenses.py", "features.py", "metrics/alignment.py", "metrics/cka.py",
                "metrics/collapse.py", "metrics/gram.py", "metrics/landmarks.py", "metrics/ntk.py", "metrics/probes.py",
                "metrics/rank.py")


def train_and_measure(split: data.Split, *, depth: int, seed: int, width: int, epochs: int, lr: float,
                      momentum: float, batch_size: int, settings: lenses.LensSettings,
                      control_settings: lenses.LensSettings, criterion: str = "train_acc >= 0.99") -> dict[str, Any]:
    """Train one ReLU MLP (He init, SGD with momentum, cross-entropy) until `criterion` or `epochs`, and return
    its Lenses, the Lenses of the same net at initialisation (the control) and its training record."""
    net = models.MLP(split.train.x.shape[1], width, depth, split.train.n_classes, activation="relu", init="he",
                     seed=seed)
    before = lenses.all_lenses(net, split.train, split.test, control_settings)
    hist = train.fit(net, split.train.x, split.train.labels, loss="ce", epochs=epochs, lr=lr, momentum=momentum,
                     batch_size=batch_size, seed=seed, progress=False, criterion=criterion,
                     eval_data=(split.test.x, split.test.labels))
    lz = lenses.all_lenses(net, split.train, split.test, settings)
    record = {"epochs": int(hist.epochs_run), "loss": float(hist.final_loss), "train_acc": float(hist.train_acc),
              "test_acc": float(hist.test_acc), "reached": bool(hist.reached)}
    return {"lenses": lz, "untrained": before, "record": record}


def measured_net(task: str, split: data.Split, data_recipe: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
    """Return `train_and_measure(split, **kw)` through the network store: the key is the task, its data
    recipe, the training recipe, the lens settings, the source of the measuring code and of
    `train_and_measure`, so an edit of the chapter's analysis reruns in seconds and an edit of a lens or of
    the runner misses the store."""
    from dataclasses import asdict

    from .. import store

    recipe = {"what": "ch07 MLP through every lens", "task": task, "data": dict(data_recipe),
              **{k: (asdict(v) if isinstance(v, lenses.LensSettings) else v) for k, v in kw.items()},
              "measure_code": store.code_hash(MEASURE_CODE), "runner": store.fn_source(train_and_measure)}
    return store.cached(recipe, lambda: train_and_measure(split, **kw))


def middle_band(depth: int) -> landmarks.Band:
    """Return the middle hidden layer of an MLP with `depth` weight matrices as a one-layer band: the guess
    a landmark must beat (`metrics.landmarks.middle_layer` on hidden layers 1..depth-1)."""
    return landmarks.stability_band({"middle": landmarks.middle_layer(range(1, depth), integer=True)})


def bands_overlap(a: landmarks.Band | None, b: landmarks.Band | None) -> bool | None:
    """Return whether two landmarks agree: their stability bands (layer intervals over each one's grid of
    analysis choices) overlap. None when either landmark is missing."""
    if a is None or b is None:
        return None
    return bool(a.lo <= b.hi and b.lo <= a.hi)


def probe_tunnel(lz: lenses.Lenses, *, fraction: float = 0.98) -> dict[str, float]:
    """Return the tunnel by the probe rule (Masarczyk et al.'s l*: the first hidden layer whose probe test
    accuracy reaches `fraction` of the best hidden layer's; no CKA involved) and how linear its maps are:
    start, length (hidden layers start..L-1), the mean held-out R^2 of the maps into tunnel layers
    start+1..L-1 ("r2_tunnel", "r2_within_tunnel" on class-centred features) and into extractor layers
    2..start ("r2_within_extractor"); NaN where there is no such map."""
    h = np.arange(1, lz.depth)
    start = landmarks.tunnel_start(h, rule="probe", probe=lz.profile["probe"][h], fraction=fraction)
    last = lz.depth - 1
    p = lz.profile
    return {"start": float(start), "length": float(last - start + 1),
            "r2_tunnel": _mean(p["map_r2"][start + 1:last + 1]),
            "r2_within_tunnel": _mean(p["map_r2_within"][start + 1:last + 1]),
            "r2_within_extractor": _mean(p["map_r2_within"][2:start + 1])}


def adjacent_cka(lz: lenses.Lenses) -> np.ndarray:
    """Return CKA(h_{l-1}, h_l) for l = 2..L-1 (consecutive hidden layers): what a CKA-defined tunnel is made
    of, and what the map R^2 tracks."""
    return np.array([lz.cka[l - 1, l] for l in range(2, lz.depth)])


def _mean(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def pinned(trained: Mapping[str, Sequence[int]], untrained: Mapping[str, Sequence[int]] | None = None) -> dict[str, bool]:
    """Return {landmark: pinned}: a landmark is pinned when it takes at most two adjacent layers over every
    trained net, whatever the depth and task, so agreement between two such landmarks cannot be evidence.
    (`untrained` is accepted for the table beside it; where it sits in untrained nets is shown, not required.)"""
    out = {}
    for k, layers in trained.items():
        t = {int(v) for v in layers if v is not None}
        out[k] = bool(t) and max(t) - min(t) <= 1
    return out


def deeper_values(tunnel: Mapping[tuple[int, int], Mapping[int, float]]) -> dict[str, float]:
    """Return {"L=depth #seed": tunnel start at the hardest D - at the easiest D} from
    {(depth, seed): {D: tunnel start}}: one paired value per (depth, seed)."""
    out = {}
    for (depth, seed), by_d in tunnel.items():
        ds = sorted(by_d)
        out[f"L={depth} #{seed}"] = float(by_d[ds[-1]] - by_d[ds[0]])
    return out


def agreement_table(bands: Sequence[Mapping[str, landmarks.Band]], names: Sequence[str]) -> np.ndarray:
    """Return the (k, k) fraction of nets whose bands overlap, for every pair of `names` (NaN: no net has both)."""
    k = len(names)
    out = np.full((k, k), np.nan)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            hits = [bands_overlap(n.get(a), n.get(b)) for n in bands]
            hits = [h for h in hits if h is not None]
            if hits:
                out[i, j] = float(np.mean(hits))
    return out


def answer(agree: np.ndarray, names: Sequence[str], pins: Mapping[str, bool], n_nets: int,
           middle: Mapping[str, float]) -> str:
    """Return the chapter's answer in prose, composed from the run: which landmark pairs agree most often
    (bands overlap) over all nets, which agreements are fixed by pinned landmarks, and how the middle-layer
    guess does against the tunnel start."""
    pairs = sorted(((agree[i, j], names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))
                    if np.isfinite(agree[i, j])), reverse=True)
    free = [(v, a, b) for v, a, b in pairs if not (pins.get(a) or pins.get(b))]
    fixed = [(v, a, b) for v, a, b in pairs if pins.get(a) and pins.get(b)]
    parts = [f"Over all {n_nets} trained nets, with each landmark read as the band of layers its analysis choices "
             f"allow, two landmarks agree when their bands overlap."]
    if free:
        v, a, b = free[0]
        parts.append(f"Among landmarks that move from net to net, the {a} and the {b} agree most often "
                     f"({v:.0%} of nets); the least often, the {free[-1][1]} and the {free[-1][2]} "
                     f"({free[-1][0]:.0%}).")
    if fixed:
        v, a, b = fixed[0]
        parts.append(f"The {a} and the {b} agree in {v:.0%} of nets, but both sit at the same one or two layers in "
                     f"every net, trained or not: that agreement is built into their definitions, not found.")
    if "tunnel start" in names and middle:
        t = names.index("tunnel start")
        best = max(((agree[i, t], n) for i, n in enumerate(names) if n != "tunnel start" and np.isfinite(agree[i, t])),
                   default=None)
        if best is not None:
            parts.append(f"Against the tunnel start, the best lens is the {best[1]} ({best[0]:.0%}); the middle hidden "
                         f"layer, a guess that needs no lens, agrees in {middle['tunnel start']:.0%}.")
    return " ".join(parts)


def threshold_explorer(rows: Sequence[Mapping[str, Any]], thresholds: Sequence[int], default: int) -> Any:
    """Return an interactive Altair chart: every (task, depth)'s landmarks (mean over seeds) on one row, the
    tunnel start moving with a CKA-threshold slider (percent), the other landmarks fixed.

    rows: dicts with "net" (row label), "landmark", "layer" and "threshold" (percent; None for a landmark
    that does not depend on it)."""
    import altair as alt
    import pandas as pd

    df = pd.DataFrame([r | {"threshold": t} for r in rows for t in thresholds
                       if r["threshold"] is None or r["threshold"] == t])
    slider = alt.param(name="cka", value=default,
                       bind=alt.binding_range(min=min(thresholds), max=max(thresholds), step=1,
                                              name="CKA threshold of the tunnel start (%) "))
    return alt.Chart(df).mark_point(filled=True, size=80, opacity=0.85).encode(
        x=alt.X("layer:Q", title="layer (mean over seeds)", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("net:N", title=None, sort=None), color=alt.Color("landmark:N", title="landmark"),
        shape=alt.Shape("landmark:N"), tooltip=["net", "landmark", alt.Tooltip("layer:Q", format=".1f")]
    ).add_params(slider).transform_filter(alt.datum.threshold == slider).properties(width=420)


# --- the claims' words ----------------------------------------------------------------------------

PROJECT = "the boundary project (this book)"
CLAIMS: dict[str, dict] = {
    "boundary-alignment-peak-at-boundary": dict(
        provenance="book", source=f"{PROJECT}, reading Lou et al. 2022 with Masarczyk et al. 2023",
        statement="the tangent-kernel alignment peak agrees with the tunnel start (their stability bands overlap) "
                  "in at least 75% of the trained nets",
        explain={"supported": "The alignment peak sits at the tunnel start in most nets ({value}), more often than "
                              "the middle-layer guess.",
                 "not supported": "The alignment peak and the tunnel start overlap in too few nets ({value}); the "
                                  "middle-layer guess gives {control_value}.",
                 "inconclusive": "Alignment peak and tunnel start overlap in {value} of the nets, the middle-layer "
                                 "guess in {control_value}: the run cannot tell them apart."}),
    "boundary-rank-peak-at-boundary": dict(
        provenance="book", source=PROJECT,
        statement="the peak of the numerical rank agrees with the tunnel start (bands overlap) in at least 75% of "
                  "the trained nets",
        explain={"supported": "The rank peaks at the tunnel start in most nets ({value}).",
                 "not supported": "The rank peak does not mark the tunnel start ({value}; middle-layer guess "
                                  "{control_value}): it sits at the first hidden layers."}),
    "boundary-tunnel-linear": dict(
        provenance="book", source=PROJECT,
        statement="the maps between consecutive tunnel layers (tunnel by the probe rule, no CKA) are nearly affine: "
                  "mean held-out R^2 >= 0.95, in at least 75% of the nets with two or more tunnel layers",
        explain={"inconclusive": "The trained tunnels' maps are nearly affine ({value}), but so are the untrained "
                                 "nets' ({control_value}): consecutive deep ReLU layers are close to affine in each "
                                 "other before any training."}),
    "boundary-tunnel-linear-within-class": dict(
        provenance="book", source=PROJECT,
        statement="... also on the within-class parts of the features (each sample minus its class mean): held-out "
                  "R^2 >= 0.95 in at least 75% of the nets with two or more tunnel layers",
        explain={"not supported": "Within a class the tunnel's maps are far from affine ({value}): the near-linearity "
                                  "of the raw maps comes from the class means, which any affine map relates."}),
    "boundary-tunnel-more-linear": dict(
        provenance="book", source=PROJECT,
        statement="the within-class maps are more linear in the tunnel than in the extractor (probe rule) in at "
                  "least 75% of the nets that have both",
        explain={"supported": "Past the probe's saturation the maps are more linear than before it ({value}), more "
                              "often than in untrained nets ({control_value}).",
                 "not supported": "The tunnel's maps are not more linear than the extractor's in most nets ({value}).",
                 "inconclusive": "Tunnel maps are more linear than extractor maps in {value} of the trained nets and "
                                 "in {control_value} of the untrained ones."}),
    "boundary-deeper-when-harder": dict(
        provenance="reconstruction", source="Masarczyk et al. 2023 (the tunnel on harder tasks), on the hidden "
                                            "manifold model",
        statement="the tunnel start moves at least one layer deeper from the easiest to the hardest latent "
                  "dimension D (per depth and seed, mean over pairs)",
        explain={"reproduced": "Harder tasks push the boundary deeper, by more than in the same nets untrained.",
                 "not reproduced": "The boundary does not move deeper with D ({value}).",
                 "inconclusive": "The trained boundary moves by {value} from the easiest to the hardest D; read "
                                 "the reason: the untrained nets' CKA block moves with D too."}),
    "wang23-tunnel-geometric": dict(
        provenance="book", source="Wang et al. 2023's deep-linear threshold, applied to the tunnel by this book",
        statement="C_l is geometric over the tunnel: R^2 of log C_l on l >= 0.999 in at least 75% of the nets whose "
                  "tunnel holds three or more layers",
        explain={"not supported": "Over the tunnel, log C_l is not a straight line in l at the deep-linear "
                                  "precision ({value}): the tunnel does not compress like a deep linear net."}),
}


def claim_spec(claim_id: str) -> dict:
    """Return the ledger keywords of a claim: statement, source, provenance, explain."""
    return dict(CLAIMS[claim_id])


def defined(values: Mapping[str, float], *, otherwise: float = 0.0) -> dict[str, float]:
    """Return the finite values of {net: value}; when none is finite (no net has the structure measured),
    every net with `otherwise` (a net without a tunnel cannot show a property of its tunnel)."""
    out = {k: float(v) for k, v in values.items() if v is not None and np.isfinite(v)}
    return out or {k: float(otherwise) for k in values}


def linearity_points(lz: lenses.Lenses, start: int) -> list[dict[str, float]]:
    """Return one row per map between consecutive hidden layers l-1 -> l (l = 2..L-1): its adjacent-layer CKA,
    held-out map R^2 (raw and within class) and whether layer l is in the tunnel (l > start)."""
    cka_adj = adjacent_cka(lz)
    return [{"layer": l, "adjacent CKA": float(c), "map R2": float(lz.profile["map_r2"][l]),
             "map R2 within class": float(lz.profile["map_r2_within"][l]),
             "part": "tunnel" if l > start else "extractor"} for l, c in zip(range(2, lz.depth), cka_adj)]


def one_net_chart(lz: lenses.Lenses, title: str) -> Any:
    """Return every lens of one net on one axis (each profile rescaled to [0, 1] over the layers, C_l on a
    log scale first) beside its CKA matrix between hidden layers."""
    import pandas as pd

    from .. import charts

    tab = lz.table()
    tab["log C"] = np.log10(tab["C"])
    cols = {"log C": "log10 C_l", "TL": "target linearity", "alignment": "kernel alignment A_l",
            "rank": "numerical rank", "probe": "probe test accuracy", "cka_last_hidden": "CKA with layer L-1",
            "map_r2_within": "map R² (within class)"}
    rows = tab[(tab.layer >= 1) & (tab.layer <= lz.depth)]
    long = []
    for key, label in cols.items():
        v = rows[key].to_numpy(float)
        lo, hi = np.nanmin(v), np.nanmax(v)
        long += [dict(layer=int(layer), measure=label, value=(x - lo) / (hi - lo) if hi > lo else 1.0)
                 for layer, x in zip(rows.layer, v) if np.isfinite(x)]
    return (charts.by_layer(pd.DataFrame(long), "value", color="measure", y_title="rescaled to [0, 1]", title=title)
            | charts.heatmap(lz.cka[1:lz.depth, 1:lz.depth], x_labels=range(1, lz.depth), y_labels=range(1, lz.depth),
                             title="linear CKA between hidden layers", value_title="CKA", domain=(0, 1)))


def layer_range(layers: Sequence[int | None]) -> str:
    """Return "lo-hi" (or "lo") of the layers a landmark takes over nets; "none" when it is never defined."""
    v = [int(x) for x in layers if x is not None]
    if not v:
        return "none"
    return f"{min(v)}" if min(v) == max(v) else f"{min(v)}-{max(v)}"
