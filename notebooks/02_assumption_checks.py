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
# descent deliver such weights? Where do the paper's measured values of these three quantities come
# from, when during training do they settle, what breaks them, and does the compression rate care?
# Finally: does a layer that is more compressed transfer worse to new classes?
#
# **Source.** P. Wang, X. Li, C. Yaras, Z. Zhu, L. Balzano, W. Hu, Q. Qu, *Understanding Deep
# Representation Learning via Layerwise Feature Compression and Discrimination*, arXiv:2311.02960
# (JMLR 2025): Fig. 6 (assumption check) and the projection-head figure of the authors' project page.
# Only the abstract, the code (`Heimine/PNC_DLN`, `assumption/`) and the project page were readable;
# settings come from the code (reference note 01, sections 3 and 4).
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
preset = "book"
device = "auto"
seed = 0
results_dir = None
# Fig. 6: theory data, orthogonal init, GD until the loss is tiny
n_per_class = None
n_classes = None
dim = None
init_scale = None
alpha = None
lr = None
lr_min = None
epochs = None
stop_loss = None
n_seeds = None
sweep_depths = None
width = None
sweep_widths = None
depth = None
# what breaks the assumptions (chapter 1's theory setting)
rate_depth = None
rate_width = None
rate_init_scale = None
rate_alpha = None
rate_lr = None
rate_lr_min = None
rate_epochs = None
rate_stop_loss = None
rate_init_scales = None
rate_weight_decays = None
decay_epochs = None
rate_activations = None
nonlinear_epochs = None
# transfer (projection head)
dataset = None
data_root = None
download = None
n_train = None
net_width = None
extractor_depth = None
head_depths = None
net_epochs = None
net_lr = None
net_init_scale = None
n_probe_per_class = None
n_probe_draws = None

# %%
import numpy as np
import pandas as pd
import torch

import layerwise
from layerwise import charts, claims, data, deep_linear, features, models, train
from layerwise.metrics import collapse, probes, weights

cfg = layerwise.config.resolve_notebook("02", globals())
if cfg.device.type == "cpu":
    torch.set_num_threads(1)  # every tensor here is tiny: a second thread costs more in syncing than it saves
charts.enable()
ledger = claims.Ledger(cfg)
SOURCE = "Wang et al. 2023"
K, D = cfg.n_classes, cfg.dim
print(f"preset={cfg.preset} device={cfg.device} seed={cfg.seed}")

# %% [markdown]
# ## 1. Why a CPU can run Fig. 6: wide linear nets train in a $(d+K)$-dimensional subspace
#
# The paper's Fig. 6 trains bias-free linear networks of width up to 700 from a small orthogonal
# initialisation ($\xi=0.1$, $\alpha=1$) with full-batch gradient descent (learning rate 0.1,
# cosine-annealed to $10^{-4}$ over $10^5$ epochs) until the loss $\frac1N\|\alpha XW_{L:1}^\top-Y\|_F^2$
# is below $10^{-10}$. At depth 5 that takes about 23,000 steps: the product of five layers starts at
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
# here is the check once more, on a width-80 network for 100 steps. (These linear networks run on the
# CPU whatever the `device`: their tensors are tiny.)

# %%
def theory_net(width, depth, init_scale, alpha, seed):
    """The untrained full-width deep linear net of the Fig. 6 setting (float64)."""
    return models.MLP(D, width, depth, K, activation="linear", bias=False, init="orthogonal",
                      init_scale=init_scale, output_scale=alpha, seed=seed).double()


def theory_data(seed):
    return data.nearly_orthonormal(cfg.n_per_class, K, D, seed=seed)


demo_data, demo_net = theory_data(cfg.seed), theory_net(80, 3, 0.3, cfg.alpha, cfg.seed)
demo_init = [w.detach().clone() for w in demo_net.weights()]
demo_red = deep_linear.reduce_orthogonal_init(demo_init, 0.3)
demo_ens = deep_linear.DeepLinearEnsemble.from_reductions([demo_red], output_scale=cfg.alpha)
y_demo = data.one_hot(demo_data.labels, K, torch.float64)
train.fit(demo_ens, demo_data.x, y_demo, epochs=100, lr=cfg.lr, loss="mse", progress=False)
train.fit(demo_net, demo_data.x, demo_data.labels, epochs=100, lr=cfg.lr, loss="mse", progress=False)
lifted = deep_linear.lift(demo_ens.member_weights(0), demo_red, demo_init)
gap = max(float((a.detach() - b).abs().max()) for a, b in zip(demo_net.weights(), lifted))
print(f"reduced width {demo_red.bases[0].shape[1]} instead of 80; max |W_full - W_lifted| after 100 steps = {gap:.1e} "
      f"(the full net's float32-rounded initialisation is orthogonal only to ~1e-8)")

