"""Generated: every parameter of every chapter, given a value its rule refuses, fails in resolve with one
clear line naming it (never later, inside the kernel)."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from layerwise import config
from layerwise.config import ConfigError

CASES = [(number, name, bad) for number in config.CHAPTERS
         for name, p in config.chapter_params(number).items() for bad in p.rule.invalid()]


@pytest.mark.parametrize("number", sorted(config.CHAPTERS))
def test_every_parameter_refuses_its_invalid_values_in_resolve_with_one_line(number, tmp_path):
    cases = [(name, bad) for n, name, bad in CASES if n == number]
    assert len({name for name, _ in cases}) == len(config.chapter_params(number))  # every parameter
    start = time.perf_counter()
    for name, bad in cases:
        with pytest.raises(ConfigError) as err:
            config.resolve(number, "smoke", results_dir=tmp_path, **{name: bad})
        message = str(err.value)
        assert message.startswith(f"{name} must be ") and "\n" not in message, (name, bad, message)
        assert f"-p {name} " in message, message
    assert time.perf_counter() - start < 5 + 0.05 * len(cases)


def test_the_command_line_refuses_a_bad_value_with_one_error_line_and_no_kernel(book_copy):
    # `layerwise run 01 --preset smoke -p n_classes 1` used to die inside the notebook with a ClaimError
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "layerwise", "--root", str(book_copy), "run", "01", "--preset",
                           "smoke", "-p", "n_classes", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: n_classes must be an integer >= 2, got 1"), lines
    assert not (book_copy / "_build" / "runs").exists()  # no kernel ran, nothing was written
    assert time.perf_counter() - start < 60
