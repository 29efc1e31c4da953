"""Write and read single, small images: GeoTIFF, plain TIFF, PNG, JPEG (Pillow), JPEG 2000.

These are the per-file helpers dataset modifiers use (``process_file(src, dst)``): the whole
image is in memory. Scenes too large for that go through :func:`iqx.io.to_geotiff` or
:func:`iqx.io.to_zarr` instead.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError, RasterReadError, UnsupportedDtypeError
from iqx.io._atomic import atomic_file
from iqx.io._common import check_dtype, check_exists, pixel_coords, scene_attrs
from iqx.io._png import decode_plain_png, plain_png_bytes, plain_png_writable, write_plain_png
from iqx.io._rio import expand_palette, georef_profile, palette_table, raster_meta, rio_open
from iqx.kernels.scratch import scratch
from iqx.parallel.backend import replace_data

__all__ = ["EXTENSION_DRIVERS", "driver_for", "read_image", "read_image_scene", "write_image"]

#: file extension -> GDAL driver name used by :func:`write_image`
EXTENSION_DRIVERS = {
    ".tif": "GTiff",
    ".tiff": "GTiff",
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jp2": "JP2OpenJPEG",
    ".j2k": "JP2OpenJPEG",
}

_ALIASES = {
    "gtiff": "GTiff",
    "geotiff": "GTiff",
    "tiff": "GTiff",
    "tif": "GTiff",
    "cog": "COG",
    "png": "PNG",
    "jpeg": "JPEG",
    "jpg": "JPEG",
    "jp2": "JP2OpenJPEG",
    "jp2openjpeg": "JP2OpenJPEG",
    "jpeg2000": "JP2OpenJPEG",
}

#: GTiff creation options copied from a ``like`` file (lossless ones only)
_LOSSLESS = {"deflate", "lzw", "zstd", "packbits", "lzma", "none"}


def driver_for(
    path: str | os.PathLike[str],
    *,
    like: str | os.PathLike[str] | None = None,
    driver: str | None = None,
) -> str:
    """The driver :func:`write_image` uses: ``driver``, else ``like``'s, else the extension's."""
    if driver is not None:
        key = str(driver).lower()
        if key not in _ALIASES:
            raise InvalidParameterError(
                f"{path}: unsupported image driver {driver!r}; use one of "
                f"{sorted(set(_ALIASES.values()))}"
            )
        return _ALIASES[key]
    if like is not None:
        with rio_open(check_exists(like)) as ds:
            name = ds.driver
        return _ALIASES.get(name.lower(), name)
    ext = Path(path).suffix.lower()
    if ext not in EXTENSION_DRIVERS:
        raise InvalidParameterError(
            f"{path}: cannot infer the image format from extension {ext!r}; pass driver= "
            f"(known extensions: {sorted(EXTENSION_DRIVERS)})"
        )
    return EXTENSION_DRIVERS[ext]


def _to_array(image: Any, path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    attrs: dict[str, Any] = {}
    if isinstance(image, xr.DataArray):
        attrs = dict(image.attrs)
        if image.ndim == 3 and image.dims != ("band", "y", "x"):
            image = image.transpose("band", "y", "x")
        image = image.values
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InvalidParameterError(
            f"{path}: expected a (band, y, x) or (y, x) image, got shape {arr.shape}"
        )
    check_dtype(arr.dtype, path, "write")
    return arr, attrs


def _like_options(like: str | os.PathLike[str] | None) -> dict[str, Any]:
    if like is None:
        return {}
    with rio_open(like) as ds:
        if ds.driver != "GTiff":
            return {}
        profile = ds.profile
    return _profile_options(profile)


def _profile_options(profile: Any) -> dict[str, Any]:
    """The lossless compression and tiling of a GTiff profile, as creation options."""
    opts: dict[str, Any] = {}
    compress = str(profile.get("compress", "none")).lower()
    if compress in _LOSSLESS and compress != "none":
        opts["compress"] = compress
        if "predictor" in profile:
            opts["predictor"] = profile["predictor"]
    if profile.get("tiled"):
        opts.update(tiled=True, blockxsize=profile["blockxsize"], blockysize=profile["blockysize"])
    return opts


def _write_gdal(
    arr: np.ndarray, tmp: Path, driver: str, attrs: dict[str, Any], options: dict[str, Any]
) -> None:
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    nb, ny, nx = arr.shape
    profile: dict[str, Any] = {
        "driver": driver,
        "width": nx,
        "height": ny,
        "count": nb,
        "dtype": arr.dtype.name,
    }
    if driver in ("GTiff", "COG", "JP2OpenJPEG"):  # georeferenced formats
        profile.update(georef_profile(attrs))
    if driver == "PNG":
        if arr.dtype not in (np.uint8, np.uint16) or nb not in (1, 2, 3, 4):
            raise UnsupportedDtypeError(
                f"{tmp}: PNG holds 1-4 bands of uint8 or uint16, got {nb} x {arr.dtype}"
            )
    profile.update(options)
    if not arr.flags.c_contiguous:  # rasterio writes C-contiguous arrays (it would copy)
        buf = scratch("write", arr.shape, arr.dtype)
        np.copyto(buf, arr)
        arr = buf
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(tmp, "w", **profile) as dst:
                dst.write(arr)
    except RasterioError as exc:
        raise RasterReadError(f"{tmp}: GDAL {driver} could not write the image ({exc})") from exc


def _write_jpeg(arr: np.ndarray, tmp: Path, options: dict[str, Any]) -> None:
    from PIL import Image

    nb = arr.shape[0]
    if arr.dtype != np.uint8 or nb not in (1, 3):
        raise UnsupportedDtypeError(
            f"{tmp}: JPEG holds 1 or 3 bands of uint8, got {nb} x {arr.dtype}"
        )
    img = Image.fromarray(arr[0] if nb == 1 else np.ascontiguousarray(arr.transpose(1, 2, 0)))
    opts = {"quality": 75, **options}
    img.save(tmp, format="JPEG", **opts)


def write_image(
    image: Any,
    path: str | os.PathLike[str],
    *,
    like: str | os.PathLike[str] | None = None,
    driver: str | None = None,
    atomic: bool = True,
    **options: Any,
) -> int:
    """Write one image (computing it) atomically; return the number of bytes written.

    Parameters
    ----------
    image : xarray.DataArray or numpy.ndarray
        ``(band, y, x)`` or ``(y, x)``. A DataArray's attrs (``crs``, ``transform``,
        ``nodata``) georeference GeoTIFF and JPEG 2000 outputs.
    path : path-like
        Output file (an existing file is replaced unless ``overwrite=False`` is passed).
    like : path-like, optional
        A source file whose format (and, for GeoTIFF, lossless compression and tiling) the
        output copies, e.g. the image being modified.
    driver : str, optional
        ``"GTiff"``/``"TIFF"``, ``"COG"``, ``"PNG"``, ``"JPEG"``, ``"JP2OpenJPEG"``. Default:
        ``like``'s driver, else from the extension.
    **options
        JPEG (Pillow, libjpeg-turbo): ``quality`` (default 75), ``subsampling``
        (0/1/2 or ``"4:4:4"``/``"4:2:2"``/``"4:2:0"``), ``optimize`` ... . Other formats:
        GDAL creation options (``compress``, ``zlevel``, ``quality``, ``reversible`` ...).
    atomic : bool
        Write a temporary sibling and rename it (default). ``False`` writes ``path`` itself
        (removed if the write fails), for a file of a folder that is built under a
        temporary name and renamed once complete, such as a dataset copy.

    Returns
    -------
    int
        Size of the written file in bytes.

    Raises
    ------
    UnsupportedDtypeError
        Bool/complex data, non-uint8 JPEG, PNG other than uint8/uint16 with 1-4 bands.
    """
    path = Path(path)
    overwrite = bool(options.pop("overwrite", True))
    arr, attrs = _to_array(image, path)
    name = driver_for(path, like=like, driver=driver)
    if name == "PNG" and not options and plain_png_writable(arr):
        # libpng: the same pixels at a tenth of GDAL's per-file cost (see iqx.io._png)
        with atomic_file(
            path, overwrite=overwrite, gdal_sidecars=False, in_place=not atomic
        ) as tmp:
            nbytes = write_plain_png(arr, tmp)
        return nbytes
    with atomic_file(
        path, overwrite=overwrite, gdal_sidecars=name != "JPEG", in_place=not atomic
    ) as tmp:
        if name == "JPEG":
            _write_jpeg(arr, tmp, options)
        else:
            opts = {**(_like_options(like) if name == "GTiff" else {}), **options}
            _write_gdal(arr, tmp, name, attrs, opts)
    return path.stat().st_size


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a whole (small) image eagerly as a ``(band, y, x)`` ndarray (equals rasterio's read).

    Raises
    ------
    PathNotFoundError, RasterReadError, UnsupportedDtypeError
        Missing file; unreadable, truncated or non-image file; complex data.
    """
    from rasterio.errors import RasterioError

    p = check_exists(path)
    if p.is_dir():
        raise RasterReadError(f"{p}: is a folder, not an image file")
    with rio_open(p) as ds:
        check_dtype(ds.dtypes[0], p, "read")
        lut = palette_table(ds)
        try:
            return ds.read() if lut is None else expand_palette(ds.read(), lut)
        except RasterioError as exc:
            raise RasterReadError(
                f"{p}: failed to read pixels ({exc}); the file may be truncated or corrupt"
            ) from exc


