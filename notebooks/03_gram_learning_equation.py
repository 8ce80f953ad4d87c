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
preset = "book"
device = "auto"
seed = 0
results_dir = None
# the identity and one GD step
check_width = None
check_depth = None
check_n = None
check_lr = None
# Swiss roll (Fig. 1)
roll_n = None
roll_width = None
roll_steps = None
roll_lr = None
roll_gain = None
roll_seeds = None
# target linearity over training (Fig. 4) and neural collapse
dataset = None
data_root = None
download = None
n_train = None
batch_size = None
tl_width = None
tl_depth = None
tl_epochs = None
tl_lr = None
tl_momentum = None
# Gram whitening (Fig. 2)
white_dataset = None
white_width = None
white_depth = None
white_epochs = None
white_lr = None
white_momentum = None
white_seeds = None
# staircase (Fig. 8)
stair_n = None
stair_dim = None
stair_widths = None
stair_steps = None
stair_lr = None
stair_log_every = None
# random labels (Fig. 12)
rand_ps = None
rand_n_train = None
rand_width = None
rand_depth = None
rand_epochs = None
rand_lr = None
rand_momentum = None
rand_log_every = None
# grokking (Fig. 13)
grok_modulus = None
grok_width = None
grok_depth = None
grok_epochs = None
grok_lr = None
grok_weight_decays = None
grok_batch_size = None
grok_train_fraction = None
grok_log_every = None

# %%
import time

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

import layerwise
from layerwise import charts, claims, data, features, models, optim, train
from layerwise.metrics import collapse, gram

cfg = layerwise.config.resolve_notebook("03", globals())
charts.enable()
ledger = claims.Ledger(cfg)
SOURCE = "Cha et al. 2026"
NOTE = "note 03 (inference)"
clock = {}
print(f"preset={cfg.preset} device={cfg.device} seed={cfg.seed}")


def accuracy(model, x, labels):
    """Return the fraction of samples whose largest output is the label (eval mode, no grad)."""
    out = features.layer_features(model, x)[-1]
    return float((out.argmax(1) == labels.cpu()).double().mean())


# %% [markdown]
# ## 1. The identity, layer by layer
#
# A random MLP ($L$ weight layers of width 32 on Gaussian inputs and random labels), in float64: for
# every layer we form both sides of the FLE with autograd, taking $\nabla_{H_{l-1}}L$ as the gradient
# with respect to the layer's input tensor, and report
# $\max|W^\top\nabla_W L-(\nabla_H L)^\top H|/\max|W^\top\nabla_W L|$. The identity holds for any
# activation, with or without bias, for any loss; the last row repeats one case in float32.

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
fle.style.format(precision=2, subset=[c for c in fle.columns if c.startswith("layer")])

# %%
layer_cols = [c for c in fle.columns if c.startswith("layer")]
ledger.check("cha26-fle-identity", measured=float(fle[fle.dtype == "float64"][layer_cols].max().max()),
             test="<= 1e-12", source=f"{SOURCE}, Feature Learning Equation (note 03, claim 1)",
             statement="W^T grad_W L = (grad_H L)^T H for every layer (max relative error, float64, "
                       "tanh/ReLU/GELU, with and without bias, MSE and CE)")
ledger.check("cha26-fle-identity-float32", measured=float(fle[fle.dtype == "float32"][layer_cols].max().max()),
             test="<= 1e-5", source=f"{SOURCE} (note 03, claim 1)",
             statement="the same identity in float32 (max relative error)")
ledger.table().iloc[-2:]

# %% [markdown]
# ## 2. One step of gradient descent: the Gram learns the virtual covariance
#
# For one full-batch step $W^+=W-\eta\nabla_W L$, expanding both second moments gives exactly
#
# $$G^+-G \;=\; (\tilde H^\top\tilde H-H^\top H)\;+\;\eta^2\big(\nabla_W L^\top\nabla_W L-\nabla_H L^\top\nabla_H L\big),$$
#
# because the two $O(\eta)$ cross terms are the two sides of the FLE. So, to first order, the weight
# step changes the Gram exactly as the virtual update changes the second moment of the layer's
# input, and the leftover $\|(G^+-G)-\Delta\mathrm{VC}\|/\|G^+-G\|$ is $O(\eta)$: halving $\eta$ should
# halve it. (The changes are formed in expanded form, without subtracting two $O(1)$ matrices; a
# test in the package checks them against a real optimiser step.)

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
one_step.pivot(index="eta", columns="layer", values="leftover").style.format("{:.3e}")

# %%
charts.line(one_step, "eta", "leftover", color="layer", log_x=True, log_y=True, x_title="step size eta",
            y_title="||dG - dVC|| / ||dG||", title="The Gram change minus the VC change is O(eta): slope 1")

# %%
ledger.check("cha26-one-step-identity", measured=float(one_step.identity.max()), test="<= 1e-12",
             source=f"{SOURCE} (note 03, claim 2)",
             statement="G+ - G = (VC change) + eta^2 (grad_W^T grad_W - grad_H^T grad_H), every layer and eta "
                       "(max relative error, float64)")
ledger.check("cha26-one-step-order-eta", measured=[float(r) for r in halving], test="in [0.45, 0.55]",
             source=f"{SOURCE} (note 03, claim 2)",
             statement="||(G+ - G) - dVC|| / ||G+ - G|| halves (+-10%) when eta halves, every layer")
clock["identity and one step"] = time.perf_counter() - start
ledger.table().iloc[-2:]

