"""Figures laid out for the page: multi-panel figures become container-width panels that wrap."""
import copy
import json

import altair as alt
import numpy as np
import pandas as pd

from layerwise import charts


def frame(n=5):
    return pd.DataFrame({"layer": range(n), "value": np.linspace(0, 1, n), "run": ["a"] * n})


def test_side_by_side_panels_become_separate_container_width_charts_with_their_own_data():
    a = charts.by_layer(frame(), "value", color="run", title="Rank by layer")
    b = charts.line(frame(7), "layer", "value", title="Probe")
    spec = (a | b).to_dict()
    title, panels = charts.site_panels(spec)
    assert title is None and [t for t, _ in panels] == ["Rank by layer", "Probe"]
    for (_, panel), rows in zip(panels, (5, 7)):
        assert panel["width"] == "container" and panel["autosize"] == {"type": "fit-x", "contains": "padding"}
        assert "title" not in panel and panel["config"] == spec["config"]
        assert [len(v) for v in panel["datasets"].values()] == [rows]  # only the data it draws


def test_a_grid_of_panels_is_flattened_in_reading_order_and_the_figure_title_kept():
    c = [charts.line(frame(), "layer", "value", title=f"p{i}") for i in range(4)]
    spec = alt.vconcat(c[0] | c[1], c[2] | c[3], title="Four panels").to_dict()
    title, panels = charts.site_panels(spec)
    assert title == "Four panels" and [t for t, _ in panels] == ["p0", "p1", "p2", "p3"]
    html = charts.site_html(spec, id_prefix="lw-x")
    assert html.count('class="lw-chart"') == 4 and 'class="lw-panels"' in html and "flex-wrap:wrap" in html
    assert [f'id="lw-x-{i}"' in html for i in range(4)] == [True] * 4
    assert charts.is_multi_panel(spec)


def test_layered_panel_fits_its_column_and_the_callers_spec_is_unchanged():
    layered = charts.line(frame(), "layer", "value", band=("value", "value"), title="with a band")
    spec = (layered | charts.line(frame(), "layer", "value")).to_dict()
    before = copy.deepcopy(spec)
    bundle = charts.render(spec)
    assert bundle[charts.VEGALITE_MIME] == spec == before
    _, panels = charts.site_panels(spec)
    assert panels[0][0] == "with a band" and panels[0][1]["width"] == "container"
    assert all("width" not in layer for layer in panels[0][1]["layer"])


def test_a_single_chart_fits_its_column_and_a_facet_keeps_its_size_in_a_scrolling_box():
    single = charts.line(frame(), "layer", "value").to_dict()
    assert not charts.is_multi_panel(single)
    html = charts.site_html(single, id_prefix="lw-s")
    assert html.count('class="lw-chart"') == 1 and '"width": "container"' in html
    facet = charts.small_multiples(frame().assign(step=[0, 0, 1, 1, 1]), "layer", "value", "step").to_dict()
    (_, panel), = charts.site_panels(facet)[1]
    assert "width" not in panel and "overflow-x:auto" in charts.site_html(facet, id_prefix="lw-f")


def test_a_figure_with_a_shared_transform_is_kept_whole():
    spec = (charts.line(frame(), "layer", "value") | charts.line(frame(), "layer", "value")).to_dict()
    spec["transform"] = [{"filter": "datum.value > 0"}]
    assert len(charts.site_panels(spec)[1]) == 1


def test_site_html_is_the_same_bytes_for_the_same_spec_and_prefix():
    spec = (charts.line(frame(), "layer", "value") | charts.line(frame(), "layer", "value")).to_dict()
    assert charts.site_html(spec, id_prefix="lw-a") == charts.site_html(json.loads(json.dumps(spec)), id_prefix="lw-a")
