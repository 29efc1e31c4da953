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
    the interpreter, :mod:`iqx.io._process_pool`), for :func:`iqx.modify`,
    ``compare_datasets`` on small files and the cube functions (``measure_images`` always
    measures in local processes, and ``compare_datasets`` compares larger images in threads;
    either value keeps them on this machine). By default they run in threads, except on many
    small images (files of at most 64 KiB), where the Python around each image holds the GIL
    and processes are faster, when starting them pays (:func:`map_batches`).
``"tcp://host:8786"`` (any scheduler address)
    A client connected to that scheduler for the duration of the call, closed afterwards.
a ``distributed.Client`` (or a ``LocalCluster``)
    That client (a client of that cluster), current for the duration of the call.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from iqx.errors import InvalidParameterError, IqxError
from iqx.io._sched import LOCAL_MODES, active_client, auto_batch_size, compute_kwargs, local_mode

__all__ = [
    "SchedulerError",
    "map_batches",
    "references_main",
    "FileSizes",
    "file_sizes",
    "small_file_count",
    "use_scheduler",
]

T = TypeVar("T")
R = TypeVar("R")

#: files whose sizes decide whether a dataset's images are small (spread over the list)
_SIZE_SAMPLE = 64

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


@dataclass(frozen=True)
class FileSizes:
    """How small a list of image files is (:func:`file_sizes`).

    Attributes
    ----------
    small_files : int
        ``len(paths)`` when the images are small, else 0 (the ``small_files`` of
        :func:`map_batches`).
    tiny : bool
        The files are tiny (the ``tiny`` of :func:`map_batches`).
    """

    small_files: int = 0
    tiny: bool = False


#: files at most this large are "tiny": one thread is faster than two on them (measured on
#: tmpfs, 28×28 PNGs of ~0.7 KB: comparing 2 000 pairs took 1.9-2.4 s in the calling thread
#: against 3.2-3.4 s in two threads, JPEG q70 0.57-0.68 s against 0.70-0.86 s; equal at
#: 48×48, 1.8 KB; threads 1.7-2× faster on 128×128 RGB, 40 KB)
FILE_BYTES_TINY = 1024


def file_sizes(paths: Sequence[str | os.PathLike[str]]) -> FileSizes:
    """Whether ``paths`` are small (and tiny) files, from the median size of a sample of
    them (64, spread over the list; one ``stat`` each).

    Small: at most :data:`iqx.io._process_pool.FILE_BYTES_SMALL`, where the per-image
    Python outweighs the C work. Tiny: at most :data:`FILE_BYTES_TINY`. Fewer than two
    files are neither.
    """
    from iqx.io._process_pool import FILE_BYTES_SMALL

    if len(paths) < 2:
        return FileSizes()
    median = _median_size(paths)
    return FileSizes(len(paths) if median <= FILE_BYTES_SMALL else 0, median <= FILE_BYTES_TINY)


def small_file_count(paths: Sequence[str | os.PathLike[str]]) -> int:
    """``len(paths)`` when the images are small, else 0 (``file_sizes(paths).small_files``)."""
    return file_sizes(paths).small_files


def references_main(obj: Any) -> bool:
    """True when pickling ``obj`` refers to something defined in ``__main__`` (a notebook's or
    script's class or function): a worker process of the pool cannot rebuild it (its own
    ``__main__`` does not have it), so such work stays in this process."""
    import pickle

    try:
        return b"__main__" in pickle.dumps(obj)
    except Exception:  # not picklable at all: it cannot go to a process either
        return True


def _median_size(paths: Sequence[str | os.PathLike[str]]) -> int:
    """Median size of a sample of the files (64, spread over the list)."""
    step = max(1, len(paths) // _SIZE_SAMPLE)
    sizes = sorted(_size(p) for p in paths[::step])
    return sizes[len(sizes) // 2]


def _size(path: str | os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_size
    except OSError:  # the worker that reads it names the problem
        return 0


def map_batches(
    func: Callable[..., list[R]],
    items: Sequence[T],
    *args: Any,
    batch_size: int | None = None,
    small_files: int = 0,
    tiny: bool = False,
    portable: bool = True,
    progress: Callable[[int], Any] | None = None,
) -> list[R]:
    """``func(batch, *args)`` (one result per item) over batches of ``items``, in order.

    The batches run where :func:`iqx.io._sched.compute_kwargs` says: the active client,
    this machine's worker processes (:func:`~iqx.io._sched.local_mode` ``"processes"``, or
    ``small_files`` images that repay the pool), else local threads. ``func`` and ``args``
    must pickle for the first two.

    Parameters
    ----------
    func : callable
        ``func(batch, *args) -> list``, one result per item of the batch.
    items : sequence
        The work items (e.g. pairs of paths).
    *args
        Passed to every call after the batch.
    batch_size : int, optional
        Items per batch (default :func:`~iqx.io._sched.auto_batch_size`).
    small_files : int
        Items that are small images (:func:`file_sizes`).
    tiny : bool
        The items are tiny files (:func:`file_sizes`): where they would run in local
        threads, they run in the calling thread instead (the GIL makes two threads slower
        than one on them).
    portable : bool
        ``func`` and ``args`` can be rebuilt in a worker process (see
        :func:`references_main`); when False they never go to the process pool (threads
        instead).
    progress : callable, optional
        ``progress(n)`` as each batch of ``n`` items is done.

    Returns
    -------
    list
        The results of every item, in the order of ``items``.
    """
    if not items:
        return []
    size = auto_batch_size(len(items), batch_size)
    kwargs = compute_kwargs(small_files=small_files, allow_processes=portable)
    if tiny and kwargs.get("scheduler") == "threads":
        kwargs = {"scheduler": "sync"}
    if kwargs.get("scheduler") == "processes":
        batches = [list(items[k : k + size]) for k in range(0, len(items), size)]
        return _on_pool(kwargs["pool"], func, batches, args, progress)
    import dask.bag as db

    from iqx._progress import compute_batches

    bag = db.from_sequence(items, partition_size=size).map_partitions(func, *args)
    return list(compute_batches(bag, progress, **kwargs))


def _on_pool(
    pool: Any,
    func: Callable[..., list[R]],
    batches: list[list[T]],
    args: tuple[Any, ...],
    progress: Callable[[int], Any] | None,
) -> list[R]:
    """``func(batch, *args)`` of every batch on this machine's worker processes, in order.

    Straight on the pool, not through dask's processes scheduler: for 10 000 tiny images its
    graph, tokenization and task wrapping cost 0.3-0.5 s of ~1.5 s (measured on tmpfs). A
    worker's error is raised as itself; the batches not started are cancelled.
    """
    from concurrent.futures import BrokenExecutor, as_completed

    futures = [pool.submit(func, batch, *args) for batch in batches]
    try:
        for future in as_completed(futures):
            done = future.result()
            if progress is not None:
                progress(len(done))
    except BrokenExecutor as exc:
        from iqx.io._process_pool import drop_process_pool

        drop_process_pool()  # the next call starts a fresh pool
        raise IqxError(f"a worker process died while processing the images ({exc})") from exc
    finally:
        for future in futures:
            future.cancel()
    return [result for future in futures for result in future.result()]
