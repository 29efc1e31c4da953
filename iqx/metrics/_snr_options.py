"""Typed options of the SNR methods: one frozen :class:`~iqx.metrics._options.Options` each.

:func:`iqx.metrics.snr` takes ``method`` plus that method's keywords; :data:`OPTIONS` maps
each method to its class. Each class declares its defaults, ranges and units, checks them
once, resolves derived values (``stride`` defaults to ``block_size``) and gives the
neighbourhoods the block reduction needs as properties (:attr:`halo`, :attr:`shift`,
:attr:`lead_halo`; see :func:`iqx.parallel.reduce_blocks_leading`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from iqx.errors import InvalidParameterError
from iqx.metrics._options import Options, option

__all__: list[str] = []

#: every method understood by :func:`snr`
METHODS = ("blocks", "pca", "immerkaer", "hb", "ha")
#: the method behind the ``snr`` key (see docs/snr.md, "Choosing the default")
DEFAULT_METHOD = "blocks"


def _block_size(default: int, low: int, doc: str) -> Any:
    return option(default, doc=doc, type="int", unit="px", range=f">={low}")


def _min_blocks(default: int, what: str) -> Any:
    return option(default, doc=f"Fewest {what} for a value.", type="int", unit="count", ge=0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SNROptions(Options):
    """Base of the per-method options: the ``block_size`` check, halos, ``as_dict``."""

    metric = "snr"
    #: the :func:`snr` method these options belong to
    method: ClassVar[str] = ""
    #: smallest ``block_size`` the method accepts
    min_block_size: ClassVar[int] = 2

    def validate(self) -> None:
        """``block_size`` is an integer >= 2 (>= 3 for ``blocks``); ``stride`` defaults to it."""
        b = getattr(self, "block_size", None)
        if b is not None and (not isinstance(b, int | np.integer) or b < 2):
            raise InvalidParameterError(f"block_size must be an integer >= 2, got {b!r}")
        if b is not None and b < self.min_block_size:
            raise InvalidParameterError(
                f"the {self.method} method needs block_size >= {self.min_block_size} (plane fit)"
            )
        if hasattr(self, "stride") and self.stride is None:
            object.__setattr__(self, "stride", b)

    @property
    def size(self) -> int:
        """Side of a measured item (0 when the method has none)."""
        return getattr(self, "block_size", 0)

    @property
    def halo(self) -> int:
        """Neighbourhood a measured item needs on each side (the registered halo)."""
        return self.size - 1

    @property
    def shift(self) -> int:
        """How far past its origin an item's neighbourhood ends: the chunk holding
        ``origin + shift`` owns the item (see :func:`iqx.parallel.reduce_blocks_leading`)."""
        return self.size - 1

    @property
    def lead_halo(self) -> int:
        """Leading halo: from an owned item's neighbourhood start to its owner's core start."""
        return self.shift

    def as_dict(self) -> dict[str, Any]:
        """``{name: value}`` in declaration order (``stride`` resolved)."""
        return {name: getattr(self, name) for name in self.names()}


@dataclasses.dataclass(frozen=True, kw_only=True)
class BlocksOptions(SNROptions):
    """Options of ``method="blocks"`` (bias-corrected homogeneous blocks, all signal levels)."""

    method = "blocks"
    min_block_size = 3

    block_size: int = _block_size(6, 3, "Side of the plane-detrended blocks.")
    quantile: float = option(
        0.1, doc="Quantile of the block stds per signal bin.", type="float", unit="1", gt=0, lt=1
    )
    min_blocks: int = _min_blocks(50, "blocks per signal bin and in total")
    max_bins: int = option(16, doc="Most signal bins of the noise curve.", type="int", ge=1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PCAOptions(SNROptions):
    """Options of ``method="pca"`` (weak-texture patches, eigenvalue split)."""

    method = "pca"

    block_size: int = _block_size(7, 2, "Side of the patches.")
    min_blocks: int = _min_blocks(100, "weak-texture patches")
    confidence: float = option(
        0.99,
        doc="Confidence of the weak-texture threshold (Liu et al. 2013).",
        type="float",
        unit="1",
        gt=0,
        lt=1,
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImmerkaerOptions(SNROptions):
    """Options of ``method="immerkaer"`` (Laplacian-difference estimator, 3x3 neighbourhood)."""

    method = "immerkaer"

    min_blocks: int = _min_blocks(100, "pixels with a fully valid 3x3 neighbourhood")

    @property
    def halo(self) -> int:
        """One pixel: the 3x3 Laplacian difference."""
        return 1

    @property
    def shift(self) -> int:
        """One pixel (the neighbourhood ends one past the centre)."""
        return 1

    @property
    def lead_halo(self) -> int:
        """Two pixels: the owned centres start one pixel into the core, plus their ring."""
        return 2


def _stride() -> Any:
    return option(
        None, doc="Step between windows (default: block_size).", type="int, optional", unit="px"
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class HBOptions(SNROptions):
    """Options of ``method="hb"`` (IQUAFLOW's homogeneous blocks)."""

    method = "hb"

    block_size: int = _block_size(3, 2, "Side of the blocks.")
    stride: int | None = _stride()


@dataclasses.dataclass(frozen=True, kw_only=True)
class HAOptions(SNROptions):
    """Options of ``method="ha"`` (IQUAFLOW's homogeneous area, LBP-flat windows)."""

    method = "ha"

    block_size: int = _block_size(5, 2, "Side of the windows.")
    stride: int | None = _stride()
    radius: int = option(1, doc="LBP radius.", type="int", unit="px", ge=1)
    lbp_threshold: float = option(
        0.6,
        doc="Fraction of flat LBP codes a homogeneous window needs.",
        type="float",
        unit="1",
        ge=0,
        le=1,
    )

    @property
    def halo(self) -> int:
        """The window plus the LBP radius."""
        return self.block_size - 1 + self.radius

    @property
    def shift(self) -> int:
        """The window plus the LBP radius."""
        return self.block_size - 1 + self.radius

    @property
    def lead_halo(self) -> int:
        """The window plus the LBP ring on both sides."""
        return self.block_size - 1 + 2 * self.radius


#: ``method -> options class``.
OPTIONS: dict[str, type[SNROptions]] = {
    c.method: c for c in (BlocksOptions, PCAOptions, ImmerkaerOptions, HBOptions, HAOptions)
}


def method_parameters() -> dict[str, dict[str, Any]]:
    """Every method option, for ``iqx list`` (the registration's ``params``).

    An option several methods share is listed once, with each method's default (and its
    range where methods differ) in the doc; its ``default`` is the default method's, or
    ``None`` when that method has no such option.
    """
    out: dict[str, dict[str, Any]] = {}
    per: dict[str, list[str]] = {}
    ranges: dict[str, dict[str, Any]] = {}
    docs: dict[str, dict[str, str]] = {}
    for method, cls in OPTIONS.items():
        for name, d in cls.describe().items():
            entry = out.setdefault(name, {k: d[k] for k in ("type", "unit", "doc")})
            entry.setdefault("default", None)
            if method == DEFAULT_METHOD:
                entry["default"] = d.get("default")
            per.setdefault(name, []).append(f"{method} {d.get('default')}")
            ranges.setdefault(name, {})[method] = d["range"]
            docs.setdefault(name, {})[method] = d["doc"].rstrip(".")
    for name, entry in out.items():
        rng = ranges[name]
        common = set(rng.values())
        entry["range"] = (
            common.pop()
            if len(common) == 1
            else "; ".join(f"{m} {r}" for m, r in rng.items() if r is not None)
        )
        doc = docs[name]
        text = (
            next(iter(doc.values()))
            if len(set(doc.values())) == 1
            else "; ".join(f"{m}: {d}" for m, d in doc.items())
        )
        given = [d for d in per[name] if not d.endswith(" None")]
        entry["doc"] = f"{text} (default: {', '.join(given)})." if given else f"{text}."
    return out


#: keywords of :func:`snr` that are inputs or switches, not method options
_NOT_OPTIONS = ("mask", "iquaflow_compat", "curve", "compute", "tile")


def _options(method: str, kw: dict[str, Any]) -> SNROptions:
    """The options of ``method`` from keywords (``None`` means the default)."""
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {METHODS}, got {method!r}")
    cls = OPTIONS[method]
    unknown = set(kw) - set(cls.names())
    if unknown:
        raise InvalidParameterError(
            f"unknown parameter(s) {sorted(unknown)} for method {method!r}; "
            f"accepted: {sorted(cls.names())}"
        )
    return cls(**{k: v for k, v in kw.items() if v is not None})


def snr_halo(method: str = DEFAULT_METHOD, **kw: Any) -> int:
    """The registered halo of ``snr``: :attr:`SNROptions.halo` of the method's options.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    **kw
        That method's options (``mask``, ``iquaflow_compat``, ``curve``, ``compute`` and
        ``tile`` are accepted and ignored); unknown names raise.

    Returns
    -------
    int
        Pixels of neighbourhood per side.
    """
    return _options(method, {k: v for k, v in kw.items() if k not in _NOT_OPTIONS}).halo
