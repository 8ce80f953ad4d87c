"""Chapter 02's experiments: the Fig. 6 runs (reduced deep linear ensembles), the interventions on
chapter 1's theory setting, and the projection-head transfer runs. Explicit arguments, no cfg; the
helpers that turn their outputs into claim values live in `ch02`."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .. import data, deep_linear, features, models, train
from ..metrics import collapse, weights
from .ch02 import rate_error, scaled_probe_accuracy

MEASURES = ["residual", "balance", "bulk_variance"]


def theory_net(dim: int, width: int, depth: int, n_classes: int, init_scale: float, alpha: float, seed: int,
               activation: str = "linear") -> models.MLP:
    """The untrained bias-free deep linear (or `activation`) net of the theory setting, orthogonal init, float64."""
    return models.MLP(dim, width, depth, n_classes, activation=activation, bias=False, init="orthogonal",
                      init_scale=init_scale, output_scale=alpha, seed=seed).double()


def log_epochs(last: int, count: int = 24) -> list[int]:
    """Return about `count` log-spaced epochs in 1..last (the snapshot schedule of the Fig. 6 runs)."""
    return sorted({int(e) for e in np.geomspace(1, last, count)})


def reduction_gap(ds: Any, *, width: int, depth: int, init_scale: float, alpha: float, lr: float, steps: int,
                  seed: int) -> float:
    """Train a full-width net and its reduced ensemble for `steps` GD steps; return max |W_full - W_lifted|."""
    k, dim = ds.n_classes, ds.x.shape[1]
    net = theory_net(dim, width, depth, k, init_scale, alpha, seed)
    init = [w.detach().clone() for w in net.weights()]
    red = deep_linear.reduce_orthogonal_init(init, init_scale)
    ens = deep_linear.DeepLinearEnsemble.from_reductions([red], output_scale=alpha)
    train.fit(ens, ds.x, data.one_hot(ds.labels, k, torch.float64), epochs=steps, lr=lr, loss="mse", progress=False)
    train.fit(net, ds.x, ds.labels, epochs=steps, lr=lr, loss="mse", progress=False)
    lifted = deep_linear.lift(ens.member_weights(0), red, init)
    return max(float((a.detach() - b).abs().max()) for a, b in zip(net.weights(), lifted))


def train_fig6(depth: int, widths: Sequence[int], seeds: Sequence[int], *, init_scale: float, alpha: float,
               n_per_class: int, n_classes: int, dim: int, lr: float, lr_min: float, epochs: int, stop_loss: float,
               snapshots: bool = True) -> tuple[list[dict], list[dict]]:
    """Train every (width, seed) at one depth from init scale `init_scale` as one reduced ensemble.

    GD at lr cosine-annealed to lr_min over `epochs`, stopped once the summed loss is below stop_loss.
    Returns (rows, snaps): one row per member with its measures at step 0 (`*_init`) and at the end
    (residual, balance, bulk_variance, rate_error against the closed form, the balance gaps, its own
    loss and `reached` = loss < stop_loss), and the measures at log-spaced steps (empty without snapshots).
    """
    members = [(w, s) for w in widths for s in seeds]
    k = n_classes
    reds, sets = [], []
    for w, s in members:
        reds.append(deep_linear.reduce_orthogonal_init(theory_net(dim, w, depth, k, init_scale, alpha, s).weights(),
                                                       init_scale))
        sets.append(data.nearly_orthonormal(n_per_class, k, dim, seed=s))
    ens = deep_linear.DeepLinearEnsemble.from_reductions(reds, output_scale=alpha)
    x = deep_linear.side_by_side([ds.x for ds in sets])
    y = data.one_hot(sets[0].labels, k, torch.float64).repeat(1, len(members))
    predicted = collapse.predicted_compression_rate(init_scale, alpha, n_per_class, depth)

    def snapshot(epoch, model):
        out = []
        with torch.no_grad():
            feats = model.features(x)
        for i, (red, ds) in enumerate(zip(reds, sets)):
            now = model.member_weights(i)
            m = deep_linear.reduced_weight_assumptions(now, red.complement, red.init_scale, ds.x, ds.labels, k=k,
                                                       alpha=alpha, dim=dim)
            m["gaps"], _ = deep_linear.reduced_balance_gaps(now, red.complement, red.init_scale)
            c, _ = collapse.layerwise_collapse([f[i] for f in feats[:-1]], ds.labels)
            out.append(dict(m, rate_error=rate_error(c, predicted)))
        return out

    init = snapshot(0, ens)
    hist = train.fit(ens, x, y, epochs=epochs, lr=lr, lr_min=lr_min, schedule="cosine", loss="mse",
                     stop_loss=stop_loss, callback=snapshot if snapshots else None,
                     snapshot_epochs=log_epochs(epochs) if snapshots else (), progress=False)
    final = snapshot(hist.epochs_run, ens)
    with torch.no_grad():
        out = ens(x)
    rows = []
    for i, (w, s) in enumerate(members):
        loss = float((out[:, i * k:(i + 1) * k] - y[:, :k]).pow(2).sum(1).mean())
        f, f0 = final[i], init[i]
        rows.append(dict(depth=depth, width=w, seed=s, init_scale=init_scale, epochs=hist.epochs_run, loss=loss,
                         reached=loss < stop_loss, residual=f["residual"], balance=f["balance"],
                         bulk_variance=f["bulk_variance"], rate_error=f["rate_error"], residual_init=f0["residual"],
                         balance_init=f0["balance"], bulk_variance_init=f0["bulk_variance"], gaps_init=f0["gaps"],
                         gaps_final=f["gaps"]))
    snaps = [dict(depth=depth, width=w, seed=s, epoch=e, **{key: v[i][key] for key in (*MEASURES, "rate_error")})
             for e, v in [*hist.snapshots, (hist.epochs_run, final)] for i, (w, s) in enumerate(members)]
    return rows, snaps


def rate_record(net: models.MLP, ds: Any, *, init_scale: float, alpha: float, label: str, value: Any, epochs: int,
                loss: float) -> dict[str, Any]:
    """Measures, closed-form rate error and spectral rate error of a trained theory-setting net."""
    k, depth = ds.n_classes, len(net.weights())
    w = [p.detach() for p in net.weights()]
    c, _ = collapse.layerwise_collapse(features.layer_features(net, ds.x)[:-1], ds.labels)
    ratios = np.asarray(c[1:]) / np.asarray(c[:-1])
    spectral = np.asarray(weights.spectral_compression_rates(w, k))
    n_per_class = ds.x.shape[0] // k
    predicted = collapse.predicted_compression_rate(init_scale, alpha, n_per_class, depth)
    return dict(intervention=label, value=value, epochs=epochs, loss=loss,
                **weights.weight_assumptions(w, ds.x, ds.labels, k=k, alpha=alpha),
                predicted=predicted, measured_rate=float(np.mean(ratios[1:])),
                rate_error=rate_error(c, predicted), spectral_rate=float(np.mean(spectral[1:])),
                spectral_error=rate_error(c, spectral))


def break_assumptions(seed: int, *, n_per_class: int, n_classes: int, dim: int, depth: int, width: int,
                      init_scale: float, alpha: float, lr: float, lr_min: float, epochs: int, stop_loss: float,
                      init_scales: Sequence[float], weight_decays: Sequence[float], decay_epochs: int,
                      activations: Sequence[str], nonlinear_epochs: int, every_step: bool = False) -> list[dict]:
    """Chapter 1's theory setting for one seed, trained as is and with one assumption broken at a time.

    Interventions: the converged baseline; with `every_step`, the baseline at every step ("fewer
    steps"); larger init scales (a run that diverges is left out); weight decay (a fixed `decay_epochs`); a nonlinearity in every hidden
    layer (capped at `nonlinear_epochs`); the untrained net. One `rate_record` per run, with `seed`.
    """
    ds = data.nearly_orthonormal(n_per_class, n_classes, dim, seed=seed)

    def net(xi=init_scale, activation="linear"):
        return theory_net(dim, width, depth, n_classes, xi, alpha, seed, activation)

    def fit(m, n_epochs, stop, wd=0.0, callback=None, snapshot_epochs=()):
        return train.fit(m, ds.x, ds.labels, epochs=n_epochs, lr=lr, lr_min=lr_min, schedule="cosine", loss="mse",
                         weight_decay=wd, stop_loss=stop, callback=callback, snapshot_epochs=snapshot_epochs,
                         progress=False)

    def record(m, xi, label, value, n, loss):
        return rate_record(m, ds, init_scale=xi, alpha=alpha, label=label, value=value, epochs=n, loss=loss)

    base = net()
    step = (lambda e, m: record(m, init_scale, "fewer steps", e, e, np.nan)) if every_step else None
    hist = fit(base, epochs, stop_loss, callback=step, snapshot_epochs=range(1, epochs + 1) if every_step else ())
    out = [dict(r, loss=hist.loss[e]) for e, r in hist.snapshots if e > 0][:-1] if every_step else []
    out.append(dict(record(base, init_scale, "baseline (converged)", 0.0, hist.epochs_run, hist.loss[-1]),
                    reached=hist.loss[-1] < stop_loss))
    for xi in init_scales:
        m = net(xi)
        try:
            h = fit(m, epochs, stop_loss)
            out.append(dict(record(m, xi, "larger init scale", xi, h.epochs_run, h.loss[-1]), reached=h.loss[-1] < stop_loss))
        except train.DivergenceError:  # left out: a net that diverges has no trained weights to measure
            continue
    for wd in weight_decays:
        m = net()
        h = fit(m, decay_epochs, None, wd=wd)
        out.append(record(m, init_scale, "weight decay", wd, h.epochs_run, h.loss[-1]))
    for act in activations:
        m = net(activation=act)
        h = fit(m, nonlinear_epochs, stop_loss)
        out.append(dict(record(m, init_scale, f"{act} nonlinearity", act, h.epochs_run, h.loss[-1]),
                        reached=h.loss[-1] < stop_loss))
    out.append(record(net(), init_scale, "untrained", 0.0, 0, np.nan))
    return [dict(r, seed=seed) for r in out]


def class_slice(ds: Any, first: int, count: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (x, labels - first) of the samples of classes first..first+count-1."""
    keep = (ds.labels >= first) & (ds.labels < first + count)
    return ds.x[keep], ds.labels[keep] - first


def transfer_measures(net: models.MLP, extractor_depth: int, source: tuple, target: tuple, target_test: tuple, *,
                      ridges: Sequence[float]) -> tuple[dict[str, float], list[float]]:
    """C on the pre-training data and transfer accuracy (per ridge) of the extractor and the last hidden layer.

    source/target/target_test: (x, labels). Returns ({C_extractor, C_last_hidden, C_extractor_new_classes,
    acc_extractor@r, acc_last_hidden@r}, [C_l of hidden layers 1..e+m]).
    """
    e = extractor_depth
    f_src, f_tgt, f_test = (features.layer_features(net, x) for x, _ in (source, target, target_test))
    c_layers = collapse.layerwise_collapse(f_src[1:-1], source[1])[0]
    accs = {f"acc_{name}@{r:g}": scaled_probe_accuracy(f_tgt[l], target[1], f_test[l], target_test[1], ridge=r)
            for name, l in (("extractor", e), ("last_hidden", -2)) for r in ridges}
    return {"C_extractor": c_layers[e - 1], "C_last_hidden": c_layers[-1],
            "C_extractor_new_classes": collapse.within_class_compression(f_tgt[e], target[1]), **accs}, c_layers


def transfer_run(head_layers: int, seed: int, source: tuple, target: tuple, target_test: tuple, *,
                 extractor_depth: int, width: int, init_scale: float, epochs: int, lr: float,
                 ridges: Sequence[float], device: Any = "cpu") -> tuple[dict[str, Any], list[dict]]:
    """Pre-train extractor + `head_layers` linear head layers + classifier on the source classes (full-batch
    Adam, cosine to 1%, MSE); measure it and its untrained self (keys prefixed `untrained_`).

    Returns (row, C_l profile rows); the row holds the final loss, the train accuracy on the source
    classes and the measures of `transfer_measures`.
    """
    x_src, y_src = source
    n_classes = int(y_src.max()) + 1

    def make():
        return models.MLP(x_src.shape[1], width, extractor_depth + head_layers + 1, n_classes, activation="relu",
                          bias=False, init="orthogonal", init_scale=init_scale, nonlinear_layers=extractor_depth,
                          batchnorm=True, seed=seed).to(device)

    untrained, net = make(), make()
    hist = train.fit(net, x_src, y_src, epochs=epochs, lr=lr, lr_min=lr * 1e-2, optimizer="adam", schedule="cosine",
                     loss="mse", seed=seed, progress=False)
    train_acc = float((features.layer_features(net, x_src)[-1].argmax(1) == y_src).double().mean())
    trained_m, c_layers = transfer_measures(net, extractor_depth, source, target, target_test, ridges=ridges)
    untrained_m, _ = transfer_measures(untrained, extractor_depth, source, target, target_test, ridges=ridges)
    profile = [dict(head_layers=head_layers, seed=seed, layer=l + 1, C_l=c) for l, c in enumerate(c_layers)]
    return dict(head_layers=head_layers, seed=seed, loss=hist.loss[-1], train_acc=train_acc, **trained_m,
                **{f"untrained_{k}": v for k, v in untrained_m.items()}), profile


def fig6_grid(sweep_depths: Sequence[int], width: int, sweep_widths: Sequence[int], depth: int) -> dict[int, list[int]]:
    """Return {L: widths} of the Fig. 6 runs: `width` at every sweep depth, every sweep width at `depth`."""
    return {L: sorted(({width} if L in sweep_depths else set()) | (set(sweep_widths) if L == depth else set()))
            for L in sorted(set(sweep_depths) | {depth})}


def fig6_runs(grid: dict[int, list[int]], seeds: Sequence[int], *, init_scale: float, control_init_scale: float,
              **setting: Any) -> tuple[list[dict], list[dict], list[dict]]:
    """Train the Fig. 6 grid from init_scale (with snapshots) and from control_init_scale (the control).

    Returns (rows, snapshots, control rows) of `train_fig6` over every depth of `grid`.
    """
    rows, snaps, control = [], [], []
    for L, widths in grid.items():
        r, s = train_fig6(L, widths, seeds, init_scale=init_scale, **setting)
        rc, _ = train_fig6(L, widths, seeds, init_scale=control_init_scale, snapshots=False, **setting)
        rows, snaps, control = rows + r, snaps + s, control + rc
    return rows, snaps, control


def fig6_long(runs: Any, control_runs: Any) -> Any:
    """Return long rows (depth, width, seed, measure, state, value) of the Fig. 6 measures for the trained
    nets, the same nets untrained (`*_init`) and the large-initialisation control."""
    import pandas as pd

    both = runs.merge(control_runs[["depth", "width", "seed", *MEASURES]], on=["depth", "width", "seed"],
                      suffixes=("", "_large"))
    states = (("trained", ""), ("untrained", "_init"), ("large init", "_large"))
    return pd.concat([both[["depth", "width", "seed"]].assign(measure=m, state=st, value=both[f"{m}{suf}"])
                      for m in MEASURES for st, suf in states], ignore_index=True)


def sqrt_width_law(runs: Any, control_runs: Any, depth: int) -> Any:
    """Return residual * sqrt(width) at `depth`, mean over seeds, per width (rows) for the small- and the
    large-initialisation runs (columns): roughly constant in width if the residual falls like 1/sqrt(h)."""
    import pandas as pd

    law = {name: df[df.depth == depth].assign(v=df.residual * np.sqrt(df.width)).groupby("width").v.mean()
           for name, df in (("small init", runs), ("large init", control_runs))}
    return pd.DataFrame(law).rename_axis("width h")
