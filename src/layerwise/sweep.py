"""Parameter sweeps: one papermill run per grid point, fanned out over a concurrent.futures executor.

    grid = parse_grid("01", [("epochs", "50,100"), ("seed", "0,1")])   # what `-p NAME VALUES` gives
    result = run_sweep("01", grid, preset="smoke", executor="dask", workers=2)
    result.table                       # tidy: one row per (point, claim or declared number)

Grid syntax (`-p NAME VALUES`): `;` separates the values of a grid axis, and for a parameter that
is a single number or string `,` does too (`-p depth 10,20,30`, `-p dataset "digits;fake"`). For a
list-valued parameter `,` separates the list's elements, so `-p sweep_depths "4,6;8,10"` is an axis
of two lists. A parameter given one value is a fixed override of every point, as in `layerwise run`.

Layout of a sweep folder (default `_build/sweeps/<slug>-<preset>/`):
    points/<axis=value_...>/   one chapter run per point, written atomically (notebook, run.json, claims.json)
    sweep.csv                  the tidy table of every point
    summary.html               the summary chart (opens offline: the Vega bundle is inlined)
A point whose run.json says "ok" with the same content hash is complete and is not run again.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import multiprocessing
import os
import re
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from . import book, config
from .claims import format_measured
from .io import atomic_write_text, read_json

EXECUTORS = ("local", "dask", "submitit")


@dataclass
class SweepResult:
    """A finished sweep: the points, their run results, the gathered table and the files written."""

    points: list[dict[str, Any]]
    results: list[book.RunResult]
    table: Any  # pandas.DataFrame
    csv: Path
    chart: Path

    @property
    def failed(self) -> list[book.RunResult]:
        return [r for r in self.results if not r.ok]


def parse_grid(chapter: str, pairs: Sequence[tuple[str, str]]) -> dict[str, list[Any]]:
    """Return {name: [values]} from command-line `(NAME, VALUES)` pairs, each value validated."""
    number = config.chapter_number(chapter)
    book_table = config.preset_table(number, "book")
    grid: dict[str, list[Any]] = {}
    for name, text in pairs:
        if name in grid:
            raise config.ConfigError(f"parameter {name!r} is given twice; list all its values in one -p")
        is_list = isinstance(book_table.get(name), list)
        parts = text.split(";") if is_list or ";" in text else text.split(",")
        values = [config.parse_value(number, name, part.strip()) for part in parts if part.strip()]
        if not values:
            raise config.ConfigError(f"-p {name} has no values, got {text!r}")
        grid[name] = values
    return grid


def expand(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Return every grid point as {name: value}, the last axis varying fastest."""
    return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]


def point_name(point: dict[str, Any], axes: Sequence[str]) -> str:
    """Return the folder name of a point from its values on the varying `axes`, e.g. "depth=10_seed=0"."""
    parts = [f"{name}={_text(point[name], '-')}" for name in axes]
    name = re.sub(r"[^A-Za-z0-9=._+-]+", "-", "_".join(parts)) or "point"  # keep "+": 1e+12 is not 1e-12
    if len(name) > 100:  # keep folder names portable; the hash keeps them distinct
        name = name[:80] + "-" + hashlib.sha1(name.encode()).hexdigest()[:12]
    return name


