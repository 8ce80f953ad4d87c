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

# %% tags=["parameters"]
preset = "book"
device = "auto"
seed = 0
results_dir = None
# data for the MLP and CNN experiments
dataset = None
data_root = None
download = None
n_train = None
n_test = None
# Adam vs SGD (Fig. 9)
tl_width = None
tl_depth = None
tl_epochs = None
tl_batch_size = None
sgd_lr = None
sgd_momentum = None
adam_lr = None
# convolutions (Fig. 6)
cnn_channels = None
cnn_epochs = None
cnn_lr = None
cnn_momentum = None
cnn_batch_size = None
n_seeds = None
# the VAE (Figs. 5 and 10)
vae_dataset = None
vae_width = None
vae_depth = None
latent_dim = None
vae_epochs = None
vae_lr = None
vae_batch_size = None
interp_steps = None
# attention (Fig. 11)
attention = None
bert_weights = None
seq_len = None
seq_classes = None
n_sequences = None
d_model = None
n_heads = None
n_blocks = None
attn_epochs = None
attn_lr = None
attn_batch_size = None
# the neural feature ansatz
nfa_n = None
nfa_width = None
nfa_depth = None
nfa_epochs = None
nfa_lr = None
nfa_momentum = None
nfa_batch_size = None
n_snapshots = None

# %%
import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

import altair as alt
import layerwise
from layerwise import charts, claims, data, features, models, optim, train
from layerwise.metrics import gram, landmarks

cfg = layerwise.config.resolve_notebook("03b", globals())
charts.enable()
ledger = claims.Ledger(cfg)
SOURCE = "Cha et al. 2026"
print(f"preset={cfg.preset} device={cfg.device} seed={cfg.seed}")


def snapshot_epochs(epochs):
    """Return about n_snapshots + 1 evenly spaced epochs from 0 to `epochs` (0 is recorded by fit)."""
    return sorted({int(round(e)) for e in np.linspace(0, epochs, cfg.n_snapshots + 1)})


def load_split(name):
    split = data.load(name, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train, seed=cfg.seed)
    if cfg.n_test and cfg.n_test < len(split.test):
        split = data.Split(split.train, split.test.subset(data.stratified_subset(split.test.labels, cfg.n_test, cfg.seed)))
    return split


split = load_split(cfg.dataset)
print(f"{cfg.dataset}: {len(split.train)} training and {len(split.test)} test samples, "
      f"{split.train.x.shape[1]} features")

# %% [markdown]
# ## 1. Adam against SGD (Fig. 9)
#
# The paper's Fig. 4 trains an MLP with 4 hidden layers (Linear + GELU, width 256, batch 64) with SGD
# (lr $5\cdot10^{-4}$, momentum 0.8) and records TL per hidden layer after every epoch; Fig. 9 is the
# same script with Adam, whose hyperparameters were not found. Here: the same network on the data set
# above, cross-entropy, SGD (lr and momentum in the parameters cell; the paper's lr is too slow for a
# short CPU run) against Adam (torch defaults, lr in the parameters cell), same initialisation and
# batch order. Two readings of "sequential" are measured: the final TL is non-decreasing with depth
# (0.01 slack), and the epoch at which a layer covers half of its final TL gain is non-decreasing
# with depth.

# %%
def tl_run(optimizer):
    """Train the TL network with `optimizer`; return TL per hidden layer at every epoch (long table)."""
    net = models.MLP(split.train.x.shape[1], cfg.tl_width, cfg.tl_depth, split.train.n_classes,
                     activation="gelu", init="torch", seed=cfg.seed).to(cfg.device)
    lr, momentum = (cfg.sgd_lr, cfg.sgd_momentum) if optimizer == "sgd" else (cfg.adam_lr, 0.0)
    hist = train.fit(net, split.train.x, split.train.labels, loss="ce", optimizer=optimizer, lr=lr, momentum=momentum,
                     batch_size=cfg.tl_batch_size, epochs=cfg.tl_epochs, seed=cfg.seed,
                     callback=lambda e, m: gram.model_target_linearity(m, split.train.x, split.train.labels)[0],
                     snapshot_epochs=range(1, cfg.tl_epochs + 1))
    acc = float((features.layer_features(net, split.test.x)[-1].argmax(1) == split.test.labels).double().mean())
    rows = [dict(optimizer=optimizer, epoch=e, layer=l + 1, TL=v) for e, tl in hist.snapshots for l, v in enumerate(tl)]
    return pd.DataFrame(rows), acc


