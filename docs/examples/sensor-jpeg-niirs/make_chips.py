"""Write the study's dataset, ``chips/images/*.tif`` (IQUAFLOW layout), next to this file.

``python make_chips.py A.tif B.tif ...`` copies georeferenced GeoTIFF chips (e.g. the
WorldView-2 pan chips of ../shared/data/solaris_spacenet: pan1.tif, sample_geotiff.tif);
``python make_chips.py`` without arguments writes two generated scenes (parcels with
straight edges, UTM at 0.5 m: :func:`iqx.experiment.sample_dataset.write_sample_dataset`).
NIIRS needs the georeferencing: the GSD comes from the GeoTIFF's transform.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("images", nargs="*", help="georeferenced GeoTIFFs (default: generated)")
    p.add_argument("--output", default=str(Path(__file__).with_name("chips")))
    p.add_argument("--size", type=int, default=384, help="generated scenes: side (px)")
    args = p.parse_args(argv)
    out = Path(args.output)
    if args.images:
        (out / "images").mkdir(parents=True, exist_ok=True)
        for src in map(Path, args.images):
            shutil.copyfile(src, out / "images" / src.name)
    else:
        from iqx.experiment.sample_dataset import write_sample_dataset

        write_sample_dataset(out, n_images=2, size=args.size, seed=0)
    print(f"{out}: {len(list((out / 'images').glob('*.tif')))} images")
    return out


if __name__ == "__main__":
    main()
