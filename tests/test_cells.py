"""Every chapter's parameters cell is generated from its declarations (`layerwise params NN --write-cell`)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from layerwise import cells, config
from layerwise.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("number", sorted(config.CHAPTERS))
def test_the_parameters_cell_equals_the_declarations(number):
    body, expected = cells.expected_cell(number, ROOT)
    assert body == expected, (f"notebooks/{config.CHAPTERS[number].slug}.py: its parameters cell differs from "
                              f"chapters/ch{number}.py; run `layerwise params {number} --write-cell`")
    nb = json.loads((ROOT / "notebooks" / f"{config.CHAPTERS[number].slug}.ipynb").read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and "".join(tagged[0]["source"]).split("\n") == body, "the .ipynb is not synced"


@pytest.mark.parametrize("number", sorted(config.CHAPTERS))
def test_the_cell_runs_and_resolves_to_the_preset(number, tmp_path):
    body, _ = cells.expected_cell(number, ROOT)
    namespace: dict = {}
    exec("\n".join(body), namespace)  # noqa: S102 - the generated cell is plain assignments
    declared = config.chapter_params(number)
    assert {n: namespace[n] for n in declared} == {n: p.book for n, p in declared.items()}
    cfg = config.resolve_notebook(number, {**namespace, "preset": "smoke", "results_dir": str(tmp_path)})
    assert cfg.params == config.preset_table(number, "smoke")  # book values in the cell follow the preset


def test_write_cell_rewrites_a_stale_cell_keeps_its_groups_and_syncs_the_ipynb(tmp_path, capsys):
    slug = config.CHAPTERS["01"].slug
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\n")
    for ext in ("py", "ipynb"):
        shutil.copy(ROOT / "notebooks" / f"{slug}.{ext}", tmp_path / "notebooks" / f"{slug}.{ext}")
    py = tmp_path / "notebooks" / f"{slug}.py"
    stale = py.read_text().replace("\ndepth = 6  #", "\ndepth = None  #").replace("\nalpha_mlp = ", "\nold = 1\nalpha_mlp = ")
    py.write_text(stale)
    assert main(["--root", str(tmp_path), "params", "01", "--write-cell"]) == 0
    assert "parameters cell rewritten" in capsys.readouterr().out
    body, expected = cells.expected_cell("01", tmp_path)
    assert body == expected and "old = 1" not in body and any(line.startswith("depth = 6  # ") for line in body)
    assert sum(line.startswith("# ") for line in body) >= 3  # the group headers survive
    nb = json.loads((tmp_path / "notebooks" / f"{slug}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    assert "".join(cell["source"]).split("\n") == body
    assert cells.write_cell("01", tmp_path, sync=False) is False  # idempotent


def test_rendered_values_are_python_literals():
    assert cells.render("mnist1d") == '"mnist1d"' and cells.render([0.5, 1e-11]) == "[0.5, 1e-11]"
    assert cells.render(["a", "b"]) == '["a", "b"]' and cells.render(False) == "False"


def test_help_with_an_equals_sign_stays_readable_by_papermill():
    assert cells.comment("n >= 3, 0 = all, a != b") == "n ≥ 3, 0 ＝ all, a ≠ b"
    import papermill

    params = papermill.inspect_notebook(str(ROOT / "notebooks" / f"{config.CHAPTERS['06'].slug}.ipynb"))
    assert set(config.chapter_params("06")) <= set(params)  # every parameter parsed, none skipped
    assert params["n_train"]["default"] == "600" and params["n_train"]["help"]
