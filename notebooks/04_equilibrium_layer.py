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

# %%

# %% [markdown]
# # The equilibrium layer
#
# **The question.** Training makes a network's tangent features align with the labels. Which layer
# aligns best, and can we tell in advance? Lou, Mingard, Nam and Hayou report an *alignment
# hierarchy*: the per-layer alignment rises from the input, peaks at a hidden layer and falls towards
# the output. Their *Equilibrium Hypothesis* places the peak where the information carried forward
# from the input and the information carried backward from the labels balance, which for fully
# connected ReLU networks at initialisation gives a peak at layer $l^* = \Theta(L^{3/5})$ of a network
# with $L$ hidden layers.
#
# **Sources.** Y. Lou, C. Mingard, Y. Nam, S. Hayou, *Feature Learning and Signal Propagation in
# Deep Neural Networks*, ICML 2022 (arXiv:2110.11749), and the authors' poster. The paper's body was
# not readable: reference note 04 separates what is verified (the abstract, the poster), what
# follows the precedent of A. Baratin et al., *Implicit Regularization via Neural Feature
# Alignment* (AISTATS 2021, whose code could be read), and what is reconstructed. The mean-field
# statements of section 2 are standard theory, not Lou et al.'s claims: the ReLU correlation map is
# the arc-cosine kernel of Y. Cho and L. Saul (NeurIPS 2009); forward and backward correlation
# propagation at infinite width is B. Poole et al. (NeurIPS 2016) and S. Schoenholz et al. (ICLR
# 2017); the Edge-of-Chaos rates for ReLU are S. Hayou, A. Doucet, J. Rousseau (ICML 2019). Every
# place where this chapter had to choose is said so below.
#
# **The measures.** For a network $f:\mathbb R^d\to\mathbb R^o$ and the parameters $\theta_l$ of its
# dense layer $l$ (weight and bias), the layerwise tangent kernel on $n$ examples is the
# $(no)\times(no)$ matrix
#
# $$K_l[(x,k),(x',k')] = \nabla_{\theta_l} f_k(x)\cdot\nabla_{\theta_l} f_{k'}(x'),\qquad K=\sum_l K_l .$$
#
# Its alignment with the labels is the centred kernel alignment (Cortes, Mohri, Rostamizadeh)
#
# $$A(K,K') = \frac{\langle K_c, K'_c\rangle_F}{\|K_c\|_F\,\|K'_c\|_F},\qquad A_l = A(K_l, yy^\top).$$
#
# **Convention (precedent).** Following Baratin et al.'s code, $K_l$ is the full kernel over all
# $o=10$ outputs, centred over examples separately for each output; $y$ is the one-hot label
# matrix with each class column mean-centred, flattened. Two alternatives are carried along as an
# ablation (section 6): the poster's formula read literally (one centring matrix over all $no$ rows,
# "global"), and the $n\times n$ kernel summed over outputs, $\sum_k K_l^{(kk)}$, against $YY^\top$
# ("trace"). The claims use the full convention throughout.
#
# **Depth.** The paper and the note speak of $L$ hidden ReLU layers; the book's `depth` counts weight
# matrices, so **`depth` $= L + 1$**. The weight layers are numbered $l = 1, \dots, L+1$ ($l=1$ acts
# on the input, $l=L+1$ is the readout); the "external" layers are $l=1$ and $l=L+1$.
#
# **Data.** The `book` preset uses MNIST-1D (Greydanus 2020: 4000 training sequences of 40 features,
# 10 classes, generated offline) rather than scikit-learn's digits, on which a linear classifier of
# the raw pixels is already nearly as accurate as a deep network: there the label information a layer
# carries need not be built up through depth. MNIST-1D was designed so that linear models fail on it
# (the linear probe of the raw input is measured in section 3), so a hidden layer's alignment is
# something the network had to learn. The `paper` preset uses MNIST (`data_root` needed).

# %% tags=["parameters"]
# generated from chapters/ch04.py (layerwise params 04 --write-cell); book values follow preset
preset = "book"
device = "auto"
seed = 0
results_dir = None
overrides = []  # names set with -p (papermill injects them): kept even where they equal the book value
# data and the alignment sample
dataset = "mnist1d"  # data set: mnist1d (offline, not linearly solvable), digits, or a torchvision set with data_root
data_root = ""  # folder holding torchvision data sets (paper preset)
download = False  # allow downloading a torchvision data set into data_root
n_train = 0  # training examples (0 ＝ all; a class-stratified subset otherwise)
n_align = 50  # fixed, class-stratified training examples on which every alignment is measured (kernels are (10 n_align)^2 per layer)
# the network of section 3 and the training recipe
depth = 11  # weight matrices of the section-3 network (L ＝ depth - 1 hidden ReLU layers)
width = 128  # hidden width of the section-3 network
lr = 0.01  # SGD learning rate at depth 11 (L ＝ 10); see scale_lr_with_depth
scale_lr_with_depth = True  # use lr * 10 / (depth - 1) at every depth (the NTK grows linearly with depth)
momentum = 0.9  # SGD momentum (Baratin et al.'s recipe)
weight_decay = 0.0005  # weight decay (Baratin et al.'s recipe)
batch_size = 128  # minibatch size (Baratin et al.'s recipe)
epochs = 30  # epoch budget of the section-3 network (training stops earlier at stop_loss)
stop_loss = 0.01  # training stops once an epoch's mean training loss falls below this
# where the peak sits against depth (sections 4-7)
sweep_depths = [11, 21, 31, 41, 51]  # depths of the depth sweep (L ＝ depth - 1 ＝ 10..50, note 04's range)
sweep_width = 64  # hidden width of the depth sweep
sweep_epochs = 30  # epoch budget of every network of the depth sweep
n_seeds = 5  # seeds per depth of the sweep (seed s ＝ seed + i); claims need ≥ 3
# the network compared with the mean-field recursions (section 2)
theory_width = 2048  # width of the network compared with the mean-field recursions
theory_depth = 21  # weight matrices of that network (L ＝ 20 hidden layers, note 04's setting)

# %%
import functools
import resource
import time

import numpy as np
import pandas as pd
import torch

