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
# # The Gram learning equation
#
# **The question.** When gradient descent changes a layer's weights $W_l$, what does that say about how
# the layer's *features* should change? Cha, Beaglehole, Radhakrishnan and Lee (2026) answer with a
# chain-rule identity that makes the weight Gram matrix $W_l^\top W_l$ the bridge between the two, and
# use it to argue that deep networks make their representations linear in the target, layer after
# layer. This chapter checks the identity, measures each consequence the paper draws from it, and
# runs the experiments whose claimed outcomes could not be read.
#
# **Source.** D. Cha, D. Beaglehole, A. Radhakrishnan, J. Lee, *The Weight Gram Matrix Captures
# Sequential Feature Linearization in Deep Networks*, arXiv:2605.06258 (2026), and the authors' code
# (`cth127/GramLin`). Only the abstract and the start of the introduction were readable; definitions
# and settings below come from the code (reference note 03). The paper's own numbers were not found,
# so most claims are tested as orderings or exact identities, and several experiments are questions
# this chapter answers with its own measurements.
#
# **The objects.** Rows are samples. Layer $l$ maps its input $H_{l-1}\in\mathbb R^{n\times d_{l-1}}$
# to $Z_l = H_{l-1}W_l^\top (+\mathbf 1 b_l^\top)$; write $\Delta_l=\partial L/\partial Z_l$. Since
# $\nabla_{W_l}L=\Delta_l^\top H_{l-1}$ and $\nabla_{H_{l-1}}L=\Delta_l W_l$,
#
# $$W_l^\top\nabla_{W_l}L \;=\; (\nabla_{H_{l-1}}L)^\top H_{l-1} \qquad\text{(the Feature Learning Equation, FLE)}.$$
#
# The **weight Gram** $G_l=W_l^\top W_l$ lives on the layer's *input* space. The **virtual update**
# $\tilde H = H - \eta\nabla_H L$ moves the layer input as if it were a free parameter; the
# **virtual covariance** (VC) is the change of its uncentred second moment,
# $\tilde H^\top\tilde H - H^\top H$, summed over batches. **Target linearity** is the $R^2$ of least
# squares from uncentred features to centred one-hot targets,
# $\mathrm{TL}(H,Y)=\|P_H Y_c\|_F^2/\|Y_c\|_F^2$, and the paper's **surrogate** replaces the inverse
# feature covariance in the numerator by the next layer's Gram:
# $S_l=\tfrac1K\operatorname{tr}(Y_c^\top H_l G_{l+1} H_l^\top Y_c)$.

# %% tags=["parameters"]
# generated from chapters/ch03.py (layerwise params 03 --write-cell); book values follow preset
preset = "book"
device = "auto"
seed = 0
results_dir = None
overrides = []  # names set with -p (papermill injects them): kept even where they equal the book value
# the identity and one GD step
check_width = 32  # hidden width of the random MLPs on which the identities are checked
check_depth = 4  # weight layers of those MLPs
check_n = 128  # Gaussian input samples for the identity checks
check_lr = 0.01  # step size eta of the one-step decomposition (halved down to eta/16)
# Swiss roll (Fig. 1)
roll_n = 1000  # Swiss-roll points (the authors: 1000)
roll_width = 32  # hidden width of the 2-32-32-1 Swiss-roll network
roll_steps = 100  # full-batch GD steps on the Swiss roll (the authors: 100)
roll_lr = 0.05  # GD learning rate on the Swiss roll (the authors: 0.05)
roll_gain = 700.0  # display gain g of the cumulative virtual update X - g sum grad_X L (the authors: 700)
roll_seeds = 3  # seeds (network initialisations) of the Swiss-roll run
# target linearity over training (Fig. 4) and neural collapse
dataset = "mnist1d"  # data set of the target-linearity run (the paper: CIFAR-10)
data_root = ""  # folder holding torchvision data sets (paper preset only)
download = False  # allow torchvision to download data sets into data_root
n_train = 2000  # training samples of the TL and whitening runs (stratified subset; 0 ＝ all)
batch_size = 64  # minibatch size of the TL, whitening and random-label runs (the paper: 64)
tl_width = 128  # hidden width of the TL network (the paper: 256)
tl_depth = 5  # weight layers of the TL network (5 ＝ 4 hidden layers, as in the paper)
tl_epochs = 40  # training epochs of the TL network (the paper: 100)
tl_lr = 0.1  # SGD learning rate of the TL network (the paper: 5e-4)
tl_momentum = 0.8  # SGD momentum of the TL network (the paper: 0.8)
tl_seeds = 3  # seeds of the TL network (initialisation and minibatch order)
tl_snapshot_every = 4  # optimiser steps between TL snapshots (the paper: one per epoch)
# Gram whitening (Fig. 2)
white_dataset = "mnist1d"  # data set of the whitening comparison (the paper: MNIST)
white_width = 128  # hidden width of the whitening MLP (the paper: 256)
white_depth = 3  # weight layers of the whitening MLP (3 ＝ 2 hidden layers, as in the paper)
white_epochs = 10  # training epochs of each whitening arm (the paper: 20)
white_lr = 0.05  # SGD learning rate of every whitening arm (the paper: 0.01)
white_momentum = 0.85  # SGD momentum of every whitening arm (the paper: 0.85)
white_seeds = 5  # paired seeds of the whitening comparison (the paper: 5)
white_margin = 0.01  # accuracy margin of 'matches SGD': whitened ≥ SGD - margin (≥ 1 / test size)
# staircase (Fig. 8)
stair_n = 1000  # staircase samples (the authors: 1000)
stair_dim = 10  # staircase input dimension (the authors: 10)
stair_widths = [32, 64, 128, 256]  # hidden widths compared on the staircase
stair_steps = 200  # full-batch GD steps on the staircase (the authors: 2000 at lr 0.01)
stair_lr = 0.1  # staircase GD learning rate (0.1 x 200 steps ＝ the authors' 0.01 x 2000)
stair_log_every = 10  # steps between staircase distance snapshots (first seed only)
stair_seeds = 3  # staircase seeds (network initialisations; the data keep the authors' seed 42)
# random labels (Fig. 12)
rand_dataset = "digits"  # data set of the random-label run (the paper: CIFAR-10)
rand_ps = [0.0, 0.5, 1.0]  # label-noise probabilities p
rand_n_train = 600  # training samples of the random-label run (0 ＝ all)
rand_width = 64  # hidden width of the random-label network (TL of random labels ~ width / n)
rand_depth = 4  # weight layers of the random-label network (4 ＝ 3 hidden layers, as in the paper)
rand_epochs = 80  # training epochs of the random-label run (the paper: 200)
rand_lr = 0.02  # SGD learning rate of the random-label run (the paper: 0.005)
rand_momentum = 0.95  # SGD momentum of the random-label run (the paper: 0.95)
rand_log_every = 8  # epochs between random-label snapshots
# grokking (Fig. 13)
grok_modulus = 31  # modulus p of (a + b) mod p (the paper: 61; ≥ 3)
grok_width = 128  # hidden width of the grokking network (the paper: 256)
grok_depth = 4  # weight layers of the grokking network (4 ＝ 3 hidden layers, as in the paper)
grok_epochs = 800  # grokking epochs (full batch: steps; the paper: 500 epochs of batch 32)
grok_lr = 0.003  # AdamW learning rate of the grokking run (the paper: 1e-3)
grok_weight_decays = [0.0, 3.0]  # AdamW weight decays compared (the first is the control)
grok_batch_size = 0  # grokking minibatch size (0 ＝ full batch; the paper: 32)
grok_train_fraction = 0.7  # fraction of all pairs used for training (the paper: 0.7)
grok_log_every = 20  # epochs between grokking snapshots
grok_float64 = False  # train the grokking network in float64 (the authors' choice; float32 halves the cost)
grok_seeds = 3  # held-out seeds cfg.seed + 1, + 2, ... (the setting was found on cfg.seed)

# %%
import resource
import time

import numpy as np
import pandas as pd
import torch

import layerwise
from layerwise import charts, claims, data, features, models, optim, train
from layerwise.chapters import ch03
from layerwise.claims import Control, glue
from layerwise.metrics import collapse, gram

cfg = layerwise.config.resolve_notebook("03", globals())
if cfg.device.type == "cpu":
    torch.set_num_threads(1)  # the tensors here are small: a second thread costs more in syncing than it saves
