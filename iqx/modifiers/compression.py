"""Codec round trips: baseline JPEG (libjpeg-turbo) and JPEG 2000 (OpenJPEG), plus data volume.

Both run chunk by chunk. JPEG chunks are aligned to the codec's minimum coded unit (8 px for
grayscale and 4:4:4, 16 px for 4:2:0; the scene is rechunked explicitly when needed), so for
grayscale and 4:4:4 streams the chunked result equals encoding the whole image at once.
JPEG 2000 encodes each chunk as its own codestream (like a tiled J2K whose tile is the
chunk), so its result depends on the chunking.

Data volume (:func:`data_volume`) is what a downlink would carry: the bytes of every
chunk's stream(s), summed lazily per chunk and reduced.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.bitdepth import lazy_bit_depth, resolve_bit_depth
from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.kernels.codecs import (
    jpeg2k_decode_block,
    jpeg2k_encode_block,
    jpeg_decode_block,
    jpeg_encode_block,
    jpeg_mcu,
)
from iqx.modifiers._base import (
    Chain,
    Modifier,
    as_modifier,
    check_choice,
    check_float,
    check_int,
    check_unsigned,
    scene_bit_depth,
)
from iqx.parallel import as_scene, is_dask, lazy_call, map_blocks_xr, reduce_blocks
from iqx.registry import register_modifier

__all__ = [
    "JPEG",
    "JPEG2000",
    "data_volume",
    "jpeg",
    "jpeg2000",
    "record_streams",
    "volume_record",
]

#: per-thread list that codec kernels append ``(codec, bytes, streams)`` to (see record_streams)
_RECORD = threading.local()


@contextlib.contextmanager
def record_streams() -> Iterator[list[tuple[str, int, int]]]:
    """Collect ``(codec, compressed bytes, streams)`` of every block encoded in this thread.

    For eager (NumPy) scenes the codec kernels run in the calling thread, so a dataset
    modifier gets the data volume of the streams it decoded instead of encoding twice
    (:func:`data_volume` encodes again). Blocks computed by dask in other threads are not seen.
    """
    previous = getattr(_RECORD, "log", None)
    log: list[tuple[str, int, int]] = []
    _RECORD.log = log
    try:
        yield log
    finally:
        _RECORD.log = previous


def _record(codec: str, streams: list[bytes]) -> None:
    log = getattr(_RECORD, "log", None)
    if log is not None:
        log.append((codec, sum(len(s) for s in streams), len(streams)))


_VOLUME_OUTPUTS = ("compressed_bytes", "bits_per_pixel", "compression_ratio")
_VOLUME_UNITS = {"compressed_bytes": "B", "bits_per_pixel": "bit/px", "compression_ratio": "1"}


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
    if block.size == 0:
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
        _record("jpeg", streams)
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


def _j2k_check(block: np.ndarray, bits: Any, name: str | None) -> int:
    bits = int(bits)
    top = int(block.max()) if block.size else 0
    if top >= (1 << bits):
        where = f"{name}: " if name else ""
        raise UnsupportedDtypeError(
            f"jpeg2000: {where}values up to {top} exceed the declared {bits}-bit depth; "
            f"declare the real bit_depth (or none: it is then measured from the data)"
        )
    return bits


def _j2k_block(
    block: np.ndarray,
    *,
    psnr: float | None,
    ratio: float | None,
    reversible: bool,
    bits: Any,
    source: str | None = None,
) -> np.ndarray:
    bits = _j2k_check(block, bits, source)
    if block.size == 0:
        return block.copy()
    streams = jpeg2k_encode_block(block, psnr=psnr, ratio=ratio, reversible=reversible, bits=bits)
    _record("jpeg2000", streams)
    return jpeg2k_decode_block(streams, block.shape, block.dtype)


def _j2k_size(
    block: np.ndarray,
    info: Any,
    *,
    psnr: float | None,
    ratio: float | None,
    reversible: bool,
    bits: Any,
    source: str | None = None,
) -> tuple[int, int]:
    bits = _j2k_check(block, bits, source)
    streams = jpeg2k_encode_block(block, psnr=psnr, ratio=ratio, reversible=reversible, bits=bits)
    return sum(len(s) for s in streams), len(streams)


def _identity(x: Any) -> Any:
    return x


def _is_lazy(value: Any) -> bool:
    return hasattr(value, "__dask_graph__")


def _chunk_function(func: Any, kw: dict[str, Any]) -> Any:
    """``functools.partial(func, **kw)``, deferred when a keyword (a measured depth) is lazy."""
    if any(_is_lazy(v) for v in kw.values()):
        return lazy_call(functools.partial, func, **kw)
    return functools.partial(func, **kw)


def _sum_pairs(parts: list[tuple[int, int]]) -> tuple[int, int]:
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


@register_modifier(
    "jpeg",
    summary="Baseline JPEG round trip (libjpeg-turbo), 8- or 12-bit.",
    outputs=_VOLUME_OUTPUTS,
    units=_VOLUME_UNITS,
    chunk_invariant=True,
    references=("ITU-T T.81 / ISO 10918-1", "libjpeg-turbo via imagecodecs (= Pillow's bytes)"),
)
class JPEG(Modifier):
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
    is_codec = True

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

    def _setup(self, image: xr.DataArray) -> dict[str, Any]:
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

    def check(self, image: xr.DataArray) -> None:
        self._setup(image)

    def _prepared(self, image: xr.DataArray) -> tuple[xr.DataArray, dict[str, Any]]:
        kw = self._setup(image)
        colour = image.sizes["band"] == 3 and not kw["per_band"]
        unit = jpeg_mcu(image.sizes["band"], kw["subsampling"], kw["per_band"])
        return _align_chunks(image, unit, whole_bands=colour), kw

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        aligned, kw = self._prepared(image)
        return map_blocks_xr(_jpeg_block, aligned, kwargs=kw)

    def encoded_sizes(self, image: xr.DataArray, finalize: Any = None) -> Any:
        """Lazy ``(bytes, streams)`` of every chunk's JPEG stream(s), summed (a Delayed)."""
        aligned, kw = self._prepared(image)
        return reduce_blocks(
            _chunk_function(_jpeg_size, kw),
            _sum_pairs,
            finalize or _identity,
            aligned,
            compute=False,
        )

    def encode(self, image: Any) -> list[bytes]:
        """Encode a whole NumPy image ``(band, y, x)`` at once; the JPEG stream(s) it makes.

        One stream for a grayscale or colour (3-band) image, one per band otherwise. Used to
        write a ``.jpg`` file holding exactly the modifier's bitstream.
        """
        scene = image if isinstance(image, xr.DataArray) else as_scene(np.asarray(image))
        kw = self._setup(scene)
        if _is_lazy(kw["src_bits"]):
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


