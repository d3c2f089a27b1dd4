"""Reroute (issue 23): an existing route skips stops and runs on past a terminus. The
scenario's timetable equals the same edit made by hand to the feed's CSV rows."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from _gtfs_feed import hms, write_feed
from test_gtfs_write import assert_same

from connectivity import ScenarioError, load_timetable
from connectivity.network.intermodal import build_network
from connectivity.scenarios.apply import apply_scenario, line_geometries
from connectivity.scenarios.modifications import Reroute

DATE = "2024-01-09"
#: Route R runs A - B - C - D along central Helsinki; Q serves F, past D.
STOPS = {"A": (24.9360, 60.1690), "B": (24.9400, 60.1700), "C": (24.9430, 60.1710),
         "D": (24.9465, 60.1745), "F": (24.9520, 60.1780)}  # fmt: skip
E = (24.9500, 60.1760)  # the new stop between D and F
DWELL = 30  # at R's intermediate stops


def feed_rows() -> dict[str, list[dict]]:
    """R: A->D at 08:00 and 08:10, D->A at 08:05, a short turn A->C at 09:00 (2 min a
    hop, 30 s at each intermediate stop; the last stop no pickup, the first no drop-off);
    Q: F->D at 08:20."""
    rows = {
        "agency.txt": [{"agency_id": "a", "agency_name": "A", "agency_url": "http://a",
                        "agency_timezone": "Europe/Helsinki"}],
        "stops.txt": [{"stop_id": s, "stop_name": f"Stop {s}", "stop_lat": lat,
                       "stop_lon": lon} for s, (lon, lat) in STOPS.items()],
        "routes.txt": [{"route_id": "R", "agency_id": "a", "route_short_name": "R",
                        "route_type": 3},
                       {"route_id": "Q", "agency_id": "a", "route_short_name": "Q",
                        "route_type": 3}],
        "calendar.txt": [{"service_id": "D", "monday": 1, "tuesday": 1, "wednesday": 1,
                          "thursday": 1, "friday": 1, "saturday": 1, "sunday": 1,
                          "start_date": "20240101", "end_date": "20241231"}],
        "trips.txt": [],
        "stop_times.txt": [],
    }  # fmt: skip
    runs = [("R", "r1", 8 * 3600, "ABCD"), ("R", "r2", 8 * 3600 + 600, "ABCD"),
            ("R", "r3", 8 * 3600 + 300, "DCBA"), ("R", "r4", 9 * 3600, "ABC"),
            ("Q", "q1", 8 * 3600 + 1200, "FD")]  # fmt: skip
    for route, trip, t, seq in runs:
        rows["trips.txt"].append({"route_id": route, "service_id": "D", "trip_id": trip})
        for i, s in enumerate(seq):
            arr = t + i * (120 + DWELL)
            dep = arr + (DWELL if 0 < i < len(seq) - 1 else 0)
            rows["stop_times.txt"].append(
                {"trip_id": trip, "arrival_time": hms(arr), "departure_time": hms(dep),
                 "stop_id": s, "stop_sequence": i + 1,
                 "pickup_type": 1 if i == len(seq) - 1 else 0,
                 "drop_off_type": 1 if i == 0 else 0}
            )  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    from connectivity import demo_pbf, load_streets

    folder = tmp_path_factory.mktemp("reroute")
    walk = load_streets(demo_pbf(), mode="walk")
    tt = load_timetable(write_feed(folder / "feed", feed_rows()), date=DATE, use_cache=False)
    return build_network(walk, tt), folder


def _secs(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return 3600 * h + 60 * m + s


def test_skip_and_extend_equal_the_same_edit_by_hand(network):
    net, folder = network
    mod = Reroute("R", skip=["B"], terminus="D", extend=[E, "F"], run_times=[120, 90],
                  dwell=40, follow_streets=False)  # fmt: skip
    scen = apply_scenario(net, mod)

    # The hand edit of the CSV rows: B goes (each later time 30 s earlier, the dwell
    # saved); trips ending at D run on to the new stop and to F (40 s at D and at the
    # new stop, 120 s and 90 s runs); the trip starting at D starts at F, 290 s earlier;
    # D is then an intermediate stop (pickup and drop-off). The short turn is untouched
    # but for B.
    rows = copy.deepcopy(feed_rows())
    new_id, new_name = "R-extension:2", "R extension 2"
    rows["stops.txt"].append({"stop_id": new_id, "stop_name": new_name,
                              "stop_lat": E[1], "stop_lon": E[0]})  # fmt: skip
    edited = []
    by_trip: dict[str, list[dict]] = {}
    for r in rows["stop_times.txt"]:
        by_trip.setdefault(r["trip_id"], []).append(dict(r))
    for trip, evs in by_trip.items():
        if trip.startswith("r"):
            saved = 0
            kept = []
            for r in evs:
                if r["stop_id"] == "B":
                    saved += _secs(r["departure_time"]) - _secs(r["arrival_time"])
                    continue
                r["arrival_time"] = hms(_secs(r["arrival_time"]) - saved)
                r["departure_time"] = hms(_secs(r["departure_time"]) - saved)
                kept.append(r)
            evs = kept
            if evs[-1]["stop_id"] == "D":
                d_arr = _secs(evs[-1]["arrival_time"])
                evs[-1]["departure_time"] = hms(d_arr + 40)
                evs[-1]["pickup_type"] = 0
                e_arr = d_arr + 40 + 120
                evs.append({"trip_id": trip, "arrival_time": hms(e_arr),
                            "departure_time": hms(e_arr + 40), "stop_id": new_id,
                            "pickup_type": 0, "drop_off_type": 0})  # fmt: skip
                evs.append({"trip_id": trip, "arrival_time": hms(e_arr + 40 + 90),
                            "departure_time": hms(e_arr + 40 + 90), "stop_id": "F",
                            "pickup_type": 0, "drop_off_type": 0})  # fmt: skip
            elif evs[0]["stop_id"] == "D":
                d_dep = _secs(evs[0]["departure_time"])
                evs[0]["arrival_time"] = hms(d_dep - 40)
                evs[0]["drop_off_type"] = 0
                f_dep = d_dep - 40 - 120 - 40 - 90
                evs = [
                    {"trip_id": trip, "arrival_time": hms(f_dep), "departure_time": hms(f_dep),
                     "stop_id": "F", "pickup_type": 0, "drop_off_type": 0},
                    {"trip_id": trip, "arrival_time": hms(f_dep + 90),
                     "departure_time": hms(f_dep + 130), "stop_id": new_id,
                     "pickup_type": 0, "drop_off_type": 0},
                    *evs,
                ]  # fmt: skip
        for k, r in enumerate(evs):
            r["stop_sequence"] = k + 1
        edited += evs
    rows["stop_times.txt"] = edited
    by_hand = load_timetable(write_feed(folder / "hand", rows), date=DATE, use_cache=False)
    assert_same(scen.timetable, by_hand)

    # The extension is a changed line of its own: from D through the new stop to F.
    lines = line_geometries(scen)
    assert list(lines["name"]) == ["R extension"] and list(lines["kind"]) == ["extension"]
    assert lines["stops"].iloc[0] == 3 and scen.meta["new_stops"] == [len(net.timetable.stops)]
    # A trip ending at D now reaches F, where Q stops too: the same stop, no walk.
    f = scen.timetable.stop_index("F")
    assert f == net.timetable.stop_index("F")


def test_speed_times_the_extension_from_its_length(network):
    """Without run times, the extension runs at ``speed`` over the straight lines from
    the terminus (follow_streets false): D -> F in (|DE| + |EF|) / speed, plus the dwell
    at D and at the new stop, each run rounded as a new line's are."""
    from pyproj import Transformer

    net, _ = network
    scen = apply_scenario(
        net, Reroute("R", terminus="D", extend=[E, "F"], speed=18, dwell=0, follow_streets=False)
    )
    crs = net.streets.crs
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
        [STOPS["D"][0], E[0], STOPS["F"][0]], [STOPS["D"][1], E[1], STOPS["F"][1]]
    )
    legs = np.hypot(np.diff(x), np.diff(y)) / (18 / 3.6)
    st = scen.timetable.stop_times()
    trips = scen.timetable.trips["trip_id"].to_numpy()[st["trip"].to_numpy()]
    r1 = st[trips == "r1"]
    ids = scen.timetable.stops["stop_id"].to_numpy()[r1["stop"].to_numpy()]
    assert list(ids) == ["A", "B", "C", "D", "R-extension:2", "F"]
    arr = dict(zip(ids, r1["arrival"].to_numpy(), strict=True))
    assert arr["F"] - arr["D"] == round(legs.sum())


