"""Modifiers take a scene's bit depth from the one rule of :mod:`iqx.bitdepth`.

``scene_bit_depth`` (the clipping range of blur, resample, the sensor, the noise of signed
data ...) used to read ``attrs["bit_depth"]`` itself, so an unsourced attribute (a *hint*,
only a lower bound on uint16) narrowed the range: an 8-bit scene multiplied into uint16
(values up to 2040, ``bit_depth=8`` kept from its attrs) came out of a blur clipped to 255.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from iqx.bitdepth import resolve_bit_depth, with_bit_depth
from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.modifiers import gaussian_blur, resample, scene_bit_depth
from iqx.modifiers._base import int_range


def _scaled_8bit() -> xr.DataArray:
    """An 8-bit scene ``astype("uint16") * 8``: 11-bit values, the 8-bit attrs kept."""
    rng = np.random.default_rng(3)
    scene8 = xr.DataArray(
        rng.integers(0, 256, (1, 48, 40), dtype=np.uint8),
        dims=("band", "y", "x"),
        attrs={"bit_depth": 8},
    )
    out = scene8.astype("uint16") * 8
    out.attrs = dict(scene8.attrs)
    return out


def _scene(values, dtype, **attrs) -> xr.DataArray:
    data = np.asarray(values, dtype=dtype).reshape(1, 1, -1)
    return xr.DataArray(data, dims=("band", "y", "x"), attrs=attrs)


def test_a_hint_does_not_clip_a_blur():
    scene = _scaled_8bit()
    assert int(scene.max()) > 255
    out = gaussian_blur(scene, sigma=1.0)
    # ground truth: SciPy's Gaussian filter (same truncate, reflect mode), rounded
    ref = ndimage.gaussian_filter(
        scene.values[0].astype(np.float64), 1.0, mode="reflect", truncate=4.0
    )
    assert int(out.max()) > 255  # was clipped to 2**8 - 1
    np.testing.assert_allclose(out.values[0], np.rint(ref), atol=1)


def test_a_hint_does_not_clip_a_resample():
    scene = _scaled_8bit()
    out = resample(scene, factor=0.5, method="area")
    # area resampling by 2: the mean of each 2 x 2 block
    blocks = scene.values[0].reshape(24, 2, 20, 2).astype(np.float64).mean(axis=(1, 3))
    assert int(out.max()) > 255
    np.testing.assert_allclose(out.values[0], blocks, atol=1)


@pytest.mark.parametrize(
    ("scene", "bits"),
    [
        (_scaled_8bit(), 16),  # a hint on uint16: a lower bound only, not measured here
        (with_bit_depth(_scaled_8bit(), 11), 11),  # declared by the user
        (_scene([1, 2], "uint16", bit_depth=12, bit_depth_source="metadata"), 12),
        (_scene([1, 2], "uint16", bit_depth=16), 16),  # older iqx's dtype width
        (_scene([1, 2], "uint16"), 16),
        (_scene([1, 2], "uint8", bit_depth=6), 6),  # on uint8 an attribute is metadata
        (_scene([1, 2], "int16"), 16),
        (_scene([0.5], "float32", bit_depth=12), 12),
    ],
)
def test_scene_bit_depth_is_the_rule_without_measuring(scene, bits):
    assert scene_bit_depth(scene) == bits == resolve_bit_depth(scene, measure=False).bits


def test_measuring_takes_the_hint_as_a_lower_bound():
    scene = _scaled_8bit()
    assert scene_bit_depth(scene, measure=True) == 11 == resolve_bit_depth(scene).bits
    dark = _scene([3, 100], "uint16", bit_depth=10)  # values need 8 bits: the hint wins
    assert scene_bit_depth(dark, measure=True) == 10


def test_a_declared_depth_still_sets_the_clipping_range():
    scene = with_bit_depth(_scene([0, 4095], "uint16"), 11)
    assert int_range(scene) == (0.0, 2047.0)
    assert int_range(_scaled_8bit()) == (0.0, 65535.0)


def test_errors():
    with pytest.raises(UnsupportedDtypeError, match="float64 data has no integer bit depth"):
        scene_bit_depth(_scene([0.5], "float64"))
    with pytest.raises(UnsupportedDtypeError, match="bool"):
        scene_bit_depth(_scene([True], "bool"))
    bad = _scene([1], "uint16", bit_depth=20, bit_depth_source="user")
    with pytest.raises(InvalidParameterError, match=r"attrs\['bit_depth'\] must be in 1..16"):
        scene_bit_depth(bad)
    with pytest.raises(InvalidParameterError, match=r"attrs\['bit_depth'\] must be in 1..16"):
        scene_bit_depth(_scene([1], "uint16", bit_depth=20))  # a bad hint too