@register_modifier(
    "jpeg2000",
    summary="JPEG 2000 round trip (OpenJPEG) by target PSNR or ratio, lossy or reversible.",
    outputs=_VOLUME_OUTPUTS,
    units=_VOLUME_UNITS,
    chunk_invariant=False,
    references=("ISO/IEC 15444-1", "OpenJPEG via imagecodecs"),
)
class JPEG2000(Modifier):
    """JPEG 2000 encode + decode of every chunk (see :func:`jpeg2000`)."""

    id = "jpeg2000"
    short = "j2k"
    abbrev: ClassVar[dict[str, str]] = {"psnr": "psnr", "ratio": "r", "reversible": "lossless"}
    always = ("psnr", "ratio")
    is_codec = True
    chunk_invariant = False

    def __init__(
        self, psnr: float | None = None, ratio: float | None = None, reversible: bool = False
    ) -> None:
        check_choice("jpeg2000", "reversible", reversible, (True, False))
        given = [n for n, v in (("psnr", psnr), ("ratio", ratio)) if v is not None]
        if reversible and given:
            raise InvalidParameterError(
                f"jpeg2000: reversible=True is lossless; do not also give {given[0]}"
            )
        if not reversible and len(given) != 1:
            raise InvalidParameterError(
                "jpeg2000: give exactly one of psnr= (dB) or ratio=, or reversible=True; "
                f"got psnr={psnr!r}, ratio={ratio!r}"
            )
        if psnr is not None:
            psnr = check_float("jpeg2000", "psnr", psnr, 1.0, 200.0)
        if ratio is not None:
            ratio = check_float("jpeg2000", "ratio", ratio, 1.0, None)
        super().__init__(psnr=psnr, ratio=ratio, reversible=bool(reversible))

    def _kw(self, image: xr.DataArray) -> dict[str, Any]:
        check_unsigned("jpeg2000", image)
        # the bits per sample set what psnr= means: the data's depth, measured lazily if needed
        bits, _ = lazy_bit_depth(image)
        return {**self._params, "bits": bits, "source": image.attrs.get("source")}

    def check(self, image: xr.DataArray) -> None:
        self._kw(image)

    def _prepared(self, image: xr.DataArray) -> tuple[xr.DataArray, dict[str, Any]]:
        # a 3-band scene is one 3-component codestream: its bands must share a chunk
        kw = self._kw(image)
        if image.sizes["band"] == 3 and is_dask(image) and len(image.data.chunks[0]) > 1:
            image = image.chunk({"band": -1})
        return image, kw

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        image, kw = self._prepared(image)
        return map_blocks_xr(_j2k_block, image, kwargs=kw)

    def encoded_sizes(self, image: xr.DataArray, finalize: Any = None) -> Any:
        """Lazy ``(bytes, streams)`` of every chunk's codestream(s), summed (a Delayed)."""
        image, kw = self._prepared(image)
        return reduce_blocks(
            _chunk_function(_j2k_size, kw),
            _sum_pairs,
            finalize or _identity,
            image,
            compute=False,
        )


