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
# # The Gram beyond plain MLPs
#
# **The question.** Chapter 3 followed the weight Gram $G_l=W_l^\top W_l$ of plain MLPs trained with
# SGD: the Feature Learning Equation makes it the bridge between weight and feature updates, and target
# linearity (TL) rises layer by layer. Does the picture survive a different optimiser (Adam),
# weight sharing (convolutions), an unsupervised objective (a VAE), attention (a small transformer),
# and does it agree with the other Gram-centred account of feature learning, the *neural feature
# ansatz*?
#
# **Sources.** Cha, Beaglehole, Radhakrishnan, Lee, *The Weight Gram Matrix Captures Sequential Feature
# Linearization in Deep Networks*, arXiv:2605.06258 (Figs. 5, 6, 9, 10, 11), and its code
# `cth127/GramLin` (reference note 03). Only the abstract of the paper was readable: **none of its
# numbers for these figures were found**, so every number below is this book's own measurement and
# the claims test orderings and signs, not values. The neural feature ansatz: Radhakrishnan,
# Beaglehole, Pandit, Belkin, *Mechanism for feature learning in neural networks and backpropagation-free
# machine learning models* (Science 2024); the disk and yin-yang settings come from the
# extractor/tunnel project's NFA experiments (seed 003).
#
# **The measures** (one home each, in `layerwise.metrics.gram`). Target linearity of features
# $H\in\mathbb R^{n\times d}$ (uncentred, post-activation) against centred one-hot targets $Y_c$:
# $\mathrm{TL}=\|P_HY_c\|_F^2/\|Y_c\|_F^2$, the $R^2$ of least squares from features to labels. The
# average gradient outer product of the network $f$ with respect to the input $h_{l-1}$ of layer $l$,
#
# $$\mathrm{AGOP}_l=\frac1n\sum_{i=1}^n J_i^\top J_i,\qquad J_i=\frac{\partial f(x_i)}{\partial h_{l-1}}\in\mathbb R^{K\times d_{l-1}},$$
#
# computed with `torch.func` (a vmapped `jacrev`), and the NFA correlation
# $\rho(A,B)=\langle A,B\rangle_F/(\|A\|_F\|B\|_F)$ between $G_l$ and $\mathrm{AGOP}_l$.

# %% [markdown]
# **How the verdicts are decided.** Every claim about trained networks is measured on several seeds
# (seed $s$ = `seed` + $i$), judged per seed and then by a declared rule, and comes with a *control*
# measured in the same run with the same test: an untrained network of the same shape, TL against a
# fixed random relabelling, a network trained on shuffled labels, SGD stopped early, or a linear
# compression of the input. A claim whose control passes its test too is inconclusive, whatever the
# trained network does. The closing section lists every verdict with its reason, control and seed tally.

# %% tags=["parameters"]
# generated from chapters/ch03b.py (layerwise params 03b --write-cell); book values follow preset
preset = "book"
device = "auto"
seed = 0
results_dir = None
overrides = []  # names set with -p (papermill injects them): kept even where they equal the book value
# data
dataset = "mnist1d"  # data of the MLP target-linearity runs (Figs. 4, 9): mnist1d (wide TL window), digits, or a torchvision set with data_root
cnn_dataset = "digits"  # image data of the CNN runs (Fig. 6): digits (8x8), or a torchvision image set with data_root
data_root = ""  # folder holding torchvision data sets (paper preset)
download = False  # allow downloading a torchvision data set into data_root
n_train = 0  # training samples of the MLP and CNN runs (0 ＝ all; a stratified subset otherwise)
n_test = 0  # test samples of the MLP and CNN runs (0 ＝ all; a stratified subset otherwise)
n_seeds = 3  # seeds of the MLP, VAE, attention and NFA claims (seed, seed + 1, ...); claims need ≥ 3
# Adam vs SGD (Figs. 4 and 9)
tl_width = 256  # hidden width of the TL MLP (Linear + GELU)
tl_depth = 5  # weight matrices of the TL MLP (hidden layers + readout; the paper's 4 hidden layers ＝ 5)
tl_epochs = 40  # training epochs of the TL MLP
tl_batch_size = 64  # minibatch size of the TL MLP (the paper's 64)
sgd_lr = 0.01  # SGD learning rate of the TL MLP (the paper's 5e-4 is too slow for a short CPU run)
sgd_momentum = 0.8  # SGD momentum of the TL MLP (the paper's 0.8)
adam_lr = 0.001  # Adam learning rate of the TL MLP (torch defaults otherwise; the paper's were not found)
depth_slack = 0.01  # slack of 'final TL non-decreasing with depth' (note 03, claim 5): each step may fall by this much
tl_margin = 0.05  # how much more the last-minus-first hidden TL must be after training than in the untrained net
# convolutions (Fig. 6)
cnn_channels = 16  # channels of each of the three 3x3 convolutions of the small CNN
cnn_epochs = 12  # training epochs of the CNN runs
cnn_lr = 0.01  # learning rate of the CNN runs, SGD and Gram-preserving (the paper's plotted 0.01)
cnn_momentum = 0.95  # momentum of the CNN runs (the paper's 0.95)
cnn_batch_size = 64  # minibatch size of the CNN runs
cnn_n_seeds = 8  # paired seeds of the CNN comparison (same initialisation and batch order for both updates; ≥ 2 for the interval)
cnn_margin = 0.01  # how far the Gram-preserving final test accuracy may fall below SGD's (paired, mean over seeds)
# the VAE (Figs. 5 and 10)
vae_dataset = "digits"  # image data of the VAE (pixels in [0, 1], binarised at 0.5 for the Bernoulli decoder)
vae_width = 256  # hidden width of the VAE's encoder and decoder
vae_depth = 2  # hidden layers of the VAE's encoder (and of its mirror-image decoder)
latent_dim = 8  # dimension of the VAE's latent code
vae_epochs = 40  # training epochs of the VAE (Adam)
vae_lr = 0.001  # Adam learning rate of the VAE
vae_batch_size = 64  # minibatch size of the VAE
interp_steps = 8  # decoded points on each straight latent path between two class means
# attention (Fig. 11)
attention = "small"  # attention model: small (a transformer trained here) or bert (fine-tune BERT, needs bert_weights)
bert_weights = ""  # folder with BERT weights for attention＝bert
seq_len = 16  # tokens per sequence of the majority task
seq_classes = 4  # vocabulary size ＝ number of classes of the majority task
n_sequences = 2000  # training sequences of the majority task
d_model = 32  # width of the small transformer
n_heads = 2  # attention heads per block (divides d_model)
n_blocks = 3  # transformer blocks of the small transformer
attn_epochs = 25  # training epochs of the transformer (Adam)
attn_lr = 0.001  # Adam learning rate of the transformer
attn_batch_size = 64  # minibatch size of the transformer
# the neural feature ansatz
nfa_n = 1000  # points of the disk and yin-yang data of the NFA runs
nfa_width = 120  # hidden width of the NFA ReLU MLP (seed 003's setting)
nfa_depth = 4  # weight matrices of the NFA ReLU MLP
nfa_epochs = 150  # training epochs of the NFA runs
nfa_lr = 0.02  # SGD learning rate of the NFA runs
nfa_momentum = 0.9  # SGD momentum of the NFA runs
nfa_batch_size = 100  # minibatch size of the NFA runs
n_snapshots = 6  # measurements over training of the VAE, transformer and NFA runs (plus initialisation)

