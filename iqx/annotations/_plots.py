"""PNG plots of dataset statistics (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_plots"]


def _figure():
    # a bare Figure renders through the Agg canvas: pyplot and the global backend stay untouched
    from matplotlib.figure import Figure

    return Figure(figsize=(8, 4.5), dpi=100, layout="constrained")


def _save(fig: Any, path: Path) -> Path:
    from iqx.io._atomic import atomic_file

    with atomic_file(path, overwrite=True) as tmp:
        fig.savefig(tmp, format="png")
    return path


def _hist(
    values: Any, title: str, xlabel: str, path: Path, bins: int, log: bool = False
) -> Path | None:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    ax.hist(v, bins=bins, color="#3b7dd8", edgecolor="white")
    ax.set(title=title, xlabel=xlabel, ylabel="count")
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _bars(
    labels: list[str], counts: list[float], title: str, ylabel: str, path: Path
) -> Path | None:
    if not labels:
        return None
    fig = _figure()
    if len(labels) > 20:
        fig.set_size_inches(min(0.3 * len(labels) + 2, 40), 4.5)
    ax = fig.add_subplot()
    ax.bar(range(len(labels)), counts, color="#3b7dd8")
    ax.set_xticks(range(len(labels)), labels, rotation=90 if len(labels) > 8 else 0, fontsize=8)
    ax.set(title=title, ylabel=ylabel)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _rose(angles: Any, title: str, path: Path) -> Path | None:
    a = np.asarray(angles, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return None
    fig = _figure()
    ax = fig.add_subplot(projection="polar")
    # an axis direction is undirected: show each angle and its opposite (a symmetric rose)
    both = np.radians(np.concatenate([a, a + 180.0]))
    counts, edges = np.histogram(both, bins=36, range=(0, 2 * np.pi))
    ax.bar(
        edges[:-1], counts, width=np.diff(edges), align="edge", color="#3b7dd8", edgecolor="white"
    )
    ax.set_title(title)
    return _save(fig, path)


def _scatter(x: Any, y: Any, title: str, xlabel: str, ylabel: str, path: Path) -> Path | None:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size == 0:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    if x.size > 5000:
        hb = ax.hexbin(x, y, gridsize=40, mincnt=1, cmap="viridis")
        fig.colorbar(hb, ax=ax, label="count")
    else:
        ax.scatter(x, y, s=8, alpha=0.6, color="#3b7dd8")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def write_plots(ds: Any, out_dir: Path) -> list[Path]:
    """Write the plots of a :class:`~iqx.annotations.DatasetStats` into ``out_dir``."""
    stats = ds.compute()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bins = max(ds.bins, 10)
    written: list[Path | None] = []
    img = ds.images_frame()
    img = img[img["readable"]]
    if len(img):
        w, h = img["width"].to_numpy(float), img["height"].to_numpy(float)
        written += [
            _scatter(w, h, "Image sizes", "width (px)", "height (px)", out_dir / "images_size.png"),
            _hist(w * h, "Image areas", "pixels", out_dir / "images_area_histo.png", bins),
            _hist(
                w / h,
                "Image aspect ratios",
                "width / height",
                out_dir / "images_aspect_ratio_histo.png",
                bins,
            ),
        ]
    for fstats in stats["annotation_files"]:
        path = Path(fstats["file"])
        df = ds.annotations_frame(path)
        p = path.name
        cls = fstats["classes"]
        written.append(
            _bars(
                cls["names"],
                cls["counts"],
                f"{p}: objects per class",
                "objects",
                out_dir / f"{p}_class_histo.png",
            )
        )
        cov = fstats.get("area_coverage_by_class")
        if cov:
            written.append(
                _bars(
                    list(cov),
                    [100 * v for v in cov.values()],
                    f"{p}: mean area coverage",
                    "% of image area",
                    out_dir / f"{p}_class_area_histo.png",
                )
            )
        if not len(df):
            continue
        written += [
            _hist(
                df["bbox_area"],
                f"{p}: bounding-box areas",
                "area",
                out_dir / f"{p}_bbox_area_histo.png",
                bins,
                log=True,
            ),
            _hist(
                df["bbox_aspect_ratio"],
                f"{p}: bounding-box aspect ratios",
                "width / height",
                out_dir / f"{p}_bbox_aspect_ratio_histo.png",
                bins,
            ),
            _scatter(
                df["bbox_width"],
                df["bbox_height"],
                f"{p}: bounding boxes",
                "width",
                "height",
                out_dir / f"{p}_bbox_hw.png",
            ),
            _hist(
                df.groupby("image").size(),
                f"{p}: objects per annotated image",
                "objects",
                out_dir / f"{p}_objects_per_image_histo.png",
                bins,
            ),
            _hist(
                df["area"],
                f"{p}: polygon areas",
                "area",
                out_dir / f"{p}_polygon_area_histo.png",
                bins,
                log=True,
            ),
            _hist(
                df["compactness"],
                f"{p}: compactness (Polsby-Popper 4πA/P²)",
                "compactness",
                out_dir / f"{p}_compactness_histo.png",
                bins,
            ),
            _scatter(
                df["mrr_width"],
                df["mrr_length"],
                f"{p}: minimum rotated rectangles",
                "width",
                "length",
                out_dir / f"{p}_rotated_hw.png",
            )
            if df["mrr_length"].notna().any()
            else None,
            _rose(df["mrr_angle"], f"{p}: orientation of the long axis", out_dir / f"{p}_rose.png"),
        ]
    return [w for w in written if w is not None]
