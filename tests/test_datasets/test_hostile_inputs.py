"""Hostile and careless inputs (issue 9, items 3-5): no input harmed, no silent wrong answer.

Every case runs on real files (copies of ``../shared/data``) or on files generated in
``tmp_path``. CLI-only cases are in ``tests/test_cli/test_one_line_errors.py`` and the
concurrency cases in ``tests/test_datasets/test_concurrency.py``.

========================================================  ==================================  ========================================
case                                                      before                              after
========================================================  ==================================  ========================================
``iqx modify .`` inside a dataset                         wrote ``DS/#jpeg_q31/`` (data loss)  writes ``<parent>/DS#jpeg_q31``
``iqx modify ..`` from ``DS/images``                      wrote inside ``images/``             writes ``<parent>/DS#...``
``iqx sanity .`` inside a dataset                         wrote ``DS/_sanitized/``             writes ``<parent>/DS_sanitized``
``iqx sanity A --output A/images``                        added files to ``images/``           UnsafeOutputError, exit 2
``iqx sanity A --output B`` (B has the files)             replaced ``B/coco_annotations.json`` OutputExistsError unless ``--overwrite``
re-run after a file of the copy was deleted               no-op, incomplete copy, exit 0       copy rebuilt (warning), complete
re-run after a file of the copy was truncated             no-op, truncated copy, exit 0        copy rebuilt (warning), complete
zarr store with a missing chunk                           read back as zeros                   RasterReadError naming the store
JPEG whose body holds garbage (libjpeg warnings)          decoded garbage as pixels, exit 0    RasterReadError naming the file
external program writes garbage (dataset)                 garbage file in the copy             ExternalCommandError naming the file
external program writes garbage (in-memory scene)         numpy/Pillow exception               ExternalCommandError
empty images folder                                       "complete" 0-image copy              DatasetLayoutError
``to_geotiff(compress="bogus")``                          written uncompressed                 InvalidParameterError
``jpeg:quality=70,quality=80``                            last value kept silently             InvalidParameterError (given twice)
``{"id": "jpeg", "quality": 70, "quality": 80}``          last value kept silently             InvalidParameterError (given twice)
``jpeg:qualty=70``                                        TypeError text, no hint              "did you mean quality?"
``resample(factor=1e6)``                                  OOM-killed at 23 GB building graph   InvalidParameterError in < 1 s
``gaussian_blur(sigma=1e6)``                              TypeError from a re-wrapped error    InvalidParameterError (halo vs size)
error in a per-image step of a dataset                    re-wrapped: type lost (TypeError)    same type and message, note names file
damaged manifest (wrong JSON types)                       AttributeError/KeyError              DatasetLayoutError "damaged manifest"
30-step chain (folder name too long)                      ENAMETOOLONG after 20 steps          InvalidParameterError before any work
write fails with ENOSPC/EROFS (zarr, GeoTIFF)             bare OSError / a "read" error        RasterWriteError naming the destination
========================================================  ==================================  ========================================
"""

from __future__ import annotations

import errno
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import iqx
from iqx.cli.main import main
from iqx.datasets import copy_dataset, open_dataset
from iqx.errors import (
    DatasetLayoutError,
    InvalidParameterError,
    OutputExistsError,
    RasterReadError,
    RasterWriteError,
    UnsafeOutputError,
)
from iqx.modifiers import as_modifier, gaussian_blur, resample
from iqx.modifiers.external import ExternalCommandError


@pytest.fixture
def coco(copy_ds, iqf_datasets) -> Path:
    """A writable copy of IQUAFLOW's ``ds_coco_dataset`` (10 real JPEG photos + COCO)."""
    return copy_ds(iqf_datasets / "ds_coco_dataset")


@pytest.fixture
def geo(copy_ds, iqf_datasets) -> Path:
    """A writable copy of IQUAFLOW's ``ds_geo_dataset`` (10 GeoTIFF chips + GeoJSON)."""
    return copy_ds(iqf_datasets / "ds_geo_dataset")


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# -- 3. never write inside an input -------------------------------------------------------
def test_modify_dot_writes_next_to_the_dataset(coco, monkeypatch, capsys):
    before = _tree(coco)
    monkeypatch.chdir(coco)
    assert main(["modify", ".", "-m", "jpeg:quality=31"]) == 0
    assert _tree(coco) == before
    out = coco.parent / "ds_coco_dataset#jpeg_q31"
    assert len(open_dataset(out).image_files) == 10
    assert capsys.readouterr().out.strip().splitlines()[0] == str(out)


def test_modify_dotdot_from_images_writes_next_to_the_dataset(geo, monkeypatch):
    before = _tree(geo)
    monkeypatch.chdir(geo / "images")
    assert main(["modify", "..", "-m", "quantize:bits=6"]) == 0
    assert _tree(geo) == before
    assert (geo.parent / "ds_geo_dataset#quantize_b6" / "annots.geojson").is_file()


