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
    """Write book/scoreboard.md; put the book-wide tally and one line per chapter under the front
    page's title."""
    rows = scoreboard.gather(chapters_dir(root), discover(root))
    sanity = scoreboard.gather_sanity(chapters_dir(root), discover(root))
    atomic_write_text(stage / "book" / "scoreboard.md", scoreboard.to_markdown(rows, sanity))
    intro = stage / "book" / "intro.md"
    if intro.is_file():
        title, _, rest = intro.read_text(encoding="utf-8").partition("\n")
        line = f"**Scoreboard: {scoreboard.summary(rows)}** ([every claim](scoreboard.md))."
        chapters = "\n".join(scoreboard.chapter_lines(rows))
        atomic_write_text(intro, f"{title}\n\n{line}\n\n{chapters}\n{rest}")


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
    """Lay an executed chapter out for the site, in place (see `_stage_chapter`)."""
    import nbformat

    from . import charts

    for i, cell in enumerate(nb.cells):
        wide = False
        for j, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            spec = data.get(charts.VEGALITE_MIME)
            if spec is None:
                wide = wide or _table_columns(str(data.get("text/html", ""))) >= WIDE_TABLE_COLUMNS
                continue
            data["text/html"] = charts.site_html(spec, id_prefix=f"lw-{slug[:2]}-{i}-{j}")
            wide = wide or charts.is_multi_panel(spec)
        tags = cell.metadata.setdefault("tags", []) if wide else []
        if wide and "full-width" not in tags:
            tags.append("full-width")
    hide_figure_outputs(nb)
    if ledger is None:
        return
    def markdown(text: str, cell_id: str):
        cell = nbformat.v4.new_markdown_cell(text)
        if nb.nbformat_minor >= 5:
            cell.id = cell_id  # a fixed id: the staged page is the same bytes every build
        else:
            cell.pop("id", None)
        return cell

    box = markdown(scoreboard.verdict_box(ledger.get("claims", []), preset=ledger.get("preset", "")), "lw-results")
    first = next((k for k, c in enumerate(nb.cells) if c.cell_type == "markdown"), None)
    if first is None:
        nb.cells.insert(0, box)
        return
    head, tail = _split_after_sources(nb.cells[first].source)
    nb.cells[first].source = head
    nb.cells[first + 1:first + 1] = [box] + ([markdown(tail, "lw-opening-rest")] if tail else [])


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
