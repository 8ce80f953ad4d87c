"""Models with per-layer features. Deep linear nets are `MLP(activation="linear")`.

Layer convention used everywhere in the book: `depth` = L counts the weight matrices, classifier
included (Wang et al.'s L). `features(x)` returns L + 1 tensors: l = 0 is the input, l = 1..L-1 the
hidden representations (after the nonlinearity), l = L the network output (`model(x)`).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "linear": nn.Identity,
}
INITS = ("torch", "he", "lecun", "orthogonal")
PARAMETRIZATIONS = ("standard", "ntk")


class ModelError(ValueError):
    """A model was asked for with arguments it cannot be built from."""


class MLP(nn.Module):
    """A fully connected network with `depth` weight layers and per-layer features.

    Args:
        in_dim, width, out_dim: input, hidden and output sizes.
        depth: number of weight matrices L (>= 1); depth 1 is a linear model.
        activation: "relu" | "tanh" | "gelu" | "linear" for the nonlinear hidden layers.
        bias: whether every layer has a bias (zero at init except with init="torch").
        init: "torch" (PyTorch's default), "he" (N(0, 2/fan_in)), "lecun" (N(0, 1/fan_in)) or
            "orthogonal" (Wang et al.: Haar semi-orthogonal W_1, orthogonal hidden layers,
            W_L = [Q_K, 0]); every init is multiplied by `init_scale`.
        parametrization: "standard" (z = W h + b) or "ntk" (z = init_scale * sqrt(c/fan_in) W h + b
            with W ~ N(0, 1) and c = 2 for ReLU else 1).
        nonlinear_layers: how many leading hidden layers apply `activation` (None = all); the rest
            are linear (the hybrid net of Wang et al. Figs 1 and 5).
        batchnorm: BatchNorm1d after the linear map of every nonlinear hidden layer.
        output_scale: the output multiplier alpha, `model(x) = alpha * W_L h_{L-1}`.
        seed: seeds the initialisation (a private generator; global RNG untouched).
    """

    def __init__(self, in_dim: int, width: int, depth: int, out_dim: int, *, activation: str = "relu",
                 bias: bool = True, init: str = "he", init_scale: float = 1.0,
                 parametrization: str = "standard", nonlinear_layers: int | None = None,
                 batchnorm: bool = False, output_scale: float = 1.0, seed: int = 0):
        super().__init__()
        _check_args(in_dim, width, depth, out_dim, activation, init, parametrization, nonlinear_layers)
        self.depth, self.activation_name, self.init, self.parametrization = depth, activation, init, parametrization
        self.output_scale = float(output_scale)
        dims = [in_dim] + [width] * (depth - 1) + [out_dim]
        self.dims, self.out_dim = dims, out_dim
        self.layers = nn.ModuleList(nn.Linear(dims[i], dims[i + 1], bias=bias) for i in range(depth))
        n_nonlinear = depth - 1 if nonlinear_layers is None else nonlinear_layers
        self.nonlinear = [i < n_nonlinear for i in range(depth - 1)] + [False]
        act = ACTIVATIONS[activation]
        self.acts = nn.ModuleList(act() if nl else nn.Identity() for nl in self.nonlinear)
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(dims[i + 1]) if (batchnorm and self.nonlinear[i]) else nn.Identity()
            for i in range(depth))
        gain = 2.0 if activation == "relu" else 1.0
        self.weight_multipliers = [
            init_scale * math.sqrt(gain / dims[i]) if parametrization == "ntk" else 1.0 for i in range(depth)]
        self.reset_parameters(init_scale, seed)

    def reset_parameters(self, init_scale: float, seed: int) -> None:
        """Initialise every layer from a private generator seeded with `seed`."""
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                w = _init_weight(self, i, init_scale, gen)
                layer.weight.copy_(w)
                if layer.bias is not None:
                    if self.init == "torch" and self.parametrization == "standard":
                        bound = 1 / math.sqrt(self.dims[i])
                        layer.bias.copy_((torch.rand(layer.bias.shape, generator=gen) * 2 - 1) * bound)
                    else:
                        layer.bias.zero_()

    def layer_forward(self, i: int, h: torch.Tensor) -> torch.Tensor:
        """Return layer i's output (0-based) from its input h: act(norm(m_i W_i h + b_i))."""
        layer = self.layers[i]
        z = nn.functional.linear(h, layer.weight * self.weight_multipliers[i], layer.bias)
        z = self.acts[i](self.norms[i](z))
        return z * self.output_scale if i == self.depth - 1 else z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the output (n, out_dim) for inputs (n, in_dim)."""
        for i in range(self.depth):
            x = self.layer_forward(i, x)
        return x

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return [h_0 = x, h_1, ..., h_L = model(x)]: L + 1 tensors of shape (n, d_l), differentiable."""
        out = [x]
        for i in range(self.depth):
            out.append(self.layer_forward(i, out[-1]))
        return out

    def weights(self) -> list[torch.Tensor]:
        """Return the effective weight matrices [W_1, ..., W_L] (multipliers applied), (d_l, d_{l-1})."""
        return [layer.weight * m for layer, m in zip(self.layers, self.weight_multipliers)]


def _check_args(in_dim: int, width: int, depth: int, out_dim: int, activation: str, init: str,
                parametrization: str, nonlinear_layers: int | None) -> None:
    for name, value in (("in_dim", in_dim), ("width", width), ("depth", depth), ("out_dim", out_dim)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModelError(f"{name} must be an integer >= 1, got {value!r}")
    if activation not in ACTIVATIONS:
        raise ModelError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if init not in INITS:
        raise ModelError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    if parametrization not in PARAMETRIZATIONS:
        raise ModelError(f"parametrization must be one of {', '.join(PARAMETRIZATIONS)}, got {parametrization!r}")
    if nonlinear_layers is not None and not 0 <= nonlinear_layers <= depth - 1:
        raise ModelError(f"nonlinear_layers must be in [0, depth - 1 = {depth - 1}], got {nonlinear_layers}")
    if init == "orthogonal" and depth > 1 and width < out_dim:
        raise ModelError(f"orthogonal init needs width >= out_dim ({out_dim}), got width={width}")


def _init_weight(model: MLP, i: int, scale: float, gen: torch.Generator) -> torch.Tensor:
    """Return the initial weight of layer i (d_out, d_in) for the model's init scheme."""
    d_in, d_out = model.dims[i], model.dims[i + 1]
    if model.parametrization == "ntk":
        return torch.randn(d_out, d_in, generator=gen)
    if model.init == "orthogonal":
        if i == model.depth - 1 and model.depth > 1:  # classifier: [Q_K, 0]
            w = torch.zeros(d_out, d_in)
            w[:, :d_out] = haar_orthogonal(d_out, gen)
            return scale * w
        return scale * semi_orthogonal(d_out, d_in, gen)
    if model.init == "torch":
        bound = 1 / math.sqrt(d_in)  # kaiming_uniform(a=sqrt(5)) reduces to U(-1/sqrt(fan_in), ..)
        return scale * (torch.rand(d_out, d_in, generator=gen) * 2 - 1) * bound
    gain = 2.0 if model.init == "he" else 1.0
    return scale * math.sqrt(gain / d_in) * torch.randn(d_out, d_in, generator=gen)


def haar_orthogonal(n: int, gen: torch.Generator) -> torch.Tensor:
    """Return an (n, n) orthogonal matrix drawn from the Haar measure."""
    return semi_orthogonal(n, n, gen)


def semi_orthogonal(rows: int, cols: int, gen: torch.Generator) -> torch.Tensor:
    """Return a Haar-random (rows, cols) matrix with orthonormal columns (rows >= cols) or rows."""
    tall = rows >= cols
    g = torch.randn((rows, cols) if tall else (cols, rows), generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(g)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # sign fix makes Q Haar-distributed
    return (q if tall else q.T).to(torch.get_default_dtype())


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable scalars in `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def hidden_layers(depth: int) -> Sequence[int]:
    """Return the indices l = 1..L-1 of the hidden representations in `features(x)`."""
    return range(1, depth)
