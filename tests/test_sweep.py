"""Sweeps: the grid syntax, validation before anything runs, and real smoke sweeps of chapter 1 on a
process pool and on a two-worker local Dask cluster (tiny overrides keep each point to seconds)."""
import math

import pandas as pd
import pytest

from layerwise import config, sweep

# chapter 1 at smoke, cut to the bone: the sweep machinery is under test here, not the chapter
TINY = [("epochs", "50"), ("net_epochs", "1"), ("n_train", "100"), ("net_width", "16"),
        ("sweep_depths", "4"), ("sweep_n_per_class", "10")]


def test_commas_and_semicolons_make_grid_axes_and_one_value_is_fixed():
    grid = sweep.parse_grid("01", [("net_depth", "6,8"), ("sweep_depths", "4,6;8"), ("dataset", "digits;fake"),
                                   ("seed", "0"), ("lr", "0.1")])
    assert grid == {"net_depth": [6, 8], "sweep_depths": [[4, 6], [8]], "dataset": ["digits", "fake"],
                    "seed": [0], "lr": [0.1]}
    points = sweep.expand(grid)
    assert len(points) == 8 and points[1] == {"net_depth": 6, "sweep_depths": [4, 6], "dataset": "fake",
                                              "seed": 0, "lr": 0.1}
    assert sweep.point_name(points[1], ["net_depth", "sweep_depths", "dataset"]) == \
        "net_depth=6_sweep_depths=4-6_dataset=fake"


@pytest.mark.parametrize("pairs, message", [
    ([("depth", "4,0")], "depth must be an integer >= 3, got 0"),
    ([("depth", "4"), ("depth", "5")], "given twice"),
    ([("colour", "red")], "unknown parameter 'colour'"),
])
def test_bad_grid_values_are_rejected_while_parsing(pairs, message):
    with pytest.raises(config.ConfigError, match=message):
        sweep.parse_grid("01", pairs)


def test_every_point_is_validated_before_any_runs(book_copy, tmp_path):
    grid = sweep.parse_grid("01", [("net_width", "16,5")])  # 5 < 10 classes: a cross-parameter check
    with pytest.raises(config.ConfigError, match="net_width must be >= 10"):
        sweep.run_sweep("01", grid, preset="smoke", output=tmp_path / "out", root=book_copy, log=lambda *_: None)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["local", "submitit"])
def test_executors_run_functions_in_other_processes(kind, tmp_path):
    with sweep.make_executor(kind, 2, folder=tmp_path) as pool:
        futures = [pool.submit(math.factorial, n) for n in range(4)]  # importable in any worker
        assert [f.result() for f in futures] == [1, 1, 2, 6]


def run_tiny(book_copy, output, executor, axes, log=None):
    grid = sweep.parse_grid("01", TINY + axes)
    return sweep.run_sweep("01", grid, preset="smoke", output=output, executor=executor, workers=2,
                           device="cpu", root=book_copy, log=log or (lambda *_: None))


@pytest.mark.slow
def test_local_sweep_gathers_every_point_and_a_failing_point_does_not_stop_the_others(book_copy, tmp_path):
    result = run_tiny(book_copy, tmp_path, "local", [("net_lr", "0.01;1e12")])
    ok, failed = result.results
    assert ok.ok and not failed.ok and "Error" in failed.error  # found only by training (divergence)
    table = pd.read_csv(result.csv)
    assert set(table.point) == {"net_lr=0.01", "net_lr=1e+12"}
    assert table[table.point == "net_lr=1e+12"].verdict.tolist() == ["failed"]
    digits = table[table.point == "net_lr=0.01"]
    numbers = digits[digits.kind == "number"].set_index("name").value
    assert {"rate", "r2_log_c", "hybrid_test_accuracy"} <= set(numbers.index) and 0 < numbers["rate"] < 1
    claims = digits[digits.kind == "claim"]
    assert len(claims) > 0 and claims.verdict.isin(["reproduced", "not reproduced", "inconclusive"]).all()
    assert "vegaEmbed(" in result.chart.read_text()


@pytest.mark.slow
def test_dask_sweep_on_a_two_worker_cluster_gathers_every_point_and_a_rerun_skips_them(book_copy, tmp_path):
    first = run_tiny(book_copy, tmp_path, "dask", [("seed", "0,1")])
    assert [r.ok for r in first.results] == [True, True], [r.error for r in first.results]
    assert sorted(set(first.table.point)) == ["seed=0", "seed=1"]
    rates = first.table[first.table.name == "rate"].value.tolist()
    assert len(rates) == 2 and all(math.isfinite(r) for r in rates)
    log = []
    again = run_tiny(book_copy, tmp_path, "local", [("seed", "0,1")], log=log.append)
    assert all(r.skipped for r in again.results), log
    pd.testing.assert_frame_equal(again.table, first.table)


@pytest.mark.parametrize("argv, message", [
    (["sweep", "01", "-p", "depth", "4,0"], "depth must be an integer >= 3, got 0"),
    (["sweep", "01", "-p", "net_width", "16,5"], "net_width must be >= 10"),
    (["sweep", "01", "--workers", "0"], "--workers must be an integer >= 1"),
    (["sweep", "01", "--preset", "fast"], "preset must be one of smoke, book, paper"),
])
def test_sweep_command_rejects_bad_input_before_anything_runs(argv, message, capsys, book_copy):
    from layerwise.cli import main

    assert main(["--root", str(book_copy), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (book_copy / "_build" / "sweeps").exists()
