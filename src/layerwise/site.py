"""Stage the book's sources with the executed chapters and build the static site (Jupyter Book 1.x).

    _build/site-src/         the staged sources (copied, never edited in place): _config.yml, _toc.yml,
                             references.bib, book/ (with the generated scoreboard), _static/ (the
                             tracked styles and scripts plus the Vega bundle), notebooks/ (each executed
                             chapter laid out for the site by `lay_out`)
    _build/html/index.html   the site

A chapter page as staged: its opening Markdown cell, then "What we found" and the verdict box (from
claims.json), then the rest of the notebook; every chart drawn from its spec with stable element ids;
each `charts.figure` chart shown only where its `{glue:figure}` puts it.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import config, scoreboard
from .book import KERNELSPEC, SITE_DIRS, SITE_FILES, book_root, chapters_dir, discover
from .io import atomic_write_text, read_json


def build_site(*, root: str | Path | None = None, log=print) -> Path:
    """Stage the book sources with the executed chapters and build the HTML site; return index.html.

    Chapters that are missing or failed get a page that says so (never silently missing).
    """
    root = book_root(root)
    stage = root / "_build" / "site-src"
    (root / "_build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root / "_build", prefix=".site-src-") as fresh:
        _stage_sources(root, Path(fresh))
        _sync_tree(Path(fresh), stage)
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe if exe.exists() else "jupyter-book"), "build", str(stage), "--path-output", str(root),
           "-W", "-n", "--keep-going"]
    log("building the site: " + " ".join(cmd[1:]))
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return root / "_build" / "html" / "index.html"


def _stage_sources(root: Path, stage: Path) -> None:
    """Write the site's sources into the empty folder `stage`: pages, executed chapters, scoreboard."""
    for name in SITE_FILES:
        shutil.copy2(root / name, stage / name)
    for name in SITE_DIRS:
        if (root / name).is_dir():
            shutil.copytree(root / name, stage / name)
    (stage / "notebooks").mkdir()
    for number, chapter in config.CHAPTERS.items():
        if (root / "notebooks" / f"{chapter.slug}.py").is_file():
            _stage_chapter(number, root, stage)
    _stage_scoreboard(root, stage)
    (stage / "_static").mkdir(exist_ok=True)
    from .charts import vega_bundle_js

    atomic_write_text(stage / "_static" / "vega-bundle.js", vega_bundle_js())


def _sync_tree(src: Path, dst: Path) -> None:
    """Make `dst` a copy of `src`, rewriting only the files whose bytes changed.

    Unchanged files keep their old modification time, so Sphinx re-reads only the pages that changed
    (and a changed page always gets a new time, even when its source file is older).
    """
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(dst.rglob("*"), reverse=True):  # children before their folders
        if not (src / path.relative_to(dst)).exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        elif not target.is_file() or target.read_bytes() != path.read_bytes():
            shutil.copyfile(path, target)


def _stage_scoreboard(root: Path, stage: Path) -> None:
    """Write book/scoreboard.md; put "Findings at a glance" (and the tally) into the front page."""
    rows = scoreboard.gather(chapters_dir(root), discover(root))
    sanity = scoreboard.gather_sanity(chapters_dir(root), discover(root))
    board = tidy_html(scoreboard.to_markdown(rows, sanity))
    # the claims table takes the page's right margin too (the theme's `full-width`): nine columns fit
    board = re.sub(r'(<table class="lw-scoreboard(?: lw-claims)?".*?</table>)', r'<div class="full-width lw-board">\1</div>',
                   board, count=1, flags=re.S)
    atomic_write_text(stage / "book" / "scoreboard.md", board)
    intro = stage / "book" / "intro.md"
    if intro.is_file():
        text = intro.read_text(encoding="utf-8")
        block = findings_at_a_glance(root, rows)
        if FINDINGS_MARKER in text:
            head, _, tail = text.partition(FINDINGS_MARKER)
            text = head + block + tail.partition("\n")[2]
        else:
            title, _, rest = text.partition("\n")
            text = f"{title}\n\n{block}\n{rest}"
        atomic_write_text(intro, text)


FINDINGS_MARKER = "<!-- findings-at-a-glance"
GLANCE_GROUPS = (
    ("Published claims that hold", lambda c: c["verdict"] == "reproduced"),
    ("Published claims that fail", lambda c: c["verdict"] == "not reproduced"),
    ("The book's own questions", lambda c: c["verdict"] in ("supported", "not supported")),
    ("What this scale cannot decide", lambda c: c["verdict"] == "inconclusive"),
)


