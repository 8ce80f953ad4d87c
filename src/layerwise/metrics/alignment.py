"""Centred kernel alignment and kernel-target alignment (Cortes et al.; Baratin et al.; note 04).

    A(K, K') = <K_c, K'_c>_F / (||K_c||_F ||K'_c||_F)

Kernels over n examples and o outputs are (n o, n o) in EXAMPLE-MAJOR order (row i * o + k), as
produced by `metrics.ntk`. Every function accepts a stack (..., m, m) and returns one value per
kernel in the stack. Target conventions of `kernel_target_alignment`:

- "full" (the precedent, Baratin et al.'s code, the default): the (n o, n o) kernel centred over
  examples separately for each output, K_c = (H_n kron I_o) K (H_n kron I_o); one-hot targets with
  each class column mean-centred, flattened to y (n o,); A = y^T K_c y / (||K_c||_F ||y||^2).
- "global" (the poster's formula read literally): the same kernel and y, centred with
  C = I_{no} - 1 1^T / (n o) over all n o rows at once.
- "trace" (the ablation): the (n, n) kernel summed over outputs, centred with H_n, against
  Y_c Y_c^T with Y_c the centred one-hot (n, o).

For centred targets the centring of K changes only the normalisation ||K_c||_F, since C y = y.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from . import landmarks
from .ntk import output_trace

CONVENTIONS = ("full", "global", "trace")


class AlignmentError(ValueError):
    """An alignment was asked of kernels or targets with incompatible shapes or an unknown option."""


def center_kernel(k: torch.Tensor, n_outputs: int = 1) -> torch.Tensor:
    """Return (H_n kron I_o) K (H_n kron I_o) for k (..., n o, n o) example-major, o = n_outputs.

    n_outputs=1 is the usual H K H; it is also the global centring of an (n o, n o) kernel.
    Equivalent to centring the tangent features over examples separately for each output.
    """
    m = k.shape[-1]
    if k.shape[-2] != m or m % n_outputs:
        raise AlignmentError(f"kernel must be square with size a multiple of n_outputs={n_outputs}, "
                             f"got shape {tuple(k.shape)}")
    n, o = m // n_outputs, n_outputs
    b = k.reshape(*k.shape[:-2], n, o, n, o)
    b = b - b.mean(-4, keepdim=True)
    b = b - b.mean(-2, keepdim=True)
    return b.reshape(k.shape)


def kernel_alignment(k1: torch.Tensor, k2: torch.Tensor, *, n_outputs: int = 1) -> torch.Tensor:
    """Return the centred alignment A(K1, K2) in [-1, 1]: (...,) for kernels (..., m, m).

    Both kernels are centred with `center_kernel(., n_outputs)` (n_outputs=1: H K H, Cortes et al.);
    they broadcast against each other. A zero centred kernel gives NaN.
    """
    if k1.shape[-2:] != k2.shape[-2:]:
        raise AlignmentError(f"kernels must have the same size, got {tuple(k1.shape)} and {tuple(k2.shape)}")
    c1, c2 = center_kernel(k1, n_outputs), center_kernel(k2, n_outputs)
    inner = (c1 * c2).sum((-2, -1))
    return inner / (c1.pow(2).sum((-2, -1)).sqrt() * c2.pow(2).sum((-2, -1)).sqrt())


def centered_targets(y: torch.Tensor, n_classes: int | None = None, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Return the column-centred target matrix Y_c (n, o) from integer labels (n,) (one-hot with
    `n_classes` columns, default max label + 1) or real targets (n, o)."""
    if y.dim() == 1 and not y.is_floating_point():
        o = int(y.max()) + 1 if n_classes is None else n_classes
        y = torch.nn.functional.one_hot(y.long(), o)
    elif y.dim() == 1:
        y = y.unsqueeze(1)
    y = y.to(dtype or torch.get_default_dtype())
    return y - y.mean(0, keepdim=True)


