"""Chapter 01, deep linear compression: its parameters (book defaults, smoke/paper values, help) and rules."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..params import DATASETS, Bool, Choice, ConfigError, Float, Int, ListOf, Param, Path
from ..stats import linear_fit

PARAMS = dict(
    n_per_class=Param(10, "points per class n of the theory data (Fig. 4)", rule=Int(min=1)),
    n_classes=Param(3, "number of classes K of the theory data", rule=Int(min=2)),
    dim=Param(50, "input dimension d (and width) of the theory nets; n_per_class * n_classes <= dim keeps the data orthonormal", rule=Int(min=1)),
    depth=Param(6, "weight matrices L of the theory nets", rule=Int(min=3)),
    init_scale=Param(0.3, "orthogonal initialisation scale xi of the theory nets", rule=Float(min=0, closed="right")),
    alpha=Param(100.0, "output multiplier alpha of the theory nets", rule=Float(min=0, closed="right")),
    lr=Param(0.1, "constant learning rate of full-batch gradient descent (theory nets; the authors' schedule is never stepped)", rule=Float(min=0, closed="right")),
    epochs=Param(3000, "epoch budget of the theory nets (they stop at stop_loss first)", smoke=400, rule=Int(min=1)),
    stop_loss=Param(1e-11, "training criterion of the theory nets: stop once the loss is below this (interpolation)", rule=Float(min=0, closed="right")),
    n_seeds=Param(40, "seeds of the section-1 theory claims (pass rates over nets; each net costs milliseconds)", smoke=3, rule=Int(min=1)),
    sweep_seeds=Param(10, "seeds of the closed-form grid and the depth sweep (the first of the n_seeds)", smoke=3, rule=Int(min=1)),
    rate_init_scales=Param([0.1, 0.3, 0.5], "values of xi in the closed-form rate grid", smoke=[0.3], rule=ListOf(Float(min=0, closed="right"))),
    rate_alphas=Param([1.0, 100.0], "values of alpha in the closed-form rate grid", smoke=[100.0], rule=ListOf(Float(min=0, closed="right"))),
    sweep_depths=Param([4, 6, 8, 10], "depths L of the depth sweep", smoke=[4, 6], rule=ListOf(Int(min=3))),
    sweep_n_per_class=Param([10, 15, 20, 30], "values of n of the sample-size sweep (N = n K past d breaks orthogonality)", smoke=[10, 20], paper=[10, 15, 20, 30, 50, 100], rule=ListOf(Int(min=1))),
    dataset=Param('mnist1d', "data set of the nonlinear nets (Figs. 1, 5): mnist1d, digits, or a torchvision set with data_root", paper='cifar10', rule=Choice(*DATASETS)),
    data_root=Param('', "folder holding torchvision data sets (paper preset)", rule=Path()),
    download=Param(False, "allow downloading a torchvision data set into data_root", rule=Bool()),
    n_train=Param(1000, "training samples of the nonlinear nets (0 = all; a stratified subset otherwise)", smoke=300, paper=0, rule=Int(min=0)),
    net_seeds=Param(10, "seeds of the nonlinear nets (each seed trains the MLP and the hybrid)", smoke=3, rule=Int(min=1)),
    net_width=Param(128, "hidden width of the nonlinear nets", smoke=32, paper=1024, rule=Int(min=1, width=True)),
    net_depth=Param(8, "weight matrices of the nonlinear nets (hidden layers + classifier)", rule=Int(min=2)),
    hybrid_nonlinear=Param(3, "nonlinear (Linear-BN-ReLU) hidden layers at the front of the hybrid net; the rest are linear", rule=Int(min=0)),
    net_epochs=Param(200, "training epochs of the nonlinear nets (one cosine cycle)", smoke=2, paper=400, rule=Int(min=1)),
    net_lr=Param(0.03, "learning rate of the nonlinear nets (SGD, cosine to 1% of it)", paper=0.0001, rule=Float(min=0, closed="right")),
    net_momentum=Param(0.9, "SGD momentum of the nonlinear nets", rule=Float(min=0, max=1, closed="left")),
    net_weight_decay=Param(0.0001, "weight decay of the nonlinear nets", rule=Float(min=0)),
    net_batch_size=Param(128, "minibatch size of the nonlinear nets", paper=128, rule=Int(min=1)),
    net_init_scale=Param(0.1, "orthogonal initialisation scale of the nonlinear nets", rule=Float(min=0, closed="right")),
    net_criterion=Param(0.99, "training criterion of the nonlinear nets: training accuracy at least this (they interpolate in the paper)", rule=Float(min=0, max=1, closed="right")),
    alpha_hybrid=Param(100.0, "output multiplier of the hybrid net", rule=Float(min=0, closed="right")),
    alpha_mlp=Param(1.0, "output multiplier of the all-nonlinear MLP", rule=Float(min=0, closed="right")),
)


def check(p: dict[str, Any]) -> None:
    for n in [p["n_per_class"], *p["sweep_n_per_class"]]:
        if n * p["n_classes"] > 10_000:
            raise ConfigError(f"n_per_class={n} gives more than 10000 samples for the theory data")
    if p["sweep_seeds"] > p["n_seeds"] or p["net_seeds"] > p["n_seeds"]:
        raise ConfigError(f"sweep_seeds and net_seeds must be <= n_seeds = {p['n_seeds']} (they are its first seeds)")
    if p["net_width"] < 10:
        raise ConfigError(f"net_width must be >= 10 (the number of classes), got {p['net_width']}")
    if p["hybrid_nonlinear"] >= p["net_depth"]:
        raise ConfigError(f"hybrid_nonlinear must be < net_depth={p['net_depth']} (it counts hidden "
                          f"layers), got {p['hybrid_nonlinear']}")


# --- the experiments (explicit arguments, no cfg) -------------------------------------------------

def theory_profile(net: Any, ds: Any, depth: int) -> tuple[list[float], list[float]]:
    """Return (C_l, D_l) for l = 0..L-1 (l = 0 the input) of a theory net on its data.

    D_l takes max |cos| of the uncentred class means (the authors' docstring; their code's signed
    maximum exceeds 1 when every pair of means points apart), so D_l lies in [0, 1].
    """
    from .. import features
    from ..metrics import collapse

    c, d = collapse.layerwise_collapse(features.layer_features(net, ds.x)[:depth], ds.labels, signed=False)
    return list(c), list(d)


def theory_recipe(*, depth: int, init_scale: float, alpha: float, n_per_class: int, n_classes: int, dim: int,
                  lr: float, epochs: int, stop_loss: float, seed: int) -> dict[str, Any]:
    """Return the recipe of one theory net (what `train_theory` trains): the key of the network store."""
    return dict(kind="ch01-theory", depth=depth, init_scale=init_scale, alpha=alpha, n_per_class=n_per_class,
                n_classes=n_classes, dim=dim, width=dim, lr=lr, schedule="constant", epochs=epochs,
                criterion=f"loss < {stop_loss:g}", seed=seed)


def train_theory(*, depth: int, init_scale: float, alpha: float, n_per_class: int, n_classes: int, dim: int,
                 lr: float, epochs: int, stop_loss: float, seed: int) -> dict[str, Any]:
    """Train one theory net (Fig. 4 setting) by full-batch GD at constant lr until loss < stop_loss.

    Data: `data.nearly_orthonormal(n_per_class, n_classes, dim, seed)`; net: bias-free linear, width
    dim, `depth` matrices, orthogonal init of scale init_scale, output multiplier alpha, float64.
    Returns c, d (trained profile, l = 0..L-1), c_untrained, d_untrained (the same net at step 0),
    epochs (run), loss (final) and reached (loss < stop_loss: the interpolation the theory assumes).
    """
    from .. import data, models, train

    ds = data.nearly_orthonormal(n_per_class, n_classes, dim, seed=seed)
    net = models.MLP(dim, dim, depth, n_classes, activation="linear", bias=False, init="orthogonal",
                     init_scale=init_scale, output_scale=alpha, seed=seed).double()
    c0, d0 = theory_profile(net, ds, depth)
    hist = train.fit(net, ds.x, ds.labels, loss="mse", lr=lr, epochs=epochs, stop_loss=stop_loss, seed=seed,
                     progress=False)
    c, d = theory_profile(net, ds, depth)
    return dict(c=c, d=d, c_untrained=c0, d_untrained=d0, epochs=hist.epochs_run, loss=float(hist.loss[-1]),
                reached=bool(hist.loss[-1] < stop_loss))


def train_theory_seeds(seeds: Sequence[int], *, depth: int, init_scale: float, alpha: float, n_per_class: int,
                       n_classes: int, dim: int, lr: float, epochs: int, stop_loss: float) -> list[dict[str, Any]]:
    """`train_theory` for every seed at once: one `deep_linear.DeepLinearEnsemble` of the seeds' nets.

    Each member follows its own GD exactly (the summed loss); training stops once the SUM of the
    members' losses is below stop_loss (so every member ends below it) or after `epochs`. Returns one
    dict per seed, as `train_theory` (epochs is the ensemble's; loss and reached are the member's own).
    """
    import torch

    from .. import data, deep_linear, models, train
    from ..metrics import collapse

    sets = [data.nearly_orthonormal(n_per_class, n_classes, dim, seed=s) for s in seeds]
    nets = [models.MLP(dim, dim, depth, n_classes, activation="linear", bias=False, init="orthogonal",
                       init_scale=init_scale, output_scale=alpha, seed=s).double() for s in seeds]
    ens = deep_linear.DeepLinearEnsemble([torch.stack([w.detach() for w in ws]) for ws in zip(*(n.weights() for n in nets))],
                                         output_scale=alpha)
    x = deep_linear.side_by_side([ds.x for ds in sets])
    y = data.one_hot(sets[0].labels, n_classes, torch.float64)

    def profiles():
        with torch.no_grad():
            feats = ens.features(x)
        return [collapse.layerwise_collapse([f[i] for f in feats[:depth]], ds.labels, signed=False)
                for i, ds in enumerate(sets)], feats[-1]

    before, _ = profiles()
    hist = train.fit(ens, x, y.repeat(1, len(seeds)), loss="mse", lr=lr, epochs=epochs, stop_loss=stop_loss,
                     progress=False)
    after, out = profiles()
    losses = [float((out[i] - y).pow(2).sum(1).mean()) for i in range(len(seeds))]
    return [dict(c=list(a[0]), d=list(a[1]), c_untrained=list(b[0]), d_untrained=list(b[1]), epochs=hist.epochs_run,
                 loss=loss, reached=bool(loss < stop_loss)) for a, b, loss in zip(after, before, losses)]


def net_recipe(*, dataset: str, n_train: int, width: int, depth: int, nonlinear_layers: int | None, alpha: float,
               init_scale: float, lr: float, momentum: float, weight_decay: float, batch_size: int, epochs: int,
               criterion: float, seed: int) -> dict[str, Any]:
    """Return the recipe of one nonlinear net of Figs. 1 and 5 (the key of the network store)."""
    return dict(kind="ch01-net", dataset=dataset, n_train=n_train, width=width, depth=depth,
                nonlinear_layers=nonlinear_layers, batchnorm=True, alpha=alpha, init_scale=init_scale,
                optimizer="sgd", lr=lr, momentum=momentum, weight_decay=weight_decay, batch_size=batch_size,
                schedule="cosine to 1%", epochs=epochs, criterion=f"train accuracy >= {criterion:g}", seed=seed)


def measure_layers(net: Any, split: Any, device: Any = "cpu") -> list[dict[str, Any]]:
    """Return one row per hidden layer l = 1..L-1 of `net` on `split`: numerical rank (95% energy of
    the uncentred training features, Wang et al.'s Fig. 1), linear-probe training and test accuracy,
    C_l and D_l (max |cos|) on the training set."""
    from .. import features
    from ..metrics import collapse, probes, rank

    net.eval()
    f_tr = features.layer_features(net, split.train.x.to(device))
    f_te = features.layer_features(net, split.test.x.to(device))
    y_tr, y_te = split.train.labels, split.test.labels
    return [dict(layer=l, rank=rank.numerical_rank(f_tr[l]), probe_train=probes.linear_probe_accuracy(f_tr[l], y_tr),
                 probe_test=probes.linear_probe_accuracy(f_tr[l], y_tr, f_te[l], y_te),
                 C_l=collapse.within_class_compression(f_tr[l], y_tr),
                 D_l=collapse.between_class_discrimination(f_tr[l], y_tr, signed=False),
                 D_signed=collapse.between_class_discrimination(f_tr[l], y_tr))
            for l in range(1, len(f_tr) - 1)]


def train_net(split: Any, *, width: int, depth: int, nonlinear_layers: int | None, alpha: float, init_scale: float,
              lr: float, momentum: float, weight_decay: float, batch_size: int, epochs: int, criterion: float,
              seed: int, device: Any = "cpu") -> dict[str, Any]:
    """Train the MLP (nonlinear_layers=None: every hidden layer Linear-BN-ReLU) or the hybrid (the first
    `nonlinear_layers` hidden layers nonlinear, the rest linear) of Figs. 1 and 5, and measure it.

    Bias-free, orthogonal init of scale init_scale, MSE loss on alpha * output, SGD with momentum and
    weight decay, cosine to 1% of lr over `epochs`. Returns trained and untrained (rows of
    `measure_layers`), train_acc and test_acc of the net itself (eval mode), epochs, loss, and
    reached = train_acc >= criterion.
    """
    from .. import features, models, train

    net = models.MLP(split.train.x.shape[1], width, depth, split.train.n_classes, activation="relu", bias=False,
                     init="orthogonal", init_scale=init_scale, nonlinear_layers=nonlinear_layers, batchnorm=True,
                     output_scale=alpha, seed=seed).to(device)
    untrained = measure_layers(net, split, device)
    hist = train.fit(net, split.train.x, split.train.labels, loss="mse", lr=lr, momentum=momentum,
                     weight_decay=weight_decay, batch_size=batch_size, epochs=epochs, schedule="cosine",
                     lr_min=lr * 1e-2, seed=seed, progress=False)
    trained = measure_layers(net, split, device)
    acc = [float((features.layer_features(net, s.x.to(device))[-1].argmax(1) == s.labels).double().mean())
           for s in (split.train, split.test)]
    return dict(trained=trained, untrained=untrained, train_acc=acc[0], test_acc=acc[1], epochs=hist.epochs_run,
                loss=float(hist.loss[-1]), reached=bool(acc[0] >= criterion))


# --- what decides chapter 1's verdicts -------------------------------------------------------------

def profile_stats(c: Sequence[float], d: Sequence[float]) -> dict[str, Any]:
    """Return the per-seed measures of a compression profile read by the Fig. 4 claims.

    c (L,): C_l for l = 0..L-1 (l = 0 the input); d (L,): D_l. Returns rate = exp(slope) of the
    least-squares line of log C_l on l, r2_log_c its R^2, ratios C_l / C_(l-1) (L-1,), and
    `discrimination_stats(d)` (D, r2, last).
    """
    c, d = np.asarray(c, dtype=float), np.asarray(d, dtype=float)
    if c.shape != d.shape or c.size < 3 or np.any(c <= 0):
        raise ValueError(f"profile_stats needs >= 3 layers of positive C_l and matching D_l, got {c.size}, {d.size}")
    fit_c = linear_fit(np.arange(c.size), np.log(c))
    return dict(rate=float(np.exp(fit_c.slope)), r2_log_c=fit_c.r2, ratios=(c[1:] / c[:-1]).tolist(),
                **discrimination_stats(d))


def discrimination_stats(d: Sequence[float]) -> dict[str, Any]:
    """Return {"D": D_1..D_(L-1) rounded to 6 decimals, "r2": R^2 of the line D_l on l, "last": D_(L-1)}.

    d (L,) lists D_0..D_(L-1). Rounding makes an untrained net's D_l (constant up to the float32 noise
    of its initial weights, ~1e-8) read as ties, not as a rise; a flat profile (no rise at all) gets
    r2 = 0, since no line through it rises.
    """
    d = np.round(np.asarray(d, dtype=float)[1:], 6)
    if d.size < 3:
        raise ValueError(f"discrimination_stats needs D_0 and >= 3 more layers, got {d.size + 1}")
    r2 = linear_fit(np.arange(1, d.size + 1), d).r2 if np.ptp(d) > 0 else 0.0
    return {"D": d.tolist(), "r2": float(r2), "last": float(d[-1])}


def rate_errors(measured: Sequence[float], predicted: Sequence[float]) -> list[float]:
    """Return 100 |measured / predicted - 1| per entry: the relative error of a rate, in percent."""
    m, p = np.asarray(measured, dtype=float), np.asarray(predicted, dtype=float)
    return (100 * np.abs(m / p - 1)).tolist()


def rank_fall(rank: Sequence[float]) -> float:
    """Return 1 - rank[-1] / max(rank): how far the rank falls from its peak to the last layer (0 = not)."""
    r = np.asarray(rank, dtype=float)
    if r.size < 2 or r.max() <= 0:
        raise ValueError(f"rank_fall needs >= 2 layers with a positive rank, got {list(r)}")
    return float(1 - r[-1] / r.max())


def compression_decades(c: Sequence[float]) -> float:
    """Return log10(c[0] / c[-1]): how far a C_l profile falls from its first to its last entry, in decades."""
    c = np.asarray(c, dtype=float)
    if c.size < 2 or np.any(c <= 0):
        raise ValueError(f"compression_decades needs >= 2 positive values, got {list(c)}")
    return float(np.log10(c[0] / c[-1]))


def net_values(rows: Sequence[dict[str, Any]], first_linear: int = 3) -> dict[str, float]:
    """Return the per-net values of the Figs. 1 and 5 claims from `measure_layers` rows (layers 1..L-1).

    probe: min linear-probe training accuracy over l >= 2; rank_last_over_max: rank_(L-1) / max_l rank_l;
    rank_fall: 1 - that; rank_peak: the layer of the largest rank; decades: `compression_decades` of C_l
    over l = first_linear..L-1; D_last: D_(L-1); C_last_over_first: C_(L-1) / C_1.
    """
    by_layer = {int(r["layer"]): r for r in rows}
    layers = sorted(by_layer)
    if layers != list(range(1, len(layers) + 1)) or len(layers) < max(3, first_linear + 1):
        raise ValueError(f"net_values needs hidden layers 1..M (M > {first_linear}), got {layers}")
    rank = [float(by_layer[l]["rank"]) for l in layers]
    c = [float(by_layer[l]["C_l"]) for l in layers]
    return dict(probe=min(float(by_layer[l]["probe_train"]) for l in layers[1:]),
                rank_last_over_max=rank[-1] / max(rank), rank_fall=rank_fall(rank),
                rank_peak=int(layers[int(np.argmax(rank))]), decades=compression_decades(c[first_linear - 1:]),
                D_last=float(by_layer[layers[-1]]["D_l"]), C_last_over_first=c[-1] / c[0])


def training_summary(name: str, runs: Sequence[dict[str, Any]], criterion: float) -> str:
    """Return one line: how many of the `runs` (train_net outputs) reached train accuracy >= criterion,
    in how many epochs, and their train and test accuracy ranges."""
    acc = [r["train_acc"] for r in runs]
    test = [r["test_acc"] for r in runs]
    reached = sum(bool(r["reached"]) for r in runs)
    return (f"{name}: {len(runs)} nets, {reached} reached train accuracy >= {criterion:g} in {runs[0]['epochs']} "
            f"epochs; train {min(acc):.3f}-{max(acc):.3f}, test {min(test):.3f}-{max(test):.3f}")


def _code(*fns: Any) -> str:
    """A short hash of the source of `fns`: part of a store recipe, so an edit of them misses the store."""
    import hashlib

    from .. import store

    return hashlib.sha256("".join(store.fn_source(f) for f in fns).encode()).hexdigest()[:16]


def theory_seeds_stored(seeds: Sequence[int], **setting: Any) -> list[dict[str, Any]]:
    """`train_theory_seeds(seeds, **setting)` through the network store (one entry per seed set and setting)."""
    from .. import store

    recipe = dict(theory_recipe(seed=-1, **setting), seeds=list(seeds), code=_code(train_theory_seeds, theory_profile))
    return store.cached(recipe, lambda: train_theory_seeds(seeds, **setting))


def net_stored(split: Any, *, dataset: str, n_train: int, split_seed: int, device: Any = "cpu",
               **setting: Any) -> dict[str, Any]:
    """`train_net(split, **setting)` through the network store; dataset, n_train and split_seed name the split."""
    from .. import store

    recipe = dict(net_recipe(dataset=dataset, n_train=n_train, **setting), split_seed=split_seed,
                  code=_code(train_net, measure_layers))
    return store.cached(recipe, lambda: train_net(split, device=device, **setting))


# --- the sweeps of sections 2 and 3 (rows for a DataFrame) ----------------------------------------

def profile_rows(seeds: Sequence[int], runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return long rows (layer, seed, state, C, D) of theory runs, trained and untrained."""
    return [dict(layer=l, seed=s, state=state, C=r[f"c{suffix}"][l], D=r[f"d{suffix}"][l])
            for s, r in zip(seeds, runs) for state, suffix in (("trained", ""), ("untrained", "_untrained"))
            for l in range(len(r["c"]))]