tl_frames, tl_acc = {}, {}
for opt_name in ("sgd", "adam"):
    tl_frames[opt_name], tl_acc[opt_name] = tl_run(opt_name)
tl_df = pd.concat(tl_frames.values())
tl_df["hidden layer"] = "h" + tl_df.layer.astype(str)
print("test accuracy:", {k: round(v, 3) for k, v in tl_acc.items()})
(charts.line(tl_df[tl_df.optimizer == "sgd"], "epoch", "TL", color="hidden layer", points=False,
             title="SGD: target linearity per hidden layer")
 | charts.line(tl_df[tl_df.optimizer == "adam"], "epoch", "TL", color="hidden layer", points=False,
               title="Adam: target linearity per hidden layer"))

# %%
def sequential_summary(df):
    """Return per-layer initial/final TL and half-gain epoch of one optimiser's long table."""
    rows = []
    for layer, g in df.sort_values("epoch").groupby("layer"):
        rows.append(dict(layer=layer, TL_init=g.TL.iloc[0], TL_final=g.TL.iloc[-1],
                         half_gain_epoch=landmarks.half_gain_epoch(g.epoch.tolist(), g.TL.tolist()) or float("nan")))
    return pd.DataFrame(rows)


seq = {k: sequential_summary(v) for k, v in tl_frames.items()}
pd.concat([v.assign(optimizer=k) for k, v in seq.items()]).style.format(precision=3)

# %%
for name, s in seq.items():
    depth_ok = bool(np.all(np.diff(s.TL_final) >= -0.01))
    ledger.check(f"tl-grows-with-depth-{name}", measured=[round(v, 4) for v in s.TL_final], test="non-decreasing (0.01 slack)",
                 passed=depth_ok, source=f"{SOURCE}, Figs. 4 and 9 (note 03, claim 5)",
                 statement=f"{name}: after training, TL is non-decreasing with depth (final TL per hidden layer)",
                 note=f"{cfg.dataset}, {cfg.tl_depth - 1} hidden GELU layers of {cfg.tl_width}, {cfg.tl_epochs} epochs")
    order_ok = bool(np.all(np.diff(s.half_gain_epoch) >= 0))
    ledger.check(f"tl-sequential-{name}", measured=s.half_gain_epoch.tolist(), test="non-decreasing in depth",
                 passed=order_ok, source=f"{SOURCE}, Figs. 4 and 9 (note 03, claim 6, inference)",
                 statement=f"{name}: the epoch at which a layer covers half its TL gain is non-decreasing with depth",
                 note=f"{s.half_gain_epoch.nunique()} distinct half-gain epoch(s) over {len(s)} layers (ties pass)")
ledger.table().iloc[-4:]

# %% [markdown]
# ## 2. Convolutions: the Gram-preserving update (Fig. 6)
#
# The small CNN of the authors' `whiten_cnn.py`: three 3×3 convolutions with 16 channels, padding 1,
# ReLU, max-pooling after the first and the third, then a linear classifier. The Gram-preserving
# update (`optim.GramPreservingSGD`, note 03 section 4) rotates every weight after each SGD step,
# $W'=\operatorname{polar}(W_{\text{old}}W^\top)\,W$, with conv kernels reshaped to
# out × (in·3·3); the update keeps each step's change of $W^\top W$ and discards the rest. The paper
# plots test accuracy per epoch, mean ± 2 std over 5 seeds, on SVHN/CIFAR-10/100 (SGD momentum 0.95,
# lr 0.01, 20 epochs; the `paper` preset runs CIFAR-10). The book runs the 8×8 digits as 1-channel
# images. The claim tested is note 03's claim 4 transposed to the CNN: the Gram-preserving run's final
# test accuracy lies within 2 std of plain SGD's, or above it.

