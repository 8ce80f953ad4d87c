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
# # The equilibrium layer
#
# **The question.** Training aligns a network's tangent features with the labels. Which layer aligns
# best, and can we tell in advance? Lou, Mingard, Nam and Hayou {cite:p}`lou2022` report an *alignment
# hierarchy*: per-layer alignment rises from the input, peaks at a hidden layer and falls towards the
# output. Their *Equilibrium Hypothesis* puts the peak where the information carried forward from the
# input balances the information carried backward from the labels; for fully connected ReLU
# networks at initialisation this gives a peak at layer $l^* = \Theta(L^{3/5})$ of a network with $L$
# hidden layers.
#
# **Reading order.** Self-contained; the methods page defines the verdicts. Chapter 7 builds on this one.

# %% tags=["parameters"]
# generated from chapters/ch04.py (layerwise params 04 --write-cell); book values follow preset
preset = "book"
device = "auto"
seed = 0
results_dir = None
overrides = []  # names set with -p (papermill injects them): kept even where they equal the book value
dataset = "mnist1d"  # data set: mnist1d (offline, not linearly solvable), digits, or a torchvision set with data_root
data_root = ""  # folder holding torchvision data sets (paper preset)
download = False  # allow downloading a torchvision data set into data_root
n_train = 1000  # training examples (a class-stratified subset; 0 ＝ all): every net must fit them within the CPU budget
n_align = 50  # fixed, class-stratified training examples on which every alignment is measured (kernels are (10 n_align)^2 per layer)
depth = 11  # weight matrices of the section-3 network (L ＝ depth - 1 hidden ReLU layers)
width = 64  # hidden width of the section-3 network
lr = 0.002  # Adam learning rate at L ＝ 10; a net with L hidden layers gets lr * sqrt(10 / L), annealed to 0 by a cosine schedule over its epoch budget
batch_size = 128  # minibatch size (Baratin et al.'s and the authors' research code's)
epochs = 50  # epoch budget at L ＝ 10; a net with L hidden layers gets epochs * sqrt(L / 10) per cycle
criterion_loss = 0.1  # training criterion: the training loss after training is at most this (the authors' research code measures once the running loss is below 0.1)
sweep_depths = [11, 21, 41]  # depths of the depth sweep (L ＝ depth - 1 ＝ 10, 20, 40)
sweep_width = 64  # hidden width of the depth sweep
n_seeds = 16  # seeds per depth of the sweep (seed s ＝ seed + i); claims need ≥ 3
theory_width = 2048  # width of the network compared with the mean-field recursions
theory_depth = 21  # weight matrices of that network (L ＝ 20 hidden layers)

# %% tags=["remove-cell"]
import numpy as np, pandas as pd, torch  # noqa: E401

from layerwise import charts, claims, config, data, models
from layerwise.chapters import ch04
from layerwise.claims import Control, glue
from layerwise.metrics import alignment, ntk, probes, signal_propagation as sp

cfg = config.resolve_notebook("04", globals())
charts.enable()
ledger = claims.Ledger(cfg)
SEEDS = [cfg.seed + i for i in range(cfg.n_seeds)]

# %% tags=["hide-input"]
cfg.table()

