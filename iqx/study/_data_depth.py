"""``[data] bit_depth`` of ``STUDY.toml``: the sensor's declared bits per sample, validated.

Split from :mod:`iqx.study.config` (the one place that parses the file) because it is the
only check that reads image headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["study_bit_depth"]

#: widest sample a declared bit depth may describe (uint32)
_MAX_BITS = 32


def study_bit_depth(
    c: Any, data: Mapping[str, Any], paths: Mapping[str, Path | None]
) -> int | None:
    """``[data] bit_depth``: an integer in 1..32, at most the width of the images' dtype
    (read from the header of each dataset's first image when its folder exists).

    Problems are reported through ``c.bad(keypath, message)`` (the config checker, which
    collects every problem with its line); the value, or None when absent or invalid.
    """
    if "bit_depth" not in data:
        return None
    value = data["bit_depth"]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_BITS:
        c.bad(
            ("data", "bit_depth"),
            f"must be an integer number of bits in 1..{_MAX_BITS} (the sensor's bits per "
            f"sample, e.g. 11), got {value!r}",
        )
        return None
    for role, folder in paths.items():
        found = _first_image_dtype(folder)
        if found is None:
            continue
        image, dtype = found
        width = dtype.itemsize * 8
        if dtype.kind in "ui" and value > width:
            c.bad(
                ("data", "bit_depth"),
                f"{value} bits do not fit the {dtype} samples of {image} ([data] {role}: "
                f"at most {width})",
            )
            return None
    return value


def _first_image_dtype(folder: Path | None):
    """``(path, dtype)`` of a dataset's first image (its header only), or None."""
    if folder is None or not folder.is_dir():
        return None
    from iqx.datasets import open_dataset
    from iqx.errors import IqxError
    from iqx.io import open_scene

    try:
        ds = open_dataset(folder)
        if not ds.image_files:
            return None
        path = ds.image_files[0]
        return path, open_scene(path).dtype
    except (IqxError, OSError):  # a broken dataset is reported when it is used
        return None
