"""Executing runs: one run on a worker (:func:`execute_run`), many runs on a pool (:class:`RunPool`).

The split of work is deliberate: the process that owns the experiment creates, logs and
terminates every MLflow run (one writer to the store, so a local SQLite store never sees
concurrent writers), while the process that executes a run (the same process, or a dask
worker) runs the task, parses its output folder, and uploads the folder and the console log as
artifacts (file copies or HTTP uploads, which need no database). The console log is uploaded
every ``log_interval`` seconds while the task runs, so a long training job can be followed in
the MLflow UI.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iqx.errors import TaskFailedError
from iqx.experiment._secrets import environment_secrets
from iqx.experiment.results import parse_output_folder
from iqx.experiment.task import RunRequest, TaskExecution, scrub

__all__ = ["RunOutcome", "RunPool", "execute_run"]

#: MLflow tag holding the one-line failure reason
ERROR_TAG = "iqx.error"
#: MLflow tag holding the tail of the task's stderr
STDERR_TAG = "iqx.stderr_tail"


@dataclass
class RunOutcome:
    """What came back from executing one run (small: it travels from a worker)."""

    run_id: str
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _upload_loop(tracker: Any, run_id: str, log: Path, stop: threading.Event, every: float):
    last = -1.0
    while not stop.wait(every):
        try:
            mtime = log.stat().st_mtime
            if mtime != last:
                tracker.log_artifact(run_id, log, "logs")
                last = mtime
        except Exception:
            continue


def execute_run(
    task: TaskExecution,
    request: RunRequest,
    tracker: Any,
    run_id: str,
    log_interval: float = 5.0,
    tmp_dir: str | None = None,
) -> RunOutcome:
    """Execute one run: task, output parsing, artifact upload. Never raises for task failures.

    ``request.output_path`` and ``request.log_path`` are replaced by fresh paths in a
    temporary folder (under ``tmp_dir``), removed once the artifacts are uploaded.
    """
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="iqx-run-", dir=tmp_dir))
    out, log = work / "output", work / "console.log"
    out.mkdir()
    log.touch()
    # the credentials of this machine's environment are scrubbed too: on a remote worker
    # the request carries none (iqx.experiment._secrets)
    secrets = tuple(dict.fromkeys((*request.secrets, *environment_secrets())))
    request = dataclasses.replace(request, output_path=str(out), log_path=str(log), secrets=secrets)
    outcome = RunOutcome(run_id=run_id, status="FINISHED")
    stop = threading.Event()
    uploader = None
    if log_interval and log_interval > 0:
        uploader = threading.Thread(
            target=_upload_loop, args=(tracker, run_id, log, stop, log_interval), daemon=True
        )
        uploader.start()
    try:
        try:
            task.execute(request)
            parsed = parse_output_folder(out, task.results_policy)
            outcome.metrics, outcome.params = parsed.metrics, parsed.params
            if parsed.ignored:
                outcome.tags["iqx.ignored_results"] = ",".join(parsed.ignored)
        except TaskFailedError as exc:
            _fail(outcome, exc.reason, exc.detail, request.secrets)
        except Exception as exc:
            _fail(outcome, f"{type(exc).__name__}: {exc}", traceback.format_exc(), request.secrets)
        finally:
            stop.set()
            if uploader is not None:
                uploader.join()
        if outcome.status == "FAILED":
            (work / "error.txt").write_text(
                f"{outcome.tags[ERROR_TAG]}\n\n{outcome.tags.get(STDERR_TAG, '')}",
                encoding="utf-8",
            )
            tracker.log_artifact(run_id, work / "error.txt", "logs")
        tracker.log_artifacts(run_id, out)
        tracker.log_artifact(run_id, log, "logs")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _fail(outcome: RunOutcome, reason: str, detail: str, secrets: tuple[str, ...]) -> None:
    outcome.status = "FAILED"
    outcome.tags[ERROR_TAG] = scrub(reason, secrets)[:1000]
    if detail:
        outcome.tags[STDERR_TAG] = scrub(detail, secrets)[-4000:]


class RunPool:
    """Execute runs serially in this process, or concurrently on a ``dask.distributed`` client.

    Parameters
    ----------
    client : distributed.Client or None
        The cluster (``None``: none; everything runs in this process).
    max_parallel : int
        Runs in flight at once (bounds GPU/CPU contention of training scripts).
    log_interval : float
        Seconds between interim uploads of a running task's console log.
    in_process : bool
        Execute runs one after the other in this process even with a client: for tasks
        whose own work is already parallel on the cluster (they run with the client as the
        default scheduler; a run submitted to a worker that then waits on the cluster could
        deadlock it).
    """

    def __init__(
        self,
        client: Any = None,
        max_parallel: int = 1,
        log_interval: float = 5.0,
        *,
        in_process: bool = False,
    ):
        self.client = client
        self.max_parallel = max(1, int(max_parallel))
        self.log_interval = log_interval
        self.in_process = in_process or client is None

    def run(
        self,
        jobs: Iterable[tuple[Any, Callable[[], tuple[TaskExecution, RunRequest, Any, str]]]],
    ) -> Iterator[tuple[Any, RunOutcome | BaseException]]:
        """Yield ``(tag, outcome)`` as runs complete.

        Each job is ``(tag, start)``: ``start()`` is called just before the run is submitted
        (it creates the MLflow run) and returns ``(task, request, tracker, run_id)``. A worker
        lost mid-run yields the exception instead of an outcome.
        """
        if self.in_process:
            for tag, start in jobs:
                task, request, tracker, run_id = start()
                with _as_current(self.client):
                    outcome = execute_run(task, request, tracker, run_id, self.log_interval)
                yield tag, outcome
            return
        from distributed import as_completed

        pending = iter(jobs)
        futures: dict[Any, Any] = {}
        stream = as_completed(loop=self.client.loop)

        def submit_next() -> bool:
            try:
                tag, start = next(pending)
            except StopIteration:
                return False
            task, request, tracker, run_id = start()
            fut = self.client.submit(
                execute_run,
                task,
                request,
                tracker,
                run_id,
                self.log_interval,
                pure=False,
                key=f"iqx-run-{run_id}",
            )
            futures[fut.key] = tag
            stream.add(fut)
            return True

        for _ in range(self.max_parallel):
            if not submit_next():
                break
        try:
            for fut in stream:
                tag = futures.pop(fut.key)
                try:
                    result: RunOutcome | BaseException = fut.result()
                except Exception as exc:
                    result = exc
                yield tag, result
                submit_next()
        finally:
            for key in list(futures):
                self.client.cancel(key)


def _as_current(client: Any) -> Any:
    """The client as the default dask scheduler inside the block (or nothing)."""
    import contextlib

    return client.as_current() if client is not None else contextlib.nullcontext()


def default_parallelism() -> int:
    """Cores available to this process."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
