"""Clipping a GTFS feed to a region before the timetable is built.

:func:`clip_gtfs` writes a feed holding only what serves the region (a box, a polygon or
``around=(lat, lon, km)``, as :func:`connectivity.clip_osm`), and counts what it dropped:

- stops (``location_type`` 0 or empty, and boarding areas) inside the region are kept,
  with the stations, entrances and nodes of the stations they belong to;
- each trip keeps its stop_times at kept stops, in order and with their times
  unchanged, so a ride that leaves the region and comes back still takes its real time
  (one cannot board or alight outside). A trip left with fewer than two stops is
  dropped; a trip whose first or last remaining stop has no time (a non-timepoint) is
  kept whole, with its outside stops, so that no time has to be invented;
- routes, shapes, frequencies, transfers and pathways follow the kept trips and stops;
  the calendar, agency and every other file are copied unchanged.

``stop_times.txt`` is parsed in chunks (two passes), so the full table is never held as
a frame. The result is an ordinary feed: :func:`connectivity.load_timetable` reads it.
"""

from __future__ import annotations

import io
import logging
import os
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import CoordinateError, GtfsError, InputFileError
from connectivity._files import atomic_path
from connectivity._region import Region, make_region
from connectivity.transit._read import FeedSource

__all__ = ["GtfsClipCounts", "clip_gtfs"]

log = logging.getLogger(__name__)

_CHUNK = 500_000


@dataclass(frozen=True)
class GtfsClipCounts:
    """What a GTFS clip read and kept."""

    stops_read: int
    stops_inside: int
    stops_kept: int
    trips_read: int
    trips_kept: int
    trips_kept_whole: int
    stop_times_read: int
    stop_times_kept: int
    routes_read: int
    routes_kept: int

    def as_dict(self) -> dict[str, Any]:
        """The counts as a plain dict."""
        return asdict(self)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        return (
            f"{self.stops_kept} of {self.stops_read} stops ({self.stops_inside} inside), "
            f"{self.trips_kept} of {self.trips_read} trips, {self.routes_kept} of "
            f"{self.routes_read} routes, {self.stop_times_kept} of {self.stop_times_read} "
            "stop_times kept"
        )


def _table(source: FeedSource, name: str) -> pd.DataFrame | None:
    data = source.read_bytes(name)
    if data is None:
        return None
    return _csv(data, source.where(name))