import layerwise
from layerwise import charts, claims, data, models, train
from layerwise.chapters import ch04
from layerwise.claims import Control, glue
from layerwise.metrics import alignment, ntk, probes, signal_propagation as sp

cfg = layerwise.config.resolve_notebook("04", globals())
charts.enable()
ledger = claims.Ledger(cfg)
SOURCE = "Lou et al. 2022"
NOTE = "note 04"
MEANFIELD = "Poole et al. 2016; Schoenholz et al. 2017 (mean-field propagation)"
SEEDS = [cfg.seed + i for i in range(cfg.n_seeds)]
started = time.perf_counter()
cfg.table()

# %% [markdown]
# ## 1. Forward and backward kernels
#
# Write a dense layer as $z_l = \alpha_l W_l h_{l-1} + \beta_l b_l$ ($\alpha_l=\beta_l=1$ in the
# standard parametrisation used here) and let $\delta_l^k(x) = \partial f_k(x)/\partial z_l(x)$.
# Since $\partial f_k/\partial W_l = \alpha_l\,\delta^k_l h_{l-1}^\top$, every layer's tangent kernel
# is a Hadamard product of a **backward** kernel, built from the back-propagated signals, and a
# **forward** kernel, built from the layer's input:
#
# $$K_l = B_l \circ \big((\alpha_l^2 F_l + \beta_l^2)\otimes \mathbf 1_o\mathbf 1_o^\top\big),\qquad
#   B_l[(x,k),(x',k')] = \langle\delta^k_l(x),\delta^{k'}_l(x')\rangle,\quad
#   F_l[x,x'] = \langle h_{l-1}(x), h_{l-1}(x')\rangle .$$
#
# This identity is exact at any width and any time in training (note 04, section 2), and it is what
# makes the chapter cheap: `layerwise.metrics.ntk.tangent_kernels` obtains every $K_l$ from one
# forward pass and $o$ backward passes, where the textbook recipe forms per-example Jacobians of all
# parameters (`layerwise_ntk_reference`, `torch.func.vmap(jacrev)`). A sanity check compares the two
# in float64 on a small ReLU network, with and without biases, at initialisation and after training.
# (`benchmarks/bench_ntk.py` times them.)

# %%
split = data.load(cfg.dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train, seed=cfg.seed)
small = split.train.subset(data.stratified_subset(split.train.labels, 20, cfg.seed))
errors = {}
for bias in (True, False):
    net = models.MLP(small.x.shape[1], 32, 4, small.n_classes, activation="relu", bias=bias, init="he",
                     seed=cfg.seed).double()
    x64 = small.x.double()
    for stage in ("init", "trained"):
        if stage == "trained":
            train.fit(net, x64, small.labels, epochs=20, lr=0.05, loss="ce", momentum=0.9, seed=cfg.seed,
                      progress=False)
        fast, ref = ntk.layerwise_ntk(net, x64), ntk.layerwise_ntk_reference(net, x64)
        errors[f"{'bias' if bias else 'no bias'}, {stage}"] = max(
            float((fast[l] - ref[l]).norm() / ref[l].norm()) for l in range(fast.shape[0]))
ledger.sanity("hadamard-identity", measured=max(errors.values()), test="<= 1e-12",
              source=f"{NOTE}, sec. 2 (chain rule)", section="1. Forward and backward kernels",
              statement="K_l from autodiff equals B_l o ((alpha^2 F_l + beta^2) kron 1 1^T), ReLU MLP, "
                        "with/without bias, at init and trained (max relative error, float64)")
glue("hadamard_error", max(errors.values()), ".1e")
pd.Series(errors, name="max relative error").to_frame()

# %% [markdown]
# The largest relative error between the Hadamard product and the per-example Jacobians is
# {glue:text}`hadamard_error`.
#
# ## 2. Signal propagation at initialisation
#
# The Equilibrium Hypothesis is a statement about initialisation. The note reconstructs its most
# plausible setting (the paper's own definitions were not readable): an infinitely wide ReLU network
# at the Edge of Chaos ($\sigma_w^2=2$, He initialisation, zero biases). Two inputs with correlation
# $c_0$ keep a correlation $c_l$ after $l$ hidden layers (Cho and Saul's arc-cosine map; Poole et
# al.), and the gradients back-propagated from the output to layer $l$ keep a correlation
# $\tilde c_l$ (Schoenholz et al.):
#
# $$c_{l+1} = f(c_l),\quad f(c)=\tfrac1\pi\big[\sqrt{1-c^2}+c(\pi-\arccos c)\big],\qquad
#   \tilde c_l = \prod_{k=l}^{L-1} f'(c_k),\quad f'(c) = 1-\tfrac{\arccos c}{\pi}.$$
#
# Forward information, $1-c_l$ (how distinguishable the inputs still are), is high near the input;
# backward information, $\tilde c_l$ (how coherently the label signal arrives), is high near the
# output. The balance point is the first $l$ with $\tilde c_l \ge 1-c_l$. Asymptotically
# $1-c_l\sim\kappa/l^2$ with $\kappa=9\pi^2/2$ (Hayou et al.) and $\tilde c_l\approx(l/L)^3$, so
# $l^*\approx\kappa^{1/5}L^{3/5}\approx 2.14\,L^{3/5}$: this is where the exponent $3/5$ comes from
# (the note's reconstruction).
#
# In a network these are exactly the correlations of the two factors of section 1: the forward
# kernel $F_l$ of weight layer $l$ has correlation $c_{l-1}$ and its backward kernel $B_l$ has
# correlation $\tilde c_{l-1}$. The balance point in weight-layer numbering is therefore the note's
# $l^*$ plus one; we compare trained peaks with it in that numbering throughout.
#
# These are sanity checks of our code against standard theory: the Edge-of-Chaos rates, the note's
# finite-depth table, and a wide network at initialisation against the recursions.

# %%
edge = {}
for c0 in (0.0, 0.5, 0.9):
    c = sp.forward_correlations(c0, 2000)
    edge[f"c0={c0}"] = {"l=500": float(500 ** 2 * (1 - c[500]) / sp.KAPPA),
                        "l=2000": float(2000 ** 2 * (1 - c[2000]) / sp.KAPPA)}
