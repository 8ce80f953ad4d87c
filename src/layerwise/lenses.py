"""Every layerwise measure of the book on one trained MLP, and the special layers they single out.

`all_lenses(model, train, test)` computes, on one checkpoint, the per-layer profiles of
- C_l, D_l (within-class compression, between-class discrimination; `metrics.collapse`),
- TL_l (target linearity; `metrics.gram.target_linearity`),
- the numerical rank (tunnel convention) and effective rank of the centred features (`metrics.rank`),
- linear-probe test accuracy (`metrics.probes`),
- linear CKA between every pair of layers (`metrics.cka.cka_matrix`),
- R^2 of the affine map from layer l-1 to layer l, on the features and on their within-class
  parts (`metrics.landmarks.map_linearity`, `class_centred`),
- the kernel-target alignment of each weight layer's tangent kernel (`metrics.ntk`,
  `metrics.alignment`),
and returns them with the special layers (`Lenses.landmarks`). Layer numbering follows
`models.MLP`: l = 0 is the input, 1..L-1 the hidden layers, L the output; weight layer l maps
layer l-1 to layer l, so its alignment and its map R^2 sit in row l of the table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from . import data as data_mod
from .features import layer_features
from .metrics import alignment, cka, collapse, gram, landmarks, ntk, probes, rank

LANDMARKS = ("compression onset", "TL saturation", "alignment peak", "rank peak", "tunnel start")


@dataclass(frozen=True)
class LensSettings:
    """How the lenses are read: the kernel sample, the CKA sample and each landmark's threshold."""

    n_kernel: int = 100  # examples (stratified) for the tangent kernels
    n_cka: int = 512  # training examples for the CKA matrix and the ranks
    tl_rel: float = 0.05  # TL saturation: first layer within 5% of the last hidden layer's TL
    onset_tol: float = 0.1  # compression onset: last layer with C_l >= 0.9 max C_l
    cka_threshold: float = 0.9  # tunnel: CKA with the last hidden layer >= 0.9 from the start on
    tunnel_rule: str = "cka"
    seed: int = 0


@dataclass
class Lenses:
    """The per-layer measures of one network (rows l = 0..L) and its CKA matrix (L+1, L+1)."""

    depth: int
    profile: dict[str, np.ndarray]  # name -> (L+1,) array, NaN where a measure has no value
    cka: np.ndarray
    test_accuracy: float
    train_accuracy: float
    settings: LensSettings = field(default_factory=LensSettings)

    @property
    def hidden(self) -> np.ndarray:
        """Return the hidden layer indices 1..L-1."""
        return np.arange(1, self.depth)

    def table(self):
        """Return the per-layer profiles as a pandas DataFrame, one row per layer l = 0..L."""
        import pandas as pd

        return pd.DataFrame({"layer": np.arange(self.depth + 1), **self.profile})

    def landmarks(self) -> dict[str, int]:
        """Return the special layers {name: layer}, all read on the hidden layers 1..L-1 except the
        alignment peak, which is the weight layer l = 1..L whose tangent kernel aligns best."""
        s, h, p = self.settings, self.hidden, self.profile
        last = self.depth - 1
        return {
            "compression onset": landmarks.compression_onset(p["C"][h], h, tol=s.onset_tol),
            "TL saturation": landmarks.saturation_layer(p["TL"][h], h, rel=s.tl_rel),
            "alignment peak": landmarks.peak_layer(p["alignment"][1:], np.arange(1, self.depth + 1)),
            "rank peak": landmarks.peak_layer(p["rank"][h], h),
            "tunnel start": landmarks.tunnel_start(h, cka=self.cka[1:last + 1, 1:last + 1],
                                                   threshold=s.cka_threshold, rule=s.tunnel_rule),
        }

    def tunnel_summary(self) -> dict[str, float]:
        """Return the tunnel's length and how linear and how geometric it is.

        tunnel = hidden layers start..L-1. map_r2_tunnel: mean R^2 of the maps between tunnel layers
        (into layers start+1..L-1); map_r2_extractor: mean R^2 of the maps into layers 2..start
        (between hidden layers before the tunnel); the same for map_r2_within (class-centred features,
        `landmarks.class_centred`); log_c_r2 / c_ratio: `landmarks.log_linear_r2` of
        C_l over the tunnel (NaN when it holds fewer than 3 layers).
        """
        start, last = self.landmarks()["tunnel start"], self.depth - 1
        out = {"tunnel length": float(last - start + 1)}
        for key in ("map_r2", "map_r2_within"):
            r2 = self.profile[key]
            out[f"{key}_tunnel"] = _mean(r2[start + 1:last + 1])
            out[f"{key}_extractor"] = _mean(r2[2:start + 1])
        layers = np.arange(start, last + 1)
        out["log_c_r2"], out["c_ratio"] = landmarks.log_linear_r2(self.profile["C"][layers], layers)
        return out


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if values.size else float("nan")