# %%
import resource

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

import altair as alt
import layerwise
from layerwise import charts, claims, data, features, models, optim, train
from layerwise.chapters import ch03b
from layerwise.claims import Control, glue
from layerwise.metrics import gram

cfg = layerwise.config.resolve_notebook("03b", globals())
charts.enable()
ledger = claims.Ledger(cfg)
SOURCE = "Cha et al. 2026"
seeds = [cfg.seed + i for i in range(cfg.n_seeds)]
cfg.table()

# %% tags=["hide-input"]
def snapshot_epochs(epochs):
    """Return about n_snapshots + 1 evenly spaced epochs from 0 to `epochs` (0 is recorded by fit)."""
    return sorted({int(round(e)) for e in np.linspace(0, epochs, cfg.n_snapshots + 1)})


def load_split(name):
    split = data.load(name, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train, seed=cfg.seed)
    if cfg.n_test and cfg.n_test < len(split.test):
        split = data.Split(split.train, split.test.subset(data.stratified_subset(split.test.labels, cfg.n_test, cfg.seed)))
    return split


def random_labels(n, n_classes, run_seed):
    """A fixed random relabelling (the control labels: nothing in the data predicts them)."""
    return torch.randint(0, n_classes, (n,), generator=torch.Generator().manual_seed(10_000 + run_seed))


def by_seed(rows, key):
    return {r["seed"]: r[key] for r in rows}


split = load_split(cfg.dataset)
print(f"{cfg.dataset}: {len(split.train)} training and {len(split.test)} test samples, "
      f"{split.train.x.shape[1]} features")

# %% [markdown]
# ## 1. Adam against SGD (Figs. 4 and 9)
#
# The paper's Fig. 4 trains an MLP with 4 hidden layers (Linear + GELU, width 256, batch 64) with SGD
# (lr $5\cdot10^{-4}$, momentum 0.8) and records TL per hidden layer after every epoch; Fig. 9 is the
# same script with Adam, whose hyperparameters were not found. Here: the same network, cross-entropy,
# SGD (lr and momentum in the table above; the paper's lr is too slow for a short CPU run) against Adam
# (torch defaults, lr above), on MNIST-1D by default. Why MNIST-1D: the random GELU features of an
# untrained width-256 network already have TL ≈ 0.88 on the 8×8 digits, which leaves a window of a few
# hundredths for training to act in; on MNIST-1D the untrained features sit far lower (the baseline is
# printed below), so a rise and an ordering have room to show.
#
# Three readings of the paper's figures (note 03, claims 5 and 6) are tested per seed:
# - **last hidden > first hidden** after training, by at least `tl_margin` more than in the untrained
#   network of the same seed (a random-feature network can already grow TL a little with depth);
# - **non-decreasing with depth** (each step may fall by `depth_slack`), with the untrained network as
#   control;
# - **sequential**: the time at which a layer covers half of its final TL gain increases strictly with
#   depth (`landmarks.half_gain_epoch`). Layers that reach it in the same epoch are resolved by replaying
#   that epoch one step at a time from its checkpoint (`ch03b.refined_half_gain`); a layer whose TL never
#   gains has no half-gain time. The control is the same analysis of TL against a fixed random relabelling
#   of the training set: if that curve also shows a depth order, the order says nothing about the target.

# %% tags=["hide-input"]
def tl_run(optimizer, run_seed):
    """Train the TL network with `optimizer` from seed `run_seed`; return its curves, landmarks and accuracy."""
    x, y = split.train.x.to(cfg.device), split.train.labels
    y_rand = random_labels(len(y), split.train.n_classes, run_seed)
    net = models.MLP(x.shape[1], cfg.tl_width, cfg.tl_depth, split.train.n_classes, activation="gelu",
                     init="torch", seed=run_seed).to(cfg.device)
    lr = cfg.sgd_lr if optimizer == "sgd" else cfg.adam_lr
    opt = (torch.optim.SGD(net.parameters(), lr=lr, momentum=cfg.sgd_momentum) if optimizer == "sgd"
           else torch.optim.Adam(net.parameters(), lr=lr))

    def measure(m, layers=None):
        hidden = features.layer_features(m, x)[1:-1]
        return [gram.target_linearities(hidden[l], [y, y_rand]) for l in (layers or range(len(hidden)))]

    kw = dict(batch_size=cfg.tl_batch_size, lr=lr, seed=run_seed, loss="ce")
    run = ch03b.train_epoch_checkpoints(net, opt, x, y, epochs=cfg.tl_epochs, measure=measure, **kw)
    acc = float((features.layer_features(net, split.test.x.to(cfg.device))[-1].argmax(1).cpu()
                 == split.test.labels).double().mean())

    def curves(which):
        return [[v[which] for v in row] for row in run.values]

    def replay(which):
        return lambda e, layers: [[v[which] for v in row] for row in
                                  ch03b.replay_epoch(run, net, opt, x, y, e, measure=lambda m: measure(m, layers), **kw)]

    true, rand = curves(0), curves(1)
    return dict(optimizer=optimizer, seed=run_seed, test_acc=acc, epochs=run.epochs, tl=true, tl_rand=rand,
                half_gain=ch03b.refined_half_gain(run.epochs, true, replay(0)),
                half_gain_rand=ch03b.refined_half_gain(run.epochs, rand, replay(1)),
                init=ch03b.depth_profile_stats(true[0]), final=ch03b.depth_profile_stats(true[-1]))


