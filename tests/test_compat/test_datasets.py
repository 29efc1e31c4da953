"""Ports of IQUAFLOW's ``tests/test_dataset.py`` and ``tests/test_modifiers.py``.

Upstream: satellogic/iquaflow, ``tests/`` (commit a0972db). The datasets are IQUAFLOW's own
test datasets (``iquaflow_fixtures``), copied to a temporary folder first.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from iqx.compat.iquaflow import (
    DSModifier,
    DSModifier_blur,
    DSModifier_dir,
    DSModifier_gsd,
    DSModifier_jpg,
    DSModifier_quant,
    DSModifier_rer,
    DSModifier_snr,
    DSWrapper,
)


def _names(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith(".jpg"))


def test_implicit_coco_initialization(coco_ds):
    """Port of ``test_dataset.py::TestDSWrapper::test_implicit_coco_initialization``."""
    data_path = str(coco_ds)
    w = DSWrapper(data_path=data_path)
    assert w.parent_folder == os.path.dirname(data_path)
    assert w.data_path == data_path
    assert w.data_input == os.path.join(data_path, "images")
    assert w.json_annotations == os.path.join(data_path, "coco_annotations.json")
    assert w.get_annotations() == [w.json_annotations]


def test_explicit_coco_initialization(coco_ds):
    """Port of ``test_dataset.py::TestDSWrapper::test_explicit_coco_initialization``."""
    data_path = str(coco_ds)
    ann = os.path.join(data_path, "coco_annotations.json")
    w = DSWrapper(data_input=os.path.join(data_path, "images"), json_annotations=ann)
    assert w.parent_folder == os.path.dirname(data_path)
    assert w.data_path == data_path
    assert w.data_input == os.path.join(data_path, "images")
    assert w.json_annotations == ann
    assert w.get_annotations() == [ann]


def test_implicit_and_explicit_geojson_initialization(geo_ds):
    """Port of ``test_dataset.py::TestDSWrapper::test_{implicit,explicit}_geojson_initialization``
    (the explicit form is IQUAFLOW's misspelled-attribute bug, fixed)."""
    data_path = str(geo_ds)
    ann = os.path.join(data_path, "annots.geojson")
    for w in (
        DSWrapper(data_path=data_path),
        DSWrapper(data_input=os.path.join(data_path, "images"), geojson_annotations=ann),
    ):
        assert w.parent_folder == os.path.dirname(data_path)
        assert w.data_path == data_path
        assert w.data_input == os.path.join(data_path, "images")
        assert w.geojson_annotations == ann
        assert w.get_annotations() == [ann]


def test_wrapper_log_parameters(coco_ds):
    """Port of ``test_dataset.py::TestDSWrapper::test_log_parameters``."""
    w = DSWrapper(data_path=str(coco_ds))
    assert w.log_parameters() == {"ds_name": "ds_coco_dataset"}
    w.set_log_parameters({"test": "test"})
    assert w.log_parameters() == {"ds_name": "ds_coco_dataset", "test": "test"}


def test_modifier_single_and_chained(coco_ds):
    """Port of ``test_dataset.py::TestDSModifierSingleModification`` and
    ``TestDSModifierMultyModification``: names, folders, copied images, log parameters."""
    data_path = str(coco_ds)
    base = os.path.dirname(data_path)
    m = DSModifier()
    assert m.name == "base_modifier" and m._get_name() == "base_modifier"
    assert m.log_parameters() == {"modifier": "base_modifier"}
    mod_input, mod_path, parent = m.modify(data_path=data_path)
    assert mod_path == os.path.join(base, "ds_coco_dataset#base_modifier")
    assert mod_input == os.path.join(mod_path, "images") and os.path.isdir(mod_input)
    assert parent == base
    assert _names(mod_input) == _names(os.path.join(data_path, "images"))

    chained = DSModifier(DSModifier())
    assert chained.name == "base_modifier"
    assert chained._get_name() == "base_modifier#base_modifier"
    assert chained.log_parameters() == {"modifier": "base_modifier#base_modifier"}
    mod_input, mod_path, _ = chained.modify(data_path=data_path)
    assert mod_path == os.path.join(base, "ds_coco_dataset#base_modifier#base_modifier")
    assert _names(mod_input) == _names(os.path.join(data_path, "images"))
    # a copy is a copy: bytes unchanged
    name = _names(mod_input)[0]
    with (
        open(os.path.join(mod_input, name), "rb") as a,
        open(os.path.join(data_path, "images", name), "rb") as b,
    ):
        assert a.read() == b.read()


def test_wrapper_and_modifier(coco_ds):
    """Port of ``test_dataset.py::TestDSWrapperAndDSModier``."""
    data_path = str(coco_ds)
    w = DSWrapper(data_path=data_path)
    out = w.modify(DSModifier())
    assert out.data_path == data_path + "#base_modifier" and os.path.isdir(out.data_path)
    assert out.data_input == os.path.join(out.data_path, "images")
    assert out.log_parameters() == {
        "ds_name": "ds_coco_dataset#base_modifier",
        "modifier": "base_modifier",
    }


def test_modifiers_run(coco_ds):
    """Port of ``test_modifiers.py::TestModifiers::test_run`` (sharpness modifier left out:
    torchvision's ``adjust_sharpness`` has no compat class)."""
    ds_path = str(coco_ds)
    img_path = os.path.join(ds_path, "images")
    target = "images/000000005802.jpg"
    DSModifier_dir().modify(data_input=img_path)
    assert os.path.exists(f"{ds_path}#dir_modifier/{target}")
    jpg85 = DSModifier_jpg(params={"quality": 85})
    jpg85.modify(data_input=img_path)
    assert os.path.exists(f"{ds_path}#jpg85_modifier/{target}")
    DSModifier_quant(params={"bits": 5}).modify(data_input=img_path)
    assert os.path.exists(f"{ds_path}#quant5_modifier/{target}")
    DSModifier_quant(params={"bits": 5}, ds_modifier=jpg85).modify(data_input=img_path)
    assert os.path.exists(f"{ds_path}#jpg85_modifier#quant5_modifier/{target}")
    rer = DSModifier_rer(params={"initial_rer": 0.54, "rer": 0.1})
    rer.modify(data_input=img_path)
    assert os.path.exists(f"{ds_path}#{rer.name}/{target}")
    default_rer = DSModifier_rer()
    assert default_rer.name == f"rer{default_rer.params['rer']}_modifier" == "rer0.2_modifier"
    default_rer.modify(data_input=img_path)
    assert os.path.exists(f"{ds_path}#rer0.2_modifier/{target}")
    noise = DSModifier_snr()
    noise.modify(data_input=img_path)
    assert os.path.exists(f"{ds_path}#{noise.name}/{target}") and noise.name == "snr20_modifier"
    DSModifier_blur(params={"sigma": 2.0}).modify(data_input=img_path)
    assert os.path.exists(f"{ds_path}#blur2.0_modifier/{target}")
    gsd = 0.60  # 0.3 * 2.0
    DSModifier_gsd(params={"scale": 2.0, "interpolation": 2, "resol": 0.3}).modify(
        data_input=img_path
    )
    assert os.path.exists(f"{ds_path}#gsd{gsd}_modifier/{target}")


def test_default_params_are_not_shared():
    """IQUAFLOW mutated its default ``params`` dict; each instance has its own here."""
    a, b = DSModifier_jpg(), DSModifier_jpg(ds_modifier=DSModifier())
    assert a.params["modifier"] == "jpg65_modifier"
    assert b.params["modifier"] == "base_modifier#jpg65_modifier"
    assert DSModifier_quant().params == {"bits": 6, "modifier": "quant6_modifier"}


def test_quant_is_iquaflow_mask():
    """IQUAFLOW's quantisation semantics: ``img & (0xFF << (8 - bits))``, uint8 only."""
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = DSModifier_quant(params={"bits": 3})._mod_img(img)
    assert out.dtype == np.uint8 and np.array_equal(out, img & 0xE0)
    with pytest.raises(TypeError):
        DSModifier_quant(params={"bits": 3})._mod_img(img.astype(np.uint16))


def test_dir_modifier_sees_bgr_and_keeps_shape(coco_ds):
    """A user ``DSModifier_dir`` subclass (IQUAFLOW's use-case style) gets OpenCV's BGR
    ``(H, W, C)`` layout; a float result is saturated to uint8, written under the same name."""

    class BlueOnly(DSModifier_dir):
        def __init__(self, ds_modifier=None, params={"level": 300}):  # noqa: B006 (IQUAFLOW style)
            self.name = f"blue{params['level']}_modifier"
            self.params = dict(params)
            self.ds_modifier = ds_modifier
            self.params.update({"modifier": self._get_name()})

        def _mod_img(self, img):
            assert img.ndim == 3 and img.shape[2] == 3
            out = np.zeros(img.shape, dtype=float)
            out[..., 0] = self.params["level"]  # channel 0 is blue in OpenCV's order
            return out

    from iqx.io import read_image

    src = os.path.join(str(coco_ds), "images", "000000005802.jpg")
    rgb = read_image(src)
    mod_input, mod_path, _ = BlueOnly().modify(data_path=str(coco_ds))
    assert mod_path.endswith("#blue300_modifier")
    out = read_image(os.path.join(mod_input, "000000005802.jpg"))
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert out[2].min() >= 250 and out[0].max() <= 5  # blue saturated at 255, red 0
