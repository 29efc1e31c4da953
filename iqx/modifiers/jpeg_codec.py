"""Baseline JPEG round trip (libjpeg-turbo), 8- or 12-bit, chunk by chunk.

Chunks are aligned to the codec's minimum coded unit (8 px for grayscale and 4:4:4, 16 px
for 4:2:0; the scene is rechunked explicitly when needed), so for grayscale and 4:4:4
streams the chunked result equals encoding the whole image at once. Data deeper than the
JPEG's precision is refused, or scaled to it and back with ``rescale=True``. Public import
path: :mod:`iqx.modifiers.compression` (and :mod:`iqx.modifiers`).
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.bitdepth import lazy_bit_depth
from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.kernels.codecs import jpeg_decode_block, jpeg_encode_block, jpeg_mcu
from iqx.modifiers._base import check_choice, check_int
from iqx.modifiers._block_codec import VOLUME_OUTPUTS, VOLUME_UNITS, BlockCodec, is_lazy, record
from iqx.parallel import as_scene, is_dask
from iqx.registry import register_modifier

__all__ = ["JPEG", "jpeg"]


def _norm_subsampling(value: Any) -> str:
    text = str(value).replace(":", "").strip()
    norm = {"444": "4:4:4", "422": "4:2:2", "420": "4:2:0"}.get(text)
    if norm is None:
        raise InvalidParameterError(
            f"jpeg: subsampling must be one of '4:4:4', '4:2:2', '4:2:0' (or 444, 422, 420), "
            f"got {value!r}"
        )
    return norm


def _aligned(sizes: tuple[int, ...], unit: int) -> tuple[int, ...]:
    """Chunk sizes whose interior boundaries are multiples of ``unit`` (nearest multiple)."""
    total = sum(sizes)
    bounds = np.cumsum(sizes)[:-1]
    new = sorted({round(int(b) / unit) * unit for b in bounds} - {0})
    new = [b for b in new if b < total]
    edges = [0, *new, total]
    return tuple(int(b - a) for a, b in itertools.pairwise(edges))


def _align_chunks(image: xr.DataArray, unit: tuple[int, int], whole_bands: bool) -> xr.DataArray:
    if not is_dask(image):
        return image
    chunks = image.data.chunks
    want = {
        "band": -1 if whole_bands else chunks[0],
        "y": _aligned(chunks[1], unit[0]),
        "x": _aligned(chunks[2], unit[1]),
    }
    if (
        want["y"] == chunks[1]
        and want["x"] == chunks[2]
        and not (whole_bands and len(chunks[0]) > 1)
    ):
        return image
    return image.chunk(want)


def _rescale(block: np.ndarray, from_bits: int, to_bits: int, dtype: Any) -> np.ndarray:
    """Integer rescale between bit depths, rounding half up (exact int64 arithmetic)."""
    if from_bits == to_bits:
        return block.astype(dtype, copy=False)
    src_max, dst_max = (1 << from_bits) - 1, (1 << to_bits) - 1
    v = np.minimum(block.astype(np.int64), src_max)
    return ((v * dst_max + src_max // 2) // src_max).astype(dtype)


def _codec_dtype(bits: int) -> np.dtype:
    return np.dtype(np.uint8 if bits <= 8 else np.uint16)


def _check_fits(block: np.ndarray, bits: int, name: str | None) -> None:
    """Raise when ``block`` holds values a ``bits``-bit JPEG cannot carry (checked per chunk)."""
    if block.size == 0 or block.dtype.itemsize * 8 <= bits:  # every value fits: no pass
        return
    top = int(block.max())
    if top < (1 << bits):
        return
    where = f"{name}: " if name else ""
    raise UnsupportedDtypeError(
        f"jpeg: {where}values up to {top} need {top.bit_length()} bits, more than a {bits}-bit "
        f"JPEG holds; use jpeg(rescale=True) (scales by the data's depth and back), a lossless "
        f"codec (jpeg2000(reversible=True)) or jpeg2000(psnr=...), or declare a smaller "
        f"bit_depth if these values are invalid"
    )


def _work(block: np.ndarray, bits: int, src_bits: Any, rescale: bool, source: Any) -> tuple:
    """The block as the codec sees it and the depth it was scaled to (None: not scaled)."""
    if rescale:
        src = int(src_bits)
        work = min(src, bits)
        return _rescale(block, src, work, _codec_dtype(bits)), (src, work)
    _check_fits(block, bits, source)
    return block.astype(_codec_dtype(bits), copy=False), None


def _jpeg_block(
    block: np.ndarray,
    *,
    quality: int,
    subsampling: str,
    bits: int,
    per_band: bool,
    src_bits: Any,
    rescale: bool,
    source: str | None = None,
) -> np.ndarray:
    coded, scaled = _work(block, bits, src_bits, rescale, source)
    if coded.size == 0:
        out = coded.copy()
    else:
        streams = jpeg_encode_block(
            coded, quality=quality, subsampling=subsampling, bits=bits, per_band=per_band
        )
        record("jpeg", streams)
        out = jpeg_decode_block(streams, coded.shape, coded.dtype)
    if scaled is None:
        return out.astype(block.dtype, copy=False)
    return _rescale(out, scaled[1], scaled[0], block.dtype)


def _jpeg_streams(
    block: np.ndarray,
    *,
    quality: int,
    subsampling: str,
    bits: int,
    per_band: bool,
    src_bits: Any,
    rescale: bool,
    source: str | None = None,
) -> list[bytes]:
    """The JPEG stream(s) of one block, after the same rescaling as :func:`_jpeg_block`."""
    coded, _ = _work(block, bits, src_bits, rescale, source)
    return jpeg_encode_block(
        coded, quality=quality, subsampling=subsampling, bits=bits, per_band=per_band
    )


def _jpeg_size(block: np.ndarray, info: Any, **kw: Any) -> tuple[int, int]:
    streams = _jpeg_streams(block, **kw)
    return sum(len(s) for s in streams), len(streams)


@register_modifier(
    "jpeg",
    summary="Baseline JPEG round trip (libjpeg-turbo), 8- or 12-bit.",
    outputs=VOLUME_OUTPUTS,
    units=VOLUME_UNITS,
    chunk_invariant=True,
    references=("ITU-T T.81 / ISO 10918-1", "libjpeg-turbo via imagecodecs (= Pillow's bytes)"),
)
class JPEG(BlockCodec):
    """Baseline JPEG encode + decode of every chunk (see :func:`jpeg`)."""

    id = "jpeg"
    short = "jpeg"
    abbrev: ClassVar[dict[str, str]] = {
        "quality": "q",
        "subsampling": "ss",
        "bits": "b",
        "per_band": "pb",
        "rescale": "rs",
    }
    always = ("quality",)
    _kernel = staticmethod(_jpeg_block)
    _size = staticmethod(_jpeg_size)

    def __init__(
        self,
        quality: int = 75,
        subsampling: str = "4:2:0",
        bits: int | None = None,
        per_band: bool = False,
        rescale: bool = False,
    ) -> None:
        quality = check_int("jpeg", "quality", quality, 1, 100)
        subsampling = _norm_subsampling(subsampling)
        if bits is not None:
            bits = check_choice("jpeg", "bits", bits, (8, 12))
        check_choice("jpeg", "per_band", per_band, (True, False))
        check_choice("jpeg", "rescale", rescale, (True, False))
        super().__init__(
            quality=quality,
            subsampling=subsampling,
            bits=bits,
            per_band=bool(per_band),
            rescale=bool(rescale),
        )

    def _settings(self, image: xr.DataArray) -> dict[str, Any]:
        """Codec settings for ``image``; builds nothing and computes nothing.

        The sample precision follows the bit-depth rule (:mod:`iqx.bitdepth`): 8-bit for
        uint8 or data declared at most 8-bit, 12-bit otherwise. Undeclared uint16 data
        (most satellite products) is checked chunk by chunk when it is encoded: values above
        4095 raise, naming the file and the largest value.
        """
        if image.dtype not in (np.uint8, np.uint16):
            raise UnsupportedDtypeError(
                f"jpeg needs uint8 or uint16 data (8- to 12-bit, or deeper with rescale=True), "
                f"got {image.dtype}; a JPEG quality has no meaning for {image.dtype} data"
            )
        p = self._params
        src_bits, source = lazy_bit_depth(image)
        declared = source in ("user", "metadata")
        if p["bits"] is not None:
            bits = p["bits"]
        elif image.dtype == np.uint8 or (declared and src_bits <= 8):
            bits = 8
        else:
            bits = 12
        if declared and src_bits > bits and not p["rescale"]:
            name = image.attrs.get("source")
            raise UnsupportedDtypeError(
                f"jpeg: {name + ': ' if name else ''}{src_bits}-bit data ({source}) does not "
                f"fit a {bits}-bit JPEG; pass rescale=True to scale to {bits} bits and back, "
                f"use a lossless codec (jpeg2000(reversible=True)) or jpeg2000(psnr=...), or "
                f"declare the real bit_depth if the data holds fewer bits"
            )
        return {
            "quality": p["quality"],
            "subsampling": p["subsampling"],
            "bits": bits,
            "per_band": p["per_band"],
            "src_bits": src_bits if p["rescale"] else None,
            "rescale": p["rescale"],
            "source": image.attrs.get("source"),
        }

    def _prepared(self, image: xr.DataArray) -> tuple[xr.DataArray, dict[str, Any]]:
        kw = self._settings(image)
        colour = image.sizes["band"] == 3 and not kw["per_band"]
        unit = jpeg_mcu(image.sizes["band"], kw["subsampling"], kw["per_band"])
        return _align_chunks(image, unit, whole_bands=colour), kw

    def encode(self, image: Any) -> list[bytes]:
        """Encode a whole NumPy image ``(band, y, x)`` at once; the JPEG stream(s) it makes.

        One stream for a grayscale or colour (3-band) image, one per band otherwise. Used to
        write a ``.jpg`` file holding exactly the modifier's bitstream.
        """
        scene = image if isinstance(image, xr.DataArray) else as_scene(np.asarray(image))
        kw = self._settings(scene)
        if is_lazy(kw["src_bits"]):
            kw["src_bits"] = kw["src_bits"].compute()
        return _jpeg_streams(np.asarray(scene.data), **kw)


def jpeg(
    image: Any = None,
    /,
    *,
    quality: int = 75,
    subsampling: str = "4:2:0",
    bits: int | None = None,
    per_band: bool = False,
    rescale: bool = False,
) -> Any:
    """Baseline JPEG round trip (libjpeg-turbo), chunk by chunk.

    Parameters
    ----------
    image : scene, optional
        ``(band, y, x)`` uint8 or uint16 data. Without it, the configured :class:`JPEG`
        modifier is returned (``jpeg(quality=70)(image)``).
    quality : int
        IJG quality 1..100 (standard tables, no Huffman optimisation: the bytes equal
        Pillow's ``save(..., "JPEG", quality=q, subsampling=s)``).
    subsampling : {"4:2:0", "4:2:2", "4:4:4"}
        Chroma subsampling of colour (3-band) streams; ``444``/``"444"`` are accepted.
    bits : {8, 12}, optional
        JPEG sample precision; default 8 for uint8 data (or data declared at most 8-bit),
        12 for uint16 data: 10- to 12-bit satellite data get a 12-bit JPEG without being
        asked. Undeclared uint16 data is checked chunk by chunk as it is encoded; a value
        above 4095 raises :class:`~iqx.errors.UnsupportedDtypeError` naming the file and the
        largest value (see :mod:`iqx.bitdepth` for declaring a depth).
    per_band : bool
        Encode a 3-band scene as three grayscale JPEGs instead of one YCbCr JPEG. Scenes with
        any other band count are always encoded band by band as grayscale.
    rescale : bool
        Allow data deeper than ``bits`` (e.g. 14- or 16-bit): scale from the data's depth
        (user > metadata > measured, :mod:`iqx.bitdepth`; not the dtype's 16 bits) to
        ``bits`` (round half up), encode, decode and scale back. Data no deeper than
        ``bits`` is not scaled.

    Returns
    -------
    xarray.DataArray or JPEG
        Same dtype, shape, coords and attrs (history appended); chunks aligned to the MCU.

    Raises
    ------
    InvalidParameterError
        Quality outside 1..100, unknown subsampling or bits.
    UnsupportedDtypeError
        Float or signed data, or data deeper than ``bits`` without ``rescale=True`` (when
        the depth is declared: at once; otherwise when the offending chunk is computed).
    """
    mod = JPEG(
        quality=quality, subsampling=subsampling, bits=bits, per_band=per_band, rescale=rescale
    )
    return mod if image is None else mod(image)
