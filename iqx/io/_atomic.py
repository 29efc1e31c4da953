"""Atomic writes and safe output locations.

Results are built under a temporary sibling name, then renamed into place. A killed write
leaves only ``<name>.iqx-tmp-<owner>-<uuid>`` behind, never a file or folder under the final
name that looks complete. ``<owner>`` is ``<host hash>p<pid>`` of the writing process, so a
later run can tell a *stale* leftover (its process is dead) from another process's work in
progress and remove only the former (:func:`clean_stale`).

:func:`check_output_path` is the one rule for where iqx may write: paths are resolved first
(``.``/``..``/symlinks), an output never lies inside an input dataset (or its images
folder), and an existing output is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from iqx.errors import OutputExistsError, RasterWriteError, UnsafeOutputError

__all__ = [
    "TMP_MARKER",
    "atomic_dir",
    "atomic_file",
    "check_output_path",
    "check_overwrite",
    "clean_stale",
    "is_temporary",
    "is_temporary_name",
    "replace_dir",
    "tmp_sibling",
    "write_error",
]

#: infix of every temporary sibling iqx creates
TMP_MARKER = ".iqx-tmp-"


#: infix of a replaced output moved aside before deletion
OLD_MARKER = ".iqx-old-"
#: leftovers younger than this are never removed, even if their owner looks dead (seconds)
STALE_AFTER = 5.0
_OWNER = re.compile(r"\.iqx-(?:tmp|old)-([0-9a-f]{6})p(\d+)-")


#: sidecar suffixes GDAL may write next to a raster (PAM metadata, masks, overviews)
_GDAL_SIDECARS = (".aux.xml", ".aux", ".msk", ".msk.aux.xml", ".ovr", ".ovr.aux.xml")


@functools.cache
def _host_hash() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


def _owner() -> str:
    return f"{_host_hash()}p{os.getpid()}"


def tmp_sibling(path: Path) -> Path:
    """``<path>.iqx-tmp-<owner>-<uuid>`` in the same folder as ``path`` (same filesystem)."""
    return path.with_name(f"{path.name}{TMP_MARKER}{_owner()}-{uuid.uuid4().hex[:12]}")


def is_temporary(path: Path) -> bool:
    """True if ``path`` is an unfinished iqx write (a temporary sibling)."""
    return is_temporary_name(path.name)


def is_temporary_name(name: str) -> bool:
    """:func:`is_temporary` of a file name."""
    return TMP_MARKER in name or OLD_MARKER in name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def is_stale(path: Path) -> bool:
    """True if ``path`` is an iqx leftover whose writer (this host, recorded pid) is dead.

    Leftovers of other hosts, of live processes, in the old format (no owner) or younger than
    :data:`STALE_AFTER` seconds are never stale: removing them could break running work.
    """
    m = _OWNER.search(path.name)
    if m is None or m.group(1) != _owner()[:6]:
        return False
    pid = int(m.group(2))
    if pid == os.getpid() or _pid_alive(pid):
        return False
    try:
        age = time.time() - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    return age >= STALE_AFTER


def clean_stale(path: Path) -> list[Path]:
    """Remove stale leftovers ``<path>.iqx-tmp-*`` / ``<path>.iqx-old-*`` (see :func:`is_stale`).

    Returns the removed paths. Called before writing ``path``, so a run killed half-way is
    cleaned by the next run without touching concurrent writers' work.
    """
    removed = []
    parent = path.parent
    if not parent.is_dir():
        return removed
    prefixes = (f"{path.name}{TMP_MARKER}", f"{path.name}{OLD_MARKER}")
    for p in parent.iterdir():
        if p.name.startswith(prefixes) and is_stale(p):
            _remove(p)
            removed.append(p)
    return removed


def check_overwrite(path: Path, overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``overwrite`` is false."""
    if not overwrite and path.exists():
        raise OutputExistsError(f"{path}: already exists (pass overwrite=True to replace it)")


