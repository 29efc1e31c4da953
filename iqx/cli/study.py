"""``iqx study run|check|report``: declarative studies (``STUDY.toml``, see docs/studies.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from iqx.cli._commands import add_common_options, add_format_option, command_parser
from iqx.cli._output import dumps

__all__ = ["add_parser", "format_summary", "run", "sweep_listing"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command_parser(sub, "study")
    actions = p.add_subparsers(dest="study_command", metavar="ACTION")
    actions.required = True
    r = actions.add_parser("run", help="validate, run (or resume) a study, answer its target")
    r.add_argument("study", help="STUDY.toml (or the folder holding it)")
    r.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    r.add_argument("--report-dir", default=None, help="report folder (default: [study] report)")
    add_format_option(r)
    add_common_options(r)
    r.set_defaults(func=run)
    c = actions.add_parser("check", help="validate STUDY.toml only (every problem, with lines)")
    c.add_argument("study", help="STUDY.toml (or the folder holding it)")
    add_format_option(c)
    add_common_options(c)
    c.set_defaults(func=run_check)
    rep = actions.add_parser("report", help="rebuild a study's HTML report from MLflow alone")
    rep.add_argument("name", help="the study's name (its MLflow experiment)")
    rep.add_argument(
        "--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI or ./mlflow.db"
    )
    rep.add_argument("--output", default=None, help="report folder (default: ./<name>-report)")
    add_format_option(rep)
    add_common_options(rep)
    rep.set_defaults(func=run_report)


def _say(quiet: bool):
    def say(message: str) -> None:
        if not quiet:
            print(f"[iqx study] {message}", file=sys.stderr, flush=True)

    return say


def format_summary(summary: Any, metric: str | None = None) -> str:
    """The summary table as text: data volume, the target metric and task metrics."""
    from iqx.study.results import task_columns

    if summary is None or summary.empty:
        return "(no finished run)"
    cols = ["family", "setting", "strength", "bits_per_pixel"]
    wanted = [metric] if metric else []
    wanted += [c for c in task_columns(summary) if not c.endswith("_std")][:2]
    wanted += [c for c in ("ssim", "psnr", "snr", "img_ssim", "img_snr") if c in summary][:2]
    for m in dict.fromkeys(w for w in wanted if w and w in summary):
        cols.append(m)
        if f"{m}_std" in summary and summary[f"{m}_std"].notna().any():
            cols.append(f"{m}_std")
        if f"{m}_se" in summary:  # a measurement's standard error (NIIRS)
            cols.append(f"{m}_se")
    cols.append("n_runs")
    shown = summary[[c for c in cols if c in summary]].copy()
    return shown.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")


def run(args: argparse.Namespace) -> int:
    from iqx.study import load_study, run_study

    quiet = args.format == "json"
    cfg = load_study(args.study)  # every problem before any work
    result = run_study(
        cfg, progress=_say(quiet), report=not args.no_report, report_dir=args.report_dir
    )
    if quiet:
        print(dumps(result.to_dict()))
        return 0
    metric = cfg.target.metric if cfg.target else None
    print(
        f"\nstudy {result.name}: {result.executed} runs executed, {result.skipped} resumed "
        f"(already finished), {result.failed} failed\n"
    )
    print(format_summary(result.summary, metric))
    print(f"\n{result.answer}")
    if result.report:
        print(f"report: {result.report['html']}")
    return 0 if result.failed == 0 else 1


def sweep_listing(cfg: Any) -> dict[str, dict[str, Any]]:
    """Every sweep of a study with every setting it runs (the JSON of ``iqx study check``).

    Per family, named as the run table names it (a grid or a chain: its steps joined by
    ``+``, ``sensor+jpeg``): the swept ``parameter`` (a
    grid's x axis), its ``values``, the grid's other swept parameters (``series``) and
    ``settings``: the name of every setting, as the study's tables and run names show it.
    """
    from iqx.experiment.runs import setting_name

    return {
        s.family: {
            "parameter": s.parameter,
            "values": list(s.values),
            "series": list(s.series),
            "settings": [setting_name(c) for c in s.settings],
        }
        for s in cfg.sweeps
    }


def run_check(args: argparse.Namespace) -> int:
    from iqx.study import load_study

    cfg = load_study(args.study)
    sweeps = sweep_listing(cfg)
    runs = sum(len(s["settings"]) for s in sweeps.values()) + int(cfg.include_reference)
    info = {
        "study": cfg.name,
        "valid": True,
        "settings": runs,
        "include_reference": cfg.include_reference,
        "bit_depth": cfg.data.bit_depth,
        "sweeps": sweeps,
        "script": str(cfg.task.script) if cfg.task.script else None,
        "repetitions": cfg.task.repetitions,
    }
    if args.format == "json":
        print(dumps(info))
        return 0
    print(f"{cfg.path}: valid; {runs} settings x {cfg.task.repetitions} repetitions")
    if cfg.data.bit_depth is not None:
        print(f"  bit depth: {cfg.data.bit_depth} bits per sample (declared in [data])")
    if cfg.include_reference:
        print("  original: the unmodified baseline")
    for family, sweep in sweeps.items():
        axes = [a for a in (sweep["parameter"], *sweep["series"]) if a]
        what = f" ({' x '.join(axes)})" if axes else ""
        n = len(sweep["settings"])
        print(f"  {family}{what}: {n} setting{'s' if n != 1 else ''}")
        for name in sweep["settings"]:
            print(f"    {name}")
    return 0


def _missing_store(tracking_uri: str | None) -> str | None:
    """The path of a local SQLite store that does not exist (None: exists, or not local).

    Opening a missing SQLite store would create an empty one (and log its creation) before
    saying the study is not there; ``iqx study report`` only reads.
    """
    import os
    from pathlib import Path

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    if not uri.startswith("sqlite:///"):
        return None
    path = Path(uri[len("sqlite:///") :])
    return None if path.is_file() else str(path)


def run_report(args: argparse.Namespace) -> int:
    from iqx.errors import PathNotFoundError
    from iqx.study import write_report

    missing = _missing_store(args.tracking_uri)
    if missing is not None:
        raise PathNotFoundError(
            f"{missing}: no MLflow store (run the study first, or pass --tracking-uri)"
        )
    written = write_report(
        args.name, args.output or f"{args.name}-report", tracking_uri=args.tracking_uri
    )
    if args.format == "json":
        print(
            dumps(
                {
                    "html": str(written["html"]),
                    "plots": [str(p) for p in written["plots"]],
                    "answer": written["answer"],
                }
            )
        )
    else:
        print(written["answer"])
        print(f"report: {written['html']} ({len(written['plots'])} plots)")
    return 0
