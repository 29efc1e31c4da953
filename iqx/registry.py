"""One registry for modifiers and one for metrics.

Every built-in or plugin operation is registered exactly once under one identifier. That
identifier is the Python function name, the registry id, the CLI name and the MLflow key.
Metadata (outputs, units, halo, chunk invariance, references) lives in the registration.

Plugins register through the entry-point groups ``iqx.modifiers`` and ``iqx.metrics``: the
entry point may point to a module (importing it runs its ``@register_*`` decorators) or to a
callable/class, which is then registered under the entry point's name.

Examples
--------
>>> from iqx.registry import register_modifier
>>> @register_modifier("invert_demo", summary="Invert an 8-bit image.")
... def invert_demo(image):
...     return 255 - image
>>> from iqx.registry import modifiers
>>> modifiers.get("invert_demo").summary
'Invert an 8-bit image.'
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

from iqx.errors import UnknownOperationError

__all__ = [
    "Registration",
    "Registry",
    "metrics",
    "modifiers",
    "register_metric",
    "register_modifier",
]

Kind = Literal["modifier", "metric"]


@dataclass(frozen=True)
class Registration:
    """What iqx knows about one registered operation.

    Attributes
    ----------
    id : str
        The single identifier (function name = CLI name = MLflow key).
    kind : {"modifier", "metric"}
        Which registry holds it.
    target : object
        The registered function or class.
    summary : str
        One line shown by ``iqx list``.
    outputs : tuple of str
        Names of the values the operation produces (metrics) or records (modifiers).
    units : mapping
        Unit of each output, where meaningful.
    chunk_invariant : bool
        Whether the result is identical for any chunking (noise is reproducible per
        ``(seed, chunks)`` instead).
    changes_grid : bool
        Whether the operation changes the pixel grid (resampling).
    halo : callable or None
        ``halo(**params) -> int`` pixels of neighbourhood the kernel needs.
    references : tuple of str
        Literature or reference implementations.
    source : str
        ``"builtin"`` or the distribution/entry point that provided it.
    params : mapping
        Optional explicit parameter metadata ``{name: {"default", "range", "doc"}}`` for
        parameters the signature does not show (``**kwargs``); see :meth:`parameters`.
    options : type or None
        The operation's typed option definition (a subclass of
        :class:`iqx.metrics._options.Options`): its ``describe()`` (default, range, unit,
        doc of each option) is what :meth:`parameters` reports, under :attr:`params`.
    flat_summary : callable or None
        ``flat_summary(result) -> dict`` giving the flat ``{key: value}`` summary of a
        result (``iqx measure``/``compare``, MLflow); ``None`` for the default
        (:func:`iqx.metrics._result.flat_summary` over :attr:`outputs`).
    """

    id: str
    kind: Kind
    target: Any
    summary: str = ""
    outputs: tuple[str, ...] = ()
    units: Mapping[str, str] = field(default_factory=dict)
    chunk_invariant: bool = True
    changes_grid: bool = False
    halo: Callable[..., int] | None = None
    references: tuple[str, ...] = ()
    source: str = "builtin"
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    options: type | None = None
    flat_summary: Callable[[Any], dict[str, Any]] | None = None

    def parameters(self) -> list[dict[str, Any]]:
        """Name, default, type, range and doc of each parameter (for ``iqx list``).

        Read from the signature and the numpydoc ``Parameters`` section of the target
        (:func:`iqx._op_params.describe_parameters`), overridden by the :attr:`options`
        definition and then by :attr:`params`.
        """
        from iqx._op_params import describe_parameters

        explicit = dict(self.options.describe()) if self.options is not None else {}
        explicit.update(self.params)
        return describe_parameters(self.target, self.id, explicit)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (used by ``iqx list --format json``)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "summary": self.summary,
            "outputs": list(self.outputs),
            "units": dict(self.units),
            "chunk_invariant": self.chunk_invariant,
            "changes_grid": self.changes_grid,
            "references": list(self.references),
            "source": self.source,
            "parameters": self.parameters(),
        }


class Registry:
    """A table of operations of one kind, filled by decorators and entry points."""

    def __init__(self, kind: Kind, builtin_modules: tuple[str, ...], group: str) -> None:
        self.kind = kind
        self.group = group
        self._builtin_modules = builtin_modules
        self._items: dict[str, Registration] = {}
        self._loaded = False
        self._lock = threading.RLock()

    # -- registration -------------------------------------------------------------------
    def register(
        self, id: str | None = None, *, source: str = "builtin", **meta: Any
    ) -> Callable[[Any], Any]:
        """Decorator registering a function or class under ``id`` (default: its name)."""

        def decorator(target: Any) -> Any:
            ident = id or getattr(target, "id", None) or target.__name__
            summary = meta.pop("summary", None) or _first_line(target.__doc__)
            reg = Registration(
                id=ident, kind=self.kind, target=target, summary=summary, source=source, **meta
            )
            with self._lock:
                old = self._items.get(ident)
                if (
                    old is not None
                    and old.target is not target
                    and _qualname(old.target) != _qualname(target)
                ):
                    raise ValueError(
                        f"{self.kind} id {ident!r} is already registered by {_qualname(old.target)}"
                    )
                self._items[ident] = reg
            return target

        return decorator

    # -- lookup -------------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for mod in self._builtin_modules:
                importlib.import_module(mod)
            for ep in entry_points(group=self.group):
                obj = ep.load()
                if callable(obj) and not any(r.target is obj for r in self._items.values()):
                    dist = ep.dist.name if ep.dist is not None else ep.value
                    self.register(ep.name, source=f"plugin:{dist}")(obj)

    def describe(self) -> list[dict[str, Any]]:
        """:meth:`Registration.as_dict` of every operation, sorted by id, cheaply if possible.

        When nothing is loaded or registered yet and no entry-point plugin is installed,
        the built-ins are read from the generated table :mod:`iqx._op_table` without
        importing their kernels (what keeps ``iqx list`` fast); otherwise from the live
        registrations.
        """
        if not self._loaded and not self._items and not entry_points(group=self.group):
            import copy

            from iqx._op_table import static_table

            return sorted(copy.deepcopy(static_table()[self.kind]), key=lambda d: d["id"])
        return [r.as_dict() for r in self]

    def get(self, id: str) -> Registration:
        """Return the registration for ``id``.

        Raises
        ------
        UnknownOperationError
            If nothing is registered under ``id``; the message lists what is.
        """
        self._ensure_loaded()
        try:
            return self._items[id]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownOperationError(
                f"no {self.kind} named {id!r}; registered {self.kind}s: {known}"
            ) from None

    def ids(self) -> list[str]:
        """Sorted identifiers of every registered operation."""
        self._ensure_loaded()
        return sorted(self._items)

    def __contains__(self, id: object) -> bool:
        self._ensure_loaded()
        return id in self._items

    def __iter__(self) -> Iterator[Registration]:
        self._ensure_loaded()
        return iter([self._items[k] for k in sorted(self._items)])

    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._items)


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if doc and doc.strip() else ""


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


modifiers = Registry("modifier", ("iqx.modifiers",), "iqx.modifiers")
metrics = Registry("metric", ("iqx.metrics",), "iqx.metrics")


def register_modifier(id: str | None = None, **meta: Any) -> Callable[[Any], Any]:
    """Register a modifier (function or :class:`iqx.modifiers.Modifier` subclass)."""
    return modifiers.register(id, **meta)


def register_metric(id: str | None = None, **meta: Any) -> Callable[[Any], Any]:
    """Register a metric (function or :class:`iqx.metrics.Metric` subclass)."""
    return metrics.register(id, **meta)
