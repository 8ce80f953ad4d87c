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
# rate? {cite:t}`wang2023` prove this for deep linear networks on nearly orthonormal data whose
# trained weights are minimum-norm, balanced and approximately low-rank, and report the same pattern
# in the linear layers of nonlinear networks.
#
# *Reading order:* the first chapter; it needs only least squares and the singular value
# decomposition. Chapter 2 tests the assumptions behind the theorem.

# %% tags=["parameters"]
# generated from chapters/ch01.py (layerwise params 01 --write-cell); book values follow preset
preset = "book"
device = "auto"
seed = 0
results_dir = None
overrides = []  # names set with -p (papermill injects them): kept even where they equal the book value
# theory check (Fig. 4 of the paper)
n_per_class = 10  # points per class n of the theory data (Fig. 4)
n_classes = 3  # number of classes K of the theory data
dim = 50  # input dimension d (and width) of the theory nets; n_per_class * n_classes ≤ dim keeps the data orthonormal
depth = 6  # weight matrices L of the theory nets
init_scale = 0.3  # orthogonal initialisation scale xi of the theory nets
alpha = 100.0  # output multiplier alpha of the theory nets
lr = 0.1  # constant learning rate of full-batch gradient descent (theory nets; the authors' schedule is never stepped)
epochs = 3000  # epoch budget of the theory nets (they stop at stop_loss first)
stop_loss = 1e-11  # training criterion of the theory nets: stop once the loss is below this (interpolation)
n_seeds = 40  # seeds of the section-1 theory claims (pass rates over nets; each net costs milliseconds)
sweep_seeds = 10  # seeds of the closed-form grid and the depth sweep (the first of the n_seeds)
rate_init_scales = [0.1, 0.3, 0.5]  # values of xi in the closed-form rate grid
rate_alphas = [1.0, 100.0]  # values of alpha in the closed-form rate grid
sweep_depths = [4, 6, 8, 10]  # depths L of the depth sweep
sweep_n_per_class = [10, 15, 20, 30]  # values of n of the sample-size sweep (N ＝ n K past d breaks orthogonality)
# nonlinear nets (Figs. 1 and 5)
dataset = "mnist1d"  # data set of the nonlinear nets (Figs. 1, 5): mnist1d, digits, or a torchvision set with data_root
data_root = ""  # folder holding torchvision data sets (paper preset)
download = False  # allow downloading a torchvision data set into data_root
n_train = 1000  # training samples of the nonlinear nets (0 ＝ all; a stratified subset otherwise)
net_seeds = 10  # seeds of the nonlinear nets (each seed trains the MLP and the hybrid)
net_width = 128  # hidden width of the nonlinear nets
net_depth = 8  # weight matrices of the nonlinear nets (hidden layers + classifier)
hybrid_nonlinear = 3  # nonlinear (Linear-BN-ReLU) hidden layers at the front of the hybrid net; the rest are linear
net_epochs = 200  # training epochs of the nonlinear nets (one cosine cycle)
net_lr = 0.03  # learning rate of the nonlinear nets (SGD, cosine to 1% of it)
net_momentum = 0.9  # SGD momentum of the nonlinear nets
net_weight_decay = 0.0001  # weight decay of the nonlinear nets
net_batch_size = 128  # minibatch size of the nonlinear nets
net_init_scale = 0.1  # orthogonal initialisation scale of the nonlinear nets
net_criterion = 0.99  # training criterion of the nonlinear nets: training accuracy at least this (they interpolate in the paper)
alpha_hybrid = 100.0  # output multiplier of the hybrid net
alpha_mlp = 1.0  # output multiplier of the all-nonlinear MLP

# %% tags=["hide-input"]
import numpy as np
import pandas as pd

import layerwise
from layerwise import charts, data
from layerwise.chapters import ch01
from layerwise.claims import Control, Ledger, glue
from layerwise.metrics import collapse

cfg = layerwise.config.resolve_notebook("01", globals())
charts.enable()
ledger = Ledger(cfg)
SEEDS = [cfg.seed + i for i in range(cfg.n_seeds)]
SWEEP_SEEDS = SEEDS[:cfg.sweep_seeds]
THEORY = dict(n_per_class=cfg.n_per_class, n_classes=cfg.n_classes, dim=cfg.dim, lr=cfg.lr,
              epochs=cfg.epochs, stop_loss=cfg.stop_loss)