def _csv(data: bytes | io.BytesIO, where: str, **kwargs: Any) -> Any:
    buffer = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        return pd.read_csv(
            buffer,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skipinitialspace=True,
            **kwargs,
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise GtfsError(f"{where}: cannot parse ({exc})") from None
    except pd.errors.EmptyDataError:
        return pd.DataFrame() if "chunksize" not in kwargs else iter(())


def _strip(frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def clip_gtfs(
    feed: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: Any = None,
    around: tuple[float, float, float] | None = None,
    region: Region | None = None,
) -> GtfsClipCounts:
    """Write the part of a GTFS feed that serves a region to a new zip.

    Parameters
    ----------
    feed
        The feed (zip or folder).
    out
        The zip to write (atomically).
    bbox, polygon, around
        The region, exactly one (as :func:`connectivity.clip_osm`).
    region
        An already checked region (instead of the three above).

    Returns
    -------
    counts
        Stops, trips, stop_times and routes read and kept.

    Raises
    ------
    GtfsError
        The feed is malformed (no ``stops.txt`` / ``stop_times.txt``, bad coordinates).
    CoordinateError
        No stop of the feed lies inside the region.
    ParameterError, InputFileError
        A bad region (see :func:`connectivity.clip_osm`).
    """
    source = FeedSource(feed)
    if region is None:
        region = make_region(bbox=bbox, polygon=polygon, around=around)
    if region is None:
        raise InputFileError(
            "clip_gtfs needs a region: give bbox=(west, south, east, north), polygon= or "
            "around=(lat, lon, km)"
        )
    stops = _table(source, "stops.txt")
    if stops is None or not {"stop_id", "stop_lat", "stop_lon"} <= set(_strip(stops).columns):
        raise GtfsError(f"{source.path}: stops.txt with stop_id, stop_lat, stop_lon is required")
    stops = _strip(stops)
    kind = stops["location_type"] if "location_type" in stops else pd.Series("", index=stops.index)
    platform = kind.isin(["", "0", "4"]).to_numpy()
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce").to_numpy()
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce").to_numpy()
    located = np.isfinite(lat) & np.isfinite(lon)
    inside_mask = platform & located
    inside_mask[inside_mask] = region.contains(lon[inside_mask], lat[inside_mask])
    inside = set(stops.loc[inside_mask, "stop_id"])
    if not inside:
        raise CoordinateError(
            f"{region.describe()} holds no stop of {source.path.name} (its stops span "
            f"{np.nanmin(lon):.4f}..{np.nanmax(lon):.4f} E, {np.nanmin(lat):.4f}.."
            f"{np.nanmax(lat):.4f} N): give a region that overlaps the feed"
        )
    data = source.read_bytes("stop_times.txt")
    if data is None:
        raise GtfsError(f"{source.path}: stop_times.txt is missing")
    where = source.where("stop_times.txt")

    def chunks() -> Any:
        for chunk in _csv(data, where, chunksize=_CHUNK):
            yield _strip(chunk)

    # pass 1: per trip, its rows at inside stops and whether the trimmed ends are timed
    rows_read = 0
    parts = []
    for chunk in chunks():
        rows_read += len(chunk)
        part = chunk.loc[chunk["stop_id"].isin(inside)]
        if part.empty:
            continue
        timed = (part["arrival_time"].str.strip() != "") & (
            part["departure_time"].str.strip() != ""
        )
        parts.append(
            pd.DataFrame(
                {
                    "trip": part["trip_id"].to_numpy(),
                    "seq": pd.to_numeric(part["stop_sequence"], errors="coerce").to_numpy(),
                    "timed": timed.to_numpy(),
                }
            )
        )
    if parts:
        rows = pd.concat(parts, ignore_index=True).sort_values(["trip", "seq"], kind="stable")
        per_trip = rows.groupby("trip", sort=False).agg(
            n=("seq", "size"), first=("timed", "first"), last=("timed", "last")
        )
    else:
        per_trip = pd.DataFrame({"n": [], "first": [], "last": []})
    del parts
    kept_trips = set(per_trip.index[per_trip["n"] >= 2])
    ends_timed = per_trip["first"].astype(bool) & per_trip["last"].astype(bool)
    whole = set(per_trip.index[(per_trip["n"] >= 2) & ~ends_timed])

    # pass 2: the rows kept
    kept_parts = []
    for chunk in chunks():
        trip = chunk["trip_id"]
        keep = (trip.isin(kept_trips) & chunk["stop_id"].isin(inside)) | trip.isin(whole)
        kept_parts.append(chunk.loc[keep])
    stop_times = pd.concat(kept_parts, ignore_index=True) if kept_parts else pd.DataFrame()
    used = set(stop_times["stop_id"]) if len(stop_times) else set()
    keep_stop = stops["stop_id"].isin(used | inside)
    if "parent_station" in stops:
        stations = set(stops.loc[keep_stop, "parent_station"]) - {""}
        keep_stop |= stops["stop_id"].isin(stations)
        keep_stop |= stops["parent_station"].isin(stations) & ~kind.isin(["", "0", "4"])
    kept_stop_ids = set(stops.loc[keep_stop, "stop_id"])

    tables: dict[str, pd.DataFrame] = {"stops.txt": stops.loc[keep_stop]}
    tables["stop_times.txt"] = stop_times
    trips = _table(source, "trips.txt")
    if trips is None:
        raise GtfsError(f"{source.path}: trips.txt is missing")
    trips = _strip(trips)
    trips_kept = trips.loc[trips["trip_id"].isin(kept_trips)]
    tables["trips.txt"] = trips_kept
    routes = _table(source, "routes.txt")
    routes_read = 0 if routes is None else len(routes)
    if routes is not None:
        routes = _strip(routes)
        tables["routes.txt"] = routes.loc[routes["route_id"].isin(set(trips_kept["route_id"]))]
    filters = {
        "frequencies.txt": lambda t: t["trip_id"].isin(kept_trips),
        "shapes.txt": lambda t: t["shape_id"].isin(set(trips_kept.get("shape_id", ()))),
        "transfers.txt": lambda t: (
            t["from_stop_id"].isin(kept_stop_ids) & t["to_stop_id"].isin(kept_stop_ids)
        ),
        "pathways.txt": lambda t: (
            t["from_stop_id"].isin(kept_stop_ids) & t["to_stop_id"].isin(kept_stop_ids)
        ),
    }
    for name, keep_rows in filters.items():
        table = _table(source, name)
        if table is not None and len(table.columns):
            table = _strip(table)
            try:
                tables[name] = table.loc[keep_rows(table)]
            except KeyError:
                tables[name] = table
    out = Path(out)
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(_members(source)):
            if name in tables:
                archive.writestr(name, tables[name].to_csv(index=False, lineterminator="\n"))
            else:
                archive.writestr(name, source.read_bytes(name) or b"")
    counts = GtfsClipCounts(
        stops_read=len(stops),
        stops_inside=len(inside),
        stops_kept=int(keep_stop.sum()),
        trips_read=len(trips),
        trips_kept=len(trips_kept),
        trips_kept_whole=len(whole),
        stop_times_read=rows_read,
        stop_times_kept=len(stop_times),
        routes_read=routes_read,
        routes_kept=len(tables.get("routes.txt", ())),
    )
    log.info("clipped %s to %s: %s", source.path.name, region.describe(), counts.summary())
    return counts


def _members(source: FeedSource) -> list[str]:
    """The feed's standard ``.txt`` files (others are not carried over)."""
    return [name for name in _GTFS_NAMES if source.has(name)]


_GTFS_NAMES = (
    "agency.txt",
    "stops.txt",
    "routes.txt",
    "trips.txt",
    "stop_times.txt",
    "calendar.txt",
    "calendar_dates.txt",
    "fare_attributes.txt",
    "fare_rules.txt",
    "shapes.txt",
    "frequencies.txt",
    "transfers.txt",
    "pathways.txt",
    "levels.txt",
    "feed_info.txt",
    "translations.txt",
    "attributions.txt",
)