# %% [markdown]
# ## 2. Fig. 6 reproduced
#
# The data are the theory data of chapter 1 ($K=3$ classes of $n=10$ nearly orthonormal points in
# $d=50$ dimensions, a fresh draw per seed, as the authors' `set_seed` does). Two sweeps: depth
# $L\in\{2,3,4,5\}$ at width 400, and width at $L=5$. Every network of one depth is trained at once;
# the ensemble stops when the **sum** of the members' losses is below the threshold, so each member
# ends a little below $10^{-10}$ (the authors stop each run separately). Seeds and widths follow the
# preset (the paper: 10 seeds, widths 200 to 700 in steps of 100).

# %%
def log_epochs(last, count=24):
    return sorted({int(e) for e in np.geomspace(1, last, count)})


def member_measures(red, ds, weights_now):
    """The three measures, the balance gaps and the compression-rate error of one member."""
    m = deep_linear.reduced_weight_assumptions(weights_now, red.complement, red.init_scale, ds.x, ds.labels,
                                               k=K, alpha=cfg.alpha, dim=D)
    gaps, _ = deep_linear.reduced_balance_gaps(weights_now, red.complement, red.init_scale)
    m["gaps"] = gaps
    return m


def rate_error(c, predicted):
    """max_l |(C_l / C_(l-1)) / predicted - 1| over l = 1..len(c)-1."""
    c = np.asarray(c)
    return float(np.max(np.abs(c[1:] / c[:-1] / predicted - 1)))


def train_fig6(depth, widths, seeds):
    """Train every (width, seed) at one depth as one reduced ensemble; return (rows, snapshots)."""
    members = [(w, s) for w in widths for s in seeds]
    reds, sets = [], []
    for w, s in members:
        reds.append(deep_linear.reduce_orthogonal_init(theory_net(w, depth, cfg.init_scale, cfg.alpha, s).weights(),
                                                       cfg.init_scale))
        sets.append(theory_data(s))
    ens = deep_linear.DeepLinearEnsemble.from_reductions(reds, output_scale=cfg.alpha)
    x = deep_linear.side_by_side([ds.x for ds in sets])
    y = data.one_hot(sets[0].labels, K, torch.float64).repeat(1, len(members))
    predicted = collapse.predicted_compression_rate(cfg.init_scale, cfg.alpha, cfg.n_per_class, depth)

    def snapshot(epoch, model):
        out = []
        with torch.no_grad():
            feats = model.features(x)
        for i, (red, ds) in enumerate(zip(reds, sets)):
            m = member_measures(red, ds, model.member_weights(i))
            c, _ = collapse.layerwise_collapse([f[i] for f in feats[:-1]], ds.labels)
            out.append(dict(m, rate_error=rate_error(c, predicted), c=c))
        return out

    init = snapshot(0, ens)
    hist = train.fit(ens, x, y, epochs=cfg.epochs, lr=cfg.lr, lr_min=cfg.lr_min, schedule="cosine", loss="mse",
                     stop_loss=cfg.stop_loss, callback=snapshot, snapshot_epochs=log_epochs(cfg.epochs))
    final = snapshot(hist.epochs_run, ens)
    with torch.no_grad():
        out = ens(x)
    rows = []
    for i, (w, s) in enumerate(members):
        loss = float((out[:, i * K:(i + 1) * K] - y[:, :K]).pow(2).sum(1).mean())
        f = final[i]
        rows.append(dict(depth=depth, width=w, seed=s, epochs=hist.epochs_run, loss=loss,
                         residual=f["residual"], balance=f["balance"], bulk_variance=f["bulk_variance"],
                         rate_error=f["rate_error"], gaps_init=init[i]["gaps"], gaps_final=f["gaps"],
                         ratios=list(np.asarray(f["c"][1:]) / np.asarray(f["c"][:-1]))))
    snaps = [dict(depth=depth, width=w, seed=s, epoch=e, **{k: v[i][k] for k in
                                                           ("residual", "balance", "bulk_variance", "rate_error")})
             for e, v in [*hist.snapshots, (hist.epochs_run, final)] for i, (w, s) in enumerate(members)]
    return rows, snaps


seeds = [cfg.seed + s for s in range(cfg.n_seeds)]
rows, snaps = [], []
for L in sorted(set(cfg.sweep_depths) | {cfg.depth}):
    widths = sorted(({cfg.width} if L in cfg.sweep_depths else set()) | (set(cfg.sweep_widths) if L == cfg.depth else set()))
    r, s = train_fig6(L, widths, seeds)
    rows += r
    snaps += s
    print(f"L={L}: widths {widths} x {len(seeds)} seed(s) trained together for {r[0]['epochs']} epochs; "
          f"largest member loss {max(x['loss'] for x in r):.1e}")
