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
        mean, std = x_tr.mean(0), x_tr.std(0)
        std[std < 1e-6] = 1.0  # pixels constant in the training set (e.g. always 0) stay in pixel units
        x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
    return Split(Dataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr), 10, "digits"),
                 Dataset(torch.from_numpy(x_te), torch.from_numpy(y_te), 10, "digits"))


MNIST1D_PUBLISHED = dict(num_samples=5000, train_split=0.8, template_len=12, padding=[36, 60], scale_coeff=0.4,
                        max_translation=48, corr_noise_scale=0.25, iid_noise_scale=2e-2, shear_scale=0.75,
                        shuffle_seq=False, final_seq_length=40, seed=42)


def mnist1d(**overrides) -> Split:
    """Return MNIST-1D (Greydanus 2020): 4000 train and 1000 test sequences of 40 features, 10 classes.

    Generated procedurally by the `mnist1d` package from its templates with the published arguments
    (`MNIST1D_PUBLISHED`, any of which `overrides` replaces); nothing is downloaded. The package seeds
    NumPy's global generator, so its state is saved and restored around the call. Inputs are centred
    and scaled to unit standard deviation by the generator itself (float32 here).
    """
    try:
        from mnist1d.data import make_dataset
        from mnist1d.utils import ObjectView
    except ImportError as err:  # pragma: no cover - the package is a dependency
        raise DataError("MNIST-1D needs the `mnist1d` package (pip install mnist1d)") from err
    unknown = sorted(set(overrides) - set(MNIST1D_PUBLISHED))
    if unknown:
        raise DataError(f"unknown MNIST-1D argument {unknown[0]!r}; it accepts: {', '.join(MNIST1D_PUBLISHED)}")
    import random

    saved_np, saved_py = np.random.get_state(), random.getstate()
    try:
        raw = make_dataset(ObjectView({**MNIST1D_PUBLISHED, **overrides, "url": ""}))
    finally:
        np.random.set_state(saved_np)
        random.setstate(saved_py)

    def part(x, y):
        return Dataset(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64), 10,
                       "mnist1d")

    return Split(part(raw["x"], raw["y"]), part(raw["x_test"], raw["y_test"]))


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


def check_available(name: str, data_root: str | Path = "", *, download: bool = False) -> None:
    """Raise DataError, without loading anything, when `load(name, ...)` could not find its data:
    a torchvision data set needs `data_root`, and its files there unless `download` is set."""
    if name in ("digits", "mnist1d", "fake"):
        return
    if name not in _TORCHVISION:
        raise DataError(f"dataset must be one of digits, mnist1d, {', '.join(_TORCHVISION)}, fake; got {name!r}")
    if not data_root:
        raise DataError(f"dataset {name!r} needs its files: set data_root to a folder (-p data_root DIR) and "
                        f"either put the torchvision files there or allow the download with -p download true")
    folder = Path(data_root) / _TORCHVISION_FOLDERS[name]
    if not download and not folder.is_dir():
        raise DataError(f"{_TORCHVISION[name][0]} was not found under data_root={str(data_root)!r} (expected "
                        f"{folder}); point data_root at the folder holding it, or pass -p download true to "
                        f"fetch it over the network")


_TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashionmnist": "FashionMNIST", "cifar10": "cifar-10-batches-py"}


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
    """Return the train/test Split of a named data set ("digits", "mnist1d", "mnist", "fashionmnist",
    "cifar10", "fake"); digits ships with scikit-learn, MNIST-1D is generated by the `mnist1d`
    package, the others need `data_root` or `download`. `seed` draws the digits split and the
    `n_train` subset; MNIST-1D keeps its published split (generator seed 42)."""
    if name in ("digits", "mnist1d"):
        split = digits(seed=seed) if name == "digits" else mnist1d()
        if n_train > 0 and n_train < len(split.train):
            split = Split(split.train.subset(stratified_subset(split.train.labels, n_train, seed)), split.test)
        return split
    return torchvision_split(name, data_root, download=download, n_train=n_train, seed=seed)


# --- chapter 06 data ---

CORE, SPURIOUS = 0, 1  # columns of the core and spurious features in core/spurious data
GROUP_NAMES = ("y=-1, s=-1", "y=-1, s=+1", "y=+1, s=-1", "y=+1, s=+1")  # group g = 2 * label + (s > 0)


