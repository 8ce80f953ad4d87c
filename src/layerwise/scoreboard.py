"""The scoreboard: every chapter's claims with their verdicts, read from the executed chapters.

    rows = gather(chapters_dir, ["01", "02"])   # one Row per claim; a failed chapter is one failed row
    summary(rows)        # "7 of 11 claims reproduced, 2 not reproduced, 2 inconclusive at the book preset"
    to_markdown(rows)    # the site's scoreboard page (staged as book/scoreboard.md by `book.build_site`)
    chapter_lines(rows)  # one line per chapter (the front page)
    verdict_box(claims)  # the results box at the top of a chapter page (and `Ledger.verdict_box`)
    to_text(rows)        # the same table in the terminal (`layerwise scoreboard`)
    compare(a, b)        # the claims whose verdict differs between two builds (`--against`)

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


VERDICT_COLORS = {REPRODUCED: "#3b8c5a", NOT_REPRODUCED: "#c8384d", INCONCLUSIVE: "#d9a031", FAILED: "#8a8a8a"}
INTRO = ("Every claim about trained networks or data that the chapters test, with the values measured when "
         "this site was built (one per seed), the control measured in the same run with the same test, and "
         "the verdict with its reason. A claim whose control passes too, whose seeds disagree or whose verdict "
         "rests on ties is inconclusive. Generated from each chapter's `claims.json`; a chapter that failed to "
         "execute is listed as failed. Identities and implementation checks are sanity checks, listed at the "
         "end: they never count as reproductions.")


def to_markdown(rows: Sequence[Row], sanity: Sequence[Row] = ()) -> str:
    """Return the scoreboard page (MyST Markdown): the headline (a line and a chart of claims by verdict
    per chapter), one section per chapter with a table of its claims (each linked to the section that
    measured it), then the sanity checks. Tables are HTML with three columns, so they fit the article."""
    lines = ["# Scoreboard", "", f"**{summary(rows)}.**", "", INTRO, "", _chart_block(rows), ""]
    for number in dict.fromkeys(r.chapter for r in rows):
        group = [r for r in rows if r.chapter == number]
        first = group[0]
        lines += [f"## {first.chapter} {first.title}", "",
                  f'<p class="lw-chapter-line">{_chapter_counts(group)} (<a href="../notebooks/{first.slug}.html">'
                  "the chapter</a>)</p>", "",
                  '<table class="lw-scoreboard"><colgroup><col style="width:46%"><col style="width:30%">'
                  '<col style="width:24%"></colgroup>',
                  "<thead><tr><th>claim</th><th>measured, control</th><th>verdict</th></tr></thead><tbody>"]
        lines += [_row_html(r) for r in group]
        lines += ["</tbody></table>", ""]
    if sanity:
        bad = [r for r in sanity if r.verdict != "ok"]
        lines += ["## Sanity checks", "", f"{len(sanity) - len(bad)} of {len(sanity)} pass. Identities, code "
                  "against a reference and closed forms: a failing one is a bug and fails its chapter's run.", "",
                  '<table class="lw-scoreboard"><colgroup><col style="width:8%"><col style="width:52%">'
                  '<col style="width:30%"><col style="width:10%"></colgroup>',
                  "<thead><tr><th>chapter</th><th>check</th><th>measured, test</th><th>result</th></tr></thead><tbody>"]
        for r in sanity:
            lines.append(f"<tr><td>{_link(r)}</td><td><code>{_h(r.claim)}</code> {_h(r.statement)}</td>"
                         f"<td><code>{_h(r.measured)}</code><br><small>test <code>{_h(r.test)}</code></small></td>"
                         f"<td>{_h(r.verdict)}</td></tr>")
        lines += ["</tbody></table>", ""]
    return "\n".join(lines) + "\n"


def _chapter_counts(rows: Sequence[Row]) -> str:
    failed = [r for r in rows if not r.claim]
    if failed:
        return "failed: " + _h(failed[0].statement)
    n = counts(rows)
    return (f"{n[REPRODUCED]} reproduced, {n[NOT_REPRODUCED]} not reproduced, {n[INCONCLUSIVE]} inconclusive "
            f"of {len(rows)} claim{'s' if len(rows) != 1 else ''}")


def chapter_lines(rows: Sequence[Row]) -> list[str]:
    """Return one Markdown list item per chapter: its title, linked, and its claims by verdict."""
    out = []
    for number in dict.fromkeys(r.chapter for r in rows):
        group = [r for r in rows if r.chapter == number]
        r = group[0]
        out.append(f'- <a href="../notebooks/{r.slug}.html">{r.chapter} {_h(r.title)}</a>: {_chapter_counts(group)}')
    return out


def _row_html(r: Row) -> str:
    if not r.claim:
        return f'<tr><td colspan="2">{_h(r.statement)}</td><td><strong>{FAILED}</strong></td></tr>'
    where = f' <a href="{_target(r)}">&sect;&nbsp;{_h(r.section)}</a>' if r.section else ""
    claim = (f"<strong>{_h(r.statement)}</strong><br><small><code>{_h(r.claim)}</code> &middot; {_h(r.source)} "
             f"&middot; test <code>{_h(r.test)}</code>{where}</small>")
    control = f"<br><small>control {_h(r.control)}</small>" if r.control else ""
    verdict = (f'<span class="lw-verdict" style="color:{VERDICT_COLORS.get(r.verdict, "inherit")}">'
               f"<strong>{_h(r.verdict)}</strong></span>")
    reason = f"<br><small>{_h(r.reason)}</small>" if r.reason else ""
    return f"<tr><td>{claim}</td><td><code>{_h(r.measured)}</code>{control}</td><td>{verdict}{reason}</td></tr>"


def _chart_block(rows: Sequence[Row]) -> str:
    """Return the headline chart (claims by verdict, per chapter) as a raw HTML block."""
    from . import charts

    data = [{"chapter": f"{r.chapter} {r.title}", "verdict": r.verdict if r.claim else FAILED,
             "order": list(VERDICT_COLORS).index(r.verdict if r.claim else FAILED)} for r in rows]
    html = charts.site_html(charts.verdict_bars(data, VERDICT_COLORS).to_dict(), id_prefix="lw-scoreboard")
    return "\n".join(line for line in html.splitlines() if line.strip())


def _target(r: Row) -> str:
    return f"../notebooks/{r.slug}.html" + (f"#{anchor(r.section)}" if r.section else "")


def _link(r: Row) -> str:
    return f'<a href="{_target(r)}">{r.chapter}</a>'


def _h(text: str) -> str:
    """Return `text` escaped for HTML, on one line."""
    import html

    return html.escape(" ".join(str(text).split()))


def verdict_box(claims: Sequence[dict], *, preset: str = "") -> str:
    """Return the results box at the top of a chapter (MyST Markdown): its claims grouped by verdict,
    each linked to the section that measured it. `claims` are claims.json's entries (dicts)."""
    n = {v: sum(c["verdict"] == v for c in claims) for v in VERDICTS}
    at = f" at the {preset} preset" if preset else ""
    lines = [f":::{{admonition}} Results{at}: {n[REPRODUCED]} reproduced, {n[NOT_REPRODUCED]} not reproduced, "
             f"{n[INCONCLUSIVE]} inconclusive", ":class: lw-verdicts", ""]
    if not claims:
        lines.append("This run recorded no claims.")
    for verdict in VERDICTS:
        group = [c for c in claims if c["verdict"] == verdict]
        if not group:
            continue
        lines.append(f"**{verdict.capitalize()}** ({len(group)})")
        lines.append("")
        for c in group:
            where = f' (<a href="#{anchor(c["section"])}">{_h(c["section"])}</a>)' if c.get("section") else ""
            lines.append(f"- {' '.join(c['statement'].split())}{where}")
        lines.append("")
    lines += ["Values, controls and reasons: the closing section and the [scoreboard](../book/scoreboard.md).",
              ":::", ""]
    return "\n".join(lines)


def compare(before: Sequence[Row], after: Sequence[Row]) -> list[tuple[str, str, str, str]]:
    """Return (chapter, claim, verdict before, verdict after) for every claim whose verdict differs
    between two builds; a claim only in one build has "absent" in the other, a failed chapter "failed"."""
    def verdicts(rows):
        return {(r.chapter, r.claim or "(chapter)"): (r.verdict if r.claim else FAILED) for r in rows}

    old, new = verdicts(before), verdicts(after)
    keys = list(dict.fromkeys([*old, *new]))
    return [(c, k, old.get((c, k), "absent"), new.get((c, k), "absent")) for c, k in keys
            if old.get((c, k), "absent") != new.get((c, k), "absent")]


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
