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
# # Assumption checks: are trained deep linear weights minimum-norm, balanced and low-rank?
#
# **The question.** Chapter 1 measured the geometric compression $C_l/C_{l-1}\approx\rho$ that Wang
# et al. prove for deep linear networks. The proof assumes more than the data: the *trained weights*
# must be (a) minimum-norm, (b) approximately balanced and (c) approximately low-rank. Does gradient
# descent deliver such weights, or were they there before training? Where do the paper's measured
# values come from, when during training do they settle, what breaks them, and does the compression
# rate care? Finally: does a layer that is more compressed transfer worse to new classes?
#
# **Source.** P. Wang, X. Li, C. Yaras, Z. Zhu, L. Balzano, W. Hu, Q. Qu, *Understanding Deep
# Representation Learning via Layerwise Feature Compression and Discrimination*, arXiv:2311.02960
# (JMLR 2025): Fig. 6 (assumption check) and the projection-head figure of the authors' project page.
# Only the abstract, the code (`Heimine/PNC_DLN`, `assumption/`) and the project page were readable;
# settings come from the code (reference note 01, sections 3 and 4).
#
# **How to read a verdict.** Every claim about trained networks is measured on several seeds (a
# fresh data draw and initialisation each) and next to a *control* measured the same way in the same
# run: a network that has not been trained, or one trained without the ingredient the claim credits.
# A claim whose control passes the same test is inconclusive, whatever the trained networks do.
# Identities and closed forms are *sanity* entries: they check the code, never count as findings.
#
# **The three measures** (`layerwise.metrics.weights`). Weights are $[W_1,\dots,W_L]$ with
# $W_1\in\mathbb R^{h\times d}$, hidden $W_l\in\mathbb R^{h\times h}$, $W_L\in\mathbb R^{K\times h}$;
# the network is $f(x)=\alpha W_{L:1}x$. The book stores samples as **rows** of $X\in\mathbb R^{N\times d}$
# and one-hot targets as rows of $Y\in\mathbb R^{N\times K}$.
#
# - *Minimum-norm residual* $\|W^\star-\alpha W_{L:1}\|_F$ with $W^\star=Y^\top(XX^\top)^{+}X$, the
#   smallest-norm map fitting the data (in the paper's column convention $Y(X^\top X)^{-1}X^\top$).
#   The authors omit $\alpha$, which is 1 in their runs.
# - *Balancedness* $\frac1{L-1}\sum_{l=1}^{L-1}\|W_{l+1}^\top W_{l+1}-W_lW_l^\top\|_F/\|W_l\|_F$. The
#   division by $\|W_l\|_F$ follows the authors' code (`check_balance_2(normalize=True)`), **not the
#   figure legend**, which shows the unnormalised norm.
# - *Bulk variance*: the variance (unbiased, as the authors' `torch.var`) of the middle singular
#   values $\sigma_{K+1},\dots,\sigma_{d-K}$ of each of $W_1,\dots,W_{L-1}$, pooled ($W_L$ excluded).
#   Here $d$ is the **input** dimension (50) for every layer, as in the code; for the rectangular
#   $W_1$ ($h\ge d$) these are $d-2K$ of its $d$ singular values.

# %% tags=["parameters"]
# generated from chapters/ch02.py (layerwise params 02 --write-cell); book values follow preset
preset = "book"
device = "auto"
seed = 0
results_dir = None
overrides = []  # names set with -p (papermill injects them): kept even where they equal the book value
# Fig. 6: theory data, orthogonal init, GD until the loss is tiny
n_per_class = 10  # points per class n of the theory data (Fig. 6 uses chapter 1's data)
n_classes = 3  # number of classes K of the theory data
dim = 50  # input dimension d of the theory data; also the d of the bulk slice sigma_(K+1..d-K)
init_scale = 0.1  # orthogonal initialisation scale xi of the Fig. 6 nets
control_init_scale = 1.0  # init scale of the control nets: the same GD from a large init, which interpolates without the small-init bias
alpha = 1.0  # output multiplier alpha of the Fig. 6 nets
lr = 0.1  # initial learning rate of full-batch gradient descent (Fig. 6)
lr_min = 0.0001  # final learning rate of the cosine schedule, reached at `epochs` (Fig. 6)
epochs = 100000  # epoch budget (and cosine length) of the Fig. 6 nets; they stop at stop_loss first
stop_loss = 1e-10  # training stops once the loss falls below this (Fig. 6)
n_seeds = 5  # seeds s ＝ seed .. seed + n_seeds - 1 (data draw and initialisation) for every claim; claims need ≥ 3
sweep_depths = [2, 3, 4, 5]  # depths L of the Fig. 6 depth sweep (at `width`)
width = 400  # hidden width h of the Fig. 6 depth sweep
sweep_widths = [200, 400, 700]  # widths h of the Fig. 6 width sweep (at `depth`)
depth = 5  # depth L (weight matrices) of the Fig. 6 width sweep and of the training-time snapshots
# what breaks the assumptions (chapter 1's theory setting)
rate_depth = 6  # depth L of the theory-setting nets whose assumptions are broken (chapter 1)
rate_width = 50  # width h of the theory-setting nets
rate_init_scale = 0.3  # init scale xi of the theory-setting baseline
rate_alpha = 100.0  # output multiplier alpha of the theory-setting nets
rate_lr = 0.1  # initial learning rate of the theory-setting nets (GD, cosine)
rate_lr_min = 0.01  # final learning rate of the theory-setting cosine schedule
rate_epochs = 5000  # epoch budget of the theory-setting nets that train to rate_stop_loss
rate_stop_loss = 1e-11  # the theory-setting nets stop once the loss is below this
rate_init_scales = [0.4, 0.5, 0.6]  # larger init scales xi tried (one intervention each)
rate_weight_decays = [0.003, 0.01, 0.03]  # weight decays tried (one intervention each)
decay_epochs = 300  # fixed epochs of the weight-decay runs (their loss cannot reach the threshold)
rate_activations = ["tanh", "relu"]  # nonlinearities inserted in every hidden layer (one run each)
nonlinear_epochs = 1000  # epoch cap of the nonlinear runs
# transfer (projection head)
dataset = "mnist1d"  # data set of the transfer experiment (classes 0-4 pre-train, 5-9 transfer): mnist1d, digits, or a torchvision set with data_root
data_root = ""  # folder holding torchvision data sets (paper preset)
download = False  # allow downloading a torchvision data set into data_root
n_train = 0  # training samples of the transfer data set (0 ＝ all; a stratified subset otherwise)
net_width = 64  # hidden width of the transfer nets (extractor and head)
extractor_depth = 2  # Linear-BN-ReLU extractor layers kept after pre-training
head_depths = [1, 2, 3, 4, 5]  # projection-head depths m (linear layers between extractor and classifier) compared
net_epochs = 300  # full-batch Adam epochs of the transfer nets
net_lr = 0.003  # Adam learning rate of the transfer nets (cosine to 1% of it)
net_init_scale = 0.3  # orthogonal init scale of the transfer nets (the theory setting's xi)
probe_ridge = 0.001  # relative ridge of the least-squares transfer probe in the tables, figures and the precondition
probe_ridges = [0.0001, 0.001, 0.01]  # relative probe ridges the transfer-accuracy claims must hold at (an analysis choice)

# %%
import resource

import numpy as np
import pandas as pd
import torch

import layerwise
from layerwise import charts, claims, data, deep_linear, features, models, train
from layerwise.chapters import ch02
from layerwise.claims import Control, glue
from layerwise.metrics import collapse, probes, weights

cfg = layerwise.config.resolve_notebook("02", globals())
if cfg.device.type == "cpu":
    torch.set_num_threads(1)  # every tensor here is tiny: a second thread costs more in syncing than it saves
charts.enable()
ledger = claims.Ledger(cfg)
SOURCE = "Wang et al. 2023"
K, D = cfg.n_classes, cfg.dim
seeds = [cfg.seed + i for i in range(cfg.n_seeds)]
cfg.table()

# %% [markdown]
# ## 1. Why a CPU can run Fig. 6: wide linear nets train in a $(d+K)$-dimensional subspace
#
# The paper's Fig. 6 trains bias-free linear networks of width up to 700 from a small orthogonal
# initialisation ($\xi=0.1$, $\alpha=1$) with full-batch gradient descent (learning rate 0.1,
# cosine-annealed to $10^{-4}$ over $10^5$ epochs) until the loss $\frac1N\|\alpha XW_{L:1}^\top-Y\|_F^2$
# is below $10^{-10}$. At depth 5 that takes over 20,000 steps: the product of five layers starts at
# $\xi^5=10^{-5}$, and gradient descent spends most of its time leaving the saddle at the origin.
#
# Width, however, is nearly free. At hidden layer $l$ let $F_l$ be the image of the input space under
# the initial $W_l\cdots W_1$ ($d$ dimensions) and $B_l$ the image of the output space under the
# initial $W_{l+1}^\top\cdots W_L^\top$ ($K$ dimensions). The initial orthogonal layers map
# $V_{l-1}=F_{l-1}+B_{l-1}$ onto $V_l$ and its complement onto the complement, and every gradient
# $\alpha W_{L:l+1}^\top G H_{l-1}^\top$ has its columns in $V_l$ and its rows in $V_{l-1}$. So gradient
# descent only ever changes the $(d+K)\times(d+K)$ block $R_l=V_l^\top W_lV_{l-1}$, and follows exactly
# the trajectory of the small network $R_L\cdots R_1$; the complement keeps $h-d-K$ singular values
# equal to $\xi$. `layerwise.deep_linear` builds this reduction from the full-width initialisation,
# trains many reduced networks at once as one `DeepLinearEnsemble` through the book's `train.fit`
# (the summed loss gives each member its own gradient), and computes the three measures of the
# full-width network from the reduced weights. The test suite checks it against full-width training;
# here is the check once more, on a width-80 network for 100 steps (a sanity entry). These linear
# networks run on the CPU whatever the `device`: their tensors are tiny.

# %% tags=["hide-input"]
def theory_net(width, depth, init_scale, alpha, seed):
    """The untrained full-width deep linear net of the Fig. 6 setting (float64)."""
    return models.MLP(D, width, depth, K, activation="linear", bias=False, init="orthogonal",
                      init_scale=init_scale, output_scale=alpha, seed=seed).double()


def theory_data(seed):
    """Chapter 1's nearly orthonormal data, a fresh draw per seed (as the authors' set_seed)."""
    return data.nearly_orthonormal(cfg.n_per_class, K, D, seed=seed)


# %%
demo_data, demo_net = theory_data(cfg.seed), theory_net(80, 3, 0.3, cfg.alpha, cfg.seed)
demo_init = [w.detach().clone() for w in demo_net.weights()]
demo_red = deep_linear.reduce_orthogonal_init(demo_init, 0.3)
demo_ens = deep_linear.DeepLinearEnsemble.from_reductions([demo_red], output_scale=cfg.alpha)
y_demo = data.one_hot(demo_data.labels, K, torch.float64)
train.fit(demo_ens, demo_data.x, y_demo, epochs=100, lr=cfg.lr, loss="mse", progress=False)
train.fit(demo_net, demo_data.x, demo_data.labels, epochs=100, lr=cfg.lr, loss="mse", progress=False)
lifted = deep_linear.lift(demo_ens.member_weights(0), demo_red, demo_init)
gap = max(float((a.detach() - b).abs().max()) for a, b in zip(demo_net.weights(), lifted))
ledger.sanity("reduction-matches-full-width", measured=gap, test="<= 1e-6",
              statement="100 GD steps of the reduced net, lifted to width 80, equal the full-width net's weights "
                        "(max entry difference; the full net's float32-rounded init is orthogonal to ~1e-8)")
print(f"reduced width {demo_red.bases[0].shape[1]} instead of 80; max |W_full - W_lifted| after 100 steps = {gap:.1e}")

# %% [markdown]
# ## 2. Fig. 6 reproduced
#
# The data are the theory data of chapter 1 ($K=3$ classes of $n=10$ nearly orthonormal points in
# $d=50$ dimensions, a fresh draw per seed). Two sweeps: depth $L$ at width `width`, and width at
# depth `depth` (the values are in the parameter table). Every network of one depth is trained at once;
# the ensemble stops when the **sum** of the members' losses is below the threshold, so each member
# ends a little below it (the authors stop each run separately).
#
# **Controls.** Each network is measured twice more: *untrained* (at step 0, the same weights before
# any step), and *trained from a large initialisation* ($\xi$ = `control_init_scale`, the same data, the
# same gradient descent to the same loss). The first answers "was the property there before
# training?"; the second "does any gradient-descent solution that fits the data have it, or only the
# one reached from a small initialisation?". A control with shuffled labels would not help here: the
# inputs are nearly orthonormal, so a permuted labelling is the same problem in other coordinates
# (the minimum-norm map has the same singular values), and every measure below would come out the same.

# %% tags=["hide-input"]
def log_epochs(last, count=24):
    return sorted({int(e) for e in np.geomspace(1, last, count)})


def member_measures(red, ds, weights_now):
    """The three measures and the balance gaps of one member, from its reduced weights."""
    m = deep_linear.reduced_weight_assumptions(weights_now, red.complement, red.init_scale, ds.x, ds.labels,
                                               k=K, alpha=cfg.alpha, dim=D)
    m["gaps"], _ = deep_linear.reduced_balance_gaps(weights_now, red.complement, red.init_scale)
    return m


