"""The weight Gram matrix and what it tracks (Cha et al. 2026, note 03).

Batch-row convention throughout: H_{l-1} (n, d_{l-1}) holds the inputs of layer l, one row per
sample; W_l (d_l, d_{l-1}); Z_l = H_{l-1} W_l^T (+ b_l); Delta_l = dL/dZ_l (n, d_l). Then
grad_{W_l} L = Delta_l^T H_{l-1} and grad_{H_{l-1}} L = Delta_l W_l, so

    W_l^T grad_{W_l} L = (grad_{H_{l-1}} L)^T H_{l-1}        (d_{l-1}, d_{l-1})

exactly: the Feature Learning Equation. `G_l = W_l^T W_l` lives on the layer's INPUT space.

- `weight_gram`: W^T W (conv kernels reshaped to out x in*k*k).
- `layer_gradients`, `feature_learning_residual`: the identity, per layer, by autograd.
- `virtual_covariance`, `one_step_decomposition`: the Gram change of one GD step against the
  second-moment change of the virtually updated layer inputs H - lr grad_H L.
- `target_linearity` (fast, in the cheaper space) and `target_linearity_lstsq` (reference),
  `gram_surrogate` S_l, and per-model helpers over the hidden layers.
- `collapse_tl_bound` (neural collapse forces TL to 1), `half_gain_epochs` (per layer, via
  `landmarks.half_gain_epoch`), `ols_distances`
  (the staircase distances), `matrix_cosine`.
Chapter 3b adds the average gradient outer product (AGOP) here, beside the weight Gram it is
compared with.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..data import one_hot
from ..train import loss_fn
from .landmarks import half_gain_epoch


class GramError(ValueError):
    """A Gram measure was called with arguments it cannot use; the message says what it accepts."""


# ----------------------------------------------------------------------------------------------
# weight Gram and the Feature Learning Equation


def weight_gram(w: torch.Tensor) -> torch.Tensor:
    """Return G = W^T W (d_in, d_in) of a weight W (d_out, d_in) on the layer's input space.

    A conv kernel (out, in, k, k) (any trailing shape) is first reshaped to (out, in*k*k), the
    matrix that acts on unfolded patches.
    """
    if w.ndim < 2:
        raise GramError(f"weight_gram needs a weight with >= 2 dimensions (d_out, d_in, ...), got shape "
                        f"{tuple(w.shape)}")
    m = w.reshape(w.shape[0], -1)
    return m.T @ m


@dataclass
class LayerGradient:
    """Layer l's input H (n, d_in), its gradient dL/dH (n, d_in) with H treated as a free variable,
    the effective weight W (d_out, d_in) (multiplier applied) and dL/dW (d_out, d_in)."""

    h: torch.Tensor
    grad_h: torch.Tensor
    weight: torch.Tensor
    grad_weight: torch.Tensor


def targets_for(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Return the targets `train.loss_fn` expects: integer labels for "ce"; for "mse", integer labels
    one-hot encoded to out's width, float targets reshaped to out's shape."""
    if loss == "ce":
        return y.long()
    if not y.is_floating_point():
        return one_hot(y, out.shape[-1], out.dtype)
    return y.to(out.dtype).reshape(out.shape)


def layer_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "mse") -> list[LayerGradient]:
    """Return one LayerGradient per weight layer l = 1..L of an `MLP` on (x (n, d_0), y).

    The loss is `train.loss_fn` (mean over samples). Layer inputs are `model.features(x)[l-1]`; their
    gradients come from autograd on those tensors, which in an MLP feed only layer l, so they equal
    dL/dH_{l-1} with H_{l-1} a free variable. The model's train/eval mode is left as it is.
    """
    x = x.detach().clone().requires_grad_(True)
    feats = model.features(x)
    value = loss_fn(feats[-1], targets_for(feats[-1], y, loss), loss)
    raw = [layer.weight for layer in model.layers]
    grads = torch.autograd.grad(value, [*feats[:-1], *raw])
    depth = len(raw)
    mults = getattr(model, "weight_multipliers", [1.0] * depth)
    out = []
    for i in range(depth):
        m = mults[i]
        out.append(LayerGradient(h=feats[i].detach(), grad_h=grads[i].detach(),
                                 weight=(raw[i] * m).detach(), grad_weight=grads[depth + i].detach() / m))
    return out


