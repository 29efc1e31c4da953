"""Datasets of small files are compared pair by pair in NumPy, with the graph path's values.

``compare_datasets`` reads each pair of a small-file dataset whole and runs its metrics
without a dask graph (in worker processes when they pay). The reference here is the path it
replaces for such datasets, one dask graph per batch of lazy pairs (forced by reporting no
small files): every value must be identical, on synthetic 8-bit RGB PNGs, float images with
nodata, and crops of the real 11-bit WorldView-2 chip (uint16 without NBITS, so the data
range is measured from the pixels). PSNR/SSIM themselves are checked against skimage in
``test_compare.py`` and ``tests/test_metrics``.
"""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd
import pytest
import rasterio

import iqx
from iqx.datasets import compare as compare_module
from iqx.datasets import derive_dataset, open_dataset
from iqx.datasets.compare import compare_datasets
from iqx.io import read_image, write_image
from iqx.io import scene as scene_module

METRICS = ["psnr", "ssim", "mse", "rmse", "sam"]


def _graph_path(monkeypatch):
    """Make ``compare_datasets`` take the lazy-graph path, whatever the file sizes."""
    monkeypatch.setattr(compare_module, "file_sizes", lambda paths: compare_module.FileSizes())


def _tiny_rgb(tmp_path, n=12):
    root = tmp_path / "rgb"
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:28, :28]
    for k in range(n):
        base = 120 + 90 * np.sin(yy / (3.0 + k % 5)) * np.cos(xx / 4.0)
        img = np.clip(base[None] + rng.normal(0, 6, (3, 28, 28)), 0, 255).astype(np.uint8)
        write_image(img, root / "images" / f"{k:03d}.png")
    return open_dataset(root)


def _noisy_copy(ref, amplitude, seed=0):
    def noisy(src, dst):
        img = read_image(src)
        rng = np.random.default_rng(seed + len(src.name))
        info = np.iinfo(img.dtype) if img.dtype.kind in "ui" else None
        out = img.astype(np.float64) + rng.normal(0, amplitude, img.shape)
        if info is not None:
            out = np.clip(np.rint(out), info.min, info.max)
        write_image(out.astype(img.dtype), dst)
        return {}

    return derive_dataset(ref, f"noise{amplitude}", {"id": "noise", "amplitude": amplitude}, noisy)


def _both_paths(ref, test, monkeypatch, **kwargs):
    small = compare_datasets(ref, test, **kwargs)
    with monkeypatch.context() as m:
        _graph_path(m)
        graph = compare_datasets(ref, test, **kwargs)
    return small, graph


def test_small_rgb_pngs_equal_the_graph_path(tmp_path, monkeypatch):
    ref = _tiny_rgb(tmp_path)
    test = _noisy_copy(ref, 9)
    small, graph = _both_paths(ref, test, monkeypatch, metrics=METRICS, per_band=True)
    pd.testing.assert_frame_equal(small, graph, check_exact=True)
    assert (small["data_range_source"] == "dtype").all()
    assert small.index.tolist() == [f"{k:03d}.png" for k in range(12)]