def train_fig6(depth, widths, seeds, xi, *, snapshots=True):
    """Train every (width, seed) at one depth from init scale xi as one reduced ensemble.

    Returns (rows, snaps): one row per member with its measures at step 0 (`*_init`) and at the end,
    and the measures at log-spaced steps (empty without `snapshots`).
    """
    members = [(w, s) for w in widths for s in seeds]
    reds, sets = [], []
    for w, s in members:
        reds.append(deep_linear.reduce_orthogonal_init(theory_net(w, depth, xi, cfg.alpha, s).weights(), xi))
        sets.append(theory_data(s))
    ens = deep_linear.DeepLinearEnsemble.from_reductions(reds, output_scale=cfg.alpha)
    x = deep_linear.side_by_side([ds.x for ds in sets])
    y = data.one_hot(sets[0].labels, K, torch.float64).repeat(1, len(members))
    predicted = collapse.predicted_compression_rate(xi, cfg.alpha, cfg.n_per_class, depth)

    def snapshot(epoch, model):
        out = []
        with torch.no_grad():
            feats = model.features(x)
        for i, (red, ds) in enumerate(zip(reds, sets)):
            m = member_measures(red, ds, model.member_weights(i))
            c, _ = collapse.layerwise_collapse([f[i] for f in feats[:-1]], ds.labels)
            out.append(dict(m, rate_error=ch02.rate_error(c, predicted)))
        return out

    init = snapshot(0, ens)
    hist = train.fit(ens, x, y, epochs=cfg.epochs, lr=cfg.lr, lr_min=cfg.lr_min, schedule="cosine", loss="mse",
                     stop_loss=cfg.stop_loss, callback=snapshot if snapshots else None,
                     snapshot_epochs=log_epochs(cfg.epochs) if snapshots else ())
    final = snapshot(hist.epochs_run, ens)
    with torch.no_grad():
        out = ens(x)
    rows = []
    for i, (w, s) in enumerate(members):
        loss = float((out[:, i * K:(i + 1) * K] - y[:, :K]).pow(2).sum(1).mean())
        f, f0 = final[i], init[i]
        rows.append(dict(depth=depth, width=w, seed=s, init_scale=xi, epochs=hist.epochs_run, loss=loss,
                         residual=f["residual"], balance=f["balance"], bulk_variance=f["bulk_variance"],
                         rate_error=f["rate_error"], residual_init=f0["residual"], balance_init=f0["balance"],
                         bulk_variance_init=f0["bulk_variance"], gaps_init=f0["gaps"], gaps_final=f["gaps"]))
    snaps = [dict(depth=depth, width=w, seed=s, epoch=e, **{k: v[i][k] for k in
                                                           ("residual", "balance", "bulk_variance", "rate_error")})
             for e, v in [*hist.snapshots, (hist.epochs_run, final)] for i, (w, s) in enumerate(members)]
    return rows, snaps


# %%
grid = {L: sorted(({cfg.width} if L in cfg.sweep_depths else set()) | (set(cfg.sweep_widths) if L == cfg.depth else set()))
        for L in sorted(set(cfg.sweep_depths) | {cfg.depth})}
rows, snaps, control_rows = [], [], []
for L, widths in grid.items():
    r, s = train_fig6(L, widths, seeds, cfg.init_scale)
    rc, _ = train_fig6(L, widths, seeds, cfg.control_init_scale, snapshots=False)
    rows, snaps, control_rows = rows + r, snaps + s, control_rows + rc
    print(f"L={L}: widths {widths} x {len(seeds)} seed(s): xi={cfg.init_scale} trained for {r[0]['epochs']} epochs "
          f"(largest member loss {max(x['loss'] for x in r):.1e}), xi={cfg.control_init_scale} for {rc[0]['epochs']}")
runs, snaps, control_runs = pd.DataFrame(rows), pd.DataFrame(snaps), pd.DataFrame(control_rows)

# %% tags=["hide-input"]
MEASURES = ["residual", "balance", "bulk_variance"]


def mean_std(df, by):
    g = df.groupby(by)[MEASURES].agg(["mean", "std"])
    g.columns = [f"{a}_{b}" for a, b in g.columns]
    return g.fillna(0.0).reset_index()


def sweep_chart(df, x, measure, title, x_title, log_y=False):
    d = df.assign(lo=df[f"{measure}_mean"] - df[f"{measure}_std"], hi=df[f"{measure}_mean"] + df[f"{measure}_std"])
    if log_y:
        d["lo"] = d["lo"].clip(lower=d[f"{measure}_mean"].min() / 10)
    return charts.line(d, x, f"{measure}_mean", band=("lo", "hi"), x_title=x_title, y_title=f"{measure} (mean ± std)",
                       title=title, log_y=log_y, width=230)


# read off the paper's Fig. 6 (reference note 01, section 4)
PAPER_DEPTH = {2: (0.049, 0.023), 3: (0.047, 0.066), 4: (0.044, 0.048), 5: (0.040, 0.037)}
PAPER_WIDTH_RESIDUAL = {200: 0.059, 300: 0.048, 400: 0.039, 500: 0.037, 600: 0.034, 700: 0.029}

# %%
depth_sweep = mean_std(runs[(runs.width == cfg.width) & runs.depth.isin(cfg.sweep_depths)], "depth")
width_sweep = mean_std(runs[(runs.depth == cfg.depth) & runs.width.isin(cfg.sweep_widths)], "width")
depth_sweep["paper_residual"] = depth_sweep.depth.map(lambda L: PAPER_DEPTH.get(L, (np.nan,))[0])
depth_sweep["paper_balance"] = depth_sweep.depth.map(lambda L: PAPER_DEPTH.get(L, (np.nan, np.nan))[1])
width_sweep["paper_residual"] = width_sweep.width.map(PAPER_WIDTH_RESIDUAL)
depth_sweep.style.format(precision=4)

# %%
width_sweep.style.format(precision=4)

# %%
((sweep_chart(depth_sweep, "depth", "residual", "Min-norm residual", "depth L")
  | sweep_chart(depth_sweep, "depth", "balance", "Balancedness", "depth L")
  | sweep_chart(depth_sweep, "depth", "bulk_variance", "Bulk variance", "depth L", log_y=True))
 & (sweep_chart(width_sweep, "width", "residual", "", "width h")
    | sweep_chart(width_sweep, "width", "balance", "", "width h")
    | sweep_chart(width_sweep, "width", "bulk_variance", "", "width h", log_y=True)))

# %% [markdown]
# The same networks next to their controls (mean over seeds): untrained (step 0) and trained from
# $\xi$ = `control_init_scale`.

# %%
both = runs.merge(control_runs[["depth", "width", "seed", *MEASURES]], on=["depth", "width", "seed"],
                  suffixes=("", "_large_init"))
both.groupby(["depth", "width"])[[c for m in MEASURES for c in (m, f"{m}_init", f"{m}_large_init")]].mean(
).style.format(precision=4)

# %% [markdown]
# Claim 4 of note 01, with its thresholds: after gradient descent the residual is at most $0.07$ and the
# normalised balancedness at most $0.08$ in every run, and the residual falls from the narrowest to the
# widest network. Each seed's value is its worst run over the whole grid. The bulk variance is a sanity
# entry, not a claim: without weight decay the slice $\sigma_{K+1..d-K}$ of a hidden layer lies in the
# untouched complement, equal to $\xi$ by construction (section 1), so it cannot fail (it is $0$ at
# step 0 and stays within rounding of it). Where it *can* fail (weight decay, nonlinearities) it is
# measured in section 5.

