import pytest
import torch

from layerwise.metrics.rank import effective_rank, numerical_rank, stable_rank


def diag_features(values, n=50):
    """(n, len(values)) features whose singular values are exactly `values` (orthonormal columns)."""
    q, _ = torch.linalg.qr(torch.randn(n, len(values), generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    return q * torch.tensor(values, dtype=torch.float64)


def test_effective_rank_of_k_equal_singular_values_is_k():
    assert effective_rank(diag_features([3.0] * 7)) == pytest.approx(7.0, rel=1e-12)


def test_effective_rank_lies_between_one_and_rank():
    z = diag_features([10.0, 1.0, 0.1, 0.01])
    assert 1.0 <= effective_rank(z) <= 4.0


def test_energy_rank_counts_singular_values_up_to_95_percent_of_their_sum():
    # sum = 10; cumulative 5, 8, 9.5, 10 -> 95% is reached at r = 3
    assert numerical_rank(diag_features([5.0, 3.0, 1.5, 0.5])) == 3
    assert numerical_rank(diag_features([5.0, 3.0, 1.5, 0.5]), energy=0.5) == 1


def test_tunnel_rank_thresholds_covariance_eigenvalues_at_1e_3_of_the_largest():
    z = diag_features([1.0, 0.1, 0.04, 0.01])  # eigenvalue ratios 1, 1e-2, 1.6e-3, 1e-4
    z = z - z.mean(0)  # already nearly centred; make it exact so the singular values are unchanged
    s = torch.linalg.svdvals(z) ** 2
    expected = int((s > 1e-3 * s[0]).sum())
    assert numerical_rank(z, convention="tunnel") == expected == 3


def test_stable_rank_closed_form():
    assert stable_rank(diag_features([2.0, 1.0, 1.0])) == pytest.approx((4 + 1 + 1) / 4, rel=1e-12)


def test_unknown_rank_convention_is_rejected():
    with pytest.raises(ValueError, match="convention"):
        numerical_rank(torch.ones(3, 3), convention="bogus")