runs = pd.DataFrame(rows)
snaps = pd.DataFrame(snaps)

# %%
MEASURES = ["residual", "balance", "bulk_variance"]


def mean_std(df, by):
    g = df.groupby(by)[MEASURES].agg(["mean", "std"])
    g.columns = [f"{a}_{b}" for a, b in g.columns]
    return g.fillna(0.0).reset_index()


depth_sweep = mean_std(runs[(runs.width == cfg.width) & runs.depth.isin(cfg.sweep_depths)], "depth")
width_sweep = mean_std(runs[(runs.depth == cfg.depth) & runs.width.isin(cfg.sweep_widths)], "width")
# read off the paper's Fig. 6 (reference note 01, section 4)
PAPER_DEPTH = {2: (0.049, 0.023), 3: (0.047, 0.066), 4: (0.044, 0.048), 5: (0.040, 0.037)}
PAPER_WIDTH_RESIDUAL = {200: 0.059, 300: 0.048, 400: 0.039, 500: 0.037, 600: 0.034, 700: 0.029}
depth_sweep["paper_residual"] = depth_sweep.depth.map(lambda L: PAPER_DEPTH.get(L, (np.nan,))[0])
depth_sweep["paper_balance"] = depth_sweep.depth.map(lambda L: PAPER_DEPTH.get(L, (np.nan, np.nan))[1])
width_sweep["paper_residual"] = width_sweep.width.map(PAPER_WIDTH_RESIDUAL)
depth_sweep.style.format(precision=4)

# %%
width_sweep.style.format(precision=4)

# %%
def sweep_chart(df, x, measure, title, x_title, log_y=False):
    d = df.assign(lo=df[f"{measure}_mean"] - df[f"{measure}_std"], hi=df[f"{measure}_mean"] + df[f"{measure}_std"])
    if log_y:
        d["lo"] = d["lo"].clip(lower=d[f"{measure}_mean"].min() / 10)
    return charts.line(d, x, f"{measure}_mean", band=("lo", "hi"), x_title=x_title, y_title=f"{measure} (mean ± std)",
                       title=title, log_y=log_y, width=230)


((sweep_chart(depth_sweep, "depth", "residual", "Min-norm residual", "depth L")
  | sweep_chart(depth_sweep, "depth", "balance", "Balancedness", "depth L")
  | sweep_chart(depth_sweep, "depth", "bulk_variance", "Bulk variance", "depth L", log_y=True))
 & (sweep_chart(width_sweep, "width", "residual", "", "width h")
    | sweep_chart(width_sweep, "width", "balance", "", "width h")
    | sweep_chart(width_sweep, "width", "bulk_variance", "", "width h", log_y=True)))

# %% [markdown]
# Claim 4 of note 01, with its thresholds: after gradient descent the residual is at most 0.07, the
# normalised balancedness at most 0.08 and the bulk variance at most $10^{-3}$ (the figure shows it
# flat at 0 on a 0.06 scale), in every run; and the residual falls from the narrowest to the widest
# network. The worst run is the measured value.

# %%
fig6 = runs[(runs.width == cfg.width) | (runs.depth == cfg.depth)]
ledger.check("wang23-assumptions-min-norm", measured=float(fig6.residual.max()), test="<= 0.07",
             source=f"{SOURCE}, Fig. 6", statement="GD from xi=0.1 ends within 0.07 of the minimum-norm solution (worst run)")
ledger.check("wang23-assumptions-balanced", measured=float(fig6.balance.max()), test="<= 0.08",
             source=f"{SOURCE}, Fig. 6", statement="normalised balancedness <= 0.08 after GD (worst run)")
ledger.check("wang23-assumptions-low-rank", measured=float(fig6.bulk_variance.max()), test="<= 1e-3",
             source=f"{SOURCE}, Fig. 6", statement="variance of the middle singular values <= 1e-3 (worst run)")
narrow, wide = width_sweep.iloc[0], width_sweep.iloc[-1]
ledger.check("wang23-residual-falls-with-width",
             measured={"h_min": int(narrow.width), "residual_h_min": float(narrow.residual_mean),
                       "h_max": int(wide.width), "residual_h_max": float(wide.residual_mean)},
             test="mean residual at the widest < at the narrowest", passed=bool(wide.residual_mean < narrow.residual_mean),
             source=f"{SOURCE}, Fig. 6", statement=f"the min-norm residual decreases with width at L = {cfg.depth}")
ledger.table().iloc[-4:]

