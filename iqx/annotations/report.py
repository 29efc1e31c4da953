"""A self-contained interactive HTML report of a dataset's statistics.

One file, no external resources: the summary, the PNG plots and JPEG thumbnails are embedded
as data URIs, the annotation table is embedded as JSON and made sortable, filterable and
paginated by a small inline script, and boxes / polygons are drawn over the thumbnails with
inline SVG in the images' pixel coordinates. The page sets ``<body data-status="ok">`` once its
script has run (``"error: ..."`` if it failed), which tests read back from headless Chromium.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from iqx.annotations._images import thumbnail
from iqx.annotations._jsonio import to_jsonable, write_text
from iqx.errors import RasterReadError

__all__ = ["write_html_report"]

_TABLE_COLUMNS = (
    "file",
    "image",
    "category",
    "bbox_x",
    "bbox_y",
    "bbox_width",
    "bbox_height",
    "bbox_area",
    "bbox_aspect_ratio",
    "area",
    "compactness",
    "mrr_angle",
)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:2px 6px}
th{background:#f3f3f3;cursor:pointer;user-select:none;position:sticky;top:0}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.kv td:first-child{font-weight:600}
#plots img{max-width:420px;margin:4px;border:1px solid #eee}
#controls{margin:.5em 0}#controls input{width:28em;padding:3px}
.grid{display:flex;flex-wrap:wrap;gap:8px}
figure{margin:0;width:170px;font-size:.75em;cursor:pointer}
figure .frame{position:relative;width:160px;height:160px;background:#111;display:flex;
align-items:center;justify-content:center}
figure .inner{position:relative}
figure img{display:block}
figure svg{position:absolute;left:0;top:0;width:100%;height:100%}
figcaption{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.note{color:#666;font-size:.85em}
"""

_JS = r"""
(function(){
  const data = JSON.parse(document.getElementById('iqx-data').textContent);
  const cols = data.columns, numeric = data.numeric, rows = data.rows;
  const tbody = document.querySelector('#ann tbody');
  const head = document.querySelector('#ann thead tr');
  const info = document.getElementById('info');
  const filter = document.getElementById('filter');
  const PAGE = 100;
  let view = rows.slice(), sortCol = -1, asc = true, page = 0;
  cols.forEach(function(c, i){
    const th = document.createElement('th');
    th.textContent = c;
    th.addEventListener('click', function(){
      asc = (sortCol === i) ? !asc : true; sortCol = i; apply();
    });
    head.appendChild(th);
  });
  function matches(row, terms){
    return terms.every(function(t){
      const k = t.indexOf(':');
      if (k > 0){
        const ci = cols.indexOf(t.slice(0, k));
        if (ci >= 0){ return String(row[ci]).toLowerCase().indexOf(t.slice(k + 1)) >= 0; }
      }
      return row.some(function(v){ return String(v).toLowerCase().indexOf(t) >= 0; });
    });
  }
  function apply(){
    const terms = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    view = terms.length ? rows.filter(function(r){ return matches(r, terms); }) : rows.slice();
    if (sortCol >= 0){
      const i = sortCol, num = numeric[i], s = asc ? 1 : -1;
      view.sort(function(a, b){
        const x = a[i], y = b[i];
        if (x === null) return 1; if (y === null) return -1;
        if (num) return (x - y) * s;
        return String(x).localeCompare(String(y)) * s;
      });
    }
    Array.prototype.forEach.call(head.children, function(th, j){
      th.className = (j === sortCol) ? (asc ? 'asc' : 'desc') : '';
    });
    page = 0; render();
  }
  function fmt(v){
    if (v === null) return '';
    if (typeof v === 'number' && !Number.isInteger(v)) return v.toPrecision(5);
    return String(v);
  }
  function render(){
    const pages = Math.max(1, Math.ceil(view.length / PAGE));
    page = Math.min(Math.max(page, 0), pages - 1);
    const frag = document.createDocumentFragment();
    view.slice(page * PAGE, (page + 1) * PAGE).forEach(function(r){
      const tr = document.createElement('tr');
      r.forEach(function(v, j){
        const td = document.createElement('td');
        td.textContent = fmt(v);
        if (numeric[j]) td.className = 'num';
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
    info.textContent = view.length + ' of ' + data.total + ' annotations' +
      (data.total > rows.length ? ' (table holds the first ' + rows.length + ')' : '') +
      ' - page ' + (page + 1) + ' / ' + pages;
  }
  filter.addEventListener('input', apply);
  document.getElementById('prev').addEventListener('click', function(){ page--; render(); });
  document.getElementById('next').addEventListener('click', function(){ page++; render(); });
  document.querySelectorAll('figure[data-image]').forEach(function(f){
    f.addEventListener('click', function(){
      filter.value = 'image:' + f.dataset.image.toLowerCase(); apply();
      document.getElementById('table').scrollIntoView();
    });
  });
  apply();
  document.body.dataset.status = 'ok';
})();
"""


