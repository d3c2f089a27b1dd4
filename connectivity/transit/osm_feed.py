"""An estimated GTFS feed from OpenStreetMap public-transport route relations.

Many cities publish no GTFS feed, yet their bus, trolleybus, tram, metro and minibus
lines are mapped in OpenStreetMap as route relations. :func:`gtfs_from_osm` turns them
into a frequency-based GTFS feed that goes through the normal ingest
(:func:`connectivity.transit.gtfs.load_timetable`) unchanged:

- each ``route`` relation (one direction of a line) is one pattern: its stop and platform
  members give the stops in order, its way members joined end to end give the shape;
- run times come from the length along the shape between stops and a speed per mode (or
  the relation's ``duration`` tag), plus a dwell time at each intermediate stop;
- headways come from ``interval`` / ``interval:conditional``, the service span from
  ``opening_hours``, each falling back to a default per mode that is a parameter;
- the feed holds one template trip per pattern and day type with ``frequencies.txt``.

What was tagged and what was estimated is recorded per relation in a report (a
:class:`pandas.DataFrame`, written as ``estimation.txt`` inside the zip and as a CSV next
to it), together with the problems found: ways that do not join up (gaps), stops far from
the route, relations cut by the edge of the extract, missing refs.

Default speeds (km/h, between stops, dwell excluded) are typical operating speeds of
urban transit: bus 20 and tram 14 were tuned against the scheduled stop-to-stop times of
the Helsinki HSL feed in central Helsinki (``benchmarks/osm_transit_validation.py``: the
speeds with the least median absolute error over the stop pairs matched by name, with a
dwell of 20 s), so they are city-centre speeds; the others are round figures of commonly
published averages (metro 35, suburban train 50, ferry 20) and are meant to be
overridden where local figures are known.

The steps live in their own modules: :mod:`connectivity.transit.osm_relations` reads the
relations, :mod:`connectivity.transit.osm_tags` their timetable tags,
:mod:`connectivity.transit.osm_geometry` joins their ways and places their stops, and
:mod:`connectivity.transit.osm_estimate` makes the rows of the feed; this module checks
the parameters, writes the zip and the report, caches feeds and reads their lines back
for maps.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import sys
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from connectivity import settings
from connectivity._errors import EmptyNetworkError, InputFileError, ParameterError
from connectivity._files import atomic_path, cache_key, file_digest, sweep_cache
from connectivity.transit.osm_estimate import _estimate
from connectivity.transit.osm_relations import (
    MODES,
    RouteRelations,
    _check_source,
    read_route_relations,
)

__all__ = [
    "DEFAULT_DATE_RANGE",
    "DEFAULT_HEADWAYS",
    "DEFAULT_SPAN",
    "DEFAULT_SPEEDS",
    "estimated_feed",
    "gtfs_from_osm",
    "parse_mode_values",
    "route_lines",
    "summary_line",
]

logger = logging.getLogger(__name__)

#: Speed between stops per mode in km/h, dwell time excluded. Bus and tram were tuned on
#: the Helsinki HSL feed (scheduled stop-to-stop times of the stops matched by name in
#: central Helsinki, dwell 20 s: tram 14 km/h gives a median absolute error of 19 s per
#: stop pair, bus 20 km/h one of 7 s); the others are round typical figures.
DEFAULT_SPEEDS: dict[str, float] = {
    "bus": 20.0,
    "trolleybus": 18.0,
    "tram": 14.0,
    "subway": 35.0,
    "light_rail": 25.0,
    "train": 50.0,
    "monorail": 30.0,
    "ferry": 20.0,
    "share_taxi": 22.0,
    "minibus": 22.0,
}

#: Headway per mode in seconds where no ``interval`` is tagged.
DEFAULT_HEADWAYS: dict[str, int] = {
    "bus": 900,
    "trolleybus": 900,
    "tram": 600,
    "subway": 300,
    "light_rail": 600,
    "train": 1200,
    "monorail": 600,
    "ferry": 1800,
    "share_taxi": 600,
    "minibus": 600,
}

#: Bump when the estimated feed made from the same file and options changes, so that
#: :func:`estimated_feed` leaves old cache entries unused.
_CACHE_VERSION = 1

#: Service span (first departure, end of service) in seconds after midnight where no
#: simple ``opening_hours`` is tagged: 06:00 to 23:00.
DEFAULT_SPAN: tuple[int, int] = (6 * 3600, 23 * 3600)

#: Dates the calendar covers by default: the estimated feed describes a typical week,
#: valid on any date of the range (chosen fixed, so that the feed is deterministic).
DEFAULT_DATE_RANGE: tuple[dt.date, dt.date] = (dt.date(2000, 1, 1), dt.date(2099, 12, 31))

_SERVICE_DAYS: dict[str, tuple[int, ...]] = {
    "daily": (1, 1, 1, 1, 1, 1, 1),
    "weekday": (1, 1, 1, 1, 1, 0, 0),
    "saturday": (0, 0, 0, 0, 0, 1, 0),
    "sunday": (0, 0, 0, 0, 0, 0, 1),
}

_FEED_PUBLISHER = "Estimated by connectivity from OpenStreetMap route relations"
_OSM_URL = "https://www.openstreetmap.org/copyright"


# -- parameters ---------------------------------------------------------------------


def parse_mode_values(text: str, *, what: str, scale: float = 1.0) -> dict[str, float]:
    """Parse ``"bus=10,tram=8"`` into ``{"bus": 10 * scale, "tram": 8 * scale}``.

    Parameters
    ----------
    text
        Comma-separated ``mode=number`` pairs; modes from :data:`MODES`.
    what
        What the values are (``"--headway"``), for the error message.
    scale
        Factor applied to each number (60 turns minutes into seconds).

    Returns
    -------
    values
        Mode -> positive number.

    Raises
    ------
    ParameterError
        A pair is malformed, names an unknown mode or gives a value that is not positive.
    """
    values: dict[str, float] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        mode, sep, number = item.partition("=")
        mode = mode.strip().lower()
        try:
            value = float(number) if sep else math.nan
        except ValueError:
            value = math.nan
        if not sep or not math.isfinite(value):
            raise ParameterError(
                f"{what}: cannot read {item!r}: write mode=number pairs separated by "
                "commas, e.g. bus=10,tram=8"
            )
        _check_mode(mode, what)
        if value <= 0:
            raise ParameterError(f"{what}: {mode}={number.strip()} must be positive")
        values[mode] = value * scale
    if not values:
        raise ParameterError(f"{what}: no mode=number pair in {text!r}, e.g. bus=10,tram=8")
    return values


def _check_mode(mode: str, what: str) -> None:
    if mode not in MODES:
        raise ParameterError(f"{what}: unknown mode {mode!r}: use one of {', '.join(MODES)}")


def _mode_table(
    given: Mapping[str, float] | None, default: Mapping[str, Any], what: str, unit: str
) -> dict[str, float]:
    table = {m: float(v) for m, v in default.items()}
    for mode, value in (given or {}).items():
        _check_mode(str(mode), what)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ParameterError(f"{what}[{mode!r}] = {value!r}: give a positive number of {unit}")
        table[str(mode)] = float(value)
    return table


def _parse_date_range(
    date_range: tuple[dt.date | str, dt.date | str] | str | None,
) -> tuple[dt.date, dt.date]:
    if date_range is None:
        return DEFAULT_DATE_RANGE
    parts: tuple[Any, ...] = (
        tuple(date_range.split(":")) if isinstance(date_range, str) else tuple(date_range)
    )
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = (
            p if isinstance(p, dt.date) else dt.date.fromisoformat(str(p).strip()) for p in parts
        )
    except ValueError:
        raise ParameterError(
            f"date range {date_range!r}: give two ISO dates, e.g. 2024-01-01:2024-12-31"
        ) from None
    if end < start:
        raise ParameterError(f"date range {date_range!r} ends before it starts")
    return start, end


def gtfs_from_osm(
    source: str | Path | RouteRelations,
    *,
    out: str | Path | None = None,
    date_range: tuple[dt.date | str, dt.date | str] | str | None = None,
    headways: Mapping[str, float] | None = None,
    speeds: Mapping[str, float] | None = None,
    dwell: float = 20.0,
    span: tuple[int, int] = DEFAULT_SPAN,
    merge_distance: float = 100.0,
    max_stop_distance: float = 50.0,
    timezone: str = "UTC",
    progress: bool | None = None,
) -> tuple[Path, pd.DataFrame]:
    """Write an estimated GTFS feed from the public-transport route relations of an OSM file.

    Parameters
    ----------
    source
        A ``.osm.pbf`` / ``.osm`` / ``.osm.bz2`` file, or what
        :func:`read_route_relations` returned for one.
    out
        The zip to write (atomically); default
        ``settings.gtfs_folder / "<file stem>-estimated.zip"``. The report is also
        written next to it as ``<name>.estimation.csv``.
    date_range
        First and last date of ``calendar.txt``, as two dates or ``"2024-01-01:2024-12-31"``;
        default :data:`DEFAULT_DATE_RANGE` (the feed describes a typical week).
    headways
        Headway in seconds per mode where no ``interval`` is tagged; overrides
        :data:`DEFAULT_HEADWAYS` for the modes given.
    speeds
        Speed between stops in km/h per mode (dwell excluded), used where the relation has
        no readable ``duration``; overrides :data:`DEFAULT_SPEEDS` for the modes given.
    dwell
        Seconds spent at each intermediate stop.
    span
        First departure and end of service in seconds after midnight where no simple
        ``opening_hours`` is tagged.
    merge_distance
        Stop positions and platforms of the same name closer than this (metres) are
        one stop, as are a stop position and the platform listed next to it.
    max_stop_distance
        A stop farther than this (metres) from the joined route line is reported as
        off the route (it is kept, timed at its nearest point along the route).
    timezone
        IANA time zone of ``agency.txt`` (the times of the feed are local times).
    progress
        Show a progress bar; default: when standard error is a terminal.

    Returns
    -------
    path
        The zip written.
    report
        One row per route relation: what was tagged and what estimated
        (``speed_source``, ``headway_source``, ``span_source``), the trips made and the
        problems found (``gaps``, ``gap_length_m``, ``off_route_stops``, ``cut``,
        ``missing_ref``, ``status`` ``"ok"`` / ``"flagged"`` / ``"skipped"``).

    Raises
    ------
    InputFileError
        The OSM file is missing or of an unknown kind.
    EmptyNetworkError
        No route relation, or none with two stops inside the extract.
    ParameterError
        A parameter is out of range (unknown mode, non-positive speed, bad dates, time
        zone or output name).
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    speed_table = _mode_table(speeds, DEFAULT_SPEEDS, "speeds", "km/h")
    headway_table = _mode_table(headways, DEFAULT_HEADWAYS, "headways", "seconds")
    start_date, end_date = _parse_date_range(date_range)
    if not (math.isfinite(dwell) and dwell >= 0):
        raise ParameterError(f"dwell = {dwell!r}: give a number of seconds >= 0")
    if not (0 <= span[0] < span[1] <= 2 * 86_400):
        raise ParameterError(
            f"span = {span!r}: give (start, end) in seconds after midnight, start < end"
        )
    for name, value in (
        ("merge_distance", merge_distance),
        ("max_stop_distance", max_stop_distance),
    ):
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(f"{name} = {value!r}: give a positive number of metres")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParameterError(
            f"unknown time zone {timezone!r}: give an IANA name such as 'Europe/Helsinki'"
        ) from None
    data = source if isinstance(source, RouteRelations) else read_route_relations(source)
    if out is None:
        stem = data.source.name.split(".")[0]
        out = settings.gtfs_folder / f"{stem}-estimated.zip"
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise ParameterError(
            f"output {str(out)!r}: the feed is written as a .zip, e.g. gtfs/city.zip"
        )

    feed = _estimate(
        data,
        speed_table=speed_table,
        headway_table=headway_table,
        dwell=float(dwell),
        span=(int(span[0]), int(span[1])),
        merge_distance=float(merge_distance),
        max_stop_distance=float(max_stop_distance),
        progress=sys.stderr.isatty() if progress is None else progress,
    )
    report = feed.pop("report")
    if not len(feed["trips"]):
        raise EmptyNetworkError(
            f"none of the {len(data)} route relations of {str(data.source)!r} has two stops "
            "inside the extract: use a larger extract, or one cut with "
            "'osmium extract --strategy smart' so that relations keep their members"
        )
    _warn(report)
    params = {
        "speeds": speed_table,
        "headways": headway_table,
        "dwell": dwell,
        "span": list(span),
        "merge_distance": merge_distance,
        "max_stop_distance": max_stop_distance,
        "timezone": timezone,
        "date_range": [start_date.isoformat(), end_date.isoformat()],
    }
    version = cache_key(file_digest(data.source), params)
    _write_feed(out, feed, report, start_date, end_date, timezone, version, params)
    report_path = out.with_name(out.name[: -len(".zip")] + ".estimation.csv")
    with atomic_path(report_path) as tmp:
        report.to_csv(tmp, index=False)
    logger.info("wrote %s (%s)", out, summary_line(report))
    return out, report