# %% [markdown]
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
# $\xi^2(P_d - P_K)$.
#
# **The residual is the part of $W_1$ the data never see.** Without weight decay the gradient of
# $W_1$ lies in the span of the data, so $W_1$ restricted to the $d-N=20$ directions orthogonal to the
# data stays at its initial value, and at interpolation the residual is exactly
# $\alpha\|W_{L:2}W_1(0)P_\perp\|_F$ (a test of the book checks this identity). The random
# $20$-dimensional block $W_1(0)P_\perp$ overlaps the $K$-dimensional row space of $W_{L:2}$ by about
# $\sqrt{K/h}$, so the residual should fall like $1/\sqrt h$.
#
# **The bulk is $\xi$.** All but $K$ singular values of a hidden layer stay at $\xi$ exactly (the
# complement block) or very nearly (inside the trained block), so the variance is tiny.
#
# The last column is chapter 1's question asked of these networks: the largest relative error of a
# layer-to-layer ratio $C_l/C_{l-1}$ against the closed form $\xi^2\alpha^{2/L}n^{-1/L}$.

# %%
# change of every pair's gap between init and the end, relative to the largest gap at init
runs["gap_drift"] = [max(abs(b - a) for a, b in zip(gi, gf)) / max(gi) for gi, gf in zip(runs.gaps_init, runs.gaps_final)]
three_plus = runs.depth >= 3  # at L = 2 the single pair is W_1 against the classifier: a different gap
runs["gap_first_closed_form"] = np.where(three_plus, cfg.init_scale ** 2 * np.sqrt(runs.width - D), np.nan)
runs["gap_last_closed_form"] = np.where(three_plus, cfg.init_scale ** 2 * np.sqrt(runs.width - K), np.nan)
runs["gap_first_final"] = [g[0] for g in runs.gaps_final]
runs["gap_last_final"] = [g[-1] for g in runs.gaps_final]
runs["residual_x_sqrt_width"] = runs.residual * np.sqrt(runs.width)
runs[["depth", "width", "seed", "epochs", "balance", "gap_drift", "gap_first_final", "gap_first_closed_form",
      "gap_last_final", "gap_last_closed_form", "residual", "residual_x_sqrt_width", "rate_error"]].style.format(precision=4)

# %%
deep = runs[runs.depth > 2]
scaled = runs[runs.depth == cfg.depth].groupby("width").residual_x_sqrt_width.mean()
print(f"largest change of a balance gap between init and the end, relative to the largest initial gap: "
      f"{runs.gap_drift.max():.2%}")
print(f"first-pair gap vs xi^2 sqrt(h-d): max relative difference "
      f"{(deep.gap_first_final / deep.gap_first_closed_form - 1).abs().max():.2%}")
print("residual * sqrt(width) at L =", cfg.depth, ":", scaled.round(3).to_dict())
ledger.check("layerwise-balance-is-conserved-init-imbalance", measured=float(runs.gap_drift.max()), test="<= 0.01",
             source="this book (Arora et al. 2018 conservation law)",
             statement="every gap ||W_(l+1)^T W_(l+1) - W_l W_l^T||_F ends within 1% (of the largest initial gap) "
                       "of its value at init")

# %% [markdown]
# ## 4. When do the assumptions become true during training?
#
# Snapshots of the three measures at logarithmically spaced steps, for the networks of depth
# $L=5$ (width 400 and every seed), together with the error of the compression rate against the
# closed form $\xi^2\alpha^{2/L}n^{-1/L}$ (largest relative error over the layers).

# %%
snap = snaps[(snaps.depth == cfg.depth) & (snaps.width == cfg.width)].drop_duplicates(
    ["seed", "epoch"], keep="last").groupby("epoch")[
    MEASURES + ["rate_error"]].mean().reset_index()
snap = snap[snap.epoch > 0]
long = snap.melt(id_vars="epoch", value_vars=["residual", "balance", "rate_error"], var_name="measure")
(charts.line(long, "epoch", "value", color="measure", log_x=True, log_y=True, x_title="GD step (log scale)",
             y_title="value (log scale)", title=f"Assumptions during training (L = {cfg.depth}, h = {cfg.width})")
 | charts.line(snap, "epoch", "bulk_variance", log_x=True, log_y=True, x_title="GD step (log scale)",
               y_title="bulk variance (log scale)", title="Bulk singular-value variance"))

# %%
snap[["epoch", *MEASURES, "rate_error"]].style.format(precision=4)

# %% [markdown]
# Read the table from the top: the balance gaps never move, so balancedness falls only when the norms
# grow, i.e. when the top singular values take off at the end of the plateau; the bulk variance starts at zero and
# stays negligible, and the residual is large on the long plateau near the saddle (the map has not
# learned the labels) and drops to its final value only when the loss does. The compression rate
# matches the closed form only at the end: a network stopped early has the right spectrum *shape*
# but top singular values that have not yet reached $(\sqrt n/\alpha)^{1/L}$.
#
# ## 5. What breaks the assumptions, and does the rate notice?
#
# Here we return to chapter 1's theory setting ($L=6$, $h=d=50$, $\xi=0.3$, $\alpha=100$, learning rate
# 0.1 cosine to 0.01, stop below $10^{-11}$), where the closed-form rate 0.285 was confirmed, and break
# one thing at a time: stop early (every step of the baseline run is a snapshot), enlarge $\xi$, add
# weight decay (a fixed number of steps, since the loss no longer reaches the threshold), or insert a
# nonlinearity (tanh or ReLU in every hidden layer, capped at a fixed number of steps). For every run
# we record the three measures and the compression-rate error against the closed form. We also
# compute the rate the **trained spectrum** implies: $\overline{\sigma^2_{\rm bulk}}/\overline{\sigma^2_{\rm top}}$
# of each $W_l$ (`weights.spectral_compression_rates`), the quantity the closed form approximates.