@dataclass(frozen=True)
class GroupDataset(Dataset):
    """A Dataset whose samples also carry a spurious attribute and a group.

    `spurious` (n,) holds s in {-1, +1}; `groups` (n,) holds g = 2 * label + (s > 0) in 0..3, so
    groups 0 and 3 agree with the label (s = y, the majority when p > 1/2) and 1 and 2 conflict.
    """

    spurious: torch.Tensor | None = None
    groups: torch.Tensor | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for field_name in ("spurious", "groups"):
            value = getattr(self, field_name)
            if value is None or value.shape != self.labels.shape:
                raise DataError(f"{self.name}: {field_name} must be a tensor of shape {tuple(self.labels.shape)}")

    def to(self, device: torch.device | str) -> "GroupDataset":
        """Return the data set on `device` (spurious and groups stay with it)."""
        return GroupDataset(self.x.to(device), self.labels.to(device), self.n_classes, self.name,
                            self.spurious.to(device), self.groups.to(device))

    def subset(self, index: torch.Tensor | np.ndarray) -> "GroupDataset":
        """Return the samples at `index` (an index or boolean mask) with their attributes and groups."""
        index = torch.as_tensor(index)
        return GroupDataset(self.x[index], self.labels[index], self.n_classes, self.name,
                            self.spurious[index], self.groups[index])


def group_of(labels: torch.Tensor, spurious: torch.Tensor) -> torch.Tensor:
    """Return the group g = 2 * label + (s > 0) in 0..3 of labels (n,) in {0, 1} and s (n,) in {-1, +1}."""
    return 2 * labels.long() + (spurious > 0).long()


def core_spurious(n: int, *, p: float = 0.9, mu: float = 2.0, sigma: float = 0.2, a_core: float = 0.25,
                  a_spurious: float = 6.0, n_noise: int = 10, noise_scale: float = 0.1, seed: int = 0,
                  name: str = "core-spurious") -> GroupDataset:
    """Return n samples of the core/spurious model of note 06, float32 x of shape (n, 2 + n_noise).

    y ~ U{-1, +1} (label = (y + 1) / 2); column CORE = 0 holds x_c = a_core * (y mu + sigma eps),
    column SPURIOUS = 1 holds x_s = a_spurious * s + eps' with s = y with probability p and -y
    otherwise, and the last n_noise columns hold noise_scale * N(0, 1); eps, eps' ~ N(0, 1).
    p = 0.5 gives balanced groups in expectation, p = 0 the spurious-flipped split (s = -y always).
    """
    _check_core_spurious(n, p, n_noise)
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=gen) * 2 - 1
    agree = torch.rand(n, generator=gen) < p
    s = torch.where(agree, y, -y)
    yf, sf = y.double(), s.double()
    x_core = a_core * (yf * mu + sigma * torch.randn(n, generator=gen, dtype=torch.float64))
    x_spur = a_spurious * sf + torch.randn(n, generator=gen, dtype=torch.float64)
    noise = noise_scale * torch.randn(n, n_noise, generator=gen, dtype=torch.float64)
    x = torch.cat([x_core[:, None], x_spur[:, None], noise], 1).float()
    labels = (y + 1) // 2
    return GroupDataset(x, labels, 2, name, s, group_of(labels, s))