def read_image_scene(
    path: str | os.PathLike[str], *, bit_depth: int | None = None, interleaved: bool = False
) -> tuple[xr.DataArray, str, dict[str, Any]]:
    """Read a whole (small) image eagerly with one file open: scene, driver, write options.

    The dataset-modifier fast path: the NumPy-backed scene equals
    ``open_scene(path, bit_depth=...)`` with its pixels read (same coords, name and attrs),
    and ``driver`` / ``options`` are what :func:`write_image` with ``like=path`` would use, so
    the output is written without opening the source again.

    Parameters
    ----------
    path : path-like
        The image file.
    bit_depth : int, optional
        Declared bits per sample (as in :func:`iqx.io.open_scene`).
    interleaved : bool
        Read into a pixel-interleaved ``(y, x, band)`` buffer and return its ``(band, y, x)``
        view: what a colour JPEG codec and a pixel-interleaved GeoTIFF want, with no
        transposing copy (GDAL interleaves while reading). Values are the same either way.

    Returns
    -------
    tuple
        ``(scene, driver, options)``.
    """
    p = check_exists(path)
    if p.is_dir():
        raise RasterReadError(f"{p}: is a folder, not an image file")
    if bit_depth is not None:
        from iqx.bitdepth import check_bit_depth

        bit_depth = check_bit_depth(bit_depth)
    plain = plain_png_bytes(p)
    scene = None if plain is None else plain_png_scene(p, plain, bit_depth, interleaved)
    if scene is not None:
        return scene, "PNG", {}
    arr, driver, options, attrs = _read_gdal(p, bit_depth, interleaved)
    if bit_depth is not None:
        from iqx.bitdepth import check_bit_depth

        check_bit_depth(bit_depth, arr.dtype)
    return eager_scene(arr, attrs, p.stem), driver, options


