"""IQUAFLOW's ``iquaflow.datasets`` names on iqx: ``DSWrapper``, ``DSModifier`` and friends.

The folder conventions are IQUAFLOW's (``<ds>#<name>``, chains ``<ds>#<child>#<self>``,
``params = {"ds_name", "modifier": "<chain>", **params}``); the work is iqx's
(:func:`iqx.datasets.modify.modify`: atomic, parallel over images, manifest-writing).

Every compat modifier converts to an iqx :class:`~iqx.modifiers.Modifier` through
:meth:`DSModifier.iqx_modifier` (the ``iqx_modifier()`` hook understood by
:func:`iqx.modifiers.as_modifier`), so it can be given to :func:`iqx.modify` and to
:class:`iqx.experiment.ExperimentSetup` as well.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from iqx.errors import (
    DatasetLayoutError,
    InvalidParameterError,
    PathNotFoundError,
)
from iqx.modifiers import ExternalModifier, Modifier

__all__ = [
    "DUPL_ESC_KEY",
    "DSAnnotationsNotFound",
    "DSModifier",
    "DSModifier_dir",
    "DSNotFound",
    "DSWrapper",
    "INITIAL_RER",
    "INITIAL_SNR",
]

#: IQUAFLOW's name of the "no copy" base modifier (``_toggle_on_symlink_for_base_modifier``)
DUPL_ESC_KEY = "do not duplicate dataset"
#: IQUAFLOW's ``dataset_labels/RER/<dataset>_RER.json`` values
INITIAL_RER = {"xview": 0.56, "inria-aid": 0.56, "DeepGlobe": 0.54}
#: IQUAFLOW's ``dataset_labels/SNR/<dataset>_SNR.json`` values
INITIAL_SNR = {"xview": 31.0, "inria-aid": 31.0, "DeepGlobe": 45.0}
#: torchvision's integer interpolation codes -> iqx resampling methods
_INTERPOLATION = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "cubic", 4: "area", 5: "bilinear"}


class DSNotFound(PathNotFoundError):
    """The dataset folder (or images folder) does not exist (IQUAFLOW's exception)."""


class DSAnnotationsNotFound(PathNotFoundError):
    """None of the given annotation files exists (IQUAFLOW's exception)."""


# ---------------------------------------------------------------------------------------
# DSWrapper
# ---------------------------------------------------------------------------------------
class DSWrapper:
    """A dataset folder with IQUAFLOW's attributes (paths are strings, as given).

    Parameters
    ----------
    data_path : str, optional
        The dataset folder. Its images folder, annotations and ``<images>_mask`` folder are
        discovered with :class:`iqx.datasets.Dataset`'s rules (deterministic: the one
        sub-folder holding images; several raise :class:`~iqx.errors.DatasetLayoutError`).
    data_input : str, optional
        The images folder. Without ``data_path`` it is required, with ``json_annotations``
        or ``geojson_annotations``; ``data_path`` is then its parent.
    json_annotations, geojson_annotations : str, optional
        Annotation files (default: the first, by name, ``*.json`` / ``*.geojson``).
    mask_annotations_dir : str, optional
        Mask folder (default ``<data_input>_mask`` when it exists, else ``""``).
    ds_modifier : DSModifier, optional
        The modifier that made this dataset: its :meth:`DSModifier.log_parameters` are merged
        into :attr:`params`.

    Attributes
    ----------
    data_path, parent_folder, data_input, ds_name : str
    json_annotations, geojson_annotations : str or None
    mask_annotations_dir : str
    params : dict
        ``{"ds_name": ds_name, **modifier params}``.

    Raises
    ------
    DSNotFound
        ``data_path`` or ``data_input`` does not exist.
    DSAnnotationsNotFound
        Explicit initialisation and none of the annotation files exists.
    """

    def __init__(
        self,
        data_path: str = "",
        data_input: str = "",
        json_annotations: str = "",
        geojson_annotations: str = "",
        mask_annotations_dir: str = "",
        ds_modifier: DSModifier | None = None,
    ) -> None:
        data_path, data_input = os.fspath(data_path), os.fspath(data_input)
        json_annotations = os.fspath(json_annotations or "")
        geojson_annotations = os.fspath(geojson_annotations or "")
        self.mask_annotations_dir = os.fspath(mask_annotations_dir or "")
        if data_path:
            if not os.path.exists(data_path):
                raise DSNotFound(f"{data_path}: dataset folder does not exist")
            self.data_path = data_path
            self.parent_folder = os.path.dirname(data_path)
            ds = _discover(data_path, data_input)
            if data_input:
                self.data_input = data_input
            elif ds is not None:
                self.data_input = os.path.join(data_path, ds.data_input.name)
            else:
                self.data_input = ""
            top = sorted(os.listdir(data_path))
            jsons = [n for n in top if n.endswith(".json") and n != "iqx_manifest.json"]
            geos = [n for n in top if n.endswith(".geojson")]
            self.json_annotations = json_annotations or (
                os.path.join(data_path, jsons[0]) if jsons else None
            )
            # IQUAFLOW stored an explicit value in a misspelled attribute; fixed here
            self.geojson_annotations = geojson_annotations or (
                os.path.join(data_path, geos[0]) if geos else None
            )
        else:
            if not data_input or not (json_annotations or geojson_annotations):
                raise InvalidParameterError(
                    "DSWrapper: give data_path, or data_input with json_annotations or "
                    "geojson_annotations"
                )
            self.json_annotations = json_annotations or None
            self.geojson_annotations = geojson_annotations or None
            if not any(p and os.path.exists(p) for p in (json_annotations, geojson_annotations)):
                raise DSAnnotationsNotFound(
                    f"none of the annotation files exists: {json_annotations or geojson_annotations}"
                )
            if not os.path.exists(data_input):
                raise DSNotFound(f"{data_input}: images folder does not exist")
            self.data_input = data_input
            self.data_path = os.path.dirname(data_input)
            self.parent_folder = os.path.dirname(self.data_path)
        if not self.mask_annotations_dir and self.data_input:
            if os.path.isdir(self.data_input + "_mask"):
                self.mask_annotations_dir = self.data_input + "_mask"
        self.ds_name = os.path.basename(self.data_path)
        self.ds_modifier_applied = ds_modifier
        self.params: dict[str, Any] = {"ds_name": self.ds_name}
        if ds_modifier is not None:
            self.set_log_parameters(ds_modifier.log_parameters())

    def __repr__(self) -> str:
        return f"DSWrapper(data_path={self.data_path!r}, params={self.params})"

    def log_parameters(self) -> dict[str, Any]:
        """A copy of :attr:`params`."""
        return self.params.copy()

    def set_log_parameters(self, update_dict: dict[str, Any]) -> None:
        """Merge ``update_dict`` into :attr:`params`."""
        self.params.update(update_dict)

    def modify(self, ds_modifier: DSModifier) -> DSWrapper:
        """``ds_modifier.modify_ds_wrapper(self)``: the modified dataset's wrapper."""
        return ds_modifier.modify_ds_wrapper(self)

    def get_annotations(self) -> list[str]:
        """``[json_annotations, geojson_annotations]``, those that are set."""
        return [p for p in (self.json_annotations, self.geojson_annotations) if p]

    @property
    def dataset(self) -> Any:
        """The iqx :class:`~iqx.datasets.Dataset` of this folder."""
        from iqx.datasets import open_dataset

        images = os.path.basename(self.data_input) if self.data_input else None
        return open_dataset(self.data_path, images=images)


def _discover(data_path: str, data_input: str) -> Any:
    from iqx.datasets import open_dataset

    try:
        images = os.path.basename(data_input) if data_input else None
        return open_dataset(data_path, images=images)
    except DatasetLayoutError as exc:
        if "ambiguous" in str(exc):
            raise
        warnings.warn(f"DSWrapper: no images folder found in {data_path} ({exc})", stacklevel=3)
        return None


# ---------------------------------------------------------------------------------------
# the iqx side of a compat modifier
# ---------------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


class IquaflowStep(ExternalModifier):
    """One IQUAFLOW modifier as an iqx modifier (a step of :func:`iqx.modify`).

    Its config is ``{"id": "iquaflow.<class>[@<code hash>]", **IQUAFLOW params}`` (without
    ``modifier``), so a derived dataset's ``params`` are IQUAFLOW's; its folder name is the
    IQUAFLOW modifier's ``name``. On a dataset it processes file to file (like IQUAFLOW: the
    output may change size, annotations are copied unchanged); on an in-memory scene it
    applies the modifier's array function.

    Parameters
    ----------
    owner : DSModifier
        The compat modifier (its own step only: children are separate steps).
    """

    def __init__(self, owner: DSModifier) -> None:
        self._owner = owner
        self._step_id = owner._iqx_step_id()
        params = {k: _json_value(v) for k, v in owner.params.items() if k != "modifier"}
        Modifier.__init__(self, **params)

    @property  # type: ignore[override]
    def id(self) -> str:
        return self._step_id

    @property
    def changes_grid(self) -> bool:  # type: ignore[override]
        return False

    @property
    def folder_name(self) -> str:
        return str(self._owner.name)

    def __repr__(self) -> str:
        return f"iquaflow({self._owner.name!r})"

    def run_file(self, src: Path, dst: Path) -> None:
        """Modify one image file (IQUAFLOW's per-file step)."""
        self._owner._iqx_process_file(Path(src), Path(dst))

    def apply(self, image: Any) -> Any:
        import xarray as xr

        arr = np.asarray(image.values)
        out = self._owner._iqx_apply(arr, None)
        if out.shape != arr.shape:
            raise InvalidParameterError(
                f"{self._owner.name}: changes the image shape {arr.shape} -> {out.shape}; "
                "apply it to a dataset (iqx.modify) instead"
            )
        return xr.DataArray(out, dims=image.dims, coords=image.coords, attrs=image.attrs)


def _read(src: Path) -> tuple[np.ndarray, Any]:
    from iqx.io import open_scene, read_image

    return read_image(src), open_scene(src)


def _write(out: np.ndarray, src: Path, dst: Path, scene: Any) -> None:
    from iqx.io import write_image

    if out.shape == tuple(scene.shape):
        image: Any = scene.copy(data=out)
    else:  # the grid changed: the source georeferencing no longer applies
        image = out
    if dst.suffix.lower() in (".jpg", ".jpeg"):
        # iqx's least lossy baseline JPEG container (IQUAFLOW: cv2.imwrite quality 95)
        write_image(image, dst, driver="JPEG", quality=100, subsampling=0)
    else:
        write_image(image, dst, like=src)


def _saturate(out: Any, dtype: np.dtype) -> np.ndarray:
    """``out`` in ``dtype``: integers are rounded and clipped (OpenCV's saturate_cast)."""
    arr = np.asarray(out)
    if arr.dtype == dtype:
        return arr
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if np.issubdtype(arr.dtype, np.floating):
            arr = np.rint(arr)
        return np.clip(arr, info.min, info.max).astype(dtype)
    return arr.astype(dtype)


def _to_cv2(arr: np.ndarray, bgr: bool) -> np.ndarray:
    """``(band, y, x)`` -> OpenCV layout: ``(y, x)`` for one band, else ``(y, x, band)``,
    colour (3/4 bands) reordered to BGR(A) when ``bgr``."""
    if arr.shape[0] == 1:
        return arr[0]
    img = np.moveaxis(arr, 0, -1)
    if bgr and img.shape[-1] in (3, 4):
        order = [2, 1, 0] + ([3] if img.shape[-1] == 4 else [])
        img = img[..., order]
    return np.ascontiguousarray(img)


def _from_cv2(img: Any, bgr: bool) -> np.ndarray:
    out = np.asarray(img)
    if out.ndim == 2:
        return out[None]
    if out.ndim != 3:
        raise InvalidParameterError(f"_mod_img must return a 2-D or 3-D array, got {out.shape}")
    if bgr and out.shape[-1] in (3, 4):
        order = [2, 1, 0] + ([3] if out.shape[-1] == 4 else [])
        out = out[..., order]
    return np.ascontiguousarray(np.moveaxis(out, -1, 0))


def _scene(arr: np.ndarray) -> Any:
    import xarray as xr

    return xr.DataArray(arr, dims=("band", "y", "x"))


# ---------------------------------------------------------------------------------------
# DSModifier
# ---------------------------------------------------------------------------------------
class DSModifier:
    """IQUAFLOW's base modifier: a plain copy, ``<ds>#base_modifier``.

    Parameters
    ----------
    ds_modifier : DSModifier, optional
        Child applied first (a chain): the name becomes ``<child chain>#<name>`` and the
        dataset ``<ds>#<child>#<self>`` (the intermediate stays on disk, as in IQUAFLOW).

    Attributes
    ----------
    name : str
        This step's name (folder suffix).
    ds_modifier : DSModifier or None
    params : dict
        ``{"modifier": <chain name>, **step params}``.

    Notes
    -----
    In ``ds_modifiers_list`` the base modifier **copies** the dataset (file by file, bytes
    unchanged), so run names and ``modifier`` params stay IQUAFLOW's (``ds#base_modifier``).
    After ``_toggle_on_symlink_for_base_modifier()`` (IQUAFLOW's "do not duplicate
    dataset") it is iqx's identity instead (``iqx_identity``): no copy, the run uses the
    unmodified dataset (run name ``ds``, ``modifier="reference"``).
    """

    def __init__(self, ds_modifier: DSModifier | None = None) -> None:
        self.name = "base_modifier"
        self.ds_modifier = ds_modifier
        self.params: dict[str, Any] = {"modifier": self._get_name()}
        self._symlink = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._get_name()!r}, params={self.params})"

    # -- IQUAFLOW's interface ------------------------------------------------------------
    def _get_name(self) -> str:
        """The chain's name: ``<child chain>#<name>``."""
        if self.ds_modifier is None:
            return self.name
        return f"{self.ds_modifier._get_name()}#{self.name}"

    def _toggle_on_symlink_for_base_modifier(self) -> None:
        self.name = DUPL_ESC_KEY
        self._symlink = True

    def _toggle_off_symlink_for_base_modifier(self) -> None:
        self.name = "base_modifier"
        self._symlink = False

    def log_parameters(self) -> dict[str, Any]:
        """A copy of :attr:`params`."""
        return self.params.copy()

    def set_log_parameters(self, update_dict: dict[str, Any]) -> None:
        """Merge ``update_dict`` into :attr:`params`."""
        self.params.update(update_dict)

    @property
    def iqx_identity(self) -> bool:
        """True for the "do not duplicate dataset" base modifier (iqx's unmodified run)."""
        return bool(getattr(self, "_symlink", False)) and self.ds_modifier is None

    def modify(
        self,
        data_path: str = "",
        data_input: str = "",
        ds_wrapper: DSWrapper | None = None,
    ) -> tuple[str, str, str]:
        """Write the modified dataset next to the source; return IQUAFLOW's triple.

        Parameters
        ----------
        data_path, data_input : str
            The source dataset folder, or its images folder (``data_path`` is then its
            parent).
        ds_wrapper : DSWrapper, optional
            The source as a wrapper.

        Returns
        -------
        tuple of str
            ``(modified images folder, modified dataset folder, parent folder)``.

        Notes
        -----
        An existing folder of the same name is reused when it was made with the same
        configuration and is complete, else replaced (IQUAFLOW always rewrote it).
        """
        from iqx.datasets.modify import modify

        if ds_wrapper is None:
            if not data_path:
                data_path = os.path.dirname(os.fspath(data_input))
            ds_wrapper = DSWrapper(data_path=os.fspath(data_path))
        if self.iqx_identity:
            return ds_wrapper.data_input, ds_wrapper.data_path, ds_wrapper.parent_folder
        out = modify(ds_wrapper.dataset, self.iqx_modifier(), overwrite=True)
        mod_path = os.path.join(ds_wrapper.parent_folder, out.name)
        mod_input = os.path.join(mod_path, os.path.basename(ds_wrapper.data_input))
        return mod_input, mod_path, ds_wrapper.parent_folder

    def modify_ds_wrapper(self, ds_wrapper: DSWrapper) -> DSWrapper:
        """:meth:`modify` taking and returning a :class:`DSWrapper` (params merged)."""
        if self.iqx_identity:
            return ds_wrapper
        _, mod_path, _ = self.modify(ds_wrapper=ds_wrapper)
        return DSWrapper(data_path=mod_path, ds_modifier=self)

    # -- the iqx side ----------------------------------------------------------------------
    def iqx_modifier(self) -> Modifier:
        """This modifier (with its children) as an iqx modifier (a Chain for chains)."""
        from iqx.modifiers import Chain

        own = IquaflowStep(self)
        if self.ds_modifier is None:
            return own
        child = self.ds_modifier.iqx_modifier()
        steps = list(child.steps) if isinstance(child, Chain) else [child]
        return Chain([*steps, own])

    def _iqx_step_id(self) -> str:
        cls = type(self)
        ident = f"iquaflow.{cls.__name__}"
        if cls.__module__ != __name__:  # user code: a change of code is a change of config
            try:
                source = inspect.getsource(cls)
            except (OSError, TypeError):
                source = cls.__qualname__
            ident += "@" + hashlib.sha256(source.encode()).hexdigest()[:8]
        return ident

    def _iqx_process_file(self, src: Path, dst: Path) -> None:
        shutil.copyfile(src, dst)

    def _iqx_apply(self, arr: np.ndarray, src: Path | None) -> np.ndarray:
        return arr


