"""IQUAFLOW's concrete dataset modifiers (``DSModifier_jpg``, ``_quant``, ``_blur``, ``_rer``,
``_snr``, ``_gsd``) on iqx: each one is a :class:`~iqx.compat._datasets.DSModifier_dir` whose
per-image step reproduces IQUAFLOW 1.0.1's arithmetic, named as IQUAFLOW named its folders.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np

from iqx.compat._datasets import (
    _INTERPOLATION,
    INITIAL_RER,
    INITIAL_SNR,
    DSModifier,
    DSModifier_dir,
    _from_cv2,
    _read,
    _saturate,
    _scene,
    _to_cv2,
    _write,
)
from iqx.errors import InvalidParameterError, UnsupportedDtypeError

__all__ = [
    "DSModifier_blur",
    "DSModifier_gsd",
    "DSModifier_jpg",
    "DSModifier_quant",
    "DSModifier_rer",
    "DSModifier_snr",
]


class _BandModifier(DSModifier_dir):
    """Built-in per-image modifiers: they work on ``(band, y, x)`` arrays directly;
    ``_mod_img`` accepts IQUAFLOW's OpenCV layout for direct calls."""

    def _mod_img(self, img: np.ndarray) -> np.ndarray:
        arr = _from_cv2(img, bgr=False)
        return _to_cv2(self._iqx_apply(arr, None), bgr=False)

    def _iqx_apply(self, arr: np.ndarray, src: Path | None) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


