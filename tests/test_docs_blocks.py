"""Every code block of docs/*.md and README.md runs (or is marked not runnable, with a reason).

The conventions and the sandbox are in :mod:`tests.docs_harness`; this file runs each page in
a fresh interpreter in a copy of the sandbox, and checks that the harness itself fails where it
must (a failing block, a skip without a reason, a command that needs a shell).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tests.docs_harness import REPO, DocBlockError, parse_page, run_page, sandbox_fixture

PAGES = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]


@pytest.fixture(scope="session")
def docs_sandbox(tmp_path_factory) -> Path:
    return sandbox_fixture(tmp_path_factory)


def _run(page, sandbox: Path, tmp_path: Path):
    work = tmp_path / "work"
    shutil.copytree(sandbox, work)
    return run_page(page, work)


@pytest.mark.slow
@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_page_blocks_run(path, docs_sandbox, tmp_path):
    page = parse_page(path)
    if not page.runnable:
        return
    proc = _run(page, docs_sandbox, tmp_path)
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


def test_a_failing_block_fails_with_its_page_line(tmp_path):
    page = parse_page(
        _page(
            tmp_path,
            """\
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
            """,
        )
    )
    work = tmp_path / "work"
    work.mkdir()
    proc = run_page(page, work)
    assert proc.returncode == 1
    assert "IQX-DOC FAILED" in proc.stderr and "page.md:12 (python)" in proc.stderr
    assert "NameError" in proc.stderr and 'page.md", line 14' in proc.stderr
    assert "y = x + undefined_name" in proc.stderr  # the source line, read from the page


def test_a_failing_command_fails(tmp_path):
    page = parse_page(_page(tmp_path, "```console\n$ iqx info missing.tif\n```\n"))
    work = tmp_path / "work"
    work.mkdir()
    proc = run_page(page, work)
    assert proc.returncode == 1 and "exited with" in proc.stderr, proc.stderr
