"""Files of a folder built under a temporary name are written in place (no rename each).

A dataset copy is built in ``<name>#<step>.iqx-tmp-...`` and renamed once complete: that
rename is the atomic step, so its files need no temporary sibling of their own. A failed
write still leaves no partial file behind.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import iqx
from iqx.io._atomic import atomic_file
from iqx.io.images import write_image


def test_in_place_yields_the_path_and_removes_it_on_failure(tmp_path):
    target = tmp_path / "a.bin"
    with atomic_file(target, in_place=True) as path:
        assert path == target
        path.write_bytes(b"1234")
    assert target.read_bytes() == b"1234"
    with pytest.raises(RuntimeError), atomic_file(tmp_path / "b.bin", in_place=True) as path:
        path.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert sorted(os.listdir(tmp_path)) == ["a.bin"]
    # the folder being built must exist: an abandoned one is never re-created
    with pytest.raises(FileNotFoundError), atomic_file(tmp_path / "gone" / "c.bin", in_place=True):
        pass
    assert not (tmp_path / "gone").exists()


def test_batches_still_running_after_a_failure_leave_nothing(tmp_path):
    import shutil
    import time

    from iqx.datasets import derive_dataset, open_dataset

    (tmp_path / "ds" / "images").mkdir(parents=True)
    for k in range(6):
        write_image(np.full((1, 8, 8), k, np.uint8), tmp_path / "ds" / "images" / f"{k}.png")
    src = open_dataset(tmp_path / "ds")

    def slow_or_fail(s, d):
        if s.name == "0.png":
            raise ValueError("boom")
        time.sleep(0.3)  # still writing when the failed copy is removed
        write_image(np.zeros((1, 8, 8), np.uint8), d, atomic=False)
        shutil.copyfile(s, d)
        return {}

    with pytest.raises(ValueError, match="boom"):
        derive_dataset(src, "race", {"id": "race"}, slow_or_fail, batch_size=1)
    time.sleep(0.8)  # every batch has finished (or given up) by now
    assert sorted(os.listdir(tmp_path)) == ["ds"]


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg"])
def test_write_image_in_place_renames_nothing(tmp_path, suffix, monkeypatch):
    renames = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (renames.append(b), real(a, b)))
    arr = np.random.default_rng(0).integers(0, 256, (3, 16, 24), dtype=np.uint8)
    write_image(arr, tmp_path / f"x{suffix}", atomic=False)
    assert renames == []
    write_image(arr, tmp_path / f"y{suffix}")  # the default stays atomic
    assert len(renames) == 1
    assert sorted(os.listdir(tmp_path)) == [f"x{suffix}", f"y{suffix}"]


def test_a_modified_copy_renames_only_its_folder(tmp_path, monkeypatch):
    (tmp_path / "ds" / "images").mkdir(parents=True)
    rng = np.random.default_rng(1)
    for k in range(5):
        write_image(rng.integers(0, 256, (1, 20, 20), dtype=np.uint8),
                    tmp_path / "ds" / "images" / f"{k}.png")  # fmt: skip
    renames = []
    real_replace, real_rename = os.replace, os.rename
    monkeypatch.setattr(os, "replace", lambda a, b: (renames.append(b), real_replace(a, b)))
    monkeypatch.setattr(os, "rename", lambda a, b: (renames.append(b), real_rename(a, b)))
    out = iqx.modify(tmp_path / "ds", "jpeg:quality=50")
    image_renames = [r for r in map(str, renames) if r.endswith(".png")]
    assert image_renames == []
    assert sorted(p.name for p in (out.data_path / "images").iterdir()) == [
        f"{k}.png" for k in range(5)
    ]
