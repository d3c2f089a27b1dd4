"""audit() and the gtfs-audit / gtfs-dates commands, on feeds with planted problems."""

from __future__ import annotations

import datetime as dt

import pytest
from _gtfs_feed import base_feed, hms, write_feed
from conftest import shared_data

from connectivity import GtfsError, cli
from connectivity.transit.audit import audit
from connectivity.transit.gtfs import load_timetable

MON = dt.date(2024, 1, 8)


def problems_of(frame):
    return {
        (r.severity, r.code): r.count
        for r in frame.itertuples(index=False)
        if not str(r.file).endswith("calendar_dates.txt")
    }


def test_clean_feed_has_no_problems_and_a_summary(tmp_path):
    frame = audit(write_feed(tmp_path / "f", base_feed()), date=MON)
    assert len(frame) == 0
    s = frame.attrs["summary"]
    assert s["usable"] is True
    assert s["first_date"] == dt.date(2024, 1, 1) and s["last_date"] == dt.date(2024, 1, 31)
    assert s["busiest_date"] == dt.date(2024, 1, 1) and s["busiest_trips"] == 2
    assert (s["trips"], s["routes"], s["stops"]) == (2, 1, 3)
    assert s["by_mode"] == {"bus": {"trips": 2, "routes": 1, "stops": 3}}
    sat = audit(write_feed(tmp_path / "g", base_feed()), date="2024-01-06")
    assert sat.attrs["summary"]["by_mode"] == {"tram": {"trips": 1, "routes": 1, "stops": 3}}


def test_planted_problems_are_each_found_and_counted(tmp_path):
    files = base_feed()
    stops = files["stops.txt"]
    stops.append({"stop_id": "A", "stop_name": "dup", "stop_lat": 60.0, "stop_lon": 25.0})
    stops.append({"stop_id": "Z", "stop_name": "zero", "stop_lat": 0, "stop_lon": 0})
    stops.append({"stop_id": "F", "stop_name": "far", "stop_lat": 61.0, "stop_lon": 25.0})
    stops.append({"stop_id": "U", "stop_name": "unused", "stop_lat": 60.0, "stop_lon": 25.01})
    stops.append(
        {"stop_id": "S", "stop_name": "station", "stop_lat": 60.0, "stop_lon": 25.0,
         "location_type": 1, "parent_station": "nowhere"}
    )  # fmt: skip
    files["trips.txt"] += [
        {"route_id": "R9", "service_id": "WK", "trip_id": "t3"},  # unknown route
        {"route_id": "R1", "service_id": "XX", "trip_id": "t4"},  # unknown service
        {"route_id": "R1", "service_id": "WK", "trip_id": "t1"},  # duplicate id
        {"route_id": "R1", "service_id": "WK", "trip_id": "t5"},  # no stop_times
    ]
    st = files["stop_times.txt"]
    st[1]["arrival_time"] = "08:04:00"  # t1: A 08:00, B 08:04 - 08:05:30, C 08:10: fine
    st[4]["arrival_time"] = "08:59:00"  # t2: B arrives before A departs (09:00)
    st[4]["departure_time"] = "09:00:00"  # zero hop A -> B
    st[5]["arrival_time"] = "9:10"  # unparseable
    st += [
        {"trip_id": "t6", "arrival_time": "10:00:00", "departure_time": "10:00:00",
         "stop_id": "A", "stop_sequence": 1},
        {"trip_id": "t6", "arrival_time": "10:00:20", "departure_time": "10:00:20",
         "stop_id": "C", "stop_sequence": 2},  # 2 km in 20 s = 360 km/h by bus
        {"trip_id": "t6", "arrival_time": "", "departure_time": "",
         "stop_id": "B", "stop_sequence": 4},  # untimed last stop
        {"trip_id": "t6", "arrival_time": "10:30:00", "departure_time": "10:30:00",
         "stop_id": "Q", "stop_sequence": 2},  # unknown stop, repeated sequence
        {"trip_id": "ghost", "arrival_time": "10:00:00", "departure_time": "10:00:00",
         "stop_id": "S", "stop_sequence": 1},  # unknown trip, at a station
    ]  # fmt: skip
    files["trips.txt"].append({"route_id": "R1", "service_id": "WK", "trip_id": "t6"})
    files["frequencies.txt"] = [
        {"trip_id": "nope", "start_time": "06:00:00", "end_time": "07:00:00",
         "headway_secs": 600}
    ]  # fmt: skip
    files["transfers.txt"] = [{"from_stop_id": "A", "to_stop_id": "Y", "transfer_type": 0}]
    # forty more stops near A, B, C served by one slow trip, so the extent is robust
    files["trips.txt"].append({"route_id": "R1", "service_id": "WK", "trip_id": "t7"})
    for i in range(40):
        stops.append(
            {"stop_id": f"n{i}", "stop_name": "near", "stop_lat": 60.0 + 0.001 * (i % 5),
             "stop_lon": 25.0 + 0.001 * i}
        )  # fmt: skip
        st.append(
            {"trip_id": "t7", "arrival_time": hms(43200 + 60 * i),
             "departure_time": hms(43200 + 60 * i), "stop_id": f"n{i}", "stop_sequence": i}
        )  # fmt: skip
    frame = audit(write_feed(tmp_path / "f", files), date=MON)
    found = problems_of(frame)
    expected = {
        ("error", "duplicate_id"): None,  # counted per file below
        ("error", "stop_at_zero"): 1,
        ("warning", "stop_far_away"): 1,
        ("warning", "unknown_parent_station"): 1,
        ("error", "unknown_route"): 1,
        ("warning", "unknown_service"): 1,
        ("error", "unknown_trip"): None,
        ("error", "unknown_stop"): 1,
        ("warning", "unknown_stop"): 1,
        ("error", "stop_time_at_station"): 1,
        ("warning", "stop_without_service"): 3,  # U, F, Z (A is served; S is a station)
        ("error", "unparseable_time"): 1,
        ("error", "stop_times_out_of_order"): 1,
        ("error", "missing_end_time"): 1,
        ("warning", "trip_without_stop_times"): 3,  # t3, t4, t5
        ("error", "time_goes_back"): 1,
        ("warning", "implausible_speed"): 1,
    }
    for key, count in expected.items():
        assert key in found, key
        if count is not None:
            assert found[key] == count, key
    by_file = {
        (r.code, str(r.file).rsplit(": ", 1)[-1]): r.count for r in frame.itertuples(index=False)
    }
    assert by_file[("duplicate_id", "stops.txt")] == 1
    assert by_file[("duplicate_id", "trips.txt")] == 1
    assert by_file[("unknown_trip", "stop_times.txt")] == 1
    assert by_file[("unknown_trip", "frequencies.txt")] == 1
    speed = frame.set_index("code").loc["implausible_speed"]
    assert "360 km/h by bus" in speed["example"] and "line 12" in speed["example"]
    assert frame["severity"].tolist() == sorted(
        frame["severity"], key=["error", "warning", "info"].index
    )
    assert frame.attrs["summary"]["usable"] is False