# %% [markdown]
# **Sources.** The paper's body could not be read: the abstract is the paper's own word; the
# alignment formula follows Baratin et al. {cite:p}`baratin2021`, whose code could be read; the
# training criterion and the depth range follow what is probably the authors' research code
# (`bugbuglou/NTK_alignment`, unconfirmed); the scaling argument is reconstructed from standard
# mean-field theory {cite:p}`cho2009,poole2016,schoenholz2017,hayou2019`. Each claim below says which.
#
# **The measure.** For a network $f:\mathbb R^d\to\mathbb R^o$ and the parameters $\theta_l$ of its
# dense layer $l$, the layerwise tangent kernel on $n$ examples is the $(no)\times(no)$ matrix
# $K_l[(x,k),(x',k')] = \nabla_{\theta_l} f_k(x)\cdot\nabla_{\theta_l} f_{k'}(x')$, and its alignment
# with the labels is the centred kernel alignment {cite:p}`cortes2012`
#
# $$A_l = \frac{\langle K_{l,c},\, yy^\top\rangle_F}{\|K_{l,c}\|_F\,\|yy^\top\|_F},$$
#
# with $K_l$ centred over examples separately for each output and $y$ the one-hot labels with each
# class column mean-centred (Baratin et al.'s convention; section 6 tries two others).
#
# **Layers.** As everywhere in the book, `depth` counts weight matrices and $L = $ `depth` $- 1$ is
# the number of hidden ReLU layers (the paper's $L$). A {term}`tangent kernel alignment` belongs to a
# weight matrix, so the layers here are numbered $l = 1, \dots, L+1$: $l=1$ acts on the input and
# $l=L+1$ is the readout.
#
# **Data.** MNIST-1D {cite:p}`greydanus2020`: sequences of 40 features in 10 classes, built so that a
# linear read-out of the raw input fails (measured in section 3). A hidden layer's alignment is
# therefore something the network had to build.
#
# ## 1. Forward and backward kernels
#
# Write a dense layer as $z_l = W_l h_{l-1} + b_l$ and let $\delta_l^k(x) = \partial f_k(x)/\partial z_l(x)$.
# Since $\partial f_k/\partial W_l = \delta^k_l h_{l-1}^\top$, every layer's tangent kernel is a
# Hadamard product of a **backward** kernel $B_l$ and a **forward** kernel $F_l$:
#
# $$K_l = B_l \circ \big((F_l + 1)\otimes \mathbf 1_o\mathbf 1_o^\top\big),\qquad
#   B_l[(x,k),(x',k')] = \langle\delta^k_l(x),\delta^{k'}_l(x')\rangle,\quad
#   F_l[x,x'] = \langle h_{l-1}(x), h_{l-1}(x')\rangle .$$
#
# The identity is exact at any width and any time in training, and it makes the chapter cheap:
# `metrics.ntk.tangent_kernels` gets every $K_l$ from one forward and $o$ backward passes. The check
# below compares it in float64 with per-example Jacobians of all parameters.

# %%
split = data.load(cfg.dataset, data_root=cfg.data_root, download=cfg.download, n_train=cfg.n_train,
                  seed=cfg.seed)
small = split.train.x[data.stratified_subset(split.train.labels, 20, cfg.seed)]
errors = ch04.hadamard_errors(small, split.train.n_classes, cfg.seed)
pd.Series(errors, name="max relative error").to_frame()

# %% tags=["remove-cell"]
ledger.sanity("hadamard-identity", measured=max(errors.values()), test="<= 1e-12",
              source="chain rule", section="1. Forward and backward kernels",
              statement="K_l from autodiff equals the Hadamard product of B_l and F_l + 1, ReLU MLP, with and "
                        "without bias, at init and trained (max relative error, float64)")
glue("hadamard_error", max(errors.values()), ".1e")

# %% [markdown]
# The largest relative error is {glue:text}`hadamard_error`.
#
# ## 2. Signal propagation at initialisation
#
# The Equilibrium Hypothesis is a statement about initialisation. Its most plausible setting (the
# paper's definitions could not be read) is an infinitely wide ReLU network at the Edge of Chaos
# (He initialisation, zero biases). Two inputs with correlation $c_0$ keep a correlation $c_l$ after
# $l$ hidden layers, and the gradients sent back from the output to layer $l$ keep a correlation
# $\tilde c_l$:
#
# $$c_{l+1} = f(c_l),\quad f(c)=\tfrac1\pi\big[\sqrt{1-c^2}+c(\pi-\arccos c)\big],\qquad
#   \tilde c_l = \prod_{k=l}^{L-1} f'(c_k),\quad f'(c) = 1-\tfrac{\arccos c}{\pi}.$$
#
# Forward information $1-c_l$ (how distinguishable the inputs still are) is high near the input;
# backward information $\tilde c_l$ (how coherently the label signal arrives) is high near the output.
# The balance point is the first $l$ with $\tilde c_l \ge 1-c_l$. Asymptotically
# $1-c_l\sim\kappa/l^2$ with $\kappa=9\pi^2/2$ and $\tilde c_l\approx(l/L)^3$, so
# $l^*\approx\kappa^{1/5}L^{3/5}\approx 2.14\,L^{3/5}$: this is where the exponent $3/5$ comes from.
# In a network, the forward kernel $F_l$ of weight layer $l$ has correlation $c_{l-1}$ and its
# backward kernel $B_l$ has $\tilde c_{l-1}$, so the balance point in weight-layer numbering is $l^*+1$.
# The checks below test our recursions against the Edge-of-Chaos rates, an independent computation of
# $l^*(L)$, and a wide network at initialisation.

# %%
edge, cubic = ch04.edge_of_chaos_rates()
TABLE = {10: 4, 20: 7, 30: 10, 40: 13, 50: 15, 100: 25, 200: 42, 400: 67, 800: 106, 1600: 166}
ours = {L: sp.meanfield_balance(L, 0.5) for L in TABLE}
x_eq = data.equicorrelated_inputs(6, 64, 0.5, seed=cfg.seed, dtype=torch.float32)
wide = models.MLP(64, cfg.theory_width, cfg.theory_depth, 1, activation="relu", bias=False,
                  init="he", seed=cfg.seed)
