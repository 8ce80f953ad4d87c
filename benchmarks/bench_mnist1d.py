"""MNIST-1D accuracy benchmark: the book's training loop against the published figures.

Greydanus ("Scaling down deep learning", 2020) reports test accuracies on MNIST-1D (4000/1000 split,
40 features, 10 classes) of about 32% for logistic regression, 68% for an MLP and 94% for a CNN.
This script trains, with this package's own `train.fit`, the MLP 40-100-100-10 (`models.MLP`,
depth 3, width 100) and the small 1-D CNN (`models.SmallCNN1d`) over 3 seeds, with the published
recipe (Adam, learning rate 1e-2, no weight decay, batches of 100, 8000 steps = 200 epochs,
PyTorch's default initialisation), and fits scikit-learn's logistic regression and the book's
least-squares linear probe on the raw input. It checks the training loop against numbers nobody
here wrote. Plain script, one core: `PYTHONPATH=src python benchmarks/bench_mnist1d.py [--epochs N]`.
"""
import argparse
import resource
import time

import torch

from layerwise import data, models, train
from layerwise.metrics.probes import linear_probe_accuracy

PUBLISHED = {"logistic regression": 0.32, "MLP": 0.68, "CNN": 0.94}


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).double().mean())


def train_one(kind: str, split, seed: int, epochs: int) -> tuple[float, float, float]:
    """Return (train accuracy, test accuracy, CPU seconds) of one network trained from `seed`."""
    tr, te = split.train, split.test
    model = (models.MLP(tr.x.shape[1], 100, 3, 10, init="torch", seed=seed) if kind == "MLP"
             else models.SmallCNN1d(tr.x.shape[1], 10, channels=32, seed=seed))
    t = cpu_seconds()
    train.fit(model, tr.x, tr.labels, loss="ce", optimizer="adam", lr=1e-2, batch_size=100, epochs=epochs,
              seed=seed, progress=False)
    return accuracy(model, tr.x, tr.labels), accuracy(model, te.x, te.labels), cpu_seconds() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200, help="epochs of 40 steps (200 = the published 8000 steps)")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    split = data.load("mnist1d")
    tr, te = split.train, split.test
    print(f"MNIST-1D: {len(tr)} train, {len(te)} test, {tr.x.shape[1]} features; one thread")
    from sklearn.linear_model import LogisticRegression

    t = cpu_seconds()
    logreg = LogisticRegression(max_iter=2000).fit(tr.x.numpy(), tr.labels.numpy())
    lr_acc = float((logreg.predict(te.x.numpy()) == te.labels.numpy()).mean())
    probe = linear_probe_accuracy(tr.x, tr.labels, te.x, te.labels)
    print(f"{'model':<22}{'seeds':>8}{'test accuracy per seed':>30}{'mean':>8}{'published':>11}{'ratio':>7}{'CPU s/run':>11}")
    print(f"{'logistic regression':<22}{'-':>8}{lr_acc:>30.3f}{lr_acc:>8.3f}{PUBLISHED['logistic regression']:>11.2f}"
          f"{lr_acc / PUBLISHED['logistic regression']:>7.2f}{cpu_seconds() - t:>11.1f}")
    print(f"{'linear probe (lstsq)':<22}{'-':>8}{probe:>30.3f}{probe:>8.3f}{'-':>11}{'-':>7}{'-':>11}")
    for kind in ("MLP", "CNN"):
        runs = [train_one(kind, split, s, args.epochs) for s in range(args.seeds)]
        tests = [r[1] for r in runs]
        mean = sum(tests) / len(tests)
        print(f"{kind:<22}{args.seeds:>8}{' / '.join(f'{a:.3f}' for a in tests):>30}{mean:>8.3f}"
              f"{PUBLISHED[kind]:>11.2f}{mean / PUBLISHED[kind]:>7.2f}{sum(r[2] for r in runs) / len(runs):>11.1f}"
              f"   (train accuracy {' / '.join(f'{r[0]:.3f}' for r in runs)})")
    print(f"total CPU time {cpu_seconds():.0f} s ({time.strftime('%H:%M:%S')})")


if __name__ == "__main__":
    main()
