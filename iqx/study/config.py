"""``STUDY.toml``: a whole study in one file, validated before any work.

:func:`load_study` reads the file with :mod:`tomllib` and checks every table, key and value
into frozen dataclasses (:class:`StudyConfig`). Every problem is collected and reported at
once, each with its line (:class:`StudyConfigError`). Relative paths are relative to the
file's folder. The reference of the format, with a full example, is ``docs/studies.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iqx.errors import InvalidParameterError
from iqx.study._data_depth import study_bit_depth
from iqx.study._lines import key_lines, line_of

__all__ = [
    "DataConfig",
    "MetricsConfig",
    "StudyConfig",
    "StudyConfigError",
    "Sweep",
    "TargetConfig",
    "TaskConfig",
    "family_of",
    "load_study",
    "parse_study",
]

_BLIND = ("snr", "sharpness")
#: blind families a study may ask for (``niirs``: GIQE 5, needs georeferenced images)
_BLIND_ALLOWED = (*_BLIND, "niirs")
_REFERENCE = ("psnr", "ssim", "ms_ssim", "mse", "rmse", "ergas", "sam")
_KEYS: dict[str, tuple[str, ...]] = {
    "study": ("name", "description", "tracking_uri", "scheduler", "max_parallel", "report"),
    "data": ("train", "val", "test", "bit_depth"),
    "task": ("script", "repetitions", "timeout", "mlflow_monitoring", "hyperparameters"),
    "metrics": ("blind", "reference", "task", "ground_truth"),
    "target": (
        "metric",
        "requirement",
        "search",
        "modifier",
        "higher_is_better",
        "max_repetitions",
    ),
}
_MODIFIER_KEYS = ("include_reference", "chains", "grid")


class StudyConfigError(InvalidParameterError):
    """A ``STUDY.toml`` with problems; :attr:`problems` lists ``(line, message)``."""

    def __init__(self, path: str, problems: list[tuple[int | None, str]]) -> None:
        self.path = path
        self.problems = problems
        where = [f"line {n}: {m}" if n else m for n, m in problems]
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{path}: {len(problems)} {noun}: " + "; ".join(where))


@dataclass(frozen=True)
class Sweep:
    """One modifier family swept over values (``jpeg.quality = [10, 30]``) or a chain.

    Attributes
    ----------
    family : str
        Modifier id; a chain's step ids joined by ``+`` (``"gaussian_blur+jpeg"``, as the
        run table names it, :func:`family_of`).
    parameter : str or None
        The swept parameter (the first list-valued one), None for chains or fixed settings.
    values : tuple
        Its values, in the file's order.
    fixed : dict
        The family's other parameters.
    settings : tuple of dict
        Every modifier config of the sweep (``{"id": "chain", "modifiers": [...]}`` for a
        chain).
    series : tuple of str
        A grid's other swept parameters (``("sensor.D",)``): one line per combination in the
        report. Empty for single families and chains.

    Notes
    -----
    A grid (``[modifiers.grid]``) is one sweep: ``family`` joins its families in chain
    order (``"sensor+jpeg"``), its parameters are ``<family>.<parameter>`` and
    ``parameter`` is the last family's first swept one (the compression step's, when the
    grid ends with a codec), the x axis of the report's per-family plots.
    """

    family: str
    parameter: str | None
    values: tuple[Any, ...]
    fixed: Mapping[str, Any]
    settings: tuple[Any, ...]
    series: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataConfig:
    """Dataset folders (absolute) and the sensor's bit depth.

    Attributes
    ----------
    train, val, test : Path
        Dataset folders (``val`` and ``test`` optional).
    bit_depth : int or None
        Bits per sample of the sensor (``[data] bit_depth = 11``), declared for every image
        (see :mod:`iqx.bitdepth`): it sets what the modifiers do (JPEG precision, the source
        depth of ``quantize`` ...), the raw size of bits per pixel and PSNR/SSIM's range.
        None: each file's metadata, else measured from its pixels.
    """

    train: Path
    val: Path | None = None
    test: Path | None = None
    bit_depth: int | None = None


@dataclass(frozen=True)
class TaskConfig:
    """The training script (None: image metrics only) and its grid."""

    script: Path | None = None
    repetitions: int = 1
    timeout: float | None = None
    mlflow_monitoring: bool = False
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricsConfig:
    """Blind families, full-reference metrics and run metrics scored on ``output.json``."""

    blind: tuple[str, ...] = _BLIND
    reference: tuple[str, ...] = ("psnr", "ssim")
    task: tuple[str, ...] = ()
    ground_truth: str = "val"


@dataclass(frozen=True)
class TargetConfig:
    """The cheapest-setting question."""

    metric: str
    requirement: str | float
    search: bool = False
    modifier: str | None = None
    higher_is_better: bool = True
    max_repetitions: int | None = None


@dataclass(frozen=True)
class StudyConfig:
    """A validated ``STUDY.toml``."""

    name: str
    path: Path
    text: str
    data: DataConfig
    sweeps: tuple[Sweep, ...]
    include_reference: bool
    task: TaskConfig
    metrics: MetricsConfig
    target: TargetConfig | None = None
    description: str = ""
    tracking_uri: str | None = None
    scheduler: str | None = None
    max_parallel: int | None = None
    report: Path | None = None

    @property
    def folder(self) -> Path:
        """The folder of ``STUDY.toml`` (relative paths start here)."""
        return self.path.parent

    def modifier_settings(self, exclude: str | None = None) -> list[Any]:
        """Every modifier config of every sweep (the family ``exclude`` left out)."""
        return [s for sw in self.sweeps if sw.family != exclude for s in sw.settings]


class _Checker:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = key_lines(text)
        self.problems: list[tuple[int | None, str]] = []

    def bad(self, keypath: tuple[str, ...], message: str) -> None:
        self.problems.append((line_of(self.lines, keypath), f"[{'.'.join(keypath)}] {message}"))

    def table(self, doc: Mapping[str, Any], name: str) -> dict[str, Any]:
        value = doc.get(name, {})
        if not isinstance(value, Mapping):
            self.bad((name,), "must be a table")
            return {}
        known = _KEYS[name]
        for key in value:
            if key not in known:
                self.unknown((name, key), key, known)
        return dict(value)

    def unknown(self, keypath: tuple[str, ...], key: str, known: Any) -> None:
        near = difflib.get_close_matches(str(key), list(known), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(known)}"
        self.bad(keypath, f"unknown key {key!r}{hint}")

    def typed(self, t: Mapping[str, Any], table: str, key: str, kinds: Any, what: str) -> Any:
        if key not in t:
            return None
        value = t[key]
        wants_bool = kinds is bool or (isinstance(kinds, tuple) and bool in kinds)
        if isinstance(value, bool) and not wants_bool:
            self.bad((table, key), f"must be {what}, got {value!r}")
            return None
        if not isinstance(value, kinds):
            self.bad((table, key), f"must be {what}, got {value!r}")
            return None
        return value

    def names(self, t: Mapping[str, Any], table: str, key: str, allowed: Any, default: Any):
        if key not in t:
            return tuple(default)
        value = t[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.bad((table, key), f"must be a list of names, got {value!r}")
            return tuple(default)
        for v in value:
            if v not in allowed:
                self.unknown((table, key), v, allowed)
        return tuple(v for v in value if v in allowed)


def _path(folder: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return (p if p.is_absolute() else folder / p).resolve()


def _tracking(folder: Path, value: str | None) -> str | None:
    if not value:
        return None
    if "://" in value or value.startswith("sqlite:"):
        return value
    return f"sqlite:///{_path(folder, value).as_posix()}"


def _sweeps(c: _Checker, table: Mapping[str, Any]) -> tuple[list[Sweep], bool]:
    from iqx.modifiers import as_modifier
    from iqx.registry import modifiers as registry

    include = table.get("include_reference", True)
    if not isinstance(include, bool):
        c.bad(("modifiers", "include_reference"), f"must be true or false, got {include!r}")
        include = True
    known = sorted(registry.ids()) if hasattr(registry, "ids") else sorted(registry)
    sweeps: list[Sweep] = []
    for family, params in table.items():
        if family in _MODIFIER_KEYS:
            continue
        if family not in known:
            c.unknown(("modifiers", family), family, [*known, *_MODIFIER_KEYS])
            continue
        if not isinstance(params, Mapping) or not params:
            c.bad(("modifiers", family), f"write {family}.<parameter> = [values]")
            continue
        listed = {k: v for k, v in params.items() if isinstance(v, list)}
        fixed = {k: v for k, v in params.items() if not isinstance(v, list)}
        for k, v in listed.items():
            if not v:
                c.bad(("modifiers", family, k), "empty list of values")
        if any(not v for v in listed.values()):
            continue
        names = list(listed)
        settings = []
        ok = True
        for combo in itertools.product(*(listed[n] for n in names)):
            config = {"id": family, **fixed, **dict(zip(names, combo))}
            try:
                settings.append(as_modifier(config).get_config())
            except InvalidParameterError as exc:
                bad = next((k for k in params if repr(k) in str(exc) or k in str(exc)), None)
                c.bad(("modifiers", family) + ((bad,) if bad else ()), str(exc))
                ok = False
                break
        if ok:
            first = names[0] if names else None
            values = tuple(listed[first]) if first else ()
            sweeps.append(Sweep(family, first, values, fixed, tuple(settings)))
    if "grid" in table:
        grid = _grid(c, table["grid"])
        if grid is not None:
            sweeps.append(grid)
    chains = table.get("chains", [])
    if not isinstance(chains, list) or not all(isinstance(ch, list) and ch for ch in chains):
        c.bad(("modifiers", "chains"), 'must be a list of chains: [["blur:sigma=1", "jpeg"]]')
    elif chains:
        # one sweep per family name, the name the run table gives the settings (jpeg+blur)
        by_family: dict[str, list[Any]] = {}
        for chain in chains:
            try:
                config = as_modifier(list(chain)).get_config()
            except InvalidParameterError as exc:
                c.bad(("modifiers", "chains"), str(exc))
                continue
            by_family.setdefault(family_of(config), []).append(config)
        for family, configs in by_family.items():
            same = next((i for i, s in enumerate(sweeps) if s.family == family), None)
            if same is None:
                sweeps.append(Sweep(family, None, (), {}, tuple(configs)))
            else:  # a grid (or one family) of the same name: one family in the tables too
                old = sweeps[same]
                extra = tuple(cfg for cfg in configs if cfg not in old.settings)
                sweeps[same] = dataclasses.replace(old, settings=old.settings + extra)
    return sweeps, include


def family_of(config: Mapping[str, Any] | None) -> str:
    """The family of a modifier config, as the study's tables name it.

    ``"jpeg"`` for ``{"id": "jpeg", ...}``; a chain's (or grid's) step ids joined by ``+``
    (``"gaussian_blur+jpeg"``); ``"original"`` for the unmodified baseline (None).
    """
    if not config:
        return "original"
    if config.get("id") == "chain" and isinstance(config.get("modifiers"), list):
        return "+".join(str(dict(m).get("id")) for m in config["modifiers"])
    return str(config.get("id"))


def _grid(c: _Checker, table: Any) -> Sweep | None:
    """``[modifiers.grid]``: every combination of its families' lists, chained in order."""
    from iqx.modifiers import as_modifier
    from iqx.registry import modifiers as registry

    where = ("modifiers", "grid")
    if not isinstance(table, Mapping) or not table:
        c.bad(
            where, "must be a table of families: grid.sensor.D = [...], grid.jpeg.quality = [...]"
        )
        return None
    known = sorted(registry.ids()) if hasattr(registry, "ids") else sorted(registry)
    steps: list[tuple[str, dict[str, Any], dict[str, list[Any]]]] = []
    for family, params in table.items():
        if family not in known:
            c.unknown((*where, family), family, known)
            continue
        if not isinstance(params, Mapping) or not params:
            c.bad((*where, family), f"write grid.{family}.<parameter> = [values] or = value")
            continue
        listed = {k: v for k, v in params.items() if isinstance(v, list)}
        for k, v in listed.items():
            if not v:
                c.bad((*where, family, k), "empty list of values")
        fixed = {k: v for k, v in params.items() if not isinstance(v, list)}
        steps.append((family, fixed, listed))
    if len(steps) != len(table) or any(not v for _, _, ls in steps for v in ls.values()):
        return None
    if len(steps) < 2:
        c.bad(where, "a grid chains two or more families; sweep one family as <family>.<param>")
        return None
    axes = [(f"{fam}.{k}", fam, k, v) for fam, _, listed in steps for k, v in listed.items()]
    if not axes:
        c.bad(where, "nothing swept: give at least one parameter a list of values")
        return None
    last = [a for a in axes if a[1] == steps[-1][0]]
    main = last[0] if last else axes[-1]
    settings = []
    for combo in itertools.product(*(a[3] for a in axes)):
        chosen = {a[0]: v for a, v in zip(axes, combo)}
        chain = [
            {"id": fam, **fixed, **{k: chosen[f"{fam}.{k}"] for k in listed}}
            for fam, fixed, listed in steps
        ]
        try:
            settings.append(as_modifier(chain).get_config())
        except InvalidParameterError as exc:
            text = str(exc)
            bad = next(
                (
                    (fam, k)
                    for fam, fixed, listed in steps
                    if text.startswith(fam)
                    for k in (*listed, *fixed)
                    if repr(k) in text or k in text
                ),
                None,
            )
            c.bad((*where, *bad) if bad else where, text)
            return None
    fixed_all = {f"{fam}.{k}": v for fam, fixed, _ in steps for k, v in fixed.items()}
    return Sweep(
        "+".join(fam for fam, _, _ in steps),
        main[0],
        tuple(main[3]),
        fixed_all,
        tuple(settings),
        tuple(a[0] for a in axes if a is not main),
    )