# %%
shape = data.image_shape(cfg.dataset)


def cnn_run(gram_preserving, run_seed):
    net = models.SmallCNN(shape, split.train.n_classes, channels=cfg.cnn_channels, seed=run_seed).to(cfg.device)
    make = (lambda p: optim.GramPreservingSGD(p, lr=cfg.cnn_lr, momentum=cfg.cnn_momentum)) if gram_preserving else None
    test_x, test_y = split.test.x.to(cfg.device), split.test.labels.to(cfg.device)

    def accuracy(epoch, m):
        with torch.no_grad():
            m.eval()
            acc = float((m(test_x).argmax(1) == test_y).double().mean())
            m.train()
        return acc

    hist = train.fit(net, split.train.x, split.train.labels, loss="ce", lr=cfg.cnn_lr, momentum=cfg.cnn_momentum,
                     batch_size=cfg.cnn_batch_size, epochs=cfg.cnn_epochs, seed=run_seed, make_optimizer=make,
                     callback=accuracy, snapshot_epochs=range(1, cfg.cnn_epochs + 1))
    return [dict(update="Gram-preserving" if gram_preserving else "SGD", seed=run_seed, epoch=e, test_acc=a)
            for e, a in hist.snapshots]


cnn_df = pd.DataFrame([row for s in range(cfg.n_seeds) for gp in (False, True) for row in cnn_run(gp, cfg.seed + s)])
cnn_band = cnn_df.groupby(["update", "epoch"]).test_acc.agg(["mean", "std"]).reset_index().fillna(0.0)
cnn_band["lo"], cnn_band["hi"] = cnn_band["mean"] - 2 * cnn_band["std"], cnn_band["mean"] + 2 * cnn_band["std"]
charts.line(cnn_band, "epoch", "mean", color="update", band=("lo", "hi"), points=False, y_title="test accuracy",
            title=f"Small CNN on {cfg.dataset}: mean ± 2 std over {cfg.n_seeds} seed(s)")

# %%
final = cnn_band[cnn_band.epoch == cfg.cnn_epochs].set_index("update")
gp_mean, sgd_mean, sgd_std = final.loc["Gram-preserving", "mean"], final.loc["SGD", "mean"], final.loc["SGD", "std"]
print(f"final test accuracy: SGD {sgd_mean:.4f} ± {sgd_std:.4f}, Gram-preserving {gp_mean:.4f} ± "
      f"{final.loc['Gram-preserving', 'std']:.4f}")
ledger.check("gram-preserving-cnn-matches-sgd",
             measured={"Gram-preserving": gp_mean, "SGD": sgd_mean, "SGD std": sgd_std},
             test="Gram-preserving >= SGD - 2 std", passed=bool(gp_mean >= sgd_mean - 2 * sgd_std - 1e-12),
             source=f"{SOURCE}, Fig. 6 (note 03, claim 4 for the CNN)",
             statement="keeping only the Gram change of each SGD step trains the small CNN as well as SGD",
             note=f"{cfg.dataset} as {shape} images, {cfg.n_seeds} seeds, {cfg.cnn_epochs} epochs (paper: SVHN/CIFAR, 20 epochs, 5 seeds)")
ledger.table().iloc[-1:]

# %% [markdown]
# ## 3. A VAE: is the latent linearised toward the label it never sees? (Figs. 5 and 10)
#
# A Gaussian MLP VAE (encoder: 2 ReLU layers, then mean and log-variance heads; a mirror-image
# decoder; squared-error reconstruction plus the KL term, Adam) trained on the digit images without
# labels. The authors' `vae_target_linearity.py` measures TL of the encoder's layers against the class
# label over training (Fig. 10); its architecture was not found, so this one is the book's choice. We
# record TL of each encoder layer and of the latent mean $\mu$ on the training set at a few epochs.

