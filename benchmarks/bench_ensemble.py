"""Seed ensembles: 5 seeds of the book's MLPs trained as one `Ensemble` against a loop of 5 `fit` calls.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ensemble.py [--epochs 3] [--repeats 3]

Digits (the book preset's data set), minibatch SGD with momentum as chapters 05 and 07 train, at the
shapes the book uses (width 128-256, depth 8-12). Each member m has init seed s_m and minibatch order
seed s_m, in both runs. Baseline and ensemble alternate in one process (the machine may be loaded),
`repeats` times; the table gives the median CPU and wall seconds of each and their ratios, and the largest
difference between the two runs' per-epoch losses and final outputs (float32). Goal (issue section 3):
>= 2.5x on 1 thread.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402

from layerwise import data, models, train  # noqa: E402
from layerwise.ensemble import Ensemble  # noqa: E402

SHAPES = [(128, 12), (256, 8), (256, 12)]  # (width, depth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    split = data.load("digits")
    x, y = split.train.x.float(), split.train.labels
    seeds = list(range(args.seeds))
    kw = dict(loss="ce", lr=0.01, momentum=0.9, weight_decay=5e-4, batch_size=128, epochs=args.epochs,
              progress=False)
    print(f"digits: {x.shape[0]} samples, {x.shape[1]} inputs; {args.seeds} seeds, {args.epochs} epochs, "
          f"batch 128, SGD momentum 0.9; {torch.get_num_threads()} thread(s)")
    print("seconds: CPU time of this process (the fair measure on a loaded machine) and wall time")
    print(f"{'':>11} {'loop of fit':>16} {'ensemble':>16} {'ratio':>13} {'max |diff|':>20}")
    print(f"{'width':>5} {'depth':>5} {'cpu':>8} {'wall':>7} {'cpu':>8} {'wall':>7} {'cpu':>6} {'wall':>6} "
          f"{'loss':>10} {'output':>9}")
    warm = [models.MLP(x.shape[1], 128, 4, 10, seed=s) for s in seeds]  # first-call costs out of the timings
    train.fit(Ensemble(warm), x, y, seed=seeds, **{**kw, "epochs": 1})
    train.fit(warm[0], x, y, **{**kw, "epochs": 1})
    for width, depth in SHAPES:
        loop_t, ens_t = [], []
        for _ in range(args.repeats):
            nets = [models.MLP(x.shape[1], width, depth, 10, seed=s) for s in seeds]
            ens = Ensemble(copy.deepcopy(nets))
            start, cpu = time.perf_counter(), time.process_time()
            hists = [train.fit(net, x, y, seed=s, **kw) for net, s in zip(nets, seeds)]
            loop_t.append((time.process_time() - cpu, time.perf_counter() - start))
            start, cpu = time.perf_counter(), time.process_time()
            hist = train.fit(ens, x, y, seed=seeds, **kw)
            ens_t.append((time.process_time() - cpu, time.perf_counter() - start))
        loss_diff = max(abs(a - b) for m, h in enumerate(hists) for a, b in zip(h.loss, hist.member(m).loss))
        with torch.no_grad():
            outs = ens.eval()(x)
            out_diff = max(float((net.eval()(x) - outs[m]).abs().max()) for m, net in enumerate(nets))
        (a, aw), (b, bw) = [[statistics.median(t[i] for t in ts) for i in (0, 1)] for ts in (loop_t, ens_t)]
        print(f"{width:>5} {depth:>5} {a:8.2f} {aw:7.2f} {b:8.2f} {bw:7.2f} {a / b:6.2f} {aw / bw:6.2f} "
              f"{loss_diff:10.1e} {out_diff:9.1e}", flush=True)


if __name__ == "__main__":
    main()
