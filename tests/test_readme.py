"""The README's commands as tests: every line of its ```bash blocks runs here, at preset smoke and into a
temporary folder, or carries a `# needs: ...` mark (a GPU, a download, a Dask scheduler) and must then
stop with a clear one-line error on this machine. New commands in the README are covered automatically.

Substitutions: `.venv/bin/` is the environment running the tests; `layerwise run|sweep` get
`--preset smoke` and `--output <tmp>` unless they give their own (the sweeps of one chapter share one
folder, so a grid run twice runs once); `/tmp/` and `~/data` become temporary
folders; `../other-build` (the build `scoreboard --against` compares with) is the smoke book itself.
`make TARGET` is checked with `make -n` (the session fixtures already do what `make book PRESET=smoke`
does)."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from layerwise import config

from conftest import ROOT

BIN = Path(sys.executable).parent
TOOLS = ("layerwise", "jupytext", "papermill")
# A `needs:` command that this machine cannot run but whose error is not yet a clear one-line error.
KNOWN_UNCLEAR: dict[str, str] = {}


@dataclass(frozen=True)
class Command:
    line: str
    argv: tuple[str, ...]
    needs: str

    def __str__(self) -> str:
        return self.line


def readme_commands(text: str | None = None) -> list[Command]:
    """Return every command of the README's ```bash blocks (comments dropped, `# needs: X` kept)."""
    text = (ROOT / "README.md").read_text() if text is None else text
    out = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                needs = re.search(r"#\s*needs:\s*(.+?)\s*$", line)
                out.append(Command(line.strip(), tuple(argv), needs.group(1) if needs else ""))
    return out


COMMANDS = readme_commands()


def test_the_readme_has_commands_and_each_is_one_this_test_knows():
    assert len(COMMANDS) >= 10
    for c in COMMANDS:
        assert c.argv[0] == "make" or c.argv[0] in {f".venv/bin/{t}" for t in TOOLS}, c.line


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.argv[0] == ".venv/bin/layerwise"
                                     and c.argv[1] in ("run", "sweep", "params")], ids=str)
def test_every_parameter_a_readme_command_names_exists_for_its_chapter(command):
    from layerwise.sweep import parse_grid

    argv = list(command.argv[1:])
    if argv[0] == "params" and argv[1] == "all":
        return
    number = config.chapter_number(argv[1])
    pairs = [(argv[i + 1], argv[i + 2]) for i, arg in enumerate(argv) if arg in ("-p", "--param")]
    for name, value in pairs:
        assert name == "seed" or name in config.chapter_params(number), (
            f"{command.line}: chapter {number} has no parameter {name!r}")
        if argv[0] == "run":
            config.parse_value(number, name, value)
    if argv[0] == "sweep":
        parse_grid(number, pairs)


def test_a_command_with_an_unknown_parameter_would_be_caught():
    (bad,) = readme_commands("```bash\n.venv/bin/layerwise sweep 04 -p colour 1,2\n```\n")
    with pytest.raises(AssertionError, match="chapter 04 has no parameter 'colour'"):
        test_every_parameter_a_readme_command_names_exists_for_its_chapter(bad)


@pytest.fixture(scope="module")
def readme_tmp(tmp_path_factory) -> Path:
    """One temporary folder for all README commands: they run in order, as a reader would."""
    return tmp_path_factory.mktemp("readme")


def example_path(arg: str, book: Path, tmp: Path) -> str:
    """Return a README argument with its example paths replaced: `../other-build` -> the smoke book,
    `~/data` -> tmp/data, `/tmp/X` -> tmp/X; any other argument unchanged."""
    if arg == "../other-build":
        return str(book)
    if arg == "~/data":
        return str(tmp / "data")
    if arg.startswith("/tmp/"):
        return str(tmp / arg[len("/tmp/"):])
    return arg


