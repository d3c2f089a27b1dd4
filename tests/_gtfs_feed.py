"""Small GTFS feeds that the tests write themselves, and an independent csv-only reader.

``write_feed`` writes a feed (folder or zip, optionally inside a subfolder) from dicts;
``base_feed`` is a tiny valid feed that tests modify. ``RawFeed`` reads a real feed with
nothing but the ``csv`` module, to count what the data really holds, independently of
the project's code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

Rows = list[dict[str, Any]]


def to_csv(rows: Rows | str, *, crlf: bool = False, bom: bool = False) -> bytes:
    """Rows (dicts, columns from the first row and any later ones) as CSV bytes."""
    if isinstance(rows, str):
        text = rows
    else:
        columns: list[str] = []
        for row in rows:
            columns += [c for c in row if c not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, columns, lineterminator="\r\n" if crlf else "\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if v is None else v for c, v in row.items()})
        text = buf.getvalue()
    data = text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if bom else data


def write_feed(
    where: Path,
    files: dict[str, Rows | str | bytes],
    *,
    as_zip: bool = False,
    subfolder: str = "",
    crlf: bool = False,
    bom: bool = False,
) -> Path:
    """Write ``files`` (name -> rows, text or bytes) as a feed folder or zip at ``where``."""
    blobs = {
        name: content if isinstance(content, bytes) else to_csv(content, crlf=crlf, bom=bom)
        for name, content in files.items()
    }
    prefix = f"{subfolder}/" if subfolder else ""
    if as_zip:
        path = where.with_suffix(".zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, blob in blobs.items():
                zf.writestr(prefix + name, blob)
        return path
    for name, blob in blobs.items():
        target = where / prefix / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
    return where


def hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def base_feed() -> dict[str, Rows]:
    """A line A - B - C (1 km apart, eastwards) run by two weekday trips and one
    Saturday trip; the weekday service runs in January 2024 (Monday 1 to Wednesday 31)."""
    stops = [
        {"stop_id": s, "stop_name": f"Stop {s}", "stop_lat": 60.0, "stop_lon": 25.0 + 0.018 * i}
        for i, s in enumerate("ABC")
    ]
    routes = [
        {"route_id": "R1", "route_short_name": "1", "route_type": 3},
        {"route_id": "R2", "route_short_name": "2", "route_type": 0},
    ]
    trips = [
        {"route_id": "R1", "service_id": "WK", "trip_id": "t1"},
        {"route_id": "R1", "service_id": "WK", "trip_id": "t2"},
        {"route_id": "R2", "service_id": "SA", "trip_id": "s1"},
    ]
    stop_times = []
    for trip, start in (("t1", 8 * 3600), ("t2", 9 * 3600), ("s1", 10 * 3600)):
        for i, s in enumerate("ABC"):
            stop_times.append(
                {
                    "trip_id": trip,
                    "arrival_time": hms(start + 300 * i),
                    "departure_time": hms(start + 300 * i + (30 if i == 1 else 0)),
                    "stop_id": s,
                    "stop_sequence": i + 1,
                }
            )
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    calendar = [
        {
            "service_id": "WK",
            **{d: int(i < 5) for i, d in enumerate(days)},
            "start_date": "20240101",
            "end_date": "20240131",
        },
        {
            "service_id": "SA",
            **{d: int(i == 5) for i, d in enumerate(days)},
            "start_date": "20240101",
            "end_date": "20240131",
        },
    ]
    return {
        "agency.txt": [
            {
                "agency_id": "X",
                "agency_name": "X",
                "agency_url": "https://x.example",
                "agency_timezone": "Europe/Helsinki",
            }
        ],
        "stops.txt": stops,
        "routes.txt": routes,
        "trips.txt": trips,
        "stop_times.txt": stop_times,
        "calendar.txt": calendar,
    }


# -- an independent reader of real feeds (csv module only) --------------------------------


def _seconds(text: str) -> int:
    h, m, s = text.strip().split(":")
    return int(h) * 3600 + int(m) * 60 + int(s)


class RawFeed:
    """A feed read with the csv module only: services per date, trips, frequencies."""

    def __init__(self, path: Path) -> None:
        self.zf = zipfile.ZipFile(path)
        self.services: dict[dt.date, set[str]] = defaultdict(set)
        weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
        weekdays += ("sunday",)
        for r in self.rows("calendar.txt"):
            day = dt.datetime.strptime(r["start_date"].strip(), "%Y%m%d").date()
            end = dt.datetime.strptime(r["end_date"].strip(), "%Y%m%d").date()
            while day <= end:
                if r[weekdays[day.weekday()]].strip() == "1":
                    self.services[day].add(r["service_id"].strip())
                day += dt.timedelta(days=1)
        for r in self.rows("calendar_dates.txt"):
            day = dt.datetime.strptime(r["date"].strip(), "%Y%m%d").date()
            if r["exception_type"].strip() == "1":
                self.services[day].add(r["service_id"].strip())
            else:
                self.services[day].discard(r["service_id"].strip())
        self.expansions: dict[str, list[int]] = defaultdict(list)
        self.headways: list[tuple[str, int, int, int]] = []
        for r in self.rows("frequencies.txt"):
            start, end = _seconds(r["start_time"]), _seconds(r["end_time"])
            headway = int(r["headway_secs"])
            self.headways.append((r["trip_id"].strip(), start, end, headway))
            self.expansions[r["trip_id"].strip()] += list(range(start, end, headway))
        self.trip_service = {
            r["trip_id"].strip(): r["service_id"].strip() for r in self.rows("trips.txt")
        }

    def rows(self, name: str) -> list[dict[str, str]]:
        members = [n for n in self.zf.namelist() if n.rsplit("/", 1)[-1] == name]
        if not members:
            return []
        with self.zf.open(members[0]) as f:
            reader = csv.DictReader(io.TextIOWrapper(f, "utf-8-sig", newline=""))
            reader.fieldnames = [c.strip() for c in reader.fieldnames or []]
            return list(reader)

    def trips_on(self, day: dt.date) -> int:
        """Trips running on ``day``: a frequency template counts as its expansions."""
        if not hasattr(self, "_per_service"):
            self._per_service: dict[str, int] = defaultdict(int)
            for t, s in self.trip_service.items():
                self._per_service[s] += len(self.expansions[t]) if t in self.expansions else 1
        return sum(self._per_service.get(s, 0) for s in self.services.get(day, set()))

    def counts(self) -> dict[dt.date, int]:
        return {day: self.trips_on(day) for day in sorted(self.services)}