def check_output_path(
    output: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
    *,
    overwrite: bool | None = None,
    what: str = "output",
) -> Path:
    """The resolved ``output``, after checking that writing there harms no input.

    Parameters
    ----------
    output : path-like
        Where a command will write (file or folder); resolved (``.``, ``..``, symlinks).
    inputs : iterable of path-like
        Input datasets, folders or files. The output may be none of them and lie inside none
        of them (a dataset folder, its images folder, an input file).
    overwrite : bool or None
        False: an existing ``output`` raises :class:`OutputExistsError`; True: allowed;
        None: not checked here (the caller decides, e.g. an idempotent re-run).
    what : str
        Name of the output in messages (``"output folder"``, ``"modified dataset"`` ...).

    Raises
    ------
    UnsafeOutputError
        ``output`` is an input or lies inside one.
    OutputExistsError
        ``output`` exists and ``overwrite`` is False.
    """
    out = Path(output).expanduser().resolve()
    for item in inputs:
        src = Path(item).expanduser().resolve()
        if out == src or src in out.parents:
            where = "is" if out == src else "lies inside"
            raise UnsafeOutputError(
                f"{out}: the {what} {where} the input {src}; iqx never writes inside an "
                "input, choose another location"
            )
    if overwrite is False and (out.exists() or out.is_symlink()):
        raise OutputExistsError(
            f"{out}: the {what} already exists (pass overwrite=True to replace it)"
        )
    return out


def write_error(path: str | os.PathLike[str], exc: BaseException, what: str = "write") -> OSError:
    """A :class:`RasterWriteError` naming the *destination* ``path`` for a failed write.

    The cause's errno (ENOSPC, EROFS ...) is kept, its text added; temporary names of the
    atomic write never reach the user.
    """
    code = getattr(exc, "errno", None)
    reason = os.strerror(code) if isinstance(code, int) and code else str(exc)
    err = RasterWriteError(f"{os.fspath(path)}: cannot {what} ({reason})")
    err.errno = code if isinstance(code, int) else errno.EIO  # (no .filename: keeps str())
    return err


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    gdal_sidecars: bool = True,
    in_place: bool = False,
) -> Iterator[Path]:
    """Yield a temporary sibling path to write; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched.
    ``gdal_sidecars=False`` says no GDAL writer touches the file, so the sidecars it may
    leave (``<tmp>.aux.xml`` ...) need not be looked for (six ``lstat`` per file saved).

    ``in_place=True`` yields ``path`` itself (removed again if the write fails): for files
    of a folder that is being built under a temporary name and renamed when complete (a
    dataset copy), where that rename is the atomic step and a rename per file is a second
    metadata operation per image for nothing.
    """
    path = Path(path)
    check_overwrite(path, overwrite)
    if in_place:
        # the folder being built must exist: never re-create one its builder has abandoned
        if not os.path.isdir(path.parent):
            raise FileNotFoundError(errno.ENOENT, "the output folder is gone", str(path.parent))
        try:
            yield path
        except BaseException:
            _remove(path)
            raise
        return
    if not os.path.isdir(path.parent):  # one stat (mkdir(exist_ok=True) raises inside)
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    finally:
        # GDAL may leave sidecars such as ``<tmp>.aux.xml``: never let them outlive the write
        # (checked by name: listing the folder per file would cost O(files) per write)
        if gdal_sidecars:
            base = os.fspath(tmp)
            for suffix in _GDAL_SIDECARS:
                if os.path.lexists(base + suffix):
                    _remove(Path(base + suffix))


def replace_dir(tmp: Path, path: Path, *, overwrite: bool) -> None:
    """Rename the finished folder ``tmp`` onto ``path`` (moving an old ``path`` aside first)."""
    if path.exists():
        if not overwrite:
            raise OutputExistsError(f"{path}: already exists (pass overwrite=True to replace it)")
        old = path.with_name(f"{path.name}{OLD_MARKER}{_owner()}-{uuid.uuid4().hex[:12]}")
        os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old, path)
            raise
        _remove(old)
    else:
        os.rename(tmp, path)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty temporary sibling folder; rename it onto ``path`` on success.

    With ``overwrite=True`` an existing ``path`` is moved aside, replaced, then deleted, so
    readers never see a half-written folder under the final name.
    """
    path = Path(path)
    check_overwrite(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_sibling(path)
    tmp.mkdir()
    try:
        yield tmp
        replace_dir(tmp, path, overwrite=overwrite)
    except BaseException:
        _remove(tmp)
        raise