glue("p_net_criterion", cfg.net_criterion)
cfg.table()

# %% [markdown]
# **The measures.** For the features $z^l_{k,i}$ of sample $i$ of class $k$ at layer $l$ ($l=0$ is
# the input), with class means $\mu^l_k$ and global mean $\mu^l_G$,
#
# $$C_l=\frac{\operatorname{Tr}\Sigma_W^l}{\operatorname{Tr}\Sigma_B^l},\qquad
#   D_l=1-\max_{k\ne k'}\frac{|\langle\mu^l_k,\mu^l_{k'}\rangle|}{\|\mu^l_k\|\,\|\mu^l_{k'}\|},$$
#
# where $\Sigma_W^l$ is the within-class and $\Sigma_B^l$ the between-class covariance. $C_l$ is the
# within-class compression (smaller is more compressed); $D_l$ the between-class discrimination, on
# uncentred class means. We take $\max|\cos|$, as the authors' docstring writes it, so $D_l\in[0,1]$;
# their code takes the signed maximum, which exceeds 1 whenever every pair of means points apart and
# then makes a rise towards 1 a fall. Section 4 reports the signed version where the authors' figure uses it.
#
# ## 1. The theory check
#
# The setting of the paper's Fig. 4, from the authors' `assumption/theory.ipynb`: $K=3$ classes of
# $n=10$ points in $d=50$ dimensions, each point an orthonormal vector plus Gaussian noise of total
# Frobenius norm 1; a bias-free linear network $f(x)=\alpha W_L\cdots W_1x$ with $L=6$ matrices of
# width 50, scaled orthogonal initialisation $\xi=0.3$, output multiplier $\alpha=100$, loss
# $\frac1N\|\alpha W_{L:1}X-Y\|_F^2$; full-batch gradient descent at a constant learning rate of 0.1
# (the authors build a cosine schedule but never step it), run until the loss is below $10^{-11}$:
# the interpolation the theory assumes, and the training criterion every net here must reach.
#
# Each seed draws its own data and initialisation; all seeds train at once as one ensemble of
# independent networks (`ch01.train_theory_seeds`). The control is the same network before training:
# a scaled orthogonal map multiplies within- and between-class scatter by the same factor, so an
# untrained net has $C_l$ and $D_l$ constant across layers. Compression the claims see comes from training.

# %%
runs = ch01.theory_seeds_stored(SEEDS, depth=cfg.depth, init_scale=cfg.init_scale, alpha=cfg.alpha,
                                **THEORY)
stats = {s: ch01.profile_stats(r["c"], r["d"]) for s, r in zip(SEEDS, runs)}
before = {s: ch01.profile_stats(r["c_untrained"], r["d_untrained"]) for s, r in zip(SEEDS, runs)}
trained = {s: r["reached"] for s, r in zip(SEEDS, runs)}
print(f"{len(runs)} nets, {sum(trained.values())} reached loss < {cfg.stop_loss:g} "
      f"in {runs[0]['epochs']} epochs (all seeds at once)")

# %%
profile = pd.DataFrame(ch01.profile_rows(SEEDS, runs))
mean = profile.groupby(["state", "layer"])[["C", "D"]].mean().reset_index()
left = charts.by_layer(mean, "C", color="state", log_y=True, y_title="Cₗ (log scale)",
                       title="Within-class compression")
right = charts.by_layer(mean[mean.layer > 0], "D", color="state", y_title="Dₗ",
                        title="Between-class discrimination")
charts.figure("fig-ch01-theory", left | right)

# %% [markdown]
# ```{glue:figure} fig-ch01-theory
# :name: fig-ch01-theory
#
# Mean over seeds of $C_l$ (log scale) and $D_l$ through the trained theory nets and the same nets
# untrained. Look for a straight falling line on the left (geometric compression,
# `wang23-geometric-compression`) and a line rising towards 1 on the right
# (`wang23-linear-discrimination`); the untrained nets stay flat.
# ```
#
# The claims of the paper's Fig. 4, with thresholds set around the authors' stored outputs: $\log C_l$
# is a straight line in $l$ ($R^2\ge0.999$; their notebook: $0.99998$) that falls; every ratio
# $C_l/C_{l-1}$ lies in $[0.25, 0.32]$ (their notebook: $0.280$-$0.290$); $D_l$ increases, is linear
# in $l$ ($R^2\ge0.99$; their notebook: $0.996$) and ends at $D_{L-1}\ge0.98$. These are statements
# about every network the theorem covers, so each is a pass rate over seeds: reproduced when the 95%
# interval of the pass rate lies above 0.9.

