"""Data sets: generated ones, offline real data (scikit-learn digits), torchvision behind a flag.

Every loader returns float tensors checked for NaN/inf, with integer class labels where there are
classes. Randomness comes from an explicit `seed`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


class DataError(ValueError):
    """A data set is missing, malformed or holds non-finite values; the message says how to fix it."""


@dataclass(frozen=True)
class Dataset:
    """Inputs `x` (n, d) and integer `labels` (n,) in 0..n_classes-1."""

    x: torch.Tensor
    labels: torch.Tensor
    n_classes: int
    name: str = ""

    def __post_init__(self) -> None:
        check_finite(self.x, f"{self.name or 'data'}.x")
        if self.labels.shape[0] != self.x.shape[0]:
            raise DataError(f"{self.name}: {self.x.shape[0]} inputs but {self.labels.shape[0]} labels")

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device: torch.device | str) -> "Dataset":
        """Return the data set on `device`."""
        return Dataset(self.x.to(device), self.labels.to(device), self.n_classes, self.name)

    def subset(self, index: torch.Tensor | np.ndarray) -> "Dataset":
        """Return the samples at `index` (an index or boolean mask)."""
        index = torch.as_tensor(index)
        return Dataset(self.x[index], self.labels[index], self.n_classes, self.name)


@dataclass(frozen=True)
class Split:
    """A train and a test Dataset drawn from the same source."""

    train: Dataset
    test: Dataset


def check_finite(x: torch.Tensor, name: str = "data") -> torch.Tensor:
    """Return `x` after checking it holds no NaN or inf (raises DataError naming `name`)."""
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise DataError(f"{name} holds {bad} NaN/inf value(s); clean the data before training")
    return x


def one_hot(labels: torch.Tensor, n_classes: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Return the (n, n_classes) one-hot matrix of integer `labels` (n,)."""
    return torch.nn.functional.one_hot(labels.long(), n_classes).to(dtype or torch.get_default_dtype())


def nearly_orthonormal(n_per_class: int, n_classes: int, dim: int, *, noise: float = 1.0,
                       seed: int = 0, dtype: torch.dtype = torch.float64) -> Dataset:
    """Return Wang et al.'s nearly orthonormal class data: N = n_per_class * n_classes points in R^dim.

    x_i = q_i + Delta_i with q_1..q_N orthonormal (columns of the QR factor of a Gaussian dim x dim
    matrix) and Gaussian Delta rescaled to ||Delta||_F = `noise` in total. Labels come in class blocks
    (Y = I_K kron 1_n^T). When N > dim no orthonormal set exists: the q_i are then unit-norm Gaussian
    directions, which is how the book probes where the theory stops applying.
    """
    n = n_per_class * n_classes
    gen = torch.Generator().manual_seed(seed)
    if n <= dim:
        q, r = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
        q = (q * torch.sign(torch.diagonal(r)))[:, :n].T
    else:
        q = torch.randn(n, dim, generator=gen, dtype=torch.float64)
        q = q / q.norm(dim=1, keepdim=True)
    delta = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    x = q + noise * delta / delta.norm()
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)
    return Dataset(x.to(dtype), labels, n_classes, "nearly-orthonormal")


