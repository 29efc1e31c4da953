"""Dataset statistics (IQUAFLOW's DsStats, extended): sizes, classes, shapes, plots, report.

Image sizes come from file headers (no pixel is decoded), so the statistics of a dataset of
10,000 images need memory for a few numbers per image and per annotation only.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from iqx.annotations import coco as _coco
from iqx.annotations import geojson as _geo
from iqx.annotations._geometry import coco_polygons, shape_features, summary
from iqx.annotations._images import ImageIndex, has_image_extension
from iqx.annotations._jsonio import write_json
from iqx.annotations._layout import Layout, discover
from iqx.errors import AnnotationError, InvalidParameterError, RasterReadError

__all__ = ["DatasetStats", "dataset_stats"]

#: shape descriptors summarised for polygons / GeoJSON geometries
_SHAPE_KEYS = (
    "area",
    "perimeter",
    "compactness",
    "elongation",
    "mrr_length",
    "mrr_width",
    "mrr_angle",
    "mrr_area",
    "centroid_x",
    "centroid_y",
)


class DatasetStats:
    """Statistics of a dataset's images and annotations.

    Parameters
    ----------
    data_path : path-like
        The dataset folder (IQUAFLOW layout) or one annotation file.
    images_dir, coco, geojson : optional
        Explicit images folder / annotation files (default: discovered).
    bins : int
        Histogram bins (10, as IQUAFLOW's DsStats).

    Notes
    -----
    Annotation files must be consistent (run :class:`~iqx.annotations.SanityCheck` first):
    an empty or broken file, a malformed record, or an annotation pointing at an unknown image
    or category raises :class:`~iqx.errors.AnnotationError` naming the file.
    """

    def __init__(
        self,
        data_path: str | os.PathLike[str],
        *,
        images_dir: str | os.PathLike[str] | None = None,
        coco: Any = None,
        geojson: Any = None,
        bins: int = 10,
    ) -> None:
        if int(bins) < 1:
            raise InvalidParameterError(f"bins must be >= 1, not {bins}")
        self.layout: Layout = discover(data_path, images_dir=images_dir, coco=coco, geojson=geojson)
        self.data_path = self.layout.data_path
        self.bins = int(bins)
        self._images: ImageIndex | None = None
        self._image_table: Any = None
        self._ann_tables: dict[Path, Any] = {}
        self._stats: dict[str, Any] | None = None

    # ----------------------------------------------------------------- tables
    @property
    def images(self) -> ImageIndex | None:
        """The scanned images folder."""
        if self._images is None and self.layout.images_dir is not None:
            self._images = ImageIndex(self.layout.images_dir, extra_roots=[self.data_path])
        return self._images

    def images_frame(self) -> Any:
        """One row per image file: ``file_name``, ``width``, ``height``, ``readable``.

        Sizes are read from headers only.
        """
        import pandas as pd

        if self._image_table is None:
            rows = []
            index = self.images
            for name in index.names if index is not None else []:
                if not has_image_extension(name):
                    continue
                try:
                    w, h = index.size(index.images_dir / name)
                    rows.append((name, w, h, True))
                except RasterReadError:
                    rows.append((name, np.nan, np.nan, False))
            self._image_table = pd.DataFrame(
                rows, columns=["file_name", "width", "height", "readable"]
            )
        return self._image_table

    def annotations_frame(self, path: str | os.PathLike[str] | None = None) -> Any:
        """One row per annotation (of one file, or of every file with a ``file`` column).

        Columns: ``file``, ``image``, ``category_id``, ``category``, ``bbox_x``, ``bbox_y``,
        ``bbox_width``, ``bbox_height``, ``bbox_area``, ``bbox_aspect_ratio`` (w/h) and the
        shape descriptors of :func:`~iqx.annotations._geometry.shape_features` (``area``,
        ``compactness``, ``mrr_length``, ``mrr_width``, ``mrr_angle``, ``centroid_x`` ...).
        GeoJSON tables also keep their own property columns.
        """
        import pandas as pd

        paths = [Path(path)] if path is not None else self.layout.annotation_files
        frames = []
        for p in paths:
            if p not in self._ann_tables:
                self._ann_tables[p] = (
                    self._geojson_table(p)
                    if p.suffix.lower() == ".geojson"
                    else self._coco_table(p)
                )
            frames.append(self._ann_tables[p][0])
        if not frames:
            return pd.DataFrame()
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def _coco_table(self, path: Path) -> tuple[Any, dict[str, Any]]:
        import pandas as pd

        data = _coco.load_coco(path)
        _coco.validate_coco(data, path)
        images = {im["id"]: im for im in data["images"]}
        cats = {c["id"]: c.get("name", str(c["id"])) for c in data["categories"]}
        anns = data["annotations"]
        bbox = np.array([a["bbox"] for a in anns], dtype=float).reshape(-1, 4)
        polys = coco_polygons([a.get("segmentation") for a in anns])
        shapes = shape_features(polys)
        df = pd.DataFrame(
            {
                "file": path.name,
                "annotation_id": [a.get("id") for a in anns],
                "image_id": [a["image_id"] for a in anns],
                "image": [str(images[a["image_id"]]["file_name"]) for a in anns],
                "category_id": [a["category_id"] for a in anns],
                "category": [str(cats.get(a["category_id"], a["category_id"])) for a in anns],
                "bbox_x": bbox[:, 0],
                "bbox_y": bbox[:, 1],
                "bbox_width": bbox[:, 2],
                "bbox_height": bbox[:, 3],
                "bbox_area": bbox[:, 2] * bbox[:, 3],
                "iscrowd": [int(a.get("iscrowd", 0) or 0) for a in anns],
                **{k: shapes[k] for k in (*_SHAPE_KEYS, "valid")},
            }
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            df["bbox_aspect_ratio"] = np.where(
                df["bbox_height"] > 0, df["bbox_width"] / df["bbox_height"], np.nan
            )
        meta = {"format": "coco", "data": data, "polygons": polys}
        return df, meta

    def _geojson_table(self, path: Path) -> tuple[Any, dict[str, Any]]:
        import pandas as pd

        gdf = _geo.load_geojson(path)
        absent = [c for c in _geo.REQUIRED_FIELDS if c not in gdf.columns] if len(gdf) else []
        if absent:
            raise AnnotationError(
                f"{path}: required column(s) {', '.join(absent)} absent; run `iqx sanity`"
            )
        geoms = gdf.geometry.to_numpy() if len(gdf) else np.array([], dtype=object)
        shapes = shape_features(geoms)
        props = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)) if len(gdf) else pd.DataFrame()
        df = pd.DataFrame(
            {
                "file": path.name,
                "image": props["image_filename"].astype(str) if len(gdf) else [],
                "category_id": props["class_id"] if len(gdf) else [],
                "category": props["class_id"].astype(str) if len(gdf) else [],
                "bbox_width": shapes["bbox_width"],
                "bbox_height": shapes["bbox_height"],
                **{k: shapes[k] for k in (*_SHAPE_KEYS, "valid")},
            }
        )
        df["bbox_area"] = df["bbox_width"] * df["bbox_height"]
        with np.errstate(divide="ignore", invalid="ignore"):
            df["bbox_aspect_ratio"] = np.where(
                df["bbox_height"] > 0, df["bbox_width"] / df["bbox_height"], np.nan
            )
        for col in props.columns:
            if col not in ("image_filename", "class_id") and col not in df.columns:
                df[col] = props[col].to_numpy()
        meta = {
            "format": "geojson",
            "gdf": gdf,
            "crs": gdf.crs.to_string() if gdf.crs is not None else None,
            "fields": list(props.columns),
        }
        return df, meta

    # ------------------------------------------------------------------ stats
    def _image_stats(self) -> dict[str, Any]:
        df = self.images_frame()
        readable = df["readable"].to_numpy(bool)  # an empty object column would select columns
        ok = df[readable]
        w, h = ok["width"].to_numpy(float), ok["height"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ar = np.where(h > 0, w / h, np.nan)
        sizes = Counter(f"{int(a)}x{int(b)}" for a, b in zip(w, h))
        return {
            "folder": os.fspath(self.layout.images_dir) if self.layout.images_dir else None,
            "count": len(df),
            "readable": len(ok),
            "unreadable": df.loc[~readable, "file_name"].tolist(),
            "mean_width": float(w.mean()) if len(w) else None,
            "mean_height": float(h.mean()) if len(h) else None,
            "width": summary(w, self.bins),
            "height": summary(h, self.bins),
            "area": summary(w * h, self.bins),
            "aspect_ratio": summary(ar, self.bins),
            "sizes": dict(sizes.most_common(20)),
            "extensions": dict(Counter(Path(n).suffix.lower() for n in df["file_name"])),
        }

    def _file_stats(self, path: Path) -> dict[str, Any]:
        df = self.annotations_frame(path)
        meta = self._ann_tables[path][1]
        b = self.bins
        out: dict[str, Any] = {"file": os.fspath(path), "format": meta["format"]}
        # class histogram, sorted by class id (IQUAFLOW's cat_ids / cat_names / cat_tags_count)
        counts = df.groupby("category_id", sort=True).size() if len(df) else {}
        names = (
            df.drop_duplicates("category_id").set_index("category_id")["category"]
            if len(df)
            else {}
        )
        ids = [c.item() if isinstance(c, np.generic) else c for c in getattr(counts, "index", [])]
        out["classes"] = {
            "ids": ids,
            "names": [str(names[c]) for c in ids],
            "counts": [int(counts[c]) for c in ids],
        }
        per_image = df.groupby("image").size() if len(df) else None
        if meta["format"] == "coco":
            data = meta["data"]
            n_images = len(data["images"])
            listed = {str(im["file_name"]) for im in data["images"]}
            out.update(
                n_images=n_images,
                n_annotations=len(df),
                n_categories=len(data["categories"]),
                images_without_annotations=n_images - (0 if per_image is None else len(per_image)),
                iscrowd=int(df["iscrowd"].sum()) if len(df) else 0,
            )
            per_img = np.zeros(n_images)
            if per_image is not None:
                order = {str(im["file_name"]): i for i, im in enumerate(data["images"])}
                for name, n in per_image.items():
                    per_img[order[name]] = n
            out["annotations_per_image"] = summary(per_img, b)
            out["area_coverage_by_class"] = self._coverage(data)
            out["images_not_in_folder"] = (
                sorted(listed - set(self.images_frame()["file_name"]))[:100]
                if self.images is not None
                else []
            )
        else:
            out.update(
                crs=meta["crs"],
                n_annotations=len(df),
                n_images=int(df["image"].nunique()) if len(df) else 0,
                geom_types=dict(
                    Counter(g.geom_type for g in meta["gdf"].geometry if g is not None)
                ),
                invalid_geometries=int((df["valid"] == 0).sum()) if len(df) else 0,
                empty_geometries=int(df["area"].isna().sum()) if len(df) else 0,
            )
            out["annotations_per_image"] = summary(
                per_image.to_numpy() if per_image is not None else [], b
            )
            out["fields"] = _field_stats(meta["gdf"], meta["fields"])
        out["bbox"] = {
            k: summary(df[c] if len(df) else [], b)
            for k, c in (
                ("width", "bbox_width"),
                ("height", "bbox_height"),
                ("area", "bbox_area"),
                ("aspect_ratio", "bbox_aspect_ratio"),
            )
        }
        poly = df[df["area"].notna()] if len(df) else df
        out["polygons"] = {"count": len(poly)}
        for k in ("area", "perimeter", "compactness", "elongation"):
            out["polygons"][k] = summary(poly[k] if len(poly) else [], b)
        out["min_rotated_rectangle"] = {
            k.removeprefix("mrr_"): summary(poly[k] if len(poly) else [], b)
            for k in ("mrr_length", "mrr_width", "mrr_angle", "mrr_area")
        }
        out["centroids"] = {
            "x": summary(poly["centroid_x"] if len(poly) else [], b),
            "y": summary(poly["centroid_y"] if len(poly) else [], b),
        }
        return out

    def _coverage(self, data: dict[str, Any]) -> dict[str, float]:
        """Mean fraction of an image's area covered by each class (annotation ``area``)."""
        sizes = {
            im["id"]: float(im.get("width") or 0) * float(im.get("height") or 0)
            for im in data["images"]
        }
        names = {c["id"]: str(c.get("name", c["id"])) for c in data["categories"]}
        total: dict[str, float] = {}
        for a in data["annotations"]:
            area, img_area = a.get("area"), sizes.get(a["image_id"], 0.0)
            if isinstance(area, int | float) and img_area > 0:
                key = names.get(a["category_id"], str(a["category_id"]))
                total[key] = total.get(key, 0.0) + float(area) / img_area
        n = max(len(sizes), 1)
        out = {k: v / n for k, v in sorted(total.items())}
        out["background"] = max(0.0, 1.0 - sum(out.values()))
        return out

    def compute(self) -> dict[str, Any]:
        """All statistics as a JSON-ready dict (also cached on the instance)."""
        if self._stats is None:
            from iqx._version import __version__

            self._stats = {
                "iqx_version": __version__,
                "dataset": self.layout.name,
                "data_path": os.fspath(self.data_path),
                "images": self._image_stats(),
                "annotation_files": [self._file_stats(p) for p in self.layout.annotation_files],
            }
        return self._stats

    def write(
        self,
        output_path: str | os.PathLike[str] | None = None,
        *,
        plots: bool = True,
        html: bool = False,
        max_preview: int = 200,
        max_rows: int = 50_000,
    ) -> dict[str, Any]:
        """Write ``stats.json`` (and PNG plots, and ``report.html``) into ``output_path``.

        Parameters
        ----------
        output_path : path-like, optional
            Default: the sibling folder ``<dataset>_stats`` (IQUAFLOW wrote ``<dataset>/stats``,
            inside its input; iqx never writes inside an input). The folder is written under a
            temporary name and renamed when complete; an existing folder is replaced only when
            it is an earlier statistics output (it holds ``stats.json``) or empty.
        plots : bool
            Write PNG plots into ``<output_path>/plots``.
        html : bool
            Write the self-contained interactive ``report.html``.
        max_preview, max_rows : int
            Bounds of the HTML report (preview thumbnails, table rows).

        Returns
        -------
        dict
            ``{"stats": path, "plots": [paths], "html": path or None}``.
        """
        from iqx.io._atomic import atomic_dir

        out = self._output_folder(output_path)
        stats = self.compute()
        with atomic_dir(out, overwrite=True) as tmp:
            write_json(tmp / "stats.json", stats)
            plot_files: list[Path] = []
            if plots:
                from iqx.annotations._plots import write_plots

                plot_files = write_plots(self, tmp / "plots")
            if html:
                from iqx.annotations.report import write_html_report

                write_html_report(
                    self,
                    tmp / "report.html",
                    max_preview=max_preview,
                    max_rows=max_rows,
                    plots=plot_files,
                )
        return {
            "stats": out / "stats.json",
            "plots": [out / p.relative_to(tmp) for p in plot_files],
            "html": out / "report.html" if html else None,
        }

    def _output_folder(self, output_path: str | os.PathLike[str] | None) -> Path:
        """The resolved output folder, checked to lie outside the dataset and its files."""
        from iqx.errors import OutputExistsError
        from iqx.io._atomic import check_output_path

        if output_path is None:
            output_path = self.data_path.parent / f"{self.data_path.name}_stats"
        inputs = [self.data_path, *self.layout.annotation_files]
        if self.layout.images_dir is not None:
            inputs.append(self.layout.images_dir)
        out = check_output_path(output_path, inputs, what="statistics folder")
        if out.is_file() or (
            out.is_dir() and any(out.iterdir()) and not (out / "stats.json").is_file()
        ):
            raise OutputExistsError(
                f"{out}: exists and is not an earlier statistics output (no stats.json); "
                "choose another output folder"
            )
        return out


def _field_stats(gdf: Any, fields: list[str]) -> dict[str, Any]:
    """Per-property statistics: numeric count/mean/std/min/max, categorical value counts."""
    import pandas as pd

    out: dict[str, Any] = {}
    for col in fields:
        s = gdf[col]
        missing = int(s.isna().sum())
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            v = s.dropna().astype(float)
            out[col] = {
                "kind": "numeric",
                "count": int(v.size),
                "missing": missing,
                "mean": float(v.mean()) if v.size else None,
                "std": float(v.std(ddof=0)) if v.size else None,
                "min": float(v.min()) if v.size else None,
                "max": float(v.max()) if v.size else None,
            }
            if v.size and v.nunique() <= 50:
                out[col]["value_counts"] = {
                    str(int(k) if float(k).is_integer() else k): int(n)
                    for k, n in v.value_counts().sort_index().items()
                }
        else:
            vc = s.dropna().astype(str).value_counts()
            out[col] = {
                "kind": "categorical",
                "count": int(s.notna().sum()),
                "missing": missing,
                "unique": int(vc.size),
                "value_counts": {str(k): int(n) for k, n in vc.head(50).items()},
            }
    return out


def dataset_stats(
    data_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str] | None = None,
    *,
    plots: bool = True,
    html: bool = False,
    bins: int = 10,
    write: bool = True,
    **kwargs: Any,
) -> dict[str, Any]:
    """Function form of :class:`DatasetStats`: compute (and by default write) the statistics.

    Returns
    -------
    dict
        The statistics (as written to ``stats.json``).
    """
    ds = DatasetStats(data_path, bins=bins, **kwargs)
    stats = ds.compute()
    if write:
        ds.write(output_path, plots=plots, html=html)
    return stats
