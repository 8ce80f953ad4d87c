"""A content-addressed store of trained networks: re-running a chapter after an analysis edit takes seconds.

    from layerwise import store
    trained = store.cached(
        dict(what="ch05 tunnel MLP", depth=12, width=128, data="mnist1d", n_train=0, seed=s,
             optimizer="sgd", lr=0.01, epochs=100, criterion="train_acc >= 0.99"),
        lambda: train_one(12, 128, seed=s),   # returns state dicts, Histories, curves measured in training
    )

`cached(recipe, fn)` returns `fn()`, computed once per key and then read back. The key is the canonical
JSON of `recipe` + a SHA-256 of the package's training code (`TRAINING_CODE`: train.py, models.py, data.py,
optim.py, ensemble.py) + the source of `fn` (`inspect.getsource`; its qualified name where the source cannot
be read). A change to the recipe, to the training code or to `fn`'s own text misses the store: it is never
stale for those. What it cannot see: values `fn` reads from its closure or from globals, and the global
random state. So put everything that shapes the result in `recipe`, and let `fn` seed itself from it
(`torch.manual_seed(recipe["seed"])` inside `fn`, or `models.*(seed=...)`): a hit skips `fn`, and with it
any random numbers `fn` would have drawn.

Put TRAINING (and measurements taken during training) behind `cached`; keep analysis outside.

Where: `LAYERWISE_STORE` (a folder; `off` bypasses the store: `fn()` runs every time), else `store_dir=`,
else `_build/store` under the book folder (the nearest folder holding `_toc.yml`), else
`~/.cache/layerwise/store`. Values are written with `torch.save` through a temporary file and an atomic
rename (safe when two processes compute the same entry: both write whole files, the last rename wins).
The store is bounded (`LAYERWISE_STORE_MAX`, default 2 GiB; "500M", "2G" or bytes): after a write, the
entries read or written longest ago are removed until it fits. `layerwise store info|clear` shows and
empties it; `layerwise run|book --no-store` bypasses it for the kernels.
"""
from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from .params import ConfigError

T = TypeVar("T")

TRAINING_CODE = ("train.py", "models.py", "data.py", "optim.py", "ensemble.py")
DEFAULT_MAX_BYTES = 2 * 2**30
SUFFIX = ".pt"

# hits and misses of this process (for tests and benchmarks): {"hits": int, "misses": int, "bypassed": int}
stats = {"hits": 0, "misses": 0, "bypassed": 0}


class StoreError(ConfigError):
    """A recipe that cannot be a key (not JSON-able), or a bad store setting."""


def package_dir() -> Path:
    return Path(__file__).resolve().parent


def code_hash(files: tuple[str, ...] | None = None) -> str:
    """Return the SHA-256 of the package's training code (`TRAINING_CODE`, read now)."""
    h = hashlib.sha256()
    for name in (TRAINING_CODE if files is None else files):
        path = package_dir() / name
        h.update(name.encode())
        h.update(path.read_bytes() if path.is_file() else b"<missing>")
    return h.hexdigest()


def fn_source(fn: Callable[..., Any]) -> str:
    """Return the source text of `fn` (its qualified name where the source cannot be read)."""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"


