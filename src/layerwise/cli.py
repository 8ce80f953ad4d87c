"""The `layerwise` command: list, run and build chapters.

    layerwise chapters
    layerwise params 04                     every parameter with its smoke/book/paper values and help
    layerwise params 04 --write-cell        regenerate the notebook's parameters cell (all: every chapter)
    layerwise store info|clear              the network store: where, how big; empty it
    layerwise run 01 --preset paper -p net_depth 8 --device cuda [--output DIR]
    layerwise book [--preset book] [--force] [--only 01,04] [--jobs N]
    layerwise scoreboard [--against OTHER_BUILD]
    layerwise replicate 01 [--seed 1000] [--preset book]   rerun on a disjoint seed set; the verdicts that changed
    layerwise book --replicate              every chapter, then every chapter again on a disjoint seed set
    layerwise sweep 01 -p epochs 50,100 -p seed 0,1 [--executor local|dask|submitit]
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Sequence

from .io import OutputError, read_json


class _Lazy:
    """A module imported on first attribute access (config and data import torch, which takes seconds:
    the Ctrl-C handler is installed before)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        import importlib

        return getattr(importlib.import_module(self._name), attr)


config = _Lazy("layerwise.config")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="layerwise", description="Run the chapters of the Layerwise book.")
    p.add_argument("--root", default=None, help="the book folder (default: found from the working directory)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("chapters", help="list the chapters and the state of their last book run")
    run = sub.add_parser("run", help="execute one chapter with papermill")
    run.add_argument("chapter", help="chapter number, e.g. 01")
    _common(run)
    run.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="override a parameter (repeatable); lists are comma-separated")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--output", default=None, help="folder for the executed notebook and results "
                     "(default: _build/runs/<chapter>/<preset>)")
    book = sub.add_parser("book", help="execute every chapter, then build the site")
    _common(book)
    book.add_argument("--force", action="store_true", help="re-execute chapters that are up to date")
    book.add_argument("--only", default="", help="comma-separated chapter numbers to execute")
    book.add_argument("--no-site", action="store_true", help="execute chapters but do not build the site")
    book.add_argument("--jobs", type=int, default=None,
                      help="chapters run at once, each in a single-threaded kernel (default: the CPU cores)")
    book.add_argument("--replicate", action="store_true",
                      help="after the book, rerun every chapter on a disjoint seed set (book seed + 1000) into "
                           "_build/replicate/; the scoreboard then shows whether each verdict replicated")
    rep = sub.add_parser("replicate", help="rerun a chapter on a disjoint seed set and list the verdicts that changed",
                         description="Rerun chapter NN on a seed set disjoint from the book's into "
                         "_build/replicate/NN/ (atomically) and print the verdicts that changed against the book run "
                         "in _build/chapters/ (which must exist: `layerwise book --only NN`).")
    rep.add_argument("chapter", help="chapter number, e.g. 01")
    rep.add_argument("--seed", type=int, default=None,
                     help="base seed of the replication (default: the book run's seed + 1000)")
    rep.add_argument("--preset", default=None, help="smoke | book | paper (default: the book run's preset)")
    rep.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.add_argument("--no-store", action="store_true",
                     help="bypass the network store: the kernels train every net (LAYERWISE_STORE=off)")
    board = sub.add_parser("scoreboard", help="print every chapter's claims and verdicts from the last book run",
                           description="Print every chapter's claims and verdicts from the last book run "
                           "(exit code 1 when a chapter failed). With --against OTHER_BUILD, print the claims "
                           "whose verdict differs between OTHER_BUILD and this book (exit code 1 when any does).")
    board.add_argument("--against", default=None, metavar="OTHER_BUILD",
                       help="another build to compare with: a book folder, its _build folder, or a folder of "
                            "executed chapters (<slug>/claims.json), e.g. a copy of _build/chapters from a GPU run")
    params = sub.add_parser("params", help="list a chapter's parameters: smoke, book and paper values, help")
    params.add_argument("chapter", help="chapter number, e.g. 04 ('all' with --write-cell)")
    params.add_argument("--write-cell", action="store_true",
                        help="rewrite the notebook's parameters cell from the declarations (name = book value  "
                        "# help) and sync the .ipynb")
    store = sub.add_parser("store", help="show or empty the network store (trained nets cached by recipe)")
    store.add_argument("action", choices=["info", "clear"], help="info: where, entries, size; clear: empty it")
    _sweep_parser(sub)
    return p


SWEEP_HELP = """Run a chapter at every point of a parameter grid, one papermill run per point.

-p NAME VALUES adds a grid axis. `;` separates an axis's values; for a parameter that is one number
or string, `,` does too. For a list-valued parameter `,` separates the list's elements:
  layerwise sweep 01 -p net_depth 6,8,10 -p seed 0,1,2          3 x 3 = 9 points
  layerwise sweep 01 -p sweep_depths "4,6;8,10" -p dataset "digits;fake"   2 x 2 points
A parameter given one value is fixed for every point (as in `layerwise run`).

Each point is written atomically to OUTPUT/points/<axis=value_...>/; a point already complete
(run.json ok, same content hash) is skipped, a failed one is reported and the others go on. The tidy
table of every point's claims and declared numbers goes to OUTPUT/sweep.csv, a chart to
OUTPUT/summary.html."""


