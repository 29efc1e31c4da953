"""Bit-depth reduction (:func:`quantize`) for 1- to 16-bit unsigned data."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.bitdepth import lazy_bit_depth, resolve_bit_depth
from iqx.errors import InvalidParameterError
from iqx.kernels.quantize import QUANTIZE_MODES, quantize_block
from iqx.modifiers._base import Modifier, check_choice, check_int, check_unsigned
from iqx.parallel import map_blocks_xr
from iqx.registry import register_modifier

__all__ = ["Quantize", "quantize"]


def _too_deep(bits: int, source_bits: int, name: str | None) -> InvalidParameterError:
    where = f" ({name})" if name else ""
    return InvalidParameterError(
        f"quantize: bits must be in 1..{source_bits} (the source bit depth{where}), got {bits}"
    )


def _quantize_chunk(
    block: np.ndarray,
    *,
    bits: int,
    source_bits: Any,
    mode: str,
    out_dtype: Any,
    source: str | None = None,
) -> np.ndarray:
    """:func:`quantize_block` once the source depth is known (it may be measured lazily)."""
    src = int(source_bits)
    if bits > src:
        raise _too_deep(bits, src, source)
    return quantize_block(block, bits=bits, source_bits=src, mode=mode, out_dtype=out_dtype)


@register_modifier(
    "quantize",
    summary="Bit-depth reduction (round and rescale, IQUAFLOW's low-bit mask, or shift).",
    chunk_invariant=True,
    references=("IQUAFLOW DSModifier_quant (mask mode)",),
)
class Quantize(Modifier):
    """Reduce the bit depth of unsigned data (see :func:`quantize`)."""

    id = "quantize"
    short = "quantize"
    abbrev: ClassVar[dict[str, str]] = {"bits": "b", "mode": "m"}
    always = ("bits",)

    def __init__(self, bits: int = 8, mode: str = "round") -> None:
        bits = check_int("quantize", "bits", bits, 1, 16)
        check_choice("quantize", "mode", mode, QUANTIZE_MODES)
        super().__init__(bits=bits, mode=mode)

    def check(self, image: xr.DataArray) -> None:
        check_unsigned("quantize", image)
        src, _ = lazy_bit_depth(image)
        if isinstance(src, int) and self._params["bits"] > src:
            raise _too_deep(self._params["bits"], src, image.attrs.get("source"))

    def _out_dtype(self, image: xr.DataArray) -> np.dtype:
        if self._params["mode"] == "shift" and self._params["bits"] <= 8:
            return np.dtype(np.uint8)
        return np.dtype(image.dtype)

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        check_unsigned("quantize", image)
        src, _ = lazy_bit_depth(image)  # declared, or measured lazily (iqx.bitdepth)
        dtype = self._out_dtype(image)
        return map_blocks_xr(
            _quantize_chunk,
            image,
            dtype=dtype,
            kwargs={
                "bits": self._params["bits"],
                "source_bits": src,
                "mode": self._params["mode"],
                "out_dtype": dtype,
                "source": image.attrs.get("source"),
            },
        )

    def output_attrs(self, image: xr.DataArray) -> dict[str, Any]:
        attrs = super().output_attrs(image)
        if self._params["mode"] == "shift":
            attrs["bit_depth"] = self._params["bits"]
            attrs["bit_depth_source"] = "metadata"
            nodata = attrs.get("nodata")
            if nodata is not None:
                src = resolve_bit_depth(image).bits
                attrs["nodata"] = int(nodata) >> (src - self._params["bits"])
        return attrs


def quantize(image: Any = None, /, *, bits: int = 8, mode: str = "round") -> Any:
    """Reduce unsigned data of ``B`` bits to ``bits``.

    ``B`` follows the bit-depth rule of :mod:`iqx.bitdepth`: an explicit or file-declared
    depth, else the effective depth measured from the data (lazily, with the result),
    else the dtype's width (uint8).

    Parameters
    ----------
    image : scene, optional
        uint8 or uint16 data. Without it, the configured :class:`Quantize` is returned.
    bits : int
        Target bit depth, 1..B.
    mode : {"round", "mask", "shift"}
        ``round`` (default): nearest of ``2**bits`` levels (halves up), rescaled back to the
        source range, so the output keeps dtype and bit depth and can be compared with the
        input directly. ``mask``: clear the ``B - bits`` low bits, no rescaling (IQUAFLOW's
        ``img & (0xFF << (8 - bits))`` for 8-bit data). ``shift``: ``v >> (B - bits)``, the
        values a ``bits``-bit sensor would deliver; ``attrs["bit_depth"] = bits`` and the
        dtype becomes uint8 when ``bits <= 8``.

    Raises
    ------
    InvalidParameterError
        ``bits`` outside 1..B or an unknown mode.
    UnsupportedDtypeError
        Float or signed data.
    """
    mod = Quantize(bits=bits, mode=mode)
    return mod if image is None else mod(image)
