"""A tiny progress reporter for long work: one line on a terminal, nothing elsewhere.

``Progress`` draws ``label  37/48 images  77% [#######   ] 12.3/s  ETA 0:01`` on stderr,
redrawn at most ``1 / min_interval`` times a second, only when the stream is a terminal
(never into a log file or a pipe) and not ``quiet``. An update costs a lock and a clock read
(about a microsecond), so reporting per image or per task does not slow the work.

Hooks
-----
``Progress.advance``
    The callback of library functions taking ``progress=`` (e.g.
    :func:`iqx.datasets.derive.derive_dataset`: ``progress(n)`` after each batch of ``n``).
:func:`compute_batches`
    ``collection.compute()`` calling ``progress(len(part))`` as each partition finishes, on
    a local scheduler (a dask callback) or a distributed client (``as_completed``).
:func:`dask_tasks`
    A context in which every local dask computation longer than ``delay`` seconds shows a bar
    of finished tasks (what the ``iqx`` command uses unless ``--quiet``).

No dependency: tqdm is not installed with iqx and is not needed for one line.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

__all__ = ["Progress", "compute_batches", "dask_tasks", "format_seconds", "should_show"]

#: set to "1" to silence every bar (what ``iqx --quiet`` does for its process)
QUIET_ENV = "IQX_QUIET"


def should_show(stream: TextIO | None = None, quiet: bool = False) -> bool:
    """Whether a bar may be drawn on ``stream`` (default stderr).

    False when ``quiet``, when ``$IQX_QUIET`` is ``1``, or when the stream is not a terminal.
    """
    if quiet or os.environ.get(QUIET_ENV) == "1":
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a file
        return False


def format_seconds(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Count finished items of known total and draw a one-line bar with rate and ETA.

    Parameters
    ----------
    total : int
        Items expected (0 or less: unknown, the bar shows counts and rate only).
    label : str
        Text before the counts, e.g. ``"jpeg"``.
    unit : str
        Name of an item, e.g. ``"images"`` or ``"tasks"``.
    stream : file, optional
        Where to draw (default: stderr).
    enabled : bool, optional
        Force drawing on or off; default: :func:`should_show` of ``stream``.
    min_interval : float
        Seconds between redraws (the last state is always drawn by :meth:`close`).
    delay : float
        Draw nothing until this many seconds have passed (short work stays silent).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(3, label="demo", stream=out, enabled=True, min_interval=0) as bar:
    ...     for _ in range(3):
    ...         bar.advance()
    >>> "3/3 items" in out.getvalue()
    True
    """

    def __init__(
        self,
        total: int,
        *,
        label: str = "",
        unit: str = "items",
        stream: TextIO | None = None,
        enabled: bool | None = None,
        min_interval: float = 0.1,
        delay: float = 0.0,
    ) -> None:
        self.total = int(total)
        self.label = label
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.enabled = should_show(self.stream) if enabled is None else bool(enabled)
        self.min_interval = float(min_interval)
        self.delay = float(delay)
        self.done = 0
        self._start = time.monotonic()
        self._last_draw = -float("inf")
        self._drawn = False
        self._lock = threading.Lock()

    # -- counting -----------------------------------------------------------------------
    def advance(self, n: int = 1) -> None:
        """Count ``n`` more finished items; redraw if the interval has passed (thread-safe)."""
        with self._lock:
            self.done += n
            if not self.enabled:
                return
            now = time.monotonic()
            if now - self._last_draw < self.min_interval or now - self._start < self.delay:
                return
            self._last_draw = now
            self._draw(now)

    __call__ = advance

    def echo(self, text: str, file: TextIO | None = None) -> None:
        """Print a line of results to ``file`` (default stdout) without mixing it into the bar.

        When the bar is drawn, its line is cleared first and drawn again below the text, so
        results and bar share a terminal cleanly; otherwise this is ``print(text,
        file=file, flush=True)``.
        """
        out = sys.stdout if file is None else file
        with self._lock:
            drawn = self.enabled and self._drawn
            if drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            print(text, file=out, flush=True)
            if drawn:
                self._draw(time.monotonic())

    def set_total(self, total: int) -> None:
        """Change the expected total (e.g. once a task graph is known)."""
        with self._lock:
            self.total = int(total)

    def close(self) -> None:
        """Draw the final state and end the line (only if something was drawn)."""
        with self._lock:
            if self.enabled and self._drawn:
                self._draw(time.monotonic())
                self.stream.write("\n")
                self.stream.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- drawing ------------------------------------------------------------------------
    def line(self, now: float | None = None) -> str:
        """The text of the bar for the current state."""
        elapsed = max((time.monotonic() if now is None else now) - self._start, 1e-9)
        rate = self.done / elapsed
        head = f"{self.label}  " if self.label else ""
        if self.total > 0:
            frac = min(1.0, self.done / self.total)
            width = 20
            fill = int(frac * width)
            bar = "#" * fill + " " * (width - fill)
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            eta = format_seconds(left) if left != float("inf") else "?"
            if self.done >= self.total:
                eta = f"in {format_seconds(elapsed)}"
            else:
                eta = f"ETA {eta}"
            return (
                f"{head}{self.done}/{self.total} {self.unit} {100 * frac:3.0f}% [{bar}] "
                f"{rate:.1f}/s {eta}"
            )
        return f"{head}{self.done} {self.unit} {rate:.1f}/s {format_seconds(elapsed)}"

    def _draw(self, now: float) -> None:
        try:
            self.stream.write("\r" + self.line(now) + "\x1b[K")
            self.stream.flush()
            self._drawn = True
        except (OSError, ValueError):  # closed terminal: stop drawing, keep working
            self.enabled = False