# %%
vae_split = (data.digits(seed=cfg.seed, standardize=False) if cfg.vae_dataset == "digits"
             else load_split(cfg.vae_dataset))  # digits as raw pixels in [0, 1] for the images
if cfg.n_train and cfg.n_train < len(vae_split.train):
    vae_split = data.Split(vae_split.train.subset(data.stratified_subset(vae_split.train.labels, cfg.n_train, cfg.seed)),
                           vae_split.test)
vx, vy = vae_split.train.x, vae_split.train.labels
vae = models.VAE(vx.shape[1], width=cfg.vae_width, depth=cfg.vae_depth, latent_dim=cfg.latent_dim, seed=cfg.seed).to(cfg.device)
encoder_names = [f"e{l}" for l in range(1, cfg.vae_depth + 1)] + ["mu"]


def encoder_tl(epoch, m):
    feats = features.layer_features(m, vx)
    return [gram.target_linearity(feats[l], vy) for l in range(1, m.latent_index + 1)]


vae_hist = train.fit(vae, vx, vx, loss="mse", optimizer="adam", lr=cfg.vae_lr, batch_size=cfg.vae_batch_size,
                     epochs=cfg.vae_epochs, seed=cfg.seed, extra_loss=models.VAE.kl_loss, callback=encoder_tl,
                     snapshot_epochs=snapshot_epochs(cfg.vae_epochs))
vae_tl = pd.DataFrame([dict(epoch=e, layer=name, TL=v) for e, tl in vae_hist.snapshots for name, v in zip(encoder_names, tl)])
print(f"VAE loss (reconstruction + KL): {vae_hist.loss[1]:.2f} after epoch 1 -> {vae_hist.loss[-1]:.2f}")
charts.line(vae_tl, "epoch", "TL", color="layer", title="VAE encoder: TL against the (unseen) digit label")

# %%
vae_first, vae_last = vae_hist.snapshots[0][1], vae_hist.snapshots[-1][1]
pd.DataFrame({"layer": encoder_names, "TL at init": vae_first, "TL after training": vae_last}).style.format(precision=3)

# %%
ledger.check("vae-latent-tl-rises", measured={"init": vae_first[-1], "final": vae_last[-1]},
             test="final > init", passed=vae_last[-1] > vae_first[-1], source=f"{SOURCE}, Fig. 10",
             statement="training the VAE raises the target linearity of its latent mean w.r.t. the label",
             note=f"{cfg.vae_dataset}, latent_dim={cfg.latent_dim}, {cfg.vae_epochs} epochs; paper values not found")
ledger.table().iloc[-1:]

# %% [markdown]
# **Interpolation.** Between two classes $a,b$ we decode the straight line between their mean latent
# codes, $z(t)=(1-t)\bar\mu_a+t\bar\mu_b$. The strips below show a few class pairs.

# %%
vae.eval()
with torch.no_grad():
    mu_all = vae.encode(vx.to(cfg.device))[0].cpu()
class_means = torch.stack([mu_all[vy == k].mean(0) for k in range(vae_split.train.n_classes)])
t = torch.linspace(0, 1, cfg.interp_steps)


def decode_path(a, b):
    with torch.no_grad():
        z = (1 - t)[:, None] * class_means[a] + t[:, None] * class_means[b]
        return vae.decode(z.to(cfg.device)).cpu()


img_c, img_h, img_w = data.image_shape(cfg.vae_dataset)
strip_pairs = [(0, 1), (1, 7), (3, 8), (4, 9), (2, 5)]
pix = []
for a, b in strip_pairs:
    imgs = decode_path(a, b).reshape(-1, img_c, img_h, img_w).mean(1)  # channels averaged for display
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
# statement was not found) predicts a positive rank correlation across pairs.

# %%
pair_rows = []
for a in range(vae_split.train.n_classes):
    for b in range(a + 1, vae_split.train.n_classes):
        mask = (vy == a) | (vy == b)
        pair_rows.append(dict(pair=f"{a}-{b}", latent_TL=gram.target_linearity(mu_all[mask], (vy[mask] == b).long()),
                              straightness=gram.path_straightness(decode_path(a, b))))
