"""Image files of a dataset: one folder scan, header-only size reads, thumbnails.

Nothing here decodes pixels except :func:`thumbnail`, which is only called for a bounded
number of images (the HTML report's preview grid).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

from iqx.errors import PathNotFoundError, RasterReadError

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageIndex",
    "has_image_extension",
    "image_size",
    "thumbnail",
]

#: file extensions accepted as images (case-insensitive). IQUAFLOW accepted jpg, png, tif only.
IMAGE_EXTENSIONS = frozenset(
    (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".jp2", ".j2k", ".bmp", ".gif", ".webp")
)

_RASTERIO_EXTENSIONS = frozenset((".tif", ".tiff", ".jp2", ".j2k", ".img", ".vrt"))


def has_image_extension(name: str) -> bool:
    """True if ``name`` ends with one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(str(name))[1].lower() in IMAGE_EXTENSIONS


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(width, height)`` of an image, read from its header only.

    Pillow reads the header lazily; GeoTIFF/JPEG 2000 files Pillow cannot open (float or
    multi-band rasters, huge scenes) fall back to rasterio, which also reads only the header.

    Raises
    ------
    PathNotFoundError
        If ``path`` does not exist.
    RasterReadError
        If the file is not a readable image (empty, truncated header, another format).
    """
    path = Path(path)
    if not path.is_file():
        raise PathNotFoundError(f"{path}: image file not found")
    return _read_size(path)


def _read_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return int(im.size[0]), int(im.size[1])
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        pil_error = exc
    if path.suffix.lower() in _RASTERIO_EXTENSIONS and path.stat().st_size > 0:
        import rasterio

        try:
            with rasterio.open(path) as src:
                return int(src.width), int(src.height)
        except rasterio.errors.RasterioError as exc:
            raise RasterReadError(f"{path}: not a readable image ({exc})") from exc
    if path.stat().st_size == 0:
        raise RasterReadError(f"{path}: not a readable image (the file is empty, 0 bytes)")
    raise RasterReadError(f"{path}: not a readable image ({pil_error})") from pil_error


class ImageIndex:
    """The files of an images folder, scanned once, with cached header sizes.

    Parameters
    ----------
    images_dir : path-like
        The dataset's images folder.
    extra_roots : iterable of path-like, optional
        Folders tried (in order) for ``file_name`` values holding a relative sub-path.
    """

    def __init__(
        self, images_dir: str | os.PathLike[str], extra_roots: Iterable[os.PathLike[str]] = ()
    ) -> None:
        self.images_dir = Path(images_dir)
        if not self.images_dir.is_dir():
            raise PathNotFoundError(f"{self.images_dir}: images folder not found")
        self._roots = [self.images_dir, *(Path(r) for r in extra_roots)]
        with os.scandir(self.images_dir) as it:
            self._names = {e.name for e in it if not e.name.startswith(".") and e.is_file()}
        self._sizes: dict[Path, tuple[int, int] | RasterReadError] = {}

    @property
    def names(self) -> list[str]:
        """Sorted names of the files directly in the images folder."""
        return sorted(self._names)

    def resolve(self, file_name: str) -> Path | None:
        """The path of ``file_name`` (as written in an annotation file), or None if absent.

        A plain name is looked up in the folder scan; a name with a sub-path is tried under the
        images folder, under the extra roots, and finally by its base name.
        """
        name = str(file_name)
        if name in self._names:
            return self.images_dir / name
        if "/" in name or "\\" in name:
            rel = Path(name.replace("\\", "/"))
            for root in self._roots:
                candidate = root / rel
                if candidate.is_file():
                    return candidate
            if rel.name in self._names:
                return self.images_dir / rel.name
        return None

    def size(self, path: Path) -> tuple[int, int]:
        """Cached :func:`image_size` of ``path`` (errors are cached and re-raised too)."""
        if path not in self._sizes:
            try:
                self._sizes[path] = _read_size(path)
            except (RasterReadError, OSError) as exc:
                if not isinstance(exc, RasterReadError):
                    exc = RasterReadError(f"{path}: cannot read the image header ({exc})")
                self._sizes[path] = exc
        value = self._sizes[path]
        if isinstance(value, RasterReadError):
            raise value
        return value


def thumbnail(path: str | os.PathLike[str], max_side: int = 160) -> tuple[bytes, int, int]:
    """A small JPEG thumbnail of an image: ``(jpeg_bytes, width, height)`` of the original.

    8-bit images go through Pillow (JPEG draft mode decodes at reduced scale). Anything else
    (16-bit, float, multi-band GeoTIFF) is read by rasterio at thumbnail resolution through
    its overviews/decimated read and stretched to 8 bits between the 2nd and 98th percentile.
    """
    import io

    import numpy as np
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
            if im.mode in ("RGB", "L", "P", "RGBA", "LA", "CMYK", "YCbCr", "1"):
                im.draft("RGB", (max_side, max_side))
                small = im.convert("RGB")
                small.thumbnail((max_side, max_side))
                buf = io.BytesIO()
                small.save(buf, format="JPEG", quality=80)
                return buf.getvalue(), width, height
    except (OSError, SyntaxError, ValueError):
        pass
    import rasterio
    from rasterio.enums import Resampling

    try:
        with rasterio.open(path) as src:
            width, height = src.width, src.height
            scale = max_side / max(width, height)
            out_h, out_w = max(1, round(height * scale)), max(1, round(width * scale))
            bands = [1, 2, 3] if src.count >= 3 else [1]
            arr = src.read(
                bands, out_shape=(len(bands), out_h, out_w), resampling=Resampling.average
            )
    except rasterio.errors.RasterioError as exc:
        raise RasterReadError(f"{path}: cannot make a thumbnail ({exc})") from exc
    arr = arr.astype("float64")
    finite = arr[np.isfinite(arr)]
    lo, hi = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
    scaled = np.clip((arr - lo) / max(hi - lo, 1e-12) * 255.0, 0, 255)
    scaled = np.nan_to_num(scaled).astype("uint8")
    img = Image.fromarray(np.moveaxis(scaled, 0, -1) if len(bands) == 3 else scaled[0])
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=80)
    return buf.getvalue(), width, height
