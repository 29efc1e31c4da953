"""Dataset-level comparison: a reference dataset vs its ``#`` copy, matched by file name.

Expected values come from ``skimage.metrics`` (``peak_signal_noise_ratio``,
``structural_similarity`` with the Wang-2004 Gaussian arguments) on the same arrays read
back from disk.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from iqx.datasets import derive_dataset, open_dataset
from iqx.datasets.compare import (
    compare_datasets,
    compare_images,
    compare_paths,
    evaluate_reference_metric,
    summarize,
)
from iqx.errors import InvalidParameterError, ShapeMismatchError
from iqx.io import read_image, write_image

GAUSS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}


def _noisy(src, dst):
    img = read_image(src)
    rng = np.random.default_rng(len(src.name))
    out = np.clip(img.astype(np.int16) + rng.integers(-12, 13, img.shape), 0, 255).astype(np.uint8)
    write_image(out, dst)
    return {}


@pytest.fixture
def datasets(tmp_path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(3)
    y, x = np.mgrid[:70, :90]
    for i, name in enumerate(["a.png", "b.png", "c.png"]):
        base = 128 + 80 * np.sin(y / (5.0 + i)) * np.cos(x / 7.0)
        img = np.clip(base[None] + rng.normal(0, 5, (3, 70, 90)), 0, 255).astype(np.uint8)
        write_image(img, root / "images" / name)
    (root / "annotations.json").write_text("{}")
    ref = open_dataset(root)
    test = derive_dataset(ref, "noise12", {"id": "noise_test", "amplitude": 12}, _noisy)
    return ref, test


def test_compare_dataset_with_its_copy(datasets):
    ref, test = datasets
    assert test.name == "ds#noise12"
    frame = compare_datasets(ref.data_path, test.data_path, metrics=["psnr", "ssim", "mse"])
    assert list(frame.index) == ["a.png", "b.png", "c.png"]
    assert list(frame.columns) == ["psnr", "ssim", "mse", "data_range", "data_range_source"]
    for name in frame.index:
        r = read_image(ref.data_input / name)
        t = read_image(test.data_input / name)
        assert frame.loc[name, "psnr"] == pytest.approx(peak_signal_noise_ratio(r, t), rel=1e-12)
        ssim_ref = structural_similarity(r, t, data_range=255, channel_axis=0, **GAUSS)
        assert frame.loc[name, "ssim"] == pytest.approx(ssim_ref, abs=1e-6)
    summary = summarize(frame)
    assert summary["psnr"] == pytest.approx(frame["psnr"].mean())


def test_per_band_and_options(datasets):
    ref, test = datasets
    frame = compare_datasets(
        ref, test, metrics=["ssim"], per_band=True, window="uniform", data_range=255.0
    )
    assert {"ssim", "ssim_band_1", "ssim_band_2", "ssim_band_3"} <= set(frame.columns)
    r = read_image(ref.data_input / "b.png")
    t = read_image(test.data_input / "b.png")
    assert frame.loc["b.png", "ssim_band_2"] == pytest.approx(
        structural_similarity(r[1], t[1], data_range=255), abs=1e-6
    )


def test_runs_under_distributed(datasets, dask_client):
    ref, test = datasets
    frame = compare_datasets(ref, test, metrics=["psnr"])
    r = read_image(ref.data_input / "c.png")
    t = read_image(test.data_input / "c.png")
    assert frame.loc["c.png", "psnr"] == pytest.approx(peak_signal_noise_ratio(r, t), rel=1e-12)


def test_two_files(datasets):
    ref, test = datasets
    frame = compare_paths(ref.data_input / "a.png", test.data_input / "a.png", metrics=["rmse"])
    assert list(frame.index) == ["a.png"]
    assert frame.loc["a.png", "rmse"] > 0


def test_missing_names_are_listed(datasets):
    ref, test = datasets
    (test.data_input / "b.png").unlink()
    with pytest.raises(ShapeMismatchError, match=r"missing from .*ds#noise12/images: b\.png"):
        compare_datasets(ref.data_path, test.data_path)
    frame = compare_datasets(ref.data_path, test.data_path, on_missing="skip")
    assert list(frame.index) == ["a.png", "c.png"]
    other = ref.data_path.parent / "other"
    (other / "images").mkdir(parents=True)
    write_image(np.zeros((70, 90), np.uint8), other / "images" / "zzz.png")
    with pytest.raises(
        ShapeMismatchError, match=r"no image names in common.*a\.png, b\.png, c\.png"
    ):
        compare_datasets(ref.data_path, other, on_missing="skip")


def test_shape_mismatch_names_the_files(datasets):
    ref, test = datasets
    write_image(np.zeros((3, 60, 90), np.uint8), test.data_input / "c.png")
    with pytest.raises(ShapeMismatchError, match=r"c\.png.*\(3, 70, 90\).*c\.png.*\(3, 60, 90\)"):
        compare_datasets(ref, test.data_path)


def test_metric_arguments_checked(datasets):
    ref, _ = datasets
    from iqx.io import open_scene

    a = open_scene(ref.data_input / "a.png")
    with pytest.raises(InvalidParameterError, match="ratio"):
        compare_images(a, a, metrics=["ergas"])
    assert compare_images(a, a, metrics=["ergas"], ratio=0.5)["ergas"] == 0.0
    with pytest.raises(InvalidParameterError, match="predictions"):
        evaluate_reference_metric("bbox_detection", a, a)


def test_compare_images_honours_nodata():
    """A scene's ``attrs["nodata"]`` reaches every metric (expected: skimage on the valid
    pixels for PSNR; the masked SSIM equals iqx's ``ssim`` with the same explicit mask)."""
    import xarray as xr

    from iqx.metrics import ssim

    rng = np.random.default_rng(5)
    ref = rng.integers(1, 256, (1, 60, 70)).astype(np.uint8)
    test = np.clip(ref.astype(np.int16) + rng.integers(-9, 10, ref.shape), 1, 255).astype(np.uint8)
    ref[0, :10, :10] = 0
    r = xr.DataArray(ref, dims=("band", "y", "x"), attrs={"nodata": 0})
    t = xr.DataArray(test, dims=("band", "y", "x"))
    row = compare_images(r, t, metrics=["psnr", "ssim"])
    valid = ref != 0
    assert row["psnr"] == pytest.approx(peak_signal_noise_ratio(ref[valid], test[valid]), rel=1e-12)
    assert row["ssim"] == pytest.approx(float(ssim(ref, test, mask=valid)["ssim"]), abs=1e-12)
    assert row["ssim"] != pytest.approx(float(ssim(ref, test)["ssim"]), abs=1e-4)
