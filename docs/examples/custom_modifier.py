"""Your own modifier: a gamma curve, registered, applied to a scene and to a whole dataset.

A modifier is a class with parameters and an ``apply`` on a lazy scene; registering it gives
it a name for ``iqx.modify``, the command line (``gamma:gamma=0.8``) and ``STUDY.toml``.

Usage: ``python custom_modifier.py [DATASET]`` (default ``data/xview``; a generated dataset
when absent).
"""

import sys
from pathlib import Path
from typing import ClassVar

import numpy as np

import iqx
from iqx.experiment.sample_dataset import write_sample_dataset
from iqx.modifiers import Modifier
from iqx.parallel import map_blocks_xr
from iqx.registry import register_modifier


def _gamma_block(block, *, gamma, top):
    x = block.astype(np.float64) / top
    return np.clip(np.rint(top * x**gamma), 0, top).astype(block.dtype)


@register_modifier("gamma", summary="Gamma curve on unsigned data.")
class Gamma(Modifier):
    id = "gamma"
    short = "gamma"
    abbrev: ClassVar[dict[str, str]] = {"gamma": "g"}
    always = ("gamma",)

    def __init__(self, gamma: float = 1.0) -> None:
        if not gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        super().__init__(gamma=float(gamma))

    def apply(self, image):
        from iqx.bitdepth import resolve_bit_depth

        top = 2 ** resolve_bit_depth(image).bits - 1
        return map_blocks_xr(
            _gamma_block, image, kwargs={"gamma": self.params["gamma"], "top": top}
        )


folder = Path(sys.argv[1] if len(sys.argv) > 1 else "data/xview")
if not folder.exists():
    write_sample_dataset(folder, n_images=2, size=256)

ds = iqx.modify(str(folder), "gamma:gamma=0.8")  # the registered name, as on the command line
print(ds.data_path, ds.params["modifier"])
name = sorted((folder / "images").iterdir())[0].name
before = iqx.open_scene(folder / "images" / name).values
after = iqx.open_scene(Path(ds.data_path) / "images" / name).values
print(f"mean DN {before.mean():.1f} -> {after.mean():.1f}")
assert after.mean() > before.mean()  # gamma < 1 brightens