pairs = pd.DataFrame(pair_rows)
rho = float(spearmanr(pairs.latent_TL, pairs.straightness).statistic)
print(f"Spearman correlation over {len(pairs)} class pairs: {rho:.3f}")
charts.scatter(pairs, "latent_TL", "straightness", x_title="pairwise TL of the latent mean",
               y_title="straightness of the decoded path", title="Latent linearity vs smooth interpolation")

# %%
ledger.check("vae-linearity-predicts-interpolation", measured=rho, test="> 0",
             source=f"{SOURCE}, Fig. 5 (inference: the paper's statement was not found)",
             statement="class pairs whose latents are more target-linear interpolate along straighter decoded paths "
                       "(Spearman over pairs)")
ledger.table().iloc[-1:]

# %% [markdown]
# ## 4. Attention (Fig. 11's question on a model that trains here)
#
# The paper fine-tunes BERT and records TL of the [CLS] representation per layer (Fig. 11); that is
# the `paper` preset here (`attention="bert"`, weights read from `bert_weights`; without them the
# chapter stops with the steps to get them). The `book` preset trains a small pre-LayerNorm
# transformer encoder from scratch on a generated task: sequences of tokens over $K$ symbols,
# labelled by their most frequent token (`data.majority_sequences`). A [CLS] token is prepended; the
# classifier reads it after the last block. TL of the [CLS] vector is recorded after the embedding
# (block 0, a constant vector: TL = 0) and after every block.

