"""The one training loop of the book: full batch or minibatch, SGD/Adam, MSE/CE, snapshots, guard."""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from .data import check_finite, one_hot
from .ensemble import Ensemble, EnsembleError

LOSSES = ("mse", "ce")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine")


class DivergenceError(RuntimeError):
    """Training produced a NaN or infinite loss."""


@dataclass
class History:
    """What `fit` returns: the loss per epoch (index 0 = before training), snapshots, why it stopped.

    For an `ensemble.Ensemble`, `member_loss[e]` holds the M members' losses at epoch e, `loss[e]` their
    mean, and `member(m)` is member m's own History.
    """

    loss: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, Any]] = field(default_factory=list)
    epochs_run: int = 0
    steps: int = 0
    stopped_early: bool = False
    member_loss: list[list[float]] = field(default_factory=list)

    def member(self, m: int) -> "History":
        """Return member m's History of an ensemble run (`loss` = its own losses; snapshots shared)."""
        if not self.member_loss:
            raise ValueError("this History is not an ensemble's: it has no member losses")
        return History([row[m] for row in self.member_loss], list(self.snapshots), self.epochs_run, self.steps,
                       self.stopped_early)


def loss_fn(out: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """Return the mean loss: "mse" = (1/n) sum_i ||out_i - target_i||^2 (summed over outputs, as in
    Wang et al.), "ce" = cross-entropy with integer targets."""
    if loss == "ce":
        return nn.functional.cross_entropy(out, target)
    diff = out - target.reshape(out.shape)
    return diff.pow(2).reshape(diff.shape[0], -1).sum(1).mean()


def cosine_lr(epoch: int, epochs: int, lr: float, lr_min: float) -> float:
    """Return the cosine-annealed learning rate at `epoch` of `epochs` (lr at 0, lr_min at the end)."""
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * min(epoch, epochs) / epochs))


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float, loss: str = "mse",
        batch_size: int = 0, optimizer: str = "sgd", momentum: float = 0.0, weight_decay: float = 0.0,
        schedule: str = "constant", lr_min: float = 0.0, stop_loss: float | None = None,
        sd_coef: float = 0.0, seed: int | Sequence[int] = 0, callback: Callable[[int, nn.Module], Any] | None = None,
        snapshot_epochs: Iterable[int] = (), progress: bool | None = None,
        make_optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
        extra_loss: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None) -> History:
    """Train `model` in place on inputs x (n, d) and targets y and return its History.

    Targets: integer labels (n,) (one-hot encoded for "mse") or float targets (n,) / (n, k) for "mse".
    batch_size 0 means full batch (gradient descent). `schedule="cosine"` anneals lr to lr_min over
    `epochs`, stepped once per epoch. Training stops early when the epoch loss falls below
    `stop_loss`. `sd_coef` > 0 adds spectral decoupling, sd_coef/2 * mean_i ||out_i||^2.
    `callback(epoch, model)` is called at epoch 0 (before any step) and after every epoch listed in
    `snapshot_epochs`; its return values are kept in `History.snapshots`. `make_optimizer` replaces
    the built-in optimizers (e.g. a Gram-preserving wrapper). `extra_loss(model, out)` is added to every
    minibatch loss (e.g. a VAE's KL term, `models.VAE.kl_loss`). Raises DivergenceError on NaN/inf loss.

    `model` may be an `ensemble.Ensemble` of M members: they are trained at once on the sum of their
    losses, each exactly as `fit` would train it alone (see ensemble.py); `seed` is then one int (the
    same minibatch order for all) or M ints (member m's order from seed[m]). `History.member_loss`
    holds the per-member losses. stop_loss, extra_loss and make_optimizer are refused for an ensemble.
    """
    _check_fit_args(loss, optimizer, schedule, epochs, lr, batch_size)
    members = model.members if isinstance(model, Ensemble) else 0
    seeds = _check_ensemble_args(model, members, seed, stop_loss, extra_loss, make_optimizer)
    device = next(model.parameters()).device
    x = check_finite(x, "training inputs").to(device)
    target = _targets(y, model, x, loss).to(device)
    opt = make_optimizer(model.parameters()) if make_optimizer else _optimizer(
        model, optimizer, lr, momentum, weight_decay)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    n = x.shape[0]
    bs = n if batch_size <= 0 else min(batch_size, n)
    wanted = set(snapshot_epochs)
    hist = History()
    if callback is not None:
        hist.snapshots.append((0, callback(0, model)))
    show = sys.stderr.isatty() if progress is None else progress
    bar = _progress(epochs, show)
    model.train()
    for epoch in range(1, epochs + 1):
        rate = cosine_lr(epoch - 1, epochs, lr, lr_min) if schedule == "cosine" else lr
        for group in opt.param_groups:
            group["lr"] = rate
        # one permutation per seed: (n,) for one model or one seed, (M, n) for an ensemble with M seeds
        order = (torch.stack([torch.randperm(n, generator=g) for g in gens]) if len(gens) > 1
                 else torch.randperm(n, generator=gens[0])) if bs < n else None
        per_member = order is not None and order.dim() == 2
        total = 0.0
        for start in range(0, n, bs):
            idx = order[..., start:start + bs].to(device) if order is not None else slice(None)
            out = model(x[idx])
            values = _objective(out, target[idx], loss, sd_coef, members, per_member)  # () or (M,)
            value = values.sum()
            if extra_loss is not None:
                value = value + extra_loss(model, out)
            if not torch.isfinite(value):
                raise DivergenceError(
                    f"training diverged at epoch {epoch}, step {hist.steps} (loss = {value.item()}) with "
                    f"lr = {rate:g}{_which_members(values)}; lower lr or init_scale")
            if epoch == 1 and start == 0:
                _record(hist, value, values, members)  # the loss before the first step
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            hist.steps += 1
            weight = (idx.shape[-1] if order is not None else n)
            total = total + (values.detach().double() if members else value.item()) * weight
        _record(hist, total / n, total / n, members)
        hist.epochs_run = epoch
        bar.update(1)
        bar.set_postfix(loss=f"{hist.loss[-1]:.3g}", refresh=False)
        if callback is not None and epoch in wanted:
            hist.snapshots.append((epoch, callback(epoch, model)))
        if stop_loss is not None and hist.loss[-1] < stop_loss:
            hist.stopped_early = True
            break
    bar.close()
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise DivergenceError(f"training diverged: non-finite weights after epoch {hist.epochs_run}, step {hist.steps} "
                              f"(the last loss was finite) with lr = {rate:g}; lower lr or init_scale")
    return hist


