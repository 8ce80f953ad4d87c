"""Benchmark: Fig. 6 training at full width, one run at a time, vs the exact reduced-width ensemble.

Baseline: each (width, seed) deep linear net trained by `train.fit` at its full width (what the
authors' train.py does). Fast: all of them reduced to width d + K and trained at once as a
`deep_linear.DeepLinearEnsemble` through the same `train.fit`. Same data, same GD steps (a fixed
number, so that both do identical work), one CPU thread. Also reports the largest difference of the
trained weights (lifted back to full width) and of the three assumption measures.

    PYTHONPATH=src python benchmarks/bench_deep_linear_reduction.py [--epochs 300] [--depth 5]
"""
from __future__ import annotations

import argparse
import time

import torch

from layerwise import data, deep_linear, models, train
from layerwise.metrics.weights import weight_assumptions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--widths", default="200,400,700")
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)  # orthogonal init exact to 1e-16, so the two paths agree closely
    widths = [int(w) for w in args.widths.split(",")]
    members = [(w, s) for w in widths for s in range(args.seeds)]
    sets = {s: data.nearly_orthonormal(10, 3, 50, seed=s) for s in range(args.seeds)}
    nets = {(w, s): models.MLP(50, w, args.depth, 3, activation="linear", bias=False, init="orthogonal",
                               init_scale=0.1, seed=s) for w, s in members}
    inits = {key: [p.detach().clone() for p in net.weights()] for key, net in nets.items()}
    opts = dict(epochs=args.epochs, lr=0.1, lr_min=1e-4, schedule="cosine", loss="mse", progress=False)

    start = time.perf_counter()
    for (w, s), net in nets.items():
        train.fit(net, sets[s].x, sets[s].labels, **opts)
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    reds = [deep_linear.reduce_orthogonal_init(inits[key], 0.1) for key in members]
    ens = deep_linear.DeepLinearEnsemble.from_reductions(reds)
    x = deep_linear.side_by_side([sets[s].x for _, s in members])
    y = data.one_hot(sets[0].labels, 3, torch.float64).repeat(1, len(members))
    train.fit(ens, x, y, **opts)
    fast = time.perf_counter() - start

    weight_gap, measure_gap, variance_gap = 0.0, 0.0, 0.0
    for i, key in enumerate(members):
        full = [p.detach() for p in nets[key].weights()]
        lifted = deep_linear.lift(ens.member_weights(i), reds[i], inits[key])
        weight_gap = max(weight_gap, max(float((a - b).abs().max()) for a, b in zip(full, lifted)))
        ds = sets[key[1]]
        a = weight_assumptions(full, ds.x, ds.labels, k=3, dim=50)
        b = deep_linear.reduced_weight_assumptions(ens.member_weights(i), reds[i].complement, 0.1, ds.x, ds.labels,
                                                   k=3, dim=50)
        measure_gap = max(measure_gap, *(abs(a[k] - b[k]) / abs(a[k]) for k in ("residual", "balance")))
        variance_gap = max(variance_gap, abs(a["bulk_variance"] - b["bulk_variance"]))  # both ~0: absolute
    print(f"depth {args.depth}, widths {widths}, {args.seeds} seeds, {args.epochs} GD steps each, 1 thread")
    print(f"{'path':<34}{'seconds':>10}")
    print(f"{'baseline: full width, one by one':<34}{baseline:>10.2f}")
    print(f"{'fast: reduced ensemble':<34}{fast:>10.2f}")
    print(f"{'ratio baseline / fast':<34}{baseline / fast:>10.1f}")
    print(f"max |W_full - W_lifted| = {weight_gap:.1e}; residual and balance agree to {measure_gap:.1e} "
          f"(relative), bulk variance to {variance_gap:.1e} (absolute)")


if __name__ == "__main__":
    main()
