"""Staging a chapter page for the site (no build): the top after the opening cell, plumbing hidden,
figures shown once, and the hygiene of what a reader sees (no nan, no reprs, no stray emphasis)."""
import json

import nbformat
import pytest

from layerwise import site
from layerwise.book import SITE_FILES


def notebook():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    params = ('<details class="layerwise-params" open><summary>Parameters</summary><table class="layerwise-params">'
              "<thead><tr><th>parameter</th><th>value</th><th>meaning</th></tr></thead><tbody>"
              "<tr><td><code>datasets</code></td><td>['digits', 'mnist1d']</td><td>the `digits` set and more</td></tr>"
              "<tr><td><code>lr</code></td><td><b>None</b></td><td>step</td></tr></tbody></table></details>")
    figure = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "fig-ch05-probe", "mime_prefix": ""}},
              "data": {"text/html": "<div>chart</div>", "text/plain": "chart"}}
    table = {"output_type": "display_data", "metadata": {},
             "data": {"text/html": "<table><tr><th>verdict</th></tr><tr><td>NaN</td><td>&lt;= 1e-8</td></tr></table>"}}
    cells = [md("# Title\n\n**The question.** Where does l* sit?\n\nReading order: after chapter 1."),
             code("preset = 'book'", metadata={"tags": ["parameters"]}),
             code("preset = 'smoke'", metadata={"tags": ["injected-parameters"]}),
             code("cfg.table()", outputs=[{"output_type": "display_data", "metadata": {}, "data": {"text/html": params}}]),
             code("charts.figure('fig-ch05-probe', chart)", outputs=[figure]),
             code("df", outputs=[table]),
             md("## 1. First\n\nThe peak $l^*$ and l* and `l*` and *emphasis* and **bold**.")]
    nb = nbformat.v4.new_notebook(cells=cells)
    return nb


LEDGER = {"preset": "book", "summary": "1 of 2 claims reproduced", "findings": "The rate holds: l* sits at layer 3.",
          "claims": [{"id": "a", "statement": "the peak l* is early", "verdict": "reproduced", "section": "1. First",
                      "source": "x", "test": ">= 1", "measured": "1", "kind": "claim"},
                     {"id": "b", "statement": "the rank falls", "verdict": "inconclusive", "section": "1. First",
                      "source": "x", "test": ">= 1", "measured": "1", "kind": "claim"}]}


@pytest.fixture
def staged():
    nb = notebook()
    site.lay_out(nb, "05_extractor_tunnel", json.loads(json.dumps(LEDGER)))
    return nb


def test_what_we_found_and_the_verdict_box_follow_the_opening_cell(staged):
    assert staged.cells[0].source.startswith("# Title")
    top = staged.cells[1].source
    assert top.startswith(":::{admonition} What we found") and "l\\* sits at layer 3" in top
    assert top.index("What we found") < top.index("lw-verdicts")


def test_what_we_found_changes_with_the_ledger():
    a, b = notebook(), notebook()
    site.lay_out(a, "05_extractor_tunnel", dict(LEDGER))
    site.lay_out(b, "05_extractor_tunnel", dict(LEDGER, findings="The rate fails here."))
    assert "The rate fails here." in b.cells[1].source and "The rate fails here." not in a.cells[1].source


def test_the_parameters_cells_are_removed_and_the_table_collapsed(staged):
    tags = [c.metadata.get("tags", []) for c in staged.cells if c.cell_type == "code"]
    assert "remove-cell" in tags[0] and "remove-cell" in tags[1] and not tags[2]
    html = staged.cells[4].outputs[0]["data"]["text/html"]
    assert '<details class="layerwise-params">' in html and " open>" not in html
    assert "<td>digits, mnist1d</td>" in html and "['" not in html
    assert "<td><b>—</b></td>" in html and "<code>digits</code> set" in html and "`" not in html


def test_a_glued_figure_leaves_the_cell_output_and_stays_glued(staged):
    from myst_nb.ext.glue import GLUE_PREFIX

    out = staged.cells[5].outputs[0]
    assert out["metadata"]["scrapbook"]["mime_prefix"] == GLUE_PREFIX
    assert set(out["data"]) == {GLUE_PREFIX + "text/html", GLUE_PREFIX + "text/plain"}


def test_tables_show_a_dash_for_missing_values_and_keep_exponents_whole(staged):
    html = staged.cells[6].outputs[0]["data"]["text/html"]
    assert "<td>—</td>" in html and "NaN" not in html and '<span class="lw-nowrap">1e-8</span>' in html


def test_a_one_letter_name_with_a_star_is_never_emphasis(staged):
    text = staged.cells[-1].source
    assert "$l^*$ and l\\* and `l*` and *emphasis* and **bold**" in text
    assert site.tidy_markdown("```\nl* = 1\n```\n$$l*$$ s*, L*.") == "```\nl* = 1\n```\n$$l*$$ s\\*, L\\*."


@pytest.mark.parametrize("text, shown", [("['3']", "3"), ("None", "—"), ("{'a': 1, 'b': [1, 2]}", "a: 1; b: 1, 2"),
                                         ("0.5", "0.5"), ("adam", "adam"), ("[]", "(none)"), ("", "")])
def test_parameter_values_read_as_values(text, shown):
    assert site.plain_value(text) == shown


def test_findings_at_a_glance_groups_the_claims_and_tallies_them(tmp_path):
    from layerwise import config

    root = tmp_path
    (root / "notebooks").mkdir()
    for name in SITE_FILES:
        (root / name).write_text("")
    slug = config.CHAPTERS["05"].slug
    (root / "notebooks" / f"{slug}.py").write_text("")
    run = root / "_build" / "chapters" / slug
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"status": "ok", "preset": "book"}))
    claims = [{"id": "a", "statement": "the rate holds", "verdict": "reproduced", "provenance": "paper",
               "headline": True, "section": "1. The rate"},
              {"id": "b", "statement": "the tunnel starts early", "verdict": "not reproduced", "provenance": "authors",
               "headline": True, "section": ""},
              {"id": "c", "statement": "lenses agree", "verdict": "supported", "provenance": "book", "headline": True},
              {"id": "d", "statement": "the rank peaks", "verdict": "inconclusive", "provenance": "paper"}]
    (run / "claims.json").write_text(json.dumps({"preset": "book", "claims": claims}))
    text = site.findings_at_a_glance(root)
    assert text.index("Published claims that hold** (1)") < text.index("the rate holds")
    assert "Published claims that fail** (1)" in text and "(authors)" not in text and ", authors)" in text
    assert "The book's own questions** (1)" in text and "What this scale cannot decide** (1)" in text
    assert "and 1 further claim" in text and "the rank peaks" not in text  # not a headline claim
    assert (f'<a href="../notebooks/{slug}.html#the-rate">chapter 05</a>' in text)
    assert ("**Tally at the book preset:** 1 reproduced, 1 not reproduced, 1 supported, 1 inconclusive "
            "(4 claims" in text)


@pytest.mark.parametrize("name", ["fig_ch05", "ch05-probe", "fig-Ch05-probe", "fig-ch05", ""])
def test_a_figure_name_must_be_a_label(name):
    import altair as alt
    import pandas as pd

    from layerwise import charts

    with pytest.raises(ValueError, match="figure name"):
        charts.figure(name, alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x"))
