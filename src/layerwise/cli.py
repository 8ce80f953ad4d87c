"""The `layerwise` command: list, run and build chapters.

    layerwise chapters
    layerwise run 01 --preset paper -p net_depth 8 --device cuda [--output DIR]
    layerwise book [--preset book] [--force] [--only 01,04]
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import config
from .data import DataError
from .io import OutputError, read_json


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
    return p


def _common(p: argparse.ArgumentParser) -> None:
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
    from .book import build_site, run_book

    only = [c for c in args.only.split(",") if c.strip()]
    results = run_book(preset=args.preset, force=args.force, only=only or None, root=args.root,
                       device=args.device, progress=not args.quiet)
    failed = [r.chapter for r in results if not r.ok]
    if not args.no_site:
        index = build_site(root=args.root)
        print(f"site: {index}")
    if failed:
        print(f"chapters that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `layerwise` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    handler = {"chapters": cmd_chapters, "run": cmd_run, "book": cmd_book}[args.command]
    try:
        return handler(args)
    except (config.ConfigError, DataError, OutputError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; no partial result was kept", file=sys.stderr)
        return 130
