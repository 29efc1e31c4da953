"""Gaussian blur by sigma (:func:`gaussian_blur`) or by target RER (:func:`rer_blur`).

A separable numba kernel applied with a halo of ``int(truncate * sigma + 0.5)`` pixels and
SciPy's ``reflect`` boundary, so the result equals
``scipy.ndimage.gaussian_filter(image, (0, sigma, sigma), mode="reflect", truncate=truncate)``
on the whole image, for any chunking (bit for bit for float input). Integer input is filtered
in float64 and rounded half to even once, then clipped to ``[0, 2**bit_depth - 1]`` (unsigned)
or the dtype's range (signed); the dtype is kept. Float input keeps its dtype.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.kernels.blur import gaussian_blur_block, gaussian_radius, rer_from_sigma, sigma_from_rer
from iqx.modifiers._base import Modifier, check_float, check_numeric, int_range
from iqx.parallel import map_overlap_xr
from iqx.registry import register_modifier

__all__ = ["GaussianBlur", "RERBlur", "gaussian_blur", "rer_blur"]


def check_halo(owner: str, image: xr.DataArray, sigma: float, truncate: float) -> None:
    """Raise before any allocation when the kernel radius exceeds the image.

    A radius beyond the image's larger side would pad the scene by more than itself (a
    sigma of 1e6 px asks for a 4e6 px halo); the blurred result would be the image mean.
    """
    radius = gaussian_radius(sigma, truncate)
    side = max(int(image.sizes["y"]), int(image.sizes["x"]))
    if radius > side:
        raise InvalidParameterError(
            f"{owner}: sigma={sigma:g} needs a kernel radius (halo) of {radius} px "
            f"(truncate={truncate:g}), larger than the image ({image.sizes['y']} x "
            f"{image.sizes['x']} px); use sigma <= {side / truncate:.4g}"
        )


def _blur(image: xr.DataArray, sigma: float, truncate: float) -> xr.DataArray:
    if sigma == 0:
        return image.copy()
    lo, hi = int_range(image)
    return map_overlap_xr(
        gaussian_blur_block,
        image,
        halo=gaussian_radius(sigma, truncate),
        boundary="reflect",
        kwargs={"sigma": sigma, "truncate": truncate, "lo": lo, "hi": hi},
        rechunk=True,
    )


@register_modifier(
    "gaussian_blur",
    summary="Separable Gaussian blur (= scipy.ndimage.gaussian_filter, reflect, any chunking).",
    chunk_invariant=True,
    halo=lambda sigma=1.0, truncate=4.0, **_: gaussian_radius(sigma, truncate),
    references=("scipy.ndimage.gaussian_filter",),
)
class GaussianBlur(Modifier):
    """Gaussian blur of standard deviation ``sigma`` px (see :func:`gaussian_blur`)."""

    id = "gaussian_blur"
    short = "blur"
    abbrev: ClassVar[dict[str, str]] = {"sigma": "s", "truncate": "t"}
    always = ("sigma",)

    def __init__(self, sigma: float = 1.0, truncate: float = 4.0) -> None:
        sigma = check_float("gaussian_blur", "sigma", sigma, 0.0)
        truncate = check_float("gaussian_blur", "truncate", truncate, 0.0, lo_open=True)
        super().__init__(sigma=sigma, truncate=truncate)

    def check(self, image: xr.DataArray) -> None:
        check_numeric("gaussian_blur", image)
        int_range(image)
        check_halo("gaussian_blur", image, self._params["sigma"], self._params["truncate"])

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        return _blur(image, self._params["sigma"], self._params["truncate"])


def gaussian_blur(image: Any = None, /, *, sigma: float = 1.0, truncate: float = 4.0) -> Any:
    """Blur every band with a Gaussian of standard deviation ``sigma`` pixels.

    Parameters
    ----------
    image : scene, optional
        Numeric data. Without it, the configured :class:`GaussianBlur` is returned.
    sigma : float
        Standard deviation in pixels, >= 0 (0 is the identity).
    truncate : float
        Kernel half-width in sigmas (SciPy's default 4.0); the halo is
        ``int(truncate * sigma + 0.5)`` px. Chunks smaller than the halo are merged
        explicitly (``map_overlap_xr(..., rechunk=True)``).
    """
    mod = GaussianBlur(sigma=sigma, truncate=truncate)
    return mod if image is None else mod(image)


@register_modifier(
    "rer_blur",
    summary="Gaussian blur reaching a target RER (IQUAFLOW's rer modifier).",
    chunk_invariant=True,
    references=("IQUAFLOW DSModifier_rer", "RER = erf(1 / (2 sqrt(2) sigma))"),
)
class RERBlur(Modifier):
    """Blur to a target relative edge response (see :func:`rer_blur`)."""

    id = "rer_blur"
    short = "rer"
    abbrev: ClassVar[dict[str, str]] = {"rer": "", "initial_rer": "from", "truncate": "t"}
    always = ("rer",)

    def __init__(self, rer: float = 0.5, initial_rer: float | None = None, truncate: float = 4.0):
        rer = check_float("rer_blur", "rer", rer, 0.0, 1.0, lo_open=True, hi_open=True)
        if initial_rer is not None:
            initial_rer = check_float(
                "rer_blur", "initial_rer", initial_rer, 0.0, 1.0, lo_open=True
            )
        truncate = check_float("rer_blur", "truncate", truncate, 0.0, lo_open=True)
        super().__init__(rer=rer, initial_rer=initial_rer, truncate=truncate)

    @property
    def sigma(self) -> float:
        """Kernel sigma: ``sqrt(sigma(rer)**2 - sigma(initial_rer)**2)`` (0 if not positive)."""
        target = sigma_from_rer(self._params["rer"])
        ini = self._params["initial_rer"]
        initial = 0.0 if ini is None or ini >= 1.0 else sigma_from_rer(ini)
        return math.sqrt(target**2 - initial**2) if target > initial else 0.0

    def check(self, image: xr.DataArray) -> None:
        check_numeric("rer_blur", image)
        int_range(image)
        check_halo("rer_blur", image, self.sigma, self._params["truncate"])

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        return _blur(image, self.sigma, self._params["truncate"])


def rer_blur(
    image: Any = None,
    /,
    *,
    rer: float = 0.5,
    initial_rer: float | None = None,
    truncate: float = 4.0,
) -> Any:
    """Gaussian blur that brings an image of RER ``initial_rer`` to RER ``rer``.

    With a Gaussian PSF, ``RER(sigma) = erf(1 / (2 sqrt(2) sigma))`` (the ESF's rise over
    one pixel around the edge); blurs compose in quadrature, so the kernel is
    ``sigma_k = sqrt(sigma(rer)**2 - sigma(initial_rer)**2)`` (0, i.e. no change, when the
    input is already at or below the target). ``initial_rer=None`` treats the input as ideal
    (sigma 0).

    Parameters
    ----------
    image : scene, optional
        Numeric data. Without it, the configured :class:`RERBlur` is returned.
    rer : float
        Target RER in (0, 1).
    initial_rer : float, optional
        RER of the input in (0, 1] (IQUAFLOW's tables: 0.56 for xView and Inria-AID).
    truncate : float
        Kernel half-width in sigmas.
    """
    mod = RERBlur(rer=rer, initial_rer=initial_rer, truncate=truncate)
    return mod if image is None else mod(image)


__all__ += ["rer_from_sigma", "sigma_from_rer"]
