"""Distances to a decision boundary located on a grid, against closed forms."""
import torch

from layerwise.metrics.boundary import boundary_distance


def test_distance_to_a_line_matches_the_point_line_formula():
    w, b = torch.tensor([0.6, -0.8], dtype=torch.float64), 0.3
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(50, 2, generator=gen, dtype=torch.float64) * 2 - 1
    d = boundary_distance(lambda z: z @ w + b, x, resolution=201)
    assert torch.allclose(d, (x @ w + b).abs() / w.norm(), atol=1e-9)


def test_distance_to_a_circle_is_within_grid_resolution():
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(50, 2, generator=gen, dtype=torch.float64) * 2 - 1
    d = boundary_distance(lambda z: 0.7 - z.norm(dim=1), x, resolution=401)
    assert torch.allclose(d, (0.7 - x.norm(dim=1)).abs(), atol=1e-4)


def test_no_boundary_in_the_square_gives_infinity():
    d = boundary_distance(lambda z: z[:, 0] + 10, torch.zeros(3, 2))
    assert torch.isinf(d).all()
