"""Seed ensembles: M networks of one architecture trained at once by `train.fit`, in one vectorised pass.

Why this is exact. `Ensemble` stacks the members' parameters along a new leading member axis and runs
the members with `torch.func.vmap(functional_call)`. `train.fit` minimises the SUM of the members'
losses, so the gradient with respect to member m's slice is member m's own gradient; SGD (momentum,
weight decay), Adam and AdamW update every scalar independently of the others, so each member follows
the trajectory of a separate `fit` call on it, to float rounding (batched and single matrix products
may round differently). Member m draws its minibatch order from its own seed when `fit` is given one
seed per member (`seed=[s_0, ..., s_{M-1}]`), exactly as `fit(member_m, ..., seed=s_m)` would; one
int seed gives every member the same order.

    nets = [models.MLP(64, 128, 12, 10, seed=s) for s in seeds]
    ens = Ensemble(nets)
    hist = train.fit(ens, x, y, epochs=100, lr=0.01, momentum=0.9, batch_size=128, seed=seeds)
    hist.member(m).loss                       # member m's loss curve, as fit(nets[m], ...) returns it
    feats = ens.layer_features(x)             # feats[m][l]: member m's layer l, (n, d_l)
    net_m = ens.member(m)                     # member m as a normal module (e.g. features.layer_features)

Shapes (M members, n samples, d_l the width of layer l; S a member parameter's shape):
    stacked parameter or buffer:  (M, *S)
    forward(x):   x (n, d) shared by every member, or (M, n, d) one batch per member -> (M, n, K)
    features(x):  [h_0, ..., h_L], each (M, n, d_l) (the member module's `features` under vmap)
    layer_features(x): M lists of L + 1 tensors (n, d_l) on the CPU, eval mode, no gradients
(`sample_dims` = the number of dimensions of one sample, 1 for the book's flat inputs.)

Speed: plain `models.MLP` members (no BatchNorm) run a hand-batched forward (`fast_path`, the same
operations with `baddbmm`); any other module runs through vmap. Both are tested against separate fits.
The gain is in per-operation overhead, not in arithmetic: at the book's sizes (width 128-256, batch 128)
a CPU step is mostly matrix products, which the ensemble does not reduce (benchmarks/bench_ensemble.py).

BatchNorm works: the running statistics are stacked buffers updated per member. With Adam, the biases
in front of a BatchNorm have a zero gradient up to rounding, which Adam turns into full steps, so those
biases and the running means differ from separate fits by O(lr) (as they would between two summation
orders); the losses and everything else agree. Random layers
(dropout) are refused by vmap with an error. The members must have the same class, parameter and
buffer names and shapes, and the same plain settings (e.g. MLP's output_scale): differing settings
are refused, since one template module runs every member.
"""
from __future__ import annotations

import copy
from typing import Any, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap


class EnsembleError(ValueError):
    """Members that cannot be trained as one ensemble, or an ensemble used where it cannot be."""


class _Method(nn.Module):
    """Calls `module.<method>(*args)` as its forward, so functional_call can run any method."""

    def __init__(self, module: nn.Module, method: str):
        super().__init__()
        self.module, self.method = module, method

    def forward(self, *args: Any) -> Any:
        return getattr(self.module, self.method)(*args)


