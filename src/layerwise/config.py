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

# Preset tables. The `book` column defines each parameter's type; `smoke` must run in seconds,
# `book` in minutes on a 2-core CPU, `paper` is the source paper's own scale (a GPU).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "01": {
        "book": dict(
            n_per_class=10, n_classes=3, dim=50, depth=6, init_scale=0.3, alpha=100.0,
            lr=0.1, lr_min=0.01, epochs=5000, stop_loss=1e-11, n_seeds=3,
            rate_init_scales=[0.1, 0.3, 0.5], rate_alphas=[1.0, 100.0],
            sweep_depths=[4, 5, 6, 7, 8, 9, 10], sweep_n_per_class=[10, 15, 20, 30, 50],
            dataset="digits", data_root="", download=False, n_train=0,
            net_width=256, net_depth=8, hybrid_nonlinear=3, net_epochs=60, net_lr=0.05,
            net_momentum=0.9, net_weight_decay=1e-4, net_batch_size=128, net_init_scale=0.1,
            alpha_hybrid=100.0, alpha_mlp=1.0,
        ),
        "smoke": dict(
            n_seeds=1, epochs=400, rate_init_scales=[0.3], rate_alphas=[100.0], sweep_depths=[4, 6],
            sweep_n_per_class=[10, 20], net_width=32, net_epochs=2, n_train=300,
        ),
        "paper": dict(
            n_seeds=10, sweep_n_per_class=[10, 15, 20, 30, 50, 100], dataset="cifar10",
            net_width=1024, net_epochs=400, net_lr=1e-4, net_batch_size=128,
        ),
    },
    # --- chapter 02 presets ---

    # --- chapter 03 presets ---

    # --- chapter 03b presets ---

    # --- chapter 04 presets ---
    "04": {
        "book": dict(
            datasets=["digits"], data_root="", download=False, n_train=0, n_align=100,
            hidden_layers=10, width=256, lr=0.01, scale_lr_with_depth=True, momentum=0.9,
            weight_decay=5e-4, batch_size=128, epochs=40, stop_loss=1e-2,
            sweep_hidden_layers=[5, 10, 15, 20, 25], sweep_width=128, sweep_epochs=60, n_seeds=3,
            theory_width=2048, theory_hidden_layers=20,
        ),
        "smoke": dict(
            n_train=200, n_align=30, hidden_layers=3, width=32, epochs=3, sweep_hidden_layers=[2, 3, 4],
            sweep_width=32, sweep_epochs=2, n_seeds=1, theory_width=256,
        ),
        "paper": dict(
            datasets=["mnist", "cifar10"], sweep_hidden_layers=[10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
            sweep_width=256, epochs=200, sweep_epochs=200, n_seeds=3,
        ),
    },

    # --- chapter 05 presets ---

    # --- chapter 06 presets ---

    # --- chapter 07 presets ---
}

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
    "dataset": ("digits", "mnist", "fashionmnist", "cifar10", "fake"),
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
    chapter = chapter_number(chapter)
    if preset not in PRESET_NAMES:
        raise ConfigError(f"preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    table = dict(PRESETS[chapter]["book"])
    table.update(PRESETS[chapter].get(preset, {}))
    return table


def chapter_number(chapter: str | int) -> str:
    """Return the two-digit number of a chapter given as 1, "1", "01" or its slug."""
    text = str(chapter)
    number = text.split("_", 1)[0]
    number = number.zfill(2) if number.isdigit() else number.zfill(3)
    if number not in CHAPTERS or number not in PRESETS:
        known = ", ".join(f"{c.number} ({c.slug})" for c in CHAPTERS.values() if c.number in PRESETS)
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
    for check in CROSS_CHECKS.get(number, []):
        check(values)
    seed = validate_value(number, "seed", seed, kind=int)
    from .io import ensure_writable_dir

    out = ensure_writable_dir(Path(results_dir) if results_dir else default_results_dir(number))
    return Config(number, preset, resolve_device(device), seed, out, values)


def validate_value(chapter: str, name: str, value: Any, kind: type | None = None) -> Any:
    """Return `value` checked against the type of the book preset and the rules for `name`."""
    hint = f"(set it in the parameters cell or with -p {name} VALUE)"
    expected = PRESETS[chapter]["book"].get(name) if kind is None else kind()
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
    book = PRESETS[number]["book"]
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


def _check_ch01(p: dict[str, Any]) -> None:
    for n in [p["n_per_class"], *p["sweep_n_per_class"]]:
        if n * p["n_classes"] > 10_000:
            raise ConfigError(f"n_per_class={n} gives more than 10000 samples for the theory data")
    if p["net_width"] < 10:
        raise ConfigError(f"net_width must be >= 10 (the number of classes), got {p['net_width']}")
    if p["hybrid_nonlinear"] >= p["net_depth"]:
        raise ConfigError(f"hybrid_nonlinear must be < net_depth={p['net_depth']} (it counts hidden "
                          f"layers), got {p['hybrid_nonlinear']}")


# --- chapter 02 checks ---

# --- chapter 03 checks ---

# --- chapter 03b checks ---

# --- chapter 04 checks ---
def _check_ch04(p: dict[str, Any]) -> None:
    bad = [d for d in p["datasets"] if d not in CHOICES["dataset"]]
    if bad:
        raise ConfigError(f"datasets must list names from {', '.join(CHOICES['dataset'])}, got {bad[0]!r} "
                          "(e.g. -p datasets mnist,cifar10)")
    for name, value in (("hidden_layers", p["hidden_layers"]), ("theory_hidden_layers", p["theory_hidden_layers"]),
                        ("n_align", p["n_align"]), *(("sweep_hidden_layers", v) for v in p["sweep_hidden_layers"])):
        if value < 1:
            raise ConfigError(f"{name} must hold integers >= 1, got {value} (set it in the parameters cell "
                              f"or with -p {name} VALUE)")
    if p["n_align"] < 10 or p["n_align"] > 2000:
        raise ConfigError(f"n_align must be in [10, 2000] (kernels are (10 n_align)^2 per layer), got {p['n_align']}")
    if min(p["width"], p["sweep_width"]) < 10:
        raise ConfigError(f"width and sweep_width must be >= 10 (the number of classes), got "
                          f"{p['width']} and {p['sweep_width']}")
    if 0 < p["n_train"] < p["n_align"]:
        raise ConfigError(f"n_train={p['n_train']} must be 0 (all) or >= n_align={p['n_align']}: the alignment "
                          "sample is drawn from the training set")


# --- chapter 05 checks ---

# --- chapter 06 checks ---

# --- chapter 07 checks ---

CROSS_CHECKS: dict[str, list[Callable[[dict[str, Any]], None]]] = {
    "01": [_check_ch01],
    # --- chapter 02 cross-check entry ---

    # --- chapter 03 cross-check entry ---

    # --- chapter 03b cross-check entry ---

    # --- chapter 04 cross-check entry ---
    "04": [_check_ch04],

    # --- chapter 05 cross-check entry ---

    # --- chapter 06 cross-check entry ---

    # --- chapter 07 cross-check entry ---
}
