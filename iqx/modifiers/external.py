"""Modifiers that run an external program per image (IQUAFLOW's super-resolution pattern).

``ExternalModifier(command=["python", "sr.py", "--in", "{input}", "--out", "{output}"])``
runs the command once per image. On a dataset (:func:`iqx.modify`) the program reads the
source file and writes the destination file itself, so it may change the grid (e.g. a
super-resolution model). On an in-memory scene the image is written to a temporary file
(``.npy`` by default, or PNG/TIFF via Pillow), the program runs, and its output is read
back; the output must then have the input's shape.

The program runs in its own process group with a timeout (:data:`DEFAULT_TIMEOUT` seconds
unless ``timeout=`` says otherwise). On a timeout, an error or an interrupt of iqx the whole
group is killed, and on Linux the program also receives SIGKILL if the iqx thread that
started it dies (``PR_SET_PDEATHSIG``), so a hung or orphaned program never outlives iqx.
Output that cannot be decoded is an :class:`ExternalCommandError`, never data.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError, IqxError
from iqx.modifiers._base import Modifier, check_choice
from iqx.parallel import map_blocks_xr
from iqx.registry import register_modifier

__all__ = ["ExternalCommandError", "ExternalModifier", "external"]

_FORMATS = ("npy", "png", "tif")
#: seconds an external program may run on one image when ``timeout`` is not given
DEFAULT_TIMEOUT = 3600.0
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - no usable libc
        return None


_PRCTL = _load_prctl()  # loaded before any fork: the child only calls it


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.communicate(timeout=5)


class ExternalCommandError(IqxError, RuntimeError):
    """The external program failed (non-zero exit, timeout or missing output)."""


def _write(array: np.ndarray, path: Path, fmt: str) -> None:
    if fmt == "npy":
        np.save(path, array)
        return
    from PIL import Image

    img = array[0] if array.shape[0] == 1 else np.moveaxis(array, 0, -1)
    Image.fromarray(np.ascontiguousarray(img)).save(path)


def _read(path: Path, fmt: str) -> np.ndarray:
    if fmt == "npy":
        arr = np.load(path)
    else:
        from PIL import Image

        with Image.open(path) as im:
            arr = np.asarray(im)
        arr = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    return arr if arr.ndim == 3 else arr[None]


def run_command(
    command: list[str], src: Path, dst: Path, *, timeout: float | None, env: dict | None
) -> None:
    """Run ``command`` with ``{input}``/``{output}`` replaced; raise on any failure."""
    args = [str(a).replace("{input}", str(src)).replace("{output}", str(dst)) for a in command]
    full_env = None if not env else {**os.environ, **{k: str(v) for k, v in env.items()}}
    limit = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=full_env,
            start_new_session=True,  # its own process group: killed as a whole
            preexec_fn=_die_with_parent if _PRCTL is not None else None,
        )
    except OSError as exc:
        raise ExternalCommandError(f"external command {shlex.join(args)} failed: {exc}") from exc
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ExternalCommandError(
            f"external command {shlex.join(args)} timed out after {limit:g} s and was killed "
            "(set timeout= to allow more)"
        ) from None
    except BaseException:  # interrupted: never leave the program running
        _kill_group(proc)
        raise
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # grandchildren left behind in its group
    if proc.returncode != 0:
        tail = (stderr or stdout or "").strip()[-500:]
        raise ExternalCommandError(
            f"external command {shlex.join(args)} exited with status {proc.returncode}: {tail}"
        )
    if not dst.exists():
        raise ExternalCommandError(f"external command {shlex.join(args)} did not write {dst}")
    if dst.is_file() and dst.stat().st_size == 0:
        raise ExternalCommandError(f"external command {shlex.join(args)} wrote an empty {dst}")


def _external_block(
    block: np.ndarray, *, command: list[str], fmt: str, timeout: float | None, env: dict | None
) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="iqx-ext-") as tmp:
        src = Path(tmp) / f"input.{fmt}"
        dst = Path(tmp) / f"output.{fmt}"
        _write(block, src, fmt)
        run_command(command, src, dst, timeout=timeout, env=env)
        try:
            out = _read(dst, fmt)
        except Exception as exc:  # numpy / Pillow raise many kinds on garbage
            raise ExternalCommandError(
                f"external command {command[0]!r} wrote an unreadable {fmt} file "
                f"({type(exc).__name__}: {exc})"
            ) from exc
    if out.shape != block.shape:
        raise ExternalCommandError(
            f"external command changed the shape {block.shape} -> {out.shape}; grid-changing "
            "programs can only run on datasets (iqx.modify)"
        )
    return out.astype(block.dtype, copy=False)


@register_modifier(
    "external",
    summary="Run an external program per image ({input} -> {output}), e.g. super-resolution.",
    chunk_invariant=False,
    references=("IQUAFLOW DSModifier_sr",),
)
class ExternalModifier(Modifier):
    """Run ``command`` once per image (see module doc and :func:`external`).

    Parameters
    ----------
    command : list of str
        Program and arguments; ``{input}`` and ``{output}`` are replaced by file paths.
    name : str, optional
        Folder-name token (default ``external_<8 hex of the command's hash>``).
    format : {"npy", "png", "tif"}
        Temporary file format for in-memory scenes (datasets use the files' own format).
    timeout : float, optional
        Seconds before the program (and its process group) is killed; default
        :data:`DEFAULT_TIMEOUT`.
    env : dict, optional
        Extra environment variables.
    changes_grid : bool
        Declare that the program changes the image size (datasets only; annotations are
        then copied unchanged - scale them yourself).
    """

    id = "external"
    short = "external"

    def __init__(
        self,
        command: list[str] | str = (),
        name: str | None = None,
        format: str = "npy",
        timeout: float | None = None,
        env: dict[str, str] | None = None,
        changes_grid: bool = False,
    ) -> None:
        if isinstance(command, str):
            command = shlex.split(command)
        command = [str(c) for c in command]
        if not command:
            raise InvalidParameterError("external: command must be a non-empty list")
        if not any("{input}" in c for c in command) or not any("{output}" in c for c in command):
            raise InvalidParameterError(
                f"external: command must contain '{{input}}' and '{{output}}', got {command!r}"
            )
        check_choice("external", "format", format, _FORMATS)
        if (
            name is not None
            and not str(name).replace("_", "").replace("-", "").replace(".", "").isalnum()
        ):
            raise InvalidParameterError(
                f"external: name must be letters, digits, '_', '-', '.', got {name!r}"
            )
        if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
            raise InvalidParameterError(f"external: timeout must be > 0, got {timeout!r}")
        super().__init__(
            command=command,
            name=name,
            format=format,
            timeout=timeout,
            env=dict(env) if env else None,
            changes_grid=bool(changes_grid),
        )

    @property
    def changes_grid(self) -> bool:  # type: ignore[override]
        return bool(self._params["changes_grid"])

    @property
    def folder_name(self) -> str:
        if self._params["name"]:
            return str(self._params["name"])
        digest = hashlib.sha256(json.dumps(self._params["command"]).encode()).hexdigest()[:8]
        return f"external_{digest}"

    def run_file(self, src: Path, dst: Path) -> None:
        """Run the program on one file (``{input}=src``, ``{output}=dst``)."""
        run_command(
            self._params["command"],
            Path(src),
            Path(dst),
            timeout=self._params["timeout"],
            env=self._params["env"],
        )

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        if self.changes_grid:
            raise InvalidParameterError(
                "external: a grid-changing program runs on datasets only (iqx.modify)"
            )
        whole = image.chunk({"y": -1, "x": -1}) if image.chunks else image
        return map_blocks_xr(
            _external_block,
            whole,
            kwargs={
                "command": self._params["command"],
                "fmt": self._params["format"],
                "timeout": self._params["timeout"],
                "env": self._params["env"],
            },
        )


def external(
    image: Any = None,
    /,
    *,
    command: list[str] | str = (),
    name: str | None = None,
    format: str = "npy",
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    changes_grid: bool = False,
) -> Any:
    """Run an external program per image; see :class:`ExternalModifier`."""
    mod = ExternalModifier(
        command=command,
        name=name,
        format=format,
        timeout=timeout,
        env=env,
        changes_grid=changes_grid,
    )
    return mod if image is None else mod(image)
