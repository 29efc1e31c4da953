"""``iqx demo``: the showcase — three real studies end to end, no downloads.

It reproduces the shapes of the IQUAFLOW paper's use cases on generated data and
scikit-learn's bundled digits (:mod:`iqx.study.showcase`): noise vs a classifier, JPEG vs
an aircraft detector (cheapest quality found by the search), and compression vs image
quality. Every run is an MLflow run in ``<output>/mlflow.db``; each study's report (HTML and
PNG plots) is in ``<output>/reports/<study>/``; running it again resumes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from iqx.cli._commands import command_parser
from iqx.cli._output import dumps

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command_parser(sub, "demo")
    p.add_argument("--output", default="iqx-demo", help="working folder (default: ./iqx-demo)")
    p.add_argument(
        "--quick", action="store_true", help="smaller data, fewer settings (about a minute or two)"
    )
    p.add_argument(
        "--only",
        default=None,
        help="comma-separated studies to run (noise-vs-classifier, jpeg-vs-detector, "
        "compression-vs-quality; default: all three)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from iqx.cli.study import format_summary
    from iqx.errors import InvalidParameterError
    from iqx.study.showcase import STUDIES, run_showcase

    only = tuple(s.strip() for s in args.only.split(",")) if args.only else STUDIES
    unknown = [s for s in only if s not in STUDIES]
    if unknown:
        raise InvalidParameterError(f"--only: unknown studies {unknown}; choose from {STUDIES}")
    out = Path(args.output).resolve()
    quiet = args.format == "json"

    def say(message: str) -> None:
        if not quiet:
            print(f"[iqx demo] {message}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    results = run_showcase(out, quick=args.quick, only=only, progress=say)
    seconds = time.perf_counter() - start
    if quiet:
        doc = {
            "output": str(out),
            "tracking_uri": f"sqlite:///{(out / 'mlflow.db').as_posix()}",
            "seconds": round(seconds, 1),
            "studies": {name: r.to_dict() for name, r in results.items()},
        }
        print(dumps(doc))
        return 0
    for name, r in results.items():
        print(f"\n=== {name} ({r.executed} runs executed, {r.skipped} resumed) ===")
        target = r.cheapest.get("threshold")
        metric = {"noise-vs-classifier": "val_error", "jpeg-vs-detector": "ap_0.5_all"}.get(
            name, "ssim" if target is not None else None
        )
        print(format_summary(r.summary, metric))
    print("\nAnswers:")
    for name, r in results.items():
        print(f"- {name}: {r.answer}")
    print(
        f"\nruns: {out / 'mlflow.db'}  (mlflow ui --backend-store-uri sqlite:///{out / 'mlflow.db'})"
    )
    print(f"reports: {out / 'reports'}/<study>/report.html  ({seconds:.0f} s)")
    failed = sum(r.failed for r in results.values())
    return 0 if failed == 0 else 1
