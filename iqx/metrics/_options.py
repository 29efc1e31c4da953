"""Typed, frozen option definitions for metrics: one place for defaults, ranges and units.

A metric's options are a frozen dataclass deriving from :class:`Options`. Each field is
declared with :func:`option`, which records its documentation, unit, choices and numeric
bounds next to its default. The instance checks every bound once, in ``__post_init__``,
plus any cross-field rule the subclass adds in :meth:`Options.validate`. Derived quantities
(a window's halo, its weights) are properties of the instance, so nothing downstream
re-derives them from a ``dict``.

The same definition feeds:

* the registration (``register_metric(..., options=SSIMOptions)``), so ``iqx list`` and the
  generated op table show the declared default, range and unit (:meth:`Options.describe`);
* the result attrs (``iqx_params``, :func:`iqx.metrics._result.result_attrs`);
* MLflow parameters (:meth:`Options.mlflow_params`).

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class BoxOptions(Options):
...     size: int = option(7, doc="Side of the box.", ge=3, unit="px")
>>> BoxOptions(size=9).size
9
>>> BoxOptions(size=1)
Traceback (most recent call last):
...
iqx.errors.InvalidParameterError: size must be >= 3, got 1
>>> BoxOptions.describe()["size"]["range"]
'>=3'
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from iqx._json import to_jsonable
from iqx.errors import InvalidParameterError

__all__ = ["Options", "option"]

T = TypeVar("T", bound="Options")

_BOUNDS = (("gt", ">", float.__gt__), ("ge", ">=", float.__ge__), ("lt", "<", float.__lt__))
_BOUNDS += (("le", "<=", float.__le__),)


def option(
    default: Any,
    *,
    doc: str,
    type: str = "",
    unit: str | None = None,
    choices: Sequence[Any] | None = None,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    range: str | None = None,
) -> Any:
    """A dataclass field with the metadata :class:`Options` validates and describes.

    Parameters
    ----------
    default : object
        The default value (``None`` means "derived", e.g. from the data or another option).
    doc : str
        One sentence for ``iqx list`` and the docs.
    type : str
        The numpydoc type line (e.g. ``"float"``, ``"int, odd"``).
    unit : str, optional
        Unit of the value (``"px"``, ``"DN"``, ``"1"``).
    choices : sequence, optional
        The allowed values; anything else raises.
    gt, ge, lt, le : float, optional
        Numeric bounds (``None`` values are not checked against them).
    range : str, optional
        The range as shown by ``iqx list``, for a rule :meth:`Options.validate` checks
        (default: written from ``choices`` or the bounds).

    Returns
    -------
    dataclasses.Field
        The field, with its metadata under ``"iqx"``.
    """
    meta = {"doc": doc, "type": type, "unit": unit, "choices": choices, "range": range}
    meta.update({"gt": gt, "ge": ge, "lt": lt, "le": le})
    return dataclasses.field(default=default, metadata={"iqx": meta})


def _range(meta: Mapping[str, Any]) -> str | None:
    if meta["range"] is not None:
        return meta["range"]
    if meta["choices"] is not None:
        return "{" + ", ".join(json.dumps(c) for c in meta["choices"]) + "}"
    parts = [f"{sym}{meta[key]:g}" for key, sym, _ in _BOUNDS if meta[key] is not None]
    return ", ".join(parts) or None


@dataclasses.dataclass(frozen=True)
class Options:
    """Base of a metric's typed options (see the module docstring).

    Subclasses are frozen dataclasses whose fields are declared with :func:`option`; they
    may override :meth:`validate` for rules that involve several fields. Instances compare
    and hash by value, and ``repr`` shows every field.
    """

    #: the registry id the options belong to (prefix of MLflow keys)
    metric: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            meta = f.metadata.get("iqx")
            if meta is None:
                continue
            value = getattr(self, f.name)
            if meta["choices"] is not None and value not in meta["choices"]:
                allowed = " or ".join(repr(c) for c in meta["choices"])
                raise InvalidParameterError(f"{f.name} must be {allowed}, got {value!r}")
            if value is None or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if not math.isfinite(value) and any(meta[k] is not None for k, _, _ in _BOUNDS):
                raise InvalidParameterError(f"{f.name} must be finite, got {value!r}")
            for key, sym, ok in _BOUNDS:
                bound = meta[key]
                if bound is not None and not ok(float(value), float(bound)):
                    raise InvalidParameterError(f"{f.name} must be {sym} {bound:g}, got {value!r}")
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; raise :class:`~iqx.errors.InvalidParameterError`."""

    # -- construction ------------------------------------------------------------------
    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_kwargs(cls: type[T], ignore: Sequence[str] = (), **kwargs: Any) -> T:
        """Build from keyword arguments, skipping ``ignore``; unknown names raise.

        Used by the registered halo functions, which receive every parameter of a call.
        """
        known = set(cls.names())
        unknown = sorted(set(kwargs) - known - set(ignore))
        if unknown:
            raise InvalidParameterError(
                f"unknown option(s) {', '.join(unknown)} for {cls.metric or cls.__name__}; "
                f"known: {', '.join(cls.names())}"
            )
        return cls(**{k: v for k, v in kwargs.items() if k in known})

    # -- description -------------------------------------------------------------------
    @classmethod
    def describe(cls) -> dict[str, dict[str, Any]]:
        """``{name: {"default", "type", "range", "unit", "doc"}}`` for the registration.

        :meth:`iqx.registry.Registration.parameters` merges this over what the signature and
        the docstring say, so ``iqx list`` shows the declared range and unit.
        """
        out: dict[str, dict[str, Any]] = {}
        for f in dataclasses.fields(cls):
            meta = f.metadata.get("iqx")
            if meta is None:
                continue
            entry: dict[str, Any] = {}
            if f.default is not dataclasses.MISSING:  # a required option keeps the signature's
                entry["default"] = list(f.default) if isinstance(f.default, tuple) else f.default
            entry.update(type=meta["type"], range=_range(meta), unit=meta["unit"], doc=meta["doc"])
            out[f.name] = entry
        return out

    def as_params(self) -> dict[str, Any]:
        """The options as a JSON-able ``{name: value}`` (tuples become lists)."""
        return to_jsonable({name: getattr(self, name) for name in self.names()})

    def to_json(self) -> str:
        """:meth:`as_params` as compact, key-sorted JSON (the ``iqx_params`` attr)."""
        return json.dumps(self.as_params(), sort_keys=True, separators=(",", ":"))

    def mlflow_params(self, prefix: str | None = None) -> dict[str, str]:
        """``{"<prefix>.<name>": str(value)}`` for ``mlflow.log_params`` (prefix: the id)."""
        p = prefix if prefix is not None else self.metric
        head = f"{p}." if p else ""
        return {f"{head}{k}": str(v) for k, v in self.as_params().items()}
