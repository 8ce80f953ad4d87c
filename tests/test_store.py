"""The network store: hits, misses on a recipe / code / fn change, atomic under two processes, bound, bypass."""
from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
import torch

from layerwise import store, train
from layerwise.cli import main


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("LAYERWISE_STORE", raising=False)
    monkeypatch.delenv("LAYERWISE_STORE_MAX", raising=False)


def counter():
    calls = []

    def fn():
        calls.append(1)
        torch.manual_seed(len(calls))
        return {"state": torch.randn(3, 3), "history": train.History(loss=[1.0, 0.5], epochs_run=1)}
    return fn, calls


def test_a_second_call_reads_the_value_back_without_running_fn(tmp_path):
    fn, calls = counter()
    recipe = dict(depth=4, width=8, seed=0, lr=0.1, data="digits", criterion="train_acc >= 0.99")
    first = store.cached(recipe, fn, store_dir=tmp_path)
    again = store.cached(dict(reversed(list(recipe.items()))), fn, store_dir=tmp_path)  # key order is irrelevant
    assert len(calls) == 1
    assert torch.equal(first["state"], again["state"]) and again["history"].loss == [1.0, 0.5]
    assert isinstance(again["history"], train.History)


def test_a_changed_recipe_misses(tmp_path):
    fn, calls = counter()
    store.cached(dict(seed=0, lr=0.1), fn, store_dir=tmp_path)
    store.cached(dict(seed=1, lr=0.1), fn, store_dir=tmp_path)
    store.cached(dict(seed=0, lr=0.1, epochs=5), fn, store_dir=tmp_path)
    assert len(calls) == 3


def test_a_change_to_the_training_code_misses(tmp_path, monkeypatch):
    fn, calls = counter()
    store.cached(dict(seed=0), fn, store_dir=tmp_path)
    before = store.code_hash()
    monkeypatch.setattr(store, "package_dir", lambda: tmp_path / "other-code")  # the code's files now differ
    assert store.code_hash() != before
    store.cached(dict(seed=0), fn, store_dir=tmp_path)
    assert len(calls) == 2
    assert set(store.TRAINING_CODE) >= {"train.py", "models.py", "data.py", "optim.py", "ensemble.py"}


def test_a_change_to_fn_itself_misses(tmp_path):
    store.cached(dict(seed=0), lambda: 1, store_dir=tmp_path)
    assert store.cached(dict(seed=0), lambda: 2, store_dir=tmp_path) == 2  # another source text: another key


def test_a_recipe_must_be_json_able(tmp_path):
    with pytest.raises(store.StoreError, match="not JSON-able"):
        store.cached(dict(model=object()), lambda: 1, store_dir=tmp_path)
    import numpy as np

    assert store.key(dict(a=np.float64(0.5), b=torch.tensor(3))) == store.key(dict(a=0.5, b=3))


def test_off_bypasses_and_writes_nothing(tmp_path, monkeypatch):
    fn, calls = counter()
    monkeypatch.setenv("LAYERWISE_STORE", "off")
    store.cached(dict(seed=0), fn, store_dir=tmp_path)
    store.cached(dict(seed=0), fn, store_dir=tmp_path)
    assert len(calls) == 2 and not any(tmp_path.iterdir())


def test_the_environment_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERWISE_STORE", str(tmp_path / "elsewhere"))
    store.cached(dict(seed=0), lambda: 1)
    assert store.info(tmp_path / "elsewhere")["entries"] == 1
    monkeypatch.delenv("LAYERWISE_STORE")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "_toc.yml").write_text("")
    assert store.location(root=tmp_path / "book") == tmp_path / "book" / "_build" / "store"


def test_the_store_is_bounded_least_recently_used_first(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERWISE_STORE_MAX", "250K")
    assert store.max_bytes() == 250 * 1024
    blob = lambda: torch.zeros(25_000)  # noqa: E731  ~100 KB an entry
    path = {s: store._path(tmp_path, store.key(dict(seed=s), blob)) for s in range(3)}
    store.cached(dict(seed=0), blob, store_dir=tmp_path)
    store.cached(dict(seed=1), blob, store_dir=tmp_path)
    os.utime(path[0], (1, 1)), os.utime(path[1], (2, 2))  # both written long ago, seed 0 first
    store.cached(dict(seed=0), blob, store_dir=tmp_path)  # a hit: seed 0 is now the most recently used
    store.cached(dict(seed=2), blob, store_dir=tmp_path)  # the third entry goes over the bound
    assert store.info(tmp_path)["bytes"] <= 250 * 1024
    assert path[0].exists() and not path[1].exists() and path[2].exists()
    monkeypatch.setenv("LAYERWISE_STORE_MAX", "lots")
    with pytest.raises(store.StoreError, match="LAYERWISE_STORE_MAX"):
        store.max_bytes()


def _write_many(folder: str, worker: int) -> list[float]:
    out = []
    for i in range(15):
        value = store.cached(dict(shared=i % 3), lambda: torch.full((20_000,), float(1 + 0)), store_dir=folder)
        out.append(float(value.sum()))
    return out


def test_two_processes_writing_the_same_entries_never_see_a_partial_file(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_write_many, [(str(tmp_path), 0), (str(tmp_path), 1)])
    assert all(v == 20_000.0 for r in results for v in r)
    assert store.info(tmp_path)["entries"] == 3 and not list(Path(tmp_path).glob("*/.*.tmp"))


def test_a_damaged_entry_is_recomputed(tmp_path):
    store.cached(dict(seed=0), lambda: 5, store_dir=tmp_path)
    store.entries(tmp_path)[0].path.write_bytes(b"not a torch file")
    assert store.cached(dict(seed=0), lambda: 5, store_dir=tmp_path) == 5


def test_store_info_and_clear_on_the_command_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "_toc.yml").write_text("")
    store.cached(dict(seed=0), lambda: 1, store_dir=tmp_path / "_build" / "store")
    assert main(["--root", str(tmp_path), "store", "info"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "_build" / "store") in out and "1 entries" in out
    assert main(["--root", str(tmp_path), "store", "clear"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert store.info(tmp_path / "_build" / "store")["entries"] == 0


def test_no_store_sets_the_kernels_environment(monkeypatch, capsys):
    monkeypatch.setattr("layerwise.cli.cmd_run", lambda args: 0)
    assert main(["run", "1", "--no-store"]) == 0  # cmd_run is replaced: nothing runs
    assert os.environ["LAYERWISE_STORE"] == "off"
    monkeypatch.delenv("LAYERWISE_STORE")