# %% [markdown]
# ## 3. The Swiss roll: the virtual update unrolls the data (Fig. 1)
#
# The authors' notebook: 1000 Swiss-roll points, inputs $(x,z)$ and the roll parameter $t$ min-max
# scaled to $[0,1]$, a 2→32→32→1 network (GELU, no bias in the first layer), full-batch gradient
# descent with learning rate 0.05 on the MSE for 100 steps. The figure plots the *cumulative* virtual
# update $\tilde X_s = X - g\sum_{t<s}\nabla_X L_t$ with a display gain $g=700$ (the true step is
# $g=\eta=0.05$), renormalised to $[0,1]$ per coordinate, coloured by $t$. The claim is qualitative:
# the roll unrolls into a curve ordered by the target. As a number (note 03, claim 8), we take the
# $R^2$ of a linear fit (with intercept) from $\tilde X_s$ to $t$, and we report it at the true step
# size as well as at the display gain. Our points are drawn from a seeded torch generator, not
# scikit-learn's `random_state=0`.
#
# Along the way we measure what "the Gram learns the VC" means over many steps: the cosine
# similarity between the accumulated Gram change $G_s-G_0$ of the first layer and the accumulated
# virtual covariance $\sum_{t<s}\mathrm{VC}_t$ (the paper gives no alignment metric; this is ours).

# %%
start = time.perf_counter()
x_roll, t_roll = data.swiss_roll(cfg.roll_n, seed=cfg.seed)
ones = torch.ones(cfg.roll_n, 1)


def roll_run(run_seed):
    """Train the Swiss-roll net; return per-step input gradients (S+1, n, 2), first-layer Grams and VCs."""
    net = models.MLP(2, cfg.roll_width, 3, 1, activation="gelu", init="torch", seed=run_seed)
    net.layers[0].bias = None  # the authors' first layer has no bias

    def snap(epoch, model):
        g = gram.layer_gradients(model, x_roll, t_roll)[0]
        h_virtual = g.h - cfg.roll_lr * g.grad_h  # = gram.virtual_covariance(model, x, t, lr), one gradient pass
        return g.grad_h, gram.weight_gram(g.weight), h_virtual.T @ h_virtual - g.h.T @ g.h

    hist = train.fit(net, x_roll, t_roll, epochs=cfg.roll_steps, lr=cfg.roll_lr, loss="mse",
                     callback=snap, snapshot_epochs=range(1, cfg.roll_steps + 1), seed=run_seed)
    grads = torch.stack([s[0] for _, s in hist.snapshots])
    grams = torch.stack([s[1] for _, s in hist.snapshots])
    vcs = torch.stack([s[2] for _, s in hist.snapshots])
    return grads, grams, vcs, hist.loss


def virtual_inputs(grads, gain):
    """Return X~_s = X - gain * sum_{t<s} grad_X L_t for s = 0..S, shape (S+1, n, 2)."""
    cum = torch.cat([torch.zeros_like(grads[:1]), grads[:-1].cumsum(0)])
    return x_roll.unsqueeze(0) - gain * cum


def linear_r2(inputs, target):
    """Return the R^2 of least squares (with intercept) from inputs (n, d) to target (n,)."""
    return gram.target_linearity(torch.cat([inputs, ones], 1), target)


roll_rows, cos_rows, roll_runs = [], [], {}
for s in range(cfg.roll_seeds):
    grads, grams, vcs, losses = roll_run(cfg.seed + s)
    roll_runs[s] = grads
    for label, gain in (("true step (gain = lr)", cfg.roll_lr), (f"display gain {cfg.roll_gain:g}", cfg.roll_gain)):
        xs = virtual_inputs(grads, gain)
        roll_rows += [dict(seed=s, gain=label, step=k, r2=linear_r2(xs[k], t_roll)) for k in range(0, cfg.roll_steps + 1)]
    acc_vc = vcs.cumsum(0)
    cos_rows += [dict(seed=s, step=k + 1, comparison="accumulated: G_s - G_0 vs sum of VC_t",
                      cosine=gram.matrix_cosine(grams[k + 1] - grams[0], acc_vc[k])) for k in range(cfg.roll_steps)]
    cos_rows += [dict(seed=s, step=k + 1, comparison="one step: G_(t+1) - G_t vs VC_t",
                      cosine=gram.matrix_cosine(grams[k + 1] - grams[k], vcs[k])) for k in range(cfg.roll_steps)]
    print(f"seed {cfg.seed + s}: MSE {losses[0]:.3f} -> {losses[-1]:.3f}")
roll = pd.DataFrame(roll_rows)
cosines = pd.DataFrame(cos_rows)
clock["Swiss roll"] = time.perf_counter() - start

# %%
show_to = min(50, cfg.roll_steps)
panel_steps = sorted({int(round(v)) for v in np.linspace(0, show_to, 6)})
xs = virtual_inputs(roll_runs[0], cfg.roll_gain)
frames = []
for k in panel_steps:
    z = xs[k]
    z = (z - z.min(0).values) / (z.max(0).values - z.min(0).values)
    frames.append(pd.DataFrame({"x~1": z[:, 0].numpy(), "x~2": z[:, 1].numpy(), "t": t_roll.numpy(), "step": k}))
charts.small_multiples(pd.concat(frames), "x~1", "x~2", "step", color="t", color_title="roll parameter t",
                       title=f"Cumulative virtual update at display gain {cfg.roll_gain:g} (seed {cfg.seed})")

# %%
r2_mean = roll.groupby(["gain", "step"], as_index=False).r2.mean()
(charts.line(r2_mean, "step", "r2", color="gain", points=False, x_title="GD step s",
             y_title="R^2 of linear fit X~_s -> t (mean over seeds)", title="Is the roll linear in its target?")
 | charts.line(cosines.groupby(["comparison", "step"], as_index=False).cosine.mean(), "step", "cosine",
               color="comparison", points=False, x_title="GD step s", y_title="cosine (mean over seeds)",
               title="Gram change against virtual covariance, first layer")).resolve_scale(color="independent")

