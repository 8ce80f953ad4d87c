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
# # Deep linear compression
#
# **The question.** Does a trained deep network compress the within-class variability of its
# features at a *geometric* rate from layer to layer, while separating the classes at a *linear*
# rate? Wang, Li, Yaras, Zhu, Balzano, Hu and Qu (2023) prove this for deep linear networks on nearly
# orthonormal data whose trained weights are minimum-norm, balanced and approximately low-rank, and
# report the same pattern in the linear layers of nonlinear networks.
#
# **Source.** P. Wang et al., *Understanding Deep Representation Learning via Layerwise Feature
# Compression and Discrimination*, arXiv:2311.02960 (JMLR 2025). Only the abstract and the authors'
# code and project page were readable; the settings below come from the code (reference note 01).
#
# **The measures.** For features $z^l_{k,i}$ of sample $i$ of class $k$ at layer $l$, with class means
# $\mu^l_k$ and global mean $\mu^l_G$,
#
# $$C_l=\frac{\operatorname{Tr}\Sigma_W^l}{\operatorname{Tr}\Sigma_B^l},\qquad
#   D_l=1-\max_{k\ne k'}\frac{\langle\mu^l_k,\mu^l_{k'}\rangle}{\|\mu^l_k\|\,\|\mu^l_{k'}\|},$$
#
# where $\Sigma_W^l$ is the within-class and $\Sigma_B^l$ the between-class covariance. $C_l$ is the
# within-class compression (smaller is more compressed) and $D_l$ the between-class discrimination
# (uncentred class means, signed maximum, as in the authors' code).

# %% tags=["parameters"]
preset = "book"
device = "auto"
seed = 0
results_dir = None
# theory check (Fig. 4 of the paper)
n_per_class = None
n_classes = None
dim = None
depth = None
init_scale = None
alpha = None
lr = None
lr_min = None
epochs = None
stop_loss = None
n_seeds = None
rate_init_scales = None
rate_alphas = None
sweep_depths = None
sweep_n_per_class = None
# nonlinear nets (Figs. 1 and 5)
dataset = None
data_root = None
download = None
n_train = None
net_width = None
net_depth = None
hybrid_nonlinear = None
net_epochs = None
net_lr = None
net_momentum = None
net_weight_decay = None
net_batch_size = None
net_init_scale = None
alpha_hybrid = None
alpha_mlp = None

# %%
import numpy as np
import pandas as pd
import torch

import layerwise
from layerwise import charts, claims, data, features, models, train
from layerwise.metrics import collapse, probes, rank
from layerwise.stats import linear_fit

cfg = layerwise.config.resolve_notebook("01", globals())
charts.enable()
ledger = claims.Ledger(cfg)
SOURCE = "Wang et al. 2023"
print(f"preset={cfg.preset} device={cfg.device} seed={cfg.seed}")

# %% [markdown]
# ## 1. The theory check
#
# The setting of the paper's Fig. 4 (from `assumption/theory.ipynb`): $K=3$ classes of $n=10$ points
# in $d=50$ dimensions, each point an orthonormal vector plus Gaussian noise of total Frobenius norm 1;
# a bias-free linear network $f(x)=\alpha W_L\cdots W_1x$ with $L=6$ matrices of width 50, scaled
# orthogonal initialisation $\xi=0.3$, output multiplier $\alpha=100$, loss
# $\frac1N\|\alpha W_{L:1}X-Y\|_F^2$; full-batch gradient descent with learning rate 0.1, cosine-annealed
# to 0.01 over 5000 epochs, stopped once the loss falls below $10^{-11}$. Everything runs in float64.

# %%
def train_theory_net(depth, init_scale, alpha, n_per_class, seed):
    """Train a deep linear net on the theory data; return (C_l for l=0..L-1, D_l, epochs, final loss)."""
    ds = data.nearly_orthonormal(n_per_class, cfg.n_classes, cfg.dim, seed=seed)
    net = models.MLP(cfg.dim, cfg.dim, depth, cfg.n_classes, activation="linear", bias=False,
                     init="orthogonal", init_scale=init_scale, output_scale=alpha, seed=seed).double()
    hist = train.fit(net, ds.x, ds.labels, loss="mse", lr=cfg.lr, lr_min=cfg.lr_min, epochs=cfg.epochs,
                     schedule="cosine", stop_loss=cfg.stop_loss, seed=seed)
    c, d = collapse.layerwise_collapse(features.layer_features(net, ds.x)[:depth], ds.labels)
    return np.array(c), np.array(d), hist.epochs_run, hist.loss[-1]


