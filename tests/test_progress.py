"""The progress reporter: drawn on terminals only, quiet on request, exact counts."""

from __future__ import annotations

import io

import dask.bag as db
import pytest

from iqx import _progress
from iqx._progress import Progress, compute_batches, dask_tasks, format_seconds, should_show


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_shows_counts_percent_rate_and_eta():
    out = _Tty()
    bar = Progress(4, label="jpeg", unit="images", stream=out, min_interval=0)
    bar.advance()
    line = out.getvalue().split("\r")[-1]
    assert "jpeg  1/4 images  25%" in line and "/s" in line and "ETA" in line
    bar.advance(3)
    bar.close()
    assert out.getvalue().endswith("\n") and "4/4 images 100%" in out.getvalue()


def test_nothing_is_drawn_when_not_a_terminal_or_quiet(monkeypatch):
    plain = io.StringIO()
    with Progress(3, stream=plain) as bar:
        bar.advance(3)
    assert plain.getvalue() == ""
    assert not should_show(_Tty(), quiet=True)
    monkeypatch.setenv(_progress.QUIET_ENV, "1")
    assert not should_show(_Tty())


def test_delay_keeps_short_work_silent():
    out = _Tty()
    with Progress(2, stream=out, min_interval=0, delay=60) as bar:
        bar.advance(2)
    assert out.getvalue() == ""


def test_unknown_total_shows_counts():
    out = _Tty()
    with Progress(0, unit="tiles", stream=out, min_interval=0) as bar:
        bar.advance(5)
    assert "5 tiles" in out.getvalue()


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (61.4, "1:01"), (3725, "1:02:05")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_compute_batches_counts_every_item_once(scheduler):
    bag = db.from_sequence(range(10), partition_size=3).map(lambda x: 2 * x)
    seen: list[int] = []
    assert compute_batches(bag, seen.append, scheduler=scheduler) == [2 * x for x in range(10)]
    assert sorted(seen) == [1, 3, 3, 3]


def test_compute_batches_without_progress_is_plain_compute():
    bag = db.from_sequence(range(4), partition_size=2)
    assert compute_batches(bag, None, scheduler="sync") == [0, 1, 2, 3]


def test_dask_tasks_draws_a_task_bar_on_a_terminal(monkeypatch):
    monkeypatch.delenv(_progress.QUIET_ENV, raising=False)
    out = _Tty()
    bag = db.from_sequence(range(6), partition_size=2).map(lambda x: x + 1)
    with dask_tasks("demo", delay=0, stream=out):
        assert bag.compute(scheduler="sync") == [1, 2, 3, 4, 5, 6]
    assert "demo" in out.getvalue() and "tasks 100%" in out.getvalue()
    quiet = _Tty()
    with dask_tasks("demo", delay=0, stream=quiet, quiet=True):
        bag.compute(scheduler="sync")
    assert quiet.getvalue() == ""


def test_derive_dataset_reports_every_image(tmp_path):
    import iqx.datasets.derive as derive
    from iqx.datasets import open_dataset
    from iqx.experiment.sample_dataset import write_sample_dataset

    write_sample_dataset(tmp_path / "ds", n_images=5, size=32, seed=0)
    ds = open_dataset(tmp_path / "ds")
    seen: list[int] = []
    derive.derive_dataset(ds, "copy_progress", {"id": "copy_progress"}, derive.copy_file,
                          batch_size=2, progress=seen.append)  # fmt: skip
    assert sum(seen) == 5 and len(seen) == 3


@pytest.mark.parametrize("argv", [["-q", "list", "--brief"], ["list", "--quiet", "--brief"]])
def test_cli_accepts_quiet_anywhere(argv, capsys):
    from iqx.cli.main import main

    assert main(argv) == 0
    assert "modifiers:" in capsys.readouterr().out
