"""Layerwise neural tangent kernels of an MLP: fast (forward x backward Hadamard) and reference.

The tangent kernel of dense layer l (weight W_l, bias b_l) of `model = MLP(...)` is
`K_l[(x, k), (x', k')] = <d f_k(x) / d theta_l, d f_k'(x') / d theta_l>`, theta_l = (W_l, b_l).
With z_l = alpha_l W_l h_{l-1} + b_l (alpha_l = `model.weight_multipliers[l - 1]`, 1 in the
standard parametrisation) and delta_l^k(x) = d f_k(x) / d z_l(x), it factors exactly (note 04, sec. 2):

    K_l = B_l o ((alpha_l^2 F_l + beta_l^2) kron 1_o 1_o^T),
    F_l[x, x'] = <h_{l-1}(x), h_{l-1}(x')>              forward kernel, (n, n)
    B_l[(x, k), (x', k')] = <delta_l^k(x), delta_l^k'(x')>  backward kernel, (n o, n o)

with beta_l = 1 when the layer has a bias and 0 otherwise. `tangent_kernels` builds every F_l and
B_l from ONE forward pass and o backward passes (batched into one vmapped backward call).

Layout conventions used by every function here and by `metrics.alignment`:
- Layer index: entry i of an (L, ...) result belongs to `model.layers[i]`, i.e. weight layer
  l = i + 1 (l = 1 is the first layer, l = L the readout).
- "full" kernels are (n o, n o) in EXAMPLE-MAJOR order: row i * o + k is example i, output k.
  (Baratin et al.'s code is output-major; the two differ by a fixed permutation, which no
  alignment or rank depends on.)
- "trace" kernels are (n, n), summed over outputs: K[x, x'] = sum_k K[(x, k), (x', k)].
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

OUTPUTS = ("full", "trace")
RANK_CONVENTIONS = ("energy", "tunnel")


class NTKError(ValueError):
    """A tangent kernel was asked of a model or with arguments it cannot be computed for."""


@dataclass(frozen=True)
class LayerKernels:
    """The forward, backward and tangent kernels of every dense layer of an MLP on n inputs.

    forward: (L, n, n), F_l = <h_{l-1}(x), h_{l-1}(x')> (raw Gram of layer l's input, no alpha).
    backward: (L, n o, n o) example-major B_l ("full"), or (L, n, n) summed over outputs ("trace").
    kernels: the tangent kernels K_l, same shape as `backward`.
    alpha: (L,) the weight multipliers alpha_l; has_bias: (L,) whether beta_l = 1.
    """

    forward: torch.Tensor
    backward: torch.Tensor
    kernels: torch.Tensor
    alpha: tuple[float, ...]
    has_bias: tuple[bool, ...]
    outputs: str
    n_outputs: int

    @property
    def depth(self) -> int:
        """Return L, the number of dense layers."""
        return self.kernels.shape[0]

    def ntk(self) -> torch.Tensor:
        """Return the full network's tangent kernel sum_l K_l, (n o, n o) or (n, n)."""
        return self.kernels.sum(0)

    def scaled_forward(self) -> torch.Tensor:
        """Return alpha_l^2 F_l + beta_l^2, (L, n, n): the forward factor of the Hadamard product."""
        return _scaled_forward(self.forward, self.alpha, self.has_bias)


def tangent_kernels(model: nn.Module, x: torch.Tensor, *, outputs: str = "full") -> LayerKernels:
    """Return the LayerKernels (forward, backward and tangent kernels of every layer) of `model` on x.

    model: an `layerwise.models.MLP` without batchnorm; x: (n, in_dim) in the model's dtype and
    device. Cost: one forward pass, o backward passes (one vmapped call), then per layer an
    (n o, d) x (d, n o) product for "full" or (n, o d) x (o d, n) for "trace". Exact for any
    width, activation and training time. The model's parameters and mode are left untouched.
    """
    _check_model(model)
    _check_outputs(outputs)
    hs, deltas = _forward_and_deltas(model, x)
    n, o = x.shape[0], deltas[0].shape[0]
    forward = torch.stack([h @ h.T for h in hs])
    m = n * o if outputs == "full" else n
    backward = x.new_empty(len(deltas), m, m)
    for i, d in enumerate(deltas):
        # "full": rows i * o + k (example-major); "trace": the sum over k of <delta^k(x), delta^k(x')>
        # is one product over the stacked (k, unit) axis
        r = d.permute(1, 0, 2).reshape(m, -1)
        torch.mm(r, r.T, out=backward[i])
    alpha = tuple(float(a) for a in model.weight_multipliers)
    has_bias = tuple(layer.bias is not None for layer in model.layers)
    kernels = hadamard(backward, _scaled_forward(forward, alpha, has_bias), outputs, o)
    return LayerKernels(forward, backward, kernels, alpha, has_bias, outputs, o)


