"""Measure a built site's layout in headless Chromium: what is wider than the article.

Used by tests/test_browser.py and on its own to count overflows of any build:

    python tests/sitecheck.py _build/html 1300 1920 [--shots DIR]
    python tests/sitecheck.py _build/html --tops DIR      # the first screen (1300 x 900) of each chapter

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
            scoreboard: !!el.closest('table.lw-scoreboard, table.lw-sanity'), section: section ? section.id : ''};
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


# What a reader meets on a chapter page (issue 23's acceptance), measured in document pixels and text.
READ = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const shown = el => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const top = el => el ? Math.round(el.getBoundingClientRect().top + window.scrollY) : null;
  const out = {};
  // the opening: "What we found" and section 1
  const found = [...article.querySelectorAll('.lw-findings, p.admonition-title, h2, h3, strong')]
    .find(e => /^What we found/.test(e.textContent.trim()));
  out.foundTop = top(found && (found.closest('.lw-findings, .admonition') || found));
  const one = [...article.querySelectorAll('section > h2')].find(h => /^1\\.\\s/.test(h.textContent.trim()));
  out.sectionOneTop = top(one);
  // figures: a figure is an .lw-figure (panels) or an .lw-chart outside one; captioned = in a numbered <figure>
  const units = [...article.querySelectorAll('.lw-figure, .lw-chart')].filter(e => e.matches('.lw-figure') || !e.closest('.lw-figure'));
  out.figures = units.length;
  out.captioned = units.filter(u => { const f = u.closest('figure'); return !!f && !!f.querySelector('figcaption .caption-number'); }).length;
  out.uncaptioned = units.filter(u => { const f = u.closest('figure'); return !(f && f.querySelector('figcaption .caption-number')); })
    .map(u => { const s = u.closest('section'); return s ? s.id : ''; });
  // visible code: source lines of code cells a reader sees without opening anything
  const code = [...article.querySelectorAll('.cell_input pre')].filter(shown);
  out.codeLines = code.reduce((n, p) => n + p.textContent.replace(/\\n+$/, '').split('\\n').length, 0);
  out.codeCells = code.length;
  // visible code/output blocks that scroll sideways
  const blocks = [...article.querySelectorAll('.cell_input pre, .cell_output pre, .cell_output table')].filter(shown);
  function scrolls(el) {
    for (let e = el; e && e !== article; e = e.parentElement) {
      if (e.scrollWidth > e.clientWidth + 1 && /auto|scroll/.test(getComputedStyle(e).overflowX)) return true;
      if (e.classList.contains('cell')) break;
    }
    return false;
  }
  out.blocks = blocks.length;
  out.scrolling = blocks.filter(scrolls).length;
  // rendered text: prose, tables and outputs, without code, math, charts
  const clone = article.cloneNode(true);
  clone.querySelectorAll('.cell_input, pre, code, .highlight, mjx-container, .math, svg, script, style, .lw-chart, details.hide')
    .forEach(e => e.remove());
  const text = clone.textContent.replace(/\\s+/g, ' ');
  const hits = (re) => [...new Set((text.match(re) || []))].slice(0, 5);
  out.nan = hits(/\\b(?:nan|NaN)\\b/g);
  out.repr = hits(/\\bNone\\b(?! of\\b)|\\[['"]|\\{['"]|<function |object at 0x/g);
  out.glueKeys = hits(/\\{glue:[a-z]*\\}|\\bglue:(?:text|figure|md)\\b|\\bfig-ch\\d+[a-z]?-[\\w-]+/g);
  out.referenceNotes = hits(/reference note \\d+|\\.\\.\\/shared/gi);
  out.stars = hits(/\\S*\\*\\*\\S*|(?:^|\\s)\\*\\S[^*]{0,40}/g);
  // emphasis glued to a letter ("l<em> lies ... s</em>"): a `x*` read as an emphasis marker
  out.brokenEmphasis = [...article.querySelectorAll('em')].filter(em => {
    if (em.closest('.cell_input, pre, code, .bibtex-citation, mjx-container')) return false;
    const before = em.previousSibling, after = em.nextSibling;
    const b = before && before.nodeType === 3 ? before.textContent.slice(-1) : '';
    const a = after && after.nodeType === 3 ? after.textContent.slice(0, 1) : '';
    return /[A-Za-z0-9]/.test(b) || /[A-Za-z0-9]/.test(a);
  }).map(em => em.textContent.slice(0, 40)).slice(0, 5);
  // the closing
  const heads = [...article.querySelectorAll('section > h2')].map(h => h.textContent.replace('#', '').trim());
  out.summary = heads.some(h => /^Summary\\b/.test(h));
  out.exercisesSection = heads.some(h => /^Exercises\\b/.test(h));
  out.exercises = article.querySelectorAll('.exercise').length;
  out.solutions = article.querySelectorAll('.solution').length;
  // citations: every link of a {cite} goes to an entry of the bibliography page
  out.citations = [...article.querySelectorAll('.bibtex-citation a')].map(a => a.getAttribute('href'));
  // interactive figures: a Vega-Lite spec with a selection parameter or a bound widget
  out.interactive = [...document.querySelectorAll('script')].filter(s => /vegaEmbed/.test(s.textContent) &&
    /"select"\\s*:|"bind"\\s*:/.test(s.textContent)).length;
  return out;
}"""

