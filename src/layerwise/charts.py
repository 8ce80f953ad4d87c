"""Altair figures for the book: one theme, one helper per figure kind, offline rendering.

Call `enable()` once at the top of a chapter. Each chart then renders as
- a Vega-Lite mime bundle, which JupyterLab draws by itself (offline), and
- an HTML `<div>` plus a `vegaEmbed(...)` call, which the built site draws with the Vega bundle that
  `site.build_site` writes into its static files (no CDN; see `vega_bundle_js`).

The HTML form is laid out for the page (`site_panels`): a figure of side-by-side or stacked panels
(`a | b`, `a & b`) becomes one Vega-Lite chart per panel in a wrapping row, each as wide as its share
of the article ("container" width), so panels sit side by side where they fit and stack on a phone;
titles become HTML headings that wrap. JupyterLab still gets the figure as composed.
"""
from __future__ import annotations

import copy
import json
import uuid
from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd

PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#30343f", "#e07a5f"]
VEGALITE_MIME = f"application/vnd.vegalite.v{alt.SCHEMA_VERSION.lstrip('v').split('.')[0]}+json"
_EMBED = """<div id="{id}" class="lw-chart"{style}></div>
<script type="text/javascript">
(function () {{
  var spec = {spec};
  function draw() {{
    var el = document.getElementById("{id}");
    vegaEmbed(el, spec, {{"renderer": "svg", "actions": false}}).then(function () {{
      if (!window.ResizeObserver || spec.width !== "container") return;
      var width = el.clientWidth;  // Vega re-reads a "container" width on window resize only
      new ResizeObserver(function () {{
        if (el.clientWidth !== width) {{ width = el.clientWidth; window.dispatchEvent(new Event("resize")); }}
      }}).observe(el);
    }});
  }}
  // after the whole page is parsed: a panel's width depends on the panels after it in its row
  if (document.readyState === "loading") {{ document.addEventListener("DOMContentLoaded", draw); }} else {{ draw(); }}
}})();
</script>"""
# A panel of a multi-panel figure is at least PANEL_MIN px wide: two fit side by side in a `full-width`
# cell at 1300 px (the article is ~700 px, ~950 px with the margin), one per row in the article.
PANEL_MIN, PANEL_MAX = 400, 760
_TITLE_STYLE = "font-size:0.85rem;margin:0.25rem 0 0.1rem"
_CONCAT = ("hconcat", "vconcat", "concat")
# Top-level keys a panel can do without (layout of the whole figure) or takes along (data, config).
_FIGURE_KEYS = {"$schema", "config", "datasets", "data", "title", "resolve", "spacing", "columns", "center",
                "bounds", "padding", "autosize", "background", "usermeta", *_CONCAT}


def _theme() -> alt.theme.ThemeConfig:
    return alt.theme.ThemeConfig(config={
        "view": {"continuousWidth": 380, "continuousHeight": 260, "stroke": None},
        "range": {"category": PALETTE},
        "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#e8e8e8", "titleFontWeight": "normal"},
        "legend": {"labelFontSize": 11, "titleFontSize": 12, "labelLimit": 140},
        "title": {"fontSize": 13, "anchor": "start", "fontWeight": "normal"},
        "line": {"strokeWidth": 2},
        "point": {"size": 40, "filled": True},
    })


def render(spec: dict) -> dict[str, Any]:
    """Return the mime bundle of a Vega-Lite `spec`: Vega-Lite JSON plus offline-embeddable HTML.

    The HTML is laid out for the page (see `site_panels` and the module docstring).
    """
    return {VEGALITE_MIME: spec, "text/html": site_html(spec)}


def site_html(spec: dict, id_prefix: str | None = None) -> str:
    """Return the HTML that draws `spec` on the site: one `.lw-chart` per panel, in a wrapping row.

    Element ids are `id_prefix`-0, -1, ... (default: a random prefix; give one for output that must
    be the same bytes every time, as the site build does).
    """
    prefix = id_prefix or f"lw-{uuid.uuid4().hex[:12]}"
    title, panels = site_panels(spec)
    if len(panels) == 1 and not title:
        return _embed(panels[0][1], panels[0][0], f"{prefix}-0")
    cells = []
    for i, (panel_title, panel) in enumerate(panels):
        grow = "flex:1 1 {}px;max-width:{}px;min-width:0".format(PANEL_MIN, PANEL_MAX)
        cells.append(f'<div class="lw-panel" style="{grow}">{_embed(panel, panel_title, f"{prefix}-{i}")}</div>')
    head = f'<div class="lw-figure-title" style="{_TITLE_STYLE}">{_html_text(title)}</div>' if title else ""
    return (f'<div class="lw-figure">{head}<div class="lw-panels" style="display:flex;flex-wrap:wrap;'
            f'gap:0.5rem 1.5rem;align-items:flex-start">' + "".join(cells) + "</div></div>")


