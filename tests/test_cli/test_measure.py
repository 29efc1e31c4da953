"""``iqx measure``: blind quality per image as JSON lines, on a raster and on a dataset."""

from __future__ import annotations

import json

import pytest

from iqx.cli.main import main
from iqx.experiment.sample_dataset import write_sample_dataset

KEYS = {
    "image",
    "snr_hb",
    "snr_ha",
    "snr",
    "rer_x",
    "rer_y",
    "fwhm_x",
    "fwhm_y",
    "mtf_nyquist_x",
    "mtf_nyquist_y",
    "mtf50_x",
    "mtf50_y",
    "n_edges_x",
    "n_edges_y",
}


def _rows(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def sample_ds(tmp_path_factory):
    return write_sample_dataset(tmp_path_factory.mktemp("measure") / "sample", n_images=2, size=384)


def test_measure_dataset_json_lines_have_every_key(sample_ds, capsys):
    assert main(["measure", str(sample_ds.data_path), "--format", "json"]) == 0
    rows = _rows(capsys)
    assert [r["image"] for r in rows] == ["scene_01.tif", "scene_02.tif"]
    for row in rows:
        assert KEYS <= set(row)
        # the sample scene: PSF sigma 0.7 px (point-sampled), 2 DN noise on ~40-210 DN parcels
        assert 0.35 < row["rer_x"] < 0.75 and 0.35 < row["rer_y"] < 0.75
        assert row["n_edges_x"] > 0 and row["n_edges_y"] > 0
        assert row["snr"] > 10


def test_measure_single_raster_subset_of_metrics(sample_ds, capsys):
    path = sample_ds.image_files[0]
    assert main(["measure", str(path), "--metrics", "snr", "--format", "json"]) == 0
    (row,) = _rows(capsys)
    assert row["image"] == path.name and "snr" in row and "rer_x" not in row


def test_measure_text_output(sample_ds, capsys):
    assert main(["measure", str(sample_ds.image_files[0]), "--metrics", "snr"]) == 0
    assert capsys.readouterr().out.startswith("scene_01.tif: ")


def test_not_measurable_is_null_with_reason(tmp_path, capsys):
    import numpy as np

    from iqx.io import write_image

    path = tmp_path / "flat.tif"
    write_image(np.full((64, 64), 100, dtype=np.uint8), path)
    assert main(["measure", str(path), "--format", "json"]) == 0
    (row,) = _rows(capsys)
    assert row["rer_x"] is None and row["rer_x_reason"]
    assert row["snr"] is None and row["snr_reason"]


def test_measure_real_worldview_chip(shared_data, capsys):
    path = shared_data / "solaris_spacenet" / "pan1.tif"
    assert main(["measure", str(path), "--metrics", "snr", "--format", "json"]) == 0
    (row,) = _rows(capsys)
    assert 3 < row["snr"] < 200


def test_niirs_text_shows_the_value_or_the_reason(shared_data, tmp_path, capsys):
    """The text output carries NIIRS (it printed nothing for ``--metrics niirs``): the value
    with its interval and inputs on the georeferenced chip, the reason on an image without
    georeferencing; both equal the JSON values."""
    import numpy as np

    from iqx.io import write_image

    chip = shared_data / "solaris_spacenet" / "pan1.tif"
    assert main(["measure", str(chip), "--metrics", "niirs", "--format", "json"]) == 0
    (row,) = _rows(capsys)
    assert main(["measure", str(chip), "--metrics", "niirs"]) == 0
    text = capsys.readouterr().out
    assert (
        f"niirs {row['niirs']:.2f} [{row['niirs_ci_low']:.2f}, {row['niirs_ci_high']:.2f}]" in text
    )
    assert f"RER x {row['niirs_rer_x']:.3f} y {row['niirs_rer_y']:.3f}" in text

    flat = tmp_path / "plain.tif"  # no CRS: GSD unknown
    write_image(np.full((64, 64), 100, dtype=np.uint8), flat)
    assert main(["measure", str(flat), "--metrics", "niirs", "--format", "json"]) == 0
    (row,) = _rows(capsys)
    assert main(["measure", str(flat), "--metrics", "niirs"]) == 0
    assert f"niirs -  [{row['niirs_reason']}]" in capsys.readouterr().out
