"""IQUAFLOW-layout datasets: folder discovery, annotation paths, lazy batched image access.

A dataset is a folder ``<parent>/<name>`` holding

- one **images folder** (``data_input``): the only sub-folder that contains image files and
  whose name contains neither ``mask`` nor ``stats`` (hidden and iqx-temporary folders are
  ignored). Two candidates are ambiguous: :class:`DatasetLayoutError` lists them (pass
  ``images=`` to choose). A **flat** folder (images at the top level, no image sub-folder,
  e.g. SAHI's COCO samples) is its own images folder; ``images="."`` forces that.
- COCO ``*.json`` and ``*.geojson`` annotation files at the top level (sorted by name; the
  first is ``json_annotations`` / ``geojson_annotations``, all are in ``json_files`` /
  ``geojson_files``), possibly empty (0-byte) files;
- optionally ``<images>_mask/`` with per-image masks;
- for derived datasets, ``iqx_manifest.json``.

Image files are the regular files of the images folder with a raster extension
(:data:`IMAGE_EXTENSIONS`, case-insensitive), sorted by name. Any other file there (GDAL
sidecars such as ``*.aux.xml`` aside) is *reported* in ``other_files`` and kept out of
``image_files``; ``strict=True`` turns it into :class:`DatasetLayoutError`. A file with an
image extension that is not an image raises :class:`RasterReadError` naming it when read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import xarray as xr

from iqx.datasets.manifest import MANIFEST_NAME, read_manifest
from iqx.errors import DatasetLayoutError, InvalidParameterError, PathNotFoundError
from iqx.io._atomic import is_temporary_name

__all__ = ["IMAGE_EXTENSIONS", "Dataset", "open_dataset"]

#: extensions (lower case) of the files treated as images
IMAGE_EXTENSIONS = frozenset(
    {".tif", ".tiff", ".png", ".jpg", ".jpeg", ".jp2", ".j2k", ".bmp", ".gif", ".webp"}
)
#: GDAL side-car files, neither images nor "other" files
_SIDECARS = (".aux.xml", ".ovr", ".msk")


def _hidden_name(name: str) -> bool:
    return name.startswith(".") or is_temporary_name(name)


def _is_hidden(p: Path) -> bool:
    return _hidden_name(p.name)


def _is_image(p: Path) -> bool:
    return p.is_file() and not _is_hidden(p) and p.suffix.lower() in IMAGE_EXTENSIONS


def _has_images(folder: Path) -> bool:
    return any(_is_image(p) for p in folder.iterdir())


class Dataset:
    """A dataset folder in IQUAFLOW's layout (see the module docstring for the rules).

    Parameters
    ----------
    data_path : path-like
        The dataset folder.
    images : str, optional
        Name of the images sub-folder, or ``"."`` for a flat folder; default: discovered.
    strict : bool
        Raise :class:`DatasetLayoutError` if the images folder holds non-image files.
    bit_depth : int, optional
        Bits per sample of every image (e.g. 11 for WorldView-2 in uint16): the user's source
        of the bit-depth rule (:mod:`iqx.bitdepth`) for :meth:`open_image`, comparisons and
        modified copies. Default: each file's metadata, else measured from its pixels.
    manifest : dict, optional
        The folder's ``iqx_manifest.json`` when the caller holds it already (it is not read
        again: :func:`iqx.datasets.derive_dataset` passes the one it has just written).

    Attributes
    ----------
    data_path, parent_folder : pathlib.Path
        The folder (resolved: absolute, no ``.``/``..``, symlinks followed) and its parent.
    name : str
        ``data_path.name`` (``params["ds_name"]``).
    data_input : pathlib.Path
        The images folder (``data_path`` itself for a flat layout).
    json_annotations, geojson_annotations : pathlib.Path or None
        First (sorted) ``*.json`` / ``*.geojson`` at the top level (the manifest excluded).
    json_files, geojson_files : list of pathlib.Path
        All of them.
    mask_annotations_dir : pathlib.Path or None
        ``<data_path>/<images>_mask`` when it exists.
    image_files : list of pathlib.Path
        Sorted image files of ``data_input``.
    other_files : list of pathlib.Path
        Non-image files found in ``data_input`` (annotations excluded for flat layouts).
    manifest : dict or None
        ``iqx_manifest.json`` of a derived dataset.
    params : dict
        ``{"ds_name": name}``, extended by the manifest's ``params`` for derived datasets
        (IQUAFLOW style: ``{"ds_name", "modifier": "<a>#<b>", **modifier params}``).
    """

    def __init__(
        self,
        data_path: str | os.PathLike[str],
        *,
        images: str | None = None,
        strict: bool = False,
        bit_depth: int | None = None,
        manifest: Mapping[str, Any] | None = None,
    ) -> None:
        from iqx.bitdepth import check_bit_depth

        self.bit_depth = None if bit_depth is None else check_bit_depth(bit_depth)
        given = Path(data_path).expanduser()
        if not given.exists():
            raise PathNotFoundError(f"{given}: dataset folder does not exist")
        # resolved: "." and ".." have no usable name or parent (`iqx modify .` must write
        # next to the dataset, never inside it)
        path = given.resolve()
        if not path.is_dir():
            raise DatasetLayoutError(f"{path}: a dataset must be a folder, this is a file")
        self.data_path = path
        self.parent_folder = path.parent
        self.name = path.name
        self.data_input = self._find_images(images)
        self.flat = self.data_input == self.data_path

        top = sorted(p for p in path.iterdir() if p.is_file() and not _is_hidden(p))
        self.json_files = [
            p for p in top if p.suffix.lower() == ".json" and p.name != MANIFEST_NAME
        ]
        self.geojson_files = [p for p in top if p.suffix.lower() == ".geojson"]
        self.json_annotations = self.json_files[0] if self.json_files else None
        self.geojson_annotations = self.geojson_files[0] if self.geojson_files else None

        mask_dir = path / f"{self.data_input.name}_mask"
        if self.flat:
            masks = sorted(p for p in path.iterdir() if p.is_dir() and p.name.endswith("_mask"))
            mask_dir = masks[0] if len(masks) == 1 else path / "<none>"
        self.mask_annotations_dir = mask_dir if mask_dir.is_dir() else None

        self.image_files: list[Path] = []
        self.other_files: list[Path] = []
        skip = {MANIFEST_NAME, *(p.name for p in self.json_files + self.geojson_files)}
        # names from one scandir, sorted and sorted out as strings (no stat per file where
        # the file system gives the entry type; a Path per name only for the files kept)
        with os.scandir(self.data_input) as it:
            names = sorted(e.name for e in it if e.is_file())
        for name in names:
            if _hidden_name(name) or name.lower().endswith(_SIDECARS):
                continue
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                self.image_files.append(self.data_input / name)
            elif not (self.flat and name in skip):
                self.other_files.append(self.data_input / name)
        if strict and self.other_files:
            raise DatasetLayoutError(
                f"{self.data_input}: non-image files in the images folder: "
                f"{[p.name for p in self.other_files]}"
            )

        self.manifest = read_manifest(path) if manifest is None else dict(manifest)
        self.params: dict[str, Any] = {"ds_name": self.name}
        if self.manifest is not None:
            self.params.update(self.manifest.get("params") or {})
            self.params["ds_name"] = self.name

    # ----------------------------------------------------------------- discovery
    def _find_images(self, images: str | None) -> Path:
        path = self.data_path
        if images is not None:
            if images == ".":
                return path
            if Path(images).name != images:
                raise InvalidParameterError(
                    f"{path}: images={images!r} must name a direct sub-folder (or be '.')"
                )
            folder = path / images
            if not folder.is_dir():
                raise PathNotFoundError(f"{folder}: images folder does not exist")
            return folder
        subdirs = sorted(
            p
            for p in path.iterdir()
            if p.is_dir()
            and not _is_hidden(p)
            and "mask" not in p.name.lower()
            and "stats" not in p.name.lower()
        )
        with_images = [p for p in subdirs if _has_images(p)]
        if len(with_images) == 1:
            return with_images[0]
        if len(with_images) > 1:
            raise DatasetLayoutError(
                f"{path}: ambiguous dataset layout, several image folders "
                f"{[p.name for p in with_images]}; pass images=<name> to choose one"
            )
        if _has_images(path):
            return path  # flat layout: images at the top level
        if len(subdirs) == 1:
            return subdirs[0]  # an (empty) images folder
        raise DatasetLayoutError(
            f"{path}: no images folder found (no sub-folder with images, no images at the top "
            f"level; sub-folders: {[p.name for p in subdirs]})"
        )

    # ------------------------------------------------------------------ access
    def __repr__(self) -> str:
        return (
            f"Dataset({str(self.data_path)!r}, images={self.data_input.name!r}, "
            f"n_images={len(self.image_files)}, params={self.params})"
        )

    def __len__(self) -> int:
        return len(self.image_files)

    def __iter__(self) -> Iterator[Path]:
        return iter(self.image_files)

    def log_parameters(self) -> dict[str, Any]:
        """A copy of :attr:`params` (IQUAFLOW's ``DSWrapper.log_parameters``)."""
        return dict(self.params)

    def get_annotations(self) -> list[Path]:
        """``[json_annotations, geojson_annotations]`` (those that exist), as in IQUAFLOW."""
        return [p for p in (self.json_annotations, self.geojson_annotations) if p is not None]

    def image_path(self, name_or_index: str | int) -> Path:
        """Path of an image given its file name (or stem) or its index in ``image_files``."""
        if isinstance(name_or_index, int):
            try:
                return self.image_files[name_or_index]
            except IndexError:
                raise InvalidParameterError(
                    f"{self.data_input}: image index {name_or_index} out of range "
                    f"(dataset has {len(self.image_files)} images)"
                ) from None
        for p in self.image_files:
            if name_or_index in (p.name, p.stem):
                return p
        raise PathNotFoundError(f"{self.data_input / str(name_or_index)}: no such image in dataset")

    def open_image(self, name_or_index: str | int, *, chunks: Any = None) -> xr.DataArray:
        """Open one image lazily with :func:`iqx.io.open_scene` (with the dataset's bit depth)."""
        from iqx.io import open_scene

        return open_scene(self.image_path(name_or_index), chunks=chunks, bit_depth=self.bit_depth)

    def to_cube(self, *, images_per_chunk: int | None = None) -> xr.DataArray:
        """The images as one lazy ``(image, band, y, x)`` cube (:func:`iqx.datasets.open_cube`)."""
        from iqx.datasets.cube import open_cube

        return open_cube(self, images_per_chunk=images_per_chunk)

    def map_images(
        self,
        func: Callable[[Path, Any], Any],
        *,
        batch_size: int = 32,
        read: bool = True,
    ) -> Any:
        """Apply ``func(path, image)`` to every image, ``batch_size`` images per dask task.

        Parameters
        ----------
        func : callable
            ``func(path, image) -> result``; ``image`` is the ``(band, y, x)`` ndarray
            (``read=True``) or a lazy scene (``read=False``). Must pickle for a distributed
            client (cloudpickle handles closures).
        batch_size : int
            Images per partition: many small images per task, not one task per image.

        Returns
        -------
        dask.bag.Bag
            Lazy; results in ``image_files`` order. Compute it with the active distributed
            client, or ``.compute(scheduler="threads")`` locally (dask.bag's own default is
            the multiprocessing scheduler).
        """
        import dask.bag as db

        if batch_size < 1:
            raise InvalidParameterError(f"batch_size must be >= 1, got {batch_size}")
        paths = [str(p) for p in self.image_files]
        return db.from_sequence(paths, partition_size=batch_size).map(_apply, func, read)


def _apply(path: str, func: Callable[[Path, Any], Any], read: bool) -> Any:
    from iqx.io import open_scene, read_image

    p = Path(path)
    return func(p, read_image(p) if read else open_scene(p))


def open_dataset(
    path: str | os.PathLike[str],
    *,
    images: str | None = None,
    strict: bool = False,
    bit_depth: int | None = None,
) -> Dataset:
    """Open a dataset folder (IQUAFLOW layout); see :class:`Dataset`.

    A zarr store written from a dataset cube (``iqx.to_zarr(open_cube(...), path)``) opens
    as that lazy ``(image, band, y, x)`` DataArray instead (see :mod:`iqx.datasets.cube`).

    Examples
    --------
    >>> ds = open_dataset("ds_coco_dataset")  # doctest: +SKIP
    >>> ds.data_input.name, ds.json_annotations.name  # doctest: +SKIP
    ('images', 'coco_annotations.json')
    """
    from iqx.io.cube_zarr import is_cube_store

    if is_cube_store(path):
        from iqx.io.cube_zarr import open_cube_zarr

        return open_cube_zarr(path)  # type: ignore[return-value]
    return Dataset(path, images=images, strict=strict, bit_depth=bit_depth)