def parse_study(text: str, path: str | Path = "STUDY.toml") -> StudyConfig:
    """Validate the TOML ``text`` of a study (relative paths from ``path``'s folder).

    Raises
    ------
    StudyConfigError
        Every problem found, each with its line.
    """
    shown = str(path)
    path = Path(path).resolve()
    folder = path.parent
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyConfigError(shown, [(None, f"not valid TOML: {exc}")]) from None
    c = _Checker(shown, text)
    for key in doc:
        if key not in (*_KEYS, "modifiers"):
            c.unknown((key,), key, [*_KEYS, "modifiers"])
    study = c.table(doc, "study")
    name = c.typed(study, "study", "name", str, "a string")
    if not name or not name.strip():
        c.bad(("study", "name") if "name" in study else ("study",), "a study needs a name")
    max_parallel = c.typed(study, "study", "max_parallel", int, "an integer >= 1")
    if max_parallel is not None and max_parallel < 1:
        c.bad(("study", "max_parallel"), f"must be an integer >= 1, got {max_parallel}")
    for key in ("description", "tracking_uri", "scheduler", "report"):
        c.typed(study, "study", key, str, "a string")

    data = c.table(doc, "data")
    paths: dict[str, Path | None] = {}
    for role in ("train", "val", "test"):
        value = c.typed(data, "data", role, str, "a folder path")
        paths[role] = _path(folder, value) if value else None
        if paths[role] is not None and not paths[role].is_dir():
            c.bad(("data", role), f"dataset folder {paths[role]} does not exist")
    if "train" not in data:
        c.bad(("data",), "[data] train = <dataset folder> is required")
    bit_depth = study_bit_depth(c, data, paths)

    mods = doc.get("modifiers", {})
    sweeps, include = _sweeps(c, mods) if isinstance(mods, Mapping) else ([], True)
    if not sweeps and not include:
        c.bad(("modifiers",), "nothing to run: no sweep and include_reference = false")

    task = c.table(doc, "task")
    script = c.typed(task, "task", "script", str, "a file path")
    script_path = _path(folder, script) if script else None
    if script_path is not None and not script_path.is_file():
        c.bad(("task", "script"), f"training script {script_path} does not exist")
    reps = c.typed(task, "task", "repetitions", int, "an integer >= 1")
    if reps is not None and reps < 1:
        c.bad(("task", "repetitions"), f"must be an integer >= 1, got {reps}")
    reps = reps if reps is not None and reps >= 1 else 1
    timeout = c.typed(task, "task", "timeout", int | float, "a number of seconds")
    if timeout is not None and timeout <= 0:
        c.bad(("task", "timeout"), "must be > 0 seconds")
    monitoring = c.typed(task, "task", "mlflow_monitoring", bool, "true or false")
    hp = task.get("hyperparameters", {})
    if not isinstance(hp, Mapping):
        c.bad(("task", "hyperparameters"), "must be a table")
        hp = {}
    if hp and script_path is None and script is None:
        c.bad(("task", "hyperparameters"), "hyperparameters need a training script")

    metrics = c.table(doc, "metrics")
    blind = c.names(metrics, "metrics", "blind", _BLIND_ALLOWED, _BLIND)
    reference = c.names(metrics, "metrics", "reference", _REFERENCE, ("psnr", "ssim"))
    run_metrics = c.names(metrics, "metrics", "task", ("bbox_detection",), ())
    if run_metrics and not script:
        c.bad(("metrics", "task"), "task metrics score a training script's output.json")
    gt = c.typed(metrics, "metrics", "ground_truth", str, "a string") or "val"
    if gt not in ("train", "val", "test"):
        c.bad(("metrics", "ground_truth"), f"must be train, val or test, got {gt!r}")
    elif run_metrics and "ground_truth" in metrics and gt not in data:
        c.bad(("metrics", "ground_truth"), f"no [data] {gt} to take the ground truth from")

    target = _target(c, doc, sweeps, hp, reps)
    if target is not None and target.metric.removeprefix("img_") in ("niirs", "niirs_se"):
        if "niirs" not in blind:
            where = ("metrics", "blind") if "blind" in metrics else ("target",)
            c.bad(where, 'a NIIRS target needs blind = [..., "niirs"] (it is measured on request)')
    if c.problems:
        raise StudyConfigError(shown, c.problems)
    return StudyConfig(
        name=name.strip(),
        path=path,
        text=text,
        data=DataConfig(paths["train"], paths["val"], paths["test"], bit_depth),  # type: ignore[arg-type]
        sweeps=tuple(sweeps),
        include_reference=include,
        task=TaskConfig(script_path, reps, timeout, bool(monitoring), dict(hp)),
        metrics=MetricsConfig(blind, reference, run_metrics, gt),
        target=target,
        description=study.get("description", ""),
        tracking_uri=_tracking(folder, study.get("tracking_uri")),
        scheduler=study.get("scheduler") or None,
        max_parallel=max_parallel,
        report=_path(folder, study.get("report", "report")),
    )


