"""Run the code blocks of a Markdown page (the docs harness behind ``tests/test_docs_blocks.py``).

Conventions (also in ``docs/writing-docs.md``)
------------------------------------------------
* ```` ```python ```` blocks run, in order, in **one fresh process per page** (blocks of a
  page share their names, like a doctest session), in a temporary working folder holding the
  docs sandbox (:func:`write_sandbox`). A traceback names the page and its line. The process
  is forked from :mod:`tests.docs_forkserver`'s warmed-up interpreter (nothing of another
  page is in it), or is a new interpreter where there is no fork.
* ```` ```console ```` blocks: each ``$ `` line is a command, the other lines are its output
  (not compared). ```` ```bash ````/```` ```sh ````/```` ```shell ````: every line is a command
  (``\\`` continues a line, ``#`` starts a comment). Commands are split with :mod:`shlex` and
  run without a shell: only ``iqx ...`` runs (through :func:`iqx.cli.main.main`, in the page's
  interpreter, exit status 0 required). Pipes, ``&&``, redirections and other programs must be
  marked not runnable.
* ```` ```toml ```` and ```` ```json ```` blocks must parse. Unlabelled and ```` ```text ````
  blocks are output or synopses and are not run (one that starts like code, ``import`` or
  ``$ ``, is an error: label it). Directives (```` ```{eval-rst} ````, ```` ```{note} ````) are
  Sphinx's.
* A marker in an HTML comment right before a fence (blank lines allowed) changes it:

  - ``<!-- iqx-doc: skip reason="needs AWS credentials" -->``: not run; the reason is required.
  - ``<!-- iqx-doc: file="STUDY.toml" -->``: the block is written to that path of the working
    folder (in page order) instead of being run, for later blocks to use.

  A page-wide marker anywhere: ``<!-- iqx-doc: page timeout="300" -->`` (seconds for the whole
  page, default 240).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY_LANGS = {"python", "py", "python3"}
SH_LANGS = {"console", "bash", "sh", "shell"}
DATA_LANGS = {"toml", "json"}
TEXT_LANGS = {"", "text", "none", "output", "ini", "yaml", "html", "csv"}
DEFAULT_TIMEOUT = 240.0
_MARKER = re.compile(r"<!--\s*iqx-doc:\s*(.*?)\s*-->", re.S)
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_ATTR = re.compile(r'(\w[\w-]*)\s*=\s*"([^"]*)"')
_SHELL_OPS = {"&&", "||", "|", ";", ">", ">>", "<", "&", "2>", "2>&1"}


class DocBlockError(ValueError):
    """A page breaks the conventions (the message names the page and line)."""


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: str
    line: int  # 1-based line of the first content line
    lang: str
    text: str
    skip: str | None = None  # the reason
    file: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line - 1}"


@dataclass
class Page:
    """The blocks of one page and its options."""

    path: Path
    blocks: list[Block] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT

    def steps(self) -> list[dict]:
        """What the page's interpreter executes, in order (JSON-ready)."""
        out: list[dict] = []
        for b in self.blocks:
            if b.skip is not None:
                continue
            if b.file is not None:
                out.append({"kind": "file", "where": b.where, "path": b.file, "text": b.text})
            elif b.lang in PY_LANGS:
                out.append({"kind": "python", "where": b.where, "line": b.line, "code": b.text})
            elif b.lang in SH_LANGS:
                for line, argv in shell_commands(b):
                    out.append({"kind": "cli", "where": f"{b.page}:{line}", "argv": argv})
        return out

    @property
    def runnable(self) -> list[Block]:
        return [
            b
            for b in self.blocks
            if b.skip is None and (b.file is not None or b.lang in PY_LANGS | SH_LANGS)
        ]


def _attrs(text: str, where: str) -> tuple[str, dict[str, str]]:
    parts = text.split(None, 1)
    if not parts:
        raise DocBlockError(f"{where}: empty iqx-doc marker")
    action, rest = parts[0], parts[1] if len(parts) > 1 else ""
    if "=" in action:  # file="STUDY.toml": the action is the attribute's name
        action, rest = action.split("=", 1)[0], text
    attrs = dict(_ATTR.findall(rest))
    leftover = _ATTR.sub("", rest).strip()
    if leftover:
        raise DocBlockError(f'{where}: cannot read {leftover!r} in the marker (use key="value")')
    return action, attrs


