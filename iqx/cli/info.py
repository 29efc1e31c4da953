"""``iqx info PATH``: summary of a scene (raster file or zarr store) or of a dataset folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from iqx.cli._commands import command_parser
from iqx.cli._inputs import add_bit_depth_option
from iqx.cli._output import dumps

__all__ = ["add_parser", "dataset_info", "run", "scene_info"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command_parser(sub, "info")
    p.add_argument("path", help="raster file, zarr store or dataset folder")
    p.add_argument("--images", default=None, help="dataset images sub-folder ('.' for flat)")
    add_bit_depth_option(p)
    p.set_defaults(func=run)


def _short_crs(wkt: str | None) -> str | None:
    if not wkt:
        return None
    from rasterio.crs import CRS

    crs = CRS.from_wkt(wkt)
    epsg = crs.to_epsg()
    if epsg:
        return f"EPSG:{epsg}"
    name = wkt.split('"')[1] if '"' in wkt else ""
    proj = crs.to_dict().get("proj")
    return f"{name} ({proj})" if proj else name or "custom"


def scene_info(path: str | Path, bit_depth: int | None = None) -> dict[str, Any]:
    """Summary of a scene.

    No pixel is read, except when the bit depth is declared neither by ``bit_depth`` nor by
    the file and the data are wider than 8-bit unsigned: the effective depth is then
    measured (one pass over the pixels; :mod:`iqx.bitdepth`).
    """
    from iqx.bitdepth import resolve_bit_depth
    from iqx.io import open_scene

    scene = open_scene(path, bit_depth=bit_depth)
    depth = resolve_bit_depth(scene)
    a = scene.attrs
    t = a["transform"]
    p = Path(path)
    size = (
        sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        if p.is_dir()
        else p.stat().st_size
    )
    return {
        "kind": "scene",
        "path": str(p),
        "driver": a["driver"],
        "shape": {"band": scene.sizes["band"], "y": scene.sizes["y"], "x": scene.sizes["x"]},
        "dtype": str(scene.dtype),
        "bit_depth": depth.bits,
        "bit_depth_source": depth.source,
        **({"max_value": depth.max_value} if depth.max_value is not None else {}),
        "crs": _short_crs(a["crs"]),
        "transform": list(t),
        "pixel_size": [abs(t[0]), abs(t[4])],
        "nodata": a["nodata"],
        "chunks": [max(c) for c in scene.chunks],
        "nbytes": int(scene.nbytes),
        "file_bytes": size,
    }


def dataset_info(
    path: str | Path, images: str | None = None, bit_depth: int | None = None
) -> dict[str, Any]:
    """Summary of a dataset folder."""
    from iqx.datasets import open_dataset

    ds = open_dataset(path, images=images, bit_depth=bit_depth)
    manifest = None
    if ds.manifest is not None:
        m = ds.manifest
        manifest = {k: m.get(k) for k in ("step", "config", "source", "iqx_version", "created")}
        manifest["chain"] = [c.get("id") for c in m.get("chain", [])]
        manifest["totals"] = m.get("totals")
    return {
        "kind": "dataset",
        "path": str(ds.data_path),
        "name": ds.name,
        "data_input": str(ds.data_input),
        "n_images": len(ds.image_files),
        "bit_depth": ds.bit_depth,
        "json_annotations": [str(p) for p in ds.json_files],
        "geojson_annotations": [str(p) for p in ds.geojson_files],
        "mask_dir": str(ds.mask_annotations_dir) if ds.mask_annotations_dir else None,
        "other_files": [p.name for p in ds.other_files],
        "params": ds.params,
        "manifest": manifest,
    }


def run(args: argparse.Namespace) -> int:
    from iqx.errors import PathNotFoundError
    from iqx.io.zarr import is_zarr_store

    path = Path(args.path)
    if not path.exists():
        raise PathNotFoundError(f"{path}: no such file or folder")
    if path.is_dir() and not is_zarr_store(path):
        info = dataset_info(path, args.images, args.bit_depth)
    else:
        from iqx.cli._output import task_bar

        with task_bar(args, "info"):  # measuring the bit depth of a large scene is a pass
            info = scene_info(path, args.bit_depth)
    if args.format == "json":
        print(dumps(info, indent=2))
        return 0
    for key, value in info.items():
        if key == "kind":
            continue
        if isinstance(value, list) and len(value) > 6:
            value = f"{len(value)} items: {', '.join(map(str, value[:3]))}, ..."
        print(f"{key:<20} {value}")
    return 0
