"""SanityCheck on GeoJSON datasets: row and geometry faults, make_valid vs buffer(0).

Truth: areas computed by hand (the bow-tie's two triangles have area 0.25 each) and
re-read from the written file with geopandas.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image

from iqx.annotations import sanity_check
from iqx.annotations.geojson import repair_geometry

BOWTIE = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
SQUARE = shapely.box(2, 2, 6, 5)


def _geo_dataset(root, rows, *, extra_images=()):
    """``root/images/{a,b}.png`` and ``root/annots.geojson`` holding ``rows``."""
    (root / "images").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        Image.fromarray(np.zeros((10, 12), np.uint8)).save(root / "images" / name)
    for name, payload in extra_images:
        (root / "images" / name).write_bytes(payload)
    gdf = gpd.GeoDataFrame(
        {"image_filename": [r[0] for r in rows], "class_id": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*crs.*was not provided")
        gdf.to_file(root / "annots.geojson", driver="GeoJSON")
    return root


def _good_rows():
    return [("a.png", 0, SQUARE), ("b.png", 1, shapely.box(0, 0, 3, 3))]


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ((None, 0, SQUARE), "ERR_GEO_NAN"),
        (("a.png", None, SQUARE), "ERR_GEO_NAN"),
        (("a.png", 1, None), "ERR_GEO_EMPTY"),
        (("a.png", 1, shapely.Polygon()), "ERR_GEO_EMPTY"),
        (("a.rar", 1, SQUARE), "ERR_JSON_IMG_FILE_TYPE"),
        (("gone.png", 1, SQUARE), "ERR_GEO_IMG_MISSING"),
        (("bad.png", 1, SQUARE), "ERR_GEO_IMG_UNREADABLE"),
    ],
)
def test_row_problem_removes_the_row(tmp_path, row, code):
    root = _geo_dataset(tmp_path / "ds", [*_good_rows(), row], extra_images=[("bad.png", b"xx")])
    report = sanity_check(root, tmp_path / "out")
    assert report.counts() == {code: 1}, report.to_text()
    p = report.problems[0]
    assert (p.index, p.action, p.obj) == (2, "removed", "features")
    out = gpd.read_file(tmp_path / "out" / "annots.geojson")
    assert len(out) == 2
    assert out["class_id"].dtype.kind == "i"  # NaN in the input does not leave floats behind


@pytest.mark.parametrize(("method", "area"), [("make_valid", 0.5), ("buffer0", 0.25)])
def test_bowtie_repair(tmp_path, method, area):
    assert not BOWTIE.is_valid
    root = _geo_dataset(tmp_path / "ds", [*_good_rows(), ("a.png", 2, BOWTIE)])
    report = sanity_check(root, tmp_path / "out", repair=method)
    (p,) = report.problems
    assert (p.code, p.action) == ("ERR_GEO_INVALID", "repaired")
    assert p.details["area_after"] == pytest.approx(area)
    assert p.details["area_make_valid"] == pytest.approx(0.5)
    assert p.details["area_buffer0"] == pytest.approx(0.25)
    assert p.details["area_before"] == pytest.approx(0.0)  # signed lobes cancel
    out = gpd.read_file(tmp_path / "out" / "annots.geojson")
    repaired = out.geometry.iloc[2]
    assert repaired.is_valid and repaired.area == pytest.approx(area)
    if method == "make_valid":
        assert "buffer(0) would lose 0.25" in p.message


def test_repair_geometry_keeps_polygons_only():
    # a polygon with a collapsed spike: make_valid returns polygon + line; we keep the polygon
    spike = shapely.Polygon([(0, 0), (2, 0), (2, 2), (0, 2), (0, 0), (-1, -1), (0, 0)])
    fixed = repair_geometry(spike, "make_valid")
    assert fixed.geom_type in ("Polygon", "MultiPolygon") and fixed.area == pytest.approx(4)


def test_missing_required_column_skips_file(tmp_path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    gpd.GeoDataFrame({"image_filename": ["a.png"]}, geometry=[SQUARE], crs="EPSG:32616").to_file(
        root / "annots.geojson", driver="GeoJSON"
    )
    report = sanity_check(root, tmp_path / "out")
    assert report.counts() == {"ERR_GEO_FIELD_MISSING": 1}
    assert "class_id" in report.problems[0].message
    assert not (tmp_path / "out" / "annots.geojson").exists()


def test_iquaflow_geo_autofix_scenario(shared_data, tmp_path):
    """IQUAFLOW's test_geojson: 15 rows / 10 images -> 13 rows / 8 images after autofix.

    Row 0 loses its image_filename, row 1 its geometry, row 2 gets IQUAFLOW's invalid
    "square with an inner touching ring" polygon, which is repaired and kept.
    """
    src = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_geo_dataset"
    root = tmp_path / "ds"
    shutil.copytree(src, root)
    gdf = gpd.read_file(root / "annots.geojson")
    gdf.loc[0, "image_filename"] = None
    gdf.loc[1, "geometry"] = None
    gdf.loc[2, "geometry"] = shapely.Polygon(
        [(0, 0), (0, 3), (3, 3), (3, 0), (2, 0), (2, 2), (1, 2), (1, 1), (2, 1), (2, 0), (0, 0)]
    )
    (root / "annots.geojson").chmod(0o644)
    gdf.to_file(root / "annots.geojson", driver="GeoJSON")
    digest = hashlib.sha256((root / "annots.geojson").read_bytes()).hexdigest()
    report = sanity_check(root, tmp_path / "out")
    assert report.counts() == {"ERR_GEO_NAN": 1, "ERR_GEO_EMPTY": 1, "ERR_GEO_INVALID": 1}
    out = gpd.read_file(tmp_path / "out" / "annots.geojson")
    assert len(out) == 13 and out["image_filename"].nunique() == 8
    assert out.is_valid.all()
    assert out.crs == gdf.crs
    assert hashlib.sha256((root / "annots.geojson").read_bytes()).hexdigest() == digest
