"""``iqx.modify``: apply a modifier to every image of a dataset, IQUAFLOW-style.

Writes ``<parent>/<name>#<modifier.folder_name>`` through
:func:`iqx.datasets.derive_dataset` (parallel over images, atomic, idempotent, manifest).

File formats are kept: GeoTIFF stays GeoTIFF with its CRS/transform/nodata (the transform
follows a resampling), PNG stays PNG, TIFF stays TIFF. JPEG inputs stay JPEG files readable
by Pillow: when the (last) step is ``jpeg`` and the image is 8-bit with 1 or 3 bands, the
file *is* the modifier's own bitstream (encoded from the whole image, written verbatim);
any other modifier's result is re-encoded at quality 100 with 4:4:4 sampling (the least
lossy baseline JPEG; the re-encoding is recorded as ``"container": "jpeg_q100_444"``).

Annotations and masks are copied, except for grid-changing ``resample`` steps: COCO
``bbox``, polygon and RLE ``segmentation``, ``area`` and image ``width``/``height`` are
scaled per image, GeoJSON geometries in pixel coordinates (images without a CRS) are scaled,
and masks are resampled with ``nearest`` to each image's new size.

Codec steps record their data volume per file (``compressed_bytes``, ``raw_bits``,
``pixels`` at the top level, summed into the manifest's totals, and a ``data_volume`` dict
with bits per pixel and compression ratio); :func:`dataset_data_volume` gives the totals.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from iqx.bitdepth import check_bit_depth
from iqx.datasets._png_codec import PngCodecPath
from iqx.datasets.derive import check_name_length, derive_dataset
from iqx.datasets.layout import Dataset, open_dataset
from iqx.datasets.manifest import manifest_bit_depth, volume_file_info
from iqx.errors import AnnotationError, InvalidParameterError, IqxError
from iqx.modifiers import (
    JPEG,
    Chain,
    ExternalModifier,
    Modifier,
    as_modifier,
    data_volume,
)
from iqx.modifiers.compression import record_streams, volume_record
from iqx.modifiers.resampling import resample_to_shape

__all__ = ["dataset_data_volume", "modify"]

_JPEG_SUFFIXES = (".jpg", ".jpeg")
#: largest width/height of a baseline JPEG file
_JPEG_MAX_SIDE = 65535


def _steps(modifier: Modifier) -> list[Modifier]:
    return list(modifier.steps) if isinstance(modifier, Chain) else [modifier]


def _read_scene(path: Path, bit_depth: int | None = None) -> xr.DataArray:
    from iqx.io import open_scene, read_image

    lazy = open_scene(path, bit_depth=bit_depth)
    return lazy.copy(data=read_image(path))


#: every file written here lies in the copy's temporary folder, renamed once complete
#: (:func:`iqx.datasets.derive_dataset`): files are written in place, not renamed one by one
_IN_FOLDER = {"atomic": False}


def _write_bytes(data: bytes, dst: Path) -> int:
    from iqx.io._atomic import atomic_file

    with atomic_file(dst, overwrite=True, gdal_sidecars=False, in_place=True) as path:
        path.write_bytes(data)
    return len(data)


def _check_external_output(step: ExternalModifier, path: Path) -> None:
    """Decode the file an external program wrote: garbage is an error, not a dataset file."""
    from iqx.io import open_scene, read_image
    from iqx.modifiers.external import ExternalCommandError

    try:
        scene = open_scene(path)
        read_image(path)
    except (IqxError, OSError, ValueError) as exc:
        raise ExternalCommandError(
            f"{path}: external modifier {step.folder_name} wrote a file that is not a readable "
            f"image ({exc})"
        ) from exc
    if scene.size == 0:
        raise ExternalCommandError(
            f"{path}: external modifier {step.folder_name} wrote an empty image"
        )


def _run_external_chain(steps: list[Modifier], src: Path, dst: Path) -> None:
    """Steps that include external programs: file to file through temporary files."""

    with tempfile.TemporaryDirectory(prefix="iqx-modify-") as tmp:
        cur = src
        for k, step in enumerate(steps):
            out = dst if k == len(steps) - 1 else Path(tmp) / f"step{k}{src.suffix}"
            if isinstance(step, ExternalModifier):
                step.run_file(cur, out)
                _check_external_output(step, out)
            else:
                res = step(_read_scene(cur))
                _write_any(res, cur, out)
            cur = out


def _write_any(image: xr.DataArray, src: Path, dst: Path) -> dict[str, Any]:
    from iqx.io import write_image

    if dst.suffix.lower() in _JPEG_SUFFIXES:
        ny, nx = int(image.sizes["y"]), int(image.sizes["x"])
        if max(ny, nx) > _JPEG_MAX_SIDE:
            raise InvalidParameterError(
                f"{src}: the result is {ny} x {nx} px but a JPEG file holds at most "
                f"{_JPEG_MAX_SIDE} px per side; convert the dataset to PNG/TIFF first or "
                "choose a smaller size"
            )
        write_image(image, dst, driver="JPEG", quality=100, subsampling=0, **_IN_FOLDER)
        return {"container": "jpeg_q100_444"}
    write_image(image, dst, like=src, **_IN_FOLDER)
    return {}


def _write_like(
    image: xr.DataArray, src: Path, dst: Path, driver: str, options: dict[str, Any]
) -> dict[str, Any]:
    """:func:`_write_any` with the source's format already known (no second open of it)."""
    from iqx.io import write_image
    from iqx.io.images import _ALIASES

    if dst.suffix.lower() in _JPEG_SUFFIXES or driver.lower() not in _ALIASES:
        return _write_any(image, src, dst)
    write_image(image, dst, driver=driver, **options, **_IN_FOLDER)
    return {}


