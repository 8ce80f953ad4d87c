"""Generated parameters cells: a notebook's `tags=["parameters"]` cell written from the chapter's PARAMS.

    layerwise params 05 --write-cell       rewrite notebooks/05_*.py's parameters cell, sync the .ipynb
    layerwise params all --write-cell      every chapter

The cell lists `preset`, `device`, `seed`, `results_dir`, `overrides`, then every declared parameter as
`name = <book value>  # help`, in declaration order, keeping the comment lines that group them today. A
reader (and `papermill --help-notebook`) sees values and help, not `= None`. `config.resolve_notebook`
treats a value equal to the book value as unset, so `preset = "smoke"` (or papermill's `-p preset smoke`)
still takes the smoke values; a value edited in the cell wins, and so does every name listed in
`overrides` (`layerwise run|sweep` list there what `-p` set, so `-p depth <book value>` at smoke keeps it).
`tests/test_cells.py` holds every chapter's cell equal to its declarations.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from .chapters import CHAPTERS, chapter_number, chapter_params
from .params import ConfigError, Param

MARKER = '# %% tags=["parameters"]'
HEAD = "# generated from chapters/ch{number}.py (layerwise params {number} --write-cell); book values follow preset"
FIXED = ['preset = "book"', 'device = "auto"', "seed = 0", "results_dir = None",
         "overrides = []  # names set with -p (papermill injects them): kept even where they equal the book value"]
_ASSIGN = re.compile(r"^([A-Za-z_]\w*)\s*=")


def render(value: Any) -> str:
    """Return `value` as Python source: strings in double quotes, lists of those, numbers as repr."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return repr(value)


def cell_lines(number: str, params: dict[str, Param], headers: dict[str, list[str]] | None = None) -> list[str]:
    """Return the lines of the parameters cell of chapter `number` (no cell marker).

    headers: {name: comment lines to write before that parameter} (the groups of the current cell).
    """
    headers = headers or {}
    lines = [HEAD.format(number=number), *FIXED]
    for name, p in params.items():
        lines += headers.get(name, [])
        lines.append(f"{name} = {render(p.book)}  # {comment(p.help)}")
    return lines


def comment(help: str) -> str:
    """Return `help` for the comment after a value: papermill reads `name = value  # help` but gives up on a
    line with a second "=", so >=, <=, != become ≥, ≤, ≠ and a lone = the full-width ＝."""
    for old, new in ((">=", "≥"), ("<=", "≤"), ("!=", "≠"), ("=", "＝")):
        help = help.replace(old, new)
    return help


def notebook_source(number: str, root: Path) -> Path:
    """Return notebooks/<slug>.py of chapter `number` under the book folder `root`."""
    return Path(root) / "notebooks" / f"{CHAPTERS[number].slug}.py"


def find_cell(text: str) -> tuple[int, int]:
    """Return (first, end) line indices of the parameters cell body in a percent-format notebook `text`
    (the lines after the marker up to the next cell, trailing blank lines excluded)."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.strip() == MARKER]
    if len(starts) != 1:
        raise ConfigError(f"expected one line {MARKER!r} in the notebook, found {len(starts)}")
    first = starts[0] + 1
    end = first
    while end < len(lines) and not lines[end].startswith("# %%"):
        end += 1
    while end > first and not lines[end - 1].strip():
        end -= 1
    return first, end


def current_headers(body: list[str]) -> dict[str, list[str]]:
    """Return {name: the comment lines right before it} from a parameters cell body (the generated head and
    the fixed lines excluded)."""
    headers: dict[str, list[str]] = {}
    pending: list[str] = []
    for line in body:
        stripped = line.strip()
        if stripped.startswith("# generated from chapters/"):
            continue
        if stripped.startswith("#"):
            pending.append(stripped)
            continue
        match = _ASSIGN.match(stripped)
        if match:
            if match.group(1) not in ("preset", "device", "seed", "results_dir", "overrides") and pending:
                headers[match.group(1)] = pending
            pending = []
    return headers


def expected_cell(chapter: str | int, root: Path) -> tuple[list[str], list[str]]:
    """Return (current body lines, generated body lines) of the chapter's parameters cell."""
    number = chapter_number(chapter)
    lines = notebook_source(number, root).read_text(encoding="utf-8").split("\n")
    first, end = find_cell("\n".join(lines))
    body = lines[first:end]
    return body, cell_lines(number, chapter_params(number), current_headers(body))


def write_cell(chapter: str | int, root: Path, *, sync: bool = True) -> bool:
    """Rewrite the chapter's parameters cell from its declarations (and sync the paired .ipynb with
    jupytext); return whether the .py changed."""
    number = chapter_number(chapter)
    path = notebook_source(number, root)
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    first, end = find_cell(text)
    new = cell_lines(number, chapter_params(number), current_headers(lines[first:end]))
    changed = lines[first:end] != new
    if changed:
        path.write_text("\n".join(lines[:first] + new + lines[end:]), encoding="utf-8")
    if sync:
        proc = subprocess.run([sys.executable, "-m", "jupytext", "--sync", "--quiet", str(path)], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise ConfigError(f"jupytext --sync {path} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return changed