def test_interpolated_times_are_info_and_zero_hops_a_warning(tmp_path):
    files = base_feed()
    files["stop_times.txt"][1]["arrival_time"] = ""
    files["stop_times.txt"][1]["departure_time"] = ""
    files["stop_times.txt"][4]["arrival_time"] = "09:00:00"
    files["stop_times.txt"][4]["departure_time"] = "09:00:00"
    frame = audit(write_feed(tmp_path / "f", files), date=MON)
    assert problems_of(frame) == {("info", "interpolated_time"): 1, ("warning", "zero_hop_time"): 1}
    assert frame.attrs["summary"]["usable"] is True


def test_frequencies_that_make_no_trip_are_a_warning(tmp_path):
    files = base_feed()
    files["frequencies.txt"] = [
        {"trip_id": "t1", "start_time": "06:00:00", "end_time": "07:00:00", "headway_secs": 600},
        {"trip_id": "t2", "start_time": "10:00:00", "end_time": "09:00:00", "headway_secs": 600},
    ]
    frame = audit(write_feed(tmp_path / "f", files), date=MON)
    assert problems_of(frame) == {("warning", "empty_frequency"): 1}
    row = frame.set_index("code").loc["empty_frequency"]
    assert row["example"] == "trip_id 't2' (line 3)"
    assert frame.attrs["summary"]["trips"] == 6  # t1 expanded to six, t2 none


def test_fractional_sequences_and_served_stops_without_coordinates_are_errors(tmp_path):
    """Both would stop load_timetable (a GtfsError) or routing (a stop with no place to
    walk to), so the audit must not call such a feed usable."""
    files = base_feed()
    files["stop_times.txt"][1]["stop_sequence"] = "1.5"
    files["stops.txt"][2]["stop_lat"] = ""
    files["stops.txt"].append({"stop_id": "U", "stop_name": "unserved", "stop_lon": 25.0})
    feed = write_feed(tmp_path / "f", files)
    frame = audit(feed, date=MON)
    found = problems_of(frame)
    assert found[("error", "unparseable_value")] == 1
    assert found[("error", "stop_without_coordinates")] == 1  # C; U serves no trip
    row = frame.set_index("code").loc["stop_without_coordinates"]
    assert row["example"] == "stop 'C' (line 4)"
    assert frame.set_index("code").loc["unparseable_value", "example"] == (
        "stop_sequence '1.5' (line 3)"
    )
    assert frame.attrs["summary"]["usable"] is False
    with pytest.raises(GtfsError, match=r"line 3, column stop_sequence: not a valid integer"):
        load_timetable(feed, date=MON, use_cache=False)


def test_several_feeds_sum_their_summaries(tmp_path):
    one = write_feed(tmp_path / "one", base_feed())
    files = base_feed()
    files["routes.txt"][0]["route_type"] = 109  # rail, extended type
    two = write_feed(tmp_path / "two", files, as_zip=True)
    s = audit([one, two], date=MON).attrs["summary"]
    assert (s["trips"], s["routes"], s["stops"]) == (4, 2, 6)
    assert s["by_mode"] == {
        "bus": {"trips": 2, "routes": 1, "stops": 3},
        "rail": {"trips": 2, "routes": 1, "stops": 3},
    }


