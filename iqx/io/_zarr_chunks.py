"""Whole-chunk reads and writes of a zarr v3 array without zarr's event loop.

``zarr.Array.__setitem__`` hands every write to zarr's asyncio thread and its codecs to a
further thread pool; with dask's worker threads that is several thread hand-offs (and GIL
convoys) per chunk, which costs as much as a fast codec. :class:`ChunkWriter` is a store
target for ``dask.array.store`` that encodes each whole chunk in the calling worker thread
with the array's own codec objects (``BytesCodec`` then ``BloscCodec``/``ZstdCodec``, their
synchronous ``_encode_sync``) and writes the chunk file under the key the array's metadata
gives. The bytes are those zarr writes itself (a partial edge chunk is padded with the fill
value, as zarr does; tested byte for byte). Any other layout (other codecs, a non-local
store, a region not made of whole chunks) falls back to ``array[region] = block``.
:func:`store_in_rows` drives the writes: a scene made only of Blockwise layers (a zarr read
followed by per-chunk modifiers) gets the write as one more blockwise step, which dask
fuses into each block's task (read, modify, encode, write; nothing handed between tasks).

:func:`dask_reader` is the converse for :func:`iqx.io.open_zarr_scene`: one task per dask
block reads the chunk files it covers and decodes them with the same codec objects
(``_decode_sync``) into a fresh writable block; a missing chunk file reads as the fill value,
as in zarr. Stores with another layout are read by xarray/zarr as before (None).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

__all__ = ["ChunkWriter", "dask_reader", "store_in_rows"]


def _fast_codecs(arr: Any) -> tuple[Any, ...] | None:
    """The array's codec chain if it is one :class:`ChunkWriter` encodes itself, else None."""
    try:
        from zarr.codecs import BloscCodec, BytesCodec, ZstdCodec
        from zarr.core.chunk_grids import RegularChunkGrid

        md = arr.metadata
        codecs = tuple(md.codecs)
        if getattr(md, "zarr_format", None) != 3 or not isinstance(md.chunk_grid, RegularChunkGrid):
            return None
    except (ImportError, AttributeError):  # another zarr version: use zarr itself
        return None
    if not codecs or not isinstance(codecs[0], BytesCodec):
        return None
    if not all(isinstance(c, BloscCodec | ZstdCodec) for c in codecs[1:]):
        return None
    if not all(hasattr(c, "_encode_sync") for c in codecs):
        return None
    return codecs


class _ChunkArray:
    """One zarr array opened lazily where it is used (picklable: process workers reopen it)."""

    _mode = "r"

    def __init__(self, root: str, name: str) -> None:
        self.root = str(root)
        self.name = name
        self._state: tuple[Any, ...] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root, "name": self.name, "_state": None}

    def _array(self) -> tuple[Any, Any]:
        """The opened array and zarr's default buffer prototype."""
        import zarr
        from zarr.core.buffer import default_buffer_prototype

        arr = zarr.open_array(self.root, path=self.name, mode=self._mode)
        return arr, default_buffer_prototype()


