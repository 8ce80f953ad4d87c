"""The command line rejects bad input before papermill starts (these tests take seconds)."""
import pytest

from layerwise import config
from layerwise.cli import main


@pytest.mark.parametrize("argv, message", [
    (["run", "01", "--preset", "fast"], "preset must be one of smoke, book, paper"),
    (["run", "01", "-p", "depth", "0"], "depth must be an integer >= 3, got 0"),
    (["run", "01", "-p", "net_width", "wide"], "net_width must be an integer >= 1, got 'wide'"),
    (["run", "01", "-p", "colour", "red"], "unknown parameter 'colour'"),
    (["run", "42"], "unknown chapter '42'"),
    (["run", "01", "--device", "cuda:7"], "cuda:7"),
])
def test_bad_input_is_a_clear_error_with_exit_code_2(argv, message, capsys, book_copy):
    assert main(["--root", str(book_copy), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err
    assert not (book_copy / "_build" / "runs").exists()


def test_unwritable_output_is_rejected_before_running(capsys, book_copy, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--root", str(book_copy), "run", "01", "--output", str(blocker / "out")]) == 2
    assert "cannot be written" in capsys.readouterr().err


def test_chapters_lists_every_chapter(capsys, book_copy):
    assert main(["--root", str(book_copy), "chapters"]) == 0
    assert "01_deep_linear_compression" in capsys.readouterr().out


def test_params_lists_every_parameter_with_its_three_preset_values_and_help(capsys):
    assert main(["params", "01"]) == 0
    out = capsys.readouterr().out.splitlines()
    row = next(line for line in out if line.startswith("net_epochs "))
    declared = config.chapter_params("01")["net_epochs"]
    assert row.split()[1:4] == [str(declared.at(p)) for p in ("smoke", "book", "paper")]
    assert declared.help.split(" (")[0] in row
    assert len(out) == 2 + len(config.chapter_params("01"))


def test_params_of_an_unknown_chapter_is_a_clear_error(capsys):
    assert main(["params", "99"]) == 2
    assert "unknown chapter '99'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["run", "01", "-p", "dataset", "cifar10"], "dataset 'cifar10' needs its files"),
    (["run", "01", "--preset", "paper"], "dataset 'cifar10' needs its files"),
    (["run", "05", "-p", "width", "100000000"], "width=100000000 needs at least"),
    (["book", "--preset", "fast"], "preset must be one of smoke, book, paper"),
    (["book", "--jobs", "0"], "--jobs must be an integer >= 1, got 0"),
])
def test_data_memory_and_book_options_fail_fast_with_one_line(argv, message, capsys, tmp_path):
    import time

    from conftest import copy_book

    book_copy = copy_book(tmp_path)  # a fresh copy: nothing may be written into it
    start = time.process_time()
    assert main(["--root", str(book_copy), *argv]) == 2
    assert time.process_time() - start < 2.0  # checked in resolve, before papermill or any allocation
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (book_copy / "_build").exists()
