# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Where the lenses agree
#
# **The question.** Four lines of work each find a special place in the depth of a trained network.
# {cite:t}`wang2023` find the layers after which within-class variability shrinks geometrically;
# {cite:t}`cha2026` find that representations become linear in the target layer by layer, so
# {term}`target linearity` saturates somewhere; {cite:t}`lou2022` find that the alignment of each
# layer's tangent kernel with the labels peaks at a hidden layer $l^*$; {cite:t}`masarczyk2023` split a
# classifier into an *extractor* and a {term}`tunnel` of mutually similar, low-rank layers. The
# boundary project of chapter 5 adds that the rank peaks at the boundary and that tunnel layers behave
# almost linearly. **Do these special layers coincide, on the same networks, and how stably?** This
# chapter trains one family of networks once and reads every lens off the same checkpoints.
#
# *Reading order:* after chapters 1 (compression), 3 (target linearity), 4 (tangent-kernel alignment)
# and 5 (extractor and tunnel), which treat each lens on its own.
#
# **Landmarks move when an analysis choice moves.** Each special layer depends on a choice the sources
# leave open (a CKA threshold, a tolerance, a sample of kernel examples). So every landmark here is a
# **stability band**: the layers it picks over a declared grid of that choice
# (`metrics.landmarks.landmark_band`). Two landmarks *agree* on a net when their bands overlap, and
# agreement is judged on every trained net, never on a selected subset; the trivial guess, the middle
# hidden layer, is judged the same way.

# %% tags=["parameters"]
# generated from chapters/ch07.py (layerwise params 07 --write-cell); book values follow preset
preset = "book"
device = "auto"
seed = 0
results_dir = None
overrides = []  # names set with -p (papermill injects them): kept even where they equal the book value
width = 256  # hidden width of every MLP
sweep_depths = [6, 10, 16]  # depths L (weight matrices) of the MLP family
n_seeds = 3  # seeds per (task, depth): initialisation and batch order; claims need ≥ 3
epochs = 20  # epoch cap (SGD, minibatch): training stops once train accuracy ≥ 0.99
lr = 0.01  # SGD learning rate
momentum = 0.9  # SGD momentum
batch_size = 128  # minibatch size
datasets = ["digits", "mnist1d"]  # real data sets of the synthesis (digits, mnist1d, or a torchvision set)
data_root = ""  # folder holding torchvision data sets (paper preset)
download = False  # allow downloading a torchvision data set into data_root
n_train = 2000  # training samples of each real data set (0 ＝ all; a stratified subset otherwise)
latent_dims = [2, 8, 32]  # latent dimensions D of the hidden manifold tasks (the difficulty knob)
ambient_dim = 100  # input dimension of the hidden manifold tasks
n_samples = 1000  # training samples of each hidden manifold task
n_test = 500  # test samples of each hidden manifold task
n_kernel = 100  # stratified training examples for the tangent kernels
n_kernel_draws = 3  # draws of the kernel examples: the alignment peak's stability band
n_cka = 512  # training examples for the CKA matrix and the ranks
cka_threshold = 0.9  # tunnel start: CKA with the last hidden layer ≥ this from the start on
cka_thresholds = [0.85, 0.9, 0.95]  # CKA-threshold grid: the tunnel start's stability band
tl_rel = 0.05  # TL saturation: first layer within this (relative) of the last hidden layer's TL
tl_rels = [0.02, 0.05, 0.1]  # tolerance grid: TL saturation's stability band
onset_tol = 0.1  # compression onset: last layer with C_l ≥ (1 - onset_tol) max C_l
onset_tols = [0.05, 0.1, 0.2]  # tolerance grid: the compression onset's stability band
rank_thresholds = [0.0001, 0.001, 0.01]  # eigenvalue-threshold grid of the numerical rank: the rank peak's band
max_band = 1  # a landmark is stable when its band (over its grid, and over seeds) is at most this many layers

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown

import layerwise
from layerwise import charts, claims, lenses
from layerwise.chapters import ch07_runs as R
from layerwise.claims import Control, glue

