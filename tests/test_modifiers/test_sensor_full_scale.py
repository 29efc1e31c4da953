"""The sensor's full well sits at the top of the data's bit depth (declared, else measured).

11-bit data in uint16 without NBITS (the WorldView-2 chips) used to fill the well at 65535:
every pixel held 1/32 of the electrons it should, so photon noise was √32 too strong relative
to the signal. Checked against the analytic photon-noise variance ``DN / g``.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from iqx.modifiers import sensor
from iqx.testing.laziness import raise_if_dask_computes

KW = dict(D=0.3, f=4.0, p_x=8e-6, altitude=5e5, max_n=20000, max_well_fill=0.6,
          read_noise=0.0, seed=1, resample=False, source_gsd=0.5)  # fmt: skip
LEVEL = 1000


def _flat(top: int, bit_depth: int | None = None) -> xr.DataArray:
    img = np.full((1, 256, 256), LEVEL, np.uint16)
    img[0, 0, 0] = top  # the measured depth's top value, far from the measured window
    attrs = {} if bit_depth is None else {"bit_depth": bit_depth, "bit_depth_source": "user"}
    return xr.DataArray(img, dims=("band", "y", "x"), attrs=attrs)


def _variance(out: xr.DataArray) -> float:
    return float(out.values[0, 64:192, 64:192].astype(np.float64).var())


@pytest.mark.parametrize(
    ("top", "bit_depth", "full_scale"),
    [(2047, None, 2047), (4095, None, 4095), (2047, 12, 4095), (2047, 16, 65535)],
)
def test_photon_noise_variance_follows_the_bit_depth(top, bit_depth, full_scale):
    out = sensor(**KW)(_flat(top, bit_depth))
    gain = KW["max_well_fill"] * KW["max_n"] / full_scale
    expected = LEVEL / gain  # Poisson in electrons, back in DN
    # the variance of 16384 draws has a relative standard error of sqrt(2 / 16384) ~ 1.1 %
    assert _variance(out) == pytest.approx(expected, rel=0.06)


def test_explicit_full_scale_wins():
    out = sensor(**KW, full_scale=65535)(_flat(2047))
    gain = KW["max_well_fill"] * KW["max_n"] / 65535
    assert _variance(out) == pytest.approx(LEVEL / gain, rel=0.06)


def test_lazy_input_stays_lazy_and_equals_numpy_on_one_chunk():
    scene = _flat(2047)
    lazy = scene.copy(data=da.from_array(scene.values, chunks=-1))
    with raise_if_dask_computes():
        out = sensor(**KW)(lazy)  # the measured depth is part of the graph, not computed
    np.testing.assert_array_equal(out.values, sensor(**KW)(scene).values)
