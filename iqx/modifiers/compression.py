"""Codec round trips and their data volume: the public home of :mod:`iqx.modifiers`' codecs.

The codecs live in :mod:`iqx.modifiers.jpeg_codec` (baseline JPEG, libjpeg-turbo) and
:mod:`iqx.modifiers.jpeg2000_codec` (JPEG 2000, OpenJPEG), on the block-codec plumbing of
:mod:`iqx.modifiers._block_codec`; they are re-exported here, where they have always been
imported from.

Data volume (:func:`data_volume`) is what a downlink would carry: the bytes of every
chunk's stream(s), summed lazily per chunk and reduced.
"""

from __future__ import annotations

from typing import Any

from iqx.bitdepth import lazy_bit_depth, resolve_bit_depth
from iqx.errors import InvalidParameterError
from iqx.modifiers._base import Chain, as_modifier, scene_bit_depth
from iqx.modifiers._block_codec import record_streams
from iqx.modifiers.jpeg2000_codec import JPEG2000, jpeg2000
from iqx.modifiers.jpeg_codec import JPEG, jpeg
from iqx.parallel import as_scene, lazy_call

__all__ = [
    "JPEG",
    "JPEG2000",
    "data_volume",
    "jpeg",
    "jpeg2000",
    "record_streams",
    "volume_dict",
    "volume_record",
]


def data_volume(image: Any, modifier: Any, *, compute: bool = True) -> Any:
    """What a downlink would carry for ``image`` compressed by ``modifier``.

    The codec's stream sizes are computed per chunk (exactly as the modifier encodes them)
    and summed lazily. For a chain, the steps before its last codec are applied (lazily) and
    the last codec is measured; raw size is always counted at the *input* scene's bit depth
    and pixel count (so a quantize or resample before the codec counts as compression).

    Parameters
    ----------
    image : scene
        ``(band, y, x)`` data.
    modifier : Modifier, config, spec or list
        A codec (``jpeg``, ``jpeg2000``) or a chain containing one.
    compute : bool
        Return the dict now (default) or a ``dask.delayed`` object to compute with others.

    Returns
    -------
    dict
        ``codec``, ``compressed_bytes``, ``streams`` (number of codec streams), ``raw_bits``,
        ``raw_bytes`` (= raw_bits / 8), ``bits_per_pixel`` (compressed bits per pixel
        location, all bands together), ``bits_per_sample`` (per band value),
        ``compression_ratio`` (raw_bits / compressed bits), ``pixels``, ``bands``,
        ``bit_depth``.
    """
    mod = as_modifier(modifier)
    scene = as_scene(image)
    steps = list(mod.steps) if isinstance(mod, Chain) else [mod]
    codec_idx = [i for i, s in enumerate(steps) if s.is_codec]
    if not codec_idx:
        raise InvalidParameterError(
            f"data_volume needs a codec modifier (jpeg, jpeg2000), got {mod!r}"
        )
    k = codec_idx[-1]
    src = Chain(steps[:k])(scene) if k else scene
    codec = steps[k]
    codec.check(src)
    bits, _ = lazy_bit_depth(scene)
    shape = tuple(int(scene.sizes[d]) for d in ("band", "y", "x"))
    sizes = codec.encoded_sizes(src)
    result = lazy_call(_volume_of, sizes, bits, shape, codec=codec.id, modifier=repr(mod))
    return result.compute() if compute else result


def _volume_of(
    pair: tuple[int, int], bits: int, shape: tuple[int, int, int], **kw: Any
) -> dict[str, Any]:
    return volume_dict(int(pair[0]), int(pair[1]), int(bits), shape, **kw)


def volume_record(
    image: Any,
    nbytes: int,
    streams: int,
    *,
    codec: str,
    modifier: str = "",
    bit_depth: int | None = None,
) -> dict[str, Any]:
    """The :func:`data_volume` dict for ``nbytes`` of compressed ``image`` (no encoding).

    Raw size is ``bands * pixels * bit_depth``, the depth of ``image`` by the bit-depth rule
    (:func:`iqx.bitdepth.resolve_bit_depth`; measured from the data when undeclared) unless
    ``bit_depth`` is given.
    """
    scene = as_scene(image)
    bits = bit_depth if bit_depth is not None else resolve_bit_depth(scene).bits
    if bits is None:
        bits = scene_bit_depth(scene)
    shape = tuple(int(scene.sizes[d]) for d in ("band", "y", "x"))
    return volume_dict(int(nbytes), int(streams), int(bits), shape, codec=codec, modifier=modifier)


def volume_dict(
    nbytes: int, streams: int, bit_depth: int, shape: tuple[int, ...], *, codec: str, modifier: str
) -> dict[str, Any]:
    """The :func:`data_volume` dict of ``nbytes`` in ``streams`` for a ``(band, y, x)`` shape
    of ``bit_depth``-bit samples (what :func:`volume_record` returns, with no scene)."""
    nb, ny, nx = shape
    raw_bits = nb * ny * nx * bit_depth
    bits = 8 * nbytes
    return {
        "codec": codec,
        "modifier": modifier,
        "compressed_bytes": nbytes,
        "streams": streams,
        "raw_bits": raw_bits,
        "raw_bytes": raw_bits / 8,
        "bits_per_pixel": bits / (ny * nx),
        "bits_per_sample": bits / (nb * ny * nx),
        "compression_ratio": raw_bits / bits if bits else float("inf"),
        "pixels": ny * nx,
        "bands": nb,
        "bit_depth": bit_depth,
    }