def summary_line(report: pd.DataFrame) -> str:
    """One line summing up a report of :func:`gtfs_from_osm`.

    Parameters
    ----------
    report
        The report.

    Returns
    -------
    line
        Counts of relations used, skipped and flagged per problem kind.
    """
    used = report["status"] != "skipped"
    return (
        f"{int(used.sum())} of {len(report)} route relations made "
        f"{int(report['trips'].fillna('').str.count(';').add(report['trips'].notna()).sum())} "
        f"patterns; {int((~used).sum())} skipped; problems: "
        f"{int((report['gaps'] > 0).sum())} with gaps "
        f"({report['gap_length_m'].sum():.0f} m), "
        f"{int(report['off_route_stops'].sum())} stops off the route, "
        f"{int(report['cut'].sum())} cut by the extract, "
        f"{int(report['missing_ref'].sum())} without ref"
    )


def _warn(report: pd.DataFrame) -> None:
    gaps = report[report["gaps"] > 0]
    if len(gaps):
        logger.warning(
            "%d route relations have ways that do not join up (%d gaps, %.0f m in all); "
            "the parts are kept, joined by straight lines (see the report's 'gaps')",
            len(gaps),
            int(gaps["gaps"].sum()),
            gaps["gap_length_m"].sum(),
        )
    off = int(report["off_route_stops"].sum())
    if off:
        logger.warning(
            "%d stops of %d route relations lie farther than the max_stop_distance from "
            "their route; they are kept (see the report's 'off_route_stops')",
            off,
            int((report["off_route_stops"] > 0).sum()),
        )
    cut = int(report["cut"].sum())
    if cut:
        logger.warning(
            "%d route relations are cut by the edge of the extract; the parts inside are kept",
            cut,
        )
    no_ref = int(report["missing_ref"].sum())
    if no_ref:
        logger.warning("%d route relations have no ref (route_short_name left empty)", no_ref)
    skipped = report[report["status"] == "skipped"]
    if len(skipped):
        logger.warning(
            "%d route relations skipped: fewer than two stops inside the extract", len(skipped)
        )
    unordered = int(report["unordered_stops"].sum())
    if unordered:
        logger.warning(
            "%d route relations list stops in an order their ways do not follow; "
            "their run times are unreliable",
            unordered,
        )


