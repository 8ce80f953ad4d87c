"""Special layers of a trained network, read off per-layer profiles (chapter 7).

Each landmark is a pure function of a per-layer profile (a sequence of numbers, one per layer) or
of per-layer features, and returns a layer index in the numbering of the `layers` argument
(default 0, 1, ..., M-1 for a profile of length M). The chapter passes hidden layers 1..L-1 of an
MLP with L weight matrices (`models.MLP` convention: layer 0 is the input, layer L the output).

- compression onset: the last layer whose within-class compression C_l is still within `tol` of
  its maximum; past it C_l falls and never comes back to that level.
- saturation (e.g. of target linearity): the first layer within `rel` of the reference (last) value.
- peak (alignment peak l*, rank peak): the first layer at which the profile is largest.
- middle layer: the null landmark (first + last) / 2 of the layers passed; interior-peak margin (how
  far the best interior layer rises above both ends, signed) and neighbour margin (a layer against its
  two neighbours).
- tunnel start, one function with the rule as a parameter (`TUNNEL_RULES`): probe saturation
  (Masarczyk et al.'s l*), CKA with the last layer, a mutually similar CKA block, or the rank
  profile that stops rising. Chapters name the rule they use and show the others as sensitivity.
- half-gain epoch: when a training curve has covered half of its net gain (None if it never gains).
- map linearity: R^2 of the least-squares affine fit from layer l to layer l+1.
- stability band: a landmark over a declared grid of an analysis choice (thresholds, tolerances,
  kernel-example resamples, seeds): the layers it picks and whether they stay within `max_width`.

This module is the one home of these landmarks; no chapter or other module redefines them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

TUNNEL_RULES = ("probe", "cka", "cka-block", "rank")


class LandmarkError(ValueError):
    """A landmark was asked of a profile or matrix it cannot be read from; the message says why."""


def _profile(values: Sequence[float], layers: Sequence[int] | None, name: str) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=float).reshape(-1)
    if v.size == 0:
        raise LandmarkError(f"{name}: the profile is empty")
    if not np.all(np.isfinite(v)):
        raise LandmarkError(f"{name}: the profile holds NaN/inf values: {v.tolist()}")
    idx = np.arange(v.size) if layers is None else np.asarray(layers, dtype=int).reshape(-1)
    if idx.shape != v.shape:
        raise LandmarkError(f"{name}: {v.size} values but {idx.size} layer indices")
    return v, idx


def peak_layer(values: Sequence[float], layers: Sequence[int] | None = None) -> int:
    """Return the layer at which `values` (M,) is largest (the first such layer on ties).

    Used for the alignment peak l* (profile: kernel-target alignment of each weight layer's tangent
    kernel) and the rank peak (profile: numerical rank of each hidden layer).
    """
    v, idx = _profile(values, layers, "peak_layer")
    return int(idx[int(np.argmax(v))])


def middle_layer(layers: Sequence[int], *, integer: bool = False) -> float | int:
    """Return the middle of the layers `layers` (increasing indices): (first + last) / 2.

    The trivial landmark a layer-finding rule must beat. Pass the layers in the caller's numbering:
    weight layers 1..L+1 of an MLP with L hidden layers give 1 + L/2 (fractional when L is odd);
    hidden layers 1..depth-1 of an MLP with `depth` weight matrices give depth / 2. With
    `integer=True` the result is rounded down to a layer index (the lower of the two middle layers
    when there is an even number of them): hidden layers 1..depth-1 then give depth // 2.
    """
    idx = np.asarray(layers, dtype=int).reshape(-1)
    if idx.size == 0:
        raise LandmarkError("middle_layer: no layers")
    if np.any(np.diff(idx) <= 0):
        raise LandmarkError(f"middle_layer: layers must be increasing, got {idx.tolist()}")
    mid = (int(idx[0]) + int(idx[-1])) / 2
    return int(np.floor(mid)) if integer else float(mid)


def interior_peak_margin(values: Sequence[float], layers: Sequence[int] | None = None) -> float:
    """Return max over the interior layers of `values` minus the larger of its two end values.

    values (M,), M >= 3: a per-layer profile whose first and last entries are the end layers (for the
    alignment hierarchy: the input layer and the readout). Positive when some interior layer rises
    above both ends (by that much), negative when an end layer is the highest (by how much the best
    interior layer falls short of it), 0 on a tie. Unlike "max minus the larger end", which is 0
    whenever the peak sits at an end, this is a signed, continuous score, so an untrained or shuffled
    control can score on either side. Not to be confused with `neighbour_margin` (a peak against its
    two neighbours).
    """
    v, _ = _profile(values, layers, "interior_peak_margin")
    if v.size < 3:
        raise LandmarkError(f"interior_peak_margin: needs >= 3 layers (two ends and an interior), got {v.size}")
    return float(v[1:-1].max() - max(v[0], v[-1]))


def neighbour_margin(values: Sequence[float], layer: int, layers: Sequence[int] | None = None) -> float:
    """Return values at `layer` minus the larger of its two neighbours (> 0: a strict local peak there).

    `layer` is given in the numbering of `layers` (default 0..M-1) and must be interior (not the
    first or the last). A plateau gives 0; a profile still rising past `layer` gives a negative value.
    """
    v, idx = _profile(values, layers, "neighbour_margin")
    pos = np.nonzero(idx == int(layer))[0]
    if pos.size != 1 or not 0 < int(pos[0]) < v.size - 1:
        raise LandmarkError(f"neighbour_margin: layer {layer} must be an interior layer of {idx.tolist()}")
    i = int(pos[0])
    return float(v[i] - max(v[i - 1], v[i + 1]))


def saturation_layer(values: Sequence[float], layers: Sequence[int] | None = None, *, rel: float = 0.05) -> int:
    """Return the first layer whose value is within `rel` (relative) of the last layer's value.

    values (M,): e.g. target linearity TL_l of the hidden layers; the reference is values[-1], and
    layer l qualifies when |v_l - v_last| <= rel * |v_last|. Always defined (the last layer
    qualifies); a later layer may leave the band again, which this rule ignores by design.
    """
    if not rel >= 0:
        raise LandmarkError(f"rel must be >= 0, got {rel!r}")
    v, idx = _profile(values, layers, "saturation_layer")
    close = np.abs(v - v[-1]) <= rel * abs(v[-1])
    return int(idx[int(np.argmax(close))])


def compression_onset(c: Sequence[float], layers: Sequence[int] | None = None, *, tol: float = 0.1) -> int:
    """Return the last layer whose within-class compression C_l is >= (1 - tol) max_l C_l.

    c (M,): C_l > 0 per layer (`metrics.collapse.within_class_compression`). Every later layer has
    C below (1 - tol) of the peak: compression has set in after the returned layer. With tol = 0
    this is the last maximum; a profile that only falls returns its first layer.
    """
    if not 0 <= tol < 1:
        raise LandmarkError(f"tol must be in [0, 1), got {tol!r}")
    v, idx = _profile(c, layers, "compression_onset")
    high = np.nonzero(v >= (1 - tol) * v.max())[0]
    return int(idx[int(high[-1])])


def tunnel_start(layers: Sequence[int] | None = None, *, rule: str, probe: Sequence[float] | None = None,
                 cka: torch.Tensor | np.ndarray | None = None, rank: Sequence[float] | None = None,
                 fraction: float = 0.98, threshold: float = 0.9) -> int:
    """Return the first layer of the tunnel under `rule`, in the numbering of `layers` (default 0..M-1).

    rule="probe" (needs probe (M,), linear-probe test accuracy per layer): the first layer whose
      accuracy reaches `fraction` of the best layer's (Masarczyk et al.'s l*: the extractor ends there).
    rule="cka" (needs cka (M, M), inter-layer linear CKA; the last row/column is the reference, e.g.
      the last hidden layer): the smallest i such that cka[m, M-1] >= threshold for every m >= i.
    rule="cka-block": the smallest i such that every pair in i..M-1 has cka >= threshold (a mutually
      similar trailing block; never earlier than rule="cka").
    rule="rank" (needs rank (M,), numerical rank per layer): the first layer from which the rank never
      rises again (non-increasing to the last layer).
    The last layer alone always qualifies under the CKA and rank rules, so a network without a tunnel
    returns its last layer.
    """
    if rule not in TUNNEL_RULES:
        raise LandmarkError(f"rule must be one of {', '.join(TUNNEL_RULES)}, got {rule!r}")
    needed = {"probe": probe, "cka": cka, "cka-block": cka, "rank": rank}[rule]
    if needed is None:
        raise LandmarkError(f"tunnel_start(rule={rule!r}) needs the {'cka matrix' if 'cka' in rule else rule} profile")
    if rule == "probe":
        if not 0 < fraction <= 1:
            raise LandmarkError(f"fraction must be in (0, 1], got {fraction!r}")
        v, idx = _profile(probe, layers, "tunnel_start")
        return int(idx[int(np.argmax(v >= fraction * v.max()))])
    if rule == "rank":
        v, idx = _profile(rank, layers, "tunnel_start")
        start = v.size - 1
        while start > 0 and v[start - 1] >= v[start]:
            start -= 1
        return int(idx[start])
    m = np.asarray(cka.detach().cpu() if isinstance(cka, torch.Tensor) else cka, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise LandmarkError(f"cka must be a square (M, M) matrix, got shape {m.shape}")
    _, idx = _profile(np.zeros(m.shape[0]), layers, "tunnel_start")
    size = m.shape[0]
    start = size - 1
    for i in range(size - 2, -1, -1):
        ok = m[i, size - 1] >= threshold if rule == "cka" else bool(np.all(m[i, i:] >= threshold))
        if not ok:
            break
        start = i
    return int(idx[start])


def half_gain_epoch(epochs: Sequence[int], values: Sequence[float]) -> int | None:
    """Return the first epoch at which a curve has covered half of its net gain values[-1] - values[0].

    epochs (T,) and values (T,) are aligned, values[0] measured at the start. Returns None when the
    curve never gains (net gain <= 0): such a layer has no half-gain epoch, and an ordering test must
    treat it as missing, not as "late".
    """
    v, _ = _profile(values, None, "half_gain_epoch")
    if len(epochs) != v.size:
        raise LandmarkError(f"half_gain_epoch: {len(epochs)} epochs but {v.size} values")
    gain = v[-1] - v[0]
    if gain <= 0:
        return None
    return int(epochs[int(np.argmax(v - v[0] >= 0.5 * gain))])


def map_linearity(h_in: torch.Tensor, h_out: torch.Tensor, h_in_test: torch.Tensor | None = None,
                  h_out_test: torch.Tensor | None = None, *, ridge: float = 1e-6) -> float:
    """Return the R^2 of the least-squares affine map from layer l's features to layer l+1's.

    h_in (n, d_in), h_out (n, d_out) on the same n samples; fits h_out ~ h_in B + 1 b^T (both
    centred with the fitting set's means) and returns 1 - ||E||_F^2 / ||h_out - mean||_F^2, pooled
    over outputs (variance-weighted R^2). With (h_in_test, h_out_test) the map fitted on the first
    pair is scored on the second, centred with the fitting set's means (out-of-sample R^2; use it
    when d_in is not small against n, since an in-sample fit then also explains noise).
    Solved in float64 in the cheaper space: the (d_in, d_in) system when d_in <= n, else the
    (n, n) one, with ridge lam = ridge * ||H_in||_F^2 / d_in (scale-free; only for stability) and
    directions of the Gram below m * eps64 of its largest eigenvalue dropped (dead ReLU units make
    it singular), i.e. a truncated, ridged pseudo-inverse.
    A constant h_out gives R^2 = 1 when it is also constant on the scored set.
    """
    if ridge < 0:
        raise LandmarkError(f"ridge must be >= 0, got {ridge!r}")
    x, y = _matrix(h_in), _matrix(h_out)
    if x.shape[0] != y.shape[0]:
        raise LandmarkError(f"h_in has {x.shape[0]} rows but h_out has {y.shape[0]}")
    if (h_in_test is None) != (h_out_test is None):
        raise LandmarkError("pass both h_in_test and h_out_test, or neither")
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    n, d = xc.shape
    lam = ridge * float(xc.pow(2).sum()) / max(d, 1)
    if d <= n:
        b = _pinv_solve(xc.T @ xc, xc.T @ yc, lam)
    else:
        b = xc.T @ _pinv_solve(xc @ xc.T, yc, lam)
    if h_in_test is not None:
        xt, yt = _matrix(h_in_test), _matrix(h_out_test)
        if xt.shape[0] != yt.shape[0] or xt.shape[1] != d or yt.shape[1] != y.shape[1]:
            raise LandmarkError(f"test features {tuple(xt.shape)}, {tuple(yt.shape)} do not match the "
                                f"fitting features {tuple(x.shape)}, {tuple(y.shape)}")
        xc, yc = xt - mx, yt - my
    total = float(yc.pow(2).sum())
    resid = float((yc - xc @ b).pow(2).sum())
    if total == 0:
        return 1.0 if resid == 0 else float("-inf")
    return 1.0 - resid / total


def layerwise_map_linearity(features: Sequence[torch.Tensor], test_features: Sequence[torch.Tensor] | None = None,
                            **kwargs) -> list[float]:
    """Return [R^2 of the affine map features[l] -> features[l+1] for l = 0..M-2] (M-1 values).

    features: M tensors (n, d_l) of consecutive layers; test_features (optional): the same layers
    on held-out samples, on which each fitted map is scored (see `map_linearity`).
    """
    if test_features is not None and len(test_features) != len(features):
        raise LandmarkError(f"{len(features)} train layers but {len(test_features)} test layers")
    out = []
    for l in range(len(features) - 1):
        test = (None, None) if test_features is None else (test_features[l], test_features[l + 1])
        out.append(map_linearity(features[l], features[l + 1], *test, **kwargs))
    return out


def class_centred(h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Return h (n, d) minus each sample's class mean (float64): the within-class part of h.

    A map between collapsed layers (features near K class means) is affine on the means whenever
    K <= d + 1, so `map_linearity` of class-centred features is the stricter test of linearity.
    """
    from .collapse import class_means

    z = _matrix(h)
    return z - class_means(z, labels)[labels.long()]


