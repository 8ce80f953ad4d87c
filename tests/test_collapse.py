import math

import pytest
import torch

from layerwise.metrics.collapse import (between_class_discrimination, class_means, predicted_compression_rate,
                                        within_class_compression)


def two_class_points():
    # class 0 at (1, 0) +/- (0, 1); class 1 at (0, 2) +/- (1, 0)
    z = torch.tensor([[1.0, 1.0], [1.0, -1.0], [1.0, 0.0], [1.0, 0.0],
                      [1.0, 2.0], [-1.0, 2.0], [0.0, 2.0], [0.0, 2.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    return z, y


def test_class_means_are_per_class_averages():
    z, y = two_class_points()
    assert torch.allclose(class_means(z, y), torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64))


def test_within_class_compression_matches_hand_computation():
    z, y = two_class_points()
    # Tr Sigma_W = (1/8) * (1 + 1 + 0 + 0 + 1 + 1 + 0 + 0) = 0.5
    # global mean (0.5, 1); Tr Sigma_B = (1/2) * (0.25 + 1 + 0.25 + 1) = 1.25
    assert within_class_compression(z, y) == pytest.approx(0.5 / 1.25, rel=1e-12)


def test_discrimination_uses_signed_cosine_of_uncentred_means():
    z, y = two_class_points()
    assert between_class_discrimination(z, y) == pytest.approx(1.0, abs=1e-12)  # orthogonal means
    z2 = torch.tensor([[1.0, 0.0], [1.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    y2 = torch.tensor([0, 1, 2])
    # max cosine among (1,0), (1,1), (-1,0) is cos 45 deg; the anti-parallel pair gives -1, not +1
    assert between_class_discrimination(z2, y2) == pytest.approx(1 - 1 / math.sqrt(2), rel=1e-12)


def test_collapsed_classes_have_zero_compression():
    z = torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3, dtype=torch.float64)
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    assert within_class_compression(z, y) == 0.0


def test_compression_is_scale_invariant():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(30, 5, generator=gen, dtype=torch.float64)
    y = torch.arange(3).repeat_interleave(10)
    assert within_class_compression(7.0 * z, y) == pytest.approx(within_class_compression(z, y), rel=1e-12)


def test_predicted_rate_matches_the_theory_notebook_setting():
    # note 01: xi = 0.3, alpha = 100, n = 10, L = 6 gives 0.285 (0.3^2 * 100^(1/3) / 10^(1/6))
    assert predicted_compression_rate(0.3, 100.0, 10, 6) == pytest.approx(0.2846, abs=1e-4)
    assert predicted_compression_rate(0.3, 1.0, 10, 6) == pytest.approx(0.0613, abs=1e-4)