def kernel_target_alignment(k: torch.Tensor, y: torch.Tensor, *, convention: str = "full") -> torch.Tensor:
    """Return the centred kernel-target alignment of k with targets y: (...,) for k (..., m, m).

    y: integer labels (n,) or real targets (n, o). k: (..., n o, n o) example-major for "full" and
    "global"; for "trace" either (..., n, n) or a full kernel, which is first summed over outputs.
    With labels, o = m / n for a full kernel (labels must lie in 0..o-1); a class absent from y
    gives a zero centred column and does not change the value. Lies in [-1, 1] (in [0, 1] for a
    positive semi-definite k). See the module docstring for the conventions.
    """
    if convention not in CONVENTIONS:
        raise AlignmentError(f"convention must be one of {', '.join(CONVENTIONS)}, got {convention!r}")
    n, m = y.shape[0], k.shape[-1]
    if k.shape[-2] != m or m % n:
        raise AlignmentError(f"kernel must be square with size a multiple of the {n} targets, "
                             f"got shape {tuple(k.shape)}")
    labels = y.dim() == 1 and not y.is_floating_point()
    if labels and int(y.min()) < 0:
        raise AlignmentError(f"labels must be integers >= 0, got minimum {int(y.min())}")
    n_classes = (m // n if m > n else int(y.max()) + 1) if labels else None
    if labels and int(y.max()) >= n_classes:
        raise AlignmentError(f"labels must lie in 0..{n_classes - 1} for a kernel over {m // n} outputs, "
                             f"got label {int(y.max())}")
    yc = centered_targets(y, n_classes, dtype=k.dtype).to(k.device)
    if convention == "trace":
        kc = center_kernel(k if m == n else output_trace(k, m // n), 1)
        t = yc @ yc.T
        return (kc * t).sum((-2, -1)) / (kc.pow(2).sum((-2, -1)).sqrt() * t.norm())
    o = yc.shape[1]
    if m != n * o:
        raise AlignmentError(f"a {convention!r} kernel over {n} examples and {o} outputs must be "
                             f"({n * o}, {n * o}), got size {m}")
    kc = center_kernel(k, o if convention == "full" else 1)
    v = yc.reshape(-1)  # example-major: index i * o + k
    quad = torch.einsum("i,...ij,j->...", v, kc, v)
    return quad / (kc.pow(2).sum((-2, -1)).sqrt() * v.dot(v))


@dataclass(frozen=True)
class LayerAlignment:
    """Per-layer alignments with the labels of one model on n examples; every field is (L,) except
    `network`, and entry i belongs to weight layer l = i + 1.

    tangent: A(K_l) in the "full" convention (the precedent; the default everywhere in the book);
    tangent_global, tangent_trace: the same kernels in the "global" and "trace" conventions;
    forward: A(F_l, Y Y^T) of the forward kernel (n x n; its "full" alignment is identically 0,
    because F_l kron 1 1^T is blind to which output is which); backward: A(B_l) in the "full" convention;
    network: A(sum_l K_l) of the whole network's NTK ("full").
    backward[-1] is NaN by construction: the readout's backward kernel is s^2 1 1^T kron I_o (s the
    output scale) for every model, and per-output centring sends it to 0.
    """

    tangent: torch.Tensor
    tangent_global: torch.Tensor
    tangent_trace: torch.Tensor
    forward: torch.Tensor
    backward: torch.Tensor
    network: float

    def peak(self, convention: str = "full") -> int:
        """Return l_max = argmax_l A_l in weight-layer index 1..L (first maximum on ties)."""
        values = {"full": self.tangent, "global": self.tangent_global, "trace": self.tangent_trace}
        if convention not in values:
            raise AlignmentError(f"convention must be one of {', '.join(CONVENTIONS)}, got {convention!r}")
        return peak_layer(values[convention])


def peak_layer(alignments: torch.Tensor) -> int:
    """Return the 1-based weight-layer index l_max of the largest entry of an (L,) profile (first on ties)."""
    values = torch.as_tensor(alignments, dtype=torch.float64).reshape(-1)
    return landmarks.peak_layer(values.tolist(), range(1, values.numel() + 1))


def layerwise_alignment(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> LayerAlignment:
    """Return the LayerAlignment of `model` (a layerwise MLP) on inputs x (n, in_dim) with integer
    labels (n,) in 0..o-1, o = the number of outputs. One call of `metrics.ntk.tangent_kernels`
    ("full" kernels); memory O(L (n o)^2)."""
    from .ntk import tangent_kernels

    return kernel_alignments(tangent_kernels(model, x, outputs="full"), labels)


def kernel_alignments(lk, labels: torch.Tensor) -> LayerAlignment:
    """Return the LayerAlignment of precomputed "full" `metrics.ntk.LayerKernels` with integer labels
    (n,); the alignments are computed one layer at a time in float64."""
    if lk.outputs != "full":
        raise AlignmentError(f"kernel_alignments needs outputs='full' kernels, got {lk.outputs!r}")
    labels = labels.to(lk.kernels.device)
    rows = []
    for k, b, f in zip(lk.kernels, lk.backward, lk.forward):
        k, b, f = k.double(), b.double(), f.double()
        rows.append([kernel_target_alignment(k, labels), kernel_target_alignment(k, labels, convention="global"),
                     kernel_target_alignment(k, labels, convention="trace"),
                     kernel_target_alignment(f, labels, convention="trace"), kernel_target_alignment(b, labels)])
    cols = torch.tensor([[float(v) for v in r] for r in rows], dtype=torch.float64).T
    network = float(kernel_target_alignment(lk.ntk().double(), labels))
    return LayerAlignment(*cols, network=network)
