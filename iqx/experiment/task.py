"""Tasks: what an experiment runs on every (modified dataset, hyperparameters, repetition).

- :class:`TaskExecution`: the interface. ``execute(request)`` fills ``request.output_path``
  following IQUAFLOW's output convention and raises :class:`~iqx.errors.TaskFailedError` on
  failure.
- :class:`PythonScriptTaskExecution`: the user's training script, run with IQUAFLOW's
  command-line contract (``--trainds --outputpath [--valds] [--testds] [--mlfuri --mlfexpid
  --mlfrunid] --<name> <value> ...``) as an argument list (no shell ever sees a value), with
  the current interpreter, a timeout, its exit code checked and its output streamed to a log.
- The built-in image-metrics task is :class:`iqx.experiment.measure.MeasureTask`; SageMaker
  jobs are :class:`iqx.experiment.sagemaker.SageMakerTaskExecution`.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iqx.errors import InvalidParameterError, PathNotFoundError, TaskFailedError
from iqx.experiment.results import ResultsPolicy
from iqx.experiment.runs import render_argument

__all__ = [
    "PythonScriptTaskExecution",
    "RunRequest",
    "TaskExecution",
    "scrub",
]

#: lines of stderr kept for the failure tag and artifact
STDERR_TAIL_LINES = 40


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text


@dataclass(frozen=True)
class RunRequest:
    """Everything a task needs to execute one run (picklable: it travels to dask workers).

    Attributes
    ----------
    train_path, val_path, test_path : str or None
        Dataset folders (the modified ones).
    reference_path : str
        The unmodified training set (ground truth for full-reference metrics).
    output_path : str
        Empty folder the task writes its results into.
    log_path : str
        File the task's console output goes to.
    hyperparameters : dict
        One combination of ``extra_train_params``.
    mlflow : dict or None
        ``{"mlfuri", "mlfexpid", "mlfrunid"}`` when monitoring is on.
    secrets : tuple of str
        Values to scrub from logs (credentials found in options and the environment); empty
        when the request travels over an unencrypted link (:mod:`iqx.experiment._secrets`):
        the worker then scrubs the credentials of its own environment.
    dataset_uris : dict
        ``{"train"|"val"|"test": "s3://..."}`` when the datasets were uploaded
        (``cloud_options["bucket_name"]``).
    cloud_options : dict
        The S3 part of ``cloud_options`` (endpoint, bucket, profile, credentials) for tasks
        that use S3; never shown by ``repr``. Without the credentials over an unencrypted
        link (:mod:`iqx.experiment._secrets`).
    """

    train_path: str
    reference_path: str
    output_path: str
    log_path: str
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    val_path: str | None = None
    test_path: str | None = None
    mlflow: Mapping[str, str] | None = None
    secrets: tuple[str, ...] = ()
    dataset_uris: Mapping[str, str] = field(default_factory=dict)
    cloud_options: Mapping[str, Any] = field(default_factory=dict, repr=False)


class TaskExecution:
    """Base class of tasks. Subclasses implement :meth:`execute` and may override
    :attr:`results_policy` and :meth:`identity`."""

    #: how the output folder's ``results.json`` is logged
    results_policy: ResultsPolicy = ResultsPolicy()
    #: the task reads S3 (``RunRequest.cloud_options``) where it executes: with credentials
    #: only in ``cloud_options``, it cannot run on a worker over an unencrypted link
    needs_storage: bool = False

    def identity(self) -> str:
        """A stable name of what this task computes (part of every run key)."""
        return type(self).__name__

    def check(self) -> None:
        """Validate the task before any work starts (default: nothing to check)."""

    def execute(self, request: RunRequest) -> None:
        """Run once, writing results into ``request.output_path``.

        Raises
        ------
        TaskFailedError
            The task failed; its ``reason`` and ``detail`` are logged with the run.
        """
        raise NotImplementedError

    def arguments(self, request: RunRequest) -> dict[str, str]:
        """IQUAFLOW's named arguments for ``request`` (in order), values as strings."""
        args = {"trainds": request.train_path, "outputpath": request.output_path}
        if request.val_path:
            args["valds"] = request.val_path
        if request.test_path:
            args["testds"] = request.test_path
        if request.mlflow:
            args.update({k: str(v) for k, v in request.mlflow.items()})
        args.update({k: render_argument(v) for k, v in request.hyperparameters.items()})
        return args