emp, mf = sp.empirical_correlations(wide, x_eq), sp.meanfield_correlations(cfg.theory_depth, 0.5)
del wide
corr = pd.DataFrame({"layer": np.arange(1, cfg.theory_depth + 1),
                     "forward, network": emp.forward, "forward, mean field": mf.forward,
                     "backward, network": emp.backward, "backward, mean field": mf.backward})
charts.figure("fig-ch04-meanfield", charts.by_layer(
    corr.melt(id_vars="layer", var_name="correlation"), "value", color="correlation",
    y_title="correlation of Fₗ and Bₗ", title="wide network at init vs the recursions"))

# %% tags=["remove-cell"]
section = "2. Signal propagation at initialisation"
band = {"l=500": "in [0.90, 1.0]", "l=2000": "in [0.97, 1.0]"}
ledger.sanity("eoc-forward-rate", measured=edge, test={k: band for k in edge}, source="Hayou et al. 2019", section=section,
              statement="2 l^2 (1 - c_l) / (9 pi^2) approaches 1 at the Edge of Chaos, c0 in {0, 0.5, 0.9}")
ledger.sanity("eoc-backward-cubic", measured=cubic, test="in [1.0, 1.2]", source="f'(c_k) ~ 1 - 3/k",
              section=section, statement="ct_l / (l/L)^3 in [1.0, 1.2] for l/L >= 1/2 at L = 1000")
ledger.sanity("finite-depth-table", measured=sum(ours[L] == TABLE[L] for L in TABLE) / len(TABLE),
              test=">= 1", source="balance points l*(L) computed independently (Hayou et al. 2019 rates)",
              section=section, statement="the recursions reproduce an independent computation of the balance "
                                         "points l*(L) for c0 = 0.5 (fraction equal)")
widen = max(1.0, (2048 / cfg.theory_width) ** 0.5)  # tolerances are for width 2048; noise ~ 1/sqrt(width)
dev_f, dev_b = (float((a - b).abs().max()) for a, b in ((emp.forward, mf.forward), (emp.backward, mf.backward)))
ledger.sanity("meanfield-forward", measured=dev_f, test=f"<= {0.05 * widen:.3g}", section=section,
              source="Poole et al. 2016", statement="forward correlations of a wide He ReLU net follow "
              "c_(l+1) = f(c_l) (max deviation over layers; 0.05 at width 2048, widened by sqrt(2048 / width))")
ledger.sanity("meanfield-backward", measured=dev_b, test=f"<= {0.15 * widen:.3g}", section=section,
              source="Schoenholz et al. 2017", statement="backward correlations follow prod f'(c_k) (max deviation)")
for name, ls in (("mf_slope_small", (10, 20, 30, 40, 50)), ("mf_slope_large", (200, 400, 800, 1600))):
    glue(name, sp.power_law_fit(list(ls), [ours[L] for L in ls]).slope, ".2f")
for name, value, fmt in (("theory_width", cfg.theory_width, "d"), ("theory_L", ch04.hidden(cfg.theory_depth), "d"),
                         ("dev_f", dev_f, ".3f"), ("dev_b", dev_b, ".3f")):
    glue(name, value, fmt)

# %% [markdown]
# :::{dropdown} More figures
# ```{glue:figure} fig-ch04-meanfield
# :name: fig-ch04-meanfield
#
# Correlations of the forward and backward kernels, layer by layer, in one network of width
# {glue:text}`theory_width` with $L$ = {glue:text}`theory_L` at initialisation (inputs with pairwise
# cosine 0.5), against the recursions. The lines should overlap.
# ```
# :::
#
# The network follows the recursions within {glue:text}`dev_f` (forward) and {glue:text}`dev_b`
# (backward; {numref}`fig-ch04-meanfield`). Convergence to the asymptote is slow: the balance point's log-log slope is
# {glue:text}`mf_slope_small` over $L\in[10,50]$ and {glue:text}`mf_slope_large` over
# $L\in[200,1600]$. At the depths a CPU can train, the theory itself predicts a slope above $3/5$.
#
# ## 3. The alignment hierarchy in one network
#
# **Training recipe.** The paper's is not known. The authors' research code trains with SGD at a
# learning rate chosen per depth and measures once the running training loss is below 0.1; within a
# CPU budget, plain SGD leaves deep MNIST-1D nets far from that, so we train with Adam instead:
# He-normal weights, zero biases, cross-entropy, minibatches of {glue:text}`batch_size`,
# {glue:text}`n_train` training sequences, and a cosine schedule over {glue:text}`epochs_at_10` epochs
# at $L=10$ (the budget grows as $\sqrt{L/10}$ and the learning rate shrinks as $\sqrt{10/L}$). The
# {term}`training criterion`: the training loss after training is at most {glue:text}`criterion`; a
# net that misses it gets another cosine cycle from where it stopped, up to four. Every net records
# the epochs it used and its train and test accuracy. Alignments are measured on a fixed,
# class-stratified sample of {glue:text}`n_align` training examples.
#
# The first experiment follows one network with $L$ = {glue:text}`hier_L` and width
# {glue:text}`hier_width` through training.

