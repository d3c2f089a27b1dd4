"""Timetable.from_frames: patterns, FIFO splitting, the stop -> pattern index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connectivity import GtfsError, Timetable


def frames(trips_times: dict[str, list[tuple[str, int]]], route_of=None):
    stop_ids = sorted({s for times in trips_times.values() for s, _ in times})
    stops = pd.DataFrame({"stop_id": stop_ids, "stop_name": stop_ids, "lon": 0.0, "lat": 0.0})
    routes = pd.DataFrame({"route_id": ["r0", "r1"], "route_type": [3, 0]})
    trip_ids = list(trips_times)
    trips = pd.DataFrame(
        {"trip_id": trip_ids, "route": [(route_of or {}).get(t, 0) for t in trip_ids]}
    )
    rows = [
        (i, seq, stop_ids.index(s), t, t)
        for i, times in enumerate(trips_times.values())
        for seq, (s, t) in enumerate(times)
    ]
    st = pd.DataFrame(rows, columns=["trip", "stop_sequence", "stop", "arrival", "departure"])
    return stops, routes, trips, st


def test_same_sequence_trips_share_a_pattern_sorted_by_departure():
    tt = Timetable.from_frames(
        *frames({"late": [("a", 200), ("b", 300)], "early": [("a", 100), ("b", 150)]})
    )
    assert tt.n_patterns == 1
    arr, dep = tt.pattern_times(0)
    assert dep[:, 0].tolist() == [100, 200]
    assert tt.trips.loc[tt.pattern_trips[:2], "trip_id"].tolist() == ["early", "late"]


def test_overtaking_trip_is_split_into_its_own_pattern():
    tt = Timetable.from_frames(
        *frames(
            {
                "slow": [("a", 100), ("b", 200), ("c", 300)],
                "express": [("a", 150), ("b", 180), ("c", 250)],
                "next": [("a", 400), ("b", 500), ("c", 600)],
            }
        )
    )
    assert tt.n_patterns == 2
    for p in range(tt.n_patterns):
        arr, dep = tt.pattern_times(p)
        assert np.all(np.diff(arr, axis=0) >= 0) and np.all(np.diff(dep, axis=0) >= 0)
    sizes = sorted(np.diff(tt.pattern_trip_ptr).tolist())
    assert sizes == [1, 2]


def test_routes_and_stop_sequences_make_distinct_patterns_and_index_stops():
    tt = Timetable.from_frames(
        *frames(
            {
                "t1": [("a", 0), ("b", 60)],
                "t2": [("a", 10), ("b", 70)],  # other route
                "t3": [("b", 0), ("a", 60)],  # other direction
                "loop": [("a", 0), ("b", 60), ("a", 120)],
            },
            route_of={"t2": 1},
        )
    )
    assert tt.n_patterns == 4
    a = tt.stop_index("a")
    lo, hi = tt.stop_pattern_ptr[a], tt.stop_pattern_ptr[a + 1]
    entries = sorted(
        zip(tt.stop_patterns[lo:hi].tolist(), tt.stop_pattern_pos[lo:hi].tolist(), strict=True)
    )
    # each (pattern, position) entry points back at stop a
    for p, pos in entries:
        assert tt.pattern_stops[tt.pattern_stop_ptr[p] + pos] == a
    assert len(entries) == 5  # t1, t2, t3 once each, the loop twice


def test_trip_with_one_stop_is_dropped_and_unknown_stop_id_raises():
    tt = Timetable.from_frames(*frames({"t": [("a", 0), ("b", 60)], "stub": [("a", 5)]}))
    assert tt.n_stop_times == 2
    assert tt.trips.set_index("trip_id").loc["stub", "pattern"] == -1
    with pytest.raises(GtfsError, match="unknown stop 'zz'"):
        tt.stop_index("zz")


def test_missing_column_is_a_gtfs_error():
    stops, routes, trips, st = frames({"t": [("a", 0), ("b", 60)]})
    with pytest.raises(GtfsError, match="stop_times frame lacks the column.*arrival"):
        Timetable.from_frames(stops, routes, trips, st.drop(columns="arrival"))
