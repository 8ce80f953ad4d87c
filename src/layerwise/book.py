"""Run chapters with papermill and build the static site with Jupyter Book 1.x.

Layout under the book root (the folder holding `_toc.yml`):
    notebooks/NN_slug.py                 the chapter source (jupytext percent)
    _build/chapters/NN_slug/             a `layerwise book` run: NN_slug.ipynb, claims.json, run.json
    _build/runs/NN_slug/<preset>/        a `layerwise run` (unless --output DIR)
    _build/site-src/                     the staged book sources (copied, never edited in place),
                                         plus the generated scoreboard (book/scoreboard.md)
    _build/html/index.html               the site
Every result folder is written through `io.atomic_dir`: a killed run leaves the previous result or
nothing, never a half-written folder. `run.json` says whether the run succeeded, its wall time and its
kernel's CPU time; a failed run also keeps `kernel.log`, the kernel's own stderr (which never reaches
the terminal). `run_book(jobs=N)` runs N chapters at once, each in its own single-threaded kernel;
Ctrl-C (`stop_kernels`) kills every kernel and keeps nothing of the runs in progress.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import config, scoreboard
from .io import atomic_dir, atomic_write_text, ensure_writable_dir, read_json

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# Chapter kernels run single-threaded unless the user sets these: the book's problems are small, so
# one thread is nearly as fast on an idle machine and far faster on a busy one (OpenMP threads spin-wait),
# and float32 results then do not depend on the machine's core count. They are set in each kernel's
# environment at launch (never in this process's, so parallel runs cannot race on os.environ).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class RunResult:
    """The outcome of one chapter run: where it went and whether it succeeded."""

    chapter: str
    output: Path
    ok: bool
    seconds: float
    error: str = ""
    skipped: bool = False


def book_root(root: str | Path | None = None) -> Path:
    """Return the book root (the folder with `_toc.yml`), from `root` or the working directory."""
    found = config.find_root(root)
    if found is None:
        raise config.ConfigError("no _toc.yml found here or above: run from the book's folder or pass --root")
    return found


def copy_sources(root: Path, target: Path) -> Path:
    """Copy the book's sources (config, TOC, book/, the chapters' .py; not _build) into `target`; return it."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, target / name)
    shutil.copytree(root / "book", target / "book")
    shutil.copytree(root / "notebooks", target / "notebooks", ignore=shutil.ignore_patterns("*.ipynb", ".*"))
    return target


def chapter_source(number: str, root: Path) -> Path:
    """Return notebooks/<slug>.py of chapter `number`, raising ConfigError if it is missing."""
    path = root / "notebooks" / f"{config.CHAPTERS[number].slug}.py"
    if not path.is_file():
        raise config.ConfigError(f"chapter {number} has no source {path}")
    return path


def discover(root: Path) -> list[str]:
    """Return the numbers of the chapters whose source notebook exists, in book order."""
    return [n for n, c in config.CHAPTERS.items()
            if (root / "notebooks" / f"{c.slug}.py").is_file()]


def run_hash(number: str, preset: str, params: dict[str, Any], root: Path) -> str:
    """Return a content hash of what a chapter run depends on: its source, the package, its parameters."""
    h = hashlib.sha256(chapter_source(number, root).read_bytes())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode())
        h.update(path.read_bytes())
    h.update(json.dumps({"preset": preset, "params": params}, sort_keys=True, default=str).encode())
    return h.hexdigest()


def run_chapter(chapter: str | int, *, preset: str = "book", params: dict[str, Any] | None = None,
                output: str | Path | None = None, device: str = "auto", seed: int = 0,
                root: str | Path | None = None, progress: bool = True, force: bool = True) -> RunResult:
    """Execute one chapter with papermill into `output` (atomically) and return the RunResult.

    Parameters are validated with `config.resolve` before papermill starts. With `force=False` a
    run whose stored hash matches (same source, package and parameters) and which succeeded is
    skipped. A failed run still writes its folder, with `run.json` status "failed" and the error
    (and `kernel.log`, the kernel's own stderr). An interrupt (KeyboardInterrupt, or `stop_kernels()`
    from another thread) kills the kernel and keeps nothing.
    """
    _STOP.clear()
    return _run_chapter(chapter, preset=preset, params=params, output=output, device=device, seed=seed,
                        root=root, progress=progress, force=force)


