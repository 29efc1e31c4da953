"""JPEG 2000 round trip (OpenJPEG) by target PSNR or ratio, lossy or reversible, up to 16-bit.

Each chunk is its own codestream (like a tiled J2K whose tile is the chunk), so the result
depends on the chunking. The bits per sample, which set what ``psnr`` means, follow the
bit-depth rule of :mod:`iqx.bitdepth`. Public import path: :mod:`iqx.modifiers.compression`
(and :mod:`iqx.modifiers`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.bitdepth import lazy_bit_depth
from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.kernels.codecs import jpeg2k_decode_block, jpeg2k_encode_block
from iqx.modifiers._base import check_choice, check_float, check_unsigned
from iqx.modifiers._block_codec import VOLUME_OUTPUTS, VOLUME_UNITS, BlockCodec, record
from iqx.parallel import is_dask
from iqx.registry import register_modifier

__all__ = ["JPEG2000", "jpeg2000"]


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
    record("jpeg2000", streams)
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


@register_modifier(
    "jpeg2000",
    summary="JPEG 2000 round trip (OpenJPEG) by target PSNR or ratio, lossy or reversible.",
    outputs=VOLUME_OUTPUTS,
    units=VOLUME_UNITS,
    chunk_invariant=False,
    references=("ISO/IEC 15444-1", "OpenJPEG via imagecodecs"),
)
class JPEG2000(BlockCodec):
    """JPEG 2000 encode + decode of every chunk (see :func:`jpeg2000`)."""

    id = "jpeg2000"
    short = "j2k"
    abbrev: ClassVar[dict[str, str]] = {"psnr": "psnr", "ratio": "r", "reversible": "lossless"}
    always = ("psnr", "ratio")
    chunk_invariant = False
    _kernel = staticmethod(_j2k_block)
    _size = staticmethod(_j2k_size)

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

    def _settings(self, image: xr.DataArray) -> dict[str, Any]:
        check_unsigned("jpeg2000", image)
        # the bits per sample set what psnr= means: the data's depth, measured lazily if needed
        bits, _ = lazy_bit_depth(image)
        return {**self._params, "bits": bits, "source": image.attrs.get("source")}

    def _prepared(self, image: xr.DataArray) -> tuple[xr.DataArray, dict[str, Any]]:
        # a 3-band scene is one 3-component codestream: its bands must share a chunk
        kw = self._settings(image)
        if image.sizes["band"] == 3 and is_dask(image) and len(image.data.chunks[0]) > 1:
            image = image.chunk({"band": -1})
        return image, kw


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