@pytest.mark.parametrize(
    ("mod", "message"),
    [
        (Reroute("X"), r"unknown route id\(s\) 'X'"),
        (Reroute("R"), r"give skip \(stop ids\), or terminus and extend"),
        (Reroute("R", extend=[E]), r"extend needs terminus"),
        (Reroute("R", terminus="D"), r"terminus goes with extend"),
        (Reroute("R", skip=["F"]), r"the route does not stop at 'F'"),
        (Reroute("R", skip=["A", "B", "C"]), r"leaves trip 'r\d' fewer than 2 stops"),
        (Reroute("R", terminus="B", extend=[E]), r"no trip of the route starts or ends at 'B'"),
        (Reroute("R", terminus="D", extend=[E], run_times=[60, 60]), r"2 run times for 2 stops"),
    ],
)
def test_bad_reroutes_say_what_to_change(network, mod, message):
    net, _ = network
    with pytest.raises(ScenarioError, match=message):
        apply_scenario(net, mod)


def test_the_scenario_file_reads_reroute(tmp_path):
    from connectivity.scenarios.file import read_scenario

    path = tmp_path / "s.toml"
    path.write_text(
        '[baseline]\nosm = "x.osm.pbf"\ndate = 2024-01-09\n[study]\ncore = [60.17, 24.94]\n'
        '[[modifications]]\ntype = "reroute"\nroute_id = "R"\nskip = ["B"]\n'
        'terminus = "D"\nextend = [[24.95, 60.176], "F"]\nrun_times_min = [2, 1.5]\n'
        "dwell_min = 0.5\n",
        encoding="utf-8",
    )
    (tmp_path / "x.osm.pbf").write_bytes(b"")
    spec = read_scenario(path)
    (mod,) = spec.variants["scenario"]  # no variants: one, named scenario
    assert mod == Reroute("R", skip=["B"], terminus="D", extend=[(24.95, 60.176), "F"],
                          run_times=[120.0, 90.0], dwell=30.0)  # fmt: skip
    path.write_text(path.read_text().replace("terminus", "terminal"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"terminal.*did you mean 'terminus'"):
        read_scenario(path)


def test_an_extension_moves_a_headway_entry_and_writes_it_back(network, tmp_path):
    """Trips of a headway entry that start at the terminus start earlier: the entry's
    span starts earlier too, so write_gtfs writes the same runs (it wrote one more: the
    span had grown by the extension's time). Two extensions of one route (both ends)
    get stops of their own."""
    from connectivity.scenarios.modifications import ChangeFrequency
    from connectivity.transit.write import write_gtfs

    net, _ = network
    mods = [
        ChangeFrequency(["R"], headways={"07:00-09:00": 600}),
        Reroute("R", terminus="D", extend=[E], run_times=[280], dwell=20, follow_streets=False),
        Reroute("R", terminus="A", extend=[(24.9330, 60.1680)], run_times=[120],
                follow_streets=False),
    ]  # fmt: skip
    scen = apply_scenario(net, mods)
    tt = scen.timetable
    runs = tt.trips[tt.trips["route_id"].astype(str) == "R"]
    assert len(runs) == 3 * 12 and (runs["headway_entry"] >= 0).all()  # 3 patterns
    back = load_timetable(write_gtfs(tt, tmp_path / "r.zip"), date=DATE, use_cache=False)
    assert (back.trips["route_id"].astype(str) == "R").sum() == len(runs)
    lines = line_geometries(scen)
    assert list(lines["name"]) == ["R extension", "R extension 2"]
    ids = set(tt.stops["stop_id"])
    assert {"R-extension:2", "R-extension-2:2"} <= ids


def test_an_extension_before_midnight_is_refused(tmp_path):
    """A trip leaving the terminus at 00:02 cannot start 5 minutes earlier on its day."""
    from connectivity import demo_pbf, load_streets

    rows = feed_rows()
    rows["trips.txt"].append({"route_id": "R", "service_id": "D", "trip_id": "night"})
    for i, s in enumerate("DC"):
        t = 120 + i * 120
        rows["stop_times.txt"].append({"trip_id": "night", "arrival_time": hms(t),
                                       "departure_time": hms(t), "stop_id": s,
                                       "stop_sequence": i + 1})  # fmt: skip
    tt = load_timetable(write_feed(tmp_path / "f", rows), date=DATE, use_cache=False)
    net = build_network(load_streets(demo_pbf(), mode="walk"), tt)
    mod = Reroute("R", terminus="D", extend=[E], run_times=[280], dwell=20, follow_streets=False)
    with pytest.raises(ScenarioError, match=r"trip 'night' would leave the new far end before"):
        apply_scenario(net, mod)


def test_a_mode_without_its_own_network_takes_the_default():
    """{"tram": None} (an extract without tracks) is the default network, not the walk."""
    from connectivity.scenarios.apply import _Context

    class Net:
        streets = "walk"
        params = {"max_link_distance": 300}

    ctx = _Context(Net(), {"tram": None, "default": "drive"})  # type: ignore[arg-type]
    assert ctx.streets_for("tram") == "drive" and ctx.streets_for("bus") == "drive"
    assert _Context(Net(), {"tram": "tracks"}).streets_for("bus") == "walk"  # type: ignore[arg-type]
