"""``iqx.modify``'s lean path for plain PNGs through a block codec (``iqx.datasets._png_codec``).

The lean path must write the same files (same bytes) and the same manifest records as the
general path (:func:`iqx.datasets.modify._process_file`, the reference here, run on the same
inputs with the lean path switched off), take every plain PNG it can, and step aside for the
rest (PNGs GDAL must read, non-codec modifiers, non-PNG files) without changing results.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

import iqx
from iqx import modify
from iqx.datasets import _png_codec
from iqx.datasets.manifest import DIGEST_KEY, MANIFEST_NAME
from iqx.datasets.modify import _FileModifier
from iqx.io import write_image

MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


def _pngs(root, mode="L", n=4, side=(24, 36), **save):
    images = root / "images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(7)
    bands = MODES[mode]
    for k in range(n):
        arr = rng.integers(0, 256, (*side, bands), dtype=np.uint8)
        arr = arr[..., 0] if bands == 1 else arr
        Image.fromarray(arr, mode).save(images / f"im{k}.png", **save)
    return root


@pytest.fixture
def lean_calls(monkeypatch):
    """Records per call of the lean path: True when it wrote the file, False when it declined."""
    calls = []
    original = _png_codec.PngCodecPath._one

    def spy(self, src, dst, log):
        record = original(self, src, dst, log)
        calls.append(record is not None)
        return record

    monkeypatch.setattr(_png_codec.PngCodecPath, "_one", spy)
    return calls


def _general_only(monkeypatch):
    monkeypatch.setattr(_png_codec.PngCodecPath, "_one", lambda self, src, dst, log: None)


def _files_and_manifest(ds):
    folder = ds.data_input
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    manifest = json.loads((ds.data_path / MANIFEST_NAME).read_text())
    return files, manifest["files"], manifest["totals"]


def _both_paths(tmp_path, monkeypatch, spec, make, **kwargs):
    kwargs.setdefault("scheduler", "threads")  # the spies see this process only
    lean = modify(iqx.open_dataset(make(tmp_path / "a" / "ds")), spec, **kwargs)
    got = _files_and_manifest(lean)
    with monkeypatch.context() as m:
        _general_only(m)
        ref = modify(iqx.open_dataset(make(tmp_path / "b" / "ds")), spec, **kwargs)
    return got, _files_and_manifest(ref)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("spec", ["jpeg:quality=70", "jpeg:quality=85,subsampling=420",
                                  "jpeg2000:ratio=10"])  # fmt: skip
def test_same_bytes_and_records_as_the_general_path(tmp_path, monkeypatch, lean_calls, mode, spec):
    got, ref = _both_paths(tmp_path, monkeypatch, spec, lambda r: _pngs(r, mode))
    assert lean_calls == [True] * 4
    assert got[0].keys() == ref[0].keys()
    for name in ref[0]:
        assert got[0][name] == ref[0][name], name
    assert got[1] == ref[1]  # per-file records, key order included
    assert json.dumps(got[1]) == json.dumps(ref[1])
    assert got[2] == ref[2]


def test_a_declared_depth_counts_in_the_data_volume(tmp_path, monkeypatch, lean_calls):
    def make(root):
        _pngs(root, "L")
        for p in (root / "images").iterdir():  # 6-bit values in uint8
            Image.fromarray(np.asarray(Image.open(p)) >> 2).save(p)
        return root

    got, ref = _both_paths(tmp_path, monkeypatch, "jpeg:quality=70", make, bit_depth=6)
    assert lean_calls == [True] * 4
    assert got == ref
    assert got[1][0]["data_volume"]["bit_depth"] == 6
    assert got[1][0]["raw_bits"] == 24 * 36 * 6


def test_the_pixels_are_the_modifier_applied_to_each_image(tmp_path, lean_calls):
    """Against the modifier on each image's own scene (no dataset machinery at all)."""
    root = _pngs(tmp_path / "ds", "RGB")
    out = modify(iqx.open_dataset(root), "jpeg:quality=60", scheduler="threads")
    assert lean_calls == [True] * 4
    mod = iqx.modifiers.as_modifier("jpeg:quality=60")
    for p in sorted((root / "images").iterdir()):
        want = mod(iqx.open_scene(p)).values
        got = np.asarray(Image.open(out.data_input / p.name)).transpose(2, 0, 1)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "save",
    [{"transparency": 0}, {"pnginfo": "text"}],
    ids=["tRNS chunk (GDAL nodata)", "text chunk (GDAL metadata)"],
)
def test_pngs_gdal_must_read_take_the_general_path(tmp_path, monkeypatch, lean_calls, save):
    if save.get("pnginfo") == "text":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "hello")
        save = {"pnginfo": info}
    got, ref = _both_paths(tmp_path, monkeypatch, "jpeg:quality=70",
                           lambda r: _pngs(r, "L", **save))  # fmt: skip
    assert lean_calls == [False] * 4
    assert got == ref