charts.enable()
ledger = claims.Ledger(cfg)
SOURCE = "Cha et al. 2026"
NOTE = "note 03 (inference)"
clock = {}
cfg.table()

# %% tags=["hide-input"]
def accuracy(model, x, labels):
    """Return the fraction of samples whose largest output is the label (eval mode, no grad)."""
    out = features.layer_features(model, x)[-1]
    return float((out.argmax(1) == labels.cpu()).double().mean())


def seeds_of(n, offset=0):
    """Return the seeds cfg.seed + offset, ..., cfg.seed + offset + n - 1."""
    return [cfg.seed + offset + i for i in range(n)]


# %% [markdown]
# (the-identity-layer-by-layer)=
# ## 1. The identity, layer by layer
#
# A random MLP ($L$ weight layers of width 32 on Gaussian inputs and random labels), in float64: for
# every layer we form both sides of the FLE with autograd, taking $\nabla_{H_{l-1}}L$ as the gradient
# with respect to the layer's input tensor, and report
# $\max|W^\top\nabla_W L-(\nabla_H L)^\top H|/\max|W^\top\nabla_W L|$. The identity holds for any
# activation, with or without bias, for any loss; the last row repeats one case in float32. It is the
# chain rule, so it is a sanity check of the code, not a claim about networks.

# %%
start = time.perf_counter()
gen = torch.Generator().manual_seed(cfg.seed)
x_chk = torch.randn(cfg.check_n, 10, generator=gen, dtype=torch.float64)
y_chk = torch.randint(0, 4, (cfg.check_n,), generator=gen)


def check_net(activation, bias, dtype=torch.float64):
    net = models.MLP(10, cfg.check_width, cfg.check_depth, 4, activation=activation, bias=bias, init="torch",
                     seed=cfg.seed)
    return net.to(dtype)


rows = []
for act in ("tanh", "relu", "gelu"):
    for bias in (True, False):
        for loss in ("mse", "ce"):
            res = gram.feature_learning_residual(check_net(act, bias), x_chk, y_chk, loss=loss)
            rows.append(dict(activation=act, bias=bias, loss=loss, dtype="float64",
                             **{f"layer {l + 1}": r for l, r in enumerate(res)}))
res32 = gram.feature_learning_residual(check_net("gelu", True, torch.float32), x_chk.float(), y_chk)
rows.append(dict(activation="gelu", bias=True, loss="mse", dtype="float32",
                 **{f"layer {l + 1}": r for l, r in enumerate(res32)}))
fle = pd.DataFrame(rows)
layer_cols = [c for c in fle.columns if c.startswith("layer")]
ledger.sanity("fle-identity", measured=float(fle[fle.dtype == "float64"][layer_cols].max().max()), test="<= 1e-12",
              source=f"{SOURCE}, Feature Learning Equation (note 03, claim 1)", section="1. The identity, layer by layer",
              statement="W^T grad_W L = (grad_H L)^T H for every layer (max relative error, float64, "
                        "tanh/ReLU/GELU, with and without bias, MSE and CE)")
ledger.sanity("fle-identity-float32", measured=float(fle[fle.dtype == "float32"][layer_cols].max().max()),
              test="<= 1e-5", source=f"{SOURCE} (note 03, claim 1)", section="1. The identity, layer by layer",
              statement="the same identity in float32 (max relative error)")
fle.style.format(precision=2, subset=layer_cols)

# %% [markdown]
# (one-step-of-gradient-descent-the-gram-learns-the-virtual-covariance)=
# ## 2. One step of gradient descent: the Gram learns the virtual covariance
#
# For one full-batch step $W^+=W-\eta\nabla_W L$, expanding both second moments gives exactly
#
# $$G^+-G \;=\; (\tilde H^\top\tilde H-H^\top H)\;+\;\eta^2\big(\nabla_W L^\top\nabla_W L-\nabla_H L^\top\nabla_H L\big),$$
#
# because the two $O(\eta)$ cross terms are the two sides of the FLE. So, to first order, the weight
# step changes the Gram exactly as the virtual update changes the second moment of the layer's
# input, and the leftover $\|(G^+-G)-\Delta\mathrm{VC}\|/\|G^+-G\|$ is $O(\eta)$: halving $\eta$ should
# halve it. Both are algebra, so both are sanity checks. (The changes are formed in expanded form,
# without subtracting two $O(1)$ matrices; a test in the package checks them against a real optimiser step.)

# %%
net = check_net("gelu", True)
etas = [cfg.check_lr * 2.0 ** k for k in range(2, -5, -1)]
steps = {eta: gram.one_step_decomposition(net, x_chk, y_chk, eta) for eta in etas}
one_step = pd.DataFrame([dict(eta=eta, layer=f"layer {l + 1}", identity=s.identity_residual, leftover=s.leftover)
                         for eta, ss in steps.items() for l, s in enumerate(ss)])
vc = gram.virtual_covariance(net, x_chk, y_chk, cfg.check_lr)
vc_gap = float((vc - gram.one_step_decomposition(net, x_chk, y_chk, cfg.check_lr)[0].vc_change).abs().max())
print(f"virtual_covariance (d x d, full batch) vs the first layer's VC change: max |difference| = {vc_gap:.1e}")
halving = [b.leftover / a.leftover for a, b in zip(steps[cfg.check_lr], steps[cfg.check_lr / 2])]
print("leftover(eta/2) / leftover(eta) at eta =", cfg.check_lr, "per layer:", np.round(halving, 4))
ledger.sanity("one-step-identity", measured=float(one_step.identity.max()), test="<= 1e-12",
              source=f"{SOURCE} (note 03, claim 2)", section="2. One step of gradient descent: the Gram learns the virtual covariance",
              statement="G+ - G = (VC change) + eta^2 (grad_W^T grad_W - grad_H^T grad_H), every layer and eta "
                        "(max relative error, float64)")
ledger.sanity("one-step-order-eta", measured=[float(r) for r in halving], test="in [0.45, 0.55]",
              source=f"{SOURCE} (note 03, claim 2)", section="2. One step of gradient descent: the Gram learns the virtual covariance",
              statement="||(G+ - G) - dVC|| / ||G+ - G|| halves (+-10%) when eta halves, every layer")
clock["identity and one step"] = time.perf_counter() - start
charts.line(one_step, "eta", "leftover", color="layer", log_x=True, log_y=True, x_title="step size eta",
            y_title="||dG - dVC|| / ||dG||", title="The Gram change minus the VC change is O(eta): slope 1")

# %% [markdown]
# (the-swiss-roll-the-virtual-update-unrolls-the-data-fig-1)=
# ## 3. The Swiss roll: the virtual update unrolls the data (Fig. 1)
#
# The authors' notebook: 1000 Swiss-roll points, inputs $(x,z)$ and the roll parameter $t$ min-max
# scaled to $[0,1]$, a 2→32→32→1 network (GELU, no bias in the first layer), full-batch gradient
# descent with learning rate 0.05 on the MSE for 100 steps. The figure plots the *cumulative* virtual
# update $\tilde X_s = X - g\sum_{t<s}\nabla_X L_t$ with a display gain $g=700$ (the true step is
# $g=\eta=0.05$), renormalised to $[0,1]$ per coordinate, coloured by $t$. The claim is qualitative:
# the roll unrolls into a near-linear curve ordered by the target. As a number (note 03, claim 8) we
# take the $R^2$ of a linear fit (with intercept) from $\tilde X_s$ to $t$ after 50 steps, and call the
# roll unrolled when it reaches 0.9. **Control (frozen weights):** the same gain applied to the first
# step's input gradient repeated 50 times, $X-50g\nabla_X L_0$: if that unrolls the roll as well, the
# picture comes from the target entering the loss gradient, not from what the network learns. We also
# report the $R^2$ at the true step size. Our points come from a seeded torch generator, not
# scikit-learn's `random_state=0`.
#
# Along the way we measure what "the Gram learns the VC" means over many steps: the cosine between
# the accumulated Gram change $G_s-G_0$ of the first layer and the accumulated virtual covariance
# $\sum_{t<s}\mathrm{VC}_t$ (the paper gives no alignment metric; the threshold 0.95 is ours). Its
# control is the frozen prediction: the first step's $\mathrm{VC}_0$ alone.

# %%
start = time.perf_counter()
x_roll, t_roll = data.swiss_roll(cfg.roll_n, seed=cfg.seed)
show_to = min(50, cfg.roll_steps)