def jpeg2000(
    image: Any = None,
    /,
    *,
    psnr: float | None = None,
    ratio: float | None = None,
    reversible: bool = False,
) -> Any:
    """JPEG 2000 round trip (OpenJPEG), each chunk one codestream, up to 16-bit.

    Parameters
    ----------
    image : scene, optional
        uint8 or uint16 data. The bits per sample (which set what ``psnr`` means) follow the
        bit-depth rule of :mod:`iqx.bitdepth` (declared, else measured lazily from the data).
        Without it, the configured :class:`JPEG2000` modifier is returned.
    psnr : float, optional
        Target PSNR in dB (OpenJPEG's distortion-ratio target; imagecodecs' ``level``).
    ratio : float, optional
        Target compression ratio (raw bits / compressed bits, >= 1) per stream, reached by a
        bisection over the PSNR target (14 encodes per chunk).
    reversible : bool
        Lossless 5/3 wavelet: the output equals the input.

    Exactly one of ``psnr``, ``ratio`` or ``reversible=True`` must be given. A 3-band scene
    is one 3-component stream per chunk; other band counts are coded band by band.
    """
    mod = JPEG2000(psnr=psnr, ratio=ratio, reversible=reversible)
    return mod if image is None else mod(image)


def data_volume(image: Any, modifier: Any, *, compute: bool = True) -> Any:
    """What a downlink would carry for ``image`` compressed by ``modifier``.

    The codec's stream sizes are computed per chunk (exactly as the modifier encodes them)
    and summed lazily. For a chain, the steps before its last codec are applied (lazily) and
    the last codec is measured; raw size is always counted at the *input* scene's bit depth
    and pixel count (so a quantize or resample before the codec counts as compression).

    Parameters
    ----------
    image : scene
        ``(band, y, x)`` data.
    modifier : Modifier, config, spec or list
        A codec (``jpeg``, ``jpeg2000``) or a chain containing one.
    compute : bool
        Return the dict now (default) or a ``dask.delayed`` object to compute with others.

    Returns
    -------
    dict
        ``codec``, ``compressed_bytes``, ``streams`` (number of codec streams), ``raw_bits``,
        ``raw_bytes`` (= raw_bits / 8), ``bits_per_pixel`` (compressed bits per pixel
        location, all bands together), ``bits_per_sample`` (per band value),
        ``compression_ratio`` (raw_bits / compressed bits), ``pixels``, ``bands``,
        ``bit_depth``.
    """
    mod = as_modifier(modifier)
    scene = as_scene(image)
    steps = list(mod.steps) if isinstance(mod, Chain) else [mod]
    codec_idx = [i for i, s in enumerate(steps) if s.is_codec]
    if not codec_idx:
        raise InvalidParameterError(
            f"data_volume needs a codec modifier (jpeg, jpeg2000), got {mod!r}"
        )
    k = codec_idx[-1]
    src = Chain(steps[:k])(scene) if k else scene
    codec = steps[k]
    codec.check(src)
    bits, _ = lazy_bit_depth(scene)
    shape = tuple(int(scene.sizes[d]) for d in ("band", "y", "x"))
    sizes = codec.encoded_sizes(src)
    result = lazy_call(_volume_of, sizes, bits, shape, codec=codec.id, modifier=repr(mod))
    return result.compute() if compute else result


def _volume_of(
    pair: tuple[int, int], bits: int, shape: tuple[int, int, int], **kw: Any
) -> dict[str, Any]:
    return _volume_dict(int(pair[0]), int(pair[1]), int(bits), shape, **kw)


def volume_record(
    image: Any,
    nbytes: int,
    streams: int,
    *,
    codec: str,
    modifier: str = "",
    bit_depth: int | None = None,
) -> dict[str, Any]:
    """The :func:`data_volume` dict for ``nbytes`` of compressed ``image`` (no encoding).

    Raw size is ``bands * pixels * bit_depth``, the depth of ``image`` by the bit-depth rule
    (:func:`iqx.bitdepth.resolve_bit_depth`; measured from the data when undeclared) unless
    ``bit_depth`` is given.
    """
    scene = as_scene(image)
    bits = bit_depth if bit_depth is not None else resolve_bit_depth(scene).bits
    if bits is None:
        bits = scene_bit_depth(scene)
    shape = tuple(int(scene.sizes[d]) for d in ("band", "y", "x"))
    return _volume_dict(int(nbytes), int(streams), int(bits), shape, codec=codec, modifier=modifier)


def _volume_dict(
    nbytes: int, streams: int, bit_depth: int, shape: tuple[int, ...], *, codec: str, modifier: str
) -> dict[str, Any]:
    nb, ny, nx = shape
    raw_bits = nb * ny * nx * bit_depth
    bits = 8 * nbytes
    return {
        "codec": codec,
        "modifier": modifier,
        "compressed_bytes": nbytes,
        "streams": streams,
        "raw_bits": raw_bits,
        "raw_bytes": raw_bits / 8,
        "bits_per_pixel": bits / (ny * nx),
        "bits_per_sample": bits / (nb * ny * nx),
        "compression_ratio": raw_bits / bits if bits else float("inf"),
        "pixels": ny * nx,
        "bands": nb,
        "bit_depth": bit_depth,
    }
