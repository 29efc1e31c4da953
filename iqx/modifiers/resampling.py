"""Resampling to a zoom factor or a target GSD (:func:`resample`): the grid-changing modifier.

Each axis is resampled with Pillow's convolution resampling (coefficients from
:func:`iqx.kernels.resample.resample_coefficients`; pixel-area alignment, anti-aliased when
downsampling): the x axis first, then y, accumulating in float64 in tap order exactly like
Pillow does, so float32 results equal ``PIL.Image.resize`` on mode ``F`` images. Each output
chunk is computed (numba) from the input window its taps read
(:func:`iqx.parallel.map_regrid_xr`), with the same arithmetic as on the whole image, so the
result is identical for NumPy input and for any chunking, and memory stays bounded by a few
chunks (output chunks follow the input chunks, scaled). Integer outputs are rounded half to
even and clipped to the data range; ``nearest`` copies samples unchanged.

Georeferencing follows the grid: the affine ``transform``'s pixel terms are scaled by
``n_in / n_out`` per axis (the outer corner stays), ``x``/``y`` coordinates are recomputed at
the new pixel centres and ``attrs["gsd"]`` (if present) is scaled.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.kernels.resample import RESAMPLE_METHODS, resample_coefficients, resample_window
from iqx.modifiers._base import (
    Modifier,
    check_choice,
    check_float,
    check_numeric,
    clip_range,
    int_range,
)
from iqx.parallel import map_regrid_xr
from iqx.registry import register_modifier

__all__ = ["MAX_OUTPUT_PIXELS", "MAX_OUTPUT_SIDE", "Resample", "resample", "resample_to_shape"]

#: largest output side (pixels); beyond it the coefficient tables alone would exhaust memory
MAX_OUTPUT_SIDE = 1 << 20
#: largest output size per band (pixels): 2**36, e.g. 262144 x 262144
MAX_OUTPUT_PIXELS = 1 << 36


def check_output_shape(shape: tuple[int, int], image_shape: tuple[int, int]) -> None:
    """Raise :class:`InvalidParameterError` before any allocation if ``shape`` is not sane."""
    ny, nx = (int(v) for v in shape)
    if ny < 1 or nx < 1:
        raise InvalidParameterError(f"resample: output shape must be positive, got {shape}")
    if max(ny, nx) > MAX_OUTPUT_SIDE or ny * nx > MAX_OUTPUT_PIXELS:
        raise InvalidParameterError(
            f"resample: the output would be {ny} x {nx} px (input {image_shape[0]} x "
            f"{image_shape[1]}), beyond the limit of {MAX_OUTPUT_SIDE} px per side and "
            f"{MAX_OUTPUT_PIXELS} px per band; check factor= / gsd="
        )


def _tables(n_in: int, n_out: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    if n_in == n_out:  # Pillow skips an unchanged axis: identity taps give the same values
        return np.arange(n_in, dtype=np.int64)[:, None], np.ones((n_in, 1))
    return resample_coefficients(n_in, n_out, method)


def _new_coord(image: xr.DataArray, dim: str, n_out: int) -> np.ndarray | None:
    if dim not in image.coords or image.sizes[dim] < 2:
        return None
    c = np.asarray(image.coords[dim].values, dtype=np.float64)
    n_in = c.size
    step = (c[-1] - c[0]) / (n_in - 1)
    edge = c[0] - step / 2
    new_step = step * n_in / n_out
    return edge + new_step * (np.arange(n_out) + 0.5)


def resample_to_shape(
    image: xr.DataArray, shape: tuple[int, int], method: str = "area"
) -> xr.DataArray:
    """Resample a ``(band, y, x)`` scene to ``shape = (ny, nx)``; georeferencing updated.

    Attributes and history are copied unchanged except ``transform`` and ``gsd``.
    """
    check_choice("resample", "method", method, tuple(RESAMPLE_METHODS))
    ny, nx = image.sizes["y"], image.sizes["x"]
    check_output_shape(shape, (ny, nx))
    ny_out, nx_out = (int(v) for v in shape)
    tables = {"y": _tables(ny, ny_out, method), "x": _tables(nx, nx_out, method)}
    # negative taps (cubic, lanczos) overshoot: clip integers at the data's depth, measured
    # when undeclared (11-bit in uint16 stays <= 2047); convex taps cannot leave the range
    overshoots = any(bool((t[1] < 0).any()) for t in tables.values())
    lo, hi = clip_range(image) if overshoots else int_range(image)
    # one task per output chunk, on the input window its taps read (chunk-invariant)
    res = map_regrid_xr(
        resample_window, image, y=tables["y"], x=tables["x"], kwargs={"lo": lo, "hi": hi}
    ).data
    coords: dict[str, Any] = {}
    if "band" in image.coords:
        coords["band"] = image.coords["band"]
    for dim, n in (("y", ny_out), ("x", nx_out)):
        new = _new_coord(image, dim, n)
        if new is not None:
            coords[dim] = new
    attrs = dict(image.attrs)
    sx, sy = nx / nx_out, ny / ny_out
    tr = attrs.get("transform")
    if tr is not None:
        a, b, c, d, e, f = (float(v) for v in tuple(tr)[:6])
        attrs["transform"] = (a * sx, b * sy, c, d * sx, e * sy, f)
        if "x" in coords and b == 0 and d == 0:
            coords["x"] = c + a * sx * (np.arange(nx_out) + 0.5)
            coords["y"] = f + e * sy * (np.arange(ny_out) + 0.5)
    if attrs.get("gsd") is not None:
        attrs["gsd"] = float(attrs["gsd"]) * sx
    return xr.DataArray(res, dims=image.dims, coords=coords, name=image.name, attrs=attrs)


@register_modifier(
    "resample",
    summary="Down/up-sampling by factor or target GSD (nearest, area, bilinear, cubic, lanczos).",
    chunk_invariant=True,
    changes_grid=True,
    references=("Pillow ImagingResample (convolution resampling)",),
)
class Resample(Modifier):
    """Resample to a zoom factor or target GSD (see :func:`resample`)."""

    id = "resample"
    short = "resample"
    abbrev: ClassVar[dict[str, str]] = {
        "factor": "f",
        "gsd": "gsd",
        "source_gsd": "from",
        "method": "m",
    }
    always = ("factor", "gsd")
    changes_grid = True

    def __init__(
        self,
        factor: float | None = None,
        gsd: float | None = None,
        source_gsd: float | None = None,
        method: str = "area",
    ) -> None:
        if (factor is None) == (gsd is None):
            raise InvalidParameterError(
                f"resample: give exactly one of factor= or gsd=, got factor={factor!r}, gsd={gsd!r}"
            )
        if factor is not None:
            factor = check_float("resample", "factor", factor, 0.0, lo_open=True)
        if gsd is not None:
            gsd = check_float("resample", "gsd", gsd, 0.0, lo_open=True)
        if source_gsd is not None:
            source_gsd = check_float("resample", "source_gsd", source_gsd, 0.0, lo_open=True)
        check_choice("resample", "method", method, tuple(RESAMPLE_METHODS))
        super().__init__(factor=factor, gsd=gsd, source_gsd=source_gsd, method=method)

    def factors(self, image: xr.DataArray) -> tuple[float, float]:
        """Zoom factors ``(fy, fx)`` for ``image`` (from ``factor`` or GSD ratio)."""
        p = self._params
        if p["factor"] is not None:
            return p["factor"], p["factor"]
        if p["source_gsd"] is not None:
            return p["source_gsd"] / p["gsd"], p["source_gsd"] / p["gsd"]
        tr = image.attrs.get("transform")
        if tr is not None:
            a, b, _, d, e, _ = (float(v) for v in tuple(tr)[:6])
            gx, gy = float(np.hypot(a, d)), float(np.hypot(b, e))
            if gx > 0 and gy > 0:
                return gy / p["gsd"], gx / p["gsd"]
        if image.attrs.get("gsd"):
            g = float(image.attrs["gsd"])
            return g / p["gsd"], g / p["gsd"]
        raise InvalidParameterError(
            "resample: gsd= needs the source GSD: the scene has no transform or 'gsd' attribute; "
            "pass source_gsd="
        )

    def output_shape(self, image: xr.DataArray) -> tuple[int, int]:
        """``(ny, nx)`` of the result: ``max(1, round(n * factor))`` per axis."""
        fy, fx = self.factors(image)
        ny, nx = image.sizes["y"], image.sizes["x"]
        # bound the product before rounding (a huge float would make a huge int)
        limit = float(MAX_OUTPUT_SIDE) + 1
        shape = (max(1, round(min(ny * fy, limit))), max(1, round(min(nx * fx, limit))))
        if max(ny * fy, nx * fx) >= limit:
            raise InvalidParameterError(
                f"resample: the output would be about {ny * fy:.3g} x {nx * fx:.3g} px (input "
                f"{ny} x {nx}), beyond the limit of {MAX_OUTPUT_SIDE} px per side; check "
                "factor= / gsd="
            )
        check_output_shape(shape, (ny, nx))
        return shape

    def check(self, image: xr.DataArray) -> None:
        check_numeric("resample", image)
        int_range(image)
        self.output_shape(image)

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        return resample_to_shape(image, self.output_shape(image), self._params["method"])


def resample(
    image: Any = None,
    /,
    *,
    factor: float | None = None,
    gsd: float | None = None,
    source_gsd: float | None = None,
    method: str = "area",
) -> Any:
    """Resample a scene by a zoom ``factor`` or to a target ``gsd``.

    Parameters
    ----------
    image : scene, optional
        Numeric data. Without it, the configured :class:`Resample` is returned.
    factor : float, optional
        Output pixels per input pixel along each axis (0.5 halves the size, 2 doubles it).
        Output size is ``max(1, round(n * factor))``; the transform uses the exact
        ``n_in / n_out`` ratio.
    gsd : float, optional
        Target ground sample distance, in the CRS unit of the transform (or of
        ``source_gsd``). Factor per axis = source GSD / ``gsd``.
    source_gsd : float, optional
        GSD of the input when the scene has no transform (IQUAFLOW's ``resol``).
    method : {"area", "nearest", "bilinear", "cubic", "lanczos"}
        ``area`` (default) averages the covered source area (a box filter, for any factor);
        the others are Pillow's filters (anti-aliased when downsampling).
    """
    mod = Resample(factor=factor, gsd=gsd, source_gsd=source_gsd, method=method)
    return mod if image is None else mod(image)
