"""write_gtfs: the zip passes audit() and loads back into the same timetable."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from _gtfs_feed import RawFeed, base_feed, hms, write_feed

from connectivity import ParameterError, Timetable, audit, load_timetable
from connectivity.transit.write import write_gtfs

DATE = "2024-01-09"


def events(tt: Timetable) -> pd.DataFrame:
    """Every stop event keyed by ids: trip, stop, order, times, boarding rules."""
    st = tt.stop_times()
    pattern = tt.trips["pattern"].to_numpy()[st["trip"].to_numpy()]
    pos = tt.pattern_stop_ptr[pattern] + st["stop_sequence"].to_numpy()
    frame = pd.DataFrame(
        {
            "trip_id": tt.trips["trip_id"].to_numpy()[st["trip"].to_numpy()],
            "route_id": tt.routes["route_id"].to_numpy()[
                tt.trips["route"].to_numpy()[st["trip"].to_numpy()]
            ],
            "stop_id": tt.stops["stop_id"].to_numpy()[st["stop"].to_numpy()],
            "order": st["stop_sequence"].to_numpy(),
            "arrival": st["arrival"].to_numpy(),
            "departure": st["departure"].to_numpy(),
            "board": tt.pattern_board[pos],
            "alight": tt.pattern_alight[pos],
        }
    )
    return frame.sort_values(["trip_id", "order"]).reset_index(drop=True)


def assert_same(a: Timetable, b: Timetable) -> None:
    pd.testing.assert_frame_equal(events(a), events(b))
    assert sorted(a.trips["trip_id"][a.trips["pattern"] >= 0]) == sorted(
        b.trips["trip_id"][b.trips["pattern"] >= 0]
    )
    assert list(a.stops["stop_id"]) == list(b.stops["stop_id"])
    # Coordinates are written exactly, so stops snap to the same streets again.
    np.testing.assert_array_equal(a.stops["lon"], b.stops["lon"])
    np.testing.assert_array_equal(a.stops["lat"], b.stops["lat"])


def rich_feed() -> dict:
    """The base feed plus: a frequency trip, a trip past midnight run every day (so the
    previous day's run appears too), a station with a child stop, a no-pickup stop, and
    a transfer rule."""
    f = base_feed()
    f["stops.txt"].append(
        {
            "stop_id": "STA",
            "stop_name": "Station",
            "stop_lat": 60.001,
            "stop_lon": 25.0,
            "location_type": 1,
        }
    )
    f["stops.txt"].append(
        {
            "stop_id": "D",
            "stop_name": 'Stop D, "quoted"',
            "stop_lat": 60.001,
            "stop_lon": 25.001,
            "parent_station": "STA",
        }
    )
    f["trips.txt"] += [
        {"route_id": "R1", "service_id": "WK", "trip_id": "late"},
        {"route_id": "R2", "service_id": "WK", "trip_id": "freq"},
        {"route_id": "R2", "service_id": "WK", "trip_id": "nopick"},
    ]
    for i, s in enumerate("ABC"):
        f["stop_times.txt"].append(
            {
                "trip_id": "late",
                "arrival_time": hms(23 * 3600 + 3000 + 600 * i),
                "departure_time": hms(23 * 3600 + 3000 + 600 * i),
                "stop_id": s,
                "stop_sequence": i + 1,
            }
        )
        f["stop_times.txt"].append(
            {
                "trip_id": "freq",
                "arrival_time": hms(6 * 3600 + 120 * i),
                "departure_time": hms(6 * 3600 + 120 * i),
                "stop_id": s,
                "stop_sequence": i + 1,
            }
        )
    for i, s in enumerate("DAB"):
        f["stop_times.txt"].append(
            {
                "trip_id": "nopick",
                "arrival_time": hms(12 * 3600 + 60 * i),
                "departure_time": hms(12 * 3600 + 60 * i),
                "stop_id": s,
                "stop_sequence": 10 + i,
                "pickup_type": 1 if s == "A" else 0,
            }
        )
    f["frequencies.txt"] = [
        {"trip_id": "freq", "start_time": "06:00:00", "end_time": "07:00:00", "headway_secs": 900}
    ]
    f["transfers.txt"] = [
        {"from_stop_id": "A", "to_stop_id": "D", "transfer_type": 2, "min_transfer_time": 240},
        {"from_stop_id": "D", "to_stop_id": "A", "transfer_type": 3},
    ]
    return f


def test_round_trip_of_a_feed(tmp_path):
    source = write_feed(tmp_path / "src", rich_feed(), as_zip=True)
    tt = load_timetable(source, date=DATE, use_cache=False)
    assert {"late", "late@-1d", "freq#06:45:00", "nopick"} <= set(tt.trips["trip_id"])
    out = write_gtfs(tt, tmp_path / "out.zip", timezone="Europe/Helsinki")
    problems = audit(out, date=DATE)
    assert not (problems["severity"] == "error").any(), problems.to_string()
    back = load_timetable(out, date=DATE, use_cache=False)
    assert_same(tt, back)
    assert back.n_trips == tt.n_trips == 2 + 1 + 4 + 1 + 1  # t1 t2, late, freq x4, nopick, late@-1d
    np.testing.assert_array_equal(back.transfers["transfer_type"], tt.transfers["transfer_type"])
    np.testing.assert_array_equal(back.transfers["from_stop"], tt.transfers["from_stop"])
    # Read independently with the csv module: the previous day's run is the same trip
    # written once, in a service of both days; the headway-based entry (exact_times 0
    # by default) is its template and a frequencies.txt row, as in the source.
    raw = RawFeed(out)
    assert raw.trips_on(pd.Timestamp(DATE).date()) == 8
    rows = raw.rows("stop_times.txt")
    late = [r for r in rows if r["trip_id"] == "late"]
    assert [r["arrival_time"] for r in late] == ["23:50:00", "24:00:00", "24:10:00"]
    assert raw.rows("frequencies.txt") == [
        {"trip_id": "freq", "start_time": "06:00:00", "end_time": "07:00:00",
         "headway_secs": "900", "exact_times": "0"}
    ]  # fmt: skip
    assert [r["arrival_time"] for r in rows if r["trip_id"] == "freq"] == [
        "06:00:00", "06:02:00", "06:04:00"
    ]  # fmt: skip
    assert not any(r["trip_id"].startswith("freq#") for r in rows)
    # an exact_times=1 entry is a timetable: written as its timed trips
    f = rich_feed()
    f["frequencies.txt"][0]["exact_times"] = 1
    exact = load_timetable(write_feed(tmp_path / "x", f, as_zip=True), date=DATE, use_cache=False)
    out = write_gtfs(exact, tmp_path / "exact.zip", timezone="Europe/Helsinki")
    assert RawFeed(out).rows("frequencies.txt") == []
    assert_same(exact, load_timetable(out, date=DATE, use_cache=False))


def test_previous_day_trip_alone(tmp_path):
    """A trip past midnight that runs the day before only: written in the previous
    day's service with times past 24:00, and loaded back as ``...@-1d``."""
    f = base_feed()
    f["calendar_dates.txt"] = [{"service_id": "MON", "date": "20240108", "exception_type": 1}]
    f["trips.txt"].append({"route_id": "R1", "service_id": "MON", "trip_id": "night"})
    for i, s in enumerate("ABC"):
        f["stop_times.txt"].append(
            {
                "trip_id": "night",
                "arrival_time": hms(24 * 3600 + 600 * i),
                "departure_time": hms(24 * 3600 + 600 * i),
                "stop_id": s,
                "stop_sequence": i + 1,
            }
        )
    tt = load_timetable(write_feed(tmp_path / "n", f, as_zip=True), date=DATE, use_cache=False)
    assert "night@-1d" in set(tt.trips["trip_id"])
    out = write_gtfs(tt, tmp_path / "out.zip")
    assert not (audit(out, date=DATE)["severity"] == "error").any()
    assert_same(tt, load_timetable(out, date=DATE, use_cache=False))
    with zipfile.ZipFile(out) as z:
        text = z.read("calendar_dates.txt").decode()
    assert "previous_day,20240108,1" in text


def test_night_headway_entry_of_both_days_round_trips(tmp_path):
    """An entry every 20 min from 22:00 to 26:00, 30 min a run, on weekdays: on Tuesday
    the timetable holds the day's 12 runs and Monday's 7 that end after midnight
    (23:40-25:40). Both are written as entries (Monday's in the service previous_day,
    its template renamed, since one trip_id cannot run in two services), not as timed
    trips, and load back as the same runs, still headway-based."""
    from connectivity.routing.headways import headway_patterns

    f = base_feed()
    f["trips.txt"].append({"route_id": "R1", "service_id": "WK", "trip_id": "owl"})
    for i, stop in enumerate("ABC"):
        f["stop_times.txt"].append(
            {"trip_id": "owl", "arrival_time": hms(900 * i), "departure_time": hms(900 * i),
             "stop_id": stop, "stop_sequence": i + 1}
        )  # fmt: skip
    f["frequencies.txt"] = [
        {"trip_id": "owl", "start_time": "22:00:00", "end_time": "26:00:00",
         "headway_secs": 1200, "exact_times": 0}
    ]  # fmt: skip
    tt = load_timetable(write_feed(tmp_path / "n", f, as_zip=True), date=DATE, use_cache=False)
    owl = tt.trips[tt.trips["gtfs_trip_id"] == "owl"]
    assert len(owl) == 12 + 7 and (owl["headway_entry"] >= 0).all()
    out = write_gtfs(tt, tmp_path / "out.zip")
    assert not (audit(out, date=DATE)["severity"] == "error").any()
    with zipfile.ZipFile(out) as z:
        freq = z.read("frequencies.txt").decode().splitlines()
        trips = z.read("trips.txt").decode()
    assert sorted(freq[1:]) == [
        "owl,22:00:00,26:00:00,1200,0", "owl~previous,23:40:00,26:00:00,1200,0"
    ]  # fmt: skip
    assert trips.count("owl") == 2 and "previous_day,owl~previous" in trips  # templates only
    back = load_timetable(out, date=DATE, use_cache=False)
    runs = back.trips[back.trips["gtfs_trip_id"].astype(str).str.startswith("owl")]
    assert (runs["headway_entry"] >= 0).all() and len(runs) == len(owl)
    ours, theirs = events(tt), events(back)
    ours = ours[ours["trip_id"].str.startswith("owl")]
    theirs = theirs[theirs["trip_id"].str.startswith("owl")]
    # The same runs at the same times; Monday's carry the renamed template's id.
    key = ["stop_id", "order", "arrival", "departure"]
    pd.testing.assert_frame_equal(
        ours[key].sort_values(key).reset_index(drop=True),
        theirs[key].sort_values(key).reset_index(drop=True),
    )
    assert sorted(back.pattern_headway[headway_patterns(back)]) == sorted(
        tt.pattern_headway[headway_patterns(tt)]
    )


def test_without_a_date(tmp_path):
    tt = load_timetable(write_feed(tmp_path / "f", base_feed(), as_zip=True), date=DATE)
    tt.date = None
    with pytest.raises(ParameterError, match="no service date"):
        write_gtfs(tt, tmp_path / "x.zip")
    with pytest.raises(ParameterError, match="is not YYYY-MM-DD"):
        write_gtfs(tt, tmp_path / "x.zip", date="9 Jan")
    assert not (tmp_path / "x.zip").exists()
    write_gtfs(tt, tmp_path / "x.zip", date=DATE)
    assert_same(load_timetable(tmp_path / "x.zip", date=DATE), tt)


def test_trips_sharing_an_id_are_refused_not_merged(tmp_path):
    tt = load_timetable(write_feed(tmp_path / "f", base_feed(), as_zip=True), date=DATE)
    tt.trips.loc[tt.trips["trip_id"] == "t2", "trip_id"] = "t1"
    with pytest.raises(ParameterError, match=r"2 trips of the timetable share a trip_id.*'t1'"):
        write_gtfs(tt, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()
