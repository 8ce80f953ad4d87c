"""Every chapter executed end to end at preset smoke with papermill, plus determinism and the paper path."""
import json
import os

import pytest

from layerwise import book, config
from layerwise.claims import VERDICTS
from layerwise.io import read_json

from conftest import ROOT, copy_book
from layerwise.cli import main

CHAPTERS = book.discover(ROOT)


def test_there_are_chapters_to_test():
    assert "01" in CHAPTERS


@pytest.mark.parametrize("number", CHAPTERS)
def test_chapter_executes_at_smoke_and_records_claims(number, smoke_book):
    result = smoke_book[number]
    assert result.ok, f"chapter {number} failed: {result.error} (see {result.output})"
    status = read_json(result.output / "run.json")
    assert status["status"] == "ok" and status["preset"] == "smoke"
    ledger = read_json(result.output / "claims.json")
    assert ledger["chapter"] == number and ledger["preset"] == "smoke"
    assert len(ledger["claims"]) > 0
    for claim in ledger["claims"]:
        assert claim["verdict"] in VERDICTS
        assert claim["source"] and claim["statement"] and (claim["test"] or claim["margin"])


@pytest.mark.parametrize("number", CHAPTERS)
def test_paired_notebook_exists_without_outputs(number):
    slug = config.CHAPTERS[number].slug
    nb = json.loads((ROOT / "notebooks" / f"{slug}.ipynb").read_text())
    assert all(not cell.get("outputs") for cell in nb["cells"])
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged `parameters`"


def test_same_seed_gives_identical_claims_for_every_chapter_also_in_parallel(smoke_book, tmp_path, capsys):
    """Same preset and seed, same claims.json, for every chapter; the second run goes through
    `layerwise book --jobs 2` (the session fixture ran one chapter at a time), which checks both."""
    root = copy_book(tmp_path)
    cwd = os.getcwd()
    code = main(["--root", str(root), "book", "--preset", "smoke", "--jobs", "2", "--no-site", "--device", "cpu",
                 "--quiet"])
    assert os.getcwd() == cwd  # parallel runs never chdir the process
    lines = capsys.readouterr().out.splitlines()
    assert sorted(line[:line.index("]") + 1] for line in lines) == sorted(f"[{n}]" for n in CHAPTERS for _ in "ab")
    assert {n for n, r in smoke_book.items() if r.ok} == {
        n for n in CHAPTERS if (book.chapters_dir(root) / config.CHAPTERS[n].slug / "claims.json").is_file()}
    assert code == (0 if all(r.ok for r in smoke_book.values()) else 1)
    differ = []
    for number, result in smoke_book.items():
        if result.ok:
            again = book.chapters_dir(root) / config.CHAPTERS[number].slug / "claims.json"
            if read_json(again) != read_json(result.output / "claims.json"):
                differ.append(number)
    assert not differ, f"chapters whose claims.json differ between two runs at the same seed: {differ}"


def test_paper_preset_code_path_runs_on_tiny_stand_in_data(book_copy, tmp_path):
    params = dict(dataset="fake", n_train=120, net_width=16, net_epochs=1, n_seeds=1, sweep_seeds=1, net_seeds=1, epochs=50,
                  rate_init_scales=[0.3], rate_alphas=[100.0], sweep_depths=[4], sweep_n_per_class=[10])
    result = book.run_chapter("01", preset="paper", params=params, output=tmp_path / "paper", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    assert read_json(result.output / "claims.json")["params"]["net_batch_size"] == 128


def test_a_failing_chapter_is_recorded_as_failed_not_as_a_result(book_copy, tmp_path):
    result = book.run_chapter("01", preset="smoke", params={"net_lr": 1e12}, output=tmp_path / "fail",
                              device="cpu", root=book_copy, progress=False)
    assert not result.ok and "DivergenceError" in result.error  # found only by training
    assert read_json(result.output / "run.json")["status"] == "failed"
    assert not (result.output / "claims.json").exists()
