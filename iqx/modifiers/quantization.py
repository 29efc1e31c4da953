"""Bit-depth reduction (:func:`quantize`) for 1- to 16-bit unsigned data."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.kernels.quantize import QUANTIZE_MODES, quantize_block
from iqx.modifiers._base import Modifier, check_choice, check_int, check_unsigned
from iqx.parallel import map_blocks_xr
from iqx.registry import register_modifier

__all__ = ["Quantize", "quantize"]


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
        src = check_unsigned("quantize", image)
        if self._params["bits"] > src:
            raise InvalidParameterError(
                f"quantize: bits must be in 1..{src} (the source bit depth), "
                f"got {self._params['bits']}"
            )

    def _out_dtype(self, image: xr.DataArray) -> np.dtype:
        if self._params["mode"] == "shift" and self._params["bits"] <= 8:
            return np.dtype(np.uint8)
        return np.dtype(image.dtype)

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        src = check_unsigned("quantize", image)
        dtype = self._out_dtype(image)
        return map_blocks_xr(
            quantize_block,
            image,
            dtype=dtype,
            kwargs={
                "bits": self._params["bits"],
                "source_bits": src,
                "mode": self._params["mode"],
                "out_dtype": dtype,
            },
        )

    def output_attrs(self, image: xr.DataArray) -> dict[str, Any]:
        attrs = super().output_attrs(image)
        if self._params["mode"] == "shift":
            attrs["bit_depth"] = self._params["bits"]
            nodata = attrs.get("nodata")
            if nodata is not None:
                src = check_unsigned("quantize", image)
                attrs["nodata"] = int(nodata) >> (src - self._params["bits"])
        return attrs


def quantize(image: Any = None, /, *, bits: int = 8, mode: str = "round") -> Any:
    """Reduce unsigned data of ``B`` bits (``attrs["bit_depth"]``, else the dtype) to ``bits``.

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
