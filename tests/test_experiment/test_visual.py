"""``ExperimentVisual``: PNGs written atomically, plotted values equal the grouped means."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from iqx.errors import InvalidParameterError
from iqx.experiment import (
    ExperimentInfo,
    ExperimentSetup,
    ExperimentVisual,
    PythonScriptTaskExecution,
)

from .conftest import SCRIPTS, tiny_copy_and_store

LRS = (0.1, 0.2)


@pytest.fixture(scope="module")
def info(tmp_path_factory, _tiny_source):
    """train_probe.py on the reference, JPEG q30 and q90, for two learning rates."""
    data, uri = tiny_copy_and_store(tmp_path_factory, _tiny_source, "visual")
    ExperimentSetup(
        "visual",
        PythonScriptTaskExecution(SCRIPTS / "train_probe.py"),
        data,
        ["jpeg:quality=30", "jpeg:quality=90"],
        extra_train_params={"lr": list(LRS)},
        include_reference=True,
        cloud_options={"tracking_uri": uri},
        max_parallel=1,
        log_interval=0,
    ).execute()
    return ExperimentInfo("visual", uri)


def _expected(modifier: str) -> tuple[float, float]:
    """Mean and sample std of train_probe.py's accuracy over the learning rates."""
    values = [(1.0 if modifier == "reference" else 0.5) * (1 - lr) for lr in LRS]
    return float(np.mean(values)), float(np.std(values, ddof=1))


def _check_png(path: Path) -> None:
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    assert 5_000 < len(raw) < 2_000_000
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.format == "PNG" and 400 < img.width < 2000 and 300 < img.height < 2000
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


def test_line_against_bits_per_pixel(info, tmp_path):
    df = info.get_df(["modifier", "lr"], ["accuracy", "bits_per_pixel"])
    out = tmp_path / "plots" / "line.png"
    fig = ExperimentVisual(df, out).visualize(
        "lineplot", xvar="bits_per_pixel", yvar="accuracy", title="accuracy vs volume"
    )
    _check_png(out)
    (ax,) = fig.axes
    (line,) = ax.lines
    # one point per data volume, sorted: q30 < q90 < the 8-bit reference
    bpp = df.groupby("ds_modifier")["bits_per_pixel"].first()
    assert list(line.get_xdata()) == sorted(bpp)
    order = bpp.sort_values().index
    assert list(line.get_ydata()) == pytest.approx([_expected(m)[0] for m in order])
    # the band spans mean +- std over the runs of each point
    (band,) = ax.collections
    ys = band.get_paths()[0].vertices[:, 1]
    stats = [_expected(m) for m in order]
    assert ys.max() == pytest.approx(max(m + sd for m, sd in stats))
    assert ys.min() == pytest.approx(min(m - sd for m, sd in stats))
    assert ax.get_title() == "accuracy vs volume" and ax.get_xlabel() == "bits_per_pixel"
    # rewriting the same file replaces it
    ExperimentVisual(df, out).visualize("scatter", xvar="bits_per_pixel", yvar="accuracy")
    _check_png(out)


def test_bars_from_a_grouped_table(info, tmp_path):
    grouped = info.get_df(["modifier", "lr"], ["accuracy"], grouped=["modifier"])
    out = tmp_path / "bars.png"
    fig = ExperimentVisual(grouped, out).visualize(
        "bars", xvar="ds_modifier", yvar="accuracy", plot_mean_std=True
    )
    _check_png(out)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["jpeg_q30", "jpeg_q90", "reference"]
    assert heights == pytest.approx([_expected(m)[0] for m in labels])
    assert heights == pytest.approx(list(grouped[("accuracy", "mean")]))
    # error bars: mean +- std of each group
    segments = ax.collections[0].get_segments()
    spans = [(s[:, 1].min(), s[:, 1].max()) for s in segments]
    for (lo, hi), label in zip(spans, labels, strict=True):
        mean, std = _expected(label)
        assert (lo, hi) == pytest.approx((mean - std, mean + std))


def test_scatter_and_legend_series(info):
    df = info.get_df(["modifier", "lr"], ["accuracy"])
    fig = ExperimentVisual(df).visualize(
        "scatter", xvar="ds_modifier", yvar="accuracy", legend_var="ds_lr"
    )
    ax = fig.axes[0]
    # every run is a point; one series per learning rate, means on the categorical axis
    points = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    assert len(points) >= len(df)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "0.1 (runs)" in texts and "0.2 (mean ± std)" in texts
    assert [t.get_text() for t in ax.get_xticklabels()] == ["jpeg_q30", "jpeg_q90", "reference"]


def test_line_from_a_grouped_table_with_legend(info):
    grouped = info.get_df(["modifier", "lr"], ["accuracy"], grouped=["lr", "modifier"])
    fig = ExperimentVisual(grouped).visualize(
        "lineplot", xvar="ds_modifier", yvar="accuracy", legend_var="ds_lr"
    )
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    for line, lr in zip(ax.lines, LRS, strict=True):
        assert line.get_label() == f"{lr:g}"
        expected = [(0.5 if i < 2 else 1.0) * (1 - lr) for i in range(3)]
        assert list(line.get_ydata()) == pytest.approx(expected)


def test_bad_arguments():
    df = pd.DataFrame({"ds_quality": [30, 90], "acc": [0.1, 0.2]})
    vis = ExperimentVisual(df)
    with pytest.raises(InvalidParameterError, match="plot_kind"):
        vis.visualize("pie", xvar="ds_quality", yvar="acc")
    with pytest.raises(InvalidParameterError, match="no column 'psnr'"):
        vis.visualize("lineplot", xvar="ds_quality", yvar="psnr")
    with pytest.raises(InvalidParameterError, match="must be a pandas DataFrame"):
        ExperimentVisual([1, 2])