# %% tags=["hide-input"]
def roll_run(run_seed):
    """Train the Swiss-roll net; return per-step input gradients (S+1, n, 2), first-layer Grams and VCs."""
    net = models.MLP(2, cfg.roll_width, 3, 1, activation="gelu", init="torch", seed=run_seed)
    net.layers[0].bias = None  # the authors' first layer has no bias

    def snap(epoch, model):
        g = gram.layer_gradients(model, x_roll, t_roll)[0]
        h_virtual = g.h - cfg.roll_lr * g.grad_h  # = gram.virtual_covariance(model, x, t, lr), one gradient pass
        return g.grad_h, gram.weight_gram(g.weight), h_virtual.T @ h_virtual - g.h.T @ g.h

    hist = train.fit(net, x_roll, t_roll, epochs=cfg.roll_steps, lr=cfg.roll_lr, loss="mse", progress=False,
                     callback=snap, snapshot_epochs=range(1, cfg.roll_steps + 1), seed=run_seed)
    grads = torch.stack([s[0] for _, s in hist.snapshots])
    grams = torch.stack([s[1] for _, s in hist.snapshots])
    vcs = torch.stack([s[2] for _, s in hist.snapshots])
    return grads, grams, vcs, hist.loss


# %%
roll_rows, cos_rows, roll_runs, roll_seed_rows = [], [], {}, []
for s in seeds_of(cfg.roll_seeds):
    grads, grams, vcs, losses = roll_run(s)
    roll_runs[s] = grads
    for label, gain in (("true step (gain = lr)", cfg.roll_lr), (f"display gain {cfg.roll_gain:g}", cfg.roll_gain)):
        xs = ch03.virtual_inputs(x_roll, grads, gain)
        roll_rows += [dict(seed=s, gain=label, step=k, r2=ch03.linear_r2(xs[k], t_roll)) for k in range(cfg.roll_steps + 1)]
    frozen = x_roll - show_to * cfg.roll_gain * grads[0]
    acc_vc = vcs.cumsum(0)
    cos_rows += [dict(seed=s, step=k + 1, comparison="accumulated: G_s - G_0 vs sum of VC_t",
                      cosine=gram.matrix_cosine(grams[k + 1] - grams[0], acc_vc[k])) for k in range(cfg.roll_steps)]
    cos_rows += [dict(seed=s, step=k + 1, comparison="one step: G_(t+1) - G_t vs VC_t",
                      cosine=gram.matrix_cosine(grams[k + 1] - grams[k], vcs[k])) for k in range(cfg.roll_steps)]
    roll_seed_rows.append(dict(
        seed=s, mse_start=losses[0], mse_end=losses[-1],
        r2_start=ch03.linear_r2(x_roll, t_roll),
        r2_display=ch03.linear_r2(ch03.virtual_inputs(x_roll, grads, cfg.roll_gain)[show_to], t_roll),
        r2_true_step=ch03.linear_r2(ch03.virtual_inputs(x_roll, grads, cfg.roll_lr)[show_to], t_roll),
        r2_frozen=ch03.linear_r2(frozen, t_roll),
        cos_accumulated=gram.matrix_cosine(grams[-1] - grams[0], acc_vc[-1]),
        cos_frozen=gram.matrix_cosine(grams[-1] - grams[0], vcs[0])))
roll = pd.DataFrame(roll_rows)
cosines = pd.DataFrame(cos_rows)
roll_seeds = pd.DataFrame(roll_seed_rows).set_index("seed")
clock["Swiss roll"] = time.perf_counter() - start
roll_seeds.round(4)

# %% tags=["hide-input"]
panel_steps = sorted({int(round(v)) for v in np.linspace(0, show_to, 6)})
xs = ch03.virtual_inputs(x_roll, roll_runs[cfg.seed], cfg.roll_gain)
frames = []
for k in panel_steps:
    z = xs[k]
    z = (z - z.min(0).values) / (z.max(0).values - z.min(0).values)
    frames.append(pd.DataFrame({"x~1": z[:, 0].numpy(), "x~2": z[:, 1].numpy(), "t": t_roll.numpy(), "step": k}))
charts.small_multiples(pd.concat(frames), "x~1", "x~2", "step", color="t", color_title="roll parameter t",
                       title=f"Cumulative virtual update at display gain {cfg.roll_gain:g} (seed {cfg.seed})")

# %% tags=["hide-input"]
r2_mean = roll.groupby(["gain", "step"], as_index=False).r2.mean()
(charts.line(r2_mean, "step", "r2", color="gain", points=False, x_title="GD step s",
             y_title="R^2 of linear fit X~_s -> t (mean over seeds)", title="Is the roll linear in its target?")
 | charts.line(cosines.groupby(["comparison", "step"], as_index=False).cosine.mean(), "step", "cosine",
               color="comparison", points=False, x_title="GD step s", y_title="cosine (mean over seeds)",
               title="Gram change against virtual covariance, first layer")).resolve_scale(color="independent")

# %%
SEC3 = "3. The Swiss roll: the virtual update unrolls the data (Fig. 1)"
ledger.claim("cha26-swiss-roll-unrolls", source=f"{SOURCE}, Fig. 1 (note 03, claim 8)", section=SEC3,
             statement=f"at the display gain {cfg.roll_gain:g}, the cumulative virtual update after {show_to} steps is "
                       "near-linear in the roll parameter (R^2 of a linear fit >= 0.9)",
             test=">= 0.9", values=roll_seeds.r2_display.to_dict(),
             control=Control(f"frozen weights (first step's gradient x {show_to})", roll_seeds.r2_frozen.to_dict()),
             explain={claims.INCONCLUSIVE: "Where the frozen first-step gradient also reaches 0.9, the picture follows "
                                           "from the target inside the loss gradient rather than from learning.",
                      claims.REPRODUCED: "The unrolling needs the training steps: the frozen first gradient does not "
                                         "produce it. At the true step size the inputs barely move (see the text)."})
ledger.claim("layerwise-gram-accumulates-vc", source=f"this book (the alignment metric of {SOURCE} was not found)",
             section=SEC3, test=">= 0.95", values=roll_seeds.cos_accumulated.to_dict(),
             control=Control("frozen prediction (first step's VC only)", roll_seeds.cos_frozen.to_dict()),
             statement=f"cosine between G_S - G_0 and the summed virtual covariance after {cfg.roll_steps} steps "
                       "(first layer) is >= 0.95",
             explain={claims.NOT_REPRODUCED: "One step agrees to first order (section 2); over a run the first-order "
                                             "terms partly cancel from step to step while the second-order terms add up."})
glue("roll_r2_start", float(roll_seeds.r2_start.mean()), ".4f")
glue("roll_r2_true", float(roll_seeds.r2_true_step.mean()), ".4f")
glue("roll_r2_display", float(roll_seeds.r2_display.mean()), ".3f")
glue("roll_r2_frozen", float(roll_seeds.r2_frozen.mean()), ".3f")
glue("roll_cos_one_step_min", float(cosines[cosines.comparison.str.startswith("one step")].cosine.min()), ".3f")
ledger.table().iloc[-2:]

# %% [markdown]
# Averaged over seeds, the $R^2$ of the raw inputs is {glue:text}`roll_r2_start`; after the
# display-gain update it is {glue:text}`roll_r2_display`, for the frozen-gradient control
# {glue:text}`roll_r2_frozen`, and at the true step size {glue:text}`roll_r2_true`. Whatever the verdict,
# "unrolling" describes the direction of the accumulated input gradients, not a displacement that
# gradient descent makes. The one-step cosine between Gram change and VC never falls below
# {glue:text}`roll_cos_one_step_min`.

