"""``iqx modify SRC --modifier jpeg:quality=70 [--modifier quantize:bits=10]``."""

from __future__ import annotations

import argparse

from iqx.cli._commands import command_parser
from iqx.cli._inputs import add_bit_depth_option
from iqx.cli._output import dumps

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command_parser(
        sub,
        "modify",
        description=(
            "Apply one modifier (or a chain: repeat --modifier) to every image of an "
            "IQUAFLOW-layout dataset. A modifier is written id:key=value,key=value "
            "(e.g. jpeg:quality=70,subsampling=444) or as a JSON config. "
            "See `iqx list modifiers`."
        ),
    )
    p.add_argument("source", help="dataset folder")
    p.add_argument(
        "-m",
        "--modifier",
        action="append",
        required=True,
        metavar="SPEC",
        help="modifier spec, e.g. jpeg:quality=70 (repeat for a chain)",
    )
    p.add_argument(
        "--one-step",
        action="store_true",
        help="apply a chain as one step (<ds>#a+b) instead of <ds>#a then <ds>#a#b",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a folder made otherwise")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="images per parallel task (default: about 4 tasks per core, at most 256)",
    )
    add_bit_depth_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from iqx.cli._notes import cli_notes
    from iqx.cli._output import image_bar, scheduler_of
    from iqx.datasets import open_dataset
    from iqx.datasets.modify import modify
    from iqx.errors import InvalidParameterError
    from iqx.modifiers import as_modifier

    if args.batch_size is not None and args.batch_size < 1:
        raise InvalidParameterError(f"--batch-size must be >= 1, got {args.batch_size}")
    specs = [as_modifier(s) for s in args.modifier]
    mod = specs[0] if len(specs) == 1 else as_modifier(specs)
    source = open_dataset(args.source)
    steps = 1 if args.one_step else len(specs)
    with (
        image_bar(args, len(source.image_files) * steps, "modify") as bar,
        cli_notes(
            lambda text: bar.echo(text, file=sys.stderr), debug=getattr(args, "debug", False)
        ),
    ):
        ds = modify(
            source,
            mod,
            overwrite=args.overwrite,
            one_step=args.one_step,
            batch_size=args.batch_size,
            bit_depth=args.bit_depth,
            progress=bar.advance,
            scheduler=scheduler_of(args),
        )
    manifest = ds.manifest or {}
    result = {
        "output": str(ds.data_path),
        "modifier": mod.get_config(),
        "params": ds.params,
        "totals": manifest.get("totals", {}),
    }
    if args.format == "json":
        print(dumps(result, indent=2))
        return 0
    print(ds.data_path)
    totals = result["totals"]
    if totals.get("compressed_bytes"):
        raw = totals.get("raw_bits", 0) / 8
        ratio = raw / totals["compressed_bytes"]
        bpp = 8 * totals["compressed_bytes"] / max(totals.get("pixels", 1), 1)
        print(
            f"  {totals['n_files']} images, {totals['compressed_bytes']} compressed bytes, "
            f"{bpp:.3f} bit/px, ratio {ratio:.2f}"
        )
    return 0
