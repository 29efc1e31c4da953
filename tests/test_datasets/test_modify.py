"""``iqx.modify`` on IQUAFLOW-layout datasets: formats, naming, idempotency, annotations."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

import iqx
import iqx.modifiers as M
from iqx.datasets.modify import dataset_data_volume
from iqx.errors import InvalidParameterError, ManifestConflictError


@pytest.fixture
def coco_ds(shared_data, tmp_path):
    src = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_coco_dataset"
    return shutil.copytree(src, tmp_path / "ds_coco")


@pytest.fixture
def geo_ds(shared_data, tmp_path):
    src = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_geo_dataset"
    return shutil.copytree(src, tmp_path / "ds_geo")


def test_jpeg_on_jpg_writes_modifier_bitstream(coco_ds):
    """Output .jpg bytes == Pillow's q70 encode of the decoded source (same libjpeg-turbo)."""
    ds = iqx.modify(coco_ds, M.jpeg(quality=70))
    assert ds.data_path.name == "ds_coco#jpeg_q70"
    assert ds.params["modifier"] == "jpeg_q70" and ds.params["quality"] == 70
    src = coco_ds / "images" / ds.image_files[0].name
    rgb = np.asarray(Image.open(src).convert("RGB"))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=70, subsampling=2)
    assert ds.image_files[0].read_bytes() == buf.getvalue()
    files = ds.manifest["files"]
    assert all(f["container"] == "jpeg_bitstream" for f in files)
    assert sum(f["compressed_bytes"] for f in files) == sum(
        p.stat().st_size for p in ds.image_files
    )
    vol = dataset_data_volume(ds)
    assert vol["compression_ratio"] == pytest.approx(vol["raw_bits"] / 8 / vol["compressed_bytes"])
    assert ds.manifest["totals"]["compressed_bytes"] == vol["compressed_bytes"]
    # annotations copied unchanged
    assert (ds.data_path / "coco_annotations.json").read_bytes() == (
        coco_ds / "coco_annotations.json"
    ).read_bytes()


def test_idempotent_and_conflicts(coco_ds):
    ds = iqx.modify(coco_ds, "quantize:bits=4,mode=mask")
    mtime = ds.image_files[0].stat().st_mtime_ns
    again = iqx.modify(coco_ds, M.quantize(bits=4, mode="mask"))
    assert again.data_path == ds.data_path and again.image_files[0].stat().st_mtime_ns == mtime
    # a different config under the same folder name is refused
    (ds.data_path.parent / "ds_coco#quantize_b5_mmask").mkdir()
    with pytest.raises(ManifestConflictError):
        iqx.modify(coco_ds, M.quantize(bits=5, mode="mask"))
    with pytest.raises(InvalidParameterError, match="quality"):
        iqx.modify(coco_ds, "jpeg:quality=0")


def test_chain_step_by_step_and_one_step(coco_ds):
    chain = [M.gaussian_blur(sigma=1.0), M.jpeg(quality=60)]
    ds = iqx.modify(coco_ds, chain)
    assert ds.data_path.name == "ds_coco#gaussian_blur_s1#jpeg_q60"
    assert (coco_ds.parent / "ds_coco#gaussian_blur_s1").is_dir()
    assert ds.params["modifier"] == "gaussian_blur_s1#jpeg_q60"
    one = iqx.modify(coco_ds, chain, one_step=True)
    assert one.data_path.name == "ds_coco#gaussian_blur_s1+jpeg_q60"
    # blur output on a .jpg is re-encoded at q100 4:4:4, then the jpeg step is verbatim
    mid = iqx.open_dataset(coco_ds.parent / "ds_coco#gaussian_blur_s1")
    assert mid.manifest["files"][0]["container"] == "jpeg_q100_444"
    assert Image.open(ds.image_files[0]).format == "JPEG"