def profile_stats(c, d):
    """Return the fitted geometric rate, R^2 of log C_l on l, R^2 of D_l on l (l >= 1) and ratios."""
    layers = np.arange(len(c))
    fit_c = linear_fit(layers, np.log(c))
    fit_d = linear_fit(layers[1:], d[1:])
    return dict(rate=float(np.exp(fit_c.slope)), r2_log_c=fit_c.r2, r2_d=fit_d.r2,
                d_slope=fit_d.slope, ratios=c[1:] / c[:-1])


runs = []
for s in range(cfg.n_seeds):
    c, d, ep, loss = train_theory_net(cfg.depth, cfg.init_scale, cfg.alpha, cfg.n_per_class, cfg.seed + s)
    runs.append(dict(seed=cfg.seed + s, c=c, d=d, epochs=ep, loss=loss, **profile_stats(c, d)))
first = runs[0]
pd.DataFrame({"layer l": np.arange(cfg.depth), "C_l": first["c"],
              "D_l": [np.nan, *first["d"][1:]]}).style.format(precision=4)

# %%
print(f"seed {first['seed']}: converged after {first['epochs']} epochs (loss {first['loss']:.2e})")
print("ratios C_l/C_(l-1):", np.round(first["ratios"], 4))
summary = pd.DataFrame([{k: r[k] for k in ("seed", "epochs", "rate", "r2_log_c", "r2_d", "d_slope")}
                        for r in runs])
summary.style.format(precision=5)

# %%
profile = pd.DataFrame([
    {"layer": l, "seed": f"seed {r['seed']}", "C_l": r["c"][l], "D_l": r["d"][l] if l > 0 else np.nan}
    for r in runs for l in range(cfg.depth)])
(charts.by_layer(profile, "C_l", color="seed", log_y=True, y_title="C_l (log scale)",
                 title="Within-class compression: a straight line on a log scale")
 | charts.by_layer(profile.dropna(), "D_l", color="seed", y_title="D_l",
                   title="Between-class discrimination: a straight line"))

# %% [markdown]
# The claims of the paper's Fig. 4, with the thresholds of reference note 01 (section 5): the fit of
# $\log C_l$ on $l$ has $R^2 \ge 0.999$ (the authors' notebook: 0.99998); every ratio
# $C_l/C_{l-1}$ lies in $[0.25, 0.32]$ (notebook: 0.280–0.290); $D_l$ increases, is linear in $l$
# with $R^2\ge0.99$ (notebook: 0.996) and ends at $D_{L-1}\ge0.98$. Each claim is checked on every
# seed: the worst seed is the measured value.

# %%
ledger.check("wang23-geometric-compression", measured=min(r["r2_log_c"] for r in runs), test=">= 0.999",
             source=f"{SOURCE}, Fig. 4", statement="log C_l is linear in l (R^2 of the fit, worst seed)")
ledger.check("wang23-rate-range", measured=[float(x) for r in runs for x in r["ratios"]], test="in [0.25, 0.32]",
             source=f"{SOURCE}, Fig. 4", statement="every ratio C_l/C_(l-1) lies in [0.25, 0.32] at xi=0.3, alpha=100, n=10, L=6")
monotone = all(bool(np.all(np.diff(r["d"][1:]) > 0)) for r in runs)
ledger.check("wang23-linear-discrimination",
             measured={"min R2": min(r["r2_d"] for r in runs), "min D_(L-1)": min(r["d"][-1] for r in runs),
                       "increasing": monotone},
             test="D_l increasing, R^2 >= 0.99, D_(L-1) >= 0.98",
             passed=monotone and min(r["r2_d"] for r in runs) >= 0.99 and min(r["d"][-1] for r in runs) >= 0.98,
             source=f"{SOURCE}, Fig. 4", statement="D_l rises linearly in l towards 1")
ledger.record("rate", float(np.mean([r["rate"] for r in runs])))
ledger.record("r2_log_c", min(r["r2_log_c"] for r in runs))
ledger.table().iloc[-3:]

