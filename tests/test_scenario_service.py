"""The service a variant adds (vehicle-hours, peak vehicles), against hand counts."""

from __future__ import annotations

import math

import pytest
from test_scenario import EIGHT, built, feed_files, lonlat, street_line, timed

from connectivity.network.intermodal import build_network
from connectivity.scenarios.apply import apply_scenario
from connectivity.scenarios.modifications import AddLine, ChangeFrequency, RemoveRoutes
from connectivity.scenarios.service import service_change, touched_routes


@pytest.mark.parametrize(("headway", "run"), [(600, 700), (600, 1200), (300, 1000)])
def test_a_new_line_adds_its_trips_hours_and_vehicles(headway, run):
    """Departures 06:00 .. 07:00 (half-open) every ``headway`` in both directions, each
    trip ``run`` seconds: 2 * 3600 / headway trips, as many times run seconds, and
    2 * ceil(run / headway) trips in service at the peak (cycle time over headway)."""
    streets = street_line()
    base = build_network(streets, None, use_cache=False, walk_speed=3.6)
    line = AddLine(
        "N",
        stops=[lonlat(streets, 0), lonlat(streets, 40)],
        run_times=[run],
        dwell=0,
        headway=headway,
        span=("06:00", "07:00"),
    )
    net = apply_scenario(base, line)
    got = service_change(base.timetable, net.timetable, touched_routes([line]))
    trips = 2 * 3600 // headway
    assert got["added_trips"] == trips
    assert got["added_vehicle_hours"] == pytest.approx(trips * run / 3600)
    assert got["peak_vehicles"] == 2 * math.ceil(run / headway)


def test_changes_count_the_difference_on_the_touched_routes(tmp_path):
    streets = street_line()
    trips = [("R", f"r{k}", timed(["A", "B"], EIGHT + 1200 * k, [900])) for k in range(3)]
    trips += [("Q", "q0", timed(["A", "B"], EIGHT, [300]))]
    base = built(tmp_path, streets, feed_files(streets, {"A": 0, "B": 30}, trips), "f")
    # R every 20 min (3 trips, 15 min each: 1 at a time) -> every 5 min from 08:00 to 08:40.
    change = ChangeFrequency(["R"], headway=300)
    net = apply_scenario(base, change)
    got = service_change(base.timetable, net.timetable, touched_routes([change]))
    assert got["added_trips"] == 9 - 3
    assert got["added_vehicle_hours"] == pytest.approx(6 * 900 / 3600)
    assert got["peak_vehicles"] == 3 - 1  # 900 / 300 trips in service at once
    removed = apply_scenario(base, RemoveRoutes(["Q"]))
    got = service_change(base.timetable, removed.timetable, ["Q"])
    assert (got["added_trips"], got["peak_vehicles"]) == (-1, -1)
    assert got["added_vehicle_hours"] == pytest.approx(-300 / 3600)
    assert touched_routes([change, RemoveRoutes("Q"), change]) == ["R", "Q"]
