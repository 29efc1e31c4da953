"""Fixtures of the IQUAFLOW-compatibility tests: IQUAFLOW's own test datasets, copied."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture
def fixtures_root(shared_data: Path) -> Path:
    """``iquaflow_fixtures`` (IQUAFLOW's ``tests/test_datasets`` and ``coco_detect.json``)."""
    return shared_data / "iquaflow_fixtures"


@pytest.fixture
def coco_ds(fixtures_root: Path, tmp_path: Path) -> Path:
    """A writable copy of ``ds_coco_dataset`` in ``<tmp>/test_datasets``."""
    dst = tmp_path / "test_datasets" / "ds_coco_dataset"
    shutil.copytree(fixtures_root / "test_datasets" / "ds_coco_dataset", dst)
    return dst


@pytest.fixture
def geo_ds(fixtures_root: Path, tmp_path: Path) -> Path:
    """A writable copy of ``ds_geo_dataset`` in ``<tmp>/test_datasets``."""
    dst = tmp_path / "test_datasets" / "ds_geo_dataset"
    shutil.copytree(fixtures_root / "test_datasets" / "ds_geo_dataset", dst)
    return dst


@pytest.fixture
def train_script(fixtures_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake trainer (IQUAFLOW's ``tests/test_ml_models/train.py`` contract)."""
    monkeypatch.setenv(
        "IQX_TEST_DETECTIONS", str(fixtures_root / "test_ml_models" / "coco_detect.json")
    )
    return HERE / "train_script.py"


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A local SQLite store, also the default for ``ExperimentInfo(name)``."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri
