"""Per-layer linear probes."""
from __future__ import annotations

import torch


def linear_probe_accuracy(z_train: torch.Tensor, y_train: torch.Tensor, z_test: torch.Tensor | None = None,
                          y_test: torch.Tensor | None = None, *, ridge: float = 1e-3) -> float:
    """Return the accuracy of a least-squares linear probe (with bias) from features to one-hot labels.

    The probe minimises ||[Z 1] W - Y||^2 + lam ||W||^2 in closed form, lam = ridge * ||Z_c||_F^2 / d with
    Z_c the centred features (scale-invariant, so layers of very different norms are probed alike; the
    constant column is left out of the scale, else it would dominate tiny features): the MSE probe of
    Wang et al. at convergence. Solved in feature space ((d+1)^2 system) or sample space (n^2),
    whichever is smaller. Evaluated on (z_test, y_test) when given, else on the training set.
    """
    z = _design(z_train)
    k = int(y_train.max()) + 1
    y = torch.nn.functional.one_hot(y_train.long(), k).double()
    n, d = z.shape
    feats = z[:, :-1]
    lam = ridge * float((feats - feats.mean(0)).pow(2).sum()) / max(d - 1, 1)
    lam = max(lam, torch.finfo(z.dtype).tiny)
    if d <= n:
        w = torch.linalg.solve(z.T @ z + lam * torch.eye(d, dtype=z.dtype), z.T @ y)
    else:
        w = z.T @ torch.linalg.solve(z @ z.T + lam * torch.eye(n, dtype=z.dtype), y)
    ze, ye = (z, y_train) if z_test is None else (_design(z_test), y_test)
    return float(((ze @ w).argmax(1) == ye.long()).double().mean())


def _design(z: torch.Tensor) -> torch.Tensor:
    z = z.reshape(z.shape[0], -1).double()
    return torch.cat([z, torch.ones(z.shape[0], 1, dtype=z.dtype)], 1)


# --- chapter 06: group robustness, last-layer retraining (DFR), retraining from layer k ---
# (imports here rather than at the top keep parallel chapter merges of this file clean)
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

DFR_CS = (1.0, 0.7, 0.3, 0.1, 0.07, 0.03, 0.01)  # Kirichenko et al.'s grid of inverse L1 strengths


def group_accuracies(pred: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor) -> dict[int, float]:
    """Return {group: accuracy} over the groups present, for predicted and true labels (n,) and groups (n,)."""
    pred, labels, groups = (torch.as_tensor(t).reshape(-1) for t in (pred, labels, groups))
    if not pred.shape == labels.shape == groups.shape:
        raise ValueError(f"pred, labels and groups must have one entry per sample, got shapes "
                         f"{tuple(pred.shape)}, {tuple(labels.shape)}, {tuple(groups.shape)}")
    hit = (pred.long() == labels.long()).double()
    return {int(g): float(hit[groups == g].mean()) for g in torch.unique(groups)}


def worst_group_accuracy(pred: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor) -> float:
    """Return the smallest accuracy over the groups present (pred, labels, groups: (n,))."""
    return min(group_accuracies(pred, labels, groups).values())


def logit_margin(out: torch.Tensor) -> torch.Tensor:
    """Return the binary score (n,) of outputs (n, 2) as logit_1 - logit_0, or out[:, 0] for (n, 1)."""
    out = torch.as_tensor(out)
    if out.ndim == 1:
        return out
    if out.shape[1] == 2:
        return out[:, 1] - out[:, 0]
    if out.shape[1] == 1:
        return out[:, 0]
    raise ValueError(f"logit_margin needs binary outputs of shape (n, 1) or (n, 2), got {tuple(out.shape)}")


def binary_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Return the ROC AUC of scores (n,) (or binary outputs (n, 2)) for labels (n,) in {0, 1}."""
    from sklearn.metrics import roc_auc_score

    s = logit_margin(torch.as_tensor(scores)).detach().double().cpu().numpy()
    return float(roc_auc_score(torch.as_tensor(labels).cpu().numpy(), s))


@dataclass(frozen=True)
class LinearHead:
    """A linear classifier on standardised features: scores = ((z - mean) / scale) @ coef.T + intercept.

    coef (k', d) and intercept (k',) with k' = 1 for two classes; `C` is the chosen inverse
    regularisation and `tuning` maps every C tried to its worst-group accuracy on the tuning half.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    C: float
    tuning: dict

    def scores(self, z: torch.Tensor) -> torch.Tensor:
        """Return the decision values: (n,) for two classes, (n, k) otherwise."""
        zs = (_numpy(z) - self.mean) / self.scale
        s = zs @ self.coef.T + self.intercept
        return torch.from_numpy(s[:, 0] if s.shape[1] == 1 else s)

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """Return predicted labels (n,) of features z (n, d)."""
        s = self.scores(z)
        return (s > 0).long() if s.ndim == 1 else s.argmax(1)


