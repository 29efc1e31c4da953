"""Every code block of docs/*.md and README.md runs (or is marked not runnable, with a reason).

The conventions and the sandbox are in :mod:`tests.docs_harness`; this file runs each page in
a fresh process (forked from the warmed-up interpreter of :mod:`tests.docs_forkserver`) in a copy
of the sandbox, and checks that the harness itself fails where it must (a failing block, a skip
without a reason, a command that needs a shell, a page over its timeout) and that pages do not
see each other's state.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.docs_harness import REPO, DocBlockError, parse_page, run_page

PAGES = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]


def _run(page, sandbox: Path, tmp_path: Path, server):
    work = tmp_path / "work"
    shutil.copytree(sandbox, work)
    return run_page(page, work, server)


@pytest.mark.slow
@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_page_blocks_run(path, docs_sandbox, docs_server, tmp_path):
    page = parse_page(path)
    if not page.runnable:
        return
    proc = _run(page, docs_sandbox, tmp_path, docs_server)
    assert proc.returncode == 0, (
        f"a block of {path.name} failed:\n{proc.stderr[-6000:]}\n--- stdout ---\n"
        f"{proc.stdout[-2000:]}"
    )


def _page(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "page.md"
    p.write_text(textwrap.dedent(text))
    return p


@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_page_follows_the_conventions(path):
    parse_page(path)  # raises DocBlockError naming the page and line


def test_a_skip_needs_a_reason(tmp_path):
    p = _page(tmp_path, "<!-- iqx-doc: skip -->\n```python\n1/0\n```\n")
    with pytest.raises(DocBlockError, match=r"page.md:1: a skipped block needs a reason"):
        parse_page(p)
    p = _page(tmp_path, '<!-- iqx-doc: skip reason="  " -->\n\n```python\n1/0\n```\n')
    with pytest.raises(DocBlockError, match="needs a reason"):
        parse_page(p)
    p = _page(tmp_path, '<!-- iqx-doc: skip reason="needs AWS" -->\n\n```python\n1/0\n```\n')
    (block,) = parse_page(p).blocks
    assert block.skip == "needs AWS" and not parse_page(p).runnable


def test_marker_errors(tmp_path):
    cases = {
        '<!-- iqx-doc: skip reason="x" -->\nsome text\n```python\npass\n```\n': "not followed",
        '<!-- iqx-doc: skip reason="x" -->\n': "not followed",
        "<!-- iqx-doc: run -->\n```python\npass\n```\n": "unknown iqx-doc marker",
        "```python\npass\n": "unclosed code fence",
        "```rust\nfn main() {}\n```\n": "unknown code-block language",
        "```toml\n[a\n```\n": "TOML block does not parse",
        "```\nimport iqx\n```\n": "looks like code",
        "```bash\niqx list | head\n```\n": "needs a shell",
        "```bash\npip install iqx\n```\n": "only `iqx ...` commands run",
    }
    for text, message in cases.items():
        with pytest.raises(DocBlockError, match=message):
            parse_page(_page(tmp_path, text))


def test_inline_code_is_not_a_fence(tmp_path):
    page = parse_page(_page(tmp_path, "- a list item\n  ```` ```python ```` is inline code\n"))
    assert page.blocks == []


def test_commands_are_split_without_a_shell(tmp_path):
    page = parse_page(
        _page(
            tmp_path,
            """\
            ```console
            $ iqx measure "a b.tif" --metrics snr \\
                --format json   # a comment
            {"snr": 1}
            ```
            ```bash
            .venv/bin/iqx list
            ```
            """,
        )
    )
    steps = page.steps()
    assert [s["argv"] for s in steps] == [
        ["measure", "a b.tif", "--metrics", "snr", "--format", "json"],
        ["list"],
    ]
    assert steps[0]["where"].endswith("page.md:2")


FAILING_PAGE = """\
# A page

```python
x = 1
```

<!-- iqx-doc: file="data/note.txt" -->
```text
hello
```

```python
assert open("data/note.txt").read() == "hello\\n"
y = x + undefined_name
```
"""


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "fresh-interpreter"])
def test_a_failing_block_fails_with_its_page_line(forked, docs_server, tmp_path):
    if forked and docs_server is None:
        pytest.skip("no os.fork here")
    page = parse_page(_page(tmp_path, FAILING_PAGE))
    work = tmp_path / "work"
    work.mkdir()
    proc = run_page(page, work, docs_server if forked else None)
    assert proc.returncode == 1
    assert "IQX-DOC FAILED" in proc.stderr and "page.md:12 (python)" in proc.stderr
    assert "NameError" in proc.stderr and 'page.md", line 14' in proc.stderr
    assert "y = x + undefined_name" in proc.stderr  # the source line, read from the page


def test_a_failing_command_fails(docs_server, tmp_path):
    page = parse_page(_page(tmp_path, "```console\n$ iqx info missing.tif\n```\n"))
    work = tmp_path / "work"
    work.mkdir()
    proc = run_page(page, work, docs_server)
    assert proc.returncode == 1 and "exited with" in proc.stderr, proc.stderr


def test_a_page_over_its_timeout_is_killed(docs_server, tmp_path):
    if docs_server is None:
        pytest.skip("no os.fork here (subprocess.run kills the page, not its children)")
    page = parse_page(
        _page(
            tmp_path,
            """\
            <!-- iqx-doc: page timeout="3" -->
            ```python
            import subprocess, sys, time
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            open("child.pid", "w").write(str(child.pid))
            time.sleep(60)
            ```
            """,
        )
    )
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(subprocess.TimeoutExpired):
        run_page(page, work, docs_server)
    pid = int((work / "child.pid").read_text())  # the page's process group is gone, children too
    assert not Path(f"/proc/{pid}").exists() or _proc_state(pid) == "Z"


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


ISOLATION_FIRST = """\
```python
import os
import sys

import numpy as np

leaked = "from the first page"
os.environ["IQX_DOC_LEAK"] = "1"
sys.modules["iqx_doc_leak"] = sys
open("leak.txt", "w").write("first")
np.random.seed(0)
print("first draw", np.random.random())
```
"""

ISOLATION_SECOND = """\
```python
import os
import sys
from pathlib import Path

import numpy as np

assert "leaked" not in globals(), "a page sees another page's variables"
assert "IQX_DOC_LEAK" not in os.environ, "a page sees another page's environment"
assert "iqx_doc_leak" not in sys.modules, "a page sees another page's imports"
assert not Path("leak.txt").exists(), "a page sees another page's files"
assert Path.cwd().name == "second"
assert sys.path[0] == os.getcwd(), "the page's folder comes first on sys.path (python -m)"
print("second draw", np.random.random())
```
"""


def test_pages_do_not_see_each_other(docs_server, tmp_path):
    """Variables, environment, modules, files and the global RNG stay with their page."""
    procs = []
    for name, text in (("first", ISOLATION_FIRST), ("second", ISOLATION_SECOND)):
        (tmp_path / name).mkdir()
        page = parse_page(_page(tmp_path / name, text))
        procs.append(run_page(page, tmp_path / name, docs_server))
        assert procs[-1].returncode == 0, procs[-1].stderr
    draws = [p.stdout.split()[-1] for p in procs]
    assert draws[0] == "0.5488135039273248"  # seeded: np.random.default_rng is not involved
    # the second page's unseeded global RNG is a fresh interpreter's, not the server's copy
    again = run_page(parse_page(tmp_path / "second" / "page.md"), tmp_path / "second", docs_server)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split()[-1] != draws[1]