ct = sp.backward_correlations(sp.forward_correlations(0.5, 1000))
cubic = torch.stack([ct[l] / (l / 1000) ** 3 for l in range(500, 1001)])
ledger.sanity("eoc-forward-rate", measured=edge,
              test={k: {"l=500": "in [0.90, 1.0]", "l=2000": "in [0.97, 1.0]"} for k in edge},
              source="Hayou et al. 2019; note 04, sec. 3", section="2. Signal propagation at initialisation",
              statement="2 l^2 (1 - c_l) / (9 pi^2) approaches 1 at the Edge of Chaos, c0 in {0, 0.5, 0.9}")
ledger.sanity("eoc-backward-cubic", measured=[float(cubic.min()), float(cubic.max())], test="in [1.0, 1.2]",
              source="note 04, sec. 3 (from f'(c_k) ~ 1 - 3/k)", section="2. Signal propagation at initialisation",
              statement="ct_l / (l/L)^3 in [1.0, 1.2] for l/L >= 1/2 at L = 1000")
pd.DataFrame(edge).round(4)

# %%
TABLE = {10: 4, 20: 7, 30: 10, 40: 13, 50: 15, 100: 25, 200: 42, 400: 67, 800: 106, 1600: 166}
ours = {L: sp.meanfield_balance(L, 0.5) for L in TABLE}
table = pd.DataFrame({"L": list(TABLE), "note l*": list(TABLE.values()), "recomputed l*": list(ours.values()),
                      "2.14 L^(3/5)": [round(sp.asymptotic_balance(L), 1) for L in TABLE]})
small_fit = sp.power_law_fit([10, 20, 30, 40, 50], [ours[L] for L in (10, 20, 30, 40, 50)])
large_fit = sp.power_law_fit([200, 400, 800, 1600], [ours[L] for L in (200, 400, 800, 1600)])
glue("mf_slope_small", small_fit.slope, ".2f")
glue("mf_slope_large", large_fit.slope, ".2f")
ledger.sanity("finite-depth-table", measured=sum(ours[L] == TABLE[L] for L in TABLE) / len(TABLE), test=">= 1",
              source=f"{NOTE}, sec. 3 table", section="2. Signal propagation at initialisation",
              statement="the recursions reproduce the note's balance points l*(L) for c0 = 0.5 (fraction equal)")
table


# %% tags=["hide-input"]
def meanfield_frame(hidden):
    """Return the mean-field forward and backward information profiles (c0 = 0.5) as a long frame."""
    p = sp.meanfield_profile(hidden, 0.5)
    return pd.concat([pd.DataFrame({"layer": np.arange(hidden + 1), "value": v.numpy(), "information": name})
                      for name, v in (("forward 1 - c_l", p.forward_info), ("backward ct_l", p.backward_info))])


(charts.line(meanfield_frame(10), "layer", "value", color="information", x_title="hidden layer l",
             y_title="information", title="Mean field, L = 10, c0 = 0.5")
 | charts.line(meanfield_frame(50), "layer", "value", color="information", x_title="hidden layer l",
               y_title="information", title="Mean field, L = 50, c0 = 0.5", points=False))

# %% [markdown]
# Convergence to the asymptotics is slow: with $c_0 = 0.5$ the balance point's log-log slope is
# {glue:text}`mf_slope_small` over $L\in[10,50]$ and {glue:text}`mf_slope_large` over
# $L\in[200,1600]$. A fitted exponent near 0.6 is therefore not what the theory itself predicts at
# the depths of this chapter; section 7 returns to this.
#
# Next, a wide network at initialisation against the recursions (the note's setting: width
# `theory_width`, $L = 20$ hidden layers, He initialisation, no biases, inputs with $c_0=0.5$). Six
# inputs whose fifteen pairwise cosines all equal 0.5; we measure the correlations of the forward
# and backward kernels of one network and compare layer by layer.

# %%
x_eq = data.equicorrelated_inputs(6, 64, 0.5, seed=cfg.seed, dtype=torch.float32)
wide = models.MLP(64, cfg.theory_width, cfg.theory_depth, 1, activation="relu", bias=False, init="he", seed=cfg.seed)
emp = sp.empirical_correlations(wide, x_eq)
mf = sp.meanfield_correlations(cfg.theory_depth, 0.5)
del wide
dev_f = float((emp.forward - mf.forward).abs().max())
dev_b = float((emp.backward - mf.backward).abs().max())
corr = pd.DataFrame({"layer": np.arange(1, cfg.theory_depth + 1),
                     "forward, network": emp.forward.numpy(), "forward, mean field": mf.forward.numpy(),
                     "backward, network": emp.backward.numpy(), "backward, mean field": mf.backward.numpy()})
# the note's tolerances are for width 2048; finite-width fluctuations scale like 1 / sqrt(width)
widen = max(1.0, (2048 / cfg.theory_width) ** 0.5)
glue("dev_f", dev_f, ".3f")
glue("dev_b", dev_b, ".3f")
ledger.sanity("meanfield-forward", measured=dev_f, test=f"<= {0.05 * widen:.3g}", source=f"{MEANFIELD}; {NOTE}, claim 2",
              section="2. Signal propagation at initialisation",
              statement=f"forward correlations of a width-{cfg.theory_width}, depth-{cfg.theory_depth} He ReLU net "
                        "follow c_(l+1) = f(c_l) (max deviation over layers, c0 = 0.5; note 04's tolerance 0.05 at "
                        "width 2048, widened by sqrt(2048 / width) below it)")
ledger.sanity("meanfield-backward", measured=dev_b, test=f"<= {0.15 * widen:.3g}", source=f"{MEANFIELD}; {NOTE}, claim 2",
              section="2. Signal propagation at initialisation",
              statement="backward correlations follow prod f'(c_k) (max deviation over layers)")
charts.by_layer(corr.melt(id_vars="layer", var_name="correlation"), "value", color="correlation",
                y_title="correlation of F_l and B_l",
                title=f"Network at init (width {cfg.theory_width}) against the recursions")