def _objective(out: torch.Tensor, target: torch.Tensor, loss: str, sd_coef: float, members: int,
               per_member: bool) -> torch.Tensor:
    """Return the minibatch objective: a scalar for one model, the (M,) member objectives for an ensemble.

    out: (B, K) or, for an ensemble, (M, B, K); target: (B, ...) shared by the members, or (M, B, ...)
    one minibatch per member when `per_member`.
    """
    def one(o: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        value = loss_fn(o, t, loss)
        if sd_coef:
            value = value + 0.5 * sd_coef * o.pow(2).sum(-1).mean()
        return value

    if not members:
        return one(out, target)
    return torch.func.vmap(one, in_dims=(0, 0 if per_member else None))(out, target)


def _record(hist: History, value: Any, values: Any, members: int) -> None:
    if members:
        per = [float(v) for v in values.detach().reshape(-1)]
        hist.member_loss.append(per)
        hist.loss.append(sum(per) / len(per))
    else:
        hist.loss.append(value.item() if isinstance(value, torch.Tensor) else float(value))


def _which_members(values: torch.Tensor) -> str:
    if values.dim() == 0:
        return ""
    bad = [i for i, v in enumerate(values.detach().reshape(-1).tolist()) if not math.isfinite(v)]
    return f" (ensemble members {bad})"


def _check_ensemble_args(model: nn.Module, members: int, seed: Any, stop_loss: Any, extra_loss: Any,
                         make_optimizer: Any) -> list[int]:
    """Return the minibatch seeds: [seed] or, for an ensemble given one seed per member, the M seeds."""
    if isinstance(seed, (list, tuple)):
        if not members:
            raise ValueError(f"seed must be one int for a single model, got {seed!r}")
        if len(seed) != members:
            raise ValueError(f"an ensemble of {members} members needs one seed or {members} seeds, got {len(seed)}")
        seeds = [int(s) for s in seed]
    else:
        seeds = [int(seed)]
    if members:
        for name, value in (("stop_loss", stop_loss), ("extra_loss", extra_loss), ("make_optimizer", make_optimizer)):
            if value is not None:
                raise EnsembleError(f"{name} is not supported for an ensemble (members would stop at different "
                                    "epochs, or a custom loss or optimizer may couple them); train the members "
                                    "separately")
    return seeds


def _targets(y: torch.Tensor, model: nn.Module, x: torch.Tensor, loss: str) -> torch.Tensor:
    if loss == "ce":
        return y.long()
    if y.dtype in (torch.int64, torch.int32):
        n_out = getattr(model, "out_dim", None) or int(y.max()) + 1
        return one_hot(y, n_out, x.dtype)
    return check_finite(y, "training targets").to(x.dtype)


def _optimizer(model: nn.Module, name: str, lr: float, momentum: float, wd: float) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    return torch.optim.AdamW(params, lr=lr, weight_decay=wd)


def _check_fit_args(loss: str, optimizer: str, schedule: str, epochs: int, lr: float, batch_size: int) -> None:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if batch_size < 0:
        raise ValueError(f"batch_size must be >= 0 (0 = full batch), got {batch_size}")


class _NoBar:
    def update(self, n: int) -> None: ...
    def set_postfix(self, **kw: Any) -> None: ...
    def close(self) -> None: ...


def _progress(total: int, show: bool):
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="train", unit="epoch", leave=False, mininterval=0.5)
