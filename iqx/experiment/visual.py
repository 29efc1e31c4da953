"""``ExperimentVisual``: a metric against a modifier parameter or data volume, with its spread.

IQUAFLOW's class of the same name (``visualize(plot_kind, xvar, yvar, legend_var, title,
plot_mean_std)``) drawn with matplotlib alone (no seaborn, which IQUAFLOW needed and which
tried to download sample data). It takes either table of
:meth:`ExperimentInfo.get_df <iqx.experiment.info.ExperimentInfo.get_df>`:

- a **flat** table (one row per run): rows are grouped by ``legend_var`` and ``xvar`` and the
  mean and standard deviation over each group's runs (the repetitions) are drawn;
- a **grouped** table (``get_df(..., grouped=...)``, columns ``(metric, "mean"|"std")``):
  its means and standard deviations are drawn as they are; ``xvar`` and ``legend_var`` are
  index levels or, for ``xvar``, a metric whose mean is taken (``bits_per_pixel``).

Figures are :class:`matplotlib.figure.Figure` objects made without :mod:`matplotlib.pyplot`
(no global state: safe in threads and scripts); a notebook shows the returned figure inline.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iqx.errors import InvalidParameterError

__all__ = ["ExperimentVisual"]

_KINDS = {"lineplot": "line", "line": "line", "bars": "bar", "bar": "bar", "scatter": "scatter"}


def _is_grouped(df: pd.DataFrame) -> bool:
    return df.columns.nlevels > 1


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return (
        "(none)" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    )


class ExperimentVisual:
    """Plots of an experiment table (IQUAFLOW's ``ExperimentVisual``).

    Parameters
    ----------
    df : pandas.DataFrame
        A flat or grouped table of :meth:`ExperimentInfo.get_df
        <iqx.experiment.info.ExperimentInfo.get_df>`.
    out_fullfn : path-like, optional
        PNG file written by every :meth:`visualize` (atomically: a temporary sibling renamed
        into place, so a reader never sees half a file).
    """

    def __init__(self, df: pd.DataFrame, out_fullfn: str | Path | None = None) -> None:
        if not isinstance(df, pd.DataFrame):
            raise InvalidParameterError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        self.df = df
        self.out_fullfn = out_fullfn

    # ------------------------------------------------------------------ data
    def _points(self, xvar: str, yvar: str, legend_var: str | None) -> pd.DataFrame:
        """Columns ``legend, x, mean, std``, and ``y`` (raw values of a flat table)."""
        df = self.df
        if _is_grouped(df):
            if (yvar, "mean") not in df.columns:
                metrics = sorted({c[0] for c in df.columns})
                raise InvalidParameterError(f"yvar {yvar!r} is not among the metrics {metrics}")
            flat = df.index.to_frame(index=False)
            names = [n for n in df.index.names if n is not None]
            if (xvar, "mean") in df.columns:
                flat["x"] = df[(xvar, "mean")].to_numpy()
            elif xvar in names:
                flat["x"] = df.index.get_level_values(xvar)
            else:
                raise InvalidParameterError(
                    f"xvar {xvar!r} is neither an index level {names} nor a metric of the table"
                )
            if legend_var is not None and legend_var not in names:
                raise InvalidParameterError(
                    f"legend_var {legend_var!r} is not an index level {names}"
                )
            flat["legend"] = flat[legend_var] if legend_var else yvar
            flat["mean"] = df[(yvar, "mean")].to_numpy(dtype=float)
            std = df[(yvar, "std")] if (yvar, "std") in df.columns else np.nan
            flat["std"] = np.asarray(std, dtype=float) if np.ndim(std) else np.nan
            flat["legend"] = flat["legend"].map(_label)
            return flat[["legend", "x", "mean", "std"]].dropna(subset=["x", "mean"])
        for name in (xvar, yvar, legend_var):
            if name is not None and name not in df.columns:
                raise InvalidParameterError(f"no column {name!r} in {list(df.columns)}")
        raw = pd.DataFrame(
            {
                "legend": df[legend_var] if legend_var else yvar,
                "x": df[xvar],
                "y": pd.to_numeric(df[yvar], errors="coerce"),
            }
        ).dropna(subset=["x", "y"])
        raw["legend"] = raw["legend"].map(_label)
        stats = (
            raw.groupby(["legend", "x"], sort=False, dropna=False)["y"]
            .agg(["mean", "std"])
            .reset_index()
        )
        return stats.merge(raw, on=["legend", "x"])

    @staticmethod
    def _axis(x: pd.Series, categorical: bool) -> tuple[dict[Hashable, float], list[str] | None]:
        """x positions: numeric values as they are, else categories (sorted) at 0, 1, ..."""
        values = x.drop_duplicates().tolist()
        numeric = pd.api.types.is_numeric_dtype(x)
        if numeric and not categorical:
            return {v: float(v) for v in values}, None
        order = sorted(values) if numeric else sorted(values, key=str)
        return {v: float(i) for i, v in enumerate(order)}, [_label(v) for v in order]

    # ------------------------------------------------------------------ drawing
    def visualize(
        self,
        plot_kind: str = "lineplot",
        xvar: str = "ds_modifier",
        yvar: str = "val_rmse",
        legend_var: str | None = None,
        title: str | None = "",
        plot_mean_std: bool = True,
        *,
        ax: Any = None,
    ) -> Any:
        """Draw ``yvar`` against ``xvar``, one series per value of ``legend_var``.

        Parameters
        ----------
        plot_kind : {"lineplot", "bars", "scatter"}
            Lines through the means (sorted by x) with a mean ± std band; grouped bars of
            the means with ± std error bars; or every run's value as a point, with the
            means ± std as error bars.
        xvar : str
            A modifier parameter (``ds_quality``), the modifier (``ds_modifier``,
            categorical) or the data volume (``bits_per_pixel``).
        yvar : str
            The metric.
        legend_var : str, optional
            Column (flat table) or index level (grouped table) splitting the series.
        title : str, optional
            Axes title.
        plot_mean_std : bool
            Draw the spread over repetitions (std, ``ddof=1``; absent for single runs).
        ax : matplotlib.axes.Axes, optional
            Draw into these axes instead of a new figure.

        Returns
        -------
        matplotlib.figure.Figure
            The figure (also written to ``out_fullfn`` when set).
        """
        kind = _KINDS.get(plot_kind)
        if kind is None:
            raise InvalidParameterError(
                f"plot_kind must be one of 'lineplot', 'bars', 'scatter'; got {plot_kind!r}"
            )
        points = self._points(xvar, yvar, legend_var)
        if points.empty:
            raise InvalidParameterError(f"nothing to plot: no run has both {xvar!r} and {yvar!r}")
        if ax is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(6.4, 4.2), layout="constrained")
            ax = fig.add_subplot()
        positions, ticks = self._axis(points["x"], categorical=kind == "bar")
        series = list(dict.fromkeys(points["legend"].tolist()))
        width = 0.8 / max(len(series), 1)
        for i, name in enumerate(series):
            part = points[points["legend"] == name]
            means = part.drop_duplicates(subset="x")
            if kind == "bar":
                x = (
                    np.array([positions[v] for v in means["x"]])
                    + (i - (len(series) - 1) / 2) * width
                )
            else:
                x = np.array([positions[v] for v in means["x"]])
            order = np.argsort(x, kind="stable")
            x, mean = x[order], means["mean"].to_numpy(dtype=float)[order]
            std = means["std"].to_numpy(dtype=float)[order]
            label, color = str(name), f"C{i % 10}"
            if kind == "line":
                ax.plot(x, mean, marker="o", color=color, label=label)
                if plot_mean_std and np.isfinite(std).any():
                    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2)
            elif kind == "bar":
                ax.bar(
                    x,
                    mean,
                    width,
                    yerr=std if plot_mean_std else None,
                    capsize=3,
                    color=color,
                    label=label,
                )
            else:
                if "y" in part:
                    xs = np.array([positions[v] for v in part["x"]])
                    ax.scatter(
                        xs, part["y"], alpha=0.45, s=18, color=color, label=f"{label} (runs)"
                    )
                ax.errorbar(
                    x,
                    mean,
                    yerr=std if plot_mean_std else None,
                    fmt="D",
                    color=color,
                    capsize=3,
                    label=f"{label} (mean ± std)" if plot_mean_std else label,
                )
        if ticks is not None:
            ax.set_xticks(range(len(ticks)), ticks, rotation=30 if len(ticks) > 4 else 0)
        ax.set_xlabel(xvar)
        ax.set_ylabel(yvar)
        if title:
            ax.set_title(title)
        if legend_var is not None or kind == "scatter":
            ax.legend(title=legend_var, fontsize="small")
        ax.grid(alpha=0.3)
        fig = ax.figure
        if self.out_fullfn:
            self.save(fig, self.out_fullfn)
        return fig

    @staticmethod
    def save(fig: Any, path: str | Path, *, dpi: int = 120) -> Path:
        """Write ``fig`` as a PNG at ``path`` atomically (temporary sibling, then rename)."""
        from iqx.io._atomic import atomic_file

        path = Path(path)
        with atomic_file(path, overwrite=True) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
        return path
