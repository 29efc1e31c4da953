"""``iqx study run`` on a parallel study (a thread cluster per experiment and per search probe)
ends cleanly: exit status 0 and no asyncio "exception was never retrieved" report from a
dask client/cluster teardown (seen once at the end of a study run, under load)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.docs_harness import TRAIN_PY

pytest.importorskip("mlflow")
pytest.importorskip("distributed")

STUDY = """\
[study]
name = "clean-exit"
tracking_uri = "mlflow.db"
max_parallel = 2

[data]
train = "data/aerial_train"
val = "data/aerial_val"

[modifiers]
include_reference = true
jpeg.quality = [10, 50, 90]
quantize.bits = [4]

[task]
script = "train.py"
repetitions = 2

[target]
metric = "val_error"
requirement = "<= 0.05"
higher_is_better = false
search = true
modifier = "jpeg"
"""


@pytest.mark.slow
@pytest.mark.distributed
def test_parallel_study_run_ends_without_stray_asyncio_errors(tmp_path):
    from iqx.study.showcase.data import write_aerial_datasets

    write_aerial_datasets(tmp_path / "data", n_train=2, n_val=2, size=96, objects_per_image=2)
    (tmp_path / "train.py").write_text(TRAIN_PY)
    (tmp_path / "STUDY.toml").write_text(STUDY)
    env = {**os.environ, "PYTHONASYNCIODEBUG": "1"}  # a report then says where the future was made
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run(
        [sys.executable, "-m", "iqx.cli.main", "study", "run", "STUDY.toml", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    for needle in ("exception was never retrieved", "Traceback (most recent call last)"):
        assert needle not in proc.stderr, proc.stderr[-6000:]
