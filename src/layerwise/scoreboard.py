"""The scoreboard: every chapter's claims with their verdicts, read from the executed chapters.

    rows = gather(chapters_dir, ["01", "02"])   # one Row per claim; a failed chapter is one failed row
    summary(rows)        # "7 of 11 claims reproduced at the book preset"
    to_markdown(rows)    # the site's scoreboard page (staged as book/scoreboard.md by `book.build_site`)
    to_text(rows)        # the same table in the terminal (`layerwise scoreboard`)

Each chapter run leaves `run.json` (status "ok" or "failed") and, when it got that far, `claims.json`
(the ledger) in `chapters_dir/<slug>/`. A chapter whose run failed, never ran, or saved no ledger is
shown as one row with verdict "failed", never left out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import config
from .claims import REPRODUCED, format_measured
from .io import read_json

FAILED = "failed"
COLUMNS = ("chapter", "claim", "source", "statement", "test", "measured", "verdict")


@dataclass(frozen=True)
class Row:
    """One claim of one chapter (or, with an empty `claim`, a chapter that produced no claims)."""

    chapter: str
    slug: str
    title: str
    preset: str
    claim: str
    statement: str
    source: str = ""
    test: str = ""
    measured: str = ""
    verdict: str = FAILED
    section: str = ""


def gather(chapters_dir: str | Path, numbers: Sequence[str]) -> list[Row]:
    """Return the scoreboard rows of chapters `numbers` from their results in `chapters_dir/<slug>/`."""
    rows: list[Row] = []
    for number in numbers:
        chapter = config.CHAPTERS[number]
        folder = Path(chapters_dir) / chapter.slug
        status, ledger = _read(folder / "run.json"), _read(folder / "claims.json")
        preset = str(status.get("preset", ""))
        if status.get("status") != "ok" or not ledger.get("claims"):
            if not status:
                why = "was not executed (run `layerwise book`)"
            elif status.get("status") != "ok":
                why = f"failed to execute: {status.get('error') or 'unknown error'}"
            else:
                why = "executed but saved no claims (claims.json missing or empty)"
            rows.append(Row(number, chapter.slug, chapter.title, preset, "", f"The chapter {why}"))
            continue
        for c in ledger["claims"]:
            rows.append(Row(number, chapter.slug, chapter.title, preset, c["id"], c["statement"], c["source"],
                            c["test"], format_measured(c["measured"]), c["verdict"], c.get("section", "")))
    return rows


def _read(path: Path) -> dict:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return {}


def summary(rows: Sequence[Row]) -> str:
    """Return the one-line summary: "N of M claims reproduced at the <preset> preset" (+ failed chapters)."""
    claims = [r for r in rows if r.claim]
    n = sum(r.verdict == REPRODUCED for r in claims)
    presets = sorted({r.preset for r in claims})
    where = f" at the {presets[0]} preset" if len(presets) == 1 else (
        f" at presets {', '.join(presets)}" if presets else "")
    text = f"{n} of {len(claims)} claims reproduced{where}"
    failed = [r.chapter for r in rows if not r.claim]
    if failed:
        text += f"; {len(failed)} chapter{'s' if len(failed) > 1 else ''} failed ({', '.join(failed)})"
    return text


def anchor(section: str) -> str:
    """Return the HTML id Sphinx gives a heading with text `section` ("2. The rate" -> "the-rate")."""
    text = re.sub(r"[^a-z0-9]+", "-", section.lower())
    return re.sub(r"^[-0-9]+|-+$", "", text)


def to_markdown(rows: Sequence[Row]) -> str:
    """Return the scoreboard page (MyST Markdown) with links to each chapter and claim section."""
    lines = ["# Scoreboard", "", f"**{summary(rows)}.**", "",
             "Every quantitative claim the chapters test, with the number measured when this site was "
             "built and its verdict. The table is generated from each chapter's `claims.json`; a "
             "chapter that failed to execute is listed as failed. Follow a chapter link to the "
             "section that measured the claim.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for r in rows:
        target = f"../notebooks/{r.slug}.html" + (f"#{anchor(r.section)}" if r.section else "")
        link = f'<a href="{target}">{r.chapter} {_escape(r.title)}</a>'
        verdict = r.verdict if r.verdict == REPRODUCED else f"**{r.verdict}**"
        cells = [link, f"`{r.claim}`" if r.claim else "", _escape(r.source), _escape(r.statement),
                 _code(r.test), _code(r.measured), verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    """Return `text` safe inside a Markdown table cell (no emphasis, math, HTML or column breaks)."""
    return re.sub(r"([\\`*_$<>\[\]|#])", r"\\\1", " ".join(str(text).split()))


def _code(text: str) -> str:
    """Return `text` as inline code in a table cell (a pipe inside code still needs its backslash)."""
    return "`" + " ".join(text.split()).replace("`", "'").replace("|", "\\|") + "`" if text else ""


def to_text(rows: Sequence[Row], width: int = 48) -> str:
    """Return the scoreboard as a plain-text table for the terminal (long cells shortened)."""
    table = [("chapter", "claim", "measured", "test", "verdict")]
    for r in rows:
        claim = r.claim or r.statement
        table.append((r.chapter, _cut(claim, width), _cut(r.measured, 28), _cut(r.test, 24), r.verdict))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    body = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    return "\n".join([summary(rows), "", *body]) + "\n"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
