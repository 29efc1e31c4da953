"""Many small PNGs through a block codec with no per-image xarray: ``iqx.modify``'s fast path.

A dataset of 28×28 PNGs (the papers' MNIST case) spends far more per image on the layers
around the codec than on the codec: an xarray scene, the codec settings, the write checks,
the per-file record's JSON round trip, a ``stat`` and a re-read for the digest, path
objects. Here a batch of images runs one tight loop over path strings; one image is: the
file's bytes (one read), libpng decode, the codec's NumPy kernel with settings computed once
per band count (:meth:`iqx.modifiers.BlockCodec.stack_kernel`), libpng encode, one write,
the digest of the bytes in memory, and a record built from a per-shape template.

It applies to plain 8-bit PNGs in and out (:mod:`iqx.io._png`: no georeferencing, no nodata,
no sidecar) and to one codec step (JPEG, JPEG 2000); any other image (or one the kernel
cannot take, such as an undeclared depth that must be measured per image) is left to the
general path. The result is the same file (same bytes) and the same manifest record as the
general path (tested: ``tests/test_datasets/test_png_codec_path.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from iqx.datasets.manifest import DIGEST_KEY, canonical_config, volume_file_info
from iqx.io._png import decode_plain_png, encode_plain_png, plain_png_bytes
from iqx.modifiers import Modifier
from iqx.modifiers._block_codec import record_streams
from iqx.modifiers.compression import volume_dict

__all__ = ["PngCodecPath"]

_SUFFIX = ".png"
#: flags of the one write of a file (no buffered file object around a single write)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


class PngCodecPath:
    """Modify plain PNG files with one block codec, in batches, without xarray.

    Parameters
    ----------
    modifier : Modifier
        The (single) step; the path is used only when it has ``stack_kernel``.
    bit_depth : int, optional
        The declared depth, as given to :func:`iqx.modify`.

    Notes
    -----
    Kernels are built lazily per band count and are not pickled (a worker process builds
    its own).
    """

    def __init__(self, modifier: Modifier, bit_depth: int | None) -> None:
        self.modifier = modifier
        self.bit_depth = bit_depth
        self.enabled = hasattr(modifier, "stack_kernel")
        self._kernels: dict[int, tuple[Any, int] | None] = {}
        self._fixed: dict[tuple[int, tuple[int, int, int]], dict[str, Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_kernels": {}, "_fixed": {}}

    def run_many(self, pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """Write every ``dst`` it can from its ``src``; return their manifest records.

        Parameters
        ----------
        pairs : sequence of (str, str)
            ``(source file, file to write)``, absolute paths.

        Returns
        -------
        list
            Per pair, the complete per-file record (the info :func:`iqx.modify` records,
            plus ``file``, ``input_bytes``, ``output_bytes`` and the digest), or None for a
            file left to the general path (nothing written).
        """
        if not self.enabled:
            return [None] * len(pairs)
        out: list[dict[str, Any] | None] = []
        with record_streams() as log:
            for src, dst in pairs:
                try:
                    out.append(self._one(src, dst, log))
                except Exception as exc:
                    if str(src) not in str(exc):
                        exc.add_note(f"while processing {src}")
                    raise
        return out

    def _one(self, src: str, dst: str, log: list[tuple[str, int, int]]) -> dict[str, Any] | None:
        if not dst.lower().endswith(_SUFFIX):
            return None
        plain = plain_png_bytes(src)
        if plain is None:
            return None
        data, ny, nx, nb = plain
        entry = self._kernels[nb] if nb in self._kernels else self._kernel(src, nb)
        if entry is None:
            return None
        kernel, bits = entry
        pixels = decode_plain_png(data, ny, nx, nb, src)
        if pixels is None:
            return None
        seen = len(log)
        out = kernel(pixels.transpose(2, 0, 1), src)
        shape = (nb, ny, nx)
        if len(log) != seen + 1 or out.dtype != np.uint8 or out.shape != shape:
            return None
        codec, nbytes, streams = log[-1]
        if codec != self.modifier.id or nbytes <= 0:
            return None  # let the general path report what it reports
        encoded = encode_plain_png(out)
        _write(encoded, dst)
        return {
            **self._info(nbytes, streams, bits, shape),
            "file": os.path.basename(src),
            "input_bytes": len(data),
            "output_bytes": len(encoded),
            DIGEST_KEY: hashlib.sha256(encoded).hexdigest(),
        }

    def _kernel(self, src: str, bands: int) -> tuple[Any, int] | None:
        """``(kernel, bit depth)`` for images of ``bands`` bands, built from ``src``."""
        from iqx.bitdepth import resolve_bit_depth
        from iqx.io.images import read_image_scene
        from iqx.modifiers._checks import scene_bit_depth

        scene = read_image_scene(src, bit_depth=self.bit_depth)[0]
        kernel = self.modifier.stack_kernel(scene)  # raises what the modifier would raise
        entry = None
        if kernel is not None:
            bits = resolve_bit_depth(scene).bits
            entry = (kernel, bits if bits is not None else scene_bit_depth(scene))
        self._kernels[bands] = entry
        return entry

    def _info(
        self, nbytes: int, streams: int, bits: int, shape: tuple[int, int, int]
    ) -> dict[str, Any]:
        """The general path's per-file info, keys sorted as its canonical form has them."""
        key = (bits, shape)
        fixed = self._fixed.get(key)
        if fixed is None:  # what does not depend on the stream, once per shape
            vol = volume_dict(1, 1, bits, shape, codec=self.modifier.id, modifier="")
            info = {**volume_file_info(vol), "shape": list(shape)}
            fixed = self._fixed[key] = canonical_config(info, what="per-file info")
        # the fields that do, computed as volume_dict computes them (same float operations)
        nb, ny, nx = shape
        raw, coded = fixed["raw_bits"], 8 * nbytes
        volume = {
            **fixed["data_volume"],
            "bits_per_pixel": coded / (ny * nx),
            "bits_per_sample": coded / (nb * ny * nx),
            "compression_ratio": raw / coded,
            "streams": streams,
        }
        return {**fixed, "compressed_bytes": nbytes, "data_volume": volume, "shape": [nb, ny, nx]}


def _write(data: bytes, dst: str) -> None:
    """Write ``dst`` in the copy's temporary folder (removed again if the write fails).

    The folder is never created: once the copy is abandoned the write fails.
    """
    fd = os.open(dst, _WRITE_FLAGS, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(dst)
        raise
    os.close(fd)