# %%
seqs = data.majority_sequences(cfg.n_sequences, seq_len=cfg.seq_len, n_classes=cfg.seq_classes, seed=cfg.seed)
seqs_test = data.majority_sequences(max(cfg.n_sequences // 4, 50), seq_len=cfg.seq_len, n_classes=cfg.seq_classes,
                                    seed=cfg.seed + 1)
if cfg.attention == "bert":
    tf_net = models.BertCLS(cfg.bert_weights, cfg.seq_classes, seed=cfg.seed).to(cfg.device)
else:
    tf_net = models.SmallTransformer(cfg.seq_classes, cfg.seq_len, cfg.seq_classes, d_model=cfg.d_model,
                                     n_heads=cfg.n_heads, depth=cfg.n_blocks, seed=cfg.seed).to(cfg.device)


def cls_tl(epoch, m):
    feats = features.layer_features(m, seqs.x, batch_size=256)
    return [gram.target_linearity(h, seqs.labels) for h in feats[:-1]]


attn_hist = train.fit(tf_net, seqs.x, seqs.labels, loss="ce", optimizer="adam", lr=cfg.attn_lr,
                      batch_size=cfg.attn_batch_size, epochs=cfg.attn_epochs, seed=cfg.seed, callback=cls_tl,
                      snapshot_epochs=snapshot_epochs(cfg.attn_epochs))
attn_acc = float((features.layer_features(tf_net, seqs_test.x)[-1].argmax(1) == seqs_test.labels).double().mean())
attn_df = pd.DataFrame([dict(epoch=e, block=b, TL=v) for e, tl in attn_hist.snapshots for b, v in enumerate(tl)])
print(f"test accuracy on fresh sequences: {attn_acc:.3f} (chance ≈ {1 / cfg.seq_classes:.2f})")
(charts.line(attn_df.assign(block="block " + attn_df.block.astype(str)), "epoch", "TL", color="block",
             title="[CLS] target linearity per block over training")
 | charts.by_layer(attn_df[attn_df.epoch == attn_df.epoch.max()], "TL", layer="block", y_title="TL after training",
                   title="[CLS] TL across blocks, end of training"))

# %%
attn_init, attn_final = attn_hist.snapshots[0][1], attn_hist.snapshots[-1][1]
ledger.check("attention-cls-tl-grows-with-depth", measured=[round(v, 4) for v in attn_final],
             test="non-decreasing over blocks (0.01 slack)", passed=bool(np.all(np.diff(attn_final) >= -0.01)),
             source=f"{SOURCE}, Fig. 11 (question transposed to a small transformer)",
             statement="after training, TL of the [CLS] vector is non-decreasing from block to block",
             note=f"{cfg.attention} model, {cfg.n_blocks if cfg.attention == 'small' else 'BERT'} blocks, test acc {attn_acc:.3f}")
ledger.check("attention-cls-tl-rises", measured=[round(b - a, 4) for a, b in zip(attn_init[1:], attn_final[1:])],
             test="> 0", source=f"{SOURCE}, Fig. 11",
             statement="training raises the [CLS] TL of every block (final - initial per block)")
ledger.table().iloc[-2:]

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
# yin-yang), for a ReLU MLP trained with SGD (momentum 0.9, lr 0.02, cross-entropy, width 120, as in
# seed 003):
# - the NFA correlation $\rho(G_l,\mathrm{AGOP}_l)$ per layer over training, and the variant
#   $\rho(G_l,\mathrm{AGOP}_l^{1/2})$;
# - $\rho(G_l(t)-G_l(0),\mathrm{AGOP}_l(t))$: whether the *learned* part of the Gram, which the FLE
#   accumulates step by step, points along the AGOP.
#
# The readout layer is left out: its AGOP is exactly $W_L^\top W_L$ (the network is linear in its last
# hidden layer), so its correlation is 1 by construction.

# %%
def nfa_run(ds):
    net = models.MLP(2, cfg.nfa_width, cfg.nfa_depth, ds.n_classes, activation="relu", init="torch",
                     seed=cfg.seed).to(cfg.device)
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

    hist = train.fit(net, ds.x, ds.labels, loss="ce", lr=cfg.nfa_lr, momentum=cfg.nfa_momentum,
                     batch_size=cfg.nfa_batch_size, epochs=cfg.nfa_epochs, seed=cfg.seed, callback=measure,
                     snapshot_epochs=snapshot_epochs(cfg.nfa_epochs))
    acc = float((features.layer_features(net, ds.x)[-1].argmax(1) == ds.labels).double().mean())
    return pd.DataFrame([r for _, rows in hist.snapshots for r in rows]).assign(data=ds.name), acc


nfa_frames, nfa_acc = [], {}
for ds in (data.disk(cfg.nfa_n, seed=cfg.seed), data.yin_yang(cfg.nfa_n, seed=cfg.seed)):
    frame, nfa_acc[ds.name] = nfa_run(ds)
    nfa_frames.append(frame)
nfa_df = pd.concat(nfa_frames)
nfa_df["series"] = nfa_df.data + ", W" + nfa_df.layer.astype(str)
print("training accuracy:", {k: round(v, 3) for k, v in nfa_acc.items()})
(charts.line(nfa_df, "epoch", "nfa", color="series", y_title="ρ(WᵀW, AGOP)", title="NFA correlation over training")
 | charts.line(nfa_df.dropna(), "epoch", "learned_gram_vs_agop", color="series", y_title="ρ(G(t) − G(0), AGOP(t))",
               title="The learned part of the Gram against the AGOP"))

# %%
nfa_end = nfa_df[nfa_df.epoch == nfa_df.epoch.max()].set_index(["data", "layer"])
nfa_start = nfa_df[nfa_df.epoch == 0].set_index(["data", "layer"])
nfa_table = pd.DataFrame({"ρ at init": nfa_start.nfa, "ρ after training": nfa_end.nfa,
                          "ρ with AGOP^1/2 after training": nfa_end.nfa_sqrt,
                          "ρ(learned Gram, AGOP) after training": nfa_end.learned_gram_vs_agop})
nfa_table.style.format(precision=3)

# %%
ledger.check("nfa-correlation-rises", measured={f"{d} W{l}": float(v) for (d, l), v in (nfa_end.nfa - nfa_start.nfa).items()},
             test="> 0", source="Radhakrishnan et al. 2024 (NFA); seed 003's disk/yin-yang setting",
             statement="training raises corr(W_l^T W_l, AGOP_l) for every non-readout layer (final - initial)",
             note=f"ReLU MLP, {cfg.nfa_depth - 1} hidden layers of {cfg.nfa_width}, {cfg.nfa_epochs} epochs")
ledger.check("nfa-learned-gram-aligns-with-agop",
             measured={f"{d} W{l}": float(v) for (d, l), v in nfa_end.learned_gram_vs_agop.items()}, test="> 0.5",
             source="this book (FLE, note 03, and the NFA)",
             statement="the learned part of the Gram, G_l(T) - G_l(0), is correlated (> 0.5) with AGOP_l(T)")
ledger.table().iloc[-2:]

# %% [markdown]
# ## Verdicts
#
# Every claim this chapter tested, with the number measured in this run. None of the source paper's
# numbers for these figures were readable: the verdicts test the orderings and signs its text and
# figures describe, and the measured values are this book's findings.

# %%
print(ledger.summary())
ledger.save()
ledger.table()

# %% [markdown]
# ## What reproduced, and what did not
#
# *Numbers quoted here are from the `book` preset (seed 0); the tables above are the record of the run
# you are reading. No paper numbers for these figures were found: these are the book's findings.*
#
# - **Adam against SGD: the layer-by-layer linearisation survives Adam.** On digits, final TL rises
#   with depth under both (SGD 0.902 → 0.948, Adam 0.906 → 0.976 from the first to the fourth hidden
#   layer), and Adam linearises more. Under SGD the half-gain epochs are strictly ordered by depth
#   (25, 26, 27, 28); under Adam every layer covers half its gain by epoch 2, so the *order* is not
#   resolved at one-epoch granularity (the test passes on ties, and says so in its note). Caveat: the
#   random GELU features of width 256 already have TL ≈ 0.88 at initialisation on 1347 samples, so the
#   gains are small; CIFAR-10 (`paper`) has far more room.
# - **Convolutions: the Gram-preserving update did not match SGD within 2 std here.** Final test
#   accuracy 0.953 ± 0.024 (Gram-preserving) against 0.959 ± 0.001 (SGD), 3 seeds, 12 epochs; the mean gap is
#   half a point but beyond SGD's tiny 2-std band, and the Gram-preserving runs vary more across seeds.
#   The update itself is exact: it keeps $W^\top W$ of the reshaped kernels to float64 round-off.
# - **The VAE's latent becomes more target-linear** (TL of $\mu$ 0.28 → 0.40) although the encoder's
#   hidden layers *lose* TL (0.88 → 0.87, 0.87 → 0.77): the label is concentrated into the latent, not
#   built up layer by layer. **Latent linearity did not predict straighter interpolations**: the rank
#   correlation over the 45 class pairs is −0.82. Pairs that are well separated in the latent are far
#   apart, and the straight latent path between them crosses other classes' regions, so the decoded
#   path detours; straightness in pixel space is confounded with latent distance. A semantic measure
#   (a classifier's probability along the path) is the natural next test.
# - **Attention: the [CLS] representation is linearised block by block.** After training, TL is 0,
#   0.77, 0.93, 0.99 across the embedding and the three blocks, and training raised it at every
#   block (+0.09, +0.20, +0.26); the model classifies fresh sequences perfectly. BERT (Fig. 11) is the
#   `paper` preset and needs the weights on disk.
# - **The neural feature ansatz holds in the hidden layers and meets the FLE.** On disk and yin-yang
#   the correlation of $W_l^\top W_l$ with the AGOP rises from about 0.2–0.26 at initialisation to
#   0.86–0.95 for the hidden-to-hidden layers. The first layer (2 inputs) starts high (0.95 disk, 0.91
#   yin-yang) and on yin-yang *falls* to 0.86 (0.95 with $\mathrm{AGOP}^{1/2}$), which fails the "rises for
#   every layer" claim. The learned part of the Gram, $G_l(T)-G_l(0)$, which the Feature Learning
#   Equation writes step by step from $(\nabla_hL)^\top h$, correlates 0.89–0.998 with the final AGOP in
#   every layer: the two Gram-centred accounts agree on what the Gram learns.
