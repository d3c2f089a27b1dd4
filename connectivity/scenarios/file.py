"""Scenario files (TOML or YAML): the baseline, the modifications, the variants, the study.

The format, every key with its unit and an example, is documented in the guide
(``docs/guide/scenarios.rst``, "The scenario file"); :data:`SECTIONS` and
:data:`MODIFICATION_KEYS` are the lists of keys it documents. The unit rule: durations
and cutoffs are minutes (keys that could be read as seconds say so: ``window_min``,
``headway_min``, ``dwell_min``...), clock times are ``"HH:MM"``, distances are metres
(``*_m``) or kilometres (``*_km``), speeds km/h. The keys of earlier releases that held
seconds (``window``, ``headway``, ``headways``, ``dwell``, ``run_times``) are still read,
as seconds, with a :class:`FutureWarning`; they go in the next release.

A variant's modifications come after the shared ``[[modifications]]`` (they add to them);
``replace = true`` in a variant drops the shared ones for it (:func:`variant_modifications`,
the one place that rule is made).

Relative paths (``osm``, ``gtfs``, ``zones``, ``population``, an ``alignment`` file)
are resolved against the scenario file's folder; ``$VARIABLES`` in them are expanded.
Every error is a one-line :class:`~connectivity.ScenarioError` naming the file, the line,
the key's path and a short excerpt of the value; unknown keys name the closest known key.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectivity._errors import InputFileError, ScenarioError
from connectivity.scenarios._filecheck import (
    Checker,
    Document,
    Path_,
    excerpt,
    load_document,
    path_text,
)
from connectivity.scenarios.modifications import (
    AddLine,
    AddStop,
    ChangeFrequency,
    Modification,
    RemoveRoutes,
    RemoveStops,
    Reroute,
)

__all__ = ["ScenarioSpec", "read_scenario", "variant_modifications"]

DEFAULT_CUTOFFS = (30, 45, 60)
#: The most variants a file may hold (each is a full routing run and a folder of files).
MAX_VARIANTS = 100
#: Names a variant's folder may not take: the files ``run_scenario`` writes beside them.
RESERVED_NAMES = ("variants.csv",)
#: The longest day a duration may span, minutes.
DAY_MIN = 1440.0

#: The keys of each section (``modifications`` and ``variants`` are lists of tables).
SECTIONS: dict[str, tuple[str, ...]] = {
    "baseline": ("osm", "gtfs", "date"),
    "study": (
        "core",
        "rings_km",
        "max_km",
        "zones",
        "population",
        "departure",
        "window_min",
        "cutoffs",
        "percentile",
        "rank_by",
        "offline",
    ),
    "variant": ("name", "modifications", "replace"),
}

#: Keys of earlier releases (seconds) -> their new key (minutes).
RENAMED = {
    "window": "window_min",
    "headway": "headway_min",
    "headways": "headways_min",
    "dwell": "dwell_min",
    "run_times": "run_times_min",
}


@dataclass
class ScenarioSpec:
    """A scenario file, read and checked.

    Attributes
    ----------
    path
        The file.
    name
        Its stem.
    osm
        The street extract.
    gtfs
        The baseline feeds (empty for a city without a feed).
    date
        The service date (None: the feeds' busiest date).
    core
        The core as :func:`connectivity.accessibility.zones.read_core` accepts it.
    rings_km, max_km
        Ring zones every ``rings_km`` up to ``max_km`` (when ``zones`` is None).
    zones
        A zones file, or ``"places"``: the settlements of the extract
        (:func:`connectivity.accessibility.places.place_zones`).
    population
        A spec for :func:`connectivity.accessibility.opportunities.read_opportunities`, or None.
    departure
        Seconds after midnight.
    window
        Seconds of departure window.
    cutoffs
        Seconds.
    percentile
        The percentile of the window's travel times compared.
    rank_by
        The variants table column that ranks them.
    offline
        Make the HTML maps work without a network.
    variants
        Variant name -> its modifications (see :func:`variant_modifications`).
    """

    path: Path
    name: str
    osm: Path
    gtfs: list[Path]
    date: dt.date | None
    core: Any
    rings_km: float = 5.0
    max_km: float | None = None
    zones: Path | str | None = None
    population: str | None = None
    departure: int = 8 * 3600
    window: int = 3600
    cutoffs: tuple[int, ...] = tuple(60 * c for c in DEFAULT_CUTOFFS)
    percentile: float = 50.0
    rank_by: str | None = None
    offline: bool = False
    variants: dict[str, list[Modification]] = field(default_factory=dict)


def variant_modifications(
    shared: Sequence[Modification], own: Sequence[Modification], *, replace: bool = False
) -> list[Modification]:
    """A variant's modifications: the shared ones, then its own (or its own alone).

    Parameters
    ----------
    shared
        The file's ``[[modifications]]``, applied in every variant.
    own
        The variant's ``modifications``.
    replace
        The variant's ``replace``: its modifications replace the shared ones.

    Returns
    -------
    modifications
        In the order they are applied.
    """
    return list(own) if replace else [*shared, *own]


def slug(name: str) -> str:
    """A file-name-safe form of a variant name (its folder under the output folder)."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return text or "variant"


# -- values ----------------------------------------------------------------------------------


def _deprecated(doc: Document, path: Path_, old: str, new: str, value: Any) -> None:
    hint = f" = {value / 60:g}" if isinstance(value, int | float) else ""
    warnings.warn(
        f"{doc.path.name}:{doc.line(path)}: {path_text(path)}: the key {old!r} (seconds) "
        "is deprecated and goes in the next release; write "
        f"{new}{hint} (minutes)",
        FutureWarning,
        stacklevel=4,
    )


def _resolve(ck: Checker, base: Path, value: Any, path: Path_) -> Path:
    text = ck.string(value, path, "a path")
    p = Path(os.path.expandvars(text)).expanduser()
    p = p if p.is_absolute() else base / p
    if not p.exists():
        line = ck.doc.line(path)
        raise InputFileError(
            f"{ck.doc.path.name}:{line}: {'.'.join(map(str, path))}: {p} does not exist "
            f"(relative paths start at {base})"
        )
    return p


def _zones(ck: Checker, base: Path, value: Any, path: Path_) -> Path | str | None:
    """``zones``: None (rings), ``"places"`` (the extract's settlements) or a file."""
    if value is None or value == "places":
        return value
    return _resolve(ck, base, value, path)


def _minutes(ck: Checker, value: Any, path: Path_, *, zero: bool = False) -> float:
    """Minutes in (0, 1440] (or [0, 1440]) -> seconds."""
    return 60.0 * ck.number(value, path, "minutes", high=DAY_MIN, low_open=not zero)


def _seconds(ck: Checker, value: Any, path: Path_, *, zero: bool = False) -> float:
    """The deprecated keys: seconds in (0, 86400]."""
    return ck.number(value, path, "seconds", high=DAY_MIN * 60, low_open=not zero)


def _periods(ck: Checker, value: Any, path: Path_, to_s: Callable[..., float]) -> dict[str, float]:
    """``{"HH:MM-HH:MM": headway}`` -> the same with seconds; periods may not overlap."""
    if not isinstance(value, dict) or not value:
        raise ck.fail(path, f"must be a table 'HH:MM-HH:MM' = headway (got {excerpt(value)})")
    spans = []
    out = {}
    for key, headway in value.items():
        spans.append((*ck.period(key, (*path, str(key))), str(key)))
        out[str(key)] = to_s(ck, headway, (*path, str(key)))
    spans.sort()
    for (_, end, a), (start, _, b) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise ck.fail(path, f"the periods {a!r} and {b!r} overlap; give each time once")
    return out


def _route_ids(ck: Checker, value: Any, path: Path_) -> list[str]:
    return ck.strings(value, path, "route ids")


def _line_stops(ck: Checker, value: Any, path: Path_) -> list[Any]:
    items = ck.items(value, path, "stops ([lon, lat] points or stop ids)", at_least=2)
    out: list[Any] = []
    for k, item in enumerate(items):
        if isinstance(item, str):
            out.append(ck.string(item, (*path, k), "a stop id"))
        else:
            out.append(ck.lonlat(item, (*path, k)))
    return out


def _extension_stops(ck: Checker, value: Any, path: Path_) -> list[Any]:
    items = ck.items(value, path, "stops ([lon, lat] points or stop ids)", at_least=1)
    return [
        ck.string(item, (*path, k), "a stop id") if isinstance(item, str)
        else ck.lonlat(item, (*path, k))
        for k, item in enumerate(items)
    ]  # fmt: skip


def _alignment(ck: Checker, value: Any, path: Path_, base: Path) -> Any:
    if isinstance(value, str):
        if value.lstrip().startswith("{"):
            return value
        return _resolve(ck, base, value, path)
    if isinstance(value, dict):
        return value
    items = ck.items(value, path, "points [lon, lat]", at_least=2)
    return [ck.lonlat(p, (*path, k)) for k, p in enumerate(items)]


def _mode(ck: Checker, value: Any, path: Path_) -> str:
    from connectivity.scenarios.modifications import ROUTE_TYPES

    modes = [m.value for m in ROUTE_TYPES]
    text = ck.string(value, path, "a mode")
    if text.lower() not in modes:
        raise ck.fail(path, f"unknown mode {excerpt(value)}; use one of {', '.join(modes)}")
    return text.lower()


# A converter: (checker, value, path, base) -> (the dataclass field, its value).
_Conv = Callable[[Checker, Any, Path_, Path], tuple[str, Any]]


def _as(name: str, fn: Callable[[Checker, Any, Path_], Any]) -> _Conv:
    return lambda ck, v, p, base: (name, fn(ck, v, p))


def _km_h(ck: Checker, v: Any, p: Path_) -> float:
    return ck.number(v, p, "km/h", high=500)


def _metres(ck: Checker, v: Any, p: Path_) -> float:
    return ck.number(v, p, "metres", high=100_000)


def _names(ck: Checker, v: Any, p: Path_) -> list[str]:
    return [ck.string(s, (*p, k), "a stop name") for k, s in enumerate(ck.items(v, p, "names"))]


def _clocks(ck: Checker, v: Any, p: Path_) -> list[int]:
    return [ck.clock(t, (*p, k)) for k, t in enumerate(ck.items(v, p, "clock times 'HH:MM'"))]


def _span(ck: Checker, v: Any, p: Path_) -> tuple[int, int]:
    if not isinstance(v, list) or len(v) != 2:
        raise ck.fail(p, f"must be [start, end] clock times 'HH:MM' (got {excerpt(v)})")
    return ck.clock(v[0], (*p, 0)), ck.clock(v[1], (*p, 1))


def _runs(to_s: Callable[..., float]) -> Callable[[Checker, Any, Path_], list[float]]:
    return lambda ck, v, p: [to_s(ck, r, (*p, k)) for k, r in enumerate(ck.items(v, p, "runs"))]


def _pair(ck: Checker, v: Any, p: Path_) -> tuple[str, str]:
    ids = ck.strings(v, p, "stop ids")
    if len(ids) != 2:
        raise ck.fail(p, f"must name two consecutive stops (got {excerpt(v)})")
    return ids[0], ids[1]


_HEADWAYS: dict[str, _Conv] = {
    "headway_min": _as("headway", _minutes),
    "headways_min": _as("headways", lambda ck, v, p: _periods(ck, v, p, _minutes)),
    "headway": _as("headway", _seconds),
    "headways": _as("headways", lambda ck, v, p: _periods(ck, v, p, _seconds)),
}

#: How a new line, or a route's extension, is timed and placed (AddLine and Reroute).
_LINE_TIMES: dict[str, _Conv] = {
    "speed": _as("speed", _km_h),
    "run_times_min": _as("run_times", _runs(_minutes)),
    "run_times": _as("run_times", _runs(_seconds)),
    "dwell_min": _as("dwell", lambda ck, v, p: _minutes(ck, v, p, zero=True)),
    "dwell": _as("dwell", lambda ck, v, p: _seconds(ck, v, p, zero=True)),
}
_LINE_PATH: dict[str, _Conv] = {
    "follow_streets": _as("follow_streets", lambda ck, v, p: ck.boolean(v, p)),
    "reuse_stops_m": _as(
        "reuse_stops_m", lambda ck, v, p: ck.number(v, p, "metres", high=1000, low_open=False)
    ),
    "bus_factor": _as("bus_factor", lambda ck, v, p: ck.number(v, p, "a factor", high=10)),
}

#: Per modification type its keys (the old seconds keys are read with a FutureWarning).
MODIFICATION_KEYS: dict[str, tuple[type, dict[str, _Conv]]] = {
    "add_line": (
        AddLine,
        {
            "name": _as("name", lambda ck, v, p: ck.string(v, p, "the line's name")),
            "stops": _as("stops", _line_stops),
            "alignment": lambda ck, v, p, base: ("alignment", _alignment(ck, v, p, base)),
            "stop_spacing": _as("stop_spacing", _metres),
            "stop_names": _as("stop_names", _names),
            "mode": _as("mode", _mode),
            **_HEADWAYS,
            "departures": _as("departures", _clocks),
            "span": _as("span", _span),
            **_LINE_TIMES,
            "both_directions": _as("both_directions", lambda ck, v, p: ck.boolean(v, p)),
            **_LINE_PATH,
        },
    ),
    "change_frequency": (
        ChangeFrequency,
        {
            "route_ids": _as("route_ids", _route_ids),
            "scale": _as("scale", lambda ck, v, p: ck.number(v, p, "a factor", high=100)),
            **_HEADWAYS,
        },
    ),
    "remove_routes": (RemoveRoutes, {"route_ids": _as("route_ids", _route_ids)}),
    "remove_stops": (
        RemoveStops,
        {"stop_ids": _as("stop_ids", lambda ck, v, p: ck.strings(v, p, "stop ids"))},
    ),
    "add_stop": (
        AddStop,
        {
            "route_id": _as("route_id", lambda ck, v, p: ck.string(v, p, "a route id")),
            "lon": _as("lon", lambda ck, v, p: ck.number(v, p, "degrees", low=-180, high=180)),
            "lat": _as("lat", lambda ck, v, p: ck.number(v, p, "degrees", low=-90, high=90)),
            "between": _as("between", _pair),
            "name": _as("name", lambda ck, v, p: ck.string(v, p, "a stop name")),
            "stop_id": _as("stop_id", lambda ck, v, p: ck.string(v, p, "a stop id")),
            "dwell_min": _as("dwell", lambda ck, v, p: _minutes(ck, v, p, zero=True)),
            "dwell": _as("dwell", lambda ck, v, p: _seconds(ck, v, p, zero=True)),
        },
    ),
    "reroute": (
        Reroute,
        {
            "route_id": _as("route_id", lambda ck, v, p: ck.string(v, p, "a route id")),
            "skip": _as("skip", lambda ck, v, p: ck.strings(v, p, "stop ids")),
            "terminus": _as("terminus", lambda ck, v, p: ck.string(v, p, "a stop id")),
            "extend": _as("extend", _extension_stops),
            **_LINE_TIMES,
            **_LINE_PATH,
        },
    ),
}
#: The keys each modification needs.
REQUIRED = {
    "add_line": ("name",),
    "change_frequency": ("route_ids",),
    "remove_routes": ("route_ids",),
    "remove_stops": ("stop_ids",),
    "add_stop": ("route_id", "lon", "lat", "between"),
    "reroute": ("route_id",),
}


def _modification(ck: Checker, raw: Any, base: Path, path: Path_) -> Modification:
    if not isinstance(raw, dict):
        raise ck.fail(path, f"a modification is a table with a type (got {excerpt(raw)})")
    kind = raw.get("type")
    if kind not in MODIFICATION_KEYS:
        raise ck.fail(
            (*path, "type"),
            f"unknown modification type {excerpt(kind)}; use one of {', '.join(MODIFICATION_KEYS)}",
        )
    cls, keys = MODIFICATION_KEYS[kind]
    known = [k for k in keys if k not in RENAMED] + ["type"]
    values = {}
    for key, value in raw.items():
        if key == "type":
            continue
        key = str(key)
        name = key
        if name not in keys:
            ck.table({key: value}, path, known)  # raises with the closest key
        fname, v = keys[name](ck, value, (*path, key), base)
        if key in RENAMED:
            _deprecated(ck.doc, (*path, key), key, RENAMED[key], value)
        if fname in values:
            raise ck.fail((*path, key), f"gives {fname} twice (under two names); keep one")
        values[fname] = v
    missing = [k for k in REQUIRED[kind] if k not in values]
    if missing:
        raise ck.fail(path, f"{kind} needs {', '.join(missing)}")
    if "span" in values and "headway" not in values:
        raise ck.fail((*path, "span"), "span goes with headway_min; remove it or add headway_min")
    return cls(**values)


def _modifications(ck: Checker, raw: Any, base: Path, path: Path_) -> list[Modification]:
    if raw is None:
        return []
    items = ck.items(raw, path, "modifications", at_least=0)
    return [_modification(ck, m, base, (*path, k)) for k, m in enumerate(items)]


def _variant_name(ck: Checker, value: Any, path: Path_, taken: dict[str, str]) -> str:
    name = ck.string(value, path, "the variant's name")
    folder = slug(name)
    if folder.lower() in RESERVED_NAMES:
        raise ck.fail(
            path,
            f"a variant may not be named {name!r}: its folder would be the "
            f"file {folder!r} that the study writes; choose another name",
        )
    if folder in taken:
        raise ck.fail(
            path,
            f"variants {taken[folder]!r} and {name!r} have the same folder "
            f"name {folder!r}; rename one",
        )
    taken[folder] = name
    return name


def read_scenario(path: str | Path) -> ScenarioSpec:
    """Read and check a scenario file (``.toml``, ``.yaml`` or ``.yml``).

    Parameters
    ----------
    path
        The file (its keys: the guide's "The scenario file").

    Returns
    -------
    spec
        The checked scenario.

    Raises
    ------
    InputFileError
        The file, or a file it names, does not exist or is not a regular file.
    ScenarioError
        A malformed file, an unknown key (named with the closest known one), a value of
        the wrong type or out of its range, no modification, too many variants.
    """
    path = Path(path)
    doc = load_document(path)
    ck = Checker(doc)
    base = path.resolve().parent
    data = ck.table(doc.data, (), ["baseline", "study", "modifications", "variants"])
    baseline = ck.table(data.get("baseline"), ("baseline",), SECTIONS["baseline"])
    if "osm" not in baseline:
        raise ck.fail(("baseline",), "needs osm = the street extract (.osm.pbf)")
    osm = _resolve(ck, base, baseline["osm"], ("baseline", "osm"))
    gtfs_raw = baseline.get("gtfs", [])
    gtfs_raw = [gtfs_raw] if isinstance(gtfs_raw, str) else gtfs_raw
    gtfs_raw = ck.items(gtfs_raw, ("baseline", "gtfs"), "feeds", at_least=0)
    gtfs = [_resolve(ck, base, g, ("baseline", "gtfs", k)) for k, g in enumerate(gtfs_raw)]
    date = baseline.get("date")
    if date is not None and not isinstance(date, dt.date):
        try:
            date = dt.date.fromisoformat(ck.string(date, ("baseline", "date"), "YYYY-MM-DD"))
        except ValueError:
            raise ck.fail(("baseline", "date"), f"{excerpt(date)} is not YYYY-MM-DD") from None
    if isinstance(date, dt.datetime):
        date = date.date()

    st = ("study",)
    study = dict(ck.table(data.get("study"), st, [*SECTIONS["study"], "window"]))
    if "core" not in study:
        raise ck.fail(st, "needs core = [lat, lon] (or a file or place name of the core)")
    core = study["core"]
    if isinstance(core, list):
        if len(core) != 2:
            raise ck.fail((*st, "core"), f"must be [lat, lon] (got {excerpt(core)})")
        core = (
            ck.number(core[0], (*st, "core"), "degrees of latitude", low=-90, high=90),
            ck.number(core[1], (*st, "core"), "degrees of longitude", low=-180, high=180),
        )
    else:
        core = ck.string(core, (*st, "core"), "[lat, lon], a file or a place")
        if (base / core).exists():
            core = base / core
    cut_raw = study.get("cutoffs", list(DEFAULT_CUTOFFS))
    items = ck.items(cut_raw, (*st, "cutoffs"), "cutoffs (minutes)")
    if len(items) > 12:
        raise ck.fail((*st, "cutoffs"), f"holds {len(items)} cutoffs; the limit is 12")
    cutoffs = tuple(int(round(_minutes(ck, c, (*st, "cutoffs", k)))) for k, c in enumerate(items))
    if "window" in study and "window_min" in study:
        raise ck.fail((*st, "window"), "give window_min only (window is its old name)")
    if "window" in study:
        window = _seconds(ck, study["window"], (*st, "window"), zero=True)
        _deprecated(doc, (*st, "window"), "window", "window_min", study["window"])
    else:
        window = _minutes(ck, study.get("window_min", 60), (*st, "window_min"), zero=True)
    population = study.get("population")
    if population is not None:
        text = ck.string(population, (*st, "population"), "'file' or 'file:column'")
        file_part, _, column = text.partition(":")
        population = str(_resolve(ck, base, file_part, (*st, "population")))
        population += f":{column}" if column else ""
    zones = study.get("zones")
    rank_by = study.get("rank_by")
    if rank_by is not None:
        rank_by = ck.string(rank_by, (*st, "rank_by"), "a column of variants.csv")

    values: dict[str, Any] = dict(
        rings_km=ck.number(study.get("rings_km", 5.0), (*st, "rings_km"), "km", high=500),
        max_km=None
        if study.get("max_km") is None
        else ck.number(study["max_km"], (*st, "max_km"), "km", high=1000),
        zones=_zones(ck, base, zones, (*st, "zones")),
        departure=ck.clock(study.get("departure", "08:00"), (*st, "departure")),
        percentile=ck.number(study.get("percentile", 50), (*st, "percentile"), "%", high=100),
        offline=ck.boolean(study.get("offline", False), (*st, "offline")),
    )
    shared = _modifications(ck, data.get("modifications"), base, ("modifications",))
    variants: dict[str, list[Modification]] = {}
    raw_variants = ck.items(data.get("variants") or [], ("variants",), "variants", at_least=0)
    if len(raw_variants) > MAX_VARIANTS:
        raise ck.fail(
            ("variants",),
            f"holds {len(raw_variants):,} variants; the limit is {MAX_VARIANTS} (each is a "
            "full routing run): split the file",
        )
    folders: dict[str, str] = {}
    for i, v in enumerate(raw_variants):
        vp: Path_ = ("variants", i)
        v = ck.table(v, vp, SECTIONS["variant"])
        if "name" not in v:
            raise ck.fail(vp, "a variant needs a name")
        name = _variant_name(ck, v["name"], (*vp, "name"), folders)
        own = _modifications(ck, v.get("modifications"), base, (*vp, "modifications"))
        replace = ck.boolean(v.get("replace", False), (*vp, "replace"))
        variants[name] = variant_modifications(shared, own, replace=replace)
    if not variants:
        variants["scenario"] = shared
    empty = [n for n, mods in variants.items() if not mods]
    if empty:
        raise ScenarioError(
            f"{path.name}: no modifications for {', '.join(map(repr, empty))}: add "
            "[[modifications]] (shared) or modifications to each variant"
        )
    return ScenarioSpec(
        path=path,
        name=path.stem,
        osm=osm,
        gtfs=gtfs,
        date=date,
        core=core,
        population=population,
        window=int(round(window)),
        cutoffs=cutoffs,
        rank_by=rank_by,
        variants=variants,
        **values,
    )