# %% tags=["remove-cell"]
align_idx = data.stratified_subset(split.train.labels, cfg.n_align, cfg.seed)
recipe = dict(batch_size=cfg.batch_size, criterion_loss=cfg.criterion_loss, device=cfg.device,
              data=dict(dataset=cfg.dataset, n_train=cfg.n_train, seed=cfg.seed, n_align=cfg.n_align))
for name, value in (("batch_size", cfg.batch_size), ("n_train", len(split.train.labels)), ("n_align", cfg.n_align),
                    ("epochs_at_10", cfg.epochs), ("hier_L", ch04.hidden(cfg.depth)), ("hier_width", cfg.width)):
    glue(name, value, "d")
glue("criterion", cfg.criterion_loss, "g")
glue("raw_probe", probes.linear_probe_accuracy(split.train.x, split.train.labels, split.test.x, split.test.labels),
     ".2f")

# %%
hier = ch04.cached_network(split, align_idx, cfg.depth, cfg.width, cfg.seed,
                           ch04.epochs_for(cfg.depth, cfg.epochs),
                           lr=ch04.lr_for(cfg.depth, cfg.lr),
                           snapshots=ch04.snapshot_grid(cfg.epochs), **recipe)
during = pd.concat([pd.DataFrame({"layer": ch04.weight_layers(cfg.depth), "epoch": f"epoch {e:03d}",
                                  "Aₗ": a.tangent.numpy()}) for e, a in hier["history"].snapshots]
                   + [pd.DataFrame({"layer": ch04.weight_layers(cfg.depth), "epoch": "end",
                                    "Aₗ": hier["final"].tangent.numpy()})])
charts.figure("fig-ch04-hierarchy", charts.by_layer(
    during, "Aₗ", color="epoch", y_title="alignment Aₗ", title="one network through training"))

# %% tags=["remove-cell"]
glue("hier_summary", ch04.training_summary([hier], cfg.criterion_loss))
glue("hier_peak", hier["final"].peak(), "d")
glue("hier_peak_init", hier["init"].peak(), "d")
glue("hier_balance", hier["balance"], "g")

# %% [markdown]
# ```{glue:figure} fig-ch04-hierarchy
# :name: fig-ch04-hierarchy
#
# Alignment $A_l$ of every weight layer with the labels, at initialisation (epoch 0), during
# training and at the end. Look for where the curve peaks and how the peak moves as training proceeds.
# ```
#
# A linear read-out of the raw input reaches a test accuracy of {glue:text}`raw_probe`. In
# {numref}`fig-ch04-hierarchy`, training:
# {glue:text}`hier_summary`. After training the alignment peaks at weight layer {glue:text}`hier_peak`
# (at layer {glue:text}`hier_peak_init` at initialisation); the balance point measured at
# initialisation is layer {glue:text}`hier_balance`. One network is an illustration; the claims rest
# on the seed ensembles that follow.
#
# ## 4. The hierarchy across depths
#
# The depth sweep trains {glue:text}`n_seeds` seeds at each $L$ in {glue:text}`sweep_L` (width
# {glue:text}`sweep_width`), every net with the recipe above. For each net we record the peak layer
# $l_{\max}=\arg\max_l A_l$ after training and at initialisation, and the balance point computed from
# the correlations of its forward and backward kernels *measured at its initialisation on the
# alignment sample*. The authors' research code sweeps $L$ up to 100 at width 256; training every net to the
# criterion does not fit the CPU budget there, so the book runs fewer depths, trained, rather than
# more depths mid-training.

# %%
runs = [r for d in cfg.sweep_depths
        for r in ch04.cached_depth(split, align_idx, d, cfg.sweep_width, SEEDS,
                                   lr=ch04.lr_for(d, cfg.lr), epochs=ch04.epochs_for(d, cfg.epochs),
                                   **recipe)]