# %% tags=["remove-cell"]
ledger.sanity("untrained-profile-is-flat", test="<= 1e-6", section="1. The theory check",
              measured=max(max(abs(q - 1) for q in b["ratios"]) for b in before.values()),
              statement="an untrained scaled-orthogonal linear net leaves C_l unchanged from layer to layer "
                        "(max |C_l/C_(l-1) - 1| over seeds; the weights are drawn in float32)")
glue("rate_mean", ledger.record("rate", float(np.mean([v["rate"] for v in stats.values()]))), ".3f")
ledger.record("r2_log_c", np.mean([v["r2_log_c"] for v in stats.values()]))  # gathered by sweeps
glue("d_r2_pass", int(sum(v["r2"] >= 0.99 for v in stats.values())))
glue("n_theory_seeds", len(SEEDS))

# %% tags=["remove-cell"]
untrained = "untrained nets"
with ledger.section("1. The theory check"):
    ledger.claim("wang23-geometric-compression", provenance="paper", source="Wang et al. 2023, abstract and Fig. 4",
                 statement="log C_l is a straight falling line in l (R^2 of the fit and its rate per layer)",
                 test={"r2": ">= 0.999", "rate": "< 0.9"}, rule="rate >= 0.9", headline=True,
                 values={s: {"r2": v["r2_log_c"], "rate": v["rate"]} for s, v in stats.items()},
                 control=Control(untrained, {s: {"r2": v["r2_log_c"], "rate": v["rate"]} for s, v in before.items()}),
                 trained=trained, figure="fig-ch01-theory",
                 explain={"reproduced": "Compression is geometric on every net: log C_l falls on a line, and "
                                        "the untrained nets stay flat."})
    ledger.claim("wang23-rate-range", provenance="authors", source="Wang et al. 2023, Fig. 4 (authors' notebook)",
                 statement="every ratio C_l/C_(l-1) at xi = 0.3, alpha = 100, n = 10, L = 6",
                 test="in [0.25, 0.32]", rule="rate >= 0.9", values={s: v["ratios"] for s, v in stats.items()},
                 control=Control(untrained, {s: v["ratios"] for s, v in before.items()}), trained=trained,
                 figure="fig-ch01-theory")
    ledger.claim("wang23-linear-discrimination", provenance="paper", source="Wang et al. 2023, abstract and Fig. 4",
                 statement="D_l (max |cos|) rises linearly in l towards 1 (increasing, R^2 of the line, last value)",
                 test={"D": "increasing", "r2": ">= 0.99", "last": ">= 0.98"}, rule="rate >= 0.9", headline=True,
                 values={s: {k: v[k] for k in ("D", "r2", "last")} for s, v in stats.items()},
                 control=Control(untrained, {s: {k: v[k] for k in ("D", "r2", "last")} for s, v in before.items()}),
                 trained=trained, figure="fig-ch01-theory",
                 explain={"not reproduced": "D_l rises towards 1 on every net, but on a sizeable share of them "
                                            "it bends instead of following a line: the linear rate is a "
                                            "tendency, not a law of each network.",
                          "reproduced": "D_l rises along a line on nearly every net."})

# %% [markdown]
# Over {glue:text}`n_theory_seeds` seeds the fitted compression rate averages {glue:text}`rate_mean`
# per layer; the line through $D_l$ reaches $R^2\ge0.99$ on {glue:text}`d_r2_pass` of them.
#
# ## 2. The rate against its closed form
#
# If the trained weights are minimum-norm and balanced, the top $K$ singular values of every layer
# approach $(\sqrt n/\alpha)^{1/L}$ while the other singular values stay at the initial scale $\xi$
# (each gradient has rank at most $K$). Within-class spread travels through the bulk, class means
# through the top directions, so the ratio should be
#
# $$\rho = \xi^2\,\alpha^{2/L}\,n^{-1/L}.$$
#
# This closed form is our reconstruction (it matches the authors' summary $\varepsilon^2/n^{1/L}$ for
# $\alpha=1$, $\varepsilon=\xi$); the paper's own constants were not readable. We measure the mean
# ratio over $l\ge2$ and the first ratio across a grid of $\xi$ and $\alpha$. A setting whose nets do
# not reach the loss criterion within the epoch budget has not found the interpolant the theory
# assumes: the claims name it and leave it out.

