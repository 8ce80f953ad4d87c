"""The one training loop of the book: full batch or minibatch, SGD/Adam, MSE/CE, snapshots, guard."""
from __future__ import annotations

import math
import operator
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

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
    # the training record (see `fit(criterion=..., eval_data=...)` and `summary_line`)
    criterion: str | None = None  # e.g. "train_acc >= 0.99"
    reached: bool | None = None  # did the net meet `criterion` (None: no criterion)
    final_loss: float | None = None  # the last epoch's mean training loss
    train_acc: float | None = None  # training accuracy at the end (with a criterion or eval_data)
    test_acc: float | None = None  # accuracy on eval_data at the end
    member_reached: list[bool] = field(default_factory=list)  # an ensemble's, per member
    member_train_acc: list[float] = field(default_factory=list)
    member_test_acc: list[float] = field(default_factory=list)

    def member(self, m: int) -> "History":
        """Return member m's History of an ensemble run (`loss` = its own losses; snapshots shared)."""
        if not self.member_loss:
            raise ValueError("this History is not an ensemble's: it has no member losses")
        pick = lambda values: values[m] if values else None  # noqa: E731
        loss = [row[m] for row in self.member_loss]
        return History(loss, list(self.snapshots), self.epochs_run, self.steps, self.stopped_early,
                       criterion=self.criterion, reached=pick(self.member_reached), final_loss=loss[-1] if loss else None,
                       train_acc=pick(self.member_train_acc), test_acc=pick(self.member_test_acc))


_CRITERION = re.compile(r"^\s*(train_acc|loss)\s*(>=|<=|>|<)\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$")
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


