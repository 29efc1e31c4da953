"""Dataset cubes, the modify fast path and parallel measure: same results as image by image."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from affine import Affine

import iqx
from iqx.datasets import measure_cube, modify_cube, open_cube, open_cubes, open_dataset
from iqx.datasets.measure import measure_image, measure_images
from iqx.errors import DatasetLayoutError, InvalidParameterError
from iqx.io import read_image


def _write(path, k, n=48, bands=3, dtype="uint8"):
    rng = np.random.default_rng(k)
    yy, xx = np.mgrid[0:n, 0:n]
    base = 120 + 50 * np.sin((yy + 3 * k) / 7.0) + 40 * ((xx // 11) % 2)
    arr = np.stack([base + 10 * b for b in range(bands)]) + rng.normal(0, 4, (bands, n, n))
    arr = np.clip(arr, 0, 255).astype(dtype)
    with rasterio.open(
        path, "w", driver="GTiff", width=n, height=n, count=bands, dtype=dtype,
        crs="EPSG:32630", transform=Affine(0.5, 0, 400000 + 100 * k, 0, -0.5, 4500000),
    ) as dst:  # fmt: skip
        dst.write(arr)


@pytest.fixture
def tiles(tmp_path):
    root = tmp_path / "tiles"
    (root / "images").mkdir(parents=True)
    for k in range(7):
        _write(root / "images" / f"t{k:02d}.tif", k)
    return root


def test_open_cube_lazy_with_names_and_georeferencing(tiles):
    cube = open_cube(tiles, images_per_chunk=3)
    assert cube.dims == ("image", "band", "y", "x")
    assert cube.chunks[0] == (3, 3, 1)
    assert list(cube["image"].values) == [f"t{k:02d}.tif" for k in range(7)]
    assert cube["transform"].values[2] == (0.5, 0.0, 400200.0, 0.0, -0.5, 4500000.0)
    assert "32630" in cube["crs"].values[0]
    ds = open_dataset(tiles)
    expected = np.stack([read_image(p) for p in ds.image_files])
    np.testing.assert_array_equal(cube.values, expected)


def test_several_sizes_one_cube_per_group(tiles):
    _write(tiles / "images" / "z_big.tif", 9, n=64)
    cubes = open_cubes(tiles)
    assert sorted(int(c.sizes["image"]) for c in cubes.values()) == [1, 7]
    with pytest.raises(DatasetLayoutError, match="open_cubes"):
        open_cube(tiles)


@pytest.mark.parametrize("spec", ["jpeg:quality=70", "gaussian_blur:sigma=1", "quantize:bits=5"])
def test_modify_cube_equals_folder_modify_any_chunking(tiles, spec):
    folder = iqx.modify(tiles, spec)
    expected = np.stack([read_image(p) for p in folder.image_files])
    for per in (1, 4, 7):
        got = modify_cube(open_cube(tiles, images_per_chunk=per), spec)
        np.testing.assert_array_equal(got.values, expected)
    eager = modify_cube(open_cube(tiles).compute(), spec)  # NumPy-backed cube
    np.testing.assert_array_equal(eager.values, expected)


def test_modify_cube_refuses_grid_changes(tiles):
    with pytest.raises(InvalidParameterError, match="folder dataset"):
        modify_cube(open_cube(tiles), "resample:factor=0.5")


def test_cube_zarr_round_trip_and_derived_store(tiles, tmp_path):
    cube = open_cube(tiles, images_per_chunk=2)
    store = iqx.to_zarr(cube, tmp_path / "cube.zarr")
    back = open_dataset(store)
    assert back.dims == cube.dims and back.chunks[0] == (2, 2, 2, 1)
    np.testing.assert_array_equal(back.values, cube.values)
    assert list(back["image"].values) == list(cube["image"].values)
    assert list(back["transform"].values) == list(cube["transform"].values)
    derived = iqx.to_zarr(modify_cube(back, "jpeg:quality=60"), tmp_path / "cube#jpeg.zarr")
    again = open_dataset(derived)
    np.testing.assert_array_equal(again.values, modify_cube(cube, "jpeg:quality=60").values)
    assert again.attrs["iqx_history"][-1].startswith("jpeg(")


def test_measure_cube_and_parallel_measure_equal_one_by_one(tiles):
    ds = open_dataset(tiles)
    names = ["snr"]
    one_by_one = [measure_image(p, names) for p in ds.image_files]
    parallel = list(measure_images(ds.image_files, names, workers=2))
    assert json.dumps(parallel) == json.dumps(one_by_one)
    table = measure_cube(open_cube(tiles, images_per_chunk=3), names)
    assert list(table.index) == [p.name for p in ds.image_files]
    np.testing.assert_allclose(table["snr"].to_numpy(float), [r["snr"] for r in one_by_one])


def test_modify_manifest_data_volume_equals_data_volume(tiles):
    from iqx.io import open_scene
    from iqx.modifiers import data_volume, parse_spec

    out = iqx.modify(tiles, "jpeg2000:psnr=35")
    rec = {f["file"]: f for f in out.manifest["files"]}
    for p in open_dataset(tiles).image_files:
        scene = open_scene(p)
        vol = data_volume(scene.copy(data=read_image(p)), parse_spec("jpeg2000:psnr=35"))
        assert rec[p.name]["compressed_bytes"] == vol["compressed_bytes"]


@pytest.mark.distributed
def test_cube_and_measure_on_process_workers(tiles, tmp_path, dask_client):
    ds = open_dataset(tiles)
    local = [measure_image(p, ["snr"]) for p in ds.image_files]
    remote = list(measure_images(ds.image_files, ["snr"]))
    assert json.dumps(remote) == json.dumps(local)
    cube = open_cube(tiles, images_per_chunk=2)
    modified = modify_cube(cube, "jpeg:quality=70")
    store = iqx.to_zarr(modified, tmp_path / "d.zarr")
    expected = np.stack([read_image(p) for p in iqx.modify(tiles, "jpeg:quality=70").image_files])
    np.testing.assert_array_equal(open_dataset(store).values, expected)
    table = measure_cube(cube, ["snr"])
    np.testing.assert_allclose(table["snr"].to_numpy(float), [r["snr"] for r in local])


def test_sharpness_and_niirs_share_one_edge_measurement(tiles, monkeypatch):
    """``blind_record`` measures the edges once for sharpness + niirs; the record equals each
    metric's own flat summary (computed apart) key for key and value for value."""
    import importlib

    from iqx.datasets.measure import BLIND_METRICS, blind_record
    from iqx.io import open_scene

    scene = open_scene(open_dataset(tiles).image_files[0])
    names = ["snr", "sharpness", "niirs"]
    apart: dict = {}
    for name in names:
        apart.update(importlib.import_module(BLIND_METRICS[name]).flat_summary(scene))
    calls = []
    module = importlib.import_module("iqx.metrics.sharpness")  # niirs imports it per call
    real = module.sharpness
    monkeypatch.setattr(module, "sharpness", lambda *a, **k: calls.append(1) or real(*a, **k))
    together = blind_record(scene, names)
    assert len(calls) == 1
    assert json.dumps(together, default=str) == json.dumps(apart, default=str)