def _params(params: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """A fresh dict per instance (IQUAFLOW shared and mutated its default argument)."""
    return dict(defaults if params is None else params)


class DSModifier_jpg(_BandModifier):
    """JPEG compression at ``params["quality"]`` (default 65): ``<ds>#jpg<q>_modifier``.

    Encoded with iqx's :class:`~iqx.modifiers.JPEG` (libjpeg-turbo, 4:2:0 as OpenCV's
    default). A ``.jpg`` input gets the compressed bitstream itself as its file (IQUAFLOW
    decoded it and re-encoded at OpenCV's default quality 95); other formats get the decoded
    pixels.
    """

    def __init__(
        self, ds_modifier: DSModifier | None = None, params: dict[str, Any] | None = None
    ) -> None:
        self.params = _params(params, {"quality": 65})
        self.name = f"jpg{self.params['quality']}_modifier"
        self.ds_modifier = ds_modifier
        self.params["modifier"] = self._get_name()

    def _codec(self) -> Any:
        from iqx.modifiers import JPEG

        return JPEG(quality=int(self.params["quality"]))

    def _iqx_apply(self, arr: np.ndarray, src: Path | None) -> np.ndarray:
        return np.asarray(self._codec()(_scene(arr)).values)

    def _iqx_process_file(self, src: Path, dst: Path) -> None:
        arr, scene = _read(src)
        if dst.suffix.lower() in (".jpg", ".jpeg") and arr.dtype == np.uint8:
            dst.write_bytes(self._codec().encode(arr)[0])
            return
        _write(self._iqx_apply(arr, src), src, dst, scene)


class DSModifier_quant(_BandModifier):
    """IQUAFLOW's bit-depth "quantisation": ``img & (0xFF << (8 - bits))`` on uint8 data.

    ``<ds>#quant<bits>_modifier``; default ``bits=6``. The low ``8 - bits`` bits are cleared
    and the values are **not** rescaled, exactly as IQUAFLOW. Only uint8 images are accepted
    (IQUAFLOW's mask is meaningless on 16-bit data); iqx's own
    :func:`~iqx.modifiers.quantize` handles 1-16 bit data and rounds by default
    (``mode="mask"`` is this operation at any bit depth).
    """

    def __init__(
        self, ds_modifier: DSModifier | None = None, params: dict[str, Any] | None = None
    ) -> None:
        self.params = _params(params, {"bits": 6})
        self.name = f"quant{self.params['bits']}_modifier"
        self.ds_modifier = ds_modifier
        self.params["modifier"] = self._get_name()

    def _iqx_apply(self, arr: np.ndarray, src: Path | None) -> np.ndarray:
        bits = int(self.params["bits"])
        if not 1 <= bits <= 8:
            raise InvalidParameterError(f"DSModifier_quant: bits must be in 1..8, got {bits}")
        if arr.dtype != np.uint8:
            raise UnsupportedDtypeError(
                f"DSModifier_quant needs uint8 images, got {arr.dtype}"
                f"{f' ({src})' if src else ''}; use iqx.modifiers.quantize(bits=..., "
                "mode='mask') for deeper data"
            )
        return arr & np.uint8((0xFF << (8 - bits)) & 0xFF)


def _torch_gaussian_kernel(sigma: float, size: int = 7) -> np.ndarray:
    x = np.linspace(-(size // 2), size // 2, size, dtype=np.float32)
    pdf = np.exp(-0.5 * (x / np.float32(sigma)) ** 2)
    return (pdf / pdf.sum()).astype(np.float32)


class DSModifier_blur(_BandModifier):
    """Gaussian blur, torchvision's ``GaussianBlur(kernel_size=(7, 7), sigma)``.

    ``<ds>#blur<sigma>_modifier``; default ``sigma=1``. On uint8 data it reproduces
    torchvision's arithmetic: values scaled to [0, 1] in float32, a 7-tap kernel, reflected
    borders, then ``x * 255`` **truncated** to uint8 (``to_pil_image``). Other dtypes (which
    IQUAFLOW refused) are blurred the same way in float64 and rounded. The fixed 7x7 kernel
    truncates sigmas above about 1.2 px, as in IQUAFLOW; iqx's
    :func:`~iqx.modifiers.gaussian_blur` sizes the kernel from sigma.
    """

    def __init__(
        self, ds_modifier: DSModifier | None = None, params: dict[str, Any] | None = None
    ) -> None:
        self.params = _params(params, {"sigma": 1})
        self.name = f"blur{self.params['sigma']}_modifier"
        self.ds_modifier = ds_modifier
        self.params["modifier"] = self._get_name()

    def _iqx_apply(self, arr: np.ndarray, src: Path | None) -> np.ndarray:
        from scipy.ndimage import correlate1d

        sigma = float(self.params["sigma"])
        if not sigma > 0:
            raise InvalidParameterError(f"DSModifier_blur: sigma must be > 0, got {sigma}")
        k = _torch_gaussian_kernel(sigma)
        if arr.dtype == np.uint8:
            work = arr.astype(np.float32) / np.float32(255.0)
        else:
            work, k = arr.astype(np.float64), k.astype(np.float64)
        out = correlate1d(work, k, axis=1, mode="mirror")
        out = correlate1d(out, k, axis=2, mode="mirror")
        if arr.dtype == np.uint8:
            return (out * np.float32(255.0)).astype(np.uint8)  # torch's .byte() truncates
        return _saturate(out, arr.dtype)


def _initial(params: dict[str, Any], from_dataset: str | None, key: str, table: dict) -> float:
    name = from_dataset or params.get("dataset")
    if name is not None:
        if name not in table:
            raise InvalidParameterError(f"unknown dataset {name!r}; known: {sorted(table)}")
        return float(table[name])
    if f"initial_{key}" not in params:
        raise InvalidParameterError(f"give params['dataset'] or params['initial_{key}']")
    return float(params[f"initial_{key}"])


class DSModifier_rer(_BandModifier):
    """Blur to a target RER: ``<ds>#rer<rer>_modifier`` (default ``rer=0.2``, xView).

    The initial RER comes from ``get_initial_from_dataset``, ``params["dataset"]``
    (IQUAFLOW's tables :data:`INITIAL_RER`) or ``params["initial_rer"]``. The blur is iqx's
    :class:`~iqx.modifiers.RERBlur`: the kernel sigma from the analytic Gaussian relation
    ``RER = erf(1 / (2 sqrt(2) sigma))`` (IQUAFLOW searched it iteratively on a sampled
    LSF), a kernel of 4 sigma (IQUAFLOW: fixed 15x15 with zero-padded borders), results
    rounded (IQUAFLOW truncated). Any dtype and band count (IQUAFLOW: 3-band uint8 only).
    """

    def __init__(
        self,
        ds_modifier: DSModifier | None = None,
        get_initial_from_dataset: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.params = _params(params, {"rer": 0.2, "dataset": "xview"})
        self.name = f"rer{self.params['rer']}_modifier"
        self.ds_modifier = ds_modifier
        self.params["modifier"] = self._get_name()
        self.init_RER = _initial(self.params, get_initial_from_dataset, "rer", INITIAL_RER)

    def _iqx_step_id(self) -> str:
        return f"{super()._iqx_step_id()}:from{self.init_RER:g}"

    def _iqx_apply(self, arr: np.ndarray, src: Path | None) -> np.ndarray:
        from iqx.modifiers import RERBlur

        mod = RERBlur(rer=float(self.params["rer"]), initial_rer=self.init_RER)
        return np.asarray(mod(_scene(arr)).values)


class DSModifier_snr(_BandModifier):
    """Gaussian noise to a target SNR: ``<ds>#snr<snr>_modifier`` (default 20, xView).

    The initial SNR comes from ``get_initial_from_dataset``, ``params["dataset"]``
    (:data:`INITIAL_SNR`) or ``params["initial_snr"]``. The noise is iqx's
    :class:`~iqx.modifiers.SNRNoise` (``sigma_add = sqrt((mean/snr)**2 -
    (mean/initial)**2)`` per image, as IQUAFLOW), **seeded**: ``seed`` (default 0) combined
    with each file's name, so a rerun gives the same dataset (IQUAFLOW used the unseeded
    global ``np.random``); values are rounded (IQUAFLOW truncated).

    Parameters
    ----------
    seed : int
        Base seed (not part of ``params``, so logged params stay IQUAFLOW's).
    """

    def __init__(
        self,
        ds_modifier: DSModifier | None = None,
        get_initial_from_dataset: str | None = None,
        params: dict[str, Any] | None = None,
        *,
        seed: int = 0,
    ) -> None:
        self.params = _params(params, {"snr": 20, "dataset": "xview"})
        self.name = f"snr{self.params['snr']}_modifier"
        self.ds_modifier = ds_modifier
        self.params["modifier"] = self._get_name()
        self.init_SNR = _initial(self.params, get_initial_from_dataset, "snr", INITIAL_SNR)
        self.seed = int(seed)

    def _iqx_step_id(self) -> str:
        return f"{super()._iqx_step_id()}:from{self.init_SNR:g}:seed{self.seed}"

    def _iqx_apply(self, arr: np.ndarray, src: Path | None) -> np.ndarray:
        from iqx.modifiers import SNRNoise

        seed = self.seed if src is None else (self.seed + zlib.crc32(src.name.encode())) % 2**31
        mod = SNRNoise(snr=float(self.params["snr"]), initial_snr=self.init_SNR, seed=seed)
        return np.asarray(mod(_scene(arr)).values)


class DSModifier_gsd(_BandModifier):
    """Resampling to a coarser GSD: ``<ds>#gsd<resol*scale>_modifier``.

    ``params = {"scale": 1.0, "interpolation": 2, "resol": 0.3}`` (``gsd`` is added):
    the image is resized by ``1 / scale`` (size ``int(n / scale)``, torchvision's
    interpolation code: 0 nearest, 2 bilinear, 3 bicubic, 1 lanczos, 4 box) with iqx's
    resampling, as IQUAFLOW 1.0.1 (the released wheel). IQUAFLOW's later code resized back
    to the original size (a blur): pass ``resize_back=True`` for that. Annotations are
    copied unchanged, as in IQUAFLOW (``iqx.modifiers.resample`` scales them).

    Parameters
    ----------
    resize_back : bool
        Resize back to the input size (IQUAFLOW's repository HEAD behaviour).
    """

    def __init__(
        self,
        ds_modifier: DSModifier | None = None,
        params: dict[str, Any] | None = None,
        *,
        resize_back: bool = False,
    ) -> None:
        self.params = _params(params, {"scale": 1.0, "interpolation": 2, "resol": 0.3})
        self.params["gsd"] = self.params["resol"] * self.params["scale"]
        self.name = f"gsd{self.params['gsd']}_modifier"
        self.ds_modifier = ds_modifier
        self.params["modifier"] = self._get_name()
        self.resize_back = bool(resize_back)

    def _iqx_step_id(self) -> str:
        return super()._iqx_step_id() + (":back" if self.resize_back else "")

    def _iqx_apply(self, arr: np.ndarray, src: Path | None) -> np.ndarray:
        from iqx.modifiers.resampling import resample_to_shape

        code = int(self.params.get("interpolation", 2))
        if code not in _INTERPOLATION:
            raise InvalidParameterError(f"DSModifier_gsd: unknown interpolation {code}")
        method = _INTERPOLATION[code]
        scale = float(self.params["scale"])
        ny, nx = arr.shape[1:]
        shape = (max(1, int(ny / scale)), max(1, int(nx / scale)))
        out = resample_to_shape(_scene(arr), shape, method)
        if self.resize_back:
            out = resample_to_shape(out, (ny, nx), method)
        return np.asarray(out.values)