# %%
tl_runs = [tl_run(opt_name, s) for opt_name in ("sgd", "adam") for s in seeds]

# %%
tl_df = pd.DataFrame([dict(optimizer=r["optimizer"], seed=r["seed"], epoch=e, layer=f"h{l + 1}", TL=v)
                      for r in tl_runs for e, row in zip(r["epochs"], r["tl"]) for l, v in enumerate(row)])
first = tl_df[tl_df.seed == cfg.seed]
(charts.line(first[first.optimizer == "sgd"], "epoch", "TL", color="layer", points=False,
             title=f"SGD: TL per hidden layer (seed {cfg.seed})")
 | charts.line(first[first.optimizer == "adam"], "epoch", "TL", color="layer", points=False,
               title=f"Adam: TL per hidden layer (seed {cfg.seed})"))

# %%
tl_table = pd.DataFrame([dict(optimizer=r["optimizer"], seed=r["seed"], test_acc=r["test_acc"],
                              **{f"TL h{l + 1} init": v for l, v in enumerate(r["tl"][0])},
                              **{f"TL h{l + 1} final": v for l, v in enumerate(r["tl"][-1])},
                              half_gain=[None if t is None else round(t, 3) for t in r["half_gain"]],
                              half_gain_random_labels=[None if t is None else round(t, 3) for t in r["half_gain_rand"]])
                         for r in tl_runs])
baseline = float(np.mean([r["tl"][0] for r in tl_runs]))
glue("tl_baseline", ledger.record("tl_random_feature_baseline", baseline), ".3f")
glue("tl_baseline_range", f"{min(min(r['tl'][0]) for r in tl_runs):.3f}-{max(max(r['tl'][0]) for r in tl_runs):.3f}")
tl_table.style.format(precision=3)

# %% [markdown]
# The untrained networks' hidden TL (the random-feature baseline) lies in {glue:text}`tl_baseline_range`
# (mean {glue:text}`tl_baseline`). Half-gain times are in epochs; a fractional time comes from the
# step-by-step replay of an epoch that two layers share, and a missing one (None) marks a layer whose TL
# never rose.

# %% tags=["hide-input"]
section = "1. Adam against SGD (Figs. 4 and 9)"
for name in ("sgd", "adam"):
    runs = [r for r in tl_runs if r["optimizer"] == name]
    setting = f"{cfg.dataset}, {cfg.tl_depth - 1} hidden GELU layers of {cfg.tl_width}, {cfg.tl_epochs} epochs"
    ledger.claim(f"tl-grows-with-depth-{name}", source=f"{SOURCE}, Figs. 4 and 9 (note 03, claim 5)",
                 statement=f"{name}: after training, the last hidden layer's TL exceeds the first's "
                           f"(TL_4 - TL_1 > 0), by at least {cfg.tl_margin} more than in the untrained network",
                 test="> 0", margin=f">= {cfg.tl_margin}",
                 values={r["seed"]: r["final"]["last - first"] for r in runs},
                 control=Control("untrained network (same seed)", {r["seed"]: r["init"]["last - first"] for r in runs}),
                 rule="all", section=section, note=setting,
                 explain={"reproduced": "Training makes the deepest hidden layer the most target-linear, beyond "
                                        "what the random-feature network already shows.",
                          "not reproduced": "Training does not open a depth gap in TL beyond the untrained one.",
                          "inconclusive": "Too few seeds, or the seeds disagree on a depth gap beyond the untrained one."})
    ledger.claim(f"tl-non-decreasing-in-depth-{name}", source=f"{SOURCE}, Figs. 4 and 9 (note 03, claim 5)",
                 statement=f"{name}: after training, TL is non-decreasing with depth: the smallest step "
                           f"TL_(l+1) - TL_l is >= -{cfg.depth_slack}",
                 test=f">= -{cfg.depth_slack}", values={r["seed"]: r["final"]["min step"] for r in runs},
                 control=Control("untrained network (same seed)", {r["seed"]: r["init"]["min step"] for r in runs}),
                 rule="all", section=section, note=setting,
                 explain={"inconclusive": "A depth ordering within the slack is not evidence of training when the "
                                          "control has it too (or the seeds disagree)."})
    shown, complete, missing = ch03b.order_values(by_seed(runs, "half_gain"))
    _, control_complete, _ = ch03b.order_values(by_seed(runs, "half_gain_rand"))
    ledger.claim(f"tl-sequential-{name}", source=f"{SOURCE}, Figs. 4 and 9 (note 03, claim 6, inference)",
                 statement=f"{name}: the time at which a hidden layer covers half of its TL gain increases strictly "
                           "with depth (epochs, refined to the step where layers share an epoch)",
                 test="increasing", values=shown,
                 control=Control("TL against a fixed random relabelling, same analysis (seeds where every layer "
                                 "gains)", control_complete),
                 requires={"every hidden layer's TL rises on every seed ("
                           + ("; ".join(f"seed {s}: layer(s) {ls} never gain, shown as -1" for s, ls in missing.items())
                              or "all do") + ")": not missing},
                 rule="all", section=section, note=setting,
                 explain={"reproduced": "Deeper layers linearise later, and TL against random labels shows no such order.",
                          "not reproduced": "The half-gain times are not ordered by depth.",
                          "inconclusive": "Ties, disagreeing seeds, a layer that never gains, or a control with the "
                                          "same order leave the sequence undecided."})
ledger.table().iloc[-6:]