def test_only_the_readmes_example_paths_are_rewritten(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "BIN", Path("/tmp/clone/.venv/bin"))  # a checkout under /tmp/
    (cmd,) = readme_commands("```bash\n.venv/bin/jupytext --to ipynb -o /tmp/ch01.ipynb notebooks/x.py\n```\n")
    argv = _prepare(cmd, Path("/tmp/clone/book"), tmp_path)
    assert argv[0] == "/tmp/clone/.venv/bin/jupytext" and argv[4] == str(tmp_path / "ch01.ipynb")
    (run,) = readme_commands("```bash\n.venv/bin/layerwise run 01 --preset smoke\n```\n")
    argv = _prepare(run, Path("/tmp/clone/book"), Path("/tmp/pytest-1/readme"))
    assert argv[0] == "/tmp/clone/.venv/bin/layerwise" and argv[argv.index("--output") + 1].startswith(
        "/tmp/pytest-1/readme/out-")


def _prepare(command: Command, book: Path, tmp: Path) -> list[str]:
    argv = list(command.argv)
    if argv[0] == "make":
        return ["make", "-n", "-C", str(ROOT), *argv[1:]]
    # Only the README's own example paths are rewritten (its arguments, as written in the README); the tool
    # path and everything this test adds may live under /tmp/ themselves (a checkout under /tmp/).
    argv = [str(BIN / Path(argv[0]).name)] + [example_path(a, book, tmp) for a in argv[1:]]
    if Path(argv[0]).name == "layerwise" and argv[1] in ("run", "sweep"):
        if "--preset" not in argv:
            argv += ["--preset", "smoke"]
        if "--output" not in argv and argv[1] == "sweep":
            # one sweep folder per chapter, as without --output: a sweep over a grid an earlier command ran
            # (the README's executor examples share one grid) skips its complete points, as documented; the
            # executors themselves run every point in test_sweep.py
            argv += ["--output", str(tmp / f"sweep-{argv[2]}")]
        elif "--output" not in argv:
            index = COMMANDS.index(command) if command in COMMANDS else len(COMMANDS)
            argv += ["--output", str(tmp / f"out-{index}")]
        argv.append("--quiet")
    return argv


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_readme_command_runs_or_stops_with_a_clear_error(command, smoke_book, book_copy, readme_tmp):
    if command.needs and "GPU" in command.needs:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU: the command would start a real paper run")
    argv = _prepare(command, book_copy, readme_tmp)
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}
    done = subprocess.run(argv, cwd=book_copy, capture_output=True, text=True, timeout=900, env=env)
    shown = f"{' '.join(argv)}\nrc={done.returncode}\nstdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-3000:]}"
    if not command.needs:
        assert done.returncode == 0, shown
        return
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    clear = done.returncode == 2 and "Traceback" not in done.stderr and len(errors) == 1
    if command.needs in KNOWN_UNCLEAR:
        assert not clear, f"now a clear error: remove {command.needs!r} from KNOWN_UNCLEAR\n{shown}"
        pytest.xfail(KNOWN_UNCLEAR[command.needs])
    assert clear, shown


def test_the_readme_has_no_placeholder_left():
    text = (ROOT / "README.md").read_text()
    left = re.findall(r"\b[A-Z][A-Z0-9]{3,}_PARAMS\b|\bTODO\b|\bTBD\b|\bFIXME\b|\bXXX\b", text)
    assert not left, f"README placeholders left: {left}"


def test_the_parameters_each_chapter_bullet_names_are_that_chapters():
    """In "What each chapter lets you vary", a backticked parameter name of some chapter must be one of the
    bullet's chapter (a rename shows up here), and `prefix_*` must match one of its parameters."""
    text = (ROOT / "README.md").read_text()
    every = {n for c in config.CHAPTERS for n in config.chapter_params(c)}
    bullets = re.findall(r"^- \*\*(\w+)\*\* (.*?)(?=^- \*\*|^\s*$)", text, flags=re.M | re.S)
    assert {b[0] for b in bullets} >= set(config.CHAPTERS)
    for number, body in bullets:
        if number not in config.CHAPTERS:
            continue
        own = set(config.chapter_params(number))
        for token in re.findall(r"`([a-z][a-z0-9_]*\*?)`", body):
            if token.endswith("*"):
                assert any(n.startswith(token[:-1]) for n in own), f"chapter {number}: no parameter {token}"
            elif token in every:
                assert token in own, f"README bullet of chapter {number} names {token!r}, not one of its parameters"