def _run_chapter(chapter: str | int, *, preset: str, params: dict[str, Any] | None, output: str | Path | None,
                 device: str, seed: int, root: str | Path | None, progress: bool, force: bool) -> RunResult:
    root = book_root(root)
    number = config.chapter_number(chapter)
    params = dict(params or {})
    source = chapter_source(number, root)
    with tempfile.TemporaryDirectory() as scratch:  # validate everything before any work
        config.resolve(number, preset, device=device, seed=seed, results_dir=scratch, **params)
    slug = config.CHAPTERS[number].slug
    output = Path(output) if output else root / "_build" / "runs" / slug / preset
    ensure_writable_dir(output.parent)
    digest = run_hash(number, preset, {**params, "device": device, "seed": seed}, root)
    if not force and _up_to_date(output, digest):
        return RunResult(number, output, True, 0.0, skipped=True)
    import papermill  # after the checks: bad input fails before this import (about a second)

    start = time.perf_counter()
    error = ""
    with atomic_dir(output) as tmp:
        notebook = tmp / f"{slug}.ipynb"
        source_nb = tmp / ".source.ipynb"
        _write_notebook(source, source_nb)
        manager = _kernel_manager(tmp / ".kernel.log", cwd=tmp)
        try:
            # no `cwd=` for papermill: it would os.chdir this whole process (a race between parallel runs);
            # the kernel manager starts the kernel in `tmp` instead
            papermill.execute_notebook(
                str(source_nb), str(notebook), kernel_name=KERNELSPEC["name"],
                parameters={"preset": preset, "device": device, "seed": seed, "results_dir": ".", **params},
                progress_bar=progress, log_output=False, report_mode=False, kernel_manager_class=manager)
        except BaseException as err:
            if _STOP.is_set() or isinstance(err, KeyboardInterrupt):
                stop_kernels()
                raise KeyboardInterrupt from None  # atomic_dir removes the partial folder
            if not isinstance(err, Exception):
                raise
            error = (f"{err.ename}: {err.evalue}" if isinstance(err, papermill.PapermillExecutionError)
                     else f"{type(err).__name__}: {err}{_log_tail(tmp / '.kernel.log')}")
        finally:
            source_nb.unlink(missing_ok=True)
        if _STOP.is_set():
            raise KeyboardInterrupt
        log = tmp / ".kernel.log"
        if error and log.is_file():
            log.rename(tmp / "kernel.log")
        log.unlink(missing_ok=True)
        seconds = time.perf_counter() - start
        threads = {k: os.environ.get(k, "1") for k in THREAD_VARIABLES}
        status = {"chapter": number, "slug": slug, "preset": preset, "device": device, "seed": seed,
                  "params": params, "threads": threads, "status": "failed" if error else "ok", "error": error,
                  "seconds": round(seconds, 2), "cpu_seconds": manager.record.get("cpu_seconds"), "hash": digest}
        atomic_write_text(tmp / "run.json", json.dumps(status, indent=2, default=str) + "\n")
    return RunResult(number, output, not error, seconds, error)


# --- kernels: quiet, known, stoppable ---

_STOP = threading.Event()  # set by stop_kernels(): every run in progress ends as interrupted
_LIVE: dict[int, Any] = {}  # kernel pid -> its manager, for every kernel this process has running
_LIVE_LOCK = threading.Lock()


class _QuietWhenStopped:
    """A logging filter: while runs are being stopped, drop the kernel machinery's messages (a kernel
    killed mid-start or mid-cell makes papermill/nbclient/jupyter_client log errors that are expected)."""

    def filter(self, record) -> bool:
        return not _STOP.is_set()


for _name in ("papermill", "nbclient", "traitlets", "jupyter_client", "asyncio"):
    logging.getLogger(_name).addFilter(_QuietWhenStopped())


def stop_kernels() -> None:
    """Interrupt every chapter run in this process: kill their kernels (and the kernels' children).

    Safe to call from a signal handler or any thread; the runs then raise KeyboardInterrupt and keep
    no partial result. The next `run_chapter` / `run_book` call starts afresh.
    """
    _STOP.set()
    with _LIVE_LOCK:
        pids = list(_LIVE)
    for pid in pids:
        _kill_group(pid)


def _kill_group(pid: int) -> None:
    """SIGKILL a kernel's process group (the kernel is its own session leader, so pgid == pid)."""
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            os.kill(pid, signal.SIGTERM)


