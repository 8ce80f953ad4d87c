"""The built smoke site in headless Chromium with every request off this machine blocked: each chart
drawn as SVG, the math typeset by MathJax, no console error, no request leaving 127.0.0.1."""
import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
CHARTS_DRAWN = "() => [...document.querySelectorAll('.lw-chart')].every(c => c.querySelector('svg'))"
MATH_TYPESET = "() => [...document.querySelectorAll('.math')].every(m => m.querySelector('mjx-container'))"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium "
                       "(`make test` installs it when run as root: apt-get install -y chromium)"),
]


@pytest.fixture(scope="module")
def served(site):
    """The built site over HTTP on 127.0.0.1 (a free port): its base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=site.parent))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def visit(browser, url: str, screenshot: Path | None) -> dict:
    """Open `url` with outside requests blocked; return what was seen (charts, math, errors, requests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
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
    seen["charts"] = page.locator(".lw-chart").count()
    seen["svgs"] = page.locator(".lw-chart svg").count()
    seen["math"] = page.locator("mjx-container").count()
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=True)
    context.close()
    return seen


def test_every_page_draws_its_charts_and_math_offline_with_a_clean_console(site, served, browser, smoke_book,
                                                                          tmp_path_factory):
    html = site.parent
    shots = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots of the chapters: {shots}")
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                   if not p.relative_to(html).parts[0].startswith("_"))
    chapters = {f"notebooks/{r.output.name}.html" for r in smoke_book.values()}
    assert chapters <= set(pages) and "book/scoreboard.html" in pages
    seen = {}
    for page in pages:
        shot = shots / f"{Path(page).stem}.png" if page in chapters else None
        seen[page] = visit(browser, served + page, shot)
    problems = {p: {k: s[k] for k in ("blocked", "errors") if s[k]} for p, s in seen.items()}
    assert not any(problems.values()), {p: v for p, v in problems.items() if v}
    ch1 = seen["notebooks/01_deep_linear_compression.html"]
    assert ch1["charts"] > 0 and ch1["svgs"] >= ch1["charts"] and ch1["math"] > 0
    for page in chapters:
        assert (shots / f"{Path(page).stem}.png").stat().st_size > 10_000
