"""Assert that building a dask graph computes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dask

__all__ = ["raise_if_dask_computes"]


class _CountingScheduler:
    def __init__(self, max_computes: int) -> None:
        self.max_computes = max_computes
        self.total_computes = 0

    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        self.total_computes += 1
        if self.total_computes > self.max_computes:
            raise RuntimeError(
                f"Too many dask computations: {self.total_computes} > {self.max_computes} allowed"
            )
        return dask.get(dsk, keys, **kwargs)


@contextmanager
def raise_if_dask_computes(max_computes: int = 0) -> Iterator[_CountingScheduler]:
    """Raise ``RuntimeError`` if more than ``max_computes`` dask computations happen inside.

    Examples
    --------
    >>> import dask.array as da
    >>> x = da.ones(10, chunks=5)
    >>> with raise_if_dask_computes():
    ...     y = x + 1  # building a graph is fine
    """
    scheduler = _CountingScheduler(max_computes)
    with dask.config.set(scheduler=scheduler):
        yield scheduler
