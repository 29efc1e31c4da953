"""The training-script task of a study: the script, then its ``output.json`` scored.

:class:`ScoredScriptTask` runs a :class:`~iqx.experiment.task.PythonScriptTaskExecution`
and, when the study names task metrics (``[metrics] task = ["bbox_detection"]``), scores the
predictions the script wrote to ``output.json`` against the ground-truth annotations of the
run's (modified) validation set inside the same run. The scores join ``results.json``, so
they are logged as metrics of the run, resumed with it and usable by the cheapest-setting
search (which needs the metric while it searches, not after).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from iqx.errors import IqxError, TaskFailedError
from iqx.experiment.task import PythonScriptTaskExecution, RunRequest

__all__ = ["ScoredScriptTask"]

#: scoring silences pycocotools with ``contextlib.redirect_stdout``, which swaps the
#: process-wide ``sys.stdout``: concurrent runs (threads of one dask worker) must take turns,
#: or one restores another's buffer and the program's own output disappears
_SCORING = threading.Lock()


class ScoredScriptTask(PythonScriptTaskExecution):
    """A training script whose ``output.json`` is scored by run metrics after it exits.

    Parameters
    ----------
    model_script_path : path-like
        The script (IQUAFLOW's argument contract).
    run_metrics : sequence of str
        Registered run metrics (``"bbox_detection"``: COCO AP/AR by pycocotools).
    ground_truth : {"val", "train", "test"}
        Whose annotations (the dataset's first top-level ``*.json``) are the ground truth.
    timeout : float, optional
        Seconds before the script is killed.
    env : dict, optional
        Extra environment variables.
    """

    def __init__(
        self,
        model_script_path: str | os.PathLike[str],
        run_metrics: Sequence[str] = (),
        ground_truth: str = "val",
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(model_script_path, timeout=timeout, env=env)
        self.run_metrics = tuple(run_metrics)
        self.ground_truth = ground_truth

    def __repr__(self) -> str:
        return f"ScoredScriptTask({str(self.model_script_path)!r}, {self.run_metrics})"

    def identity(self) -> str:
        base = super().identity()
        return f"{base}|{','.join(self.run_metrics)}" if self.run_metrics else base

    def check(self) -> None:
        super().check()
        from iqx.registry import metrics as registry

        for name in self.run_metrics:
            registry.get(name)

    def _gt(self, request: RunRequest) -> Path:
        from iqx.datasets import open_dataset

        folder = {"train": request.train_path, "val": request.val_path}.get(
            self.ground_truth, request.test_path
        )
        if not folder:
            raise TaskFailedError(f"no {self.ground_truth} dataset to score output.json against")
        ann = open_dataset(folder).json_annotations
        if ann is None:
            raise TaskFailedError(f"{folder} has no JSON annotations to score output.json against")
        return ann

    def execute(self, request: RunRequest) -> None:
        super().execute(request)
        if not self.run_metrics:
            return
        from iqx.registry import metrics as registry

        out = Path(request.output_path)
        predictions = out / "output.json"
        if not predictions.is_file():
            raise TaskFailedError("the script wrote no output.json for the task metrics")
        gt = self._gt(request)
        scores: dict[str, Any] = {}
        for name in self.run_metrics:
            metric = registry.get(name).target()
            try:
                with _SCORING:
                    scores.update(metric.apply(str(predictions), str(gt)))
            except IqxError as exc:
                raise TaskFailedError(f"{name} could not score output.json: {exc}") from None
        results = out / "results.json"
        doc = json.loads(results.read_text(encoding="utf-8")) if results.is_file() else {}
        if not isinstance(doc, dict):
            raise TaskFailedError("results.json must hold a JSON object")
        doc.update(scores)
        results.write_text(json.dumps(doc, indent=1), encoding="utf-8")
