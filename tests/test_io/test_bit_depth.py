"""The bit-depth rule (user > metadata > measured > dtype) on real WorldView-2 chips.

Ground truth: the chips' maxima read with rasterio directly (``solaris_spacenet/PROVENANCE.md``
lists pan1.tif as 1..1848 and sample_geotiff.tif as 54..6615, uint16 without NBITS).
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr

import iqx
from iqx.bitdepth import (
    BitDepth,
    cached_max,
    check_bit_depth,
    lazy_bit_depth,
    pair_bit_depth,
    resolve_bit_depth,
    with_bit_depth,
)
from iqx.errors import InvalidParameterError
from iqx.testing import raise_if_dask_computes

pytestmark = pytest.mark.usefixtures("fresh_bit_depth_cache")


def _rio_max(path):
    with rasterio.open(path) as ds:
        return int(ds.read().max())


def test_open_reads_no_pixel_and_declares_nothing(pan):
    with raise_if_dask_computes():
        scene = iqx.open_scene(pan, chunks=256)
        depth = resolve_bit_depth(scene, measure=False)
    assert scene.attrs["bit_depth"] is None and scene.attrs["bit_depth_source"] is None
    assert depth == BitDepth(16, "dtype")


def test_measured_depth_of_real_chips(pan, atlanta):
    for path, bits in ((pan, 11), (atlanta, 13)):
        scene = iqx.open_scene(path, chunks=256)
        top = _rio_max(path)
        assert top.bit_length() == bits
        depth = resolve_bit_depth(scene)
        assert depth == BitDepth(bits, "measured", float(top))


def test_measured_max_is_computed_once_and_cached(pan):
    scene = iqx.open_scene(pan, chunks=200)
    assert cached_max(scene) is None
    resolve_bit_depth(scene)
    with raise_if_dask_computes():  # second use: no pass over the pixels
        assert resolve_bit_depth(scene).bits == 11
        assert resolve_bit_depth(scene.copy()).bits == 11  # same graph, same cache entry
        assert lazy_bit_depth(scene) == (11, "measured")


def test_lazy_depth_builds_no_pass_until_needed(pan):
    scene = iqx.open_scene(pan, chunks=128)
    with raise_if_dask_computes():
        bits, source = lazy_bit_depth(scene)
    assert source == "measured" and bits.compute() == 11


def test_user_beats_metadata_beats_measured(pan, tmp_path):
    user = iqx.open_scene(pan, bit_depth=12)
    assert resolve_bit_depth(user) == BitDepth(12, "user")
    # metadata: iqx writes the declared depth as IQX_BIT_DEPTH; GDAL's NBITS works the same
    out = iqx.to_geotiff(user, tmp_path / "p12.tif")
    assert resolve_bit_depth(iqx.open_scene(out)) == BitDepth(12, "metadata")
    assert resolve_bit_depth(iqx.open_scene(out, bit_depth=11)) == BitDepth(11, "user")
    with rasterio.open(pan) as src:
        profile = {**src.profile, "NBITS": 11}
        arr = src.read()
    with rasterio.open(tmp_path / "nbits.tif", "w", **profile) as dst:
        dst.write(arr)
    assert resolve_bit_depth(iqx.open_scene(tmp_path / "nbits.tif")) == BitDepth(11, "metadata")
    # explicit argument beats the scene's attrs
    assert resolve_bit_depth(user, 14) == BitDepth(14, "user")


def test_dtype_sources_and_floats():
    u8 = xr.DataArray(np.full((1, 4, 4), 7, np.uint8), dims=("band", "y", "x"))
    assert resolve_bit_depth(u8) == BitDepth(8, "dtype")  # uint8 is never "measured"
    i16 = xr.DataArray(np.zeros((1, 4, 4), np.int16), dims=("band", "y", "x"))
    assert resolve_bit_depth(i16) == BitDepth(16, "dtype")
    f32 = xr.DataArray(np.zeros((1, 4, 4), np.float32), dims=("band", "y", "x"))
    assert resolve_bit_depth(f32) == BitDepth(None, "none")
    assert resolve_bit_depth(with_bit_depth(f32, 11)) == BitDepth(11, "user")
    small = xr.DataArray(np.full((1, 4, 4), 3, np.uint16), dims=("band", "y", "x"))
    assert resolve_bit_depth(small).bits == 8  # never below 8 bits


def test_legacy_dtype_width_attr_is_no_declaration():
    """Older iqx wrote bit_depth=16 for every uint16 file: that is not a declaration."""
    a = xr.DataArray(
        np.full((1, 4, 4), 1500, np.uint16), dims=("band", "y", "x"), attrs={"bit_depth": 16}
    )
    assert resolve_bit_depth(a) == BitDepth(11, "measured", 1500.0)
    b = a.assign_attrs(bit_depth=12)  # no source, not the dtype's width: metadata
    assert resolve_bit_depth(b) == BitDepth(12, "metadata")


def test_nodata_is_excluded_from_the_measurement():
    arr = np.full((1, 8, 8), 1000, np.uint16)
    arr[0, 0, 0] = 65535
    a = xr.DataArray(arr, dims=("band", "y", "x"), attrs={"nodata": 65535})
    assert resolve_bit_depth(a).bits == 10
    lazy = a.copy(data=da.from_array(arr, chunks=4))
    assert resolve_bit_depth(lazy).bits == 10


def test_pair_is_symmetric_and_uses_declared_first(pan):
    u16 = iqx.open_scene(pan)
    u8 = xr.DataArray(np.full((1, 600, 600), 200, np.uint8), dims=("band", "y", "x"))
    assert pair_bit_depth(u8, u16) == pair_bit_depth(u16, u8) == BitDepth(11, "measured", 1848.0)
    declared = iqx.open_scene(pan, bit_depth=12)
    assert pair_bit_depth(u16, declared) == pair_bit_depth(declared, u16) == BitDepth(12, "user")


def test_zarr_keeps_declared_and_undeclared(pan, tmp_path):
    plain = iqx.to_zarr(iqx.open_scene(pan), tmp_path / "a.zarr")
    assert iqx.open_scene(plain).attrs["bit_depth"] is None
    declared = iqx.to_zarr(iqx.open_scene(pan, bit_depth=11), tmp_path / "b.zarr")
    assert resolve_bit_depth(iqx.open_scene(declared)) == BitDepth(11, "user")


@pytest.mark.parametrize("bad", [0, 17, 11.5, "11", True])
def test_bad_bit_depth(bad, pan):
    with pytest.raises(InvalidParameterError, match="bit_depth"):
        iqx.open_scene(pan, bit_depth=bad)
    with pytest.raises(InvalidParameterError):
        check_bit_depth(bad, np.uint16)
