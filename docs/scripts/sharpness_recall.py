"""Edge counts and per-image values on real imagery vs IQUAFLOW's golden file (docs/sharpness.md).

Run: ``.venv/bin/python docs/scripts/sharpness_recall.py [shared-data-dir]``. Values are the
mean over bands of the per-band medians (all directions), as ``flat_summary`` does; golden
values are IQUAFLOW 1.0.1's channel-averaged means averaged over its X/Y/other classes.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from iqx.metrics.sharpness import sharpness

DATA = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
IQ = DATA / "iquaflow_fixtures/test_datasets"


def read(p: Path) -> xr.DataArray:
    if p.suffix == ".jpg":
        from PIL import Image

        arr = np.asarray(Image.open(p).convert("RGB")).transpose(2, 0, 1)
        return xr.DataArray(arr, dims=("band", "y", "x"))
    import rasterio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(p) as ds:
            return xr.DataArray(ds.read(), dims=("band", "y", "x"), attrs={"nodata": ds.nodata})


def main() -> None:
    files = [
        *sorted((IQ / "ds_inria_dataset/images").glob("*.tif")),
        DATA / "solaris_spacenet/pan1.tif",
        DATA / "solaris_spacenet/sample_geotiff.tif",
        DATA / "riotiler_fixtures/201404_13SED190110_201404_0x1500m_CL_1.tif",
        DATA / "riotiler_fixtures/pix4d_alpha_nodata.tif",
        *sorted((IQ / "ds_coco_dataset/images").glob("*.jpg")),
    ]
    golden = json.loads((DATA / "iquaflow_fixtures/iquaflow_1.0.1_golden.json").read_text())
    print(
        "| file | edges x/y/other | RER | FWHM | MTF@Nyq | MTF@Nyq pooled [CI] | MTF@Nyq/2 | time "
        "| IQUAFLOW edges | RER | FWHM | MTF@Nyq |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for f in files:
        img = read(f)
        t = time.perf_counter()
        ds = sharpness(img).dataset
        dt = time.perf_counter() - t
        n = "/".join(str(int(ds.n_edges.sel(direction=d).sum())) for d in ("x", "y", "other"))
        v = {
            o: float(np.nanmean(ds[o].sel(direction="all").values))
            for o in (
                "rer",
                "fwhm",
                "mtf_nyquist",
                "mtf_half_nyquist",
                "mtf_nyquist_pooled",
                "mtf_nyquist_pooled_ci_low",
                "mtf_nyquist_pooled_ci_high",
            )
        }
        g = ["–"] * 4
        key = next((k for k in golden["files"] if k.endswith(f.name)), None)
        if key and golden["files"][key].get("sharpness_mean"):
            gm = golden["files"][key]["sharpness_mean"]
            nn = golden["files"][key]["sharpness_n_edges"]
            g = [str(sum(sum(c.values()) for c in nn.values()))] + [
                f"{np.mean([gm[k][0] for k in gm if k.startswith(o + '_')]):.3f}"
                for o in ("RER", "FWHM", "MTF_NYQ")
            ]
        print(
            f"| {f.name} | {n} | {v['rer']:.3f} | {v['fwhm']:.2f} | {v['mtf_nyquist']:.3f} | "
            f"{v['mtf_nyquist_pooled']:.3f} [{v['mtf_nyquist_pooled_ci_low']:.3f}, "
            f"{v['mtf_nyquist_pooled_ci_high']:.3f}] | "
            f"{v['mtf_half_nyquist']:.3f} | {dt:.1f} s | " + " | ".join(g) + " |"
        )


if __name__ == "__main__":
    main()