# %%
SEC2 = "2. Fig. 6 reproduced"
fig6 = runs.to_dict("records")
control = control_runs.to_dict("records")
large = f"the same GD from xi = {cfg.control_init_scale:g} (worst run)"
ledger.claim("wang23-assumptions-min-norm", source=f"{SOURCE}, Fig. 6", section=SEC2,
             statement=f"GD from xi = {cfg.init_scale:g} ends within 0.07 of the minimum-norm solution (worst run)",
             test="<= 0.07", values=ch02.worst_per_seed(fig6, "residual"),
             control=Control(large, ch02.worst_per_seed(control, "residual")),
             explain={"reproduced": "The small initialisation is what makes the fit minimum-norm: the same gradient "
                                    "descent from a large initialisation fits the data as well but keeps a larger "
                                    "null-space part (section 3).",
                      "inconclusive": "Where it is the control that passes, a fit from a large initialisation is as "
                                      "close to minimum-norm, and the test does not separate the small-init "
                                      "solution from any other fit."})
ledger.claim("wang23-assumptions-balanced", source=f"{SOURCE}, Fig. 6", section=SEC2,
             statement="normalised balancedness <= 0.08 after GD (worst run)", test="<= 0.08",
             values=ch02.worst_per_seed(fig6, "balance"),
             control=Control("the same nets untrained, at step 0 (worst run)", ch02.worst_per_seed(fig6, "balance_init")),
             explain={"reproduced": "Training lowers the measure only by growing the norms it divides by: the "
                                    "imbalance itself is the initial one, conserved (section 3).",
                      "inconclusive": "Where it is the control that passes, the untrained orthogonal initialisation "
                                      "is already this balanced."})
ledger.sanity("bulk-variance-stays-at-init", measured=float(runs.bulk_variance.max()), test="<= 1e-3",
              statement="without weight decay the middle singular values of every hidden layer stay at xi "
                        "(worst run of the Fig. 6 grid; 0 at step 0)", source=f"{SOURCE}, Fig. 6", section=SEC2)
by_width = {name: {s: ch02.relative_fall(df[(df.depth == cfg.depth) & (df.seed == s)].sort_values("width").residual.tolist())
                   for s in seeds} for name, df in (("trained", runs), ("large", control_runs))}
ledger.claim("wang23-residual-falls-with-width", source=f"{SOURCE}, Fig. 6", section=SEC2,
             statement=f"the min-norm residual falls by at least a tenth from h = {min(cfg.sweep_widths)} to "
                       f"h = {max(cfg.sweep_widths)} at L = {cfg.depth} (relative fall 1 - r(h_max)/r(h_min); "
                       "the figure: 0.51)", test=">= 0.1", values=by_width["trained"],
             control=Control(f"the same GD from xi = {cfg.control_init_scale:g}", by_width["large"]),
             explain={"inconclusive": "Where it is the control that passes, fits from a large initialisation "
                                      "fall as much with width: the fall is then the geometry of "
                                      "a frozen random block of W_1 meeting a K-dimensional row space (about "
                                      "1/sqrt(h), section 3), not a sign that wider small-init nets approach the "
                                      "minimum-norm solution more closely.",
                      "reproduced": "Fits from a large initialisation do not fall as much with width."})
glue("residual_untrained", float(runs.residual_init.mean()), ".2f")
glue("residual_large_init", float(control_runs.residual.mean()), ".2f")
glue("balance_untrained_max", float(runs.balance_init.max()), ".3f")
ledger.table().iloc[-3:]

# %% [markdown]
# For scale: the untrained networks have a residual of {glue:text}`residual_untrained` on average
# (they fit nothing, so it is about $\|W^\star\|_F$), the large-initialisation fits one of
# {glue:text}`residual_large_init`; the untrained networks' balancedness reaches
# {glue:text}`balance_untrained_max` in their worst configuration. Why the values are what they are is
# the subject of the next section.
#
# ## 3. Where the numbers of Fig. 6 come from
#
# All three values are inherited from the initialisation, and each can be predicted.
#
# **Balancedness is the initial imbalance, conserved.** Gradient flow on any loss of $W_{L:1}$ keeps
# every $W_{l+1}^\top W_{l+1}-W_lW_l^\top$ constant (Arora et al., 2018). At the orthogonal
# initialisation the hidden pairs are exactly balanced ($\xi^2I=\xi^2I$), but the rectangular ends are
# not: $W_1W_1^\top=\xi^2P_d$ against $W_2^\top W_2=\xi^2I_h$ gives a gap $\xi^2\sqrt{h-d}$, and
# $W_{L-1}W_{L-1}^\top=\xi^2I_h$ against $W_L^\top W_L=\xi^2P_K$ gives $\xi^2\sqrt{h-K}$. Training
# leaves these gaps alone and grows $\|W_l\|_F$, so Fig. 6's balancedness is those two numbers divided
# by the trained norms and averaged over $L-1$ pairs: it rises with width (larger gaps) and is largest
# at $L=3$, where two of the two pairs are unbalanced ends. At $L=2$ the single pair's gap is that of
# $\xi^2(P_d - P_K)$. Both statements are sanity entries below (a conservation law and a closed form).
#
# **The residual is the part of $W_1$ the data never see.** Without weight decay the gradient of
# $W_1$ lies in the span of the data, so $W_1$ restricted to the $d-N=20$ directions orthogonal to the
# data stays at its initial value, and at interpolation the residual is exactly
# $\alpha\|W_{L:2}W_1(0)P_\perp\|_F$ (a test of the book checks this identity). The random
# $20$-dimensional block $W_1(0)P_\perp$ overlaps the $K$-dimensional row space of $W_{L:2}$ by about
# $\sqrt{K/h}$, so the residual should fall like $1/\sqrt h$, and it scales with the initial
# $\|W_1(0)P_\perp\|\propto\xi$: the large-initialisation control has the same law at a larger level.
#
# **The bulk is $\xi$.** All but $K$ singular values of a hidden layer stay at $\xi$ exactly (the
# complement block) or very nearly (inside the trained block), so the variance is tiny.
#
# The last column is chapter 1's question asked of these networks: the largest relative error of a
# layer-to-layer ratio $C_l/C_{l-1}$ against the closed form $\xi^2\alpha^{2/L}n^{-1/L}$.