def _csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(header))
    writer.writerows(rows)
    return buffer.getvalue()


def _write_feed(
    out: Path,
    feed: dict[str, Any],
    report: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    timezone: str,
    version: str,
    params: dict[str, Any],
) -> None:
    services = sorted({t["service_id"] for t in feed["trips"]})
    files = {
        "agency.txt": _csv_text(
            ["agency_id", "agency_name", "agency_url", "agency_timezone"],
            [(aid, name, _OSM_URL, timezone) for aid, name in sorted(feed["agencies"].items())],
        ),
        "stops.txt": _csv_text(
            ["stop_id", "stop_name", "stop_lat", "stop_lon", "location_type"],
            [list(s.values()) for s in feed["stops"]],
        ),
        "routes.txt": _csv_text(
            list(feed["routes"][0]),
            [list(r.values()) for r in feed["routes"]],
        ),
        "trips.txt": _csv_text(list(feed["trips"][0]), [list(t.values()) for t in feed["trips"]]),
        "stop_times.txt": _csv_text(
            [
                "trip_id",
                "arrival_time",
                "departure_time",
                "stop_id",
                "stop_sequence",
                "pickup_type",
                "drop_off_type",
                "shape_dist_traveled",
            ],
            feed["stop_times"],
        ),
        "frequencies.txt": _csv_text(
            ["trip_id", "start_time", "end_time", "headway_secs", "exact_times"],
            feed["frequencies"],
        ),
        "shapes.txt": _csv_text(
            [
                "shape_id",
                "shape_pt_lat",
                "shape_pt_lon",
                "shape_pt_sequence",
                "shape_dist_traveled",
            ],
            feed["shapes"],
        ),
        "calendar.txt": _csv_text(
            [
                "service_id",
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
                "start_date",
                "end_date",
            ],
            [
                (s, *_SERVICE_DAYS[s], start.strftime("%Y%m%d"), end.strftime("%Y%m%d"))
                for s in services
            ],
        ),
        "feed_info.txt": _csv_text(
            [
                "feed_publisher_name",
                "feed_publisher_url",
                "feed_lang",
                "feed_start_date",
                "feed_end_date",
                "feed_version",
            ],
            [
                (
                    _FEED_PUBLISHER,
                    _OSM_URL,
                    "mul",
                    start.strftime("%Y%m%d"),
                    end.strftime("%Y%m%d"),
                    version,
                )
            ],
        ),
        "estimation.txt": report.to_csv(index=False, lineterminator="\n"),
        "estimation_parameters.txt": _csv_text(
            ["parameter", "mode", "value"],
            [
                (name, mode, v)
                for name, value in params.items()
                for mode, v in (value.items() if isinstance(value, dict) else [("", value)])
            ],
        ),
    }
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)


