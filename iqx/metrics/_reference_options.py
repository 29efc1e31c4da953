"""Typed options of the full-reference metrics (SSIM family, PSNR, ERGAS, SAM, maps).

Each is a frozen :class:`~iqx.metrics._options.Options`: defaults, ranges and units are
declared once here, checked once on construction, and read by the registration
(``iqx list``), the result attrs (``iqx_params``) and MLflow. Derived quantities of the SSIM
window (weights, halo, covariance normalisation) are properties, so the registered halo
and the computation cannot disagree.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

from iqx.errors import InvalidParameterError
from iqx.kernels.similarity import (
    gaussian_window,
    sample_cov_norm,
    ssim_constants,
    uniform_window,
    window_radius,
)
from iqx.metrics._options import Options, option

__all__ = [
    "WANG2003_WEIGHTS",
    "ErgasOptions",
    "MSSSIMOptions",
    "PSNRMapOptions",
    "PSNROptions",
    "SAMOptions",
    "SSIMMapOptions",
    "SSIMOptions",
    "tile_pair",
]

#: MS-SSIM scale weights of Wang, Simoncelli & Bovik (2003), finest scale first.
WANG2003_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

_DATA_RANGE_DOC = (
    "Dynamic range L (default: 2**B - 1 of the pair's bit depth; required for float images)."
)


def _data_range() -> Any:
    return option(None, doc=_DATA_RANGE_DOC, type="float, optional", unit="DN", gt=0)


def tile_pair(tile: Any) -> tuple[int, int]:
    """``tile`` (an int or ``(ty, tx)``) as two pixel counts >= 1."""
    ty, tx = (tile, tile) if isinstance(tile, int | np.integer) else tuple(tile)
    if int(ty) < 1 or int(tx) < 1:
        raise InvalidParameterError(f"tile must be >= 1 pixel, got {tile!r}")
    return int(ty), int(tx)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SSIMOptions(Options):
    """Options of :func:`iqx.metrics.ssim` (window, constants, covariance, data range)."""

    metric = "ssim"

    data_range: float | None = _data_range()
    window: str = option(
        "gaussian",
        doc="Gaussian weights (Wang 2004) or a uniform box (skimage's default).",
        type='{"gaussian", "uniform"}',
        choices=("gaussian", "uniform"),
    )
    sigma: float = option(1.5, doc="Gaussian window sigma.", type="float", unit="px", gt=0)
    truncate: float = option(
        3.5, doc="Gaussian window half-width, in sigmas.", type="float", unit="sigma", gt=0
    )
    win_size: int = option(
        7, doc="Side of the uniform window.", type="int, odd", unit="px", range=">=3, odd"
    )
    k1: float = option(0.01, doc="C1 = (k1 L)^2.", type="float", unit="1", ge=0)
    k2: float = option(0.03, doc="C2 = (k2 L)^2.", type="float", unit="1", ge=0)
    sample_covariance: bool | None = option(
        None,
        doc="Sample (N-1) covariance; default: True for uniform, False for gaussian.",
        type="bool, optional",
    )

    def validate(self) -> None:
        """``win_size`` must be an odd integer >= 3 when the uniform window uses it."""
        w = self.win_size
        if self.window == "uniform" and (int(w) != w or w < 3 or w % 2 == 0):
            raise InvalidParameterError(f"win_size must be an odd integer >= 3, got {w}")

    # -- derived ---------------------------------------------------------------------------
    @functools.cached_property
    def window_weights(self) -> np.ndarray:
        """The separable 1-D window (normalised)."""
        if self.window == "gaussian":
            return gaussian_window(self.sigma, self.truncate)
        return uniform_window(int(self.win_size))

    @property
    def side(self) -> int:
        """Window side in pixels (11 for the default Gaussian)."""
        return len(self.window_weights)

    @property
    def halo(self) -> int:
        """Pixels of neighbourhood per side (the window radius, skimage's ``crop``)."""
        return window_radius(self.window_weights)

    @property
    def description(self) -> str:
        """``gaussian(sigma=1.5, truncate=3.5)`` or ``uniform(size=7)`` (the ``window`` attr)."""
        if self.window == "gaussian":
            return f"gaussian(sigma={self.sigma:g}, truncate={self.truncate:g})"
        return f"uniform(size={int(self.win_size)})"

    @property
    def sample(self) -> bool:
        """Whether the sample (N-1) covariance is used."""
        if self.sample_covariance is not None:
            return bool(self.sample_covariance)
        return self.window == "uniform"

    @property
    def covariance(self) -> str:
        """``"sample"`` or ``"population"`` (the ``covariance`` attr)."""
        return "sample" if self.sample else "population"

    @functools.cached_property
    def cov_norm(self) -> float:
        """The covariance normalisation (1 for the population covariance)."""
        return sample_cov_norm(self.window_weights) if self.sample else 1.0

    def constants(self, data_range: float) -> tuple[float, float]:
        """``(C1, C2)`` for the dynamic range ``data_range``."""
        return ssim_constants(data_range, self.k1, self.k2)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MSSSIMOptions(SSIMOptions):
    """Options of :func:`iqx.metrics.ms_ssim`: :class:`SSIMOptions` plus scale weights."""

    metric = "ms_ssim"

    weights: tuple[float, ...] = option(
        WANG2003_WEIGHTS,
        doc="Per-scale exponents, finest first (their number is the number of scales).",
        type="sequence of float",
        unit="1",
        range=">=0 each",
    )

    def validate(self) -> None:
        """Scale weights: a non-empty 1-D sequence of values >= 0 (stored as a tuple)."""
        super().validate()
        w = np.asarray(self.weights, dtype=np.float64)
        if w.ndim != 1 or len(w) < 1 or np.any(w < 0):
            raise InvalidParameterError(
                f"weights must be a non-empty sequence of >= 0, got {self.weights}"
            )
        object.__setattr__(self, "weights", tuple(float(x) for x in w))

    @property
    def scales(self) -> int:
        """Number of scales."""
        return len(self.weights)

    @property
    def min_side(self) -> int:
        """Smallest image side the coarsest scale still fits the window in."""
        return self.side * 2 ** (self.scales - 1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SSIMMapOptions(SSIMOptions):
    """Options of :func:`iqx.metrics.ssim_map`: :class:`SSIMOptions` plus ``tile``."""

    metric = "ssim_map"

    tile: int | tuple[int, int] | None = option(
        None, doc="Tile (pixels, int or (ty, tx)) of the coarse map; None: per pixel.", unit="px"
    )

    def validate(self) -> None:
        """``tile`` is None or pixel counts >= 1 (stored as ``(ty, tx)``)."""
        super().validate()
        if self.tile is not None:
            object.__setattr__(self, "tile", tile_pair(self.tile))


@dataclasses.dataclass(frozen=True, kw_only=True)
class PSNROptions(Options):
    """Options of :func:`iqx.metrics.psnr`."""

    metric = "psnr"

    data_range: float | None = _data_range()


@dataclasses.dataclass(frozen=True, kw_only=True)
class PSNRMapOptions(PSNROptions):
    """Options of :func:`iqx.metrics.psnr_map`: :class:`PSNROptions` plus ``tile``."""

    metric = "psnr_map"

    tile: int | tuple[int, int] = option(
        dataclasses.MISSING, doc="Tile (pixels, int or (ty, tx)) of the coarse map.", unit="px"
    )

    def validate(self) -> None:
        """``tile``: pixel counts >= 1 (stored as ``(ty, tx)``)."""
        object.__setattr__(self, "tile", tile_pair(self.tile))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ErgasOptions(Options):
    """Options of :func:`iqx.metrics.ergas`."""

    metric = "ergas"

    ratio: float = option(
        dataclasses.MISSING,
        doc="h / l: high-resolution pixel size over low-resolution pixel size (e.g. 0.25).",
        type="float",
        unit="1",
        range=">0",
    )

    def validate(self) -> None:
        """``ratio`` is a finite number > 0 (stored as float)."""
        r = self.ratio
        if not (isinstance(r, int | float) and r > 0 and math.isfinite(r)):
            raise InvalidParameterError(f"ratio (h/l pixel-size ratio) must be > 0, got {r!r}")
        object.__setattr__(self, "ratio", float(r))


@dataclasses.dataclass(frozen=True, kw_only=True)
class SAMOptions(Options):
    """Options of :func:`iqx.metrics.sam`."""

    metric = "sam"

    unit: str = option(
        "degrees",
        doc="Unit of the angle.",
        type='{"degrees", "radians"}',
        choices=("degrees", "radians"),
    )