def findings_at_a_glance(root: Path, rows=None) -> str:
    """Return the front page's "Findings at a glance" (MyST): which published claims hold, which fail,
    the book's own questions, what this scale cannot decide (each a linked list of the chapters'
    headline claims, or of its first three where a chapter marks none), then the tally per verdict
    and one line per chapter. Read from every chapter's claims.json; a failed chapter is said."""
    ledgers = []
    for number in discover(root):
        chapter = config.CHAPTERS[number]
        try:
            ledger = read_json(chapters_dir(root) / chapter.slug / "claims.json")
            status = read_json(chapters_dir(root) / chapter.slug / "run.json")
        except (OSError, ValueError):
            ledger, status = {}, {}
        if status.get("status") == "ok":
            ledgers.append((number, chapter, ledger))
    claims = []
    for number, chapter, ledger in ledgers:
        mine = [c for c in ledger.get("claims", []) if c.get("kind", "claim") == "claim"]
        heads = [c for c in mine if c.get("headline")] or mine[:3]  # as `Ledger.findings` picks them
        claims += [dict(c, _number=number, _slug=chapter.slug, _head=c in heads) for c in mine]
    lines = ["## Findings at a glance", ""]
    if not claims:
        lines += ["No chapter has recorded claims yet (run `layerwise book`).", ""]
    for title, pick in GLANCE_GROUPS:
        group = [c for c in claims if pick(c)]
        shown = [c for c in group if c["_head"]]
        if not group:
            continue
        folded = len(group) - len(shown)
        lines += [f"**{title}** ({len(group)})", ""]
        lines += [_glance_item(c) for c in shown[:GLANCE_OPEN]]
        if folded:
            lines += [f"- and {folded} further claim{'s' if folded != 1 else ''} "
                      "([scoreboard](scoreboard.md))"]
        lines.append("")
        if len(shown) > GLANCE_OPEN:  # a long list folds: the front page stays a page
            lines += [f":::{{dropdown}} {len(shown) - GLANCE_OPEN} more", "",
                      *[_glance_item(c) for c in shown[GLANCE_OPEN:]], ":::", ""]
    tally = {v: sum(c["verdict"] == v for c in claims) for v in VERDICT_WORDS}
    presets = sorted({str(ledger.get("preset", "")) for *_, ledger in ledgers} - {""})
    at = f" at the {presets[0]} preset" if len(presets) == 1 else ""
    words = ", ".join(f"{n} {v}" for v, n in tally.items() if n or v in ("reproduced", "not reproduced",
                                                                          "inconclusive"))
    lines += [f"**Tally{at}:** {words} ({len(claims)} claims; [every claim](scoreboard.md)).", ""]
    if rows is not None:
        lines += scoreboard.chapter_lines(rows) + [""]
    return tidy_markdown("\n".join(lines))


GLANCE_OPEN = 6  # claims listed open per group on the front page; the rest in a dropdown
VERDICT_WORDS = ("reproduced", "not reproduced", "supported", "not supported", "inconclusive")


def _glance_item(c: dict) -> str:
    import html

    where = f"../notebooks/{c['_slug']}.html" + (f"#{scoreboard.anchor(c['section'])}" if c.get("section") else "")
    provenance = c.get("provenance") or ""
    tag = f", {html.escape(provenance)}" if provenance and provenance != "paper" else ""
    return (f"- {' '.join(str(c['statement']).split())} "
            f'(<a href="{where}">chapter {c["_number"]}</a>{tag})')