def log_linear_r2(c: Sequence[float], layers: Sequence[int] | None = None) -> tuple[float, float]:
    """Return (R^2, ratio) of the least-squares line of log C_l on l: how geometric C_l is.

    c (M,) > 0; ratio = exp(slope), the fitted C_{l+1} / C_l. Needs M >= 3 points for a
    meaningful R^2 (with 2 points it is 1 by construction); returns (nan, nan) for M < 3.
    """
    from ..stats import linear_fit

    v, idx = _profile(c, layers, "log_linear_r2")
    if np.any(v <= 0):
        raise LandmarkError(f"log_linear_r2: C_l must be > 0, got {v.tolist()}")
    if v.size < 3:
        return float("nan"), float("nan")
    fit = linear_fit(idx, np.log(v))
    return fit.r2, float(np.exp(fit.slope))


def _pinv_solve(gram: torch.Tensor, rhs: torch.Tensor, lam: float) -> torch.Tensor:
    """Return (G + lam I)^+ rhs for a PSD Gram G (m, m), dropping eigenvalues <= m * eps64 * max."""
    ev, vec = torch.linalg.eigh(gram)
    ev = ev.clamp_min(0.0)
    keep = ev > gram.shape[0] * torch.finfo(torch.float64).eps * ev.max()
    inv = torch.where(keep, 1.0 / (ev + lam).clamp_min(torch.finfo(torch.float64).tiny), torch.zeros_like(ev))
    return vec @ (inv.unsqueeze(1) * (vec.T @ rhs))