def plain_png_scene(
    path: Path,
    plain: tuple[bytes, int, int, int],
    bit_depth: int | None = None,
    interleaved: bool = False,
) -> xr.DataArray | None:
    """The scene of :func:`read_image_scene` for a plain PNG whose bytes are read already.

    ``plain`` is :func:`iqx.io._png.plain_png_bytes`' result for ``path`` and ``bit_depth`` a
    checked declared depth. None when libpng does not decode it as GDAL would (GDAL reads
    it then).
    """
    pixels = decode_plain_png(*plain, path)
    if pixels is None:
        return None
    # libpng decodes into a fresh (writeable) array: interleaved, as GDAL would read it
    # with ``interleaved=True``; band-sequential otherwise (one copy, none for 1 band)
    arr = pixels.transpose(2, 0, 1)
    if not interleaved and pixels.shape[2] > 1:
        arr = _copy_to(scratch("read", arr.shape, arr.dtype), arr)
    if bit_depth is not None:
        from iqx.bitdepth import check_bit_depth

        check_bit_depth(bit_depth, arr.dtype)
    return eager_scene(arr, plain_png_attrs(path, bit_depth), path.stem)


def plain_png_attrs(path: Path, bit_depth: int | None) -> dict[str, Any]:
    """The scene attrs GDAL gives a plain PNG (see :mod:`iqx.io._png`): no georeferencing."""
    return scene_attrs(
        crs=None,
        transform=_IDENTITY,
        nodata=None,
        bit_depth=bit_depth,
        bit_depth_source="user" if bit_depth is not None else "metadata",
        source=str(path),
        driver="PNG",
    )