def parse_page(path: str | Path, *, name: str | None = None) -> Page:
    """Split a Markdown page into its fenced blocks with their markers.

    Raises
    ------
    DocBlockError
        A marker without its block, a skip without a reason, an unknown marker or language,
        an unclosed fence, a TOML/JSON block that does not parse.
    """
    path = Path(path)
    name = name or (path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    page = Page(path)
    pending: tuple[int, str, dict[str, str]] | None = None
    i = 0
    while i < len(lines):
        raw = lines[i]
        for m in _MARKER.finditer(raw):
            where = f"{name}:{i + 1}"
            action, attrs = _attrs(m.group(1), where)
            if action == "page":
                unknown = set(attrs) - {"timeout"}
                if unknown:
                    raise DocBlockError(f"{where}: unknown page option(s) {sorted(unknown)}")
                if "timeout" in attrs:
                    page.timeout = float(attrs["timeout"])
                continue
            if action not in ("skip", "file"):
                raise DocBlockError(
                    f"{where}: unknown iqx-doc marker {action!r} (skip, file, page)"
                )
            if action == "skip" and not attrs.get("reason", "").strip():
                raise DocBlockError(f'{where}: a skipped block needs a reason: skip reason="..."')
            if action == "file" and not attrs.get("file", "").strip():
                raise DocBlockError(f'{where}: file marker needs a path: file="STUDY.toml"')
            if pending is not None:
                raise DocBlockError(f"{name}:{pending[0]}: marker not followed by a code block")
            pending = (i + 1, action, attrs)
        if "<!--" in raw and "iqx-doc" in raw and not _MARKER.search(raw):
            raise DocBlockError(f"{name}:{i + 1}: an iqx-doc marker must fit on one line")
        fm = _FENCE.match(raw)
        if fm and fm.group("fence")[0] == "`" and "`" in fm.group("info"):
            fm = None  # CommonMark: a backtick fence's info string has no backtick (inline code)
        if not fm:
            if pending is not None and raw.strip() and not _MARKER.search(raw):
                raise DocBlockError(f"{name}:{pending[0]}: marker not followed by a code block")
            i += 1
            continue
        indent, fence, info = fm.group("indent"), fm.group("fence"), fm.group("info").strip()
        start = i + 1
        j = start
        closer = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while j < len(lines) and not closer.match(lines[j]):
            j += 1
        if j == len(lines):
            raise DocBlockError(f"{name}:{i + 1}: unclosed code fence")
        body = [
            ln[len(indent) :] if ln.startswith(indent) else ln.lstrip() for ln in lines[start:j]
        ]
        text = textwrap.dedent("\n".join(body)) + "\n"
        lang = info.split()[0].lower() if info else ""
        marker = pending
        pending = None
        i = j + 1
        if lang.startswith("{"):  # a MyST directive: Sphinx's business
            if marker is not None:
                raise DocBlockError(f"{name}:{marker[0]}: marker before a directive")
            continue
        block = Block(name, start + 1, lang, text)
        if marker is not None:
            _, action, attrs = marker
            if action == "skip":
                block = Block(name, start + 1, lang, text, skip=attrs["reason"].strip())
            else:
                block = Block(name, start + 1, lang, text, file=attrs["file"].strip())
        _check(block)
        page.blocks.append(block)
    if pending is not None:
        raise DocBlockError(f"{name}:{pending[0]}: marker not followed by a code block")
    return page


def _check(b: Block) -> None:
    known = PY_LANGS | SH_LANGS | DATA_LANGS | TEXT_LANGS
    if b.lang not in known:
        raise DocBlockError(f"{b.where}: unknown code-block language {b.lang!r}")
    if b.skip is not None or b.file is not None:
        return
    if b.lang == "toml":
        try:
            tomllib.loads(b.text)
        except tomllib.TOMLDecodeError as exc:
            raise DocBlockError(f"{b.where}: TOML block does not parse: {exc}") from None
    elif b.lang == "json":
        try:
            json.loads(b.text)
        except json.JSONDecodeError as exc:
            raise DocBlockError(f"{b.where}: JSON block does not parse: {exc}") from None
    elif b.lang in TEXT_LANGS:
        first = next((s.strip() for s in b.text.splitlines() if s.strip()), "")
        if first.startswith(("$ ", ">>> ")) or re.match(r"(import \w|from [\w.]+ import )", first):
            raise DocBlockError(
                f"{b.where}: this unlabelled block looks like code: label it "
                "(```python / ```console) or mark it skip with a reason"
            )
    elif b.lang in SH_LANGS:
        shell_commands(b)  # raises on what cannot run


def shell_commands(b: Block) -> list[tuple[int, list[str]]]:
    """``(line, argv)`` of each command of a console/bash block (no shell involved)."""
    out: list[tuple[int, list[str]]] = []
    lines = b.text.splitlines()
    k = 0
    while k < len(lines):
        line_no = b.line + k
        s = lines[k].rstrip()
        while s.endswith("\\") and k + 1 < len(lines):
            k += 1
            s = s[:-1] + " " + lines[k].strip()
        k += 1
        s = s.strip()
        if b.lang == "console":
            if not s.startswith("$ "):
                continue  # output
            s = s[2:]
        if not s or s.startswith("#"):
            continue
        where = f"{b.page}:{line_no}"
        try:
            argv = shlex.split(s, comments=True)
        except ValueError as exc:
            raise DocBlockError(f"{where}: cannot split the command: {exc}") from None
        if not argv:
            continue
        ops = [a for a in argv if a in _SHELL_OPS or a.startswith(("$(", "`", ">"))]
        if ops:
            raise DocBlockError(
                f"{where}: {ops[0]!r} needs a shell; commands run without one: mark the block "
                'skip reason="..." or split it'
            )
        if Path(argv[0]).name != "iqx":
            raise DocBlockError(
                f"{where}: only `iqx ...` commands run here, not {argv[0]!r}: mark the block "
                'skip reason="..."'
            )
        out.append((line_no, argv[1:]))
    return out


# -- the page's interpreter -------------------------------------------------------------------


def bytecode_env(env: dict[str, str], cache: Path | None) -> dict[str, str]:
    """``env`` with bytecode cached under ``cache`` where ``PYTHONDONTWRITEBYTECODE`` forbids it.

    Without bytecode every fresh interpreter of the docs tests (the Sphinx build, the fork
    server, the notebook's kernel, each training script and dask worker a page starts)
    compiles its imports from source again: ~18 s of CPU for iqx's stack instead of ~6 s.
    A cache prefix in the test session's temporary folder keeps the source tree and the
    virtual environment free of ``__pycache__``, which is what the variable is for.
    """
    if cache is None or not env.get("PYTHONDONTWRITEBYTECODE"):
        return env
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def page_env(cache: Path | None = None) -> dict[str, str]:
    """The environment pages (and the fork server) run in; ``cache``: :func:`bytecode_env`."""
    env = {
        **bytecode_env(dict(os.environ), cache),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": "default",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def run_page(page: Page, workdir: Path, server=None) -> subprocess.CompletedProcess:
    """Execute a page's steps in a fresh process inside ``workdir``.

    With ``server`` (a :class:`tests.docs_forkserver.ForkServer`), the process is forked from
    the server's warmed-up interpreter; without, it is a new interpreter.
    """
    spec = workdir.parent / f"{workdir.name}.steps.json"
    spec.write_text(json.dumps({"page": str(page.path), "steps": page.steps()}))
    args = [sys.executable, "-m", "tests.docs_harness", str(spec)]
    if server is not None:
        return server.run(args, cwd=workdir, timeout=page.timeout, page=str(spec))
    return subprocess.run(
        args, cwd=workdir, env=page_env(), capture_output=True, text=True, timeout=page.timeout
    )


def _drive(spec_path: str) -> int:
    import time
    import traceback

    spec = json.loads(Path(spec_path).read_text())
    md = spec["page"]
    namespace: dict = {"__name__": "__main__"}
    for step in spec["steps"]:
        t0 = time.perf_counter()
        try:
            if step["kind"] == "file":
                target = Path(step["path"])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(step["text"])
            elif step["kind"] == "python":
                code = compile("\n" * (step["line"] - 1) + step["code"], md, "exec")
                exec(code, namespace)
            else:
                from iqx.cli.main import main

                try:
                    rc = main(step["argv"])
                except SystemExit as exc:  # argparse
                    rc = exc.code if isinstance(exc.code, int) else 1
                if rc != 0:
                    raise RuntimeError(f"`iqx {shlex.join(step['argv'])}` exited with {rc}")
        except BaseException:
            sys.stdout.flush()
            print(f"\nIQX-DOC FAILED {step['where']} ({step['kind']})", file=sys.stderr)
            traceback.print_exc()
            return 1
        finally:
            sys.stdout.flush()
        print(f"IQX-DOC ok {step['where']} {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(_drive(sys.argv[1]))


# -- the docs sandbox -------------------------------------------------------------------------

SANDBOX_README = """\
The docs sandbox: the working folder every docs page and example runs in (a fresh copy each).

pan.tif, scene.tif, ref.tif   256 x 256 single-band uint16 GeoTIFF, 11 bits used (UTM 31N, 0.5 m):
                              parcels with straight edges and flat interiors, Gaussian PSF 0.7 px,
                              noise 16 DN (iqx.testing.sample.sample_scene x 8)
test.tif                      ref.tif plus Gaussian noise of 20 DN (a degraded version)
data/xview/images/*.tif       an IQUAFLOW-layout dataset of two 256 x 256 uint8 GeoTIFF scenes
my_data/images/*.tif          a copy of data/xview ("your own data" in the getting-started page)
datasets/airports_train/      aerial scenes (128 x 128 PNG) with planted aircraft and COCO
datasets/airports_val/        annotations (annotations.json), the showcase's generator
datasets/airports_test/       (airports_test: a copy of airports_val)
datasets/ds_coco_dataset/     a copy of airports_train
train.py                      a minimal script following the training-script contract: it
                              reads --trainds/--valds/--outputpath (and any hyperparameter),
                              and writes results.json with the train images' mean and the
                              validation images' relative error against it
"""

TRAIN_PY = '''\
"""A minimal training script that follows iqx's script contract (the docs sandbox)."""

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image


def mean_dn(folder):
    files = sorted((Path(folder) / "images").iterdir())
    return float(np.mean([np.asarray(Image.open(f), dtype=np.float64).mean() for f in files]))


parser = argparse.ArgumentParser()
parser.add_argument("--trainds", required=True)
parser.add_argument("--valds")
parser.add_argument("--testds")
parser.add_argument("--outputpath", required=True)
args, hyperparameters = parser.parse_known_args()
train = mean_dn(args.trainds)
val = mean_dn(args.valds) if args.valds else train
results = {"train_mean_dn": train, "val_error": abs(val - train) / max(train, 1e-9)}
Path(args.outputpath, "results.json").write_text(json.dumps(results))
'''


def sandbox_fixture(tmp_path_factory) -> Path:
    """The session's sandbox (built once per test session, shared by the docs test modules)."""
    folder = tmp_path_factory.getbasetemp() / "docs_sandbox"
    if not (folder / "SANDBOX.txt").is_file():
        write_sandbox(folder)
    return folder


def write_sandbox(folder: str | Path) -> Path:
    """Write the docs sandbox (see :data:`SANDBOX_README`) into ``folder``; return it."""
    import shutil

    import numpy as np

    from iqx.experiment.sample_dataset import write_sample_dataset
    from iqx.io import write_image
    from iqx.study.showcase.data import write_aerial_datasets
    from iqx.testing.sample import sample_scene

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base = sample_scene(256, seed=3, noise_sigma=2.0, n_parcels=12)
    pan = (base.astype(np.uint16) * 8).assign_attrs(base.attrs)
    pan.attrs["bit_depth"] = 11
    write_image(pan, folder / "pan.tif", driver="GTiff")
    for alias in ("scene.tif", "ref.tif"):
        shutil.copyfile(folder / "pan.tif", folder / alias)
    rng = np.random.default_rng(7)
    noisy = np.clip(pan.values + rng.normal(0, 20, pan.shape).round(), 0, 2047)
    write_image(pan.copy(data=noisy.astype(np.uint16)), folder / "test.tif", driver="GTiff")
    write_sample_dataset(folder / "data" / "xview", n_images=2, size=256)
    shutil.copytree(folder / "data" / "xview" / "images", folder / "my_data" / "images")
    datasets = folder / "datasets"
    train, val = write_aerial_datasets(
        datasets / "_gen", n_train=2, n_val=2, size=128, objects_per_image=3, seed=0
    )
    shutil.copytree(train, datasets / "airports_train")
    shutil.copytree(val, datasets / "airports_val")
    shutil.copytree(val, datasets / "airports_test")
    shutil.copytree(train, datasets / "ds_coco_dataset")
    shutil.rmtree(datasets / "_gen")
    (folder / "train.py").write_text(TRAIN_PY)
    (folder / "SANDBOX.txt").write_text(SANDBOX_README)
    return folder