def _matrix(h: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(h).reshape(h.shape[0], -1).double()


# --- stability of a landmark under an analysis choice --------------------------------------------

@dataclass(frozen=True)
class Band:
    """A landmark evaluated over a declared grid of one analysis choice, and whether it is stable.

    layers: {choice: layer} (a threshold, a tolerance, a resample index or a seed -> the layer the
    landmark picks there); the landmark is stable when its band max - min is <= `max_width` layers.
    """

    layers: dict
    max_width: int = 1

    @property
    def lo(self) -> int:
        """Return the shallowest layer picked over the grid."""
        return int(min(self.layers.values()))

    @property
    def hi(self) -> int:
        """Return the deepest layer picked over the grid."""
        return int(max(self.layers.values()))

    @property
    def width(self) -> int:
        """Return hi - lo, in layers (0 when every choice picks the same layer)."""
        return self.hi - self.lo

    @property
    def stable(self) -> bool:
        """Return whether the band is at most `max_width` layers wide."""
        return self.width <= self.max_width

    @property
    def picked(self) -> list[int]:
        """Return the set of layers picked over the grid, sorted."""
        return sorted({int(v) for v in self.layers.values()})

    def __str__(self) -> str:
        return f"{self.lo}" if self.width == 0 else f"{self.lo}-{self.hi}"


def stability_band(layers: Mapping[Any, int] | Sequence[int], *, max_width: int = 1) -> Band:
    """Return the Band of a landmark given the layer it picks at each choice of a grid.

    layers: {choice: layer} or a sequence (choices 0..n-1). max_width: the widest band (in layers)
    still called stable; 1 means the landmark may move by one layer over the grid.
    """
    if not isinstance(max_width, (int, np.integer)) or max_width < 0:
        raise LandmarkError(f"max_width must be an integer >= 0 (layers), got {max_width!r}")
    table = dict(layers) if isinstance(layers, Mapping) else dict(enumerate(layers))
    if not table:
        raise LandmarkError("stability_band: the grid is empty")
    for choice, layer in table.items():
        if layer is None or isinstance(layer, bool) or not float(layer).is_integer():
            raise LandmarkError(f"stability_band: choice {choice!r} gave {layer!r}, not a layer index")
    return Band({c: int(v) for c, v in table.items()}, int(max_width))


def landmark_band(landmark: Callable[[Any], int], grid: Sequence[Any], *, max_width: int = 1) -> Band:
    """Return the Band of `landmark(choice)` over `grid` (e.g. a CKA-threshold or tolerance grid).

    landmark: a function of one analysis choice returning a layer, e.g.
    `lambda t: tunnel_start(h, rule="cka", cka=m, threshold=t)`; grid: the declared choices.
    """
    grid = list(grid)
    if not grid:
        raise LandmarkError("landmark_band: the grid is empty")
    return stability_band({c: landmark(c) for c in grid}, max_width=max_width)
