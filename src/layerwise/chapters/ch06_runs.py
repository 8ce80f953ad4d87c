"""Chapter 06's experiments with explicit arguments: each runner trains what its section needs and
returns plain, picklable records (numbers, per-epoch snapshots, state dicts), so a notebook cell is a
loop over runners and the claims read the records.

Every training record (`training_record`) says how long the net trained, its final loss and train/test
accuracy, and whether it reached the recipe's criterion; `training_summary` turns a list of them into
the one line per recipe that the chapter page shows.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .. import data, features, models, train
from ..data import CORE, SPURIOUS
from ..ensemble import Ensemble
from ..metrics import boundary, cka, landmarks, probes, rank
from .ch06 import (best_retrain_layer, early_checkpoint, flipped_at_train_accuracy, latch_window, p1_parts,
                   plant_spurious, stopped_value, transient_values)

SPLITS = ("id", "balanced", "flipped", "randomised")


# --- shared helpers -------------------------------------------------------------------------------

def predict(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Return the network's outputs on x (n, d) on the CPU, in eval mode, without gradients."""
    was = net.training
    net.eval()
    with torch.no_grad():
        out = net(x).cpu()
    net.train(was)
    return out


def accuracy(net: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    """Return the fraction of samples whose arg-max output equals the label."""
    return float((predict(net, x).argmax(-1) == labels).double().mean())


def training_record(hist: train.History, *, train_acc: float, test_acc: float | None, reached: bool) -> dict:
    """Return {"epochs", "loss", "train_acc", "test_acc", "reached"} of one training run."""
    return {"epochs": int(hist.epochs_run), "loss": float(hist.loss[-1]), "train_acc": float(train_acc),
            "test_acc": None if test_acc is None else float(test_acc), "reached": bool(reached)}


def training_summary(records: Sequence[Mapping[str, Any]], criterion: str) -> str:
    """Return one line: "8 nets, all reached <criterion> in 170-210 epochs; test 0.99-1.00" (or how many
    did not reach it)."""
    n = len(records)
    if not n:
        return "no nets"
    hit = sum(bool(r["reached"]) for r in records)
    ep = [r["epochs"] for r in records]
    span = f"{min(ep)}" if min(ep) == max(ep) else f"{min(ep)}-{max(ep)}"
    who = "all reached" if hit == n else f"{hit} of {n} reached"
    tests = [r["test_acc"] for r in records if r.get("test_acc") is not None]
    test = f"; test accuracy {min(tests):.2f}-{max(tests):.2f}" if tests else ""
    return f"{n} net{'s' if n != 1 else ''}, {who} {criterion} (epochs used: {span}){test}"


# --- 1. LMS-5 (Shah et al.) -----------------------------------------------------------------------

def lms_aucs(net: torch.nn.Module, test: data.Dataset, rotation: torch.Tensor, seed: int) -> dict[str, float]:
    """Return Shah et al.'s three test AUCs: standard, S-randomised, S^c-randomised (unrotated basis)."""
    dim = test.x.shape[1]
    return {"standard": probes.binary_auc(predict(net, test.x), test.labels),
            "S-randomised": probes.binary_auc(predict(net, data.randomise_in_basis(test.x, [0], rotation, seed=seed)),
                                              test.labels),
            "S^c-randomised": probes.binary_auc(predict(net, data.randomise_in_basis(
                test.x, range(1, dim), rotation, seed=seed)), test.labels)}


def lms_run(seed: int, *, n_train: int, n_test: int, dim: int, margin: float, width: int, depth: int, lr: float,
            weight_decay: float, batch_size: int, epochs: int) -> dict[str, Any]:
    """Train the LMS-5 MLP from `seed` (data rotation, sample and initialisation); return the AUCs of the
    trained and the untrained net, the accuracy with each coordinate permuted, and the training record
    (criterion: train accuracy >= 0.99)."""
    rotation = data.random_rotation(dim, seed=seed)
    tr = data.lms5(n_train, dim=dim, margin=margin, rotation=rotation, seed=7919 * seed + 1)
    te = data.lms5(n_test, dim=dim, margin=margin, rotation=rotation, seed=7919 * seed + 2)
    net = models.MLP(dim, width, depth, 2, init="torch", seed=seed)
    untrained = lms_aucs(net, te, rotation, seed)
    hist = train.fit(net, tr.x, tr.labels, loss="ce", lr=lr, weight_decay=weight_decay, batch_size=batch_size,
                     epochs=epochs, seed=seed, progress=False)
    tr_acc = accuracy(net, tr.x, tr.labels)
    coords = [accuracy(net, data.randomise_in_basis(te.x, [j], rotation, seed=seed + j), te.labels)
              for j in range(dim)]
    return {"trained": lms_aucs(net, te, rotation, seed), "untrained": untrained, "per_coordinate": coords,
            "record": training_record(hist, train_acc=tr_acc, test_acc=accuracy(net, te.x, te.labels),
                                      reached=tr_acc >= 0.99)}


# --- 3. the gradient at initialisation ------------------------------------------------------------

def init_gradient_ratio(x: torch.Tensor, labels: torch.Tensor, *, width: int, depth: int, seed: int) -> float:
    """Return ||dL/dW1[:, x_s]|| / ||dL/dW1[:, x_c]|| of a freshly initialised MLP (cross-entropy, full set)."""
    net = models.MLP(x.shape[1], width, depth, 2, init="torch", seed=seed)
    loss = torch.nn.functional.cross_entropy(net(x), labels)
    (grad,) = torch.autograd.grad(loss, net.layers[0].weight)
    return float(grad[:, SPURIOUS].norm() / grad[:, CORE].norm())


# --- 4. latching: core/spurious training ----------------------------------------------------------

def snapshot_epochs(n_epochs: int) -> list[int]:
    """Return the checkpoint epochs: every epoch to 20, every 2nd to 300, every 10th to 1000, then every 50th."""
    marks = [*range(1, 21), *range(22, 301, 2), *range(310, 1001, 10), *range(1050, n_epochs + 1, 50)]
    return [e for e in marks if e <= n_epochs]


def train_core_spurious(splits: Mapping[str, data.GroupDataset], *, seed: int, width: int, depth: int, lr: float,
                        momentum: float, epochs: int, stop_loss: float | None, sd_coef: float = 0.0,
                        snapshots: bool = True) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train the core/spurious MLP (full-batch GD with momentum, cross-entropy) from `seed`.

    With `stop_loss` training stops at the first epoch whose loss is below it, within `epochs`;
    without, it runs all `epochs`. Returns (net, record): the training record (criterion: loss below
    `stop_loss`, or 1e-3 when None) with "snapshots", [(epoch, {"train", "id", "flipped": accuracy})].
    depth = 1 is a linear classifier.
    """
    tr = splits["train"]
    net = fresh_net(splits, seed=seed, width=width, depth=depth)

    def record(epoch: int, model: torch.nn.Module) -> dict[str, float]:
        return {name: accuracy(model, splits[name].x, splits[name].labels) for name in ("train", "id", "flipped")}

    hist = train.fit(net, tr.x, tr.labels, loss="ce", lr=lr, momentum=momentum, epochs=epochs, stop_loss=stop_loss,
                     sd_coef=sd_coef, seed=seed, callback=record if snapshots else None,
                     snapshot_epochs=snapshot_epochs(epochs) if snapshots else (), progress=False)
    target = 1e-3 if stop_loss is None else stop_loss
    rec = training_record(hist, train_acc=accuracy(net, tr.x, tr.labels),
                          test_acc=accuracy(net, splits["id"].x, splits["id"].labels), reached=min(hist.loss) < target)
    rec["snapshots"] = list(hist.snapshots)
    return net, rec


def end_state(net: torch.nn.Module, splits: Mapping[str, data.GroupDataset], *, seed: int) -> dict[str, float]:
    """Return accuracy on every split, on the ID split with x_c permuted, and the worst group (balanced)."""
    ind, bal = splits["id"], splits["balanced"]
    out = {name: accuracy(net, splits[name].x, splits[name].labels) for name in ("train", *SPLITS)}
    out["core_permuted"] = accuracy(net, data.permute_columns(ind.x, [CORE], seed=seed), ind.labels)
    out["worst_group"] = probes.worst_group_accuracy(predict(net, bal.x).argmax(1), bal.labels, bal.groups)
    return out


def fresh_net(splits: Mapping[str, data.GroupDataset], *, seed: int, width: int, depth: int) -> torch.nn.Module:
    """Return the core/spurious MLP of `seed` at initialisation (PyTorch's default init), as trained above."""
    return models.MLP(splits["train"].x.shape[1], width, depth, 2, init="torch", seed=seed)


def untrained_end_state(splits: Mapping[str, data.GroupDataset], *, seed: int, width: int, depth: int,
                        perm_seed: int) -> dict[str, Any]:
    """Return the end state (`end_state`) of the core/spurious MLP of `seed` before training, with its
    epoch-0 checkpoint accuracies under "snap": the control of the latching claims."""
    net = fresh_net(splits, seed=seed, width=width, depth=depth)
    snap = {name: accuracy(net, splits[name].x, splits[name].labels) for name in ("train", "id", "flipped")}
    return end_state(net, splits, seed=perm_seed) | {"snap": snap}


def latched_span(snapshot_lists: Sequence[Sequence[tuple[int, dict]]]) -> str:
    """Return "a-b": the range over runs of the last latched checkpoint epoch (`latch_window`), or
    "none" when no run latched."""
    last = [latch_window(snaps)[1] for snaps in snapshot_lists]
    last = [e for e in last if e is not None]
    if not last:
        return "none"
    return f"{min(last)}" if min(last) == max(last) else f"{min(last)}-{max(last)}"


# --- 5. spectral decoupling -----------------------------------------------------------------------

def matched_flipped(snapshots: Sequence[tuple[int, dict]], levels: Sequence[float]) -> dict[float, float]:
    """Return {level: flipped accuracy where the training accuracy first reaches it} (NaN if never)."""
    return {lv: flipped_at_train_accuracy(snapshots, lv) for lv in levels}


# --- 6. the two moons -----------------------------------------------------------------------------

def moons_margins(seeds: Sequence[int], *, n: int, gap: float, width: int, lr: float, epochs: int, sd: float,
                  resolution: int = 201) -> dict[str, Any]:
    """Train ERM and SD two-layer ReLU nets on the shifted moons of each seed (same data and init for
    both; all seeds of one method as one `Ensemble`, per-member data) and return per seed the smallest
    training-point distance to the decision boundary, the train accuracies, and the first seed's two
    nets (state dicts) for the boundary figure. sd is the authors' one-logit coefficient c; the
    two-logit penalty lambda = 4c puts the same weight on the logit difference."""
    moons = [data.shifted_moons(n, margin=gap, seed=s) for s in seeds]
    x = torch.stack([m.x for m in moons]).float()
    y = torch.stack([m.labels for m in moons])
    out: dict[str, Any] = {"margin": {}, "train_acc": {}, "nets": {}}
    for method, lam in (("ERM", 0.0), ("SD", 4 * sd)):
        ens = Ensemble([models.MLP(2, width, 2, 2, init="torch", seed=s) for s in seeds])
        _fit_per_member(ens, x, y, lr=lr, epochs=epochs, sd_coef=lam)
        for m, s in enumerate(seeds):
            net = ens.member(m)
            score = _margin_score(net)
            out["margin"].setdefault(s, {})[method] = float(
                boundary.boundary_distance(score, moons[m].x, lo=-2.0, hi=2.0, resolution=resolution).min())
            out["train_acc"].setdefault(s, {})[method] = accuracy(net, moons[m].x, moons[m].labels)
            if m == 0:
                out["nets"][method] = net.state_dict()
    return out


def _margin_score(net: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda z: probes.logit_margin(predict(net, z.float())).double()


def _fit_per_member(ens: Ensemble, x: torch.Tensor, y: torch.Tensor, *, lr: float, epochs: int,
                    sd_coef: float) -> None:
    """Full-batch GD with momentum 0.9 of an ensemble whose member m sees its own data x[m], y[m]."""
    opt = torch.optim.SGD(ens.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        out = ens(x)  # (M, n, 2)
        loss = torch.nn.functional.cross_entropy(out.reshape(-1, 2), y.reshape(-1), reduction="none")
        value = loss.reshape(y.shape).mean(1).sum() + 0.5 * sd_coef * out.pow(2).sum(-1).mean(1).sum()
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()


def moons_boundary(state: dict, width: int, *, lo: float = -1.6, hi: float = 1.6, resolution: int = 201) -> np.ndarray:
    """Return the decision-boundary segments (m, 2, 2) of a two-moons net given by its state dict."""
    net = models.MLP(2, width, 2, 2, init="torch")
    net.load_state_dict(state)
    return boundary.boundary_segments(_margin_score(net), lo=lo, hi=hi, resolution=resolution).numpy()


def moons_figure(nets: Mapping[str, dict], *, seed: int, n: int, gap: float, width: int) -> Any:
    """Return the shifted moons of `seed` with the ERM and SD decision boundaries of its nets (state dicts)."""
    import pandas as pd

    from .. import charts

    m0 = data.shifted_moons(n, margin=gap, seed=seed)
    points = pd.DataFrame({"x1": m0.x[:, 0], "x2": m0.x[:, 1], "what": [f"class {int(c)}" for c in m0.labels]})
    segs = pd.concat([pd.DataFrame(moons_boundary(nets[m], width).reshape(-1, 4),
                                   columns=["x1", "x2", "x1_end", "x2_end"]).assign(what=f"{m} boundary")
                      for m in ("ERM", "SD")])
    return charts.decision_boundary(points, segs, title=f"Seed {seed}: the boundaries of ERM and SD")


# --- 7. DFR ---------------------------------------------------------------------------------------

def robustness(predict_labels: Callable[[torch.Tensor], torch.Tensor], splits: Mapping[str, data.GroupDataset]
               ) -> dict[str, float]:
    """Return ID, flipped and randomised accuracy and the balanced worst-group accuracy of a predictor."""
    out = {name: float((predict_labels(splits[name].x) == splits[name].labels).double().mean())
           for name in ("id", "flipped", "randomised")}
    bal = splits["balanced"]
    out["worst_group"] = probes.worst_group_accuracy(predict_labels(bal.x), bal.labels, bal.groups)
    return out


def erm_and_dfr(net: torch.nn.Module, splits: Mapping[str, data.GroupDataset], *, layer: int, refits: int,
                seed: int) -> tuple[dict[str, float], dict[str, float]]:
    """Return (ERM, DFR) robustness: the net's own output, and DFR (Kirichenko et al.) on layer `layer`."""
    held = splits["heldout"]
    head = probes.dfr(features.layer_features(net, held.x)[layer], held.labels, held.groups, n_refits=refits, seed=seed)
    erm = robustness(lambda x: predict(net, x).argmax(1), splits)
    dfr = robustness(lambda x: head.predict(features.layer_features(net, x)[layer]), splits)
    return erm, dfr


def dfr_parts(erm: Mapping[str, float], dfr: Mapping[str, float]) -> dict[str, float]:
    """Return the four parts of the DFR claim: DFR's flipped and worst-group accuracy, and its gains
    over the net's own output in worst-group and ID accuracy."""
    return {"flipped": dfr["flipped"], "worst group": dfr["worst_group"],
            "worst group - own output's": dfr["worst_group"] - erm["worst_group"], "ID - own output's": dfr["id"] - erm["id"]}


# --- 8. retraining from layer k -------------------------------------------------------------------

def tunnel_starts(feats: Sequence[torch.Tensor], labels: torch.Tensor, test_feats: Sequence[torch.Tensor],
                  test_labels: torch.Tensor, hidden: Sequence[int], *, threshold: float, n_sub: int = 512
                  ) -> tuple[dict[str, int], list[float], np.ndarray]:
    """Return ({rule: tunnel start} under every rule of `landmarks.TUNNEL_RULES` on the hidden layers,
    their numerical ranks, their CKA matrix)."""
    sub = torch.arange(min(n_sub, feats[0].shape[0]))
    rk = [float(rank.numerical_rank(feats[l][sub], convention="tunnel")) for l in hidden]
    m = cka.cka_matrix([feats[l][sub] for l in hidden]).numpy()
    pr = [probes.linear_probe_accuracy(feats[l], labels, test_feats[l], test_labels) for l in hidden]
    starts = {r: landmarks.tunnel_start(hidden, rule=r, probe=pr, cka=m, rank=rk, threshold=threshold)
              for r in landmarks.TUNNEL_RULES}
    return starts, rk, m


def retraining_profile(splits: Mapping[str, data.GroupDataset], *, seed: int, depth: int, width: int, lr: float,
                       momentum: float, epochs: int, refits: int, threshold: float, tol: float,
                       heads: bool = False, head_epochs: int = 50, head_lr: float = 0.01) -> dict[str, Any]:
    """Train the deep core/spurious net from `seed`; fit DFR on each layer's held-out features (and, with
    `heads`, a fresh ReLU head of depth L - k); return the per-layer rows, the tunnel start under every
    rule, the best layer (`best_retrain_layer`, tolerance `tol`), the CKA matrix and the record."""
    net, rec = train_core_spurious(splits, seed=seed, width=width, depth=depth, lr=lr, momentum=momentum,
                                   epochs=epochs, stop_loss=None, snapshots=False)
    f = {k: features.layer_features(net, splits[k].x) for k in ("train", "id", "heldout", "balanced", "flipped")}
    held, bal = splits["heldout"], splits["balanced"]
    rows = []
    for k in range(depth):
        head = probes.dfr(f["heldout"][k], held.labels, held.groups, n_refits=refits, seed=seed)
        row = {"layer": k, "dfr_worst_group": probes.worst_group_accuracy(head.predict(f["balanced"][k]), bal.labels,
                                                                           bal.groups),
               "probe_id": probes.linear_probe_accuracy(f["train"][k], splits["train"].labels, f["id"][k],
                                                        splits["id"].labels),
               "rank": float(rank.numerical_rank(f["train"][k], convention="tunnel"))}
        if heads:
            new = probes.retrain_head(f["heldout"][k], held.labels, depth=depth - k, width=width, epochs=head_epochs,
                                      lr=head_lr, seed=seed)
            row["head_worst_group"] = probes.worst_group_accuracy(new.predict(f["balanced"][k]), bal.labels, bal.groups)
        rows.append(row)
    hidden = list(range(1, depth))
    starts, _, m = tunnel_starts(f["train"], splits["train"].labels, f["id"], splits["id"].labels, hidden,
                                 threshold=threshold)
    wg = [r["dfr_worst_group"] for r in rows]
    rec["reached"] = rec["train_acc"] >= 0.99
    return {"rows": rows, "starts": starts, "cka": m, "record": rec,
            "best_k": best_retrain_layer(wg, tol=tol), "erm_flipped": accuracy(net, splits["flipped"].x,
                                                                                  splits["flipped"].labels)}


def planted_data(mn: data.Split, *, p: float, scale: float, seed: int) -> dict[str, Any]:
    """Return MNIST-1D with a planted class feature (`plant_spurious`): the training set (agreeing with
    probability p), and the test set cut in halves: a balanced held-out half (p = 0.5) and an evaluation
    half scored with a conflicting (always wrong) and an agreeing planted class."""
    half = len(mn.test) // 2
    x_tr, _, _ = plant_spurious(mn.train.x, mn.train.labels, p=p, scale=scale, n_classes=10, seed=seed)
    x_held, _, _ = plant_spurious(mn.test.x[:half], mn.test.labels[:half], p=0.5, scale=scale, n_classes=10,
                                       seed=seed + 1)
    y_eval = mn.test.labels[half:]
    x_conf, _, _ = plant_spurious(mn.test.x[half:], y_eval, p=0.0, scale=scale, n_classes=10, seed=seed + 2)
    x_agree, _, _ = plant_spurious(mn.test.x[half:], y_eval, p=1.0, scale=scale, n_classes=10, seed=seed + 2)
    return {"x": x_tr, "y": mn.train.labels, "x_held": x_held, "y_held": mn.test.labels[:half], "x_conflict": x_conf,
            "x_agree": x_agree, "y_eval": y_eval}


def planted_profile(pd_: Mapping[str, Any], *, seed: int, depth: int, width: int, lr: float, batch_size: int,
                    epochs: int, threshold: float) -> dict[str, Any]:
    """Train the MNIST-1D net with a planted feature from `seed`; at each layer k fit a least-squares head
    on the held-out features and score it on the conflicting and agreeing halves; return the rows, the
    tunnel start under every rule, the net's own conflict accuracy and the record (criterion: train
    accuracy >= 0.99)."""
    net = models.MLP(pd_["x"].shape[1], width, depth, 10, init="he", seed=seed)
    hist = train.fit(net, pd_["x"], pd_["y"], loss="ce", optimizer="adam", lr=lr, batch_size=batch_size,
                     epochs=epochs, seed=seed, progress=False)
    f = {k: features.layer_features(net, pd_[k]) for k in ("x", "x_held", "x_conflict", "x_agree")}
    rows = [{"layer": k, "conflict": probes.linear_probe_accuracy(f["x_held"][k], pd_["y_held"], f["x_conflict"][k],
                                                                  pd_["y_eval"]),
             "agree": probes.linear_probe_accuracy(f["x_held"][k], pd_["y_held"], f["x_agree"][k], pd_["y_eval"])}
            for k in range(depth)]
    starts, rk, m = tunnel_starts(f["x"], pd_["y"], f["x_conflict"], pd_["y_eval"], list(range(1, depth)),
                                  threshold=threshold)
    for row, r, c in zip(rows[1:], rk, m[:, -1]):
        row["rank"], row["cka_with_last_hidden"] = r, float(c)
    tr_acc = accuracy(net, pd_["x"], pd_["y"])
    return {"rows": rows, "starts": starts, "own_conflict": accuracy(net, pd_["x_conflict"], pd_["y_eval"]),
            "record": training_record(hist, train_acc=tr_acc, test_acc=accuracy(net, pd_["x_agree"], pd_["y_eval"]),
                                      reached=tr_acc >= 0.99)}


# --- the claims' words ----------------------------------------------------------------------------

SHAH, PEZ, DFR = "Shah et al. 2020", "Pezeshki et al. 2021", "Kirichenko et al. 2023"
CALIBRATION = "the core/spurious model's calibration (our reconstruction, after Pezeshki et al. 2021)"
BOUNDARY = "the boundary project (this book), after Masarczyk et al. 2023 and Kirichenko et al. 2023"

CLAIMS: dict[str, dict] = {
    "shah20-lms5-auc": dict(
        provenance="authors", source=f"{SHAH}, the authors' LMS-5 notebook outputs (1.000 / 0.507 / 1.000)",
        statement="an MLP trained on LMS-5 relies on the linear coordinate only (test AUC as is, with the simple "
                  "coordinate permuted, with the complex ones permuted)",
        explain={"reproduced": "Extreme simplicity bias as Shah et al. report it: permuting the one linear "
                               "coordinate sends the AUC to chance, permuting all 49 slabs changes nothing.",
                 "not reproduced": "At least one net also uses the slab coordinates."}),
    "pezeshki21-init-gradient-ratio": dict(
        provenance="reconstruction", source=f"{PEZ}, the initial imbalance; our prediction a_s(2p-1)/(a_c mu)",
        statement="at initialisation the gradient on the x_s input weights is 5-20 times that on x_c (p = 0.9; "
                  "mean over initialisations)",
        explain={"reproduced": "The spurious feature gets about ten times the gradient before any training, and only "
                               "when the labels carry it.",
                 "inconclusive": "The ratio is in the band ({value}), but with shuffled labels it is too "
                                 "({control_value}): at initialisation the gradient on a first-layer column follows "
                                 "the size of that input through the ReLU gates, not its correlation with the label."}),
    "latching-early": dict(
        provenance="reconstruction", source=f"{PEZ} (gradient starvation); {CALIBRATION}",
        statement="at p = 0.9 the net first latches onto the spurious feature: a checkpoint in the first 5% of "
                  "training has ID accuracy in [0.85, 0.95] and flipped accuracy <= 0.10",
        explain={"reproduced": "Early in training every net reads x_s: it scores about p on ID data and nearly "
                               "0 where x_s lies.",
                 "not reproduced": "No early checkpoint reads x_s alone."}),
    "end-state-p090": dict(
        provenance="reconstruction", source=CALIBRATION,
        statement="at p = 0.9, trained to loss < 1e-3, the net ends up using the core feature (flipped accuracy)",
        explain={"reproduced": "Trained to the end, the p = 0.9 nets let go of x_s: flipped accuracy {value}.",
                 "not reproduced": "The p = 0.9 nets still read x_s at the end of training."}),
    "end-state-p090-permutation": dict(
        provenance="reconstruction", source=CALIBRATION,
        statement="at p = 0.9, trained to loss < 1e-3, the net reads x_c only: on the ID split, permuting x_c "
                  "drops accuracy to chance and permuting x_s leaves it high",
        explain={"reproduced": "The permutation tests agree: the finished p = 0.9 nets read x_c and ignore x_s."}),
    "shah20-p1-spurious-only": dict(
        provenance="reconstruction", source=f"{SHAH} (extreme simplicity bias), at p = 1 in the core/spurious model",
        statement="at p = 1 the net uses x_s only (flipped accuracy, ID accuracy, x_s permuted, x_c permuted)",
        explain={"reproduced": "At p = 1 the net reads x_s and nothing else, long after it fits the data.",
                 "not reproduced": "At p = 1 the net also reads x_c."}),
    "latching-transient-below-1": dict(
        provenance="reconstruction", source=CALIBRATION,
        statement="latching onto the spurious feature is transient below p = 1 and persistent at p = 1 (final "
                  "flipped accuracy per training p)",
        explain={"reproduced": "Below p = 1 the nets let go of x_s; at p = 1 they keep it, and a linear classifier "
                               "trained the same way does not show the same pattern.",
                 "inconclusive": "The deep nets let go of x_s below p = 1 and keep it at p = 1, but so does a linear "
                                 "classifier trained the same way ({control_value}): the pattern is the data's "
                                 "geometry under gradient descent, not something depth adds."}),
    "pezeshki21-sd-no-worse": dict(
        provenance="reconstruction", source=f"{PEZ} (spectral decoupling), on the core/spurious model",
        statement="at p = 0.9, SD's flipped accuracy at matched training accuracy is at least plain training's minus "
                  "2 points (paired by initialisation; mean over the levels 0.95, 0.99, 1 and over lambda = 0.001, "
                  "0.01, 0.1)",
        explain={"reproduced": "Paired with its own plain run, SD costs less than 2 points of flipped accuracy "
                               "({value}).",
                 "not reproduced": "SD lowers the flipped accuracy by more than 2 points."}),
    "pezeshki21-moons-margin": dict(
        provenance="reconstruction", source=f"{PEZ}, the two-moons figures (the authors' recipe, fewer epochs)",
        statement="on the two moons with a gap of 0.1, SD's margin exceeds plain training's from the same "
                  "initialisation in at least 8 of 10 seeds",
        explain={"reproduced": "SD bends the boundary away from the training points: a larger margin than plain "
                               "training from the same initialisation ({tally}).",
                 "not reproduced": "SD does not widen the margin here."}),
    "kirichenko23-dfr-p1": dict(
        provenance="reconstruction", source=f"{DFR}, section 1, on the core/spurious model at p = 1",
        statement="at p = 1, retraining the last layer on balanced held-out data recovers the core feature: flipped "
                  "and worst-group accuracy >= 0.95, worst group >= 0.50 above the net's own, ID at most 0.03 below",
        explain={"reproduced": "The core feature survives in the penultimate layer of a net that ignores it, and "
                               "better than in random features of the same net.",
                 "inconclusive": "DFR recovers the core feature ({value}), but DFR on the untrained net of the same "
                                 "shape does too: random ReLU features keep x_c linearly decodable here, so this "
                                 "data cannot show that training kept it."}),
    "boundary-retrain-depth": dict(
        provenance="book", source=BOUNDARY,
        statement="on a deep MLP trained on the core/spurious data at p = 1, the deepest layer worth retraining from "
                  "(DFR worst group within 0.01 of the best) is the tunnel start l* or the layer before it",
        explain={"inconclusive": "The question cannot be posed here: at p = 1 the training inputs are essentially "
                                 "one-dimensional and no tunnel rule finds an extractor (l* >= 2) in the nets."}),
    "boundary-retrain-depth-mnist1d": dict(
        provenance="book", source=BOUNDARY,
        statement="on an MLP trained on MNIST-1D with a planted shortcut, the deepest layer worth retraining from "
                  "(conflict accuracy within two standard errors of the best) is the tunnel start l* or the layer "
                  "before it",
        explain={"supported": "Where the boundary exists, it marks the layer to retrain from; the penultimate layer "
                              "does not.",
                 "not supported": "The best layer to retrain from is not at the tunnel start ({value}).",
                 "inconclusive": "Read the reason: a rule that finds no extractor, nets that disagree, or the "
                                 "penultimate-layer guess doing as well."}),
}


def claim_spec(claim_id: str) -> dict:
    """Return the ledger keywords of a claim: statement, source, provenance, explain."""
    return dict(CLAIMS[claim_id])


# --- charts ---------------------------------------------------------------------------------------

def seed_lines(df: Any, x: str, y: str, *, color: str, facet: str | None = None, x_title: str | None = None,
               y_title: str | None = None, title: str = "", log_x: bool = False, integer_x: bool = False,
               width: int = 260) -> Any:
    """Return an Altair chart of `y` against `x`: one colour per `color` value, every seed a thin line
    (column "seed"), optionally one panel per `facet` value, y on a shared [0, 1] scale."""
    import altair as alt

    axis = alt.Axis(tickMinStep=1, format="d") if integer_x else alt.Axis()
    base = alt.Chart(df, title=title).mark_line(strokeWidth=1, opacity=0.7).encode(
        x=alt.X(f"{x}:Q", title=x_title or x, axis=axis,
                scale=alt.Scale(type="log") if log_x else alt.Scale(zero=False)),
        y=alt.Y(f"{y}:Q", title=y_title or y, scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(f"{color}:N", title=color), detail="seed:N",
        tooltip=[x, y, color, "seed"]).properties(width=width, height=200)
    return base.facet(column=alt.Column(f"{facet}:N", title=None)) if facet else base


def latching_values(records: Mapping[tuple[float, int], Mapping[str, Any]], ends: Mapping[tuple[float, int], Mapping],
                    before: Mapping[tuple[float, int], Mapping], linear: Mapping[tuple[float, int], Mapping],
                    p_values: Sequence[float], seeds: Sequence[int]) -> dict[str, tuple[dict, dict]]:
    """Return {claim id: (values, control)} of section 4's claims from the runs' training records, end
    states, the untrained nets' end states (with their epoch-0 "snap") and the linear classifiers' end
    states, all keyed (p, seed). A p < 1 run that did not reach its stop is censored (None)."""
    done = {k: bool(r["reached"]) for k, r in records.items()}
    out: dict[str, tuple[dict, dict]] = {}
    early = {s: early_checkpoint(records[(0.9, s)]["snapshots"], 0.05 * records[(0.9, s)]["epochs"])
             for s in seeds}
    out["latching-early"] = ({s: {"ID": e["ID"], "flipped": e["flipped"]} if done[(0.9, s)] else None
                              for s, e in early.items()},
                             {s: {"ID": before[(0.9, s)]["snap"]["id"], "flipped": before[(0.9, s)]["snap"]["flipped"]}
                              for s in seeds})
    out["end-state-p090"] = ({s: stopped_value(ends[(0.9, s)]["flipped"], done[(0.9, s)]) for s in seeds},
                             {s: before[(0.9, s)]["flipped"] for s in seeds})
    perm = {s: {"x_c permuted": ends[(0.9, s)]["core_permuted"], "x_s permuted": ends[(0.9, s)]["randomised"]}
            for s in seeds}
    out["end-state-p090-permutation"] = (
        {s: v if done[(0.9, s)] else None for s, v in perm.items()},
        {s: {"x_c permuted": before[(0.9, s)]["core_permuted"], "x_s permuted": before[(0.9, s)]["randomised"]}
         for s in seeds})
    out["shah20-p1-spurious-only"] = ({s: p1_parts(ends[(1.0, s)]) for s in seeds},
                                      {s: p1_parts(before[(1.0, s)]) for s in seeds})
    out["latching-transient-below-1"] = (
        {s: transient_values({p: ends[(p, s)]["flipped"] for p in p_values}, {p: done[(p, s)] for p in p_values})
         for s in seeds},
        {s: {f"p={p}": linear[(p, s)]["flipped"] for p in sorted(p_values)} for s in seeds})
    return out