# -- dask hooks -------------------------------------------------------------------------
def compute_batches(
    collection: Any, progress: Callable[[int], Any] | None = None, **kwargs: Any
) -> Any:
    """``collection.compute(**kwargs)``, calling ``progress(len(part))`` per finished part.

    Parameters
    ----------
    collection : dask collection
        Typically a ``dask.bag.Bag`` whose partitions are lists (one item per image).
    progress : callable, optional
        Called with the size of each finished partition (1 if it has no length). None:
        exactly ``collection.compute(**kwargs)``.
    **kwargs
        Passed to ``compute``; ``scheduler=<distributed.Client>`` or an active default
        client switches to futures and ``as_completed``.

    Returns
    -------
    object
        What ``collection.compute(**kwargs)`` returns.
    """
    if progress is None:
        return collection.compute(**kwargs)
    from iqx.io._sched import active_client

    client = kwargs.get("scheduler")
    if not hasattr(client, "compute"):
        client = None if kwargs.get("scheduler") is not None else active_client()
    if client is not None:
        return _compute_distributed(collection, progress, client)
    from dask.callbacks import Callback

    outputs = set(_flatten(collection.__dask_keys__()))

    def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if key in outputs:
            progress(len(result) if hasattr(result, "__len__") else 1)

    with Callback(posttask=posttask):
        return collection.compute(**kwargs)


def _flatten(keys: Any) -> Iterator[Any]:
    for k in keys:
        if isinstance(k, list):
            yield from _flatten(k)
        else:
            yield k


def _compute_distributed(collection: Any, progress: Callable[[int], Any], client: Any) -> Any:
    """Compute the partitions as futures, report them as they finish, then finalize."""
    from distributed import as_completed

    parts = collection.to_delayed(optimize_graph=True)
    futures = client.compute(parts)
    for future in as_completed(futures):
        result = future.result()
        progress(len(result) if hasattr(result, "__len__") else 1)
    results = client.gather(futures)
    # the collection's own finalize (e.g. concatenating a bag's partitions), done locally
    finalize, args = collection.__dask_postcompute__()
    return finalize(results, *args)


@contextlib.contextmanager
def dask_tasks(
    label: str = "", *, delay: float = 0.5, stream: TextIO | None = None, quiet: bool = False
) -> Iterator[None]:
    """Show a bar of finished tasks for every local dask computation inside the block.

    Computations shorter than ``delay`` seconds draw nothing; nothing is drawn when
    :func:`should_show` says no (quiet, ``$IQX_QUIET=1``, not a terminal) and then no
    callback is even registered. Distributed clients are not followed (their dashboard is).
    """
    if not should_show(stream, quiet):
        yield
        return
    from dask.callbacks import Callback

    class _Tasks(Callback):
        bar: Progress | None = None

        def _start_state(self, dsk: Any, state: Any) -> None:
            total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
            self.bar = Progress(total, label=label, unit="tasks", stream=stream, delay=delay)

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            if self.bar is not None:
                self.bar.advance()

        def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    with _Tasks():
        yield