# %%
grid = pd.DataFrame(ch01.closed_form_grid(SWEEP_SEEDS, cfg.rate_init_scales, cfg.rate_alphas,
                                           depth=cfg.depth, **THEORY))
columns = ["reached", "epochs", "predicted", "later", "later_error", "first_error"]
grid.groupby("setting")[columns].mean()

# %%
charts.figure("fig-ch01-closed-form", charts.scatter(
    grid[grid.reached], "predicted", "later", color="setting", log_x=True, log_y=True,
    diagonal=True, x_title="closed form ξ² α^(2/L) n^(−1/L)",
    y_title="measured mean Cₗ/Cₗ₋₁, l ≥ 2", title="Measured rate against the closed form"))

# %% [markdown]
# ```{glue:figure} fig-ch01-closed-form
# :name: fig-ch01-closed-form
#
# Each point is one seed of one converged $(\xi,\alpha)$ setting; the dashed line is equality. The
# points hug the line where the rate is small and fall below it as the predicted rate approaches 1
# (`wang23-rate-closed-form-later`, `wang23-rate-closed-form-first`).
# ```

# %% tags=["remove-cell"]
ok = grid[grid.reached]
excluded = ", ".join(sorted(set(grid[~grid.reached].setting))) or "none"
left_out = f" (not reaching the loss criterion within {cfg.epochs} epochs, left out: {excluded})"
with ledger.section("2. The rate against its closed form"):
    for which, bound, what in (("later", 5, "the mean ratio over l >= 2"), ("first", 10, "the first ratio C_1/C_0")):
        per_seed = [(s, g[g.reached]) for s, g in grid.groupby("seed")]  # empty: no setting converged
        ledger.claim(f"wang23-rate-closed-form-{which}", provenance="reconstruction",
                     source="Wang et al. 2023, authors' project page (our closed form)", test=f"<= {bound}",
                     statement=f"{what} lies within {bound}% of xi^2 alpha^(2/L) n^(-1/L) in every converged "
                               f"setting of the grid (largest error, %){left_out}", rule="mean",
                     values={s: float(g[f"{which}_error"].max()) if len(g) else None for s, g in per_seed},
                     censored=f"no setting reached the loss criterion within {cfg.epochs} epochs",
                     control=Control("untrained nets", {s: float(g.untrained_error.max()) if len(g) else
                                                        float("inf") for s, g in per_seed}),
                     figure="fig-ch01-closed-form", headline=which == "later",
                     explain={"not reproduced": "The closed form is a small-rate approximation: where the "
                                                "predicted rate approaches 1 the measured one falls below it.",
                              "reproduced": "The reconstructed closed form predicts the measured rate."})
glue("later_error_median", float(ok.later_error.median()), ".1f")
glue("excluded_settings", excluded)

# %% [markdown]
# Over the converged runs the mean ratio over $l\ge2$ misses the closed form by
# {glue:text}`later_error_median`% in the median. Settings that never reached the loss criterion:
# {glue:text}`excluded_settings`.
#
# ## 3. Depth, and where the theory stops applying
#
# Two sweeps around the theory setting ($\xi=0.3$, $\alpha=100$): the depth $L$ (every sweep seed; a
# claim of this book, not of the paper), and the number of samples $N=Kn$ against the dimension
# $d=50$ (one seed, an illustration). For $N>d$ there is no orthonormal set of $N$ vectors: the data
# are then unit-norm Gaussian directions, only approximately orthogonal, and a linear network can no
# longer interpolate the labels.

# %%
depth_df = pd.DataFrame(ch01.depth_sweep(SWEEP_SEEDS, cfg.sweep_depths, init_scale=cfg.init_scale,
                                          alpha=cfg.alpha, **THEORY))