# %% [markdown]
# The network follows the recursions within {glue:text}`dev_f` (forward) and {glue:text}`dev_b`
# (backward), the largest deviation over layers.
#
# ## 3. The alignment hierarchy
#
# **Training setup** (the paper's is not known; we follow Baratin et al. where it works):
# He-normal weights, zero biases, cross-entropy, SGD with momentum 0.9, weight decay $5\cdot10^{-4}$,
# batch 128, training stopped when the epoch's mean training loss falls below $10^{-2}$ (Baratin et al.
# stop after two consecutive logs below $10^{-2}$) or after `epochs` epochs. Alignments are measured
# on a fixed, class-stratified sample of `n_align` training examples (Baratin et al. use 100).
# **One deliberate change:** Baratin et al.'s learning rate 0.1 diverged in our earlier trials (on
# digits) for a plain (no normalisation, no skip connections) ReLU network with 10 hidden layers, so we use `lr` at
# $L=10$ and scale it as `lr` $\cdot 10/L$. The reason is measured in section 4: at the Edge of Chaos
# every layer contributes about equally to the tangent kernel, so its scale grows linearly with depth
# and a fixed step would be $L$ times more aggressive in a deeper network.
#
# The first experiment is the poster's figure for one network of `depth` weight matrices: alignment
# of every layer during training and at the end. Beside the tangent kernel we show the alignments of
# its two factors: the forward kernel $F_l$ (an $n\times n$ kernel; aligned in the trace convention,
# because $F_l\otimes\mathbf 1\mathbf 1^\top$ cannot tell the outputs apart and has zero alignment in
# the full one) and the backward kernel $B_l$ (full convention).

# %%
align_idx = data.stratified_subset(split.train.labels, cfg.n_align, cfg.seed)
glue("raw_probe", probes.linear_probe_accuracy(split.train.x, split.train.labels, split.test.x, split.test.labels),
     ".2f")
recipe = dict(momentum=cfg.momentum, weight_decay=cfg.weight_decay, batch_size=cfg.batch_size,
              stop_loss=cfg.stop_loss, device=cfg.device)
hier = ch04.run_network(split, align_idx, cfg.depth, cfg.width, cfg.seed, cfg.epochs,
                        lr=ch04.lr_for(cfg.depth, cfg.lr, cfg.scale_lr_with_depth),
                        snapshots=ch04.snapshot_grid(cfg.epochs), **recipe)
if not hier["diverged"]:
    glue("hier_epochs", hier["epochs"], "d")
    glue("hier_loss", hier["loss"], ".3f")
    glue("hier_acc", hier["test_acc"], ".3f")
    glue("hier_peak", ledger.record("peak_layer", hier["final"].peak()), ".0f")
    glue("hier_balance", ledger.record("balance_point", hier["balance"]), ".0f")
    glue("hier_peak_init", hier["init"].peak(), "d")


# %% tags=["hide-input"]
def profile_frame(a, **labels):
    """Return a long frame of the per-layer alignments in a LayerAlignment."""
    return pd.DataFrame({"layer": np.arange(1, len(a.tangent) + 1), **labels, "tangent K_l": a.tangent.numpy(),
                         "forward F_l": a.forward.numpy(), "backward B_l": a.backward.numpy()})


if not hier["diverged"]:
    during = pd.concat([profile_frame(hier["init"], epoch="epoch 00")]
                       + [profile_frame(a, epoch=f"epoch {e:02d}") for e, a in hier["history"].snapshots if e > 0])
    loss = pd.DataFrame({"epoch": np.arange(len(hier["history"].loss)), "training loss": hier["history"].loss})
    end = profile_frame(hier["final"]).melt(id_vars="layer", var_name="kernel", value_name="alignment")
    display((charts.line(loss, "epoch", "training loss", log_y=True, title="training loss")
             | charts.by_layer(during, "tangent K_l", color="epoch", y_title="A_l (tangent, full convention)",
                               title="A_l during training", layer="layer")
             | charts.by_layer(end, "alignment", color="kernel", y_title="alignment with the labels",
                               title="after training", layer="layer")).resolve_scale(color="independent"))

# %% [markdown]
# A linear probe of the raw input reaches a test accuracy of {glue:text}`raw_probe` on this data.
# This network trained for {glue:text}`hier_epochs` epochs to a training loss of
# {glue:text}`hier_loss` and a test accuracy of {glue:text}`hier_acc`. Its tangent-kernel alignment
# peaks at weight layer {glue:text}`hier_peak` after training (at layer {glue:text}`hier_peak_init`
# at initialisation); the balance point measured at its initialisation is layer
# {glue:text}`hier_balance`. The left panel is the training loss, the middle one the tangent-kernel
# alignment of every layer at each snapshot (0 = initialisation), the right one the three kernels
# after training. The forward kernel's alignment (the labels' linear visibility in each layer's input)
# and the backward kernel's tell which factor the peak comes from. (The readout's backward alignment
# is undefined: its backward kernel is the same $\mathbf 1\mathbf 1^\top\otimes I_o$ for every
# network.) One network is an illustration; the claims rest on the seed ensembles of section 4.
#
# ## 4. Where the peak sits against depth
#
# Now the depth sweep: networks with `depth` in `sweep_depths` ($L = 10, 20, \dots, 50$ hidden layers
# at `book`, the note's range), `n_seeds` seeds each, width `sweep_width`, trained with the same
# recipe for at most `sweep_epochs` epochs. For each network we record $l_{\max}=\arg\max_l A_l$ after
# training and at initialisation (the untrained network of the same shape and seed), and the balance
# point of the Equilibrium Hypothesis computed from the correlations of the forward and backward
# kernels *measured at its initialisation on the same alignment sample* (and, for comparison, from
# the mean-field recursions started from the sample's own pairwise input correlations).
#
# **Scale.** The `book` preset fits a one-core CPU budget of a few minutes: a narrower width than the
# note's 256, `n_align` examples rather than 100, and an epoch budget that binds for the deepest
# networks (their final training losses are in the table below). The `paper` preset runs $L$ up to
# 100 at width 256 on MNIST.

# %%
c0 = sp.input_correlations(split.train.x[align_idx])
runs = {}
for d in cfg.sweep_depths:
    for s in SEEDS:
        runs[d, s] = ch04.run_network(split, align_idx, d, cfg.sweep_width, s, cfg.sweep_epochs,
                                      lr=ch04.lr_for(d, cfg.lr, cfg.scale_lr_with_depth), **recipe)
