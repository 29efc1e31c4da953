"""The default ``quantize.bits`` grid of ``find_cheapest`` stays inside every image's depth.

Real data: the WorldView-2 chips pan1.tif (1..1848: 11 bits) and sample_geotiff.tif
(54..6615: 13 bits), uint16 without NBITS. Before, the grid ran to the dtype's 16 bits
minus one (15), and ``quantize`` refuses more bits than an image has (pan1: 11).
"""

from __future__ import annotations

import shutil

import pytest

import iqx
from iqx.errors import InvalidParameterError
from iqx.experiment._search import grid_values


@pytest.fixture
def chips(shared_data, tmp_path):
    images = tmp_path / "chips" / "images"
    images.mkdir(parents=True)
    for name in ("pan1.tif", "sample_geotiff.tif"):
        shutil.copyfile(shared_data / "solaris_spacenet" / name, images / name)
    return tmp_path / "chips"


def test_quantize_grid_ends_below_the_shallowest_image(chips):
    grid, cheap = grid_values("quantize", "bits", chips, None, None, None, None)
    assert cheap == "low" and grid == list(range(1, 11))  # pan1: 11 bits, 11 = baseline
    iqx.modify(chips, f"quantize:bits={grid[-1]}")  # every probe is valid on every image
    with pytest.raises(InvalidParameterError, match=r"1\.\.11"):
        iqx.modify(chips, "quantize:bits=12")
    declared = iqx.open_dataset(chips, bit_depth=14)
    grid, _ = grid_values("quantize", "bits", declared, None, None, None, None)
    assert grid[-1] == 13