c0 = sp.input_correlations(split.train.x[align_idx])
mf_balance = {d: sp.meanfield_correlations(d, c0).balance() for d in cfg.sweep_depths}
sweep = pd.DataFrame([ch04.summarise(r, mf_balance[r["depth"]]) for r in runs])
sweep[["L", "seed", "epochs", "first_below", "train_loss", "train_acc", "test_acc", "l_max",
       "l_max_init", "balance", "margin", "margin_init"]].round(3)

# %% tags=["remove-cell"]
rows = sweep.to_dict("records")
trained = ch04.per_seed(rows, lambda by: all(r["reached"] for r in by.values()))
glue("sweep_summary", ch04.training_summary(rows, cfg.criterion_loss))
for name in ("n_seeds", "sweep_width"):
    glue(name, getattr(cfg, name), "d")
glue("sweep_L", ", ".join(str(ch04.hidden(d)) for d in cfg.sweep_depths))
profiles = pd.DataFrame([{"relative layer": ch04.relative_position(l, r["depth"]), "L": f"L = {ch04.hidden(r['depth'])}",
                          "seed": r["seed"], "layer": l, "Aₗ / max Aₗ": float(a / r["final"].tangent.max())}
                         for r in runs for l, a in zip(ch04.weight_layers(r["depth"]), r["final"].tangent)])
mean_profiles = profiles.groupby(["L", "layer", "relative layer"], as_index=False)["Aₗ / max Aₗ"].mean()

# %%
charts.figure("fig-ch04-profiles", charts.line(
    mean_profiles, "relative layer", "Aₗ / max Aₗ", color="L", x_title="relative layer (l − 1) / L",
    y_title="Aₗ / max Aₗ (mean over seeds)", title="alignment after training, by depth"))

# %% [markdown]
# Training: {glue:text}`sweep_summary`. {numref}`fig-ch04-profiles` shows the profiles.
#
# ```{glue:figure} fig-ch04-profiles
# :name: fig-ch04-profiles
#
# Alignment profiles after training, each scaled by its maximum and averaged over seeds, against the
# relative layer $(l-1)/L$ (0: the input layer, 1: the readout). The hierarchy claims ask whether the
# curves peak inside and whether the peak moves left as $L$ grows.
# ```
#
# **Is the peak interior, and does training put it there?** Per net, the *interior margin* is the best
# hidden layer's alignment minus the larger of the two end layers' ($l=1$ and $l=L+1$): positive when
# the peak is interior, negative when an end layer aligns best. Per seed we take the smallest margin
# over depths (the peak is interior at every depth when it is positive). The {term}`control` is the same
# seed's untrained net: the Equilibrium Hypothesis is about initialisation, so an untrained profile
# may already peak inside, and then training did not create the hierarchy. Both claims are judged on
# the mean over seeds (a 95% t-interval) and on the paired gain over the untrained net.

# %% tags=["remove-cell"]
section = "4. The hierarchy across depths"
margin = ch04.per_seed(rows, lambda by: min(r["margin"] for r in by.values()))
margin0 = ch04.per_seed(rows, lambda by: min(r["margin_init"] for r in by.values()))
common = dict(control=Control("untrained net of the same seed", margin0), rule="mean", margin="> 0",
              trained=trained, section=section, figure="fig-ch04-profiles")
ledger.claim("lou22-hierarchy-interior-peak", provenance="paper", source="Lou et al. 2022, abstract",
             statement="after training a hidden layer aligns better than the input layer and the readout at every "
                       "depth (smallest interior margin over depths), more than in the untrained net", test="> 0",
             values=margin, headline=True, **common, explain={
                 "reproduced": "After training, a hidden layer aligns better than both end layers at every "
                               "depth: the smallest interior margin is {value} (untrained nets: {control_value}).",
                 "not reproduced": "After training an end layer aligns best at some depth ({value}).",
                 "inconclusive": "The interior margin after training ({value}) is not clearly positive, or not "
                                 "clearly above the untrained nets' ({control_value})."})
ledger.claim("lou22-hierarchy-margin", provenance="reconstruction",
             source="Lou et al. 2022, abstract; the 0.05 margin is this book's reconstruction",
             statement="after training the best hidden layer exceeds both end layers by at least 0.05 at every "
                       "depth, more than in the untrained net", test=">= 0.05", values=margin, **common, explain={
                 "reproduced": "The interior peak stands out by at least 0.05 ({value}).",
                 "not reproduced": "The interior peak does not rise 0.05 above the end layers ({value}).",
                 "inconclusive": "The smallest interior margin ({value}) straddles 0.05, or the untrained nets "
                                 "({control_value}) are not clearly below it."})

