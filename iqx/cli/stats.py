"""``iqx stats``: dataset statistics (stats.json, PNG plots, optional interactive HTML)."""

from __future__ import annotations

import argparse

from iqx.cli._commands import command_parser
from iqx.cli._output import dumps

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command_parser(
        sub,
        "stats",
        description=(
            "Image sizes (from headers), class histograms, box / polygon geometry statistics "
            "of a dataset; writes stats.json and PNG plots (and report.html with --html)."
        ),
    )
    p.add_argument("path", help="dataset folder (IQUAFLOW layout) or one annotation file")
    p.add_argument(
        "--output", "-o", help="output folder (default: <dataset>_stats next to the dataset)"
    )
    p.add_argument("--images", help="images folder (default: discovered)")
    p.add_argument("--html", action="store_true", help="also write the interactive report.html")
    p.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    p.add_argument("--bins", type=int, default=10, help="histogram bins (default: 10)")
    p.add_argument(
        "--max-preview", type=int, default=200, help="thumbnails in the HTML report (default 200)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from iqx.annotations.stats import DatasetStats
    from iqx.cli._output import read_headers

    ds = DatasetStats(args.path, images_dir=args.images, bins=args.bins)
    read_headers(args, ds.images, "stats")
    written = ds.write(
        args.output, plots=not args.no_plots, html=args.html, max_preview=args.max_preview
    )
    stats = ds.compute()
    if args.format == "json":
        print(dumps({**stats, "written": written}, indent=2))
        return 0
    im = stats["images"]
    print(f"dataset {stats['dataset']}: {im['count']} images ({len(im['unreadable'])} unreadable)")
    if im["readable"]:
        print(
            f"  width {im['width']['min']:.0f}..{im['width']['max']:.0f} (mean "
            f"{im['mean_width']:.1f}), height {im['height']['min']:.0f}..{im['height']['max']:.0f}"
            f" (mean {im['mean_height']:.1f})"
        )
    for f in stats["annotation_files"]:
        print(f"{f['file']} [{f['format']}]: {f['n_annotations']} annotations")
        pairs = sorted(zip(f["classes"]["counts"], f["classes"]["names"]), reverse=True)[:10]
        if pairs:
            print("  classes: " + ", ".join(f"{n} {c}" for c, n in pairs))
    print(f"stats: {written['stats']}")
    if written["plots"]:
        print(f"plots: {len(written['plots'])} PNG in {written['plots'][0].parent}")
    if written["html"]:
        print(f"html:  {written['html']}")
    return 0