# %% [markdown]
# (target-linearity-over-training-layer-by-layer-fig-4)=
# ## 4. Target linearity over training, layer by layer (Fig. 4)
#
# The authors train a network with 4 hidden GELU layers of width 256 on CIFAR-10 with SGD (learning
# rate $5\times10^{-4}$, momentum 0.8, batch 64, 100 epochs) and record TL and the surrogate $S_l$ of
# each hidden layer on the full training set after every epoch. **Where TL can move.** On
# scikit-learn's digits, the previous version of this chapter found that the *untrained* width-256
# features already reach most of the trained TL, so every claim lived in a window of a few hundredths
# (see the table at the end). Here
# we use MNIST-1D (a {glue:text}`tl_n_train`-sample stratified subset of its training set, 40 features,
# 10 classes), a width of 128 and learning rate 0.1 with the paper's momentum and batch size; the
# baseline is the TL of the untrained network of the same shape against the true labels, reported per
# layer. The `paper` preset runs CIFAR-10 with the authors' settings.
#
# **Snapshots.** One snapshot per epoch is too coarse to order the layers (at the book's earlier
# setting all four layers reached half their gain in the same epoch). We snapshot every
# `tl_snapshot_every` optimiser steps, on every seed.
#
# **The claims and their controls** (one value per seed, {glue:text}`tl_n_seeds` seeds):
# - *TL rises* (note 03, claim 6): the gain (end minus start) is positive in every hidden layer, note
#   03's own test. Control: the gain of the same trained network's TL against **shuffled labels**:
#   features that merely spread out gain TL for any target. If that control passes too (a gain of a few
#   thousandths is enough), the test cannot tell a representation that became linear in the target from
#   one that gained a little rank, and the verdict is inconclusive. We keep the paper's threshold rather
#   than pick a larger one after seeing the run; how much larger the trained gains are is in the table.
# - *TL grows with depth* (claim 5): the final TL is strictly increasing over the hidden layers.
#   Control: the **untrained network**'s TL per layer. Since random GELU layers can already order the
#   layers, we add our own *the gain grows with depth* (what training adds is increasing with depth),
#   with the shuffled-label gain as its control.
# - *Sequential* (claim 6, "deeper layers last"): the step at which a layer covers half of its TL gain
#   (`landmarks.half_gain_epoch`) is strictly later for every deeper layer: the smallest gap between
#   consecutive layers is positive (ties do not count). Control: the same test on each layer's
#   **feature movement** $\|H_l(t)-H_l(0)\|/\|H_l(0)\|$, which would order the layers if deeper layers
#   simply change later.
# - *The surrogate tracks TL* (claim 7): a Spearman correlation over snapshots is passed by anything
#   that rises, the step counter included, so we correlate the **changes** between snapshots:
#   $\rho(\Delta S_l,\Delta\mathrm{TL}_l)>0.5$ in every hidden layer. Control: the surrogate computed with
#   **shuffled labels**, which grows with the weights and features but carries no target.

# %%
start = time.perf_counter()
split = data.load(cfg.dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train, seed=cfg.seed)
tr, te = split.train, split.test
n_cls = tr.n_classes
hidden = list(range(1, cfg.tl_depth))
shuffled = tr.labels[torch.randperm(len(tr), generator=torch.Generator().manual_seed(cfg.seed))]
print(f"{cfg.dataset}: {len(tr)} training and {len(te)} test samples, {tr.x.shape[1]} features")
glue("tl_n_train", len(tr))
_ = glue("tl_n_seeds", cfg.tl_seeds)


# %% tags=["hide-input"]
def tl_run(run_seed):
    """Train the TL network from seed `run_seed`, snapshotting every `tl_snapshot_every` steps.

    Returns a dict of per-snapshot arrays (T, hidden layers) and per-run numbers."""
    net = models.MLP(tr.x.shape[1], cfg.tl_width, cfg.tl_depth, n_cls, activation="gelu", init="torch",
                     seed=run_seed).to(cfg.device)
    f0 = features.layer_features(net, tr.x)

    def snapshot(step, model):
        f = features.layer_features(model, tr.x)
        w = [w.detach().cpu() for w in model.weights()]
        tl, sur = gram.hidden_target_linearity(f, w, tr.labels, n_classes=n_cls)
        last = f[cfg.tl_depth - 1]
        return dict(tl=tl, sur=sur, sur_shuffled=[gram.gram_surrogate(f[l], w[l], shuffled, n_classes=n_cls)
                                                  for l in hidden],
                    move=[ch03.relative_movement(f[l], f0[l]) for l in hidden],
                    c_last=collapse.within_class_compression(last, tr.labels),
                    bound=gram.collapse_tl_bound(last, tr.labels, n_classes=n_cls),
                    w_norm=float(w[cfg.tl_depth - 2].norm()))

    rec = ch03.StepRecorder(net, snapshot, cfg.tl_snapshot_every)
    train.fit(net, tr.x, tr.labels, epochs=cfg.tl_epochs, lr=cfg.tl_lr, loss="ce", batch_size=cfg.batch_size,
              seed=run_seed, progress=False,
              make_optimizer=lambda p: rec.attach(torch.optim.SGD(p, lr=cfg.tl_lr, momentum=cfg.tl_momentum)))
    f_end = features.layer_features(net, tr.x)
    out = {k: np.array([r[k] for _, r in rec.records]) for k in rec.records[0][1]}
    out["steps"] = [s for s, _ in rec.records]
    out["tl_shuffled_start"] = [gram.target_linearity(f0[l], shuffled, n_classes=n_cls) for l in hidden]
    out["tl_shuffled_end"] = [gram.target_linearity(f_end[l], shuffled, n_classes=n_cls) for l in hidden]
    out["train_acc"] = float((f_end[-1].argmax(1) == tr.labels).double().mean())
    out["test_acc"] = accuracy(net, te.x, te.labels)
    return out


# %%
tl_seeds = seeds_of(cfg.tl_seeds)
runs = {s: tl_run(s) for s in tl_seeds}
clock["target linearity"] = time.perf_counter() - start
tl_long = pd.DataFrame([dict(seed=s, step=st, layer=f"hidden {l}", TL=r["tl"][i, j], surrogate=r["sur"][i, j])
                        for s, r in runs.items() for i, st in enumerate(r["steps"]) for j, l in enumerate(hidden)])
print("accuracy at the end (train / test):", {s: (round(r["train_acc"], 3), round(r["test_acc"], 3)) for s, r in runs.items()})

# %% tags=["hide-input"]
first = tl_long[tl_long.seed == cfg.seed]
(charts.line(first, "step", "TL", color="layer", points=False, x_title="optimiser step",
             y_title="target linearity (train)", title=f"TL per hidden layer (seed {cfg.seed})")
 | charts.line(first, "step", "surrogate", color="layer", points=False, log_y=True, x_title="optimiser step",
               y_title="surrogate S_l (log scale)", title="Gram surrogate per hidden layer"))

# %%
per_layer = []
for s, r in runs.items():
    tl = r["tl"]
    half = gram.half_gain_epochs(tl, r["steps"])
    half_move = gram.half_gain_epochs(r["move"], r["steps"])
    for j, l in enumerate(hidden):
        per_layer.append(dict(
            seed=s, layer=l, TL_untrained=tl[0, j], TL_end=tl[-1, j], gain=tl[-1, j] - tl[0, j],
            gain_shuffled=r["tl_shuffled_end"][j] - r["tl_shuffled_start"][j], half_gain_step=half[j],
            half_movement_step=half_move[j],
            rho_changes=ch03.increment_spearman(r["sur"][:, j], tl[:, j]),
            rho_changes_shuffled=ch03.increment_spearman(r["sur_shuffled"][:, j], tl[:, j]),
            rho_levels=ch03.spearman_levels(r["sur"][:, j], tl[:, j]),
            rho_levels_clock=ch03.spearman_levels(r["steps"], tl[:, j])))
layers_tab = pd.DataFrame(per_layer)
layers_tab.round(4)

# %%
SEC4 = "4. Target linearity over training, layer by layer (Fig. 4)"
by_seed = {s: g.sort_values("layer") for s, g in layers_tab.groupby("seed")}


def per_seed(column):
    """Return {seed: [value per hidden layer]} of a column of `layers_tab`."""
    return {s: g[column].tolist() for s, g in by_seed.items()}


scale_note = f"{cfg.dataset}, width {cfg.tl_width}, lr {cfg.tl_lr}, snapshots every {cfg.tl_snapshot_every} steps"
ledger.claim("cha26-tl-rises", source=f"{SOURCE}, Fig. 4 (note 03, claim 6)", section=SEC4, note=scale_note,
             statement="train TL rises during training in every hidden layer (gain per layer > 0)",
             test="> 0", values=per_seed("gain"), control=Control("same network, shuffled labels", per_seed("gain_shuffled")))
ledger.claim("cha26-tl-grows-with-depth", source=f"{SOURCE}, Fig. 4 (note 03, claim 5)", section=SEC4, note=scale_note,
             statement="after training, train TL is strictly increasing over the hidden layers (TL per layer)",
             test="increasing", values=per_seed("TL_end"), control=Control("untrained network", per_seed("TL_untrained")),
             explain={claims.INCONCLUSIVE: "Where the untrained network passes too, random layers of the same shape "
                                           "already order TL by depth; the next claim tests what training adds."})
