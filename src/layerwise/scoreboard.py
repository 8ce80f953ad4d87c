"""The scoreboard: every chapter's claims with their verdicts, read from the executed chapters.

    rows = gather(chapters_dir, ["01", "02"])   # one Row per claim; a failed chapter is one failed row
    summary(rows)        # "7 of 11 claims reproduced, 2 not reproduced, 2 inconclusive at the book preset"
    to_markdown(rows)    # the site's scoreboard page (staged as book/scoreboard.md by `book.build_site`)
    chapter_lines(rows)  # one line per chapter (the front page)
    chapter_top(ledger)  # "What we found" and the verdict box, for the top of a chapter page (from claims.json)
    verdict_box(claims)  # the verdict box alone: one line per claim, headline claims first, the rest folded
    to_text(rows)        # the same table in the terminal (`layerwise scoreboard`)
    compare(a, b)        # the claims whose verdict differs between two builds (`--against`, `replicate`)

Each chapter run leaves `run.json` (status "ok" or "failed") and, when it got that far, `claims.json`
(the ledger) in `chapters_dir/<slug>/`. A chapter whose run failed, never ran, or saved no ledger is
shown as one row with verdict "failed", never left out. Sanity entries (identities, code against
references) are gathered apart (`gather_sanity`) and never counted as claims. When `layerwise replicate`
(or `book --replicate`) has rerun a chapter on a disjoint seed set into `_build/replicate/NN/`, each row
says whether its verdict replicated ("same", "changed: A -> B" or "not replicated").

The scoreboard page has one table of claims, `<table class="lw-scoreboard lw-claims">` (the sanity
checks follow in `<table class="lw-scoreboard lw-sanity">`, rows without data attributes), one `<tr>`
per claim with the attributes `data-chapter` ("01", "03b"), `data-verdict` (reproduced, not
reproduced, supported, not supported, inconclusive, failed), `data-provenance` (paper, authors,
reconstruction, book, unspecified), `data-replicated` (same, changed, not replicated) and
`data-headline` (true, false); its columns are chapter, claim, verdict, measured vs threshold,
control, seeds, provenance, reading, replicated. The site's filter and sort script is written against
exactly these.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from . import config
from .claims import (INCONCLUSIVE, NOT_REPRODUCED, NOT_SUPPORTED, REPRODUCED, SUPPORTED, VERDICTS, anchor,
                     figure_anchor, format_measured, summary_line)
from .io import read_json

FAILED = "failed"
NOT_REPLICATED = "not replicated"
PROVENANCE_WORDS = {"paper": "paper", "authors": "authors' output", "reconstruction": "reconstruction",
                    "book": "this book", "unspecified": "provenance unspecified", "": "provenance unspecified"}


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
    provenance: str = ""
    value: str = ""
    tally: str = ""
    explain: str = ""
    figure: str = ""
    headline: bool = False
    decide: str = ""
    control_value: str = ""
    replicated: str = NOT_REPLICATED


def gather(chapters_dir: str | Path, numbers: Sequence[str], *, replicate_dir: str | Path | None = None) -> list[Row]:
    """Return the scoreboard rows of chapters `numbers` from their results in `chapters_dir/<slug>/`.

    `replicate_dir` (default: `replicate` beside `chapters_dir`, i.e. `_build/replicate`) holds the
    replications `NN/`; each row's `replicated` says whether its verdict held there.
    """
    chapters_dir = Path(chapters_dir)
    replicate_dir = Path(replicate_dir) if replicate_dir is not None else chapters_dir.parent / "replicate"
    rows: list[Row] = []
    for number in numbers:
        folder = chapters_dir / config.CHAPTERS[number].slug
        own = read_chapter(number, folder)
        rows += _with_replication(own, number, folder, replicate_dir / number)
    return rows


def read_chapter(number: str, folder: str | Path) -> list[Row]:
    """Return the rows of one executed chapter in `folder` (run.json, claims.json): one per claim, or one
    failed row when the run failed, never ran, or saved no claims."""
    chapter = config.CHAPTERS[number]
    folder = Path(folder)
    status, ledger = _read(folder / "run.json"), _read(folder / "claims.json")
    preset = str(status.get("preset", ""))
    if status.get("status") != "ok" or not ledger.get("claims"):
        if not status:
            why = "was not executed (run `layerwise book`)"
        elif status.get("status") != "ok":
            why = f"failed to execute: {status.get('error') or 'unknown error'}"
        else:
            why = "executed but saved no claims (claims.json missing or empty)"
        return [Row(number, chapter.slug, chapter.title, preset, "", f"The chapter {why}")]
    return [_row(number, chapter, preset, c) for c in ledger["claims"]]


def _with_replication(rows: list[Row], number: str, book_folder: Path, folder: Path) -> list[Row]:
    """Return `rows` with `replicated` filled from the replication in `folder` (when it replicated this
    very book run: `replicated.json` records the book run's hash)."""
    record = _read(folder / REPLICATED_FILE)
    if not record or record.get("book_hash") != _read(book_folder / "run.json").get("hash"):
        return rows
    other = {r.claim: r.verdict for r in read_chapter(number, folder) if r.claim}
    if not other:
        return [replace(r, replicated="replication failed") if r.claim else r for r in rows]
    out = []
    for r in rows:
        if not r.claim:
            out.append(r)
            continue
        again = other.get(r.claim)
        out.append(replace(r, replicated="same" if again == r.verdict else f"changed: {r.verdict} -> {again}"
                           if again else "absent in the replication"))
    return out


REPLICATED_FILE = "replicated.json"


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
    measured = c["measured"] if isinstance(c["measured"], str) else format_measured(c["measured"])
    passes, seeds = c.get("passes"), c.get("seeds")
    tally = (f"{passes}/{seeds} seeds pass" if passes is not None else f"{seeds} seeds" if seeds else "")
    if c.get("censored"):
        tally += f", {c['censored']} censored"
    return Row(number, chapter.slug, chapter.title, preset, c["id"], c["statement"], c.get("source", ""),
               _test_text(c["test"]), measured, c["verdict"], c.get("section", ""),
               f"{control['name']}: {control['measured']}" if control else "", c.get("reason", ""),
               c.get("kind", "claim"), c.get("provenance", "") or "unspecified", c.get("value", "") or "", tally,
               c.get("explain", "") or "", c.get("figure", "") or "", bool(c.get("headline")),
               c.get("decide", "") or "",
               f"{control['name']} {control.get('value') or control.get('measured', '')}".strip() if control else "")


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
    text = summary_line(n, len(claims)) + where
    failed = [r.chapter for r in rows if not r.claim]
    if failed:
        text += f"; {len(failed)} chapter{'s' if len(failed) > 1 else ''} failed ({', '.join(failed)})"
    return text


VERDICT_COLORS = {REPRODUCED: "#3b8c5a", SUPPORTED: "#2f7f9e", NOT_REPRODUCED: "#c8384d", NOT_SUPPORTED: "#9e4f8a",
                  INCONCLUSIVE: "#d9a031", FAILED: "#8a8a8a"}
INTRO = ("Every claim about trained networks or data that the chapters test: what was measured against which "
         "threshold, what the control (measured in the same run, judged by the same rule) gave, on how many seeds, "
         "where the claim comes from, and its verdict. Claims from a paper, the authors' output or our reconstruction "
         "are reproduced or not reproduced; this book's own hypotheses are supported or not supported; any claim can "
         "be inconclusive, and then the chapter says what would decide it. Intervals are 95%. Generated from each "
         "chapter's `claims.json`; a chapter that failed to execute is listed as failed. Identities and "
         "implementation checks are sanity checks, listed at the end: they never count as claims.")
COLUMNS = ("chapter", "claim", "verdict", "measured vs threshold", "control", "seeds", "provenance", "reading",
           "replicated")
_WIDTHS = (5, 21, 9, 15, 13, 7, 8, 14, 8)  # percent of the table's width, per column


def to_markdown(rows: Sequence[Row], sanity: Sequence[Row] = ()) -> str:
    """Return the scoreboard page (MyST Markdown): the headline (a line and a chart of claims by verdict per
    chapter), one line per chapter, then one table of every claim (`class="lw-scoreboard"`, a `<tr>` per
    claim with data-chapter, data-verdict, data-provenance, data-replicated and data-headline; see the
    module docstring), then the sanity checks."""
    lines = ["# Scoreboard", "", f"**{summary(rows)}.**", "", INTRO, "", _chart_block(rows), "",
             *chapter_lines(rows), "",
             '<table class="lw-scoreboard lw-claims"><colgroup>' + "".join(f'<col style="width:{w}%">' for w in _WIDTHS)
             + "</colgroup>",
             "<thead><tr>" + "".join(f"<th>{c}</th>" for c in COLUMNS) + "</tr></thead><tbody>"]
    lines += [_row_html(r) for r in rows]
    lines += ["</tbody></table>", ""]
    if sanity:
        bad = [r for r in sanity if r.verdict != "ok"]
        lines += ["## Sanity checks", "", f"{len(sanity) - len(bad)} of {len(sanity)} pass. Identities, code "
                  "against a reference and closed forms: a failing one is a bug and fails its chapter's run.", "",
                  '<table class="lw-scoreboard lw-sanity"><colgroup><col style="width:8%"><col style="width:52%">'
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
    words = [f"{n[REPRODUCED]} reproduced", f"{n[NOT_REPRODUCED]} not reproduced"]
    words += [f"{n[v]} {v}" for v in (SUPPORTED, NOT_SUPPORTED) if n[SUPPORTED] or n[NOT_SUPPORTED]]
    return f"{', '.join(words)}, {n[INCONCLUSIVE]} inconclusive of {len(rows)} claim{'s' if len(rows) != 1 else ''}"


def chapter_lines(rows: Sequence[Row]) -> list[str]:
    """Return one Markdown list item per chapter: its title, linked, and its claims by verdict."""
    out = []
    for number in dict.fromkeys(r.chapter for r in rows):
        group = [r for r in rows if r.chapter == number]
        r = group[0]
        out.append(f'- <a href="../notebooks/{r.slug}.html">{r.chapter} {_h(r.title)}</a>: {_chapter_counts(group)}')
    return out


def _row_html(r: Row) -> str:
    """Return one claim's `<tr>` of the scoreboard table (a failed chapter: one row spanning the columns)."""
    if not r.claim:
        return (f'<tr data-chapter="{_h(r.chapter)}" data-verdict="{FAILED}" data-provenance="" '
                f'data-replicated="{NOT_REPLICATED}" data-headline="false"><td>{_link(r)}</td>'
                f'<td colspan="{len(COLUMNS) - 2}">{_h(r.statement)}</td><td><strong>{FAILED}</strong></td></tr>')
    replicated = "changed" if r.replicated.startswith("changed") else (
        "same" if r.replicated == "same" else NOT_REPLICATED)
    attrs = (f'data-chapter="{_h(r.chapter)}" data-verdict="{_h(r.verdict)}" data-provenance="{_h(r.provenance)}" '
             f'data-replicated="{replicated}" data-headline="{"true" if r.headline else "false"}"')
    figure = f' &middot; <a href="{_page(r)}#{figure_anchor(r.figure)}">figure</a>' if r.figure else ""
    claim = (f'<a href="{_target(r)}">{_h(r.statement)}</a><br><small><code>{_h(r.claim)}</code>'
             + (f" &middot; {_h(r.source)}" if r.source else "") + f"{figure}</small>")
    verdict = (f'<span class="lw-verdict" style="color:{VERDICT_COLORS.get(r.verdict, "inherit")}">'
               f"<strong>{_h(r.verdict)}</strong></span>")
    if r.decide:
        verdict += f"<br><small>decide: {_h(r.decide)}</small>"
    measured = _h(r.value or r.measured) + (f" <small>vs</small> <code>{_h(r.test)}</code>" if r.test else "")
    cells = [_link(r), claim, verdict, measured, _h(r.control_value or r.control), _h(r.tally),
             _h(PROVENANCE_WORDS.get(r.provenance, r.provenance)), _h(r.explain), _h(r.replicated)]
    return f"<tr {attrs}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _chart_block(rows: Sequence[Row]) -> str:
    """Return the headline chart (claims by verdict, per chapter) as a raw HTML block."""
    from . import charts

    data = [{"chapter": f"{r.chapter} {r.title}", "verdict": r.verdict if r.claim else FAILED,
             "order": list(VERDICT_COLORS).index(r.verdict if r.claim else FAILED)} for r in rows]
    html = charts.site_html(charts.verdict_bars(data, VERDICT_COLORS).to_dict(), id_prefix="lw-scoreboard")
    return "\n".join(line for line in html.splitlines() if line.strip())


def _page(r: Row) -> str:
    return f"../notebooks/{r.slug}.html"


def _target(r: Row) -> str:
    return _page(r) + (f"#{anchor(r.section)}" if r.section else "")


def _link(r: Row) -> str:
    return f'<a href="{_target(r)}">{r.chapter}</a>'


def _h(text: str) -> str:
    """Return `text` escaped for HTML, on one line."""
    import html

    return html.escape(" ".join(str(text).split()))


SHOWN_HEADLINES = 3  # verdict-box lines shown unfolded


def verdict_box(claims: Sequence[dict], *, preset: str = "") -> str:
    """Return the verdict box at the top of a chapter (MyST Markdown) from claims.json's claim entries:
    the tally, then one line per claim in words (verdict; statement: measured, seeds; control; provenance;
    links to its section and figure), the headline claims first and the rest folded in a <details>."""
    n = {v: sum(c["verdict"] == v for c in claims) for v in VERDICTS}
    at = f" at the {preset} preset" if preset else ""
    tally = ", ".join(f"{n[v]} {v}" for v in VERDICTS if n[v] or v in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE))
    lines = [f":::{{admonition}} Verdicts{at}: {tally}", ":class: lw-verdicts", ""]
    if not claims:
        lines.append("This run recorded no claims.")
    heads = [c for c in claims if c.get("headline")]
    rest = [c for c in claims if not c.get("headline")]
    if not heads:  # a chapter that marks no headline claims shows its first ones
        heads, rest = list(claims), []
    # at most three lines open, so section 1 starts within two screens; the rest folded
    heads, rest = heads[:SHOWN_HEADLINES], heads[SHOWN_HEADLINES:] + rest
    lines += [box_line(c) for c in heads] + [""]
    if rest:
        lines += [f"<details><summary>{len(rest)} more claim{'s' if len(rest) != 1 else ''}</summary>", ""]
        lines += [box_line(c) for c in rest] + ["", "</details>", ""]
    lines += ["Intervals are 95%. Every seed's value, the reasons and what would decide the inconclusive claims: "
              "the Summary at the end and the [scoreboard](../book/scoreboard.md).", ":::", ""]
    return "\n".join(lines)


def box_line(c: dict) -> str:
    """Return one claim's line in the verdict box: "- **verdict** · statement: measured, seeds; control
    · provenance · § section · figure" (links are HTML anchors within the chapter page)."""
    row = _row("", _NoChapter, "", c)
    if row.value.startswith("pass rate"):
        measured = row.value
    else:
        measured = ", ".join(x for x in (row.value, row.tally) if x) or row.measured  # old ledgers: per-seed values
    links = []
    if row.section:
        links.append(f'<a href="#{anchor(row.section)}">&sect;&nbsp;{_h(row.section)}</a>')
    if row.figure:
        links.append(f'<a href="#{figure_anchor(row.figure)}">figure</a>')
    tail = " &middot; ".join([_h(PROVENANCE_WORDS.get(row.provenance, row.provenance)), *links])
    control = f"; {_h(row.control_value)}" if row.control_value else ""
    return (f"- **{_h(row.verdict)}** &middot; {_h(row.statement)}: {_h(measured)}{control} &middot; {tail}")


class _NoChapter:
    slug = title = ""


def chapter_top(ledger: dict) -> str:
    """Return the top of a chapter page (MyST Markdown) from its claims.json (a dict): "What we found"
    (the ledger's findings) and the verdict box. The site stages it right after the chapter's question."""
    parts = []
    findings = (ledger or {}).get("findings")
    if findings:
        parts.append(f":::{{admonition}} What we found\n:class: lw-findings\n\n{findings.strip()}\n:::\n")
    parts.append(verdict_box((ledger or {}).get("claims", []), preset=(ledger or {}).get("preset", "")))
    return "\n".join(parts)


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
    """Return the scoreboard as a plain-text table for the terminal (long cells shortened); with a
    "replicated" column when any chapter was replicated."""
    replicated = any(r.claim and r.replicated != NOT_REPLICATED for r in rows)
    table = [("chapter", "claim", "measured", "control", "verdict") + (("replicated",) if replicated else ())]
    for r in rows:
        claim = r.claim or r.statement
        measured = r.value or r.measured
        table.append((r.chapter, _cut(claim, width), _cut(measured, 28), _cut(r.control_value or r.control, 28),
                      r.verdict) + ((r.replicated if r.claim else "",) if replicated else ()))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    body = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    return "\n".join([summary(rows), "", *body]) + "\n"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