# %% [markdown]
# ## 2. Convolutions: the Gram-preserving update (Fig. 6)
#
# The small CNN of the authors' `whiten_cnn.py`: three 3×3 convolutions, padding 1, ReLU, max-pooling
# after the first and the third, then a linear classifier. The Gram-preserving update
# (`optim.GramPreservingSGD`, note 03 section 4) rotates every weight after each SGD step,
# $W'=\operatorname{polar}(W_{\text{old}}W^\top)\,W$, with conv kernels reshaped to out × (in·3·3); the
# update keeps each step's change of $W^\top W$ and discards the rest. The paper plots test accuracy
# per epoch, mean ± 2 std over 5 seeds, on SVHN/CIFAR-10/100 (SGD momentum 0.95, lr 0.01, 20 epochs;
# the `paper` preset runs CIFAR-10). The book runs the 8×8 digits as 1-channel images.
#
# The comparison is **paired**: for each seed both updates start from the same initialisation and see
# the same batches, and the claim is on the per-seed difference of final test accuracy
# (Gram-preserving − SGD), whose mean must stay above −`cnn_margin` over the whole 95% bootstrap interval.
# The control is plain SGD stopped at half the epochs, measured the same way against full SGD: if a
# half-trained network also "matches" SGD, the test cannot tell a good update from a weak one.

# %% tags=["hide-input"]
cnn_split = load_split(cfg.cnn_dataset)
shape = data.image_shape(cfg.cnn_dataset)


def cnn_run(gram_preserving, run_seed):
    net = models.SmallCNN(shape, cnn_split.train.n_classes, channels=cfg.cnn_channels, seed=run_seed).to(cfg.device)
    opt_box = []

    def make(params):
        opt_box.append(optim.GramPreservingSGD(params, lr=cfg.cnn_lr, momentum=cfg.cnn_momentum, track_gram_error=True))
        return opt_box[-1]

    test_x, test_y = cnn_split.test.x.to(cfg.device), cnn_split.test.labels.to(cfg.device)

    def accuracy(epoch, m):
        with torch.no_grad():
            m.eval()
            acc = float((m(test_x).argmax(1) == test_y).double().mean())
            m.train()
        return acc

    hist = train.fit(net, cnn_split.train.x, cnn_split.train.labels, loss="ce", lr=cfg.cnn_lr, momentum=cfg.cnn_momentum,
                     batch_size=cfg.cnn_batch_size, epochs=cfg.cnn_epochs, seed=run_seed,
                     make_optimizer=make if gram_preserving else None, callback=accuracy,
                     snapshot_epochs=range(1, cfg.cnn_epochs + 1))
    gram_error = max(opt_box[0].gram_errors) if opt_box else float("nan")
    return [dict(update="Gram-preserving" if gram_preserving else "SGD", seed=run_seed, epoch=e, test_acc=a,
                 gram_error=gram_error) for e, a in hist.snapshots]


# %%
cnn_seeds = [cfg.seed + i for i in range(cfg.cnn_n_seeds)]
cnn_df = pd.DataFrame([row for s in cnn_seeds for gp in (False, True) for row in cnn_run(gp, s)])

# %%
cnn_band = cnn_df.groupby(["update", "epoch"]).test_acc.agg(["mean", "std"]).reset_index().fillna(0.0)
cnn_band["lo"], cnn_band["hi"] = cnn_band["mean"] - 2 * cnn_band["std"], cnn_band["mean"] + 2 * cnn_band["std"]
charts.line(cnn_band, "epoch", "mean", color="update", band=("lo", "hi"), points=False, y_title="test accuracy",
            title=f"Small CNN on {cfg.cnn_dataset}: mean ± 2 std over {cfg.cnn_n_seeds} seed(s)")