def _sweep_parser(sub) -> None:
    sweep = sub.add_parser("sweep", help="run a chapter over a grid of parameters", description=SWEEP_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep.add_argument("chapter", help="chapter number, e.g. 01")
    _common(sweep)
    sweep.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUES"),
                       help="a grid axis or a fixed override (repeatable; see above)")
    sweep.add_argument("--seed", type=int, default=0, help="the seed when seed is not a grid axis")
    sweep.add_argument("--executor", default="local", choices=["local", "dask", "submitit"],
                       help="local: a process pool (default); dask: a Dask cluster; submitit: SLURM "
                            "(local processes when there is no SLURM)")
    sweep.add_argument("--workers", type=int, default=None,
                       help="parallel runs (default: min(points, CPU cores)); the dask local cluster's size")
    sweep.add_argument("--scheduler", default=None,
                       help="address of a running Dask scheduler, e.g. tcp://10.0.0.1:8786 "
                            "(default: a local cluster of --workers processes)")
    sweep.add_argument("--output", default=None, help="sweep folder (default: _build/sweeps/<chapter>-<preset>)")
    sweep.add_argument("--force", action="store_true", help="re-run points that are complete")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-store", action="store_true",
                   help="bypass the network store: the kernels train every net (LAYERWISE_STORE=off)")
    p.add_argument("--preset", default="book", help="smoke | book | paper (default: book)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_chapters(args: argparse.Namespace) -> int:
    from .book import book_root, chapters_dir, discover

    root = book_root(args.root)
    for number in discover(root):
        chapter = config.CHAPTERS[number]
        try:
            status = read_json(chapters_dir(root) / chapter.slug / "run.json")
            state = f"{status['status']} at {status['preset']} ({status['seconds']:.0f} s)"
        except (OSError, ValueError, KeyError):
            state = "not run"
        print(f"{number:>3}  {chapter.slug:<32} {chapter.title:<32} {state}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .book import run_chapter

    number = config.chapter_number(args.chapter)
    if args.preset not in config.PRESET_NAMES:
        raise config.ConfigError(f"preset must be one of {', '.join(config.PRESET_NAMES)}, got {args.preset!r}")
    params = {name: config.parse_value(number, name, value) for name, value in args.param}
    result = run_chapter(number, preset=args.preset, params=params, output=args.output, device=args.device,
                         seed=args.seed, root=args.root, progress=not args.quiet)
    if not result.ok:
        print(f"chapter {number} failed: {result.error}\n(executed notebook: {result.output})", file=sys.stderr)
        return 1
    print(f"chapter {number} done in {result.seconds:.0f} s -> {result.output}")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from .book import default_jobs, run_book
    from .site import build_site

    only = [c for c in args.only.split(",") if c.strip()]
    if args.preset not in config.PRESET_NAMES:
        raise config.ConfigError(f"preset must be one of {', '.join(config.PRESET_NAMES)}, got {args.preset!r}")
    if args.jobs is not None and args.jobs < 1:
        raise config.ConfigError(f"--jobs must be an integer >= 1, got {args.jobs}")
    results = run_book(preset=args.preset, force=args.force, only=only or None, root=args.root,
                       device=args.device, progress=not args.quiet, jobs=args.jobs, log=_flush_print)
    failed = [r.chapter for r in results if not r.ok]
    if args.replicate:
        from .replicate import replicate_book

        reps = replicate_book([r.chapter for r in results if r.ok], root=args.root, device=args.device,
                              jobs=args.jobs or default_jobs(), force=args.force, log=_flush_print)
        changed, total = sum(len(r.changed) for r in reps if r.ok), sum(r.total for r in reps if r.ok)
        print(f"replication: {changed} of {total} verdicts changed on a disjoint seed set")
        failed += [f"{r.chapter} (replication)" for r in reps if not r.ok]
    if not args.no_site:
        index = build_site(root=args.root)
        print(f"site: {index}")
    if failed:
        print(f"chapters that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    if args.write_cell:
        from . import cells
        from .book import book_root

        root = book_root(args.root)
        numbers = list(config.CHAPTERS) if args.chapter == "all" else [config.chapter_number(args.chapter)]
        for number in numbers:
            changed = cells.write_cell(number, root)
            print(f"{cells.notebook_source(number, root).relative_to(root)}: parameters cell "
                  f"{'rewritten' if changed else 'already up to date'}")
        return 0
    number = config.chapter_number(args.chapter)
    declared = config.chapter_params(number)
    table = [("parameter", *config.PRESET_NAMES, "meaning")]
    table += [(name, *(_short(p.at(preset)) for preset in config.PRESET_NAMES), p.help) for name, p in declared.items()]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    print(f"chapter {number} ({config.CHAPTERS[number].slug}); change any with -p NAME VALUE, lists comma-separated")
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return 0


def cmd_store(args: argparse.Namespace) -> int:
    from . import store
    from .config import find_root

    root = find_root(args.root) if args.root else find_root()
    folder = store.location(root=root)
    if args.action == "clear":
        print(f"store {folder}: removed {store.clear(folder)} entries")
        return 0
    s = store.info(folder)
    print(f"store {s['location']}{'' if s['enabled'] else ' (bypassed: LAYERWISE_STORE=off)'}\n"
          f"{s['entries']} entries, {store.human(s['bytes'])} of at most {store.human(s['max_bytes'])} "
          f"(LAYERWISE_STORE_MAX); empty it with `layerwise store clear`")
    return 0


def _short(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def cmd_scoreboard(args: argparse.Namespace) -> int:
    from . import scoreboard
    from .book import book_root, chapters_dir, discover

    root = book_root(args.root)
    rows = scoreboard.gather(chapters_dir(root), discover(root))
    if args.against is None:
        print(scoreboard.to_text(rows), end="")
        return 0 if all(r.claim for r in rows) else 1
    other = _chapters_folder(args.against)
    before = scoreboard.gather(other, discover(root))
    changed = scoreboard.compare(before, rows)
    print(f"{other}: {scoreboard.summary(before)}\n{chapters_dir(root)}: {scoreboard.summary(rows)}\n")
    if not changed:
        print("no verdict changed")
        return 0
    table = [("chapter", "claim", "was", "now")] + changed
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    print(f"{len(changed)} verdict{'s' if len(changed) != 1 else ''} changed:")
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 1


def cmd_replicate(args: argparse.Namespace) -> int:
    from .replicate import replicate_chapter

    rep = replicate_chapter(args.chapter, seed=args.seed, preset=args.preset, root=args.root, device=args.device,
                            progress=not args.quiet)
    print(rep.report(), file=sys.stdout if rep.ok else sys.stderr)
    return 0 if rep.ok else 1


def _chapters_folder(path: str):
    """Return the folder of executed chapters in `path` (a book folder, its _build, or the folder itself)."""
    from pathlib import Path

    base = Path(path).expanduser()
    for candidate in (base / "_build" / "chapters", base / "chapters", base):
        if candidate.is_dir() and any(candidate.glob("*/run.json")):
            return candidate
    raise config.ConfigError(f"--against {path}: no executed chapters there (expected <slug>/run.json in "
                             f"{path}, {path}/chapters or {path}/_build/chapters)")


def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import parse_grid, run_sweep

    if args.workers is not None and args.workers < 1:
        raise config.ConfigError(f"--workers must be an integer >= 1, got {args.workers}")
    grid = parse_grid(args.chapter, args.param)
    result = run_sweep(args.chapter, grid, preset=args.preset, output=args.output, executor=args.executor,
                       workers=args.workers, scheduler=args.scheduler, device=args.device, seed=args.seed,
                       root=args.root, force=args.force)
    print(f"{len(result.points) - len(result.failed)} of {len(result.points)} points ok; "
          f"table: {result.csv}; chart: {result.chart}")
    for r in result.failed:
        print(f"failed: {r.output.name}: {r.error}", file=sys.stderr)
    return 1 if result.failed else 0


def _flush_print(text: str) -> None:
    print(text, flush=True)


def _interrupt(signum, frame) -> None:
    """Ctrl-C or SIGTERM: kill every chapter kernel at once, then unwind (no partial result is kept).

    Further signals are ignored while the run cleans up, so a second Ctrl-C cannot interrupt the
    cleanup half-way."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    book = sys.modules.get("layerwise.book")  # never import inside a handler (it may run mid-import)
    if book is not None:
        book.stop_kernels()
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `layerwise` console script; returns the exit code."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):  # a killed run cleans up like Ctrl-C: no partial result
            previous[sig] = signal.signal(sig, _interrupt)
    try:
        args = _parser().parse_args(argv)
        handler = {"chapters": cmd_chapters, "run": cmd_run, "book": cmd_book, "scoreboard": cmd_scoreboard,
                   "params": cmd_params, "sweep": cmd_sweep, "store": cmd_store,
                   "replicate": cmd_replicate}[args.command]
        if getattr(args, "no_store", False):
            import os

            os.environ["LAYERWISE_STORE"] = "off"  # the kernels inherit it (book.py launches them with it)
        from .data import DataError

        try:
            return handler(args)
        except (config.ConfigError, DataError, OutputError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        print("interrupted; no partial result was kept", file=sys.stderr)
        return 130
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
