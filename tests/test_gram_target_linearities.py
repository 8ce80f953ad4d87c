"""metrics.gram.target_linearities: several label sets from one eigendecomposition equal target_linearity each."""
import pytest
import torch

from layerwise.metrics import gram


@pytest.mark.parametrize("n, d", [(60, 8), (10, 25)])  # feature space and sample space
def test_target_linearities_equal_target_linearity_per_label_set(n, d):
    g = torch.Generator().manual_seed(0)
    h = torch.randn(n, d, generator=g, dtype=torch.float64)
    ys = [torch.randint(0, 3, (n,), generator=g) for _ in range(3)]
    got = gram.target_linearities(h, ys, n_classes=3)
    assert got == pytest.approx([gram.target_linearity(h, y, n_classes=3) for y in ys], abs=1e-12)


def test_target_linearities_of_no_label_set_is_empty():
    assert gram.target_linearities(torch.ones(4, 2), []) == []