def _check_core_spurious(n: int, p: float, n_noise: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise DataError(f"n must be an integer >= 1, got {n!r}")
    if not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
        raise DataError(f"p (the probability that s = y) must be in [0, 1], got {p!r}")
    if isinstance(n_noise, bool) or not isinstance(n_noise, int) or n_noise < 0:
        raise DataError(f"n_noise must be an integer >= 0, got {n_noise!r}")


def balance_groups(data: GroupDataset, *, seed: int = 0, n_per_group: int | None = None) -> GroupDataset:
    """Return a group-balanced random subsample: every group present cut to the smallest group's size
    (or to `n_per_group`), in a random order. Groups with no samples are reported, not invented."""
    gen = torch.Generator().manual_seed(seed)
    present = [g for g in range(4) if bool((data.groups == g).any())]
    if len(present) < 4:
        missing = ", ".join(GROUP_NAMES[g] for g in range(4) if g not in present)
        raise DataError(f"{data.name}: groups {missing} are empty, so no balanced subsample exists; "
                        f"draw the held-out set with p strictly between 0 and 1 (e.g. p = 0.5)")
    sizes = [int((data.groups == g).sum()) for g in present]
    k = min(sizes) if n_per_group is None else n_per_group
    if k > min(sizes):
        raise DataError(f"n_per_group={k} exceeds the smallest group ({min(sizes)} samples)")
    picks = [torch.nonzero(data.groups == g).flatten() for g in present]
    index = torch.cat([idx[torch.randperm(len(idx), generator=gen)[:k]] for idx in picks])
    return data.subset(index[torch.randperm(len(index), generator=gen)])


def permute_columns(x: torch.Tensor, columns, *, seed: int = 0) -> torch.Tensor:
    """Return a copy of x (n, d) whose `columns` are permuted across samples by one shared random
    permutation (so their joint distribution is kept and their link to the label is cut)."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(x.shape[0], generator=gen)
    cols = torch.as_tensor(list(columns), dtype=torch.long)
    out = x.clone()
    out[:, cols] = x[perm][:, cols]
    return out


def randomise_spurious(data: GroupDataset, *, seed: int = 0) -> GroupDataset:
    """Return the randomised split: the x_s column permuted across samples; each sample's spurious
    attribute and group follow its new x_s."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(data), generator=gen)
    x = data.x.clone()
    x[:, SPURIOUS] = data.x[perm, SPURIOUS]
    s = data.spurious[perm]
    return GroupDataset(x, data.labels, data.n_classes, data.name + "-randomised", s, group_of(data.labels, s))


def core_spurious_splits(n_train: int, n_test: int, n_heldout: int, *, p: float = 0.9,
                         p_id: float | None = None, seed: int = 0, **kw) -> dict[str, GroupDataset]:
    """Return the splits of note 06, each drawn with its own seed from `seed`:

    "train" (probability p that s = y), "id" (in-distribution test, probability p_id that s = y;
    None = p; note 06 fixes p_id = 0.9 whatever p), "balanced" (p = 0.5), "flipped"
    (p = 0: s = -y everywhere), "randomised" (the "id" samples with x_s permuted) and "heldout"
    (drawn at p = 0.5 with n_heldout samples, then cut to equal group sizes: DFR's own balanced set,
    disjoint from the test splits). `kw` goes to `core_spurious` (mu, sigma, a_core, ...).
    """
    def draw(n: int, prob: float, k: int, name: str) -> GroupDataset:
        return core_spurious(n, p=prob, seed=seed * 7919 + k, name=name, **kw)

    ind = draw(n_test, p if p_id is None else p_id, 1, "core-spurious-id")
    return {
        "train": draw(n_train, p, 0, "core-spurious-train"),
        "id": ind,
        "balanced": draw(n_test, 0.5, 2, "core-spurious-balanced"),
        "flipped": draw(n_test, 0.0, 3, "core-spurious-flipped"),
        "randomised": randomise_spurious(ind, seed=seed * 7919 + 4),
        "heldout": balance_groups(draw(n_heldout, 0.5, 5, "core-spurious-heldout"), seed=seed * 7919 + 5),
    }


def random_rotation(dim: int, *, seed: int = 0) -> torch.Tensor:
    """Return a Haar-random orthogonal (dim, dim) matrix in float64."""
    gen = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r)).unsqueeze(0)