mf_balance = {d: sp.meanfield_correlations(d, c0).balance() for d in cfg.sweep_depths}
ok = {k: r for k, r in runs.items() if not r["diverged"]}
# claims compare depths within a seed: a seed enters them only if all its networks trained
complete = [s for s in SEEDS if all((d, s) in ok for d in cfg.sweep_depths)]
if not complete:
    raise RuntimeError("every seed had a network that diverged; lower lr or keep scale_lr_with_depth on")
TRAINED = {"every network of the sweep trained without diverging": len(ok) == len(runs)}
glue("n_trained", len(ok), "d")
glue("n_runs", len(runs), "d")
sweep = pd.DataFrame([dict(
    depth=d, L=ch04.hidden(d), seed=s, epochs=r["epochs"], loss=r["loss"], test_acc=r["test_acc"],
    l_max=r["final"].peak(), l_max_init=r["init"].peak(), balance=r["balance"], balance_mf=mf_balance[d],
    margin=ch04.peak_margin(r["final"].tangent), margin_init=ch04.peak_margin(r["init"].tangent),
    l_max_global=r["final"].peak("global"), l_max_trace=r["final"].peak("trace"),
    ntk_per_layer=r["ntk_scale"] / d) for (d, s), r in ok.items() if s in complete])
sweep.round(3)

# %% [markdown]
# {glue:text}`n_trained` of {glue:text}`n_runs` networks trained without diverging. The learning-rate
# rule rests on the tangent kernel growing linearly with depth at initialisation; the NTK's mean
# diagonal divided by the number of layers should therefore be roughly constant across the sweep:

# %%
scale = sweep.groupby("depth")["ntk_per_layer"].mean()
glue("ntk_scale_ratio", scale.max() / scale.min(), ".2f")
glue("depth_ratio", max(cfg.sweep_depths) / min(cfg.sweep_depths), ".1f")
scale.round(2).to_frame("NTK trace per layer at init")


# %% tags=["hide-input"]
def depth_label(d):
    """Return "L=08"-style labels that sort in numeric order in chart legends."""
    return f"L={ch04.hidden(d):0{len(str(ch04.hidden(max(cfg.sweep_depths))))}d}"


profiles = pd.concat([
    pd.DataFrame({"relative layer": [ch04.relative_position(l, d) for l in range(1, d + 1)],
                  "A_l / max A": (r["final"].tangent / r["final"].tangent.max()).numpy(), "L": depth_label(d),
                  "seed": s, "layer": np.arange(1, d + 1)})
    for (d, s), r in ok.items()])
mean_profiles = profiles.groupby(["L", "layer", "relative layer"], as_index=False)["A_l / max A"].mean()
charts.line(mean_profiles, "relative layer", "A_l / max A", color="L", x_title="relative layer (l - 1) / L",
            y_title="A_l / max_l A_l (mean over seeds)", title="Alignment profiles after training, by depth")

# %% [markdown]
# The NTK trace per layer varies by a factor {glue:text}`ntk_scale_ratio` while the depth varies by a
# factor {glue:text}`depth_ratio`.
#
# ### The hierarchy: an interior peak that training creates
#
# Note 04's claim 4, tested per network: after training the peak layer is interior
# ($1 < l_{\max} < L+1$) at every depth of the sweep, and the peak rises above both external layers
# by at least 0.05 ($\max_l A_l - \max(A_1, A_{L+1})$, the smallest over depths). Each seed's
# untrained network of the same shape is the control: if it already had the shape, training did not
# create it.

# %%
def by_seed(column, frame=sweep):
    """Return {seed: {"L=..": value}} of a column of the sweep table."""
    return {s: {f"L={ch04.hidden(d)}": v for d, v in zip(g.depth, g[column])} for s, g in frame.groupby("seed")}


lo, hi = min(cfg.sweep_depths), max(cfg.sweep_depths)
interior_test = {f"L={ch04.hidden(d)}": f"in [2, {ch04.hidden(d)}]" for d in cfg.sweep_depths}
ledger.claim("lou22-hierarchy-interior-peak", source=f"{SOURCE}, poster 'Alignment Hierarchy'; {NOTE}, claim 4",
             statement=f"after training the alignment peaks at a hidden layer, at every L in "
                       f"{[ch04.hidden(d) for d in cfg.sweep_depths]}",
             test=interior_test, values=by_seed("l_max"), control=Control("untrained network", by_seed("l_max_init")),
             rule="all", requires=TRAINED, section="4. Where the peak sits against depth",
             explain={"reproduced": "Every trained network peaks inside, and no untrained one does at every depth.",
                      "inconclusive": "The peak is interior on some networks only, or an untrained network's "
                                      "profile already peaks inside at every depth.",
                      "not reproduced": "The trained networks peak at an external layer."})
min_margin = sweep.groupby("seed")[["margin", "margin_init"]].min()
ledger.claim("lou22-hierarchy-margin", source=f"{NOTE}, claim 4; {SOURCE}, poster",
             statement="after training max_l A_l exceeds both A_1 and A_(L+1) by >= 0.05 (smallest over depths)",
             test=">= 0.05", values=min_margin.margin.to_dict(),
             control=Control("untrained network", min_margin.margin_init.to_dict()), rule="all", requires=TRAINED,
             section="4. Where the peak sits against depth",
             explain={"reproduced": "The rise-and-fall profile stands out after training and is absent at "
                                    "initialisation: training creates it.",
                      "not reproduced": "The peak does not rise 0.05 above the external layers in every network; "
                                        "the full-convention alignments are small (see the table).",
                      "inconclusive": "Seeds disagree, or an untrained network already has the margin."})
full_budget = int((sweep.epochs == cfg.sweep_epochs).sum())
glue("budget_note", f"{full_budget} of {len(sweep)} networks used the whole budget of {cfg.sweep_epochs} epochs "
     f"without reaching the stop loss {cfg.stop_loss:g}; the median final training loss is "
     f"{sweep[sweep.depth == lo].loss.median():.2f} at L = {ch04.hidden(lo)} and "
     f"{sweep[sweep.depth == hi].loss.median():.2f} at L = {ch04.hidden(hi)}.")
