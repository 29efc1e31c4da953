"""The command line speaks its own language: warnings are one line ``iqx: note: ...`` on
stderr (not Python's two-line display naming a source file of iqx), and an error whose fix
is an option names the command's flag (``--overwrite``), not the Python argument
(``overwrite=True``). The Python API keeps its warning and its wording.

The warnings are checked in a subprocess: pytest records warnings itself, so only a real
``iqx`` process shows what a user sees.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import warnings

import pytest

import iqx
from iqx.annotations.sanity import SanityCheck
from iqx.cli.main import error_message, main
from iqx.errors import ManifestConflictError, OutputExistsError

SPEC = "gaussian_blur:sigma=1.0"


@pytest.fixture
def coco_ds(shared_data, tmp_path):
    src = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_coco_dataset"
    return shutil.copytree(src, tmp_path / "ds_coco")


def _iqx(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "IQX_PROGRESS_DELAY": "0"}
    env.pop("IQX_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "iqx.cli.main", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _damage_copy(coco_ds):
    copy = coco_ds.parent / f"{coco_ds.name}#gaussian_blur_s1"
    image = next(p for p in sorted((copy / "images").iterdir()) if p.is_file())
    image.write_bytes(image.read_bytes() + b"\0")  # no longer the file the manifest records
    return copy


def test_rebuild_warning_is_one_note_line_on_the_cli(coco_ds):
    first = _iqx("modify", str(coco_ds), "-m", SPEC)
    assert first.returncode == 0, first.stderr
    _damage_copy(coco_ds)
    again = _iqx("modify", str(coco_ds), "-m", SPEC)
    assert again.returncode == 0, again.stderr
    lines = again.stderr.strip().splitlines()
    notes = [line for line in lines if line.startswith("iqx: note: ")]
    assert len(notes) == 1, again.stderr
    assert "rebuilding: the copy no longer matches its manifest" in notes[0]
    assert "Warning" not in again.stderr and "warnings.warn" not in again.stderr
    assert "derive.py" not in again.stderr and "modify.py" not in again.stderr
    # --debug keeps Python's display (category and place)
    _damage_copy(coco_ds)
    debug = _iqx("--debug", "modify", str(coco_ds), "-m", SPEC)
    assert debug.returncode == 0 and "RuntimeWarning" in debug.stderr


def test_the_api_keeps_its_warning(coco_ds):
    iqx.modify(coco_ds, SPEC)
    _damage_copy(coco_ds)
    with pytest.warns(RuntimeWarning, match="rebuilding: the copy no longer matches"):
        iqx.modify(coco_ds, SPEC)


def test_modify_conflict_names_the_flag_on_the_cli(coco_ds, capsys):
    (coco_ds.parent / f"{coco_ds.name}#gaussian_blur_s1").mkdir()  # made otherwise
    with pytest.raises(ManifestConflictError) as err:
        iqx.modify(coco_ds, SPEC)
    assert "pass overwrite=True to replace it" in str(err.value)
    assert "--overwrite" not in str(err.value)
    assert main(["modify", str(coco_ds), "-m", SPEC]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("iqx: error: ") and "\n" not in line
    assert "pass --overwrite to replace it" in line and "overwrite=True" not in line
    assert main(["modify", str(coco_ds), "-m", SPEC, "--overwrite"]) == 0


def test_sanity_output_exists_names_the_flag_on_the_cli(shared_data, tmp_path, capsys):
    ds = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_geo_dataset"
    out = tmp_path / "o"
    assert main(["sanity", str(ds), "-o", str(out)]) == 0
    capsys.readouterr()
    with pytest.raises(OutputExistsError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        SanityCheck(ds, out).run()
    assert "pass overwrite=True to replace them" in str(err.value)
    assert "--overwrite" not in str(err.value)
    assert main(["sanity", str(ds), "-o", str(out)]) == 2
    line = capsys.readouterr().err.strip()
    assert "pass --overwrite to replace them" in line and "overwrite=True" not in line


def test_a_command_without_the_flag_says_delete():
    exc = ManifestConflictError("/d/x#jpeg_q50: already exists; pass overwrite=True to replace it")
    no_flag = argparse.Namespace(command="study")
    assert error_message(exc, no_flag).endswith("; delete it to replace it")
    with_flag = argparse.Namespace(command="modify", overwrite=False)
    assert error_message(exc, with_flag).endswith("; pass --overwrite to replace it")
    both = OutputExistsError("/o/f.tif: exists (pass --overwrite / overwrite=True to replace it)")
    assert error_message(both, with_flag).endswith("(pass --overwrite to replace it)")
    assert error_message(exc) == str(exc)  # no command: the API's words