def estimated_feed(source: str | Path, **options: Any) -> Path:
    """Return an estimated feed of ``source`` from the cache, making it when absent.

    The feed is cached under ``settings.cache_folder / "estimated_gtfs"``, keyed by the
    file's contents and the options, so a demo or a repeated study makes it once.

    Parameters
    ----------
    source
        A ``.osm.pbf`` / ``.osm`` / ``.osm.bz2`` file.
    **options
        Keyword options of :func:`gtfs_from_osm` (except ``out``).

    Returns
    -------
    path
        The zip of the estimated feed.
    """
    if "out" in options:
        raise ParameterError("estimated_feed chooses its own output: call gtfs_from_osm for 'out'")
    path = _check_source(source)
    # The defaults fill in what the options leave out, so they are part of the key too.
    defaults = [DEFAULT_SPEEDS, DEFAULT_HEADWAYS, DEFAULT_SPAN, DEFAULT_DATE_RANGE]
    key = cache_key(
        "gtfs_from_osm", _CACHE_VERSION, file_digest(path), sorted(options.items()), defaults
    )
    out = Path(settings.cache_folder) / "estimated_gtfs" / f"{path.name.split('.')[0]}-{key}.zip"
    if not settings.use_cache or not _readable_feed(out):
        gtfs_from_osm(path, out=out, **options)
    return out


