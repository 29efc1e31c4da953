"""``iqx measure``: blind quality (SNR, sharpness) of a raster or of every image of a dataset."""

from __future__ import annotations

import argparse
from typing import Any

from iqx.cli._commands import command_parser
from iqx.cli._inputs import add_bit_depth_option, iter_scenes
from iqx.cli._output import dumps
from iqx.errors import InvalidParameterError

__all__ = ["add_parser", "run"]

#: registered metric -> the calls (keyword arguments) whose flat summaries make its keys;
#: each summary is the one the registration declares (``register_metric(flat_summary=)``)
BLIND_METRICS: dict[str, tuple[dict[str, Any], ...]] = {
    "snr": ({"method": "hb"}, {"method": "ha"}, {}),  # snr_hb, snr_ha, snr (blocks)
    "sharpness": ({},),
    "niirs": ({},),
}


#: What ``--help`` and the text output say about the three SNR estimates.
SNR_GUIDE = (
    "SNR: three estimates are printed. Use 'snr' (method 'blocks': signal-dependent noise "
    "curve from 6x6 blocks, unbiased on flat fields and on photon noise); 'snr_hb' and "
    "'snr_ha' follow IQUAFLOW's definitions (blocks or flat windows whose mean equals the "
    "median DN exactly) for comparison with IQUAFLOW numbers only: they use one DN level "
    "and read 2x lower or higher on real scenes (WorldView-2 pan1: hb 8.1, blocks 15.3). "
    "Blind SNR measures the noise left in the image: denoising by compression (JPEG, JPEG "
    "2000) or by blur raises it, so a higher SNR after a modifier is not better data. "
    "See docs/snr.md."
)
SHARPNESS_GUIDE = (
    "Sharpness: per direction x (edges within 15 deg of vertical), y (of horizontal), "
    "other (the rest) and all: rer_<d>, fwhm_<d> (px), mtf_half_nyquist_<d>, mtf50_<d> "
    "(cy/px), medians over edges; mtf_nyquist_<d> (the pooled estimate from the mean OTF "
    "of the edges where a band has >= 6 edges, else the median per-edge value), "
    "mtf_nyquist_pooled_<d>, n_edges_<d> and low_confidence_<d> (true below 6 edges: "
    "no distribution-free 95% CI of a median exists from fewer). See docs/sharpness.md."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command_parser(
        sub,
        "measure",
        description=(
            "Print one record per image (--format json: JSON Lines) with snr, snr_hb, snr_ha "
            "(+ _std) and the sharpness keys below; null plus a <key>_reason when nothing "
            "was measurable."
        ),
        epilog=SNR_GUIDE + "\n\n" + SHARPNESS_GUIDE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", help="a raster file, a zarr store or a dataset folder")
    p.add_argument(
        "--metrics",
        default="snr,sharpness",
        help="comma-separated subset of: " + ", ".join(BLIND_METRICS),
    )
    p.add_argument("--chunks", type=int, default=None, help="chunk edge in pixels")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="images measured at once for a dataset (processes; default: every core)",
    )
    add_bit_depth_option(p)
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
    from iqx.registry import metrics

    row: dict[str, Any] = {}
    for name in names:
        reg = metrics.get(name)
        for kw in BLIND_METRICS[name]:
            row.update(_summary(reg, reg.target(scene, **kw)))
    return row


def _summary(reg: Any, result: Any) -> dict[str, Any]:
    """The flat summary the registration declares, else the result's own ``flat_summary()``
    (NIIRS), else :func:`iqx.metrics._result.flat_summary` over the outputs."""
    if reg.flat_summary is not None:
        return reg.flat_summary(result)
    if callable(getattr(result, "flat_summary", None)):
        return result.flat_summary()
    from iqx.metrics._result import flat_summary

    return flat_summary(result, reg.outputs)


def run(args: argparse.Namespace) -> int:
    names = parse_metrics(args.metrics)
    if args.workers is not None and args.workers < 1:
        raise InvalidParameterError(f"--workers must be >= 1, got {args.workers}")
    render = (lambda row: dumps(row)) if args.format == "json" else format_row
    for echo, image_name, measured in _records(args, names):
        echo(render({"image": image_name, **measured}))
    if args.format != "json" and "snr" in names:
        print("note: " + SNR_GUIDE.split("Blind SNR ", 1)[1].split(" See ")[0])
    return 0


def _records(args: argparse.Namespace, names: list[str]) -> Any:
    """``(echo, name, record)`` per image: a dataset's images in parallel (a bar of images),
    else the one raster (a bar of dask tasks). ``echo`` prints a line beside the bar."""
    from pathlib import Path

    from iqx.cli._output import image_bar, scheduler_of, task_bar
    from iqx.datasets._scheduler import use_scheduler
    from iqx.io.zarr import is_zarr_store

    path = Path(args.path)
    scheduler = scheduler_of(args)
    if path.is_dir() and not is_zarr_store(path):
        from iqx.datasets import open_dataset
        from iqx.datasets.measure import measure_images

        files = open_dataset(path).image_files
        with image_bar(args, len(files), "measure") as bar:
            rows = measure_images(
                files,
                names,
                chunks=args.chunks,
                bit_depth=args.bit_depth,
                workers=args.workers,
                scheduler=scheduler,
                progress=bar.advance,
            )
            for f, row in zip(files, rows):
                yield bar.echo, f.name, row
        return
    with use_scheduler(scheduler), task_bar(args, "measure"):
        scenes = iter_scenes(args.path, chunks=args.chunks, bit_depth=args.bit_depth)
        for image_name, scene in scenes:
            yield _print, image_name, measure_scene(scene, names)


def _print(text: str) -> None:
    print(text, flush=True)


def _num(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}" if abs(v) < 1e4 else f"{v:.4g}"
    return str(v)


def format_row(row: dict[str, Any]) -> str:
    """Text rendering of one measured image: SNR line(s), one sharpness row per direction."""
    head = f"{row['image']}: "
    if "snr" in row:
        std = row.get("snr_std")
        head += (
            f"snr {_num(row['snr'], 2)}"
            + (f" +- {_num(std, 2)}" if std is not None else "")
            + f"  (blocks; IQUAFLOW hb {_num(row.get('snr_hb'), 2)}, "
            f"ha {_num(row.get('snr_ha'), 2)})"
            + (f"  [{row['snr_reason']}]" if row["snr"] is None and row.get("snr_reason") else "")
        )
    lines = [head.rstrip()]
    if "niirs" in row:
        lines.append(_niirs_line(row))
    dirs = [d for d in ("x", "y", "other", "all") if f"n_edges_{d}" in row]
    if dirs:
        lines.append(
            f"  {'direction':<9} {'edges':>5} {'RER':>6} {'FWHM':>6} {'MTF@Nyq/2':>9} "
            f"{'MTF@Nyq':>8} {'pooled':>7} {'MTF50':>6}"
        )
        for d in dirs:
            n = row[f"n_edges_{d}"]
            flag = "  low confidence" if row.get(f"low_confidence_{d}") and n else ""
            lines.append(
                f"  {d:<9} {n:>5} {_num(row.get(f'rer_{d}')):>6} "
                f"{_num(row.get(f'fwhm_{d}'), 2):>6} {_num(row.get(f'mtf_half_nyquist_{d}')):>9} "
                f"{_num(row.get(f'mtf_nyquist_{d}')):>8} "
                f"{_num(row.get(f'mtf_nyquist_pooled_{d}')):>7} "
                f"{_num(row.get(f'mtf50_{d}')):>6}{flag}"
            )
    return "\n".join(lines)


def _niirs_line(row: dict[str, Any]) -> str:
    """``niirs 4.89 [4.49, 4.98]`` with its inputs, or the reason it is not measurable."""
    if row["niirs"] is None:
        return f"  niirs -  [{row.get('niirs_reason') or 'not measurable'}]"
    return (
        f"  niirs {_num(row['niirs'], 2)} [{_num(row.get('niirs_ci_low'), 2)}, "
        f"{_num(row.get('niirs_ci_high'), 2)}]  (GSD {_num(row.get('niirs_gsd_m'))} m, "
        f"RER x {_num(row.get('niirs_rer_x'))} y {_num(row.get('niirs_rer_y'))}, "
        f"SNR {_num(row.get('niirs_snr'), 1)})"
    )
