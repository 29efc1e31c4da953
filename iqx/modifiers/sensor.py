"""The ``sensor`` modifier: a physical imaging chain (optics, detector, motion, noise, GSD).

The input scene is treated as the object radiance sampled at its own (finer) GSD. The chain:

1. **OTF** (frequency domain, IBSM/pyBSM equations, :mod:`iqx.kernels.otf`): diffraction of a
   circular aperture ``D`` with central obscuration ``eta`` averaged over the wavelengths
   ``opt_trans_wavelengths``, detector footprint ``w_x``/``w_y`` (default: the pitch), jitter
   ``s_x``/``s_y``, Gaussian defocus from an axial image-plane defocus ``defocus`` and,
   optionally, turbulence (``r0``, or a constant ``cn2`` along the ``altitude`` path). The
   OTF is evaluated at the input grid's frequencies (``u = f_px * altitude / gsd_in``,
   cycles / rad) and applied as its PSF kernel (:func:`~iqx.kernels.otf.psf_kernel`),
   tile by tile with a halo equal to the kernel radius and ``reflect`` boundaries
   (:func:`iqx.parallel.map_overlap_xr`): NumPy and every chunking agree within float
   rounding.
2. **GSD**: point sampling (``nearest`` by default) to ``gsd = p * altitude / f`` per axis.
3. **Noise** (when ``max_n`` is given): the DN are converted to electrons with
   ``g = max_well_fill * max_n / full_scale`` e-/DN (``full_scale`` defaults to the top of
   the data's bit depth: declared, else measured), photon + dark shot noise is drawn
   (Poisson, seeded per chunk with :func:`iqx.parallel.block_rng`), Gaussian read noise
   added, the mean dark signal subtracted, and the result converted back to DN. The DN
   variance is ``DN / g + (dark_current * int_time + read_noise**2) / g**2``.

Integer outputs are rounded half to even and clipped to the data range; float outputs keep
their dtype. See ``docs/sensor.md`` for the parameter mapping to pyBSM's ``Sensor``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.kernels import otf as K
from iqx.modifiers._base import (
    Modifier,
    check_choice,
    check_float,
    check_numeric,
    clip_range,
    int_range,
)
from iqx.modifiers.resampling import resample_to_shape
from iqx.parallel import block_rng, lazy_call, map_blocks_xr, map_overlap_xr
from iqx.registry import register_modifier

__all__ = ["Sensor", "sensor", "sensor_otf"]

_METHODS = ("nearest", "area", "bilinear", "cubic", "lanczos")


def _opt(owner: str, name: str, value: Any, lo: float = 0.0, open_: bool = True) -> Any:
    return None if value is None else check_float(owner, name, value, lo, lo_open=open_)


def sensor_otf(
    fy: np.ndarray, fx: np.ndarray, params: dict[str, Any], gsd_in: tuple[float, float]
) -> np.ndarray:
    """System OTF of ``params`` (a :class:`Sensor`'s) at input-pixel frequencies.

    Parameters
    ----------
    fy, fx : ndarray
        Frequencies along y and x in cycles per input pixel.
    params : dict
        The sensor's normalised parameters (:attr:`Sensor.params`).
    gsd_in : (float, float)
        Input GSD along y and x (m).

    Returns
    -------
    ndarray
        The product of the optics, detector, jitter, defocus and turbulence OTFs.
    """
    p = params
    alt = p["altitude"]
    v = np.asarray(fy, np.float64) * alt / gsd_in[0]
    u = np.asarray(fx, np.float64) * alt / gsd_in[1]
    D, f = p["D"], p["f"]

    def mono(lam: float) -> np.ndarray:
        h = K.circular_aperture_otf(u, v, lam, D, p["eta"])
        r0 = _r0(p, lam)
        if r0 is not None:
            h = h * K.turbulence_otf(u, v, lam, D, r0, p["turbulence_alpha"])
        return h

    otf = K.weighted_by_wavelength(p["opt_trans_wavelengths"], p["weights"], mono)
    otf = otf * K.detector_otf(u, v, p["w_x"], p["w_y"], f)
    if p["s_x"] or p["s_y"]:
        otf = otf * K.jitter_otf(u, v, p["s_x"], p["s_y"])
    if p["defocus"]:
        w = K.defocus_radius(D, p["defocus"], f)
        otf = otf * K.defocus_otf(u, v, w, w)
    return otf


def _r0(p: dict[str, Any], lam: float) -> float | None:
    if p["r0"] is not None:  # given at 500 nm, scaled as lambda^(6/5)
        return p["r0"] * (lam / 0.5e-6) ** 1.2
    if p["cn2"] is not None:
        return K.coherence_diameter_constant_cn2(lam, p["cn2"], p["altitude"])
    return None


def _psf_block(block: np.ndarray, *, kernel: np.ndarray) -> np.ndarray:
    return K.convolve_block(block, kernel)


def _round_clip(block: np.ndarray, *, lo: float, hi: Any) -> np.ndarray:
    """Round half to even, then clip to ``[lo, hi]`` (``hi`` computed by dask if lazy)."""
    return np.clip(np.round(block), lo, float(hi))


def _gain(electrons: float, full_scale: Any) -> float:
    """e-/DN of a sensor whose ``full_scale`` DN hold ``electrons``."""
    return float(electrons) / float(full_scale)


def _noise_block(
    block: np.ndarray,
    *,
    block_id: tuple[int, ...],
    seed: int,
    gain: float,
    dark: float,
    read: float,
    photon: bool,
) -> np.ndarray:
    rng = block_rng(seed, block_id)
    e = np.clip(block, 0.0, None) * gain + dark
    if photon:
        e = rng.poisson(e).astype(np.float64)
    if read:
        e = e + rng.standard_normal(block.shape) * read
    return (e - dark) / gain


@register_modifier(
    "sensor",
    summary="Physical imaging chain: optics/detector/jitter/defocus/turbulence OTF, GSD, noise.",
    chunk_invariant=False,
    changes_grid=True,
    references=("pyBSM 0.16.1 (Kitware) OTFs", "IBSM eqs. 3-3, 3-20, 3-25, 3-28, 3-36"),
)
class Sensor(Modifier):
    """A sensor of aperture ``D``, focal length ``f``, pitch ``p_x`` at ``altitude``.

    See :func:`sensor` for the parameters.
    """

    id = "sensor"
    abbrev: ClassVar[dict[str, str]] = {
        "D": "D",
        "f": "f",
        "p_x": "p",
        "altitude": "alt",
        "eta": "eta",
        "s_x": "sx",
        "defocus": "dz",
        "r0": "r0",
        "cn2": "cn2",
        "max_n": "fw",
        "read_noise": "rn",
        "seed": "seed",
    }
    always = ("D", "f", "p_x", "altitude")
    changes_grid = True

    def __init__(
        self,
        D: float = 0.5,
        f: float = 4.0,
        p_x: float = 8e-6,
        altitude: float = 500e3,
        *,
        eta: float = 0.0,
        opt_trans_wavelengths: list[float] | None = None,
        weights: list[float] | None = None,
        p_y: float | None = None,
        w_x: float | None = None,
        w_y: float | None = None,
        s_x: float = 0.0,
        s_y: float | None = None,
        defocus: float = 0.0,
        r0: float | None = None,
        cn2: float | None = None,
        turbulence_alpha: float = 0.0,
        source_gsd: float | None = None,
        resample: bool = True,
        method: str = "nearest",
        max_n: float | None = None,
        max_well_fill: float = 1.0,
        full_scale: float | None = None,
        read_noise: float = 0.0,
        dark_current: float = 0.0,
        int_time: float = 1.0,
        photon_noise: bool = True,
        seed: int = 0,
        kernel_tol: float = 5e-3,
        max_halo: int = 128,
    ) -> None:
        o = "sensor"
        D, f, p_x = (
            check_float(o, n, x, 0.0, lo_open=True) for n, x in (("D", D), ("f", f), ("p_x", p_x))
        )
        altitude = check_float(o, "altitude", altitude, 0.0, lo_open=True)
        eta = check_float(o, "eta", eta, 0.0, 1.0, hi_open=True)
        lams = (
            [0.5e-6, 0.6e-6, 0.7e-6, 0.8e-6]
            if opt_trans_wavelengths is None
            else opt_trans_wavelengths
        )
        if not isinstance(lams, list | tuple) or not lams:
            raise InvalidParameterError(f"{o}: opt_trans_wavelengths must be a non-empty list")
        lams = [check_float(o, "opt_trans_wavelengths", x, 0.0, 1e-3, lo_open=True) for x in lams]
        if weights is not None:
            if not isinstance(weights, list | tuple) or len(weights) != len(lams):
                raise InvalidParameterError(f"{o}: weights must match opt_trans_wavelengths")
            weights = [check_float(o, "weights", x, 0.0) for x in weights]
            if sum(weights) <= 0:
                raise InvalidParameterError(f"{o}: weights must not all be 0")
        p_y = _opt(o, "p_y", p_y)
        w_x, w_y = _opt(o, "w_x", w_x), _opt(o, "w_y", w_y)
        s_x = check_float(o, "s_x", s_x, 0.0)
        s_y = _opt(o, "s_y", s_y, open_=False)
        defocus = check_float(o, "defocus", defocus)
        r0, cn2 = _opt(o, "r0", r0), _opt(o, "cn2", cn2)
        if r0 is not None and cn2 is not None:
            raise InvalidParameterError(f"{o}: give r0= or cn2=, not both")
        turbulence_alpha = check_float(o, "turbulence_alpha", turbulence_alpha, 0.0, 1.0)
        source_gsd = _opt(o, "source_gsd", source_gsd)
        check_choice(o, "method", method, _METHODS)
        max_n = _opt(o, "max_n", max_n)
        max_well_fill = check_float(o, "max_well_fill", max_well_fill, 0.0, 1.0, lo_open=True)
        full_scale = _opt(o, "full_scale", full_scale)
        read_noise = check_float(o, "read_noise", read_noise, 0.0)
        dark_current = check_float(o, "dark_current", dark_current, 0.0)
        int_time = check_float(o, "int_time", int_time, 0.0, lo_open=True)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise InvalidParameterError(f"{o}: seed must be a non-negative integer, got {seed!r}")
        kernel_tol = check_float(o, "kernel_tol", kernel_tol, 0.0, 0.1, lo_open=True)
        if not isinstance(max_halo, int) or isinstance(max_halo, bool) or max_halo < 1:
            raise InvalidParameterError(f"{o}: max_halo must be a positive integer")
        super().__init__(
            D=D, f=f, p_x=p_x, altitude=altitude, eta=eta, opt_trans_wavelengths=lams,
            weights=weights, p_y=p_y if p_y is not None else p_x,
            w_x=w_x if w_x is not None else p_x,
            w_y=w_y if w_y is not None else (p_y if p_y is not None else (w_x or p_x)),
            s_x=s_x, s_y=s_y if s_y is not None else s_x, defocus=defocus, r0=r0, cn2=cn2,
            turbulence_alpha=turbulence_alpha, source_gsd=source_gsd, resample=bool(resample),
            method=method, max_n=max_n, max_well_fill=max_well_fill, full_scale=full_scale,
            read_noise=read_noise, dark_current=dark_current, int_time=int_time,
            photon_noise=bool(photon_noise), seed=seed, kernel_tol=kernel_tol,
            max_halo=max_halo,
        )  # fmt: skip

    @property
    def chunk_invariant(self) -> bool:  # type: ignore[override]
        """True without noise (the OTF step is chunk-invariant within float rounding)."""
        return self._params["max_n"] is None

    # -- geometry -----------------------------------------------------------------------
    @property
    def gsd(self) -> tuple[float, float]:
        """Output GSD ``(y, x)`` in metres: ``p * altitude / f``."""
        p = self._params
        return p["p_y"] * p["altitude"] / p["f"], p["p_x"] * p["altitude"] / p["f"]

    def source_gsd(self, image: xr.DataArray) -> tuple[float, float]:
        """Input GSD ``(y, x)``: ``source_gsd``, else the transform, else ``attrs["gsd"]``."""
        if self._params["source_gsd"] is not None:
            return self._params["source_gsd"], self._params["source_gsd"]
        tr = image.attrs.get("transform")
        if tr is not None:
            a, b, _, d, e, _ = (float(v) for v in tuple(tr)[:6])
            gx, gy = float(np.hypot(a, d)), float(np.hypot(b, e))
            if gx > 0 and gy > 0:
                return gy, gx
        if image.attrs.get("gsd"):
            g = float(image.attrs["gsd"])
            return g, g
        raise InvalidParameterError(
            "sensor: the scene has no transform or 'gsd' attribute; pass source_gsd= (m)"
        )

    def kernel(self, image: xr.DataArray) -> tuple[np.ndarray, int]:
        """PSF kernel on the input grid and its radius (the halo)."""
        gsd_in = self.source_gsd(image)
        p = self._params
        return K.psf_kernel(
            partial(_otf_at, params=p, gsd_in=gsd_in), tol=p["kernel_tol"], max_radius=p["max_halo"]
        )

    def otf(self, fy: np.ndarray, fx: np.ndarray, gsd_in: tuple[float, float]) -> np.ndarray:
        """System OTF at frequencies in cycles per input pixel (see :func:`sensor_otf`)."""
        return sensor_otf(fy, fx, self._params, gsd_in)

    # -- application --------------------------------------------------------------------
    def check(self, image: xr.DataArray) -> None:
        check_numeric("sensor", image)
        int_range(image)
        self.source_gsd(image)
        if self._params["max_n"] is not None:
            self._full_scale(image)

    def _full_scale(self, image: xr.DataArray) -> Any:
        """The DN of a full well: ``full_scale=``, else the top of the data's depth.

        The depth follows the bit-depth rule (declared, else measured, see
        :mod:`iqx.bitdepth`): 11-bit data stored in uint16 without ``NBITS`` fills the well
        at 2047, not at 65535 (that would put every pixel at 1/32 of the well and its
        photon noise √32 too high relative to the signal). Lazy when measured lazily.
        """
        if self._params["full_scale"] is not None:
            return self._params["full_scale"]
        if np.dtype(image.dtype).kind == "u":
            return clip_range(image)[1]
        raise InvalidParameterError(
            f"sensor: {image.dtype} data needs full_scale= (the DN filling the well)"
        )

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        p = self._params
        kernel, radius = self.kernel(image)
        if radius > max(image.sizes["y"], image.sizes["x"]):
            raise InvalidParameterError(
                f"sensor: the PSF needs a halo of {radius} px, larger than the image "
                f"({image.sizes['y']} x {image.sizes['x']})"
            )
        out = map_overlap_xr(
            _psf_block,
            image,
            halo=radius,
            boundary="reflect",
            dtype=np.float64,
            kwargs={"kernel": kernel},
            rechunk=True,
        )
        gy, gx = self.source_gsd(image)
        attrs = dict(image.attrs)
        integer = np.issubdtype(image.dtype, np.integer)
        # one (lazy, for undeclared unsigned data: measured) range for the well and the clip
        lo, hi = clip_range(image) if integer else (0.0, None)
        if p["resample"]:
            oy, ox = self.gsd
            ny, nx = image.sizes["y"], image.sizes["x"]
            shape = (max(1, round(ny * gy / oy)), max(1, round(nx * gx / ox)))
            if "gsd" not in out.attrs and "transform" not in out.attrs:
                out.attrs["gsd"] = gx
            out = resample_to_shape(out, shape, p["method"])
            attrs = {**attrs, **out.attrs}
        if p["max_n"] is not None:
            unsigned = np.dtype(image.dtype).kind == "u"
            full = hi if p["full_scale"] is None and unsigned else self._full_scale(image)
            electrons = p["max_well_fill"] * p["max_n"]
            gain = (
                lazy_call(_gain, electrons, full)
                if hasattr(full, "__dask_graph__")
                else _gain(electrons, full)
            )
            out = map_blocks_xr(
                _noise_block,
                out,
                pass_block_id=True,
                kwargs={
                    "seed": p["seed"],
                    "gain": gain,
                    "dark": p["dark_current"] * p["int_time"],
                    "read": p["read_noise"],
                    "photon": p["photon_noise"],
                },
            )
        if integer:
            # noise and the PSF's ringing can leave the data's range: clip at its depth
            # (measured when undeclared: 11-bit data in uint16 stays <= 2047)
            out = map_blocks_xr(_round_clip, out, kwargs={"lo": lo, "hi": hi})
        out = out.astype(image.dtype)
        out.attrs = attrs
        return out


def _otf_at(fy: np.ndarray, fx: np.ndarray, *, params: dict, gsd_in: tuple) -> np.ndarray:
    return sensor_otf(fy, fx, params, gsd_in)


def sensor(image: Any = None, /, **params: Any) -> Any:
    """Image ``image`` through a physical sensor (see :mod:`iqx.modifiers.sensor`).

    Parameters
    ----------
    image : scene, optional
        Numeric data with a GSD (transform, ``attrs["gsd"]`` or ``source_gsd``), in metres.
        Without it, the configured :class:`Sensor` is returned.
    **params
        pyBSM ``Sensor`` names: ``D`` aperture diameter (m), ``f`` focal length (m), ``p_x``
        / ``p_y`` pixel pitch (m), ``eta`` obscuration ratio, ``opt_trans_wavelengths``
        (m, list; ``weights`` optional), ``w_x`` / ``w_y`` detector width (m, default the
        pitch), ``s_x`` / ``s_y`` RMS jitter (rad), ``max_n`` full well (e-),
        ``max_well_fill``, ``read_noise`` (e- RMS), ``dark_current`` (e-/s), ``int_time``
        (s); scenario: ``altitude`` (m, nadir range); iqx's own: ``defocus`` (axial
        image-plane defocus, m), ``r0`` (Fried, m, at 500 nm) or ``cn2`` (constant,
        m^-2/3), ``turbulence_alpha``, ``source_gsd`` (m), ``resample`` (apply the new GSD),
        ``method`` (sampling, default ``nearest``), ``full_scale`` (DN of a full well;
        default the top of an unsigned range), ``photon_noise``, ``seed``, ``kernel_tol``
        (largest OTF error of the truncated kernel), ``max_halo`` (px).
    """
    mod = Sensor(**params)
    return mod if image is None else mod(image)
