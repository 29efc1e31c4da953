"""One-tile JPEG and JPEG 2000 round trips (libjpeg-turbo and OpenJPEG via imagecodecs).

Each function works on one ``(band, y, x)`` NumPy block and knows nothing about chunking.
imagecodecs is imported on first use (it is the optional ``codecs`` extra). Without it, 8-bit
JPEG falls back to Pillow, which bundles the same libjpeg-turbo with the same standard tables
and defaults: the streams and decoded pixels are byte-identical (tested), so the core install
can run JPEG studies; 12-bit JPEG and JPEG 2000 need the extra.

Band handling (the same for a whole image and for one chunk):

* JPEG: a 3-band block is encoded as one colour JPEG (RGB -> YCbCr, exactly as Pillow saves
  an ``RGB`` image) unless ``per_band=True``; any other band count is encoded band by band
  as grayscale JPEGs.
* JPEG 2000: a 3-band block is one 3-component codestream (with the reversible/irreversible
  colour transform); any other band count is encoded band by band.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from iqx._compat import import_optional

__all__ = [
    "JPEG_SUBSAMPLING",
    "jpeg2k_decode_block",
    "jpeg2k_encode_block",
    "jpeg2k_roundtrip",
    "jpeg_decode_block",
    "jpeg_encode_block",
    "jpeg_mcu",
    "jpeg_roundtrip",
]

#: subsampling name -> (MCU height, MCU width) of a colour JPEG
JPEG_SUBSAMPLING: dict[str, tuple[int, int]] = {
    "4:4:4": (8, 8),
    "4:2:2": (8, 16),
    "4:2:0": (16, 16),
}


def _ic(feature: str) -> ModuleType:
    return import_optional("imagecodecs", feature)


def _jpeg_backend(bits: int) -> ModuleType | None:
    """imagecodecs when installed; ``None`` (use Pillow) for 8-bit JPEG without it."""
    try:
        import imagecodecs
    except ImportError:
        if bits == 8:
            return None
        return _ic(f"{bits}-bit JPEG")
    return imagecodecs


def _pillow_encode(plane: np.ndarray, quality: int, subsampling: str) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    image = Image.fromarray(plane)
    options = {"quality": int(quality)}
    if image.mode == "RGB":
        options["subsampling"] = subsampling
    image.save(buf, format="JPEG", **options)
    return buf.getvalue()


def _pillow_decode(stream: bytes) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(stream)) as image:
        return np.asarray(image)


def jpeg_mcu(n_bands: int, subsampling: str, per_band: bool = False) -> tuple[int, int]:
    """Minimum coded unit ``(y, x)`` of the JPEG stream(s) for a block of ``n_bands``.

    Grayscale streams (any band count except a colour 3-band stream) use 8 x 8 blocks.
    """
    if n_bands == 3 and not per_band:
        return JPEG_SUBSAMPLING[subsampling]
    return (8, 8)


def _planes(block: np.ndarray, colour: bool) -> list[np.ndarray]:
    if colour:
        return [np.ascontiguousarray(np.moveaxis(block, 0, -1))]
    return [np.ascontiguousarray(block[b]) for b in range(block.shape[0])]


def jpeg_encode_block(
    block: np.ndarray,
    *,
    quality: int,
    subsampling: str = "4:2:0",
    bits: int = 8,
    per_band: bool = False,
) -> list[bytes]:
    """Encode a ``(band, y, x)`` block as baseline JPEG stream(s).

    Parameters
    ----------
    block : numpy.ndarray
        uint8 for ``bits=8``; uint16 holding at most 12-bit values for ``bits=12``.
    quality : int
        libjpeg quality 1..100 (standard IJG tables, no optimisation: the bytes equal
        Pillow's ``Image.save(..., "JPEG", quality=q, subsampling=s)``).
    subsampling : {"4:4:4", "4:2:2", "4:2:0"}
        Chroma subsampling of a colour (3-band) stream; ignored for grayscale streams.
    bits : {8, 12}
        JPEG sample precision.
    per_band : bool
        Encode a 3-band block as three grayscale streams instead of one colour stream.

    Returns
    -------
    list of bytes
        One stream for a colour block, one per band otherwise.
    """
    ic = _jpeg_backend(bits)
    colour = block.shape[0] == 3 and not per_band
    if ic is None:
        return [_pillow_encode(p, quality, subsampling) for p in _planes(block, colour)]
    ss = subsampling.replace(":", "")
    kwargs = {"level": int(quality)}
    if bits != 8:
        kwargs["bitspersample"] = int(bits)
    out = []
    for plane in _planes(block, colour):
        if colour:
            out.append(bytes(ic.jpeg8_encode(plane, subsampling=ss, **kwargs)))
        else:
            out.append(bytes(ic.jpeg8_encode(plane, **kwargs)))
    return out


def jpeg_decode_block(streams: list[bytes], shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Decode the stream(s) of :func:`jpeg_encode_block` into a ``(band, y, x)`` array.

    A colour stream decodes to a pixel-interleaved buffer returned as a ``(3, y, x)`` view
    (no transposing copy: GDAL writes such views to pixel-interleaved files directly); a
    grayscale stream per band decodes in place into a band-sequential array.
    """
    ic = _jpeg_backend(np.dtype(dtype).itemsize * 8)
    if len(streams) == 1 and shape[0] == 3:
        rgb = _pillow_decode(streams[0]) if ic is None else ic.jpeg8_decode(streams[0])
        return np.moveaxis(np.asarray(rgb, dtype=dtype), -1, 0)
    out = np.empty(shape, dtype=dtype)
    for b, s in enumerate(streams):
        if ic is None:
            out[b] = _pillow_decode(s)
        else:
            ic.jpeg8_decode(s, out=out[b])  # decode in place: no extra copy
    return out


_jpeg_decode = jpeg_decode_block


def jpeg_roundtrip(
    block: np.ndarray,
    *,
    quality: int,
    subsampling: str = "4:2:0",
    bits: int = 8,
    per_band: bool = False,
) -> np.ndarray:
    """Encode then decode a ``(band, y, x)`` block; same dtype and shape as the input."""
    if block.size == 0:
        return block.copy()
    streams = jpeg_encode_block(
        block, quality=quality, subsampling=subsampling, bits=bits, per_band=per_band
    )
    return _jpeg_decode(streams, block.shape, block.dtype)


def jpeg2k_encode_block(
    block: np.ndarray,
    *,
    psnr: float | None = None,
    ratio: float | None = None,
    reversible: bool = False,
    bits: int = 8,
) -> list[bytes]:
    """Encode a ``(band, y, x)`` block as JPEG 2000 (J2K codestream) with OpenJPEG.

    Parameters
    ----------
    psnr : float or None
        Target PSNR in dB of the single quality layer (OpenJPEG's ``tcp_distoratio``;
        imagecodecs' ``level``). Ignored when ``reversible``.
    ratio : float or None
        Target compression ratio (raw bits at ``bits`` per sample / compressed bits) of each
        stream: the highest PSNR target (bisection over 1..120 dB, 14 steps) whose stream is
        no larger than ``raw / ratio`` is kept (the smallest stream if none is).
    reversible : bool
        Lossless 5/3 wavelet (the decoded block equals the input).
    bits : int
        Bits per sample of the data (1..16).
    """
    ic = _ic("JPEG 2000 compression")
    colour = block.shape[0] == 3
    kwargs: dict = {"bitspersample": int(bits), "codecformat": "j2k", "numthreads": 1}
    if reversible:
        kwargs["reversible"] = True
    else:
        kwargs["level"] = float(psnr) if psnr is not None else None
    out = []
    for plane in _planes(block, colour):
        if ratio is not None and not reversible:
            out.append(_j2k_at_ratio(ic, plane, ratio, bits, kwargs))
        else:
            out.append(bytes(ic.jpeg2k_encode(plane, **kwargs)))
    return out


def _j2k_at_ratio(ic: ModuleType, plane: np.ndarray, ratio: float, bits: int, kwargs) -> bytes:
    budget = plane.size * bits / 8.0 / ratio
    lo, hi = 1.0, 120.0
    best, smallest = None, None
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        stream = bytes(ic.jpeg2k_encode(plane, **{**kwargs, "level": mid}))
        if smallest is None or len(stream) < len(smallest):
            smallest = stream
        if len(stream) <= budget:
            best, lo = stream, mid
        else:
            hi = mid
    return best if best is not None else smallest


def jpeg2k_roundtrip(
    block: np.ndarray,
    *,
    psnr: float | None = None,
    ratio: float | None = None,
    reversible: bool = False,
    bits: int = 8,
) -> np.ndarray:
    """Encode then decode a ``(band, y, x)`` block with JPEG 2000; same dtype and shape."""
    if block.size == 0:
        return block.copy()
    streams = jpeg2k_encode_block(block, psnr=psnr, ratio=ratio, reversible=reversible, bits=bits)
    return jpeg2k_decode_block(streams, block.shape, block.dtype)


def jpeg2k_decode_block(
    streams: list[bytes], shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    """Decode the codestream(s) of :func:`jpeg2k_encode_block` into a ``(band, y, x)`` array."""
    ic = _ic("JPEG 2000 compression")
    out = np.empty(shape, dtype=dtype)
    if len(streams) == 1 and shape[0] == 3:
        out[...] = np.moveaxis(ic.jpeg2k_decode(streams[0], numthreads=1), -1, 0)
    else:
        for b, s in enumerate(streams):
            out[b] = ic.jpeg2k_decode(s, numthreads=1)
    return out