# %%
SEC3 = "3. Where the numbers of Fig. 6 come from"
runs["gap_drift"] = [ch02.gap_drift(gi, gf) for gi, gf in zip(runs.gaps_init, runs.gaps_final)]
three_plus = runs.depth >= 3  # at L = 2 the single pair is W_1 against the classifier: a different gap
runs["gap_first_closed_form"] = np.where(three_plus, cfg.init_scale ** 2 * np.sqrt(runs.width - D), np.nan)
runs["gap_last_closed_form"] = np.where(three_plus, cfg.init_scale ** 2 * np.sqrt(runs.width - K), np.nan)
runs["gap_first_final"] = [g[0] for g in runs.gaps_final]
runs["gap_last_final"] = [g[-1] for g in runs.gaps_final]
runs["residual_x_sqrt_width"] = runs.residual * np.sqrt(runs.width)
control_runs["residual_x_sqrt_width"] = control_runs.residual * np.sqrt(control_runs.width)
runs.groupby(["depth", "width"])[["epochs", "balance", "gap_drift", "gap_first_final", "gap_first_closed_form",
                                  "gap_last_final", "gap_last_closed_form", "residual", "residual_x_sqrt_width",
                                  "rate_error"]].mean().style.format(precision=4)

# %%
deep = runs[three_plus]
first_gap_error = float((deep.gap_first_final / deep.gap_first_closed_form - 1).abs().max()) if len(deep) else 0.0
ledger.sanity("balance-gaps-conserved", measured=float(runs.gap_drift.max()), test="<= 0.01", section=SEC3,
              source="Arora et al. 2018 (conservation law of gradient flow)",
              statement="every gap ||W_(l+1)^T W_(l+1) - W_l W_l^T||_F ends within 1% (of the largest initial gap) "
                        "of its value at init")
ledger.sanity("first-gap-closed-form", measured=first_gap_error, test="<= 0.01", section=SEC3,
              source="this book (orthogonal init)",
              statement="the first pair's trained gap equals xi^2 sqrt(h - d) within 1% (L >= 3)")
sqrt_law = pd.DataFrame({"small init": runs[runs.depth == cfg.depth].groupby("width").residual_x_sqrt_width.mean(),
                         "large init": control_runs[control_runs.depth == cfg.depth].groupby("width").residual_x_sqrt_width.mean()})
sqrt_law.style.format(precision=3).set_caption(f"residual x sqrt(width) at L = {cfg.depth}, mean over seeds")

# %% [markdown]
# ## 4. When do the assumptions become true during training?
#
# Snapshots of the three measures at logarithmically spaced steps, for the networks of depth
# `depth` and width `width` (mean over seeds), together with the error of the compression rate
# against the closed form $\xi^2\alpha^{2/L}n^{-1/L}$ (largest relative error over the layers).

# %%
snap = snaps[(snaps.depth == cfg.depth) & (snaps.width == cfg.width)].drop_duplicates(
    ["seed", "epoch"], keep="last").groupby("epoch")[
    MEASURES + ["rate_error"]].mean().reset_index()
snap = snap[snap.epoch > 0]
long = snap.melt(id_vars="epoch", value_vars=["residual", "balance", "rate_error"], var_name="measure")
(charts.line(long, "epoch", "value", color="measure", log_x=True, log_y=True, x_title="GD step (log scale)",
             y_title="value (log scale)", title=f"Assumptions during training (L = {cfg.depth}, h = {cfg.width})")
 | charts.line(snap.assign(bulk_variance=snap.bulk_variance.clip(lower=1e-16)), "epoch", "bulk_variance",
               log_x=True, log_y=True, x_title="GD step (log scale)", y_title="bulk variance (log scale)",
               title="Bulk singular-value variance"))

# %%
snap[["epoch", *MEASURES, "rate_error"]].style.format(precision=4)

# %% [markdown]
# In the table the balance gaps never move (section 3), so balancedness can only fall when the norms
# grow, i.e. when the top singular values take off at the end of the plateau; the bulk variance starts
# at zero; and the residual stays large on the long plateau near the saddle (the map has not learned
# the labels) until the loss drops. The compression rate can only match the closed form once the top
# singular values have reached $(\sqrt n/\alpha)^{1/L}$, at the end of training.
#
# ## 5. What breaks the assumptions, and does the rate notice?
#
# Here we return to chapter 1's theory setting (depth `rate_depth`, $h=d$, $\xi$ = `rate_init_scale`,
# $\alpha$ = `rate_alpha`, learning rate cosine-annealed, stop below `rate_stop_loss`), where chapter 1
# measured the closed-form rate, and break one thing at a time, for every seed: stop early (every step
# of the baseline run is a snapshot), enlarge $\xi$, add weight decay (a fixed number of steps, since
# the loss no longer reaches the threshold), or insert a nonlinearity (tanh or ReLU in every hidden
# layer, capped at a fixed number of steps). Weight decay and nonlinearities are where the low-rank
# measure can fail: weight decay shrinks the complement block, a nonlinearity breaks the reduction.
# For every run we record the three measures and the compression-rate error against the closed form.
# We also compute the rate the **trained spectrum** implies: $\overline{\sigma^2_{\rm bulk}}/\overline{\sigma^2_{\rm top}}$
# of each $W_l$ (`weights.spectral_compression_rates`), the quantity the closed form approximates.

# %% tags=["hide-input"]
def rate_net(seed, activation="linear", xi=None):
    return models.MLP(D, cfg.rate_width, cfg.rate_depth, K, activation=activation, bias=False, init="orthogonal",
                      init_scale=xi or cfg.rate_init_scale, output_scale=cfg.rate_alpha, seed=seed).double()


def rate_record(net, ds, xi, label, value, epochs, loss):
    """Measures, closed-form rate error and spectral rate error of a trained theory-setting net."""
    w = [p.detach() for p in net.weights()]
    c, _ = collapse.layerwise_collapse(features.layer_features(net, ds.x)[:-1], ds.labels)
    ratios = np.asarray(c[1:]) / np.asarray(c[:-1])
    spectral = np.asarray(weights.spectral_compression_rates(w, K))
    predicted = collapse.predicted_compression_rate(xi, cfg.rate_alpha, cfg.n_per_class, cfg.rate_depth)
    return dict(intervention=label, value=value, epochs=epochs, loss=loss,
                **weights.weight_assumptions(w, ds.x, ds.labels, k=K, alpha=cfg.rate_alpha),
                predicted=predicted, measured_rate=float(np.mean(ratios[1:])),
                rate_error=ch02.rate_error(c, predicted), spectral_rate=float(np.mean(spectral[1:])),
                spectral_error=ch02.rate_error(c, spectral))


def fit_rate(net, ds, *, epochs, stop_loss, weight_decay=0.0, callback=None, snapshot_epochs=()):
    return train.fit(net, ds.x, ds.labels, epochs=epochs, lr=cfg.rate_lr, lr_min=cfg.rate_lr_min,
                     schedule="cosine", loss="mse", weight_decay=weight_decay, stop_loss=stop_loss,
                     callback=callback, snapshot_epochs=snapshot_epochs)


