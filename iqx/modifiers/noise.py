"""Additive Gaussian noise, by sigma (:func:`gaussian_noise`) or by target SNR (:func:`snr_noise`).

Reproducible for a given ``(seed, chunks)``: every chunk draws from its own generator
(:func:`iqx.parallel.block_rng`), so the result does not depend on scheduling, but a
different chunking draws different (identically distributed) noise.

Integer outputs are rounded half to even and clipped to ``[0, 2**B - 1]`` (unsigned, ``B``
by the bit-depth rule of :mod:`iqx.bitdepth`: declared, else measured lazily from the data,
so 11-bit data in uint16 saturates at 2047 as its sensor would) or to the dtype's range
(signed). Float outputs are not clipped.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.kernels.noise import add_noise_block
from iqx.modifiers._base import (
    Modifier,
    check_float,
    check_int,
    check_numeric,
    clip_range,
    int_range,
)
from iqx.parallel import block_rng, lazy_array, map_blocks_xr, recompute_independently
from iqx.registry import register_modifier

__all__ = ["GaussianNoise", "SNRNoise", "gaussian_noise", "snr_noise"]


def _draw(block: np.ndarray, block_id: tuple[int, ...], seed: int) -> np.ndarray:
    rng = block_rng(seed, block_id)
    dtype = np.float32 if block.dtype == np.float32 else np.float64
    return rng.standard_normal(block.shape, dtype=dtype)


def _noise_block(
    block: np.ndarray, *, block_id: tuple[int, ...], seed: int, sigma: float, lo: float, hi: Any
) -> np.ndarray:
    hi = float(hi)
    return add_noise_block(block, _draw(block, block_id, seed), sigma=sigma, lo=lo, hi=hi)


def _std_normal_block(
    block: np.ndarray, *, block_id: tuple[int, ...], seed: int, dtype: Any
) -> np.ndarray:
    return _draw(block, block_id, seed).astype(dtype, copy=False)


@register_modifier(
    "gaussian_noise",
    summary="Additive Gaussian noise of a given sigma (DN), seeded per chunk.",
    chunk_invariant=False,
)
class GaussianNoise(Modifier):
    """Add N(0, sigma²) noise (see :func:`gaussian_noise`)."""

    id = "gaussian_noise"
    short = "noise"
    abbrev: ClassVar[dict[str, str]] = {"sigma": "s", "seed": "seed"}
    always = ("sigma", "seed")
    chunk_invariant = False

    def __init__(self, sigma: float = 1.0, seed: int = 0) -> None:
        sigma = check_float("gaussian_noise", "sigma", sigma, 0.0)
        seed = check_int("gaussian_noise", "seed", seed, 0)
        super().__init__(sigma=sigma, seed=seed)

    def check(self, image: xr.DataArray) -> None:
        check_numeric("gaussian_noise", image)
        int_range(image)

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        lo, hi = clip_range(image)
        return map_blocks_xr(
            _noise_block,
            image,
            pass_block_id=True,
            kwargs={
                "seed": self._params["seed"],
                "sigma": self._params["sigma"],
                "lo": lo,
                "hi": hi,
            },
        )


def gaussian_noise(image: Any = None, /, *, sigma: float = 1.0, seed: int = 0) -> Any:
    """Add zero-mean Gaussian noise of standard deviation ``sigma`` (in DN).

    Parameters
    ----------
    image : scene, optional
        Numeric data. Without it, the configured :class:`GaussianNoise` is returned.
    sigma : float
        Standard deviation, >= 0.
    seed : int
        Non-negative seed; the same seed and chunking give the same noise.
    """
    mod = GaussianNoise(sigma=sigma, seed=seed)
    return mod if image is None else mod(image)


@register_modifier(
    "snr_noise",
    summary="Additive Gaussian noise reaching a target SNR = mean / sigma (IQUAFLOW's snr).",
    chunk_invariant=False,
    references=("IQUAFLOW DSModifier_snr",),
)
class SNRNoise(Modifier):
    """Add noise so that mean / noise sigma equals ``snr`` (see :func:`snr_noise`)."""

    id = "snr_noise"
    short = "snr"
    abbrev: ClassVar[dict[str, str]] = {"snr": "", "initial_snr": "from", "seed": "seed"}
    always = ("snr", "seed")
    chunk_invariant = False

    def __init__(self, snr: float = 30.0, initial_snr: float | None = None, seed: int = 0) -> None:
        snr = check_float("snr_noise", "snr", snr, 0.0, lo_open=True)
        if initial_snr is not None:
            initial_snr = check_float("snr_noise", "initial_snr", initial_snr, 0.0, lo_open=True)
        seed = check_int("snr_noise", "seed", seed, 0)
        super().__init__(snr=snr, initial_snr=initial_snr, seed=seed)

    def check(self, image: xr.DataArray) -> None:
        check_numeric("snr_noise", image)
        int_range(image)

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        lo, hi = clip_range(image)
        if not isinstance(hi, float):
            hi = xr.DataArray(lazy_array(hi, (), np.float64))
        p = self._params
        nodata = image.attrs.get("nodata")
        src = recompute_independently(image)
        valid = src if nodata is None else src.where(src != nodata)
        mean = valid.mean(dtype=np.float64)
        # snr_noise_sigma's formula on a lazy 0-d mean (independent noises add in quadrature)
        target = (mean / p["snr"]) ** 2
        existing = 0.0 if p["initial_snr"] is None else (mean / p["initial_snr"]) ** 2
        sigma = np.sqrt((target - existing).clip(min=0.0))
        work = np.float32 if image.dtype == np.float32 else np.float64
        z = map_blocks_xr(
            _std_normal_block,
            image,
            dtype=work,
            pass_block_id=True,
            kwargs={"seed": p["seed"], "dtype": work},
        )
        out = image.astype(work) + z * sigma.astype(work)
        if np.issubdtype(image.dtype, np.integer):
            out = out.round().clip(lo, hi)
        return out.astype(image.dtype)


def snr_noise(
    image: Any = None, /, *, snr: float = 30.0, initial_snr: float | None = None, seed: int = 0
) -> Any:
    """Add Gaussian noise so that the image reaches ``SNR = mean / sigma_total = snr``.

    ``sigma_add = sqrt((mean / snr)**2 - (mean / initial_snr)**2)`` as IQUAFLOW's SNR
    modifier, with ``mean`` the image mean over valid pixels (lazy reduction) and
    ``initial_snr=None`` meaning a noise-free input; nothing is added when the input is
    already at or below the target. The mean is a separate pass over the scene (its graph
    is cloned, so a dask scene is read twice and memory stays bounded by chunks).

    Parameters
    ----------
    image : scene, optional
        Numeric data. Without it, the configured :class:`SNRNoise` is returned.
    snr : float
        Target SNR (> 0, linear, not dB).
    initial_snr : float, optional
        SNR of the input (e.g. 31 for xView in IQUAFLOW's tables).
    seed : int
        Non-negative seed.
    """
    mod = SNRNoise(snr=snr, initial_snr=initial_snr, seed=seed)
    return mod if image is None else mod(image)
