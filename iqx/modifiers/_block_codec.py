"""What the block codecs (JPEG, JPEG 2000) share: the stream log, chunk plumbing, a base class.

A block codec encodes and decodes every chunk of a scene on its own. Its modifier says how
to prepare a scene (codec settings, chunk alignment: :meth:`BlockCodec._prepared`) and which
NumPy kernels code one chunk (``_kernel``) and measure one chunk's streams (``_size``);
:class:`BlockCodec` maps them over the chunks (:meth:`~BlockCodec.apply`) or sums the stream
sizes lazily (:meth:`~BlockCodec.encoded_sizes`, used by
:func:`iqx.modifiers.compression.data_volume`).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import xarray as xr

from iqx.bitdepth import lazy_bit_depth
from iqx.modifiers._base import Modifier
from iqx.parallel import lazy_call, map_blocks_xr, reduce_blocks

__all__ = [
    "VOLUME_OUTPUTS",
    "VOLUME_UNITS",
    "BlockCodec",
    "is_lazy",
    "record",
    "record_streams",
]

#: per-thread list that codec kernels append ``(codec, bytes, streams)`` to (see record_streams)
_RECORD = threading.local()

#: registered outputs of every codec (the data volume) and their units
VOLUME_OUTPUTS = ("compressed_bytes", "bits_per_pixel", "compression_ratio")
VOLUME_UNITS = {"compressed_bytes": "B", "bits_per_pixel": "bit/px", "compression_ratio": "1"}


@contextlib.contextmanager
def record_streams() -> Iterator[list[tuple[str, int, int]]]:
    """Collect ``(codec, compressed bytes, streams)`` of every block encoded in this thread.

    For eager (NumPy) scenes the codec kernels run in the calling thread, so a dataset
    modifier gets the data volume of the streams it decoded instead of encoding twice
    (:func:`data_volume` encodes again). Blocks computed by dask in other threads are not seen.
    """
    previous = getattr(_RECORD, "log", None)
    log: list[tuple[str, int, int]] = []
    _RECORD.log = log
    try:
        yield log
    finally:
        _RECORD.log = previous


def record(codec: str, streams: list[bytes]) -> None:
    """Log the streams of one block in the calling thread's :func:`record_streams` list."""
    log = getattr(_RECORD, "log", None)
    if log is not None:
        log.append((codec, sum(len(s) for s in streams), len(streams)))


def _identity(x: Any) -> Any:
    return x


def is_lazy(value: Any) -> bool:
    """True for a dask object (a bit depth still to be measured from the data)."""
    return hasattr(value, "__dask_graph__")


def _chunk_function(func: Any, kw: dict[str, Any]) -> Any:
    """``functools.partial(func, **kw)``, deferred when a keyword (a measured depth) is lazy."""
    if any(is_lazy(v) for v in kw.values()):
        return lazy_call(functools.partial, func, **kw)
    return functools.partial(func, **kw)


def _sum_pairs(parts: list[tuple[int, int]]) -> tuple[int, int]:
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


class BlockCodec(Modifier):
    """A codec applied chunk by chunk: encode + decode each block, or measure its streams.

    Subclasses set ``_kernel`` (``block, **kw -> decoded block``) and ``_size``
    (``block, info, **kw -> (bytes, streams)``) as static methods and implement
    :meth:`_settings` and :meth:`_prepared`.
    """

    is_codec = True
    _kernel: Callable[..., np.ndarray]
    _size: Callable[..., tuple[int, int]]

    def _settings(self, image: xr.DataArray) -> dict[str, Any]:
        """The kernels' keywords for ``image``; raises when it cannot be coded."""
        raise NotImplementedError

    def _prepared(self, image: xr.DataArray) -> tuple[xr.DataArray, dict[str, Any]]:
        """``image`` rechunked as the codec needs it (lazily) and the kernels' keywords."""
        raise NotImplementedError

    def check(self, image: xr.DataArray) -> None:
        self._settings(image)

    #: the attrs a block codec's settings read (besides dtype and band count): images of a
    #: cube that agree on them share one :meth:`stack_kernel`
    stack_keys: tuple[str, ...] = ("nodata", "bit_depth", "bit_depth_source")

    def stack_kernel(self, image: xr.DataArray) -> Callable[[np.ndarray, Any], np.ndarray] | None:
        """``f(pixels, source)`` equal to ``self(scene).values`` for every NumPy scene of
        ``image``'s dtype and band count that agrees with it on :attr:`stack_keys`, or None.

        Lets :func:`iqx.datasets.modify_cube` settle the codec settings once per group of
        images instead of once per image (an xarray scene, two settings passes: ~60 µs of
        Python per 28×28 image against ~25 µs of codec). None when the settings depend on
        the pixels (a bit depth measured per image) or nodata must be put back; the caller
        then modifies image by image. ``source`` names the image in the kernel's errors.
        """
        if image.attrs.get("nodata") is not None or not isinstance(image.data, np.ndarray):
            return None
        self.check(image)
        _, kw = self._prepared(image)
        measured = lazy_bit_depth(image)[1] == "measured"  # each image its own depth
        if measured or any(is_lazy(v) for v in kw.values()):
            return None
        kernel = type(self)._kernel
        dtype = image.dtype

        def run(pixels: np.ndarray, source: Any) -> np.ndarray:
            named = {**kw, "source": source} if "source" in kw else kw
            return np.asarray(kernel(pixels, **named), dtype=dtype)

        return run

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        prepared, kw = self._prepared(image)
        return map_blocks_xr(type(self)._kernel, prepared, kwargs=kw)

    def encoded_sizes(self, image: xr.DataArray, finalize: Any = None) -> Any:
        """Lazy ``(bytes, streams)`` of every chunk's stream(s), summed (a Delayed)."""
        prepared, kw = self._prepared(image)
        return reduce_blocks(
            _chunk_function(type(self)._size, kw),
            _sum_pairs,
            finalize or _identity,
            prepared,
            compute=False,
        )
