"""Target linearity of every layer of a width-512, depth-6 MLP on n = 10,000 samples.

Baseline: a naive per-layer torch.linalg.lstsq on the (n, d) system (float64, LAPACK gelsy).
Fast: `metrics.gram.target_linearity`, the eigendecomposition of the cheaper Gram (here the
feature-space d x d Gram, since d = 512 < n). Same run, same features; prints a small table.

    PYTHONPATH=src python benchmarks/bench_target_linearity.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

import torch

from layerwise.features import layer_features
from layerwise.metrics.gram import target_linearity, target_linearity_lstsq
from layerwise.models import MLP


def best_time(fn, repeats: int) -> tuple[float, list[float]]:
    """Return (the fastest wall time of `repeats` calls in seconds, the last result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, 64, generator=gen)
    y = torch.randint(0, 10, (args.n,), generator=gen)
    model = MLP(64, args.width, args.depth, 10, activation="gelu", seed=0)
    feats = layer_features(model, x)[1:-1]  # the hidden layers
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; n={args.n}, "
          f"{len(feats)} hidden layers of width {args.width}")

    t_base, tl_base = best_time(lambda: [target_linearity_lstsq(h, y, n_classes=10) for h in feats], args.repeats)
    t_fast, tl_fast = best_time(lambda: [target_linearity(h, y, n_classes=10) for h in feats], args.repeats)
    gap = max(abs(a - b) for a, b in zip(tl_base, tl_fast))
    print(f"{'method':<42}{'seconds':>10}")
    print(f"{'naive torch.linalg.lstsq per layer (n, d)':<42}{t_base:>10.3f}")
    print(f"{'feature-space Gram eigh (target_linearity)':<42}{t_fast:>10.3f}")
    print(f"ratio (baseline / fast): {t_base / t_fast:.1f}x; max |TL difference| = {gap:.1e}")
    print("TL per hidden layer:", ", ".join(f"{v:.4f}" for v in tl_fast))


if __name__ == "__main__":
    main()
