"""Distances from points to the decision boundary of a 2-D classifier, traced on a grid."""
from __future__ import annotations

from typing import Callable

import torch


def boundary_segments(score: Callable[[torch.Tensor], torch.Tensor], *, lo: float = -2.0, hi: float = 2.0,
                      resolution: int = 401) -> torch.Tensor:
    """Return segments (m, 2, 2) (end points a, b in R^2) tracing the zero level set of `score` on
    the square [lo, hi]^2.

    `score` maps (n, 2) float64 inputs to (n,) real scores (class 1 where > 0). It is evaluated on a
    resolution x resolution grid; on each cell edge whose end values change sign the zero is placed
    by linear interpolation, and in each cell with exactly two such edges the two zeros are joined
    (marching squares; the rare saddle cells with four are joined in edge order). A boundary that is
    a straight line is traced exactly; a curved one to O(cell^2).
    """
    t = torch.linspace(lo, hi, resolution, dtype=torch.float64)
    gx, gy = torch.meshgrid(t, t, indexing="ij")
    grid = torch.stack([gx, gy], -1)  # (r, r, 2)
    with torch.no_grad():
        f = score(grid.reshape(-1, 2)).reshape(resolution, resolution).double()
    corners = [(slice(None, -1), slice(None, -1)), (slice(1, None), slice(None, -1)),
               (slice(1, None), slice(1, None)), (slice(None, -1), slice(1, None))]
    zeros, hits = [], []
    for k in range(4):  # the 4 edges of every cell, corner k to corner k+1
        (ia, ja), (ib, jb) = corners[k], corners[(k + 1) % 4]
        fa, fb, pa, pb = f[ia, ja], f[ib, jb], grid[ia, ja], grid[ib, jb]
        hit = (fa > 0) != (fb > 0)
        w = torch.where(hit, fa / torch.where(hit, fa - fb, torch.ones_like(fa)), torch.zeros_like(fa))
        zeros.append(pa + w.unsqueeze(-1) * (pb - pa))
        hits.append(hit)
    zeros, hits = torch.stack(zeros, 2).reshape(-1, 4, 2), torch.stack(hits, 2).reshape(-1, 4)
    segments = []
    for first, second in ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)):
        two = hits.sum(1) == 2
        sel = two & hits[:, first] & hits[:, second]
        segments.append(torch.stack([zeros[sel, first], zeros[sel, second]], 1))
    four = hits.sum(1) == 4
    segments += [torch.stack([zeros[four, 0], zeros[four, 1]], 1), torch.stack([zeros[four, 2], zeros[four, 3]], 1)]
    return torch.cat(segments)


def point_segment_distance(x: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """Return the distance (n,) from each point of x (n, 2) to the nearest of `segments` (m, 2, 2)."""
    a, b = segments[:, 0].double(), segments[:, 1].double()
    ab = b - a
    ap = x.double()[:, None, :] - a[None]
    t = ((ap * ab[None]).sum(-1) / ab.pow(2).sum(-1).clamp_min(1e-300)[None]).clamp(0, 1)
    return (ap - t.unsqueeze(-1) * ab[None]).norm(dim=-1).min(1).values


def boundary_distance(score: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, lo: float = -2.0,
                      hi: float = 2.0, resolution: int = 401) -> torch.Tensor:
    """Return the Euclidean distance (n,) from each point of x (n, 2) to the decision boundary of
    `score` inside [lo, hi]^2 (inf for every point where no boundary crosses the square)."""
    seg = boundary_segments(score, lo=lo, hi=hi, resolution=resolution)
    if seg.shape[0] == 0:
        return torch.full((x.shape[0],), float("inf"), dtype=torch.float64)
    return point_segment_distance(x, seg)