ledger.claim("layerwise-tl-gain-grows-with-depth", source=f"this book (sharpens {SOURCE}, Fig. 4)", section=SEC4,
             note=scale_note, statement="the TL gained in training is strictly increasing over the hidden layers",
             test="increasing", values=per_seed("gain"),
             control=Control("same network, shuffled labels", per_seed("gain_shuffled")))
separation = {s: ch03.order_separation(g.half_gain_step.tolist()) for s, g in by_seed.items()}
separation_move = {s: ch03.order_separation(g.half_movement_step.tolist()) for s, g in by_seed.items()}
ledger.claim("cha26-tl-sequential", source=f"{SOURCE}, abstract, 'sequential' ({NOTE}, claim 6)", section=SEC4,
             statement="each deeper layer reaches half of its TL gain strictly later than the layer below "
                       "(smallest gap between consecutive layers' half-gain steps, in optimiser steps)",
             test="> 0", values=separation, control=Control("feature movement per layer", separation_move),
             requires={"every hidden layer gains TL on every seed": all(v is not None for v in separation.values())},
             note=f"{scale_note}; half-gain steps per seed: " + "; ".join(
                 f"{s}: {g.half_gain_step.tolist()}" for s, g in by_seed.items()))
ledger.claim("cha26-surrogate-tracks-tl", source=f"{SOURCE}, Fig. 4 ({NOTE}, claim 7)", section=SEC4, note=scale_note,
             statement="between snapshots, the changes of S_l and TL_l are rank-correlated (> 0.5) in every hidden layer",
             test="> 0.5", values=per_seed("rho_changes"),
             control=Control("surrogate against shuffled labels", per_seed("rho_changes_shuffled")))
glue("tl_untrained_range", f"{layers_tab.TL_untrained.min():.2f} to {layers_tab.TL_untrained.max():.2f}")
glue("tl_end_range", f"{layers_tab.TL_end.min():.2f} to {layers_tab.TL_end.max():.2f}")
glue("rho_levels_clock_min", float(layers_tab.rho_levels_clock.min()), ".3f")
glue("rho_levels_min", float(layers_tab.rho_levels.min()), ".3f")
glue("half_gain_text", "; ".join(f"seed {s}: {g.half_gain_step.tolist()}" for s, g in by_seed.items()))
glue("half_move_text", "; ".join(f"seed {s}: {g.half_movement_step.tolist()}" for s, g in by_seed.items()))
ledger.table().iloc[-5:]

# %% [markdown]
# The untrained network's TL spans {glue:text}`tl_untrained_range` over layers and seeds, the trained
# network's {glue:text}`tl_end_range`. The old test of claim 7 (Spearman of the *levels* of $S_l$ and
# $\mathrm{TL}_l$ over snapshots) gives at least {glue:text}`rho_levels_min` here, but the step counter
# alone reaches {glue:text}`rho_levels_clock_min` against $\mathrm{TL}_l$: that test cannot tell a
# tracking surrogate from a clock. The half-gain steps of TL, from the first to the last hidden layer,
# are {glue:text}`half_gain_text`; those of the feature movement {glue:text}`half_move_text`.

# %% tags=["hide-input"]
prog = []
for j, l in enumerate(hidden):
    tl = runs[cfg.seed]["tl"][:, j]
    if tl[-1] > tl[0]:
        prog += [dict(step=st, layer=f"hidden {l}", fraction=(v - tl[0]) / (tl[-1] - tl[0]))
                 for st, v in zip(runs[cfg.seed]["steps"], tl)]
charts.line(pd.DataFrame(prog, columns=["step", "layer", "fraction"]), "step", "fraction", color="layer",
            points=False, x_title="optimiser step", y_title="fraction of the final TL gain",
            title=f"Who linearises first? Each layer's TL gain, normalised (seed {cfg.seed})")

# %% [markdown]
# (neural-collapse-forces-target-linearity-to-1)=
# ## 5. Neural collapse forces target linearity to 1
#
# The README says target linearity "unifies" neural collapse; the precise statement was not found.
# Here is one that can be checked exactly. Write the last hidden features as $H = YM + E$ with $Y$ the
# one-hot labels, $M$ the $K\times d$ matrix of uncentred class means and $E$ the within-class
# deviations. If $M$ has rank $K$ then $Y = HM^+ - EM^+$, and since $Y_c = Y(I-\mathbf 1\bar y^\top)$, the
# part of $Y_c$ outside the span of $H$ is at most $EM^+(I-\mathbf 1\bar y^\top)$:
#
# $$\mathrm{TL} \;\ge\; 1-\frac{\|EM^+(I-\mathbf 1\bar y^\top)\|_F^2}{\|Y_c\|_F^2}.$$
#
# As the within-class variability collapses ($E\to0$, NC1) the bound, and with it TL, goes to 1. The
# bound is a proven inequality, so its check is a sanity entry. The claim that collapse *drives* TL is
# tested on changes, as above: between snapshots, the fall of the within-class spread
# $C=\operatorname{tr}\Sigma_W/\operatorname{tr}\Sigma_B$ of the last hidden layer and the rise of its TL
# are rank-correlated ($>0.5$). Control: the growth of the norm of the weight feeding that layer, a
# quantity that also changes most early in training.

# %%
SEC5 = "5. Neural collapse forces target linearity to 1"
gap = min(float(np.min(r["tl"][:, -1] - r["bound"])) for r in runs.values())
ledger.sanity("collapse-bounds-tl", measured=gap, test=">= -1e-10", section=SEC5,
              source=f"this book (makes precise the README of {SOURCE}: TL unifies neural collapse)",
              statement="TL of the last hidden layer >= 1 - ||E M^+ (I - 1 ybar^T)||^2 / ||Y_c||^2 at every snapshot "
                        "of every seed (min of TL - bound)")
ledger.claim("layerwise-collapse-drives-tl", source=f"this book ({NOTE}, section 6)", section=SEC5,
             statement="between snapshots, the fall of C and the rise of TL of the last hidden layer are "
                       "rank-correlated (> 0.5)", test="> 0.5",
             values={s: ch03.increment_spearman(-r["c_last"], r["tl"][:, -1]) for s, r in runs.items()},
             control=Control("growth of the weight norm", {s: ch03.increment_spearman(r["w_norm"], r["tl"][:, -1])
                                                           for s, r in runs.items()}))
nc = pd.DataFrame([dict(step=st, C=r["c_last"][i], one_minus_TL=1 - r["tl"][i, -1], one_minus_bound=1 - r["bound"][i])
                   for i, st in enumerate(runs[cfg.seed]["steps"]) for r in [runs[cfg.seed]]])
glue("nc_c_end", float(nc.C.iloc[-1]), ".3f")
glue("nc_bound_end", float(1 - nc.one_minus_bound.iloc[-1]), ".3f")
glue("nc_tl_end", float(1 - nc.one_minus_TL.iloc[-1]), ".3f")
nc_long = nc.melt(id_vars="step", value_vars=["one_minus_TL", "one_minus_bound", "C"], var_name="quantity")
nc_long = nc_long[(nc_long.value > 0) & np.isfinite(nc_long.value)]
charts.line(nc_long, "step", "value", color="quantity", points=False, log_y=True, y_title="value (log scale)",
            x_title="optimiser step", title=f"Last hidden layer: C, 1 - TL and its collapse bound (seed {cfg.seed})")

# %% [markdown]
# At the end of the first seed's run $C$ is {glue:text}`nc_c_end`, the bound {glue:text}`nc_bound_end`
# and TL {glue:text}`nc_tl_end`; the bound approaches TL only as $C$ approaches 0.

