"""The scoreboard: every chapter's claims with their verdicts, read from the executed chapters.

    rows = gather(chapters_dir, ["01", "02"])   # one Row per claim; a failed chapter is one failed row
    summary(rows)        # "7 of 11 claims reproduced, 2 not reproduced, 2 inconclusive at the book preset"
    to_markdown(rows)    # the site's scoreboard page (staged as book/scoreboard.md by `book.build_site`)
    to_text(rows)        # the same table in the terminal (`layerwise scoreboard`)

Each chapter run leaves `run.json` (status "ok" or "failed") and, when it got that far, `claims.json`
(the ledger) in `chapters_dir/<slug>/`. A chapter whose run failed, never ran, or saved no ledger is
shown as one row with verdict "failed", never left out. Sanity entries (identities, code against
references) are gathered apart (`gather_sanity`) and never counted as claims.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import config
from .claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, VERDICTS, anchor, format_measured
from .io import read_json

FAILED = "failed"
COLUMNS = ("chapter", "claim", "measured", "control", "verdict")


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
    control: str = ""
    reason: str = ""
    kind: str = "claim"


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
            rows.append(_row(number, chapter, preset, c))
    return rows


def gather_sanity(chapters_dir: str | Path, numbers: Sequence[str]) -> list[Row]:
    """Return the sanity entries of chapters `numbers` (verdict "ok" or "FAILED"), one Row each."""
    rows = []
    for number in numbers:
        chapter = config.CHAPTERS[number]
        ledger = _read(Path(chapters_dir) / chapter.slug / "claims.json")
        preset = str(ledger.get("preset", ""))
        rows += [_row(number, chapter, preset, e) for e in ledger.get("sanity", [])]
    return rows


def _row(number: str, chapter, preset: str, c: dict) -> Row:
    control = c.get("control") or {}
    return Row(number, chapter.slug, chapter.title, preset, c["id"], c["statement"], c["source"],
               _test_text(c["test"]), c["measured"] if isinstance(c["measured"], str) else format_measured(c["measured"]),
               c["verdict"], c.get("section", ""),
               f"{control['name']}: {control['measured']}" if control else "", c.get("reason", ""),
               c.get("kind", "claim"))


def _test_text(test) -> str:
    return "; ".join(f"{k}: {t}" for k, t in test.items()) if isinstance(test, dict) else str(test)


def _read(path: Path) -> dict:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return {}


def counts(rows: Sequence[Row]) -> dict[str, int]:
    """Return the number of claims per verdict (failed chapters not counted)."""
    return {v: sum(r.claim != "" and r.verdict == v for r in rows) for v in VERDICTS}


def summary(rows: Sequence[Row]) -> str:
    """Return the one-line summary: "N of M claims reproduced, K not reproduced, J inconclusive at the
    <preset> preset" (+ failed chapters)."""
    claims = [r for r in rows if r.claim]
    n = counts(rows)
    presets = sorted({r.preset for r in claims})
    where = f" at the {presets[0]} preset" if len(presets) == 1 else (
        f" at presets {', '.join(presets)}" if presets else "")
    text = (f"{n[REPRODUCED]} of {len(claims)} claims reproduced, {n[NOT_REPRODUCED]} not reproduced, "
            f"{n[INCONCLUSIVE]} inconclusive{where}")
    failed = [r.chapter for r in rows if not r.claim]
    if failed:
        text += f"; {len(failed)} chapter{'s' if len(failed) > 1 else ''} failed ({', '.join(failed)})"
    return text


def to_markdown(rows: Sequence[Row], sanity: Sequence[Row] = ()) -> str:
    """Return the scoreboard page (MyST Markdown): claims with links to their sections, then sanity."""
    lines = ["# Scoreboard", "", f"**{summary(rows)}.**", "",
             "Every claim about trained networks or data that the chapters test, with the values measured "
             "when this site was built (one per seed), the control measured in the same run with the same "
             "test, and the verdict with its reason. A claim whose control passes too, whose seeds disagree "
             "or whose verdict rests on ties is inconclusive. Generated from each chapter's `claims.json`; "
             "a chapter that failed to execute is listed as failed. Identities and implementation checks "
             "are sanity checks, listed at the end: they never count as reproductions.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(_cells(r)) + " |")
    if sanity:
        bad = [r for r in sanity if r.verdict != "ok"]
        lines += ["", "## Sanity checks", "", f"{len(sanity) - len(bad)} of {len(sanity)} pass.", "",
                  "| chapter | check | measured | result |", "| --- | --- | --- | --- |"]
        for r in sanity:
            lines.append(f"| {_link(r)} | `{r.claim}`: {_escape(r.statement)} | {_code(r.measured)} | {r.verdict} |")
    return "\n".join(lines) + "\n"


def _link(r: Row) -> str:
    target = f"../notebooks/{r.slug}.html" + (f"#{anchor(r.section)}" if r.section else "")
    return f'<a href="{target}">{r.chapter}</a>'


def _cells(r: Row) -> list[str]:
    verdict = r.verdict if r.verdict == REPRODUCED else f"**{r.verdict}**"
    claim = (f"`{r.claim}` {_escape(r.statement)} ({_escape(r.source)}; test {_code(r.test)})" if r.claim
             else _escape(r.statement))
    reason = f"<br>{_escape(r.reason)}" if r.reason else ""
    return [_link(r), claim, _code(r.measured), _escape(r.control), verdict + reason]


def _escape(text: str) -> str:
    """Return `text` safe inside a Markdown table cell (no emphasis, math, HTML or column breaks)."""
    return re.sub(r"([\\`*_$<>\[\]|#])", r"\\\1", " ".join(str(text).split()))


def _code(text: str) -> str:
    """Return `text` as inline code in a table cell (a pipe inside code still needs its backslash)."""
    return "`" + " ".join(text.split()).replace("`", "'").replace("|", "\\|") + "`" if text else ""


def to_text(rows: Sequence[Row], width: int = 48) -> str:
    """Return the scoreboard as a plain-text table for the terminal (long cells shortened)."""
    table = [("chapter", "claim", "measured", "control", "verdict")]
    for r in rows:
        claim = r.claim or r.statement
        table.append((r.chapter, _cut(claim, width), _cut(r.measured, 28), _cut(r.control, 28), r.verdict))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    body = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    return "\n".join([summary(rows), "", *body]) + "\n"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