cfg = layerwise.config.resolve_notebook("07", globals())
charts.enable()
torch.set_num_threads(1)  # small networks: extra threads only add overhead
ledger, figure = claims.Ledger(cfg), charts.figure
settings = lenses.LensSettings(
    n_kernel=cfg.n_kernel, n_cka=cfg.n_cka, tl_rel=cfg.tl_rel, onset_tol=cfg.onset_tol,
    cka_threshold=cfg.cka_threshold, seed=cfg.seed, cka_thresholds=tuple(cfg.cka_thresholds),
    tl_rels=tuple(cfg.tl_rels), onset_tols=tuple(cfg.onset_tols), rank_thresholds=tuple(cfg.rank_thresholds),
    n_kernel_draws=cfg.n_kernel_draws, max_band=cfg.max_band)
control_settings = lenses.LensSettings(**{**settings.__dict__, "alignment": False})
cfg.table()


# %% tags=["remove-cell"]
for name, value in cfg.params.items():  # parameter values for the prose
    glue(name, ", ".join(map(str, value)) if isinstance(value, list) else value)


def claim(cid, values, control, name, **kw):
    """Declare claim `cid`: its words from `ch07_runs.CLAIMS`, this run's values and control."""
    if "posed" in kw and not any(kw["posed"].values()):  # no net can pose it: say so as a precondition
        kw["requires"] = {"a net where the claim can be posed": not kw.pop("posed")}
    return ledger.claim(cid, values=values, control=Control(name, control), **R.claim_spec(cid), **kw)


# %% [markdown]
# ## 1. The lenses and the special layer each one picks
#
# Layer $l=0$ is the input, $l=1..L-1$ the hidden layers (after the ReLU) and $l=L$ the output of an
# MLP with $L$ weight matrices. Every measure is the package's (`lenses.all_lenses`), on the training
# set unless stated:
#
# | lens | measure | special layer, and the grid of its band |
# | --- | --- | --- |
# | compression | $C_l=\operatorname{Tr}\Sigma_W^l/\operatorname{Tr}\Sigma_B^l$ | **compression onset**: last layer with $C_l\ge(1-\text{tol})\max C$; over {glue:text}`onset_tols` |
# | target linearity | $\mathrm{TL}_l$ | **TL saturation**: first layer within {glue:text}`tl_rel` of the last hidden layer's TL; over {glue:text}`tl_rels` |
# | tangent-kernel alignment | $A_l$ of weight layer $l$ | **alignment peak** $l^*$; over {glue:text}`n_kernel_draws` draws of the kernel examples |
# | rank | numerical rank | **rank peak**; over {glue:text}`rank_thresholds` |
# | CKA | linear CKA between layers | **tunnel start**: first layer from which every layer has CKA $\ge$ {glue:text}`cka_threshold` with layer $L-1$; over {glue:text}`cka_thresholds` |
#
# Two more profiles: the linear-probe test accuracy, and the **linearity of each layer's map**, the
# held-out $R^2$ of the least-squares affine map from layer $l-1$ to layer $l$, also on the
# *within-class* parts of the features (each sample minus its class mean; any $K\le d+1$ class means
# are related by an affine map, so this is the stricter test).
#
# ## 2. One family of networks, trained once
#
# ReLU MLPs of width {glue:text}`width` (He initialisation), at depths $L$ in {glue:text}`sweep_depths`, trained with the
# book's one loop: cross-entropy, SGD with momentum 0.9, learning rate 0.01, batch 128, {glue:text}`n_seeds`
# seeds, each until its training accuracy reaches 0.99 (at most {glue:text}`epochs` epochs; a net that
# does not is kept out of the claims about trained nets, and each claim counts the nets it drops). Three kinds of task: **digits** (8×8 images, 10 classes; a linear probe on the pixels already
# scores about 0.94), **MNIST-1D** {cite:p}`greydanus2020` (40 features, 10 classes; the raw-input
# probe scores about 0.3), and the **hidden manifold model** {cite:p}`goldt2020`: a Gaussian latent
# $c\in\mathbb R^D$, inputs $x=\operatorname{sign}(cF/\sqrt D)$ in 100 dimensions, labels from a
# teacher acting on $c$; the latent dimension $D$ is the difficulty knob. Every net is measured
# trained and at its initialisation (the control of the claims about tunnels).