# %%
at = roll[roll.step.isin([0, show_to])].pivot_table(index=["gain", "seed"], columns="step", values="r2")
print(at.round(4))
display_gain = roll[roll.gain.str.startswith("display")]
rise = [float(display_gain[(display_gain.seed == s) & (display_gain.step == show_to)].r2.iloc[0]
              - display_gain[(display_gain.seed == s) & (display_gain.step == 0)].r2.iloc[0])
        for s in range(cfg.roll_seeds)]
true_gain = roll[roll.gain.str.startswith("true")]
true_rise = float(true_gain[true_gain.step == show_to].r2.mean() - true_gain[true_gain.step == 0].r2.mean())
ledger.check("cha26-swiss-roll-unrolls", measured=rise, test="> 0", source=f"{SOURCE}, Fig. 1 (note 03, claim 8)",
             statement=f"R^2 of a linear fit X~ -> t rises from step 0 to step {show_to} at the display gain "
                       f"{cfg.roll_gain:g} (rise per seed)",
             note=f"at the true step size (gain = lr) the mean rise is {true_rise:.2e}")
accumulated = cosines[cosines.comparison.str.startswith("accumulated")]
single = cosines[cosines.comparison.str.startswith("one step")]
final_cos = accumulated[accumulated.step == cfg.roll_steps].cosine
print(f"one-step cosine: min {single.cosine.min():.4f}; accumulated cosine after {cfg.roll_steps} steps: "
      f"{np.round(final_cos.to_numpy(), 4)}")
ledger.check("layerwise-gram-accumulates-vc", measured=float(final_cos.min()), test=">= 0.95",
             source=f"this book (the alignment metric of {SOURCE} was not found)",
             statement=f"cosine between G_S - G_0 and the summed virtual covariance after {cfg.roll_steps} steps "
                       "(first layer, worst seed)", note=f"one-step cosine >= {single.cosine.min():.4f} at every step")
ledger.table().iloc[-2:]

# %% [markdown]
# ## 4. Target linearity over training, layer by layer (Fig. 4)
#
# The authors train a network with 4 hidden GELU layers of width 256 on CIFAR-10 with SGD (learning
# rate $5\times10^{-4}$, momentum 0.8, batch 64, 100 epochs) and record, after every epoch, TL and the
# surrogate $S_l$ for each hidden layer on the full training set. At the `book` preset we use
# scikit-learn's digits: 1347 training images of 8×8 pixels, so an epoch is 22 steps rather than 782,
# and we raise the learning rate to 0.05 to train in 30 epochs. The `paper` preset runs CIFAR-10 with
# the authors' settings. The claims of note 03: at the end TL is non-decreasing with depth (0.01
# slack) with the last hidden layer above the first (claim 5); TL rises in every layer, and the epoch
# at which a layer covers half of its final gain is non-decreasing with depth, our reading of
# "sequential" (claim 6); and $S_l$ tracks $\mathrm{TL}_l$, a positive Spearman correlation over epochs
# (claim 7). TL has a floor: with $d$ features and $n$ samples, a random target already reaches about
# $d/n$, so we also print TL of the initial features against shuffled labels.
#
# The same run serves section 5 (neural collapse), so we also record the within-class compression
# $C$ of the last hidden layer and a lower bound on its TL derived there.

# %%
start = time.perf_counter()
split = data.load(cfg.dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train, seed=cfg.seed)
tr, te = split.train, split.test
n_cls = tr.n_classes
print(f"{cfg.dataset}: {len(tr)} training and {len(te)} test samples, {tr.x.shape[1]} features")
tl_net = models.MLP(tr.x.shape[1], cfg.tl_width, cfg.tl_depth, n_cls, activation="gelu", init="torch",
                    seed=cfg.seed).to(cfg.device)
hidden = list(range(1, cfg.tl_depth))


def tl_snapshot(epoch, model):
    f = features.layer_features(model, tr.x)
    weights = [w.detach().cpu() for w in model.weights()]
    tl, sur = gram.hidden_target_linearity(f, weights, tr.labels, n_classes=n_cls)
    last = f[cfg.tl_depth - 1]
    return dict(tl=tl, sur=sur, train_acc=float((f[-1].argmax(1) == tr.labels).double().mean()),
                test_acc=accuracy(model, te.x, te.labels),
                c_last=collapse.within_class_compression(last, tr.labels),
                bound=gram.collapse_tl_bound(last, tr.labels, n_classes=n_cls))


hist = train.fit(tl_net, tr.x, tr.labels, epochs=cfg.tl_epochs, lr=cfg.tl_lr, momentum=cfg.tl_momentum,
                 loss="ce", batch_size=cfg.batch_size, callback=tl_snapshot,
                 snapshot_epochs=range(1, cfg.tl_epochs + 1), seed=cfg.seed)
snaps = [(e, s) for e, s in hist.snapshots]
epochs_seen = [e for e, _ in snaps]
tl_curves = np.array([s["tl"] for _, s in snaps])
sur_curves = np.array([s["sur"] for _, s in snaps])
shuffled = tr.labels[torch.randperm(len(tr), generator=torch.Generator().manual_seed(cfg.seed))]
tl_floor = gram.target_linearity(features.layer_features(
    models.MLP(tr.x.shape[1], cfg.tl_width, cfg.tl_depth, n_cls, activation="gelu", init="torch", seed=cfg.seed),
    tr.x)[hidden[-1]], shuffled, n_classes=n_cls)
print(f"final accuracy: train {snaps[-1][1]['train_acc']:.3f}, test {snaps[-1][1]['test_acc']:.3f}; "
      f"TL floor (initial last hidden layer vs shuffled labels) = {tl_floor:.3f}")
