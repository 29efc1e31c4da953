"""A quality-versus-data-volume sweep over modified copies of one dataset.

For every modifier, :func:`sweep` writes (or reuses) the ``<name>#<modifier>`` copy, then
measures per image: data volume (bits per pixel, compression ratio), full-reference
similarity against the original (PSNR, SSIM) and blind quality (SNR, RER, MTF at Nyquist).
:func:`cheapest_setting` then picks the fewest bits per pixel that still meet a target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from iqx.datasets import Dataset, open_dataset
from iqx.datasets.compare import compare_datasets
from iqx.datasets.modify import modify
from iqx.errors import InvalidParameterError
from iqx.metrics.sharpness import flat_summary as sharpness_summary
from iqx.metrics.snr import flat_summary as snr_summary
from iqx.modifiers import Modifier, as_modifier

__all__ = ["BLIND_COLUMNS", "cheapest_setting", "sweep"]

#: blind-quality columns measured on every image
BLIND_COLUMNS = (
    "snr",
    "rer_x",
    "rer_y",
    "mtf_nyquist_x",
    "mtf_nyquist_y",
    "n_edges_x",
    "n_edges_y",
)


def _blind(ds: Dataset) -> pd.DataFrame:
    rows = {}
    for path in ds.image_files:
        scene = ds.open_image(path.name)
        row = {**snr_summary(scene), **sharpness_summary(scene)}
        rows[path.name] = {k: row.get(k) for k in BLIND_COLUMNS}
    frame = pd.DataFrame.from_dict(rows, orient="index", dtype=float)
    frame.index.name = "image"
    return frame


def _stored_bits(chain: Sequence[Mapping[str, Any]], depth: int) -> int:
    """Bits per sample a downlink needs after ``chain`` (a bit quantization lowers it)."""
    for step in chain:
        if step.get("id") == "quantize" and step.get("bits"):
            depth = min(depth, int(step["bits"]))
    return depth


def _volume(ds: Dataset, source: Dataset) -> pd.DataFrame:
    """Bits per pixel of every image of ``ds``: codec streams when known, else raw samples."""
    files = {f["file"]: f for f in (ds.manifest or {}).get("files", [])}
    rows = {}
    for path in ds.image_files:
        info = files.get(path.name, {})
        scene = ds.open_image(path.name)
        ny, nx = int(scene.sizes["y"]), int(scene.sizes["x"])
        bands = int(scene.sizes["band"])
        depth = int(scene.attrs.get("bit_depth") or np.dtype(scene.dtype).itemsize * 8)
        src = source.open_image(path.name)
        src_pixels = int(src.sizes["y"]) * int(src.sizes["x"])
        src_bits = (
            src_pixels
            * int(src.sizes["band"])
            * int(src.attrs.get("bit_depth") or np.dtype(src.dtype).itemsize * 8)
        )
        if "compressed_bytes" in info:
            bits = 8.0 * float(info["compressed_bytes"])
            kind = "codec stream"
        else:
            bits = float(
                ny * nx * bands * _stored_bits((ds.manifest or {}).get("chain", []), depth)
            )
            kind = "raw samples"
        rows[path.name] = {
            "bits_per_pixel": bits / src_pixels,
            "compression_ratio": src_bits / bits if bits else np.inf,
            "volume_kind": kind,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "image"
    return frame


def sweep(
    dataset: Dataset | str,
    modifiers: Sequence[Modifier | Mapping[str, Any] | str],
    *,
    reference_metrics: Iterable[str] = ("psnr", "ssim"),
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Measure data volume and quality of ``dataset`` under every modifier.

    Parameters
    ----------
    dataset : Dataset or path
        The original dataset (IQUAFLOW layout).
    modifiers : sequence
        Modifiers, configs (``{"id": "jpeg", "quality": 70}``) or CLI specs
        (``"jpeg:quality=70"``). Their modified copies are written beside the dataset
        (reused when they already exist with the same configuration).
    reference_metrics : iterable of str
        Full-reference metrics computed against the original images.
    progress : callable, optional
        Called with a short message before each step.

    Returns
    -------
    pandas.DataFrame
        One row per (setting, image): ``setting`` (the modifier's folder name; ``original``
        for the source), ``image``, ``bits_per_pixel``, ``compression_ratio``,
        ``volume_kind``, the reference metrics and :data:`BLIND_COLUMNS`.
    """
    say = progress or (lambda message: None)
    source = dataset if isinstance(dataset, Dataset) else open_dataset(dataset)
    say(f"measuring original {source.name}")
    original = _volume(source, source).join(_blind(source))
    for metric in reference_metrics:
        original[metric] = np.inf if metric == "psnr" else 1.0
    frames = [original.assign(setting="original")]
    for spec in modifiers:
        mod = as_modifier(spec)
        say(f"applying {mod!r}")
        derived = modify(source, mod)
        say(f"measuring {derived.name}")
        ref = compare_datasets(source, derived, metrics=list(reference_metrics))
        frames.append(
            _volume(derived, source).join(ref).join(_blind(derived)).assign(setting=mod.folder_name)
        )
    table = pd.concat(frames).reset_index()
    first = ["setting", "image", "bits_per_pixel", "compression_ratio", "volume_kind"]
    return table[first + [c for c in table.columns if c not in first]]


def cheapest_setting(
    table: pd.DataFrame, targets: Mapping[str, float], *, relative_to_original: Iterable[str] = ()
) -> dict[str, Any]:
    """The setting with the fewest mean bits per pixel whose mean quality meets ``targets``.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`sweep`.
    targets : mapping
        Column -> minimum acceptable mean value (e.g. ``{"ssim": 0.95}``). For columns in
        ``relative_to_original`` the target is a fraction of the original's mean
        (``{"rer_x": 0.9}`` = at least 90 % of the original RER).
    relative_to_original : iterable of str
        Columns whose targets are relative.

    Returns
    -------
    dict
        ``setting``, ``bits_per_pixel``, the measured means of the target columns,
        ``thresholds`` and ``candidates`` (all settings, cheapest first, with pass/fail).
        ``setting`` is None when nothing meets the targets.
    """
    unknown = [c for c in targets if c not in table.columns]
    if unknown:
        raise InvalidParameterError(
            f"unknown target column(s) {unknown}; have {list(table.columns)}"
        )
    means = table.groupby("setting", sort=False).mean(numeric_only=True)
    relative = set(relative_to_original)
    thresholds = {
        c: float(v) * (float(means.loc["original", c]) if c in relative else 1.0)
        for c, v in targets.items()
    }
    passed = np.logical_and.reduce([means[c] >= t for c, t in thresholds.items()])
    means = means.assign(meets_target=passed).sort_values("bits_per_pixel")
    candidates = [
        {
            "setting": s,
            "bits_per_pixel": float(r.bits_per_pixel),
            "meets_target": bool(r.meets_target),
            **{c: float(r[c]) for c in thresholds},
        }
        for s, r in means.iterrows()
    ]
    ok = means[means["meets_target"] & (means.index != "original")]
    if ok.empty:
        return {"setting": None, "thresholds": thresholds, "candidates": candidates}
    best = ok.index[0]
    return {
        "setting": best,
        "bits_per_pixel": float(ok.loc[best, "bits_per_pixel"]),
        **{c: float(ok.loc[best, c]) for c in thresholds},
        "thresholds": thresholds,
        "candidates": candidates,
    }