# %%
tasks = R.make_tasks(datasets=cfg.datasets, data_root=cfg.data_root, download=cfg.download,
                     n_train=cfg.n_train, latent_dims=cfg.latent_dims, ambient_dim=cfg.ambient_dim,
                     n_samples=cfg.n_samples, n_test=cfg.n_test, seed=cfg.seed)
fit_kw = dict(width=cfg.width, epochs=cfg.epochs, lr=cfg.lr, momentum=cfg.momentum,
              batch_size=cfg.batch_size, settings=settings, control_settings=control_settings)
data_recipe = dict(n_train=cfg.n_train, ambient_dim=cfg.ambient_dim, n_samples=cfg.n_samples,
                   n_test=cfg.n_test, seed=cfg.seed)
nets = {f"{name} L={L} #{s}": dict(task=name, difficulty=d, depth=L, seed=s, **R.measured_net(
    name, split, data_recipe, depth=L, seed=s, **fit_kw))
        for name, (split, d) in tasks.items() for L in cfg.sweep_depths
        for s in range(cfg.seed, cfg.seed + cfg.n_seeds)}
trained = {k: n["record"]["reached"] for k, n in nets.items()}
for name in tasks:
    recs = [n["record"] for n in nets.values() if n["task"] == name]
    print(f"{name}:", R.training_summary(recs, "train accuracy >= 0.99"))

# %% [markdown]
# ## 3. Each landmark with its band, and two that never move
#
# For every net, each landmark's band over its grid; below, the range of layers each landmark takes
# over all trained nets and over the same nets untrained.

# %%
bands = {k: n["lenses"].bands() for k, n in nets.items()}
marks = list(R.MARKS)
layers = {m: [n["lenses"].landmarks()[m] for n in nets.values()] for m in marks}
layers0 = {m: [n["untrained"].landmarks()[m] for n in nets.values()] for m in marks}
pins = R.pinned(layers, layers0)
pd.DataFrame({m: {"trained": R.layer_range(layers[m]),
                  "untrained": R.layer_range(layers0[m]),
                  "band wider than max_band (nets)": sum(not b[m].stable for b in bands.values()),
                  "pinned": pins[m]} for m in marks}).T

# %% tags=["remove-cell"]
defaults = {"tunnel start": cfg.cka_threshold, "TL saturation": cfg.tl_rel, "compression onset": cfg.onset_tol,
            "rank peak": 0.001, "alignment peak": 0}
ledger.sanity("bands-hold-the-default", section="3. Each landmark with its band, and two that never move",
              statement="every landmark's band holds the layer it picks at the default analysis choice",
              measured=float(np.mean([b[m].layers.get(defaults[m]) == n["lenses"].landmarks()[m]
                                      for b, n in zip(bands.values(), nets.values()) for m in b])), test=">= 1")
pinned_names = [m for m in marks if pins[m]]
glue("pinned", " and the ".join(pinned_names) if pinned_names else "no landmark")
glue("n_nets", len(nets))

# %% [markdown]
# A landmark is *pinned* when it takes the same one or two adjacent layers in every trained net,
# whatever the task and depth: here the {glue:text}`pinned`. Two pinned landmarks agree by construction,
# so their agreement below is reported but is no evidence that the lenses see the same thing.
#
# ## 4. Where the lenses agree
#
# For every pair of landmarks, the fraction of the {glue:text}`n_nets` trained nets whose bands
# overlap, with the middle hidden layer $\lfloor L/2\rfloor$ (`metrics.landmarks.middle_layer`) as a
# sixth "landmark" that needs no lens. {numref}`fig-ch07-threshold` shows how one analysis choice, the
# CKA threshold, moves the tunnel start while the other landmarks stay.

