"""Without imagecodecs (the core install), 8-bit JPEG falls back to Pillow with identical output.

Reference: imagecodecs' libjpeg-turbo (the ``codecs`` extra). Pillow bundles the same
libjpeg-turbo with the IJG standard tables, so streams and decoded pixels must be identical
(``reference/stack.md`` §3 measured byte-identical files).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from iqx.errors import MissingExtraError
from iqx.kernels import codecs

pytest.importorskip("imagecodecs")


def _image(bands: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:64, 0:80]
    base = 120 + 60 * np.sin(y / 7.0) * np.cos(x / 9.0)
    return np.clip(base[None] + rng.normal(0, 6, (bands, 64, 80)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "bands, subsampling", [(1, "4:2:0"), (2, "4:4:4"), (3, "4:2:0"), (3, "4:4:4"), (3, "4:2:2")]
)
def test_pillow_fallback_equals_imagecodecs(bands, subsampling, monkeypatch):
    block = _image(bands)
    ref_streams = codecs.jpeg_encode_block(block, quality=55, subsampling=subsampling)
    ref_pixels = codecs.jpeg_roundtrip(block, quality=55, subsampling=subsampling)
    monkeypatch.setitem(sys.modules, "imagecodecs", None)  # import imagecodecs -> ImportError
    streams = codecs.jpeg_encode_block(block, quality=55, subsampling=subsampling)
    pixels = codecs.jpeg_roundtrip(block, quality=55, subsampling=subsampling)
    assert [len(s) for s in streams] == [len(s) for s in ref_streams]
    assert streams == ref_streams
    np.testing.assert_array_equal(pixels, ref_pixels)


def test_twelve_bit_jpeg_still_needs_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    block = (_image(1).astype(np.uint16) * 16).astype(np.uint16)
    with pytest.raises(MissingExtraError, match=r"iqx\[codecs\]"):
        codecs.jpeg_roundtrip(block, quality=80, bits=12)
