"""Resolving a chapter's parameters: preset tables, the rules at the boundary, data, memory and devices.

Every chapter calls `resolve(chapter, preset, device=..., seed=..., **params)` once, in its first code
cell: unset parameters are filled from the preset table, and every value is checked (its rule from
`layerwise.params`, then the chapter's cross-parameter `check`) before any work starts. The command line
(`layerwise run 01 -p depth 8`) goes through the same checks. The parameters and their rules live in
`layerwise.params` and `chapters/chNN.py`; the chapter registry in `layerwise.chapters`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .chapters import CHAPTERS, Chapter, chapter_module, chapter_number, chapter_params
from .params import CHOICES, UNSET, ConfigError, Int, ListOf, Param

__all__ = ["PRESET_NAMES", "CHAPTERS", "Chapter", "ConfigError", "Param", "UNSET", "CHOICES", "Config",
           "ParameterTable", "chapter_module", "chapter_number", "chapter_params", "preset_table", "resolve",
           "resolve_notebook", "validate_value", "parse_value", "resolve_device", "find_root",
           "default_results_dir", "check_data", "check_memory", "total_memory_bytes"]

PRESET_NAMES = ("smoke", "book", "paper")
_SEED = Int(min=0)


def preset_table(chapter: str, preset: str) -> dict[str, Any]:
    """Return the full parameter table of `chapter` at `preset` (book values overlaid by the preset's)."""
    if preset not in PRESET_NAMES:
        raise ConfigError(f"preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    return {name: p.at(preset) for name, p in chapter_params(chapter).items()}


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
    """Return the chapter's Config: parameters left unset (`None`) taken from the preset, every value
    validated. (A notebook goes through `resolve_notebook`, where a book value in the cell also counts as
    unset.)

    Raises ConfigError (naming the parameter, the value and what is accepted) for an unknown preset, an
    unknown parameter name, a value that breaks its rule (`layerwise.params`) or a chapter's cross-parameter
    rule (`chNN.check`), data that cannot be loaded, a width the memory cannot hold, or a missing device.
    Pure: it writes nothing; whoever runs the chapter creates `results_dir` (the atomic writes in
    `layerwise.io` create their folder).
    """
    number = chapter_number(chapter)
    table = preset_table(number, preset)
    declared = chapter_params(number)
    unknown = sorted(set(params) - set(table))
    if unknown:
        raise ConfigError(
            f"unknown parameter {unknown[0]!r} for chapter {number}; it accepts: {', '.join(sorted(table))}")
    values = dict(table)
    for name, value in params.items():
        if value is not None:
            values[name] = value
    values = {name: declared[name].check(name, value) for name, value in values.items()}
    module = chapter_module(number)
    if hasattr(module, "check"):
        module.check(values)
    check_data(values)
    check_memory(values, widths=width_params(number))
    seed = _SEED.check("seed", seed)
    out = Path(results_dir) if results_dir else default_results_dir(number)
    return Config(number, preset, resolve_device(device), seed, out, values)


def _same(value: Any, book: Any) -> bool:
    """Whether `value` is the book value itself (same type: True is not 1, 1 is not 1.0)."""
    if isinstance(value, (list, tuple)) and isinstance(book, list):
        return len(value) == len(book) and all(_same(v, b) for v, b in zip(value, book))
    return type(value) is type(book) and value == book


def width_params(chapter: str | int) -> list[str]:
    """Return the chapter's parameters declared as layer widths (`Int(width=True)`, or a list of them)."""
    out = []
    for name, p in chapter_params(chapter).items():
        rule = p.rule.rule if isinstance(p.rule, ListOf) else p.rule
        if isinstance(rule, Int) and rule.width:
            out.append(name)
    return out


def validate_value(chapter: str | int, name: str, value: Any) -> Any:
    """Return `value` checked against the rule of parameter `name` of `chapter` (or `seed`)."""
    number = chapter_number(chapter)
    if name == "seed":
        return _SEED.check(name, value)
    declared = chapter_params(number)
    if name not in declared:
        raise ConfigError(
            f"unknown parameter {name!r} for chapter {number}; it accepts: {', '.join(sorted(declared))}")
    return declared[name].check(name, value)


def parse_value(chapter: str | int, name: str, text: str) -> Any:
    """Return the command-line string `text` converted by the rule of parameter `name`, validated.

    Lists are comma-separated (`-p sweep_depths 4,6,8`); booleans are true/false/yes/no/1/0.
    """
    number = chapter_number(chapter)
    if name == "seed":
        return _SEED.parse(text, name)
    declared = chapter_params(number)
    if name not in declared:
        raise ConfigError(
            f"unknown parameter {name!r} for chapter {number}; it accepts: {', '.join(sorted(declared))}")
    return declared[name].parse(name, text)


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


def check_memory(values: dict[str, Any], limit: int | None = None, *, widths: Any = None) -> None:
    """Raise ConfigError when a layer width alone needs more memory than the machine has.

    `widths` names the width parameters among `values` (default: every name in `values`). A
    hidden-to-hidden weight matrix of width w takes 4 w^2 bytes in float32, three times over with its
    gradient and optimiser state: a lower bound of what training it costs.
    """
    limit = total_memory_bytes() if limit is None else limit
    for name in (values if widths is None else widths):
        value = values.get(name)
        for w in (value if isinstance(value, list) else [value]):
            if isinstance(w, int) and not isinstance(w, bool) and 12 * w * w > limit:
                raise ConfigError(f"{name}={w} needs at least {12 * w * w / 2**30:.0f} GiB for one weight "
                                  f"matrix with its gradient and optimiser state; this machine has "
                                  f"{limit / 2**30:.0f} GiB (lower {name})")


def resolve_notebook(chapter: str | int, namespace: dict[str, Any]) -> Config:
    """Return `resolve(...)` with preset, device, seed, results_dir and every chapter parameter read from
    `namespace`, a notebook's `globals()` after its `parameters` cell (absent names are None).

    The cell is generated with the book values (`layerwise params NN --write-cell`), so a value equal to
    its book value counts as unset and the preset decides it (`preset = "smoke"` gives the smoke values),
    unless its name is in `overrides` (the names `layerwise run|sweep -p` set: they are kept as given).
    A value edited in the cell to anything else wins at every preset.
    """
    number = chapter_number(chapter)
    declared = chapter_params(number)
    overrides = set(namespace.get("overrides") or ())
    params = {}
    for name, p in declared.items():
        value = namespace.get(name)
        params[name] = None if name not in overrides and _same(value, p.book) else value
    return resolve(number, namespace.get("preset", "book"), device=namespace.get("device", "auto"),
                   seed=namespace.get("seed", 0), results_dir=namespace.get("results_dir"), **params)
