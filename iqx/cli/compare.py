"""``iqx compare REF TEST``: full-reference metrics of two rasters or two dataset folders.

Output (``--format json``): **one JSON object per line**, one line per image, in the
reference's sorted file-name order: ``{"image": "<file name>", "psnr": 31.2, "ssim": 0.93}``
(infinite PSNR of identical images is written as ``null``). With ``--summary`` a last line
``{"summary": true, "reference": ..., "test": ..., "n_images": N, "psnr": <mean>, ...}``
holds the per-dataset means. ``--format text`` prints ``name: psnr=31.2, ssim=0.93``.
"""

from __future__ import annotations

import argparse
import math

from iqx.cli._commands import command_parser
from iqx.cli._inputs import add_bit_depth_option
from iqx.cli._output import dumps
from iqx.errors import InvalidParameterError

__all__ = ["add_parser", "parse_metric_ids", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command_parser(
        sub,
        "compare",
        description=(
            "Compare TEST with REF: two raster files, or two dataset folders whose images are "
            "matched by file name (e.g. ds and ds#jpeg70). Prints one JSON object per image "
            "and line with the keys image, <metric>... (see docs/reference-metrics.md)."
        ),
    )
    p.add_argument("reference", help="reference raster or dataset folder")
    p.add_argument("test", help="test raster or dataset folder (same file names)")
    p.add_argument(
        "--metrics",
        default="psnr,ssim",
        help="comma-separated registered full-reference metrics "
        "(psnr, ssim, ms_ssim, mse, rmse, ergas, sam; default psnr,ssim)",
    )
    p.add_argument(
        "--data-range",
        type=float,
        default=None,
        help="dynamic range L of PSNR/SSIM (default: 2**bit_depth - 1 with the bit depth of "
        "--bit-depth, else the files' NBITS, else measured from both images, else the dtype; "
        "required for floats). The data_range and data_range_source keys say which was used",
    )
    add_bit_depth_option(p)
    p.add_argument(
        "--window",
        choices=("gaussian", "uniform"),
        default=None,
        help="SSIM window: gaussian (sigma 1.5, Wang 2004; default) or uniform (7x7, skimage)",
    )
    p.add_argument("--ratio", type=float, default=None, help="ERGAS h/l pixel-size ratio")
    p.add_argument(
        "--per-band", action="store_true", help="also print per-band values (<var>_<band>)"
    )
    p.add_argument(
        "--skip-missing",
        action="store_true",
        help="compare the common file names instead of failing when the sets differ",
    )
    p.add_argument("--summary", action="store_true", help="print per-dataset means last")
    p.add_argument("--chunks", type=int, default=None, help="chunk edge in pixels")
    p.set_defaults(func=run)


def parse_metric_ids(text: str) -> list[str]:
    """Split ``--metrics`` and check that every id is a registered metric."""
    from iqx.registry import metrics

    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in metrics]
    if unknown or not names:
        raise InvalidParameterError(
            f"unknown metric(s) {unknown or text!r}; registered: {', '.join(metrics.ids())}"
        )
    return names


def _fmt(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def format_row(image: str, values: dict[str, float | str]) -> str:
    """Text rendering of one compared pair: ``name: psnr=31.2, ssim=0.93, ...``."""
    return f"{image}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in values.items())


def _n_pairs(args: argparse.Namespace) -> int:
    """Images that will be compared (0 for two files: their bar counts dask tasks)."""
    from pathlib import Path

    from iqx.datasets.compare import _is_zarr, match_images

    ref, test = Path(args.reference), Path(args.test)
    if not (ref.is_dir() and test.is_dir()) or _is_zarr(ref):
        return 0
    from iqx.datasets import open_dataset

    on_missing = "skip" if args.skip_missing else "error"
    return len(match_images(open_dataset(ref), open_dataset(test), on_missing=on_missing))


def run(args: argparse.Namespace) -> int:
    from iqx.cli._output import image_bar, scheduler_of, task_bar
    from iqx.datasets.compare import check_reference_metric, compare_paths, summarize

    names = parse_metric_ids(args.metrics)
    for name in names:  # before any image is opened
        check_reference_metric(name)
    n = _n_pairs(args)
    with image_bar(args, n, "compare") as bar, task_bar(args, "compare", enabled=n == 0):
        frame = compare_paths(
            args.reference,
            args.test,
            metrics=names,
            per_band=args.per_band,
            on_missing="skip" if args.skip_missing else "error",
            chunks=args.chunks,
            data_range=args.data_range,
            bit_depth=args.bit_depth,
            window=args.window,
            ratio=args.ratio,
            scheduler=scheduler_of(args),
            progress=bar.advance if n else None,
        )
    for image, row in frame.iterrows():
        values = {k: v if isinstance(v, str) else float(v) for k, v in row.items()}
        if args.format == "json":
            print(dumps({"image": image, **values}), flush=True)
        else:
            print(format_row(str(image), values), flush=True)
    if args.summary:
        means = summarize(frame)
        head = {
            "summary": True,
            "reference": str(args.reference),
            "test": str(args.test),
            "n_images": len(frame),
        }
        if args.format == "json":
            print(dumps({**head, **means}), flush=True)
        else:
            print(
                f"mean over {len(frame)} images: "
                + ", ".join(f"{k}={_fmt(v)}" for k, v in means.items())
            )
    return 0
