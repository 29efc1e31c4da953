"""A study's report rebuilt from MLflow alone: one self-contained HTML page and PNG plots.

Plots (matplotlib ``Figure`` objects, no pyplot state):

- ``task_vs_bpp.png``: the target metric (else the first task metric, else SSIM) against bits
  per pixel, one line per modifier family (per family and ``series`` for grids), error bars
  = standard deviation over repetitions, the unmodified baseline as a dashed line;
- ``niirs_vs_bpp.png`` (studies measuring NIIRS; replaces ``task_vs_bpp.png`` when NIIRS is
  the target): NIIRS against bits per pixel, error bars = the 95 % interval of the
  measurement (bootstrap standard error, combined with the spread over repetitions), the
  threshold with the GIQE's own +-0.3 NIIRS band, the baseline, the cheapest setting;
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
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iqx.experiment.tracking import Tracker
from iqx.study.results import (
    GIQE_MODEL_SE,
    NIIRS_COLUMNS,
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


_NIIRS_NOTE = (
    '<p class="note" id="niirs-note">NIIRS: the GIQE 5 evaluated on blind measurements (RER '
    "and edge SNR from the images' natural edges, GSD from the georeferencing), mean over "
    "images; <code>_se</code>: its bootstrap standard error (over edges), the 95 % interval "
    f"is ± 1.96 se. The equation's own prediction error, about ± {GIQE_MODEL_SE} NIIRS, "
    "comes on top; it holds for visible-band imagery rated NIIRS 2-7.</p>"
)


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


def _natural(text: str) -> list[Any]:
    """Sort key reading numbers as numbers (``D=0.35`` before ``D=1.1``)."""
    parts = re.split(r"(-?\d+(?:\.\d+)?(?:e-?\d+)?)", text)
    return [(0, float(x), "") if k % 2 else (1, 0.0, x) for k, x in enumerate(parts)]


def _lines(stats: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(label, rows)`` per plotted line: each family, split by ``series`` in grids (the
    series alone labels it when there is one family), in a stable natural order."""
    rest = stats[stats["family"] != "original"]
    keys = ["family", "series"] if "series" in rest else ["family"]
    one_family = rest["family"].nunique() == 1
    out = []
    for key, group in rest.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        series = key[1] if len(key) > 1 and isinstance(key[1], str) else ""
        label = series if series and one_family else " ".join(k for k in (key[0], series) if k)
        out.append((label, group, _natural(f"{key[0]} {series}")))
    return [(label, group) for label, group, _ in sorted(out, key=lambda t: t[2])]


def _yerr(g: pd.DataFrame, metric: str) -> pd.Series:
    """Error bar: spread over repetitions, combined with a 95 % measurement interval
    (``1.96 * <metric>_se``) where the metric reports one (NIIRS)."""
    std = g.get(f"{metric}_std", pd.Series(0.0, index=g.index)).fillna(0.0)
    se = g.get(f"{metric}_se", pd.Series(0.0, index=g.index)).fillna(0.0)
    return np.sqrt(std**2 + (1.96 * se) ** 2)


def _task_plot(stats: pd.DataFrame, metric: str, out: Path, title: str) -> Path:
    fig = _figure()
    ax = fig.add_subplot()
    for label, group in _lines(stats):
        g = group.sort_values("bits_per_pixel")
        ax.errorbar(
            g["bits_per_pixel"],
            g[metric],
            yerr=_yerr(g, metric),
            marker="o",
            capsize=3,
            label=label,
        )
    base = stats[stats["family"] == "original"]
    if not base.empty and not math.isnan(base[metric].iloc[0]):
        ax.axhline(base[metric].iloc[0], color="k", ls="--", lw=1, label="unmodified")
    _log_x(ax, stats["bits_per_pixel"])
    ax.set(xlabel="bits per pixel", ylabel=metric, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out)


