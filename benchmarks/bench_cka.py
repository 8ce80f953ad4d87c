"""Benchmark: all-layer CKA in one pass (`cka_matrix`) against a pairwise loop of `linear_cka`.

L = 12 layers of n = 1000 samples at widths p = 128 (feature-space regime, p < n) and p = 1024
(Gram-space regime, p > n), float64, same run. The baseline is what a reader would write first:
`[[linear_cka(f[i], f[j]) for j in range(L)] for i in range(L)]` (all L^2 pairs); a second
baseline loops over the L (L + 1) / 2 pairs of the upper triangle only. Prints a table and checks
that the matrices agree. "ops L^2" is the ratio of multiply-adds of the L^2 loop to those of
`cka_matrix` (the cost models in metrics/cka.py): the speed-up a machine running both at the same
flop rate would show; the measured ratio exceeds it when the baseline's per-call overheads show.
Noisy on a shared machine: run with OMP_NUM_THREADS=1 there (two threads on busy cores make the
baseline's many small operations wait on each other). Plain script, not part of the test suite:

    PYTHONPATH=src python benchmarks/bench_cka.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

import torch

from layerwise.metrics.cka import cka_matrix, linear_cka


def pairwise_full(features: list[torch.Tensor]) -> torch.Tensor:
    """Return the L x L CKA matrix from L^2 calls of linear_cka."""
    n_layers = len(features)
    return torch.tensor([[linear_cka(features[i], features[j]) for j in range(n_layers)]
                         for i in range(n_layers)], dtype=torch.float64)


def pairwise_triangle(features: list[torch.Tensor]) -> torch.Tensor:
    """Return the L x L CKA matrix from the L (L + 1) / 2 calls of the upper triangle."""
    n_layers = len(features)
    out = torch.eye(n_layers, dtype=torch.float64)
    for i in range(n_layers):
        for j in range(i + 1, n_layers):
            out[i, j] = out[j, i] = linear_cka(features[i], features[j])
    return out


def layered_features(n: int, p: int, n_layers: int, seed: int) -> list[torch.Tensor]:
    """Return n_layers correlated (n, p) float64 representations (a random ReLU chain)."""
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(n, p, generator=gen, dtype=torch.float64)
    out = []
    for _ in range(n_layers):
        h = torch.relu(h @ torch.randn(p, p, generator=gen, dtype=torch.float64) * (2 / p) ** 0.5)
        out.append(h)
    return out


def op_ratio(n: int, p: int, n_layers: int) -> float:
    """Return multiply-adds of the L^2 loop of linear_cka over those of cka_matrix (same shapes)."""
    per_call = 3 * n * p * p if 3 * p * p <= n * (2 * p + 1) else n * n * (2 * p + 1)  # linear_cka's "auto"
    fast = min(n * p * p * n_layers * (n_layers + 1) / 2, n * n / 2 * (n_layers * p + n_layers ** 2))
    return n_layers ** 2 * per_call / fast


def best_time(fn, repeats: int) -> tuple[float, torch.Tensor]:
    """Return the best wall time of `repeats` calls (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, L={args.layers}, n={args.n}, float64")
    print(f"{'p':>6} {'pairwise L^2 (s)':>17} {'pairwise tri (s)':>17} {'cka_matrix (s)':>15} "
          f"{'ratio L^2':>10} {'ratio tri':>10} {'ops L^2':>8} {'max |diff|':>11}")
    for p in (128, 1024):
        feats = layered_features(args.n, p, args.layers, seed=p)
        t_full, m_full = best_time(lambda: pairwise_full(feats), max(1, args.repeats - 2))
        t_tri, _ = best_time(lambda: pairwise_triangle(feats), max(1, args.repeats - 2))
        t_fast, m_fast = best_time(lambda: cka_matrix(feats), args.repeats)
        diff = float((m_full - m_fast).abs().max())
        print(f"{p:>6} {t_full:>17.3f} {t_tri:>17.3f} {t_fast:>15.3f} {t_full / t_fast:>10.1f} "
              f"{t_tri / t_fast:>10.1f} {op_ratio(args.n, p, args.layers):>8.1f} {diff:>11.1e}")


if __name__ == "__main__":
    main()