def is_multi_panel(spec: dict) -> bool:
    """Return whether `spec` shows as more than one panel on the site (a cell worth `full-width`)."""
    return len(site_panels(spec)[1]) > 1


def _embed(spec: dict, title: Any, element_id: str) -> str:
    fits = spec.get("width") == "container"
    html = _EMBED.format(id=element_id, spec=json.dumps(spec, sort_keys=True),
                         style=' style="width:100%"' if fits else ' style="max-width:100%;overflow-x:auto"')
    head = f'<div class="lw-chart-title" style="{_TITLE_STYLE}">{_html_text(title)}</div>' if title else ""
    return head + html


def _html_text(title: Any) -> str:
    import html

    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, (list, tuple)):
        title = " ".join(map(str, title))
    return html.escape(str(title))


def site_panels(spec: dict) -> tuple[Any, list[tuple[Any, dict]]]:
    """Return (figure title, [(panel title, panel spec)]) of a Vega-Lite `spec`, for the page.

    A concatenation (hconcat, vconcat, concat, nested) is split into its panels, each a complete spec
    with the figure's config and only the datasets it uses. A single or layered view gets width
    "container" (it fits its column); a facet keeps its own size. Titles are taken out of the specs
    (the page shows them as HTML, which wraps). A figure with anything else at its top level
    (a transform, selections shared across panels) is kept whole.
    """
    datasets = spec.get("datasets", {})
    spec = copy.deepcopy({k: v for k, v in spec.items() if k != "datasets"})  # the caller's stays as it is
    if any(k in spec for k in _CONCAT) and set(spec) <= _FIGURE_KEYS:
        top = {k: spec[k] for k in ("$schema", "config") if k in spec}
        panels = [_fit({**top, **part}, datasets) for part in _flatten_concat(spec)]
        return spec.get("title"), panels
    return None, [_fit(spec, datasets)]


def _flatten_concat(spec: dict, data: Any = None) -> list[dict]:
    """Return the panels of a (nested) concatenation, each with the data it inherits."""
    data = spec.get("data", data)
    for key in _CONCAT:
        if key in spec and set(spec) <= _FIGURE_KEYS:
            return [p for part in spec[key] for p in _flatten_concat(part, data)]
    return [spec if data is None or "data" in spec else {"data": data, **spec}]


def _fit(panel: dict, datasets: dict) -> tuple[Any, dict]:
    title = panel.pop("title", None)
    if title is None and "layer" in panel:
        title = next((layer.pop("title") for layer in panel["layer"] if "title" in layer), None)
    if datasets:
        text = json.dumps(panel)
        used = {name: rows for name, rows in datasets.items() if json.dumps(name) in text}
        panel["datasets"] = used
        if not used:
            panel.pop("datasets")
    if "mark" in panel or "layer" in panel:  # a single or layered view: as wide as its column
        panel["width"] = "container"
        for layer in panel.get("layer", []):
            layer.pop("width", None)
        panel["autosize"] = {"type": "fit-x", "contains": "padding"}
    return title, panel


def enable() -> None:
    """Turn on the book's theme and renderer (call once per chapter, in its first code cell)."""
    alt.theme.register("layerwise", enable=True)(_theme)
    alt.renderers.register("layerwise", render)
    alt.renderers.enable("layerwise")
    alt.data_transformers.disable_max_rows()


FIGURE_PREFIX = "fig-"  # figure names are MyST labels: fig-chNN-<slug>