n_df = pd.DataFrame(ch01.sample_sweep(cfg.seed, cfg.sweep_n_per_class, depth=cfg.depth,
                                      init_scale=cfg.init_scale, alpha=cfg.alpha,
                                      **{k: v for k, v in THEORY.items() if k != "n_per_class"}))
depth_df.groupby("depth")[["reached", "predicted", "measured", "error"]].mean()

# %% tags=["remove-cell"]
with ledger.section("3. Depth, and where the theory stops applying"):
    ledger.claim("layerwise-rate-holds-across-depth", provenance="book",
                 source="this book (extends Wang et al. 2023, Fig. 4)", test="<= 5", rule="mean",
                 statement=f"the closed-form rate holds within 5% at every depth L in {cfg.sweep_depths} "
                           "(largest error over depths, %)",
                 values={s: float(g.error.max()) for s, g in depth_df.groupby("seed")},
                 control=Control("untrained nets",
                                 {s: float(g.untrained_error.max()) for s, g in depth_df.groupby("seed")}),
                 trained={s: bool(g.reached.all()) for s, g in depth_df.groupby("seed")}, figure="fig-ch01-depth",
                 explain={"not supported": "The error grows where the predicted rate approaches 1 (shallow nets "
                                           "at alpha = 100): the same small-rate limit as in section 2."})
worst = depth_df.groupby("depth").error.mean()
glue("depth_worst", int(worst.idxmax()))
glue("beyond_r2", ", ".join(f"{v:.3f}" for v in n_df[n_df.N_over_d > 1].r2_log_c) or "none")

# %%
by_depth = depth_df.groupby("depth")[["measured", "predicted"]].mean().reset_index()
left = charts.line(by_depth.melt("depth", var_name="rate"), "depth", "value", color="rate",
                   x_title="depth L", y_title="Cₗ/Cₗ₋₁", title="Rate against depth", integer_x=True)
right = charts.line(n_df.melt("N_over_d", ["measured", "predicted"], var_name="rate"), "N_over_d",
                    "value", color="rate", x_title="N / d", y_title="Cₗ/Cₗ₋₁",
                    title="Rate as the data stop being orthogonal")
charts.figure("fig-ch01-depth", left | right)

# %% [markdown]
# :::{dropdown} More figures
# ```{glue:figure} fig-ch01-depth
# :name: fig-ch01-depth
#
# Left: the measured rate (mean over seeds) and the closed form against depth; the largest gap is at
# $L=$ {glue:text}`depth_worst` (`layerwise-rate-holds-across-depth`). Right: past $N=d$ the nets no
# longer interpolate, and the $R^2$ of $\log C_l$ on $l$ drops to {glue:text}`beyond_r2`.
# ```
# :::
#
# ## 4. Nonlinear networks: the MLP and the hybrid
#
# The paper's Figs. 1 and 5 train on CIFAR-10 an "8-layer" network: 7 hidden layers of width 1024 and
# a classifier, no biases, orthogonal initialisation with $\xi=0.1$, MSE loss with multiplier $\alpha$.
# In the **MLP** every hidden layer is Linear → BatchNorm → ReLU ($\alpha=1$); in the **hybrid** only
# the first 3 are, and the last 4 are linear ($\alpha=100$). SGD with momentum 0.9, weight decay
# $10^{-4}$, batch 128, one cosine cycle, trained to interpolation (400 epochs).
#
# The `book` preset runs both architectures on a stratified subset of **MNIST-1D**
# {cite:p}`greydanus2020` (40 features, 10 classes) at width 128, where a linear probe of the raw input
# or of random features is far from perfect, so "the features become linearly separable" is something
# training has to do. Every net trains until it fits its training set: the criterion is a training
# accuracy of at least {glue:text}`p_net_criterion` (the paper's nets interpolate). The authors' first layer is an
# orthogonal block on the first 1024 input coordinates with zeros elsewhere; ours is a Haar
# semi-orthogonal matrix over all input coordinates.
#
# Per hidden layer we measure the numerical rank (the smallest $r$ whose top-$r$ singular values of
# the uncentred training features reach 95% of their sum, the paper's convention), the training
# accuracy of a linear probe (least squares to one-hot labels with a small scale-invariant ridge: the
# optimum of the paper's MSE probe), $C_l$ and $D_l$. The control is each net before training.

