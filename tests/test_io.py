import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from layerwise.io import atomic_dir, atomic_write_json, read_json


def test_atomic_write_json_round_trips_and_turns_nan_into_null(tmp_path):
    path = atomic_write_json(tmp_path / "a.json", {"x": 1.5, "nan": float("nan"), "list": (1, 2)})
    assert read_json(path) == {"x": 1.5, "nan": None, "list": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_failed_atomic_dir_leaves_the_old_result_untouched(tmp_path):
    final = tmp_path / "result"
    with atomic_dir(final) as tmp:
        (tmp / "claims.json").write_text('{"old": true}')
    with pytest.raises(RuntimeError):
        with atomic_dir(final) as tmp:
            (tmp / "claims.json").write_text('{"half": ')
            raise RuntimeError("killed mid-run")
    assert json.loads((final / "claims.json").read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]


def test_process_killed_mid_write_leaves_no_file_that_looks_whole(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, sys
        from layerwise.io import atomic_dir
        with atomic_dir({str(tmp_path / 'run')!r}) as tmp:
            (tmp / "claims.json").write_text('{{"partial": ')
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script])
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "run").exists()  # only a hidden temporary folder may remain
    assert all(p.name.startswith(".") for p in tmp_path.iterdir())


def test_atomic_write_json_replaces_in_one_step(tmp_path):
    path = tmp_path / "x.json"
    atomic_write_json(path, {"v": 1})
    inode_before = os.stat(path).st_ino
    atomic_write_json(path, {"v": 2})
    assert read_json(path) == {"v": 2} and os.stat(path).st_ino != inode_before