def _codec_volume(
    scene: xr.DataArray, modifier: Modifier, steps: list[Modifier], log: list
) -> dict[str, Any]:
    """Data volume of the last codec step from the streams it encoded (no second encoding).

    ``log`` holds one ``(codec, bytes, streams)`` entry per codec step when the steps ran
    eagerly on one block; anything else falls back to :func:`data_volume` (encodes again).
    """
    codecs = [s for s in steps if s.is_codec]
    if len(log) == len(codecs) and log and log[-1][0] == codecs[-1].id:
        codec, nbytes, nstreams = log[-1]
        return volume_file_info(volume_record(scene, nbytes, nstreams, codec=codec))
    return volume_file_info(data_volume(scene, modifier))


def _process_file(
    src: Path, dst: Path, modifier: Modifier, bit_depth: int | None = None
) -> dict[str, Any]:
    """Modify one image: one read, NumPy through the modifier, one write (no dask graph)."""
    from iqx.io.images import read_image_scene

    steps = _steps(modifier)
    if any(isinstance(s, ExternalModifier) for s in steps):
        _run_external_chain(steps, src, dst)
        return {}
    # colour JPEG codes pixel-interleaved data: read it so (GDAL interleaves, no copy)
    interleaved = all(isinstance(s, JPEG) and not s.params["per_band"] for s in steps)
    scene, driver, options = read_image_scene(src, bit_depth=bit_depth, interleaved=interleaved)
    info: dict[str, Any] = {}
    last = steps[-1]
    if (
        src.suffix.lower() in _JPEG_SUFFIXES
        and isinstance(last, JPEG)
        and scene.dtype == np.uint8
        and scene.sizes["band"] in (1, 3)
        and not last.params["per_band"]
        and last.params["bits"] in (None, 8)
    ):
        pre = Chain(steps[:-1])(scene) if len(steps) > 1 else scene
        streams = last.encode(pre.values)
        _write_bytes(streams[0], dst)
        info.update(volume_file_info(volume_record(scene, len(streams[0]), 1, codec="jpeg")))
        info["container"] = "jpeg_bitstream"
        return info
    with record_streams() as log:
        out = modifier(scene)
    info.update(_write_like(out, src, dst, driver, options))
    if any(s.is_codec for s in steps):
        info.update(_codec_volume(scene, modifier, steps, log))
    info["shape"] = [int(v) for v in out.shape]
    return info


