"""Writable copies of the shared IQUAFLOW-layout datasets."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest


def _writable_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, copy_function=shutil.copyfile)
    for p in [dst, *dst.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    return dst


@pytest.fixture
def iqf_datasets(shared_data) -> Path:
    return shared_data / "iquaflow_fixtures" / "test_datasets"


@pytest.fixture
def copy_ds(tmp_path):
    """``copy_ds(src)`` → a writable copy of dataset folder ``src`` under ``tmp_path/work``."""

    def make(src: Path, name: str | None = None) -> Path:
        return _writable_copy(src, tmp_path / "work" / (name or src.name))

    return make