def _stage_chapter(number: str, root: Path, stage: Path) -> None:
    """Write the executed chapter into the staged sources, laid out for the site: the results box
    after its question and sources, each chart's HTML from its spec (`charts.site_html`), cells with
    a multi-panel figure tagged `full-width`. A chapter that failed or never ran gets a page saying so."""
    import nbformat

    slug = config.CHAPTERS[number].slug
    run_dir = chapters_dir(root) / slug
    target = stage / "notebooks" / f"{slug}.ipynb"
    try:
        status = read_json(run_dir / "run.json")
    except (OSError, ValueError):
        status = {"status": "missing", "error": "this chapter has not been executed (run `layerwise book`)"}
    if status.get("status") == "ok":
        nb = nbformat.read(str(run_dir / f"{slug}.ipynb"), as_version=4)
        try:
            ledger = read_json(run_dir / "claims.json")
        except (OSError, ValueError):
            ledger = None
        lay_out(nb, slug, ledger)
        nbformat.write(nb, str(target))
        return
    title = config.CHAPTERS[number].title
    text = (f"# {title}\n\n```{{error}}\nThis chapter failed to execute at preset "
            f"{status.get('preset', '?')}: {status.get('error', 'unknown error')}\n```\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nbformat.write(nb, str(target))


def lay_out(nb, slug: str, ledger: dict | None) -> None:
    """Lay an executed chapter out for the site, in place (see `_stage_chapter`).

    - charts: each chart's HTML from its spec with stable element ids; a cell with a multi-panel figure
      or a wide table is tagged `full-width`; each `charts.figure` chart only in its `{glue:figure}`;
    - plumbing: the papermill parameters cells are removed (they stay in the notebook), the parameter
      table is collapsed;
    - hygiene (`tidy_html`, `tidy_markdown`): no `nan`/`None` in shown tables, no raw backticks or
      Python reprs in the parameter table, `l*` never read as emphasis;
    - the top: "What we found" and the verdict box (`chapter_top`) right after the opening cell.
    """
    from . import charts

    for i, cell in enumerate(nb.cells):
        wide = False
        for j, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            spec = data.get(charts.VEGALITE_MIME)
            if spec is None:
                if "text/html" in data:
                    data["text/html"] = tidy_html(_text(data["text/html"]))
                    wide = wide or _table_columns(data["text/html"]) >= WIDE_TABLE_COLUMNS
                if "text/markdown" in data:
                    data["text/markdown"] = tidy_markdown(_text(data["text/markdown"]))
                continue
            data["text/html"] = charts.site_html(spec, id_prefix=f"lw-{slug[:3]}-{i}-{j}")
            wide = wide or charts.is_multi_panel(spec)
        tags = cell.metadata.setdefault("tags", [])
        if cell.cell_type == "markdown":
            cell.source = tidy_markdown(cell.source)
        if wide and "full-width" not in tags:
            tags.append("full-width")
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            tags.append("remove-cell")  # papermill's cells: the reader sees the resolved table instead
        if not tags:
            del cell.metadata["tags"]
    hide_figure_outputs(nb)
    if ledger is None:
        return

    def markdown(text: str, cell_id: str):
        import nbformat

        cell = nbformat.v4.new_markdown_cell(text)
        if nb.nbformat_minor >= 5:
            cell.id = cell_id  # a fixed id: the staged page is the same bytes every build
        else:
            cell.pop("id", None)
        return cell

    top = markdown(tidy_markdown(chapter_top(ledger)), "lw-results")
    first = next((k for k, c in enumerate(nb.cells) if c.cell_type == "markdown"), None)
    if first is None:
        nb.cells.insert(0, top)
        return
    head, tail = _split_after_sources(nb.cells[first].source)
    nb.cells[first].source = head
    nb.cells[first + 1:first + 1] = [top] + ([markdown(tail, "lw-opening-rest")] if tail else [])


def chapter_top(ledger: dict) -> str:
    """Return the Markdown staged after a chapter's opening cell: "What we found" and the verdict box.

    The ledger's `scoreboard.chapter_top(claims.json)` when it exists; until then this seam composes the
    same from claims.json: its `findings` (written by `Ledger.save`), else one sentence per claim group
    from the counts, then `scoreboard.verdict_box`.
    """
    composed = getattr(scoreboard, "chapter_top", None)
    if composed is not None:
        return composed(ledger)
    claims = ledger.get("claims", [])
    findings = str(ledger.get("findings") or "").strip()
    if not findings:
        findings = (f"This run recorded {ledger.get('summary') or 'no claims'}; the chapter's reading of them "
                    "is in its Summary.")
    return (f":::{{admonition}} What we found\n:class: lw-findings\n\n{findings}\n:::\n\n"
            + scoreboard.verdict_box(claims, preset=ledger.get("preset", "")))


def _text(value) -> str:
    """Return a notebook output's text (nbformat keeps it as a string or a list of lines)."""
    return "".join(value) if isinstance(value, list) else str(value)


_MISSING_CELL = re.compile(r"(<td[^>]*>)\s*(?:NaN|nan|None|NaT|&lt;NA&gt;)\s*(</td>)")
_CODE_BLOCKS = re.compile(r"(<style.*?</style>|<script.*?</script>)", re.S | re.I)
_TEXT = re.compile(r"(?<=>)[^<>]+(?=<)")
_EXPONENT = re.compile(r"(?<![\w.-])([-+\u2212]?\d[\d.]*e[-+\u2212]?\d+)")
_PARAM_TABLE = re.compile(r'(<table class="layerwise-params".*?</table>)', re.S)
_PARAM_ROW = re.compile(r"(<tr><td><code>[^<]*</code></td><td>(?:<b>)?)(.*?)((?:</b>)?</td><td>)(.*?)(</td></tr>)", re.S)
_STAR = re.compile(r"(?<![\w*\\])([A-Za-z])\*(?![*\w])")  # l*, s*: a one-letter name with a star
_PROTECTED = re.compile(r"(```.*?```|\$\$.*?\$\$|\$[^$\n]+\$|`[^`\n]*`|<[^>\n]+>)", re.S)


def tidy_html(html: str) -> str:
    """Return an HTML output as the site shows it: missing values in tables as a dash; the parameter
    table collapsed, its values without Python quotes and brackets, its help text's `code` as code."""
    html = _MISSING_CELL.sub(r"\1—\2", html)
    if "<table" in html:  # 1e-8 may wrap after its hyphen: keep such numbers whole (not in style/script)
        parts = _CODE_BLOCKS.split(html)
        html = "".join(p if k % 2 else _TEXT.sub(
            lambda m: _EXPONENT.sub(r'<span class="lw-nowrap">\1</span>', m.group(0)), p) for k, p in enumerate(parts))
    if 'class="layerwise-params"' in html:
        html = html.replace('<details class="layerwise-params" open>', '<details class="layerwise-params">')
        html = _PARAM_TABLE.sub(lambda m: _PARAM_ROW.sub(_param_row, m.group(1)), html)
    return html


def _param_row(m: re.Match) -> str:
    import html as h

    value = h.escape(plain_value(h.unescape(m.group(2))))
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", m.group(4))
    return m.group(1) + value + m.group(3) + text + m.group(5)


def plain_value(text: str) -> str:
    """Return a parameter value as a reader writes it: `['a', 'b']` as `a, b`, `None` as a dash,
    `{'k': 1}` as `k: 1`; anything that is not a Python literal as it is."""
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text

    def show(v) -> str:
        if v is None:
            return "—"
        if isinstance(v, (list, tuple, set)):
            return ", ".join(show(x) for x in v) if v else "(none)"
        if isinstance(v, dict):
            return "; ".join(f"{show(k)}: {show(x)}" for k, x in v.items()) if v else "(none)"
        return str(v)

    return show(value)


def tidy_markdown(text: str) -> str:
    """Return Markdown with every one-letter name followed by a star (`l*`, `s*`) escaped outside math,
    code and HTML tags, so that it never opens or closes emphasis."""
    parts = _PROTECTED.split(text)
    return "".join(part if k % 2 else _STAR.sub(r"\1\\*", part) for k, part in enumerate(parts))


def hide_figure_outputs(nb) -> None:
    """Keep each `charts.figure` chart only where its `{glue:figure}` puts it: the cell's own copy
    (glued with display=True, so Jupyter shows it) becomes a hidden glue record (myst-nb's prefix)."""
    from myst_nb.ext.glue import GLUE_PREFIX

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if record and not record.get("mime_prefix"):
                record["mime_prefix"] = GLUE_PREFIX
                output["data"] = {GLUE_PREFIX + k: v for k, v in output.get("data", {}).items()}


WIDE_TABLE_COLUMNS = 7  # an output table with this many columns gets the page's right margin too


def _table_columns(html: str) -> int:
    """Return the number of header cells in the first row of the first table in `html` (0 if none)."""
    import re

    row = re.search(r"<table.*?<tr[^>]*>(.*?)</tr>", html, flags=re.S | re.I)
    return len(re.findall(r"<th[\s>]", row.group(1), flags=re.I)) if row else 0


def _split_after_sources(text: str) -> tuple[str, str]:
    """Split a chapter's opening Markdown after its "**Source(s).**" paragraph (else keep it whole)."""
    paragraphs = text.split("\n\n")
    for k, para in enumerate(paragraphs):
        if para.lstrip().startswith(("**Source", "**Sources")):
            return "\n\n".join(paragraphs[:k + 1]), "\n\n".join(paragraphs[k + 1:]).strip()
    return text, ""