def test_speeds_allow_a_minute_of_rounding_only_for_whole_minutes(tmp_path):
    files = base_feed()
    files["stops.txt"].append(
        {"stop_id": "D", "stop_name": "D", "stop_lat": 60.0, "stop_lon": 25.054}
    )  # D is 3 km east of A
    files["trips.txt"] += [
        {"route_id": "R1", "service_id": "WK", "trip_id": "rounded"},
        {"route_id": "R1", "service_id": "WK", "trip_id": "exact"},
    ]
    for trip, times in (("rounded", ("12:00:00", "12:01:00")), ("exact", ("13:00:00", "13:01:01"))):
        for k, (stop, t) in enumerate(zip("AD", times, strict=True)):
            files["stop_times.txt"].append(
                {"trip_id": trip, "arrival_time": t, "departure_time": t, "stop_id": stop,
                 "stop_sequence": k}
            )  # fmt: skip
    frame = audit(write_feed(tmp_path / "f", files), date=MON)
    # 3 km in a rounded minute: 180 km/h, but 90 km/h over two minutes; in 61 s: 177 km/h
    assert problems_of(frame) == {("warning", "implausible_speed"): 1}
    assert "trip 'exact'" in frame["example"].iloc[0]
    assert "177 km/h by bus" in frame["example"].iloc[0]


def test_no_service_on_the_date_is_an_error(tmp_path):
    frame = audit(write_feed(tmp_path / "f", base_feed()), date="2024-01-07")
    row = frame.iloc[0]
    assert (row["severity"], row["code"]) == ("error", "no_service")
    assert "busiest 2024-01-01" in row["message"]
    assert frame.attrs["summary"]["trips"] == 0


def test_cli_audit_exit_status_and_report(tmp_path, capsys):
    feed = write_feed(tmp_path / "f", base_feed())
    assert cli.main(["gtfs-audit", str(feed), "--date", "2024-01-08"]) == 0
    out = capsys.readouterr().out
    assert "busiest date:  2024-01-01 (2 trips)" in out
    assert "bus" in out and "Usable for routing." in out
    out_csv = tmp_path / "problems.csv"
    assert cli.main(["gtfs-audit", str(feed), "--date", "2024-01-07", "--csv", str(out_csv)]) == 2
    out = capsys.readouterr().out
    assert "ERROR   no_service x1" in out and "NOT usable" in out
    assert "no_service" in out_csv.read_text()


def test_cli_errors_are_one_line_with_exit_2(tmp_path, capsys):
    bogus = tmp_path / "feed.zip"
    bogus.write_bytes(b"PK not really")
    assert cli.main(["gtfs-audit", str(bogus)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("connectivity gtfs-audit: error:") and "is not a zip file" in err
    assert err.count("\n") == 1
    files = base_feed()
    del files["trips.txt"]
    feed = write_feed(tmp_path / "f", files)
    assert cli.main(["gtfs-dates", str(feed)]) == 2
    assert "lacks the required file trips.txt" in capsys.readouterr().err
    with pytest.raises(GtfsError, match="lacks the required file trips.txt"):
        audit(feed)


def test_cli_dates_lists_trip_counts_and_the_busiest(tmp_path, capsys):
    files = base_feed()
    files["calendar_dates.txt"] = [{"service_id": "SA", "date": "20240110", "exception_type": 1}]
    feed = write_feed(tmp_path / "f", files)
    assert cli.main(["gtfs-dates", str(feed)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["date", "weekday", "trips"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["2024-01-10"] == ["Wednesday", "3", "busiest"]
    assert rows["2024-01-06"] == ["Saturday", "1"]
    assert "2024-01-07" not in rows  # Sunday: no service, listed only with --all
    assert cli.main(["gtfs-dates", str(feed), "--all"]) == 0
    assert "2024-01-07  Sunday            0" in capsys.readouterr().out


@pytest.mark.integration
@pytest.mark.parametrize(
    "relative",
    [
        "helsinki/hsl_gtfs.zip",
        "rhein-neckar/rnv_gtfs.zip",
        "sao-paulo/spo_gtfs.zip",
        "bay-area/bart_gtfs.zip",
    ],
)
def test_real_feeds_are_usable_and_summaries_match_the_timetable(relative):
    from connectivity.transit.gtfs import load_timetable

    path = shared_data(relative)
    frame = audit(path)
    s = frame.attrs["summary"]
    assert s["usable"] is True, frame
    tt = load_timetable(path, date=s["date"])
    day = tt.trips[tt.trips["day_offset"] == 0]
    assert s["trips"] == len(day)
    assert s["routes"] == day["route"].nunique()
    modes = tt.routes["mode"].to_numpy()[day["route"]]
    for mode, counts in s["by_mode"].items():
        assert counts["trips"] == int((modes == mode).sum()), mode
