"""The static site builds from the executed smoke chapters, with offline charts, math and the scoreboard."""
import re

from layerwise import book, scoreboard
from layerwise import site as site_module
from layerwise.io import read_json


def test_site_has_every_chapter_with_embedded_charts(site, smoke_book):
    html_dir = site.parent
    assert site.is_file()
    for number, result in smoke_book.items():
        page = html_dir / "notebooks" / f"{result.output.name}.html"
        text = page.read_text()
        assert "vegaEmbed(" in text and 'class="lw-chart"' in text, number
        assert "cdn.jsdelivr" not in text and "unpkg.com" not in text


def test_vega_and_mathjax_are_served_from_the_site(site):
    html_dir = site.parent
    for name in ("layerwise.css", "scoreboard.js"):  # tracked in _static, copied with the sources
        assert (html_dir / "_static" / name).read_text() == (book.book_root(html_dir.parents[1]) / "_static" / name).read_text()
    bundle = (html_dir / "_static" / "vega-bundle.js").read_text()
    assert bundle.startswith("(function () {") and "vegaEmbed" in bundle
    page = (html_dir / "notebooks" / "01_deep_linear_compression.html").read_text()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert any("vega-bundle.js" in s for s in scripts)
    assert any("mathjax" in s.lower() for s in scripts)
    assert all(not s.startswith(("http://", "https://", "//")) for s in scripts), scripts
    assert "THEBE_JS_URL" not in page


def test_a_chapter_that_failed_shows_as_failed(book_copy, smoke_book, tmp_path):
    import json

    run_json = book.chapters_dir(book_copy) / "01_deep_linear_compression" / "run.json"
    original = run_json.read_text()
    status = json.loads(original)
    try:
        run_json.write_text(json.dumps({**status, "status": "failed", "error": "DataError: boom"}))
        index = site_module.build_site(root=book_copy, log=lambda *_: None)
        page = (index.parent / "notebooks" / "01_deep_linear_compression.html").read_text()
        assert "failed to execute" in page and "DataError: boom" in page
        board = (index.parent / "book" / "scoreboard.html").read_text()
        assert "The chapter failed to execute: DataError: boom" in board and re.search(r"chapters? failed \(01", board)
    finally:
        run_json.write_text(original)
        site_module.build_site(root=book_copy, log=lambda *_: None)


def test_scoreboard_page_counts_every_claim_and_the_front_page_repeats_the_summary(site, smoke_book, book_copy):
    import html

    ledgers = [read_json(r.output / "claims.json") for r in smoke_book.values() if r.ok]
    claims = [c for ledger in ledgers for c in ledger["claims"]]
    rows = scoreboard.gather(book.chapters_dir(book_copy), book.discover(book_copy))
    sanity = [e for ledger in ledgers for e in ledger.get("sanity", [])]
    board = (site.parent / "book" / "scoreboard.html").read_text()
    failed = sum(not r.ok for r in smoke_book.values())
    assert html.escape(scoreboard.summary(rows)) in board
    assert board.count("<tr data-chapter=") == len(claims) + failed  # the navigator filters on these
    assert board.count("<tr><td") == len(sanity)
    assert 'class="full-width lw-board"><table class="lw-scoreboard' in board
    intro = (site.parent / "book" / "intro.html").read_text()
    assert "Findings at a glance" in intro and "Tally at the smoke preset:" in intro
    assert f"({len(claims)} claims;" in intro
    for result in smoke_book.values():
        assert f'href="../notebooks/{result.output.name}.html' in board
        assert f'href="../notebooks/{result.output.name}.html' in intro  # one line per chapter


def test_every_chapter_opens_with_its_results_box_after_its_sources(site, smoke_book):
    for number, result in smoke_book.items():
        if not result.ok:
            continue
        ledger = read_json(result.output / "claims.json")
        page = (site.parent / "notebooks" / f"{result.output.name}.html").read_text()
        box = page.index("lw-verdicts")
        assert page.count("lw-verdicts") == 1, number
        assert box < page.index('<section id="', page.index("<h1")), number  # before the first section
        n = ledger["counts"]
        title = page[box:page.index("</p>", box)]
        for verdict, count in n.items():
            if count:
                assert f"{count} {verdict}" in title, (number, verdict)
        if ledger.get("findings"):
            assert page.index("What we found") < box, number
        if "Source" in page[:box]:
            assert page.rindex("Source", 0, box) < box


def test_multi_panel_figures_are_laid_out_as_wrapping_panels_in_full_width_cells(site, book_copy):
    import nbformat

    from myst_nb.ext.glue import GLUE_PREFIX

    from layerwise import charts

    staged = book_copy / "_build" / "site-src" / "notebooks"
    wide = 0
    for path in staged.glob("*.ipynb"):
        for cell in nbformat.read(str(path), as_version=4).cells:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                glued = GLUE_PREFIX + charts.VEGALITE_MIME in data  # a charts.figure: shown by its glue:figure
                spec = data.get(GLUE_PREFIX + charts.VEGALITE_MIME if glued else charts.VEGALITE_MIME)
                if spec is not None and charts.is_multi_panel(spec):
                    wide += 1
                    assert glued or "full-width" in cell.metadata.get("tags", []), path.name
                    assert 'class="lw-panels"' in data[(GLUE_PREFIX if glued else "") + "text/html"]
    assert wide > 0
    page = (site.parent / "notebooks" / "05_extractor_tunnel.html").read_text()
    assert "tag_full-width" in page and 'class="lw-panel"' in page


def test_staging_is_the_same_bytes_every_time(book_copy, smoke_book, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    site_module._stage_sources(book_copy, tmp_path / "a")
    site_module._stage_sources(book_copy, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_scoreboard_section_anchors_exist_in_the_built_chapter(site):
    page = (site.parent / "notebooks" / "01_deep_linear_compression.html").read_text()
    for heading in ("1. The theory check", "2. The rate against its closed form"):
        assert f'id="{scoreboard.anchor(heading)}"' in page
