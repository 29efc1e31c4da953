"""Real-imagery sharpness table and IQUAFLOW golden comparison (docs/sharpness.md).

Run: ``.venv/bin/python docs/scripts/sharpness_real.py [shared-data-dir]``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from iqx.metrics.sharpness import sharpness

DATA = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
FILES = [
    "solaris_spacenet/pan1.tif",
    "solaris_spacenet/sample_geotiff.tif",
    "calval_landsat8_sentinel2/LC08_L1TP_174039_20180515_20180604_01_T1/"
    "LC08_L1TP_174039_20180515_20180604_01_T1_B4.TIF",
    "riotiler_fixtures/201404_13SED190110_201404_0x1500m_CL_1.tif",
    "iquaflow_fixtures/test_datasets/ds_inria_dataset/images/bellingham1+1024.tif",
    "iquaflow_fixtures/test_datasets/ds_inria_dataset/images/bellingham9+1024.tif",
]


def read(path: Path) -> xr.DataArray:
    import rasterio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path) as ds:
            return xr.DataArray(ds.read(), dims=("band", "y", "x"), attrs={"nodata": ds.nodata})


def fmt(v: float | None) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.3f}"


def main() -> None:
    golden = json.loads((DATA / "iquaflow_fixtures/iquaflow_1.0.1_golden.json").read_text())
    print(
        "| file | method | RER x/y/other | FWHM x/y/other | MTF@Nyq x/y/other | edges x/y/other |"
    )
    print("|---|---|---|---|---|---|")
    for name in FILES:
        img = read(DATA / name)
        for method in ("iso", "logistic"):
            res = sharpness(img, method=method)
            e = res.edges
            row = []
            for out in ("rer", "fwhm", "mtf_nyquist"):
                row.append(
                    " / ".join(
                        fmt(
                            float(np.median(e[e.direction == d][out]))
                            if (e.direction == d).any()
                            else None
                        )
                        for d in ("x", "y", "other")
                    )
                )
            counts = " / ".join(str(int((e.direction == d).sum())) for d in ("x", "y", "other"))
            print(f"| {name.split('/')[-1]} | {method} | " + " | ".join(row) + f" | {counts} |")
        key = next((k for k in golden["files"] if k.endswith(name.split("/")[-1])), None)
        if key and golden["files"][key].get("sharpness_mean"):
            g = golden["files"][key]["sharpness_mean"]
            cells = []
            for out in ("RER", "FWHM", "MTF_NYQ"):
                cells.append(
                    " / ".join(fmt(g.get(f"{out}_{d}", [None])[0]) for d in ("X", "Y", "other"))
                )
            n = golden["files"][key]["sharpness_n_edges"]
            tot = [sum(c.get(d, 0) for c in n.values()) for d in ("X", "Y", "other")]
            print(
                f"| {name.split('/')[-1]} | IQUAFLOW 1.0.1 golden | "
                + " | ".join(cells)
                + f" | {' / '.join(map(str, tot))} |"
            )
        if not len(res.edges):
            print(f"|  | rejected | {res.rejected} | | | |")


if __name__ == "__main__":
    main()