# %%
split = data.load(cfg.dataset, data_root=cfg.data_root, download=cfg.download,
                  n_train=cfg.n_train, seed=cfg.seed)
NET = dict(width=cfg.net_width, depth=cfg.net_depth, init_scale=cfg.net_init_scale, lr=cfg.net_lr,
           momentum=cfg.net_momentum, weight_decay=cfg.net_weight_decay,
           batch_size=cfg.net_batch_size, epochs=cfg.net_epochs, criterion=cfg.net_criterion,
           dataset=cfg.dataset, n_train=cfg.n_train, split_seed=cfg.seed, device=cfg.device)
ARCH = {"hybrid": (cfg.hybrid_nonlinear, cfg.alpha_hybrid), "MLP": (None, cfg.alpha_mlp)}
nets = {(name, s): ch01.net_stored(split, nonlinear_layers=nl, alpha=a, seed=s, **NET)
        for name, (nl, a) in ARCH.items() for s in SEEDS[:cfg.net_seeds]}
for name in ARCH:
    done = [r for (k, _), r in nets.items() if k == name]
    print(ch01.training_summary(name, done, cfg.net_criterion))

# %%
layers = pd.DataFrame([dict(row, net=name, seed=s, state=state) for (name, s), r in nets.items()
                       for state in ("trained", "untrained") for row in r[state]])
means = layers.groupby(["net", "state", "layer"]).mean(numeric_only=True).reset_index()
means["series"] = means.net + ", " + means.state
TITLES = {"rank": "numerical rank (95% energy)", "probe_train": "probe training accuracy",
          "C_l": "Cₗ (log scale)", "D_signed": "Dₗ (signed, the authors')"}
panels = [charts.by_layer(means, m, color="series", y_title=t, log_y=m == "C_l")
          for m, t in TITLES.items()]
charts.figure("fig-ch01-nets", (panels[0] | panels[1]) & (panels[2] | panels[3]))

# %% [markdown]
# ```{glue:figure} fig-ch01-nets
# :name: fig-ch01-nets
#
# The MLP and the hybrid, trained and untrained, mean over seeds. Look at the linear layers of the
# hybrid ($l\ge4$): the rank falls, $C_l$ falls by decades and the probe stays at 1, as in the
# paper's Figs. 1 and 5 (`wang23-hybrid-*`); the MLP's rank peaks early and then falls, which its
# untrained self does much less (`wang23-mlp-rank-falls`).
# ```
#
# The claims of Figs. 1 and 5, read off the authors' stored figure outputs, each judged on the mean
# over seeds against the same nets untrained. Hybrid: probe training accuracy $\ge0.99$ at every
# $l\ge2$; the last layer's rank at most $0.8\times$ the largest; $C_l$ falling over $l=3..7$ by at
# least 1.5 decades; $D_7\ge0.7$ with the authors' signed $D$ (their figure: about 0.85). MLP: the
# rank falls from its peak to the last hidden layer by at least a quarter (their figure: about a
# half), by at least 0.1 more than in the untrained net; and $C_7<C_1/10$.

# %% tags=["remove-cell"]
vals = {k: ch01.net_values(r["trained"]) for k, r in nets.items()}
vals0 = {k: ch01.net_values(r["untrained"]) for k, r in nets.items()}
for k, r in nets.items():
    vals[k]["D_signed"], vals0[k]["D_signed"] = r["trained"][-1]["D_signed"], r["untrained"][-1]["D_signed"]
claims_4 = [("wang23-hybrid-probe", "hybrid", "Fig. 1", "hybrid: the linear-probe training accuracy from l = 2 on "
             "(smallest over layers)", "probe", ">= 0.99", ""),
            ("wang23-hybrid-rank", "hybrid", "Fig. 1", "hybrid: rank of the last hidden layer over the largest rank",
             "rank_last_over_max", "<= 0.8", ""),
            ("wang23-hybrid-compression", "hybrid", "Fig. 5", "hybrid: decades C_l falls over l = 3..7",
             "decades", ">= 1.5", ""),
            ("wang23-hybrid-discrimination", "hybrid", "Fig. 5", "hybrid: D_7 with the authors' signed maximum",
             "D_signed", ">= 0.7", ""),
            ("wang23-mlp-rank-falls", "MLP", "Fig. 1", "MLP: relative fall of the rank from its peak to l = 7",
             "rank_fall", ">= 0.25", ">= 0.1"),
            ("wang23-mlp-compression", "MLP", "Fig. 5", "MLP: C_7 / C_1", "C_last_over_first", "< 0.1", "")]

