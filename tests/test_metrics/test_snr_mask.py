"""SNR masks follow the shared rule of :mod:`iqx.metrics._validity`.

The rule: a boolean mask (True = valid), ``(y, x)`` or ``(band, y, x)`` with 1 band or as
many as the image, broadcast to every band, lazy when dask-backed; another dtype raises
:class:`InvalidParameterError` naming the dtype, a wrong shape :class:`MaskShapeError`
(both an ``InvalidParameterError`` and a ``ShapeMismatchError``).
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from iqx.errors import InvalidParameterError, ShapeMismatchError
from iqx.metrics._validity import MaskShapeError, check_mask
from iqx.metrics.snr import snr, snr_map


@pytest.fixture(scope="module")
def two_bands() -> np.ndarray:
    rng = np.random.default_rng(11)
    img = rng.normal(1000, 8, (2, 192, 160)).round().astype(np.uint16)
    img[1] += 500
    return img


def test_rule_accepts_bool_and_broadcasts():
    m = np.zeros((5, 6), bool)
    m[1, 2] = True
    out = check_mask(m, (3, 5, 6))
    assert out.shape == (3, 5, 6) and out.dtype == bool
    assert out[:, 1, 2].all() and out.sum() == 3
    lazy = check_mask(da.from_array(m[None]), (3, 5, 6))
    assert isinstance(lazy, da.Array)  # stays lazy
    np.testing.assert_array_equal(lazy.compute(), out)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32])
def test_rule_refuses_other_dtypes_naming_them(dtype):
    with pytest.raises(InvalidParameterError, match=f"boolean.*{np.dtype(dtype).name}"):
        check_mask(np.ones((5, 6), dtype), (1, 5, 6))


@pytest.mark.parametrize("shape", [(5, 7), (2, 5, 6), (4, 5, 6)])
def test_rule_refuses_wrong_shapes_as_both_error_kinds(shape):
    with pytest.raises(MaskShapeError, match=r"\(1 or 3, 5, 6\)") as err:
        check_mask(np.ones(shape, bool), (3, 5, 6))
    assert isinstance(err.value, InvalidParameterError)
    assert isinstance(err.value, ShapeMismatchError)


@pytest.mark.parametrize("method", ["blocks", "hb", "immerkaer"])
def test_snr_one_band_mask_equals_per_band_mask_and_cropping(two_bands, method):
    """A (y, x) mask applies to every band; masking the right half measures the left half
    (on a 3- and 6-pixel block grid aligned with column 0, so the sets of blocks agree)."""
    m = np.ones(two_bands.shape[1:], bool)
    m[:, 72:] = False
    one = snr(two_bands, method, mask=m)
    both = snr(two_bands, method, mask=np.stack([m, m]))
    lazy = snr(da.from_array(two_bands, chunks=(1, 96, 64)), method, mask=da.from_array(m))
    cropped = snr(np.ascontiguousarray(two_bands[:, :, :72]), method)
    for var in ("snr", "noise", "signal", "n_blocks"):
        np.testing.assert_array_equal(one[var].values, both[var].values)
        np.testing.assert_array_equal(one[var].values, lazy[var].values)
        np.testing.assert_array_equal(one[var].values, cropped[var].values)


def test_snr_and_snr_map_refuse_non_boolean_masks(two_bands):
    m = np.ones(two_bands.shape[1:], np.uint8)
    for call in (lambda: snr(two_bands, mask=m), lambda: snr_map(two_bands, tile=64, mask=m)):
        with pytest.raises(InvalidParameterError, match=r"boolean.*uint8"):
            call()
    with pytest.raises(MaskShapeError):
        snr(two_bands, mask=np.ones((3, 192, 160), bool))
    # the explicit conversion the error message suggests is accepted
    assert np.isfinite(snr(two_bands, mask=m != 0)["snr"].values).all()


def test_snr_map_mask_matches_per_tile_snr(two_bands):
    m = np.ones(two_bands.shape[1:], bool)
    m[:64, :64] = False
    out = snr_map(two_bands, tile=64, method="immerkaer", mask=m)
    tile = two_bands[:, 64:128, :64]
    expected = snr(tile, "immerkaer")["snr"].values
    np.testing.assert_array_equal(out.values[:, 1, 0], expected)
    assert np.isnan(out.values[:, 0, 0]).all()


@pytest.mark.parametrize("nodata", [0, 0.0, "0", np.uint16(0), np.float32(0)])
@pytest.mark.parametrize("method", ["immerkaer", "blocks", "hb"])
def test_snr_nodata_is_cast_to_the_pixel_dtype(two_bands, nodata, method):
    """``attrs["nodata"]`` follows the shared rule (cast to the pixel dtype): a nodata
    given as a string or a float equal to an integer DN masks those pixels exactly like
    the explicit mask ``image != 0`` (a string nodata used to be compared as a string,
    which masked nothing)."""
    import xarray as xr

    img = two_bands.copy()
    img[:, 20:60, 30:90] = 0
    img[:, 100:103, :] = 0
    scene = xr.DataArray(img, dims=("band", "y", "x"), attrs={"nodata": nodata})
    got = snr(scene, method)
    ref = snr(img, method, mask=img != 0)
    np.testing.assert_array_equal(got["snr"].values, ref["snr"].values)
    np.testing.assert_array_equal(got["n_blocks"].values, ref["n_blocks"].values)
    lazy = scene.copy(data=da.from_array(img, chunks=(2, 64, 48)))
    np.testing.assert_array_equal(snr(lazy, method)["snr"].values, ref["snr"].values)