def _niirs_plot(stats: pd.DataFrame, col: str, summary: dict[str, Any], out: Path) -> Path:
    """NIIRS vs bits per pixel with the measurement's 95 % interval and the GIQE's own error."""
    target = summary.get("target") or {}
    cheap = summary.get("cheapest") or {}
    fig = _figure(7.5, 4.6)
    ax = fig.add_subplot()
    for label, group in _lines(stats):
        g = group.sort_values("bits_per_pixel")
        ax.errorbar(
            g["bits_per_pixel"], g[col], yerr=_yerr(g, col), marker="o", capsize=3, label=label
        )
    base = stats[stats["family"] == "original"]
    if not base.empty and pd.notna(base[col].iloc[0]):
        b = float(base[col].iloc[0])
        half = float(_yerr(base, col).iloc[0])
        ax.axhline(b, color="k", ls="--", lw=1, label=f"unmodified ({b:.2f} ± {half:.2f})")
    threshold = cheap.get("threshold")
    if threshold is not None and str(target.get("metric", "")).removeprefix("img_") == "niirs":
        t = float(threshold)
        ax.axhline(t, color="tab:red", ls=":", lw=1.2, label=f"target {t:g}")
        ax.axhspan(
            t - GIQE_MODEL_SE,
            t + GIQE_MODEL_SE,
            color="tab:red",
            alpha=0.05,
            lw=0,
            label=f"target ± {GIQE_MODEL_SE}: the GIQE's own error",
        )
    _mark_cheapest(ax, cheap)
    _log_x(ax, stats.loc[stats["family"] != "original", "bits_per_pixel"])
    ax.set(
        xlabel="bits per pixel",
        ylabel="NIIRS (GIQE 5, blind)",
        title="NIIRS vs data volume (bars: 95 % interval of the measurement)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, out)


def _blind_plot(
    stats: pd.DataFrame, family: str, param: str, cols: list[str], out: Path
) -> Path | None:
    g = stats[stats["family"] == family].sort_values("strength")
    cols = [c for c in cols if c in g and g[c].notna().any()]
    if g.empty or not cols:
        return None
    fig = _figure(max(5.0, 3.2 * len(cols)), 3.4)
    axes = fig.subplots(1, len(cols), squeeze=False)[0]
    base = stats[stats["family"] == "original"]
    groups = list(_lines(g))
    for ax, c in zip(axes, cols):
        for label, rows in groups:
            ax.errorbar(
                rows["strength"],
                rows[c],
                yerr=_yerr(rows, c),
                marker="o",
                capsize=3,
                label=label if len(groups) > 1 else None,
            )
        if not base.empty and pd.notna(base[c].iloc[0]):
            ax.axhline(base[c].iloc[0], color="k", ls="--", lw=1)
        ax.set(xlabel=f"{param}" if "+" in family else f"{family} {param}", ylabel=c)
        ax.grid(alpha=0.3)
    if len(groups) > 1:
        axes[0].legend(fontsize=7)
    what = param if "+" in family else f"{family} {param}"
    fig.suptitle(f"quality vs {what} (dashed: unmodified)")
    return _save(fig, out)


def _front_plot(stats: pd.DataFrame, metric: str, summary: dict[str, Any], out: Path) -> Path:
    cheap = summary.get("cheapest") or {}
    higher = (summary.get("target") or {}).get("higher_is_better", True)
    fig = _figure(7.8, 4.2)
    ax = fig.add_subplot()
    base = stats[stats["family"] == "original"]
    if not base.empty:
        ax.scatter(base["bits_per_pixel"], base[metric], label="unmodified", s=28, color="k")
    for label, g in _lines(stats):
        ax.scatter(g["bits_per_pixel"], g[metric], label=label, s=28)
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
    _mark_cheapest(ax, cheap)
    _log_x(ax, stats["bits_per_pixel"])
    ax.set(xlabel="bits per pixel", ylabel=metric, title="rate-quality front")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, out)


def _mark_cheapest(ax: Any, cheap: dict[str, Any]) -> None:
    """Star the cheapest setting that meets the target (when there is one)."""
    if cheap.get("setting") and cheap.get("bits_per_pixel") is not None:
        ax.scatter(
            [cheap["bits_per_pixel"]],
            [cheap.get("metric_value")],
            marker="*",
            s=260,
            color="gold",
            edgecolor="k",
            zorder=5,
            label="cheapest meeting the target",
        )


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
    shown = [c for c in ["family", "setting", "series", "strength", *cols, "n_runs"] if c in stats]
    if "series" in shown and not stats["series"].astype(bool).any():
        shown.remove("series")
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
    niirs = next((c for c in NIIRS_COLUMNS if c in stats and stats[c].notna().any()), None)
    if metric and "bits_per_pixel" in stats and metric != niirs:
        plots.append(_task_plot(stats, metric, out / "task_vs_bpp.png", f"{metric} vs data volume"))
    if niirs and "bits_per_pixel" in stats:
        plots.append(_niirs_plot(stats, niirs, summary, out / "niirs_vs_bpp.png"))
    blind = [
        c
        for c in metric_columns(runs)
        if c.removeprefix("img_")
        in (
            "snr",
            "rer_x",
            "rer_y",
            "mtf_nyquist_x",
            "niirs",
            "niirs_rer_x",
            "niirs_rer_y",
            "niirs_snr",
        )
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
    if niirs in cols:  # its uncertainty beside it
        cols.insert(cols.index(niirs) + 1, f"{niirs}_se")
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
{_NIIRS_NOTE if niirs else ""}</section>
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