def _cpu_seconds(pid: int) -> float | None:
    """Return the user + system CPU seconds of process `pid` so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError):
        return None


def _kernel_manager(log_path: Path, cwd: Path) -> type:
    """Return a kernel-manager class for one run: the kernel starts in `cwd`, its stderr and stdout go
    to `log_path` (so zmq warnings and shutdown tracebacks never reach the terminal), it runs single-threaded
    unless THREAD_VARIABLES are set, it is registered for `stop_kernels`, and its CPU time is
    recorded in the class's `record` when it shuts down."""
    from jupyter_client.manager import AsyncKernelManager, KernelManager

    class BookKernelManager(AsyncKernelManager):
        record: dict[str, Any] = {}

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            if _STOP.is_set():
                raise KeyboardInterrupt
            env = dict(kw.get("env") or os.environ)
            for key in THREAD_VARIABLES:
                env.setdefault(key, "1")
            self._lw_log = open(log_path, "ab")  # noqa: SIM115 - closed at shutdown
            kw.update(env=env, stdout=self._lw_log, stderr=self._lw_log, cwd=str(cwd))
            await KernelManager._async_launch_kernel(self, kernel_cmd, **kw)
            pid = getattr(self.provisioner, "pid", None)
            if pid is not None:
                self._lw_pid = pid
                with _LIVE_LOCK:
                    _LIVE[pid] = self
                if _STOP.is_set():  # stopped while this kernel was starting
                    _kill_group(pid)

        async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
            pid = getattr(self, "_lw_pid", None)
            if pid is not None:
                self.record["cpu_seconds"] = _cpu_seconds(pid)
            try:
                await KernelManager._async_shutdown_kernel(self, now=now or _STOP.is_set(), restart=restart)
            finally:
                with _LIVE_LOCK:
                    _LIVE.pop(pid, None)
                log = getattr(self, "_lw_log", None)
                if log is not None:
                    log.close()

    BookKernelManager.record = {}
    return BookKernelManager


def _log_tail(path: Path, lines: int = 15) -> str:
    """Return the last lines of a kernel log, for errors that are not a cell's (a dead kernel)."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    text = [line for line in text if "Kernel is running over TCP without encryption" not in line]
    return ("\nkernel log (last lines):\n" + "\n".join(text[-lines:])) if text else ""


def _up_to_date(output: Path, digest: str) -> bool:
    try:
        status = read_json(output / "run.json")
    except (OSError, ValueError):
        return False
    return status.get("hash") == digest and status.get("status") == "ok"


def _write_notebook(source: Path, target: Path) -> None:
    """Convert a jupytext .py chapter to .ipynb with the kernelspec papermill needs."""
    import jupytext
    import nbformat

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("jupytext", None)
    nbformat.write(nb, str(target))


def chapters_dir(root: Path) -> Path:
    """Return where `layerwise book` keeps its executed chapters."""
    return root / "_build" / "chapters"


def default_jobs() -> int:
    """Return the number of chapters `run_book` runs at once by default: the CPU cores available."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_book(*, preset: str = "book", force: bool = False, only: list[str] | None = None,
             root: str | Path | None = None, device: str = "auto", progress: bool = True,
             jobs: int | None = 1, log=print) -> list[RunResult]:
    """Execute every chapter (or `only` those) into _build/chapters/, skipping up-to-date ones.

    `jobs` chapters run at once (None: one per CPU core), each in its own single-threaded kernel;
    the longest (by their last recorded time) start first. Progress is one line per chapter start
    and finish, prefixed by the chapter number (papermill's bars only with jobs=1 and `progress`).
    A failed chapter is recorded and the others go on. An interrupt (Ctrl-C, or `stop_kernels()`)
    kills every kernel, keeps no partial result and re-raises KeyboardInterrupt. Returns the results
    in book order.
    """
    root = book_root(root)
    numbers = [config.chapter_number(c) for c in only] if only else discover(root)
    jobs = default_jobs() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise config.ConfigError(f"jobs must be an integer >= 1, got {jobs!r}")
    jobs = min(jobs, max(1, len(numbers)))
    _STOP.clear()
    lock = threading.Lock()

    def say(text: str) -> None:
        with lock:
            log(text)

    def one(number: str) -> RunResult:
        slug = config.CHAPTERS[number].slug
        say(f"[{number}] {slug} (preset {preset}) ...")
        try:
            res = _run_chapter(number, preset=preset, params=None, output=chapters_dir(root) / slug, device=device,
                               seed=0, root=root, progress=progress and jobs == 1, force=force)
        except KeyboardInterrupt:
            raise
        except Exception as err:  # a chapter that cannot even start (bad parameters, unwritable folder)
            if _STOP.is_set():
                raise KeyboardInterrupt from None
            res = RunResult(number, chapters_dir(root) / slug, False, 0.0, f"{type(err).__name__}: {err}")
        state = "up to date, skipped" if res.skipped else ("ok" if res.ok else f"FAILED: {res.error}")
        say(f"[{number}] {state} ({res.seconds:.0f} s)")
        return res

    if jobs == 1:
        try:
            return [one(number) for number in numbers]
        except KeyboardInterrupt:
            stop_kernels()
            raise
    from concurrent.futures import ThreadPoolExecutor, wait

    order = sorted(numbers, key=lambda n: -_last_seconds(chapters_dir(root) / config.CHAPTERS[n].slug))
    pool = ThreadPoolExecutor(jobs, thread_name_prefix="chapter")
    futures = {n: pool.submit(one, n) for n in order}
    try:
        wait(list(futures.values()))
    except KeyboardInterrupt:
        stop_kernels()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if _STOP.is_set():  # stop_kernels() from elsewhere
        raise KeyboardInterrupt
    return [futures[n].result() for n in numbers]


