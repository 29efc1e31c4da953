"""``iqx demo``: the main job — a small compression study on a generated sample dataset.

It writes a sample dataset, derives JPEG (several qualities), bit-quantized, blurred and noisy
copies, measures data volume (bits per pixel), full-reference similarity (PSNR, SSIM) and
blind quality (SNR, RER, MTF at Nyquist) of every copy, and reports the cheapest setting
that keeps SSIM >= 0.95 and at least 90 % of the original's RER along x and y.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from iqx.cli._output import add_format_option, dumps

__all__ = ["DEFAULT_SETTINGS", "add_parser", "run"]

DEFAULT_SETTINGS = (
    "jpeg:quality=95",
    "jpeg:quality=85",
    "jpeg:quality=70",
    "jpeg:quality=50",
    "jpeg:quality=30",
    "jpeg:quality=10",
    "quantize:bits=6",
    "quantize:bits=4",
    "gaussian_blur:sigma=1.0",
    "gaussian_noise:sigma=4,seed=0",
)
TARGETS = {"ssim": 0.95, "rer_x": 0.9, "rer_y": 0.9}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a small end-to-end compression study (no downloads)")
    p.add_argument("--output", default="iqx-demo", help="working folder (default: ./iqx-demo)")
    p.add_argument("--images", type=int, default=2, help="number of sample images")
    p.add_argument("--size", type=int, default=768, help="sample image edge in pixels")
    p.add_argument(
        "--modifier",
        action="append",
        default=None,
        help="a setting to test, e.g. jpeg:quality=70 (repeatable; default: a built-in sweep)",
    )
    add_format_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from iqx.cli.info import dataset_info
    from iqx.experiment import cheapest_setting, sweep
    from iqx.experiment.sample_dataset import write_sample_dataset

    out = Path(args.output)
    quiet = args.format == "json"

    def say(message: str) -> None:
        if not quiet:
            print(f"[iqx demo] {message}", file=sys.stderr, flush=True)

    say(f"writing the sample dataset into {out / 'sample'}")
    ds = write_sample_dataset(out / "sample", n_images=args.images, size=args.size)
    info = dataset_info(ds.data_path)
    table = sweep(ds, args.modifier or DEFAULT_SETTINGS, workdir=out.resolve(), progress=say)
    best = cheapest_setting(table, TARGETS, relative_to_original=("rer_x", "rer_y"))
    table.to_csv(out / "results.csv", index=False)
    summary = {"dataset": info, "targets": TARGETS, "cheapest": best}
    (out / "results.json").write_text(dumps(summary, indent=2))
    if quiet:
        print(dumps(summary))
        return 0
    means = table.groupby("setting", sort=False).mean(numeric_only=True)
    cols = [
        "bits_per_pixel",
        "compression_ratio",
        "psnr",
        "ssim",
        "snr",
        "rer_x",
        "rer_y",
        "mtf_nyquist_x",
    ]
    print(f"\nsample dataset: {info['name']} ({info['n_images']} images) in {out / 'sample'}\n")
    print(means[cols].round(3).to_string())
    if best["setting"] is None:
        print("\nno setting meets the targets", TARGETS)
    else:
        print(
            f"\ncheapest setting meeting SSIM >= {TARGETS['ssim']} and RER >= 90% of the original: "
            f"{best['setting']} at {best['bits_per_pixel']:.3f} bits/pixel"
        )
    print(f"per-image results: {out / 'results.csv'}; summary: {out / 'results.json'}")
    return 0
