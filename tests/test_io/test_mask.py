"""valid_mask: GDAL masks (nodata, alpha, internal), nodata attrs, NaN; lazy and chunked."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from iqx.io import open_scene, valid_mask
from iqx.parallel import as_scene
from iqx.testing.laziness import raise_if_dask_computes


def _gdal_masks(path):
    with rasterio.open(path) as ds:
        return ds.read_masks() > 0


@pytest.mark.parametrize(
    "rel",
    [
        "riotiler_fixtures/pix4d_alpha_nodata.tif",  # RGBA: alpha
        "rasterio_landsat7_goes/goes.tif",  # internal mask (per_dataset)
        "rasterio_landsat7_goes/RGB.byte.tif",  # nodata 0
        "riotiler_fixtures/scene_band1.tif",  # nodata 0, uint16
        "solaris_spacenet/pan1.tif",  # all valid
    ],
)
@pytest.mark.parametrize("chunks", [None, (100, 128)])
def test_mask_equals_gdal(shared_data, rel, chunks):
    p = shared_data / rel
    scene = open_scene(p, chunks=chunks)
    with raise_if_dask_computes():
        mask = valid_mask(scene)
    assert mask.dtype == bool and mask.dims == scene.dims
    assert mask.chunks == scene.chunks
    np.testing.assert_array_equal(mask.values, _gdal_masks(p))


def test_alpha_band_semantics(shared_data):
    scene = open_scene(shared_data / "riotiler_fixtures" / "pix4d_alpha_nodata.tif")
    mask = valid_mask(scene).values
    alpha = scene.values[3]
    assert mask[3].all()  # the alpha band itself is valid everywhere
    for b in range(3):
        np.testing.assert_array_equal(mask[b], alpha > 0)
    assert 0 < mask[0].mean() < 1


def test_int16_nodata(shared_data):
    p = next((shared_data / "calval_landsat8_sentinel2").rglob("*sr_band2.tif"))
    scene = open_scene(p)
    mask = valid_mask(scene).values
    np.testing.assert_array_equal(mask, scene.values != -9999)


def test_mask_from_attrs_and_nan():
    a = np.arange(24, dtype="float32").reshape(1, 4, 6)
    a[0, 0, 0] = np.nan
    s = as_scene(a).chunk({"y": 2})
    s.attrs["nodata"] = 5.0
    m = valid_mask(s)
    assert m.chunks == s.chunks
    expected = ~np.isnan(a) & (a != 5)
    np.testing.assert_array_equal(m.values, expected)
    s.attrs["nodata"] = None
    np.testing.assert_array_equal(valid_mask(s).values, ~np.isnan(a))
    ints = as_scene(np.ones((2, 3, 3), "uint8"))
    assert valid_mask(ints).values.all()


def test_mask_of_subset_falls_back_to_nodata(shared_data):
    scene = open_scene(shared_data / "rasterio_landsat7_goes" / "RGB.byte.tif")
    sub = scene.isel(y=slice(100, 300))
    np.testing.assert_array_equal(valid_mask(sub).values, sub.values != 0)
