"""`layerwise replicate NN` and `book --replicate`: a chapter rerun on a disjoint seed set, the verdicts that
changed, and the scoreboard's "replicated" column."""
import json

import pytest

from layerwise import book, config, replicate, scoreboard
from layerwise.book import RunResult
from layerwise.cli import main

from conftest import copy_book

SLUG = config.CHAPTERS["01"].slug


def write_run(folder, verdicts, *, seed=0, preset="smoke", digest="book-hash", status="ok"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps({"status": status, "preset": preset, "seed": seed, "params": {},
                                                 "hash": digest, "error": "" if status == "ok" else "boom"}))
    claims = [{"id": k, "kind": "claim", "statement": f"claim {k}", "source": "", "test": ">= 1", "measured": "1",
               "verdict": v, "reason": ""} for k, v in verdicts.items()]
    (folder / "claims.json").write_text(json.dumps({"claims": claims, "preset": preset}))


@pytest.fixture
def root(tmp_path):
    return copy_book(tmp_path)


def fake_runner(verdicts, calls, status="ok"):
    def run(number, *, preset, params, output, device, seed, root, progress, force):
        calls.append({"number": number, "preset": preset, "seed": seed, "output": output, "params": params})
        write_run(output, verdicts, seed=seed, preset=preset, digest="rep-hash", status=status)
        return RunResult(number, output, status == "ok", 1.0, "" if status == "ok" else "boom")
    return run


def test_replicate_reruns_at_the_book_seed_plus_1000_and_lists_what_changed(root):
    write_run(book.chapters_dir(root) / SLUG, {"a": "reproduced", "b": "not reproduced", "c": "inconclusive"})
    calls = []
    rep = replicate.replicate_chapter("1", root=root, runner=fake_runner(
        {"a": "reproduced", "b": "inconclusive", "c": "inconclusive"}, calls))
    assert calls == [{"number": "01", "preset": "smoke", "seed": 1000, "output": root / "_build" / "replicate" / "01",
                      "params": {}}]
    assert rep.ok and rep.changed == [("01", "b", "not reproduced", "inconclusive")] and rep.total == 3
    text = rep.report()
    assert text.splitlines()[0] == f"chapter 01 at seed 1000 (preset smoke) -> {root / '_build' / 'replicate' / '01'}"
    assert text.splitlines()[-1] == "1 of 3 verdicts changed"
    assert "b      not reproduced  inconclusive" in text
    saved = json.loads((root / "_build" / "replicate" / "01" / "replicated.json").read_text())
    assert saved["seed"] == 1000 and saved["book_hash"] == "book-hash" and saved["changed"] == [list(rep.changed[0])]


def test_replicate_takes_a_seed_and_preset_and_refuses_the_book_seed(root):
    write_run(book.chapters_dir(root) / SLUG, {"a": "reproduced"}, seed=5)
    calls = []
    replicate.replicate_chapter("01", seed=77, preset="book", root=root, runner=fake_runner({"a": "reproduced"}, calls))
    assert (calls[0]["seed"], calls[0]["preset"]) == (77, "book")
    with pytest.raises(config.ConfigError, match="disjoint seed set"):
        replicate.replicate_chapter("01", seed=5, root=root, runner=fake_runner({}, []))


def test_a_missing_book_run_is_a_clear_error_with_the_command_that_makes_it(root, capsys):
    assert main(["--root", str(root), "replicate", "01"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: chapter 01 has no book run to compare with") and "`layerwise book --only 01`" in err
    assert "Traceback" not in err


def test_a_failed_replication_is_reported_and_not_compared(root):
    write_run(book.chapters_dir(root) / SLUG, {"a": "reproduced"})
    rep = replicate.replicate_chapter("01", root=root, runner=fake_runner({}, [], status="failed"))
    assert not rep.ok and "failed at seed 1000: boom" in rep.report()
    assert not (root / "_build" / "replicate" / "01" / "replicated.json").exists()


def test_the_scoreboard_says_whether_each_verdict_replicated_and_ignores_a_stale_replication(root):
    chapters = book.chapters_dir(root)
    write_run(chapters / SLUG, {"a": "reproduced", "b": "not reproduced", "c": "inconclusive"})
    replicate.replicate_chapter("01", root=root, runner=fake_runner({"a": "reproduced", "b": "inconclusive"}, []))
    rows = scoreboard.gather(chapters, ["01"])
    assert [r.replicated for r in rows] == ["same", "changed: not reproduced -> inconclusive",
                                            "absent in the replication"]
    page = scoreboard.to_markdown(rows)
    assert 'data-replicated="same"' in page and 'data-replicated="changed"' in page
    assert "replicated" in scoreboard.to_text(rows).splitlines()[2]
    write_run(chapters / SLUG, {"a": "reproduced"}, digest="a-newer-book-run")  # the book ran again since
    assert [r.replicated for r in scoreboard.gather(chapters, ["01"])] == ["not replicated"]


@pytest.mark.slow
def test_replicate_and_book_replicate_at_smoke(tmp_path, capsys):
    """A real smoke run of chapter 01: the book run, its replication at seed 1000, the scoreboard column."""
    root = copy_book(tmp_path)
    args = ["--root", str(root)]
    assert main([*args, "book", "--preset", "smoke", "--only", "01", "--no-site", "--quiet", "--jobs", "1"]) == 0
    capsys.readouterr()
    assert main([*args, "replicate", "01", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "chapter 01 at seed 1000 (preset smoke)" in out
    assert out.rstrip().splitlines()[-1].endswith("verdicts changed")
    saved = json.loads((root / "_build" / "replicate" / "01" / "replicated.json").read_text())
    assert saved["seed"] == 1000 and saved["total"] >= 1
    assert json.loads((root / "_build" / "replicate" / "01" / "claims.json").read_text())["seed"] == 1000
    rows = scoreboard.gather(book.chapters_dir(root), ["01"])
    assert all(r.replicated == "same" or r.replicated.startswith(("changed", "absent")) for r in rows)
    # book --replicate: both runs are up to date, so this only checks and reports
    assert main([*args, "book", "--preset", "smoke", "--only", "01", "--no-site", "--quiet", "--replicate",
                 "--jobs", "1"]) == 0
    assert "replication: " in capsys.readouterr().out