# %% [markdown]
# ## 5. Where the peak sits against depth
#
# The scaling $l^* = \Theta(L^{3/5})$ implies two testable statements: the peak layer moves deeper
# in deeper nets, but more slowly than depth, so its relative position $(l_{\max}-1)/L$ falls. Per
# seed we take the change from the shallowest to the deepest net. What could fake these? The same
# seeds' **untrained nets**: if their peaks already move
# deeper, or already sit relatively earlier in deeper nets, training is not what places the peak.
# (A peak at a fixed relative position, such as the middle layer, cannot pass the second test, so it
# is no control for it; it appears in section 6 as a null predictor.)

# %% tags=["remove-cell"]
section = "5. Where the peak sits against depth"
SCALING = "l* = Theta(L^3/5) (Lou et al. 2022, as reported by a review; the paper's text was not readable)"
depths = list(cfg.sweep_depths)
by_seed = ch04.per_seed(rows, lambda by: by)
peak_by = {s: {d: r["l_max"] for d, r in by.items()} for s, by in by_seed.items()}
init_by = {s: {d: r["l_max_init"] for d, r in by.items()} for s, by in by_seed.items()}
rel = {s: ch04.endpoint_change(p, ch04.relative_position) for s, p in peak_by.items()}
rel_init = {s: ch04.endpoint_change(p, ch04.relative_position) for s, p in init_by.items()}
shift_words = f"from L = {ch04.hidden(depths[0])} to L = {ch04.hidden(depths[-1])}"

# %% tags=["remove-cell"]
ledger.claim("lou22-peak-monotone", provenance="reconstruction", source=SCALING,
             statement=f"the peak layer moves deeper {shift_words} (change of l_max, in layers)", test="> 0",
             values={s: ch04.endpoint_change(p) for s, p in peak_by.items()}, rule="mean", trained=trained,
             control=Control("untrained net of the same seed",
                             {s: ch04.endpoint_change(p) for s, p in init_by.items()}),
             section=section, figure="fig-ch04-peak-depth", explain={
                 "inconclusive": "The trained peak moves deeper ({value} layers), but so does the untrained one "
                                 "({control_value}): moving deeper is no evidence by itself.",
                 "reproduced": "The trained peak moves deeper ({value} layers); the untrained one does not.",
                 "not reproduced": "The trained peak does not move deeper with depth ({value} layers)."})
ledger.claim("lou22-peak-position-falls", provenance="reconstruction", source=SCALING,
             statement=f"the peak sits relatively earlier in deeper nets: (l_max - 1) / L falls {shift_words}",
             test="< 0", values=rel, rule="mean", trained=trained, headline=True, section=section,
             control=Control("untrained net of the same seed", rel_init), figure="fig-ch04-peak-depth", explain={
                 "reproduced": "Deeper nets peak relatively earlier: from the shallowest to the deepest net the "
                               "relative peak position changes by {value} (untrained nets: {control_value}).",
                 "not reproduced": "The relative position of the trained peak does not fall with depth ({value}).",
                 "inconclusive": "The change of the relative peak position ({value}) is not clearly below 0, or "
                                 "the untrained nets' ({control_value}) is as low."})
glue("rel_init", np.mean(list(rel_init.values())), ".2f")
glue("rel_trained", np.mean(list(rel.values())), ".2f")

# %% [markdown]
# Averaged over seeds the relative position of the trained peak changes by {glue:text}`rel_trained`
# from the shallowest to the deepest net; the untrained nets' peaks change by {glue:text}`rel_init`.
#
# ## 6. The Equilibrium Hypothesis against null predictors
#
# A test of the hypothesis (our reconstruction; the paper's own test is not known): the trained
# $l_{\max}$ lies within $\pm\max(2, 0.15L)$ layers of
# the balance point measured at initialisation. A hit rate means something only against predictors
# that know nothing of signal propagation, under the same tolerance: **the middle layer** $1+L/2$
# (with the tolerance, an interval of layers), **a random interior layer**, and **the untrained
# network's own peak**. Per seed the control is the best of the three; the hypothesis must hit at
# every depth and beat it (paired by seed). {numref}`fig-ch04-peak-depth` shows the medians.

# %%
nulls = {s: {"middle layer": {d: ch04.middle(d) for d in depths},
             "random interior layer": ch04.random_interior_layers(depths, seed=1000 + s),
             "untrained peak": init_by[s]} for s in peak_by}
eh = ch04.per_seed(rows, lambda by: ch04.hit_fraction({d: r["l_max"] for d, r in by.items()},
                                                      {d: r["balance"] for d, r in by.items()}))
best = {s: ch04.best_null_hits(peak_by[s], nulls[s]) for s in eh}
pd.DataFrame({"EH hit fraction": eh, "best null": {s: b[0] for s, b in best.items()},
              "its hit fraction": {s: b[1] for s, b in best.items()}}).rename_axis("seed").round(2)