def _canonical(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else repr(obj)
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and hasattr(obj, "shape") and tuple(obj.shape) == ():  # numpy / torch scalar
        return _canonical(obj.item())
    if hasattr(obj, "tolist"):
        return _canonical(obj.tolist())
    if type(obj).__module__ == "torch" and type(obj).__name__ in ("dtype", "device"):
        return str(obj)
    raise StoreError(f"recipe value {obj!r} ({type(obj).__name__}) is not JSON-able; give numbers, strings, "
                     "booleans, None, lists or dicts of them")


def key(recipe: dict, fn: Callable[..., Any] | None = None, *, code: str | None = None) -> str:
    """Return the store key (hex SHA-256) of `recipe` with `fn`'s source and the training code's hash."""
    if not isinstance(recipe, dict):
        raise StoreError(f"recipe must be a dict, got {type(recipe).__name__}")
    text = json.dumps({"recipe": _canonical(recipe), "code": code_hash() if code is None else code,
                       "fn": fn_source(fn) if fn is not None else ""}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def max_bytes() -> int:
    """Return the store's size bound from `LAYERWISE_STORE_MAX` (default 2 GiB)."""
    text = os.environ.get("LAYERWISE_STORE_MAX", "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    try:
        unit = units.get(text[-1].upper())
        number = float(text[:-1]) if unit else float(text)
        return int(number * (unit or 1))
    except ValueError:
        raise StoreError(f"LAYERWISE_STORE_MAX must be bytes or a size like 500M or 2G, got {text!r}") from None


def enabled() -> bool:
    """Return False when `LAYERWISE_STORE=off` (or 0/false/no/none)."""
    return os.environ.get("LAYERWISE_STORE", "").strip().lower() not in ("off", "0", "false", "no", "none")


def location(store_dir: str | os.PathLike | None = None, root: str | os.PathLike | None = None) -> Path:
    """Return the store folder: `LAYERWISE_STORE`, else `store_dir`, else `<book>/_build/store` (the book
    found from `root` or the working directory), else ~/.cache/layerwise/store."""
    env = os.environ.get("LAYERWISE_STORE", "").strip()
    if env and enabled():
        return Path(env).expanduser()
    if store_dir is not None:
        return Path(store_dir)
    here = Path(root or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder / "_build" / "store"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "layerwise" / "store"


def _path(folder: Path, k: str) -> Path:
    return folder / k[:2] / f"{k}{SUFFIX}"


def cached(recipe: dict, fn: Callable[[], T], *, store_dir: str | os.PathLike | None = None) -> T:
    """Return `fn()`, read from the store when an entry with the same key exists, else computed and stored.

    recipe: a JSON-able dict of everything that shapes the result (architecture, data, seed, optimiser,
    epochs, criterion). fn: no arguments; its value must be picklable by `torch.save` (tensors, state dicts,
    dicts, lists, dataclasses such as `train.History`).
    """
    if not enabled():
        stats["bypassed"] += 1
        return fn()
    folder = location(store_dir)
    k = key(recipe, fn)
    path = _path(folder, k)
    found, value = _load(path)
    if found:
        stats["hits"] += 1
        with contextlib.suppress(OSError):
            os.utime(path)  # last use: the bound evicts the entries used longest ago
        return value
    stats["misses"] += 1
    value = fn()
    _save(path, value, recipe, fn)
    prune(folder)
    return value


def _load(path: Path) -> tuple[bool, Any]:
    import torch

    try:
        with open(path, "rb") as fh:
            payload = torch.load(fh, map_location=None if torch.cuda.is_available() else "cpu",
                                 weights_only=False)
    except FileNotFoundError:
        return False, None
    except Exception:  # an unreadable entry (another torch, a damaged disk): recompute it
        with contextlib.suppress(OSError):
            path.unlink()
        return False, None
    if not isinstance(payload, dict) or "value" not in payload:
        return False, None
    return True, payload["value"]


def _save(path: Path, value: Any, recipe: dict, fn: Callable[..., Any]) -> None:
    import io as bytes_io

    import torch

    from .io import atomic_write_bytes

    meta = {"recipe": _canonical(recipe), "fn": getattr(fn, "__qualname__", ""), "created": time.time()}
    buffer = bytes_io.BytesIO()
    torch.save({"meta": meta, "value": value}, buffer)
    atomic_write_bytes(path, buffer.getvalue())  # temp file + rename: safe under `book --jobs 2`


@dataclass(frozen=True)
class Entry:
    path: Path
    size: int
    used: float  # last read or write (mtime)


def entries(folder: str | os.PathLike) -> list[Entry]:
    """Return the store's entries, the least recently used first."""
    out = []
    for path in Path(folder).glob(f"*/*{SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
            out.append(Entry(path, st.st_size, st.st_mtime))
    return sorted(out, key=lambda e: e.used)


def prune(folder: str | os.PathLike, limit: int | None = None) -> int:
    """Remove the least recently used entries until the store fits in `limit` bytes (default
    `max_bytes()`); also remove temporary files older than an hour. Return how many entries went."""
    limit = max_bytes() if limit is None else limit
    folder = Path(folder)
    now = time.time()
    for tmp in folder.glob("*/.*.tmp"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > 3600:
                tmp.unlink()
    items = entries(folder)
    total = sum(e.size for e in items)
    removed = 0
    for e in items:
        if total <= limit:
            break
        with contextlib.suppress(FileNotFoundError):
            e.path.unlink()
            removed += 1
        total -= e.size
    return removed


def info(folder: str | os.PathLike) -> dict[str, Any]:
    """Return {"location", "entries", "bytes", "max_bytes", "enabled"} of the store."""
    items = entries(folder) if Path(folder).is_dir() else []
    return {"location": str(folder), "entries": len(items), "bytes": sum(e.size for e in items),
            "max_bytes": max_bytes(), "enabled": enabled()}


def clear(folder: str | os.PathLike) -> int:
    """Remove every entry (and temporary file) of the store; return how many entries went."""
    folder = Path(folder)
    removed = 0
    for path in list(folder.glob(f"*/*{SUFFIX}")) + list(folder.glob("*/.*.tmp")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += path.suffix == SUFFIX
    for sub in folder.glob("*"):
        with contextlib.suppress(OSError):
            sub.rmdir()
    return removed


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
