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

import functools
import itertools
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.kernels.codecs import (
    jpeg2k_encode_block,
    jpeg2k_roundtrip,
    jpeg_encode_block,
    jpeg_mcu,
    jpeg_roundtrip,
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
from iqx.parallel import as_scene, is_dask, map_blocks_xr, reduce_blocks
from iqx.registry import register_modifier

__all__ = ["JPEG", "JPEG2000", "data_volume", "jpeg", "jpeg2000", "volume_record"]

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


def _jpeg_block(
    block: np.ndarray,
    *,
    quality: int,
    subsampling: str,
    bits: int,
    per_band: bool,
    src_bits: int,
    rescale: bool,
) -> np.ndarray:
    work_bits = bits if rescale else src_bits
    coded = _rescale(block, src_bits, work_bits, _codec_dtype(bits))
    out = jpeg_roundtrip(
        coded, quality=quality, subsampling=subsampling, bits=bits, per_band=per_band
    )
    return _rescale(out, work_bits, src_bits, block.dtype)


def _jpeg_streams(
    block: np.ndarray,
    *,
    quality: int,
    subsampling: str,
    bits: int,
    per_band: bool,
    src_bits: int,
    rescale: bool,
) -> list[bytes]:
    """The JPEG stream(s) of one block, after the same rescaling as :func:`_jpeg_block`."""
    work_bits = bits if rescale else src_bits
    coded = _rescale(block, src_bits, work_bits, _codec_dtype(bits))
    return jpeg_encode_block(
        coded, quality=quality, subsampling=subsampling, bits=bits, per_band=per_band
    )


def _jpeg_size(block: np.ndarray, info: Any, **kw: Any) -> tuple[int, int]:
    streams = _jpeg_streams(block, **kw)
    return sum(len(s) for s in streams), len(streams)


def _j2k_block(
    block: np.ndarray, *, psnr: float | None, ratio: float | None, reversible: bool, bits: int
) -> np.ndarray:
    return jpeg2k_roundtrip(block, psnr=psnr, ratio=ratio, reversible=reversible, bits=bits)


def _j2k_size(
    block: np.ndarray,
    info: Any,
    *,
    psnr: float | None,
    ratio: float | None,
    reversible: bool,
    bits: int,
) -> tuple[int, int]:
    streams = jpeg2k_encode_block(block, psnr=psnr, ratio=ratio, reversible=reversible, bits=bits)
    return sum(len(s) for s in streams), len(streams)


def _identity(x: Any) -> Any:
    return x


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
        if image.dtype not in (np.uint8, np.uint16):
            raise UnsupportedDtypeError(
                f"jpeg needs uint8 or uint16 data (8- to 12-bit, or 16-bit with rescale=True), "
                f"got {image.dtype}; a JPEG quality has no meaning for {image.dtype} data"
            )
        src_bits = scene_bit_depth(image)
        p = self._params
        bits = p["bits"] if p["bits"] is not None else (8 if src_bits <= 8 else 12)
        if src_bits > bits and not p["rescale"]:
            raise UnsupportedDtypeError(
                f"jpeg: {src_bits}-bit data does not fit a {bits}-bit JPEG; pass rescale=True "
                f"to scale to {bits} bits and back, or set attrs['bit_depth'] if the data "
                f"really holds fewer bits"
            )
        return {
            "quality": p["quality"],
            "subsampling": p["subsampling"],
            "bits": bits,
            "per_band": p["per_band"],
            "src_bits": src_bits,
            "rescale": p["rescale"],
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
            functools.partial(_jpeg_size, **kw),
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
        scene = as_scene(np.asarray(image))
        return _jpeg_streams(np.asarray(scene.data), **self._setup(scene))


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
        JPEG sample precision; default 8 for data of at most 8 bits, 12 otherwise.
    per_band : bool
        Encode a 3-band scene as three grayscale JPEGs instead of one YCbCr JPEG. Scenes with
        any other band count are always encoded band by band as grayscale.
    rescale : bool
        Allow data deeper than ``bits`` (e.g. 16-bit): scale to ``bits`` (round half up),
        encode, decode and scale back to the source depth.

    Returns
    -------
    xarray.DataArray or JPEG
        Same dtype, shape, coords and attrs (history appended); chunks aligned to the MCU.

    Raises
    ------
    InvalidParameterError
        Quality outside 1..100, unknown subsampling or bits.
    UnsupportedDtypeError
        Float or signed data, or data deeper than ``bits`` without ``rescale=True``.
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
        bits = check_unsigned("jpeg2000", image)
        return {**self._params, "bits": bits}

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
            functools.partial(_j2k_size, **kw),
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
        uint8 or uint16 data (``attrs["bit_depth"]`` sets the bits per sample). Without it,
        the configured :class:`JPEG2000` modifier is returned.
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
    finish = functools.partial(volume_record, scene, codec=codec.id, modifier=repr(mod))
    result = codec.encoded_sizes(src, finalize=lambda pair: finish(pair[0], pair[1]))
    return result.compute() if compute else result


def volume_record(
    image: Any, nbytes: int, streams: int, *, codec: str, modifier: str = ""
) -> dict[str, Any]:
    """The :func:`data_volume` dict for ``nbytes`` of compressed ``image`` (no encoding).

    Raw size is ``bands * pixels * bit_depth`` of ``image`` (:func:`scene_bit_depth`).
    """
    scene = as_scene(image)
    bit_depth = scene_bit_depth(scene)
    nb, ny, nx = (int(scene.sizes[d]) for d in ("band", "y", "x"))
    raw_bits = nb * ny * nx * bit_depth
    bits = 8 * int(nbytes)
    return {
        "codec": codec,
        "modifier": modifier,
        "compressed_bytes": int(nbytes),
        "streams": int(streams),
        "raw_bits": raw_bits,
        "raw_bytes": raw_bits / 8,
        "bits_per_pixel": bits / (ny * nx),
        "bits_per_sample": bits / (nb * ny * nx),
        "compression_ratio": raw_bits / bits if bits else float("inf"),
        "pixels": ny * nx,
        "bands": nb,
        "bit_depth": bit_depth,
    }
