"""Every gallery example (docs/examples/*.py) runs, as a user runs it, in the docs sandbox.

Each runs as ``python example.py`` would (``runpy.run_path`` as ``__main__``, its folder first
on ``sys.path``) in a fresh process forked from :mod:`tests.docs_forkserver`, or in a new
interpreter where there is no :func:`os.fork`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.docs_harness import REPO

EXAMPLES = sorted((REPO / "docs" / "examples").glob("*.py"))


def test_the_gallery_lists_every_example():
    gallery = (REPO / "docs" / "gallery.md").read_text()
    missing = [p.name for p in EXAMPLES if f"examples/{p.name}" not in gallery]
    assert not missing, f"docs/gallery.md does not show {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(example, docs_sandbox, docs_server, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(docs_sandbox, work)
    args = [sys.executable, str(example)]
    if docs_server is not None:
        proc = docs_server.run(args, cwd=work, timeout=300, script=str(example))
    else:
        env = {**os.environ, "MPLBACKEND": "Agg"}
        env.pop("MLFLOW_TRACKING_URI", None)
        proc = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{example.name} failed:\n{proc.stderr[-4000:]}"
    assert proc.stdout.strip(), f"{example.name} printed nothing"