def feature_learning_terms(g: LayerGradient) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (W^T grad_W L, (grad_H L)^T H), both (d_in, d_in), for one layer."""
    return g.weight.T @ g.grad_weight, g.grad_h.T @ g.h


def feature_learning_residual(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                              loss: str = "mse") -> list[float]:
    """Return, per layer l = 1..L, max|W^T grad_W L - (grad_H L)^T H| / max|W^T grad_W L|.

    Zero in exact arithmetic (the Feature Learning Equation); about 1e-16 in float64.
    """
    res = []
    for g in layer_gradients(model, x, y, loss=loss):
        lhs, rhs = feature_learning_terms(g)
        res.append(float((lhs - rhs).abs().max() / lhs.abs().max().clamp_min(torch.finfo(lhs.dtype).tiny)))
    return res


# ----------------------------------------------------------------------------------------------
# virtual covariance and the one-step decomposition


def virtual_covariance(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float, *, loss: str = "mse",
                       batch_size: int = 0, layer: int = 0) -> torch.Tensor:
    """Return VC = sum_b (H~_b^T H~_b - H_b^T H_b) (d, d), uncentred and summed over batches.

    H_b are the inputs of weight layer `layer` + 1 (`layer` = 0: the model inputs, note 03's VC;
    `layer` = l: the hidden features h_l) on the b-th batch of `batch_size` consecutive samples
    (0 = one full batch), and H~_b = H_b - lr * grad_{H_b} L_b with L_b the batch's mean loss. The
    model is evaluated in eval mode (restored afterwards). For one full batch this is the FLE's
    prediction of the change of W^T W in one GD step, correct to O(lr^2).
    """
    if not 0 <= layer < len(model.layers):
        raise GramError(f"layer must be in [0, {len(model.layers) - 1}] (0 = model input), got {layer}")
    was_training = model.training
    model.eval()
    n = x.shape[0]
    bs = n if batch_size <= 0 else min(batch_size, n)
    vc = None
    try:
        for start in range(0, n, bs):
            g = layer_gradients(model, x[start:start + bs], y[start:start + bs], loss=loss)[layer]
            h_virtual = g.h - lr * g.grad_h
            term = h_virtual.T @ h_virtual - g.h.T @ g.h
            vc = term if vc is None else vc + term
    finally:
        model.train(was_training)
    return vc


@dataclass
class OneStep:
    """One GD step W+ = W - lr grad_W L on one layer, split as in note 03, section 1 (all (d_in, d_in)).

    gram_change = G+ - G; vc_change = H~^T H~ - H^T H with H~ = H - lr grad_H L;
    eta2_term = lr^2 (grad_W^T grad_W - grad_H^T grad_H). Exactly gram_change = vc_change + eta2_term.
    """

    lr: float
    gram_change: torch.Tensor
    vc_change: torch.Tensor
    eta2_term: torch.Tensor

    @property
    def identity_residual(self) -> float:
        """Return ||gram_change - vc_change - eta2_term||_F / ||gram_change||_F (0 in exact arithmetic)."""
        return _rel(self.gram_change - self.vc_change - self.eta2_term, self.gram_change)

    @property
    def leftover(self) -> float:
        """Return ||gram_change - vc_change||_F / ||gram_change||_F, which is O(lr)."""
        return _rel(self.gram_change - self.vc_change, self.gram_change)


def one_step_decomposition(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float, *,
                           loss: str = "mse") -> list[OneStep]:
    """Return a OneStep per weight layer l = 1..L for a full-batch GD step of size `lr`.

    The step is taken on the effective weight (multiplier applied; identical to the parameter step
    in the standard parametrization). Nothing in the model changes. Both changes are formed in
    expanded form, e.g. G+ - G = -lr (W^T g + g^T W) + lr^2 g^T g with g = grad_W L, which is the
    exact change of W^T W under W -> W - lr g without the cancellation of subtracting two O(1)
    matrices (forming W+^T W+ - W^T W directly loses about log10(||G|| / ||G+ - G||) digits).
    """
    steps = []
    for g in layer_gradients(model, x, y, loss=loss):
        steps.append(OneStep(
            lr=lr,
            gram_change=_expanded_change(g.weight, g.grad_weight, lr),
            vc_change=_expanded_change(g.h, g.grad_h, lr),
            eta2_term=lr ** 2 * (g.grad_weight.T @ g.grad_weight - g.grad_h.T @ g.grad_h)))
    return steps


def _expanded_change(a: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
    """Return (a - lr grad)^T (a - lr grad) - a^T a = -lr (a^T grad + grad^T a) + lr^2 grad^T grad."""
    cross = a.T @ grad
    return -lr * (cross + cross.T) + lr ** 2 * (grad.T @ grad)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a.norm() / b.norm().clamp_min(torch.finfo(b.dtype).tiny))


# ----------------------------------------------------------------------------------------------
# target linearity and the Gram surrogate


def centred_targets(y: torch.Tensor, n_classes: int | None = None) -> torch.Tensor:
    """Return Y_c (n, K) in float64: one-hot of integer labels y (n,) (K = n_classes or max + 1), or
    float targets (n,) / (n, K), centred over samples."""
    if y.is_floating_point():
        t = y.reshape(y.shape[0], -1).double()
    else:
        k = int(y.max()) + 1 if n_classes is None else n_classes
        t = one_hot(y, k, torch.float64)
    return t - t.mean(0)


def target_linearity(h: torch.Tensor, y: torch.Tensor, *, n_classes: int | None = None, ridge: float = 0.0,
                     rtol: float | None = None, space: str = "auto") -> float:
    """Return TL = ||P_H Y_c||_F^2 / ||Y_c||_F^2 in [0, 1]: the multi-output R^2 of least squares from
    UNCENTRED features h (n, d) (no intercept) to centred targets (note 03, section 3).

    Targets: integer labels (n,) (one-hot, K = n_classes or max + 1) or floats (n,) / (n, K).
    Solved in float64 in the cheaper space, by the eigendecomposition of the smaller Gram matrix:
    feature space H^T H (d, d) when d <= n (cost O(n d^2)), sample space H H^T (n, n) otherwise
    (O(n^2 d)); `space` = "feature" | "sample" forces one. With eigenpairs (lam_i, u_i) of the projection's range,
    TL = sum_i w_i ||u_i^T Y_c||^2 / ||Y_c||^2.
    Rank deficiency: with ridge = 0 (default) the solve is a truncated pseudo-inverse, w_i = 1 for
    lam_i > rtol * lam_max and 0 otherwise, rtol defaulting to max(n, d) * eps64 on the Gram's
    eigenvalues (torch.linalg.pinv(hermitian=True)'s default), i.e. directions whose singular value is
    below sqrt(rtol) (about 1e-6 at n = 1e4) of the largest count as null. ridge > 0 gives the
    paper's fallback H (H^T H + ridge I)^{-1} H^T Y_c, w_i = 1 - (ridge / (lam_i + ridge))^2.
    The paper's projection of features wider than 1000 on 256 principal directions is NOT applied.
    """
    hd, yc = _check_tl(h, y, n_classes, ridge)
    n, d = hd.shape
    denom = yc.pow(2).sum()
    if denom == 0:
        raise GramError("target_linearity: the centred targets are all zero (a single class or constant y)")
    if space not in ("auto", "feature", "sample"):
        raise GramError(f"space must be 'auto', 'feature' or 'sample', got {space!r}")
    if space == "feature" or (space == "auto" and d <= n):
        lam, v = torch.linalg.eigh(hd.T @ hd)
        proj2 = (v.T @ (hd.T @ yc)).pow(2).sum(1)  # = lam_i ||u_i^T Y_c||^2
        weight_over_lam = _weights(lam, ridge, rtol, n, d, over_lam=True)
        num = (weight_over_lam * proj2).sum()
    else:
        lam, u = torch.linalg.eigh(hd @ hd.T)
        num = (_weights(lam, ridge, rtol, n, d, over_lam=False) * (u.T @ yc).pow(2).sum(1)).sum()
    return float((num / denom).clamp(0.0, 1.0))


def _weights(lam: torch.Tensor, ridge: float, rtol: float | None, n: int, d: int, *, over_lam: bool) -> torch.Tensor:
    """Return w_i (or w_i / lam_i) for Gram eigenvalues lam: truncation (ridge 0) or ridge shrinkage."""
    lam = lam.clamp_min(0.0)
    if ridge > 0:
        return (lam + 2 * ridge) / (lam + ridge) ** 2 * (1.0 if over_lam else lam)
    tol = (max(n, d) * torch.finfo(torch.float64).eps if rtol is None else rtol) * lam.max()
    keep = lam > tol
    if over_lam:
        return torch.where(keep, 1.0 / torch.where(keep, lam, torch.ones_like(lam)), torch.zeros_like(lam))
    return keep.to(lam.dtype)


def target_linearities(h: torch.Tensor, ys: Sequence[torch.Tensor], *, n_classes: int | None = None) -> list[float]:
    """Return [target_linearity(h, y) for y in ys] from one eigendecomposition of H^T H (or H H^T).

    h (n, d) uncentred features; ys: label vectors (n,) (or float targets) sharing the rows of h,
    e.g. the true labels and a random relabelling as a control. Same rules as `target_linearity`
    (ridge 0, default rtol); the Gram and its eigendecomposition, the costly part, are computed once.
    """
    if not ys:
        return []
    hd, _ = _check_tl(h, ys[0], n_classes, 0.0)
    n, d = hd.shape
    feature = d <= n
    lam, vec = torch.linalg.eigh(hd.T @ hd if feature else hd @ hd.T)
    weights = _weights(lam, 0.0, None, n, d, over_lam=feature)
    out = []
    for y in ys:
        _, yc = _check_tl(h, y, n_classes, 0.0)
        denom = yc.pow(2).sum()
        if denom == 0:
            raise GramError("target_linearities: the centred targets are all zero (a single class or constant y)")
        proj2 = (vec.T @ (hd.T @ yc)).pow(2).sum(1) if feature else (vec.T @ yc).pow(2).sum(1)
        out.append(float(((weights * proj2).sum() / denom).clamp(0.0, 1.0)))
    return out


def target_linearity_lstsq(h: torch.Tensor, y: torch.Tensor, *, n_classes: int | None = None) -> float:
    """Return TL = 1 - ||Y_c - H B||^2 / ||Y_c||^2 with B from torch.linalg.lstsq on the (n, d) system.

    The slow, direct reference for `target_linearity` (float64; LAPACK gelsy on the CPU).
    """
    hd, yc = _check_tl(h, y, n_classes, 0.0)
    b = torch.linalg.lstsq(hd, yc).solution
    return float(1 - (yc - hd @ b).pow(2).sum() / yc.pow(2).sum())


def _check_tl(h: torch.Tensor, y: torch.Tensor, n_classes: int | None, ridge: float):
    if h.shape[0] != y.shape[0]:
        raise GramError(f"target_linearity: h has {h.shape[0]} rows but y has {y.shape[0]}")
    if ridge < 0:
        raise GramError(f"ridge must be >= 0, got {ridge}")
    return h.reshape(h.shape[0], -1).double(), centred_targets(y, n_classes)


def gram_surrogate(h: torch.Tensor, w_next: torch.Tensor, y: torch.Tensor, *, n_classes: int | None = None) -> float:
    """Return S_l = (1/K) tr(Y_c^T H G H^T Y_c) = ||W_next H^T Y_c||_F^2 / K, G = W_next^T W_next.

    h (n, d) are the features of hidden layer l, w_next (d_next, d) the next layer's weight (the
    readout for the last hidden layer), y as in `target_linearity`. Unnormalised, as in the paper's
    code: the TL numerator with (H^T H)^{-1} replaced by the weight Gram. Cost O(n d K).
    """
    hd, yc = _check_tl(h, y, n_classes, 0.0)
    w = w_next.reshape(w_next.shape[0], -1).double()
    return float((w @ (hd.T @ yc)).pow(2).sum() / yc.shape[1])


def layerwise_target_linearity(features: Sequence[torch.Tensor], y: torch.Tensor, **kwargs) -> list[float]:
    """Return [target_linearity(h, y) for h in features] (each h (n, d_l))."""
    return [target_linearity(h, y, **kwargs) for h in features]


def hidden_target_linearity(features: Sequence[torch.Tensor], weights: Sequence[torch.Tensor], y: torch.Tensor, *,
                            n_classes: int | None = None) -> tuple[list[float], list[float]]:
    """Return ([TL_l], [S_l]) for the hidden layers l = 1..L-1, from an MLP's L + 1 features
    [x, h_1, ..., h_{L-1}, out] (each (n, d_l)) and its L effective weights [W_1, ..., W_L].

    S_l uses the next weight W_{l+1} (`weights[l]`, 0-based), the readout for the last hidden layer.
    """
    hidden = range(1, len(weights))
    tl = [target_linearity(features[l], y, n_classes=n_classes) for l in hidden]
    sur = [gram_surrogate(features[l], weights[l], y, n_classes=n_classes) for l in hidden]
    return tl, sur


def model_target_linearity(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                           n_classes: int | None = None) -> tuple[list[float], list[float]]:
    """Return ([TL_l], [S_l]) for the hidden layers l = 1..L-1 of an MLP on (x (n, d_0), y).

    Features are post-activation (`features.layer_features`, eval mode); S_l uses W_{l+1}.
    """
    from ..features import layer_features

    weights = [w.detach().cpu() for w in model.weights()]
    return hidden_target_linearity(layer_features(model, x), weights, y.cpu(), n_classes=n_classes)


def collapse_tl_bound(h: torch.Tensor, labels: torch.Tensor, *, n_classes: int | None = None) -> float:
    """Return the lower bound 1 - ||E M^+ (I - 1 ybar^T)||_F^2 / ||Y_c||_F^2 <= TL(h, labels).

    Write the features h (n, d) as H = Y M + E with Y the one-hot labels (n, K), M the (K, d)
    uncentred class means and E the within-class deviations. If M has rank K, Y = H M^+ - E M^+ and
    Y_c = Y (I - 1 ybar^T), so the part of Y_c outside span(H) is at most E M^+ (I - 1 ybar^T): as the
    within-class variability collapses (NC1, E -> 0) TL is forced to 1. Returns -inf when the class
    means are rank deficient (the bound says nothing then).
    """
    hd = h.reshape(h.shape[0], -1).double()
    k = int(labels.max()) + 1 if n_classes is None else n_classes
    y = one_hot(labels, k, torch.float64)
    means = (y.T @ hd) / y.sum(0).clamp_min(1).unsqueeze(1)
    if int(torch.linalg.matrix_rank(means)) < k:
        return float("-inf")
    e = hd - y @ means
    centring = torch.eye(k, dtype=torch.float64) - torch.ones(k, 1, dtype=torch.float64) @ y.mean(0, keepdim=True)
    outside = e @ torch.linalg.pinv(means) @ centring
    yc = y - y.mean(0)
    return float(1 - outside.pow(2).sum() / yc.pow(2).sum())


def half_gain_epochs(curves: torch.Tensor | Sequence[Sequence[float]], epochs: Sequence[int]) -> list[int | None]:
    """Return `landmarks.half_gain_epoch` of each column of `curves` (T, L) (one row per entry of
    `epochs`): the first epoch at which the layer has covered half of its final gain; None where the
    gain is <= 0."""
    c = torch.as_tensor(curves, dtype=torch.float64)
    return [half_gain_epoch(list(epochs), c[:, j].tolist()) for j in range(c.shape[1])]


def ols_distances(h: torch.Tensor, y: torch.Tensor, y_hat: torch.Tensor, *, ridge: float = 0.01) -> dict[str, float]:
    """Return the staircase distances (note 03, Fig. 8) with y_ols = H (H^T H + ridge I)^{-1} H^T y:
    {"target_to_ols": ||y - y_ols||, "output_to_ols": ||y_hat - y_ols||, "target_to_output": ||y - y_hat||}.

    h (n, d) are the last hidden features, y (n,) the target and y_hat (n,) the network output.
    """
    hd, yd, od = h.reshape(h.shape[0], -1).double(), y.reshape(-1).double(), y_hat.reshape(-1).double()
    n, d = hd.shape
    if d <= n:
        y_ols = hd @ torch.linalg.solve(hd.T @ hd + ridge * torch.eye(d, dtype=hd.dtype), hd.T @ yd)
    else:  # the same fit in sample space: K (K + ridge I)^{-1} y
        k = hd @ hd.T
        y_ols = k @ torch.linalg.solve(k + ridge * torch.eye(n, dtype=hd.dtype), yd)
    return {"target_to_ols": float((yd - y_ols).norm()), "output_to_ols": float((od - y_ols).norm()),
            "target_to_output": float((yd - od).norm())}


def matrix_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Return <a, b>_F / (||a||_F ||b||_F) for two matrices of the same shape (1 = same direction)."""
    a, b = a.double(), b.double()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(torch.finfo(torch.float64).tiny))