# %%
names = marks + ["middle layer"]
with_middle = [b | {"middle layer": R.middle_band(n["depth"])}
               for b, n in zip(bands.values(), nets.values())]
agree = R.agreement_table(with_middle, names)
figure("fig-ch07-agreement", charts.heatmap(
    np.nan_to_num(agree, nan=-0.01), x_labels=names, y_labels=names, x_title="", y_title="",
    value_title="bands overlap", domain=(0, 1), title="Fraction of nets whose bands overlap"))
middle = {m: agree[names.index("middle layer"), i] for i, m in enumerate(marks)}
display(Markdown(R.answer(agree[:-1, :-1], marks, pins, len(nets), middle)))

# %% tags=["remove-cell"]
grid = list(range(80, 99))
explorer = [dict(net=f"{n['task']}, L={n['depth']}", landmark=m, layer=v, threshold=None)
            for n in nets.values() for m, v in n["lenses"].landmarks().items() if m != "tunnel start"]
explorer += [dict(net=f"{n['task']}, L={n['depth']}", landmark="tunnel start", threshold=t,
                  layer=n["lenses"].tunnel_start(t / 100)) for n in nets.values() for t in grid]
explorer = pd.DataFrame(explorer).groupby(["net", "landmark", "threshold"], dropna=False, sort=False,
                                          as_index=False)["layer"].mean()
figure("fig-ch07-threshold", R.threshold_explorer(
    [r | {"threshold": None if pd.isna(r["threshold"]) else int(r["threshold"])}
     for r in explorer.to_dict("records")], grid, int(round(100 * cfg.cka_threshold))))

# %% [markdown]
# ```{glue:figure} fig-ch07-agreement
# :name: fig-ch07-agreement
#
# For each pair of landmarks, the fraction of trained nets in which their stability bands overlap
# (the diagonal is 1). The last row is the middle hidden layer: a lens is informative about another
# only where it beats that row (claims `boundary-alignment-peak-at-boundary`,
# `boundary-rank-peak-at-boundary`).
# ```
#
# ```{glue:figure} fig-ch07-threshold
# :name: fig-ch07-threshold
#
# Every (task, depth): the five landmarks, mean layer over seeds. Move the slider: the tunnel start
# moves with the CKA threshold that defines it, by several layers in the deeper nets, while the other
# landmarks stay where their own lenses put them. An agreement with the tunnel start that holds at one
# threshold only is an agreement with a choice.
# ```

# %% tags=["remove-cell"]
def per_net(fn, who="lenses", where=lambda n: True):
    """Return {net: fn(Lenses)} over the nets (trained, or "untrained") that satisfy `where`."""
    return {k: fn(n[who]) for k, n in nets.items() if where(n)}


with ledger.section("4. Where the lenses agree"):
    for m, cid in (("alignment peak", "boundary-alignment-peak-at-boundary"),
                   ("rank peak", "boundary-rank-peak-at-boundary")):
        claim(cid, {k: float(R.bands_overlap(b[m], b["tunnel start"])) for k, b in bands.items()},
              {k: float(R.bands_overlap(b["middle layer"], b["tunnel start"])) for k, b in zip(nets, with_middle)},
              "the middle hidden layer as the guess", test=">= 1", rule="rate >= 0.75", posed=trained,
              headline=m == "alignment peak", figure="fig-ch07-agreement")

# %% [markdown]
# ## 5. Are tunnel layers nearly linear?
#
# The boundary project's hypothesis: the map from one tunnel layer to the next is well fitted by an
# affine map. Defined with a CKA block, the test is largely circular: consecutive layers with CKA near 1
# are nearly linearly related almost by definition. So the tunnel here comes from the *probe* rule
# (the first hidden layer whose probe reaches 98% of the best one's; no CKA), and
# {numref}`fig-ch07-linearity` shows the map $R^2$ against the adjacent-layer CKA, trained and untrained,
# so that a tunnel's linearity can be read at matched CKA. Each claim asks for at least 75% of the nets
# (a Clopper-Pearson interval of the pass rate); nets whose tunnel has fewer than two layers cannot pose
# it and are dropped. The control is the same nets untrained, each with its own probe-rule tunnel (an
# untrained net without one counts as failing).

