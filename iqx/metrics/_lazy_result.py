"""A deferred metric result that shows its values when printed.

``sharpness(scene, compute=False)`` used to return a bare ``dask.delayed.Delayed``, whose
repr is a task key (``Delayed('iqx-reduce-75a6...')``): nothing a user can read.
:class:`LazyResult` wraps the deferred value: ``.compute()`` and ``dask.compute(...)`` work
as before (it forwards the dask collection protocol, so it is itself a dask collection),
and its repr computes the value once (cached) and prints it, so a notebook cell shows the
numbers. The module imports no dask: it only forwards to the wrapped object.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LazyResult"]

_PROTOCOL = (
    "__dask_graph__",
    "__dask_keys__",
    "__dask_layers__",
    "__dask_optimize__",
    "__dask_scheduler__",
    "__dask_postcompute__",
    "__dask_postpersist__",
    "__dask_tokenize__",
)


class LazyResult:
    """A deferred metric result: ``compute()`` gives it; ``repr`` computes and shows it.

    Parameters
    ----------
    delayed : dask.delayed.Delayed
        The deferred value.
    label : str
        What it is (``"sharpness"``), for the repr.
    """

    def __init__(self, delayed: Any, label: str) -> None:
        self._delayed = delayed
        self._label = label
        self._value: Any = None
        self._done = False

    @property
    def delayed(self) -> Any:
        """The wrapped ``dask.delayed.Delayed``."""
        return self._delayed

    def compute(self, **kwargs: Any) -> Any:
        """Compute the value (cached after the first call without arguments)."""
        if kwargs:
            return self._delayed.compute(**kwargs)
        if not self._done:
            self._value = self._delayed.compute()
            self._done = True
        return self._value

    def __getattr__(self, name: str) -> Any:
        if name in _PROTOCOL:
            return getattr(self._delayed, name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"<lazy {self._label} result, computed for display>\n{self.compute()!r}"
