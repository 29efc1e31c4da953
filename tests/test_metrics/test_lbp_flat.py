"""``iqx.kernels.lbp.lbp_flat`` against scikit-image's uniform LBP, the definition it replaces.

The ``ha`` SNR method (IQUAFLOW's homogeneous areas) calls a pixel flat when
``skimage.feature.local_binary_pattern(band, 8 R, R, method="uniform")`` is at most ``R - 1``
or at least ``7 R + 1``. The kernel must give that mask bit for bit: these tests compute it
with scikit-image (the independent implementation) on the inputs where a re-implementation
could drift: ties between a sample and the centre (integer images with few levels), float
and NaN/inf values, the image border (samples outside read 0), every radius up to 4 (32 points),
non-contiguous and big-endian arrays, images smaller than the sample reach, and a real
WorldView-2 chip.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
from skimage.feature import local_binary_pattern

from iqx.kernels.lbp import lbp_flat


def _skimage_flat(image: np.ndarray, radius: int) -> np.ndarray:
    points = 8 * radius
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-image warns on float input
        lbp = local_binary_pattern(image, points, radius, method="uniform")
    return ((lbp >= points - radius + 1) | (lbp <= radius - 1)).astype(np.float64)


def _images() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    f = rng.normal(size=(45, 52))
    holes = f.copy()
    holes[rng.random(f.shape) < 0.08] = np.nan
    holes[0, 3] = np.inf
    holes[7, 9] = -np.inf
    ramp = np.add.outer(np.arange(40), np.arange(40)).astype(np.uint16)
    return {
        "few_levels_uint8": rng.integers(0, 3, (61, 70)).astype(np.uint8),
        "eleven_bit_uint16": rng.integers(0, 2048, (33, 47)).astype(np.uint16),
        "int32_negative": rng.integers(-5, 5, (30, 30)).astype(np.int32),
        "constant": np.full((17, 23), 9, np.int16),
        "ramp": ramp,
        "float64": f,
        "float32": f.astype(np.float32),
        "nan_inf": holes,
        "tiny_2x3": rng.integers(0, 4, (2, 3)).astype(np.uint8),
        "one_row": rng.integers(0, 4, (1, 40)).astype(np.uint8),
    }


@pytest.mark.parametrize("radius", [1, 2, 3, 4])
@pytest.mark.parametrize("name", list(_images()))
def test_equals_scikit_image(name, radius):
    image = _images()[name]
    np.testing.assert_array_equal(lbp_flat(image, radius), _skimage_flat(image, radius))


def test_views_and_byte_orders():
    image = np.random.default_rng(2).integers(0, 6, (80, 90)).astype(np.uint16)
    strided = image[::2, 1::3]
    transposed = image.T
    swapped = image.astype(">u2")
    for view in (strided, transposed, swapped):
        np.testing.assert_array_equal(lbp_flat(view, 1), _skimage_flat(np.array(view), 1))


def test_real_worldview2_chip(pan):
    with rasterio.open(pan) as src:
        band = src.read(1)[:300, :300]
    for radius in (1, 2):
        expected = _skimage_flat(band, radius)
        got = lbp_flat(band, radius)
        np.testing.assert_array_equal(got, expected)
        assert 0.05 < got.mean() < 0.95  # a real mix of flat and textured pixels


def test_bounds_tested_path_alone(monkeypatch):
    """From ``_ROW_IDENTITY_LIMIT`` (2**22 px) on, every pixel goes through the
    bounds-tested samples: the same mask (the limit lowered so that a small image takes it)."""
    from iqx.kernels import lbp

    monkeypatch.setattr(lbp, "_ROW_IDENTITY_LIMIT", 8)
    for name, image in _images().items():
        for radius in (1, 2):
            np.testing.assert_array_equal(
                lbp.lbp_flat(image, radius), _skimage_flat(image, radius), err_msg=name
            )


def test_radius_beyond_32_points_is_refused():
    with pytest.raises(ValueError, match="at most 32"):
        lbp_flat(np.zeros((20, 20)), 5)