# %%
pt, pt0 = per_net(R.probe_tunnel), per_net(R.probe_tunnel, "untrained")
pairs = [(k, "trained", n["lenses"], pt[k]) for k, n in nets.items()]
pairs += [(k, "untrained", n["untrained"], pt0[k]) for k, n in nets.items()]
points = pd.DataFrame([r | {"net": k, "who": who} for k, who, lz, t in pairs
                       for r in R.linearity_points(lz, int(t["start"]))])
rho = points.groupby("who")[["adjacent CKA", "map R2 within class"]].corr(method="spearman").xs(
    "adjacent CKA", level=1)["map R2 within class"]
figure("fig-ch07-linearity", charts.scatter(
    points.assign(group=points.who + ", " + points.part), "adjacent CKA", "map R2 within class",
    color="group", x_title="CKA between consecutive hidden layers",
    y_title="held-out map R² (within class)", title="Map linearity against adjacent-layer CKA"))
rho.round(2).rename("Spearman(adjacent CKA, map R²)")

# %% tags=["remove-cell"]
gain = lambda t: t["r2_within_tunnel"] - t["r2_within_extractor"]  # noqa: E731
posed2 = {k: t["length"] >= 2 and trained[k] for k, t in pt.items()}
both = {k: bool(np.isfinite(gain(t))) and trained[k] for k, t in pt.items()}
with ledger.section("5. Are tunnel layers nearly linear?"):
    for cid, key in (("boundary-tunnel-linear", "r2_tunnel"), ("boundary-tunnel-linear-within-class",
                                                              "r2_within_tunnel")):
        claim(cid, {k: t[key] for k, t in pt.items()}, R.defined({k: t[key] for k, t in pt0.items()}),
              "the same nets untrained", test=">= 0.95", rule="rate >= 0.75", posed=posed2,
              figure="fig-ch07-linearity", headline=key == "r2_within_tunnel")
    claim("boundary-tunnel-more-linear", {k: gain(t) for k, t in pt.items()},
          R.defined({k: gain(t) for k, t in pt0.items()}, otherwise=-1.0), "the same nets untrained",
          test="> 0", rule="rate >= 0.75", posed=both, figure="fig-ch07-linearity")

# %% [markdown]
# ```{glue:figure} fig-ch07-linearity
# :name: fig-ch07-linearity
#
# Every map between consecutive hidden layers of every net: its held-out within-class $R^2$ against
# the CKA of the two layers, coloured by trained/untrained and by whether the layer lies in the
# probe-rule tunnel. Where the trained tunnel's points sit above the others at the same CKA, training
# made those maps more linear than their similarity alone predicts (claims `boundary-tunnel-*`).
# ```
#
# ## 6. Does the boundary move deeper on harder tasks?
#
# On the hidden manifold tasks, per depth and seed, the tunnel start (CKA rule) at the largest latent
# dimension minus at the smallest: one paired value per (depth, seed), at every CKA threshold of the
# grid. {cite:t}`masarczyk2023` report longer extractors for harder tasks; we ask for at least one
# layer, judged by a t-interval of the mean, and by a margin over the same nets untrained (a harder
# input could move a random net's CKA block as well).

# %%
hmm = {k: n for k, n in nets.items() if n["difficulty"] is not None}
starts = {(who, t): {(n["depth"], n["seed"]): {} for n in hmm.values()}
          for who in ("lenses", "untrained") for t in cfg.cka_thresholds}
for n in hmm.values():
    for (who, t), table in starts.items():
        table[(n["depth"], n["seed"])][n["difficulty"]] = n[who].tunnel_start(t)
deeper = {who: {f"{t:g}": R.deeper_values(starts[(who, t)]) for t in cfg.cka_thresholds}
          for who in ("lenses", "untrained")}
pd.DataFrame({(w, t): v for w, d in deeper.items() for t, v in d.items()}).agg(["mean", "max"])

