"""Optimizers beyond torch's, usable through `train.fit(..., make_optimizer=...)`.

`GramPreserving(base)` wraps any torch optimizer with the Gram-preserving ("whitening") update of
Cha et al. 2026 (note 03, section 4): after the base step takes W_1 to W_2, every weight with two or
more dimensions (conv kernels as out x in*k*k) is replaced by

    W_2' = O W_2,    O = polar(W_1 W_2^T) = U V^T    (U S V^T the SVD of W_1 W_2^T),

the orthogonal Procrustes rotation that brings W_2 closest to W_1. Then W_2'^T W_2' = W_2^T W_2: the
step's change of the weight Gram is kept and its output-side rotation is discarded. Biases are not
touched; momentum buffers are left as the base optimizer keeps them (as in the authors' code).

    make = lambda params: GramPreservingSGD(params, lr=0.01, momentum=0.85)
    fit(model, x, y, ..., make_optimizer=make)
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

from .metrics.gram import weight_gram

POLAR_METHODS = ("svd", "newton_schulz")


class OptimError(ValueError):
    """An optimizer was built with arguments it cannot use; the message says what it accepts."""


def polar_factor(a: torch.Tensor, *, method: str = "svd", ns_steps: int = 10) -> torch.Tensor:
    """Return the orthogonal polar factor U V^T of a square matrix a (m, m) (U S V^T = a).

    method="svd": exact, computed in float64 and cast back to a's dtype.
    method="newton_schulz": `ns_steps` quintic Newton-Schulz iterations
    X <- X (15 I - 10 X^T X + 3 (X^T X)^2) / 8 from X = a / ||a||_F (the authors' choice; small
    singular values may be left unconverged, so O is only approximately orthogonal).
    """
    if method == "svd":
        u, _, vh = torch.linalg.svd(a.double())
        return (u @ vh).to(a.dtype)
    if method == "newton_schulz":
        x = a / a.norm().clamp_min(torch.finfo(a.dtype).tiny)
        eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
        for _ in range(ns_steps):
            xtx = x.T @ x
            x = x @ (15 * eye - 10 * xtx + 3 * xtx @ xtx) / 8
        return x
    raise OptimError(f"polar must be one of {', '.join(POLAR_METHODS)}, got {method!r}")


def gram_preserving_rotation(w_before: torch.Tensor, w_after: torch.Tensor, *, method: str = "svd",
                             ns_steps: int = 10) -> torch.Tensor:
    """Return O W_after with O = polar(W_before W_after^T); weights (d_out, ...) are used as (d_out, -1)."""
    before = w_before.reshape(w_before.shape[0], -1)
    after = w_after.reshape(w_after.shape[0], -1)
    o = polar_factor(before @ after.T, method=method, ns_steps=ns_steps)
    return (o @ after).reshape(w_after.shape)


class GramPreserving:
    """Wrap `base` (a torch optimizer): its step, then the Gram-preserving rotation of every weight
    with >= 2 dimensions. `param_groups`, `state`, `zero_grad` are the base's, so `fit` can set lr.

    polar: "svd" (exact, default) or "newton_schulz" (`ns_steps` quintic steps).
    track_gram_error: keep, per step, the largest ||W'^T W' - W^T W||_F / ||W^T W||_F over the
    rotated weights in `gram_errors` (W = the base step's result), computed in float64.
    """

    def __init__(self, base: torch.optim.Optimizer, *, polar: str = "svd", ns_steps: int = 10,
                 track_gram_error: bool = False):
        if polar not in POLAR_METHODS:
            raise OptimError(f"polar must be one of {', '.join(POLAR_METHODS)}, got {polar!r}")
        if not isinstance(ns_steps, int) or ns_steps < 1:
            raise OptimError(f"ns_steps must be an integer >= 1, got {ns_steps!r}")
        self.base, self.polar, self.ns_steps = base, polar, ns_steps
        self.track_gram_error = track_gram_error
        self.gram_errors: list[float] = []

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.base.param_groups

    @property
    def state(self):
        return self.base.state

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return self.base.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base.load_state_dict(state)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take the base step, then rotate every matrix weight back towards where it was."""
        weights = [p for group in self.param_groups for p in group["params"] if p.ndim >= 2]
        before = [p.detach().clone() for p in weights]
        result = self.base.step(closure)
        worst = 0.0
        for p, w1 in zip(weights, before):
            rotated = gram_preserving_rotation(w1, p, method=self.polar, ns_steps=self.ns_steps)
            if self.track_gram_error:
                worst = max(worst, gram_relative_change(p, rotated))
            p.copy_(rotated)
        if self.track_gram_error:
            self.gram_errors.append(worst)
        return result


class GramPreservingSGD(GramPreserving):
    """SGD (torch.optim.SGD with lr, momentum, weight_decay) followed by the Gram-preserving rotation."""

    def __init__(self, params: Iterable[torch.nn.Parameter], *, lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, polar: str = "svd", ns_steps: int = 10, track_gram_error: bool = False):
        super().__init__(torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay),
                         polar=polar, ns_steps=ns_steps, track_gram_error=track_gram_error)


def gram_relative_change(w: torch.Tensor, w_new: torch.Tensor) -> float:
    """Return ||G(w_new) - G(w)||_F / ||G(w)||_F in float64, G(w) = w^T w with w as (d_out, -1)."""
    ga, gb = weight_gram(w.double()), weight_gram(w_new.double())
    return float((gb - ga).norm() / ga.norm().clamp_min(torch.finfo(torch.float64).tiny))
