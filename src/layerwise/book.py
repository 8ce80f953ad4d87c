"""Run chapters with papermill (the site is staged and built by `layerwise.site`).

Layout under the book root (the folder holding `_toc.yml`):
    notebooks/NN_slug.py                 the chapter source (jupytext percent)
    _build/chapters/NN_slug/             a `layerwise book` run: NN_slug.ipynb, claims.json, run.json
    _build/runs/NN_slug/<preset>/        a `layerwise run` (unless --output DIR)
    _build/site-src/, _build/html/       the staged sources and the site (`layerwise.site`)
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
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import config
from .io import atomic_dir, atomic_write_text, ensure_writable_dir, read_json

SITE_FILES = ("_config.yml", "_toc.yml", "references.bib")  # the book root's files the site is built from
SITE_DIRS = ("book", "_static")  # and its folders (the chapters' sources are copied apart)
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
    """Copy the book's sources (config, TOC, references, book/, _static/, the chapters' .py; not _build)
    into `target`; return it."""
    for name in SITE_FILES:
        shutil.copy2(root / name, target / name)
    for name in SITE_DIRS:
        shutil.copytree(root / name, target / name)
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
                parameters={"preset": preset, "device": device, "seed": seed, "results_dir": ".", **params,
                            "overrides": sorted(params)},  # they win even at their book value (cells.py)
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
