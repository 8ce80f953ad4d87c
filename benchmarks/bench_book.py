"""Wall time of chapter 1 at preset book, and of the whole book (every chapter + the site).

    .venv/bin/python benchmarks/bench_book.py            # chapter 1 only
    .venv/bin/python benchmarks/bench_book.py --all      # also `layerwise book --force` (cold build)

Targets (issue 3, on 2 cores): chapter 1 at book under 2 minutes. Runs go to a temporary folder so
the repository's own _build is untouched, except --all, which builds the real site.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERWISE = [sys.executable, "-m", "layerwise", "--root", str(ROOT)]


def timed(cmd: list[str]) -> float:
    """Return the wall time in seconds of running `cmd` (raises if it fails)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="also time a cold `layerwise book --force`")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("chapter 01 at book (papermill, incl. kernel start)",
                     timed([*LAYERWISE, "run", "01", "--quiet", "--output", str(Path(tmp) / "ch01")])))
    if args.all:
        rows.append(("layerwise book --force (every chapter + site)", timed([*LAYERWISE, "book", "--force", "--quiet"])))
        rows.append(("layerwise book, warm (nothing changed)", timed([*LAYERWISE, "book", "--quiet"])))
    print(f"{'what':<55} {'seconds':>8}")
    for what, seconds in rows:
        print(f"{what:<55} {seconds:8.1f}")


if __name__ == "__main__":
    main()
