"""The run model shared by every task: what one run is, its deterministic key, its params.

An experiment is the product *modified dataset x hyperparameter combination x repetition*;
each element is a :class:`RunSpec`. Its :attr:`RunSpec.key` hashes everything that decides
what the run computes (experiment, task, dataset fingerprints, modifier config,
hyperparameters, repetition), so that executing an experiment again finds its finished runs
in MLflow and skips them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iqx.errors import InvalidParameterError

__all__ = [
    "RESERVED_ARGUMENTS",
    "DatasetRef",
    "RunSpec",
    "dataset_fingerprint",
    "hyperparameter_grid",
    "render_argument",
    "setting_name",
]

#: argument names the framework passes itself (IQUAFLOW asserted the last four)
RESERVED_ARGUMENTS = frozenset(
    {"trainds", "valds", "testds", "outputpath", "mlfuri", "mlfexpid", "mlfrunid"}
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def dataset_fingerprint(path: str | os.PathLike[str]) -> str:
    """A short, stable identity of a dataset folder: its resolved path and file listing.

    Names and sizes of every file (not the contents: reading a 10 000-image dataset to hash
    it would cost more than the run) identify a dataset well enough to tell a study's
    inputs apart; a modified dataset is identified by its source and modifier config instead.
    """
    root = Path(path).resolve()
    listing = []
    if root.is_dir():
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith(".") or name == "iqx_manifest.json":
                    continue
                full = Path(dirpath) / name
                listing.append((full.relative_to(root).as_posix(), full.stat().st_size))
    digest = hashlib.sha256(_canonical([root.as_posix(), listing]).encode()).hexdigest()
    return digest[:16]


@dataclass(frozen=True)
class DatasetRef:
    """A dataset a run uses: where it is and what it is called in MLflow params."""

    path: str
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dataset(cls, ds: Any) -> DatasetRef:
        """From an :class:`iqx.datasets.Dataset` (or anything with ``data_path``/``params``)."""
        return cls(
            path=str(Path(ds.data_path).resolve()),
            name=str(ds.params.get("ds_name", Path(ds.data_path).name)),
            params=dict(ds.params),
        )


def setting_name(modifier: Any, *, keep_intermediates: bool = True) -> str:
    """The short name of a setting: as in a study's tables, run names and progress lines.

    ``"original"`` for None (the unmodified baseline); a modifier's ``folder_name``
    (``jpeg_q30``); a chain's step names joined by ``#`` (``gaussian_blur_s1#jpeg_q50``),
    as its step-by-step datasets are named, or by ``+`` when intermediates are not kept
    (one folder). ``modifier`` may be a Modifier, a config dict or an ``id:k=v`` spec.
    """
    if modifier is None:
        return "original"
    from iqx.modifiers import Chain, as_modifier

    mod = as_modifier(modifier)
    if isinstance(mod, Chain) and keep_intermediates:
        return "#".join(step.folder_name for step in mod.steps)
    return mod.folder_name


def render_argument(value: Any) -> str:
    """One command-line value: strings as they are, lists and dicts as JSON, numbers as ``str``.

    The value becomes a single ``argv`` element (no shell ever parses it), so ``"; rm -rf"``
    reaches the script literally and ``[64, 32]`` stays one argument (``json.loads`` gives it
    back).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float) or value is None:
        return str(value)
    return json.dumps(value, default=str)


def hyperparameter_grid(params: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every combination of ``params``: list values form the grid, other values are fixed.

    A list-valued hyperparameter is written as a list of lists (``{"layers": [[64, 32]]}``),
    as in IQUAFLOW.

    Raises
    ------
    InvalidParameterError
        A reserved or malformed name, or an empty list of values.
    """
    params = dict(params or {})
    for name, values in params.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidParameterError(
                f"extra_train_params: {name!r} is not a valid argument name "
                "(letters, digits, '_', '-', '.'; not starting with '-' or a digit)"
            )
        if name in RESERVED_ARGUMENTS:
            raise InvalidParameterError(
                f"extra_train_params: {name!r} is reserved (iqx passes "
                f"{', '.join(sorted(RESERVED_ARGUMENTS))} itself)"
            )
        if isinstance(values, list | tuple) and not values:
            raise InvalidParameterError(f"extra_train_params: {name!r} has an empty list")
        if isinstance(values, float) and not math.isfinite(values):
            raise InvalidParameterError(f"extra_train_params: {name!r} is {values}")
    names = list(params)
    axes = [list(v) if isinstance(v, list | tuple) else [v] for v in params.values()]
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment.

    Attributes
    ----------
    experiment : str
        Experiment name.
    task : str
        The task's identity (:meth:`TaskExecution.identity`).
    train, val, test : DatasetRef or None
        The (modified) datasets given to the task.
    reference : DatasetRef
        The unmodified training set (ground truth for full-reference metrics).
    modifier : dict or None
        The modifier config (``None`` for the unmodified reference).
    hyperparameters : dict
        One combination of ``extra_train_params``.
    repetition : int
        0-based repetition index.
    """

    experiment: str
    task: str
    train: DatasetRef
    reference: DatasetRef
    modifier: Mapping[str, Any] | None
    hyperparameters: Mapping[str, Any]
    repetition: int
    val: DatasetRef | None = None
    test: DatasetRef | None = None
    source_fingerprints: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Deterministic hash of what this run computes (tag ``iqx.key`` in MLflow)."""
        payload = {
            "experiment": self.experiment,
            "task": self.task,
            "sources": list(self.source_fingerprints),
            "modifier": self.modifier,
            "hyperparameters": dict(self.hyperparameters),
            "repetition": self.repetition,
        }
        return hashlib.sha256(_canonical(payload).encode()).hexdigest()[:32]

    @property
    def run_name(self) -> str:
        """IQUAFLOW's run name: the modified training set's folder name."""
        return self.train.name

    @property
    def is_reference(self) -> bool:
        """True for the unmodified baseline."""
        return self.modifier is None

    def params(self) -> dict[str, Any]:
        """MLflow params: IQUAFLOW's (``ds_name``, ``modifier``, modifier params, ``_val`` and
        ``_test`` suffixed dataset params, hyperparameters) plus iqx's own (paths, config,
        repetition)."""
        out: dict[str, Any] = {}
        out.update(self.train.params)
        out["ds_name"] = self.train.name
        out.setdefault("modifier", "reference" if self.is_reference else "")
        for suffix, ref in (("_val", self.val), ("_test", self.test)):
            if ref is not None:
                out.update({f"{k}{suffix}": v for k, v in ref.params.items()})
                out[f"ds_path{suffix}"] = ref.path
        out["ds_path"] = self.train.path
        out["ds_reference"] = self.reference.name
        out["ds_reference_path"] = self.reference.path
        out["modifier_config"] = _canonical(self.modifier) if self.modifier else "null"
        out["repetition"] = self.repetition
        out.update(self.hyperparameters)
        return out