def test_resample_scales_coco_annotations(coco_ds):
    """bbox, polygons and area scale with the per-image factors; width/height updated."""
    ds = iqx.modify(coco_ds, M.resample(factor=0.5))
    a = json.loads(ds.json_annotations.read_text())
    b = json.loads((coco_ds / "coco_annotations.json").read_text())
    for ia, ib in zip(a["images"], b["images"]):
        img = Image.open(ds.data_input / ia["file_name"])
        assert (ia["width"], ia["height"]) == img.size
        assert ia["width"] == round(ib["width"] * 0.5)
    ims = {im["id"]: im for im in b["images"]}
    newims = {im["id"]: im for im in a["images"]}
    for aa, ab in zip(a["annotations"], b["annotations"]):
        sx = newims[ab["image_id"]]["width"] / ims[ab["image_id"]]["width"]
        sy = newims[ab["image_id"]]["height"] / ims[ab["image_id"]]["height"]
        np.testing.assert_allclose(aa["bbox"], np.array(ab["bbox"]) * [sx, sy, sx, sy])
        assert aa["area"] == pytest.approx(ab["area"] * sx * sy)
        if isinstance(ab["segmentation"], list):
            np.testing.assert_allclose(aa["segmentation"][0][0], ab["segmentation"][0][0] * sx)


def test_geotiff_stays_georeferenced(geo_ds):
    ds = iqx.modify(geo_ds, M.resample(gsd=1.0))
    src = iqx.open_scene(geo_ds / "images" / ds.image_files[0].name)
    out = iqx.open_scene(ds.image_files[0])
    assert out.attrs["crs"] == src.attrs["crs"]
    a, *_ = src.attrs["transform"]
    assert out.attrs["transform"][0] == pytest.approx(2 * a)
    assert out.sizes["x"] == src.sizes["x"] // 2
    ds2 = iqx.modify(geo_ds, "jpeg2000:reversible=true")
    np.testing.assert_array_equal(
        iqx.io.read_image(ds2.image_files[0]),
        iqx.io.read_image(geo_ds / "images" / ds2.image_files[0].name),
    )
    assert ds2.manifest["totals"]["compressed_bytes"] > 0


def test_masks_resampled_nearest(tmp_path):
    from iqx.io import write_image

    root = tmp_path / "dsm"
    (root / "images").mkdir(parents=True)
    (root / "images_mask").mkdir()
    img = (np.random.default_rng(0).random((3, 40, 60)) * 255).astype(np.uint8)
    mask = np.zeros((1, 40, 60), np.uint8)
    mask[0, 10:30, 20:40] = 7
    write_image(img, root / "images" / "a.png")
    write_image(mask, root / "images_mask" / "a.png")
    (root / "ann.json").write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": 60, "height": 40}],
                "annotations": [
                    {
                        "id": 1,
                        "image_id": 1,
                        "bbox": [20, 10, 20, 20],
                        "area": 400,
                        "segmentation": {"size": [40, 60], "counts": [400, 20]},
                    }
                ],
                "categories": [{"id": 1, "name": "x"}],
            }
        )
    )
    ds = iqx.modify(root, M.resample(factor=0.5, method="cubic"))
    m = np.asarray(Image.open(ds.mask_annotations_dir / "a.png"))
    assert m.shape == (20, 30) and set(np.unique(m)) == {0, 7}
    ann = json.loads(ds.json_annotations.read_text())["annotations"][0]
    assert ann["bbox"] == [10, 5, 10, 10] and ann["segmentation"]["size"] == [20, 30]


@pytest.mark.distributed
def test_modify_under_distributed_processes(coco_ds, dask_client):
    ds = iqx.modify(coco_ds, [M.gaussian_noise(sigma=3, seed=1), M.jpeg(quality=80)], one_step=True)
    assert len(ds.image_files) == len(list((coco_ds / "images").iterdir()))
    assert ds.manifest["totals"]["compressed_bytes"] > 0
