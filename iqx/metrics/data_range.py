"""The ``L`` (``data_range``) of PSNR and SSIM, from the bit-depth rule of :mod:`iqx.bitdepth`.

One range for both images of a comparison: an explicit ``data_range`` (or ``bit_depth``)
wins; else the depth declared by either image (user, then metadata); else the effective
depth measured on both images together (the maximum of the two, so
``psnr(a_u8, b_u16) == psnr(b_u16, a_u8)``); else the wider dtype. ``L = 2**bits - 1``
(for signed integers this is the dtype's ``max - min``). Floating-point images need an
explicit value. A range below the data's largest value warns
(:class:`~iqx.bitdepth.DataRangeWarning`) whenever that maximum is known without an extra
pass (NumPy data, or a scene whose maximum was measured already).
"""

from __future__ import annotations

import math
from typing import Any

from iqx.bitdepth import cached_max, check_data_range, pair_bit_depth
from iqx.errors import InvalidParameterError

__all__ = ["data_range_and_source", "resolve_data_range"]


def _known_max(scenes: list[Any]) -> float | None:
    tops = []
    for s in scenes:
        if not hasattr(s, "attrs"):
            continue
        top = cached_max(s)
        if top is None:
            return None
        tops.append(top)
    return max(tops) if tops else None


def data_range_and_source(
    reference: Any,
    test: Any = None,
    data_range: float | None = None,
    *,
    bit_depth: int | None = None,
) -> tuple[float, str]:
    """``(L, source)`` of PSNR/SSIM for the pair; ``source`` as in :data:`iqx.bitdepth.SOURCES`.

    Parameters
    ----------
    reference, test : DataArray
        The images (``(band, y, x)`` scenes).
    data_range : float, optional
        Explicit ``L`` (> 0); wins over everything (source ``"user"``).
    bit_depth : int, optional
        Explicit depth: ``L = 2**bit_depth - 1`` (source ``"user"``).

    Raises
    ------
    InvalidParameterError
        ``data_range`` not positive and finite, or a floating-point image without an
        explicit ``data_range``/``bit_depth`` (nor a declared ``bit_depth`` attribute).
    """
    scenes = [s for s in (reference, test) if s is not None]
    if data_range is not None:
        value = float(data_range)
        if not (value > 0 and math.isfinite(value)):
            raise InvalidParameterError(f"data_range must be a finite number > 0, got {data_range}")
        check_data_range(value, _known_max(scenes), source="data_range=")
        return value, "user"
    depth = pair_bit_depth(*scenes, bit_depth=bit_depth) if len(scenes) == 2 else None
    if depth is None:
        from iqx.bitdepth import resolve_bit_depth

        depth = resolve_bit_depth(scenes[0], bit_depth)
    if depth.bits is None:
        raise InvalidParameterError(
            "data_range is required for floating-point images (got dtypes "
            f"{', '.join(str(s.dtype) for s in scenes)}); pass data_range= explicitly, e.g. "
            "1.0 for reflectance in [0, 1], or bit_depth= (2**bits - 1) for scaled counts"
        )
    value = float(depth.data_range)
    top = depth.max_value if depth.max_value is not None else _known_max(scenes)
    check_data_range(value, top, source=f"a {depth.bits}-bit depth ({depth.source})")
    return value, depth.source


def resolve_data_range(reference: Any, test: Any = None, data_range: float | None = None) -> float:
    """The ``L`` of PSNR/SSIM (see :func:`data_range_and_source`)."""
    return data_range_and_source(reference, test, data_range)[0]
