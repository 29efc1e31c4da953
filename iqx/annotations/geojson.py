"""GeoJSON annotation files (IQUAFLOW convention): loading, row checks, geometry repair.

IQUAFLOW's GeoJSON datasets hold one feature per object with the properties
``image_filename`` and ``class_id`` (:data:`REQUIRED_FIELDS`). Invalid geometries are
repaired with :func:`shapely.make_valid` by default: IQUAFLOW's ``buffer(0)`` silently drops
a lobe of a bow-tie polygon (half its area), which :func:`repair_geometries` reports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from iqx.annotations._images import ImageIndex, has_image_extension
from iqx.annotations._jsonio import read_json
from iqx.annotations.problems import Problem
from iqx.errors import AnnotationError, InvalidParameterError, PathNotFoundError, RasterReadError

__all__ = [
    "REPAIR_METHODS",
    "REQUIRED_FIELDS",
    "load_geojson",
    "repair_geometries",
    "repair_geometry",
    "sanitize_geojson",
]

#: the columns every IQUAFLOW GeoJSON annotation file must have
REQUIRED_FIELDS = ("image_filename", "class_id", "geometry")

#: geometry repair methods: shapely.make_valid (default) or IQUAFLOW's buffer(0)
REPAIR_METHODS = ("make_valid", "buffer0")

Repair = Literal["make_valid", "buffer0"]


def load_geojson(path: str | os.PathLike[str]) -> Any:
    """Read a GeoJSON file into a ``geopandas.GeoDataFrame``.

    Raises
    ------
    PathNotFoundError
        If the file does not exist.
    AnnotationError
        If it is empty (0 bytes) or not readable as GeoJSON; the message names the file and
        (for broken JSON) the line and column.
    """
    import geopandas as gpd

    path = Path(path)
    if not path.exists():
        raise PathNotFoundError(f"{path}: GeoJSON annotation file not found")
    if path.is_file() and path.stat().st_size == 0:
        raise AnnotationError(f"{path}: GeoJSON annotation file is empty (0 bytes)")
    try:
        return gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError and friends
        read_json(path, "GeoJSON annotation file")  # a JSON syntax error gets line/column
        raise AnnotationError(f"{path}: not a readable GeoJSON file ({exc})") from exc


def _polygonal_part(geom: Any) -> Any:
    """The polygonal part of a repaired geometry (make_valid may add collapsed lines)."""
    import shapely

    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def nonfinite_geometries(geoms: Any) -> np.ndarray:
    """Boolean mask of the geometries holding a NaN or infinite coordinate (GEOS fails on them)."""
    import shapely

    arr = np.asarray(geoms, dtype=object)
    coords, index = shapely.get_coordinates(arr, return_index=True)
    bad = np.zeros(arr.shape[0], dtype=bool)
    bad[index[~np.isfinite(coords).all(axis=1)]] = True
    return bad


def repair_geometry(geom: Any, method: Repair = "make_valid") -> Any:
    """Repair one invalid geometry.

    Parameters
    ----------
    geom : shapely geometry
    method : {"make_valid", "buffer0"}
        ``make_valid`` keeps every part (a bow-tie becomes two triangles); ``buffer0`` is
        IQUAFLOW's repair and may drop parts. Polygonal inputs stay polygonal: lines or points
        left by collapsed rings are dropped.
    """
    import shapely

    if method not in REPAIR_METHODS:
        raise InvalidParameterError(f"repair must be one of {REPAIR_METHODS}, not {method!r}")
    fixed = shapely.make_valid(geom) if method == "make_valid" else shapely.buffer(geom, 0)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        fixed = _polygonal_part(fixed)
    return fixed


def repair_geometries(geoms: Any, method: Repair = "make_valid") -> tuple[Any, list[dict]]:
    """Repair the invalid geometries of an array; returns the new array and per-row details.

    Each detail dict holds ``index``, ``reason`` (GEOS's validity reason), ``area_before``
    (shapely's signed-ring area of the invalid input), ``area_after``, and the areas both
    methods would give (``area_make_valid``, ``area_buffer0``) so the report shows what
    IQUAFLOW's ``buffer(0)`` loses.
    """
    import shapely

    arr = np.asarray(geoms, dtype=object).copy()
    present = ~shapely.is_missing(arr)
    invalid = np.flatnonzero(present & ~shapely.is_valid(arr))
    details = []
    for i in invalid:
        g = arr[i]
        mv, b0 = repair_geometry(g, "make_valid"), repair_geometry(g, "buffer0")
        new = mv if method == "make_valid" else b0
        details.append(
            {
                "index": int(i),
                "reason": shapely.is_valid_reason(g),
                "area_before": float(g.area),
                "area_after": float(new.area),
                "area_make_valid": float(mv.area),
                "area_buffer0": float(b0.area),
                "geom_type_after": new.geom_type,
            }
        )
        arr[i] = new
    return arr, details


def sanitize_geojson(
    gdf: Any,
    *,
    file: str | os.PathLike[str],
    images: ImageIndex | None = None,
    repair: Repair = "make_valid",
) -> tuple[Any, list[Problem], dict[str, int]]:
    """Check a GeoJSON annotation table and build its sanitized copy.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        From :func:`load_geojson` (not modified).
    file : path-like
        Its file name, recorded in each problem.
    images : ImageIndex, optional
        The images folder; when given, each ``image_filename`` must exist and be readable.
    repair : {"make_valid", "buffer0"}
        How invalid geometries are repaired.

    Returns
    -------
    clean : geopandas.GeoDataFrame or None
        The kept rows (None if a required column is absent: the file cannot be sanitized).
    problems : list of Problem
    counts : dict
        ``rows_in``, ``rows_out``, ``repaired``.
    """
    import pandas as pd
    import shapely

    if repair not in REPAIR_METHODS:
        raise InvalidParameterError(f"repair must be one of {REPAIR_METHODS}, not {repair!r}")
    f = os.fspath(file)
    problems: list[Problem] = []
    n = len(gdf)
    counts = {"rows_in": n, "rows_out": 0, "repaired": 0}
    if n == 0:
        return gdf.copy(), problems, counts
    absent = [c for c in REQUIRED_FIELDS if c not in gdf.columns]
    if absent:
        problems.append(
            Problem(
                "ERR_GEO_FIELD_MISSING",
                f,
                "file",
                None,
                None,
                f"required column(s) {', '.join(absent)} absent (columns: "
                f"{', '.join(map(str, gdf.columns))})",
                "skipped",
            )
        )
        return None, problems, counts

    keep = np.ones(n, dtype=bool)

    def drop(mask: np.ndarray, code: str, message) -> None:
        for i in np.flatnonzero(mask & keep):
            problems.append(Problem(code, f, "features", int(i), int(i), message(i), "removed"))
        keep[mask] = False

    names = gdf["image_filename"]
    name_missing = names.isna().to_numpy() | (names.astype(str).str.strip() == "").to_numpy()
    cls_missing = pd.isna(gdf["class_id"]).to_numpy()
    drop(
        name_missing | cls_missing,
        "ERR_GEO_NAN",
        lambda i: (
            "missing "
            + " and ".join(
                k
                for k, m in (("image_filename", name_missing[i]), ("class_id", cls_missing[i]))
                if m
            )
        ),
    )
    name_str = names.astype(str).to_numpy()
    bad_type = np.array([not has_image_extension(s) for s in name_str])
    drop(
        bad_type,
        "ERR_JSON_IMG_FILE_TYPE",
        lambda i: f"image_filename {name_str[i]!r} has no image extension",
    )
    if images is not None:
        status: dict[str, tuple[str, str] | None] = {}
        for name in pd.unique(name_str[keep]):
            path = images.resolve(name)
            if path is None:
                status[name] = (
                    "ERR_GEO_IMG_MISSING",
                    f"image file {name!r} not found in {images.images_dir}",
                )
                continue
            try:
                images.size(path)
                status[name] = None
            except RasterReadError as exc:
                status[name] = ("ERR_GEO_IMG_UNREADABLE", str(exc))
        for code in ("ERR_GEO_IMG_MISSING", "ERR_GEO_IMG_UNREADABLE"):
            mask = np.array([(status.get(s) or ("",))[0] == code for s in name_str])
            drop(mask, code, lambda i: status[name_str[i]][1])

    geoms = gdf.geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    drop(
        empty,
        "ERR_GEO_EMPTY",
        lambda i: "geometry is null" if geoms[i] is None else "geometry is empty",
    )
    nonfinite = nonfinite_geometries(np.where(keep, geoms, None))
    drop(nonfinite, "ERR_GEO_COORDS", lambda i: "a coordinate is NaN or infinite")

    fixed, details = repair_geometries(np.where(keep, geoms, None), repair)
    for d in details:
        i = d.pop("index")
        lost = d["area_make_valid"] - d["area_buffer0"]
        note = (
            f"; buffer(0) would lose {lost:.6g} of area"
            if lost > 0 and repair == "make_valid"
            else ""
        )
        gone = bool(shapely.is_empty(fixed[i]))
        action = "removed" if gone else "repaired"
        problems.append(
            Problem(
                "ERR_GEO_INVALID",
                f,
                "features",
                i,
                i,
                f"invalid geometry ({d['reason']}); area {d['area_before']:.6g} -> "
                f"{d['area_after']:.6g} with {repair}{note}",
                action,
                d,
            )
        )
        if gone:
            keep[i] = False
        else:
            counts["repaired"] += 1

    clean = gdf.iloc[np.flatnonzero(keep)].copy()
    import geopandas as gpd

    geom_col = gdf.geometry.name
    clean[geom_col] = gpd.GeoSeries(list(fixed[keep]), index=clean.index, crs=gdf.crs)
    cls = clean["class_id"]
    if cls.dtype.kind == "f" and len(cls) and np.all(np.mod(cls.to_numpy(), 1) == 0):
        clean["class_id"] = cls.astype("int64")
    counts["rows_out"] = len(clean)
    problems.sort(key=lambda p: p.index if p.index is not None else -1)
    return clean, problems, counts
