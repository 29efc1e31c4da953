"""``iqx sanity``: check a dataset's annotations and write a sanitized copy plus a report."""

from __future__ import annotations

import argparse

from iqx.cli._commands import command_parser
from iqx.cli._output import dumps

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command_parser(
        sub,
        "sanity",
        description=(
            "Check a dataset's COCO / GeoJSON annotations (IQUAFLOW's error codes and more), "
            "write sanitized copies and sanity_report.json/.txt to --output. The input is "
            "never edited: the output may not lie inside the dataset, and files already in it "
            "are replaced only with --overwrite. Exit status: 0 no problem, 1 problems found (and fixed in the "
            "copy), 2 error."
        ),
    )
    p.add_argument("path", help="dataset folder (IQUAFLOW layout) or one annotation file")
    p.add_argument(
        "--output", "-o", help="output folder (default: <dataset>_sanitized next to the dataset)"
    )
    p.add_argument(
        "--repair",
        choices=("make_valid", "buffer0"),
        default="make_valid",
        help="invalid-geometry repair: shapely.make_valid (default) or IQUAFLOW's buffer(0)",
    )
    p.add_argument("--images", help="images folder (default: discovered)")
    p.add_argument("--check-only", action="store_true", help="report the problems, write nothing")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace files already in the output folder (refused otherwise)",
    )
    p.add_argument(
        "--no-file-check",
        action="store_true",
        help="do not open image files (no missing/unreadable/size checks)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from iqx.annotations.sanity import SanityCheck
    from iqx.cli._output import read_headers

    sc = SanityCheck(
        args.path,
        args.output,
        images_dir=args.images,
        repair=args.repair,
        check_files=not args.no_file_check,
        overwrite=args.overwrite,
    )
    read_headers(args, sc.images, "sanity")
    report = sc.check() if args.check_only else sc.autofix()
    if args.format == "json":
        print(dumps(report.to_dict(), indent=2))
    else:
        text = report.to_text()
        lines = text.splitlines()
        if len(lines) > 60:
            lines = [*lines[:60], f"... ({len(report.problems)} problems in total)"]
        print("\n".join(lines))
        if report.output_path:
            print(f"report: {report.output_path}/sanity_report.txt (and .json)")
    return 0 if report.ok else 1
