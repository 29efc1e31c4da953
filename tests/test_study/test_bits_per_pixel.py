"""Bits per pixel in a study: raw samples at the dataset's one signal depth.

Real data: the two WorldView-2 pan chips of ``solaris_spacenet`` (uint16, no NBITS).
Ground truth for the depth: their maxima read with rasterio (pan1 1848 -> 11 bits,
sample_geotiff 6615 -> 13 bits): a raw downlink of this dataset needs 13-bit words, so the
unmodified baseline costs 13 bits per pixel (one band). Before, each image counted at its
own measured depth (12.38 bits per pixel overall) and a blurred copy, whose maxima drop,
looked cheaper than its source (11.69).
"""

from __future__ import annotations

import json
import shutil

import pytest
import rasterio

import iqx
from iqx.cli.main import main
from iqx.experiment.volume import dataset_bit_depth, dataset_volume

from .conftest import study_toml

pytest.importorskip("mlflow")

STUDY = study_toml(
    "bpp-chips",
    train="chips",
    modifiers="""\
gaussian_blur.sigma = [0.7, 2.0]
quantize.bits = [8]
""",
    blind=[],
    reference=["psnr"],
    target=("psnr", ">= 36"),
)


@pytest.fixture
def chips(shared_data, tmp_path):
    images = tmp_path / "chips" / "images"
    images.mkdir(parents=True)
    depth = 0
    for name in ("pan1.tif", "sample_geotiff.tif"):
        src = shared_data / "solaris_spacenet" / name
        shutil.copyfile(src, images / name)
        with rasterio.open(src) as f:
            depth = max(depth, int(f.read().max()).bit_length())
    return tmp_path / "chips", depth


def test_dataset_depth_and_volumes(chips):
    folder, depth = chips
    assert depth == 13
    ds = iqx.open_dataset(folder)
    assert dataset_bit_depth(ds) == 13
    assert dataset_volume(ds, ds)["bits_per_pixel"] == pytest.approx(13.0)
    blur = iqx.modify(ds, "gaussian_blur:sigma=2.0")
    assert dataset_volume(blur, ds)["bits_per_pixel"] == pytest.approx(13.0)
    assert dataset_volume(blur, ds)["compression_ratio"] == pytest.approx(1.0)
    # a one-step chain's quantize lowers the depth too (it was missed inside the chain)
    both = iqx.modify(ds, ["gaussian_blur:sigma=2.0", "quantize:bits=8"], one_step=True)
    assert dataset_volume(both, ds)["bits_per_pixel"] == pytest.approx(8.0)
    # a declared depth wins over the measured one
    declared = iqx.open_dataset(folder, bit_depth=14)
    assert dataset_volume(declared, declared)["bits_per_pixel"] == pytest.approx(14.0)


def test_study_table_and_answer_use_the_signal_depth(chips, monkeypatch, capsys):
    folder, depth = chips
    (folder.parent / "STUDY.toml").write_text(STUDY)
    monkeypatch.chdir(folder.parent)
    assert main(["study", "run", "STUDY.toml", "--no-report", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    bpp = {row["setting"]: row["bits_per_pixel"] for row in out["summary"]}
    assert bpp["original"] == pytest.approx(depth)
    # blur keeps the data volume: a tie with the baseline, never "cheaper"
    assert bpp["gaussian_blur_s0.7"] == pytest.approx(depth)
    assert bpp["gaussian_blur_s2"] == pytest.approx(depth)
    assert bpp["quantize_b8"] == pytest.approx(8.0)
    cheapest = out["cheapest"]
    assert cheapest["setting"] == "quantize_b8"
    assert cheapest["baseline_bits_per_pixel"] == pytest.approx(depth)
    assert "8 bits per pixel (unmodified: 13)" in out["answer"]
