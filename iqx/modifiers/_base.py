"""The :class:`Modifier` value: a registered, JSON-serialisable degradation of a scene.

A modifier is a *value*: ``jpeg(quality=70)`` builds a :class:`Modifier` holding its
validated parameters; calling it on a scene returns a lazy, modified scene. Its config
(``{"id": "jpeg", "quality": 70, "subsampling": "4:2:0", ...}``) round-trips through JSON
(:meth:`Modifier.get_config`, :func:`from_config`), through the CLI spelling
(``jpeg:quality=70,subsampling=444``, :func:`parse_spec`) and through study files, and names
the folder of a modified dataset (:attr:`Modifier.folder_name`, e.g. ``jpeg_q70``).
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.modifiers._checks import (
    check_choice,
    check_float,
    check_int,
    check_numeric,
    check_unsigned,
    clip_range,
    int_range,
    scene_bit_depth,
)
from iqx.parallel import as_scene
from iqx.registry import modifiers as _registry

__all__ = [
    "Chain",
    "FunctionModifier",
    "Modifier",
    "as_modifier",
    "chain",
    "from_config",
    "parse_spec",
    "check_choice",
    "check_float",
    "check_int",
    "check_numeric",
    "check_unsigned",
    "clip_range",
    "int_range",
    "scene_bit_depth",
]


def _format_token(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, float):
        text = format(value, "g")
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9.\-]", "", text)


class Modifier:
    """Base class of every modifier (built-in or user-defined).

    Subclasses set the class attributes below, validate and normalise their parameters in
    ``__init__`` (then call ``super().__init__(**params)`` with JSON-friendly values), and
    implement :meth:`apply` on a ``(band, y, x)`` scene. Everything else (config round
    trip, repr, equality, folder name, history, nodata restoration, registration metadata)
    is provided here.

    Attributes
    ----------
    id : str
        Registry identifier (also the CLI name and the config's ``"id"``).
    short : str
        Former folder-name prefix (``j2k`` for ``jpeg2000``); kept for reading old
        manifests only. Folder names start with :attr:`id`.
    abbrev : dict
        Parameter -> abbreviation used in the folder name, in order.
    always : tuple of str
        Parameters always shown in the folder name (others only when not at their default).
    changes_grid : bool
        True when the output grid differs from the input's (resampling).
    is_codec : bool
        True for codecs, whose :meth:`encoded_sizes` report the data volume.
    chunk_invariant : bool
        Whether the result is identical for any chunking.

    Examples
    --------
    >>> import numpy as np
    >>> from iqx.modifiers import Modifier
    >>> class Invert(Modifier):
    ...     id = "invert_example"
    ...     def apply(self, image):
    ...         return (2 ** 8 - 1) - image
    >>> Invert()(np.zeros((1, 2, 2), np.uint8)).values.max()
    np.uint8(255)
    """

    id: ClassVar[str] = ""
    short: ClassVar[str] = ""
    abbrev: ClassVar[dict[str, str]] = {}
    always: ClassVar[tuple[str, ...]] = ()
    changes_grid: ClassVar[bool] = False
    is_codec: ClassVar[bool] = False
    chunk_invariant: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        try:
            json.dumps(params, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"{self.id or type(self).__name__} parameters must be JSON values: {exc}"
            ) from None
        self._params = dict(params)

    # -- config -------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        """The normalised parameters (a copy)."""
        return dict(self._params)

    def get_config(self) -> dict[str, Any]:
        """``{"id": ..., **params}``: JSON-serialisable and accepted by :func:`from_config`."""
        return {"id": self.id, **json.loads(json.dumps(self._params))}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Modifier:
        """Build a modifier from :meth:`get_config` output (any registered id)."""
        return from_config(config)

    def __repr__(self) -> str:
        # None values and false flags are left out: they are the "not used" settings
        args = ", ".join(
            f"{k}={v!r}" for k, v in self._params.items() if v is not None and v is not False
        )
        return f"{self.id}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Modifier) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(json.dumps(self.get_config(), sort_keys=True))

    # -- naming -------------------------------------------------------------------------
    def _defaults(self) -> dict[str, Any]:
        try:
            sig = inspect.signature(type(self).__init__)
        except (TypeError, ValueError):  # pragma: no cover
            return {}
        return {k: p.default for k, p in sig.parameters.items() if p.default is not inspect._empty}

    @property
    def folder_name(self) -> str:
        """Stable folder-name token, ``<id>[_<abbrev><value>...]`` (e.g. ``jpeg2000_r20``).

        Parameters listed in :attr:`always` are always shown; the others only when they
        differ from their default; booleans show their abbreviation alone when true.
        """
        defaults = self._defaults()
        parts = [self.id]
        for name, ab in self.abbrev.items():
            value = self._params.get(name)
            if value is None:
                continue
            if name not in self.always and name in defaults and value == defaults[name]:
                continue
            if isinstance(value, bool):
                if value:
                    parts.append(ab)
                continue
            parts.append(f"{ab}{_format_token(value)}")
        return "_".join(parts)

    # -- application --------------------------------------------------------------------
    def check(self, image: xr.DataArray) -> None:
        """Raise before any work if ``image`` cannot be modified (dtype, bit depth ...)."""

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        """Return the modified scene (lazy for dask input). Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement apply()")

    def output_attrs(self, image: xr.DataArray) -> dict[str, Any]:
        """Attributes of the result: the input's, history appended."""
        attrs = dict(image.attrs)
        attrs["iqx_history"] = [*list(attrs.get("iqx_history", [])), repr(self)]
        return attrs

    def __call__(self, image: Any) -> xr.DataArray:
        """Apply to a scene (NumPy, dask or DataArray ``(band, y, x)`` or ``(y, x)``)."""
        scene = as_scene(image)
        self.check(scene)
        out = self.apply(scene)
        attrs = self.output_attrs(scene)
        if self.changes_grid:  # the grid's georeferencing comes from apply()
            attrs.update({k: v for k, v in out.attrs.items() if k != "iqx_history"})
        else:
            out = _restore_nodata(scene, out)
        out.attrs = attrs
        return out

    def encoded_sizes(self, image: xr.DataArray, finalize: Any = None) -> Any:
        """Codecs only: lazy summed stream sizes, see :func:`iqx.modifiers.data_volume`."""
        raise InvalidParameterError(f"{self.id} is not a codec: it has no data volume")


def _restore_nodata(src: xr.DataArray, out: xr.DataArray) -> xr.DataArray:
    nodata = src.attrs.get("nodata")
    if nodata is None or out.dtype != src.dtype:
        return out
    if isinstance(nodata, float) and math.isnan(nodata):
        valid = src.notnull()
    else:
        valid = src != nodata
    attrs = dict(out.attrs)
    res = out.where(valid, np.asarray(nodata, dtype=out.dtype)).astype(out.dtype)
    res.attrs = attrs
    return res


class FunctionModifier(Modifier):
    """A modifier wrapping a plain registered function ``func(image, **params)``.

    Used for plugins that register a function instead of a :class:`Modifier` subclass.
    """

    def __init__(self, id: str, func: Any, **params: Any) -> None:
        self._id = id
        self._func = func
        super().__init__(**params)

    @property  # type: ignore[override]
    def id(self) -> str:
        return self._id

    @property
    def folder_name(self) -> str:
        parts = [self._id] + [f"{k}{_format_token(v)}" for k, v in self._params.items()]
        return "_".join(parts)

    def apply(self, image: xr.DataArray) -> xr.DataArray:
        return as_scene(self._func(image, **self._params))


class Chain(Modifier):
    """Modifiers applied in order; its config is ``{"id": "chain", "modifiers": [...]}``.

    Its folder name joins the steps' names with ``+`` (``jpeg_q70+quantize_b10``) when the
    chain is applied as one step; :func:`iqx.modify` applies it step by step by default,
    giving IQUAFLOW's ``<ds>#jpeg_q70#quantize_b10``.
    """

    id = "chain"

    def __init__(self, modifiers: Iterable[Any] = ()) -> None:
        steps = [as_modifier(m) for m in modifiers]
        flat: list[Modifier] = []
        for s in steps:
            flat.extend(s.steps if isinstance(s, Chain) else [s])
        if not flat:
            raise InvalidParameterError("a chain needs at least one modifier, got none")
        self.steps: tuple[Modifier, ...] = tuple(flat)
        super().__init__(modifiers=[s.get_config() for s in flat])

    @property
    def changes_grid(self) -> bool:  # type: ignore[override]
        return any(s.changes_grid for s in self.steps)

    @property
    def chunk_invariant(self) -> bool:  # type: ignore[override]
        return all(s.chunk_invariant for s in self.steps)

    @property
    def folder_name(self) -> str:
        return "+".join(s.folder_name for s in self.steps)

    def __repr__(self) -> str:
        return "chain(" + ", ".join(repr(s) for s in self.steps) + ")"

    def __call__(self, image: Any) -> xr.DataArray:
        out = as_scene(image)
        for s in self.steps:
            out = s(out)
        return out

    def check(self, image: xr.DataArray) -> None:
        self.steps[0].check(image)

    def apply(self, image: xr.DataArray) -> xr.DataArray:  # pragma: no cover - __call__
        return self(image)


def chain(*modifiers: Any) -> Chain:
    """A :class:`Chain` of modifiers (instances, configs, specs or lists of them)."""
    if len(modifiers) == 1 and isinstance(modifiers[0], list | tuple):
        modifiers = tuple(modifiers[0])
    return Chain(modifiers)


def from_config(config: Mapping[str, Any]) -> Modifier:
    """Build a modifier from ``{"id": ..., **params}`` (the inverse of ``get_config``).

    Raises
    ------
    UnknownOperationError
        If no modifier is registered under ``config["id"]``.
    InvalidParameterError
        If the config has no ``id`` or its parameters are invalid.
    """
    if not isinstance(config, Mapping) or "id" not in config:
        raise InvalidParameterError(f"a modifier config needs an 'id' key, got {config!r}")
    params = {k: v for k, v in config.items() if k != "id"}
    ident = config["id"]
    if ident == "chain":
        return Chain(params.get("modifiers", []))
    target = _registry.get(ident).target
    _check_param_names(ident, target, params)
    if inspect.isclass(target) and issubclass(target, Modifier):
        try:
            return target(**params)
        except TypeError as exc:
            raise InvalidParameterError(f"bad parameters for modifier {ident!r}: {exc}") from exc
    return FunctionModifier(ident, target, **params)


def _check_param_names(ident: str, target: Any, params: Mapping[str, Any]) -> None:
    """Unknown parameter names raise, suggesting the closest known one (``qualty`` -> quality)."""
    import difflib

    try:
        sig = inspect.signature(target.__init__ if inspect.isclass(target) else target)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return
    args = list(sig.parameters.values())[1:]  # ``self`` of a class, the image of a function
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in args):
        return
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    known = [p.name for p in args if p.kind in named]
    for name in params:
        if name in known:
            continue
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise InvalidParameterError(
            f"{ident}: unknown parameter {name!r}{hint} (parameters: {', '.join(known)})"
        )