def test_sanity_dot_writes_next_to_the_dataset(coco, monkeypatch):
    before = _tree(coco)
    monkeypatch.chdir(coco)
    assert main(["sanity", ".", "--no-file-check"]) in (0, 1)
    assert _tree(coco) == before
    assert (coco.parent / "ds_coco_dataset_sanitized" / "sanity_report.json").is_file()


def test_sanity_output_inside_images_is_refused(coco, capsys):
    before = _tree(coco)
    assert main(["sanity", str(coco), "--output", str(coco / "images")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("iqx: error:") and "inside" in err and len(err.splitlines()) == 1
    assert _tree(coco) == before
    with pytest.raises(UnsafeOutputError):
        iqx.annotations.SanityCheck(coco, coco / "images" / "sub")


def test_sanity_existing_output_needs_overwrite(coco, tmp_path, capsys):
    out = tmp_path / "B"
    out.mkdir()
    mine = out / "coco_annotations.json"
    mine.write_text('{"mine": true}')
    assert main(["sanity", str(coco), "--output", str(out), "--no-file-check"]) == 2
    assert "coco_annotations.json" in capsys.readouterr().err
    assert json.loads(mine.read_text()) == {"mine": True}
    rc = main(["sanity", str(coco), "--output", str(out), "--no-file-check", "--overwrite"])
    assert rc in (0, 1)
    assert "images" in json.loads(mine.read_text())
    with pytest.raises(OutputExistsError):
        iqx.annotations.SanityCheck(coco, out, check_files=False).autofix()


# -- 4. no silent wrong answers -----------------------------------------------------------
@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_rerun_repairs_a_damaged_copy(coco, damage):
    src = open_dataset(coco)
    first = copy_dataset(src)
    victim = first.image_files[3]
    good = victim.read_bytes()
    if damage == "delete":
        victim.unlink()
    else:
        victim.write_bytes(good[: len(good) // 2])
    with pytest.warns(RuntimeWarning, match=victim.name):
        again = copy_dataset(src)
    assert victim.read_bytes() == good
    assert len(again.image_files) == 10
    # an intact copy is a true no-op: nothing is rewritten
    stamp = victim.stat().st_mtime_ns
    copy_dataset(src)
    assert victim.stat().st_mtime_ns == stamp


def test_zarr_missing_chunk_is_an_error(shared_data, tmp_path):
    scene = iqx.open_scene(shared_data / "solaris_spacenet" / "pan1.tif").load()
    store = iqx.to_zarr(scene, tmp_path / "pan.zarr", chunks=256)
    assert (iqx.open_scene(store).values == scene.values).all()
    chunks = sorted(p for p in (store / "data" / "c").rglob("*") if p.is_file())
    assert len(chunks) > 1
    chunks[1].unlink()
    with pytest.raises(RasterReadError, match="missing 1 of"):
        iqx.open_scene(store)


def test_zarr_all_zero_chunks_are_written_and_read(tmp_path):
    zeros = xr.DataArray(np.zeros((1, 64, 64), np.uint16), dims=("band", "y", "x"))
    store = iqx.to_zarr(zeros, tmp_path / "z.zarr", chunks=32)
    assert (iqx.open_scene(store).values == 0).all()


def test_jpeg_with_garbage_body_is_an_error(iqf_datasets, tmp_path):
    src = iqf_datasets / "ds_coco_dataset" / "images" / "000000391895.jpg"
    body = bytearray(src.read_bytes())
    mid = len(body) // 2
    body[mid : mid + 2000] = bytes((7 * i) % 256 for i in range(2000))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(bytes(body))
    with pytest.raises(RasterReadError, match=r"bad\.jpg"):
        iqx.io.read_image(bad)
    with pytest.raises(RasterReadError):
        iqx.open_scene(bad).compute()


def test_external_garbage_output_is_detected(coco, tmp_path):
    script = tmp_path / "garbage.py"
    script.write_text(
        "import sys\nopen(sys.argv[2], 'wb').write(b'\\xff\\xd8 not a jpeg at all' * 50)\n"
    )
    mod = {
        "id": "external",
        "command": [sys.executable, str(script), "{input}", "{output}"],
        "name": "garbage",
    }
    with pytest.raises(ExternalCommandError, match="not a readable"):
        iqx.modify(coco, mod)
    assert not (coco.parent / "ds_coco_dataset#garbage").exists()
    img = np.zeros((1, 8, 8), np.uint8)
    with pytest.raises(ExternalCommandError, match="unreadable"):
        as_modifier(mod)(img).compute()


def test_empty_images_folder_is_an_error(coco):
    for p in (coco / "images").iterdir():
        p.unlink()
    with pytest.raises(DatasetLayoutError, match="empty"):
        copy_dataset(open_dataset(coco))
    assert not (coco.parent / "ds_coco_dataset#base_modifier").exists()


def test_geotiff_unknown_compression_is_an_error(shared_data, tmp_path):
    scene = iqx.open_scene(shared_data / "solaris_spacenet" / "pan1.tif")
    with pytest.raises(InvalidParameterError, match="bogus"):
        iqx.to_geotiff(scene, tmp_path / "o.tif", compress="bogus")
    assert list(tmp_path.iterdir()) == []
    iqx.to_geotiff(scene, tmp_path / "o.tif", compress="ZSTD")  # GDAL names, any case


@pytest.mark.parametrize(
    "spec",
    ["jpeg:quality=70,quality=80", '{"id": "jpeg", "quality": 70, "quality": 80}'],
)
def test_duplicated_spec_key_is_an_error(spec):
    with pytest.raises(InvalidParameterError, match="twice"):
        as_modifier(spec)


def test_unknown_parameter_suggests_the_right_one():
    with pytest.raises(InvalidParameterError, match="did you mean quality"):
        as_modifier("jpeg:qualty=70")
    with pytest.raises(InvalidParameterError, match="not valid JSON"):
        as_modifier('{"id": "jpeg", quality: 70}')


# -- 5. parameters checked before work ----------------------------------------------------
def test_resample_huge_factor_fails_fast(shared_data):
    scene = iqx.open_scene(shared_data / "solaris_spacenet" / "pan1.tif")
    # refused before any array is allocated or any graph built (the old code was OOM-killed
    # at 23 GB while building the graph): nothing is computed, and the peak traced memory
    # stays far below the 1e12-pixel output
    import tracemalloc

    from iqx.testing import raise_if_dask_computes

    tracemalloc.start()
    try:
        with raise_if_dask_computes(), pytest.raises(InvalidParameterError, match="limit"):
            resample(scene, factor=1e6)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6


def test_blur_huge_sigma_names_the_halo(shared_data, coco):
    scene = iqx.open_scene(shared_data / "solaris_spacenet" / "pan1.tif")
    with pytest.raises(InvalidParameterError, match="halo"):
        gaussian_blur(scene, sigma=1e6)
    # through a dataset: same type and message, the file named in a note
    with pytest.raises(InvalidParameterError, match="halo") as info:
        iqx.modify(coco, "gaussian_blur:sigma=1e6")
    assert any("while processing" in n for n in info.value.__notes__)


def test_per_image_errors_keep_their_type(coco):
    class Odd(Exception):
        def __init__(self, a, b):  # not constructible from one message
            super().__init__(f"odd {a} {b}")

    def boom(src, dst):
        raise Odd(1, 2)

    with pytest.raises(Odd, match="odd 1 2"):
        iqx.datasets.derive_dataset(open_dataset(coco), "boom", {"id": "boom"}, boom)


def test_damaged_manifest_is_named(coco):
    out = copy_dataset(open_dataset(coco)).data_path
    manifest = out / "iqx_manifest.json"
    doc = json.loads(manifest.read_text())
    doc["layout"] = "images"
    manifest.write_text(json.dumps(doc))
    with pytest.raises(DatasetLayoutError, match="damaged manifest"):
        open_dataset(out)
    with pytest.raises(DatasetLayoutError, match="damaged manifest"):
        copy_dataset(open_dataset(coco))
    assert copy_dataset(open_dataset(coco), overwrite=True).manifest["layout"]["data_input"]


def test_long_chain_fails_before_any_work(coco):
    chain = [f"quantize:bits={b}" for b in [7, 6] * 15]
    with pytest.raises(InvalidParameterError, match="too long"):
        iqx.modify(coco, chain)
    assert sorted(p.name for p in coco.parent.iterdir()) == ["ds_coco_dataset"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_write_errors_name_the_destination(shared_data, tmp_path, monkeypatch, code):
    scene = iqx.open_scene(shared_data / "solaris_spacenet" / "pan1.tif")

    def full(*args, **kwargs):
        raise OSError(code, "simulated", str(tmp_path / "x.iqx-tmp-somewhere"))

    monkeypatch.setattr(xr.Dataset, "to_zarr", full)
    with pytest.raises(RasterWriteError, match=r"out\.zarr: cannot write") as info:
        iqx.to_zarr(scene, tmp_path / "out.zarr")
    assert info.value.errno == code
    import iqx.io.geotiff as gt

    monkeypatch.setattr(gt, "_create_and_store", full)
    with pytest.raises(RasterWriteError, match=r"out\.tif: cannot write GeoTIFF") as info:
        iqx.to_geotiff(scene, tmp_path / "out.tif")
    assert info.value.errno == code
    assert [p.name for p in tmp_path.iterdir()] == []


def test_output_check_resolves_symlinks(coco, tmp_path):
    from iqx.io._atomic import check_output_path

    link = tmp_path / "link"
    link.symlink_to(coco / "images")
    with pytest.raises(UnsafeOutputError):
        check_output_path(link / "out", [coco])
    assert check_output_path(tmp_path / "elsewhere", [coco]) == (tmp_path / "elsewhere").resolve()
    shutil.rmtree(coco.parent / "ds_coco_dataset#x", ignore_errors=True)
