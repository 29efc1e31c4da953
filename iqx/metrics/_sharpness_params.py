"""Parameters and input checks of :func:`iqx.metrics.sharpness`: defaults, ranges, meaning.

:class:`SharpnessOptions` is the one definition of the options (defaults, ranges, units,
checks, derived halo): the registration (``iqx list``), the result attrs and MLflow read
it. ``DEFAULTS`` is a read-only view of its defaults, kept for code that reads it. Also
here: the output names and units, the direction classes, the frequency grid of the MTF
curves, and the dtype, nodata and mask checks.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.kernels.edges import candidate_reach
from iqx.metrics._options import Options, option
from iqx.metrics._validity import check_mask, scene_nodata

__all__: list[str] = []  # private: re-exported by iqx.metrics.sharpness

OUTPUTS = ("rer", "fwhm", "mtf_nyquist", "mtf_half_nyquist", "mtf50")
UNITS = {
    "rer": "1",
    "fwhm": "pixel",
    "mtf_nyquist": "1",
    "mtf_half_nyquist": "1",
    "mtf50": "cycles/pixel",
    "n_edges": "count",
}
DIRECTIONS = ("x", "y", "other", "all")
FREQS = np.round(np.arange(0.0, 1.0 + 1e-9, 0.01), 10)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SharpnessOptions(Options):
    """Options of :func:`iqx.metrics.sharpness` (seed grid, tracing, ESF gates, statistics).

    Checked once on construction (bounds per field, cross-field rules in :meth:`validate`);
    ``oversampling`` is stored de-duplicated and finest first. The halo and the other
    quantities derived from the options are properties.
    """

    metric = "sharpness"

    cell: int = option(16, doc="Seed grid cell.", type="int", unit="px", range=">=1")
    seeds_per_cell: int = option(3, doc="Seeds per cell.", type="int", range=">=1")
    seed_separation: int = option(
        4, doc="Minimum distance between seeds of a cell.", type="int", unit="px", range=">=1"
    )
    coherence_radius: int = option(
        2,
        doc="Structure-tensor window radius of the seed score.",
        type="int",
        unit="px",
        range="1..4",
    )
    min_length: float = option(
        8.0, doc="Shortest edge segment.", type="float", unit="px", range="5..max_length"
    )
    max_length: int = option(
        64, doc="Longest edge segment.", type="int", unit="px", range=">=min_length"
    )
    halfwidth: int = option(
        5, doc="ESF extent on each side of the edge.", type="int", unit="px", range=">=4"
    )
    plateau: float = option(
        2.0, doc="Width of each plateau zone.", type="float", unit="px", range="(0, halfwidth)"
    )
    taper: float = option(
        2.0, doc="Cosine taper of the LSF window.", type="float", unit="px", range="(0, halfwidth)"
    )
    oversampling: tuple[int, ...] = option(
        (8, 6, 5, 4, 3, 2),
        doc="ESF bins per px tried, finest first.",
        type="tuple of int",
        range="factors in 2..8",
    )
    min_snr: float = option(
        6.0, doc="Edge SNR gate: contrast / plateau noise per pixel.", type="float", unit="1", gt=0
    )
    max_straightness: float = option(
        0.5, doc="RMS distance of the traced edge from its line.", type="float", unit="px", gt=0
    )
    max_fit_rms: float = option(
        0.5, doc="RMS residual of the refined edge line.", type="float", unit="px", gt=0
    )
    max_noise_ratio: float = option(
        3.0, doc="Noise ratio allowed between the two sides.", type="float", unit="1", ge=1
    )
    max_plateau_slope: float = option(
        0.06, doc="Plateau trend allowed, fraction of the contrast.", type="float", unit="1", gt=0
    )
    outlier_k: float = option(
        5.0, doc="Outlier distance, in plateau noise.", type="float", unit="1", gt=0
    )
    max_outlier_frac: float = option(
        0.03,
        doc="Fraction of outlier pixels allowed in the ROI.",
        type="float",
        unit="1",
        ge=0,
        le=1,
        range="0..1",
    )
    max_tail: float = option(
        0.25,
        doc="LSF tail allowed beyond 3 sigma + 1.5 px, fraction of the peak.",
        type="float",
        unit="1",
        ge=0,
        le=1,
        range="0..1",
    )
    stop_ratio: float = option(
        0.35,
        doc="Tracing stops below this fraction of the seed gradient.",
        type="float",
        unit="1",
        ge=0,
        le=1,
        range="0..1",
    )
    max_turn: float = option(
        25.0,
        doc="Tracing stops when the edge turns more.",
        type="float",
        unit="deg",
        ge=0,
        le=90,
        range="0..90",
    )
    trim: float = option(
        2.0, doc="Pixels trimmed at each end of a traced edge.", type="float", unit="px", ge=0
    )
    direction_tolerance: float = option(
        15.0,
        doc="Half-width of the x and y direction classes.",
        type="float",
        unit="deg",
        range="(0, 45)",
    )
    n_boot: int = option(500, doc="Bootstrap resamples of the CIs.", type="int", range=">=1")
    seed: int = option(0, doc="Bootstrap seed.", type="int")
    # last, so that the ``parameters`` attr lists the fields in their historical order
    method: str = option(
        "iso",
        doc="ISO 12233-style ESF/LSF/MTF, or IQUAFLOW's logistic fit.",
        type='{"iso", "logistic"}',
        choices=("iso", "logistic"),
    )

    def validate(self) -> None:
        """Integer fields, ``halfwidth``-relative widths, lengths, oversampling, tolerance."""
        for key in _POSITIVE_INTS:
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise InvalidParameterError(f"{key} must be a positive integer, got {v!r}")
        cr = self.coherence_radius
        if isinstance(cr, bool) or not isinstance(cr, int | np.integer) or not 1 <= cr <= 4:
            raise InvalidParameterError(
                f"coherence_radius must be an integer in [1, 4], got {cr!r}"
            )
        if self.halfwidth < 4:
            raise InvalidParameterError(f"halfwidth must be >= 4 px, got {self.halfwidth}")
        hw = self.halfwidth
        if not 0 < self.plateau < hw or not 0 < self.taper < hw:
            raise InvalidParameterError("plateau and taper must be in (0, halfwidth)")
        if self.min_length < 5 or self.min_length > self.max_length:
            raise InvalidParameterError(
                f"need 5 <= min_length <= max_length, got {self.min_length}, {self.max_length}"
            )
        os_ = tuple(int(o) for o in self.oversampling)
        if not os_ or min(os_) < 2 or max(os_) > 8:
            raise InvalidParameterError(f"oversampling factors must be in [2, 8], got {os_}")
        object.__setattr__(self, "oversampling", tuple(sorted(set(os_), reverse=True)))
        if not 0 < self.direction_tolerance < 45:
            raise InvalidParameterError("direction_tolerance must be in (0, 45) degrees")

    # -- derived ---------------------------------------------------------------------------
    @property
    def halo(self) -> int:
        """Halo (px) a block needs so that every candidate of its core is measured whole."""
        return int(self.cell + candidate_reach(self.max_length, self.halfwidth) + 4)

    @property
    def nms_reach(self) -> float:
        """Largest centre distance of two overlapping measurements (half-lengths <= L/2)."""
        return math.hypot(float(self.max_length), float(self.halfwidth)) + 1.0

    @property
    def map_context(self) -> int:
        """Width (px) of the ring of neighbouring cells a map tile also measures, so that an
        edge centred in the tile is found whatever cell seeds it and is de-duplicated
        against the overlapping measurements of its neighbours."""
        return math.ceil(self.nms_reach + self.max_length / 2.0 + 8.0)

    @property
    def patch_size(self) -> int:
        """Side (px) of one edge patch: the smallest image that can hold a measurement."""
        return 2 * (self.halfwidth + 3) + 1

    def as_dict(self) -> dict[str, Any]:
        """``{name: value}`` in field order (tuples kept; the result's ``params``)."""
        return {name: getattr(self, name) for name in self.names()}


_POSITIVE_INTS = ("cell", "max_length", "halfwidth", "n_boot", "seeds_per_cell", "seed_separation")

#: Tuning defaults (read-only view of :class:`SharpnessOptions`; ``method`` excluded).
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {f.name: f.default for f in dataclasses.fields(SharpnessOptions) if f.name != "method"}
)