_SPEC = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(?::(.*))?$", re.S)


def _split_top(text: str) -> list[str]:
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return parts


def _parse_value(text: str) -> Any:
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    if t[:1] in "[{\"'":
        try:
            return json.loads(t.replace("'", '"'))
        except json.JSONDecodeError:
            return t.strip("\"'")
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_spec(spec: str) -> Modifier:
    """Parse the CLI spelling ``id:key=value,key=value`` (or a JSON config) into a modifier.

    Values are read as JSON-like literals: integers, floats, ``true``/``false``,
    ``none``/``null``, ``[...]`` lists; anything else is a string. So
    ``jpeg:quality=70,subsampling=444`` equals ``jpeg(quality=70, subsampling="4:4:4")``.
    """
    text = spec.strip()
    if text.startswith("{"):
        try:
            config = json.loads(text, object_pairs_hook=_unique_keys(spec))
        except json.JSONDecodeError as exc:
            raise InvalidParameterError(
                f"modifier spec {spec!r} is not valid JSON ({exc.msg} at column {exc.colno})"
            ) from exc
        return from_config(config)
    m = _SPEC.match(text)
    if not m:
        raise InvalidParameterError(f"cannot parse modifier spec {spec!r} (expected id:k=v,...)")
    ident, rest = m.group(1), m.group(2) or ""
    params: dict[str, Any] = {}
    for item in _split_top(rest):
        if "=" not in item:
            raise InvalidParameterError(
                f"cannot parse {item.strip()!r} in modifier spec {spec!r} (expected key=value)"
            )
        k, v = item.split("=", 1)
        k = k.strip()
        if k in params or k == "id":
            raise InvalidParameterError(
                f"parameter {k!r} is given twice in modifier spec {spec!r}"
                if k in params
                else f"'id' is not a parameter (modifier spec {spec!r})"
            )
        params[k] = _parse_value(v)
    return from_config({"id": ident, **params})