def _readable_feed(path: Path) -> bool:
    """Whether the cached feed ``path`` is a whole zip holding a feed (a truncated or
    garbage entry is logged and rebuilt); stale temporary files beside it are removed."""
    sweep_cache()
    if not path.exists():
        return False
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            names = set(z.namelist())
        if bad is not None or not {"stops.txt", "trips.txt", "stop_times.txt"} <= names:
            raise ValueError(f"{bad or 'stops.txt, trips.txt or stop_times.txt'} unreadable")
    except Exception as exc:  # BadZipFile, EOFError, CRC errors: rebuilt, never fatal
        logger.warning(
            "ignoring the unreadable estimated feed %s (%s: %s); rebuilding it",
            path,
            type(exc).__name__,
            exc,
        )
        return False
    return True


def route_lines(feed: str | Path) -> Any:
    """Return the shapes of a GTFS zip (an estimated feed, say) as lines to draw on a map.

    Parameters
    ----------
    feed
        A GTFS zip with ``shapes.txt``, ``trips.txt`` and ``routes.txt``.

    Returns
    -------
    lines
        A GeoDataFrame in EPSG:4326, one row per shape: ``shape_id, route_id,
        route_short_name, route_long_name, route_type, route_color`` (``#RRGGBB`` or
        empty) and a LineString ``geometry``.

    Raises
    ------
    InputFileError
        The zip is missing or lacks one of the three files.
    """
    import geopandas as gpd
    from shapely.geometry import LineString

    path = Path(feed)
    needed = ("shapes.txt", "trips.txt", "routes.txt")
    try:
        with zipfile.ZipFile(path) as archive:
            tables = {
                name: list(csv.DictReader(io.TextIOWrapper(archive.open(name), "utf-8-sig")))
                for name in needed
            }
    except (FileNotFoundError, KeyError, zipfile.BadZipFile) as exc:
        raise InputFileError(
            f"cannot read the shapes of {str(path)!r} ({exc}): give a GTFS zip holding "
            f"{', '.join(needed)}"
        ) from None
    points: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for row in tables["shapes.txt"]:
        points[row["shape_id"]].append(
            (int(row["shape_pt_sequence"]), float(row["shape_pt_lon"]), float(row["shape_pt_lat"]))
        )
    route_of = {t["shape_id"]: t["route_id"] for t in tables["trips.txt"] if t.get("shape_id")}
    routes = {r["route_id"]: r for r in tables["routes.txt"]}
    rows = []
    for shape_id, pts in points.items():
        if len(pts) < 2:
            continue
        pts.sort()
        route = routes.get(route_of.get(shape_id, ""), {})
        colour = route.get("route_color", "")
        rows.append(
            {
                "shape_id": shape_id,
                "route_id": route.get("route_id", ""),
                "route_short_name": route.get("route_short_name", ""),
                "route_long_name": route.get("route_long_name", ""),
                "route_type": int(route["route_type"]) if route.get("route_type") else -1,
                "route_color": f"#{colour}" if colour else "",
                "geometry": LineString([(x, y) for _, x, y in pts]),
            }
        )
    columns = [
        "shape_id",
        "route_id",
        "route_short_name",
        "route_long_name",
        "route_type",
        "route_color",
        "geometry",
    ]
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs="EPSG:4326")
