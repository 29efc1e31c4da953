"""An unsourced ``bit_depth`` attribute on uint16 data is a hint: the value range decides.

Ground truth: the values themselves. An 8-bit scene multiplied into uint16 (``* 8``) holds
values up to 8 x 255 = 2040 (11 bits), whatever the ``bit_depth=8`` its copied attrs say;
pan1.tif (WorldView-2, uint16, no NBITS) reads 1..1848 with rasterio (PROVENANCE.md).
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
    lazy_bit_depth,
    resolve_bit_depth,
    with_bit_depth,
)
from iqx.errors import UnsupportedDtypeError
from iqx.modifiers import as_modifier

pytestmark = pytest.mark.usefixtures("fresh_bit_depth_cache")


@pytest.fixture
def scaled(shared_data):
    """The real 8-bit Landsat band scaled into uint16 with the 8-bit scene's attrs."""
    path = shared_data / "rasterio_landsat7_goes" / "RGB.byte.tif"
    with rasterio.open(path) as src:
        top = int(src.read(1).max())
    base = iqx.open_scene(path).isel(band=[0])
    base = base.copy(data=base.values)
    scene = (base.astype("uint16") * 8).assign_attrs({**base.attrs, "bit_depth": 8})
    scene.attrs.pop("bit_depth_source", None)
    return scene, 8 * top


def test_unsourced_hint_below_the_values_is_measured(scaled):
    scene, top = scaled
    assert top.bit_length() == 11  # ground truth: 8 * 255-ish needs 11 bits
    assert resolve_bit_depth(scene) == BitDepth(11, "measured", float(top))
    lazy = scene.copy(data=da.from_array(scene.values, chunks=128))
    bits, source = lazy_bit_depth(lazy)
    assert source == "measured" and int(bits.compute()) == 11


@pytest.mark.parametrize("spec", ["jpeg:quality=50", "jpeg2000:ratio=10"])
@pytest.mark.parametrize("chunked", [False, True])
def test_codecs_take_the_scaled_scene_as_11_bit(scaled, spec, chunked):
    """Before: both raised UnsupportedDtypeError ("values up to 2040 ... 8-bit")."""
    scene, top = scaled
    if chunked:
        scene = scene.copy(data=da.from_array(scene.values, chunks=(1, 256, 256)))
    out = as_modifier(spec)(scene)
    values = np.asarray(out.values, dtype=np.float64)
    assert out.dtype == np.uint16 and values.max() > 255  # not clipped to 8 bits
    err = np.abs(values - scene.values.astype(np.float64))
    assert np.sqrt(np.mean(err**2)) < 0.05 * top  # a lossy copy of the same image


def test_hint_is_a_lower_bound_and_declarations_still_win(scaled, shared_data):
    scene, _ = scaled
    # a hint above the values: kept (a dark 12-bit scene stays 12-bit)
    assert resolve_bit_depth(scene.assign_attrs(bit_depth=12)) == BitDepth(12, "metadata")
    # a sourced declaration is the user's word: codecs refuse values above it
    declared = with_bit_depth(scene, 8)
    assert resolve_bit_depth(declared) == BitDepth(8, "user")
    with pytest.raises(UnsupportedDtypeError, match="values up to 2040"):
        as_modifier("jpeg:quality=50")(declared).compute()
    # the real 11-bit chip without NBITS and a stale hint: measured from its values (1848)
    pan = iqx.open_scene(shared_data / "solaris_spacenet" / "pan1.tif")
    assert resolve_bit_depth(pan.assign_attrs(bit_depth=8)) == BitDepth(11, "measured", 1848.0)
    # other dtypes keep the old rule: an unsourced attribute is metadata
    u8 = xr.DataArray(np.full((1, 4, 4), 3, np.uint8), dims=("band", "y", "x"))
    assert resolve_bit_depth(u8.assign_attrs(bit_depth=6)) == BitDepth(6, "metadata")


def test_hint_survives_a_geotiff_round_trip_as_a_hint(scaled, tmp_path):
    """Written to a GeoTIFF and read back, the hint stays a hint (it used to come back as
    the file's declared depth, and the codecs refused the 11-bit values again)."""
    scene, top = scaled
    out = iqx.to_geotiff(scene, tmp_path / "scaled.tif")
    back = iqx.open_scene(out)
    assert back.attrs["bit_depth"] == 8 and back.attrs["bit_depth_source"] is None
    depth = resolve_bit_depth(back)
    assert depth.bits == top.bit_length() == 11 and depth.source == "measured"
    as_modifier("jpeg:quality=70")(back).compute()  # no UnsupportedDtypeError
    with rasterio.open(out) as ds:
        assert "IQX_BIT_DEPTH" not in ds.tags() and ds.tags()["IQX_BIT_DEPTH_HINT"] == "8"
    declared = with_bit_depth(scene, 11)  # a declaration is still written as one
    back = iqx.open_scene(iqx.to_geotiff(declared, tmp_path / "declared.tif"))
    assert (back.attrs["bit_depth"], back.attrs["bit_depth_source"]) == (11, "metadata")