def test_measure_cube_reports_progress_per_chunk(tiles):
    """``progress(n)`` per measured chunk (7 images in chunks of 3: 3 + 3 + 1), same table."""
    import io

    from iqx._progress import Progress

    cube = open_cube(tiles, images_per_chunk=3)
    plain = measure_cube(cube, ["snr"])
    calls = []
    counted = measure_cube(cube, ["snr"], progress=calls.append)
    assert sorted(calls) == [1, 3, 3]
    assert counted.equals(plain)
    out = io.StringIO()
    with Progress(7, label="measure", unit="images", stream=out, enabled=True) as bar:
        measure_cube(cube, ["snr"], progress=bar.advance)
    assert "7/7 images 100%" in out.getvalue()
    # the bar's rule: nothing drawn on a stream that is not a terminal (a log, a pipe)
    quiet = io.StringIO()
    with Progress(7, stream=quiet) as bar:
        measure_cube(cube, ["snr"], progress=bar.advance)
    assert quiet.getvalue() == "" and bar.done == 7


@pytest.mark.distributed
def test_measure_cube_progress_on_process_workers(tiles, dask_client):
    cube = open_cube(tiles, images_per_chunk=2)
    calls = []
    table = measure_cube(cube, ["snr"], progress=calls.append)
    assert sorted(calls) == [1, 2, 2, 2]
    assert table.equals(measure_cube(cube, ["snr"]))
