"""Chapter 03b's experiments: one runner per training recipe, explicit arguments, behind the network store.

The MLP target-linearity runs (SGD and Adam) reuse chapter 3's runner (`ch03_runs.tl_run`); here are the
small CNN with and without the Gram-preserving update, the VAE, the small transformer, and the
neural-feature-ansatz MLPs. Each returns a picklable dict with a training record (`record`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import data, features, models, optim, train
from ..metrics import gram
from .ch03_runs import accuracy, cached, record


def cnn_run(gram_preserving: bool, seed: int, split: data.Split, shape: tuple[int, int, int], *, channels: int,
            epochs: int, lr: float, momentum: float, batch_size: int, criterion_loss: float,
            recipe: dict[str, Any]) -> dict[str, Any]:
    """Train the authors' small CNN with SGD or the Gram-preserving update until the epoch loss is at most
    criterion_loss or `epochs` pass; return the test accuracy per epoch, the largest Gram error, the record."""
    def fn():
        net = models.SmallCNN(shape, split.train.n_classes, channels=channels, seed=seed)
        box = []

        def make(params):
            box.append(optim.GramPreservingSGD(params, lr=lr, momentum=momentum, track_gram_error=True))
            return box[-1]

        hist = train.fit(net, split.train.x, split.train.labels, loss="ce", lr=lr, momentum=momentum,
                         batch_size=batch_size, epochs=epochs, seed=seed, progress=False, stop_loss=criterion_loss,
                         make_optimizer=make if gram_preserving else None, snapshot_epochs=range(1, epochs + 1),
                         callback=lambda e, m: accuracy(m, split.test.x, split.test.labels))
        return dict(test_acc=[a for _, a in hist.snapshots], gram_error=max(box[0].gram_errors) if box else 0.0,
                    record=record(hist, reached=hist.loss[-1] <= criterion_loss,
                                  train_acc=accuracy(net, split.train.x, split.train.labels),
                                  test_acc=hist.snapshots[-1][1]))
    return cached(dict(recipe, run="cnn", gram_preserving=gram_preserving, seed=seed, channels=channels,
                       epochs=epochs, lr=lr, momentum=momentum, batch_size=batch_size,
                       criterion_loss=criterion_loss), fn)


def vae_run(seed: int, vx: torch.Tensor, *, width: int, depth: int, latent_dim: int, epochs: int, lr: float,
            batch_size: int, snapshot_epochs: list[int], recipe: dict[str, Any]) -> dict[str, Any]:
    """Train the Bernoulli-decoder VAE (Adam, binarised pixels); at each snapshot measure the authors' TL of
    the latent mean mu: the R^2 of the centred input image regressed on mu. Returns the trained state dict."""
    def fn():
        vae = models.VAE(vx.shape[1], width=width, depth=depth, latent_dim=latent_dim, seed=seed,
                         likelihood="bernoulli")

        def latent_tl(epoch, m):
            return gram.target_linearity(features.layer_features(m, vx)[m.latent_index], vx.double())

        hist = train.fit(vae, vx, vx.long(), loss="ce", optimizer="adam", lr=lr, batch_size=batch_size,
                         epochs=epochs, seed=seed, extra_loss=models.VAE.kl_per_output, callback=latent_tl,
                         snapshot_epochs=snapshot_epochs, progress=False)
        return dict(state={k: v.clone() for k, v in vae.state_dict().items()}, epochs=[e for e, _ in hist.snapshots],
                    tl=[v for _, v in hist.snapshots],
                    record=record(hist, reached=hist.loss[-1] < hist.loss[0], loss_start=float(hist.loss[0])))
    return cached(dict(recipe, run="vae", seed=seed, width=width, depth=depth, latent_dim=latent_dim, epochs=epochs,
                       lr=lr, batch_size=batch_size, snapshots=list(snapshot_epochs)), fn)


def attention_run(seed: int, seqs: data.Dataset, seqs_test: data.Dataset, *, kind: str, bert_weights: str,
                  n_classes: int, seq_len: int, d_model: int, n_heads: int, n_blocks: int, epochs: int, lr: float,
                  batch_size: int, snapshot_epochs: list[int], recipe: dict[str, Any]) -> dict[str, Any]:
    """Train the small transformer (or BERT) with Adam; record the [CLS] TL after every block at each snapshot,
    against the labels and against a fixed random relabelling."""
    def fn():
        if kind == "bert":
            net = models.BertCLS(bert_weights, n_classes, seed=seed)
        else:
            net = models.SmallTransformer(n_classes, seq_len, n_classes, d_model=d_model, n_heads=n_heads,
                                          depth=n_blocks, seed=seed)

        y_rand = torch.randint(0, n_classes, (len(seqs.labels),), generator=torch.Generator().manual_seed(seed + 10_000))

        def cls_tl(epoch, m):
            return [gram.target_linearities(h, [seqs.labels, y_rand])
                    for h in features.layer_features(m, seqs.x, batch_size=256)[1:-1]]

        hist = train.fit(net, seqs.x, seqs.labels, loss="ce", optimizer="adam", lr=lr, batch_size=batch_size,
                         epochs=epochs, seed=seed, callback=cls_tl, snapshot_epochs=snapshot_epochs, progress=False)
        tl = np.array([v for _, v in hist.snapshots])  # (snapshots, blocks, [true labels, random labels])
        return dict(epochs=[e for e, _ in hist.snapshots], tl=tl[:, :, 0], tl_random=tl[:, :, 1],
                    record=record(hist, reached=accuracy(net, seqs.x, seqs.labels) >= 0.9,
                                  train_acc=accuracy(net, seqs.x, seqs.labels),
                                  test_acc=accuracy(net, seqs_test.x, seqs_test.labels)))
    return cached(dict(recipe, run="attention", kind=kind, seed=seed, d_model=d_model, n_heads=n_heads,
                       n_blocks=n_blocks, epochs=epochs, lr=lr, batch_size=batch_size,
                       snapshots=list(snapshot_epochs)), fn)


def nfa_run(ds: data.Dataset, seed: int, *, shuffled: bool, width: int, depth: int, epochs: int, lr: float,
            momentum: float, batch_size: int, snapshot_epochs: list[int]) -> list[dict[str, Any]]:
    """Train the ReLU MLP of the NFA runs (SGD, CE; labels shuffled if asked); at each snapshot and for each
    non-readout layer l, the authors' NFA statistic Pearson corr((W - W0)^T (W - W0), AGOP^1/2), the trained Gram's
    corr(W^T W, AGOP^1/2), and the training accuracy."""
    def fn():
        perm = torch.randperm(len(ds.labels), generator=torch.Generator().manual_seed(seed + 31337))
        labels = ds.labels[perm] if shuffled else ds.labels
        net = models.MLP(ds.x.shape[1], width, depth, ds.n_classes, activation="relu", init="torch", seed=seed)
        w0 = [w.detach().double().clone() for w in net.weights()]

        def measure(epoch, m):
            rows = []
            for l, w in enumerate(m.weights()[:-1]):
                w = w.detach().double()
                root = gram.psd_power(gram.agop(m, ds.x, l).double(), 0.5)
                rows.append(dict(layer=l + 1, epoch=epoch, nfa=gram.matrix_pearson((w - w0[l]).T @ (w - w0[l]), root)
                                 if epoch else np.nan, trained_gram=gram.matrix_pearson(w.T @ w, root)))
            return rows

        hist = train.fit(net, ds.x, labels, loss="ce", lr=lr, momentum=momentum, batch_size=batch_size, epochs=epochs,
                         seed=seed, callback=measure, snapshot_epochs=snapshot_epochs, progress=False)
        acc = accuracy(net, ds.x, labels)
        return [dict(r, data=ds.name, seed=seed, labels="shuffled" if shuffled else "true", train_acc=acc)
                for _, rows in hist.snapshots for r in rows]
    return cached(dict(run="nfa", data=ds.name, n=len(ds.labels), seed=seed, shuffled=shuffled, width=width,
                       depth=depth, epochs=epochs, lr=lr, momentum=momentum, batch_size=batch_size,
                       snapshots=list(snapshot_epochs)), fn)
