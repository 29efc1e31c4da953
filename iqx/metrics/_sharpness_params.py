"""Tuning parameters of :func:`iqx.metrics.sharpness`: defaults, ranges and meaning.

``DEFAULTS`` is what :func:`iqx.metrics.sharpness` uses; ``PARAMETERS`` describes each one
for ``iqx list`` (the registration's ``params`` metadata). The ranges are the ones
``iqx.metrics.sharpness._params`` enforces.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULTS", "PARAMETERS"]

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