class ChunkWriter(_ChunkArray):
    """``writer[region] = block`` writes the whole zarr chunks covering ``region``.

    Parameters
    ----------
    root : str
        Folder of the zarr v3 group (a local store).
    name : str
        Path of the array inside the group.

    Picklable (it reopens the array where it runs), so process workers can write too.
    """

    _mode = "r+"

    def _open(self) -> tuple[Any, ...]:
        if self._state is None:
            arr, proto = self._array()
            codecs = _fast_codecs(arr)
            spec = encode = None
            if codecs is not None:
                md = arr.metadata
                ndim = len(md.shape)
                spec = md.get_chunk_spec((0,) * ndim, arr._async_array.config, proto)
                encode = _direct_encoder(codecs)
            self._state = (arr, codecs, proto, spec, encode, set())
        return self._state

    def __setitem__(self, key: tuple[slice, ...], value: np.ndarray) -> None:
        arr, codecs = self._open()[:2]
        shape = tuple(arr.shape)
        chunks = tuple(arr.metadata.chunk_grid.chunk_shape) if codecs is not None else ()
        starts = tuple(0 if s.start is None else int(s.start) for s in key)
        value = np.asarray(value)
        stops = tuple(a + n for a, n in zip(starts, value.shape))
        whole = codecs is not None and all(
            a % c == 0 and (b % c == 0 or b == n)
            for a, b, c, n in zip(starts, stops, chunks, shape)
        )
        if not whole:
            arr[key] = value
            return
        grids = [range(a // c, -(-b // c)) for a, b, c in zip(starts, stops, chunks)]
        for coords in np.ndindex(*(len(g) for g in grids)):
            cidx = tuple(int(g[k]) for g, k in zip(grids, coords))
            lo = tuple(i * c - a for i, c, a in zip(cidx, chunks, starts))
            part = value[tuple(slice(o, o + c) for o, c in zip(lo, chunks))]
            self._write(cidx, part, chunks)

    def _write(self, cidx: tuple[int, ...], part: np.ndarray, chunks: tuple[int, ...]) -> None:
        arr, codecs, proto, spec, encode, made = self._open()
        md = arr.metadata
        dtype = np.dtype(spec.dtype.to_native_dtype())
        if part.shape != chunks:  # an edge chunk: zarr stores it whole, padded with fill
            full = np.full(chunks, np.asarray(md.fill_value, dtype=dtype), dtype=dtype)
            full[tuple(slice(0, n) for n in part.shape)] = part
            part = full
        part = np.ascontiguousarray(part, dtype=dtype)
        if encode is not None:  # the codecs' own numcodecs objects, without zarr's buffers
            data = encode(part.reshape(-1).view(np.uint8))
        else:
            buf = proto.nd_buffer.from_numpy_array(part)
            for codec in codecs:
                buf = codec._encode_sync(buf, spec)
            data = memoryview(buf.as_numpy_array())
        target = os.path.join(self.root, self.name, md.encode_chunk_key(cidx))
        folder = os.path.dirname(target)
        if folder not in made:  # one mkdir per folder, not per chunk
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        _write_file(target, data)


def _write_file(target: str, data: Any) -> None:
    """Write one chunk file (the store is a temporary folder renamed when complete: no
    fsync per chunk, the rename makes it visible)."""
    with open(target, "wb") as f:
        f.write(data)


class _ChunkReader(_ChunkArray):
    """Picklable reader of the whole chunks of one array (opened lazily where it runs)."""

    def _open(self) -> tuple[Any, ...]:
        if self._state is None:
            arr, proto = self._array()
            md = arr.metadata
            spec = md.get_chunk_spec((0,) * len(md.shape), arr._async_array.config, proto)
            dtype = np.dtype(md.dtype.to_native_dtype())
            fill = np.asarray(md.fill_value, dtype=dtype)
            codecs = tuple(md.codecs)
            self._state = (md, codecs[::-1], proto, spec, dtype, fill, _direct_decoder(codecs))
        return self._state

    def __call__(self, region: tuple[tuple[int, int], ...]) -> np.ndarray:
        md, codecs, proto, spec, dtype, fill, direct = self._open()
        chunks = tuple(md.chunk_grid.chunk_shape)
        out = np.empty(tuple(b - a for a, b in region), dtype=dtype)
        one = out.shape == chunks and all(a % c == 0 for (a, _), c in zip(region, chunks))
        grids = [range(a // c, -(-b // c)) for (a, b), c in zip(region, chunks)]
        for coords in np.ndindex(*(len(g) for g in grids)):
            cidx = tuple(int(g[k]) for g, k in zip(grids, coords))
            # the part of chunk cidx inside region, in chunk and in block coordinates
            src, dst = [], []
            for i, c, (a, b) in zip(cidx, chunks, region):
                lo, hi = max(a, i * c), min(b, (i + 1) * c)
                src.append(slice(lo - i * c, hi - i * c))
                dst.append(slice(lo - a, hi - a))
            path = os.path.join(self.root, self.name, md.encode_chunk_key(cidx))
            try:
                with open(path, "rb") as f:
                    raw = f.read()
            except FileNotFoundError:  # zarr's semantics: an absent chunk is the fill value
                out[tuple(dst)] = fill
                continue
            if one and direct is not None:  # the block is this chunk: decode into it
                direct(raw, out.reshape(-1).view(np.uint8))
                continue
            buf = proto.buffer.from_bytes(raw)
            for codec in codecs:
                buf = codec._decode_sync(buf, spec)
            out[tuple(dst)] = buf.as_numpy_array().reshape(chunks)[tuple(src)]
        return out


def _direct_decoder(codecs: tuple[Any, ...]) -> Any:
    """``decode(raw, out_bytes)`` straight into a block for ``bytes[+blosc|zstd]`` chains in
    native byte order (the codecs' numcodecs counterparts; their streams are
    self-describing), else None."""
    import sys

    from numcodecs import Blosc, Zstd
    from zarr.codecs import BloscCodec, ZstdCodec

    endian = getattr(codecs[0], "endian", None)
    if endian is not None and getattr(endian, "value", endian) != sys.byteorder:
        return None
    rest = codecs[1:]
    if not rest:

        def copy(raw: bytes, out: np.ndarray) -> None:
            out[:] = np.frombuffer(raw, dtype=np.uint8)

        return copy
    if len(rest) == 1 and isinstance(rest[0], BloscCodec):
        return Blosc().decode
    if len(rest) == 1 and isinstance(rest[0], ZstdCodec):
        return Zstd().decode
    return None


def _direct_encoder(codecs: tuple[Any, ...]) -> Any:
    """``encode(chunk_bytes) -> bytes`` for ``bytes[+blosc|zstd]`` chains in native byte
    order: the numcodecs object each zarr codec's ``_encode_sync`` calls on the chunk's
    bytes, called without zarr's buffer wrappers (same bytes, tested); else None."""
    import sys

    from zarr.codecs import BloscCodec, ZstdCodec

    endian = getattr(codecs[0], "endian", None)
    if endian is not None and getattr(endian, "value", endian) != sys.byteorder:
        return None
    rest = codecs[1:]
    if not rest:
        return memoryview
    inner = None
    if len(rest) == 1 and isinstance(rest[0], BloscCodec):
        inner = getattr(rest[0], "_blosc_codec", None)
    elif len(rest) == 1 and isinstance(rest[0], ZstdCodec):
        inner = getattr(rest[0], "_zstd_codec", None)
    return getattr(inner, "encode", None)


def _read_block(
    reader: _ChunkReader, edges: tuple[tuple[int, ...], ...], block_id: tuple[int, ...]
) -> np.ndarray:
    return reader(tuple((e[i], e[i + 1]) for e, i in zip(edges, block_id)))


def dask_reader(root: str, name: str, chunks: tuple[tuple[int, ...], ...], token: Any) -> Any:
    """A dask array reading ``root/name`` chunk file by chunk file, or None if the array's
    layout is not one :class:`ChunkWriter` writes (then let zarr read it)."""
    import dask.array as da
    import zarr
    from dask.base import tokenize

    try:
        arr = zarr.open_array(str(root), path=name, mode="r")
    except Exception:
        return None
    codecs = _fast_codecs(arr)
    if codecs is None or not all(hasattr(c, "_decode_sync") for c in codecs):
        return None
    dtype = np.dtype(arr.metadata.dtype.to_native_dtype())
    reader = _ChunkReader(str(root), name)
    edges = tuple(tuple(np.concatenate([[0], np.cumsum(c)]).astype(int).tolist()) for c in chunks)
    # a Blockwise layer (block_id only), so that elementwise work on the scene fuses into
    # the read task
    return da.map_blocks(
        functools.partial(_read_block, reader, edges),
        chunks=chunks,
        dtype=dtype,
        meta=np.empty((0,) * len(chunks), dtype),
        name=f"iqx-zarr-read-{tokenize(str(root), name, chunks, token)}",
    )


def _store_block(writer: ChunkWriter, region: tuple[slice, ...], block: Any, _after: Any) -> None:
    writer[region] = block


def _done(*_: Any) -> None:
    return None


def _store_fused(
    writer: ChunkWriter,
    edges: tuple[tuple[int, ...], ...],
    block: np.ndarray,
    block_id: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Write ``block`` (the block ``block_id`` of the source); a 1-element placeholder."""
    writer[tuple(slice(e[i], e[i + 1]) for e, i in zip(edges, block_id))] = block
    return np.ones((1,) * block.ndim, dtype=bool)


def _blockwise_only(sources: list[Any]) -> bool:
    """True if every layer of every source graph is a Blockwise layer (elementwise chains:
    no neighbourhood, no rechunk), read from the layers without materialising the graph."""
    from dask.blockwise import Blockwise

    for src in sources:
        layers = getattr(src.__dask_graph__(), "layers", None)
        if layers is None or not all(isinstance(v, Blockwise) for v in layers.values()):
            return False
    return True


def _store_blockwise(sources: list[Any], writers: list[ChunkWriter]) -> None:
    """One task per block computes it and writes it: the write is a blockwise step that
    dask fuses with the chain before it (read, modify, encode, write in the same task, no
    intermediate block handed from one task to another)."""
    import dask
    import dask.array as da
    from dask.base import tokenize

    flags = []
    for src, writer in zip(sources, writers):
        edges = tuple(
            tuple(np.concatenate([[0], np.cumsum(c)]).astype(int).tolist()) for c in src.chunks
        )
        flags.append(
            da.map_blocks(
                functools.partial(_store_fused, writer, edges),
                src,
                chunks=tuple((1,) * n for n in src.numblocks),
                dtype=bool,
                meta=np.empty((0,) * src.ndim, dtype=bool),
                name=f"iqx-store-{tokenize(src.name, writer.root, writer.name)}",
            )
        )
    dask.compute(*flags)


def _shares_inputs(sources: list[Any]) -> bool:
    """True if some task feeds several others (a neighbourhood graph): only then is the
    order of the writes worth imposing (blockwise chains are consumed as they are made)."""
    from dask.core import get_deps

    graph = {}
    for src in sources:
        graph.update(dict(src.__dask_graph__()))
    _, dependents = get_deps(graph)
    return any(len(v) > 1 for v in dependents.values())


def store_in_rows(sources: list[Any], writers: list[ChunkWriter]) -> None:
    """``writer[region] = block`` for every block of every source, one row of blocks after
    the other (a row: the blocks that differ only in their last index).

    Each row's writes wait for the previous row's (a gate task), which makes dask's
    ordering walk the scene from one end to the other. Left to itself, dask may start in
    the middle of a neighbourhood graph (``map_overlap``) and keep the rows it computed
    early alive until it comes back to them (3 rows of a 20 x 20-chunk blur instead of 1).
    Within a row the writes run in parallel; only the last write of a row delays the next
    row's writes, not the computation of their blocks. Graphs of independent blockwise
    chains (no task feeding two others) are written without gates, and graphs made only of
    Blockwise layers with the write fused into each block's task (:func:`_store_blockwise`).
    """
    import dask

    if _blockwise_only(sources):
        _store_blockwise(sources, writers)
        return
    from dask.base import tokenize
    from dask.delayed import Delayed
    from dask.highlevelgraph import HighLevelGraph

    sources = list(dask.optimize(*sources))
    ordered = _shares_inputs(sources)
    name = (
        f"iqx-store-rows-{tokenize([s.name for s in sources], [(w.root, w.name) for w in writers])}"
    )
    dsk: dict[Any, Any] = {}
    gates = []
    for k, (src, writer) in enumerate(zip(sources, writers)):
        edges = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in src.chunks]
        gate = None
        rows: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
        for idx in np.ndindex(*src.numblocks):
            rows.setdefault(idx[:-1], []).append(idx)
        for row, members in sorted(rows.items()):
            keys = []
            for idx in members:
                region = tuple(slice(int(e[i]), int(e[i + 1])) for e, i in zip(edges, idx))
                key = (name, k, *idx)
                after = gate if ordered else None
                dsk[key] = (_store_block, writer, region, (src.name, *idx), after)
                keys.append(key)
            gate = (f"{name}-row", k, *row)
            dsk[gate] = (_done, *keys)
            gates.append(gate)
    final = f"{name}-all"
    dsk[final] = (_done, *gates)
    graph = HighLevelGraph.from_collections(final, dsk, dependencies=sources)
    Delayed(final, graph).compute()