def dfr(z: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor, *, Cs=DFR_CS, n_refits: int = 20,
        seed: int = 0) -> LinearHead:
    """Return the DFR head (Kirichenko et al.): L1 logistic regression on standardised features fitted
    on a group-balanced held-out set, C chosen by worst-group accuracy, weights averaged over refits.

    z (n, d) are the frozen features of the held-out set, labels (n,), groups (n,). Steps: standardise
    with the held-out mean and std; split the held-out set in two halves stratified by group; for each
    C, fit on a group-balanced subsample of the first half and score worst-group accuracy on the
    second; keep the best C (the first in `Cs` on ties); refit on `n_refits` group-balanced
    subsamples of the whole held-out set and average coefficients and intercepts. When the held-out
    groups already have equal sizes every balanced subsample is the whole set, so one refit is made.
    liblinear may stop at its iteration cap on nearly collinear deep features; its warning is muted.
    """
    zn, yn, gn = _numpy(z), _numpy(labels).astype(int), _numpy(groups).astype(int)
    if not len(zn) == len(yn) == len(gn):
        raise ValueError(f"z, labels and groups must have one row per sample, got {len(zn)}, {len(yn)}, {len(gn)}")
    if len(np.unique(yn)) < 2:
        raise ValueError("dfr needs both classes in the held-out set")
    rng = np.random.default_rng(seed)
    mean, scale = zn.mean(0), zn.std(0)
    scale = np.where(scale > 1e-12, scale, 1.0)  # dead units stay at zero instead of dividing by 0
    zs = (zn - mean) / scale
    first, second = _stratified_halves(gn, rng)
    tuning = {}
    for c in Cs:
        idx = first[_balanced_index(gn[first], rng)]
        clf = _l1_logistic(c, seed).fit(zs[idx], yn[idx])
        tuning[float(c)] = worst_group_accuracy(torch.from_numpy(clf.predict(zs[second])),
                                                torch.from_numpy(yn[second]), torch.from_numpy(gn[second]))
    best = max(tuning, key=lambda c: (tuning[c], -list(tuning).index(c)))
    coefs, intercepts = [], []
    if len({int((gn == g).sum()) for g in np.unique(gn)}) == 1:
        n_refits = 1
    for r in range(n_refits):
        idx = _balanced_index(gn, rng)
        clf = _l1_logistic(best, seed + r).fit(zs[idx], yn[idx])
        coefs.append(clf.coef_)
        intercepts.append(clf.intercept_)
    return LinearHead(mean, scale, np.mean(coefs, 0), np.mean(intercepts, 0), best, tuning)


def _l1_logistic(c: float, seed: int):
    """Return scikit-learn's L1-penalised logistic regression (liblinear) at inverse strength c."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    penalty = {"l1_ratio": 1.0} if (major, minor) >= (1, 8) else {"penalty": "l1"}
    return _Quiet(LogisticRegression(C=c, solver="liblinear", random_state=seed, max_iter=1000, **penalty))


class _Quiet:
    """Wrap an estimator so that `fit` mutes scikit-learn's ConvergenceWarning."""

    def __init__(self, est):
        self.est = est

    def fit(self, x, y):
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return self.est.fit(x, y)


def _balanced_index(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return indices of a random subsample with every group cut to the smallest group's size."""
    present = np.unique(groups)
    k = min(int((groups == g).sum()) for g in present)
    return np.concatenate([rng.choice(np.flatnonzero(groups == g), k, replace=False) for g in present])


def _stratified_halves(groups: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return two disjoint index sets, each holding about half of every group."""
    first, second = [], []
    for g in np.unique(groups):
        idx = rng.permutation(np.flatnonzero(groups == g))
        first.append(idx[: len(idx) // 2])
        second.append(idx[len(idx) // 2:])
    return np.concatenate(first), np.concatenate(second)


def _numpy(t) -> np.ndarray:
    t = torch.as_tensor(t)
    return t.detach().reshape(t.shape[0], -1).double().cpu().numpy() if t.ndim > 1 else t.detach().cpu().numpy()


@dataclass
class RetrainedHead:
    """A head MLP trained on standardised frozen features: logits = mlp((z - mean) / scale)."""

    mlp: torch.nn.Module
    mean: torch.Tensor
    scale: torch.Tensor

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Return the head's outputs (n, k) on features z (n, d), without gradients."""
        self.mlp.eval()
        with torch.no_grad():
            return self.mlp(((z.reshape(z.shape[0], -1).float() - self.mean) / self.scale))

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """Return predicted labels (n,)."""
        return self.logits(z).argmax(1)


def retrain_head(z: torch.Tensor, labels: torch.Tensor, *, depth: int, width: int, epochs: int, lr: float,
                 optimizer: str = "adam", weight_decay: float = 0.0, seed: int = 0,
                 activation: str = "relu") -> RetrainedHead:
    """Return a freshly initialised head MLP (`depth` weight layers, hidden `width`) trained with the
    book's one loop (`train.fit`, cross-entropy, full batch) on frozen, standardised features z (n, d).

    This is "retraining from layer k" in chapter 6: the layers 1..k of a trained network stay frozen,
    the L - k layers above are discarded and a new stack of depth L - k is trained on h_k of a
    group-balanced held-out set. depth = 1 is a linear head (gradient-descent logistic regression).
    """
    from ..models import MLP
    from ..train import fit

    z = z.reshape(z.shape[0], -1).float()
    mean, scale = z.mean(0), z.std(0)
    scale = torch.where(scale > 1e-12, scale, torch.ones_like(scale))
    n_classes = int(labels.max()) + 1
    mlp = MLP(z.shape[1], width, depth, n_classes, activation=activation, init="he", seed=seed)
    fit(mlp, (z - mean) / scale, labels.long(), epochs=epochs, lr=lr, loss="ce", optimizer=optimizer,
        weight_decay=weight_decay, seed=seed, progress=False)
    return RetrainedHead(mlp, mean, scale)