def _unique_keys(spec: str) -> Any:
    """``object_pairs_hook`` refusing duplicated keys (JSON keeps the last one silently)."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise InvalidParameterError(f"key {k!r} is given twice in modifier spec {spec!r}")
            out[k] = v
        return out

    return hook


def as_modifier(obj: Any) -> Modifier:
    """Coerce a modifier, a config dict, a spec string or a list of those into a Modifier.

    Any other object with an ``iqx_modifier()`` method (e.g. the IQUAFLOW adapters of
    :mod:`iqx.compat.iquaflow`) is converted by calling it.
    """
    if isinstance(obj, Modifier):
        return obj
    if isinstance(obj, Mapping):
        return from_config(obj)
    if isinstance(obj, str):
        return parse_spec(obj)
    if isinstance(obj, list | tuple):
        steps = [as_modifier(o) for o in obj]
        return steps[0] if len(steps) == 1 else Chain(steps)
    hook = getattr(obj, "iqx_modifier", None)
    if callable(hook):  # adapters such as iqx.compat.iquaflow's DSModifier
        return as_modifier(hook())
    raise InvalidParameterError(
        f"expected a Modifier, a config dict, a 'id:k=v' spec or a list, got {type(obj).__name__}"
    )


# -- parameter validation helpers (used by the built-in modifiers) -------------------------
