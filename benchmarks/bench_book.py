"""Wall time of the whole book (`layerwise book --force`, every chapter + the site) at --jobs 1 and 2.

    .venv/bin/python benchmarks/bench_book.py                      # preset book, --jobs 1 then 2
    .venv/bin/python benchmarks/bench_book.py --preset smoke       # a quick check of the script
    .venv/bin/python benchmarks/bench_book.py --jobs 2 --no-site   # one setting, chapters only

Each run executes a fresh copy of the book sources in a temporary folder (the repository's own
_build is untouched), so every chapter really runs. The table gives each run's wall time, the
slowest chapter, and the chapters' total kernel CPU time (user + system, from run.json), then per
chapter its wall and CPU seconds. The runs' claims.json files are compared: they must be identical
(same preset, same seed). Goal (issue section 4): the whole book at preset book in at most 10 minutes
on a 2-core machine. Takes long at book: run it on demand, not in tests.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 600


def copy_book(target: Path) -> Path:
    """Copy the book sources (not _build) to `target` and return it."""
    from layerwise.book import copy_sources

    return copy_sources(ROOT, target)


def run_book(root: Path, preset: str, jobs: int, site: bool) -> tuple[float, dict[str, dict]]:
    """Run `layerwise book --force` in `root`; return its wall time and every chapter's run.json."""
    cmd = [sys.executable, "-m", "layerwise", "--root", str(root), "book", "--preset", preset, "--force",
           "--jobs", str(jobs), "--quiet"] + ([] if site else ["--no-site"])
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    runs = {}
    for path in sorted((root / "_build" / "chapters").glob("*/run.json")):
        runs[path.parent.name] = json.loads(path.read_text())
    return seconds, runs


def claims(root: Path) -> dict[str, str]:
    return {p.parent.name: p.read_text() for p in sorted((root / "_build" / "chapters").glob("*/claims.json"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="book")
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to time (default 1,2)")
    parser.add_argument("--no-site", action="store_true", help="execute the chapters only")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-book-") as tmp:
        for j in jobs:
            root = copy_book(Path(tempfile.mkdtemp(dir=tmp, prefix=f"jobs{j}-")))
            seconds, runs = run_book(root, args.preset, j, not args.no_site)
            results[j] = (seconds, runs, claims(root))
            print(f"--jobs {j}: {seconds:.0f} s", flush=True)
    print(f"\nlayerwise book --force --preset {args.preset}{' --no-site' if args.no_site else ''}")
    print(f"{'jobs':>4} {'wall s':>8} {'slowest chapter s':>18} {'kernel CPU s':>13} {'failed':>7}")
    for j, (seconds, runs, _) in results.items():
        slowest = max((r["seconds"] for r in runs.values()), default=0.0)
        cpu = sum(r.get("cpu_seconds") or 0.0 for r in runs.values())
        failed = sum(r["status"] != "ok" for r in runs.values())
        print(f"{j:>4} {seconds:8.0f} {slowest:18.0f} {cpu:13.0f} {failed:>7}")
    slugs = sorted({s for _, runs, _ in results.values() for s in runs})
    print(f"\n{'chapter':<30}" + "".join(f" {'wall/cpu s (jobs ' + str(j) + ')':>24}" for j in results))
    for slug in slugs:
        cells = []
        for _, runs, _ in results.values():
            r = runs.get(slug, {})
            cells.append(f"{r.get('seconds', float('nan')):.0f} / {r.get('cpu_seconds') or float('nan'):.0f}")
        print(f"{slug:<30}" + "".join(f" {c:>24}" for c in cells))
    ledgers = [c for _, _, c in results.values()]
    differ = sorted(s for s in slugs if len({ledger.get(s) for ledger in ledgers}) > 1)
    print("\nclaims.json identical across the runs" if not differ else f"\nclaims.json DIFFER: {differ}")
    if args.preset == "book":
        best = min(seconds for seconds, _, _ in results.values())
        print(f"goal: whole book <= {GOAL_SECONDS} s; best {best:.0f} s: {'met' if best <= GOAL_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