medians = sweep.groupby("L")[["l_max", "l_max_init", "balance", "balance_mf", "margin", "margin_init", "loss",
                              "test_acc"]].median()
medians.round(3)

# %% [markdown]
# The table gives medians over seeds per depth: the trained and untrained peak layers, the balance
# points (measured at initialisation, and mean field), the margins, the final training loss and the
# test accuracy. {glue:text}`budget_note`
#
# ### The peak against depth
#
# Note 04's claim 5, per seed: the peak layer does not move down as depth grows (control: the
# untrained network's peak), and its relative position $(l_{\max}-1)/L$ ($0$ at the first layer, $1$
# at the readout) is lower in the deepest network than in the shallowest (control: a peak at a fixed
# relative position, the middle layer $1+L/2$, whose position is always $1/2$; a peak that moves in
# proportion to depth does not pass this test).

# %%
seq = {s: g.sort_values("depth").l_max.tolist() for s, g in sweep.groupby("seed")}
seq_init = {s: g.sort_values("depth").l_max_init.tolist() for s, g in sweep.groupby("seed")}
ledger.claim("lou22-peak-monotone", source=f"{NOTE}, claim 5",
             statement="the peak layer does not move down as depth grows (l_max over increasing L, per seed)",
             test="non-decreasing", values=seq, control=Control("untrained network", seq_init), rule="all",
             requires=TRAINED, section="4. Where the peak sits against depth",
             explain={"not reproduced": "On every seed the peak moves down at some step of the depth sequence "
                                        "(the per-seed table below shows where).",
                      "inconclusive": "Seeds disagree, or the untrained peaks also never move down."})
def positions(frame, column):
    """Return {seed: [relative position of `column` at the shallowest, at the deepest depth]}."""
    return {s: [ch04.relative_position(float(g.loc[g.depth == d, column].iloc[0]), d) for d in (lo, hi)]
            for s, g in frame.groupby("seed") if {lo, hi} <= set(g.depth)}


middle = sweep.assign(middle=[ch04.middle_layer(d) for d in sweep.depth])
ledger.claim("lou22-peak-position-falls", source=f"{NOTE}, claim 5",
             statement=f"the peak sits relatively earlier in deeper networks: (l_max - 1) / L lower at "
                       f"L = {ch04.hidden(hi)} than at L = {ch04.hidden(lo)}",
             test="decreasing", values=positions(sweep, "l_max"),
             control=Control("middle layer (fixed relative position)", positions(middle, "middle")), rule="all",
             requires=TRAINED, section="4. Where the peak sits against depth",
             explain={"reproduced": "Every seed's deepest network peaks relatively earlier than its shallowest.",
                      "not reproduced": "The relative position of the peak does not fall with depth.",
                      "inconclusive": "Seeds disagree: the relative peak position is not stable across seeds."})
pd.DataFrame({s: {"l_max by L": v, "untrained": seq_init[s]} for s, v in seq.items()}).T

# %% [markdown]
# ## 5. The Equilibrium Hypothesis against null predictors
#
# The note's test of the hypothesis: the trained $l_{\max}$ lies within $\pm\max(2, 0.15L)$ of the
# balance point computed from the correlations measured at initialisation on the same data. At
# $L \le 13$ the tolerance is 2 layers, at $L=50$ it is 7.5. Per network, we count the depths at which
# the prediction hits. A hit rate means something only against predictors that know nothing of
# signal propagation, under the same tolerance: **the middle layer** $1+L/2$, **a uniformly random
# interior layer** (drawn once per seed and depth), and **the untrained network's own peak**. The
# claim's control is, per seed, the best of these three null predictors; the hypothesis must hit at
# every depth and beat that control.

# %%
null_rows, eh = [], {}
for s, g in sweep.groupby("seed"):
    peaks = dict(zip(g.depth, g.l_max))
    predictors = {"balance at init (EH)": dict(zip(g.depth, g.balance)),
                  "balance, mean field": dict(zip(g.depth, g.balance_mf)),
                  "middle layer": {d: ch04.middle_layer(d) for d in g.depth},
                  "random interior layer": ch04.random_interior_layers(list(g.depth), seed=1000 + s),
                  "untrained peak": dict(zip(g.depth, g.l_max_init))}
    for name, pred in predictors.items():
        h = ch04.hits(peaks, pred)
        null_rows.append({"seed": s, "predictor": name, "hit fraction": sum(h.values()) / len(h),
                          **{f"L={ch04.hidden(d)}": "hit" if v else "miss" for d, v in h.items()}})
hit_table = pd.DataFrame(null_rows)
frac = hit_table.pivot(index="seed", columns="predictor", values="hit fraction")
nulls = ["middle layer", "random interior layer", "untrained peak"]
best_null = frac[nulls].max(axis=1)
ledger.claim("lou22-eh-predictor", source=f"{SOURCE} (Equilibrium Hypothesis); {NOTE}, claim 6",
             statement="the balance point measured at initialisation predicts each network's peak layer within "
                       "max(2, 0.15 L) at every depth (fraction of depths hit), and beats the best null predictor",
             test=">= 1", margin="> 0", values=frac["balance at init (EH)"].to_dict(),
             control=Control("best of middle layer, random interior layer, untrained peak", best_null.to_dict()),
             rule="all", requires=TRAINED, section="5. The Equilibrium Hypothesis against null predictors",
             explain={"not reproduced": "Per network the balance point misses the trained peak at some depth, "
                                        "or a null predictor does at least as well; see the hit table for which.",
                      "inconclusive": "Seeds disagree, or the hypothesis and the best null predictor tie.",
                      "reproduced": "The balance point hits at every depth on every seed and beats every null."})
glue("eh_hits_mean", frac["balance at init (EH)"].mean(), ".2f")
glue("mf_hits_mean", frac["balance, mean field"].mean(), ".2f")
glue("middle_hits_mean", frac["middle layer"].mean(), ".2f")
glue("random_hits_mean", frac["random interior layer"].mean(), ".2f")
glue("untrained_hits_mean", frac["untrained peak"].mean(), ".2f")
glue("sweep_L", ", ".join(str(ch04.hidden(d)) for d in cfg.sweep_depths))
glue("balance_by_L", ", ".join(f"{v:g}" for v in medians.balance))
glue("balance_mf_by_L", ", ".join(f"{v:g}" for v in medians.balance_mf))
glue("depth_width_ratio", ch04.hidden(hi) / cfg.sweep_width, ".2f")
hit_table.round(2)

