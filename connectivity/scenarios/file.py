"""Scenario files (TOML or YAML): the baseline, the modifications, the variants, the study.

A file reads as (TOML; YAML holds the same keys)::

    [baseline]
    osm = "streets.osm.pbf"          # paths relative to the file
    gtfs = ["feed.zip"]              # optional: none for a city without a feed
    date = "2016-11-04"              # optional: the feed's busiest date

    [study]
    core = [49.4797, 8.4699]         # (lat, lon), or a file / place read_core accepts
    rings_km = 5                     # rings around the core ...
    max_km = 20
    zones = "zones.geojson"          # ... or zones from a file
    population = "grid.gpkg:pop"     # optional (default: every street node weighs 1)
    departure = "08:00"
    window = 3600                    # seconds of departures (range routing)
    cutoffs = [30, 45, 60]           # minutes
    rank_by = "gain_per_km_45min"    # a column of the variants table

    [[modifications]]                # applied in every variant
    type = "add_line"                # add_line, change_frequency, remove_routes,
    name = "T1"                      # remove_stops, add_stop: the fields of the
    stops = [[8.47, 49.48], [8.53, 49.47]]   # dataclasses of connectivity.scenarios.modifications
    headway = 600

    [[variants]]                     # optional alternatives, each its own list
    name = "every 5 min"
    modifications = [{type = "change_frequency", route_ids = ["T1"], headway = 300}]

Relative paths (``osm``, ``gtfs``, ``zones``, ``population``, an ``alignment`` file)
are resolved against the scenario file's folder; ``$VARIABLES`` in them are expanded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectivity._errors import InputFileError, ScenarioError
from connectivity.scenarios.modifications import (
    AddLine,
    AddStop,
    ChangeFrequency,
    Modification,
    RemoveRoutes,
    RemoveStops,
    parse_seconds,
)

__all__ = ["ScenarioSpec", "read_scenario"]

KINDS: dict[str, type] = {
    "add_line": AddLine,
    "change_frequency": ChangeFrequency,
    "remove_routes": RemoveRoutes,
    "remove_stops": RemoveStops,
    "add_stop": AddStop,
}

DEFAULT_CUTOFFS = (30, 45, 60)
_STUDY_KEYS = {
    "core",
    "rings_km",
    "max_km",
    "zones",
    "population",
    "departure",
    "window",
    "cutoffs",
    "percentile",
    "rank_by",
    "offline",
}


@dataclass
class ScenarioSpec:
    """A scenario file, read and checked.

    Attributes
    ----------
    path
        The file.
    name
        Its stem (names the GTFS zips written).
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
        A zones file.
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
        Variant name -> its modifications (the shared ones first).
    """

    path: Path
    name: str
    osm: Path
    gtfs: list[Path]
    date: dt.date | None
    core: Any
    rings_km: float = 5.0
    max_km: float | None = None
    zones: Path | None = None
    population: str | None = None
    departure: int = 8 * 3600
    window: int = 3600
    cutoffs: tuple[int, ...] = tuple(60 * c for c in DEFAULT_CUTOFFS)
    percentile: float = 50.0
    rank_by: str | None = None
    offline: bool = False
    variants: dict[str, list[Modification]] = field(default_factory=dict)


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise InputFileError(f"the scenario file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            msg = str(exc).replace("\n", " ")
            raise ScenarioError(f"{path}: not valid YAML ({msg})") from None
    else:
        raise ScenarioError(
            f"{path}: unknown scenario file type {suffix!r}; name it .toml, .yaml or .yml"
        )
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: the file must hold a table of keys (baseline, study...)")
    return data


def _resolve(base: Path, value: Any, where: str) -> Path:
    if not isinstance(value, str | Path):
        raise ScenarioError(f"{where} must be a path (got {value!r})")
    p = Path(os.path.expandvars(str(value))).expanduser()
    p = p if p.is_absolute() else base / p
    if not p.exists():
        raise InputFileError(f"{where}: {p} does not exist (relative paths start at {base})")
    return p


def _number(value: Any, where: str, *, top: float | None = None) -> float:
    """``value`` as a number > 0 (and <= ``top``), else a ScenarioError naming ``where``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    number = float(value) if ok else float("nan")
    if not (number > 0 and (top is None or number <= top)):
        bounds = f"in (0, {top:g}]" if top is not None else "> 0"
        raise ScenarioError(f"{where} must be a number {bounds} (got {value!r})")
    return number


def _modification(raw: Any, base: Path, where: str) -> Modification:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a modification is a table with a type (got {raw!r})")
    raw = dict(raw)
    kind = raw.pop("type", None)
    cls = KINDS.get(str(kind))
    if cls is None:
        raise ScenarioError(
            f"{where}: unknown modification type {kind!r}; use one of {', '.join(KINDS)}"
        )
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ScenarioError(
            f"{where} ({kind}): unknown key(s) {', '.join(unknown)}; valid keys: "
            f"{', '.join(sorted(names))}"
        )
    if kind == "add_line" and isinstance(raw.get("alignment"), str):
        text = raw["alignment"]
        if not text.lstrip().startswith("{"):
            raw["alignment"] = _resolve(base, text, f"{where}: alignment")
    for key in ("span", "between"):
        if key in raw and isinstance(raw[key], list):
            raw[key] = tuple(raw[key])
    if "stops" in raw and kind == "add_line":
        raw["stops"] = [tuple(p) if isinstance(p, list) else p for p in raw["stops"]]
    try:
        return cls(**raw)
    except TypeError as exc:
        raise ScenarioError(f"{where} ({kind}): {exc}") from None


