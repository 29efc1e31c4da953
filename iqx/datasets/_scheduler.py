"""Where dataset-level work runs: one ``scheduler=`` rule for every dataset function.

Every dataset path (:func:`iqx.modify`, :func:`iqx.datasets.measure.measure_images`,
:func:`iqx.datasets.compare.compare_datasets`, :func:`iqx.datasets.cube.measure_cube`) and
the CLI's ``--scheduler`` take the values of :class:`iqx.experiment.ExperimentSetup`'s
``scheduler``, plus ``"threads"`` and ``"processes"`` (which only dataset work can use):

``None``
    The active ``dask.distributed`` client if one is (``Client(...)`` made it the default, or
    ``client.as_current()``), else this machine's cores.
``"threads"`` or ``"processes"``
    This machine's cores, in threads or in worker processes (a pool kept for the life of
    the interpreter, :mod:`iqx.io._process_pool`), for :func:`iqx.modify` and the cube
    functions (``measure_images`` always measures in its own local processes and
    ``compare_datasets`` in threads; either value keeps them on this machine). By default :func:`iqx.modify` runs in
    threads, except on many small images (files of at most 64 KiB), where the Python around
    each image holds the GIL and processes are faster, when starting them pays.
``"tcp://host:8786"`` (any scheduler address)
    A client connected to that scheduler for the duration of the call, closed afterwards.
a ``distributed.Client`` (or a ``LocalCluster``)
    That client (a client of that cluster), current for the duration of the call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from iqx.errors import InvalidParameterError, IqxError
from iqx.io._sched import LOCAL_MODES, active_client, local_mode

__all__ = ["SchedulerError", "use_scheduler"]

#: seconds to wait for a scheduler address to answer
CONNECT_TIMEOUT = 10


class SchedulerError(IqxError, ConnectionError):
    """A scheduler address that does not answer (or is not one)."""


def _connect(address: str) -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise InvalidParameterError(
            f"scheduler {address!r}: dask.distributed is not installed"
        ) from exc
    try:
        return distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(
            f"{address}: no dask scheduler answered within {CONNECT_TIMEOUT} s "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
        ) from exc


@contextlib.contextmanager
def use_scheduler(scheduler: Any = None) -> Iterator[Any]:
    """Make ``scheduler`` the one dataset work runs on inside the block; yield its client.

    Parameters
    ----------
    scheduler : None, str, distributed.Client or distributed.LocalCluster
        See the module. A string is ``"threads"``, ``"processes"`` or a scheduler address
        (``tcp://...``, ``tls://...``, ``inproc://...`` or ``host:port``).

    Yields
    ------
    distributed.Client or None
        The client the work goes to (None: this machine's cores).

    Raises
    ------
    SchedulerError
        An address no scheduler answers at.
    InvalidParameterError
        Anything else than the values above.
    """
    if scheduler is None:
        yield active_client()
        return
    if isinstance(scheduler, str) and scheduler.strip() in LOCAL_MODES:
        with local_mode(scheduler.strip()):
            yield None
        return
    if isinstance(scheduler, str):
        if not scheduler.strip():
            raise InvalidParameterError("scheduler: empty address")
        client = _connect(scheduler.strip())
        try:
            with client.as_current():
                yield client
        finally:
            client.close()
        return
    if hasattr(scheduler, "scheduler_address") and not hasattr(scheduler, "submit"):
        # a cluster object (LocalCluster, ...): a client of it for the block
        with use_scheduler(str(scheduler.scheduler_address)) as client:
            yield client
        return
    if hasattr(scheduler, "as_current") and hasattr(scheduler, "submit"):
        with scheduler.as_current():
            yield scheduler
        return
    raise InvalidParameterError(
        "scheduler must be None, 'threads', 'processes', a scheduler address "
        f"('tcp://host:8786'), a distributed.Client or a cluster, got {type(scheduler).__name__}"
    )
