"""Benchmark: every layerwise tangent kernel of a ReLU MLP, Hadamard fast path vs torch.func reference.

Setting of issue 6: depth 10, width 256, n = 100 inputs, o = 10 outputs, float32 on the CPU.
Prints the reference time, the fast time, their ratio and the largest relative difference over
layers, then the fast path's time per layer against the floor (one forward pass plus o backward
passes of the same network, the least any method that needs every delta_l^k can spend).

    PYTHONPATH=src python benchmarks/bench_ntk.py [--in-dim 64] [--repeats 5] [--threads 1]

One thread by default: on a shared, oversubscribed machine torch's multi-threaded kernels spin and
slow down erratically (a 2 ms forward pass measured 400 ms), so single-thread numbers are the
reproducible ones; pass --threads 0 for torch's default.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from layerwise.metrics.ntk import _forward_and_deltas, layerwise_ntk, layerwise_ntk_reference
from layerwise.models import MLP


def timed(fn, repeats: int) -> tuple[float, object]:
    """Return (median seconds over `repeats` calls, the last result)."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def floor_pass(model: MLP, x: torch.Tensor) -> None:
    """One forward pass and o backward passes (parameter gradients), as plain autograd does them."""
    params = list(model.parameters())
    out = model(x)
    for k in range(out.shape[1]):
        torch.autograd.grad(out[:, k].sum(), params, retain_graph=k < out.shape[1] - 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--outputs", type=int, default=10)
    ap.add_argument("--in-dim", type=int, default=64, help="64 = digits (the book); 784 = MNIST")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0 = torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = MLP(args.in_dim, args.width, args.depth, args.outputs, activation="relu", init="he", seed=0)
    x = torch.randn(args.n, args.in_dim, generator=torch.Generator().manual_seed(0))

    layerwise_ntk(model, x), floor_pass(model, x)  # warm-up
    t_ref, ref = timed(lambda: layerwise_ntk_reference(model, x), max(1, args.repeats // 2))
    t_fast, fast = timed(lambda: layerwise_ntk(model, x), args.repeats)
    t_floor, _ = timed(lambda: floor_pass(model, x), args.repeats)
    t_deltas, _ = timed(lambda: _forward_and_deltas(model, x), args.repeats)
    rel = max(float((fast[l] - ref[l]).norm() / ref[l].norm()) for l in range(args.depth))

    print(f"layerwise NTK, ReLU MLP depth {args.depth} width {args.width} in_dim {args.in_dim}, n = {args.n}, "
          f"o = {args.outputs}, float32, {torch.get_num_threads()} threads; kernels {tuple(fast.shape)}")
    print(f"{'method':<34}{'seconds':>10}{'ratio':>10}")
    print(f"{'reference (vmap(jacrev) + einsum)':<34}{t_ref:>10.3f}{1.0:>10.1f}")
    print(f"{'fast (forward o backward)':<34}{t_fast:>10.3f}{t_ref / t_fast:>10.1f}")
    print(f"max relative difference over layers: {rel:.2e} (target <= 1e-5); speed-up target >= 50x")
    print(f"fast time per layer {t_fast / args.depth * 1e3:.1f} ms; floor (1 forward + {args.outputs} "
          f"backward passes) {t_floor * 1e3:.1f} ms = {t_floor / args.depth * 1e3:.1f} ms per layer; "
          f"fast / floor = {t_fast / t_floor:.2f}")
    print(f"  of which the forward pass and o backward passes to every delta_l: {t_deltas * 1e3:.1f} ms "
          f"(no weight gradients formed); the rest is the (n o)^2 d_l Gram products and Hadamard products")


if __name__ == "__main__":
    main()