# %% [markdown]
# ## 2. The rate against its closed form
#
# If the trained weights are minimum-norm and balanced, the top $K$ singular values of every layer
# approach $(\sqrt n/\alpha)^{1/L}$ while the other singular values stay at the initial scale $\xi$
# (each gradient has rank at most $K$). Within-class spread travels through the bulk, class means
# through the top directions, so the ratio should be
#
# $$\rho = \xi^2\,\alpha^{2/L}\,n^{-1/L}.$$
#
# This closed form is reconstructed in reference note 01 (it matches the authors' summary
# $\varepsilon^2/n^{1/L}$ for $\alpha=1$, $\varepsilon=\xi$); the paper's own constants were not
# readable. We measure the mean ratio over $l\ge2$ and the first ratio $l=1$ across a grid of $\xi$ and
# $\alpha$. A run that does not reach the loss threshold within the epoch budget has not found the
# minimum-norm interpolant the theory assumes; it is shown but marked.

# %%
grid = []
for xi in cfg.rate_init_scales:
    for a in cfg.rate_alphas:
        for s in range(cfg.n_seeds):
            c, d, ep, loss = train_theory_net(cfg.depth, xi, a, cfg.n_per_class, cfg.seed + s)
            ratios = c[1:] / c[:-1]
            grid.append(dict(xi=xi, alpha=a, seed=cfg.seed + s, epochs=ep, converged=loss < cfg.stop_loss,
                             predicted=collapse.predicted_compression_rate(xi, a, cfg.n_per_class, cfg.depth),
                             first_ratio=ratios[0], later_ratio=float(np.mean(ratios[1:]))))
grid = pd.DataFrame(grid)
grid["later_error_%"] = 100 * (grid.later_ratio / grid.predicted - 1)
grid["first_error_%"] = 100 * (grid.first_ratio / grid.predicted - 1)
grid["setting"] = [f"xi={x}, alpha={a:g}" for x, a in zip(grid.xi, grid.alpha)]
grid.groupby(["xi", "alpha"])[["epochs", "converged", "predicted", "later_ratio", "later_error_%",
                                "first_error_%"]].mean().style.format(precision=4)

# %%
charts.scatter(grid, "predicted", "later_ratio", color="setting", log_x=True, log_y=True, diagonal=True,
               x_title="closed form xi^2 alpha^(2/L) n^(-1/L)", y_title="measured mean C_l/C_(l-1), l >= 2",
               title="Measured compression rate against the closed form (dashed: equality)")

# %%
conv = grid[grid.converged]
not_converged = sorted({s for s in grid[~grid.converged].setting})
ledger.check("wang23-rate-closed-form-later", measured=conv["later_error_%"].abs().max() if len(conv) else float("nan"),
             test="<= 5", source="note 01 (inference from Wang et al.)",
             statement="mean ratio over l >= 2 within 5% of xi^2 alpha^(2/L) n^(-1/L), every converged run (max |error| %)",
             note=f"not converged within {cfg.epochs} epochs (excluded): {', '.join(not_converged) or 'none'}")
ledger.check("wang23-rate-closed-form-first", measured=conv["first_error_%"].abs().max() if len(conv) else float("nan"),
             test="<= 10", source="note 01 (inference from Wang et al.)",
             statement="first ratio C_1/C_0 within 10% of the closed form, every converged run (max |error| %)")
ledger.table().iloc[-2:]

# %% [markdown]
# ## 3. Depth, and where the theory stops applying
#
# Two sweeps around the theory setting ($\xi=0.3$, $\alpha=100$): the depth $L$, and the number of
# samples $N = Kn$ against the dimension $d = 50$. For $N > d$ there is no orthonormal set of $N$
# vectors: the data generator then draws unit-norm Gaussian directions, which are only approximately
# orthogonal (coherence about $1/\sqrt d$), and a linear network can no longer interpolate the
# labels exactly once $N > d$. The sweeps use one seed.