def lms5_latent(n: int, *, dim: int = 50, margin: float = 0.1, centre_prob: float = 0.75,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Return Shah et al.'s LMS-5 data in its unrotated basis: z (n, dim) float64 and labels (n,).

    Coordinate 0 is linear, z_0 = y * U[margin, 1]; coordinates 1..dim-1 are 5-slab, each drawn
    independently given y: slabs of width w = (2 - 8 margin) / 5 on [-1, 1] separated by gaps of
    2 margin; class + (label 1) sits in slabs 2 and 4 (+-[1 + 6 margin, 1 + 6 margin + 5w] / 5), class -
    in the centre slab [-w/2, w/2] with probability `centre_prob`, else in the outer slabs 1 and 5.
    Every coordinate alone separates the classes.
    """
    if not 0 < margin < 0.25:
        raise DataError(f"margin must be in (0, 0.25) so that the five slabs fit in [-1, 1], got {margin}")
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=gen)
    y = (labels * 2 - 1).double()
    u = lambda *shape: torch.rand(*shape, generator=gen, dtype=torch.float64)  # noqa: E731
    sign = lambda *shape: torch.randint(0, 2, shape, generator=gen).double() * 2 - 1  # noqa: E731
    k = dim - 1
    w = (2 - 8 * margin) / 5
    pos = sign(n, k) * ((1 + 6 * margin) / 5 + w * u(n, k))
    centre = sign(n, k) * 0.5 * w * u(n, k)
    outer = sign(n, k) * ((3 + 8 * margin) / 5 + w * u(n, k))
    neg = torch.where(u(n, k) < centre_prob, centre, outer)
    slabs = torch.where(labels[:, None].bool(), pos, neg)
    linear = y * (margin + (1 - margin) * u(n))
    return torch.cat([linear[:, None], slabs], 1), labels


def lms5(n: int, *, dim: int = 50, margin: float = 0.1, rotation: torch.Tensor | None = None,
         seed: int = 0) -> Dataset:
    """Return LMS-5 data x = z @ rotation (n, dim) float32 with labels; `rotation` None = identity.

    Pass the same `rotation` (e.g. `random_rotation(dim)`) to the train and test draws, and to
    `randomise_in_basis` for the S- and S^c-randomised tests.
    """
    z, labels = lms5_latent(n, dim=dim, margin=margin, seed=seed)
    x = z if rotation is None else z @ rotation
    return Dataset(x.float(), labels, 2, "lms5")


def randomise_in_basis(x: torch.Tensor, columns, rotation: torch.Tensor | None = None, *,
                       seed: int = 0) -> torch.Tensor:
    """Return x (n, d) with the latent `columns` permuted across samples in the unrotated basis.

    With x = z R: z = x R^T, permute columns of z, map back. columns [0] is Shah's S-randomised
    test (the simple linear coordinate), columns 1..d-1 the S^c-randomised test (every slab).
    """
    if rotation is None:
        return permute_columns(x, columns, seed=seed)
    r = rotation.to(torch.float64)
    z = x.double() @ r.T
    return (permute_columns(z, columns, seed=seed) @ r).to(x.dtype)


def shifted_moons(n: int = 300, *, margin: float = 0.1, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Return Pezeshki et al.'s shifted two moons (n, 2) float32: linearly separable with a gap of
    2 * margin along the first axis when margin > 0, overlapping when margin < 0.

    From scikit-learn's make_moons(n, noise, random_state=seed) with y_pm = 2 label - 1: shift by
    (-0.5, -0.3 y_pm), centre the second coordinate, reflect it so that it is -y_pm |.|, push it by
    -y_pm * margin, then swap the two coordinates.
    """
    from sklearn.datasets import make_moons

    x, lab = make_moons(n_samples=n, noise=noise, random_state=seed)
    x = torch.from_numpy(x).double()
    ypm = torch.from_numpy(lab).double() * 2 - 1
    x = x - torch.stack([torch.full_like(ypm, 0.5), 0.3 * ypm], 1)
    second = x[:, 1] - x[:, 1].mean()
    second = -ypm * second.abs() - ypm * margin
    out = torch.stack([second, x[:, 0]], 1)
    return Dataset(out.float(), torch.from_numpy(lab).long(), 2, "shifted-moons")

# --- chapter 03 data ---


def swiss_roll(n: int = 1000, *, noise: float = 0.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (x (n, 2), t (n,)): the Swiss roll's (x, z) plane and its roll parameter, both min-max
    scaled to [0, 1] (note 03, Fig. 1).

    t0 = 1.5 pi (1 + 2 u), u ~ U(0, 1); (x, z) = (t0 cos t0, t0 sin t0) + noise * N(0, I). This is
    scikit-learn's `make_swiss_roll` formula without the height coordinate, drawn from a torch
    generator seeded with `seed` (so not the same points as sklearn's random_state=0).
    """
    gen = torch.Generator().manual_seed(seed)
    t = 1.5 * np.pi * (1 + 2 * torch.rand(n, generator=gen, dtype=torch.float64))
    x = torch.stack([t * torch.cos(t), t * torch.sin(t)], 1)
    x = x + noise * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    return _minmax(x).float(), _minmax(t).float()


def _minmax(a: torch.Tensor) -> torch.Tensor:
    lo, hi = a.min(0).values, a.max(0).values
    return (a - lo) / (hi - lo)


def staircase(n: int = 1000, dim: int = 10, *, seed: int = 42) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (x (n, dim), y (n,)) with x ~ N(0, I) and the staircase target
    y = x1 x2 x3 x4 + x1 x2 x3 + x1 x2 + x1 (note 03, Fig. 8); dim must be >= 4."""
    if dim < 4:
        raise DataError(f"staircase needs dim >= 4 (the target uses x1..x4), got {dim}")
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=gen)
    p = torch.cumprod(x[:, :4], 1)  # x1, x1x2, x1x2x3, x1x2x3x4
    return x, p.sum(1)


def modular_addition(modulus: int, *, train_fraction: float = 0.7, seed: int = 0) -> Split:
    """Return all pairs (a, b), 0 <= a, b < modulus, as inputs [one_hot(a), one_hot(b)] (2 * modulus)
    with label (a + b) mod modulus, split at random into train/test (note 03, Fig. 13: 61, 70/30)."""
    if not 0 < train_fraction < 1:
        raise DataError(f"train_fraction must be in (0, 1), got {train_fraction}")
    a, b = torch.meshgrid(torch.arange(modulus), torch.arange(modulus), indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    x = torch.cat([one_hot(a, modulus), one_hot(b, modulus)], 1)
    labels = (a + b) % modulus
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    cut = int(round(train_fraction * len(labels)))
    name = f"mod-{modulus}-addition"
    return Split(Dataset(x[order[:cut]], labels[order[:cut]], modulus, name),
                 Dataset(x[order[cut:]], labels[order[cut:]], modulus, name))


def random_labels(data: Dataset, p: float, *, seed: int = 0) -> Dataset:
    """Return `data` with each label replaced, with probability p, by a class drawn uniformly from
    all n_classes (so it may stay correct), as in note 03, Fig. 12."""
    if not 0 <= p <= 1:
        raise DataError(f"random-label probability p must be in [0, 1], got {p}")
    gen = torch.Generator().manual_seed(seed)
    flip = torch.rand(len(data), generator=gen) < p
    draw = torch.randint(0, data.n_classes, (len(data),), generator=gen)
    return Dataset(data.x, torch.where(flip, draw, data.labels), data.n_classes, f"{data.name}-random{p:g}")


# --- chapter 05 data ---

HMM_NONLINEARITIES = ("sign", "tanh", "erf", "relu", "linear")
HMM_LATENTS = ("gaussian", "bernoulli")


def yin_yang(n: int, *, n_classes: int = 2, radius: float = 1.0, dot_radius: float = 0.2,
             balanced: bool = True, seed: int = 0) -> Dataset:
    """Return n points (n, 2) float32 of the yin-yang symbol, labels in 0..n_classes-1.

    Points lie in the disk of `radius` centred at 0. The S-shaped boundary is made of two half
    circles of radius R/2 centred at (0, +R/2) and (0, -R/2): class 0 is the left half plus the upper
    small disk minus the lower small disk, class 1 the rest. Two dots of `dot_radius` (relative to R)
    sit at the small disks' centres with the opposite class, as in the symbol (n_classes=2), or form
    a class 2 of their own (n_classes=3, the data set of Kriener et al. 2021). `balanced=True` draws
    by rejection until every class holds n // n_classes points (the rest go to class 0), else the
    classes follow their areas.
    """
    if n_classes not in (2, 3):
        raise DataError(f"n_classes must be 2 or 3 for yin-yang data, got {n_classes!r}")
    if not 0 < dot_radius < 0.5:
        raise DataError(f"dot_radius must be in (0, 0.5) (relative to the radius), got {dot_radius!r}")
    _check_count("n", n)
    gen = torch.Generator().manual_seed(seed)
    if not balanced:
        pts = _uniform_disk(n, gen)
        return Dataset((radius * pts).float(), _yin_yang_label(pts, n_classes, dot_radius), n_classes, "yin-yang")
    quota = [n // n_classes] * n_classes
    quota[0] += n - sum(quota)
    xs, labels = [], []
    while any(q > 0 for q in quota):
        pts = _uniform_disk(4 * n, gen)
        lab = _yin_yang_label(pts, n_classes, dot_radius)
        for c in range(n_classes):
            take = torch.nonzero(lab == c).flatten()[: quota[c]]
            quota[c] -= len(take)
            xs.append(pts[take])
            labels.append(lab[take])
    order = torch.randperm(n, generator=gen)
    return Dataset((radius * torch.cat(xs)[order]).float(), torch.cat(labels)[order], n_classes, "yin-yang")


def _uniform_disk(m: int, gen: torch.Generator) -> torch.Tensor:
    """Return m points (m, 2) float64 uniform in the unit disk."""
    r = torch.rand(m, generator=gen, dtype=torch.float64).sqrt()
    theta = 2 * torch.pi * torch.rand(m, generator=gen, dtype=torch.float64)
    return torch.stack([r * torch.cos(theta), r * torch.sin(theta)], 1)


def _yin_yang_label(pts: torch.Tensor, n_classes: int, dot_radius: float) -> torch.Tensor:
    """Return the yin-yang class (0, 1, or 2 for the dots) of points in the unit disk."""
    up = torch.tensor([0.0, 0.5], dtype=pts.dtype)
    d_up, d_down = (pts - up).norm(dim=1), (pts + up).norm(dim=1)
    left = ((pts[:, 0] < 0) | (d_up < 0.5)) & ~(d_down < 0.5)
    label = torch.where(left, 0, 1)
    in_up_dot, in_down_dot = d_up < dot_radius, d_down < dot_radius
    if n_classes == 3:
        return torch.where(in_up_dot | in_down_dot, 2, label)
    label = torch.where(in_up_dot, 1, label)  # the up dot sits in class 0's lobe: opposite colour
    return torch.where(in_down_dot, 0, label)


def disk(n: int, *, radius: float | None = None, noise: float = 0.0, seed: int = 0) -> Dataset:
    """Return n points (n, 2) float32 uniform in the square [-1, 1]^2, label 1 inside the disk of
    `radius` centred at 0 and 0 outside. radius None = sqrt(2 / pi), which halves the square's area
    so the classes are balanced in expectation. `noise` adds N(0, noise^2) to the inputs after
    labelling (labels stay those of the clean points)."""
    _check_count("n", n)
    r = float(np.sqrt(2 / np.pi)) if radius is None else float(radius)
    if not 0 < r < np.sqrt(2):
        raise DataError(f"radius must be in (0, sqrt(2)) so both classes exist, got {radius!r}")
    gen = torch.Generator().manual_seed(seed)
    x = 2 * torch.rand(n, 2, generator=gen, dtype=torch.float64) - 1
    labels = (x.norm(dim=1) < r).long()
    x = x + noise * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    return Dataset(x.float(), labels, 2, "disk")


def hidden_manifold(n: int, *, latent_dim: int = 10, ambient_dim: int = 100, latent: str = "gaussian",
                    p: float = 0.5, nonlinearity: str = "sign", teacher_hidden: int = 2,
                    noise: float = 0.0, standardize: bool = True, seed: int = 0,
                    manifold_seed: int = 0) -> tuple[Dataset, torch.Tensor]:
    """Return (data, latent): n samples of a hidden manifold model and their latent c (n, latent_dim).

    The manifold F (latent_dim, ambient_dim) ~ N(0, 1) and the teacher come from `manifold_seed`,
    the samples from `seed`: draw train and test with different seeds and the same manifold_seed.
    - latent="gaussian" (Goldt et al. 2020, their code): c ~ N(0, I_D), x = f(c F / sqrt(D)) with f
      = `nonlinearity` (their default: sign); labels from a two-layer teacher acting on c only,
      y = sign(sum_m erf(w_m . c / sqrt(D))), m = 1..teacher_hidden, w_m ~ N(0, I_D) (their M = 2).
    - latent="bernoulli" (the seed project's variant, in neither paper): c ~ Bernoulli(p)^D in
      {0, 1}, x = f(c F / sqrt(D)), y = sign(c . theta) with theta ~ N(0, I_D).
    `noise` adds N(0, noise^2) to x; `standardize` then rescales x globally to mean 0, std 1 (Goldt
    et al.). x is float32 (n, ambient_dim), labels = (y + 1) / 2 in {0, 1}; latent is float64.
    """
    _check_hmm(n, latent_dim, ambient_dim, latent, p, nonlinearity, teacher_hidden)
    mixing, teacher = hidden_manifold_parameters(latent_dim=latent_dim, ambient_dim=ambient_dim, latent=latent,
                                                 teacher_hidden=teacher_hidden, manifold_seed=manifold_seed)
    gen = torch.Generator().manual_seed(seed)
    if latent == "gaussian":
        c = torch.randn(n, latent_dim, generator=gen, dtype=torch.float64)
        score = torch.erf(c @ teacher.T / latent_dim ** 0.5).sum(1)
    else:
        c = (torch.rand(n, latent_dim, generator=gen, dtype=torch.float64) < p).double()
        score = c @ teacher[0]
    x = _HMM_F[nonlinearity](c @ mixing / latent_dim ** 0.5)
    x = x + noise * torch.randn(n, ambient_dim, generator=gen, dtype=torch.float64)
    if standardize:
        x = (x - x.mean()) / x.std().clamp_min(1e-12)
    labels = (score > 0).long()
    return Dataset(x.float(), labels, 2, f"hidden-manifold-{latent}"), c


def hidden_manifold_parameters(*, latent_dim: int = 10, ambient_dim: int = 100, latent: str = "gaussian",
                               teacher_hidden: int = 2, manifold_seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (mixing F (latent_dim, ambient_dim), teacher (M, latent_dim)) of `hidden_manifold` with the
    same arguments, float64: M = teacher_hidden rows w_m for the Gaussian latent, one row theta for the
    Bernoulli one. `latent @ teacher.T` gives the teacher's pre-activations, the only directions of the
    latent the labels depend on."""
    mgen = torch.Generator().manual_seed(manifold_seed)
    mixing = torch.randn(latent_dim, ambient_dim, generator=mgen, dtype=torch.float64)
    teacher = torch.randn(teacher_hidden if latent == "gaussian" else 1, latent_dim, generator=mgen,
                          dtype=torch.float64)
    return mixing, teacher


_HMM_F = {
    "sign": torch.sign,
    "tanh": torch.tanh,
    "erf": torch.erf,
    "relu": torch.relu,
    "linear": lambda z: z,
}


def _check_hmm(n: int, latent_dim: int, ambient_dim: int, latent: str, p: float, nonlinearity: str,
               teacher_hidden: int) -> None:
    for name, value in (("n", n), ("latent_dim", latent_dim), ("ambient_dim", ambient_dim),
                        ("teacher_hidden", teacher_hidden)):
        _check_count(name, value)
    if latent not in HMM_LATENTS:
        raise DataError(f"latent must be one of {', '.join(HMM_LATENTS)}, got {latent!r}")
    if nonlinearity not in HMM_NONLINEARITIES:
        raise DataError(f"nonlinearity must be one of {', '.join(HMM_NONLINEARITIES)}, got {nonlinearity!r}")
    if not (isinstance(p, (int, float)) and 0.0 < p < 1.0):
        raise DataError(f"p (the Bernoulli latent's probability of 1) must be in (0, 1), got {p!r}")


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(f"{name} must be an integer >= 1, got {value!r}")


# --- chapter 03b data ---

IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashionmnist": (1, 28, 28), "cifar10": (3, 32, 32),
                "fake": (3, 32, 32)}


def image_shape(name: str) -> tuple[int, int, int]:
    """Return the (C, H, W) of the flat images of data set `name` (as `load` returns them)."""
    if name not in IMAGE_SHAPES:
        raise DataError(f"no image shape known for data set {name!r}; known: {', '.join(IMAGE_SHAPES)}")
    return IMAGE_SHAPES[name]


def majority_sequences(n: int, *, seq_len: int = 16, n_classes: int = 4, boost: float = 0.4,
                       seed: int = 0) -> Dataset:
    """Return n token sequences x (n, seq_len) int64 over the vocabulary 0..n_classes-1, labelled by
    their most frequent token (ties go to the smallest id).

    Each sequence first draws a planted class c uniformly, then its tokens i.i.d. with P(c) = `boost`
    and the remaining mass spread evenly over the other tokens, so the labels are nearly balanced
    and a model must count (attend over the whole sequence) to classify.
    """
    _check_count("n", n)
    if n_classes < 2 or not 1.0 / n_classes < boost < 1.0 or seq_len < 1:
        raise DataError(f"need n_classes >= 2, seq_len >= 1 and boost in (1/n_classes, 1); got "
                        f"n_classes={n_classes}, seq_len={seq_len}, boost={boost}")
    gen = torch.Generator().manual_seed(seed)
    planted = torch.randint(0, n_classes, (n,), generator=gen)
    probs = torch.full((n, n_classes), (1 - boost) / (n_classes - 1))
    probs[torch.arange(n), planted] = boost
    x = torch.multinomial(probs, seq_len, replacement=True, generator=gen)
    counts = torch.nn.functional.one_hot(x, n_classes).sum(1)
    labels = counts.argmax(1)  # argmax returns the first maximum: ties go to the smallest id
    return Dataset(x, labels, n_classes, "majority-sequences")

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