# %% tags=["remove-cell"]
READ = {"wang23-hybrid-compression": "In the hybrid's linear layers C_l falls by {value} decades on average, "
                                     "as in the paper's Fig. 5, where the untrained net does not fall at all.",
        "wang23-mlp-rank-falls": "Training makes the MLP's rank fall after its early peak (relative fall "
                                 "{value}; untrained {control_value}): the rise-then-fall of Fig. 1."}
with ledger.section("4. Nonlinear networks: the MLP and the hybrid"):
    for cid, name, fig, statement, key, test, margin in claims_4:
        seeds = [s for (n, s) in nets if n == name]
        ledger.claim(cid, provenance="authors", source=f"Wang et al. 2023, {fig} (authors' stored outputs)",
                     statement=f"{statement} ({cfg.dataset}, width {cfg.net_width})", test=test, rule="mean",
                     margin=margin, values={s: vals[name, s][key] for s in seeds},
                     control=Control("untrained nets", {s: vals0[name, s][key] for s in seeds}),
                     trained={s: nets[name, s]["reached"] for s in seeds}, figure="fig-ch01-nets",
                     headline=cid in READ, explain={"reproduced": READ[cid]} if cid in READ else None)
ledger.record("hybrid_test_accuracy", np.mean([r["test_acc"] for (n, _), r in nets.items() if n == "hybrid"]))
glue("d_abs_hybrid", float(np.mean([v["D_last"] for (n, _), v in vals.items() if n == "hybrid"])), ".2f")
glue("mlp_peak", int(np.median([v["rank_peak"] for (n, _), v in vals.items() if n == "MLP"])))

# %% [markdown]
# The MLP's rank peaks at layer {glue:text}`mlp_peak` (median over seeds); the untrained MLP peaks
# early too, so the claim is the fall after the peak, which training adds. With $\max|\cos|$ instead of
# the authors' signed maximum the hybrid's $D_7$ averages {glue:text}`d_abs_hybrid`: in its linear
# layers some class means point apart, which the signed version counts as separation beyond
# orthogonality.
#
# ## Summary

# %% tags=["remove-input"]
ledger.save()
ledger.closing()

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ex-ch01-xi
# Run `layerwise run 01 -p init_scale 0.5`. The closed form predicts a faster or a slower compression?
# Predict the new rate $\xi^2\alpha^{2/L}n^{-1/L}$, then check it against the fitted rate of section 1.
# ```
# ```{solution} ex-ch01-xi
# :class: dropdown
# Slower: $\rho$ grows with $\xi^2$, from about $0.29$ at $\xi=0.3$ to about $0.80$ at $\xi=0.5$. Near
# 1 the closed form overestimates the measured ratio, as section 2 shows, and the rate-range claim
# (a band around $0.28$) fails, as it should.
# ```
#
# ```{exercise}
# :label: ex-ch01-depth
# Run `layerwise run 01 -p net_depth 10 -p hybrid_nonlinear 3`. Does the hybrid keep compressing in
# its six linear layers? Predict how many decades $C_l$ falls over $l=3..9$.
# ```
# ```{solution} ex-ch01-depth
# :class: dropdown
# Each linear layer of a trained hybrid shrinks the within-class spread by roughly the same factor
# (the deep linear mechanism of section 1), so the fall grows about linearly with the number of
# linear layers: expect more decades than at depth 8, provided the nets still reach the criterion.
# ```
#
# ```{exercise}
# :label: ex-ch01-samples
# Run `layerwise run 01 -p sweep_n_per_class 10,16,17,30`. At which $n$ does $N=3n$ pass $d=50$, and
# what happens to the $R^2$ of $\log C_l$ there?
# ```
# ```{solution} ex-ch01-samples
# :class: dropdown
# $N>50$ from $n=17$. The inputs then cannot be orthonormal, the nets stop interpolating, and $C_l$
# stops falling on a line: the right panel of {numref}`fig-ch01-depth` shows where.
# ```