def test_real_worldview2_crops_equal_the_graph_path(tmp_path, monkeypatch, pan):
    """16 crops of 64×64 of the real 11-bit chip: small files, depth measured per pair."""
    with rasterio.open(pan) as src:
        chip = src.read()
    root = tmp_path / "wv2"
    (root / "images").mkdir(parents=True)
    for k in range(16):
        y, x = 64 * (k // 4), 64 * (k % 4)
        write_image(chip[:, y : y + 64, x : x + 64], root / "images" / f"c{k:02d}.tif")
    ref = open_dataset(root)
    assert compare_module.file_sizes(ref.image_files).small_files == 16
    test = _noisy_copy(ref, 25)
    small, graph = _both_paths(ref, test, monkeypatch, metrics=["psnr", "ssim", "ergas"], ratio=1)
    pd.testing.assert_frame_equal(small, graph, check_exact=True)
    # no NBITS tag: each pair's depth is measured from its own pixels (dark crops: fewer bits)
    assert set(small["data_range_source"]) == {"measured"}
    assert set(small["data_range"]) <= {511.0, 1023.0, 2047.0}
    declared, graph = _both_paths(ref, test, monkeypatch, metrics=["psnr"], bit_depth=11)
    pd.testing.assert_frame_equal(declared, graph, check_exact=True)
    assert (declared["data_range"] == 2047.0).all()


def test_float_images_with_nodata_equal_the_graph_path(tmp_path, monkeypatch):
    root = tmp_path / "flt"
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(11)
    for k in range(6):
        img = rng.normal(0.5, 0.1, (2, 32, 40)).astype(np.float32)
        img[:, 3 + k, 5:9] = -9999.0
        write_image(img, root / "images" / f"f{k}.tif", nodata=-9999.0)
    ref = open_dataset(root)
    test = _noisy_copy(ref, 0.01)
    small, graph = _both_paths(ref, test, monkeypatch, metrics=METRICS, data_range=1.0)
    pd.testing.assert_frame_equal(small, graph, check_exact=True)
    assert np.isfinite(small["ssim"]).all()


def test_processes_give_what_threads_give(tmp_path):
    ref = _tiny_rgb(tmp_path, n=40)
    test = iqx.modify(ref, "jpeg:quality=60")
    threads = compare_datasets(ref, test, metrics=METRICS, scheduler="threads", batch_size=7)
    seen = []
    procs = compare_datasets(
        ref, test, metrics=METRICS, scheduler="processes", batch_size=7, progress=seen.append
    )
    pd.testing.assert_frame_equal(procs, threads, check_exact=True)
    assert sum(seen) == 40 and len(seen) == 6  # 40 pairs in batches of 7


def test_a_large_image_among_small_files_is_computed_lazily(tmp_path, monkeypatch):
    """A pair too large to read whole stays lazy inside its batch: same values."""
    ref = _tiny_rgb(tmp_path, n=4)
    test = _noisy_copy(ref, 5)
    expected = compare_datasets(ref, test, metrics=METRICS)
    monkeypatch.setattr(scene_module, "SMALL_SCENE_SAMPLES", 100)  # 3×28×28 is "large"
    opened = []
    real_open = scene_module.open_scene

    def spy(path, **kwargs):
        scene = real_open(path, **kwargs)
        opened.append(dask.is_dask_collection(scene))
        return scene

    monkeypatch.setattr(scene_module, "open_scene", spy)
    lazy = compare_datasets(ref, test, metrics=METRICS, scheduler="threads")
    assert opened and all(opened)
    pd.testing.assert_frame_equal(lazy, expected, check_exact=True)


def test_a_corrupt_small_file_is_named(tmp_path):
    ref = _tiny_rgb(tmp_path, n=5)
    test = _noisy_copy(ref, 5)
    bad = test.data_input / "002.png"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(iqx.errors.IqxError, match=r"002\.png"):
        compare_datasets(ref, test, scheduler="processes")


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("metric", ["psnr", "ssim", "mse", "rmse"])
def test_parts_give_what_the_dataset_gives(metric, lazy):
    """``compare_images`` reads PSNR/SSIM/MSE/RMSE from their parts, without a Dataset:
    the same per-band and pooled values, data range and source as the public function's
    Dataset (NumPy and dask input, a nodata value included)."""
    import xarray as xr

    from iqx.datasets.compare import compare_images
    from iqx.metrics import reference

    rng = np.random.default_rng(5)
    ref = rng.integers(0, 2048, (3, 40, 36)).astype(np.uint16)
    test = np.clip(ref + rng.integers(-30, 31, ref.shape), 0, 2047).astype(np.uint16)
    ref[:, 4, 4:9] = 0
    scenes = []
    for data in (ref, test):
        scene = xr.DataArray(data, dims=("band", "y", "x"), coords={"band": ["r", "g", "b"]})
        scene.attrs["nodata"] = 0
        scenes.append(scene.chunk({"y": 16, "x": 16}) if lazy else scene)
    row = compare_images(*scenes, metrics=[metric], per_band=True, bit_depth=None)
    ds = getattr(reference, metric)(*scenes).compute()
    expected = {metric: float(ds[metric])}
    expected.update(
        {f"{metric}_band_{b}": float(v) for b, v in zip("rgb", ds[f"{metric}_band"].values)}
    )
    if "data_range" in ds.attrs:
        expected.update(
            data_range=ds.attrs["data_range"], data_range_source=ds.attrs["data_range_source"]
        )
    assert row == expected
    assert hasattr(getattr(reference, metric), "parts")
