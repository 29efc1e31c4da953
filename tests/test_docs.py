"""The documentation builds without a single warning (sphinx -W)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_harness import bytecode_env

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path, docs_pycache, request):
    if any("docs_server" in item.fixturenames for item in request.session.items):
        # the fork server of the executed pages starts its imports now, on the other core,
        # while this single-threaded build runs (both fill the shared bytecode cache)
        request.getfixturevalue("docs_server")
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(tmp_path),
        ],
        env=bytecode_env(dict(os.environ), docs_pycache),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (tmp_path / "index.html").is_file()