def figure(name: str, chart: alt.TopLevelMixin) -> None:
    """Glue `chart` under `name` for a numbered, captioned `{glue:figure}` and show it here (Jupyter).

    In a chapter: `charts.figure("fig-ch05-probe", chart)` in a code cell, then in a Markdown cell

        ```{glue:figure} fig-ch05-probe
        :name: fig-ch05-probe

        What to look at, and which claim it supports.
        ```

    and {numref}`fig-ch05-probe` in the text. In Jupyter (and in the executed notebook) the chart is
    drawn under the cell; the site shows it only where the `glue:figure` puts it (staging hides the
    cell's copy: `site.hide_figure_outputs`). Names are `fig-chNN-<slug>`: lower case, digits, hyphens.
    """
    import re

    from myst_nb import glue

    if not isinstance(name, str) or not re.fullmatch(r"fig-[a-z0-9]+(-[a-z0-9]+)+", name):
        raise ValueError(f"figure name must look like 'fig-ch05-probe' (lower case, digits, hyphens), got {name!r}")
    if not hasattr(chart, "to_dict"):
        raise TypeError(f"figure {name!r}: expected an Altair chart, got {type(chart).__name__}")
    glue(name, chart, display=True)


def verdict_bars(rows: Sequence[dict], colors: dict[str, str]) -> alt.Chart:
    """Return a stacked horizontal bar per chapter of its claims by verdict.

    rows: one dict per claim with "chapter", "verdict" and "order" (the verdict's place in `colors`).
    """
    df = pd.DataFrame(rows, columns=["chapter", "verdict", "order"])
    scale = alt.Scale(domain=list(colors), range=list(colors.values()))
    return alt.Chart(df, height=alt.Step(18)).mark_bar().encode(
        x=alt.X("count():Q", title="claims"), y=alt.Y("chapter:N", title=None, sort=None),
        color=alt.Color("verdict:N", scale=scale, title=None, legend=alt.Legend(orient="bottom")),
        order=alt.Order("order:Q"), tooltip=["chapter", "verdict", "count()"],
    ).configure_view(stroke=None).configure_axis(labelFontSize=11, titleFontSize=12, labelLimit=260)


def vega_bundle_js() -> str:
    """Return vl-convert's Vega/Vega-Lite/vega-embed bundle wrapped in a function scope.

    The wrapper keeps the bundle's top-level constants from clashing with the site theme's globals;
    the bundle sets `window.vegaEmbed` itself.
    """
    import vl_convert

    return "(function () {\n" + vl_convert.javascript_bundle() + "\n})();\n"


def _scale(log: bool) -> alt.Scale:
    return alt.Scale(type="log") if log else alt.Scale(zero=False)


def line(df: pd.DataFrame, x: str, y: str, *, color: str | None = None, x_title: str | None = None,
         y_title: str | None = None, title: str = "", log_x: bool = False, log_y: bool = False,
         points: bool = True, band: tuple[str, str] | None = None, width: int | None = None,
         integer_x: bool = False) -> alt.Chart:
    """Return a line chart of `y` against `x` (one line per `color`), with tooltips.

    `band=(lo, hi)` adds a shaded band between two columns (e.g. mean -/+ std); `integer_x` puts
    ticks on whole numbers only (layers, depths).
    """
    axis = alt.Axis(tickMinStep=1, format="d") if integer_x else alt.Axis()
    enc = dict(x=alt.X(x, title=x_title or x, scale=_scale(log_x), axis=axis),
               y=alt.Y(y, title=y_title or y, scale=_scale(log_y)),
               tooltip=[c for c in (x, y, color) if c])
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=color)
    chart = alt.Chart(df, title=title).mark_line(point=points).encode(**enc)
    if band:
        shade = alt.Chart(df).mark_area(opacity=0.2).encode(
            x=enc["x"], y=alt.Y(band[0], scale=_scale(log_y)), y2=band[1],
            **({"color": alt.Color(f"{color}:N")} if color else {}))
        chart = shade + chart
    return chart.properties(width=width) if width else chart


def by_layer(df: pd.DataFrame, y: str, *, color: str | None = None, y_title: str | None = None,
             title: str = "", log_y: bool = False, layer: str = "layer") -> alt.Chart:
    """Return the per-layer profile of a measure: `y` against layer index l (0 = input)."""
    return line(df, layer, y, color=color, x_title="layer l", y_title=y_title, title=title, log_y=log_y,
                integer_x=True)


