"""derive_dataset / copy_dataset: IQUAFLOW naming, params, manifest, idempotency, atomicity."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import iqx
from iqx.datasets import MANIFEST_NAME, copy_dataset, derive_dataset, open_dataset
from iqx.errors import InvalidParameterError, ManifestConflictError
from iqx.io import open_scene, read_image, write_image


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if "iqx-tmp" in p.name or "iqx-old" in p.name]


def test_base_modifier_naming_like_iquaflow(copy_ds, iqf_datasets):
    """IQUAFLOW test_dataset.py: ``ds#base_modifier`` then ``ds#base_modifier#base_modifier``."""
    src = open_dataset(copy_ds(iqf_datasets / "ds_coco_dataset"))
    one = copy_dataset(src)
    assert one.data_path == src.parent_folder / "ds_coco_dataset#base_modifier"
    assert one.parent_folder == src.parent_folder
    assert one.data_input.name == "images"
    assert [p.name for p in one.image_files] == [p.name for p in src.image_files]
    assert one.json_annotations.name == "coco_annotations.json"
    assert one.params == {"ds_name": "ds_coco_dataset#base_modifier", "modifier": "base_modifier"}
    two = copy_dataset(one)
    assert two.name == "ds_coco_dataset#base_modifier#base_modifier"
    assert two.log_parameters() == {
        "ds_name": "ds_coco_dataset#base_modifier#base_modifier",
        "modifier": "base_modifier#base_modifier",
    }
    for a, b in zip(src.image_files, two.image_files):
        assert a.read_bytes() == b.read_bytes()
    m = two.manifest
    assert m["step"] == "base_modifier" and m["config"] == {"id": "base_modifier"}
    assert m["chain"] == [{"id": "base_modifier"}, {"id": "base_modifier"}]
    assert m["iqx_version"] == iqx.__version__ and m["created"]
    assert m["source"] == str(one.data_path.resolve())
    assert len(m["files"]) == 10 and all(f["output_bytes"] > 0 for f in m["files"])
    assert m["totals"]["n_files"] == 10
    assert m["totals"]["output_bytes"] == sum(p.stat().st_size for p in two.image_files)
    assert _leftovers(src.parent_folder) == []


def _jpeg_step(quality):
    def process(src, dst):
        img = read_image(src)
        n = write_image(img, dst, driver="JPEG", quality=quality)
        return {"compressed_bytes": n, "raw_bytes": int(img.nbytes)}

    return process


def test_derive_params_manifest_and_geo(copy_ds, iqf_datasets):
    src = open_dataset(copy_ds(iqf_datasets / "ds_geo_dataset"))

    def tif_noise(src_path, dst):
        scene = open_scene(src_path)
        out = (scene + 1).astype(scene.dtype)
        out.attrs.update(scene.attrs)
        return {"bytes": write_image(out, dst, like=src_path)}

    cfg = {"id": "plus1", "amount": np.int64(1)}
    out = derive_dataset(src, "plus1_modifier", cfg, tif_noise, batch_size=3)
    assert out.params == {"ds_name": "ds_geo_dataset#plus1_modifier",
                          "modifier": "plus1_modifier", "amount": 1}  # fmt: skip
    assert out.geojson_annotations.read_bytes() == src.geojson_annotations.read_bytes()
    a, b = open_scene(src.image_files[0]), open_scene(out.image_files[0])
    assert b.attrs["crs"] == a.attrs["crs"] and b.attrs["transform"] == a.attrs["transform"]
    np.testing.assert_array_equal(b.values, a.values + 1)
    on_disk = json.loads((out.data_path / MANIFEST_NAME).read_text())
    assert on_disk["config"] == {"amount": 1, "id": "plus1"}
    assert on_disk["files"][0]["bytes"] == on_disk["files"][0]["output_bytes"]
    assert on_disk["totals"]["bytes"] == sum(f["bytes"] for f in on_disk["files"])
    # the returned dataset holds the manifest it wrote, not read back: the same document
    assert out.manifest == on_disk
    assert out.image_files == open_dataset(out.data_path).image_files


def test_chain_params_accumulate(copy_ds, iqf_datasets):
    src = open_dataset(copy_ds(iqf_datasets / "ds_coco_dataset"))
    j = derive_dataset(src, "jpg85_modifier", {"id": "jpg", "quality": 85}, _jpeg_step(85))
    q = derive_dataset(j, "q_modifier", {"id": "q", "bits": 5}, _jpeg_step(60))
    assert q.name == "ds_coco_dataset#jpg85_modifier#q_modifier"
    assert q.params == {"ds_name": q.name, "modifier": "jpg85_modifier#q_modifier",
                        "quality": 85, "bits": 5}  # fmt: skip
    assert q.manifest["chain"] == [{"id": "jpg", "quality": 85}, {"bits": 5, "id": "q"}]
    assert q.manifest["totals"]["compressed_bytes"] < j.manifest["totals"]["input_bytes"]


def test_idempotent_conflict_overwrite(copy_ds, iqf_datasets):
    src = open_dataset(copy_ds(iqf_datasets / "ds_inria_dataset"))
    calls = []

    def counting(s, d):
        calls.append(s.name)
        shutil.copyfile(s, d)
        return {}

    first = derive_dataset(src, "step", {"id": "x", "k": 1}, counting)
    assert len(calls) == 2
    again = derive_dataset(src, "step", {"k": 1, "id": "x"}, counting)  # same config
    assert len(calls) == 2 and again.data_path == first.data_path
    with pytest.raises(ManifestConflictError, match=r"#step.*'k': 1.*'k': 2"):
        derive_dataset(src, "step", {"id": "x", "k": 2}, counting)
    redone = derive_dataset(src, "step", {"id": "x", "k": 2}, counting, overwrite=True)
    assert len(calls) == 4 and redone.manifest["config"]["k"] == 2
    (src.parent_folder / "ds_inria_dataset#manual").mkdir()
    with pytest.raises(ManifestConflictError, match="no iqx manifest"):
        derive_dataset(src, "manual", {"id": "x"}, counting)
    assert _leftovers(src.parent_folder) == []


