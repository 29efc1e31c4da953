"""Reusing a modified copy checks its contents, not only its sizes.

``iqx.modify`` returns an existing ``<name>#<step>`` copy of the same config without work
when its files still match the manifest; a same-size edit of an output image (or of a
copied annotation file) must make it rebuild. Data: the real WorldView-2 uint16 tiles of
the IQUAFLOW geo dataset.
"""

from __future__ import annotations

import json
import shutil
import warnings

import pytest

import iqx
from iqx.datasets.manifest import MANIFEST_NAME, file_digest, verify_manifest_files


@pytest.fixture
def geo(shared_data, tmp_path):
    src = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_geo_dataset"
    return shutil.copytree(src, tmp_path / "ds_geo", copy_function=shutil.copyfile)


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_manifest_records_sha256_of_every_written_file(geo):
    out = iqx.modify(geo, "gaussian_blur:sigma=1.0")
    manifest = json.loads((out.data_path / MANIFEST_NAME).read_text())
    for rec in manifest["files"]:
        assert rec["output_sha256"] == file_digest(out.data_input / rec["file"])
    assert manifest["digests"]  # the annotation file(s)
    for name, digest in manifest["digests"].items():
        assert digest == file_digest(out.data_path / name)


def test_same_size_edit_of_an_image_rebuilds(geo):
    out = iqx.modify(geo, "gaussian_blur:sigma=1.0")
    victim = out.image_files[0]
    good = victim.read_bytes()
    _flip_last_byte(victim)
    assert victim.stat().st_size == len(good)  # the size check alone sees nothing
    problems = verify_manifest_files(out.data_path, out.manifest)
    assert len(problems) == 1 and "content differs" in problems[0] and victim.name in problems[0]
    with pytest.warns(RuntimeWarning, match="rebuilding.*content differs"):
        again = iqx.modify(geo, "gaussian_blur:sigma=1.0")
    assert victim.read_bytes() == good  # rebuilt: the blur is deterministic
    assert verify_manifest_files(again.data_path, again.manifest) == []


def test_same_size_edit_of_an_annotation_rebuilds(geo):
    out = iqx.modify(geo, "gaussian_blur:sigma=1.0")
    ann = (out.json_files + out.geojson_files)[0]
    good = ann.read_bytes()
    _flip_last_byte(ann)
    with pytest.warns(RuntimeWarning, match="content differs"):
        iqx.modify(geo, "gaussian_blur:sigma=1.0")
    assert ann.read_bytes() == good


def test_intact_copy_is_reused_without_a_warning(geo):
    out = iqx.modify(geo, "gaussian_blur:sigma=1.0")
    stamp = out.image_files[0].stat().st_mtime_ns
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        again = iqx.modify(geo, "gaussian_blur:sigma=1.0")
    assert again.image_files[0].stat().st_mtime_ns == stamp  # not rewritten


def test_manifest_without_hashes_is_checked_by_size(geo):
    """Copies written before hashes were recorded stay reusable (size check only)."""
    out = iqx.modify(geo, "gaussian_blur:sigma=1.0")
    path = out.data_path / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    for rec in manifest["files"]:
        del rec["output_sha256"]
    del manifest["digests"]
    path.write_text(json.dumps(manifest))
    assert verify_manifest_files(out.data_path, manifest) == []


@pytest.mark.parametrize("size", [0, 731, (1 << 20), (1 << 20) + 1, 3_000_001])
def test_file_digest_is_sha256_of_the_bytes_at_every_size(tmp_path, size):
    import hashlib
    import os

    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert file_digest(path) == hashlib.sha256(data).hexdigest()