def break_assumptions(s, every_step):
    """Every intervention of this section for seed s; with `every_step`, the baseline's steps too."""
    ds = theory_data(s)
    base = rate_net(s)
    step = (lambda e, m: rate_record(m, ds, cfg.rate_init_scale, "fewer steps", e, e, np.nan)) if every_step else None
    hist = fit_rate(base, ds, epochs=cfg.rate_epochs, stop_loss=cfg.rate_stop_loss, callback=step,
                    snapshot_epochs=range(1, cfg.rate_epochs + 1) if every_step else ())
    out = [dict(r, loss=hist.loss[e]) for e, r in hist.snapshots if e > 0][:-1] if every_step else []
    out.append(rate_record(base, ds, cfg.rate_init_scale, "baseline (converged)", 0.0, hist.epochs_run, hist.loss[-1]))
    for xi in cfg.rate_init_scales:
        net = rate_net(s, xi=xi)
        try:
            h = fit_rate(net, ds, epochs=cfg.rate_epochs, stop_loss=cfg.rate_stop_loss)
            out.append(rate_record(net, ds, xi, "larger init scale", xi, h.epochs_run, h.loss[-1]))
        except train.DivergenceError as err:
            print(f"seed {s}, xi = {xi}: {err}")
    for wd in cfg.rate_weight_decays:
        net = rate_net(s)
        h = fit_rate(net, ds, epochs=cfg.decay_epochs, stop_loss=None, weight_decay=wd)
        out.append(rate_record(net, ds, cfg.rate_init_scale, "weight decay", wd, h.epochs_run, h.loss[-1]))
    for act in cfg.rate_activations:
        net = rate_net(s, activation=act)
        h = fit_rate(net, ds, epochs=cfg.nonlinear_epochs, stop_loss=cfg.rate_stop_loss)
        out.append(rate_record(net, ds, cfg.rate_init_scale, f"{act} nonlinearity", act, h.epochs_run, h.loss[-1]))
    untrained = rate_net(s)
    out.append(rate_record(untrained, ds, cfg.rate_init_scale, "untrained", 0.0, 0, np.nan))
    return [dict(r, seed=s) for r in out]


# %%
broken = pd.DataFrame([r for s in seeds for r in break_assumptions(s, every_step=(s == seeds[0]))])
trained = broken[~broken.intervention.isin(["fewer steps", "untrained"])]
trained.groupby(["intervention", "value"], sort=False)[
    ["epochs", "loss", *MEASURES, "predicted", "measured_rate", "rate_error", "spectral_rate", "spectral_error"]
].mean().style.format(precision=4)

# %% [markdown]
# Stopping early, step by step (the first seed):

# %%
early = broken[(broken.intervention == "fewer steps") & (broken.seed == seeds[0])]
early[early.value.isin(sorted({1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60} | {int(early.value.max()) if len(early) else 1}))][
    ["value", "loss", *MEASURES, "measured_rate", "spectral_rate", "rate_error", "spectral_error"]
].rename(columns={"value": "step"}).style.format(precision=4)

# %%
fig6_points = runs.assign(intervention="Fig. 6 setting (converged)")[["intervention", *MEASURES, "rate_error"]]
points = pd.concat([broken[["intervention", *MEASURES, "rate_error"]], fig6_points], ignore_index=True)
points["bulk_variance"] = points.bulk_variance.clip(lower=1e-16)
points["rate_error"] = points.rate_error.clip(lower=1e-4)
panels = [charts.scatter(points, m, "rate_error", color="intervention", log_x=True, log_y=True, x_title=m,
                         y_title="rate error max_l |rho_l / rho_hat - 1|", title=t).properties(width=230)
          for m, t in zip(MEASURES, ["Rate error vs assumption error", "", ""])]
panels[0] | panels[1] | panels[2]

# %%
charts.scatter(trained.assign(spectral=trained.spectral_rate), "spectral", "measured_rate", color="intervention",
               diagonal=True, x_title="rate implied by the trained spectrum (mean over l >= 2)",
               y_title="measured mean C_l / C_(l-1), l >= 2", title="The spectrum sets the rate (dashed: equality)")

# %% [markdown]
# Two claims of this book are tested on these runs, each seed separately:
#
# - **The spectrum sets the rate.** For every trained linear (and tanh) network of a seed, each ratio
#   $C_l/C_{l-1}$ is within 10% of the rate its own singular values imply. The control is the trivial
#   predictor, the closed form $\xi^2\alpha^{2/L}n^{-1/L}$, tested the same way on the same networks:
#   if it also passes, the spectrum adds nothing.
# - **Weight decay decouples the rate from the assumptions.** With the strongest weight decay the
#   residual and the balancedness are lower than the converged baseline's, yet the rate is more than
#   10% off the closed form. The control is the converged baseline itself (no weight decay), tested the
#   same way: it must not leave the closed form.
#
# ReLU networks are left out of the first claim: the nonlinearity changes the features between layers,
# so no weight spectrum alone can set their rate. Their low-rank measure is in the table above, next to
# the untrained networks' (0).

# %%
SEC5 = "5. What breaks the assumptions, and does the rate notice?"
linear_like = trained[~trained.intervention.isin([f"{a} nonlinearity" for a in cfg.rate_activations
                                                  if a not in ("linear", "tanh")])]
worst_net = "; ".join(f"seed {s}: {g.loc[g.spectral_error.idxmax(), 'intervention']} "
                      f"({g.loc[g.spectral_error.idxmax(), 'value']})" for s, g in linear_like.groupby("seed"))
ledger.claim("layerwise-spectrum-sets-the-rate", source="this book", section=SEC5,
             statement="for every trained linear (and tanh) net, each C_l/C_(l-1) is within 10% of the rate its "
                       "singular values imply (max relative error over the nets of a seed)", test="<= 0.1",
             values={s: float(g.spectral_error.max()) for s, g in linear_like.groupby("seed")},
             control=Control("the closed form xi^2 alpha^(2/L) n^(-1/L) on the same nets",
                             {s: float(g.rate_error.max()) for s, g in linear_like.groupby("seed")}),
             note="interventions: " + ", ".join(sorted(set(linear_like.intervention))),
             explain={"not reproduced": "The spectral rate is a small-rate approximation too; it misses by more "
                                        f"than 10% on the worst net of each seed ({worst_net}).",
                      "inconclusive": "Either the seeds disagree or the closed form does as well as the spectrum "
                                      "on these nets."})


def decoupling(row):
    base = broken[(broken.seed == row.seed) & (broken.intervention == "baseline (converged)")].iloc[0]
    return ch02.change_from_baseline(row._asdict(), base.to_dict())


strongest = trained[(trained.intervention == "weight decay") & (trained.value == max(cfg.rate_weight_decays))]
baselines = trained[trained.intervention == "baseline (converged)"]
ledger.claim("layerwise-weight-decay-decouples-rate-from-assumptions", source="this book", section=SEC5,
             statement=f"with weight decay {max(cfg.rate_weight_decays):g} the residual and the balancedness fall "
                       "below the converged baseline's while the rate leaves the closed form by more than 10%",
             test={"residual change": "< 0", "balance change": "< 0", "rate error": "> 0.1"},
             values={int(r.seed): decoupling(r) for r in strongest.itertuples()},
             control=Control("the converged baseline without weight decay",
                             {int(r.seed): decoupling(r) for r in baselines.itertuples()}),
             explain={"reproduced": "Better assumption measures, worse rate: the measures are not what sets the "
                                    "rate. Weight decay also shrinks the bulk singular values, which the closed "
                                    "form takes to stay at xi."})
