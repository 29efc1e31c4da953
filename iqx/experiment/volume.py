"""Data volume of a (modified) dataset: bits per pixel, compression ratio, bytes.

Bits per pixel are per *source* pixel, all bands together, so a resampled copy that holds
fewer pixels also carries fewer bits per original pixel:

- a codec-modified dataset counts the streams it recorded per file in the manifest
  (``compressed_bytes``);
- every other dataset, the unmodified baseline included, counts **raw samples at the
  dataset's signal bit depth** (:func:`dataset_bit_depth`): what a raw downlink at the
  sensor's depth costs, ``bands x depth`` bits per pixel (11 for a one-band 11-bit chip,
  not the file's 16 bits nor its compressed size). A ``quantize`` step lowers the depth;
  noise, blur and other pixel modifiers keep it, so they tie with the baseline (the study
  answer then picks the strongest setting of a tie).

The depth is one number per dataset (a downlink has one word length): the declared one
(the dataset's ``bit_depth``, or the one its manifest recorded), else the largest depth of
its images (each image's metadata, else measured from its values). Per-image measured
depths would give a mixed figure (12.38 bits per pixel for an 11-bit and a 13-bit chip)
and let a blurred copy, whose maximum drops, look cheaper than its source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from iqx.datasets import Dataset

__all__ = ["dataset_bit_depth", "dataset_volume", "image_volumes"]


def _steps(chain: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The steps of a manifest chain, one-step chains (``{"id": "chain"}``) flattened."""
    out: list[Mapping[str, Any]] = []
    for step in chain:
        inner = step.get("modifiers") if step.get("id") == "chain" else None
        out.extend(_steps(inner) if isinstance(inner, list) else [step])
    return out


def _stored_bits(chain: Sequence[Mapping[str, Any]], depth: int) -> int:
    """Bits per sample a downlink needs after ``chain`` (a bit quantization lowers it)."""
    for step in _steps(chain):
        if step.get("id") == "quantize" and step.get("bits"):
            depth = min(depth, int(step["bits"]))
    return depth


def _depth(scene: Any) -> int:
    """Bits per sample by iqx's one rule (user > metadata > measured > dtype)."""
    from iqx.bitdepth import resolve_bit_depth

    bits = resolve_bit_depth(scene).bits
    return int(bits) if bits else np.dtype(scene.dtype).itemsize * 8


def dataset_bit_depth(ds: Dataset) -> int:
    """The signal bit depth of a dataset: one number for all its images.

    The dataset's declared ``bit_depth``, else the depth its manifest recorded
    (:func:`iqx.datasets.manifest.manifest_bit_depth`), else the largest of its images'
    depths by the bit-depth rule (metadata, else measured from the values; the maximum is
    cached per image, so a second call reads no pixel).
    """
    from iqx.datasets.manifest import manifest_bit_depth

    declared = getattr(ds, "bit_depth", None) or manifest_bit_depth(ds.manifest)
    if declared:
        return int(declared)
    return max((_depth(ds.open_image(p.name)) for p in ds.image_files), default=8)


def image_volumes(ds: Dataset, source: Dataset) -> pd.DataFrame:
    """Per image of ``ds``: ``bits``, ``source_pixels``, ``source_bits``, ``volume_kind``.

    ``source`` is the unmodified dataset (``ds`` itself for the baseline). Image headers are
    read (shapes, dtypes, declared depths); pixels only to measure the source's depth when
    nothing declares it (:func:`dataset_bit_depth`).
    """
    files = {f["file"]: f for f in (ds.manifest or {}).get("files", [])}
    chain = (ds.manifest or {}).get("chain", [])
    depth = dataset_bit_depth(source)
    rows = {}
    for path in ds.image_files:
        info = files.get(path.name, {})
        scene = ds.open_image(path.name)
        src = source.open_image(path.name) if (source.data_input / path.name).exists() else scene
        src_pixels = int(src.sizes["y"]) * int(src.sizes["x"])
        src_bits = src_pixels * int(src.sizes["band"]) * depth
        if "compressed_bytes" in info:
            bits, kind = 8.0 * float(info["compressed_bytes"]), "codec stream"
        else:
            samples = int(scene.sizes["y"]) * int(scene.sizes["x"]) * int(scene.sizes["band"])
            bits, kind = float(samples * _stored_bits(chain, depth)), "raw samples"
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
