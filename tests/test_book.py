"""The static site builds from the executed smoke chapters, with offline charts and math."""
import re

import pytest

from layerwise import book


@pytest.fixture(scope="session")
def site(smoke_book, book_copy):
    return book.build_site(root=book_copy, log=lambda *_: None)


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
        index = book.build_site(root=book_copy, log=lambda *_: None)
        page = (index.parent / "notebooks" / "01_deep_linear_compression.html").read_text()
        assert "failed to execute" in page and "DataError: boom" in page
    finally:
        run_json.write_text(original)
        book.build_site(root=book_copy, log=lambda *_: None)
