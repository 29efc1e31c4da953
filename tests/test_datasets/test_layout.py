"""Dataset discovery on the IQUAFLOW fixtures (test_dataset.py conventions), flat folders, errors."""

from __future__ import annotations

import numpy as np
import pytest

from iqx.datasets import Dataset, open_dataset
from iqx.errors import DatasetLayoutError, PathNotFoundError, RasterReadError


def test_coco_dataset(iqf_datasets):
    path = iqf_datasets / "ds_coco_dataset"
    ds = open_dataset(path)
    assert isinstance(ds, Dataset)
    assert ds.data_path == path and ds.parent_folder == iqf_datasets
    assert ds.name == "ds_coco_dataset" and ds.params == {"ds_name": "ds_coco_dataset"}
    assert ds.data_input == path / "images"
    assert ds.json_annotations == path / "coco_annotations.json"
    assert ds.geojson_annotations is None and ds.mask_annotations_dir is None
    assert ds.get_annotations() == [path / "coco_annotations.json"]
    assert len(ds.image_files) == 10 and ds.image_files == sorted(ds.image_files)
    assert ds.other_files == [] and ds.manifest is None


def test_geo_dataset(iqf_datasets):
    ds = open_dataset(iqf_datasets / "ds_geo_dataset")
    assert ds.geojson_annotations.name == "annots.geojson"
    assert ds.json_annotations is None
    assert ds.get_annotations() == [ds.geojson_annotations]
    img = ds.open_image(0)
    assert img.attrs["crs"] and img.shape == (1, 90, 90)


def test_inria_dataset_empty_json(iqf_datasets):
    ds = open_dataset(iqf_datasets / "ds_inria_dataset")
    assert ds.json_annotations.name == "annotations.json"
    assert ds.json_annotations.stat().st_size == 0
    assert [p.name for p in ds.image_files] == ["bellingham1+1024.tif", "bellingham9+1024.tif"]
    assert ds.open_image("bellingham9+1024").shape == (3, 1024, 1024)


def test_flat_sahi_dataset(shared_data):
    path = shared_data / "sahi_aerial_coco"
    ds = open_dataset(path)
    assert ds.flat and ds.data_input == path
    assert {p.name for p in ds.image_files} == {
        "terrain1.jpg", "terrain2.png", "terrain2_gray.png", "terrain4.png", "small-vehicles1.jpeg"
    }  # fmt: skip
    assert ds.json_annotations.name == "combined_coco.json"  # sorted, deterministic
    assert len(ds.json_files) == 7
    assert {p.name for p in ds.other_files} == {"LICENSE.sahi", "PROVENANCE.md"}
    assert open_dataset(path, images=".").image_files == ds.image_files


def test_solaris_flat_with_vector_subfolder(shared_data):
    ds = open_dataset(shared_data / "solaris_spacenet")
    assert ds.flat  # eval_vector_rareplanes holds no image: not an images folder
    assert "sample_geotiff.tif" in {p.name for p in ds.image_files}
    assert ds.geojson_annotations.name == "empty.geojson"


def test_two_candidate_folders(copy_ds, iqf_datasets):
    path = copy_ds(iqf_datasets / "ds_geo_dataset")
    other = path / "more_images"
    other.mkdir()
    (other / "x.tif").write_bytes((path / "images").iterdir().__next__().read_bytes())
    with pytest.raises(DatasetLayoutError, match=r"images.*more_images|more_images.*images"):
        open_dataset(path)
    assert open_dataset(path, images="more_images").data_input == other
    # mask / stats folders are never candidates
    other.rename(path / "images_mask")
    (path / "stats").mkdir()
    ds = open_dataset(path)
    assert ds.data_input.name == "images" and ds.mask_annotations_dir == path / "images_mask"


def test_non_image_file_reported(copy_ds, iqf_datasets):
    path = copy_ds(iqf_datasets / "ds_coco_dataset")
    (path / "images" / "notes.txt").write_text("not an image")
    (path / "images" / "fake.jpg").write_text("not an image either")
    ds = open_dataset(path)
    assert [p.name for p in ds.other_files] == ["notes.txt"]
    assert "fake.jpg" in {p.name for p in ds.image_files}
    with pytest.raises(DatasetLayoutError, match=r"notes\.txt"):
        open_dataset(path, strict=True)
    with pytest.raises(RasterReadError, match=r"fake\.jpg"):
        ds.open_image("fake.jpg")


def test_missing_and_bad_paths(tmp_path, iqf_datasets):
    with pytest.raises(PathNotFoundError, match="nowhere"):
        open_dataset(tmp_path / "nowhere")
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(DatasetLayoutError, match=r"file\.txt"):
        open_dataset(f)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError, match="no images folder"):
        open_dataset(tmp_path / "empty")
    with pytest.raises(PathNotFoundError, match="imgs"):
        open_dataset(iqf_datasets / "ds_coco_dataset", images="imgs")
    with pytest.raises(PathNotFoundError, match=r"nope\.jpg"):
        open_dataset(iqf_datasets / "ds_coco_dataset").open_image("nope.jpg")


def test_map_images_batches(iqf_datasets):
    ds = open_dataset(iqf_datasets / "ds_coco_dataset")
    bag = ds.map_images(lambda p, a: (p.name, a.shape, int(a.sum())), batch_size=4)
    assert bag.npartitions == 3  # 10 images in batches of 4: 3 tasks, not 10
    out = bag.compute(scheduler="threads")
    assert [o[0] for o in out] == [p.name for p in ds.image_files]
    first = ds.open_image(0).values
    assert out[0][1] == first.shape and out[0][2] == int(first.sum())
    lazy = ds.map_images(lambda p, s: s.attrs["driver"], read=False).compute(scheduler="sync")
    assert set(lazy) == {"JPEG"}


@pytest.mark.distributed
def test_map_images_distributed(iqf_datasets, dask_client):
    ds = open_dataset(iqf_datasets / "ds_geo_dataset")
    out = ds.map_images(lambda p, a: float(np.mean(a)), batch_size=5).compute()
    assert len(out) == 10 and all(o > 0 for o in out)