# %% tags=["remove-cell"]
ledger.claim("lou22-eh-predictor", provenance="reconstruction",
             source="Equilibrium Hypothesis (Lou et al. 2022, abstract); tolerance reconstructed",
             statement="the balance point measured at initialisation predicts the trained peak within "
                       "max(2, 0.15 L) layers at every depth (fraction of depths hit), better than the best null",
             test=">= 1", values=eh, control=Control("best of middle layer, random interior layer, untrained peak",
                                                    {s: b[1] for s, b in best.items()}),
             rule="mean", margin="> 0", trained=trained, headline=True, section="6. The Equilibrium Hypothesis "
             "against null predictors", figure="fig-ch04-peak-depth", explain={
                 "not reproduced": "The balance point measured at initialisation does not predict the trained "
                                   "peak: it hits within the tolerance at a fraction of the depths of {value}, "
                                   "the best null predictor at {control_value}.",
                 "inconclusive": "The balance point's hit fraction ({value}) and the best null's ({control_value}) "
                                 "cannot be told apart.",
                 "reproduced": "The balance point hits at every depth and beats every null."})
lines = pd.concat([pd.DataFrame({"L": sweep.L, "layer": sweep[col], "series": name, "seed": sweep.seed})
                   for col, name in (("l_max", "trained peak"), ("l_max_init", "untrained peak"),
                                     ("balance", "balance point at init"))]
                  + [pd.DataFrame({"L": [ch04.hidden(d) for d in depths], "layer": [ch04.middle(d) for d in depths],
                                   "series": "middle layer", "seed": -1})])
peak_chart = charts.line(lines.groupby(["L", "series"], as_index=False)["layer"].median(), "L", "layer",
                         color="series", x_title="hidden layers L", y_title="weight layer l (median over seeds)",
                         title="where the peak sits against depth", integer_x=True)

# %%
charts.figure("fig-ch04-peak-depth", peak_chart)

# %% [markdown]
# ```{glue:figure} fig-ch04-peak-depth
# :name: fig-ch04-peak-depth
#
# The trained peak layer, the untrained one, the balance point measured at initialisation and the
# middle layer against depth (medians over seeds). The Equilibrium Hypothesis predicts that the
# trained peak follows the balance point; the slope claims ask how fast the trained peak grows.
# ```
#
# ## 7. The slope against 3/5
#
# The reconstructed band for the log-log slope of $l_{\max}$ against $L$ is $[0.4, 1.0]$ (the
# finite-depth balance point of section 2 has slope 0.74-0.83 at $L\le50$; the asymptote is $0.6$),
# read off {numref}`fig-ch04-peak-depth` per seed. The control is the middle layer $1+L/2$,
# which grows in proportion to depth: if it lands in the band too, the band cannot tell a sublinear
# peak from a proportional one.

# %% tags=["remove-cell"]
slopes = {s: ch04.peak_slope(depths, [p[d] for d in depths]).slope for s, p in peak_by.items()}
middle_slope = ch04.peak_slope(depths, [ch04.middle(d) for d in depths]).slope
ledger.claim("lou22-peak-slope", provenance="reconstruction", source=SCALING,
             statement=f"the log-log slope of l_max against L over L in "
             f"{[ch04.hidden(d) for d in depths]} lies in [0.4, 1.0]", test="in [0.4, 1.0]", values=slopes,
             control=Control("middle layer 1 + L/2", {s: middle_slope for s in slopes}), rule="mean", trained=trained,
             section="7. The slope against 3/5", figure="fig-ch04-peak-depth", explain={
                 "inconclusive": "The slopes ({value}) and the middle layer's ({control_value}) both fit the band, or "
                                 "the seeds straddle it: at these depths the band cannot separate a sublinear peak "
                                 "from one proportional to depth.",
                 "not reproduced": "The slopes ({value}) fall outside the band.",
                 "reproduced": "The slopes ({value}) lie in the band; the middle layer's ({control_value}) "
                               "does not."})
pooled = ch04.peak_slope(sweep.depth.tolist(), sweep.l_max.tolist())
mf_fit = ch04.peak_slope(depths, [mf_balance[d] for d in depths])
for name, value in (("pooled_slope", ledger.record("peak_slope", pooled.slope)), ("pooled_lo", pooled.slope_ci[0]),
                    ("pooled_hi", pooled.slope_ci[1]), ("mf_sweep_slope", mf_fit.slope), ("middle_slope", middle_slope)):
    glue(name, value, ".2f")

