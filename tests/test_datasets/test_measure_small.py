"""``measure_image`` reads a small image whole and measures it as NumPy (no dask graph).

The reference is the lazy path it replaces for such images: ``blind_record`` on
``open_scene(path)`` under dask's synchronous scheduler. Values must be identical, on
synthetic 28×28 PNGs and on real rasters (11-bit WorldView-2 in uint16 without NBITS).
"""

from __future__ import annotations

import math

import dask
import numpy as np
import pytest
from PIL import Image

from iqx.datasets.measure import blind_record, measure_image
from iqx.io import open_scene
from iqx.io import scene as scene_module
from iqx.io.scene import open_or_read_scene

NAMES = ("snr", "sharpness", "niirs")


def _lazy_reference(path):
    with dask.config.set(scheduler="sync"):
        return blind_record(open_scene(path), NAMES)


def _same(a, b):
    assert a.keys() == b.keys()
    for key, value in a.items():
        if isinstance(value, float) and math.isnan(value):
            assert isinstance(b[key], float) and math.isnan(b[key]), key
        else:
            assert b[key] == value, key


def _digit(path, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    img = 200.0 * (np.hypot(yy - 14, xx - 14) < 8) + rng.normal(20, 6, (28, 28))
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_png_equals_the_lazy_path(tmp_path, seed):
    path = _digit(tmp_path / f"d{seed}.png", seed)
    assert isinstance(open_or_read_scene(path).data, np.ndarray)
    _same(_lazy_reference(path), measure_image(path, NAMES))


def test_real_uint16_chip_equals_the_lazy_path(pan):
    assert isinstance(open_or_read_scene(pan).data, np.ndarray)
    _same(_lazy_reference(pan), measure_image(pan, NAMES))


def test_large_images_and_explicit_chunks_stay_lazy(tmp_path, monkeypatch):
    path = _digit(tmp_path / "d.png", 0)
    assert hasattr(open_or_read_scene(path, chunks=16).data, "dask")
    monkeypatch.setattr(scene_module, "SMALL_SCENE_SAMPLES", 100)  # 28×28 is "large" now
    assert hasattr(open_or_read_scene(path).data, "dask")


def test_missing_png_or_a_folder_gets_iqx_errors_naming_it(tmp_path):
    """The PNG fast path steps aside for what it cannot open: the error is iqx's, not a bare
    ``OSError`` from ``open``."""
    from iqx.errors import IqxError, PathNotFoundError

    with pytest.raises(PathNotFoundError, match=r"gone\.png: no such file"):
        open_or_read_scene(tmp_path / "gone.png")
    with pytest.raises(PathNotFoundError, match=r"gone\.png"):
        measure_image(tmp_path / "gone.png", ("sharpness",))
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(IqxError, match=r"folder\.png"):
        open_or_read_scene(tmp_path / "folder.png")


def test_small_png_is_read_once(tmp_path, monkeypatch):
    """A small plain PNG's bytes are read from disk once (header walk and decode share them)."""
    from iqx.io import _png

    path = tmp_path / "d.png"
    Image.fromarray(np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)).save(path)
    calls = []
    real = _png.plain_png_bytes
    monkeypatch.setattr(_png, "plain_png_bytes", lambda p: calls.append(p) or real(p))
    scene = open_or_read_scene(path)
    assert len(calls) == 1
    np.testing.assert_array_equal(scene.values[0], np.asarray(Image.open(path)))
