"""Run docs pages and examples in fresh processes forked from one warmed-up interpreter.

A fresh interpreter per page pays the imports of xarray, dask, numba, matplotlib and mlflow
(~5-10 s of CPU) again for every page. The server (``python -m tests.docs_forkserver``) imports
them once, never runs any page code itself, and forks one child per page or example:

* the child starts from the server's pristine state, so a page never sees another page's
  variables, registered operations, ``os.environ`` changes, MLflow tracking URI or open
  clients; it runs in its own working folder (``os.chdir``), its own session (``os.setsid``:
  a timeout kills its whole process group), with stdin from ``/dev/null`` and stdout/stderr to
  files, and exits like an interpreter does (non-daemon threads joined, ``atexit`` handlers
  run, streams flushed);
* what is shared is only what a fresh interpreter would load identically: the preloaded
  modules (:data:`PRELOAD`), which a page that needs them imports as usual. numba kernels
  are not preloaded: loading cached overloads behind the dispatchers' backs (tried) left
  callers compiled later unable to call them on a cold cache ("No definition for lowering"),
  so every page loads or compiles its kernels as a fresh interpreter does. NumPy's legacy
  global RNG is reseeded from the OS in every child, as a fresh interpreter's is (Python's
  :mod:`random` reseeds itself after a fork).

Protocol: one JSON request per line on the server's stdin, ``{"cwd", "stdout", "stderr",
"page": spec.json}`` or ``{..., "script": path}``; the server answers ``{"pid": ...}`` once the
child runs and ``{"rc": ...}`` (the exit status, ``-signal`` if killed) when it is done.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

# What the pages and examples import and a fresh interpreter would spend most of its start-up
# on; each one is imported by the pages that use it anyway (a missing one is skipped).
PRELOAD = (
    "numpy",
    "scipy.stats",
    "pandas",
    "xarray",
    "dask.array",
    "dask.bag",
    "distributed",
    "numba",
    "rasterio",
    "pyproj",
    "shapely",
    "imagecodecs",
    "PIL.Image",
    "matplotlib.pyplot",
    "matplotlib.backends.backend_agg",
    "mlflow",
    "mlflow.store.tracking.sqlalchemy_store",
    "alembic.command",
    "iqx",
    "iqx.io",
    "iqx.metrics",
    "iqx.modifiers",
    "iqx.datasets",
    "iqx.experiment",
    "iqx.annotations",
    "iqx.study",
    "iqx.cli.main",
    "tests.docs_harness",
)


class ForkServerError(RuntimeError):
    """The fork server died or answered something unexpected."""


# -- the server side ---------------------------------------------------------------------------


def _preload() -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # the page that needs it imports it and fails there, naming itself
            pass
        _check_no_threads(f"importing {name}")


def _check_no_threads(what: str) -> None:
    """Forking a process that runs threads is unsafe: refuse rather than hang a page."""
    import threading

    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if threading.active_count() > 1 or getattr(parallel, "_is_initialized", False):
        raise ForkServerError(
            f"{what} started threads ({threading.enumerate()}, numba threading layer: "
            f"{getattr(parallel, '_is_initialized', False)}): the docs fork server cannot fork"
        )


def _child(req: dict, proto_fds: tuple[int, ...]) -> int:
    """Run one request in the forked child; return its exit status."""
    os.setsid()
    for fd in proto_fds:
        os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for target, path in ((1, req["stdout"]), (2, req["stderr"])):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(req["cwd"])
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # a fresh interpreter's global RNG state
    if "page" in req:
        from tests.docs_harness import _drive

        sys.argv = [str(Path(__file__).with_name("docs_harness.py")), req["page"]]
        sys.path[0] = os.getcwd()  # as `python -m tests.docs_harness` started there does
        return _drive(req["page"])
    import runpy

    script = req["script"]
    sys.argv = [script]
    sys.path[0] = os.path.dirname(os.path.abspath(script))  # as `python script.py` does
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _finish_child(rc: int) -> None:
    """Exit the child as an interpreter would: join threads, run atexit, flush, then leave."""
    import threading

    try:
        threading._shutdown()  # wait for non-daemon threads (what Py_Finalize does first)
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
        rc = rc or 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(rc)


def serve() -> None:
    """Preload, then fork one child per request line read from stdin."""
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    os.dup2(2, 1)  # a stray print during preload must not corrupt the protocol
    _preload()
    os.write(proto_out, b'{"ready": true}\n')
    with os.fdopen(proto_in, "rb", buffering=0) as requests:
        for line in iter(requests.readline, b""):
            req = json.loads(line)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                rc = 1
                try:
                    rc = _child(req, (proto_in, proto_out))
                except BaseException:
                    traceback.print_exc()
                _finish_child(rc)
            os.write(proto_out, json.dumps({"pid": pid}).encode() + b"\n")
            _, status = os.waitpid(pid, 0)
            rc = os.waitstatus_to_exitcode(status)
            os.write(proto_out, json.dumps({"rc": rc}).encode() + b"\n")


# -- the client side (the test process) --------------------------------------------------------


class ForkServer:
    """A running server; :meth:`run` executes one request like :func:`subprocess.run`.

    Parameters
    ----------
    env
        The environment of the server and so of every child (its ``PYTHONPATH`` must hold the
        repository, for ``tests.docs_forkserver``).
    logdir
        Where the server's own stderr and the children's outputs are written.
    """

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self._log = self.logdir / "server.stderr"
        self._n = 0
        with open(self._log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.docs_forkserver"],
                cwd=self.logdir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        self._ready = False

    def _read(self, timeout: float | None) -> dict | None:
        """The next answer line, or None when ``timeout`` passes first."""
        out = self.proc.stdout
        if timeout is not None:
            ready, _, _ = select.select([out], [], [], max(timeout, 0.0))
            if not ready:
                return None
        line = out.readline()
        if not line:
            self.proc.wait(timeout=30)
            tail = self._log.read_text(errors="replace")[-4000:]
            raise ForkServerError(
                f"the docs fork server exited with {self.proc.returncode}:\n{tail}"
            )
        return json.loads(line)

    def run(
        self, args: list[str], *, cwd: Path, timeout: float, **what: str
    ) -> subprocess.CompletedProcess:
        """Run ``page=spec.json`` or ``script=path`` in a forked child inside ``cwd``.

        ``args`` is only what the result reports as the command. Raises
        :class:`subprocess.TimeoutExpired` (after killing the child's process group) like
        :func:`subprocess.run`.
        """
        if not self._ready:
            ready = self._read(None)
            if ready != {"ready": True}:
                raise ForkServerError(f"unexpected first answer {ready!r}")
            self._ready = True
        self._n += 1
        out = self.logdir / f"{self._n}.stdout"
        err = self.logdir / f"{self._n}.stderr"
        req = {"cwd": str(cwd), "stdout": str(out), "stderr": str(err), **what}
        self.proc.stdin.write(json.dumps(req).encode() + b"\n")
        self.proc.stdin.flush()
        pid = self._read(None)["pid"]
        deadline = time.monotonic() + timeout
        answer = self._read(deadline - time.monotonic())
        if answer is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._read(None)
            raise subprocess.TimeoutExpired(args, timeout, _text(out), _text(err))
        return subprocess.CompletedProcess(args, answer["rc"], _text(out), _text(err))

    def close(self) -> None:
        """Stop the server (it exits when its stdin closes)."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


if __name__ == "__main__":
    serve()
