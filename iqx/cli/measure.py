"""``iqx measure``: blind quality (SNR, sharpness) of a raster or of every image of a dataset."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from iqx.cli._inputs import add_bit_depth_option, iter_scenes
from iqx.cli._output import add_format_option, dumps
from iqx.errors import InvalidParameterError

__all__ = ["add_parser", "run"]

#: metric name -> module whose ``flat_summary(scene)`` gives the CLI keys
BLIND_METRICS = {"snr": "iqx.metrics.snr", "sharpness": "iqx.metrics.sharpness"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "measure",
        help="blind quality metrics of a raster or a dataset",
        description=(
            "Print one JSON object per image with snr_hb, snr_ha, snr, rer_x, rer_y, fwhm_x, "
            "fwhm_y, mtf_nyquist_x, mtf_nyquist_y, mtf50_x, mtf50_y, n_edges_x, n_edges_y "
            "(medians over edges; null plus a <key>_reason when nothing was measurable)."
        ),
    )
    p.add_argument("path", help="a raster file, a zarr store or a dataset folder")
    p.add_argument(
        "--metrics",
        default="snr,sharpness",
        help="comma-separated subset of: " + ", ".join(BLIND_METRICS),
    )
    p.add_argument("--chunks", type=int, default=None, help="chunk edge in pixels")
    add_bit_depth_option(p)
    add_format_option(p)
    p.set_defaults(func=run)


def parse_metrics(text: str) -> list[str]:
    """Split ``--metrics`` and check every name."""
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in BLIND_METRICS]
    if unknown or not names:
        raise InvalidParameterError(
            f"unknown metric(s) {unknown or text!r}; choose from {', '.join(BLIND_METRICS)}"
        )
    return names


def measure_scene(scene: Any, names: list[str]) -> dict[str, Any]:
    """The flat summary of every requested blind metric for one scene."""
    row: dict[str, Any] = {}
    for name in names:
        module = importlib.import_module(BLIND_METRICS[name])
        row.update(module.flat_summary(scene))
    return row


def run(args: argparse.Namespace) -> int:
    names = parse_metrics(args.metrics)
    for image_name, scene in iter_scenes(
        args.path, chunks=args.chunks, bit_depth=args.bit_depth
    ):
        row = {"image": image_name, **measure_scene(scene, names)}
        if args.format == "json":
            print(dumps(row), flush=True)
        else:
            values = ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in row.items()
                if k != "image" and not k.endswith("_reason")
            )
            print(f"{image_name}: {values}", flush=True)
    return 0
