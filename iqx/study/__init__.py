"""Studies: a whole image-quality study declared in ``STUDY.toml`` and run by one command.

- :func:`load_study` validates the file into a :class:`StudyConfig` (every problem with its
  line) before any work;
- :func:`run_study` runs or resumes it (an experiment, optionally a cheapest-setting
  search), answers its target in one sentence and records it in MLflow;
- :func:`write_report` rebuilds its HTML report and PNG plots from MLflow alone;
- :func:`write_template` writes a ready-to-run study folder (``iqx new-study``);
- :mod:`iqx.study.showcase` is ``iqx demo``: three studies reproducing the shapes of the
  IQUAFLOW paper's use cases on generated or bundled data.

Names resolve lazily: ``import iqx.study`` imports neither mlflow nor dask.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "StudyConfig",
    "StudyConfigError",
    "StudyResult",
    "load_study",
    "parse_study",
    "run_study",
    "write_report",
    "write_template",
]

_WHERE = {
    "StudyConfig": "config",
    "StudyConfigError": "config",
    "load_study": "config",
    "parse_study": "config",
    "StudyResult": "runner",
    "run_study": "runner",
    "write_report": "report",
    "write_template": "template",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"iqx.study.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'iqx.study' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