def _data_uri(payload: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def _round(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        f = float(v)
        if not math.isfinite(f):
            return None
        return float(f"{f:.6g}")
    if isinstance(v, np.integer):
        return int(v)
    return v


def _color(i: int) -> str:
    return f"hsl({(i * 137.508) % 360:.0f},90%,55%)"


def _pixel_shapes(ds: Any, fmt: str, rows: Any, image_path: Path) -> list[tuple[str, str]]:
    """SVG elements (kind, attrs) of one image's annotations, in pixel coordinates."""
    shapes = []
    if fmt == "coco":
        for r in rows.itertuples():
            shapes.append(
                (
                    "rect",
                    f'x="{r.bbox_x:.2f}" y="{r.bbox_y:.2f}" width="{r.bbox_width:.2f}" '
                    f'height="{r.bbox_height:.2f}"',
                    r.category,
                )
            )
        return shapes
    import rasterio
    import shapely

    try:
        with rasterio.open(image_path) as src:
            inv = ~src.transform
    except rasterio.errors.RasterioError:
        return shapes
    m = np.array(inv[:6], dtype=float).reshape(2, 3)

    def to_pixels(xy: np.ndarray) -> np.ndarray:
        return xy @ m[:, :2].T + m[:, 2]

    for geom, cat in zip(rows["_geometry"], rows["category"]):
        if geom is None or geom.is_empty:
            continue
        px = shapely.transform(geom, to_pixels)
        for poly in shapely.get_parts(px):
            if poly.geom_type != "Polygon":
                continue
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in poly.exterior.coords)
            shapes.append(("polygon", f'points="{pts}"', cat))
    return shapes


def _preview_grid(ds: Any, max_preview: int) -> tuple[str, int]:
    images = ds.images_frame()
    images = images[images["readable"]]
    ann_by_file = []
    for path in ds.layout.annotation_files:
        df = ds.annotations_frame(path)
        meta = ds._ann_tables[path][1]
        if meta["format"] == "geojson" and len(df):
            df = df.assign(_geometry=meta["gdf"].geometry.to_numpy())
        ann_by_file.append((meta["format"], df))
    categories = sorted({str(c) for _, df in ann_by_file if len(df) for c in df["category"]})
    color = {c: _color(i) for i, c in enumerate(categories)}
    figures = []
    for name in images["file_name"].head(max_preview):
        path = ds.images.images_dir / name
        try:
            jpeg, w, h = thumbnail(path, 160)
        except (RasterReadError, OSError):
            continue
        elements = []
        for fmt, df in ann_by_file:
            if not len(df):
                continue
            sub = df[df["image"] == name]
            for kind, attrs, cat in _pixel_shapes(ds, fmt, sub, path):
                c = color.get(str(cat), "#ff0")
                elements.append(
                    f'<{kind} {attrs} fill="none" stroke="{c}" '
                    f'stroke-width="{max(w, h) / 160 * 1.5:.2f}"><title>{html.escape(str(cat))}'
                    f"</title></{kind}>"
                )
        scale = 160 / max(w, h)
        tw, th = max(1, round(w * scale)), max(1, round(h * scale))
        figures.append(
            f'<figure data-image="{html.escape(name)}" title="{html.escape(name)} ({w}x{h})">'
            f'<div class="frame"><div class="inner" style="width:{tw}px;height:{th}px">'
            f'<img src="{_data_uri(jpeg, "image/jpeg")}" width="{tw}" height="{th}" alt="">'
            f'<svg viewBox="0 0 {w} {h}" preserveAspectRatio="none">{"".join(elements)}</svg>'
            f"</div></div><figcaption>{html.escape(name)} - {len(elements)} objects"
            f"</figcaption></figure>"
        )
    return "\n".join(figures), len(images)


def _summary_html(stats: dict[str, Any]) -> str:
    im = stats["images"]

    def fmt(v: Any) -> str:
        return "" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))

    rows = [
        ("images", im["count"]),
        ("unreadable images", len(im["unreadable"])),
        ("mean width x height", f"{fmt(im['mean_width'])} x {fmt(im['mean_height'])}"),
        ("width min / max", f"{fmt(im['width']['min'])} / {fmt(im['width']['max'])}"),
        ("height min / max", f"{fmt(im['height']['min'])} / {fmt(im['height']['max'])}"),
    ]
    parts = ['<table class="kv">']
    parts += [f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows]
    parts.append("</table>")
    for f in stats["annotation_files"]:
        parts.append(f"<h3>{html.escape(Path(f['file']).name)} ({f['format']})</h3>")
        parts.append('<table class="kv">')
        for k in ("n_images", "n_annotations", "n_categories", "crs", "images_without_annotations"):
            if k in f:
                parts.append(f"<tr><td>{k}</td><td>{html.escape(fmt(f[k]))}</td></tr>")
        for label, s in (
            ("bbox area", f["bbox"]["area"]),
            ("bbox aspect ratio", f["bbox"]["aspect_ratio"]),
            ("polygon compactness", f["polygons"]["compactness"]),
        ):
            parts.append(
                f"<tr><td>{label} (mean / min / max)</td><td>{fmt(s['mean'])} / "
                f"{fmt(s['min'])} / {fmt(s['max'])}</td></tr>"
            )
        parts.append("</table><table><tr><th>class</th><th>objects</th></tr>")
        c = f["classes"]
        for name, n in zip(c["names"], c["counts"]):
            parts.append(f'<tr><td>{html.escape(name)}</td><td class="num">{n}</td></tr>')
        parts.append("</table>")
    return "\n".join(parts)