# %%
depth_rows = []
for L in cfg.sweep_depths:
    c, d, ep, loss = train_theory_net(L, cfg.init_scale, cfg.alpha, cfg.n_per_class, cfg.seed)
    st = profile_stats(c, d)
    depth_rows.append(dict(depth=L, epochs=ep, converged=loss < cfg.stop_loss, r2_log_c=st["r2_log_c"],
                           measured=float(np.mean(st["ratios"][1:])) if L > 2 else float(st["ratios"][0]),
                           predicted=collapse.predicted_compression_rate(cfg.init_scale, cfg.alpha, cfg.n_per_class, L)))
depth_df = pd.DataFrame(depth_rows)
depth_df.style.format(precision=4)

# %%
n_rows = []
for n in cfg.sweep_n_per_class:
    c, d, ep, loss = train_theory_net(cfg.depth, cfg.init_scale, cfg.alpha, n, cfg.seed)
    st = profile_stats(c, d)
    n_rows.append(dict(N=n * cfg.n_classes, N_over_d=n * cfg.n_classes / cfg.dim, epochs=ep, final_loss=loss,
                       r2_log_c=st["r2_log_c"], measured=float(np.mean(st["ratios"][1:])),
                       predicted=collapse.predicted_compression_rate(cfg.init_scale, cfg.alpha, n, cfg.depth)))
n_df = pd.DataFrame(n_rows)
n_df.style.format(precision=4)

# %%
long_depth = depth_df.melt(id_vars="depth", value_vars=["measured", "predicted"], var_name="rate")
long_n = n_df.melt(id_vars="N_over_d", value_vars=["measured", "predicted"], var_name="rate")
(charts.line(long_depth, "depth", "value", color="rate", x_title="depth L", y_title="C_l / C_(l-1)",
             title="Rate against depth (N < d)")
 | charts.line(long_n, "N_over_d", "value", color="rate", x_title="N / d", y_title="C_l / C_(l-1)",
               title="Rate as the data stop being orthogonal"))

# %%
ortho = n_df[n_df.N_over_d <= 1]
beyond = n_df[n_df.N_over_d > 1]
print("depth sweep: max |measured/predicted - 1| =",
      f"{(depth_df.measured / depth_df.predicted - 1).abs().max():.3f};",
      f"min R^2 of log C_l = {depth_df.r2_log_c.min():.5f}")
if len(beyond):
    print(f"N > d: R^2 of log C_l = {beyond.r2_log_c.round(4).tolist()}, final loss = "
          f"{beyond.final_loss.map('{:.2e}'.format).tolist()}")
ledger.check("layerwise-rate-holds-across-depth",
             measured=float((depth_df.measured / depth_df.predicted - 1).abs().max()), test="<= 0.05",
             source="this book (extends Wang et al. Fig. 4)",
             statement=f"the closed-form rate holds within 5% for every L in {cfg.sweep_depths} (max relative error)")

# %% [markdown]
# ## 4. Nonlinear networks: the MLP and the hybrid (Figs. 1 and 5)
#
# The paper's Figs. 1 and 5 train, on CIFAR-10, an "8-layer" network: 7 hidden layers of width 1024
# and a classifier, no biases, orthogonal initialisation with $\xi = 0.1$, MSE loss with multiplier
# $\alpha$. In the **MLP** every hidden layer is Linear → BatchNorm → ReLU ($\alpha=1$); in the
# **hybrid** only the first 3 are, and the last 4 are linear ($\alpha=100$). SGD with momentum 0.9,
# weight decay $10^{-4}$, batch 128, one cosine cycle.
#
# At the `book` preset we run the same two architectures on scikit-learn's digits (1347 training
# images of 8×8 pixels, 10 classes) at width 256 for 60 epochs with learning rate 0.01: a scale a CPU
# handles in about a minute. The claims below are therefore **digits at book scale**, not CIFAR-10;
# the `paper` preset runs CIFAR-10 at width 1024 for 400 epochs with the paper's learning rate $10^{-4}$.
#
# One deliberate difference: the authors' first layer is $0.1\,[U, 0]$, an orthogonal block on the
# first 1024 of the 3072 input coordinates with zeros elsewhere; ours is a Haar semi-orthogonal matrix
# over all input coordinates (for digits, with 64 inputs and width 256, the two coincide in law).
#
# Per hidden layer we measure the numerical rank (the smallest $r$ whose top-$r$ singular values of the
# *uncentred* training features reach 95% of their sum, the paper's convention), the accuracy of a
# linear probe (least squares to one-hot labels with a small ridge; the paper trains an MSE probe with
# SGD, whose optimum this is), and $C_l$, $D_l$.

