"""``iqx info``: scenes (GeoTIFF, custom CRS, zarr) and datasets, text and JSON."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

import iqx.cli.main as cli
from iqx.datasets import copy_dataset, open_dataset
from iqx.io import open_scene, to_zarr


@pytest.fixture
def main(monkeypatch):
    """``iqx.cli.main.main`` limited to the ``info`` subcommand (others may not exist yet)."""
    monkeypatch.setattr(cli, "SUBCOMMANDS", ("info",))
    return cli.main


def test_info_scene_json(main, capsys, shared_data):
    p = shared_data / "solaris_spacenet" / "sample_geotiff.tif"
    assert main(["info", str(p), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "scene" and info["driver"] == "GTiff"
    assert info["shape"] == {"band": 1, "y": 900, "x": 900}
    assert info["dtype"] == "uint16" and info["bit_depth"] == 13  # max 6615, no NBITS
    assert info["bit_depth_source"] == "measured" and info["max_value"] == 6615
    assert info["crs"] == "EPSG:32616" and info["nodata"] == 0
    assert info["pixel_size"] == pytest.approx([0.5, 0.5], rel=1e-3)
    assert info["file_bytes"] == p.stat().st_size and info["nbytes"] == 900 * 900 * 2


def test_info_scene_text_custom_crs(main, capsys, shared_data):
    assert main(["info", str(shared_data / "rasterio_landsat7_goes" / "goes.tif")]) == 0
    out = capsys.readouterr().out
    assert "geos" in out and "GTiff" in out and "uint8" in out


def test_info_zarr(main, capsys, shared_data, tmp_path):
    z = to_zarr(open_scene(shared_data / "solaris_spacenet" / "pan1.tif"), tmp_path / "p.zarr")
    assert main(["info", str(z), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["driver"] == "zarr" and info["crs"] == "EPSG:32631"


def test_info_dataset(main, capsys, shared_data, tmp_path):
    dst = tmp_path / "ds_coco_dataset"
    shutil.copytree(shared_data / "iquaflow_fixtures" / "test_datasets" / dst.name, dst,
                    copy_function=shutil.copyfile)  # fmt: skip
    for p in [dst, *dst.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    src = open_dataset(dst)
    derived = copy_dataset(src)
    assert main(["info", str(derived.data_path), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "dataset" and info["n_images"] == 10
    assert info["name"] == "ds_coco_dataset#base_modifier"
    assert info["manifest"]["step"] == "base_modifier"
    assert info["manifest"]["totals"]["n_files"] == 10
    assert info["json_annotations"][0].endswith("coco_annotations.json")
    assert main(["info", str(src.data_path)]) == 0
    assert "n_images" in capsys.readouterr().out


def test_info_errors(main, capsys, tmp_path):
    assert main(["info", str(tmp_path / "missing.tif")]) == 2
    assert "missing.tif" in capsys.readouterr().err
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"\x00" * 100)
    assert main(["info", str(bad)]) == 2
    assert "bad.tif" in capsys.readouterr().err