def write_html_report(
    ds: Any,
    path: str | os.PathLike[str],
    *,
    max_preview: int = 200,
    max_rows: int = 50_000,
    plots: list[Path] | None = None,
) -> Path:
    """Write the interactive report of a :class:`~iqx.annotations.DatasetStats` to ``path``.

    Parameters
    ----------
    ds : DatasetStats
    path : path-like
        The ``.html`` file (written atomically).
    max_preview : int
        Number of images shown as thumbnails (the first ones by file name).
    max_rows : int
        Annotation rows embedded in the table (the count of all annotations is shown).
    plots : list of Path, optional
        PNG files to embed.
    """
    stats = ds.compute()
    table = ds.annotations_frame()
    total = len(table)
    cols = [c for c in _TABLE_COLUMNS if c in table.columns] if total else list(_TABLE_COLUMNS[:3])
    sub = table[cols].head(max_rows) if total else table
    numeric = [bool(total) and sub[c].dtype.kind in "fiu" for c in cols]
    rows = [[_round(v) for v in r] for r in sub.itertuples(index=False, name=None)] if total else []
    payload = json.dumps(
        to_jsonable({"columns": cols, "numeric": numeric, "rows": rows, "total": total}),
        allow_nan=False,
        separators=(",", ":"),
    ).replace("</", "<\\/")
    grid, n_images = _preview_grid(ds, max_preview)
    plot_html = "".join(
        f'<img src="{_data_uri(Path(p).read_bytes(), "image/png")}" alt="{html.escape(Path(p).name)}"'
        f' title="{html.escape(Path(p).name)}">'
        for p in plots or []
    )
    name = html.escape(stats["dataset"])
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>iqx dataset report: {name}</title><style>{_CSS}</style></head>
<body data-status="loading">
<h1>Dataset report: {name}</h1>
<p class="note">{html.escape(stats["data_path"])} &middot; iqx {html.escape(stats["iqx_version"])}</p>
<section id="summary"><h2>Summary</h2>{_summary_html(stats)}</section>
<section id="previews"><h2>Images</h2>
<p class="note">first {min(max_preview, n_images)} of {n_images} images; click one to filter the table</p>
<div class="grid">{grid}</div></section>
<section id="table"><h2>Annotations</h2>
<div id="controls"><input id="filter" type="search"
placeholder="filter: words, or column:value (e.g. category:car image:0001)">
<button id="prev" type="button">&lt; prev</button><button id="next" type="button">next &gt;</button>
<span id="info"></span></div>
<table id="ann"><thead><tr></tr></thead><tbody></tbody></table></section>
<section id="plots"><h2>Plots</h2>{plot_html or '<p class="note">no plots</p>'}</section>
<script id="iqx-data" type="application/json">{payload}</script>
<script>
window.addEventListener('error', function(e){{ document.body.dataset.status = 'error: ' + e.message; }});
{_JS}</script>
</body></html>
"""
    return write_text(path, page)
