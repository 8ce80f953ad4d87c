"""Ctrl-C on `layerwise run` and `layerwise book` prints one line, stops every kernel and keeps nothing."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import copy_book

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups (POSIX) needed")
LINE = "interrupted; no partial result was kept"


def start(args, cwd):
    """Start `layerwise ARGS` in its own process group, as a terminal runs a command."""
    return subprocess.Popen([sys.executable, "-m", "layerwise", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_kernels(folder: Path, count: int, proc, timeout: float = 240.0) -> list[int]:
    """Wait until `count` chapter kernels run under `folder` (their log files exist); return their pids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        logs = list(folder.glob("**/.*.tmp-*/.kernel.log"))
        if len(logs) >= count:
            time.sleep(1.0)  # let the kernels get into their first cells
            return kernel_pids(logs)
        time.sleep(0.2)
    raise AssertionError(f"no {count} kernel(s) started under {folder} in {timeout} s")


def kernel_pids(logs) -> list[int]:
    """Return the pids of the kernels whose working folder holds one of `logs`."""
    folders = {str(log.parent) for log in logs}
    pids = []
    for proc_dir in Path("/proc").glob("[0-9]*"):
        try:
            if os.readlink(proc_dir / "cwd") in folders and b"ipykernel" in (proc_dir / "cmdline").read_bytes():
                pids.append(int(proc_dir.name))
        except OSError:
            continue
    return pids


def interrupt(proc) -> tuple[str, str]:
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    return out, err


def assert_gone(pids):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.1)
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()
             and "Z" not in Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]]
    assert not alive, f"kernels still running: {alive}"


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")
def test_ctrl_c_on_run_prints_one_line_and_keeps_no_result(book_copy, tmp_path):
    output = tmp_path / "out"
    proc = start(["--root", str(book_copy), "run", "01", "--preset", "smoke", "--quiet", "--output", str(output)],
                 tmp_path)
    pids = wait_for_kernels(tmp_path, 1, proc)
    out, err = interrupt(proc)
    assert err.strip() == LINE, err
    assert out == ""
    assert not output.exists() and not list(tmp_path.glob(".out*"))
    assert_gone(pids)


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")
def test_ctrl_c_on_a_parallel_book_stops_every_kernel(tmp_path):
    root = copy_book(tmp_path)
    proc = start(["--root", str(root), "book", "--preset", "smoke", "--jobs", "2", "--no-site", "--force",
                  "--device", "cpu"], tmp_path)
    pids = wait_for_kernels(root / "_build" / "chapters", 2, proc)
    assert len(pids) == 2
    out, err = interrupt(proc)
    assert err.strip() == LINE, err
    assert all(line.startswith("[") for line in out.splitlines()), out  # progress lines only
    chapters = root / "_build" / "chapters"
    assert not [p for p in chapters.iterdir()], list(chapters.iterdir())  # nothing kept, no temporary folder
    assert_gone(pids)
