"""Extractor/tunnel measures: where the tunnel starts, probe saturation, late rank rises, label energy."""
import pytest
import torch

from layerwise.metrics.tunnel import (largest_late_rise, layer_profile, saturation_gap, top_eigvec_label_energy,
                                      within_fraction)


def test_saturation_gap_after_the_tunnel_start():
    probe = [0.50, 0.80, 0.97, 0.99, 1.00, 0.99]
    assert saturation_gap(probe, 3) == pytest.approx(0.01)
    assert saturation_gap([0.971, 0.951], 0) == 0.02  # 9/450 exactly, without float round-off


def test_largest_late_rise_reads_only_the_last_half_of_the_layers():
    assert largest_late_rise([100, 120, 50, 40, 30, 20]) == (0.0, 0)  # the rise at layer 1 is early
    rise, count = largest_late_rise([100, 90, 80, 40, 44, 30])
    assert rise == pytest.approx(0.1) and count == 1


def test_within_fraction():
    assert within_fraction([75, 125], [100, 100]) == pytest.approx([0.25, 0.25])


def test_layer_profile_measures_every_layer_on_the_training_features():
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat(30)
    means = 5 * torch.eye(4, 6, dtype=torch.float64)
    x = means[labels] + 0.1 * torch.randn(120, 6, generator=gen, dtype=torch.float64)
    prof = layer_profile([x, x[:, :2]], labels, [x, x[:, :2]], labels)
    assert prof.width == [6, 2] and prof.n == 120
    assert prof.probe[0] == 1.0 and prof.probe[1] < 1.0  # two columns cannot separate four classes
    assert prof.rank[0] >= 3 and 1 <= prof.erank[0] <= 6


def test_label_energy_is_one_for_the_label_kernel_and_small_for_a_random_direction():
    labels = torch.arange(3).repeat_interleave(20)
    y = torch.nn.functional.one_hot(labels).double()
    assert top_eigvec_label_energy(y @ y.T, labels, top=2) == pytest.approx(1.0, abs=1e-12)
    v = torch.randn(60, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert top_eigvec_label_energy(v @ v.T, labels, top=1) < 0.2