clock["target linearity"] = time.perf_counter() - start
tl_long = pd.DataFrame([dict(epoch=e, layer=f"hidden {l}", TL=tl_curves[i, j], surrogate=sur_curves[i, j])
                        for i, e in enumerate(epochs_seen) for j, l in enumerate(hidden)])
acc_long = pd.DataFrame([dict(epoch=e, split=k, accuracy=s[f"{k}_acc"]) for e, s in snaps for k in ("train", "test")])
(charts.line(tl_long, "epoch", "TL", color="layer", points=False, y_title="target linearity (train)",
             title="TL per hidden layer")
 | charts.line(tl_long, "epoch", "surrogate", color="layer", points=False, log_y=True,
               y_title="surrogate S_l (log scale)", title="Gram surrogate per hidden layer")
 | charts.line(acc_long, "epoch", "accuracy", color="split", points=False, title="Accuracy")
 ).resolve_scale(color="independent")

# %%
final_tl, init_tl = tl_curves[-1], tl_curves[0]
half = gram.half_gain_epochs(tl_curves, epochs_seen)
progress = (tl_curves - init_tl) / np.where(final_tl > init_tl, final_tl - init_tl, np.nan)
steps_gain = np.clip(np.diff(tl_curves, axis=0), 0, None)  # where in training each layer gains its TL
centroid = (np.array(epochs_seen[1:])[:, None] * steps_gain).sum(0) / steps_gain.sum(0)
rho = [float(spearmanr(tl_curves[:, j], sur_curves[:, j])[0]) for j in range(len(hidden))]
print(pd.DataFrame({"hidden layer": hidden, "TL at init": init_tl, "TL at end": final_tl,
                    "half-gain epoch": half, "mean epoch of gain": centroid,
                    "Spearman(S_l, TL_l)": rho}).round(4).to_string(index=False))
prog_long = pd.DataFrame([dict(epoch=e, layer=f"hidden {l}", fraction=progress[i, j])
                          for i, e in enumerate(epochs_seen) for j, l in enumerate(hidden)]).dropna()
scale_note = f"{cfg.dataset} at preset {cfg.preset} (the paper: CIFAR-10)"
nondecreasing = bool(np.all(np.diff(final_tl) >= -0.01))
ledger.check("cha26-tl-grows-with-depth", measured=[float(v) for v in final_tl],
             test="non-decreasing in depth (0.01 slack) and last > first",
             passed=nondecreasing and final_tl[-1] > final_tl[0], source=f"{SOURCE}, Fig. 4 (note 03, claim 5)",
             statement="after training, train TL grows with depth (TL per hidden layer)", note=scale_note)
ledger.check("cha26-tl-rises", measured=[float(v) for v in final_tl - init_tl], test="> 0",
             source=f"{SOURCE}, Fig. 4 (note 03, claim 6)",
             statement="TL at the end exceeds TL at initialisation in every hidden layer (gain per layer)",
             note=scale_note)
ordered = all(h is not None for h in half) and all(a <= b for a, b in zip(half, half[1:]))
ledger.check("cha26-tl-sequential", measured=half, test="half-gain epoch non-decreasing with depth",
             passed=ordered, source=f"{SOURCE}, abstract, 'sequential' ({NOTE}, claim 6)",
             statement="deeper layers reach half of their TL gain no earlier than shallower ones (epoch per layer)",
             note=f"{scale_note}; mean epoch of gain per layer {np.round(centroid, 2).tolist()}")
ledger.check("cha26-surrogate-tracks-tl", measured=rho, test="> 0", source=f"{SOURCE}, Fig. 4 ({NOTE}, claim 7)",
             statement="Spearman correlation over epochs between S_l and TL_l, every hidden layer", note=scale_note)
charts.line(prog_long, "epoch", "fraction", color="layer", points=False, y_title="fraction of the final TL gain",
            title="Who linearises first? Each layer's TL gain, normalised")

# %%
ledger.table().iloc[-4:]

# %% [markdown]
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
# As the within-class variability collapses ($E\to0$, NC1) the bound, and with it TL, goes to 1. It
# needs collapse only along the directions $M^+$ reads, a weaker "linear" NC1. We follow both sides
# through the training run of section 4, together with $C=\operatorname{tr}\Sigma_W/\operatorname{tr}\Sigma_B$
# of the last hidden layer.

# %%
nc = pd.DataFrame([dict(epoch=e, C=s["c_last"], one_minus_TL=1 - s["tl"][-1], one_minus_bound=1 - s["bound"])
                   for e, s in snaps])