@dataclass(frozen=True)
class Criterion:
    """A training criterion: `metric op threshold`, metric "train_acc" (with >= or >, a threshold in (0, 1])
    or "loss" (the epoch's mean training loss, with <= or <, a threshold > 0)."""

    metric: str
    op: str
    threshold: float

    @classmethod
    def parse(cls, text: str) -> "Criterion":
        """Return the Criterion of "train_acc >= 0.99" or "loss <= 1e-3"; raise ValueError otherwise."""
        match = _CRITERION.match(str(text))
        if not match:
            raise ValueError(f"criterion must read 'train_acc >= A' or 'loss <= L' (also > and <), got {text!r}")
        metric, op, value = match.group(1), match.group(2), float(match.group(3))
        if metric == "train_acc" and (op not in (">=", ">") or not 0 < value <= 1):
            raise ValueError(f"a train_acc criterion needs >= or > and a threshold in (0, 1], got {text!r}")
        if metric == "loss" and (op not in ("<=", "<") or not value > 0):
            raise ValueError(f"a loss criterion needs <= or < and a threshold > 0, got {text!r}")
        return cls(metric, op, value)

    def met(self, value: float) -> bool:
        return bool(_OPS[self.op](value, self.threshold))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


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
        extra_loss: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
        criterion: str | None = None, eval_data: tuple[torch.Tensor, torch.Tensor] | None = None) -> History:
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

    `criterion` ("train_acc >= 0.99", "loss <= 1e-3"; see `Criterion`) is checked once per epoch, after the
    epoch's steps; training stops at the first epoch that meets it, or at `epochs`. The History then
    records `criterion`, `reached`, `final_loss`, `train_acc` (classification: integer labels, or float
    targets read by argmax, or by sign for one output) and `epochs_run`; with `eval_data=(x_test, y_test)`
    also `test_acc`, measured once at the end. Accuracies are measured in eval mode (the model is put back
    in train mode). For an ensemble the criterion is checked per member, training stops when every member
    meets it, and `member_reached` / `member_train_acc` / `member_test_acc` hold each member's record
    (`History.member(m)` gives them as member m's own). Without criterion and eval_data nothing extra is
    computed (`final_loss` is filled in): the training is exactly what it was.
    """
    _check_fit_args(loss, optimizer, schedule, epochs, lr, batch_size)
    rule = Criterion.parse(criterion) if criterion is not None else None
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
    hist = History(criterion=str(rule) if rule else None)
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
        if rule is not None:
            met = _criterion_met(rule, hist, model, x, y, target, loss, members)
            if all(met):
                hist.stopped_early = True
                break
    bar.close()
    _finish_record(hist, rule, model, x, y, target, loss, members, eval_data, device)
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise DivergenceError(f"training diverged: non-finite weights after epoch {hist.epochs_run}, step {hist.steps} "
                              f"(the last loss was finite) with lr = {rate:g}; lower lr or init_scale")
    return hist


def accuracy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return the accuracy of outputs `out` (n, K) or (M, n, K) against `y`: integer labels (argmax), float
    targets (n, K) with K > 1 (argmax against argmax), or one output against float targets (n,) / (n, 1)
    (the sign of out against the sign of y for targets in {-1, 1}; out > 0.5 against y > 0.5 for {0, 1}).
    Returns a scalar, or (M,) for an ensemble's outputs."""
    y = y.to(out.device)
    k = out.shape[-1]
    if y.dtype.is_floating_point:
        if k > 1 and y.dim() >= 2 and y.shape[-1] == k:
            y = y.argmax(-1)
        else:
            y = y.reshape(-1)
            cut = 0.5 if float(y.min()) >= 0 else 0.0
            pred = out.reshape(*out.shape[:-1]) if k == 1 else out.argmax(-1)
            return ((pred > cut) == (y > cut)).double().mean(-1)
    return (out.argmax(-1) == y.long()).double().mean(-1)


def _outputs(model: nn.Module, x: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            parts = [model(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)]
    finally:
        model.train(was_training)
    members = parts[0].dim() == 3 and hasattr(model, "members")
    return torch.cat(parts, dim=1 if members else 0)


def _member_values(value: Any, members: int) -> list[float]:
    if isinstance(value, torch.Tensor):
        return [float(v) for v in value.reshape(-1)]
    return [float(value)] * max(members, 1)


def _criterion_met(rule: Criterion, hist: History, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                   target: torch.Tensor, loss: str, members: int) -> list[bool]:
    """Return, per member (one entry for a single model), whether `rule` holds after this epoch."""
    if rule.metric == "loss":
        values = hist.member_loss[-1] if members else [hist.loss[-1]]
    else:
        values = _member_values(accuracy(_outputs(model, x), _labels(y, target)), members)
        hist.member_train_acc = values if members else []
        hist.train_acc = sum(values) / len(values)
    met = [rule.met(v) for v in values]
    hist.reached = all(met)
    hist.member_reached = met if members else []
    return met


def _labels(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return y if not y.dtype.is_floating_point else target


def _finish_record(hist: History, rule: Criterion | None, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                   target: torch.Tensor, loss: str, members: int, eval_data: Any, device: torch.device) -> None:
    hist.final_loss = hist.loss[-1] if hist.loss else None
    if rule is not None:
        _criterion_met(rule, hist, model, x, y, target, loss, members)  # the state training ended in
    if eval_data is not None:
        if rule is None or rule.metric != "train_acc":
            train = _member_values(accuracy(_outputs(model, x), _labels(y, target)), members)
            hist.train_acc = sum(train) / len(train)
            hist.member_train_acc = train if members else []
        x_test, y_test = eval_data
        test = _member_values(accuracy(_outputs(model, x_test.to(device)), y_test), members)
        hist.test_acc = sum(test) / len(test)
        hist.member_test_acc = test if members else []


_METRIC_WORDS = {"train_acc": "train accuracy", "loss": "training loss"}


def summary_line(histories: Sequence[History] | Mapping[Any, History], what: str | None = None) -> str:
    """Return one line on how a recipe's nets trained, e.g.

        "25 nets, all reached train accuracy >= 0.99 in 40-180 epochs; test 0.55-0.68"
        "23 of 25 nets reached train accuracy >= 0.99 in 40-180 epochs; 2 did not (seeds 3, 7: 0.93, 0.95
         after 600 epochs); test 0.51-0.68"

    histories: Histories from `fit(..., criterion=...)` sharing one criterion (a mapping {seed: History}
    names the seeds that did not reach it; a list names their positions). what: the words for the metric
    (default "train accuracy" / "training loss").
    """
    items = list(histories.items()) if isinstance(histories, Mapping) else list(enumerate(histories))
    if not items:
        raise ValueError("summary_line needs at least one History")
    criteria = {h.criterion for _, h in items}
    if len(criteria) != 1 or None in criteria:
        raise ValueError(f"summary_line needs Histories trained to one criterion, got {sorted(map(str, criteria))}")
    rule = Criterion.parse(criteria.pop())
    words = f"{what or _METRIC_WORDS[rule.metric]} {rule.op} {rule.threshold:g}"
    n = len(items)
    nets = f"{n} net{'s' if n != 1 else ''}"
    reached = [(k, h) for k, h in items if h.reached]
    missed = [(k, h) for k, h in items if not h.reached]

    def span(values: list[float], fmt: str) -> str:
        lo, hi = min(values), max(values)
        return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{format(lo, fmt)}-{format(hi, fmt)}"

    if reached:
        epochs = span([h.epochs_run for _, h in reached], "d")
        head = (f"{nets}, all reached {words}" if not missed else f"{len(reached)} of {nets} reached {words}") +             f" in {epochs} epochs"
    else:
        head = f"{nets}, none reached {words}"
    parts = [head]
    if missed:
        fmt = ".2f" if rule.metric == "train_acc" else ".2g"
        finals = [(h.train_acc if rule.metric == "train_acc" else h.final_loss) for _, h in missed]
        shown = ", ".join("?" if v is None else format(v, fmt) for v in finals)
        label = "seed" if isinstance(histories, Mapping) else "net"
        names = ", ".join(str(k) for k, _ in missed)
        after = span([h.epochs_run for _, h in missed], "d")
        parts.append(f"{len(missed)} did not ({label}{'s' if len(missed) != 1 else ''} {names}: {shown} after "
                     f"{after} epochs)" if reached else f"final {_METRIC_WORDS[rule.metric]} {shown} after {after} epochs")
    tests = [h.test_acc for _, h in items]
    if all(t is not None for t in tests):
        parts.append(f"test {span(tests, '.2f')}")
    return "; ".join(parts)


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
