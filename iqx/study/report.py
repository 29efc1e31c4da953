"""A study's report rebuilt from MLflow alone: one self-contained HTML page and PNG plots.

Plots (matplotlib ``Figure`` objects, no pyplot state):

- ``task_vs_bpp.png``: the target metric (else the first task metric, else SSIM) against bits
  per pixel, one line per modifier family, error bars = standard deviation over repetitions,
  the unmodified baseline as a dashed line;
- ``blind_<family>.png``: the target (or task) metric and each blind metric against the
  family's swept parameter (noise keeps the data volume: this is its task-metric plot);
- ``front.png``: the rate-quality front (every setting, the Pareto-optimal ones joined), the
  threshold and the cheapest setting marked.

The page embeds the plots as base64 PNGs, the summary table, the answer and ``STUDY.toml``;
it sets ``<body data-status="ok">`` once its inline script ran (read back by the tests in
headless Chromium).
"""

from __future__ import annotations

import base64
import html
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iqx.experiment.tracking import Tracker
from iqx.study.results import (
    latest_summary,
    metric_columns,
    study_runs,
    summary_table,
    task_columns,
)

__all__ = ["write_report"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:2px 6px}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.answer{font-size:1.1em;background:#eef6ee;border-left:4px solid #3a3;padding:.6em}
img{max-width:100%;border:1px solid #eee;margin:4px 0}pre{background:#f7f7f7;padding:.6em}
tr.cheapest{background:#fff3c4}
"""


def _figure(width: float = 7.0, height: float = 4.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(fig: Any, path: Path) -> Path:
    from iqx.io._atomic import atomic_file

    with atomic_file(path, overwrite=True) as tmp:
        fig.savefig(tmp, format="png")
    return path


def _y_metric(summary: dict[str, Any], runs: pd.DataFrame) -> str | None:
    target = summary.get("target") or {}
    if target.get("metric") in runs:
        return target["metric"]
    task = task_columns(runs)
    if task:
        return task[0]
    for m in ("ssim", "img_ssim", "psnr"):
        if m in runs:
            return m
    return None


def _task_plot(stats: pd.DataFrame, metric: str, out: Path, title: str) -> Path:
    fig = _figure()
    ax = fig.add_subplot()
    for family, group in stats[stats["family"] != "original"].groupby("family", sort=False):
        g = group.sort_values("bits_per_pixel")
        std = g.get(f"{metric}_std", pd.Series(0.0, index=g.index)).fillna(0.0)
        ax.errorbar(g["bits_per_pixel"], g[metric], yerr=std, marker="o", capsize=3, label=family)
    base = stats[stats["family"] == "original"]
    if not base.empty and not math.isnan(base[metric].iloc[0]):
        ax.axhline(base[metric].iloc[0], color="k", ls="--", lw=1, label="unmodified")
    _log_x(ax, stats["bits_per_pixel"])
    ax.set(xlabel="bits per pixel", ylabel=metric, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out)


def _blind_plot(
    stats: pd.DataFrame, family: str, param: str, cols: list[str], out: Path
) -> Path | None:
    g = stats[stats["family"] == family].sort_values("strength")
    cols = [c for c in cols if c in g and g[c].notna().any()]
    if g.empty or not cols:
        return None
    fig = _figure(3.2 * len(cols), 3.4)
    axes = fig.subplots(1, len(cols), squeeze=False)[0]
    base = stats[stats["family"] == "original"]
    for ax, c in zip(axes, cols):
        std = g.get(f"{c}_std", pd.Series(0.0, index=g.index)).fillna(0.0)
        ax.errorbar(g["strength"], g[c], yerr=std, marker="o", capsize=3)
        if not base.empty and pd.notna(base[c].iloc[0]):
            ax.axhline(base[c].iloc[0], color="k", ls="--", lw=1)
        ax.set(xlabel=f"{family} {param}", ylabel=c)
        ax.grid(alpha=0.3)
    fig.suptitle(f"quality vs {family} {param} (dashed: unmodified)")
    return _save(fig, out)


def _front_plot(stats: pd.DataFrame, metric: str, summary: dict[str, Any], out: Path) -> Path:
    cheap = summary.get("cheapest") or {}
    higher = (summary.get("target") or {}).get("higher_is_better", True)
    fig = _figure()
    ax = fig.add_subplot()
    for family, g in stats.groupby("family", sort=False):
        ax.scatter(g["bits_per_pixel"], g[metric], label=family, s=28)
    pts = stats[["bits_per_pixel", metric]].dropna().sort_values("bits_per_pixel")
    best, front = -np.inf, []
    for bpp, value in pts.itertuples(index=False):
        v = value if higher else -value
        if v > best:
            best = v
            front.append((bpp, value))
    if front:
        fx, fy = zip(*front)
        ax.step(fx, fy, where="post", color="grey", lw=1, label="Pareto front")
    if cheap.get("threshold") is not None:
        ax.axhline(cheap["threshold"], color="tab:red", ls=":", lw=1, label="threshold")
    if cheap.get("setting") and cheap.get("bits_per_pixel") is not None:
        ax.scatter(
            [cheap["bits_per_pixel"]],
            [cheap.get("metric_value")],
            marker="*",
            s=260,
            color="gold",
            edgecolor="k",
            zorder=5,
            label=f"cheapest: {cheap['setting']}",
        )
    _log_x(ax, stats["bits_per_pixel"])
    ax.set(xlabel="bits per pixel", ylabel=metric, title="rate-quality front")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out)


def _log_x(ax: Any, values: Any) -> None:
    """Bits per pixel spanning decades (8 bpp baseline, 0.1 bpp JPEG) read better on log x."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and v.max() / v.min() > 20:
        from matplotlib.ticker import LogFormatter, NullFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
        ax.xaxis.set_minor_formatter(NullFormatter())


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "" if math.isnan(v) else f"{v:.4g}"
    return html.escape(str(v))


def _table_html(stats: pd.DataFrame, cheapest: str | None, cols: list[str]) -> str:
    shown = [c for c in ["family", "setting", "strength", *cols, "n_runs"] if c in stats]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown)
    rows = []
    for _, r in stats.iterrows():
        cls = ' class="cheapest"' if cheapest and r["setting"] == cheapest else ""
        cells = "".join(
            f'<td class="num">{_fmt(r[c])}</td>'
            if isinstance(r[c], float | int | np.number)
            else f"<td>{_fmt(r[c])}</td>"
            for c in shown
        )
        rows.append(f"<tr{cls}>{cells}</tr>")
    return (
        f'<table id="summary"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def write_report(
    name: str,
    output: str | os.PathLike[str],
    *,
    tracking_uri: str | None = None,
    workdir: str | os.PathLike[str] = ".",
) -> dict[str, Any]:
    """Rebuild study ``name``'s report from the tracking store into ``output``.

    Parameters
    ----------
    name : str
        The study (its MLflow experiment).
    output : path-like
        Folder for ``report.html`` and the PNG plots (created).
    tracking_uri : str, optional
        Default: ``$MLFLOW_TRACKING_URI``, else ``<workdir>/mlflow.db``.
    workdir : path-like

    Returns
    -------
    dict
        ``html`` (Path), ``plots`` (list of Path), ``answer`` (str), ``summary`` (DataFrame).

    Raises
    ------
    ExperimentError
        No such study, or it was never summarised.
    """
    from iqx.annotations._jsonio import write_text

    tracker = Tracker(tracking_uri, workdir=workdir)
    summary = latest_summary(tracker, name)
    runs = study_runs(tracker, name, summary.get("parameters"), summary.get("hyperparameters", ()))
    stats = summary_table(runs)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    plots: list[Path] = []
    metric = _y_metric(summary, runs) if not runs.empty else None
    if metric and "bits_per_pixel" in stats:
        plots.append(_task_plot(stats, metric, out / "task_vs_bpp.png", f"{metric} vs data volume"))
    blind = [
        c
        for c in metric_columns(runs)
        if c.removeprefix("img_") in ("snr", "rer_x", "rer_y", "mtf_nyquist_x")
    ]
    for family, param in (summary.get("parameters") or {}).items():
        if param:
            shown = ([metric] if metric and metric not in blind else []) + blind
            p = _blind_plot(stats, family, param, shown, out / f"blind_{family}.png")
            if p is not None:
                plots.append(p)
    if metric and "bits_per_pixel" in stats:
        plots.append(_front_plot(stats, metric, summary, out / "front.png"))
    cheap = (summary.get("cheapest") or {}).get("setting")
    cols = [c for c in ["bits_per_pixel", metric, *task_columns(runs)[:4], *blind] if c]
    cols = list(dict.fromkeys(cols))
    imgs = "".join(
        f'<figure><img src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}"'
        f' alt="{html.escape(p.name)}"><figcaption>{html.escape(p.name)}</figcaption></figure>'
        for p in plots
    )
    n_done = int((runs["status"] == "FINISHED").sum()) if not runs.empty else 0
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>iqx study: {html.escape(name)}</title>
<style>{_CSS}</style></head>
<body data-status="loading">
<h1>Study: {html.escape(name)}</h1>
<p>{html.escape(summary.get("description") or "")}</p>
<p class="answer" id="answer">{html.escape(summary.get("answer", ""))}</p>
<p>{n_done} finished runs of {len(runs)}; tracking store {html.escape(tracker.uri)}.</p>
<section><h2>Settings</h2>{_table_html(stats, cheap, cols) if not stats.empty else "<p>no finished run</p>"}
</section>
<section id="plots"><h2>Plots</h2>{imgs or "<p>no plots</p>"}</section>
<section><h2>STUDY.toml</h2><pre>{html.escape(summary.get("study_toml", ""))}</pre></section>
<script>
window.addEventListener('error', function(e){{ document.body.dataset.status = 'error: ' + e.message; }});
document.querySelectorAll('#summary tbody tr').forEach(function(tr){{ tr.title = tr.cells[1].textContent; }});
document.body.dataset.status = 'ok';
</script>
</body></html>
"""
    page_path = write_text(out / "report.html", page)
    return {
        "html": Path(page_path),
        "plots": plots,
        "answer": summary.get("answer", ""),
        "summary": stats,
    }
