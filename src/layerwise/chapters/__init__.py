"""The chapter registry, and one module per chapter (`ch01`, `ch02`, ... `ch07`).

Each `chNN` module declares its parameters as `PARAMS = dict(name=Param(book, help, rule=..., smoke=...,
paper=...))` (see `layerwise.params`) and `check(values)`, the rules that involve two or more parameters,
run by `config.resolve` before any work. The helpers that decide a chapter's verdicts live there too.
A `chNN` module imports `layerwise.params`, never `layerwise.config`; `metrics` never imports this
package.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from ..params import ConfigError, Param


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


def chapter_number(chapter: str | int) -> str:
    """Return the two-digit number of a chapter given as 1, "1", "01" or its slug."""
    text = str(chapter)
    number = text.split("_", 1)[0]
    number = number.zfill(2) if number.isdigit() else number.zfill(3)
    if number not in CHAPTERS:
        known = ", ".join(f"{c.number} ({c.slug})" for c in CHAPTERS.values())
        raise ConfigError(f"unknown chapter {chapter!r}; the chapters are: {known}")
    return number


def chapter_module(chapter: str | int) -> ModuleType:
    """Return the module `layerwise.chapters.chNN` that declares the chapter's parameters and rules."""
    return importlib.import_module(f"{__name__}.ch{chapter_number(chapter)}")


def chapter_params(chapter: str | int) -> dict[str, Param]:
    """Return the chapter's declared parameters {name: Param}, in the order the chapter lists them."""
    return dict(chapter_module(chapter).PARAMS)
