"""Write the embedded sample dataset used by ``iqx demo`` (generated, no download)."""

from __future__ import annotations

import json
from pathlib import Path

from iqx.datasets import Dataset, open_dataset
from iqx.testing.sample import sample_scene

__all__ = ["write_sample_dataset"]

_STAMP = ".iqx_sample_params"


def write_sample_dataset(
    folder: str | Path, *, n_images: int = 2, size: int = 768, seed: int = 0
) -> Dataset:
    """Write ``n_images`` generated GeoTIFF scenes into ``folder/images`` (IQUAFLOW layout).

    The scenes come from :func:`iqx.testing.sample.sample_scene` (parcels with straight
    edges, a Gaussian PSF of 0.7 px and 2 DN of noise, 8-bit, UTM 31N at 0.5 m). An existing
    folder written with the same parameters is reused.
    """
    from iqx.io import write_image

    folder = Path(folder)
    params = {"n_images": n_images, "size": size, "seed": seed}
    stamp = folder / _STAMP
    if stamp.is_file() and json.loads(stamp.read_text()) == params:
        return open_dataset(folder)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        scene = sample_scene(size, seed=seed + i)
        write_image(scene, images / f"scene_{i + 1:02d}.tif", driver="GTiff")
    tmp = stamp.with_suffix(".tmp")
    tmp.write_text(json.dumps(params))
    tmp.replace(stamp)
    return open_dataset(folder)