# %%
split = data.load(cfg.dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train, seed=cfg.seed)
print(f"{cfg.dataset}: {len(split.train)} training and {len(split.test)} test samples, "
      f"{split.train.x.shape[1]} features")


def train_net(nonlinear_layers, alpha):
    """Train the MLP (nonlinear_layers=None) or the hybrid; return per-layer measures as rows."""
    net = models.MLP(split.train.x.shape[1], cfg.net_width, cfg.net_depth, split.train.n_classes,
                     activation="relu", bias=False, init="orthogonal", init_scale=cfg.net_init_scale,
                     nonlinear_layers=nonlinear_layers, batchnorm=True, output_scale=alpha,
                     seed=cfg.seed).to(cfg.device)
    train.fit(net, split.train.x, split.train.labels, loss="mse", lr=cfg.net_lr, momentum=cfg.net_momentum,
              weight_decay=cfg.net_weight_decay, batch_size=cfg.net_batch_size, epochs=cfg.net_epochs,
              schedule="cosine", lr_min=cfg.net_lr * 1e-2, seed=cfg.seed)
    f_tr = features.layer_features(net, split.train.x)
    f_te = features.layer_features(net, split.test.x)
    y_tr, y_te = split.train.labels, split.test.labels
    rows = [dict(layer=l, rank=rank.numerical_rank(f_tr[l]),
                 probe_train=probes.linear_probe_accuracy(f_tr[l], y_tr),
                 probe_test=probes.linear_probe_accuracy(f_tr[l], y_tr, f_te[l], y_te),
                 C_l=collapse.within_class_compression(f_tr[l], y_tr),
                 D_l=collapse.between_class_discrimination(f_tr[l], y_tr))
            for l in range(1, cfg.net_depth)]
    test_acc = float((f_te[-1].argmax(1) == y_te).double().mean())
    return pd.DataFrame(rows), test_acc


mlp, mlp_acc = train_net(None, cfg.alpha_mlp)
hybrid, hybrid_acc = train_net(cfg.hybrid_nonlinear, cfg.alpha_hybrid)
print(f"test accuracy: MLP {mlp_acc:.3f}, hybrid {hybrid_acc:.3f}")
ledger.record("hybrid_test_accuracy", hybrid_acc)
nets = pd.concat([mlp.assign(net="MLP (all nonlinear)"), hybrid.assign(net=f"hybrid ({cfg.hybrid_nonlinear} nonlinear)")])
nets.style.format(precision=3)

# %%
((charts.by_layer(nets, "rank", color="net", y_title="numerical rank (95% energy)", title="Feature rank")
  | charts.by_layer(nets, "probe_test", color="net", y_title="linear-probe test accuracy", title="Linear separability"))
 & (charts.by_layer(nets, "C_l", color="net", log_y=True, y_title="C_l (log scale)", title="Within-class compression")
    | charts.by_layer(nets, "D_l", color="net", y_title="D_l", title="Between-class discrimination")))

# %% [markdown]
# Claims 5 and 6 of note 01, read off the paper's CIFAR-10 figures and tested here on the book's data
# set. Hybrid: probe training accuracy $\ge 99\%$ from $l=2$; rank decreasing for $l\ge3$ with the last
# layer at most $0.8\times$ the maximum; $C_l$ falling monotonically over $l=3..7$ by at least 1.5
# decades; $D_l$ rising monotonically to at least 0.7. MLP: rank peaks at $l\le3$ and $C_7 < C_1/10$.

# %%
scale_note = f"{cfg.dataset} at preset {cfg.preset} (the paper: CIFAR-10, width 1024)"
h, m = hybrid.set_index("layer"), mlp.set_index("layer")
last = cfg.net_depth - 1
late = range(3, last + 1)
ledger.check("wang23-hybrid-probe", measured=float(h.loc[2:, "probe_train"].min()), test=">= 0.99",
             source=f"{SOURCE}, Fig. 1", statement="hybrid: probe training accuracy >= 99% for l >= 2", note=scale_note)
