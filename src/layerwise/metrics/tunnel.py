"""Extractor/tunnel measures (Masarczyk et al. 2023; note 05): per-layer profiles and where the tunnel starts.

The tunnel start and peak layers live in `metrics.landmarks` (one home). Layer indices follow `model.features(x)`: a list of per-layer values is indexed l = 0..len-1 as
given (the chapter passes hidden layers l = 1..L-1 and says so). Every function is a pure function
of tensors or lists of numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .probes import linear_probe_accuracy
from .rank import effective_rank, numerical_rank


@dataclass(frozen=True)
class LayerProfile:
    """Per-layer measures of one network, each a list over the layers passed in (same order).

    rank: numerical rank, tunnel convention (centred covariance eigenvalues > 1e-3 of the largest);
    erank: effective rank of the centred features (singular values normalised by their sum);
    probe: test accuracy of a linear least-squares probe fitted on the training features;
    width: d_l; n: the number of samples the ranks were measured on.
    """

    rank: list[int]
    erank: list[float]
    probe: list[float]
    width: list[int]
    n: int


def layer_profile(train_features: Sequence[torch.Tensor], train_labels: torch.Tensor,
                  test_features: Sequence[torch.Tensor], test_labels: torch.Tensor, *,
                  threshold: float = 1e-3) -> LayerProfile:
    """Return the LayerProfile of per-layer features: ranks on `train_features` (list of (n, d_l)),
    probes fitted on (train_features, train_labels) and scored on (test_features, test_labels)."""
    if len(train_features) != len(test_features):
        raise ValueError(f"train_features and test_features must list the same layers, got "
                         f"{len(train_features)} and {len(test_features)}")
    rank = [numerical_rank(h, convention="tunnel", threshold=threshold) for h in train_features]
    erank = [effective_rank(h, center=True) for h in train_features]
    probe = [linear_probe_accuracy(a, train_labels, b, test_labels) for a, b in zip(train_features, test_features)]
    width = [int(h.reshape(h.shape[0], -1).shape[1]) for h in train_features]
    return LayerProfile(rank, erank, probe, width, int(train_features[0].shape[0]))


def saturation_gap(probe: Sequence[float], start: int) -> float:
    """Return max over layers l >= start of (max probe - probe_l), in accuracy units (claim 2 asks
    for <= 0.02 after l*). Rounded to 12 decimals: accuracies are ratios of counts, so a gap of
    exactly 9/450 must read 0.02, not 0.020000000000000018."""
    top = max(probe)
    return round(max(top - a for a in probe[start:]), 12)


def largest_late_rise(ranks: Sequence[float]) -> tuple[float, int]:
    """Return (largest relative rise r_{l+1} / r_l - 1, number of rises) over the last half of
    `ranks` (layers l >= len // 2), the test of claim 1 ("does not increase over the last half of
    the layers; one rise of <= 10% allowed"). (0.0, 0) when the ranks never rise there."""
    half = list(ranks[len(ranks) // 2:])
    rises = [b / a - 1 for a, b in zip(half, half[1:]) if b > a]
    return (max(rises) if rises else 0.0), len(rises)


def within_fraction(values: Sequence[float], reference: Sequence[float]) -> list[float]:
    """Return |v_l / ref_l - 1| per layer: the relative distance of e.g. early ranks from final ones."""
    return [abs(v / r - 1) for v, r in zip(values, reference)]


def top_eigvec_label_energy(k: torch.Tensor, labels: torch.Tensor, top: int) -> float:
    """Return the fraction of the centred one-hot labels' energy in the span of the `top`
    eigenvectors of the (n, n) kernel k (centred with H K H first): ||V_top^T Y_c||_F^2 / ||Y_c||_F^2.

    1 means the leading kernel directions carry all of the label information; a random top-k
    subspace of R^n carries about k / n of it.
    """
    k = k.double()
    n = k.shape[0]
    if k.shape != (n, n) or labels.shape[0] != n:
        raise ValueError(f"k must be (n, n) with n = len(labels) = {labels.shape[0]}, got {tuple(k.shape)}")
    kc = k - k.mean(0, keepdim=True)
    kc = kc - kc.mean(1, keepdim=True)
    _, vecs = torch.linalg.eigh((kc + kc.T) / 2)
    v = vecs[:, -top:]
    y = torch.nn.functional.one_hot(labels.long()).double()
    y = y - y.mean(0)
    return float((v.T @ y).pow(2).sum() / y.pow(2).sum())
