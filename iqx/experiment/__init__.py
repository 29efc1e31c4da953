"""Experiments: a task over every modified dataset x hyperparameters x repetition, in MLflow.

- :class:`ExperimentSetup` (IQUAFLOW's arguments; resumable, parallel on dask) runs a
  :class:`TaskExecution` per run: the user's training script
  (:class:`PythonScriptTaskExecution`), the built-in image-metrics task (:class:`MeasureTask`)
  or a SageMaker job (:class:`SageMakerTaskExecution`, extra ``iqx[sagemaker]``).
- :class:`ExperimentInfo` reads the runs back as a table; :class:`ExperimentVisual` plots it;
  :func:`find_cheapest` searches the smallest data volume that still meets a requirement.
- :func:`sweep` / :func:`cheapest_setting`: the image-metrics study of ``iqx demo``, built on
  the same run model.

Names resolve lazily: ``import iqx.experiment`` imports neither mlflow nor dask.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "REFERENCE",
    "ExecutionSummary",
    "ExperimentInfo",
    "ExperimentSetup",
    "ExperimentVisual",
    "MeasureTask",
    "PythonScriptTaskExecution",
    "RunRequest",
    "SageMakerTaskExecution",
    "TaskExecution",
    "Tracker",
    "cheapest_setting",
    "find_cheapest",
    "sweep",
]

_WHERE = {
    "REFERENCE": "setup",
    "ExecutionSummary": "setup",
    "ExperimentSetup": "setup",
    "ExperimentInfo": "info",
    "ExperimentVisual": "visual",
    "MeasureTask": "measure",
    "PythonScriptTaskExecution": "task",
    "RunRequest": "task",
    "TaskExecution": "task",
    "SageMakerTaskExecution": "sagemaker",
    "Tracker": "tracking",
    "cheapest_setting": "image_sweep",
    "sweep": "image_sweep",
    "find_cheapest": "search",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f"iqx.experiment.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'iqx.experiment' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