rank_falls = bool(np.all(np.diff(h.loc[3:, "rank"].to_numpy()) <= 0))
ledger.check("wang23-hybrid-rank", measured={"decreasing from l=3": rank_falls,
                                              "last/max": float(h["rank"].iloc[-1] / h["rank"].max())},
             test="decreasing for l >= 3 and last <= 0.8 max",
             passed=rank_falls and h["rank"].iloc[-1] <= 0.8 * h["rank"].max(),
             source=f"{SOURCE}, Fig. 1", statement="hybrid: feature rank falls through the linear layers", note=scale_note)
c_late = h.loc[3:, "C_l"].to_numpy()
decades = float(np.log10(c_late[0] / c_late[-1]))
c_mono = bool(np.all(np.diff(c_late) < 0))
ledger.check("wang23-hybrid-compression", measured={"monotone": c_mono, "decades": decades},
             test="monotone over l = 3..7 and >= 1.5 decades", passed=c_mono and decades >= 1.5,
             source=f"{SOURCE}, Fig. 5", statement="hybrid: C_l falls monotonically in the later layers", note=scale_note)
d_mono = bool(np.all(np.diff(h["D_l"].to_numpy()) > 0))
ledger.check("wang23-hybrid-discrimination", measured={"monotone": d_mono, "D_last": float(h["D_l"].iloc[-1])},
             test="monotone and D_7 >= 0.7", passed=d_mono and h["D_l"].iloc[-1] >= 0.7,
             source=f"{SOURCE}, Fig. 5", statement="hybrid: D_l rises monotonically", note=scale_note)
peak = int(m["rank"].idxmax())
ratio_c = float(m.loc[last, "C_l"] / m.loc[1, "C_l"])
ledger.check("wang23-mlp-rank-peak", measured=peak, test="<= 3", source=f"{SOURCE}, Fig. 1",
             statement="MLP: the feature rank peaks early (l <= 3)", note=scale_note)
ledger.check("wang23-mlp-compression", measured=ratio_c, test="< 0.1", source=f"{SOURCE}, Fig. 5",
             statement="MLP: C_7 < C_1 / 10 (need not be monotone)", note=scale_note)
ledger.table().iloc[-6:]

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
# *The numbers quoted here are from the `book` preset; the tables above are the record of the run you
# are reading.*
#
# - **Geometric compression reproduces** in the paper's own theory setting, and quantitatively: the
#   layer-to-layer ratios of $C_l$ sit at 0.28–0.29 against the authors' 0.280–0.290, and $\log C_l$
#   is a straight line ($R^2$ above 0.9999) on every seed.
# - **Linear discrimination reproduces on some seeds only.** $D_l$ rises on every seed and ends above
#   0.98, but on the book's seed 2 the class means of the input are already almost orthogonal
#   ($D_1 \approx 0.99$): $D_l$ then saturates towards 1 instead of rising along a line, and the $R^2$ of
#   the linear fit drops to about 0.83 (seeds 0 and 1: 0.999). A linear rate is only visible when
#   there is room below $D = 1$, which the theorem's $1 - O(\cdot)$ form allows but the paper's
#   single-seed figure does not show.
# - **The closed-form rate $\xi^2\alpha^{2/L}n^{-1/L}$** is accurate to a few percent wherever
#   training converges and the rate is well below 1. It fails in two places. With $\xi=0.1$, $\alpha=1$
#   the product of six layers starts at $10^{-6}$ and gradient descent does not leave the saddle at the
#   origin within the epoch budget, so the theorem's trained-weights assumption never holds. With
#   $\xi=0.5$, $\alpha=100$ the predicted rate (0.79) is close to 1 and the measured one is several
#   percent lower: the approximation that the bulk singular values stay at $\xi$ is a small-rate
#   approximation.
# - **Depth.** The rate follows the closed form across the depths swept.
# - **Beyond orthogonal data.** Once $N > d$ the network cannot interpolate, the loss stalls far
#   above the threshold, and $C_l$ is no longer geometric: the compression pattern is a property of
#   the interpolating regime.
# - **Nonlinear networks on digits** show the paper's qualitative picture: in the hybrid the linear
#   layers compress geometrically and the rank falls towards the number of classes; the all-nonlinear
#   MLP compresses less regularly. Check the verdict table for which of the CIFAR-10 thresholds hold at
#   this scale; the `paper` preset runs the original setting.
