"""STUDY.toml validation: every problem named with its line, before any work."""

from __future__ import annotations

import dataclasses

import pytest

from iqx.study.config import StudyConfigError, parse_study


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "data" / "train" / "images").mkdir(parents=True)
    (tmp_path / "data" / "val" / "images").mkdir(parents=True)
    (tmp_path / "train.py").write_text("print('hi')\n")
    return tmp_path


GOOD = """\
[study]
name = "s1"
tracking_uri = "mlflow.db"

[data]
train = "data/train"
val = "data/val"

[modifiers]
jpeg.quality = [10, 30, 50]
jpeg.subsampling = "4:4:4"
quantize.bits = [2, 4]
chains = [["gaussian_blur:sigma=1", "jpeg:quality=50"]]

[task]
script = "train.py"
repetitions = 2

[task.hyperparameters]
lr = [0.1, 0.01]
epochs = 3

[metrics]
blind = ["snr"]
reference = ["ssim"]
task = ["bbox_detection"]

[target]
metric = "ap_0.5_all"
requirement = "within 0.02 of baseline"
"""


def test_valid_study_is_typed_and_frozen(folder):
    cfg = parse_study(GOOD, folder / "STUDY.toml")
    assert cfg.name == "s1"
    assert cfg.data.train == (folder / "data" / "train").resolve()
    assert cfg.tracking_uri == f"sqlite:///{(folder / 'mlflow.db').resolve().as_posix()}"
    families = {s.family: s for s in cfg.sweeps}
    assert families["jpeg"].parameter == "quality"
    assert families["jpeg"].values == (10, 30, 50)
    assert all(s["subsampling"] == "4:4:4" for s in families["jpeg"].settings)
    assert families["gaussian_blur+jpeg"].settings[0]["id"] == "chain"
    assert len(cfg.modifier_settings()) == 3 + 2 + 1
    assert len(cfg.modifier_settings(exclude="jpeg")) == 3
    assert cfg.task.hyperparameters == {"lr": [0.1, 0.01], "epochs": 3}
    assert cfg.metrics.task == ("bbox_detection",)
    assert cfg.target.requirement == "within 0.02 of baseline"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.name = "other"  # type: ignore[misc]


def test_every_problem_is_named_with_its_line(folder):
    bad = GOOD.replace('name = "s1"', 'name = "s1"\nnmae = "typo"')  # line 3
    bad = bad.replace("jpeg.quality = [10, 30, 50]", "jpeg.quality = [10, 300]")  # line 11
    bad = bad.replace("quantize.bits = [2, 4]", "quantise.bits = [2, 4]")  # line 13
    bad = bad.replace("repetitions = 2", "repetitions = 0")  # line 18
    bad = bad.replace('"within 0.02 of baseline"', '"about the same"')  # last line
    with pytest.raises(StudyConfigError) as info:
        parse_study(bad, folder / "STUDY.toml")
    problems = dict((msg.split("]")[0] + "]", line) for line, msg in info.value.problems)
    assert problems["[study.nmae]"] == 3
    assert problems["[modifiers.jpeg.quality]"] == 11
    assert problems["[modifiers.quantise]"] == 13
    assert problems["[task.repetitions]"] == 18
    assert (
        problems["[target.requirement]"]
        == bad.splitlines().index('requirement = "about the same"') + 1
    )
    text = str(info.value)
    assert "did you mean 'name'" in text and "did you mean 'quantize'" in text
    assert "quality must be an integer in 1..100" in text
    assert text.startswith(f"{folder / 'STUDY.toml'}: 5 problems")


def test_missing_paths_and_search_without_fixed_hyperparameters(folder):
    bad = GOOD.replace('train = "data/train"', 'train = "data/nope"').replace(
        'script = "train.py"', 'script = "missing.py"'
    )
    bad += 'search = true\nmodifier = "jpeg"\n'
    with pytest.raises(StudyConfigError) as info:
        parse_study(bad, folder / "STUDY.toml")
    text = str(info.value)
    assert "data/nope" in text and "does not exist" in text
    assert "missing.py" in text
    assert "fixed hyperparameters" in text


def test_toml_syntax_error_has_its_line(folder):
    with pytest.raises(StudyConfigError, match="line 2"):
        parse_study('[study]\nname = "x\n', folder / "STUDY.toml")


def test_task_metrics_need_a_script(folder):
    text = (
        '[study]\nname = "m"\n[data]\ntrain = "data/train"\n[metrics]\ntask = ["bbox_detection"]\n'
    )
    with pytest.raises(StudyConfigError, match=r"line 6: \[metrics.task\]"):
        parse_study(text, folder / "STUDY.toml")