class Ensemble(nn.Module):
    """M networks of one architecture with stacked parameters; see the module docstring for shapes.

    Args:
        members: initialised modules of identical structure (e.g. MLPs differing by their init seed);
            their parameters and buffers are copied, the modules themselves are left untouched.
        sample_dims: dimensions of one input sample (1 for flat vectors (n, d)).
    """

    def __init__(self, members: Sequence[nn.Module], *, sample_dims: int = 1):
        super().__init__()
        members = list(members)
        _check_members(members)
        params, buffers = stack_module_state(members)
        self.param_names, self.buffer_names = list(params), list(buffers)
        self.stacked = nn.ParameterList(nn.Parameter(params[k].detach().clone()) for k in self.param_names)
        for i, name in enumerate(self.buffer_names):
            self.register_buffer(f"buffer_{i}", buffers[name].detach().clone())
        template = copy.deepcopy(members[0])
        object.__setattr__(self, "_template", template)  # not a submodule: its tensors are never used
        self.members, self.sample_dims = len(members), int(sample_dims)
        self.out_dim = getattr(template, "out_dim", None)
        self.depth = getattr(template, "depth", None)
        self.fast_path = _plain_mlp(template) and self.sample_dims == 1
        self.train(members[0].training)

    def train(self, mode: bool = True) -> "Ensemble":
        super().train(mode)
        self._template.train(mode)
        return self

    def _buffers_list(self) -> list[torch.Tensor]:
        return [getattr(self, f"buffer_{i}") for i in range(len(self.buffer_names))]

    def call(self, method: str, x: torch.Tensor) -> Any:
        """Return `member.<method>(x)` for every member at once, outputs stacked on a leading member axis.

        x: (n, *sample) shared by every member, or (M, n, *sample) one batch per member.
        """
        if x.dim() == self.sample_dims + 1:
            x_dim = None
        elif x.dim() == self.sample_dims + 2 and x.shape[0] == self.members:
            x_dim = 0
        else:
            raise EnsembleError(f"an ensemble of {self.members} takes inputs (n, *sample) or ({self.members}, n, "
                                f"*sample) with {self.sample_dims} sample dimension(s); got {tuple(x.shape)}")
        runner = _Method(self._template, method)
        names = ["module." + k for k in self.param_names + self.buffer_names]

        def one(tensors, xi):
            return functional_call(runner, dict(zip(names, tensors)), (xi,))

        return vmap(one, in_dims=(0, x_dim))(tuple(self.stacked) + tuple(self._buffers_list()), x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return every member's output, (M, n, K), for x (n, d) shared or (M, n, d) per member."""
        if self.fast_path:
            return self._mlp_features(x)[-1]
        return self.call("forward", x)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return the members' `features(x)` stacked: [h_0, ..., h_L], each (M, n, d_l), differentiable."""
        if self.fast_path:
            return self._mlp_features(x)
        return list(self.call("features", x))

    def _mlp_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """`models.MLP.features` written with batched products (baddbmm), the fast path of plain MLPs.

        The same operations as MLP.layer_forward, act(m_l W_l h + b_l) (times output_scale at the
        output), on stacked weights; vmap's generic rules add copies and a product by every weight
        multiplier, which this skips when the multiplier is 1 (exact either way).
        """
        net = self._template
        if x.dim() == 2:
            h = x.unsqueeze(0).expand(self.members, *x.shape)
        elif x.dim() == 3 and x.shape[0] == self.members:
            h = x
        else:
            raise EnsembleError(f"an ensemble of {self.members} MLPs takes inputs (n, d) or ({self.members}, n, d); "
                                f"got {tuple(x.shape)}")
        out = [h]
        for i in range(net.depth):
            w = self._params[f"layers.{i}.weight"]
            if net.weight_multipliers[i] != 1.0:
                w = w * net.weight_multipliers[i]
            b = self._params.get(f"layers.{i}.bias")
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2)) if b is not None else torch.bmm(h, w.transpose(1, 2))
            h = net.acts[i](h)
            if i == net.depth - 1 and net.output_scale != 1.0:
                h = h * net.output_scale
            out.append(h)
        return out

    @property
    def _params(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.param_names, self.stacked))

    def layer_features(self, x: torch.Tensor, *, batch_size: int = 4096) -> list[list[torch.Tensor]]:
        """Return, for every member m, [h_0, ..., h_L] on x (n, d): tensors (n, d_l) on the CPU.

        Like `features.layer_features` per member: eval mode, no gradients, batches of `batch_size`;
        the train/eval mode is restored afterwards.
        """
        was_training = self.training
        self.eval()
        device = self.stacked[0].device
        chunks: list[list[torch.Tensor]] = []
        try:
            with torch.no_grad():
                for start in range(0, x.shape[0], batch_size):
                    chunks.append([f.detach().cpu() for f in self.features(x[start:start + batch_size].to(device))])
        finally:
            self.train(was_training)
        per_layer = [torch.cat(parts, dim=1) for parts in zip(*chunks)]  # (M, n, d_l)
        return [[h[m] for h in per_layer] for m in range(self.members)]

    def member(self, m: int) -> nn.Module:
        """Return member m as a normal module (a copy: training it does not change the ensemble)."""
        if not 0 <= m < self.members:
            raise EnsembleError(f"member must be in [0, {self.members - 1}], got {m}")
        net = copy.deepcopy(self._template).to(self.stacked[0].device)
        own = {**dict(net.named_parameters()), **dict(net.named_buffers())}
        with torch.no_grad():
            for name, value in zip(self.param_names + self.buffer_names, list(self.stacked) + self._buffers_list()):
                own[name].copy_(value[m])
        net.train(self.training)
        return net

    def unstack(self) -> list[nn.Module]:
        """Return every member as a normal module: [member(0), ..., member(M - 1)]."""
        return [self.member(m) for m in range(self.members)]


def _plain_mlp(net: nn.Module) -> bool:
    """Whether `net` is a models.MLP without BatchNorm and with elementwise activations (the fast path)."""
    from .models import MLP

    return (type(net) is MLP and all(isinstance(n, nn.Identity) for n in net.norms)
            and all(type(a) in (nn.ReLU, nn.Tanh, nn.GELU, nn.Identity) for a in net.acts))


def _settings(module: nn.Module) -> dict[str, Any]:
    """Return a module's plain attributes (numbers, strings, lists of them): its settings."""
    plain = (int, float, str, bool, type(None), tuple, list)
    return {k: v for k, v in vars(module).items()
            if not k.startswith("_") and k != "training" and isinstance(v, plain)}


def _check_members(members: list[nn.Module]) -> None:
    if len(members) < 1:
        raise EnsembleError("an ensemble needs at least one member")
    first = members[0]
    shapes = {k: (tuple(v.shape), v.dtype) for k, v in [*first.named_parameters(), *first.named_buffers()]}
    if not any(True for _ in first.parameters()):
        raise EnsembleError("the members have no parameters to train")
    for i, other in enumerate(members[1:], start=1):
        if type(other) is not type(first):
            raise EnsembleError(f"member {i} is a {type(other).__name__}, member 0 a {type(first).__name__}")
        theirs = {k: (tuple(v.shape), v.dtype) for k, v in [*other.named_parameters(), *other.named_buffers()]}
        if theirs != shapes:
            diff = sorted(set(theirs.items()) ^ set(shapes.items()))[:3]
            raise EnsembleError(f"member {i} has other parameter shapes than member 0 (e.g. {diff}); "
                                "an ensemble needs one shape: group the networks by shape")
        for (name, a), (_, b) in zip(first.named_modules(), other.named_modules()):
            sa, sb = _settings(a), _settings(b)
            if sa != sb:
                keys = sorted(k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k))
                raise EnsembleError(f"member {i} differs from member 0 in the setting(s) {keys} of module "
                                    f"{name or 'the network'}; one template runs every member, so settings must match")
        if other.training != first.training:
            raise EnsembleError(f"member {i} is in {'train' if other.training else 'eval'} mode, member 0 is not")