# --- chapter 03b ---
# The average gradient outer product (AGOP) and the neural feature ansatz (Radhakrishnan et al. 2024):
# per layer, W_{l+1}^T W_{l+1} ~ AGOP of the network w.r.t. that layer's input h_l.


def _tail(model: nn.Module, layer: int):
    """Return h -> model output for ONE sample h (d_layer,), running layers layer..depth-1."""
    def f(h: torch.Tensor) -> torch.Tensor:
        z = h.unsqueeze(0)
        for i in range(layer, model.depth):
            z = model.layer_forward(i, z)
        return z.squeeze(0)
    return f


def _layer_inputs(model: nn.Module, x: torch.Tensor, layer: int) -> torch.Tensor:
    if not hasattr(model, "layer_forward") or not 0 <= layer < getattr(model, "depth", 0):
        raise GramError(f"agop needs a model with layer_forward and depth (MLP, SmallCNN) and a layer in "
                        f"[0, depth - 1] (0 = model input); got layer={layer} for {type(model).__name__}")
    with torch.no_grad():
        h = x
        for i in range(layer):
            h = model.layer_forward(i, h)
    return h.detach()


def agop(model: nn.Module, x: torch.Tensor, layer: int, *, batch_size: int = 512) -> torch.Tensor:
    """Return AGOP_l = (1/n) sum_i J_i^T J_i (d_l, d_l), J_i = d f(x_i) / d h_l (n_out, d_l).

    h_l (n, d_l) is `model.features(x)[layer]` (0 = the model input), f the model output, so J_i is
    the Jacobian of the network from layer `layer` on, at sample i. Computed with torch.func
    (vmap of jacrev, one batched reverse pass per output per chunk of `batch_size` samples; no loop
    over samples). The model is put in eval mode (restored afterwards). Needs `model.layer_forward`.
    """
    h_all = _layer_inputs(model, x, layer)
    was_training = model.training
    model.eval()
    jac_fn = torch.func.vmap(torch.func.jacrev(_tail(model, layer)))
    out = torch.zeros(h_all.shape[1], h_all.shape[1], dtype=h_all.dtype, device=h_all.device)
    try:
        for start in range(0, h_all.shape[0], batch_size):
            jac = jac_fn(h_all[start:start + batch_size]).detach()  # (b, n_out, d_l)
            jac = jac.reshape(jac.shape[0], -1, jac.shape[-1])
            out += torch.einsum("bkd,bke->de", jac, jac)
    finally:
        model.train(was_training)
    return out / h_all.shape[0]


