"""Rasterize GeoJSON annotations into class masks (IQUAFLOW's ``Rasterize``).

For every image ``<images>/<name>`` a single-band GeoTIFF ``<images>_mask/<name>_mask`` is
written with the image's size, transform and CRS: pixels inside a geometry hold its
``class_id``, the rest hold ``background`` (255, as in IQUAFLOW). Unlike IQUAFLOW, images
without annotations get an all-background mask, geometries in another CRS are reprojected
to the image's CRS, and each mask is written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from iqx.annotations._images import has_image_extension
from iqx.annotations._layout import discover
from iqx.annotations.geojson import REQUIRED_FIELDS, load_geojson
from iqx.errors import AnnotationError, InvalidParameterError, RasterReadError

__all__ = ["rasterize"]


def rasterize(
    geojson: str | os.PathLike[str],
    images_dir: str | os.PathLike[str] | None = None,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    background: int = 255,
    all_touched: bool = False,
) -> list[Path]:
    """Burn the ``class_id`` of each GeoJSON geometry into a mask per image.

    Parameters
    ----------
    geojson : path-like
        The GeoJSON annotation file (``image_filename``, ``class_id``, geometry).
    images_dir : path-like, optional
        The images folder (default: discovered next to the GeoJSON file).
    out_dir : path-like, optional
        Default ``<images_dir>_mask`` (IQUAFLOW's layout, picked up as the mask folder).
    background : int
        Value of pixels outside every geometry (IQUAFLOW: 255).
    all_touched : bool
        Burn every pixel a geometry touches (default: pixels whose centre is inside).

    Returns
    -------
    list of Path
        The masks written, one per image file.

    Raises
    ------
    AnnotationError
        If the file lacks a required column or a class id does not fit the mask's dtype.
    """
    import rasterio
    from rasterio.features import rasterize as burn

    from iqx.io._atomic import atomic_file

    geojson = Path(geojson)
    gdf = load_geojson(geojson)
    absent = [c for c in REQUIRED_FIELDS if c not in gdf.columns] if len(gdf) else []
    if absent:
        raise AnnotationError(f"{geojson}: required column(s) {', '.join(absent)} absent")
    img_dir = Path(images_dir) if images_dir is not None else discover(geojson).images_dir
    out = Path(out_dir) if out_dir is not None else img_dir.with_name(img_dir.name + "_mask")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty & gdf["class_id"].notna()]
    classes = gdf["class_id"].to_numpy()
    if len(classes) and not np.all(np.mod(classes.astype(float), 1) == 0):
        raise AnnotationError(f"{geojson}: class_id values must be integers to rasterize")
    top = max(int(classes.max()) if len(classes) else 0, int(background))
    dtype = "uint8" if top <= 255 else "uint16" if top <= 65535 else None
    if dtype is None or (len(classes) and classes.min() < 0) or background < 0:
        raise InvalidParameterError(f"{geojson}: class ids / background must be in 0..65535")
    written = []
    names = sorted(p.name for p in img_dir.iterdir() if p.is_file() and has_image_extension(p.name))
    for name in names:
        src_path = img_dir / name
        try:
            with rasterio.open(src_path) as src:
                profile = {
                    "height": src.height,
                    "width": src.width,
                    "crs": src.crs,
                    "transform": src.transform,
                }
        except rasterio.errors.RasterioError as exc:
            raise RasterReadError(f"{src_path}: cannot read the image header ({exc})") from exc
        rows = gdf[gdf["image_filename"].astype(str) == name]
        if (
            len(rows)
            and rows.crs is not None
            and profile["crs"] is not None
            and rows.crs != profile["crs"]
        ):
            rows = rows.to_crs(profile["crs"])
        shapes = [(g, int(c)) for g, c in zip(rows.geometry, rows["class_id"])]
        mask = (
            burn(
                shapes,
                out_shape=(profile["height"], profile["width"]),
                transform=profile["transform"],
                fill=background,
                dtype=dtype,
                all_touched=all_touched,
            )
            if shapes
            else np.full((profile["height"], profile["width"]), background, dtype=dtype)
        )
        target = out / f"{name}_mask"
        with atomic_file(target, overwrite=True) as tmp:
            with rasterio.open(
                tmp, "w", driver="GTiff", count=1, dtype=dtype, compress="deflate", **profile
            ) as dst:
                dst.write(mask, 1)
        written.append(target)
    return written