def _target(c: _Checker, doc: Mapping[str, Any], sweeps: list[Sweep], hp: Any, reps: int):
    from iqx.experiment.requirement import Requirement
    from iqx.experiment.runs import hyperparameter_grid

    if "target" not in doc:
        return None
    if isinstance(doc["target"], str):  # target = "niirs >= 5"
        from iqx.experiment.target import parse_target

        try:
            metric, _ = parse_target(doc["target"])
        except InvalidParameterError as exc:
            c.bad(("target",), str(exc))
            return None
        rest = doc["target"].strip()[len(metric) :].strip()
        return TargetConfig(metric=metric, requirement=rest)
    t = c.table(doc, "target")
    metric = c.typed(t, "target", "metric", str, "a metric name")
    if not metric:
        c.bad(("target",), "[target] metric = <logged metric> is required")
    requirement = t.get("requirement")
    hib = c.typed(t, "target", "higher_is_better", bool, "true or false")
    try:
        Requirement.parse(requirement, higher_is_better=hib is not False)
    except InvalidParameterError as exc:
        c.bad(("target", "requirement") if "requirement" in t else ("target",), str(exc))
    search = c.typed(t, "target", "search", bool, "true or false") or False
    modifier = c.typed(t, "target", "modifier", str, "a modifier family")
    families = [s.family for s in sweeps]
    if modifier is not None and modifier not in families:
        c.bad(("target", "modifier"), f"no sweep of {modifier!r} in [modifiers] ({families})")
    max_reps = c.typed(t, "target", "max_repetitions", int, "an integer")
    if max_reps is not None and max_reps < reps:
        c.bad(("target", "max_repetitions"), f"must be >= [task] repetitions ({reps})")
    if search:
        chosen = modifier or (families[0] if len(families) == 1 else None)
        if chosen is None:
            c.bad(("target", "search"), "search = true needs [target] modifier = <family>")
        elif "+" in chosen:
            c.bad(("target", "modifier"), "the search sweeps one family, not chains or grids")
        else:
            modifier = chosen
        try:
            if len(hyperparameter_grid(hp)) != 1:
                c.bad(("target", "search"), "search = true needs fixed hyperparameters (no grid)")
        except InvalidParameterError as exc:
            c.bad(("task", "hyperparameters"), str(exc))
    return TargetConfig(
        metric=metric or "",
        requirement=requirement if requirement is not None else "",
        search=search,
        modifier=modifier,
        higher_is_better=hib is not False,
        max_repetitions=max_reps,
    )


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate ``STUDY.toml`` (see :func:`parse_study`)."""
    from iqx.errors import PathNotFoundError

    p = Path(path)
    if p.is_dir():
        p = p / "STUDY.toml"
    if not p.is_file():
        raise PathNotFoundError(f"{p}: study file does not exist")
    return parse_study(p.read_text(encoding="utf-8"), p)
