"""Dataset statistics against independent truth.

- IQUAFLOW 1.0.1's own test_ds_stats.py values on ds_coco_dataset (class histogram, bbox
  aspect-ratio and area histograms, mean image size);
- shape descriptors of hand-made shapes (rotated rectangle, disc, square);
- GeoJSON per-field statistics recomputed with pandas.
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image

from iqx.annotations import DatasetStats, dataset_stats
from iqx.annotations._geometry import shape_features
from iqx.errors import AnnotationError, OutputExistsError, PathNotFoundError

from .conftest import IMAGES


def test_iquaflow_parity_on_coco_fixture(shared_data, tmp_path):
    ds = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_coco_dataset"
    stats = dataset_stats(ds, tmp_path / "out")
    assert stats["images"]["mean_height"] == pytest.approx(496.2)
    assert stats["images"]["mean_width"] == pytest.approx(580.2)
    f = stats["annotation_files"][0]
    assert f["classes"]["ids"] == [
        1,
        2,
        4,
        17,
        21,
        27,
        28,
        31,
        44,
        46,
        47,
        49,
        50,
        51,
        55,
        61,
        64,
        67,
        72,
        74,
        76,
        78,
        79,
        81,
        82,
        85,
    ]
    assert f["classes"]["names"][:4] == ["person", "bicycle", "motorcycle", "cat"]
    assert f["classes"]["counts"] == [
        32,
        1,
        1,
        1,
        9,
        1,
        1,
        1,
        14,
        1,
        8,
        5,
        2,
        7,
        7,
        1,
        1,
        2,
        8,
        9,
        6,
        1,
        6,
        3,
        1,
        1,
    ]
    assert f["bbox"]["aspect_ratio"]["histogram"]["counts"] == [57, 33, 17, 13, 4, 0, 1, 3, 0, 2]
    assert f["bbox"]["area"]["histogram"]["counts"] == [108, 7, 5, 4, 3, 1, 1, 0, 0, 1]
    assert json.loads((tmp_path / "out" / "stats.json").read_text()) == json.loads(
        json.dumps(stats)
    )
    pngs = sorted((tmp_path / "out" / "plots").glob("*.png"))
    assert "coco_annotations.json_class_histo.png" in {p.name for p in pngs}
    for p in pngs:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size[0] > 100


def test_shape_features_hand_made_shapes():
    rect = shapely.affinity.rotate(shapely.box(0, 0, 4, 1), 30, origin=(0, 0))
    disc = shapely.Point(0, 0).buffer(1, quad_segs=256)
    square = shapely.box(0, 0, 2, 2)
    f = shape_features([rect, disc, square, None])
    assert f["mrr_length"][0] == pytest.approx(4) and f["mrr_width"][0] == pytest.approx(1)
    assert f["mrr_angle"][0] == pytest.approx(30)
    assert f["elongation"][0] == pytest.approx(4)
    assert f["compactness"][1] == pytest.approx(1, abs=1e-4)  # a disc
    assert f["compactness"][2] == pytest.approx(math.pi / 4)  # 4π·4/8²
    assert f["centroid_x"][2] == pytest.approx(1) and f["area"][2] == pytest.approx(4)
    assert all(np.isnan(f[k][3]) for k in f)


def test_coco_stats_small_dataset(make_coco, tmp_path):
    root = make_coco()
    ds = DatasetStats(root)
    s = ds.compute()
    im = s["images"]
    assert im["count"] == 3
    assert im["width"]["max"] == 50 and im["height"]["min"] == 16
    assert im["mean_width"] == pytest.approx(np.mean([w for _, w, _ in IMAGES]))
    f = s["annotation_files"][0]
    assert f["classes"] == {"ids": [1, 2], "names": ["car", "house"], "counts": [2, 2]}
    assert f["bbox"]["area"]["mean"] == pytest.approx(np.mean([50, 32, 18, 9]))
    assert f["annotations_per_image"]["max"] == 2
    # annotation 4 has no polygon: 3 polygons (rectangles, compactness of a w x h rectangle)
    assert f["polygons"]["count"] == 3
    expected = [math.pi * w * h / (w + h) ** 2 for w, h in ((10, 5), (4, 8), (6, 3))]
    assert f["polygons"]["compactness"]["mean"] == pytest.approx(np.mean(expected))
    assert f["min_rotated_rectangle"]["length"]["max"] == pytest.approx(10)
    table = ds.annotations_frame()
    assert list(table["category"]) == ["car", "house", "car", "house"]


def test_stats_bad_input(make_coco, tmp_path):
    with pytest.raises(PathNotFoundError, match="missing"):
        DatasetStats(tmp_path / "missing")
    root = make_coco(lambda d, r: d["annotations"][0].update(category_id=42))
    with pytest.raises(AnnotationError, match=r"annotations.json.*unknown category ids 42"):
        DatasetStats(root).compute()
    root = make_coco()
    (root / "annotations.json").write_text('{"images": [')
    with pytest.raises(AnnotationError, match=r"annotations.json.*not valid JSON"):
        DatasetStats(root).compute()


def test_geojson_stats_and_fields(tmp_path):
    root = tmp_path / "geo"
    (root / "images").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "images" / "a.png")
    gdf = gpd.GeoDataFrame(
        {
            "image_filename": ["a.png", "a.png", "a.png"],
            "class_id": [0, 1, 1],
            "height_m": [3.0, 6.0, 12.0],
            "roof": ["flat", "gable", "flat"],
        },
        geometry=[shapely.box(0, 0, 2, 1), shapely.box(0, 0, 3, 3), shapely.box(1, 1, 2, 5)],
        crs="EPSG:32616",
    )
    gdf.to_file(root / "annots.geojson", driver="GeoJSON")
    s = DatasetStats(root).compute()
    f = s["annotation_files"][0]
    assert f["crs"] == "EPSG:32616"
    assert f["classes"]["counts"] == [1, 2]
    h = f["fields"]["height_m"]
    assert h["kind"] == "numeric" and h["mean"] == pytest.approx(7.0)
    assert h["std"] == pytest.approx(np.std([3.0, 6.0, 12.0]))
    assert f["fields"]["roof"]["value_counts"] == {"flat": 2, "gable": 1}
    assert f["polygons"]["area"]["mean"] == pytest.approx((2 + 9 + 4) / 3)
    assert f["min_rotated_rectangle"]["angle"]["count"] == 3
    assert f["geom_types"] == {"Polygon": 3}


def test_default_output_is_beside_the_dataset_never_inside(make_coco, tmp_path, monkeypatch):
    """Nothing is written inside an input: the default output is ``<dataset>_stats``, also
    when the dataset is given as ``.``; an explicit output inside the dataset is refused."""
    from iqx.errors import UnsafeOutputError

    ds = make_coco()
    before = sorted(p.relative_to(ds) for p in ds.rglob("*"))
    monkeypatch.chdir(ds)
    written = DatasetStats(".").write(plots=False)
    assert written["stats"] == tmp_path / f"{ds.name}_stats" / "stats.json"
    assert json.loads(written["stats"].read_text())["images"]["count"] > 0
    assert sorted(p.relative_to(ds) for p in ds.rglob("*")) == before
    with pytest.raises(UnsafeOutputError, match="inside the input"):
        DatasetStats(".").write("stats", plots=False)
    with pytest.raises(UnsafeOutputError, match="inside the input"):
        DatasetStats(ds).write(ds / "images" / "stats", plots=False)
    assert sorted(p.relative_to(ds) for p in ds.rglob("*")) == before
    # re-running replaces the earlier output; a foreign non-empty folder is refused
    DatasetStats(ds).write(tmp_path / f"{ds.name}_stats", plots=False)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="not an earlier statistics output"):
        DatasetStats(ds).write(foreign, plots=False)
    assert (foreign / "notes.txt").read_text() == "keep me"
