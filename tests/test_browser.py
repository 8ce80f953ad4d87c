"""The built smoke site in headless Chromium with every request off this machine blocked, at 1300 px (a
laptop): each chart drawn as SVG, the math typeset by MathJax, no console error, no request leaving
127.0.0.1; no chart, legend or table wider than the article (a `full-width` cell may use the page's
right margin; a wide output table scrolls inside the article); every chapter opens with its results box;
the scoreboard fits without scrolling. At 390 px (a phone) the panels of a figure stack."""
from pathlib import Path

import pytest

from sitecheck import CHROMIUM, chromium, pages, serve, visit

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium "
                       "(`make test` installs it when run as root: apt-get install -y chromium)"),
]
LAPTOP, PHONE = 1300, 390


@pytest.fixture(scope="module")
def served(site):
    """The built site over HTTP on 127.0.0.1 (a free port): its base URL."""
    with serve(site.parent) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright.sync_api")
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def seen(site, served, browser, smoke_book, tmp_path_factory):
    """Every page of the site visited at 1300 px: {page: what was seen}; chapter screenshots kept."""
    shots = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots of the chapters and the scoreboard at {LAPTOP} px: {shots}")
    keep = {f"notebooks/{r.output.name}.html" for r in smoke_book.values()} | {"book/scoreboard.html"}
    return {page: visit(browser, served + page, width=LAPTOP,
                        screenshot=shots / f"{Path(page).stem}.png" if page in keep else None)
            for page in pages(site.parent)}, shots


def test_every_page_draws_its_charts_and_math_offline_with_a_clean_console(seen, smoke_book):
    seen, shots = seen
    chapters = {f"notebooks/{r.output.name}.html" for r in smoke_book.values()}
    assert chapters <= set(seen) and "book/scoreboard.html" in seen
    problems = {p: {k: s[k] for k in ("blocked", "errors") if s[k]} for p, s in seen.items()}
    assert not any(problems.values()), {p: v for p, v in problems.items() if v}
    ch1 = seen["notebooks/01_deep_linear_compression.html"]
    assert ch1["charts"] > 0 and ch1["svgs"] >= ch1["charts"] and ch1["math"] > 0
    for page in chapters:
        assert (shots / f"{Path(page).stem}.png").stat().st_size > 10_000


def test_no_chart_legend_or_table_is_wider_than_the_article_at_1300_px(seen):
    seen, _ = seen
    overflow = {p: s["overflow"] for p, s in seen.items() if s["overflow"]}
    assert not overflow, overflow
    items = [dict(i, page=p) for p, s in seen.items() for i in s["items"]]
    assert any(i["what"] == "chart" for i in items)
    hidden = [i for i in items if i["what"] != "table" and i["scrolls"]]
    assert not hidden, f"charts that scroll instead of fitting: {hidden}"
    scrolling = [i for i in items if i["what"] == "table" and i["scrolls"]]
    assert all(i["bar"] for i in scrolling), f"tables that scroll without a visible scrollbar: {scrolling}"
    print(f"\n{len(scrolling)} output tables scroll inside the article (with a scrollbar)")


def test_every_chapter_page_opens_with_its_results_box(seen, smoke_book):
    seen, _ = seen
    for result in smoke_book.values():
        page = seen[f"notebooks/{result.output.name}.html"]
        if result.ok:
            assert page["verdictBox"] == 1 and page["boxBeforeSections"], result.chapter


def test_the_scoreboard_fits_the_article_without_scrolling(seen):
    page, _ = seen
    board = page["book/scoreboard.html"]
    tables = [i for i in board["items"] if i["what"] == "table"]
    assert tables and all(i["scoreboard"] and not i["scrolls"] and i["own"] <= 1 for i in tables), tables
    assert board["charts"] == 1 and board["svgs"] >= 1  # the headline chart of claims by verdict


def test_panels_stack_on_a_phone(served, browser):
    page = visit(browser, served + "notebooks/05_extractor_tunnel.html", width=PHONE)
    panels = [i for i in page["items"] if i["panel"] and i["what"] in ("chart", "legend")]
    assert panels and all(i["own"] <= 1 for i in panels), [i for i in panels if i["own"] > 1]
    assert not page["errors"], page["errors"]
