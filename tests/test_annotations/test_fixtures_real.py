"""SanityCheck and stats on the real public fixtures and their deliberate faults."""

from __future__ import annotations

import hashlib
import json

import pytest

from iqx.annotations import DatasetStats, sanity_check
from iqx.annotations.coco import to_pycocotools
from iqx.errors import AnnotationError


def _tree_digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def td(shared_data):
    return shared_data / "iquaflow_fixtures" / "test_datasets"


def test_inria_zero_byte_annotations(td, tmp_path):
    ds = td / "ds_inria_dataset"
    report = sanity_check(ds, tmp_path / "out")
    (p,) = report.problems
    assert p.code == "ERR_FILE_EMPTY" and p.file.endswith("annotations.json")
    assert "0 bytes" in p.message
    with pytest.raises(AnnotationError, match=r"ds_inria_dataset/annotations.json.*empty"):
        DatasetStats(ds).compute()


def test_solaris_empty_geojson(shared_data, tmp_path):
    f = shared_data / "solaris_spacenet" / "empty.geojson"
    report = sanity_check(f, tmp_path / "out", check_files=False)
    assert report.counts() == {"ERR_FILE_EMPTY": 1}
    assert report.files[0]["output"] is None


def test_sahi_terrain3_points_at_missing_image(shared_data, tmp_path):
    f = shared_data / "sahi_aerial_coco" / "terrain3_coco.json"
    n_ann = len(json.loads(f.read_text())["annotations"])
    report = sanity_check(f, tmp_path / "out")
    assert report.counts() == {"ERR_JSON_IMG_MISSING": 1, "ERR_JSON_ANN_IMG_ID": n_ann}
    assert "terrain3.png" in report.problems[0].message
    clean = json.loads((tmp_path / "out" / "terrain3_coco.json").read_text())
    assert clean["images"] == [] and clean["annotations"] == []


def test_sahi_folder_mixed_files(shared_data, tmp_path):
    """LabelMe files are not COCO (reported, skipped); terrain_all loses terrain3 only."""
    ds = shared_data / "sahi_aerial_coco"
    before = _tree_digest(ds)
    report = sanity_check(ds, tmp_path / "out")
    structs = sorted(
        p.file.rsplit("/", 1)[-1] for p in report.problems if p.code == "ERR_FILE_STRUCT"
    )
    assert structs == ["terrain1.json", "terrain2.json"]
    clean = json.loads((tmp_path / "out" / "terrain_all_coco.json").read_text())
    coco = to_pycocotools(clean)
    assert sorted(i["file_name"] for i in coco.imgs.values()) == ["terrain1.jpg", "terrain2.png"]
    assert _tree_digest(ds) == before  # never edits the input


def test_coco_fixture_is_clean(td, tmp_path):
    report = sanity_check(td / "ds_coco_dataset", tmp_path / "out")
    assert report.ok, report.to_text()
    orig = json.loads((td / "ds_coco_dataset" / "coco_annotations.json").read_text())
    clean = json.loads((tmp_path / "out" / "coco_annotations.json").read_text())
    assert clean == orig


def test_geo_fixture_is_clean(td, tmp_path):
    assert sanity_check(td / "ds_geo_dataset", tmp_path / "out").ok