ledger.table().iloc[-2:]

# %% [markdown]
# ## 6. Transfer: does a more compressed layer transfer worse?
#
# The authors' project page shows a projection-head experiment: pre-train an extractor followed by
# $m$ projection-head layers and a classifier, discard the head, and fit a new linear classifier on a
# downstream task from the extractor's features. For $m=1..5$ the page reports transfer accuracy rising
# from about 60% to 67% and the extractor's $C$ from about $0.009$ to $0.12$: *features closer to the loss
# are more collapsed and transfer worse* (note 01, claim 7). **The data sets, architecture and
# training were not found**, so the design below is ours:
#
# - **Task split.** Pre-train on classes 0–4 of `dataset`, transfer to classes 5–9. The book uses
#   MNIST-1D, where a linear probe on the raw input is weak, so pre-trained features have room to
#   help (on scikit-learn digits the raw pixels already beat every pre-trained extractor, and the
#   experiment could not test the claim). The `paper` preset uses CIFAR-10.
# - **Network.** The paper's hybrid architecture: an extractor of `extractor_depth` Linear →
#   BatchNorm → ReLU layers of width `net_width`, then $m$ **linear** head layers and a linear
#   classifier; no biases; orthogonal initialisation at scale `net_init_scale`; MSE loss with $\alpha=1$.
# - **Training.** Full-batch Adam (learning rate `net_lr`, cosine to 1% of it) for `net_epochs` epochs.
#   We use Adam rather than the paper's SGD because plain SGD from this small initialisation does not
#   leave the saddle within a CPU budget when the head is deep.
# - **Measures.** The extractor's $C$ on the pre-training data, and the test accuracy on classes 5–9
#   of a least-squares linear probe fitted on the whole training split of classes 5–9; the same for the
#   last hidden layer (next to the classifier), for a comparison **inside** one network. The features
#   are divided by their RMS before the probe (`ch02.scaled_probe_accuracy`): the probe's ridge is
#   relative to a norm that includes its bias column, so without this a layer whose features are
#   merely smaller (each untrained head layer multiplies them by `net_init_scale`) would be
#   regularised harder and look worse.
# - **Controls.** The raw input, and each network *untrained* (same seed, same shape): its extractor
#   does not depend on $m$, and its linear head is an orthogonal map that changes neither $C$ nor a
#   least-squares probe, so any trend in $m$ or along the head that it shows would be an artefact.
#   Both transfer claims also require that pre-training helps at all: every pre-trained extractor
#   must beat the raw input and its untrained self on classes 5–9, or the claim is inconclusive.

# %%
split = data.load(cfg.dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train, seed=cfg.seed)


def classes(ds, first):
    keep = (ds.labels >= first) & (ds.labels < first + 5)
    return ds.x[keep], ds.labels[keep] - first


x_src, y_src = classes(split.train, 0)
x_tgt, y_tgt = classes(split.train, 5)
x_tgt_test, y_tgt_test = classes(split.test, 5)
raw_acc = ch02.scaled_probe_accuracy(x_tgt, y_tgt, x_tgt_test, y_tgt_test, ridge=cfg.probe_ridge)
glue("raw_acc", raw_acc, ".3f")
print(f"{cfg.dataset}: {len(y_src)} pre-training samples (classes 0-4), {len(y_tgt)} / {len(y_tgt_test)} "
      f"transfer train / test samples (classes 5-9); raw-input probe on classes 5-9: {raw_acc:.3f}")


# %% tags=["hide-input"]
def transfer_measures(net, prefix=""):
    """C on the pre-training data and transfer accuracy of the extractor and the last hidden layer."""
    e = cfg.extractor_depth
    f_src, f_tgt, f_test = (features.layer_features(net, x) for x in (x_src, x_tgt, x_tgt_test))
    c_layers = collapse.layerwise_collapse(f_src[1:-1], y_src)[0]  # hidden layers 1..e+m
    return {f"{prefix}C_extractor": c_layers[e - 1], f"{prefix}C_last_hidden": c_layers[-1],
            f"{prefix}C_extractor_new_classes": collapse.within_class_compression(f_tgt[e], y_tgt),
            **{f"{prefix}acc_{name}{tag}": ch02.scaled_probe_accuracy(f_tgt[l], y_tgt, f_test[l], y_tgt_test, ridge=r)
               for name, l in (("extractor", e), ("last_hidden", -2))
               for tag, r in [("", cfg.probe_ridge), *((f"@{r:g}", r) for r in cfg.probe_ridges)]}}, c_layers


def transfer_run(m, s):
    """Pre-train the extractor + m head layers + classifier on classes 0-4; measure it and its untrained self."""
    e = cfg.extractor_depth
    make = lambda: models.MLP(x_src.shape[1], cfg.net_width, e + m + 1, 5, activation="relu", bias=False,  # noqa: E731
                              init="orthogonal", init_scale=cfg.net_init_scale, nonlinear_layers=e, batchnorm=True,
                              seed=s).to(cfg.device)
    untrained, net = make(), make()
    hist = train.fit(net, x_src, y_src, epochs=cfg.net_epochs, lr=cfg.net_lr, lr_min=cfg.net_lr * 1e-2,
                     optimizer="adam", schedule="cosine", loss="mse", seed=s)
    trained_m, c_layers = transfer_measures(net)
    untrained_m, _ = transfer_measures(untrained, "untrained_")
    profile = [dict(head_layers=m, seed=s, layer=l + 1, C_l=c) for l, c in enumerate(c_layers)]
    return dict(head_layers=m, seed=s, loss=hist.loss[-1], **trained_m, **untrained_m), profile


# %%
results = [transfer_run(m, s) for m in cfg.head_depths for s in seeds]
transfer = pd.DataFrame([r for r, _ in results])
c_profiles = pd.DataFrame([row for _, p in results for row in p])
by_m = transfer[[c for c in transfer.columns if "@" not in c and c != "seed"]].groupby("head_layers").mean().reset_index()
by_m.style.format(precision=4)

# %%
(charts.line(transfer.groupby("head_layers").C_extractor.agg(["mean", "std"]).reset_index().assign(
    lo=lambda d: (d["mean"] - d["std"].fillna(0)).clip(lower=1e-6), hi=lambda d: d["mean"] + d["std"].fillna(0)),
    "head_layers", "mean", band=("lo", "hi"), log_y=True, x_title="projection-head layers m",
    y_title="extractor C on pre-training data", title="Extractor compression vs head depth")
 | charts.line(by_m.melt(id_vars="head_layers", value_vars=["acc_extractor", "acc_last_hidden", "untrained_acc_extractor"],
                         var_name="features"),
               "head_layers", "value", color="features", x_title="projection-head layers m",
               y_title="probe accuracy on classes 5-9 (test)", title="Transfer accuracy vs head depth"))