def test_other_modifiers_and_files_take_the_general_path(tmp_path, lean_calls):
    root = _pngs(tmp_path / "ds", "L", n=2)
    write_image(np.zeros((1, 16, 16), np.uint8), root / "images" / "z.tif")
    modify(iqx.open_dataset(root), "jpeg:quality=70", scheduler="threads")
    assert sorted(lean_calls) == [False, True, True]  # the GeoTIFF goes through GDAL
    lean_calls.clear()
    modify(iqx.open_dataset(root), "gaussian_blur:sigma=1", scheduler="threads")
    assert lean_calls == []  # not a block codec: the lean path is not even tried


def test_a_corrupt_png_is_named(tmp_path, lean_calls):
    root = _pngs(tmp_path / "ds", "L", n=3)
    bad = root / "images" / "im1.png"
    data = bad.read_bytes()
    bad.write_bytes(data[:40] + b"\x00" * 20 + data[60:])  # IDAT damaged, chunk layout kept
    with pytest.raises(iqx.errors.IqxError, match=r"im1\.png"):
        modify(iqx.open_dataset(root), "jpeg:quality=70")
    assert not list(tmp_path.glob("ds#*"))  # nothing that looks complete


def test_a_truncated_png_is_named(tmp_path):
    root = _pngs(tmp_path / "ds", "L", n=2)
    bad = root / "images" / "im0.png"
    bad.write_bytes(bad.read_bytes()[:-20])
    with pytest.raises(iqx.errors.IqxError, match=r"im0\.png.*truncated"):
        modify(iqx.open_dataset(root), "jpeg:quality=70")


def test_pickled_for_a_worker_it_rebuilds_its_kernels(tmp_path):
    root = _pngs(tmp_path / "ds", "L", n=2)
    files = sorted((root / "images").iterdir())
    fm = _FileModifier(iqx.modifiers.as_modifier("jpeg:quality=70"), None)
    out = tmp_path / "out"
    out.mkdir()
    pairs = [(str(p), str(out / p.name)) for p in files]
    assert fm.run_many(pairs[:1])[0][DIGEST_KEY]
    assert fm.png_codec._kernels  # built for grey images
    clone = pickle.loads(pickle.dumps(fm))
    assert clone.png_codec._kernels == {}
    record = clone.run_many(pairs[1:])[0]
    assert record["output_bytes"] == (out / files[1].name).stat().st_size
    assert record["file"] == files[1].name


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    root = _pngs(tmp_path / "ds", "L", n=1)
    src = next((root / "images").iterdir())
    out = tmp_path / "out"
    out.mkdir()

    def full_disk(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_png_codec.os, "write", full_disk)
    fm = _FileModifier(iqx.modifiers.as_modifier("jpeg:quality=70"), None)
    with pytest.raises(OSError, match="No space") as info:
        fm.run_many([(str(src), str(out / src.name))])
    assert any(src.name in note for note in info.value.__notes__)
    assert list(out.iterdir()) == []
