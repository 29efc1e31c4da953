"""``modify_cube`` settles a block codec's settings once per group of images, not per image.

Images of a cube that agree on the attrs a codec reads (``stack_keys``) go through one NumPy
kernel built for the first of them; the result must equal the modifier applied to each
image's own scene, and a depth measured per image or a nodata value must fall back to that
per-image path. References here are ``modifier(scene)`` on each image read independently.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

import iqx
from iqx.datasets import modify_cube, open_cube, open_dataset
from iqx.io.images import read_image_scene
from iqx.modifiers import as_modifier
from iqx.modifiers._block_codec import BlockCodec


def _dataset(root, *, dtype="uint8", bands=1, top=255, nodata=None, bit_depth=None, n=5):
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(4)
    for k in range(n):
        arr = rng.integers(0, top + 1, (bands, 40, 40)).astype(dtype)
        arr[:, :8, :8] = 0  # a nodata corner when nodata=0
        profile = dict(driver="GTiff", width=40, height=40, count=bands, dtype=dtype,
                       crs="EPSG:32630", transform=from_origin(4e5 + 50 * k, 4.5e6, 1, 1),
                       nodata=nodata)  # fmt: skip
        if bit_depth:
            profile["nbits"] = bit_depth
        with rasterio.open(root / "images" / f"i{k}.tif", "w", **profile) as ds:
            ds.write(arr)
    return root


def _per_image(root, spec):
    mod = as_modifier(spec)
    return np.stack([mod(read_image_scene(p)[0]).values for p in open_dataset(root).image_files])


@pytest.fixture
def kernel_calls(monkeypatch):
    made = []
    original = BlockCodec.stack_kernel

    def spy(self, image):
        kernel = original(self, image)
        made.append(kernel is not None)
        return kernel

    monkeypatch.setattr(BlockCodec, "stack_kernel", spy)
    return made


@pytest.mark.parametrize(
    ("spec", "kwargs"),
    [
        ("jpeg:quality=60", {}),
        ("jpeg:quality=80", {"bands": 3}),
        ("jpeg2000:ratio=8", {"bands": 3}),
        ("jpeg:quality=70", {"dtype": "uint16", "top": 4095, "bit_depth": 12}),
    ],
)
def test_one_kernel_per_chunk_equals_the_per_image_modifier(tmp_path, kernel_calls, spec, kwargs):
    root = _dataset(tmp_path / "ds", **kwargs)
    expected = _per_image(root, spec)
    kernel_calls.clear()
    got = modify_cube(open_cube(root, images_per_chunk=2), spec).values
    np.testing.assert_array_equal(got, expected)
    assert kernel_calls == [True, True, True]  # chunks of 2, 2, 1 images: one kernel each


@pytest.mark.parametrize(
    "kwargs",
    [{"dtype": "uint16", "top": 2047}, {"nodata": 0}],
    ids=["depth measured per image", "nodata"],
)
def test_per_image_settings_fall_back_to_the_per_image_path(tmp_path, kernel_calls, kwargs):
    root = _dataset(tmp_path / "ds", **kwargs)
    expected = _per_image(root, "jpeg:quality=70")
    kernel_calls.clear()
    got = modify_cube(open_cube(root, images_per_chunk=5), "jpeg:quality=70").values
    np.testing.assert_array_equal(got, expected)
    assert kernel_calls == [False]


def test_a_kernel_error_names_the_image_it_happened_on(tmp_path, kernel_calls):
    root = _dataset(tmp_path / "ds", dtype="uint16", top=4095, n=3)
    with rasterio.open(root / "images" / "i2.tif", "r+") as ds:
        arr = ds.read()
        arr[0, 20, 20] = 5000  # above the declared 12 bits: a 12-bit JPEG cannot hold it
        ds.write(arr)
    cube = open_cube(root, images_per_chunk=3, bit_depth=12)
    with pytest.raises(iqx.errors.IqxError, match=r"i2\.tif"):
        modify_cube(cube, "jpeg:quality=70").compute()
    assert kernel_calls == [True]  # the error came from the shared kernel