# %%
profile_mean = c_profiles.groupby(["head_layers", "layer"]).C_l.mean().reset_index()
charts.by_layer(profile_mean.assign(m=profile_mean.head_layers.map(lambda m: f"m = {m}")), "C_l", color="m", log_y=True,
                y_title="C_l on pre-training data (log)",
                title=f"C_l through extractor (l <= {cfg.extractor_depth}) and head, one line per head depth")

# %% [markdown]
# Three claims, each with one value per seed, judged by a 95% bootstrap interval of the mean over
# seeds; the control is the same quantity on the untrained networks. The two accuracy claims must hold
# at every probe ridge in `probe_ridges` (an analysis choice: a verdict that changes with the ridge is
# inconclusive).
#
# - **Claim 7, accuracy** (note 01): the extractor's transfer accuracy rises by at least 5 points from
#   the shallowest to the deepest head.
# - **Claim 7, compression**: the extractor's $C$ on the pre-training data is larger with the deepest
#   head than with the shallowest (less collapsed).
# - **Within one network** (ours): the layer next to the classifier transfers at least one point worse
#   than the extractor (mean over head depths), given that it is the more collapsed of the two in every
#   network (a precondition). The head is linear and square, so the last hidden layer is an invertible
#   linear map of the extractor's features: whatever it loses, it loses through the directions the head
#   shrank, which a regularised (or finite-sample) probe cannot use. The ridge range says how much of
#   the effect depends on the probe's regularisation.

# %%
SEC6 = "6. Transfer: does a more compressed layer transfer worse?"
CI = "mean-ci"  # one seed gives no interval: the ledger then says inconclusive
helps = bool((transfer.acc_extractor > np.maximum(raw_acc, transfer.untrained_acc_extractor)).all())
needs = {"pre-training helps: every pre-trained extractor beats the raw input and its untrained self "
         "on classes 5-9": helps}
per_seed = {s: g.set_index("head_layers") for s, g in transfer.groupby("seed")}
note = f"our design (settings not found): {cfg.dataset} classes 0-4 -> 5-9, hybrid net, Adam, full-split probe"
ledger.claim("wang23-transfer-head-depth", source=f"{SOURCE}, project-page projection-head figure", section=SEC6,
             statement="the extractor's transfer accuracy rises by >= 5 points from the shallowest to the deepest "
                       "projection head", test=">= 5", rule=CI,
             values={f"{r:g}": {s: ch02.gain_points(g[f"acc_extractor@{r:g}"].to_dict()) for s, g in per_seed.items()}
                     for r in cfg.probe_ridges},
             control=Control("untrained nets of the same shapes",
                             {f"{r:g}": {s: ch02.gain_points(g[f"untrained_acc_extractor@{r:g}"].to_dict())
                                         for s, g in per_seed.items()} for r in cfg.probe_ridges}),
             over="probe ridge", requires=needs, note=note,
             explain={"not reproduced": "A deeper head does not make the kept extractor transfer better here.",
                      "inconclusive": "See the reason: either pre-training does not help on this task, or the "
                                      "interval over seeds straddles the threshold."})
ledger.claim("wang23-transfer-extractor-collapse", source=f"{SOURCE}, project-page projection-head figure",
             section=SEC6, statement="the extractor is less collapsed (larger C) with the deepest head than with "
                                     "the shallowest (ratio C(m_max) / C(m_min) > 1)", test="> 1", rule=CI,
             values={s: ch02.ratio_last_first(g.C_extractor.to_dict()) for s, g in per_seed.items()},
             control=Control("untrained nets of the same shapes",
                             {s: ch02.ratio_last_first(g.untrained_C_extractor.to_dict()) for s, g in per_seed.items()}),
             requires=needs, note=note,
             explain={"not reproduced": "A deeper head does not leave the extractor less collapsed here."})
more_collapsed = bool((transfer.C_last_hidden < transfer.C_extractor).all())
drop, drop_untrained = ({f"{r:g}": {s: float(100 * (g[f"{p}acc_extractor@{r:g}"] - g[f"{p}acc_last_hidden@{r:g}"]).mean())
                                     for s, g in per_seed.items()} for r in cfg.probe_ridges} for p in ("", "untrained_"))
ledger.claim("layerwise-transfer-within-network", source="this book (claim 7 within one network)", section=SEC6,
             statement="inside one pre-trained network the layer next to the classifier, more collapsed than the "
                       "extractor, transfers >= 1 point worse (mean over head depths)", test=">= 1", rule=CI,
             values=drop, control=Control("untrained nets of the same shapes", drop_untrained), over="probe ridge",
             requires={**needs, "the last hidden layer is more collapsed than the extractor in every network":
                       more_collapsed},
             explain={"not reproduced": "The more collapsed layer does not transfer worse: compression of the "
                                        "pre-training classes alone does not predict transfer here.",
                      "reproduced": "Within one network the more collapsed layer transfers worse, at every probe "
                                    "ridge tried; with a linear head this is information the head's shrunk "
                                    "directions hide from a regularised probe, not information destroyed.",
                      "inconclusive": "See the reason: the effect depends on the probe's ridge, or the seeds' "
                                      "interval straddles the threshold."})
glue("c_new_classes", float(transfer.C_extractor_new_classes.mean()), ".2f")
glue("c_new_classes_untrained", float(transfer.untrained_C_extractor_new_classes.mean()), ".2f")
glue("acc_extractor_mean", float(transfer.acc_extractor.mean()), ".3f")
glue("acc_untrained_mean", float(transfer.untrained_acc_extractor.mean()), ".3f")
ledger.table().iloc[-3:]

# %% [markdown]
# On the new classes the pre-trained extractor reaches a probe accuracy of
# {glue:text}`acc_extractor_mean` on average, against {glue:text}`acc_untrained_mean` for the untrained
# extractors and {glue:text}`raw_acc` for the raw input; its $C$ on the new classes is
# {glue:text}`c_new_classes` (untrained: {glue:text}`c_new_classes_untrained`).
#
# ## What changed from the previous version of this chapter
#
# - Every claim now has one value per seed (`n_seeds` seeds) and a control measured in the same run;
#   the old single-value checks are gone.
# - The bulk variance of Fig. 6 is a sanity entry: it is the untouched complement, equal to $\xi$ by
#   construction, and cannot fail without weight decay. So are the conservation of the balance gaps and
#   the reduction's agreement with full-width training.
# - The minimum-norm claim and the residual's fall with width are tested against the same gradient
#   descent from a large initialisation; balancedness against the untrained networks.
# - Transfer moved from scikit-learn digits, where pre-trained features did not beat the raw pixels and
#   the claim could not be tested, to MNIST-1D; the few-shot probe was replaced by the full-split probe,
#   and the untrained networks are the control.
#
# ## Closing: what reproduced, what did not
#
# The verdicts below are computed by the ledger from this run: each claim with its per-seed values,
# its control, the reason for the verdict and, where one applies, our reading.

# %% tags=["hide-input"]
ledger.save()
ledger.closing()

# %% tags=["hide-input"]
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"CPU time of this kernel: {usage.ru_utime + usage.ru_stime:.0f} s (user + system)")
