"""Rasterize (IQUAFLOW's test_rasterize), checked against shapely areas."""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import rasterio

from iqx.annotations import rasterize


def test_rasterize_geo_fixture(shared_data, tmp_path):
    src = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_geo_dataset"
    root = tmp_path / "ds"
    shutil.copytree(src, root)
    written = rasterize(root / "annots.geojson")
    images = sorted((root / "images").iterdir())
    assert len(written) == len(images)
    gdf = gpd.read_file(root / "annots.geojson")
    for img in images:
        mask_path = root / "images_mask" / f"{img.name}_mask"
        assert mask_path in written
        with rasterio.open(img) as a, rasterio.open(mask_path) as m:
            mask = m.read(1)
            assert (m.width, m.height) == (a.width, a.height) and m.crs == a.crs
            assert m.transform == a.transform and mask.dtype == np.uint8
            px = abs(a.transform.a * a.transform.e)
            bounds = a.bounds
        # burned pixel area ~ shapely area of the geometries clipped to the image
        import shapely

        frame = shapely.box(*bounds)
        geoms = gdf[gdf["image_filename"] == img.name].geometry
        truth = shapely.union_all([g.intersection(frame) for g in geoms]).area if len(geoms) else 0
        burned = np.count_nonzero(mask != 255) * px
        assert abs(burned - truth) <= max(0.1 * truth, 3 * px * 10), (img.name, burned, truth)
        assert set(np.unique(mask)) <= {0, 255}
