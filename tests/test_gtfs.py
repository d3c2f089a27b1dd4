"""load_timetable and service_dates on small feeds the tests write (one case each)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from _gtfs_feed import base_feed, hms, write_feed
from hypothesis import given, settings
from hypothesis import strategies as st

from connectivity import GtfsError, InputFileError, NoServiceError, ParameterError
from connectivity.transit.gtfs import TransitMode, load_timetable, service_dates

MON = dt.date(2024, 1, 8)
SAT = dt.date(2024, 1, 6)


def times_of(tt, trip_id):
    """(stop ids, arrivals, departures, interpolated) of one trip, in visiting order."""
    st = tt.stop_times()
    pos = int(np.flatnonzero(tt.trips["trip_id"].to_numpy() == trip_id)[0])
    rows = st[st["trip"] == pos]
    return (
        tt.stops["stop_id"].to_numpy()[rows["stop"]].tolist(),
        rows["arrival"].tolist(),
        rows["departure"].tolist(),
        rows["interpolated"].tolist(),
    )


# -- calendars and dates -----------------------------------------------------------------


def test_weekday_and_saturday_services_follow_calendar_txt(tmp_path):
    feed = write_feed(tmp_path / "f", base_feed())
    mon = load_timetable(feed, date=MON)
    assert sorted(mon.trips["trip_id"]) == ["t1", "t2"]
    sat = load_timetable(feed, date="2024-01-06")
    assert sat.trips["trip_id"].tolist() == ["s1"]
    assert sat.date == SAT
    _, arr, dep, interp = times_of(mon, "t2")
    assert arr == [32400, 32700, 33000] and dep == [32400, 32730, 33000]
    assert interp == [False, False, False]


def test_calendar_dates_add_and_remove_and_service_dates_counts_every_day(tmp_path):
    files = base_feed()
    files["calendar_dates.txt"] = [
        {"service_id": "WK", "date": "20240108", "exception_type": 2},  # Monday off
        {"service_id": "SA", "date": "20240108", "exception_type": 1},  # runs Saturday's
        {"service_id": "WK", "date": "20240203", "exception_type": 1},  # extends range
    ]
    feed = write_feed(tmp_path / "f", files)
    assert load_timetable(feed, date=MON).trips["trip_id"].tolist() == ["s1"]
    dates = service_dates(feed)
    counts = dict(zip(dates["date"], dates["trips"], strict=True))
    assert dates["date"].iloc[0] == dt.date(2024, 1, 1)
    assert dates["date"].iloc[-1] == dt.date(2024, 2, 3)
    for day, n in counts.items():
        weekday = day.weekday() < 5 and day.month == 1
        expected = 2 * weekday + (day.weekday() == 5 and day.month == 1)
        if day == MON:
            expected = 1
        if day == dt.date(2024, 2, 3):
            expected = 2
        assert n == expected, day
    assert counts[dt.date(2024, 2, 1)] == 0  # a gap inside the range is listed with 0


DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@st.composite
def random_calendars(draw):
    """Up to three services: a calendar row each (or none), random exceptions."""
    base = dt.date(2024, 2, 20)
    calendar, exceptions = [], []
    for service in ("A", "B", "C")[: draw(st.integers(1, 3))]:
        if draw(st.booleans()):
            start = base + dt.timedelta(days=draw(st.integers(0, 20)))
            end = start + dt.timedelta(days=draw(st.integers(-2, 30)))
            row = {"service_id": service, "start_date": f"{start:%Y%m%d}",
                   "end_date": f"{end:%Y%m%d}"}  # fmt: skip
            row.update({d: int(draw(st.booleans())) for d in DAYS})
            calendar.append(row)
        for _ in range(draw(st.integers(0, 4))):
            day = base + dt.timedelta(days=draw(st.integers(-3, 55)))
            exceptions.append(
                {"service_id": service, "date": f"{day:%Y%m%d}",
                 "exception_type": draw(st.integers(1, 2))}
            )  # fmt: skip
    return calendar, exceptions


@settings(max_examples=60, deadline=None)
@given(random_calendars())
def test_service_dates_equal_a_day_by_day_brute_force(tmp_path_factory, calendars):
    calendar, exceptions = calendars
    files = base_feed()
    files["trips.txt"] = [
        {"route_id": "R1", "service_id": s, "trip_id": f"{s}{i}"}
        for s, n in (("A", 1), ("B", 2), ("C", 4))
        for i in range(n)
    ]
    files["stop_times.txt"] = [
        {"trip_id": t["trip_id"], "arrival_time": hms(3600 * k), "departure_time": hms(3600 * k),
         "stop_id": "AB"[k], "stop_sequence": k}
        for t in files["trips.txt"] for k in (0, 1)
    ]  # fmt: skip
    files["calendar.txt"] = calendar
    files["calendar_dates.txt"] = exceptions
    if not calendar:
        del files["calendar.txt"]
    if not exceptions and not calendar:
        return
    feed = write_feed(tmp_path_factory.mktemp("feed"), files)
    # brute force: every date, every service, the rules read literally
    trips_of = {"A": 1, "B": 2, "C": 4}
    expected: dict[dt.date, int] = {}
    running: set[dt.date] = set()
    for k in range(-5, 70):
        day = dt.date(2024, 2, 20) + dt.timedelta(days=k)
        n = 0
        for service in trips_of:
            runs = any(
                r["service_id"] == service
                and r["start_date"] <= f"{day:%Y%m%d}" <= r["end_date"]
                and r[DAYS[day.weekday()]] == 1
                for r in calendar
            )
            types = {e["exception_type"] for e in exceptions
                     if e["service_id"] == service and e["date"] == f"{day:%Y%m%d}"}  # fmt: skip
            if 2 in types:
                runs = False
            elif 1 in types:
                runs = True
            if runs:
                n += trips_of[service]
                running.add(day)
        expected[day] = n
    dates = service_dates(feed)
    if not running:
        assert len(dates) == 0
        return
    assert dates["date"].iloc[0] == min(running) and dates["date"].iloc[-1] == max(running)
    for day, n in zip(dates["date"], dates["trips"], strict=True):
        assert n == expected[day], day


def test_a_calendar_over_a_century_is_counted_without_expanding_it(tmp_path):
    files = base_feed()
    files["calendar.txt"][0]["start_date"] = "20000101"
    files["calendar.txt"][0]["end_date"] = "20991231"
    files["calendar_dates.txt"] = [
        {"service_id": "WK", "date": "20500103", "exception_type": 1},  # already runs
        {"service_id": "WK", "date": "20500101", "exception_type": 2},  # Saturday: no-op
        {"service_id": "WK", "date": "20500104", "exception_type": 2},
    ]
    dates = service_dates(write_feed(tmp_path / "f", files))
    counts = dict(zip(dates["date"], dates["trips"], strict=True))
    assert dates["date"].iloc[0] == dt.date(2000, 1, 3)  # the first Monday
    assert dates["date"].iloc[-1] == dt.date(2099, 12, 31)  # a Thursday
    assert counts[dt.date(2050, 1, 3)] == 2 and counts[dt.date(2050, 1, 4)] == 0
    assert counts[dt.date(2050, 1, 1)] == 0 and counts[dt.date(2024, 1, 6)] == 1
    assert sum(counts.values()) == 2 * 26089 - 2 + 4 * 1  # weekdays, one removed; 4 Saturdays


def test_feed_with_only_calendar_dates(tmp_path):
    files = base_feed()
    del files["calendar.txt"]
    files["calendar_dates.txt"] = [
        {"service_id": "WK", "date": "20240310", "exception_type": 1},
        {"service_id": "SA", "date": "20240311", "exception_type": 1},
        {"service_id": "WK", "date": "20240311", "exception_type": 1},
    ]
    feed = write_feed(tmp_path / "f", files)
    tt = load_timetable(feed)  # busiest: the 11th with 3 trips
    assert tt.date == dt.date(2024, 3, 11)
    assert tt.n_trips == 3
    assert load_timetable(feed, date="20240310").n_trips == 2


def test_busiest_date_is_the_first_of_the_most_trips(tmp_path):
    files = base_feed()
    files["calendar_dates.txt"] = [{"service_id": "SA", "date": "20240117", "exception_type": 1}]
    feed = write_feed(tmp_path / "f", files)
    tt = load_timetable(feed)
    assert tt.date == dt.date(2024, 1, 17)
    assert tt.n_trips == 3
    files["calendar_dates.txt"] = []
    feed2 = write_feed(tmp_path / "g", files)
    assert load_timetable(feed2).date == dt.date(2024, 1, 1)  # ties go to the earliest


def test_no_service_on_the_date_names_the_range_and_the_busiest_date(tmp_path):
    feed = write_feed(tmp_path / "f", base_feed())
    with pytest.raises(NoServiceError, match=r"no trip runs on 2024-01-07.*busiest 2024-01-01"):
        load_timetable(feed, date="2024-01-07")
    with pytest.raises(NoServiceError, match="no trip runs on 2023-05-01"):
        load_timetable(feed, date=dt.date(2023, 5, 1))
    with pytest.raises(ParameterError, match="cannot read the date '1/8/2024'"):
        load_timetable(feed, date="1/8/2024")


# -- times ---------------------------------------------------------------------------------


def test_times_past_midnight_and_previous_days_trips_after_midnight(tmp_path):
    files = base_feed()
    files["trips.txt"].append({"route_id": "R1", "service_id": "WK", "trip_id": "night"})
    files["trips.txt"].append({"route_id": "R1", "service_id": "WK", "trip_id": "late"})
    for i, s in enumerate("ABC"):
        files["stop_times.txt"].append(
            {
                "trip_id": "night",
                "arrival_time": hms(23 * 3600 + 55 * 60 + 300 * i),
                "departure_time": hms(23 * 3600 + 55 * 60 + 300 * i),
                "stop_id": s,
                "stop_sequence": i,
            }
        )
        files["stop_times.txt"].append(
            {
                "trip_id": "late",
                "arrival_time": f"{24 + i}:35:00",
                "departure_time": f"{24 + i}:35:00",
                "stop_id": s,
                "stop_sequence": i,
            }
        )
    feed = write_feed(tmp_path / "f", files)
    tue = load_timetable(feed, date="2024-01-09")
    _, arr, _, _ = times_of(tue, "night")
    assert arr == [86100, 86400, 86700]
    _, arr, _, _ = times_of(tue, "late")
    assert arr == [88500, 92100, 95700]
    # Monday's night and late trips still run after midnight on Tuesday
    _, arr, _, _ = times_of(tue, "night@-1d")
    assert arr == [-300, 0, 300]
    _, arr, _, _ = times_of(tue, "late@-1d")
    assert arr == [2100, 5700, 9300]
    prev = tue.trips[tue.trips["day_offset"] == -1]
    assert sorted(prev["gtfs_trip_id"]) == ["late", "night"]  # t1, t2 end before midnight
    # On Monday 1 January, the first day, nothing of Sunday runs
    assert (load_timetable(feed, date="2024-01-01").trips["day_offset"] == 0).all()
    # Saturday: Friday's trips after midnight run though Saturday's service is other
    sat = load_timetable(feed, date=SAT)
    assert sorted(sat.trips["trip_id"]) == ["late@-1d", "night@-1d", "s1"]


def test_missing_times_are_copied_then_interpolated_by_distance(tmp_path):
    files = base_feed()
    # D is 3 km from A: A(0) B(1 km) C(2 km) D(3 km)
    files["stops.txt"].append(
        {"stop_id": "D", "stop_name": "D", "stop_lat": 60.0, "stop_lon": 25.054}
    )
    st = [r for r in files["stop_times.txt"] if r["trip_id"] != "t1"]
    st += [
        {"trip_id": "t1", "arrival_time": "", "departure_time": "08:00:00", "stop_id": "A",
         "stop_sequence": 1},
        {"trip_id": "t1", "arrival_time": "", "departure_time": "", "stop_id": "B",
         "stop_sequence": 2},
        {"trip_id": "t1", "arrival_time": " ", "departure_time": "", "stop_id": "C",
         "stop_sequence": 3},
        {"trip_id": "t1", "arrival_time": "08:09:00", "departure_time": "", "stop_id": "D",
         "stop_sequence": 4},
    ]  # fmt: skip
    files["stop_times.txt"] = st
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON)
    stops, arr, dep, interp = times_of(tt, "t1")
    assert stops == ["A", "B", "C", "D"]
    assert arr == [28800, 28980, 29160, 29340] and dep == arr
    assert interp == [False, True, True, False]
    assert tt.meta["interpolated_times"] == 2


def test_interpolation_prefers_shape_dist_traveled_and_falls_back_to_even_spacing(tmp_path):
    files = base_feed()
    files["stop_times.txt"] = [
        {"trip_id": "t1", "arrival_time": "08:00:00", "departure_time": "08:00:00",
         "stop_id": "A", "stop_sequence": 1, "shape_dist_traveled": 0},
        {"trip_id": "t1", "arrival_time": "", "departure_time": "", "stop_id": "B",
         "stop_sequence": 2, "shape_dist_traveled": 0.9},
        {"trip_id": "t1", "arrival_time": "08:10:00", "departure_time": "08:10:00",
         "stop_id": "C", "stop_sequence": 3, "shape_dist_traveled": 1.0},
        # t2 visits A, A', A'' at the same place: no distance, so even spacing
        {"trip_id": "t2", "arrival_time": "09:00:00", "departure_time": "09:00:00",
         "stop_id": "A", "stop_sequence": 1},
        {"trip_id": "t2", "arrival_time": "", "departure_time": "", "stop_id": "A",
         "stop_sequence": 2},
        {"trip_id": "t2", "arrival_time": "", "departure_time": "", "stop_id": "A",
         "stop_sequence": 3},
        {"trip_id": "t2", "arrival_time": "09:06:00", "departure_time": "09:06:00",
         "stop_id": "A", "stop_sequence": 4},
    ]  # fmt: skip
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON)
    assert times_of(tt, "t1")[1] == [28800, 28800 + 540, 29400]
    assert times_of(tt, "t2")[1] == [32400, 32520, 32640, 32760]
    assert times_of(tt, "t2")[3] == [False, True, True, False]


def test_trip_without_a_time_at_its_last_stop_is_left_out(tmp_path, caplog):
    files = base_feed()
    files["stop_times.txt"][2]["arrival_time"] = ""
    files["stop_times.txt"][2]["departure_time"] = ""
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON)
    assert "lack a time at their first or last stop" in caplog.text
    assert tt.meta["dropped_trips"] == 1
    assert tt.trips["trip_id"].tolist() == ["t2"]


def test_unknown_references_and_duplicates_are_left_out_with_warnings(tmp_path, caplog):
    files = base_feed()
    files["stops.txt"].append({"stop_id": "A", "stop_name": "again", "stop_lat": 1,
                               "stop_lon": 1})  # fmt: skip
    files["routes.txt"].append({"route_id": "R1", "route_type": 4})
    files["trips.txt"] += [
        {"route_id": "R9", "service_id": "WK", "trip_id": "lost"},
        {"route_id": "R1", "service_id": "WK", "trip_id": "t1"},
        {"route_id": "R1", "service_id": "WK", "trip_id": "odd"},
    ]
    files["stop_times.txt"] += [
        {"trip_id": "lost", "arrival_time": "10:00:00", "departure_time": "10:00:00",
         "stop_id": "A", "stop_sequence": 1},
        {"trip_id": "lost", "arrival_time": "10:05:00", "departure_time": "10:05:00",
         "stop_id": "B", "stop_sequence": 2},
        {"trip_id": "odd", "arrival_time": "11:00:00", "departure_time": "11:00:00",
         "stop_id": "A", "stop_sequence": 1},
        {"trip_id": "odd", "arrival_time": "11:05:00", "departure_time": "11:05:00",
         "stop_id": "X", "stop_sequence": 2},
    ]  # fmt: skip
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON)
    assert sorted(tt.trips["trip_id"]) == ["t1", "t2"]
    assert tt.meta["dropped_trips"] == 2
    assert tt.n_stops == 3 and tt.stops.set_index("stop_id").loc["A", "stop_name"] == "Stop A"
    assert tt.routes.set_index("route_id").loc["R1", "mode"] == "bus"  # first R1 kept
    for text in ("duplicate stop_id", "duplicate route_id", "duplicate trip_id",
                 "unknown route_id", "unknown stop_id"):  # fmt: skip
        assert text in caplog.text, text


# -- frequencies ---------------------------------------------------------------------------


def test_frequencies_expand_with_end_exclusive_and_template_runs_only_expanded(tmp_path):
    files = base_feed()
    files["frequencies.txt"] = [
        {"trip_id": "t1", "start_time": "06:00:00", "end_time": "07:00:00",
         "headway_secs": 1200, "exact_times": 1},
        {"trip_id": "t1", "start_time": "07:00:00", "end_time": "07:25:00",
         "headway_secs": 600, "exact_times": 1},
    ]  # fmt: skip
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON)
    freq = tt.trips[tt.trips["frequency"]]
    expected = ["06:00:00", "06:20:00", "06:40:00", "07:00:00", "07:10:00", "07:20:00"]
    assert freq["trip_id"].tolist() == [f"t1#{t}" for t in expected]
    assert (freq["gtfs_trip_id"] == "t1").all() and (freq["exact_times"] == 1).all()
    assert freq["headway"].tolist() == [1200] * 3 + [600] * 3
    assert "t1" not in set(tt.trips["trip_id"])  # the template itself does not run
    assert tt.n_trips == 7  # six expansions and t2
    # the template's offsets (0, 300/330, 600) carried onto each start
    assert times_of(tt, "t1#07:10:00")[2] == [25800, 26130, 26400]
    assert service_dates(write_feed(tmp_path / "g", files))["trips"].max() == 7


def test_frequencies_exact_times_0_large_headways_and_after_midnight(tmp_path):
    files = base_feed()
    files["frequencies.txt"] = [
        # no exact_times column value: 0; a headway of 71,760 s yields one trip
        {"trip_id": "t1", "start_time": "05:00:00", "end_time": "24:00:00",
         "headway_secs": 71760},
        {"trip_id": "t2", "start_time": "23:00:00", "end_time": "25:00:00",
         "headway_secs": 3600, "exact_times": 0},
        {"trip_id": "s1", "start_time": "00:00:00", "end_time": "24:00:00",
         "headway_secs": 90000},
    ]  # fmt: skip
    feed = write_feed(tmp_path / "f", files)
    tue = load_timetable(feed, date="2024-01-09")
    ids = sorted(tue.trips["trip_id"])
    assert ids == ["t1#05:00:00", "t2#23:00:00", "t2#24:00:00", "t2#24:00:00@-1d"]
    assert (tue.trips.loc[tue.trips["frequency"], "exact_times"] == 0).all()
    assert times_of(tue, "t2#24:00:00@-1d")[1] == [0, 300, 600]
    assert times_of(tue, "t2#24:00:00")[1] == [86400, 86700, 87000]
    sat = load_timetable(feed, date=SAT)  # s1's headway beyond a day: one trip at 00:00
    assert "s1#00:00:00" in set(sat.trips["trip_id"])


def test_frequencies_ending_before_they_start_make_no_trip_with_a_warning(tmp_path, caplog):
    files = base_feed()
    files["frequencies.txt"] = [
        {"trip_id": "t1", "start_time": "07:00:00", "end_time": "06:00:00", "headway_secs": 600},
        {"trip_id": "t1", "start_time": "09:00:00", "end_time": "09:00:00", "headway_secs": 600},
    ]
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON, use_cache=False)
    assert tt.trips["trip_id"].tolist() == ["t2"]  # the template t1 runs only as expansions
    assert "frequencies.txt, line 2: 2 frequencies row(s) whose end_time" in caplog.text
    assert "07:00:00 to 06:00:00 of trip 't1'" in caplog.text


# -- transfers, stations, modes --------------------------------------------------------------


def test_transfers_of_every_type_become_stop_positions(tmp_path):
    files = base_feed()
    files["transfers.txt"] = [
        {"from_stop_id": "A", "to_stop_id": "B", "transfer_type": 0},
        {"from_stop_id": "B", "to_stop_id": "B", "transfer_type": 1,
         "from_trip_id": "t1", "to_trip_id": "t2"},
        {"from_stop_id": "B", "to_stop_id": "C", "transfer_type": 2, "min_transfer_time": 240,
         "from_route_id": "R1", "to_route_id": "R2"},
        {"from_stop_id": "C", "to_stop_id": "A", "transfer_type": 3},
        {"from_stop_id": "C", "to_stop_id": "nowhere", "transfer_type": 0},
    ]  # fmt: skip
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON)
    tr = tt.transfers
    ids = tt.stops["stop_id"].to_numpy()
    assert list(zip(ids[tr["from_stop"]], ids[tr["to_stop"]], strict=True)) == [
        ("A", "B"),
        ("B", "B"),
        ("B", "C"),
        ("C", "A"),
    ]  # the rule to an unknown stop is left out
    assert tr["transfer_type"].tolist() == [0, 1, 2, 3]
    assert np.array_equal(tr["min_transfer_time"], [np.nan, np.nan, 240, np.nan], equal_nan=True)
    assert tr["from_trip_id"].tolist()[1] == "t1" and tr["to_route_id"].tolist()[2] == "R2"
    files["transfers.txt"][2]["min_transfer_time"] = -60
    with pytest.raises(GtfsError, match=r"transfers\.txt, line 4, column min_transfer_time"):
        load_timetable(write_feed(tmp_path / "g", files), date=MON)


def test_stations_platforms_and_parent_positions(tmp_path):
    files = base_feed()
    files["stops.txt"] = [
        {"stop_id": "S", "stop_name": "Station", "stop_lat": 60.0, "stop_lon": 25.0,
         "location_type": 1},
        {"stop_id": "A", "stop_name": "A1", "stop_lat": 60.0, "stop_lon": 25.0,
         "location_type": 0, "parent_station": "S"},
        {"stop_id": "B", "stop_name": "B", "stop_lat": 60.0, "stop_lon": 25.018},
        {"stop_id": "C", "stop_name": "C", "stop_lat": 60.0, "stop_lon": 25.036,
         "parent_station": "S"},
        {"stop_id": "E", "stop_name": "Entrance", "stop_lat": 60.0, "stop_lon": 25.0001,
         "location_type": 2, "parent_station": "S"},
    ]  # fmt: skip
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON)
    stops = tt.stops.set_index("stop_id")
    assert stops["location_type"].to_dict() == {"S": 1, "A": 0, "B": 0, "C": 0, "E": 2}
    s = tt.stop_index("S")
    assert stops["parent"].to_dict() == {"S": -1, "A": s, "B": -1, "C": s, "E": s}
    assert stops.loc["A", "parent_station"] == "S"
    # the station serves no pattern, its platforms do
    assert tt.stop_pattern_ptr[s + 1] == tt.stop_pattern_ptr[s]
    a = tt.stop_index("A")
    assert tt.stop_pattern_ptr[a + 1] > tt.stop_pattern_ptr[a]


@pytest.mark.parametrize(
    ("route_type", "mode"),
    [
        (0, "tram"), (1, "metro"), (2, "rail"), (3, "bus"), (4, "ferry"), (5, "cable"),
        (6, "gondola"), (7, "funicular"), (11, "trolleybus"), (12, "monorail"),
        (109, "rail"), (202, "coach"), (401, "metro"), (405, "monorail"), (700, "bus"),
        (704, "bus"), (800, "trolleybus"), (900, "tram"), (907, "cable"), (1000, "ferry"),
        (1100, "air"), (1200, "ferry"), (1300, "gondola"), (1400, "funicular"),
        (1500, "taxi"), (1700, "other"), (9, "other"), (2500, "other"),
    ],
)  # fmt: skip
def test_route_types_including_extended_map_to_a_mode(tmp_path, route_type, mode):
    files = base_feed()
    files["routes.txt"][0]["route_type"] = route_type
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON)
    assert tt.routes.set_index("route_id").loc["R1", "mode"] == mode
    assert TransitMode(mode) == mode


# -- several feeds ---------------------------------------------------------------------------


def test_several_feeds_are_namespaced_by_feed_id(tmp_path):
    one = write_feed(tmp_path / "hsl", base_feed())
    two = write_feed(tmp_path / "rnv", base_feed(), as_zip=True)
    files = base_feed()
    files["transfers.txt"] = [{"from_stop_id": "A", "to_stop_id": "B", "transfer_type": 2,
                               "min_transfer_time": 60}]  # fmt: skip
    three = write_feed(tmp_path / "third", files)
    tt = load_timetable([one, two, three], date=MON)
    assert tt.n_stops == 9 and tt.n_trips == 6
    assert "rnv:A" in set(tt.stops["stop_id"]) and "hsl:C" in set(tt.stops["stop_id"])
    assert sorted(tt.trips["trip_id"])[:2] == ["hsl:t1", "hsl:t2"]
    assert set(tt.routes["route_id"]) >= {"hsl:R1", "rnv:R2", "third:R1"}
    assert set(tt.trips["route_id"]) == {"hsl:R1", "rnv:R1", "third:R1"}
    # every trip's route position points at a route of its own feed
    assert (tt.routes["feed_id"].to_numpy()[tt.trips["route"]] == tt.trips["feed_id"]).all()
    tr = tt.transfers.iloc[0]
    assert tt.stops["stop_id"].iloc[int(tr["from_stop"])] == "third:A"
    assert tt.stops["stop_id"].iloc[int(tr["to_stop"])] == "third:B"
    named = load_timetable([one, two], date=MON, feed_ids=["a", "b"])
    assert named.stop_index("b:C") == 5
    with pytest.raises(ParameterError, match="not unique"):
        load_timetable([one, one], date=MON)
    with pytest.raises(ParameterError, match="no GTFS feed given"):
        load_timetable([], date=MON)
    with pytest.raises(ParameterError, match="1 feed_ids for 2 feeds"):
        load_timetable([one, two], date=MON, feed_ids=["a"])
    single = load_timetable(one, date=MON)
    assert "A" in set(single.stops["stop_id"])  # one feed: ids as they are


# -- file formats ----------------------------------------------------------------------------


@pytest.mark.parametrize("as_zip", [False, True])
@pytest.mark.parametrize("subfolder", ["", "gtfs_2024"])
def test_zip_folder_subfolder_bom_crlf_quotes_whitespace_extra_columns(tmp_path, as_zip, subfolder):
    files = base_feed()
    files["stops.txt"][0]["stop_name"] = 'Stop "A", north'
    files["stops.txt"][0]["my_extra"] = "x"
    files["routes.txt"][0]["route_id"] = " R1 "
    files["trips.txt"][0]["trip_id"] = "t1 "
    files["stop_times.txt"][0]["arrival_time"] = " 8:00:00"
    files["frequencies.txt"] = "trip_id,start_time,end_time,headway_secs\n"  # header only
    files["transfers.txt"] = ""  # empty optional file
    feed = write_feed(
        tmp_path / "feed", files, as_zip=as_zip, subfolder=subfolder, crlf=True, bom=True
    )
    tt = load_timetable(feed, date=MON)
    assert tt.stops.set_index("stop_id").loc["A", "stop_name"] == 'Stop "A", north'
    assert tt.stops.set_index("stop_id").loc["A", "my_extra"] == "x"
    assert sorted(tt.trips["trip_id"]) == ["t1", "t2"]
    assert tt.trips.set_index("trip_id").loc["t1", "route_id"] == "R1"
    assert times_of(tt, "t1")[1] == [28800, 29100, 29400]
    assert len(tt.transfers) == 0


def test_quoted_line_breaks_inside_values(tmp_path):
    files = base_feed()
    files["stops.txt"][1]["stop_desc"] = "platform 2,\nnorth side"
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON)
    assert tt.stops.set_index("stop_id").loc["B", "stop_desc"] == "platform 2,\nnorth side"
    assert tt.n_stops == 3


def test_patterns_group_trips_and_are_fifo(tmp_path):
    files = base_feed()
    files["trips.txt"].append({"route_id": "R1", "service_id": "WK", "trip_id": "express"})
    for i, s in enumerate("ABC"):  # leaves after t1, arrives at C before it
        files["stop_times.txt"].append(
            {"trip_id": "express", "arrival_time": hms(28860 + 60 * i),
             "departure_time": hms(28860 + 60 * i), "stop_id": s, "stop_sequence": i + 1}
        )  # fmt: skip
    tt = load_timetable(write_feed(tmp_path / "f", files), date=MON)
    assert tt.n_patterns == 2
    for p in range(tt.n_patterns):
        arr, dep = tt.pattern_times(p)
        assert (np.diff(arr, axis=0) >= 0).all() and (np.diff(dep, axis=0) >= 0).all()
    by_trip = tt.trips.set_index("trip_id")["pattern"]
    assert by_trip["t1"] == by_trip["t2"] != by_trip["express"]


# -- bad input -------------------------------------------------------------------------------


def test_not_a_zip_and_missing_path(tmp_path):
    bogus = tmp_path / "feed.zip"
    bogus.write_text("not a zip")
    with pytest.raises(GtfsError, match=r"feed\.zip is not a zip file"):
        load_timetable(bogus)
    with pytest.raises(InputFileError, match="does not exist"):
        load_timetable(tmp_path / "nothing.zip")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GtfsError, match=r"lacks the required file stops\.txt"):
        load_timetable(empty)


@pytest.mark.parametrize("name", ["routes.txt", "trips.txt", "stop_times.txt"])
def test_missing_required_file(tmp_path, name):
    files = base_feed()
    del files[name]
    with pytest.raises(GtfsError, match=rf"lacks the required file {name}"):
        load_timetable(write_feed(tmp_path / "f", files, as_zip=True), date=MON)


def test_missing_both_calendars(tmp_path):
    files = base_feed()
    del files["calendar.txt"]
    with pytest.raises(GtfsError, match="neither calendar.txt nor calendar_dates.txt"):
        load_timetable(write_feed(tmp_path / "f", files))


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("stops.txt", "stop_id"),
        ("routes.txt", "route_type"),
        ("trips.txt", "service_id"),
        ("stop_times.txt", "departure_time"),
        ("calendar.txt", "start_date"),
    ],
)
def test_missing_required_column(tmp_path, name, column):
    files = base_feed()
    for row in files[name]:
        del row[column]
    with pytest.raises(
        GtfsError, match=rf"{name}, line 1: the required column\(s\) {column} are missing"
    ):
        load_timetable(write_feed(tmp_path / "f", files), date=MON)


def test_empty_file_and_header_only_required_file(tmp_path):
    files = base_feed()
    files["stops.txt"] = ""
    with pytest.raises(GtfsError, match=r"stops\.txt is empty"):
        load_timetable(write_feed(tmp_path / "f", files), date=MON)
    files = base_feed()
    files["trips.txt"] = "route_id,service_id,trip_id\r\n"
    with pytest.raises(GtfsError, match=r"trips\.txt has a header but no records"):
        load_timetable(write_feed(tmp_path / "g", files), date=MON)


def test_bad_encoding_names_the_line(tmp_path):
    files: dict = base_feed()
    text = "stop_id,stop_name,stop_lat,stop_lon\nA,Alpha,60,25\nB,M\u00fchle,60,25.018\n"
    files["stops.txt"] = text.encode("latin-1")
    with pytest.raises(GtfsError, match=r"stops\.txt, line 3: the file is not UTF-8"):
        load_timetable(write_feed(tmp_path / "f", files), date=MON)


def test_unparseable_time_names_file_line_and_column(tmp_path):
    files = base_feed()
    files["stop_times.txt"][4]["departure_time"] = "9h05"
    with pytest.raises(
        GtfsError,
        match=r"stop_times\.txt, line 6, column departure_time: cannot read the time '9h05'",
    ):
        load_timetable(write_feed(tmp_path / "f", files), date=MON)
    files["stop_times.txt"][4]["departure_time"] = "09:65:00"
    with pytest.raises(GtfsError, match=r"line 6, column departure_time.*'09:65:00'"):
        load_timetable(write_feed(tmp_path / "g", files), date=MON)


@pytest.mark.parametrize(
    ("name", "row", "column", "value", "message"),
    [
        ("calendar.txt", 0, "start_date", "2024-01-01", r"calendar\.txt, line 2, column "
         r"start_date: cannot read the date"),
        ("routes.txt", 1, "route_type", "bus", r"routes\.txt, line 3, column route_type: "
         r"not a valid integer"),
        ("stop_times.txt", 2, "stop_sequence", "x", r"line 4, column stop_sequence"),
        ("stops.txt", 1, "stop_lat", "95", r"stops\.txt, line 3.*out of range"),
        ("stops.txt", 0, "stop_id", "", r"stops\.txt, line 2, column stop_id: the value is "
         r"missing"),
        ("trips.txt", 1, "trip_id", "", r"trips\.txt, line 3, column trip_id: the value is "
         r"missing"),
    ],
)  # fmt: skip
def test_bad_values_name_file_line_and_column(tmp_path, name, row, column, value, message):
    files = base_feed()
    files[name][row][column] = value
    with pytest.raises(GtfsError, match=message):
        load_timetable(write_feed(tmp_path / "f", files), date=MON)


def test_bad_frequencies_and_ragged_rows(tmp_path):
    files = base_feed()
    files["frequencies.txt"] = [
        {"trip_id": "t1", "start_time": "06:00:00", "end_time": "07:00:00", "headway_secs": 0}
    ]
    with pytest.raises(GtfsError, match=r"frequencies\.txt, line 2, column headway_secs"):
        load_timetable(write_feed(tmp_path / "f", files), date=MON)
    files = base_feed()
    files["routes.txt"] = "route_id,route_type\nR1,3\nR2,0,extra\n"
    with pytest.raises(GtfsError, match=r"routes\.txt, line 3: a record has 3 fields"):
        load_timetable(write_feed(tmp_path / "g", files), date=MON)


def test_two_feeds_in_one_zip_is_an_error(tmp_path):
    import zipfile

    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for sub in ("a", "b"):
            zf.writestr(f"{sub}/stops.txt", "stop_id\nA\n")
    with pytest.raises(GtfsError, match="holds several feeds"):
        load_timetable(path)


# -- the Timetable cache ---------------------------------------------------------------------


def test_cache_is_keyed_by_content_and_date_and_survives_corruption(tmp_path, caplog, monkeypatch):
    from connectivity import CacheError, settings

    feed = write_feed(tmp_path / "f", base_feed())
    first = load_timetable(feed, date=MON)
    entries = list((settings.cache_folder / "timetables").glob("*.pickle"))
    assert len(entries) == 1 and "cache" not in first.meta
    again = load_timetable(feed, date=MON)
    assert again.meta["cache"] == str(entries[0])
    assert np.array_equal(again.departures, first.departures)
    assert again.trips["trip_id"].tolist() == first.trips["trip_id"].tolist()
    # another date, and changed content, are other entries
    load_timetable(feed, date="2024-01-09")
    files = base_feed()
    files["stop_times.txt"][0]["departure_time"] = "07:59:00"
    write_feed(tmp_path / "f", files)
    changed = load_timetable(feed, date=MON)
    assert "cache" not in changed.meta and times_of(changed, "t1")[2][0] == 28740
    assert len(list((settings.cache_folder / "timetables").glob("*.pickle"))) == 3
    # a corrupt entry is rebuilt with a warning; use_cache=False neither reads nor writes
    for entry in (settings.cache_folder / "timetables").glob("*.pickle"):
        entry.write_bytes(b"garbage")
    rebuilt = load_timetable(feed, date=MON)
    assert "unreadable timetable cache" in caplog.text and "cache" not in rebuilt.meta
    assert "cache" not in load_timetable(feed, date=MON, use_cache=False).meta
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    monkeypatch.setattr(settings, "cache_folder", blocked)
    with pytest.raises(CacheError, match="cannot write the timetable cache"):
        load_timetable(feed, date=MON)


@pytest.mark.parametrize("use_cache", [True, False])
def test_each_feed_is_hashed_once_per_load(tmp_path, monkeypatch, use_cache):
    import hashlib

    import connectivity.transit.gtfs as gtfs

    feed = write_feed(tmp_path / "f", base_feed(), as_zip=True)
    calls = []
    real = gtfs.file_digest
    monkeypatch.setattr(gtfs, "file_digest", lambda p: calls.append(p) or real(p))
    tt = load_timetable(feed, date=MON, use_cache=use_cache)
    assert calls == [feed]
    assert tt.meta["digests"] == [hashlib.sha256(feed.read_bytes()).hexdigest()]