def _text(value: Any, sep: str = ",") -> str:
    if isinstance(value, (list, tuple)):
        return sep.join(_text(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def run_sweep(chapter: str | int, grid: dict[str, list[Any]], *, preset: str = "book",
              output: str | Path | None = None, executor: str = "local", workers: int | None = None,
              scheduler: str | None = None, device: str = "auto", seed: int = 0,
              root: str | Path | None = None, force: bool = False, log=print) -> SweepResult:
    """Run `chapter` at every point of `grid`, gather the results, and return the SweepResult.

    Every point is validated before any runs. A point that fails is recorded (run.json "failed",
    its error in the table) and the others go on; a complete point is skipped unless `force`.
    """
    root = book.book_root(root)
    number = config.chapter_number(chapter)
    if executor not in EXECUTORS:
        raise config.ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    points = expand(grid)
    axes = [name for name, values in grid.items() if len(values) > 1]
    output = Path(output) if output else root / "_build" / "sweeps" / f"{config.CHAPTERS[number].slug}-{preset}"
    workers = max(1, workers or min(len(points), os.cpu_count() or 1))
    threads = max(1, (os.cpu_count() or 1) // workers)
    tasks = [_task(number, p, i, preset, output / "points" / point_name(p, axes), device, seed, root, force,
                   threads) for i, p in enumerate(points)]
    with tempfile.TemporaryDirectory() as scratch:  # every point is checked before anything runs
        for t in tasks:
            config.resolve(number, preset, device=t["device"], seed=t["seed"], results_dir=scratch, **t["params"])
    log(f"sweep of chapter {number}: {len(tasks)} points on {executor} ({workers} workers) -> {output}")
    results = []
    with make_executor(executor, workers, scheduler=scheduler, folder=output / "submitit") as pool:
        futures = [pool.submit(run_point, t) for t in tasks]
        for t, future in zip(tasks, futures):
            try:
                res = future.result()
            except Exception as err:  # the worker itself died: the point failed, the others go on
                res = book.RunResult(number, t["output"], False, 0.0, f"{type(err).__name__}: {err}")
            state = "complete, skipped" if res.skipped else ("ok" if res.ok else f"FAILED: {res.error}")
            log(f"  {t['output'].name}: {state} ({res.seconds:.0f} s)")
            results.append(res)
    table = gather(points, [t["output"] for t in tasks], axes)
    csv = atomic_write_text(output / "sweep.csv", table.to_csv(index=False))
    chart = atomic_write_text(output / "summary.html", _chart_html(table, axes, number))
    return SweepResult(points, results, table, csv, chart)


def _task(number: str, point: dict[str, Any], index: int, preset: str, output: Path, device: str,
          seed: int, root: Path, force: bool, threads: int) -> dict[str, Any]:
    """Return the picklable description of one point's run (one GPU per point, round robin)."""
    params = {k: v for k, v in point.items() if k != "seed"}
    n_gpus = _cuda_count() if device == "auto" else 0
    return dict(chapter=number, params=params, seed=point.get("seed", seed), preset=preset, output=output,
                device=f"cuda:{index % n_gpus}" if n_gpus > 1 else device, root=root, force=force,
                threads=threads)


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count()


def run_point(task: dict[str, Any]) -> book.RunResult:
    """Run one grid point in a worker; return its RunResult (errors are returned, never raised)."""
    # share the cores between the workers' kernels instead of oversubscribing them
    os.environ.setdefault("OMP_NUM_THREADS", str(task["threads"]))
    try:
        return book.run_chapter(task["chapter"], preset=task["preset"], params=task["params"],
                                output=task["output"], device=task["device"], seed=task["seed"],
                                root=task["root"], progress=False, force=task["force"])
    except Exception as err:
        return book.RunResult(task["chapter"], Path(task["output"]), False, 0.0, f"{type(err).__name__}: {err}")


@contextmanager
def make_executor(kind: str, workers: int, *, scheduler: str | None = None,
                  folder: Path | None = None) -> Iterator[Any]:
    """Yield a concurrent.futures-style executor (`submit(fn, arg) -> future with .result()`).

    local: a process pool; dask: `Client.get_executor()` on a LocalCluster of `workers` processes,
    or on the running scheduler at `scheduler`; submitit: SLURM, or local processes without SLURM.
    """
    if kind == "local":
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
    elif kind == "dask":
        from distributed import Client, LocalCluster

        cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                      host="127.0.0.1", dashboard_address=None)
        try:
            try:
                client = Client(scheduler or cluster)
            except (OSError, TimeoutError) as err:
                raise config.ConfigError(f"cannot reach the Dask scheduler at {scheduler!r} ({err}); start one "
                                         "(dask scheduler) or leave out --scheduler for a local cluster") from None
            with client:
                yield client.get_executor()
        finally:
            if cluster is not None:
                cluster.close()
    elif kind == "submitit":
        yield SubmititExecutor(folder or Path(tempfile.mkdtemp(prefix="submitit-")), workers)
    else:
        raise config.ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {kind!r}")


class SubmititExecutor:
    """submitit's AutoExecutor behind `submit(fn, *args)`, at most `workers` jobs running at a time."""

    def __init__(self, folder: str | Path, workers: int, timeout_min: int = 24 * 60):
        import submitit

        self._executor = submitit.AutoExecutor(folder=str(folder))
        self._executor.update_parameters(timeout_min=timeout_min)
        self.workers = workers
        self._jobs: list[Any] = []

    def submit(self, fn, *args, **kwargs) -> Any:
        """Submit `fn(*args, **kwargs)` as a job (waiting for a free slot) and return the job.

        A submitit Job has the `result()` and `done()` of a concurrent.futures.Future.
        """
        while sum(not job.done() for job in self._jobs) >= self.workers:
            time.sleep(0.5)
        job = self._executor.submit(fn, *args, **kwargs)
        self._jobs.append(job)
        return job


def gather(points: Sequence[dict[str, Any]], folders: Sequence[Path], axes: Sequence[str]):
    """Return the tidy table of a sweep: one row per (point, claim) and per (point, declared number).

    Columns: point, the grid axes, status, kind ("claim" | "number" | "run"), name, value (the measured
    number when it is one number, else NaN), measured (as text), verdict, error. A failed point is
    one row of kind "run" with its error.
    """
    import pandas as pd

    rows = []
    for point, folder in zip(points, folders):
        status, ledger = _read(folder / "run.json"), _read(folder / "claims.json")
        base = {"point": folder.name, **{a: _text(point[a]) if isinstance(point[a], list) else point[a]
                                          for a in axes},
                "status": status.get("status", "missing"), "error": status.get("error", "")}
        if base["status"] != "ok":
            rows.append({**base, "kind": "run", "name": "", "value": math.nan, "measured": "", "verdict": "failed"})
            continue
        for name, value in ledger.get("numbers", {}).items():
            rows.append({**base, "kind": "number", "name": name, "value": _number(value),
                         "measured": format_measured(value), "verdict": ""})
        for claim in ledger.get("claims", []):
            rows.append({**base, "kind": "claim", "name": claim["id"], "value": _number(claim["measured"]),
                         "measured": format_measured(claim["measured"]), "verdict": claim["verdict"]})
    columns = ["point", *axes, "status", "kind", "name", "value", "measured", "verdict", "error"]
    return pd.DataFrame(rows, columns=columns)


def _read(path: Path) -> dict:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return {}


def _number(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return math.nan


def summary_chart(table, axes: Sequence[str], title: str = ""):
    """Return an Altair chart of every declared number and one-number claim against the first axis.

    One panel per quantity (independent y scales); points are the runs, the line their mean over the
    other axes (e.g. seeds), one colour per value of the second axis when there is one.
    """
    import altair as alt

    data = table[(table.kind != "run") & table.value.notna()]
    varying = [a for a in axes if a != "seed"] or list(axes) or ["point"]
    x = varying[0]
    numeric = data[x].map(lambda v: isinstance(v, (int, float))).all() if len(data) else False
    enc = {"x": alt.X(f"{x}:{'Q' if numeric else 'N'}", title=x, scale=alt.Scale(zero=False))}
    if len(varying) > 1:
        enc["color"] = alt.Color(f"{varying[1]}:N", title=varying[1])
    base = alt.Chart(data).encode(**enc)
    panel = (base.mark_line().encode(y=alt.Y("mean(value):Q", title="value", scale=alt.Scale(zero=False)))
             + base.mark_point(opacity=0.6).encode(y="value:Q", tooltip=["point", "name", "measured", "verdict"]))
    return (panel.properties(width=220, height=150)
            .facet(facet=alt.Facet("name:N", title=None), columns=3, title=title)
            .resolve_scale(y="independent"))


def _chart_html(table, axes: Sequence[str], number: str) -> str:
    from .charts import standalone_html

    title = f"Sweep of chapter {number}: {', '.join(axes) or 'one point'}"
    return standalone_html(summary_chart(table, axes, title), title)