# %% [markdown]
# (gram-whitening-keep-the-gram-change-drop-the-rotation-fig-2)=
# ## 6. Gram whitening: keep the Gram change, drop the rotation (Fig. 2)
#
# If the Gram is what a step teaches, the rest of the step should not matter. The authors' wrapper
# takes each SGD step $W_1\to W_2$ and replaces $W_2$ by $OW_2$ with $O=\operatorname{polar}(W_1W_2^\top)$,
# the rotation that brings $W_2$ closest to $W_1$: then $(OW_2)^\top OW_2=W_2^\top W_2$, so the Gram
# follows SGD exactly while the output-side rotation of every step is undone. The authors compute $O$
# by 10 quintic Newton–Schulz steps; `layerwise.optim.GramPreservingSGD` uses an exact SVD by default.
# That the Gram is kept is algebra (a sanity entry, in float64); the Newton–Schulz arm runs on the
# first seed only, for its Gram error.
#
# Setting of the paper (MNIST): 2 hidden GELU layers of width 256, SGD with momentum 0.85, learning
# rate 0.01, batch 64, 20 epochs, 5 seeds, a ±2 std band. The previous version of this chapter found
# that on digits the three SGD seeds scored the same number of test images, so a "within 2 std" band had
# width zero. Here each seed trains both arms from the same initialisation and minibatch order, and the
# claim is on the **paired difference** (whitened minus SGD) over {glue:text}`white_n_seeds` seeds: the
# 95% bootstrap interval of its mean must lie above $-\delta$, with $\delta$ = `white_margin` =
# {glue:text}`white_margin`, against a test-set resolution of {glue:text}`white_resolution` (one test
# sample). **Control:** the same comparison for SGD on the **readout only** (hidden layers frozen at
# their initialisation), a network that learns no features: if it also came within $\delta$ of SGD the
# test could not see what whitening keeps.

# %%
start = time.perf_counter()
wsplit = data.load(cfg.white_dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train,
                   seed=cfg.seed)
wx_tr, wx_te = wsplit.train.x.double().to(cfg.device), wsplit.test.x.double()
resolution = 1 / len(wsplit.test)
glue("white_n_seeds", cfg.white_seeds)
glue("white_margin", cfg.white_margin, ".3g")
glue("white_resolution", f"1/{len(wsplit.test)} = {resolution:.4f}")
ARMS = ("SGD", "whitened (SVD)", "whitened (Newton-Schulz)", "readout only")


# %% tags=["hide-input"]
def white_run(arm, run_seed):
    """Train one arm; return (test accuracy per epoch, per-step Gram errors of the whitened arms)."""
    net = models.MLP(wx_tr.shape[1], cfg.white_width, cfg.white_depth, wsplit.train.n_classes, activation="gelu",
                     init="torch", seed=run_seed).double().to(cfg.device)
    if arm == "readout only":
        for layer in net.layers[:-1]:
            layer.requires_grad_(False)
    made = []

    def make(params):
        params = [p for p in params if p.requires_grad]
        if arm.startswith("whitened"):
            made.append(optim.GramPreservingSGD(params, lr=cfg.white_lr, momentum=cfg.white_momentum,
                                                polar="svd" if "SVD" in arm else "newton_schulz",
                                                track_gram_error=True))
        else:
            made.append(torch.optim.SGD(params, lr=cfg.white_lr, momentum=cfg.white_momentum))
        return made[0]

    h = train.fit(net, wx_tr, wsplit.train.labels, epochs=cfg.white_epochs, lr=cfg.white_lr, loss="ce",
                  batch_size=cfg.batch_size, make_optimizer=make, seed=run_seed, progress=False,
                  callback=lambda e, m: accuracy(m, wx_te, wsplit.test.labels),
                  snapshot_epochs=range(1, cfg.white_epochs + 1))
    return [a for _, a in h.snapshots], getattr(made[0], "gram_errors", [])


# %%
white_rows, gram_errors = [], {a: [] for a in ARMS}
for s in seeds_of(cfg.white_seeds):
    for arm in ARMS:
        if arm == "whitened (Newton-Schulz)" and s != cfg.seed:
            continue
        accs, errs = white_run(arm, s)
        gram_errors[arm] += errs
        white_rows += [dict(arm=arm, seed=s, epoch=e, test_acc=a) for e, a in enumerate(accs)]
white = pd.DataFrame(white_rows)
clock["whitening"] = time.perf_counter() - start
final = white[white.epoch == cfg.white_epochs].pivot(index="seed", columns="arm", values="test_acc")
final["whitened - SGD"] = final["whitened (SVD)"] - final["SGD"]
final["readout only - SGD"] = final["readout only"] - final["SGD"]
final.round(4)

# %% tags=["hide-input"]
band = white[white.arm != "whitened (Newton-Schulz)"].groupby(["arm", "epoch"], as_index=False).test_acc.agg(["mean", "min", "max"])
charts.line(band, "epoch", "mean", color="arm", band=("min", "max"), y_title="test accuracy (mean, band: min to max)",
            title=f"Gram whitening against SGD ({cfg.white_dataset}, {cfg.white_seeds} paired seeds)")

# %%
SEC6 = "6. Gram whitening: keep the Gram change, drop the rotation (Fig. 2)"
ledger.sanity("whitening-keeps-gram", measured=max(gram_errors["whitened (SVD)"]), test="<= 1e-10", section=SEC6,
              source=f"{SOURCE}, Fig. 2 (note 03, claim 3)",
              statement="with an exact polar factor, ||W'^T W' - W^T W|| / ||W^T W|| at every step of every seed")
ledger.sanity("whitening-newton-schulz", measured=max(gram_errors["whitened (Newton-Schulz)"]), test="<= 1e-2",
              section=SEC6, source=f"{SOURCE}, code (note 03, claim 3)",
              statement="with the authors' 10 Newton-Schulz steps the Gram is kept to about 1e-2 (largest error)")
ledger.claim("cha26-whitening-matches-sgd", source=f"{SOURCE}, Fig. 2 (note 03, claim 4)", section=SEC6,
             statement=f"paired over seeds, whitened SGD's final test accuracy is at least plain SGD's minus "
                       f"{cfg.white_margin:g} (mean paired difference, 95% bootstrap interval)",
             test=f">= {-cfg.white_margin}", rule="mean-ci", values=final["whitened - SGD"].to_dict(),
             control=Control("readout-only SGD (frozen hidden layers)", final["readout only - SGD"].to_dict()),
             requires={f"the margin is no finer than one test sample ({resolution:.4f})": cfg.white_margin >= resolution},
             note=f"{cfg.white_dataset}, width {cfg.white_width}, {cfg.white_epochs} epochs at lr {cfg.white_lr}; "
                  f"test-set resolution {resolution:.4f}")
ledger.table().iloc[-1:]

# %% [markdown]
# (the-staircase-rich-and-lazy-fig-8)=
# ## 7. The staircase: rich and lazy (Fig. 8)
#
# The authors' staircase notebook: $x\sim\mathcal N(0,I_{10})$, $n=1000$,
# $y=x_1x_2x_3x_4+x_1x_2x_3+x_1x_2+x_1$; a bias-free ReLU network with 2 hidden layers, weights
# $\mathcal N(0,1/\text{fan-in})$, output divided by $\sqrt{\text{width}}$; full-batch GD on the MSE,
# learning rate 0.01 for 2000 steps, widths 32 to 1024. Every 20 steps it records, with
# $y_{ols}=H(H^\top H+0.01I)^{-1}H^\top y$ the ridge fit on the last hidden features, three distances:
# $\|y-y_{ols}\|$ (how linear the target is in the current features), $\|\hat y-y_{ols}\|$ (how far the
# network is from that linear read-out) and $\|y-\hat y\|$ (the training residual). Its stored output
# gives final training MSEs 1.74, 1.83, 1.89, 1.94 for widths 32, 128, 512, 1024, and its comments say
# narrow networks are rich and wide ones lazy. We measure laziness as the relative change of the last
# hidden features, $\|H_T-H_0\|_F/\|H_0\|_F$. At the `book` preset the widths stop at 256 and we take
# 200 steps at learning rate 0.1 (the same gradient-flow time $\eta T=20$), over
# {glue:text}`stair_n_seeds` network seeds (the data keep the authors' seed 42).
#
# **Claims and controls.** *Wide is lazy*: the movement is strictly decreasing in width. Control: the
# same networks fitted to a **shuffled target**, which they can only memorise: if the movement falls
# with width there too, the ordering is a property of the $1/\sqrt{\text{width}}$ output scale, not of
# learning the staircase. *The MSE grows with width*: the final training MSE is strictly increasing in
# width. Control: the **untrained network**'s MSE per width (an ordering inherited from initialisation).

# %%
start = time.perf_counter()
x_st, y_st = data.staircase(cfg.stair_n, cfg.stair_dim, seed=42)
y_shuffled = y_st[torch.randperm(len(y_st), generator=torch.Generator().manual_seed(cfg.seed))]
_ = glue("stair_n_seeds", cfg.stair_seeds)