# %% tags=["hide-input"]
acc = cnn_df.pivot_table(index=["seed", "epoch"], columns="update", values="test_acc")
half = max(cfg.cnn_epochs // 2, 1)
cnn_pairs = pd.DataFrame({"SGD final": acc.xs(cfg.cnn_epochs, level="epoch")["SGD"],
                          "Gram-preserving final": acc.xs(cfg.cnn_epochs, level="epoch")["Gram-preserving"],
                          f"SGD at epoch {half}": acc.xs(half, level="epoch")["SGD"]})
cnn_pairs["GP - SGD"] = cnn_pairs["Gram-preserving final"] - cnn_pairs["SGD final"]
cnn_pairs["half-trained SGD - SGD"] = cnn_pairs[f"SGD at epoch {half}"] - cnn_pairs["SGD final"]
section = "2. Convolutions: the Gram-preserving update (Fig. 6)"
ledger.sanity("gram-preserving-update-keeps-the-gram", measured=float(cnn_df.gram_error.max()), test="<= 1e-5",
              statement="every Gram-preserving step keeps W^T W of every (reshaped) weight: largest relative "
                        "change over all steps and seeds (exact polar factor; float32 weights, so 1e-5)", section=section)
ledger.claim("gram-preserving-cnn-matches-sgd", source=f"{SOURCE}, Fig. 6 (note 03, claim 4 for the CNN)",
             statement=f"keeping only the Gram change of each SGD step trains the small CNN as well as SGD: the "
                       f"paired difference of final test accuracy (Gram-preserving - SGD) is >= -{cfg.cnn_margin}",
             test=f">= -{cfg.cnn_margin}", rule="mean-ci", values=cnn_pairs["GP - SGD"].to_dict(),
             control=Control(f"SGD stopped at epoch {half}, minus full SGD", cnn_pairs["half-trained SGD - SGD"].to_dict()),
             section=section, note=f"{cfg.cnn_dataset} as {shape} images, {cfg.cnn_epochs} epochs (paper: SVHN/CIFAR, 20 epochs, 5 seeds)",
             explain={"reproduced": "The Gram-preserving update loses no more than the margin against SGD, and the "
                                    "test does tell a half-trained network apart.",
                      "not reproduced": "The Gram-preserving update trains the CNN measurably worse than SGD.",
                      "inconclusive": "The interval of the paired difference straddles the margin, or the half-trained "
                                      "control would pass too."})
cnn_pairs.style.format(precision=4)

# %% [markdown]
# ## 3. A VAE: is the latent linearised toward the label it never sees? (Figs. 5 and 10)
#
# A Gaussian-latent MLP VAE (encoder: ReLU layers, then mean and log-variance heads; a mirror-image
# decoder; Adam) trained on the digit images without labels. The reconstruction loss is the authors'
# binary cross-entropy (a Bernoulli decoder, `models.VAE(likelihood="bernoulli")`): the book's training
# loop computes it as a two-class cross-entropy per pixel, which needs binary pixels, so the images are
# binarised at 0.5 (binarised MNIST is the usual VAE benchmark; the authors use MNIST's grey levels), and
# the KL term is divided by the number of pixels so that the loss is the negative ELBO over the pixel
# count. The authors' `vae_target_linearity.py` measures TL of the encoder's layers against the class
# label over training (Fig. 10); the architecture here is the book's choice. We record TL of each
# encoder layer and of the latent mean $\mu$ on the training set at a few epochs.
#
# A VAE that learned only to compress its input would also make its latent more label-linear than a random
# encoder, so the claim asks for more: the trained latent must beat the TL of the input's top
# `latent_dim` principal components (the best linear compression to the same size), given as the control
# with a margin of 0.

# %% tags=["hide-input"]
vae_split = (data.digits(seed=cfg.seed, standardize=False) if cfg.vae_dataset == "digits"
             else load_split(cfg.vae_dataset))  # pixels in [0, 1]
if cfg.n_train and cfg.n_train < len(vae_split.train):
    vae_split = data.Split(vae_split.train.subset(data.stratified_subset(vae_split.train.labels, cfg.n_train, cfg.seed)),
                           vae_split.test)
vx = (vae_split.train.x > 0.5).float()
vy = vae_split.train.labels
n_cls = vae_split.train.n_classes
encoder_names = [f"e{l}" for l in range(1, cfg.vae_depth + 1)] + ["mu"]
pca_scores = torch.linalg.svd(vx - vx.mean(0), full_matrices=False)[0][:, :cfg.latent_dim]  # top principal components
pca_tl = gram.target_linearity(pca_scores, vy)
glue("vae_pca_tl", pca_tl, ".3f")


def vae_run(run_seed):
    vae = models.VAE(vx.shape[1], width=cfg.vae_width, depth=cfg.vae_depth, latent_dim=cfg.latent_dim, seed=run_seed,
                     likelihood="bernoulli").to(cfg.device)

    def encoder_tl(epoch, m):
        feats = features.layer_features(m, vx)
        return [gram.target_linearity(feats[l], vy) for l in range(1, m.latent_index + 1)]

    hist = train.fit(vae, vx, vx.long(), loss="ce", optimizer="adam", lr=cfg.vae_lr, batch_size=cfg.vae_batch_size,
                     epochs=cfg.vae_epochs, seed=run_seed, extra_loss=models.VAE.kl_per_output, callback=encoder_tl,
                     snapshot_epochs=snapshot_epochs(cfg.vae_epochs))
    return vae, hist


# %%
vae_models, vae_rows = {}, []
for s in seeds:
    vae_models[s], hist = vae_run(s)
    vae_rows += [dict(seed=s, epoch=e, layer=name, TL=v) for e, tl in hist.snapshots for name, v in zip(encoder_names, tl)]
    print(f"seed {s}: loss (per-pixel BCE + KL / pixels) {hist.loss[0]:.3f} before training -> {hist.loss[-1]:.3f}")
vae_tl = pd.DataFrame(vae_rows)

# %%
charts.line(vae_tl[vae_tl.seed == cfg.seed], "epoch", "TL", color="layer",
            title=f"VAE encoder: TL against the (unseen) digit label (seed {cfg.seed})")

# %%
vae_ends = vae_tl[vae_tl.epoch.isin([0, cfg.vae_epochs])].pivot_table(index=["seed", "layer"], columns="epoch", values="TL")
vae_ends.columns = ["TL at init", "TL after training"]
mu_tl = vae_ends.xs("mu", level="layer")
section = "3. A VAE: is the latent linearised toward the label it never sees? (Figs. 5 and 10)"
ledger.claim("vae-latent-tl-rises", source=f"{SOURCE}, Fig. 10",
             statement="training the VAE raises the TL of its latent mean w.r.t. the unseen label (final - initial "
                       f"> 0), beyond the TL of the input's top {cfg.latent_dim} principal components (margin 0)",
             test="> 0", margin="> 0",
             values=(mu_tl["TL after training"] - mu_tl["TL at init"]).to_dict(),
             control=Control(f"the input's top-{cfg.latent_dim} principal components (TL minus the untrained latent's)",
                             (pca_tl - mu_tl["TL at init"]).to_dict()),
             rule="all", section=section, note=f"{cfg.vae_dataset} binarised, latent_dim={cfg.latent_dim}, {cfg.vae_epochs} epochs",
             explain={"reproduced": "The VAE's latent is more label-linear than a linear compression of the input.",
                      "not reproduced": "The latent's TL does not rise past what a linear compression of the input "
                                        "already gives: the rise is compression, not linearisation toward the label.",
                      "inconclusive": "Too few seeds, or the seeds disagree."})
vae_ends.style.format(precision=3)

# %% [markdown]
# **Interpolation.** Between two classes $a,b$ we decode the straight line between their mean latent
# codes, $z(t)=(1-t)\bar\mu_a+t\bar\mu_b$ (the decoder's pixel probabilities). The strips below show a
# few class pairs for the first seed.

# %% tags=["hide-input"]
t = torch.linspace(0, 1, cfg.interp_steps)


def class_means(vae):
    vae.eval()
    with torch.no_grad():
        mu_all = vae.encode(vx.to(cfg.device))[0].cpu()
    return mu_all, torch.stack([mu_all[vy == k].mean(0) for k in range(n_cls)])


def decode_path(vae, means, a, b):
    with torch.no_grad():
        z = (1 - t)[:, None] * means[a] + t[:, None] * means[b]
        return vae.decode(z.to(cfg.device)).cpu()


img_c, img_h, img_w = data.image_shape(cfg.vae_dataset)
_, means0 = class_means(vae_models[cfg.seed])
pix = []
for a, b in [(0, 1), (1, 7), (3, 8), (4, 9), (2, 5)]:
    imgs = decode_path(vae_models[cfg.seed], means0, a, b).reshape(-1, img_c, img_h, img_w).mean(1)
    for s_i, img in enumerate(imgs):
        for r in range(img_h):
            for c in range(img_w):
                pix.append(dict(pair=f"{a}→{b}", step=s_i, row=r, col=c, value=float(img[r, c])))
alt.Chart(pd.DataFrame(pix)).mark_rect().encode(
    x=alt.X("col:O", axis=None), y=alt.Y("row:O", axis=None),
    color=alt.Color("value:Q", scale=alt.Scale(scheme="greys"), legend=None),
).properties(width=45, height=45).facet(row=alt.Row("pair:N", title=None), column=alt.Column("step:O", title="interpolation step"))

# %% [markdown]
# **Does latent linearity predict smooth interpolation?** For every pair of classes we measure (i) the
# *pairwise latent linearity*, TL of $\mu$ on the samples of classes $a$ and $b$ against the binary
# label, and (ii) the *straightness* of the decoded path, $\|x(1)-x(0)\|/\sum_t\|x(t_{i+1})-x(t_i)\|$
# (1: the decoded images move along a straight line in pixel space, i.e. a cross-fade; lower:
# detours through other shapes), `gram.path_straightness`. The paper's reading (*inference*: its
# statement was not found) predicts a positive rank correlation across pairs. Control: the same
# correlation with the pairwise TL of the raw (binarised) pixels in place of the latent's. If the raw
# input's class separability predicts straightness as well, the latent adds nothing.

# %% tags=["hide-input"]
pair_rows = []
for s in seeds:
    mu_all, means = class_means(vae_models[s])
    for a in range(n_cls):
        for b in range(a + 1, n_cls):
            mask = (vy == a) | (vy == b)
            pair_rows.append(dict(seed=s, pair=f"{a}-{b}",
                                  latent_TL=gram.target_linearity(mu_all[mask], (vy[mask] == b).long()),
                                  input_TL=gram.target_linearity(vx[mask], (vy[mask] == b).long()),
                                  straightness=gram.path_straightness(decode_path(vae_models[s], means, a, b))))
pairs = pd.DataFrame(pair_rows)
rho = {s: float(spearmanr(g.latent_TL, g.straightness).statistic) for s, g in pairs.groupby("seed")}
rho_input = {s: float(spearmanr(g.input_TL, g.straightness).statistic) for s, g in pairs.groupby("seed")}
charts.scatter(pairs[pairs.seed == cfg.seed], "latent_TL", "straightness", x_title="pairwise TL of the latent mean",
               y_title="straightness of the decoded path", title=f"Latent linearity vs smooth interpolation (seed {cfg.seed})")

# %%
ledger.claim("vae-linearity-predicts-interpolation",
             source=f"{SOURCE}, Fig. 5 (inference: the paper's statement was not found)",
             statement="class pairs whose latents are more target-linear interpolate along straighter decoded paths "
                       "(Spearman over class pairs > 0)",
             test="> 0", values=rho, control=Control("pairwise TL of the raw pixels instead of the latent", rho_input),
             rule="all", section=section,
             explain={"not reproduced": "Straightness in pixel space does not follow latent linearity; well-separated "
                                        "pairs are far apart in the latent, and a straight path between them can cross "
                                        "other classes (a confound the test does not remove).",
                      "inconclusive": "The seeds disagree, or the raw input predicts straightness as well."})
pd.DataFrame({"Spearman (latent TL)": rho, "Spearman (pixel TL, control)": rho_input}).style.format(precision=3)

# %% [markdown]
# ## 4. Attention (Fig. 11's question on a model that trains here)
#
# The paper fine-tunes BERT and records TL of the [CLS] representation per layer (Fig. 11); that is
# the `paper` preset here (`attention="bert"`, weights read from `bert_weights`; without them the
# chapter stops with the steps to get them). The `book` preset trains a small pre-LayerNorm
# transformer encoder from scratch on a generated task: sequences of tokens over $K$ symbols,
# labelled by their most frequent token (`data.majority_sequences`). A [CLS] token is prepended; the
# classifier reads it after the last block. TL of the [CLS] vector is recorded after the embedding
# (block 0, a constant vector: TL = 0) and after every block. Controls: the untrained transformer of the
# same seed for the depth ordering, and TL against a fixed random relabelling for the rise over training.

# %% tags=["hide-input"]
seqs = data.majority_sequences(cfg.n_sequences, seq_len=cfg.seq_len, n_classes=cfg.seq_classes, seed=cfg.seed)
seqs_test = data.majority_sequences(max(cfg.n_sequences // 4, 50), seq_len=cfg.seq_len, n_classes=cfg.seq_classes,
                                    seed=cfg.seed + 1)


def attn_run(run_seed):
    if cfg.attention == "bert":
        net = models.BertCLS(cfg.bert_weights, cfg.seq_classes, seed=run_seed).to(cfg.device)
    else:
        net = models.SmallTransformer(cfg.seq_classes, cfg.seq_len, cfg.seq_classes, d_model=cfg.d_model,
                                      n_heads=cfg.n_heads, depth=cfg.n_blocks, seed=run_seed).to(cfg.device)
    y_rand = random_labels(len(seqs.labels), cfg.seq_classes, run_seed)

    def cls_tl(epoch, m):
        feats = features.layer_features(m, seqs.x, batch_size=256)
        return [gram.target_linearities(h, [seqs.labels, y_rand]) for h in feats[:-1]]

    hist = train.fit(net, seqs.x, seqs.labels, loss="ce", optimizer="adam", lr=cfg.attn_lr,
                     batch_size=cfg.attn_batch_size, epochs=cfg.attn_epochs, seed=run_seed, callback=cls_tl,
                     snapshot_epochs=snapshot_epochs(cfg.attn_epochs))
    acc = float((features.layer_features(net, seqs_test.x)[-1].argmax(1) == seqs_test.labels).double().mean())
    return hist, acc


# %%
attn_rows, attn_acc = [], {}
for s in seeds:
    hist, attn_acc[s] = attn_run(s)
    attn_rows += [dict(seed=s, epoch=e, block=b, TL=v[0], TL_random=v[1]) for e, tl in hist.snapshots for b, v in enumerate(tl)]
attn_df = pd.DataFrame(attn_rows)
print(f"test accuracy on fresh sequences: {attn_acc} (chance ≈ {1 / cfg.seq_classes:.2f})")
a0 = attn_df[attn_df.seed == cfg.seed]
(charts.line(a0.assign(block="block " + a0.block.astype(str)), "epoch", "TL", color="block",
             title=f"[CLS] TL per block over training (seed {cfg.seed})")
 | charts.by_layer(a0[a0.epoch == a0.epoch.max()], "TL", layer="block", y_title="TL after training",
                   title="[CLS] TL across blocks, end of training"))

# %% tags=["hide-input"]
section = "4. Attention (Fig. 11's question on a model that trains here)"
ends = {e: {s: g.sort_values("block") for s, g in attn_df[attn_df.epoch == e].groupby("seed")}
        for e in (0, attn_df.epoch.max())}
init, final = ends[0], ends[attn_df.epoch.max()]
ledger.claim("attention-cls-tl-grows-with-depth", source=f"{SOURCE}, Fig. 11 (question transposed to a small transformer)",
             statement=f"after training, TL of the [CLS] vector is non-decreasing from block to block (smallest step "
                       f">= -{cfg.depth_slack})",
             test=f">= -{cfg.depth_slack}",
             values={s: ch03b.depth_profile_stats(g.TL.tolist())["min step"] for s, g in final.items()},
             control=Control("untrained transformer (same seed)",
                             {s: ch03b.depth_profile_stats(g.TL.tolist())["min step"] for s, g in init.items()}),
             rule="all", section=section, note=f"{cfg.attention} model, test accuracy {attn_acc}",
             explain={"inconclusive": "The untrained transformer's [CLS] TL already grows with depth (residual "
                                      "stream plus random attention), so the ordering is not evidence of training."})
ledger.claim("attention-cls-tl-rises", source=f"{SOURCE}, Fig. 11",
             statement="training raises the [CLS] TL of every block (smallest final - initial over blocks 1..B > 0)",
             test="> 0",
             values={s: float((final[s].TL.values - init[s].TL.values)[1:].min()) for s in final},
             control=Control("TL against a fixed random relabelling, same blocks and epochs",
                             {s: float((final[s].TL_random.values - init[s].TL_random.values)[1:].min()) for s in final}),
             rule="all", section=section,
             explain={"reproduced": "Every block's [CLS] vector becomes more linear in the label, not in arbitrary labels.",
                      "not reproduced": "Some block does not gain TL over training."})
attn_df[attn_df.epoch.isin([0, attn_df.epoch.max()])].pivot_table(index=["seed", "block"], columns="epoch",
                                                                    values=["TL", "TL_random"]).style.format(precision=3)

# %% [markdown]
# ## 5. The neural feature ansatz, and how it meets the Gram learning equation
#
# Radhakrishnan et al.'s *neural feature ansatz* (NFA) states that after training, the Gram of each
# layer's weights is proportional to the AGOP of the network with respect to that layer's input:
# $W_l^\top W_l\propto\mathrm{AGOP}_l$. Chapter 3's Feature Learning Equation,
# $W_l^\top\nabla_{W_l}L=(\nabla_{h_{l-1}}L)^\top h_{l-1}$, says that each gradient step changes
# $W_l^\top W_l$ by the change of the second moment of the *virtually updated* layer inputs, whose
# direction is $\nabla_{h_{l-1}}L=\ell'\,J$. Both statements make the same object, the Gram on a
# layer's input space, the carrier of what the layer learns: the FLE says *how* it is written (by
# loss gradients w.r.t. the layer input), the NFA *what* it converges to (the outer product of the
# network's input-gradients). We measure, on the extractor/tunnel project's 2-D data sets (disk and
# yin-yang), for a ReLU MLP trained with SGD (cross-entropy, the settings in the table above, as in
# seed 003):
# - the NFA correlation $\rho(G_l,\mathrm{AGOP}_l)$ per layer over training, and the variant
#   $\rho(G_l,\mathrm{AGOP}_l^{1/2})$; control: the same network trained on shuffled labels;
# - $\rho(G_l(t)-G_l(0),\mathrm{AGOP}_l(t))$: whether the *learned* part of the Gram, which the FLE
#   accumulates step by step, points along the AGOP; control: the untrained network's own
#   $\rho(G_l(0),\mathrm{AGOP}_l(0))$. The first layer acts on the 2-D input, where $G_1$ and
#   $\mathrm{AGOP}_1$ are 2×2 positive semi-definite matrices that correlate strongly by construction, so
#   it is a claim of its own.
#
# The readout layer is left out: its AGOP is exactly $W_L^\top W_L$ (the network is linear in its last
# hidden layer), so its correlation is 1 by construction.

# %% tags=["hide-input"]
def nfa_run(ds, run_seed, shuffled=False):
    labels = ds.labels[torch.randperm(len(ds.labels), generator=torch.Generator().manual_seed(run_seed))] if shuffled else ds.labels
    net = models.MLP(2, cfg.nfa_width, cfg.nfa_depth, ds.n_classes, activation="relu", init="torch",
                     seed=run_seed).to(cfg.device)
    g0 = [gram.weight_gram(w.detach().double().cpu()) for w in net.weights()]

    def measure(epoch, m):
        rows = []
        for l, w in enumerate(m.weights()[:-1]):
            g = gram.weight_gram(w.detach().double().cpu())
            a = gram.agop(m, ds.x.to(cfg.device), l).double().cpu()
            rows.append(dict(layer=l + 1, epoch=epoch, nfa=gram.matrix_correlation(g, a),
                             nfa_sqrt=gram.matrix_correlation(g, gram.psd_power(a, 0.5)),
                             learned_gram_vs_agop=gram.matrix_correlation(g - g0[l], a) if epoch else np.nan))
        return rows

    hist = train.fit(net, ds.x, labels, loss="ce", lr=cfg.nfa_lr, momentum=cfg.nfa_momentum,
                     batch_size=cfg.nfa_batch_size, epochs=cfg.nfa_epochs, seed=run_seed, callback=measure,
                     snapshot_epochs=snapshot_epochs(cfg.nfa_epochs))
    acc = float((features.layer_features(net, ds.x)[-1].argmax(1) == labels).double().mean())
    return pd.DataFrame([r for _, rows in hist.snapshots for r in rows]).assign(
        data=ds.name, seed=run_seed, labels="shuffled" if shuffled else "true", train_acc=acc)


# %%
nfa_df = pd.concat([nfa_run(ds, s, shuffled)
                    for s in seeds for ds in (data.disk(cfg.nfa_n, seed=s), data.yin_yang(cfg.nfa_n, seed=s))
                    for shuffled in (False, True)])
nfa_df["series"] = nfa_df.data + ", W" + nfa_df.layer.astype(str)
print("training accuracy:", nfa_df.groupby(["labels", "data"]).train_acc.mean().round(3).to_dict())
n0 = nfa_df[(nfa_df.seed == cfg.seed) & (nfa_df.labels == "true")]
(charts.line(n0, "epoch", "nfa", color="series", y_title="ρ(WᵀW, AGOP)", title=f"NFA correlation over training (seed {cfg.seed})")
 | charts.line(n0.dropna(), "epoch", "learned_gram_vs_agop", color="series", y_title="ρ(G(t) − G(0), AGOP(t))",
               title="The learned part of the Gram against the AGOP"))

# %% tags=["hide-input"]
last_epoch = nfa_df.epoch.max()
end = nfa_df[nfa_df.epoch == last_epoch].set_index(["labels", "seed", "data", "layer"])
start = nfa_df[nfa_df.epoch == 0].set_index(["labels", "seed", "data", "layer"])


def per_seed(frame, labels, layers):
    sub = frame.xs(labels, level="labels")
    return {s: {f"{d} W{l}": float(v) for (d, l), v in g.droplevel("seed").items() if l in layers}
            for s, g in sub.groupby(level="seed")}


all_layers, hidden = range(1, cfg.nfa_depth), range(2, cfg.nfa_depth)
section = "5. The neural feature ansatz, and how it meets the Gram learning equation"
ledger.claim("nfa-correlation-rises", source="Radhakrishnan et al. 2024 (NFA); seed 003's disk/yin-yang setting",
             statement="training raises corr(W_l^T W_l, AGOP_l) for every non-readout layer (final - initial > 0)",
             test="> 0", values=per_seed(end.nfa - start.nfa, "true", all_layers),
             control=Control("the same network trained on shuffled labels", per_seed(end.nfa - start.nfa, "shuffled", all_layers)),
             rule="all", section=section,
             note=f"ReLU MLP, {cfg.nfa_depth - 1} hidden layers of {cfg.nfa_width}, {cfg.nfa_epochs} epochs",
             explain={"not reproduced": "On at least one layer of every seed the correlation falls with training.",
                      "inconclusive": "Seeds disagree, or training on shuffled labels raises it as well: the NFA "
                                      "then describes training, not learning the target."})
for claim_id, layers, what in (("nfa-learned-gram-aligns-with-agop", hidden, "hidden-to-hidden layers (l >= 2)"),
                               ("nfa-learned-gram-aligns-with-agop-first-layer", range(1, 2), "the first layer (2-D input)")):
    ledger.claim(claim_id, source="this book (FLE, note 03, and the NFA)",
                 statement=f"{what}: the learned part of the Gram, G_l(T) - G_l(0), is correlated (> 0.5) with AGOP_l(T)",
                 test="> 0.5", values=per_seed(end.learned_gram_vs_agop, "true", layers),
                 control=Control("the untrained network's own corr(G_l(0), AGOP_l(0))", per_seed(start.nfa, "true", layers)),
                 rule="all", section=section,
                 explain={"reproduced": "What training writes into the Gram points along the network's input-gradient "
                                        "outer product, which the untrained Gram does not.",
                          "inconclusive": "The untrained network's Gram already correlates with its AGOP this much "
                                          "(for a 2-D input the 2×2 matrices do so by construction), or the seeds disagree."})
pd.DataFrame({"ρ at init": start.xs("true").nfa, "ρ after training": end.xs("true").nfa,
              "ρ with AGOP^1/2 after training": end.xs("true").nfa_sqrt,
              "ρ(learned Gram, AGOP) after training": end.xs("true").learned_gram_vs_agop,
              "ρ after training, shuffled labels": end.xs("shuffled").nfa}).style.format(precision=3)

# %% [markdown]
# ## Verdicts
#
# Every claim this chapter tested, with the values measured in this run per seed and its control. None of
# the source paper's numbers for these figures were readable: the verdicts test the orderings and signs its
# text and figures describe, and the measured values are this book's findings.

# %%
ledger.save()
ledger.table()

# %% [markdown]
# ## What reproduced, and what did not
#
# Generated from this run's ledger: each claim with its per-seed values, its control, the reason for its
# verdict and our reading of that verdict.

# %%
ledger.closing()

# %% [markdown]
# **What changed since the previous edition.** The MLP runs moved from the 8×8 digits (where untrained
# features already sit near TL's ceiling) to MNIST-1D; every claim has at least 3 seeds (8 paired seeds for the
# CNN) and a control; "last hidden > first hidden" is back, measured against the untrained network; the
# half-gain order is strict, refined to the step where layers share an epoch, and a layer that never gains
# is reported as such; the CNN comparison is paired with a fixed margin; the VAE uses the authors' binary
# cross-entropy and is compared with a linear compression of its input; the learned-Gram/AGOP claim is
# split into the first layer and the hidden layers, each against the untrained network.

# %%
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"CPU time of this chapter's kernel: {usage.ru_utime + usage.ru_stime:.0f} s (user + sys)")