def _modifications(raw: Any, base: Path, where: str) -> list[Modification]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ScenarioError(f"{where} must be a list of modifications")
    return [_modification(m, base, f"{where}[{i + 1}]") for i, m in enumerate(raw)]


def read_scenario(path: str | Path) -> ScenarioSpec:
    """Read and check a scenario file (``.toml``, ``.yaml`` or ``.yml``).

    Parameters
    ----------
    path
        The file (see the module docstring for its keys).

    Returns
    -------
    spec
        The checked scenario.

    Raises
    ------
    InputFileError
        The file, or a file it names, does not exist.
    ScenarioError
        A malformed file, an unknown key or modification type, no modification, bad
        cutoffs or times.
    """
    path = Path(path)
    data = _load(path)
    base = path.resolve().parent
    unknown = sorted(set(data) - {"baseline", "study", "modifications", "variants"})
    if unknown:
        raise ScenarioError(
            f"{path}: unknown section(s) {', '.join(unknown)}; use baseline, study, "
            "modifications, variants"
        )
    baseline = data.get("baseline") or {}
    if "osm" not in baseline:
        raise ScenarioError(f"{path}: [baseline] needs osm = the street extract (.osm.pbf)")
    osm = _resolve(base, baseline["osm"], "[baseline] osm")
    gtfs_raw = baseline.get("gtfs") or []
    if isinstance(gtfs_raw, str):
        gtfs_raw = [gtfs_raw]
    gtfs = [_resolve(base, g, "[baseline] gtfs") for g in gtfs_raw]
    date = baseline.get("date")
    if date is not None and not isinstance(date, dt.date):
        try:
            date = dt.date.fromisoformat(str(date))
        except ValueError:
            raise ScenarioError(f"{path}: [baseline] date {date!r} is not YYYY-MM-DD") from None

    study = data.get("study") or {}
    bad = sorted(set(study) - _STUDY_KEYS)
    if bad:
        raise ScenarioError(
            f"{path}: unknown [study] key(s) {', '.join(bad)}; valid: "
            f"{', '.join(sorted(_STUDY_KEYS))}"
        )
    if "core" not in study:
        raise ScenarioError(
            f"{path}: [study] needs core = [lat, lon] (or a file or place name of the core)"
        )
    core = study["core"]
    if isinstance(core, list):
        core = tuple(core)
    elif isinstance(core, str) and Path(base / core).exists():
        core = base / core
    cutoffs_min = study.get("cutoffs", list(DEFAULT_CUTOFFS))
    try:
        cutoffs = tuple(int(round(float(c) * 60)) for c in cutoffs_min)
    except (TypeError, ValueError):
        raise ScenarioError(
            f"{path}: [study] cutoffs must be minutes (got {cutoffs_min!r})"
        ) from None
    if not cutoffs or any(c <= 0 for c in cutoffs):
        raise ScenarioError(f"{path}: [study] cutoffs must be minutes > 0 (got {cutoffs_min!r})")
    window = study.get("window", 3600)
    if not isinstance(window, int | float) or window < 0:
        raise ScenarioError(f"{path}: [study] window must be seconds >= 0 (got {window!r})")
    population = study.get("population")
    if population is not None:
        file_part, _, column = str(population).partition(":")
        population = str(_resolve(base, file_part, "[study] population"))
        population += f":{column}" if column else ""
    zones = study.get("zones")
    shared = _modifications(data.get("modifications"), base, "modifications")
    variants: dict[str, list[Modification]] = {}
    raw_variants = data.get("variants") or []
    if not isinstance(raw_variants, list):
        raise ScenarioError(
            f"{path}: variants must be a list of tables with name and modifications"
        )
    for i, v in enumerate(raw_variants):
        if not isinstance(v, dict) or "name" not in v:
            raise ScenarioError(f"{path}: variants[{i + 1}] needs a name")
        name = str(v["name"])
        if name in variants:
            raise ScenarioError(f"{path}: two variants are named {name!r}")
        extra = sorted(set(v) - {"name", "modifications"})
        if extra:
            raise ScenarioError(
                f"{path}: variants[{i + 1}] has unknown key(s) {', '.join(extra)} "
                "(a variant has a name and modifications)"
            )
        variants[name] = shared + _modifications(
            v.get("modifications"), base, f"variants[{i + 1}] ({name}) modifications"
        )
    if not variants:
        variants["scenario"] = shared
    empty = [n for n, mods in variants.items() if not mods]
    if empty:
        raise ScenarioError(
            f"{path}: no modifications for {', '.join(map(repr, empty))}: add "
            "[[modifications]] (shared) or modifications to each variant"
        )
    return ScenarioSpec(
        path=path,
        name=path.stem,
        osm=osm,
        gtfs=gtfs,
        date=date,
        core=core,
        rings_km=_number(study.get("rings_km", 5.0), f"{path}: [study] rings_km"),
        max_km=None
        if study.get("max_km") is None
        else _number(study["max_km"], f"{path}: [study] max_km"),
        zones=None if zones is None else _resolve(base, zones, "[study] zones"),
        population=population,
        departure=parse_seconds(study.get("departure", "08:00"), "[study] departure"),
        window=int(window),
        cutoffs=cutoffs,
        percentile=_number(study.get("percentile", 50), f"{path}: [study] percentile", top=100),
        rank_by=study.get("rank_by"),
        offline=bool(study.get("offline", False)),
        variants=variants,
    )