# %% tags=["hide-input"]
def stair_run(width, run_seed, target, log):
    """Train one staircase net on `target`; return (final MSE, initial MSE, movement, distance snapshots)."""
    net = models.MLP(cfg.stair_dim, width, 3, 1, activation="relu", bias=False, init="lecun",
                     output_scale=width ** -0.5, seed=run_seed)
    h0 = features.layer_features(net, x_st)[2]

    def snap(epoch, model):
        f = features.layer_features(model, x_st)
        return dict(**gram.ols_distances(f[2], target, f[3]), movement=ch03.relative_movement(f[2], h0))

    hist = train.fit(net, x_st, target, epochs=cfg.stair_steps, lr=cfg.stair_lr, loss="mse", progress=False,
                     callback=snap, snapshot_epochs=range(cfg.stair_log_every, cfg.stair_steps + 1, cfg.stair_log_every)
                     if log else [cfg.stair_steps])
    rows = [dict(width=width, step=e, mse=hist.loss[e], **s) for e, s in hist.snapshots]
    return hist.loss[-1], hist.loss[0], hist.snapshots[-1][1]["movement"], rows


# %%
stair_rows, stair_end = [], []
for s in seeds_of(cfg.stair_seeds):
    for width in cfg.stair_widths:
        mse, mse0, move, rows = stair_run(width, s, y_st, log=(s == cfg.seed))
        _, _, move_shuffled, _ = stair_run(width, s, y_shuffled, log=False)
        stair_rows += rows
        stair_end.append(dict(seed=s, width=width, mse=mse, mse_untrained=mse0, movement=move,
                              movement_shuffled=move_shuffled))
stair = pd.DataFrame(stair_rows)
stair_end = pd.DataFrame(stair_end)
clock["staircase"] = time.perf_counter() - start
stair_end.pivot(index="width", columns="seed", values=["movement", "movement_shuffled", "mse", "mse_untrained"]).round(3)

# %% tags=["hide-input"]
dist_titles = {"target_to_ols": "||y - y_ols||: target vs linear fit", "output_to_ols": "||y^ - y_ols||: output vs linear fit",
               "target_to_output": "||y - y^||: training residual"}
(charts.line(stair, "step", "target_to_ols", color="width", points=False, title=dist_titles["target_to_ols"])
 | charts.line(stair, "step", "output_to_ols", color="width", points=False, title=dist_titles["output_to_ols"])
 | charts.line(stair, "step", "target_to_output", color="width", points=False, title=dist_titles["target_to_output"]))

# %%
SEC7 = "7. The staircase: rich and lazy (Fig. 8)"
by_width = {s: g.sort_values("width") for s, g in stair_end.groupby("seed")}
ledger.claim("cha26-staircase-wide-is-lazy", source=f"{SOURCE}, staircase notebook comments", section=SEC7,
             statement="relative movement of the last hidden features is strictly decreasing in width "
                       "(narrow = rich, wide = lazy)", test="decreasing",
             values={s: g.movement.tolist() for s, g in by_width.items()},
             control=Control("same networks, shuffled target", {s: g.movement_shuffled.tolist() for s, g in by_width.items()}),
             note=f"widths {cfg.stair_widths}, {cfg.stair_steps} steps at lr {cfg.stair_lr}",
             explain={claims.INCONCLUSIVE: "Where the shuffled target shows the same ordering, laziness with width "
                                           "is a property of the 1/sqrt(width) output scale, whatever the target."})
ledger.claim("cha26-staircase-mse-grows-with-width", source=f"{SOURCE}, staircase notebook stored output",
             section=SEC7, test="increasing", values={s: g.mse.tolist() for s, g in by_width.items()},
             control=Control("untrained network", {s: g.mse_untrained.tolist() for s, g in by_width.items()}),
             statement="final training MSE is strictly increasing in width (stored: 1.74, 1.83, 1.89, 1.94 for 32..1024)",
             note=f"widths {cfg.stair_widths}")
ledger.table().iloc[-2:]

# %% [markdown]
# (random-labels-fig-12)=
# ## 8. Random labels (Fig. 12)
#
# The authors replace each training *and* test label, with probability $p$, by a uniformly drawn
# class, train a network with 3 hidden layers (SGD, learning rate 0.005, momentum 0.95, 200 epochs on
# CIFAR-10) and plot train TL per layer with the accuracies. Their script does not run as released
# (it calls the metric with the wrong signature) and no claimed pattern was found, so this section is
# a measurement without a claim, on one seed. At the `book` preset: 600 digits, GELU, width 64 and
# learning rate 0.02 with momentum 0.95, so that even $p=1$ can be memorised within 80 epochs. TL is
# measured against the labels the network is trained on; its **baseline is the untrained network**
# (the first snapshot) against the same labels, which for random labels is about width / samples.
# Test accuracy is against the (equally noisy) test labels, as in the authors' script.

# %%
start = time.perf_counter()
rsplit = data.load(cfg.rand_dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.rand_n_train,
                   seed=cfg.seed)
rand_rows = []
for p in cfg.rand_ps:
    r_tr = data.random_labels(rsplit.train, p, seed=cfg.seed)
    r_te = data.random_labels(rsplit.test, p, seed=cfg.seed + 1)
    net = models.MLP(r_tr.x.shape[1], cfg.rand_width, cfg.rand_depth, r_tr.n_classes, activation="gelu",
                     init="torch", seed=cfg.seed).to(cfg.device)

    def rand_snapshot(epoch, model, r_tr=r_tr, r_te=r_te):
        tl, _ = gram.model_target_linearity(model, r_tr.x, r_tr.labels, n_classes=r_tr.n_classes)
        return dict(tl=tl, train_acc=accuracy(model, r_tr.x, r_tr.labels), test_acc=accuracy(model, r_te.x, r_te.labels))

    hist = train.fit(net, r_tr.x, r_tr.labels, epochs=cfg.rand_epochs, lr=cfg.rand_lr, momentum=cfg.rand_momentum,
                     loss="ce", batch_size=cfg.batch_size, callback=rand_snapshot, seed=cfg.seed, progress=False,
                     snapshot_epochs=range(cfg.rand_log_every, cfg.rand_epochs + 1, cfg.rand_log_every))
    for e, s in hist.snapshots:
        rand_rows += [dict(p=p, epoch=e, layer=f"hidden {l + 1}", TL=v, train_acc=s["train_acc"],
                           test_acc=s["test_acc"]) for l, v in enumerate(s["tl"])]
rand = pd.DataFrame(rand_rows)
rand["label noise p"] = rand.p.map(lambda v: f"p = {v:g}")
clock["random labels"] = time.perf_counter() - start
rand_start = rand[rand.epoch == 0].pivot(index="p", columns="layer", values="TL")
rand_end = rand[rand.epoch == rand.epoch.max()].pivot(index="p", columns="layer", values="TL")
accs_end = rand[(rand.epoch == rand.epoch.max()) & (rand.layer == "hidden 1")].set_index("p")[["train_acc", "test_acc"]]
print("TL per layer of the untrained network (the baseline):")
print(rand_start.round(3))
print(f"TL per layer after {rand.epoch.max()} epochs, with accuracies:")
print(pd.concat([rand_end, accs_end], axis=1).round(3))

# %% tags=["hide-input"]
last_hidden = f"hidden {cfg.rand_depth - 1}"
first_layer = rand[rand.layer == "hidden 1"]
((charts.line(rand[rand.layer == last_hidden], "epoch", "TL", color="label noise p", points=False,
              y_title=f"TL of {last_hidden} (train)", title="Target linearity of the last hidden layer")
  | charts.line(first_layer, "epoch", "TL", color="label noise p", points=False,
                y_title="TL of hidden 1 (train)", title="... and of the first"))
 & (charts.line(first_layer, "epoch", "train_acc", color="label noise p", points=False,
                y_title="train accuracy (noisy labels)", title="Training accuracy")
    | charts.line(first_layer, "epoch", "test_acc", color="label noise p", points=False,
                  y_title="test accuracy (noisy labels)", title="Test accuracy")))

