"""MLflow tracking for experiments: the only module of iqx that imports :mod:`mlflow`.

Everything goes through :class:`mlflow.tracking.MlflowClient` with batched calls
(``log_batch``: params, metrics and tags of a run in one request), which costs ~0.03 s per run
on a local SQLite store and ~0.13 s over HTTP, against ~0.9 s for the fluent one-call-per-value
API (measured in ``../shared/reference/stack.md``). The fluent API is never used: it keeps a
process-global "active run", which does not mix with concurrent runs.

Where runs go (:func:`resolve_tracking_uri`): an explicit URI (``cloud_options["tracking_uri"]``)
> ``$MLFLOW_TRACKING_URI`` > ``sqlite:///<cwd>/mlflow.db`` with artifacts in
``<cwd>/mlartifacts``. MLflow 3 refuses the old file store (``./mlruns``) unless told
otherwise, and ``mlflow-skinny`` cannot open a SQLite store (no SQLAlchemy/alembic), which is
why the ``mlflow`` extra installs full ``mlflow``.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iqx._compat import import_optional
from iqx.errors import TrackingError

__all__ = [
    "KEY_TAG",
    "OWNER_TAG",
    "RunArtifacts",
    "RunRecord",
    "Tracker",
    "redact_uri",
    "resolve_tracking_uri",
]

#: tag holding a run's deterministic key (what makes an experiment resumable)
KEY_TAG = "iqx.key"
#: tag naming the process that owns a RUNNING run (``host:pid:start_time``)
OWNER_TAG = "iqx.owner"
#: MLflow limits per ``log_batch`` call
_MAX_PARAMS, _MAX_METRICS, _MAX_TAGS = 100, 1000, 100
#: longest param value MLflow 3 stores
_MAX_PARAM_VALUE = 6000

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:[a-z0-9_.-]*(?:token|secret|password|passwd|key|signature|credential)"
    r"[a-z0-9_.-]*)=)[^&#\s]*"
)


def redact_uri(uri: str) -> str:
    """``uri`` without credentials: user info and secret-looking query values become ``***``.

    >>> redact_uri("https://alice:s3cret@mlflow.example.org/?token=abc&x=1")
    'https://***@mlflow.example.org/?token=***&x=1'
    """
    out = _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", str(uri))
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}***", out)


def resolve_tracking_uri(uri: str | None = None, *, workdir: str | os.PathLike[str] = ".") -> str:
    """The tracking URI to use: ``uri`` > ``$MLFLOW_TRACKING_URI`` > a SQLite store in ``workdir``.

    A bare path (no scheme) is taken as a SQLite database file.
    """
    chosen = uri or os.environ.get("MLFLOW_TRACKING_URI") or ""
    if not chosen:
        return f"sqlite:///{(Path(workdir).resolve() / 'mlflow.db').as_posix()}"
    if "://" not in chosen and not chosen.startswith("sqlite:"):
        return f"sqlite:///{Path(chosen).resolve().as_posix()}"
    return chosen


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:"):
        return None
    return Path(uri.split("sqlite:///", 1)[-1]) if "sqlite:///" in uri else None


@dataclass(frozen=True)
class RunRecord:
    """What an experiment needs to know about one existing run."""

    run_id: str
    status: str
    key: str | None
    run_name: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    start_time: int
    artifact_uri: str


class Tracker:
    """One MLflow tracking store, seen through a picklable handle.

    Parameters
    ----------
    uri : str, optional
        Tracking URI (see :func:`resolve_tracking_uri`).
    registry_uri : str, optional
        Model-registry URI; default: the tracking URI.
    workdir : path-like
        Where the default SQLite store and its artifacts live.
    """

    def __init__(
        self,
        uri: str | None = None,
        *,
        registry_uri: str | None = None,
        workdir: str | os.PathLike[str] = ".",
    ) -> None:
        self.uri = resolve_tracking_uri(uri, workdir=workdir)
        self.registry_uri = registry_uri or self.uri
        self._client: Any = None
        self._artifact_uris: dict[str, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "registry_uri": self.registry_uri,
            "_client": None,
            "_artifact_uris": {},
        }

    def __repr__(self) -> str:
        return f"Tracker({redact_uri(self.uri)!r})"

    # ------------------------------------------------------------------ plumbing
    @property
    def client(self) -> Any:
        """The :class:`mlflow.tracking.MlflowClient` (created on first use)."""
        if self._client is None:
            tracking = import_optional("mlflow.tracking", "experiment tracking")
            self._client = tracking.MlflowClient(
                tracking_uri=self.uri, registry_uri=self.registry_uri
            )
            if self.uri.startswith("sqlite:"):
                _fast_sqlite(self._client)
        return self._client

    def check(self, timeout: float = 10.0) -> None:
        """Fail early, with a clear message, when the store cannot be used.

        Raises
        ------
        TrackingError
            An HTTP server that does not answer ``/health``, a SQLite database in a folder
            that does not exist or cannot be written, an unsupported scheme.
        """
        shown = redact_uri(self.uri)
        if self.uri.startswith(("http://", "https://")):
            url = self.uri.rstrip("/") + "/health"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as answer:
                    if answer.status >= 400:
                        raise TrackingError(f"tracking server {shown} answered {answer.status}")
            except urllib.error.HTTPError as exc:
                if exc.code in (401, 403):  # authenticated servers: reachable, checked later
                    return
                raise TrackingError(f"tracking server {shown} answered {exc.code}") from None
            except (OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise TrackingError(f"tracking server {shown} is unreachable: {reason}") from None
            return
        db = _sqlite_path(self.uri)
        if db is not None:
            folder = db.parent
            if not folder.is_dir():
                raise TrackingError(f"tracking store {shown}: folder {folder} does not exist")
            if not os.access(folder, os.W_OK):
                raise TrackingError(f"tracking store {shown}: folder {folder} is not writable")
            return
        if self.uri.startswith(("file:", "/")) or "://" not in self.uri:
            raise TrackingError(
                f"tracking store {shown}: MLflow 3's file store is deprecated; use a SQLite "
                "URI (sqlite:///path/mlflow.db) or an http(s) server"
            )

    def _call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # MlflowException, requests errors, sqlalchemy errors
            if type(exc).__name__ in ("MlflowException", "RestException") or isinstance(
                exc, OSError
            ):
                raise TrackingError(
                    f"MLflow store {redact_uri(self.uri)}: {what} failed: {exc}"
                ) from exc
            raise

    # ------------------------------------------------------------------ experiments
    def experiment_id(self, name: str, *, create: bool = True) -> str | None:
        """Id of experiment ``name``; created (artifacts beside a SQLite store) if missing."""
        exp = self._call("get_experiment_by_name", self.client.get_experiment_by_name, name)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                self._call("restore_experiment", self.client.restore_experiment, exp.experiment_id)
            return str(exp.experiment_id)
        if not create:
            return None
        location = None
        db = _sqlite_path(self.uri)
        if db is not None:
            location = (db.parent / "mlartifacts").resolve().as_uri()
        try:
            return str(self.client.create_experiment(name, artifact_location=location))
        except Exception:  # created concurrently by another process
            exp = self.client.get_experiment_by_name(name)
            if exp is None:
                raise
            return str(exp.experiment_id)

    def runs(self, experiment_id: str, *, only_keyed: bool = False) -> list[RunRecord]:
        """Every active (not deleted) run of the experiment, oldest first."""
        out: list[RunRecord] = []
        token = None
        while True:
            page = self._call(
                "search_runs",
                self.client.search_runs,
                experiment_ids=[experiment_id],
                max_results=1000,
                order_by=["attributes.start_time ASC"],
                page_token=token,
            )
            for run in page:
                tags = dict(run.data.tags)
                if only_keyed and KEY_TAG not in tags:
                    continue
                out.append(
                    RunRecord(
                        run_id=run.info.run_id,
                        status=run.info.status,
                        key=tags.get(KEY_TAG),
                        run_name=run.info.run_name or tags.get("mlflow.runName", ""),
                        params=dict(run.data.params),
                        metrics=dict(run.data.metrics),
                        tags=tags,
                        start_time=int(run.info.start_time or 0),
                        artifact_uri=run.info.artifact_uri,
                    )
                )
            token = page.token
            if not token:
                return out

    # ------------------------------------------------------------------ runs
    def create_run(self, experiment_id: str, run_name: str, tags: Mapping[str, str]) -> str:
        """A new RUNNING run with ``tags`` set atomically (so a key is never half-written)."""
        run = self._call(
            "create_run",
            self.client.create_run,
            experiment_id,
            run_name=run_name,
            tags={k: str(v) for k, v in tags.items()},
        )
        self._artifact_uris[run.info.run_id] = run.info.artifact_uri
        return str(run.info.run_id)

    def run_artifacts(self, run_id: str) -> Any:
        """A picklable uploader of ``run_id``'s artifacts for worker processes.

        For a run created by this tracker on a local artifact store it writes straight into
        the artifact folder, so a worker never opens the tracking database; otherwise it
        goes through this tracker (HTTP servers need no database either).
        """
        return RunArtifacts(self, run_id, self._artifact_uris.get(run_id, ""))

    def log(
        self,
        run_id: str,
        *,
        params: Mapping[str, Any] = (),  # type: ignore[assignment]
        metrics: Mapping[str, float | Sequence[tuple[int, float]]] = (),  # type: ignore[assignment]
        tags: Mapping[str, Any] = (),  # type: ignore[assignment]
    ) -> None:
        """Log params, metrics (a value, or ``[(step, value), ...]``) and tags in few requests."""
        entities = import_optional("mlflow.entities", "experiment tracking")
        now = int(time.time() * 1000)
        p = [
            entities.Param(str(k), _param_value(v))
            for k, v in dict(params).items()
            if v is not None
        ]
        m = []
        for k, v in dict(metrics).items():
            if isinstance(v, int | float):
                m.append(entities.Metric(str(k), float(v), now, 0))
            else:
                m.extend(entities.Metric(str(k), float(val), now, int(s)) for s, val in v)
        t = [entities.RunTag(str(k), str(v)[:_MAX_PARAM_VALUE]) for k, v in dict(tags).items()]
        while p or m or t:
            self._call(
                "log_batch",
                self.client.log_batch,
                run_id,
                metrics=m[:_MAX_METRICS],
                params=p[:_MAX_PARAMS],
                tags=t[:_MAX_TAGS],
            )
            p, m, t = p[_MAX_PARAMS:], m[_MAX_METRICS:], t[_MAX_TAGS:]

    def log_artifacts(self, run_id: str, folder: str | os.PathLike[str], path: str | None = None):
        """Upload every file of ``folder`` (recursively) under ``path`` in the run's artifacts."""
        if any(Path(folder).iterdir()):
            self._call("log_artifacts", self.client.log_artifacts, run_id, os.fspath(folder), path)

    def log_artifact(self, run_id: str, file: str | os.PathLike[str], path: str | None = None):
        """Upload one file under ``path`` in the run's artifacts."""
        self._call("log_artifact", self.client.log_artifact, run_id, os.fspath(file), path)

    def terminate(self, run_id: str, status: str) -> None:
        """End a run as ``FINISHED``, ``FAILED`` or ``KILLED``."""
        self._call("set_terminated", self.client.set_terminated, run_id, status)

    def download_artifacts(self, run_id: str, path: str, dst: str | os.PathLike[str]) -> Path:
        """Download artifact ``path`` of a run into folder ``dst``; return the local path."""
        return Path(
            self._call(
                "download_artifacts",
                self.client.download_artifacts,
                run_id,
                path,
                os.fspath(dst),
            )
        )

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[str]:
        """Paths of every artifact file of a run under ``path`` (recursive, POSIX, sorted)."""
        out: list[str] = []
        todo = [path]
        while todo:
            where = todo.pop()
            for info in self._call("list_artifacts", self.client.list_artifacts, run_id, where):
                (todo if info.is_dir else out).append(info.path)
        return sorted(out)


