"""Preset tables per chapter, parameter validation at the boundary, and device resolution.

Every chapter calls `resolve(chapter, preset, device=..., seed=..., **params)` once, in its first code
cell: parameters left at `None` are filled from the preset table, and every value is checked before
any work starts. The command line (`layerwise run 01 -p depth 8`) goes through the same checks.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

PRESET_NAMES = ("smoke", "book", "paper")


class ConfigError(ValueError):
    """A parameter has a value the chapter cannot use; the message says what it accepts."""


@dataclass(frozen=True)
class Chapter:
    number: str  # "01"
    slug: str  # "01_deep_linear_compression": the notebook's file name without extension
    title: str


CHAPTERS: dict[str, Chapter] = {
    c.number: c
    for c in [
        Chapter("01", "01_deep_linear_compression", "Deep linear compression"),
        Chapter("02", "02_assumption_checks", "Assumption checks"),
        Chapter("03", "03_gram_learning_equation", "The Gram learning equation"),
        Chapter("03b", "03b_gram_beyond_mlps", "The Gram beyond plain MLPs"),
        Chapter("04", "04_equilibrium_layer", "The equilibrium layer"),
        Chapter("05", "05_extractor_tunnel", "Extractor and tunnel"),
        Chapter("06", "06_spurious_features", "Spurious features"),
        Chapter("07", "07_where_lenses_agree", "Where the lenses agree"),
    ]
}

UNSET = object()


@dataclass(frozen=True)
class Param:
    """One chapter parameter: its `book` value (whose type is the parameter's type), one line of help,
    and the `smoke` (seconds, tests) and `paper` (the source paper's scale, a GPU) values where they
    differ from `book`."""

    book: Any
    help: str
    smoke: Any = UNSET
    paper: Any = UNSET

    def at(self, preset: str) -> Any:
        """Return the value at `preset`."""
        value = getattr(self, preset) if preset != "book" else self.book
        return self.book if value is UNSET else value


def chapter_module(chapter: str | int):
    """Return the module `layerwise.chapters.chNN` that declares the chapter's parameters and rules."""
    import importlib

    return importlib.import_module(f"layerwise.chapters.ch{chapter_number(chapter)}")


def chapter_params(chapter: str | int) -> dict[str, Param]:
    """Return the chapter's declared parameters {name: Param}, in the order the chapter lists them."""
    return dict(chapter_module(chapter).PARAMS)


# Names that mean the same thing in every chapter, with the values they accept.
_POSITIVE_INT = {
    "depth", "width", "n_per_class", "n_classes", "dim", "epochs", "n_seeds", "batch_size",
    "net_width", "net_depth", "net_epochs", "net_batch_size", "steps", "n_samples", "n_outputs",
}
_NONNEGATIVE_INT = {"n_train", "hybrid_nonlinear", "n_test"}
_POSITIVE_FLOAT = {"lr", "init_scale", "alpha", "net_lr", "net_init_scale", "alpha_hybrid", "alpha_mlp"}
_NONNEGATIVE_FLOAT = {"weight_decay", "net_weight_decay", "lr_min", "stop_loss", "noise"}
_UNIT_INTERVAL = {"momentum", "net_momentum"}
CHOICES: dict[str, tuple[str, ...]] = {
    "activation": ("relu", "tanh", "gelu", "linear"),
    "dataset": ("digits", "mnist1d", "mnist", "fashionmnist", "cifar10", "fake"),
    "optimizer": ("sgd", "adam", "adamw"),
    "loss": ("mse", "ce"),
}


def _base_name(name: str) -> str:
    """Return the shared name a chapter parameter is checked as: `sweep_depths` -> `depth`."""
    for prefix in ("sweep_", "rate_", "theory_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if name.endswith("s") and name[:-1] in _POSITIVE_INT | _POSITIVE_FLOAT | _NONNEGATIVE_FLOAT:
        name = name[:-1]
    if name == "n_per_clas":  # "sweep_n_per_class" has no plural s to strip
        name = "n_per_class"
    return name


def preset_table(chapter: str, preset: str) -> dict[str, Any]:
    """Return the full parameter table of `chapter` at `preset` (book values overlaid by the preset's)."""
    if preset not in PRESET_NAMES:
        raise ConfigError(f"preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    return {name: p.at(preset) for name, p in chapter_params(chapter).items()}


def chapter_number(chapter: str | int) -> str:
    """Return the two-digit number of a chapter given as 1, "1", "01" or its slug."""
    text = str(chapter)
    number = text.split("_", 1)[0]
    number = number.zfill(2) if number.isdigit() else number.zfill(3)
    if number not in CHAPTERS:
        known = ", ".join(f"{c.number} ({c.slug})" for c in CHAPTERS.values())
        raise ConfigError(f"unknown chapter {chapter!r}; the chapters are: {known}")
    return number


@dataclass(frozen=True)
class Config:
    """A chapter's resolved parameters; `cfg.depth` reads a parameter, `cfg.as_dict()` gives all."""

    chapter: str
    preset: str
    device: torch.device
    seed: int
    results_dir: Path
    params: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(f"chapter {self.__dict__.get('chapter')} has no parameter {name!r}")

    def as_dict(self) -> dict[str, Any]:
        """Return every parameter plus preset, device and seed, for a results file."""
        return {"chapter": self.chapter, "preset": self.preset, "device": str(self.device),
                "seed": self.seed, **self.params}

    def table(self) -> "ParameterTable":
        """Return the resolved parameters with their help, for the reader (HTML in Jupyter and on the
        site); values that differ from the `book` default are marked."""
        declared = chapter_params(self.chapter)
        rows = [(name, value, declared[name].book, declared[name].help) for name, value in self.params.items()]
        return ParameterTable(self.chapter, self.preset, str(self.device), self.seed, rows)


@dataclass(frozen=True)
class ParameterTable:
    """A chapter's resolved parameters: (name, value, book default, help) rows."""

    chapter: str
    preset: str
    device: str
    seed: int
    rows: list[tuple[str, Any, Any, str]]

    def _repr_html_(self) -> str:
        import html

        def cell(text: Any) -> str:
            return html.escape(str(text))

        body = "".join(
            f"<tr><td><code>{cell(n)}</code></td><td>{'<b>' if v != b else ''}{cell(v)}{'</b>' if v != b else ''}"
            f"</td><td>{cell(h)}</td></tr>" for n, v, b, h in self.rows)
        return (f'<details class="layerwise-params" open><summary>Parameters: preset <b>{cell(self.preset)}</b>, '
                f"device {cell(self.device)}, seed {self.seed} (bold: differs from the book default; change any "
                f"with <code>layerwise run {self.chapter} -p NAME VALUE</code>)</summary>"
                f'<table class="layerwise-params"><thead><tr><th>parameter</th><th>value</th><th>meaning</th></tr>'
                f"</thead><tbody>{body}</tbody></table></details>")

    def __str__(self) -> str:
        width = max(len(n) for n, *_ in self.rows)
        return "\n".join(f"{n:<{width}}  {v!r}  {h}" for n, v, _, h in self.rows)


def resolve(chapter: str | int, preset: str = "book", *, device: str = "auto", seed: int = 0,
            results_dir: str | os.PathLike | None = None, **params: Any) -> Config:
    """Return the chapter's Config: `None` parameters taken from the preset, every value validated.

    Raises ConfigError (naming the parameter, the value and what is accepted) for an unknown preset,
    an unknown parameter name, a value of the wrong type or out of range, or a missing device.
    """
    number = chapter_number(chapter)
    table = preset_table(number, preset)
    unknown = sorted(set(params) - set(table))
    if unknown:
        raise ConfigError(
            f"unknown parameter {unknown[0]!r} for chapter {number}; it accepts: {', '.join(sorted(table))}")
    values = dict(table)
    for name, value in params.items():
        if value is not None:
            values[name] = validate_value(number, name, value)
    for name, value in values.items():
        validate_value(number, name, value)
    module = chapter_module(number)
    if hasattr(module, "check"):
        module.check(values)
    check_data(values)
    check_memory(values)
    seed = validate_value(number, "seed", seed, kind=int)
    from .io import ensure_writable_dir

    out = ensure_writable_dir(Path(results_dir) if results_dir else default_results_dir(number))
    return Config(number, preset, resolve_device(device), seed, out, values)


def validate_value(chapter: str, name: str, value: Any, kind: type | None = None) -> Any:
    """Return `value` checked against the type of the book preset and the rules for `name`."""
    hint = f"(set it in the parameters cell or with -p {name} VALUE)"
    expected = chapter_params(chapter)[name].book if kind is None else kind()
    if isinstance(expected, list):
        if not isinstance(value, (list, tuple)) or len(value) == 0:
            raise ConfigError(f"{name} must be a non-empty list, got {value!r} {hint}")
        elem = expected[0] if expected else 0.0
        return [_check_scalar(name, v, type(elem), hint) for v in value]
    return _check_scalar(name, value, type(expected), hint)


def _check_scalar(name: str, value: Any, kind: type, hint: str) -> Any:
    base = _base_name(name)
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r} {hint}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(f"{name} must be an integer, got {value!r} {hint}")
        if base in _POSITIVE_INT and value < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {value} {hint}")
        if base in _NONNEGATIVE_INT and value < 0:
            raise ConfigError(f"{name} must be an integer >= 0, got {value} {hint}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value!r} {hint}")
        value = float(value)
        if base in _POSITIVE_FLOAT and value <= 0:
            raise ConfigError(f"{name} must be a number > 0, got {value} {hint}")
        if base in _NONNEGATIVE_FLOAT and value < 0:
            raise ConfigError(f"{name} must be a number >= 0, got {value} {hint}")
        if base in _UNIT_INTERVAL and not 0 <= value < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {value} {hint}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {value!r} {hint}")
        if base in CHOICES and value not in CHOICES[base]:
            raise ConfigError(f"{name} must be one of {', '.join(CHOICES[base])}, got {value!r} {hint}")
        return value
    return value


def parse_value(chapter: str | int, name: str, text: str) -> Any:
    """Return the command-line string `text` converted to the type of parameter `name`, validated.

    Lists are comma-separated (`-p sweep_depths 4,6,8`); booleans are true/false/yes/no/1/0.
    """
    number = chapter_number(chapter)
    book = {n: p.book for n, p in chapter_params(number).items()}
    if name in ("seed",):
        expected: Any = 0
    elif name not in book:
        raise ConfigError(
            f"unknown parameter {name!r} for chapter {number}; it accepts: {', '.join(sorted(book))}")
    else:
        expected = book[name]
    if isinstance(expected, list):
        elem = expected[0] if expected else 0.0
        value: Any = [_parse_scalar(name, part.strip(), elem) for part in text.split(",") if part.strip()]
    else:
        value = _parse_scalar(name, text, expected)
    return validate_value(number, name, value, kind=int if name == "seed" else None)


def _parse_scalar(name: str, text: str, expected: Any) -> Any:
    try:
        if isinstance(expected, bool):
            lowered = text.lower()
            if lowered in ("true", "yes", "1"):
                return True
            if lowered in ("false", "no", "0"):
                return False
            raise ValueError
        if isinstance(expected, int):
            return int(text)
        if isinstance(expected, float):
            return float(text)
    except ValueError:
        kind = {bool: "boolean", int: "an integer", float: "a number"}.get(type(expected), "string")
        raise ConfigError(f"{name} must be {kind}, got {text!r} (e.g. -p {name} {expected!r})") from None
    return text


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return the torch.device for "auto" (cuda when present, else cpu), "cpu", "cuda" or "cuda:N"."""
    text = str(device)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda" or text.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {text!r} is not available on this machine (no CUDA GPU); "
                              "use device='auto' or 'cpu'")
        index = text.split(":", 1)[1] if ":" in text else "0"
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise ConfigError(f"device {text!r} does not exist; this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s): cuda:0..")
        return torch.device(text)
    raise ConfigError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {text!r}")


def find_root(start: str | os.PathLike | None = None) -> Path | None:
    """Return the nearest folder at or above `start` (default: cwd) holding `_toc.yml`, or None."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return None


def default_results_dir(chapter: str) -> Path:
    """Return where an interactive run writes results: `_build/interactive/<slug>` in the book."""
    root = find_root()
    base = root / "_build" / "interactive" if root else Path.cwd() / "layerwise-results"
    return base / CHAPTERS[chapter].slug


def check_data(values: dict[str, Any]) -> None:
    """Raise ConfigError, before any work, when a data set named in `values` cannot be loaded:
    a torchvision data set without `data_root` (and `download`), or whose files are not there."""
    names = [values[k] for k in values if k == "dataset" or k.endswith("_dataset")]
    names += [n for k in values if k == "datasets" for n in values[k]]
    for name in dict.fromkeys(names):
        from .data import DataError, check_available

        try:
            check_available(name, values.get("data_root", ""), download=bool(values.get("download", False)))
        except DataError as err:
            raise ConfigError(str(err)) from None


def total_memory_bytes() -> int:
    """Return this machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(values: dict[str, Any], limit: int | None = None) -> None:
    """Raise ConfigError when a width-like parameter alone needs more memory than the machine has.

    A hidden-to-hidden weight matrix of width w takes 4 w^2 bytes in float32, three times over with its
    gradient and optimiser state: a lower bound of what training it costs.
    """
    limit = total_memory_bytes() if limit is None else limit
    for name, value in values.items():
        widths = value if isinstance(value, list) else [value]
        if _base_name(name) in ("width", "channel", "d_model") or name.endswith(("_width", "_channels")):
            for w in widths:
                if isinstance(w, int) and 12 * w * w > limit:
                    raise ConfigError(f"{name}={w} needs at least {12 * w * w / 2**30:.0f} GiB for one weight "
                                      f"matrix with its gradient and optimiser state; this machine has "
                                      f"{limit / 2**30:.0f} GiB (lower {name})")


def resolve_notebook(chapter: str | int, namespace: dict[str, Any]) -> Config:
    """Return `resolve(...)` with preset, device, seed, results_dir and every chapter parameter read
    from `namespace`, a notebook's `globals()` after its `parameters` cell (absent names are None)."""
    number = chapter_number(chapter)
    params = {name: namespace.get(name) for name in chapter_params(number)}
    return resolve(number, namespace.get("preset", "book"), device=namespace.get("device", "auto"),
                   seed=namespace.get("seed", 0), results_dir=namespace.get("results_dir"), **params)