# Words and numbers the layout split across lines: a header broken inside a word, a number inside its digits.
BROKEN = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const broken = [];
  function lines(node, start, end) {
    const r = document.createRange(); r.setStart(node, start); r.setEnd(node, end);
    return new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top))).size;
  }
  function scan(root, re, what) {
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.parentElement.closest('svg, mjx-container, script, style, .cell_input, pre')) continue;
      if (!n.parentElement.getClientRects().length) continue;
      for (const m of n.textContent.matchAll(re)) {
        if (lines(n, m.index, m.index + m[0].length) > 1) broken.push(what + ': ' + m[0]);
      }
    }
  }
  article.querySelectorAll('th').forEach(th => scan(th, /[^\\s\\-\\u2013\\/]+/g, 'header'));
  // a number on its own (not the "1D" of "MNIST-1D"): its digits, sign and exponent on one line
  scan(article, /(?<![A-Za-z\\d\\-])[-+\\u2212]?\\d[\\d.,]*(?:e[-+]?\\d+)?%?/g, 'number');
  return [...new Set(broken)].slice(0, 10);
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
        # Playwright hides scrollbars in headless mode; a reader's browser shows them (and so must we)
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, ignore_default_args=["--hide-scrollbars"])
        try:
            yield browser
        finally:
            browser.close()


def pages(html: Path) -> list[str]:
    """Return the site's pages (relative paths), leaving out Sphinx's own (_static, genindex...)."""
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not p.relative_to(html).parts[0].startswith("_") and p.name not in ("genindex.html", "search.html")
                  and 'http-equiv="Refresh"' not in p.read_text(errors="replace")[:2000])  # the root's redirect


def visit(browser, url: str, *, width: int = 1300, screenshot: Path | None = None, read: bool = False,
          full_page: bool = False) -> dict:
    """Open `url` at `width` px with outside requests blocked; return what was seen and measured
    (with `read`, also what a reader meets: `READ`). `screenshot`: the first screen (900 px high), or
    the whole page with `full_page`."""
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
    seen["broken"] = page.evaluate(BROKEN)
    seen["pageWidth"] = page.evaluate("() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    if read:
        seen["read"] = page.evaluate(READ)
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=full_page, timeout=120_000)
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
                seen = visit(browser, base + page, width=width, screenshot=shot, full_page=True)
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


def tops(html: Path, out: Path, width: int = 1300, height: int = 900) -> list[Path]:
    """Screenshot the first screen (`width` x `height`) of every chapter page into `out`; return the files."""
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with serve(html) as base, chromium() as browser:
        for page in pages(html):
            if not page.startswith("notebooks/"):
                continue
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname == "127.0.0.1"
                          else r.abort())
            tab = context.new_page()
            tab.goto(base + page, wait_until="load")
            for check in (CHARTS_DRAWN, MATH_TYPESET):
                try:
                    tab.wait_for_function(check, timeout=30_000)
                except Exception:
                    pass
            shots.append(out / f"{Path(page).stem}.png")
            tab.screenshot(path=str(shots[-1]))
            context.close()
    return shots


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--tops" in args:
        print("\n".join(map(str, tops(Path(args[0]), Path(args[args.index("--tops") + 1])))))
        sys.exit(0)
    shots = None
    if "--shots" in args:
        i = args.index("--shots")
        shots = Path(args[i + 1])
        shots.mkdir(parents=True, exist_ok=True)
        del args[i:i + 2]
    folder, widths = Path(args[0]), [int(w) for w in args[1:]] or [1300, 1920]
    print(json.dumps(count(folder, widths, shots), indent=1))