def test_failure_leaves_nothing(copy_ds, iqf_datasets):
    src = open_dataset(copy_ds(iqf_datasets / "ds_coco_dataset"))

    def flaky(s, d):
        if s.name == src.image_files[6].name:
            raise ValueError("disk full")
        shutil.copyfile(s, d)
        return {}

    with pytest.raises(ValueError, match=r"^disk full") as info:  # type and message kept
        derive_dataset(src, "flaky", {"id": "flaky"}, flaky, batch_size=2)
    assert src.image_files[6].name in " ".join(info.value.__notes__)  # the file is named
    assert not (src.parent_folder / "ds_coco_dataset#flaky").exists()
    assert _leftovers(src.parent_folder) == []

    def no_dict(s, d):
        shutil.copyfile(s, d)
        return 42

    with pytest.raises(InvalidParameterError, match="per-file info"):
        derive_dataset(src, "nodict", {"id": "n"}, no_dict)
    with pytest.raises(InvalidParameterError, match="step"):
        derive_dataset(src, "a/b", {"id": "n"}, no_dict)
    assert _leftovers(src.parent_folder) == []


def test_annotations_and_masks_transformed(copy_ds, iqf_datasets):
    path = copy_ds(iqf_datasets / "ds_geo_dataset")
    (path / "images_mask").mkdir()
    (path / "images_mask" / "m.png").write_bytes(b"mask")
    src = open_dataset(path)
    seen = {}

    def ann(s, d):
        seen["ann"] = s.name
        d.write_text('{"type": "FeatureCollection", "features": []}')

    def masks(s, d):
        seen["mask"] = s.name
        d.mkdir()
        (d / "new.png").write_bytes(b"x")

    out = derive_dataset(src, "t", {"id": "t"}, lambda s, d: shutil.copyfile(s, d) and {},
                         transform_annotations=ann, transform_masks=masks)  # fmt: skip
    assert seen == {"ann": "annots.geojson", "mask": "images_mask"}
    assert json.loads(out.geojson_annotations.read_text())["features"] == []
    assert [p.name for p in out.mask_annotations_dir.iterdir()] == ["new.png"]
    plain = copy_dataset(src)
    assert (plain.mask_annotations_dir / "m.png").read_bytes() == b"mask"


def test_flat_dataset_derive(copy_ds, shared_data):
    src = open_dataset(copy_ds(shared_data / "sahi_aerial_coco"))
    out = copy_dataset(src)
    assert out.flat and out.name == "sahi_aerial_coco#base_modifier"
    assert [p.name for p in out.image_files] == [p.name for p in src.image_files]
    assert [p.name for p in out.json_files] == [p.name for p in src.json_files]
    assert (out.data_path / "LICENSE.sahi").is_file()
    assert out.manifest["layout"]["data_input"] == "."


@pytest.mark.distributed
def test_derive_on_process_workers(copy_ds, iqf_datasets, dask_client):
    src = open_dataset(copy_ds(iqf_datasets / "ds_coco_dataset"))
    out = derive_dataset(src, "jpg50", {"id": "jpeg", "quality": 50}, _jpeg_step(50), batch_size=4)
    assert len(out.image_files) == 10
    assert out.manifest["totals"]["output_bytes"] < out.manifest["totals"]["input_bytes"]


def test_scratch_buffers_reused_only_inside_a_batch():
    from iqx.kernels.scratch import MAX_SCRATCH_BYTES, scratch, scratch_buffers

    assert scratch("read", (3, 4, 5), np.uint8) is not scratch("read", (3, 4, 5), np.uint8)
    with scratch_buffers():
        a = scratch("read", (3, 4, 5), np.uint8)
        assert scratch("read", (3, 4, 5), np.uint8) is a
        assert scratch("write", (3, 4, 5), np.uint8) is not a  # one buffer per name
        assert scratch("read", (3, 4, 6), np.uint8) is not a  # new shape: new buffer
        big = (MAX_SCRATCH_BYTES + 1,)
        assert scratch("big", big, np.uint8) is not scratch("big", big, np.uint8)
    assert scratch("read", (3, 4, 5), np.uint8) is not scratch("read", (3, 4, 5), np.uint8)


@pytest.mark.parametrize("spec", ["jpeg:quality=70", "gaussian_blur:sigma=1.2"])
def test_batched_modify_equals_image_by_image(tmp_path, spec):
    """Reused read/write buffers: every file of a many-image batch equals its own round trip."""
    rng = np.random.default_rng(3)
    images = tmp_path / "tiles" / "images"
    images.mkdir(parents=True)
    for k in range(6):
        pix = rng.integers(0, 256, (3, 40, 48), dtype=np.uint8)
        write_image(pix, images / f"t{k}.tif", driver="GTiff")
    out = iqx.modify(tmp_path / "tiles", spec, batch_size=6)
    modifier = iqx.modifiers.as_modifier(spec)
    for path in sorted(images.iterdir()):
        expected = modifier(read_image(path)).values
        np.testing.assert_array_equal(read_image(out.data_input / path.name), expected)
