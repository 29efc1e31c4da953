"""Extraction of a job's ``output.tar.gz``: plain files only, nothing outside the folder."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from iqx.errors import TaskFailedError
from iqx.experiment.sagemaker import safe_extract


def _tar(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, None


def test_safe_extract_plain_archive(tmp_path):
    folder = tarfile.TarInfo("./plots")
    folder.type = tarfile.DIRTYPE
    archive = _tar(
        tmp_path / "ok.tar.gz",
        _file("results.json", b'{"a": [1, 2]}'),
        (folder, None),
        _file("./plots/curve.txt"),
        _file("output.json", b"[]"),
    )
    files = safe_extract(archive, tmp_path / "out")
    assert sorted(files) == ["output.json", "plots/curve.txt", "results.json"]
    assert (tmp_path / "out" / "results.json").read_bytes() == b'{"a": [1, 2]}'


@pytest.mark.parametrize(
    "member, match",
    [
        (_file("/etc/evil"), "absolute path"),
        (_file("../escape.txt"), "outside the output folder"),
        (_file("plots/../../escape.txt"), "outside the output folder"),
        (_file("plots/../inside.txt"), "'..' in its path"),
        (_special("link", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link"),
        (_special("inner", tarfile.SYMTYPE, "results.json"), "symbolic link"),
        (_special("hard", tarfile.LNKTYPE, "results.json"), "hard link"),
        (_special("tty", tarfile.CHRTYPE), "device file"),
        (_special("disk", tarfile.BLKTYPE), "device file"),
        (_special("pipe", tarfile.FIFOTYPE), "FIFO"),
    ],
    ids=[
        "absolute",
        "dotdot",
        "nested-dotdot",
        "inner-dotdot",
        "symlink-out",
        "symlink-in",
        "hardlink",
        "chr",
        "blk",
        "fifo",
    ],
)
def test_safe_extract_refuses(tmp_path, member, match):
    archive = _tar(tmp_path / "evil.tar.gz", _file("results.json"), member)
    with pytest.raises(TaskFailedError, match=match) as info:
        safe_extract(archive, tmp_path / "out")
    assert repr(member[0].name) in str(info.value)
    assert list((tmp_path / "out").iterdir()) == []  # refused before anything is written
    assert not (tmp_path / "escape.txt").exists()


def test_safe_extract_unreadable(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not a tar at all")
    with pytest.raises(TaskFailedError, match="not a readable tar"):
        safe_extract(bad, tmp_path / "out")
