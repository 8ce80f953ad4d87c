"""AGOP of an MLP w.r.t. a hidden layer's input: per-sample autograd loop vs torch.func (vmap of jacrev).

Plain script, not part of the test suite:
    PYTHONPATH=src python benchmarks/bench_agop.py
"""
import time

import torch

from layerwise.metrics import gram
from layerwise.models import MLP


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    torch.set_num_threads(2)
    print(f"{'n':>6} {'width':>6} {'layer':>5} {'loop s':>9} {'torch.func s':>13} {'ratio':>7} {'max |diff|':>11}")
    for n, width, out in [(500, 120, 2), (1000, 120, 2), (200, 256, 10)]:
        model = MLP(2 if out == 2 else 64, width, 4, out, activation="relu", init="torch", seed=0)
        x = torch.randn(n, model.dims[0], generator=torch.Generator().manual_seed(0))
        for layer in (1,):
            slow = best_of(lambda: gram.agop_reference(model, x, layer), repeats=1)
            fast = best_of(lambda: gram.agop(model, x, layer))
            diff = float((gram.agop(model, x, layer) - gram.agop_reference(model, x, layer)).abs().max())
            print(f"{n:>6} {width:>6} {layer:>5} {slow:>9.3f} {fast:>13.4f} {slow / fast:>7.1f} {diff:>11.2e}")


if __name__ == "__main__":
    main()
