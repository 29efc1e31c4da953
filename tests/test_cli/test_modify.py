"""``iqx modify`` on the command line: specs, chains, JSON output, errors."""

from __future__ import annotations

import argparse
import json
import shutil

import pytest

import iqx.modifiers as M
from iqx.cli import modify as cli_modify


def _main(argv):
    """Run the `modify` subcommand through argparse like iqx.cli.main does."""
    from iqx.cli.main import main

    try:
        return main(argv)
    except (ImportError, SystemExit) as exc:  # other subcommands may not exist yet
        if isinstance(exc, SystemExit):
            raise
        parser = argparse.ArgumentParser(prog="iqx")
        sub = parser.add_subparsers(dest="command")
        cli_modify.add_parser(sub)
        args = parser.parse_args(argv)
        return args.func(args)


@pytest.fixture
def coco_ds(shared_data, tmp_path):
    src = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_coco_dataset"
    return shutil.copytree(src, tmp_path / "ds_coco")


def test_cli_chain_json(coco_ds, capsys):
    rc = _main(
        [
            "modify",
            str(coco_ds),
            "--modifier",
            "jpeg:quality=70,subsampling=444",
            "--modifier",
            "quantize:bits=6",
            "--format",
            "json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["output"].endswith("ds_coco#jpeg_q70_ss444#quantize_b6")
    assert M.from_config(out["modifier"]) == M.chain(
        M.jpeg(quality=70, subsampling="4:4:4"), M.quantize(bits=6)
    )
    assert out["params"]["modifier"] == "jpeg_q70_ss444#quantize_b6"


def test_cli_same_config_as_python(coco_ds, capsys):
    import iqx

    assert _main(["modify", str(coco_ds), "-m", "jpeg:quality=70", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ds = iqx.modify(coco_ds, M.jpeg(quality=70))  # no-op: same config
    assert out["output"] == str(ds.data_path)
    assert out["totals"]["compressed_bytes"] == ds.manifest["totals"]["compressed_bytes"]


def test_cli_bad_spec_is_one_line_error(coco_ds, capsys):
    from iqx.cli.main import main

    try:
        rc = main(["modify", str(coco_ds), "-m", "jpeg:quality=500"])
    except ImportError:
        pytest.skip("iqx.cli.main cannot build every subcommand yet")
    assert rc == 2
    assert "quality" in capsys.readouterr().err
