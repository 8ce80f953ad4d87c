"""The README's commands as tests: every line of its ```bash blocks runs here, at preset smoke and into a
temporary folder, or carries a `# needs: ...` mark (a GPU, a download, a Dask scheduler) and must then
stop with a clear one-line error on this machine. New commands in the README are covered automatically.

Substitutions: `.venv/bin/` is the environment running the tests; `layerwise run|sweep` get
`--preset smoke` and `--output <tmp>` unless they give their own; `/tmp/` and `~/data` become temporary
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


def _prepare(command: Command, book: Path, tmp: Path) -> list[str]:
    argv = list(command.argv)
    if argv[0] == "make":
        return ["make", "-n", "-C", str(ROOT), *argv[1:]]
    argv[0] = str(BIN / Path(argv[0]).name)
    argv = [str(book) if a == "../other-build" else str(tmp / "data") if a == "~/data"
            else str(tmp) + "/" + a[len("/tmp/"):] if a.startswith("/tmp/") else a for a in argv]
    if Path(argv[0]).name == "layerwise" and argv[1] in ("run", "sweep"):
        if "--preset" not in argv:
            argv += ["--preset", "smoke"]
        if "--output" not in argv:
            argv += ["--output", str(tmp / f"out-{COMMANDS.index(command)}")]
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