def _last_seconds(run_dir: Path) -> float:
    """Return how long a chapter's last book run took (0 if unknown), to start the longest first."""
    try:
        return float(read_json(run_dir / "run.json").get("seconds", 0.0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0


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
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, stage / name)
    if (root / "book").is_dir():
        shutil.copytree(root / "book", stage / "book")
    (stage / "notebooks").mkdir()
    for number, chapter in config.CHAPTERS.items():
        if (root / "notebooks" / f"{chapter.slug}.py").is_file():
            _stage_chapter(number, root, stage)
    _stage_scoreboard(root, stage)
    (stage / "_static").mkdir(exist_ok=True)
    from .charts import vega_bundle_js

    atomic_write_text(stage / "_static" / "vega-bundle.js", vega_bundle_js())
    atomic_write_text(stage / "_static" / "layerwise.css", SITE_CSS)


# The site's own styles (_config.yml lists the file): wide tables scroll inside the article with a
# scrollbar that shows, output tables are compact, the scoreboard and the results box wrap their text.
SITE_CSS = """\
.cell_output table, .pst-scrollable-table-container { display: block; max-width: 100%; overflow-x: auto; }
.cell_output table { font-size: 0.8rem; border-collapse: collapse; }
.cell_output table td, .cell_output table th { padding: 0.15rem 0.45rem; }
.cell_output table th, .cell_output table td { white-space: normal; overflow-wrap: anywhere; }
.cell_output table, .pst-scrollable-table-container, .lw-chart { scrollbar-width: thin; scrollbar-color: #999 #eee; }
.cell_output table::-webkit-scrollbar, .pst-scrollable-table-container::-webkit-scrollbar,
.lw-chart::-webkit-scrollbar { height: 8px; background: #eee; }
.cell_output table::-webkit-scrollbar-thumb, .pst-scrollable-table-container::-webkit-scrollbar-thumb,
.lw-chart::-webkit-scrollbar-thumb { background: #999; border-radius: 4px; }
table.lw-scoreboard { width: 100%; table-layout: fixed; font-size: 0.85rem; border-collapse: collapse; }
table.lw-scoreboard td, table.lw-scoreboard th { vertical-align: top; padding: 0.35rem 0.4rem;
  border-bottom: 1px solid #ddd; overflow-wrap: anywhere; text-align: left; }
table.lw-scoreboard code { white-space: normal; overflow-wrap: anywhere; font-size: 0.8rem; }
.lw-verdicts ul { margin-bottom: 0.4rem; }
.lw-chart-title, .lw-figure-title { font-weight: 500; }
"""


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
        _lay_out(nb, slug, ledger)
        nbformat.write(nb, str(target))
        return
    title = config.CHAPTERS[number].title
    text = (f"# {title}\n\n```{{error}}\nThis chapter failed to execute at preset "
            f"{status.get('preset', '?')}: {status.get('error', 'unknown error')}\n```\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nbformat.write(nb, str(target))


def _lay_out(nb, slug: str, ledger: dict | None) -> None:
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