def layerwise_ntk(model: nn.Module, x: torch.Tensor, *, outputs: str = "full") -> torch.Tensor:
    """Return every dense layer's tangent kernel K_l: (L, n o, n o) example-major, or (L, n, n).

    outputs="full": K_l[(i, k), (j, k')] at row i * o + k; outputs="trace": sum over k of the
    diagonal output blocks. Computed as B_l o (alpha_l^2 F_l + beta_l^2) (see `tangent_kernels`).
    """
    return tangent_kernels(model, x, outputs=outputs).kernels


def full_ntk(model: nn.Module, x: torch.Tensor, *, outputs: str = "full") -> torch.Tensor:
    """Return the network's tangent kernel K = sum_l K_l, (n o, n o) example-major or (n, n)."""
    return layerwise_ntk(model, x, outputs=outputs).sum(0)


def hadamard(backward: torch.Tensor, scaled_forward: torch.Tensor, outputs: str, n_outputs: int) -> torch.Tensor:
    """Return B o (S kron 1_o 1_o^T) for backward (..., n o, n o) example-major and S (..., n, n);
    for outputs="trace" both are (..., n, n) and this is B o S."""
    _check_outputs(outputs)
    if outputs == "trace":
        return backward * scaled_forward
    n, o = scaled_forward.shape[-1], n_outputs
    lead = backward.shape[:-2]
    b = backward.reshape(*lead, n, o, n, o)
    return (b * scaled_forward.unsqueeze(-1).unsqueeze(-3)).reshape(*lead, n * o, n * o)


def output_trace(k: torch.Tensor, n_outputs: int) -> torch.Tensor:
    """Return sum_k K[(x, k), (x', k)]: (..., n, n) from an example-major (..., n o, n o) kernel."""
    m = k.shape[-1]
    if m % n_outputs:
        raise NTKError(f"kernel size {m} is not a multiple of n_outputs={n_outputs}")
    n = m // n_outputs
    return k.reshape(*k.shape[:-2], n, n_outputs, n, n_outputs).diagonal(dim1=-3, dim2=-1).sum(-1)


def layerwise_ntk_reference(model: nn.Module, x: torch.Tensor, *, outputs: str = "full") -> torch.Tensor:
    """Return the same (L, n o, n o) or (L, n, n) kernels as `layerwise_ntk`, by brute force.

    The straightforward torch.func recipe: per-sample Jacobians of the o outputs with respect to
    every parameter tensor (vmap(jacrev)), then one contraction per parameter tensor, summed over
    the tensors of each layer. Memory O(n o P); kept for tests and benchmarks.
    """
    from torch.func import functional_call, jacrev, vmap

    _check_model(model)
    _check_outputs(outputs)
    params = {name: p.detach() for name, p in model.named_parameters()}
    names = {id(p): name for name, p in model.named_parameters()}

    def f(p: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (xi.unsqueeze(0),)).squeeze(0)

    jac = vmap(jacrev(f), in_dims=(None, 0))(params, x)  # name -> (n, o, *shape)
    n, o = x.shape[0], next(iter(jac.values())).shape[1]
    out = []
    for layer in model.layers:
        k = sum(_contract(jac[names[id(p)]].reshape(n, o, -1), outputs) for p in layer.parameters())
        out.append(k.reshape(n * o, n * o) if outputs == "full" else k)
    return torch.stack(out)


def _contract(j: torch.Tensor, outputs: str) -> torch.Tensor:
    """Return j j^T for per-sample Jacobians j (n, o, p): (n, o, n, o) "full" or (n, n) "trace"."""
    if outputs == "full":
        return torch.einsum("iap,jbp->iajb", j, j)
    return torch.einsum("iap,jap->ij", j, j)


def kernel_spectrum(k: torch.Tensor, *, center: bool = False) -> torch.Tensor:
    """Return the eigenvalues (descending, float64) of a PSD kernel k (m, m), with round-off
    (|lambda| <= m * eps * lambda_max, float64 eps) set to 0; `center` first applies H K H with
    H = I_m - 1 1^T / m. Zeroing matters because ranks use sqrt(lambda), which lifts 1e-16 to 1e-8."""
    k = k.double()
    k = (k + k.T) / 2
    if center:
        k = k - k.mean(0, keepdim=True)
        k = k - k.mean(1, keepdim=True)
    lam = torch.linalg.eigvalsh(k).flip(0)
    floor = k.shape[-1] * torch.finfo(torch.float64).eps * lam[0].clamp_min(0)
    return torch.where(lam > floor, lam, torch.zeros_like(lam))


