"""Atomic writes: build the result under a temporary sibling name, then rename it into place.

A killed write leaves only ``<name>.iqx-tmp-<uuid>`` behind, never a file or folder under the
final name that looks complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from iqx.errors import InvalidParameterError

__all__ = [
    "TMP_MARKER",
    "atomic_dir",
    "atomic_file",
    "check_overwrite",
    "is_temporary",
    "replace_dir",
    "tmp_sibling",
]

#: infix of every temporary sibling iqx creates
TMP_MARKER = ".iqx-tmp-"


def tmp_sibling(path: Path) -> Path:
    """``<path>.iqx-tmp-<uuid>`` in the same folder as ``path`` (same filesystem)."""
    return path.with_name(f"{path.name}{TMP_MARKER}{uuid.uuid4().hex[:12]}")


def is_temporary(path: Path) -> bool:
    """True if ``path`` is an unfinished iqx write (a temporary sibling)."""
    return TMP_MARKER in path.name or ".iqx-old-" in path.name


def check_overwrite(path: Path, overwrite: bool) -> None:
    """Raise :class:`InvalidParameterError` if ``path`` exists and ``overwrite`` is false."""
    if path.exists() and not overwrite:
        raise InvalidParameterError(f"{path}: already exists (pass overwrite=True to replace it)")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling path to write; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    check_overwrite(path, overwrite)
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
        for side in path.parent.glob(f"{tmp.name}.*"):
            _remove(side)


def replace_dir(tmp: Path, path: Path, *, overwrite: bool) -> None:
    """Rename the finished folder ``tmp`` onto ``path`` (moving an old ``path`` aside first)."""
    if path.exists():
        if not overwrite:
            raise InvalidParameterError(
                f"{path}: already exists (pass overwrite=True to replace it)"
            )
        old = path.with_name(f"{path.name}.iqx-old-{uuid.uuid4().hex[:12]}")
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
