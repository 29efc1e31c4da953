"""The General Image Quality Equation (GIQE): NIIRS from GSD, RER, overshoot and SNR.

Pure functions of the published equations, vectorised over NumPy arrays (scalars in,
NumPy floats out). No measurement here: :mod:`iqx.metrics.niirs` feeds them with what iqx
measures. Units follow the publications: **GSD in inches** (``gsd_in``; 1 in = 0.0254 m
exactly, :data:`INCH`), elevation angles in degrees (90 = nadir), RER, overshoot ``H``, noise
gain ``G`` and SNR unitless.

GIQE 3 (Leachtenauer et al. 1997, citing the 1994 version; IBSM eq. 3-56)::

    NIIRS = 11.81 + 3.32 log10(RER_GM / GSD_GM) - 1.48 H_GM - G / SNR

GIQE 4 (Leachtenauer, Malila, Irvine, Colburn & Salvaggio 1997, Appl. Opt. 36(32):8322)::

    NIIRS = 10.251 - a log10(GSD_GM) + b log10(RER_GM) - 0.656 H_GM - 0.344 G / SNR
    a, b = 3.32, 1.559 if RER_GM >= 0.9 else 3.16, 2.817

GIQE 5 (NGA, "General Image Quality Equation version 5.0", 16 Sep 2015, public release)::

    NIIRS = 9.57 - 3.32 log10(GSD_W) + 3.32 (1 - exp(-1.9 / SNR)) log10(RER)
            - 2 log10(RER)**4 - 1.8 / SNR

with ``RER = (RER_max * RER_min**2) ** (1/3)`` of the two orthogonal RERs and
``GSD_W = GSD / sin(elevation) ** 0.25`` (the geometric mean of the image-plane and
ground-plane GSD). GIQE 4 projects the GSD with ``sin(elevation) ** 0.5`` (only one
direction is stretched by an oblique view); GIQE 3 has no elevation term.

These are the forms of Kitware's pyBSM (``pybsm.metrics.functional.giqe3/4/5``), against
which ``tests/test_metrics/test_giqe.py`` checks them to 1e-9 on a grid of inputs, with one
documented difference: pyBSM 0.16.1 writes GIQE 4's noise coefficient as 0.334, the paper
(and other implementations) 0.344. :func:`giqe4` uses the published 0.344 by default and
takes ``noise_coefficient=0.334`` to reproduce pyBSM.

Domain of validity: visible-band imagery, NIIRS about 2-7; the standard error of the
equations themselves is about 0.3 NIIRS (GIQE 4: 0.3; GIQE 5 is of the same order).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from iqx.errors import InvalidParameterError

__all__ = [
    "GIQE_SE",
    "GIQE_VERSIONS",
    "INCH",
    "giqe",
    "giqe3",
    "giqe4",
    "giqe5",
    "giqe5_rer",
    "metres_to_inches",
    "projected_gsd",
]

#: metres per inch (exact, by definition)
INCH = 0.0254
#: the versions :func:`giqe` knows
GIQE_VERSIONS = (3, 4, 5)
#: published standard error of prediction of the equations (NIIRS units)
GIQE_SE = 0.3


def metres_to_inches(gsd_m: Any) -> Any:
    """GSD in metres -> inches (the GIQE's unit)."""
    return np.asarray(gsd_m, dtype=np.float64) / INCH


def projected_gsd(gsd_in: Any, elevation_deg: Any = 90.0, exponent: float = 0.5) -> Any:
    """``gsd / sin(elevation) ** exponent``: GIQE 4 uses 0.5, GIQE 5 uses 0.25.

    Parameters
    ----------
    gsd_in : float or array
        Image-plane (nadir-equivalent) geometric-mean GSD, inches.
    elevation_deg : float or array
        Sensor elevation angle seen from the target, degrees (90 = nadir).
    exponent : float
        Power of ``sin(elevation)``.
    """
    elev = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    return np.asarray(gsd_in, dtype=np.float64) / np.sin(elev) ** exponent


def giqe3(rer: Any, gsd_in: Any, h: Any = 1.0, g: Any = 1.0, snr: Any = np.inf) -> Any:
    """GIQE 3: ``11.81 + 3.32 log10(RER/GSD) - 1.48 H - G/SNR``.

    Parameters
    ----------
    rer : float or array
        Geometric-mean relative edge response ``sqrt(RER_x RER_y)``.
    gsd_in : float or array
        Geometric-mean GSD, inches.
    h : float or array
        Geometric-mean edge overshoot (1 without sharpening).
    g : float or array
        Noise gain of the sharpening (MTFC) kernel (1 without sharpening).
    snr : float or array
        Contrast signal-to-noise ratio.

    Returns
    -------
    float or ndarray
        NIIRS.
    """
    rer, gsd_in, h, g, snr = _f8(rer, gsd_in, h, g, snr)
    return _out(11.81 + 3.32 * np.log10(rer / gsd_in) - 1.48 * h - g / snr)


def giqe4(
    rer: Any,
    gsd_in: Any,
    h: Any = 1.0,
    g: Any = 1.0,
    snr: Any = np.inf,
    elevation_deg: Any = 90.0,
    *,
    noise_coefficient: float = 0.344,
) -> Any:
    """GIQE 4 (Leachtenauer et al. 1997), with the GSD projected by ``sin(elev) ** 0.5``.

    Parameters
    ----------
    rer : float or array
        Geometric-mean relative edge response; ``a, b = 3.32, 1.559`` when ``rer >= 0.9``,
        else ``3.16, 2.817``.
    gsd_in : float or array
        Image-plane geometric-mean GSD, inches.
    h : float or array
        Geometric-mean edge overshoot: the peak of the edge response 1-3 px from the edge
        (0.25-px steps), or its value at 1.25 px when it rises monotonically.
    g : float or array
        Noise gain of the MTFC kernel (1 without sharpening).
    snr : float or array
        Contrast signal-to-noise ratio (before MTFC: the noise term is ``G / SNR``).
    elevation_deg : float or array
        Sensor elevation angle, degrees (90 = nadir).
    noise_coefficient : float
        0.344 as published; 0.334 reproduces pyBSM 0.16.1.

    Returns
    -------
    float or ndarray
        NIIRS.
    """
    rer, gsd_in, h, g, snr = _f8(rer, gsd_in, h, g, snr)
    a = np.where(rer >= 0.9, 3.32, 3.16)
    b = np.where(rer >= 0.9, 1.559, 2.817)
    gsd_gp = projected_gsd(gsd_in, elevation_deg, 0.5)
    out = (
        10.251 - a * np.log10(gsd_gp) + b * np.log10(rer) - 0.656 * h - noise_coefficient * g / snr
    )
    return _out(out)


def giqe5_rer(rer_1: Any, rer_2: Any) -> Any:
    """GIQE 5's combined RER, ``(max * min**2) ** (1/3)`` of two orthogonal RERs."""
    r1, r2 = _f8(rer_1, rer_2)
    hi, lo = np.maximum(r1, r2), np.minimum(r1, r2)
    return _out((hi * lo**2) ** (1.0 / 3.0))


def giqe5(rer_1: Any, rer_2: Any, gsd_in: Any, snr: Any = np.inf, elevation_deg: Any = 90.0) -> Any:
    """GIQE 5 (NGA 2015).

    Parameters
    ----------
    rer_1, rer_2 : float or array
        Relative edge response in two orthogonal directions (combined by
        :func:`giqe5_rer`).
    gsd_in : float or array
        Image-plane geometric-mean GSD, inches (projected by ``sin(elev) ** 0.25``).
    snr : float or array
        Contrast signal-to-noise ratio after all processing.
    elevation_deg : float or array
        Sensor elevation angle, degrees (90 = nadir).

    Returns
    -------
    float or ndarray
        NIIRS.

    Examples
    --------
    The NGA document's NIIRS 5 case (RER 0.35 both ways, GSD 20.8 in, SNR 50, nadir):

    >>> round(float(giqe5(0.35, 0.35, 20.8, 50.0)), 3)
    5.015
    """
    rer = giqe5_rer(rer_1, rer_2)
    (snr,) = _f8(snr)
    gsd_w = projected_gsd(gsd_in, elevation_deg, 0.25)
    lr = np.log10(rer)
    return _out(
        9.57
        - 3.32 * np.log10(gsd_w)
        + 3.32 * (1.0 - np.exp(-1.9 / snr)) * lr
        - 2.0 * lr**4
        - 1.8 / snr
    )


def giqe(
    version: int,
    *,
    rer_x: Any,
    rer_y: Any,
    gsd_in: Any,
    snr: Any,
    elevation_deg: Any = 90.0,
    h: Any = 1.0,
    g: Any = 1.0,
) -> Any:
    """NIIRS by GIQE ``version`` (3, 4 or 5) from per-direction RERs.

    GIQE 3 and 4 take the geometric mean ``sqrt(rer_x rer_y)``; GIQE 5 its own
    :func:`giqe5_rer`. ``h`` and ``g`` are ignored by GIQE 5, ``elevation_deg`` by GIQE 3.
    """
    if version == 5:
        return giqe5(rer_x, rer_y, gsd_in, snr, elevation_deg)
    rer_gm = np.sqrt(np.asarray(rer_x, np.float64) * np.asarray(rer_y, np.float64))
    if version == 4:
        return giqe4(rer_gm, gsd_in, h, g, snr, elevation_deg)
    if version == 3:
        return giqe3(rer_gm, gsd_in, h, g, snr)
    raise InvalidParameterError(f"GIQE version must be one of {GIQE_VERSIONS}, got {version!r}")


def _out(value: Any) -> Any:
    """0-d arrays -> NumPy scalars; arrays unchanged."""
    arr = np.asarray(value)
    return arr[()] if arr.ndim == 0 else arr


def _f8(*values: Any) -> tuple[Any, ...]:
    return tuple(np.asarray(v, dtype=np.float64) for v in values)