def closed_form_grid(seeds: Sequence[int], init_scales: Sequence[float], alphas: Sequence[float], *, depth: int,
                     **theory: Any) -> list[dict[str, Any]]:
    """Train every (xi, alpha) of the grid on `seeds` (stored); return one row per net with the closed form
    (predicted), the first ratio, the mean ratio over l >= 2 (later), the untrained mean ratio, their
    errors in percent (`rate_errors`), epochs and reached."""
    from ..metrics import collapse

    rows = []
    for xi in init_scales:
        for a in alphas:
            rho = collapse.predicted_compression_rate(xi, a, theory["n_per_class"], depth)
            for s, r in zip(seeds, theory_seeds_stored(seeds, depth=depth, init_scale=xi, alpha=a, **theory)):
                q = np.asarray(r["c"][1:]) / np.asarray(r["c"][:-1])
                q0 = np.asarray(r["c_untrained"][1:]) / np.asarray(r["c_untrained"][:-1])
                m = dict(first=q[0], later=float(np.mean(q[1:])), untrained=float(np.mean(q0)))
                rows.append(dict(xi=xi, alpha=a, setting=f"ξ = {xi:g}, α = {a:g}", seed=s, epochs=r["epochs"],
                                 reached=r["reached"], predicted=rho, **m,
                                 **{f"{k}_error": rate_errors([v], [rho])[0] for k, v in m.items()}))
    return rows


