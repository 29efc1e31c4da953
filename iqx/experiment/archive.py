"""Safe extraction of a training job's ``output.tar.gz`` into a run's output folder.

A job's archive is untrusted input (the training script wrote it): every member is checked
before anything is written, and only plain files and folders inside the target are accepted.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from iqx.errors import TaskFailedError

__all__ = ["safe_extract"]


def _refuse(member: tarfile.TarInfo, why: str) -> TaskFailedError:
    return TaskFailedError(f"output.tar.gz: member {member.name!r} refused: {why}")


def safe_extract(archive: str | os.PathLike[str], target: str | os.PathLike[str]) -> list[str]:
    """Extract the tar ``archive`` into ``target``, refusing anything but plain files and folders
    inside it.

    Every member is checked before anything is written: absolute names, names that leave
    ``target`` or hold ``..`` at all, symbolic and hard links, character and block devices and FIFOs make
    the whole archive refused.

    Returns
    -------
    list of str
        The extracted files' names, relative to ``target``.

    Raises
    ------
    TaskFailedError
        The archive is unreadable or holds a refused member (named in the message).
    """
    root = Path(target).resolve()
    root.mkdir(parents=True, exist_ok=True)
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise TaskFailedError(f"output.tar.gz is not a readable tar archive: {exc}") from None
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise TaskFailedError(f"output.tar.gz is corrupt: {exc}") from None
        files = []
        for m in members:
            name = m.name.replace("\\", "/")
            if name.startswith("/") or PurePosixPath(name).is_absolute() or name[1:3] == ":/":
                raise _refuse(m, "absolute path")
            dest = os.path.normpath(root / name)
            if dest != str(root) and not dest.startswith(str(root) + os.sep):
                raise _refuse(m, "it would be written outside the output folder")
            if ".." in PurePosixPath(name).parts:
                raise _refuse(m, "'..' in its path")
            if m.issym():
                raise _refuse(m, f"symbolic link (to {m.linkname!r})")
            if m.islnk():
                raise _refuse(m, f"hard link (to {m.linkname!r})")
            if m.ischr() or m.isblk():
                raise _refuse(m, "device file")
            if m.isfifo():
                raise _refuse(m, "FIFO")
            if not (m.isfile() or m.isdir()):
                raise _refuse(m, "not a regular file or folder")
            if m.isfile():
                files.append(os.path.relpath(dest, root))
        kwargs: dict[str, Any] = {}
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: the stdlib check too
            kwargs["filter"] = "data"
        try:
            tar.extractall(root, members=members, **kwargs)
        except (tarfile.TarError, OSError) as exc:
            raise TaskFailedError(f"extracting output.tar.gz failed: {exc}") from None
    return files
