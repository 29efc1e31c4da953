"""Many small PNGs through a block codec with no per-image xarray: ``iqx.modify``'s fast path.

A dataset of 28×28 PNGs (the papers' MNIST case) spends far more per image on the layers
around the codec than on the codec: an xarray scene, the codec settings, the write checks,
the per-file record's JSON round trip, a ``stat`` and a re-read for the digest. Here one
image is: the file's bytes (one read), libpng decode, the codec's NumPy kernel with settings
computed once per band count (:meth:`iqx.modifiers.BlockCodec.stack_kernel`), libpng encode,
one write, and the digest of the bytes in memory. The C calls release the GIL.

It applies to plain 8-bit PNGs in and out (:mod:`iqx.io._png`: no georeferencing, no nodata,
no sidecar) and to one codec step (JPEG, JPEG 2000); everything else (and any image the
kernel cannot take, such as an undeclared depth that must be measured per image) returns
``None`` and goes through the general path. The result is the same file (same bytes) and
the same manifest record as the general path (tested: ``tests/test_datasets/
test_png_codec_path.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from iqx.datasets.derive import FileRecord
from iqx.datasets.manifest import volume_file_info
from iqx.modifiers import Modifier
from iqx.modifiers._block_codec import record_streams

__all__ = ["PngCodecPath"]

_SUFFIX = ".png"


def _same_png(out: np.ndarray, shape: tuple[int, int, int]) -> bool:
    """True when ``out`` is uint8 of ``shape``: what a plain PNG of the source holds."""
    return out.dtype == np.uint8 and out.shape == shape


def _sorted(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` with its keys sorted at every level (the canonical record's order)."""
    return {k: _sorted(v) if isinstance(v, dict) else v for k, v in sorted(value.items())}


class PngCodecPath:
    """Modify plain PNG files with one block codec, image by image, without xarray.

    Parameters
    ----------
    modifier : Modifier
        The (single) step; the path is used only when it has ``stack_kernel``.
    bit_depth : int, optional
        The declared depth, as given to :func:`iqx.modify`.

    Notes
    -----
    Calling an instance returns a :class:`~iqx.datasets.derive.FileRecord`, or None when the
    image must take the general path. Kernels are built lazily per band count and are not
    pickled (a worker process builds its own).
    """

    def __init__(self, modifier: Modifier, bit_depth: int | None) -> None:
        self.modifier = modifier
        self.bit_depth = bit_depth
        self.enabled = hasattr(modifier, "stack_kernel")
        self._kernels: dict[int, tuple[Any, int] | None] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_kernels": {}}

    def _kernel(self, src: Path, bands: int) -> tuple[Any, int] | None:
        """``(kernel, bit depth)`` for images of ``bands`` bands, built from ``src``."""
        if bands in self._kernels:
            return self._kernels[bands]
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

    def __call__(self, src: Path, dst: Path) -> FileRecord | None:
        """Write ``dst`` from ``src`` and return its record, or None (general path)."""
        if not self.enabled or dst.suffix.lower() != _SUFFIX:
            return None
        from iqx.io._png import decode_plain_png, encode_plain_png, plain_png_bytes

        plain = plain_png_bytes(src)
        if plain is None:
            return None
        data, ny, nx, nb = plain
        entry = self._kernel(src, nb)
        if entry is None:
            return None
        kernel, bits = entry
        pixels = decode_plain_png(data, ny, nx, nb, src)
        if pixels is None:
            return None
        with record_streams() as log:
            out = kernel(pixels.transpose(2, 0, 1), str(src))
        if len(log) != 1 or log[0][0] != self.modifier.id or not _same_png(out, (nb, ny, nx)):
            return None
        encoded = encode_plain_png(out)
        info = self._info(log[0][1], log[0][2], bits, (nb, ny, nx))
        if info is None:
            return None
        _write(encoded, dst)
        return FileRecord(
            info=info,
            input_bytes=len(data),
            output_bytes=len(encoded),
            digest=hashlib.sha256(encoded).hexdigest(),
        )

    def _info(
        self, nbytes: int, streams: int, bits: int, shape: tuple[int, int, int]
    ) -> dict[str, Any] | None:
        """The general path's per-file info, keys sorted as its canonical form has them."""
        from iqx.modifiers.compression import volume_dict

        vol = volume_dict(nbytes, streams, bits, shape, codec=self.modifier.id, modifier="")
        if not (math.isfinite(vol["compression_ratio"]) and nbytes > 0):
            return None  # let the general path report what it reports
        return _sorted({**volume_file_info(vol), "shape": list(shape)})


def _write(data: bytes, dst: Path) -> None:
    """Write ``dst`` in the copy's temporary folder (removed again if the write fails)."""
    try:
        with open(dst, "wb") as fh:
            fh.write(data)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(dst)
        raise