def ntk_rank(k: torch.Tensor, *, convention: str = "energy", energy: float = 0.95,
             threshold: float = 1e-3) -> int:
    """Return the numerical rank of the tangent features J behind a kernel k = J J^T (m, m).

    Uses `metrics.rank.numerical_rank`'s conventions on the kernel's eigenvalues lambda, so that
    ntk_rank(J @ J.T) == numerical_rank(J) for any J (m, P):
    "energy": the smallest r whose top-r singular values sqrt(lambda) reach `energy` of their sum;
    "tunnel": the number of eigenvalues of the centred kernel H K H above `threshold` times the largest.
    """
    if convention not in RANK_CONVENTIONS:
        raise NTKError(f"convention must be one of {', '.join(RANK_CONVENTIONS)}, got {convention!r}")
    if convention == "tunnel":
        lam = kernel_spectrum(k, center=True)
        return int((lam > threshold * lam[0]).sum())
    s = kernel_spectrum(k).sqrt()
    cum = torch.cumsum(s, 0) / s.sum()
    return int(torch.searchsorted(cum, torch.tensor(energy, dtype=cum.dtype) - 1e-12).item()) + 1


def ntk_effective_rank(k: torch.Tensor) -> float:
    """Return the effective rank (Roy & Vetterli) of the tangent features J behind k = J J^T (m, m):
    exp(H(p)), p_i = s_i / sum_j s_j with s = sqrt(eigenvalues of k); equals
    `metrics.rank.effective_rank(J)`. Lies in [1, rank(k)]."""
    s = kernel_spectrum(k).sqrt()
    p = s[s > 0] / s.sum()
    return float(torch.exp(-(p * p.log()).sum()))


def _scaled_forward(forward: torch.Tensor, alpha: tuple[float, ...], has_bias: tuple[bool, ...]) -> torch.Tensor:
    scale = torch.tensor([a * a for a in alpha], dtype=forward.dtype, device=forward.device)
    shift = torch.tensor([float(b) for b in has_bias], dtype=forward.dtype, device=forward.device)
    return scale[:, None, None] * forward + shift[:, None, None]


def _forward_and_deltas(model: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Return ([h_0, ..., h_{L-1}] each (n, d_{l-1}), [delta_1, ..., delta_L] each (o, n, d_l)).

    Walks the MLP layer by layer exactly as `MLP.layer_forward` does, adding a zero probe to each
    pre-activation z_l so that d out / d probe_l = delta_l without forming weight gradients. The
    o backward passes run as one vmapped call (is_grads_batched).
    """
    with torch.enable_grad():
        hs, probes, h = [], [], x.detach()
        last = len(model.layers) - 1
        for i, layer in enumerate(model.layers):
            hs.append(h.detach())
            w = layer.weight.detach() * model.weight_multipliers[i]
            b = None if layer.bias is None else layer.bias.detach()
            probe = torch.zeros(h.shape[0], w.shape[0], dtype=h.dtype, device=h.device, requires_grad=True)
            z = nn.functional.linear(h, w, b) + probe
            probes.append(probe)
            h = model.acts[i](model.norms[i](z))
            if i == last:
                h = h * model.output_scale
        n, o = h.shape
        seeds = torch.eye(o, dtype=h.dtype, device=h.device).unsqueeze(1).expand(o, n, o)
        deltas = torch.autograd.grad(h, probes, grad_outputs=seeds, is_grads_batched=True)
    return hs, list(deltas)


def _check_model(model: nn.Module) -> None:
    for attr in ("layers", "weight_multipliers", "acts", "norms", "output_scale"):
        if not hasattr(model, attr):
            raise NTKError(f"layerwise tangent kernels need a layerwise.models.MLP; {type(model).__name__} "
                           f"has no attribute {attr!r}")
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise NTKError("layerwise tangent kernels are not defined for models with batchnorm: batch "
                       "statistics couple the examples, so K_l is no longer B_l o F_l (and BatchNorm's own "
                       "parameters are not dense layers); build the MLP with batchnorm=False")


def _check_outputs(outputs: str) -> None:
    if outputs not in OUTPUTS:
        raise NTKError(f"outputs must be one of {', '.join(OUTPUTS)}, got {outputs!r}")