class DSModifier_dir(DSModifier):
    """Per-image modifier base: subclasses override ``_mod_img(img) -> img``.

    Every image of the images folder is read (iqx readers: GeoTIFF, PNG, JPEG, ...),
    passed to :meth:`_mod_img` in OpenCV's layout (``(H, W)`` for one band, ``(H, W, C)``
    otherwise, **BGR(A) order** for 3/4 bands, as IQUAFLOW's ``cv2.imread`` gave; set the
    class attribute ``channel_order = "rgb"`` to receive RGB), and written back under the same
    name and format. The result is cast back to the input dtype with rounding and clipping
    (OpenCV's ``saturate_cast``); it may change size. A same-size GeoTIFF keeps its
    georeferencing; JPEG files are written at quality 100, 4:4:4.

    Parameters
    ----------
    ds_modifier : DSModifier, optional
        Child applied first.
    """

    #: channel order of colour images given to ``_mod_img``: "bgr" (IQUAFLOW) or "rgb"
    channel_order = "bgr"

    def __init__(self, ds_modifier: DSModifier | None = None) -> None:
        self.name = "dir_modifier"
        self.ds_modifier = ds_modifier
        self.params = {"modifier": self._get_name()}

    def _mod_img(self, img: np.ndarray) -> np.ndarray:
        """Modify one image (override); the base returns it unchanged."""
        return img

    def _iqx_apply(self, arr: np.ndarray, src: Path | None) -> np.ndarray:
        bgr = str(getattr(self, "channel_order", "bgr")).lower() == "bgr"
        out = _from_cv2(self._mod_img(_to_cv2(arr, bgr)), bgr)
        return _saturate(out, arr.dtype)

    def _iqx_process_file(self, src: Path, dst: Path) -> None:
        arr, scene = _read(src)
        _write(self._iqx_apply(arr, src), src, dst, scene)
