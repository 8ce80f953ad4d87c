"""Rank conventions of chapter 05 (note 05, sec. 3 and claim 8)."""
import torch

from layerwise.metrics.rank import effective_rank, numerical_rank


def _low_rank(n=200, d=50, r=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, r, generator=gen, dtype=torch.float64) @ torch.randn(r, d, generator=gen, dtype=torch.float64)


def test_effective_rank_lies_between_one_and_the_exact_rank_below_min_n_d():
    for r in (1, 3, 8, 50):
        z = _low_rank(r=r)
        exact = int(torch.linalg.matrix_rank(z - z.mean(0)))
        erank = effective_rank(z, center=True)
        assert 1.0 - 1e-12 <= erank <= exact + 1e-9  # round-off singular values add ~1e-14
        assert exact <= min(z.shape)


def test_tunnel_rank_counts_covariance_eigenvalues_above_1e_3_of_the_largest():
    gen = torch.Generator().manual_seed(1)
    q, _ = torch.linalg.qr(torch.randn(300, 6, generator=gen, dtype=torch.float64))
    q = q - q.mean(0)
    q, _ = torch.linalg.qr(q)
    # singular values 1, sqrt(2e-3), sqrt(0.5e-3): covariance ratios 1, 2e-3, 0.5e-3
    z = q[:, :3] * torch.tensor([1.0, 2e-3 ** 0.5, 0.5e-3 ** 0.5], dtype=torch.float64)
    assert numerical_rank(z, convention="tunnel") == 2


def test_effective_rank_can_exceed_the_tunnel_rank_so_claim_8_needs_the_exact_rank():
    # one large singular value and 100 at 0.03 of it (covariance ratio 9e-4 < 1e-3): tunnel rank 1,
    # yet erank (singular values normalised by their sum) is about 55
    gen = torch.Generator().manual_seed(2)
    q, _ = torch.linalg.qr(torch.randn(400, 101, generator=gen, dtype=torch.float64))
    z = q * torch.cat([torch.ones(1), torch.full((100,), 0.03)]).double()
    assert numerical_rank(z, convention="tunnel") == 1
    assert effective_rank(z) > 50