@dataclass(frozen=True)
class RunArtifacts:
    """Artifact uploads of one run (same methods as :class:`Tracker`'s, for workers)."""

    tracker: Tracker
    run_id: str
    artifact_uri: str = ""

    def _repository(self) -> Any:
        if not self.artifact_uri.startswith("file:"):
            return None
        registry = import_optional(
            "mlflow.store.artifact.artifact_repository_registry", "experiment tracking"
        )
        return registry.get_artifact_repository(self.artifact_uri)

    def _check(self, run_id: str) -> None:
        if run_id != self.run_id:
            raise TrackingError(f"uploader of run {self.run_id} asked to log into {run_id}")

    def log_artifact(self, run_id: str, file: str | os.PathLike[str], path: str | None = None):
        """Upload one file under ``path``."""
        self._check(run_id)
        repo = self._repository()
        if repo is None:
            return self.tracker.log_artifact(run_id, file, path)
        return repo.log_artifact(os.fspath(file), path)

    def log_artifacts(
        self, run_id: str, folder: str | os.PathLike[str], path: str | None = None
    ) -> None:
        """Upload every file of ``folder`` under ``path``."""
        self._check(run_id)
        if not any(Path(folder).iterdir()):
            return
        repo = self._repository()
        if repo is None:
            self.tracker.log_artifacts(run_id, folder, path)
        else:
            repo.log_artifacts(os.fspath(folder), path)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _fast_sqlite(client: Any) -> None:
    """WAL journal and ``synchronous=NORMAL`` on a SQLite store's connections.

    MLflow commits once per logging call; with SQLite's default rollback journal each commit
    syncs the disk (~20 ms here, a third of iqx's per-run overhead). In WAL mode with
    ``synchronous=NORMAL`` a commit survives a crash of the process (what resuming needs)
    and only an operating-system crash can lose the last ones. Best effort: a store whose
    engine is not reachable keeps MLflow's defaults.
    """
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    engine = getattr(store, "engine", None)
    if engine is None or getattr(engine.dialect, "name", "") != "sqlite":
        return
    import sqlalchemy

    if not sqlalchemy.event.contains(engine, "connect", _sqlite_pragmas):
        sqlalchemy.event.listen(engine, "connect", _sqlite_pragmas)
        engine.dispose()  # pooled connections reopen with the pragmas


def _param_value(value: Any) -> str:
    """A param as MLflow stores it: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = str(value)
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return text[:_MAX_PARAM_VALUE]


def iter_keys(records: Iterable[RunRecord]) -> dict[str, list[RunRecord]]:
    """Runs grouped by their key tag (oldest first)."""
    out: dict[str, list[RunRecord]] = {}
    for rec in records:
        if rec.key:
            out.setdefault(rec.key, []).append(rec)
    return out