# %% tags=["remove-cell"]
hmm_trained = {f"L={n['depth']} #{n['seed']}": all(m["record"]["reached"] for m in hmm.values()
                                                    if (m["depth"], m["seed"]) == (n["depth"], n["seed"]))
               for n in hmm.values()}
with ledger.section("6. Does the boundary move deeper on harder tasks?"):
    claim("boundary-deeper-when-harder", deeper["lenses"], deeper["untrained"], "the same nets untrained",
          test=">= 1", margin="> 0", rule="mean", over="CKA threshold", posed=hmm_trained, headline=True)

# %% [markdown]
# ## 7. Does the tunnel compress geometrically?
#
# {cite:t}`wang2023` find $\log C_l$ linear in $l$ in deep linear networks ($R^2\ge0.999$). Over the
# tunnel (CKA rule, default threshold) of each net whose tunnel holds at least three layers, the $R^2$
# of the least-squares line of $\log C_l$ on $l$; the claim asks for 75% of those nets, the control is
# the same nets untrained.

# %%
geo = {k: n["lenses"].tunnel_summary() for k, n in nets.items()}
geo0 = {k: n["untrained"].tunnel_summary() for k, n in nets.items()}
pd.DataFrame(geo).T[["tunnel length", "log_c_r2", "c_ratio"]].agg(["mean", "min", "max"]).round(4)

# %% tags=["remove-cell"]
with ledger.section("7. Does the tunnel compress geometrically?"):
    claim("wang23-tunnel-geometric", {k: g["log_c_r2"] for k, g in geo.items()},
          R.defined({k: g["log_c_r2"] for k, g in geo0.items()}), "the same nets untrained", test=">= 0.999",
          rule="rate >= 0.75", posed={k: g["tunnel length"] >= 3 and trained[k] for k, g in geo.items()})
ledger.save()

# %% [markdown]
# :::{dropdown} More figures
# ```{glue:figure} fig-ch07-one-net
# :name: fig-ch07-one-net
#
# One net seen whole (the deepest on the first real data set, first seed): every profile rescaled to
# $[0, 1]$ over the layers ($C_l$ on a log scale first), and its CKA matrix, where the tunnel is the
# bright block in the lower right.
# ```
# :::

# %% tags=["remove-cell"]
show = next(n for n in nets.values() if n["task"] == cfg.datasets[0] and n["depth"] == max(cfg.sweep_depths))
figure("fig-ch07-one-net", R.one_net_chart(show["lenses"], f"{show['task']}, L = {show['depth']}"))

# %% [markdown]
# ## Summary

# %% tags=["remove-input"]
display(Markdown(R.answer(agree[:-1, :-1], marks, pins, len(nets), middle)))
ledger.closing()

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ex-ch07-threshold
# In {numref}`fig-ch07-threshold`, find the threshold at which the tunnel start of the deepest digits
# nets meets their alignment peak. Is it the default threshold?
# ```
# ```{solution} ex-ch07-threshold
# :class: dropdown
# Wherever it is, it is one point of a grid: the claims count an agreement only when it holds over the
# whole band of thresholds, which is why a single-threshold match is not evidence.
# ```
#
# ```{exercise}
# :label: ex-ch07-depth
# Run `layerwise run 07 -p sweep_depths "[6, 24]"`. Predict which landmarks stay pinned, then check the
# table of section 3.
# ```
# ```{solution} ex-ch07-depth
# :class: dropdown
# The compression onset and the rank peak are fixed by the first layers' geometry, so they stay where
# they are; the tunnel start and the alignment peak move with depth.
# ```
#
# ```{exercise}
# :label: ex-ch07-epochs
# Halve the training (`-p epochs 10`). Which agreement in {numref}`fig-ch07-agreement` changes most?
# ```
# ```{solution} ex-ch07-epochs
# :class: dropdown
# Less trained nets are closer to their initialisation, where the tunnel (a CKA block) is already
# present: agreements involving the tunnel start move towards their untrained values.
# ```