# %%
def rate_net(activation="linear", xi=None):
    return models.MLP(D, cfg.rate_width, cfg.rate_depth, K, activation=activation, bias=False, init="orthogonal",
                      init_scale=xi or cfg.rate_init_scale, output_scale=cfg.rate_alpha, seed=cfg.seed).double()


rate_ds = theory_data(cfg.seed)


def rate_record(net, xi, label, value, epochs, loss):
    """Measures, closed-form rate error and spectral rate error of a trained theory-setting net."""
    w = [p.detach() for p in net.weights()]
    c, _ = collapse.layerwise_collapse(features.layer_features(net, rate_ds.x)[:-1], rate_ds.labels)
    ratios = np.asarray(c[1:]) / np.asarray(c[:-1])
    spectral = np.asarray(weights.spectral_compression_rates(w, K))
    predicted = collapse.predicted_compression_rate(xi, cfg.rate_alpha, cfg.n_per_class, cfg.rate_depth)
    return dict(intervention=label, value=value, epochs=epochs, loss=loss,
                **weights.weight_assumptions(w, rate_ds.x, rate_ds.labels, k=K, alpha=cfg.rate_alpha),
                predicted=predicted, measured_rate=float(np.mean(ratios[1:])),
                rate_error=float(np.max(np.abs(ratios / predicted - 1))),
                spectral_rate=float(np.mean(spectral[1:])),
                spectral_error=float(np.max(np.abs(ratios / spectral - 1))))


def fit_rate(net, *, epochs, stop_loss, weight_decay=0.0, callback=None, snapshot_epochs=()):
    return train.fit(net, rate_ds.x, rate_ds.labels, epochs=epochs, lr=cfg.rate_lr, lr_min=cfg.rate_lr_min,
                     schedule="cosine", loss="mse", weight_decay=weight_decay, stop_loss=stop_loss,
                     callback=callback, snapshot_epochs=snapshot_epochs)


base = rate_net()
hist = fit_rate(base, epochs=cfg.rate_epochs, stop_loss=cfg.rate_stop_loss,
                callback=lambda e, m: rate_record(m, cfg.rate_init_scale, "fewer steps", e, e, np.nan),
                snapshot_epochs=range(1, cfg.rate_epochs + 1))
broken = [dict(r, loss=hist.loss[e]) for e, r in hist.snapshots if e > 0]
broken[-1]["intervention"] = "baseline (converged)"
for xi in cfg.rate_init_scales:
    net = rate_net(xi=xi)
    try:
        h = fit_rate(net, epochs=cfg.rate_epochs, stop_loss=cfg.rate_stop_loss)
        broken.append(rate_record(net, xi, "larger init scale", xi, h.epochs_run, h.loss[-1]))
    except train.DivergenceError as err:
        print(f"xi = {xi}: {err}")
for wd in cfg.rate_weight_decays:
    net = rate_net()
    h = fit_rate(net, epochs=cfg.decay_epochs, stop_loss=None, weight_decay=wd)
    broken.append(rate_record(net, cfg.rate_init_scale, "weight decay", wd, h.epochs_run, h.loss[-1]))
for act in cfg.rate_activations:
    net = rate_net(activation=act)
    h = fit_rate(net, epochs=cfg.nonlinear_epochs, stop_loss=cfg.rate_stop_loss)
    broken.append(rate_record(net, cfg.rate_init_scale, f"{act} nonlinearity", act, h.epochs_run, h.loss[-1]))
broken = pd.DataFrame(broken)
broken[broken.intervention != "fewer steps"].style.format(precision=4)