def digits(*, seed: int = 0, test_fraction: float = 0.25, standardize: bool = True) -> Split:
    """Return scikit-learn's 8x8 digits (1797 images, 64 features, 10 classes; ships offline) split
    into train/test with a stratified shuffle. Pixels are scaled to [0, 1], then standardised with
    the training mean and std when `standardize`.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = bunch.data.astype(np.float32) / 16.0
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    if standardize:
        mean, std = x_tr.mean(0), x_tr.std(0) + 1e-6
        x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
    return Split(Dataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr), 10, "digits"),
                 Dataset(torch.from_numpy(x_te), torch.from_numpy(y_te), 10, "digits"))


_TORCHVISION = {
    "mnist": ("MNIST", (0.1307,), (0.3081,)),
    "fashionmnist": ("FashionMNIST", (0.2860,), (0.3530,)),
    "cifar10": ("CIFAR10", (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
}


def torchvision_split(name: str, data_root: str | Path = "", *, download: bool = False,
                      n_train: int = 0, n_test: int = 0, seed: int = 0) -> Split:
    """Return MNIST, FashionMNIST or CIFAR-10 flattened to (n, C*H*W), channel-normalised.

    Files are read from `data_root`; nothing is downloaded unless `download=True`. `n_train`/`n_test`
    > 0 take a class-stratified random subset. `name="fake"` gives torchvision's generated FakeData
    (3x32x32, 10 classes) for tests of the paper code path without the real files.
    """
    import torchvision
    from torchvision import transforms

    if name == "fake":
        tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.25,) * 3)])
        size = max(n_train, 64), max(n_test, 32)
        train = torchvision.datasets.FakeData(size[0], (3, 32, 32), 10, transform=tf, random_offset=seed)
        test = torchvision.datasets.FakeData(size[1], (3, 32, 32), 10, transform=tf, random_offset=seed + 10**6)
        return Split(_stack(train, "fake", n_train, seed), _stack(test, "fake", n_test, seed))
    if name not in _TORCHVISION:
        raise DataError(f"dataset must be one of digits, {', '.join(_TORCHVISION)}, fake; got {name!r}")
    if not data_root:
        raise DataError(f"dataset {name!r} needs its files: set data_root to a folder (-p data_root DIR) and "
                        f"either put the torchvision files there or allow the download with -p download true")
    cls_name, mean, std = _TORCHVISION[name]
    cls = getattr(torchvision.datasets, cls_name)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    try:
        train = cls(str(data_root), train=True, download=download, transform=tf)
        test = cls(str(data_root), train=False, download=download, transform=tf)
    except RuntimeError as err:
        raise DataError(f"{cls_name} was not found under data_root={str(data_root)!r} ({err}); point "
                        f"data_root at the folder holding it, or pass download=True (-p download true) "
                        f"to fetch it over the network") from None
    return Split(_stack(train, name, n_train, seed), _stack(test, name, n_test, seed))


def _stack(ds, name: str, n: int, seed: int) -> Dataset:
    """Return a torchvision data set (or a stratified subset of n samples) as a flat Dataset."""
    targets = torch.as_tensor(getattr(ds, "targets", None) if hasattr(ds, "targets")
                              else [ds[i][1] for i in range(len(ds))])
    index = torch.arange(len(ds)) if n <= 0 or n >= len(ds) else stratified_subset(targets, n, seed)
    xs = torch.stack([ds[int(i)][0].reshape(-1) for i in index])
    return Dataset(xs, targets[index].long(), 10, name)


def stratified_subset(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """Return sorted indices of about `n` samples with the classes in their original proportions."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        k = max(1, round(n * len(idx) / len(labels)))
        picks.append(idx[torch.randperm(len(idx), generator=gen)[:k]])
    return torch.sort(torch.cat(picks)).values


def load(name: str, *, data_root: str | Path = "", download: bool = False, n_train: int = 0,
         seed: int = 0) -> Split:
    """Return the train/test Split of a named data set ("digits", "mnist", "fashionmnist",
    "cifar10", "fake"); digits ships with scikit-learn, the others need `data_root` or `download`."""
    if name == "digits":
        split = digits(seed=seed)
        if n_train > 0 and n_train < len(split.train):
            split = Split(split.train.subset(stratified_subset(split.train.labels, n_train, seed)), split.test)
        return split
    return torchvision_split(name, data_root, download=download, n_train=n_train, seed=seed)


# --- chapter 04 data ---
def equicorrelated_inputs(n: int, dim: int, correlation: float, *, seed: int = 0,
                          dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Return n inputs (n, dim) of norm sqrt(dim) whose pairwise cosines all equal `correlation`.

    x_i = sqrt(dim) (sqrt(c) q_0 + sqrt(1 - c) q_i) with q_0..q_n orthonormal (QR of a Gaussian);
    needs dim >= n + 1 and c in [0, 1]. Used to start mean-field recursions from a known c_0.
    """
    import math

    if not 0 <= correlation <= 1:
        raise DataError(f"correlation must be in [0, 1], got {correlation}")
    if dim < n + 1:
        raise DataError(f"dim must be >= n + 1 = {n + 1} for {n} equicorrelated inputs, got {dim}")
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, n + 1, generator=gen, dtype=torch.float64))
    x = math.sqrt(dim) * (math.sqrt(correlation) * q[:, :1] + math.sqrt(1 - correlation) * q[:, 1:]).T
    return x.to(dtype)