# %% [markdown]
# Averaged over seeds, the measured balance point hits at a fraction {glue:text}`eh_hits_mean` of
# the depths, the mean-field balance point at {glue:text}`mf_hits_mean`; the null predictors hit at
# {glue:text}`middle_hits_mean` (middle layer), {glue:text}`random_hits_mean` (random interior
# layer) and {glue:text}`untrained_hits_mean` (untrained peak). The hit table shows, for every seed
# and predictor, at which depths it hit.
#
# How close are the two balance points? Over $L$ = {glue:text}`sweep_L` the median measured balance
# point is at layers {glue:text}`balance_by_L` and the mean-field one at
# {glue:text}`balance_mf_by_L`; the ratio of depth to width $L/$`sweep_width` reaches
# {glue:text}`depth_width_ratio`, and mean field describes networks whose width is large against
# their depth. The next cell measures the balance point at initialisation only (no training, so it
# is cheap) in networks four times wider, three seeds per depth.

# %%
wide_balance = {}
for d in cfg.sweep_depths:
    wide_balance[d] = float(np.median([
        sp.empirical_correlations(models.MLP(split.train.x.shape[1], 4 * cfg.sweep_width, d, split.train.n_classes,
                                             activation="relu", init="he", bias=True, seed=s),
                                  split.train.x[align_idx]).balance() for s in SEEDS[:3]]))
glue("wide_width", 4 * cfg.sweep_width, "d")
glue("balance_wide_by_L", ", ".join(f"{v:g}" for v in wide_balance.values()))
pd.DataFrame({"measured, width sweep_width (median)": medians.balance.to_numpy(),
              "measured, width 4 sweep_width (init only)": list(wide_balance.values()),
              "mean field": medians.balance_mf.to_numpy()}, index=medians.index)

# %% [markdown]
# At width {glue:text}`wide_width` the measured balance points are at layers
# {glue:text}`balance_wide_by_L`.

# %% tags=["hide-input"]
lines = pd.concat([
    pd.DataFrame({"L": sweep.L, "layer": sweep.l_max, "series": "trained l_max (each seed)"}),
    pd.DataFrame({"L": sweep.L, "layer": sweep.balance, "series": "balance at init, measured (each seed)"}),
    pd.DataFrame({"L": [ch04.hidden(d) for d in mf_balance], "layer": list(mf_balance.values()),
                  "series": "balance, mean field"}),
    pd.DataFrame({"L": [ch04.hidden(d) for d in cfg.sweep_depths],
                  "layer": [ch04.middle_layer(d) for d in cfg.sweep_depths], "series": "middle layer"})])
charts.line(lines, "L", "layer", color="series", x_title="hidden layers L", y_title="weight layer l",
            title="Where the peak sits against depth")

# %% [markdown]
# ## 6. The convention matters: full against trace kernels
#
# The paper's exact formula for multi-output alignment is not known. The precedent (full kernel,
# per-output centring) and the poster's formula read literally (one centring over all $no$ rows) differ
# only in the normalisation $\|K_c\|_F$; the trace convention discards the cross-output blocks of
# $K_l$ entirely. How much does the choice move the peak? The table gives the median peak over seeds
# per depth in each convention and, per convention, the mean fraction of depths at which the measured
# balance point hits it.

# %%
conv_cols = {"full (precedent)": "l_max", "global (poster)": "l_max_global", "trace (n x n)": "l_max_trace"}
ablation = sweep.groupby("L")[list(conv_cols.values())].median().rename(columns={v: k for k, v in conv_cols.items()})
conv_hits = {}
for name, col in conv_cols.items():
    conv_hits[name] = float(np.mean([ch04.hit_fraction(dict(zip(g.depth, g[col])), dict(zip(g.depth, g.balance)))
                                     for _, g in sweep.groupby("seed")]))
glue("trace_hits", conv_hits["trace (n x n)"], ".2f")
glue("global_hits", conv_hits["global (poster)"], ".2f")
display(ablation)
pd.Series(conv_hits, name="EH hit fraction (mean over seeds)").to_frame().round(2)

# %% [markdown]
# The measured balance point hits the peak at a fraction {glue:text}`eh_hits_mean` of the depths in
# the full convention, {glue:text}`global_hits` in the global one and {glue:text}`trace_hits` in the
# trace one. The three conventions share the kernels and the labels, so any difference in the peak
# comes from how the kernel is normalised (full against global) or from discarding the cross-output
# blocks (trace): where they disagree, "the layer that aligns best" is not a property of the network
# alone.
#
# ## 7. The slope against 3/5
#
# Note 04's band for the log-log slope of $l_{\max}$ against $L$ over $L\in[10,50]$ is $[0.4, 1.0]$
# (its reconstruction gives 0.74–0.83 there, the asymptote is 0.6). We fit each seed's peaks over the
# depths of the sweep. The control is the middle layer $1+L/2$, a predictor that grows in proportion to
# depth: if it lands in the band too, the band does not separate a sublinear peak from a linear one.

# %%
slopes = {s: ch04.peak_slope(g.depth.tolist(), g.l_max.tolist()).slope for s, g in sweep.groupby("seed")}
middle_slope = ch04.peak_slope(cfg.sweep_depths, [ch04.middle_layer(d) for d in cfg.sweep_depths]).slope
ledger.claim("lou22-peak-slope", source=f"{SOURCE} (l* = Theta(L^3/5)); {NOTE}, claim 5",
             statement=f"the log-log slope of l_max against L over L in {[ch04.hidden(d) for d in cfg.sweep_depths]} "
                       "lies in [0.4, 1.0] (per seed)",
             test="in [0.4, 1.0]", values=slopes,
             control=Control("middle layer 1 + L/2", {s: middle_slope for s in slopes}), rule="all",
             requires=TRAINED, section="7. The slope against 3/5",
             explain={"inconclusive": "Seeds disagree, or the middle layer passes too; the middle layer's slope is "
                                      f"{middle_slope:.2f}, {'inside' if 0.4 <= middle_slope <= 1 else 'outside'} "
                                      "the band, so at these depths the band "
                                      f"{'cannot' if 0.4 <= middle_slope <= 1 else 'can'} tell a sublinear peak from "
                                      "one proportional to depth.",
                      "not reproduced": "The per-seed slopes fall outside the note's band.",
                      "reproduced": "Every seed's slope lies in the band and the middle layer's does not."})
