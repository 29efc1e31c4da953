"""``modify(..., bit_depth=)`` is recorded in the copy's manifest config and read back.

Data: the real WorldView-2 uint16 tiles of the IQUAFLOW geo dataset (cut from SpaceNet's
sample_geotiff.tif, values 54..6615: they need 13 bits). A declared depth changes what a
modifier does (``quantize`` maps the declared range to 2**bits levels), so a copy made with
one depth must not be reused for another.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import iqx
from iqx.datasets.manifest import MANIFEST_NAME, manifest_bit_depth
from iqx.errors import InvalidParameterError, ManifestConflictError


@pytest.fixture
def geo(shared_data, tmp_path):
    src = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_geo_dataset"
    return shutil.copytree(src, tmp_path / "ds_geo", copy_function=shutil.copyfile)


def _config(ds):
    return json.loads((ds.data_path / MANIFEST_NAME).read_text())["config"]


def test_declared_depth_is_in_the_manifest_config_and_params(geo):
    out = iqx.modify(geo, "quantize:bits=6", bit_depth=14)
    assert _config(out) == {"id": "quantize", "bits": 6, "mode": "round", "bit_depth": 14}
    assert manifest_bit_depth(out.manifest) == 14
    assert out.params["bit_depth"] == 14
    # without a declared depth nothing is recorded (each image's depth was measured)
    plain = iqx.modify(geo, "quantize:bits=7")
    assert "bit_depth" not in _config(plain) and manifest_bit_depth(plain.manifest) is None


def test_another_depth_is_another_copy(geo):
    a = iqx.modify(geo, "quantize:bits=6", bit_depth=14)
    first = iqx.open_scene(a.image_files[0]).values
    with pytest.raises(ManifestConflictError, match="bit_depth"):
        iqx.modify(geo, "quantize:bits=6", bit_depth=13)
    b = iqx.modify(geo, "quantize:bits=6", bit_depth=13, overwrite=True)
    second = iqx.open_scene(b.image_files[0]).values
    # ground truth: round mode keeps 64 levels of the declared range (0..2**B - 1): data up
    # to 6615 use about 6615 / 16383 * 64 = 26 of them at 14 bits, 52 at 13 bits
    assert len(np.unique(first)) <= 27 and len(np.unique(second)) <= 53
    assert not np.array_equal(first, second)
    assert len(np.unique(second)) > len(np.unique(first))  # finer steps over the same data


def test_a_modified_copy_passes_its_depth_on(geo):
    first = iqx.modify(geo, "gaussian_blur:sigma=1.0", bit_depth=14)
    second = iqx.modify(first, "quantize:bits=6")  # no bit_depth: read from the manifest
    assert _config(second)["bit_depth"] == 14
    step_by_step = iqx.modify(geo, ["gaussian_blur:sigma=1.0", "quantize:bits=6"], bit_depth=14)
    assert step_by_step.data_path == second.data_path
    reopened = iqx.open_dataset(second.data_path)
    assert manifest_bit_depth(reopened.manifest) == 14


def test_bad_depth_fails_before_any_image_is_read(geo):
    with pytest.raises(InvalidParameterError, match="bit_depth"):
        iqx.modify(geo, "quantize:bits=6", bit_depth=0)
    assert not (geo.parent / "ds_geo#quantize_b6").exists()