# %%
early = broken[broken.intervention == "fewer steps"]
early[early.value.isin(sorted({1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60} | {int(early.value.max())}))][
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
trained = broken[broken.intervention != "fewer steps"]
charts.scatter(trained.assign(spectral=trained.spectral_rate), "spectral", "measured_rate", color="intervention",
               diagonal=True, x_title="rate implied by the trained spectrum (mean over l >= 2)",
               y_title="measured mean C_l / C_(l-1), l >= 2", title="The spectrum sets the rate (dashed: equality)")

# %% [markdown]
# What the scatter says (see the tables above for the numbers of this run):
#
# - **The rate does not track the three measures.** In the theory setting the residual is an order of
#   magnitude above Fig. 6's 0.07 (with $\alpha=100$ the frozen null-space block of $W_1$ is
#   multiplied by $\alpha$), yet the rate is within a few percent of the closed form. Weight decay
#   moves the residual and the balancedness in the "better" direction while the rate leaves the
#   closed form: it shrinks the bulk singular values below $\xi$, and the closed form assumes the bulk
#   is $\xi$.
# - **The spectrum does, while the rate is small.** For the linear networks the rate implied by the
#   trained singular values follows the measured one where the closed form is wrong (weight decay,
#   larger $\xi$). Both are small-rate approximations: as $\xi$ approaches the top singular values
#   (at $\xi=0.6$ the closed form predicts a ratio above 1) the spectral rate degrades too, though less.
#   The ReLU network is outside both: the nonlinearity changes the features between layers.
# - **Stopping early** (the step-by-step table): balancedness sits at its final value from the first
#   step, the bulk variance grows but stays negligible, the residual falls with the loss, and the rate error stays large
#   until the loss has dropped by about two orders of magnitude. The spectral rate is right at the
#   start (nothing has happened yet) and at the end, but not in the transient, when the top singular
#   values grow faster than the features align with them. tanh at these small activations behaves
#   like the linear network.

# %%
linear_trained = trained[~trained.intervention.isin([f"{a} nonlinearity" for a in cfg.rate_activations if a != "linear"])]
tanh_like = trained[trained.intervention == "tanh nonlinearity"]
spectral_ok = pd.concat([linear_trained, tanh_like])
ledger.check("layerwise-spectrum-sets-the-rate", measured=float(spectral_ok.spectral_error.max()), test="<= 0.1",
             source="this book", statement="for every trained linear (and tanh) net, each C_l/C_(l-1) is within 10% "
                                           "of the rate its singular values imply (max relative error)",
             note="interventions: " + ", ".join(sorted(set(spectral_ok.intervention))))
decayed = trained[trained.intervention == "weight decay"]
if len(decayed):
    strongest = decayed.sort_values("value").iloc[-1]
    baseline = broken[broken.intervention == "baseline (converged)"].iloc[0]
    better = bool(strongest.residual < baseline.residual and strongest.balance < baseline.balance)
    ledger.check("layerwise-weight-decay-decouples-rate-from-assumptions",
                 measured={"weight_decay": float(strongest.value), "residual": float(strongest.residual),
                           "baseline_residual": float(baseline.residual), "balance": float(strongest.balance),
                           "baseline_balance": float(baseline.balance), "rate_error": float(strongest.rate_error)},
                 test="residual and balance below the baseline's, rate error > 10%",
                 passed=better and strongest.rate_error > 0.1, source="this book",
                 statement="the strongest weight decay improves min-norm and balance while the rate leaves the closed form")

# %% [markdown]
# ## 6. Transfer: does a more compressed layer transfer worse?
#
# The authors' project page shows a projection-head experiment: pre-train an extractor followed by
# $m$ projection-head layers and a classifier, discard the head, and fit a new linear classifier on a
# downstream task from the extractor's features. For $m=1..5$ the transfer accuracy rose from about 60%
# to 67% and the extractor's $C$ from about 0.009 to 0.12: *features closer to the loss are more
# collapsed and transfer worse* (note 01, claim 7). **The data sets, architecture and training were
# not found**, so the design below is ours:
#
# - **Task split.** scikit-learn digits: pre-train on digits 0–4 (training split), transfer to digits
#   5–9. The `paper` preset uses CIFAR-10 classes 0–4 → 5–9.
# - **Network.** The paper's hybrid architecture: an extractor of `extractor_depth` (2) Linear →
#   BatchNorm → ReLU layers of width `net_width`, then $m$ **linear** head layers and a linear
#   classifier; no biases; orthogonal initialisation at scale `net_init_scale` (0.3, the theory
#   setting's $\xi$); MSE loss with $\alpha=1$.
# - **Training.** Full-batch Adam (learning rate `net_lr`, cosine to 1% of it) for `net_epochs` epochs.
#   We use Adam rather than the paper's SGD because plain SGD from this small initialisation does not
#   leave the saddle within a CPU budget when the head is deep (our trials: the $m=5$ network stayed at
#   loss 1).
# - **Measures.** The extractor's $C$ on the pre-training data, and the accuracy on the digits 5–9
#   test split of a least-squares linear probe (`probes.linear_probe_accuracy`) fitted on
#   `n_probe_per_class` (10) labelled examples per class, averaged over `n_probe_draws` draws (a
#   few-shot probe: with the full training split the probe is near its ceiling even on raw pixels).
#   We also report the full-split probe, and, for a comparison **inside** one network, the few-shot
#   transfer of the last hidden layer (the one next to the classifier).

# %%
split = data.load(cfg.dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train, seed=cfg.seed)


def classes(ds, first):
    keep = (ds.labels >= first) & (ds.labels < first + 5)
    return ds.x[keep], ds.labels[keep] - first


x_src, y_src = classes(split.train, 0)
x_tgt, y_tgt = classes(split.train, 5)
x_tgt_test, y_tgt_test = classes(split.test, 5)
draws = [data.stratified_subset(y_tgt, 5 * cfg.n_probe_per_class, cfg.seed + i) for i in range(cfg.n_probe_draws)]


def few_shot(z, z_test):
    return float(np.mean([probes.linear_probe_accuracy(z[i], y_tgt[i], z_test, y_tgt_test) for i in draws]))


print(f"{cfg.dataset}: {len(y_src)} pre-training samples (classes 0-4), {len(y_tgt)} / {len(y_tgt_test)} "
      f"transfer train / test samples (classes 5-9)")
print(f"raw-input probe on classes 5-9: few-shot {few_shot(x_tgt, x_tgt_test):.3f}, "
      f"full split {probes.linear_probe_accuracy(x_tgt, y_tgt, x_tgt_test, y_tgt_test):.3f}")


def transfer_run(m, s):
    e = cfg.extractor_depth
    net = models.MLP(x_src.shape[1], cfg.net_width, e + m + 1, 5, activation="relu", bias=False, init="orthogonal",
                     init_scale=cfg.net_init_scale, nonlinear_layers=e, batchnorm=True, seed=s).to(cfg.device)
    hist = train.fit(net, x_src, y_src, epochs=cfg.net_epochs, lr=cfg.net_lr, lr_min=cfg.net_lr * 1e-2,
                     optimizer="adam", schedule="cosine", loss="mse", seed=s)
    f_src, f_tgt, f_test = (features.layer_features(net, x) for x in (x_src, x_tgt, x_tgt_test))
    c_layers = collapse.layerwise_collapse(f_src[1:-1], y_src)[0]  # hidden layers 1..e+m
    profile = [dict(head_layers=m, seed=s, layer=l + 1, C_l=c) for l, c in enumerate(c_layers)]
    return dict(head_layers=m, seed=s, loss=hist.loss[-1], C_extractor=c_layers[e - 1],
                C_extractor_target=collapse.within_class_compression(f_tgt[e], y_tgt),
                C_last_hidden=c_layers[-1], transfer_few_shot=few_shot(f_tgt[e], f_test[e]),
                transfer_full=probes.linear_probe_accuracy(f_tgt[e], y_tgt, f_test[e], y_tgt_test),
                transfer_last_hidden=few_shot(f_tgt[-2], f_test[-2])), profile


results = [transfer_run(m, s) for m in cfg.head_depths for s in seeds]
transfer = pd.DataFrame([r for r, _ in results])
c_profiles = pd.DataFrame([row for _, p in results for row in p])
by_m = transfer.groupby("head_layers")[["loss", "C_extractor", "C_extractor_target", "C_last_hidden",
                                         "transfer_few_shot", "transfer_full", "transfer_last_hidden"]].mean().reset_index()
by_m.style.format(precision=4)

# %%
(charts.line(transfer.groupby("head_layers").C_extractor.agg(["mean", "std"]).reset_index().assign(
    lo=lambda d: (d["mean"] - d["std"].fillna(0)).clip(lower=1e-6), hi=lambda d: d["mean"] + d["std"].fillna(0)),
    "head_layers", "mean", band=("lo", "hi"), log_y=True, x_title="projection-head layers m",
    y_title="extractor C on pre-training data", title="Extractor compression vs head depth")
 | charts.line(by_m.melt(id_vars="head_layers", value_vars=["transfer_few_shot", "transfer_full"], var_name="probe"),
               "head_layers", "value", color="probe", x_title="projection-head layers m",
               y_title="accuracy on classes 5-9 (test)", title="Transfer accuracy vs head depth"))

# %%
profile_mean = c_profiles.groupby(["head_layers", "layer"]).C_l.mean().reset_index()
charts.by_layer(profile_mean.assign(m=profile_mean.head_layers.map(lambda m: f"m = {m}")), "C_l", color="m", log_y=True,
                y_title="C_l on pre-training data (log)",
                title=f"C_l through extractor (l <= {cfg.extractor_depth}) and head, one line per head depth")

# %%
first_m, last_m = by_m.iloc[0], by_m.iloc[-1]
gain = 100 * (last_m.transfer_few_shot - first_m.transfer_few_shot)
c_rises = bool(last_m.C_extractor > first_m.C_extractor)
ledger.check("wang23-transfer-head-depth",
             measured={"m": [int(first_m.head_layers), int(last_m.head_layers)],
                       "few_shot_acc": [float(first_m.transfer_few_shot), float(last_m.transfer_few_shot)],
                       "gain_points": float(gain), "C": [float(first_m.C_extractor), float(last_m.C_extractor)]},
             test="accuracy gain >= 5 points and C rises from m_min to m_max", passed=gain >= 5 and c_rises,
             source=f"{SOURCE}, project-page projection-head figure",
             statement="a deeper projection head leaves the extractor less collapsed and transferring better",
             note=f"our design (settings not found): {cfg.dataset} 0-4 -> 5-9, hybrid net, Adam, few-shot probe")
within = transfer.assign(more_collapsed=transfer.C_last_hidden < transfer.C_extractor,
                         transfers_worse=transfer.transfer_last_hidden < transfer.transfer_few_shot)
ledger.check("layerwise-transfer-within-network",
             measured={"more_collapsed": f"{int(within.more_collapsed.sum())}/{len(within)}",
                       "transfers_worse": f"{int(within.transfers_worse.sum())}/{len(within)}",
                       "mean_acc_extractor": float(within.transfer_few_shot.mean()),
                       "mean_acc_last_hidden": float(within.transfer_last_hidden.mean())},
             test="in every network: C_last_hidden < C_extractor and few-shot accuracy lower",
             passed=bool(within.more_collapsed.all() and within.transfers_worse.all()), source="this book (claim 7 within one network)",
             statement="inside one pre-trained network the layer next to the loss is more collapsed and transfers worse than the extractor")
ledger.table().iloc[-2:]

# %% [markdown]
# ## Verdicts
#
# Every claim this chapter tested, with the number measured in this run:

# %%
print(ledger.summary())
ledger.save()
ledger.table()

# %% [markdown]
# ## What reproduced, and what did not
#
# *Numbers quoted here are from the `book` preset (seeds 0 and 1, widths 200, 400, 700); the tables
# above are the record of the run you are reading.*
#
# - **Fig. 6 reproduces, value for value** (note 01 claim 4: reproduced). With the authors' protocol
#   the depth sweep at width 400 gives residuals 0.053, 0.046, 0.043, 0.046 against the figure's
#   0.049, 0.047, 0.044, 0.040, and balancedness 0.023, 0.066, 0.048, 0.037 against 0.023, 0.066,
#   0.048, 0.037; at $L=5$ the residual falls from 0.055 ($h=200$) to 0.027 ($h=700$; figure 0.059 to
#   0.029) while balancedness rises from 0.027 to 0.047; the bulk variance is below $10^{-11}$. The
#   worst run has residual 0.062 ($\le0.07$) and balancedness 0.066 ($\le0.08$).
# - **The three values are properties of the initialisation, not of what training found.**
#   Balancedness is the conserved imbalance of the rectangular first and last layers (the gaps end
#   within 0.6% of their initial values, and the first-pair gap within 0.02% of $\xi^2\sqrt{h-d}$);
#   the residual is the part of $W_1$ orthogonal to the data, frozen at init, with residual
#   $\times\sqrt h$ between 0.72 and 0.91 across widths (roughly the $1/\sqrt h$ law); the bulk is
#   $\xi$ by construction.
# - **The compression rate follows the spectrum, not the assumptions.** The Fig. 6 networks compress
#   at the closed-form rate within 4%. In chapter 1's setting weight decay 0.03 lowers the residual
#   (0.41 against 0.74) and the balancedness (0.030 against 0.056) while the rate drops to 0.106
#   against the closed form 0.285 (error 63%); the spectral rate (0.104) tracks it. Our own claim that
#   the spectral rate is within 10% for every linear run **did not hold**: it fails at $\xi=0.6$
#   (13% off; the closed form is 23% off). ReLU breaks both (rate error 56%).
# - **Transfer (our design; the paper's settings were not found): not reproduced.** On digits 0–4 →
#   5–9 with a linear projection head the extractor's $C$ *falls* with head depth (0.16 at $m=1$,
#   0.06 at $m=5$) and few-shot transfer accuracy stays flat (71.0% to 70.5%; full-split probe 93.3%
#   to 94.0%), against the project page's rise of 7 points with $C$ growing from 0.009 to 0.12. Inside
#   each network the layer next to the classifier is always the more collapsed one, but it transfers
#   *better* than the extractor for $m\le3$ and worse for $m\ge4$: compression alone does not
#   predict transfer here. What we tried: SGD with momentum from the same initialisation (the deep
#   heads stayed at the saddle), ReLU heads and larger initial scales in preliminary runs (no
#   collapse at the extractor, $C\approx1$–2). A different data set, a nonlinear head or a
#   contrastive objective may behave differently; the `paper` preset runs the same design on CIFAR-10.