print(nc.iloc[[0, len(nc) // 4, len(nc) // 2, -1]].round(5).to_string(index=False))
nc_long = nc.melt(id_vars="epoch", value_vars=["one_minus_TL", "one_minus_bound", "C"], var_name="quantity")
nc_long = nc_long[nc_long.value > 0]
charts.line(nc_long, "epoch", "value", color="quantity", points=False, log_y=True, y_title="value (log scale)",
            title="Last hidden layer: within-class spread C, 1 - TL and its collapse bound")

# %%
gap = [s["tl"][-1] - s["bound"] for _, s in snaps]
rho_nc = float(spearmanr(nc.C, nc.one_minus_TL)[0])
ledger.check("layerwise-collapse-bounds-tl", measured=float(min(gap)), test=">= -1e-10",
             source=f"this book (makes precise the README of {SOURCE}: TL unifies neural collapse)",
             statement="TL of the last hidden layer >= 1 - ||E M^+ (I - 1 ybar^T)||^2 / ||Y_c||^2 at every epoch "
                       "(min of TL - bound)")
ledger.check("layerwise-collapse-drives-tl", measured=rho_nc, test="> 0",
             source=f"this book ({NOTE}, section 6)",
             statement="over training, within-class compression C and 1 - TL of the last hidden layer fall together "
                       "(Spearman)", note=f"final C = {nc.C.iloc[-1]:.3g}, final 1 - TL = {nc.one_minus_TL.iloc[-1]:.3g}")
ledger.table().iloc[-2:]

# %% [markdown]
# ## 6. Gram whitening: keep the Gram change, drop the rotation (Fig. 2)
#
# If the Gram is what a step teaches, the rest of the step should not matter. The authors' wrapper
# takes each SGD step $W_1\to W_2$ and replaces $W_2$ by $OW_2$ with $O=\operatorname{polar}(W_1W_2^\top)$,
# the rotation that brings $W_2$ closest to $W_1$: then $(OW_2)^\top OW_2=W_2^\top W_2$, so the Gram
# follows SGD exactly while the output-side rotation of every step is undone. The authors compute $O$
# by 10 quintic Newton–Schulz steps; `layerwise.optim.GramPreservingSGD` uses an exact SVD by default.
# Setting of the paper (MNIST): 2 hidden GELU layers of width 256, SGD with momentum 0.85, learning
# rate 0.01, batch 64, 20 epochs, 5 seeds, test accuracy with a ±2 std band. At the `book` preset:
# digits, width 128, learning rate 0.05 (digits has 40 times fewer steps per epoch than MNIST), 10
# epochs, 3 seeds, trained in float64 so that the Gram can be checked to float64 precision. A third
# arm uses the authors' Newton–Schulz polar factor.

# %%
start = time.perf_counter()
wsplit = data.load(cfg.white_dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train,
                   seed=cfg.seed)
wx_tr, wx_te = wsplit.train.x.double().to(cfg.device), wsplit.test.x.double()


def white_run(arm, run_seed):
    """Train one arm ("SGD", "whitened (SVD)", "whitened (Newton-Schulz)"); return test accuracy per epoch and
    the per-step Gram errors."""
    net = models.MLP(wx_tr.shape[1], cfg.white_width, cfg.white_depth, wsplit.train.n_classes, activation="gelu",
                     init="torch", seed=run_seed).double().to(cfg.device)
    made = []

    def make(params):
        if arm == "SGD":
            made.append(torch.optim.SGD(params, lr=cfg.white_lr, momentum=cfg.white_momentum))
        else:
            made.append(optim.GramPreservingSGD(params, lr=cfg.white_lr, momentum=cfg.white_momentum,
                                                polar="svd" if "SVD" in arm else "newton_schulz",
                                                track_gram_error=True))
        return made[0]

    h = train.fit(net, wx_tr, wsplit.train.labels, epochs=cfg.white_epochs, lr=cfg.white_lr, loss="ce",
                  batch_size=cfg.batch_size, make_optimizer=make, seed=run_seed,
                  callback=lambda e, m: accuracy(m, wx_te, wsplit.test.labels),
                  snapshot_epochs=range(1, cfg.white_epochs + 1))
    return [a for _, a in h.snapshots], getattr(made[0], "gram_errors", [])


arms = ["SGD", "whitened (SVD)", "whitened (Newton-Schulz)"]
white_rows, gram_errors = [], {a: [] for a in arms}
for arm in arms:
    for s in range(cfg.white_seeds):
        accs, errs = white_run(arm, cfg.seed + s)
        gram_errors[arm] += errs
        white_rows += [dict(arm=arm, seed=s, epoch=e, test_acc=a) for e, a in enumerate(accs)]
white = pd.DataFrame(white_rows)
band = white.groupby(["arm", "epoch"], as_index=False).test_acc.agg(["mean", "std"])
band["lo"], band["hi"] = band["mean"] - 2 * band["std"], band["mean"] + 2 * band["std"]
clock["whitening"] = time.perf_counter() - start
charts.line(band, "epoch", "mean", color="arm", band=("lo", "hi"), y_title="test accuracy (mean, +-2 std band)",
            title=f"Gram whitening against SGD ({cfg.white_dataset}, {cfg.white_seeds} seeds)")

# %%
final = white[white.epoch == cfg.white_epochs].groupby("arm").test_acc.agg(["mean", "std"])
print(final.round(4))
for arm in arms[1:]:
    print(f"{arm}: largest relative Gram change per step = {max(gram_errors[arm]):.2e}")
sgd_mean, sgd_std = final.loc["SGD", "mean"], final.loc["SGD", "std"]
white_mean = final.loc["whitened (SVD)", "mean"]
ledger.check("cha26-whitening-keeps-gram", measured=max(gram_errors["whitened (SVD)"]), test="<= 1e-10",
             source=f"{SOURCE}, Fig. 2 (note 03, claim 3)",
             statement="with an exact polar factor, ||W'^T W' - W^T W|| / ||W^T W|| at every step of every seed")
ledger.check("cha26-whitening-newton-schulz", measured=max(gram_errors["whitened (Newton-Schulz)"]), test="<= 1e-2",
             source=f"{SOURCE}, code (note 03, claim 3)",
             statement="with the authors' 10 Newton-Schulz steps the Gram is kept to about 1e-2 (largest error)")
ledger.check("cha26-whitening-matches-sgd", measured={"whitened": float(white_mean), "SGD": float(sgd_mean),
                                                     "SGD std": float(sgd_std)},
             test="whitened mean >= SGD mean - 2 SGD std", passed=bool(white_mean >= sgd_mean - 2 * sgd_std),
             source=f"{SOURCE}, Fig. 2 (note 03, claim 4)",
             statement="final test accuracy of Gram-whitened SGD lies within 2 std of (or above) plain SGD",
             note=f"{cfg.white_dataset} at preset {cfg.preset} (the paper: MNIST, SVHN, CIFAR)")
ledger.table().iloc[-3:]

# %% [markdown]
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
# narrow networks are rich and wide ones lazy. With a $1/\sqrt{\text{width}}$ output the hidden layers
# move less as the width grows, so we measure laziness directly as the relative change of the last
# hidden features, $\|H_T-H_0\|_F/\|H_0\|_F$. At the `book` preset the widths stop at 512 and we take
# 200 steps at learning rate 0.1: the same gradient-flow time $\eta T = 20$ at a tenth of the cost (at
# width 32, 2000 steps at 0.01 and 200 at 0.1 end at training MSE 1.147 and 1.153 and the same feature
# movement, 1.23).

# %%
start = time.perf_counter()
x_st, y_st = data.staircase(cfg.stair_n, cfg.stair_dim, seed=42)
stair_rows = []
for width in cfg.stair_widths:
    net = models.MLP(cfg.stair_dim, width, 3, 1, activation="relu", bias=False, init="lecun",
                     output_scale=width ** -0.5, seed=cfg.seed)
    h0 = features.layer_features(net, x_st)[2]

    def stair_snapshot(epoch, model, h0=h0):
        f = features.layer_features(model, x_st)
        return dict(**gram.ols_distances(f[2], y_st, f[3]), movement=float((f[2] - h0).norm() / h0.norm()))

    hist = train.fit(net, x_st, y_st, epochs=cfg.stair_steps, lr=cfg.stair_lr, loss="mse", callback=stair_snapshot,
                     snapshot_epochs=range(cfg.stair_log_every, cfg.stair_steps + 1, cfg.stair_log_every))
    stair_rows += [dict(width=width, step=e, mse=hist.loss[e], **s) for e, s in hist.snapshots]
stair = pd.DataFrame(stair_rows)
clock["staircase"] = time.perf_counter() - start
dist_titles = {"target_to_ols": "||y - y_ols||: target vs linear fit", "output_to_ols": "||y^ - y_ols||: output vs linear fit",
               "target_to_output": "||y - y^||: training residual"}
(charts.line(stair, "step", "target_to_ols", color="width", points=False, title=dist_titles["target_to_ols"])
 | charts.line(stair, "step", "output_to_ols", color="width", points=False, title=dist_titles["output_to_ols"])
 | charts.line(stair, "step", "target_to_output", color="width", points=False, title=dist_titles["target_to_output"]))

# %%
stair_end = stair[stair.step == stair.step.max()].set_index("width")[
    ["mse", "movement", "target_to_ols", "output_to_ols", "target_to_output"]]
print(stair_end.round(4))
move = stair_end.movement.to_numpy()
mse_end = stair_end.mse.to_numpy()
ledger.check("cha26-staircase-wide-is-lazy", measured=[float(v) for v in move], test="decreasing in width",
             passed=bool(np.all(np.diff(move) < 0)), source=f"{SOURCE}, staircase notebook comments",
             statement="relative movement of the last hidden features falls with width (narrow = rich, wide = lazy)",
             note=f"widths {cfg.stair_widths}, {cfg.stair_steps} steps at lr {cfg.stair_lr}")
ledger.check("cha26-staircase-mse-grows-with-width", measured=[float(v) for v in mse_end], test="increasing in width",
             passed=bool(np.all(np.diff(mse_end) > 0)), source=f"{SOURCE}, staircase notebook stored output",
             statement="final training MSE increases with width (stored: 1.74, 1.83, 1.89, 1.94 for 32..1024)",
             note=f"widths {cfg.stair_widths}")
ledger.table().iloc[-2:]

# %% [markdown]
# ## 8. Random labels (Fig. 12)
#
# The authors replace each training *and* test label, with probability $p$, by a uniformly drawn
# class, train a network with 3 hidden layers (SGD, learning rate 0.005, momentum 0.95, 200 epochs on
# CIFAR-10) and plot train TL per layer with the accuracies. Their script does not run as released
# (it calls the metric with the wrong signature) and the claimed pattern was not found, so what
# follows is this chapter's own measurement. At the `book` preset: 600 digits, GELU, width 64 and
# learning rate 0.02 with momentum 0.95, so that even $p=1$ can be memorised within 80 epochs. The
# width matters for reading TL: with $d$ features and $n$ samples, even random labels reach a TL of
# about $d/n$, so a width-256 network on a few hundred samples would sit near TL 0.5 to 0.9 whatever it
# learns; at $d=64$, $n=600$ the floor is about 0.1. TL is measured against the labels the network is
# trained on; test accuracy against the (equally noisy) test labels, as in the authors' script.

# %%
start = time.perf_counter()
rsplit = data.load(cfg.dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.rand_n_train,
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
                     loss="ce", batch_size=cfg.batch_size, callback=rand_snapshot, seed=cfg.seed,
                     snapshot_epochs=range(cfg.rand_log_every, cfg.rand_epochs + 1, cfg.rand_log_every))
    for e, s in hist.snapshots:
        rand_rows += [dict(p=p, epoch=e, layer=f"hidden {l + 1}", TL=v, train_acc=s["train_acc"],
                           test_acc=s["test_acc"]) for l, v in enumerate(s["tl"])]
rand = pd.DataFrame(rand_rows)
rand["label noise p"] = rand.p.map(lambda v: f"p = {v:g}")
clock["random labels"] = time.perf_counter() - start
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

# %%
rand_first = rand[rand.epoch == rand.epoch.min()].pivot(index="p", columns="layer", values="TL")
rand_end = rand[rand.epoch == rand.epoch.max()].pivot(index="p", columns="layer", values="TL")
accs_end = rand[(rand.epoch == rand.epoch.max()) & (rand.layer == "hidden 1")].set_index("p")[["train_acc", "test_acc"]]
print(f"TL per layer after {rand.epoch.min()} epochs:")
print(rand_first.round(3))
print(f"TL per layer after {rand.epoch.max()} epochs, with accuracies:")
print(pd.concat([rand_end, accs_end], axis=1).round(3))

# %% [markdown]
# ## 9. Grokking (Fig. 13)
#
# Modular addition $(a+b)\bmod p$ with the two operands one-hot and concatenated, 70% of all pairs for
# training. The authors (modulus 61, float64) train a ReLU network with 3 hidden layers using AdamW
# (learning rate $10^{-3}$, betas (0.9, 0.98), batch 32, 500 epochs) over weight decays 0 to 0.75,
# and plot the train TL per layer and the "TL gap" $\mathrm{TL}_3-\mathrm{TL}_2$ against the
# generalisation gap (train minus test accuracy). Their script does not run as released either, and no
# claimed pattern was found. At the `book` preset we use modulus 31, width 128 and full-batch AdamW
# at learning rate $3\times10^{-3}$ with weight decay 0 and 3 for 800 steps, a setting in which the
# delayed generalisation of grokking appears within a CPU budget (found by trying a few settings; the
# paper preset runs the authors' own). Everything is float64, as in the authors' script.

# %%
start = time.perf_counter()
gsplit = data.modular_addition(cfg.grok_modulus, train_fraction=cfg.grok_train_fraction, seed=cfg.seed)
g_tr, g_te = gsplit.train, gsplit.test
gx_tr, gx_te = g_tr.x.double().to(cfg.device), g_te.x.double()
grok_rows = []
for wd in cfg.grok_weight_decays:
    net = models.MLP(gx_tr.shape[1], cfg.grok_width, cfg.grok_depth, cfg.grok_modulus, activation="relu",
                     init="torch", seed=cfg.seed).double().to(cfg.device)

    def make(params, wd=wd):
        return torch.optim.AdamW(params, lr=cfg.grok_lr, betas=(0.9, 0.98), weight_decay=wd)

    def grok_snapshot(epoch, model):
        tl, _ = gram.model_target_linearity(model, gx_tr, g_tr.labels, n_classes=cfg.grok_modulus)
        return dict(tl=tl, train_acc=accuracy(model, gx_tr, g_tr.labels), test_acc=accuracy(model, gx_te, g_te.labels))

    hist = train.fit(net, gx_tr, g_tr.labels, epochs=cfg.grok_epochs, lr=cfg.grok_lr, loss="ce",
                     batch_size=cfg.grok_batch_size, make_optimizer=make, callback=grok_snapshot, seed=cfg.seed,
                     snapshot_epochs=range(cfg.grok_log_every, cfg.grok_epochs + 1, cfg.grok_log_every))
    for e, s in hist.snapshots:
        grok_rows.append(dict(weight_decay=f"wd = {wd:g}", wd=wd, epoch=e, train_acc=s["train_acc"],
                              test_acc=s["test_acc"], **{f"TL_{l + 1}": v for l, v in enumerate(s["tl"])}))
grok = pd.DataFrame(grok_rows)
n_hidden = cfg.grok_depth - 1
grok["TL_gap"] = grok[f"TL_{n_hidden}"] - grok[f"TL_{n_hidden - 1}"]
grok["generalisation_gap"] = grok.train_acc - grok.test_acc
clock["grokking"] = time.perf_counter() - start
grok_tl = grok.melt(id_vars=["weight_decay", "epoch"], value_vars=[f"TL_{l}" for l in range(1, n_hidden + 1)],
                    var_name="layer", value_name="TL")
grok_acc = grok.melt(id_vars=["weight_decay", "epoch"], value_vars=["train_acc", "test_acc"], var_name="split",
                     value_name="accuracy")
grok_chart = charts.scatter(grok, "generalisation_gap", "TL_gap", color="weight_decay",
                            x_title="generalisation gap (train - test accuracy)",
                            y_title=f"TL gap TL_{n_hidden} - TL_{n_hidden - 1}", title="TL gap against generalisation gap")
for wd in reversed(grok.weight_decay.unique()):
    row = (charts.line(grok_tl[grok_tl.weight_decay == wd], "epoch", "TL", color="layer", points=False,
                       x_title="step", y_title="train TL", title=f"{wd}: TL per hidden layer")
           | charts.line(grok_acc[grok_acc.weight_decay == wd], "epoch", "accuracy", color="split", points=False,
                         x_title="step", title=f"{wd}: accuracy")).resolve_scale(color="independent")
    grok_chart = row & grok_chart
grok_chart.resolve_scale(color="independent")

# %%
grok_summary = []
for wd, g in grok.groupby("wd"):
    fit_at = g[g.train_acc >= 0.99].epoch.min()
    gen_at = g[g.test_acc >= 0.9].epoch.min()
    rho_g = float(spearmanr(g.TL_gap, g.generalisation_gap)[0]) if g.generalisation_gap.nunique() > 1 else float("nan")
    grok_summary.append(dict(weight_decay=wd, train_99_at=fit_at, test_90_at=gen_at,
                             final_test_acc=g.test_acc.iloc[-1], final_TL_gap=g.TL_gap.iloc[-1],
                             spearman_TLgap_vs_gengap=rho_g,
                             **{f"final TL_{l}": g[f"TL_{l}"].iloc[-1] for l in range(1, n_hidden + 1)}))
grok_summary = pd.DataFrame(grok_summary)
print(grok_summary.round(4).to_string(index=False))
decayed = grok_summary[grok_summary.weight_decay > 0]
delay = (decayed.test_90_at - decayed.train_99_at).tolist() if len(decayed) else [float("nan")]
ledger.check("layerwise-grokking-occurs", measured=[float(d) for d in delay], test=">= 100",
             source=f"this book (the setting of {SOURCE}, Fig. 13)",
             statement="with weight decay, test accuracy reaches 90% at least 100 steps after train accuracy "
                       "reaches 99% (delay in steps, per weight decay > 0)",
             note=f"modulus {cfg.grok_modulus}; NaN = test accuracy never reached 90%")
ledger.table().iloc[-1:]

# %% [markdown]
# ## Verdicts
#
# Every claim this chapter tested, with the number measured in this run:

# %%
print(ledger.summary())
print("wall time per section (s):", {k: round(v, 1) for k, v in clock.items()})
ledger.save()
ledger.table()

# %% [markdown]
# ## What reproduced, and what did not
#
# *Numbers quoted here are from the `book` preset (digits and small generated data on a CPU, seed 0);
# the tables above are the record of the run you are reading.*
#
# - **The Feature Learning Equation is exact.** Every layer of tanh, ReLU and GELU networks, with and
#   without bias, under MSE and cross-entropy, matches to $1.4\times10^{-15}$ in float64 and
#   $5\times10^{-7}$ in float32. It is the chain rule, and it is what the rest of the argument rests on.
# - **One step: the Gram learns the virtual covariance to first order.** The split
#   $G^+-G=\Delta\mathrm{VC}+\eta^2(\cdot)$ holds to $6\times10^{-16}$ and the leftover halves with
#   $\eta$ (ratios 0.4999 to 0.5002). Over a training run the picture is less tidy: on the Swiss roll
#   the one-step cosine between the Gram change and the VC stays above 0.85, and after 100 steps the
#   accumulated Gram change has cosine 0.94 to 0.999 with the accumulated VC. Our own threshold of 0.95
#   fails on one seed of three: the first-order terms partly cancel from step to step while the
#   second-order terms add up.
# - **The Swiss-roll picture is a picture at a display gain.** At the authors' gain of 700 the $R^2$
#   of a linear fit from the cumulative virtual update to the roll parameter rises from 0.05 to 0.71
#   to 0.99 within 50 steps, as the figure suggests. At the true step size the inputs barely move and
#   the $R^2$ stays at 0.05: "unrolling" describes the direction of the accumulated input gradients, not
#   a displacement that happens.
# - **Target linearity rises with depth and over training** on digits (final TL 0.91, 0.94, 0.96,
#   0.98 from the first to the fourth hidden layer; gains 0.03 to 0.10), and the Gram surrogate tracks
#   it closely (Spearman 0.998 or more in every layer). "Sequential" is the weakest of these claims here:
#   all four layers reach half their gain at epoch 7, so the test passes only through ties; the mean
#   epoch of the gain does rise with depth, from 8.14 to 8.46, a shift of a third of an epoch. The
#   `paper` preset (CIFAR-10, learning rate $5\times10^{-4}$, 100 epochs) is where a larger separation
#   would have to show.
# - **Neural collapse forces TL to 1**, and the bound derived in section 5 makes this exact: TL of the
#   last hidden layer never falls below it, and $C$ and $1-\mathrm{TL}$ fall together (Spearman 0.998).
#   On digits in 30 epochs the collapse is partial ($C=0.18$), the bound is loose (0.78) and TL reaches
#   0.977.
# - **Gram whitening keeps the Gram to float64 precision** with an exact polar factor ($3\times10^{-15}$
#   per step); the authors' 10 Newton–Schulz steps keep it to $2.4\times10^{-3}$ on the square hidden
#   layer. Whitened training does not quite match SGD at book scale: 96.6% ± 0.3 against 97.2% ± 0.1
#   test accuracy after 10 epochs, below SGD's 2-std band by 0.3 points, with the gap closing over the
#   epochs. The Newton–Schulz arm ends at the same accuracy as the exact one although the weights
#   differ.
# - **Staircase.** The authors' comments (narrow = rich, wide = lazy) hold as a trend, not as an
#   ordering: from width 64 up the feature movement falls (1.40, 1.17, 1.02, 0.98), but width 32 moves
#   less (1.23); the training MSE rises from 1.15 at width 32 to 1.38 at 512 but dips from 64 to 128
#   (1.27, 1.24). The monotone tests therefore fail. Our MSEs are also
#   lower than the stored ones (1.15 against 1.74 at width 32), for reasons we could not pin down
#   (the data draw differs). The three distances say what "lazy" costs: the target becomes *more*
#   linear in the last hidden features of wide networks ($\|y-y_{ols}\|$ 32 → 16, more random features
#   fit more), but the network's own output drifts away from that linear read-out
#   ($\|\hat y-y_{ols}\|$ 11 → 33).
# - **Random labels** (no claim found; the script did not run). Memorising labels linearises them
#   layer by layer: at $p=1$ the last hidden layer's TL rises from the 0.10 floor to 0.58 and the first
#   to 0.31, with the same depth ordering as for clean labels (0.84, 0.90, 0.93), at every noise level.
# - **Grokking** (no claim found; the script did not run). With weight decay 3 the network fits the
#   training pairs by step 80 and generalises (test accuracy 90%) only at step 740; without weight
#   decay it never does. The generalising network ends with a last-hidden-layer TL of 0.85 against
#   0.37 for the memorising one, and its TL gap $\mathrm{TL}_3-\mathrm{TL}_2$ opens (0.39) as the
#   generalisation gap closes (Spearman between the two −0.53 over training). The last hidden layer's
#   TL climbs from 0.41 to 0.86 between steps 100 and 600, ahead of the test accuracy (0.003 to 0.71): in this
#   run, generalising coincides with the last hidden layer becoming linear in the target, which
#   memorising does not need. One modulus and one seed: a lead to follow up, not a law.
