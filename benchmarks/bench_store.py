"""The network store's payoff: a chapter rerun after an analysis-only edit, against a cold run.

    .venv/bin/python benchmarks/bench_store.py                          # chapters 03, 05, 07 at preset book
    .venv/bin/python benchmarks/bench_store.py --preset smoke --chapters 03   # a quick check of the script

For each chapter, in a fresh copy of the book sources with its own empty store (LAYERWISE_STORE points
at a temporary folder, inherited by the kernels): a cold run (`layerwise run NN`, the store empty), then a
warm run that differs only in its results folder (`--output` elsewhere: what an edit to an analysis cell,
a figure or a claim leaves unchanged is exactly what the store keys on). Reported per chapter: wall and
kernel CPU seconds (run.json) cold and warm, their ratios, the store's entries and size after the cold
run, and whether the two runs' claims.json agree. Goal (issue 24 section 4): warm <= 25% of cold for
chapters 3, 5 and 7. It measures only what a chapter puts behind `store.cached`: a chapter that caches
nothing shows a ratio near 1 and 0 entries. Same machine, same invocation for both runs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 0.25


def run(root: Path, number: str, preset: str, output: Path, env: dict) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "layerwise", "--root", str(root), "run", number, "--preset", preset,
           "--output", str(output), "--quiet", "--device", "cpu"]
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall, json.loads((output / "run.json").read_text())


def claims(output: Path) -> dict:
    data = json.loads((output / "claims.json").read_text())
    return {k: v for k, v in data.items() if k not in ("created", "results_dir")}


def bench(number: str, preset: str) -> dict:
    from layerwise import store
    from layerwise.book import copy_sources

    with tempfile.TemporaryDirectory(prefix=f"bench-store-{number}-") as tmp:
        (Path(tmp) / "book").mkdir()
        root = copy_sources(ROOT, Path(tmp) / "book")
        folder = Path(tmp) / "store"
        store.clear(folder)
        env = {**os.environ, "LAYERWISE_STORE": str(folder)}
        cold_wall, cold = run(root, number, preset, Path(tmp) / "cold", env)
        entries = store.info(folder)
        warm_wall, warm = run(root, number, preset, Path(tmp) / "warm", env)
        same = claims(Path(tmp) / "cold") == claims(Path(tmp) / "warm")
    cpu_c, cpu_w = cold.get("cpu_seconds") or float("nan"), warm.get("cpu_seconds") or float("nan")
    return dict(chapter=number, cold_wall=cold_wall, warm_wall=warm_wall, cold_kernel=cold["seconds"],
                warm_kernel=warm["seconds"], cold_cpu=cpu_c, warm_cpu=cpu_w, wall_ratio=warm_wall / cold_wall,
                kernel_ratio=warm["seconds"] / cold["seconds"], cpu_ratio=cpu_w / cpu_c,
                entries=entries["entries"], bytes=entries["bytes"], same_claims=same)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="book")
    parser.add_argument("--chapters", default="03,05,07")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()
    rows = []
    print(f"preset {args.preset}; goal: warm <= {GOAL:.0%} of cold")
    print(f"{'chapter':>7} {'cold s':>8} {'warm s':>8} {'wall':>6} {'kernel':>7} {'cold cpu':>9} {'warm cpu':>9} "
          f"{'cpu':>6} {'entries':>8} {'MiB':>6}  claims  goal")
    for number in args.chapters.split(","):
        r = bench(number.strip(), args.preset)
        rows.append(r)
        ok = r["kernel_ratio"] <= GOAL and r["cpu_ratio"] <= GOAL
        print(f"{r['chapter']:>7} {r['cold_wall']:8.1f} {r['warm_wall']:8.1f} {r['wall_ratio']:6.0%} "
              f"{r['kernel_ratio']:7.0%} {r['cold_cpu']:9.1f} {r['warm_cpu']:9.1f} {r['cpu_ratio']:6.0%} "
              f"{r['entries']:>8} {r['bytes'] / 2**20:6.1f}  {'same' if r['same_claims'] else 'DIFFER'}  "
              f"{'met' if ok else 'not met'}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
