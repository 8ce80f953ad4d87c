"""The page syntax chapters use, built with the book's own configuration (-W, offline): a small
chapter executed in a kernel, staged like a real one, built with Jupyter Book next to the real
Methods (glossary) and Bibliography pages.

Checked in the HTML: a glued Altair figure with a numbered caption, drawn once (the cell's own copy is
hidden on the site); {numref} to it; {cite:p} and {cite:t} linking to the bibliography entry, whose
arXiv link is there; {term} linking to the glossary; an exercise with a collapsible solution; a
"More figures" dropdown holding a second figure. The exact syntax is in book/methods.md, "For authors".
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

CELLS = [
    ("markdown", "# Demo chapter\n\n**The question.** Does the page syntax build?\n\n"
                 "Reading order: after nothing."),
    ("code", 'preset = "smoke"  # the parameters cell', ["parameters"]),
    ("code", 'import altair as alt\nimport pandas as pd\n\nfrom layerwise import charts\n\ncharts.enable()\n'
             'df = pd.DataFrame({"layer": [0, 1, 2], "C": [1.0, 0.5, 0.25]})\n'
             'charts.figure("fig-demo-rate", alt.Chart(df).mark_line().encode(x="layer:Q", y="C:Q"))'),
    ("markdown", "## 1. The rate\n\n```{glue:figure} fig-demo-rate\n:name: fig-demo-rate\n\n"
                 "The ratio halves per layer: look at the slope.\n```\n\n"
                 "As {numref}`fig-demo-rate` shows, the rate is constant {cite:p}`wang2023`, and "
                 "{cite:t}`masarczyk2023` find a {term}`tunnel`; see {term}`target linearity` and "
                 "{term}`the CKA entry <CKA>`.\n\n"
                 ":::{dropdown} More figures\n```{glue:figure} fig-demo-more\n:name: fig-demo-more\n\n"
                 "A second figure, folded.\n```\n:::\n"),
    ("code", 'charts.figure("fig-demo-more", alt.Chart(df).mark_point().encode(x="layer:Q", y="C:Q"))'),
    ("markdown", "## Exercises\n\n```{exercise}\n:label: ex-demo-depth\nRun `layerwise run 05 -p depth 16`. "
                 "Predict where the tunnel starts, then check.\n```\n\n```{solution} ex-demo-depth\n"
                 ":class: dropdown\nIt starts later.\n```\n"),
]


def demo_notebook():
    import nbformat

    cells = []
    for kind, source, *tags in CELLS:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cells.append(make(source, metadata={"tags": tags[0]} if tags else {}))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return nb


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """The demo chapter executed, staged like a chapter and built: {page stem: html}."""
    import nbformat
    from nbclient import NotebookClient

    from layerwise import site
    from layerwise.charts import vega_bundle_js

    root = tmp_path_factory.mktemp("demo")
    shutil.copy(ROOT / "_config.yml", root)
    shutil.copy(ROOT / "references.bib", root)
    shutil.copytree(ROOT / "_static", root / "_static")
    (root / "_static" / "vega-bundle.js").write_text(vega_bundle_js())
    (root / "book").mkdir()
    for page in ("methods.md", "bibliography.md"):
        shutil.copy(ROOT / "book" / page, root / "book" / page)
    (root / "book" / "intro.md").write_text("# Demo book\n\n```{tableofcontents}\n```\n")
    (root / "book" / "scoreboard.md").write_text("# Scoreboard\n\nA stub.\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n- file: notebooks/demo\n"
                                   "- file: book/scoreboard\n- file: book/methods\n- file: book/bibliography\n")
    nb = demo_notebook()
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    site.lay_out(nb, "00_demo", None)
    (root / "notebooks").mkdir()
    nbformat.write(nb, str(root / "notebooks" / "demo.ipynb"))
    exe = Path(sys.executable).parent / "jupyter-book"
    done = subprocess.run([str(exe), "build", str(root), "-W", "-n", "--keep-going"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    html = root / "_build" / "html"
    return {p.stem: p.read_text() for p in (html / "notebooks" / "demo.html", html / "book" / "bibliography.html")}


def test_a_glued_figure_is_numbered_captioned_referred_to_and_drawn_once(demo_site):
    page = demo_site["demo"]
    figure = re.search(r'<figure[^>]*id="fig-demo-rate".*?</figure>', page, flags=re.S).group(0)
    assert 'class="lw-chart"' in figure and "Figure 1" in figure and "look at the slope" in figure
    assert page.count('class="lw-chart"') == 2  # two figures, each drawn only where its glue:figure is
    assert re.search(r'<a class="reference internal" href="#fig-demo-rate"><span class="std std-numref">Figure 1', page)
    more = re.search(r'<details[^>]*>.*?More figures.*?</details>', page, flags=re.S).group(0)
    assert 'id="fig-demo-more"' in more and "Figure 2" in more


def test_citations_link_to_the_bibliography_and_terms_to_the_glossary(demo_site):
    page, bib = demo_site["demo"], demo_site["bibliography"]
    cites = re.findall(r'<span class="bibtex-citation"[^>]*>.*?</span>', page, flags=re.S)
    assert len(cites) == 2 and all('href="../book/bibliography.html#' in c for c in cites)
    assert "Wang <em>et al.</em>, 2023" in cites[0] and "Masarczyk <em>et al.</em>" in cites[1]
    assert "https://arxiv.org/abs/2311.02960" in bib and "https://arxiv.org/abs/2605.06258" in bib
    for term in ("term-tunnel", "term-target-linearity", "term-CKA"):
        assert f'href="../book/methods.html#{term}"' in page


def test_an_exercise_has_a_numbered_title_and_a_collapsible_solution(demo_site):
    page = demo_site["demo"]
    assert re.search(r'<div class="exercise admonition" id="ex-demo-depth">', page)
    assert re.search(r'<div class="solution dropdown admonition"', page)
    assert "Exercise 1" in page