def agop_reference(model: nn.Module, x: torch.Tensor, layer: int) -> torch.Tensor:
    """Return the same AGOP_l as `agop` by a Python loop over samples (torch.autograd.functional)."""
    h_all = _layer_inputs(model, x, layer)
    was_training = model.training
    model.eval()
    f = _tail(model, layer)
    total = torch.zeros(h_all.shape[1], h_all.shape[1], dtype=h_all.dtype)
    try:
        for h in h_all:
            jac = torch.autograd.functional.jacobian(f, h).reshape(-1, h.shape[0])
            total += jac.T @ jac
    finally:
        model.train(was_training)
    return total / h_all.shape[0]


def matrix_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Return <A, B>_F / (||A||_F ||B||_F) of two (d, d) matrices: the (uncentred) NFA correlation
    of Radhakrishnan et al. and Beaglehole et al. In [-1, 1]; 1 iff B = c A with c > 0."""
    a, b = a.double().flatten(), b.double().flatten()
    return float(a @ b / (a.norm() * b.norm()).clamp_min(torch.finfo(torch.float64).tiny))


def matrix_pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    """Return the Pearson correlation of the entries of two (d, d) matrices: subtract each matrix's scalar
    mean, then the cosine (the authors' NFA score in `verify_deep_NFA.py`; `matrix_correlation` is the
    uncentred cosine). 0.0 when either matrix is constant."""
    a, b = a.double().flatten(), b.double().flatten()
    a, b = a - a.mean(), b - b.mean()
    den = a.norm() * b.norm()
    return 0.0 if float(den) == 0.0 else float(a @ b / den)


def psd_power(a: torch.Tensor, power: float) -> torch.Tensor:
    """Return A^power (d, d) of a symmetric PSD matrix by its eigendecomposition (float64)."""
    lam, v = torch.linalg.eigh(a.double())
    return (v * lam.clamp_min(0.0).pow(power)) @ v.T


def nfa_correlations(model: nn.Module, x: torch.Tensor, *, power: float = 1.0,
                     batch_size: int = 512) -> list[float]:
    """Return, per weight layer l = 1..L of an MLP, corr(W_l^T W_l, AGOP_{l-1}^power), where
    AGOP_{l-1} is taken w.r.t. layer l's input h_{l-1} (`agop(model, x, l - 1)`) and corr is
    `matrix_correlation`. power = 1 is the ansatz as first stated; 1/2 is the variant used for
    convolutional and deep nets. Raises GramError when a weight does not act on its layer's input
    as a matrix (e.g. conv kernels, whose ansatz is on patches)."""
    corrs = []
    for l, w in enumerate(model.weights()):
        w = w.detach()
        g = weight_gram(w)
        a = agop(model, x, l, batch_size=batch_size)
        if g.shape != a.shape:
            raise GramError(f"layer {l + 1}: W^T W is {tuple(g.shape)} but the AGOP w.r.t. its input is "
                            f"{tuple(a.shape)}; nfa_correlations needs fully connected layers")
        corrs.append(matrix_correlation(g, a if power == 1.0 else psd_power(a, power)))
    return corrs


def path_straightness(points: torch.Tensor) -> float:
    """Return ||p_T - p_0|| / sum_t ||p_{t+1} - p_t|| in (0, 1] for a path points (T + 1, d).

    1 means the points move along a straight line (e.g. a decoder that is linear along a latent
    interpolation); small values mean detours."""
    p = points.reshape(points.shape[0], -1).double()
    steps = (p[1:] - p[:-1]).norm(dim=1).sum()
    return float((p[-1] - p[0]).norm() / steps.clamp_min(torch.finfo(torch.float64).tiny))