class _FileModifier:
    """``process_file`` of :func:`modify`: plain PNGs through a codec take the lean path
    (:class:`iqx.datasets._png_codec.PngCodecPath`), every other file :func:`_process_file`."""

    #: may run in a worker process (:func:`iqx.datasets.derive_dataset` sends many small
    #: images there): it holds no state a process would need back
    process_safe = True

    def __init__(self, modifier: Modifier, bit_depth: int | None) -> None:
        self.modifier = modifier
        self.bit_depth = bit_depth
        self.png_codec = PngCodecPath(modifier, bit_depth)

    def run_many(self, pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """Records of the files the lean path wrote, None for the others (see
        :func:`iqx.datasets.derive_dataset`)."""
        return self.png_codec.run_many(pairs)

    def __call__(self, src: Path, dst: Path) -> dict[str, Any]:
        return _process_file(src, dst, self.modifier, self.bit_depth)


# -- annotations and masks for grid-changing steps -----------------------------------------
def _output_shape(modifier: Modifier, path: Path | None, shape: tuple[int, int]) -> tuple[int, int]:
    """(ny, nx) after ``modifier``, built lazily (no pixel is read or computed)."""
    import dask.array as da

    if path is not None and path.is_file():
        from iqx.io import open_scene

        scene = open_scene(path)
    else:
        scene = xr.DataArray(
            da.zeros((1, *shape), dtype=np.uint8, chunks=-1), dims=("band", "y", "x")
        )
    out = modifier(scene)
    return int(out.sizes["y"]), int(out.sizes["x"])


def _scale_flat(coords: list[float], sx: float, sy: float) -> list[float]:
    return [float(v) * (sx if k % 2 == 0 else sy) for k, v in enumerate(coords)]


def _scale_rle(seg: dict[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    from pycocotools import mask as mask_utils

    h, w = seg["size"]
    rle = mask_utils.frPyObjects(seg, h, w) if isinstance(seg["counts"], list) else seg
    m = mask_utils.decode(rle)[None].astype(np.uint8)
    small = resample_to_shape(
        xr.DataArray(m, dims=("band", "y", "x")), shape, method="nearest"
    ).values[0]
    enc = mask_utils.encode(np.asfortranarray(small))
    enc["counts"] = enc["counts"].decode("ascii")
    return {"size": [int(v) for v in enc["size"]], "counts": enc["counts"]}


def _read_annotations(src: Path) -> Any:
    """The JSON document of an annotation file; None for a 0-byte file (copied unchanged)."""
    from iqx.annotations._jsonio import read_json

    if src.stat().st_size == 0:
        return None
    return read_json(src)


def _scale_coco(src: Path, dst: Path, images_dir: Path, modifier: Modifier) -> None:
    doc = _read_annotations(src)
    if not isinstance(doc, dict) or "images" not in doc:
        shutil.copyfile(src, dst)
        return
    factors: dict[Any, tuple[float, float, int, int]] = {}
    for im in doc.get("images", []):
        path = images_dir / Path(str(im.get("file_name", ""))).name
        h, w = im.get("height"), im.get("width")
        if h is None or w is None:
            if not path.is_file():
                continue
            from iqx.io import open_scene

            s = open_scene(path)
            h, w = int(s.sizes["y"]), int(s.sizes["x"])
        ny, nx = _output_shape(modifier, path, (int(h), int(w)))
        factors[im.get("id")] = (nx / w, ny / h, ny, nx)
        im["height"], im["width"] = ny, nx
    for ann in doc.get("annotations", []):
        f = factors.get(ann.get("image_id"))
        if f is None:
            continue
        sx, sy, ny, nx = f
        if isinstance(ann.get("bbox"), list) and len(ann["bbox"]) == 4:
            ann["bbox"] = _scale_flat(ann["bbox"], sx, sy)
        seg = ann.get("segmentation")
        if isinstance(seg, list):
            ann["segmentation"] = [_scale_flat(p, sx, sy) for p in seg]
        elif isinstance(seg, dict) and "counts" in seg:
            ann["segmentation"] = _scale_rle(seg, (ny, nx))
        if isinstance(ann.get("area"), int | float):
            ann["area"] = float(ann["area"]) * sx * sy
    dst.write_text(json.dumps(doc), encoding="utf-8")


def _scale_geojson(src: Path, dst: Path, source: Dataset, modifier: Modifier) -> None:
    from shapely import get_coordinates
    from shapely.affinity import scale
    from shapely.geometry import mapping, shape

    from iqx.io import open_scene

    doc = _read_annotations(src)
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not feats:
        shutil.copyfile(src, dst)
        return
    cache: dict[str, tuple[float, float] | None] = {}

    def factor(name: str | None) -> tuple[float, float] | None:
        if name in cache:
            return cache[name]
        paths = [source.data_input / Path(name).name] if name else list(source.image_files)
        res = None
        if paths and paths[0].is_file():
            scene = open_scene(paths[0])
            if not scene.attrs.get("crs"):  # pixel coordinates: scale with the grid
                ny, nx = _output_shape(modifier, paths[0], (0, 0))
                res = (nx / scene.sizes["x"], ny / scene.sizes["y"])
        cache[name] = res
        return res

    for k, feat in enumerate(feats):
        if not isinstance(feat, dict):
            raise AnnotationError(f"{src}: feature {k} is not a JSON object")
        props = feat.get("properties") or {}
        f = factor(props.get("image_filename"))
        if f is not None and feat.get("geometry"):
            try:
                geom = shape(feat["geometry"])
                if not np.isfinite(get_coordinates(geom)).all():
                    raise ValueError("a coordinate is NaN or infinite")
                geom = scale(geom, xfact=f[0], yfact=f[1], origin=(0, 0))
                feat["geometry"] = mapping(geom)
            except Exception as exc:  # shapely/GEOS errors on NaN or malformed coordinates
                raise AnnotationError(
                    f"{src}: feature {k} has an unusable geometry ({type(exc).__name__}: {exc}); "
                    "run `iqx sanity` on the dataset first"
                ) from exc
    dst.write_text(json.dumps(doc), encoding="utf-8")  # NaN stays as in the input


def _annotation_transformer(source: Dataset, modifier: Modifier):
    def transform(src: Path, dst: Path) -> None:
        if src.suffix.lower() == ".geojson":
            _scale_geojson(src, dst, source, modifier)
        else:
            _scale_coco(src, dst, source.data_input, modifier)

    return transform


def _mask_transformer(source: Dataset, modifier: Modifier):
    def transform(src_dir: Path, dst_dir: Path) -> None:
        from iqx.io import open_scene, read_image, write_image

        dst_dir.mkdir(parents=True)
        by_stem = {p.stem: p for p in source.image_files}
        for m in sorted(src_dir.iterdir()):
            if not m.is_file():
                continue
            try:
                scene = open_scene(m)
            except Exception:  # not a raster: copy as is
                shutil.copyfile(m, dst_dir / m.name)
                continue
            image = by_stem.get(m.stem)
            ny, nx = _output_shape(modifier, image if image is not None else m, (0, 0))
            full = scene.copy(data=read_image(m))
            out = resample_to_shape(full, (ny, nx), method="nearest")
            write_image(out, dst_dir / m.name, like=m, **_IN_FOLDER)

    return transform


def modify(
    dataset: Dataset | str | os.PathLike[str],
    modifier: Any,
    *,
    overwrite: bool = False,
    one_step: bool = False,
    batch_size: int | None = None,
    bit_depth: int | None = None,
    progress: Callable[[int], Any] | None = None,
    scheduler: Any = None,
) -> Dataset:
    """Write ``<parent>/<name>#<modifier>`` with every image modified; return it.

    Parameters
    ----------
    dataset : Dataset or path
        An IQUAFLOW-layout dataset (see :func:`iqx.open_dataset`).
    modifier : Modifier, config dict, ``"id:k=v"`` spec, or a list of them (a chain)
        What to apply.
    overwrite : bool
        Replace an existing folder made with a different config.
    one_step : bool
        Apply a chain as one step, writing only ``<name>#a+b`` (no intermediate datasets).
        By default a chain runs step by step like IQUAFLOW: ``<name>#a`` then
        ``<name>#a#b`` (the intermediate stays on disk and is reused next time).
    batch_size : int, optional
        Images per parallel task (default: about four tasks per worker, see
        :func:`iqx.datasets.derive_dataset`).
    bit_depth : int, optional
        Bits per sample of the images (default: the dataset's ``bit_depth``, else the depth
        recorded in its manifest when it is itself a modified copy, else each file's
        metadata, else measured from its pixels; see :mod:`iqx.bitdepth`). A declared depth
        is recorded in the copy's manifest ``config`` (``"bit_depth": 11``): it changes what
        the modifier does, so a copy made with another depth is not reused.
    progress : callable, optional
        ``progress(n)`` after each finished batch of ``n`` images (each step of a chain
        counts its images again); see :func:`iqx.datasets.derive_dataset`.
    scheduler : None, address or distributed.Client, optional
        Where the images are modified (:func:`iqx.datasets._scheduler.use_scheduler`):
        default the active distributed client if any, else local threads.

    Returns
    -------
    Dataset
        The modified dataset; ``params`` holds ``ds_name``, ``modifier`` (the ``#`` chain of
        folder names), the modifier's parameters and ``bit_depth`` when declared; its
        manifest records per-file info (data volume for codecs) and totals.

    Raises
    ------
    ManifestConflictError
        The target exists with another config and ``overwrite`` is false.
    InvalidParameterError
        Bad modifier parameters (before any image is read).
    """
    if scheduler is not None:
        from iqx.datasets._scheduler import use_scheduler

        with use_scheduler(scheduler):
            kw = {"overwrite": overwrite, "one_step": one_step, "batch_size": batch_size}
            return modify(dataset, modifier, **kw, bit_depth=bit_depth, progress=progress)
    mod = as_modifier(modifier)
    source = dataset if isinstance(dataset, Dataset) else open_dataset(dataset)
    if bit_depth is None:
        bit_depth = getattr(source, "bit_depth", None)
    if bit_depth is None:
        bit_depth = manifest_bit_depth(source.manifest)
    if bit_depth is not None:
        bit_depth = check_bit_depth(bit_depth)
    if isinstance(mod, Chain) and len(mod.steps) == 1:
        mod = mod.steps[0]
    # every folder name of the chain is checked before the first image is read
    steps = mod.steps if isinstance(mod, Chain) and not one_step else (mod,)
    name = source.name
    for step in steps:
        name = f"{name}#{step.folder_name}"
        check_name_length(source.parent_folder, name)
    if isinstance(mod, Chain) and not one_step:
        for step in mod.steps:
            source = modify(
                source,
                step,
                overwrite=overwrite,
                batch_size=batch_size,
                bit_depth=bit_depth,
                progress=progress,
            )
        return source
    if not isinstance(mod, Modifier):  # pragma: no cover - as_modifier guarantees it
        raise InvalidParameterError(f"not a modifier: {modifier!r}")
    resamples = any(s.changes_grid and not isinstance(s, ExternalModifier) for s in _steps(mod))
    config = mod.get_config()
    if bit_depth is not None:
        config = {**config, "bit_depth": bit_depth}
    return derive_dataset(
        source,
        mod.folder_name,
        config,
        _FileModifier(mod, bit_depth),
        transform_annotations=_annotation_transformer(source, mod) if resamples else None,
        transform_masks=_mask_transformer(source, mod) if resamples else None,
        batch_size=batch_size,
        overwrite=overwrite,
        progress=progress,
    )


def dataset_data_volume(dataset: Dataset | str | os.PathLike[str]) -> dict[str, Any]:
    """Totals of a codec-modified dataset: bytes, bits per pixel and compression ratio.

    Read from the manifest's per-file records (``compressed_bytes``, ``raw_bits``,
    ``pixels``); raises :class:`InvalidParameterError` when the dataset holds none.
    """
    ds = dataset if isinstance(dataset, Dataset) else open_dataset(dataset)
    files: Sequence[dict[str, Any]] = (ds.manifest or {}).get("files") or []
    rec = [f for f in files if "compressed_bytes" in f]
    if not rec:
        raise InvalidParameterError(f"{ds.data_path}: no data-volume records in its manifest")
    nbytes = sum(int(f["compressed_bytes"]) for f in rec)
    raw = sum(int(f["raw_bits"]) for f in rec)
    pixels = sum(int(f["pixels"]) for f in rec)
    return {
        "n_files": len(rec),
        "compressed_bytes": nbytes,
        "raw_bits": raw,
        "raw_bytes": raw / 8,
        "pixels": pixels,
        "bits_per_pixel": 8 * nbytes / pixels,
        "compression_ratio": raw / (8 * nbytes) if nbytes else float("inf"),
    }
