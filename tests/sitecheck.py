"""Measure a built site's layout in headless Chromium: what is wider than the article.

Used by tests/test_browser.py and on its own to count overflows of any build:

    python tests/sitecheck.py _build/html 1300 1920 [--shots DIR]

A chart (its SVG, each legend), or a table, "overflows" when its box reaches past the article's
content box (or, inside a `full-width` cell, past that cell's box, which the theme widens into the
page's right margin), or past the window.
"""
from __future__ import annotations

import functools
import http.server
import json
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
CHARTS_DRAWN = "() => [...document.querySelectorAll('.lw-chart')].every(c => c.querySelector('svg'))"
MATH_TYPESET = "() => [...document.querySelectorAll('.math')].every(m => m.querySelector('mjx-container'))"

# For every chart SVG, legend and table: how far (px) it reaches past its bound, the article's content
# box (`own`; > 1 px counts: part of it is out of view, cut off or behind a scrollbar), and how far its
# nearest scrolling box does (`by`: > 1 px means the page itself is wider than the article there).
MEASURE = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  if (!article) return {items: [], article: 0, page: 0, verdictBox: 0, boxBeforeSections: false};
  const style = getComputedStyle(article);
  const a = article.getBoundingClientRect();
  const content = {left: a.left + parseFloat(style.paddingLeft), right: a.right - parseFloat(style.paddingRight)};
  const page = document.documentElement.clientWidth;
  function bound(el) {
    const wide = el.closest('.tag_full-width, .full-width');
    const b = wide ? wide.getBoundingClientRect() : content;
    return {left: Math.max(b.left, 0), right: Math.min(b.right, page)};
  }
  function scroller(el) {
    for (let e = el; e && e !== article; e = e.parentElement) {
      const o = getComputedStyle(e).overflowX;
      if (o === 'auto' || o === 'scroll') return e;
    }
    return null;
  }
  function over(el, what) {
    const box = scroller(el) || el;
    const r = box.getBoundingClientRect(), b = bound(box);
    const by = Math.max(r.right - b.right, b.left - r.left);
    const e = el.getBoundingClientRect(), eb = bound(el);
    const own = Math.max(e.right - eb.right, eb.left - e.left);  // out of view when its box scrolls
    const section = el.closest('section');
    return {what: what, by: Math.round(by), own: Math.round(own), width: Math.round(e.width),
            bound: Math.round(b.right - b.left),
            scrolls: box.scrollWidth > box.clientWidth + 1, content: box.scrollWidth, bar: box.offsetHeight - box.clientHeight >= 4, panel: !!el.closest('.lw-panel'),
            scoreboard: !!el.closest('table.lw-scoreboard'), section: section ? section.id : ''};
  }
  const out = [];
  document.querySelectorAll('article .lw-chart svg.marks').forEach(s => out.push(over(s, 'chart')));
  document.querySelectorAll('article .lw-chart svg.marks .role-legend').forEach(s => out.push(over(s, 'legend')));
  document.querySelectorAll('article table').forEach(t => out.push(over(t, 'table')));
  const box = document.querySelector('.lw-verdicts');
  const firstSection = document.querySelector('article section section');
  return {items: out, article: Math.round(content.right - content.left), page: page,
          verdictBox: document.querySelectorAll('.lw-verdicts').length,
          boxBeforeSections: !!box && (!firstSection ||
            !!(box.compareDocumentPosition(firstSection) & Node.DOCUMENT_POSITION_FOLLOWING))};
}"""


@contextmanager
def serve(folder: Path):
    """Serve `folder` over HTTP on 127.0.0.1 (a free port); yield its base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@contextmanager
def chromium():
    """Yield a launched headless Chromium (Debian's, driven by Playwright)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def pages(html: Path) -> list[str]:
    """Return the site's pages (relative paths), leaving out Sphinx's own (_static, genindex...)."""
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not p.relative_to(html).parts[0].startswith("_") and p.name not in ("genindex.html", "search.html")
                  and 'http-equiv="Refresh"' not in p.read_text(errors="replace")[:2000])  # the root's redirect


def visit(browser, url: str, *, width: int = 1300, screenshot: Path | None = None) -> dict:
    """Open `url` at `width` px with outside requests blocked; return what was seen and measured."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    blocked, errors = [], []

    def route(r):
        host = urlparse(r.request.url)
        if host.scheme in ("data", "blob", "file") or host.hostname == "127.0.0.1":
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    seen = {"url": url, "blocked": blocked, "errors": errors}
    for name, check in (("charts drawn", CHARTS_DRAWN), ("math typeset", MATH_TYPESET)):
        try:
            page.wait_for_function(check, timeout=60_000)
        except Exception:
            errors.append(f"not all {name} after 60 s")
    page.wait_for_timeout(300)  # vega-embed resizes container-width charts once after drawing
    seen["charts"] = page.locator(".lw-chart").count()
    seen["svgs"] = page.locator(".lw-chart svg").count()
    seen["math"] = page.locator("mjx-container").count()
    seen.update(page.evaluate(MEASURE))
    seen["overflow"] = [i for i in seen["items"] if max(i["own"], i["by"]) > 1]
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=True)
    context.close()
    return seen


def count(html: Path, widths=(1300, 1920), shots: Path | None = None) -> dict:
    """Return {width: {"charts": (overflowing, all), "legends": ..., "tables": ..., "scrolling": n,
    "worst": px, "pages": {page: ...}}} for every page of the site at html/."""
    result = {}
    with serve(html) as base, chromium() as browser:
        for width in widths:
            tally = {k: [0, 0] for k in ("chart", "legend", "table")}
            worst, scrolling, per_page = 0, 0, {}
            for page in pages(html):
                shot = shots / f"{Path(page).stem}-{width}.png" if shots else None
                seen = visit(browser, base + page, width=width, screenshot=shot)
                for item in seen["items"]:
                    tally[item["what"]][1] += 1
                    tally[item["what"]][0] += max(item["own"], item["by"]) > 1
                    scrolling += item["scrolls"] and item["what"] != "legend"
                    worst = max(worst, item["own"], item["by"])
                per_page[page] = {"overflow": len(seen["overflow"]), "errors": seen["errors"],
                                  "article": seen["article"]}
            result[width] = {**{k + "s": tuple(v) for k, v in tally.items()}, "scrolling": scrolling,
                             "worst": worst, "pages": per_page}
    return result


if __name__ == "__main__":
    args = sys.argv[1:]
    shots = None
    if "--shots" in args:
        i = args.index("--shots")
        shots = Path(args[i + 1])
        shots.mkdir(parents=True, exist_ok=True)
        del args[i:i + 2]
    folder, widths = Path(args[0]), [int(w) for w in args[1:]] or [1300, 1920]
    print(json.dumps(count(folder, widths, shots), indent=1))