class PythonScriptTaskExecution(TaskExecution):
    """Run a Python training script once per run, IQUAFLOW-compatible.

    Parameters
    ----------
    model_script_path : path-like
        The script. It receives ``--trainds``, ``--outputpath``, ``--valds``/``--testds``
        when given, ``--mlfuri --mlfexpid --mlfrunid`` when monitoring is on, and every
        hyperparameter as ``--name value`` (lists and dicts as JSON, one argument each).
    tmp_dir : path-like, optional
        Where output folders are created (default: the system's temporary folder). Kept for
        IQUAFLOW compatibility.
    python : str, optional
        Interpreter (default: the one running iqx, ``sys.executable``; IQUAFLOW used
        ``python`` from ``PATH``).
    timeout : float, optional
        Seconds before the script (and every process it started) is killed and the run
        marked FAILED.
    scalars_as_params : bool
        Log numbers of ``results.json`` as params, as IQUAFLOW did.
    env : dict, optional
        Extra environment variables for the script.
    """

    def __init__(
        self,
        model_script_path: str | os.PathLike[str],
        tmp_dir: str | os.PathLike[str] | None = None,
        *,
        python: str | None = None,
        timeout: float | None = None,
        scalars_as_params: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.model_script_path = Path(model_script_path).resolve()
        self.tmp_dir = Path(tmp_dir).resolve() if tmp_dir is not None else None
        self.python = python or sys.executable
        if timeout is not None and not timeout > 0:
            raise InvalidParameterError(f"timeout must be > 0 seconds, got {timeout}")
        self.timeout = timeout
        self.env = dict(env or {})
        self.results_policy = ResultsPolicy(scalars_as_params=scalars_as_params)

    def __repr__(self) -> str:
        return f"PythonScriptTaskExecution({str(self.model_script_path)!r})"

    def identity(self) -> str:
        return f"script:{self.model_script_path.name}"

    def check(self) -> None:
        if not self.model_script_path.is_file():
            raise PathNotFoundError(f"{self.model_script_path}: training script does not exist")

    def command(self, request: RunRequest) -> list[str]:
        """The argument list the script is started with."""
        argv = [self.python, str(self.model_script_path)]
        for name, value in self.arguments(request).items():
            argv += [f"--{name}", value]
        return argv

    def execute(self, request: RunRequest) -> None:
        if not self.model_script_path.is_file():
            raise TaskFailedError(f"training script {self.model_script_path} does not exist")
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        try:
            proc = subprocess.Popen(
                self.command(request),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # its own process group: a timeout kills it all
            )
        except OSError as exc:
            raise TaskFailedError(f"cannot start {self.python}: {exc}") from None
        tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        lock = threading.Lock()
        with open(request.log_path, "a", encoding="utf-8", errors="replace") as log:
            readers = [
                threading.Thread(
                    target=_pump, args=(proc.stdout, log, lock, None, request.secrets)
                ),
                threading.Thread(
                    target=_pump, args=(proc.stderr, log, lock, tail, request.secrets)
                ),
            ]
            for t in readers:
                t.daemon = True
                t.start()
            try:
                code = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                for t in readers:
                    t.join(5)
                raise TaskFailedError(
                    f"training script timed out after {self.timeout:g} s", "".join(tail)
                ) from None
            except BaseException:  # interrupted: never leave the script running alone
                _kill_group(proc)
                raise
            for t in readers:
                t.join()
        if code != 0:
            what = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            raise TaskFailedError(f"training script {what}", "".join(tail))


def _pump(stream: Any, log: Any, lock: threading.Lock, tail: Any, secrets: tuple[str, ...]):
    for raw in iter(stream.readline, b""):
        line = scrub(raw.decode("utf-8", errors="replace"), secrets)
        with lock:
            log.write(line)
            log.flush()
        if tail is not None:
            tail.append(line)
    stream.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()
