"""Altair figures for the book: one theme, one helper per figure kind, offline rendering.

Call `enable()` once at the top of a chapter. Each chart then renders as
- a Vega-Lite mime bundle, which JupyterLab draws by itself (offline), and
- an HTML `<div>` plus a `vegaEmbed(...)` call, which the built site draws with the Vega bundle that
  `book.build_site` writes into its static files (no CDN; see `vega_bundle_js`).
"""
from __future__ import annotations

import json
import uuid
from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd

PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#30343f", "#e07a5f"]
VEGALITE_MIME = f"application/vnd.vegalite.v{alt.SCHEMA_VERSION.lstrip('v').split('.')[0]}+json"
_EMBED = """<div id="{id}" class="lw-chart"></div>
<script type="text/javascript">
(function () {{
  var spec = {spec};
  function draw() {{ vegaEmbed("#{id}", spec, {{"renderer": "svg", "actions": false}}); }}
  if (window.vegaEmbed) {{ draw(); }} else {{ document.addEventListener("DOMContentLoaded", draw); }}
}})();
</script>"""


def _theme() -> alt.theme.ThemeConfig:
    return alt.theme.ThemeConfig(config={
        "view": {"continuousWidth": 380, "continuousHeight": 260, "stroke": None},
        "range": {"category": PALETTE},
        "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#e8e8e8", "titleFontWeight": "normal"},
        "legend": {"labelFontSize": 11, "titleFontSize": 12},
        "title": {"fontSize": 13, "anchor": "start", "fontWeight": "normal"},
        "line": {"strokeWidth": 2},
        "point": {"size": 40, "filled": True},
    })


def render(spec: dict) -> dict[str, Any]:
    """Return the mime bundle of a Vega-Lite `spec`: Vega-Lite JSON plus offline-embeddable HTML."""
    html = _EMBED.format(id=f"lw-{uuid.uuid4().hex[:12]}", spec=json.dumps(spec))
    return {VEGALITE_MIME: spec, "text/html": html}


def enable() -> None:
    """Turn on the book's theme and renderer (call once per chapter, in its first code cell)."""
    alt.theme.register("layerwise", enable=True)(_theme)
    alt.renderers.register("layerwise", render)
    alt.renderers.enable("layerwise")
    alt.data_transformers.disable_max_rows()


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
         points: bool = True, band: tuple[str, str] | None = None, width: int | None = None) -> alt.Chart:
    """Return a line chart of `y` against `x` (one line per `color`), with tooltips.

    `band=(lo, hi)` adds a shaded band between two columns (e.g. mean -/+ std).
    """
    enc = dict(x=alt.X(x, title=x_title or x, scale=_scale(log_x)),
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
    return line(df, layer, y, color=color, x_title="layer l", y_title=y_title, title=title, log_y=log_y)


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
    body = render(chart.to_dict())["text/html"]
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