pooled = ch04.peak_slope(sweep.depth.tolist(), sweep.l_max.tolist())
mf_fit = ch04.peak_slope(list(mf_balance), list(mf_balance.values()))
half = (pooled.slope_ci[1] - pooled.slope_ci[0]) / 2
windows = ch04.window_slopes(c0, [10, 20, 50, 100, 200, 400])
gap = abs(mf_fit.slope - 0.6)
glue("pooled_slope", pooled.slope, ".2f")
glue("pooled_lo", pooled.slope_ci[0], ".2f")
glue("pooled_hi", pooled.slope_ci[1], ".2f")
glue("pooled_half", half, ".2f")
glue("mf_sweep_slope", mf_fit.slope, ".2f")
glue("mf_gap", gap, ".2f")
glue("seeds_needed", int(np.ceil(cfg.n_seeds * (half / gap) ** 2)) if gap > 0 else 0, "d")
glue("middle_slope", middle_slope, ".2f")


def inside(value, interval):
    """Return "contains" or "excludes" for a value against a closed interval."""
    return "contains" if interval[0] <= value <= interval[1] else "excludes"


glue("slope_contains", f"The interval {inside(0.6, pooled.slope_ci)} 3/5, {inside(mf_fit.slope, pooled.slope_ci)} "
     f"the mean-field balance point's slope over the same depths ({mf_fit.slope:.2f}) and "
     f"{inside(1.0, pooled.slope_ci)} 1 (a peak proportional to depth).")
ledger.record("peak_slope", pooled.slope)
pd.DataFrame({"L0": list(windows), "L range": [f"[{w}, {5 * w}]" for w in windows],
              "mean-field balance slope": list(windows.values()),
              "slope - 3/5": [v - 0.6 for v in windows.values()]}).round(3)

# %% [markdown]
# Pooled over every network, the slope is {glue:text}`pooled_slope` with 95% interval
# [{glue:text}`pooled_lo`, {glue:text}`pooled_hi`]; the middle layer's slope over the same depths is
# {glue:text}`middle_slope`. {glue:text}`slope_contains` What would the theory itself predict here? The mean-field balance point,
# started from this sample's input correlations, has slope {glue:text}`mf_sweep_slope` over the
# sweep's depths, {glue:text}`mf_gap` away from $3/5$. A measurement can separate $3/5$ from that
# finite-depth prediction only if its interval is narrower than that gap; ours has half-width
# {glue:text}`pooled_half`. Since the half-width of a seed ensemble shrinks like $1/\sqrt{n}$, this
# would take about {glue:text}`seeds_needed` seeds at these depths. Deeper windows do not help: the
# table shows the mean-field balance slope over $[L_0, 5L_0]$ approaching $3/5$ as $L_0$ grows, so the
# two predictions merge where the asymptote applies. At the depths a CPU can train, the exponent
# $3/5$ is therefore not testable as such; what is testable is whether the trained peak follows the
# finite-depth balance point, which section 5 did.
#
# ## 8. Sanity of the alignment
#
# $A(YY^\top, YY^\top)=1$; every alignment measured in this chapter lies in $[-1,1]$; and centring
# the kernel leaves $y^\top K y$ unchanged for centred targets (so centring changes only the
# normalisation). One alignment is undefined by construction and excluded: the readout's backward
# kernel is $\mathbf 1\mathbf 1^\top\otimes I_o$ for every network, which per-output centring sends to zero.

# %%
ya = split.train.labels[align_idx]
yc = alignment.centered_targets(ya, split.train.n_classes, dtype=torch.float64)
v = yc.reshape(-1)
self_alignment = float(alignment.kernel_target_alignment(torch.outer(v, v), ya))
finals = [a for r in [*ok.values(), hier] if not r["diverged"] for a in (r["init"], r["final"])]
all_values = torch.cat([torch.cat([a.tangent, a.tangent_global, a.tangent_trace, a.backward, a.forward])
                        for a in finals])
k_demo = ntk.full_ntk(models.MLP(split.train.x.shape[1], 16, 3, 10, seed=cfg.seed).double(),
                      split.train.x[align_idx].double())
centring_error = float((v @ alignment.center_kernel(k_demo, 10) @ v - v @ k_demo @ v).abs() / (v @ k_demo @ v).abs())
finite = all_values[torch.isfinite(all_values)]  # the readout's backward alignment is 0/0 by construction
ledger.sanity("alignment-sanity", source=f"{NOTE}, claim 7", section="8. Sanity of the alignment",
              measured={"|A(YY,YY) - 1|": abs(self_alignment - 1), "max |A_l|": float(finite.abs().max()),
                        "centring rel. error": centring_error},
              test={"|A(YY,YY) - 1|": "<= 1e-12", "max |A_l|": "<= 1", "centring rel. error": "<= 1e-10"},
              statement="alignment is a normalised, centring-consistent measure")
ledger.table("sanity")

# %% [markdown]
# ## What reproduced, and what did not
#
# The verdicts of this run, each with its per-seed values, its control and the reason. Against the
# earlier version of this chapter (digits, $L = 5..25$, three seeds, verdicts on medians over seeds
# without controls): the sweep now covers the note's range $L = 10..50$, every claim is judged per
# network with a control measured in the same run, the Equilibrium Hypothesis is compared with null
# predictors under the same tolerance, and the identities and mean-field checks are sanity entries,
# not claims.

# %%
ledger.save()
cpu = resource.getrusage(resource.RUSAGE_SELF)
print(f"chapter wall time {time.perf_counter() - started:.0f} s; CPU time of this kernel "
      f"{cpu.ru_utime + cpu.ru_stime:.0f} s (user + sys)")
ledger.closing()
