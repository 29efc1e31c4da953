"""An image-generation ("super-resolution") script following IQUAFLOW's contract.

For every image of ``--trainds`` it writes a "restored" copy (the input plus seeded Gaussian
noise of ``--sigma`` DN, clipped to 8 bits, georeferencing kept) into ``<outputpath>/sr/``
and lists the copies in ``output.json`` in the shape ``--listing`` names: ``list`` (relative
paths), ``images`` (``{"images": [...]}``), ``folder`` (``{"images": "sr"}``),
``val_ds_output`` (IQUAFLOW's ``{"val_ds_output": "sr"}``) or ``absolute`` (IQUAFLOW's
habit: ``{"val_ds_output": "<absolute output path>/sr"}``).
"""

import argparse
import json
import zlib
from pathlib import Path

import numpy as np
import rasterio

parser = argparse.ArgumentParser()
parser.add_argument("--trainds", required=True)
parser.add_argument("--outputpath", required=True)
parser.add_argument("--listing", default="list")
parser.add_argument("--sigma", type=float, default=3.0)
args, _ = parser.parse_known_args()

out = Path(args.outputpath)
(out / "sr").mkdir()
names = []
for src in sorted((Path(args.trainds) / "images").glob("*.tif")):
    with rasterio.open(src) as f:
        profile, data = f.profile, f.read().astype(float)
    rng = np.random.default_rng(zlib.crc32(src.name.encode()))
    data = np.clip(np.rint(data + rng.normal(0, args.sigma, data.shape)), 0, 255)
    with rasterio.open(out / "sr" / src.name, "w", **profile) as f:
        f.write(data.astype("uint8"))
    names.append(f"sr/{src.name}")

listing = {
    "list": names,
    "images": {"images": names},
    "folder": {"images": "sr"},
    "val_ds_output": {"val_ds_output": "sr"},
    "absolute": {"val_ds_output": str(out.resolve() / "sr")},
}[args.listing]
(out / "output.json").write_text(json.dumps(listing))
(out / "results.json").write_text(json.dumps({"loss": [0.3, 0.2], "sigma_used": args.sigma}))
