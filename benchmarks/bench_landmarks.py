"""Layer-map linearity: the normal-equations solve of `landmarks.map_linearity` against a direct
least-squares baseline (torch.linalg.lstsq on the (n, d+1) design with an intercept column), over the
consecutive layers of a 24-layer width-256 stack on n = 1347 samples (the digits training set).
Plain script: `PYTHONPATH=src python benchmarks/bench_landmarks.py`."""
import time

import torch

from layerwise.metrics import landmarks


def baseline_r2(x, y):
    x, y = x.double(), y.double()
    design = torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], 1)
    resid = y - design @ torch.linalg.lstsq(design, y, driver="gelsd").solution
    return 1 - float(resid.pow(2).sum() / (y - y.mean(0)).pow(2).sum())


def timed(fn, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    torch.manual_seed(0)
    n, d, depth = 1347, 256, 24
    feats = [torch.randn(n, d)]
    for _ in range(depth - 1):
        feats.append(torch.relu(feats[-1] @ torch.randn(d, d) / d ** 0.5 * 1.4))
    t_base, r_base = timed(lambda: [baseline_r2(feats[l], feats[l + 1]) for l in range(depth - 1)])
    t_fast, r_fast = timed(lambda: landmarks.layerwise_map_linearity(feats, ridge=0.0))
    err = max(abs(a - b) for a, b in zip(r_base, r_fast))
    print(f"{'method':<34}{'time (s)':>10}")
    print(f"{'lstsq (gelsd) on (n, d+1) design':<34}{t_base:>10.3f}")
    print(f"{'map_linearity (d x d solve)':<34}{t_fast:>10.3f}")
    print(f"ratio baseline / fast: {t_base / t_fast:.1f}x; max |R^2 difference| = {err:.2e} ({depth - 1} maps, n={n}, d={d})")


if __name__ == "__main__":
    main()
