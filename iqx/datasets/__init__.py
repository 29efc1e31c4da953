"""IQUAFLOW-layout datasets: discovery, lazy image access, ``<name>#<step>`` derived copies.

- :func:`open_dataset` / :class:`Dataset`: paths and params IQUAFLOW users know
  (``data_path``, ``parent_folder``, ``data_input``, ``json_annotations``,
  ``geojson_annotations``, ``mask_annotations_dir``, ``params["ds_name"]``), batched images.
- :func:`derive_dataset`: the atomic, idempotent, manifest-writing machinery of modifiers;
  :func:`copy_dataset` is IQUAFLOW's ``base_modifier``.
- :func:`open_cube` / :func:`open_cubes`: same-size images as one lazy ``(image, band, y, x)``
  cube; :func:`modify_cube`, :func:`measure_cube`, :func:`map_cube` work chunk by chunk.
"""

from iqx.datasets.cube import map_cube, measure_cube, modify_cube, open_cube, open_cubes
from iqx.datasets.derive import copy_dataset, copy_file, derive_dataset, derived_name
from iqx.datasets.layout import IMAGE_EXTENSIONS, Dataset, open_dataset
from iqx.datasets.manifest import MANIFEST_NAME, read_manifest

__all__ = [
    "IMAGE_EXTENSIONS",
    "MANIFEST_NAME",
    "Dataset",
    "copy_dataset",
    "copy_file",
    "derive_dataset",
    "derived_name",
    "map_cube",
    "measure_cube",
    "modify_cube",
    "open_cube",
    "open_cubes",
    "open_dataset",
    "read_manifest",
]
