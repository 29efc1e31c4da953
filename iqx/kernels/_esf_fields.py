"""Field constants of the slanted-edge kernel: result columns, status codes, frequency grid.

Numba reads module-level integers as compile-time constants, so ``res[k, C_RER]`` costs
the same as ``res[k, 15]``.
"""

from __future__ import annotations

__all__ = ["RES_FIELDS", "STATUS"]

#: Reason codes of the per-edge ``status`` column.
STATUS = {
    0: "ok",
    1: "too_short",
    2: "not_straight",
    3: "border",
    4: "nodata",
    5: "fit_failed",
    6: "too_few_phases",
    7: "low_contrast",
    8: "low_snr",
    9: "not_homogeneous",
    10: "not_flat",
    11: "not_isolated",
    12: "no_lsf",
    13: "not_step",
}

#: Columns of the result array of :func:`measure_candidates`.
RES_FIELDS = (
    "status",
    "cy",  # refined centre, relative to the seed
    "cx",
    "ty",
    "tx",
    "half_length",
    "fit_rms",
    "delta",  # ESF bin width (px)
    "low",
    "high",
    "contrast",
    "noise",
    "edge_snr",
    "x50",
    "sigma_est",
    "rer",
    "fwhm",
    "mtf_half_nyquist",
    "mtf_nyquist",
    "mtf50",
    "n_pixels",
    "mtf_nyquist_signed",  # debiased power not clipped at 0: sign(p) sqrt(|p|)
    "otf_nyquist_re",  # corrected OTF at 0.5 cy/px (phase at the ESF 50 % point), real part
    "otf_nyquist_im",  # imaginary part
    "noise_power_nyquist",  # noise power of that OTF value (its expected |.|^2 bias)
)
_NF = len(RES_FIELDS)

#: Column index of each :data:`RES_FIELDS` name.
C_STATUS, C_CY, C_CX, C_TY, C_TX, C_HALF_LENGTH, C_FIT_RMS, C_DELTA = range(8)
C_LOW, C_HIGH, C_CONTRAST, C_NOISE, C_EDGE_SNR, C_X50, C_SIGMA_EST, C_RER = range(8, 16)
C_FWHM, C_MTF_HALF_NYQUIST, C_MTF_NYQUIST, C_MTF50, C_N_PIXELS = range(16, 21)
C_MTF_NYQUIST_SIGNED, C_OTF_NYQUIST_RE, C_OTF_NYQUIST_IM, C_NOISE_POWER_NYQUIST = range(21, 25)

#: Status codes (keys of :data:`STATUS`).
S_OK, S_TOO_SHORT, S_NOT_STRAIGHT, S_BORDER, S_NODATA, S_FIT_FAILED = range(6)
S_TOO_FEW_PHASES, S_LOW_CONTRAST, S_LOW_SNR, S_NOT_HOMOGENEOUS, S_NOT_FLAT = range(6, 11)
S_NOT_ISOLATED, S_NO_LSF, S_NOT_STEP = range(11, 14)

_DF = 0.025  # step of the regular frequency grid of the per-edge OTF (cy/px)
#: Indices of half Nyquist (0.25 cy/px) and Nyquist (0.5 cy/px) on the ``_DF`` grid.
Q_HALF_NYQUIST = round(0.25 / _DF)
Q_NYQUIST = round(0.5 / _DF)

# the names above must match RES_FIELDS and STATUS (checked once, at import)
_C = [v for k, v in sorted(globals().items()) if k.startswith("C_")]
assert sorted(_C) == list(range(len(RES_FIELDS)))
assert all(globals()["C_" + name.upper()] == i for i, name in enumerate(RES_FIELDS)), (
    "column constants out of step with RES_FIELDS"
)
assert all(globals()["S_" + name.upper()] == i for i, name in STATUS.items())
del _C