def all_lenses(model: nn.Module, train: data_mod.Dataset, test: data_mod.Dataset,
               settings: LensSettings | None = None) -> Lenses:
    """Return the Lenses of a trained `models.MLP` (no batchnorm) on its training and test sets.

    Features come from `features.layer_features` (eval mode, CPU). C, D, TL and the probe's fit use
    every training sample; the probe and the layer-to-layer maps are scored on the test set (the maps
    are fitted on the training set: out-of-sample R^2); the CKA matrix and the ranks use `n_cka`
    training samples; the tangent kernels `n_kernel` stratified training samples, "full" (n o, n o)
    kernels against centred one-hot labels (`alignment.kernel_target_alignment`, convention "full").
    """
    s = settings or LensSettings()
    f_tr, f_te = layer_features(model, train.x), layer_features(model, test.x)
    y_tr, y_te = train.labels.cpu(), test.labels.cpu()
    depth = len(f_tr) - 1
    gen = torch.Generator().manual_seed(s.seed)
    sub = torch.randperm(len(train), generator=gen)[:s.n_cka]
    c, d = collapse.layerwise_collapse(f_tr, y_tr)
    prof: dict[str, Any] = {
        "C": np.array(c), "D": np.array(d),
        "TL": np.array(gram.layerwise_target_linearity(f_tr, y_tr, n_classes=train.n_classes)),
        "rank": np.array([float(rank.numerical_rank(f[sub], convention="tunnel")) for f in f_tr]),
        "effective rank": np.array([rank.effective_rank(f[sub], center=True) for f in f_tr]),
        "probe": np.array([probes.linear_probe_accuracy(a, y_tr, b, y_te) for a, b in zip(f_tr, f_te)]),
        "map_r2": np.array([np.nan, *landmarks.layerwise_map_linearity(f_tr, f_te)]),
        "map_r2_within": np.array([np.nan, *landmarks.layerwise_map_linearity(
            [landmarks.class_centred(f, y_tr) for f in f_tr], [landmarks.class_centred(f, y_te) for f in f_te])]),
        "alignment": np.array([np.nan, *layer_alignment(model, train, s.n_kernel, s.seed)]),
    }
    m = cka.cka_matrix([f[sub] for f in f_tr]).cpu().numpy()
    prof["cka_last_hidden"] = m[:, depth - 1]
    acc = [float((out.argmax(1) == y).double().mean()) for out, y in ((f_tr[-1], y_tr), (f_te[-1], y_te))]
    return Lenses(depth, prof, m, acc[1], acc[0], s)


def layer_alignment(model: nn.Module, ds: data_mod.Dataset, n_kernel: int, seed: int = 0) -> list[float]:
    """Return the kernel-target alignment A_l of every weight layer's tangent kernel, l = 1..L.

    On about `n_kernel` training samples chosen by `data.stratified_subset` (class proportions kept):
    "full" (n o, n o) layerwise kernels (`ntk.layerwise_ntk`) against the centred one-hot labels.
    """
    idx = data_mod.stratified_subset(ds.labels.cpu(), n_kernel, seed)
    device = next(model.parameters()).device
    x = ds.x[idx].to(device)
    k = ntk.layerwise_ntk(model, x, outputs="full")
    y = ds.labels[idx].to(device)
    return [float(a) for a in alignment.kernel_target_alignment(k, y, convention="full")]
