"""Parameters and input checks of :func:`iqx.metrics.sharpness`: defaults, ranges, meaning.

``DEFAULTS`` is what :func:`iqx.metrics.sharpness` uses; ``PARAMETERS`` describes each one
for ``iqx list`` (the registration's ``params`` metadata). The ranges are the ones
:func:`_params` enforces. Also here: the output names and units, the direction classes,
the frequency grid of the MTF curves, the halo, and the dtype, nodata and mask checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.kernels.edges import candidate_reach
from iqx.parallel import as_scene

__all__: list[str] = []  # private: re-exported by iqx.metrics.sharpness

DEFAULTS: dict[str, Any] = {
    "cell": 16,
    "seeds_per_cell": 3,
    "seed_separation": 4,
    "coherence_radius": 2,
    "min_length": 8.0,
    "max_length": 64,
    "halfwidth": 5,
    "plateau": 2.0,
    "taper": 2.0,
    "oversampling": (8, 6, 5, 4, 3, 2),
    "min_snr": 6.0,
    "max_straightness": 0.5,
    "max_fit_rms": 0.5,
    "max_noise_ratio": 3.0,
    "max_plateau_slope": 0.06,
    "outlier_k": 5.0,
    "max_outlier_frac": 0.03,
    "max_tail": 0.25,
    "stop_ratio": 0.35,
    "max_turn": 25.0,
    "trim": 2.0,
    "direction_tolerance": 15.0,
    "n_boot": 500,
    "seed": 0,
}

_INFO: dict[str, tuple[str | None, str]] = {
    "method": ("{'iso', 'logistic'}", "ISO 12233-style ESF/LSF/MTF, or IQUAFLOW's logistic fit"),
    "mask": (None, "boolean validity mask (True = valid), (y, x) or (band, y, x)"),
    "cell": (">=1", "seed grid cell (px)"),
    "seeds_per_cell": (">=1", "seeds per cell"),
    "seed_separation": (">=1", "minimum distance between seeds of a cell (px)"),
    "coherence_radius": ("1..4", "structure-tensor window radius of the seed score (px)"),
    "min_length": ("5..max_length", "shortest edge segment (px)"),
    "max_length": (">=min_length", "longest edge segment (px)"),
    "halfwidth": (">=4", "ESF extent on each side of the edge (px)"),
    "plateau": ("(0, halfwidth)", "width of each plateau zone (px)"),
    "taper": ("(0, halfwidth)", "cosine taper of the LSF window (px)"),
    "oversampling": ("factors in 2..8", "ESF bins per px tried, finest first"),
    "min_snr": (">0", "edge SNR gate: contrast / plateau noise per pixel"),
    "max_straightness": (">0", "RMS distance of the traced edge from its line (px)"),
    "max_fit_rms": (">0", "RMS residual of the refined edge line (px)"),
    "max_noise_ratio": (">=1", "noise ratio allowed between the two sides"),
    "max_plateau_slope": (">0", "plateau trend allowed, fraction of the contrast"),
    "outlier_k": (">0", "outlier distance, in plateau noise"),
    "max_outlier_frac": ("0..1", "fraction of outlier pixels allowed in the ROI"),
    "max_tail": ("0..1", "LSF tail allowed beyond 3 sigma + 1.5 px, fraction of the peak"),
    "stop_ratio": ("0..1", "tracing stops below this fraction of the seed gradient"),
    "max_turn": ("0..90", "tracing stops when the edge turns more (deg)"),
    "trim": (">=0", "px trimmed at each end of a traced edge"),
    "direction_tolerance": ("(0, 45)", "half-width of the x and y direction classes (deg)"),
    "n_boot": (">=1", "bootstrap resamples of the CIs"),
    "seed": (None, "bootstrap seed"),
}

#: ``{name: {"default", "range", "doc"}}`` for the registry (``iqx list``).
PARAMETERS: dict[str, dict[str, Any]] = {
    name: {
        "default": (
            list(DEFAULTS[name])
            if isinstance(DEFAULTS.get(name), tuple)
            else DEFAULTS.get(name, "iso" if name == "method" else None)
        ),
        "range": rng,
        "doc": doc,
    }
    for name, (rng, doc) in _INFO.items()
}


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


def _params(kw: dict[str, Any]) -> dict[str, Any]:
    unknown = set(kw) - set(DEFAULTS)
    if unknown:
        raise InvalidParameterError(
            f"unknown sharpness parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    p = {**DEFAULTS, **kw}
    for key in ("cell", "max_length", "halfwidth", "n_boot", "seeds_per_cell", "seed_separation"):
        if isinstance(p[key], bool) or not isinstance(p[key], int | np.integer) or p[key] < 1:
            raise InvalidParameterError(f"{key} must be a positive integer, got {p[key]!r}")
    cr = p["coherence_radius"]
    if isinstance(cr, bool) or not isinstance(cr, int | np.integer) or not 1 <= cr <= 4:
        raise InvalidParameterError(f"coherence_radius must be an integer in [1, 4], got {cr!r}")
    if p["halfwidth"] < 4:
        raise InvalidParameterError(f"halfwidth must be >= 4 px, got {p['halfwidth']}")
    if not 0 < p["plateau"] < p["halfwidth"] or not 0 < p["taper"] < p["halfwidth"]:
        raise InvalidParameterError("plateau and taper must be in (0, halfwidth)")
    if p["min_length"] < 5 or p["min_length"] > p["max_length"]:
        raise InvalidParameterError(
            f"need 5 <= min_length <= max_length, got {p['min_length']}, {p['max_length']}"
        )
    os_ = tuple(int(o) for o in p["oversampling"])
    if not os_ or min(os_) < 2 or max(os_) > 8:
        raise InvalidParameterError(f"oversampling factors must be in [2, 8], got {os_}")
    p["oversampling"] = tuple(sorted(set(os_), reverse=True))
    if not 0 < p["direction_tolerance"] < 45:
        raise InvalidParameterError("direction_tolerance must be in (0, 45) degrees")
    return p


def sharpness_halo(**kw: Any) -> int:
    """Halo (px) a block needs so that every candidate of its core is measured whole."""
    p = _params(kw)
    return int(p["cell"] + candidate_reach(p["max_length"], p["halfwidth"]) + 4)


def _check_dtype(scene: xr.DataArray) -> None:
    kind = scene.dtype.kind
    if kind not in "uif":
        raise UnsupportedDtypeError(
            f"sharpness needs an integer or floating-point image, got dtype {scene.dtype}"
        )


def _nodata(scene: xr.DataArray) -> float | None:
    nd = scene.attrs.get("nodata")
    if nd is None:
        return None
    try:
        return float(nd)
    except (TypeError, ValueError):
        return None


def _mask_scene(scene: xr.DataArray, mask: Any) -> xr.DataArray | None:
    """The validity mask as a boolean ``(band, y, x)`` scene with the image's bands."""
    if mask is None:
        return None
    m = as_scene(mask)
    if m.sizes["y"] != scene.sizes["y"] or m.sizes["x"] != scene.sizes["x"]:
        raise InvalidParameterError(f"mask shape {m.shape} does not match the image {scene.shape}")
    if m.dtype != bool:
        raise InvalidParameterError(f"mask must be boolean (True = valid), got {m.dtype}")
    if m.sizes["band"] not in (1, scene.sizes["band"]):
        raise InvalidParameterError("mask must have 1 band or as many as the image")
    if m.sizes["band"] != scene.sizes["band"]:
        m = xr.concat([m] * scene.sizes["band"], dim="band")
    m = m.assign_coords(band=scene["band"].values)
    if hasattr(scene.data, "chunks") and not hasattr(m.data, "chunks"):
        m = m.chunk(dict(zip(scene.dims, scene.data.chunks, strict=True)))
    return m