#: ``mask`` is an input, not an option: its entry for ``iqx list``.
PARAMETERS: dict[str, dict[str, Any]] = {
    "mask": {
        "default": None,
        "range": None,
        "doc": "boolean validity mask (True = valid), (y, x) or (band, y, x)",
    },
}


def _options(method: str, kw: dict[str, Any]) -> SharpnessOptions:
    """The options of one call: ``method`` plus the tuning keywords (unknown names raise)."""
    if method not in ("iso", "logistic"):
        raise InvalidParameterError(f"method must be 'iso' or 'logistic', got {method!r}")
    if "method" in kw:
        raise InvalidParameterError("method is given twice")
    unknown = set(kw) - set(DEFAULTS)
    if unknown:
        raise InvalidParameterError(
            f"unknown sharpness parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    return SharpnessOptions(method=method, **kw)


def sharpness_halo(**kw: Any) -> int:
    """Halo (px) a block needs so that every candidate of its core is measured whole.

    Parameters
    ----------
    **kw
        Any :func:`iqx.metrics.sharpness` option, ``method`` included (``mask``, ``tile``
        and ``compute`` are accepted and ignored); unknown names raise.

    Returns
    -------
    int
        :attr:`SharpnessOptions.halo`.
    """
    return SharpnessOptions.from_kwargs(ignore=("mask", "tile", "compute"), **kw).halo


def _check_dtype(scene: xr.DataArray) -> None:
    kind = scene.dtype.kind
    if kind not in "uif":
        raise UnsupportedDtypeError(
            f"sharpness needs an integer or floating-point image, got dtype {scene.dtype}"
        )


def _nodata(scene: xr.DataArray) -> float | None:
    """``attrs["nodata"]`` by the shared rule (:func:`iqx.metrics._validity.scene_nodata`)."""
    return scene_nodata(scene)


def _mask_scene(scene: xr.DataArray, mask: Any) -> xr.DataArray | None:
    """The validity mask as a boolean ``(band, y, x)`` scene with the image's bands.

    Checked by the shared rule (:func:`iqx.metrics._validity.check_mask`: boolean,
    ``(y, x)`` or ``(band, y, x)`` with 1 band or as many as the image), chunked like a
    dask-backed image.
    """
    if mask is None:
        return None
    data = check_mask(mask, tuple(scene.shape))
    m = xr.DataArray(data, dims=("band", "y", "x"), coords={"band": scene["band"].values})
    if hasattr(scene.data, "chunks") and not hasattr(data, "chunks"):
        m = m.chunk(dict(zip(scene.dims, scene.data.chunks, strict=True)))
    return m