def depth_sweep(seeds: Sequence[int], depths: Sequence[int], *, init_scale: float, alpha: float,
                **theory: Any) -> list[dict[str, Any]]:
    """Train the theory nets at every depth on `seeds` (stored); one row per net: the mean ratio over
    l >= 2 (over all ratios at L = 2), the closed form, errors in percent, trained and untrained."""
    from ..metrics import collapse

    rows = []
    for L in depths:
        rho = collapse.predicted_compression_rate(init_scale, alpha, theory["n_per_class"], L)
        for s, r in zip(seeds, theory_seeds_stored(seeds, depth=L, init_scale=init_scale, alpha=alpha, **theory)):
            q = np.asarray(r["c"][1:]) / np.asarray(r["c"][:-1])
            q0 = np.asarray(r["c_untrained"][1:]) / np.asarray(r["c_untrained"][:-1])
            measured = float(np.mean(q[1:] if L > 2 else q))
            rows.append(dict(depth=L, seed=s, reached=r["reached"], predicted=rho, measured=measured,
                             error=rate_errors([measured], [rho])[0],
                             untrained_error=rate_errors([float(np.mean(q0))], [rho])[0]))
    return rows


def sample_sweep(seed: int, n_per_class: Sequence[int], *, depth: int, init_scale: float, alpha: float,
                 **theory: Any) -> list[dict[str, Any]]:
    """Train one theory net per n (N = n K samples) on one seed (stored); one row each: N/d, reached,
    the R^2 of log C_l on l, the measured mean ratio over l >= 2 and the closed form."""
    from ..metrics import collapse

    rows = []
    for n in n_per_class:
        setting = dict(theory, n_per_class=n)
        r = theory_seeds_stored([seed], depth=depth, init_scale=init_scale, alpha=alpha, **setting)[0]
        st = profile_stats(r["c"], r["d"])
        rows.append(dict(N_over_d=n * setting["n_classes"] / setting["dim"], reached=r["reached"],
                         r2_log_c=st["r2_log_c"], measured=float(np.mean(st["ratios"][1:])),
                         predicted=collapse.predicted_compression_rate(init_scale, alpha, n, depth)))
    return rows
