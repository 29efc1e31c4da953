"""Data volume of a (modified) dataset: bits per pixel, compression ratio, bytes.

Codec-modified datasets record their stream sizes per file in the manifest
(``compressed_bytes``); other datasets are counted as raw samples at their bit depth (a
``quantize`` step lowers the depth a downlink needs). Bits per pixel are per *source* pixel,
so a resampled copy that holds fewer pixels also carries fewer bits per original pixel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from iqx.datasets import Dataset

__all__ = ["dataset_volume", "image_volumes"]


def _stored_bits(chain: Sequence[Mapping[str, Any]], depth: int) -> int:
    """Bits per sample a downlink needs after ``chain`` (a bit quantization lowers it)."""
    for step in chain:
        if step.get("id") == "quantize" and step.get("bits"):
            depth = min(depth, int(step["bits"]))
    return depth


def _depth(scene: Any) -> int:
    """Bits per sample by iqx's one rule (user > metadata > measured > dtype)."""
    from iqx.bitdepth import resolve_bit_depth

    bits = resolve_bit_depth(scene).bits
    return int(bits) if bits else np.dtype(scene.dtype).itemsize * 8


def image_volumes(ds: Dataset, source: Dataset) -> pd.DataFrame:
    """Per image of ``ds``: ``bits``, ``source_pixels``, ``source_bits``, ``volume_kind``.

    Only image headers are read (shapes, dtypes, bit depth), never pixels.
    """
    files = {f["file"]: f for f in (ds.manifest or {}).get("files", [])}
    chain = (ds.manifest or {}).get("chain", [])
    rows = {}
    for path in ds.image_files:
        info = files.get(path.name, {})
        scene = ds.open_image(path.name)
        src = source.open_image(path.name) if (source.data_input / path.name).exists() else scene
        src_pixels = int(src.sizes["y"]) * int(src.sizes["x"])
        src_bits = src_pixels * int(src.sizes["band"]) * _depth(src)
        if "compressed_bytes" in info:
            bits, kind = 8.0 * float(info["compressed_bytes"]), "codec stream"
        else:
            samples = int(scene.sizes["y"]) * int(scene.sizes["x"]) * int(scene.sizes["band"])
            bits, kind = float(samples * _stored_bits(chain, _depth(scene))), "raw samples"
        rows[path.name] = {
            "bits": bits,
            "source_pixels": src_pixels,
            "source_bits": src_bits,
            "bits_per_pixel": bits / src_pixels,
            "compression_ratio": src_bits / bits if bits else np.inf,
            "volume_kind": kind,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "image"
    return frame


def dataset_volume(ds: Dataset, source: Dataset) -> dict[str, float]:
    """Totals over the dataset: ``bits_per_pixel``, ``compression_ratio``, ``data_bytes``.

    ``bits_per_pixel`` = all bits / all source pixels (not a mean of per-image ratios).
    """
    frame = image_volumes(ds, source)
    if frame.empty:
        return {}
    bits = float(frame["bits"].sum())
    return {
        "bits_per_pixel": bits / float(frame["source_pixels"].sum()),
        "compression_ratio": float(frame["source_bits"].sum()) / bits if bits else float("inf"),
        "data_bytes": bits / 8.0,
    }