# %% [markdown]
# (grokking-fig-13)=
# ## 9. Grokking (Fig. 13)
#
# Modular addition $(a+b)\bmod p$ with the two operands one-hot and concatenated, 70% of all pairs for
# training. The authors (modulus 61, float64) train a ReLU network with 3 hidden layers using AdamW
# (learning rate $10^{-3}$, betas (0.9, 0.98), batch 32, 500 epochs) over weight decays 0 to 0.75,
# and plot the train TL per layer and the "TL gap" $\mathrm{TL}_3-\mathrm{TL}_2$ against the
# generalisation gap. Their script does not run as released and no claimed pattern was found. At the
# `book` preset we use modulus 31, width 128 and full-batch AdamW at learning rate $3\times10^{-3}$
# with weight decay 0 and 3 for 800 steps, in float32 (`grok_float64` restores the authors' float64).
# **This setting was found by trying a few settings on seed `cfg.seed` alone.** So the claim is
# tested on held-out seeds {glue:text}`grok_held_out` (network and data split), and the search seed is
# shown only as the demonstration it is. Grokking "occurs" when test accuracy reaches 90% at least 100
# steps after train accuracy reaches 99%. **Control:** the same network without weight decay.

# %%
start = time.perf_counter()
gdtype = torch.float64 if cfg.grok_float64 else torch.float32
held_out = seeds_of(cfg.grok_seeds, offset=1)
glue("grok_held_out", ", ".join(map(str, held_out)))
grok_rows = []
for s in [cfg.seed] + held_out:
    gsplit = data.modular_addition(cfg.grok_modulus, train_fraction=cfg.grok_train_fraction, seed=s)
    g_tr, g_te = gsplit.train, gsplit.test
    gx_tr, gx_te = g_tr.x.to(gdtype).to(cfg.device), g_te.x.to(gdtype)
    for wd in cfg.grok_weight_decays:
        net = models.MLP(gx_tr.shape[1], cfg.grok_width, cfg.grok_depth, cfg.grok_modulus, activation="relu",
                         init="torch", seed=s).to(gdtype).to(cfg.device)

        def make(params, wd=wd):
            return torch.optim.AdamW(params, lr=cfg.grok_lr, betas=(0.9, 0.98), weight_decay=wd)

        def grok_snapshot(epoch, model, g_tr=g_tr, gx_tr=gx_tr, gx_te=gx_te, g_te=g_te, s=s):
            tl = gram.model_target_linearity(model, gx_tr, g_tr.labels, n_classes=cfg.grok_modulus)[0] if s == cfg.seed else []
            return dict(tl=tl, train_acc=accuracy(model, gx_tr, g_tr.labels), test_acc=accuracy(model, gx_te, g_te.labels))

        hist = train.fit(net, gx_tr, g_tr.labels, epochs=cfg.grok_epochs, lr=cfg.grok_lr, loss="ce", progress=False,
                         batch_size=cfg.grok_batch_size, make_optimizer=make, callback=grok_snapshot, seed=s,
                         snapshot_epochs=range(cfg.grok_log_every, cfg.grok_epochs + 1, cfg.grok_log_every))
        for e, snap in hist.snapshots:
            grok_rows.append(dict(seed=s, weight_decay=f"wd = {wd:g}", wd=wd, epoch=e, train_acc=snap["train_acc"],
                                  test_acc=snap["test_acc"], **{f"TL_{l + 1}": v for l, v in enumerate(snap["tl"])}))
grok = pd.DataFrame(grok_rows)
n_hidden = cfg.grok_depth - 1
clock["grokking"] = time.perf_counter() - start
delays = {(s, wd): ch03.grokking_delay(g.epoch.tolist(), g.train_acc.tolist(), g.test_acc.tolist())
          for (s, wd), g in grok.groupby(["seed", "wd"])}
final_test = grok[grok.epoch == grok.epoch.max()].pivot(index="seed", columns="weight_decay", values="test_acc")
print("steps from 99% train to 90% test accuracy (None = not within the run):",
      {f"seed {s}, wd {wd:g}": d for (s, wd), d in delays.items()})
final_test.round(3)

# %% tags=["hide-input"]
demo = grok[grok.seed == cfg.seed].copy()
demo["TL_gap"] = demo[f"TL_{n_hidden}"] - demo[f"TL_{n_hidden - 1}"]
demo["generalisation_gap"] = demo.train_acc - demo.test_acc
grok_tl = demo.melt(id_vars=["weight_decay", "epoch"], value_vars=[f"TL_{l}" for l in range(1, n_hidden + 1)],
                    var_name="layer", value_name="TL")
grok_acc = grok.melt(id_vars=["seed", "weight_decay", "epoch"], value_vars=["test_acc"], value_name="accuracy")
grok_acc["run"] = grok_acc.apply(lambda r: f"seed {r.seed}, {r.weight_decay}", axis=1)
((charts.line(grok_tl[grok_tl.weight_decay == demo.weight_decay.iloc[-1]], "epoch", "TL", color="layer", points=False,
              x_title="step", y_title="train TL", title=f"Search seed {cfg.seed}, {demo.weight_decay.iloc[-1]}: TL per hidden layer")
  | charts.scatter(demo, "generalisation_gap", "TL_gap", color="weight_decay",
                   x_title="generalisation gap (train - test accuracy)",
                   y_title=f"TL gap TL_{n_hidden} - TL_{n_hidden - 1}", title=f"Search seed {cfg.seed}: TL gap"))
 & charts.line(grok_acc, "epoch", "accuracy", color="run", points=False, x_title="step", y_title="test accuracy",
               title="Test accuracy, search seed and held-out seeds")).resolve_scale(color="independent")

# %%
SEC9 = "9. Grokking (Fig. 13)"
decays = [wd for wd in cfg.grok_weight_decays if wd > 0]
ledger.claim("layerwise-grokking-occurs", source=f"this book (the setting of {SOURCE}, Fig. 13)", section=SEC9,
             statement="with weight decay, test accuracy reaches 90% at least 100 steps after train accuracy reaches "
                       "99% (delay in steps, held-out seeds; None = not within the run)",
             test=">= 100", over="weight decay",
             values={f"{wd:g}": {s: delays[(s, wd)] for s in held_out} for wd in decays},
             control=Control("no weight decay", {s: delays[(s, 0.0)] for s in held_out}),
             note=f"modulus {cfg.grok_modulus}, {cfg.grok_epochs} steps; search seed {cfg.seed}: delay "
                  f"{delays[(cfg.seed, decays[-1])]} at weight decay {decays[-1]:g}",
             explain={claims.NOT_REPRODUCED: "The setting groks on the seed it was found on, not on held-out seeds "
                                             "within the same number of steps: a demonstration, not a finding."})
ledger.table().iloc[-1:]

# %% [markdown]
# ## What changed from the previous run
#
# The previous version of this chapter recorded single values without controls or seeds. Its
# identities (the FLE in float64 and float32, the one-step split, the $O(\eta)$ leftover, the Gram kept
# by whitening, the Newton–Schulz accuracy and the collapse bound) are now sanity entries, which cannot
# count as reproductions. For each claim, the previous run's outcome as recorded then, beside this run's
# verdict:

# %% tags=["hide-input"]
PREVIOUS = {  # the previous run's outcome of each claim (digits, one seed, no controls), as recorded then
    "cha26-swiss-roll-unrolls": "reproduced with a caveat: only at the display gain (true step: R^2 0.0455 -> 0.0456)",
    "layerwise-gram-accumulates-vc": "not reproduced (worst seed 0.936 < 0.95)",
    "cha26-tl-rises": "reproduced on digits, one seed (untrained TL already 0.87 to 0.88)",
    "cha26-tl-grows-with-depth": "reproduced on digits, one seed (0.910 < 0.936 < 0.960 < 0.977)",
    "layerwise-tl-gain-grows-with-depth": "(new claim)",
    "cha26-tl-sequential": "passed only through ties (half-gain epochs 7, 7, 7, 7)",
    "cha26-surrogate-tracks-tl": "reproduced by Spearman of levels >= 0.998 (the epoch index: 0.999)",
    "layerwise-collapse-drives-tl": "reproduced by Spearman of levels (the clock passes it too)",
    "cha26-whitening-matches-sgd": "not reproduced: 96.6% vs 97.2% +/- 0.13 (3 SGD seeds on one score)",
    "cha26-staircase-wide-is-lazy": "not reproduced on one seed (width 32 moved less than 64)",
    "cha26-staircase-mse-grows-with-width": "not reproduced on one seed (dip from width 64 to 128)",
    "layerwise-grokking-occurs": "reproduced on the search seed alone (delay 660 steps)",
}
pd.DataFrame([dict(claim=c.id, previous=PREVIOUS.get(c.id, "(new claim)"), now=c.verdict, reason=c.reason)
              for c in ledger.claims]).style.hide(axis="index")

# %% [markdown]
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
print("wall time per section (s):", {k: round(v, 1) for k, v in clock.items()})