# %%
windows = ch04.window_slopes(c0, [10, 20, 50, 100, 200, 400])
pd.DataFrame({"L range": [f"[{w}, {5 * w}]" for w in windows],
              "mean-field balance slope": list(windows.values())}).round(3)

# %% [markdown]
# Pooled over every net, the slope is {glue:text}`pooled_slope` (95% interval
# [{glue:text}`pooled_lo`, {glue:text}`pooled_hi`]); the middle layer's is {glue:text}`middle_slope`
# and the mean-field balance point's, started from this sample's input correlations,
# {glue:text}`mf_sweep_slope`. The table shows the mean-field balance slope over windows
# $[L_0, 5L_0]$: it approaches $3/5$ only for $L_0$ in the hundreds, where no CPU trains a plain
# network. At these depths $3/5$ is not testable as such; the sharper question is whether the
# relative position falls (section 5).
#
# ## 8. Conventions and sanity
#
# The paper's multi-output formula is not known. The *global* convention centres all $no$ rows with
# one matrix; the *trace* convention sums the kernel over outputs to an $n\times n$ kernel against
# $YY^\top$. The table gives the median trained peak per depth in each convention.

# %%
sweep.groupby("L")[["l_max", "l_max_global", "l_max_trace"]].median().rename(
    columns={"l_max": "full (Baratin)", "l_max_global": "global", "l_max_trace": "trace (n × n)"})

# %% tags=["remove-cell"]
ya = split.train.labels[align_idx]
v = alignment.centered_targets(ya, split.train.n_classes, dtype=torch.float64).reshape(-1)
self_alignment = float(alignment.kernel_target_alignment(torch.outer(v, v), ya))
values = torch.cat([torch.cat([a.tangent, a.tangent_global, a.tangent_trace, a.forward, a.backward])
                    for r in [*runs, hier] for a in (r["init"], r["final"])])
k_demo = ntk.full_ntk(models.MLP(split.train.x.shape[1], 16, 3, 10, seed=cfg.seed).double(),
                      split.train.x[align_idx].double())
centring = float((v @ alignment.center_kernel(k_demo, 10) @ v - v @ k_demo @ v).abs() / (v @ k_demo @ v).abs())
ledger.sanity("alignment-sanity", source="definition of the alignment", section="8. Conventions and sanity",
              measured={"|A(YY,YY) - 1|": abs(self_alignment - 1), "centring rel. error": centring,
                        "max |A_l|": float(values[torch.isfinite(values)].abs().max())},
              test={"|A(YY,YY) - 1|": "<= 1e-12", "max |A_l|": "<= 1", "centring rel. error": "<= 1e-10"},
              statement="alignment is a normalised, centring-consistent measure (the readout's backward "
                        "alignment, 0/0 by construction, excluded)")
ledger.save()

# %% [markdown]
# Every alignment lies in $[-1, 1]$, $A(YY^\top, YY^\top) = 1$, and centring the kernel leaves
# $y^\top K y$ unchanged for centred targets.
#
# ## Summary

# %% tags=["remove-input"]
ledger.closing()

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ex-ch04-width
# The balance point is measured in nets of width 64, narrow against their depth. Run
# `layerwise run 04 -p sweep_width 256 -p n_seeds 4`. Predict whether the balance point moves towards
# the mean-field one, and whether the hit rate of the Equilibrium Hypothesis changes; then check.
# ```
# ```{solution} ex-ch04-width
# :class: dropdown
# Mean field describes networks whose width is large against their depth, so the measured balance
# points should move towards the mean-field ones. Whether the trained peak follows is what the run
# decides; compare the hit table of section 6 with this page's.
# ```
#
# ```{exercise}
# :label: ex-ch04-undertrained
# Rerun with `-p epochs 10`, so that the nets stop far from the criterion. Which verdicts change, and
# what does the ledger say about them?
# ```
# ```{solution} ex-ch04-undertrained
# :class: dropdown
# The nets no longer reach the training criterion, so every claim about trained nets becomes
# inconclusive with the reason "undertrained". The peaks also sit elsewhere: mid-training profiles
# are not the trained ones, which is why this chapter trains to a criterion.
# ```
#
# ```{exercise}
# :label: ex-ch04-convention
# Section 8 shows the peak in three alignment conventions. Which convention moves the peak most, and
# why can the trace convention disagree with the full one although both use the same kernels?
# ```
# ```{solution} ex-ch04-convention
# :class: dropdown
# The trace convention discards the cross-output blocks of $K_l$, so it ignores how a layer's tangent
# features separate one output from another; the global convention changes only the normalisation.
# Where they disagree, "the layer that aligns best" is not a property of the network alone.
# ```