def heatmap(matrix: np.ndarray | Any, *, title: str = "", x_title: str = "layer", y_title: str = "layer",
            value_title: str = "value", x_labels: Sequence[Any] | None = None,
            y_labels: Sequence[Any] | None = None, domain: tuple[float, float] | None = None) -> alt.Chart:
    """Return a heatmap of a 2-D array (rows on y, columns on x)."""
    m = np.asarray(matrix, dtype=float)
    xs = list(x_labels) if x_labels is not None else list(range(m.shape[1]))
    ys = list(y_labels) if y_labels is not None else list(range(m.shape[0]))
    df = pd.DataFrame([{"row": ys[i], "col": xs[j], value_title: m[i, j]}
                       for i in range(m.shape[0]) for j in range(m.shape[1])])
    scale = alt.Scale(scheme="viridis", domain=list(domain)) if domain else alt.Scale(scheme="viridis")
    return alt.Chart(df, title=title).mark_rect().encode(
        x=alt.X("col:O", title=x_title), y=alt.Y("row:O", title=y_title, sort=ys),
        color=alt.Color(f"{value_title}:Q", scale=scale), tooltip=["row", "col", value_title])


def scatter(df: pd.DataFrame, x: str, y: str, *, color: str | None = None, x_title: str | None = None,
            y_title: str | None = None, title: str = "", log_x: bool = False, log_y: bool = False,
            diagonal: bool = False) -> alt.Chart:
    """Return a scatter plot, optionally with the y = x line (for predicted-vs-measured plots)."""
    enc = dict(x=alt.X(x, title=x_title or x, scale=_scale(log_x)),
               y=alt.Y(y, title=y_title or y, scale=_scale(log_y)), tooltip=list(df.columns))
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=color)
    chart = alt.Chart(df, title=title).mark_point(filled=True, size=60).encode(**enc)
    if diagonal:
        lo = float(min(df[x].min(), df[y].min()))
        hi = float(max(df[x].max(), df[y].max()))
        ref = pd.DataFrame({x: [lo, hi], y: [lo, hi]})
        chart = alt.Chart(ref).mark_line(color="#999", strokeDash=[4, 4]).encode(x=x, y=y) + chart
    return chart


def standalone_html(chart: alt.TopLevelMixin, title: str = "") -> str:
    """Return a self-contained HTML page that draws `chart` offline (the Vega bundle inlined, ~1 MB)."""
    body = site_html(chart.to_dict())
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\n"
            f"<script>{vega_bundle_js()}</script></head>\n<body>\n{body}\n</body></html>\n")

def small_multiples(df: pd.DataFrame, x: str, y: str, facet: str, *, color: str | None = None,
                    color_title: str | None = None, x_title: str | None = None, y_title: str | None = None,
                    title: str = "", columns: int = 3, size: int = 160, point_size: int = 12) -> alt.FacetChart:
    """Return one small scatter panel per value of `facet` (e.g. a training step), points coloured by a
    continuous column `color` (viridis), for animation-like sequences of point clouds."""
    enc = dict(x=alt.X(f"{x}:Q", title=x_title or x, scale=alt.Scale(zero=False)),
               y=alt.Y(f"{y}:Q", title=y_title or y, scale=alt.Scale(zero=False)))
    if color:
        enc["color"] = alt.Color(f"{color}:Q", title=color_title or color, scale=alt.Scale(scheme="viridis"))
    base = alt.Chart(df).mark_circle(size=point_size, opacity=0.8).encode(**enc).properties(width=size, height=size)
    return base.facet(facet=alt.Facet(f"{facet}:O", title=facet), columns=columns, title=title)

# --- chapter 06 charts ---
def decision_boundary(points: pd.DataFrame, segments: pd.DataFrame, *, x: str = "x1", y: str = "x2",
                      color: str = "what", title: str = "", x_title: str | None = None,
                      y_title: str | None = None) -> alt.Chart:
    """Return 2-D points over decision-boundary segments, one shared colour legend.

    `points` has columns x, y, color (e.g. "class 0"); `segments` has x, y, x + "_end", y + "_end"
    and color (e.g. "ERM boundary"), one row per segment, as traced by metrics.boundary.
    """
    enc_x = alt.X(f"{x}:Q", title=x_title or x, scale=alt.Scale(zero=False))
    enc_y = alt.Y(f"{y}:Q", title=y_title or y, scale=alt.Scale(zero=False))
    lines = alt.Chart(segments).mark_rule(strokeWidth=2).encode(
        x=enc_x, y=enc_y, x2=f"{x}_end:Q", y2=f"{y}_end:Q", color=alt.Color(f"{color}:N", title=""))
    dots = alt.Chart(points).mark_point(filled=True, size=25, opacity=0.7).encode(
        x=enc_x, y=enc_y, color=alt.Color(f"{color}:N", title=""), tooltip=[x, y, color])
    return alt.layer(lines, dots, title=title)