#: GDAL's transform of a raster without georeferencing
_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
#: (transform, shape) -> a pixel-less scene whose coords new scenes share
_TEMPLATES: dict[tuple, xr.DataArray] = {}
_MAX_TEMPLATES = 64
_TEMPLATES_LOCK = threading.Lock()


def _copy_to(buf: np.ndarray, arr: np.ndarray) -> np.ndarray:
    np.copyto(buf, arr)
    return buf


def _read_gdal(
    p: Path, bit_depth: int | None, interleaved: bool
) -> tuple[np.ndarray, str, dict[str, Any], dict[str, Any]]:
    import rasterio
    from rasterio.errors import RasterioError

    # uncompressed GeoTIFF strips are mapped instead of copied through GDAL's block cache
    # (same values; 4-6x less CPU for a 1024² RGB tile); compressed files ignore the option
    with rasterio.Env(GTIFF_VIRTUAL_MEM_IO="YES"), rio_open(p) as ds:
        shape, dtype, _, attrs = raster_meta(ds, p, bit_depth)
        driver = _ALIASES.get(ds.driver.lower(), ds.driver)
        options = _profile_options(ds.profile) if ds.driver == "GTiff" else {}
        lut = palette_table(ds)
        try:
            if lut is not None:  # the colours shown, not the indices (see palette_table)
                # (the copy is RGB/RGBA; the lossless compression and tiling carry over)
                arr = expand_palette(ds.read(), lut)
            elif interleaved:
                buf = scratch("read", (shape[1], shape[2], shape[0]), dtype)
                arr = ds.read(out=buf.transpose(2, 0, 1))
            else:
                arr = ds.read(out=scratch("read", tuple(shape), dtype))
        except RasterioError as exc:
            raise RasterReadError(
                f"{p}: failed to read pixels ({exc}); the file may be truncated or corrupt"
            ) from exc
    return arr, driver, options, attrs


def eager_scene(arr: np.ndarray, attrs: dict[str, Any], name: str | None = None) -> xr.DataArray:
    """The ``(band, y, x)`` scene of ``arr``, its coords shared with earlier same-grid scenes.

    Building the coordinate indexes costs ~10x more than the rest for a small image; they
    depend only on the transform and the shape, so a template per grid is kept (without
    pixels) and each scene is a shallow copy of it holding its own data, name and attrs.
    """
    key = (attrs["transform"], arr.shape)
    template = _TEMPLATES.get(key)
    if template is None:
        nb, ny, nx = arr.shape
        y, x = pixel_coords(attrs["transform"], ny, nx)
        template = xr.DataArray(
            np.broadcast_to(np.zeros((), arr.dtype), arr.shape),
            dims=("band", "y", "x"),
            coords={"band": np.arange(1, nb + 1), "y": y, "x": x},
        )
        with _TEMPLATES_LOCK:
            if len(_TEMPLATES) >= _MAX_TEMPLATES:
                _TEMPLATES.pop(next(iter(_TEMPLATES)))
            _TEMPLATES[key] = template
    return replace_data(template, arr, name=name, attrs=attrs)
