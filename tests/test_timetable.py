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


def test_missing_times_and_route_positions_out_of_range_are_gtfs_errors():
    stops, routes, trips, st = frames({"t": [("a", 0), ("b", 60)], "u": [("a", 5), ("b", 70)]})
    holes = st.astype({"arrival": float})
    holes.loc[3, "arrival"] = np.nan  # would become a garbage time when cast to integers
    with pytest.raises(GtfsError, match=r"column arrival holds nan at row 3 \(1 such value"):
        Timetable.from_frames(stops, routes, trips, holes)
    half = st.astype({"departure": float})
    half.loc[1, "departure"] = 60.5
    with pytest.raises(GtfsError, match="column departure holds 60.5 at row 1"):
        Timetable.from_frames(stops, routes, trips, half)
    far = trips.assign(route=[0, 2])  # two routes: positions 0 and 1
    with pytest.raises(GtfsError, match="route position outside the routes frame"):
        Timetable.from_frames(stops, routes, far, st)
    # whole numbers stored as floats are fine
    tt = Timetable.from_frames(stops, routes, trips, st.astype({"arrival": float}))
    assert tt.arrivals.tolist() == [0, 60, 5, 70]


# -- property: from_frames against a brute-force check of its contract -------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def random_day(draw):
    """Trips on 2 routes over 4 stops: random stop sequences (from a few shapes), random
    pickup rules, random start times and hop times (so trips overtake)."""
    shapes = [[0, 1, 2], [0, 1, 2, 3], [2, 1, 0], [0, 1, 0]]
    n_trips = draw(st.integers(0, 14))
    trips, rows = [], []
    for t in range(n_trips):
        shape = shapes[draw(st.integers(0, len(shapes) - 1))]
        if draw(st.integers(0, 9)) == 0:
            shape = shape[:1]  # a one-stop trip, which no pattern holds
        route = draw(st.integers(0, 1))
        time = draw(st.integers(-600, 3600))
        no_pickup_at_last = draw(st.booleans())
        trips.append(route)
        for i, stop in enumerate(shape):
            dwell = draw(st.integers(0, 60))
            rows.append(
                (t, i * 10, stop, time, time + dwell,
                 int(no_pickup_at_last and i == len(shape) - 1))
            )  # fmt: skip
            time += dwell + draw(st.integers(0, 600))
    return trips, rows


@settings(max_examples=150, deadline=None)
@given(random_day())
def test_from_frames_keeps_every_trip_exactly_in_fifo_patterns(day):
    trip_routes, rows = day
    stops = pd.DataFrame({"stop_id": list("abcd"), "stop_name": list("abcd"), "lon": 0.0,
                          "lat": 0.0})  # fmt: skip
    routes = pd.DataFrame({"route_id": ["r0", "r1"], "route_type": [3, 0]})
    trips = pd.DataFrame(
        {"trip_id": [f"t{i}" for i in range(len(trip_routes))], "route": trip_routes}
    )
    st_frame = pd.DataFrame(
        rows,
        columns=["trip", "stop_sequence", "stop", "arrival", "departure", "pickup_type"],
    ).sample(frac=1.0, random_state=1)  # any row order
    tt = Timetable.from_frames(stops, routes, trips, st_frame)

    by_trip: dict[int, list[tuple]] = {}
    for r in sorted(rows):
        by_trip.setdefault(r[0], []).append(r)
    expected_in_pattern = {t for t, rs in by_trip.items() if len(rs) >= 2}
    seen = {}
    for p in range(tt.n_patterns):
        arr, dep = tt.pattern_times(p)
        # FIFO: no trip earlier than the one before it at any stop
        assert (np.diff(arr, axis=0) >= 0).all() and (np.diff(dep, axis=0) >= 0).all()
        pstops = tt.pattern_stops[tt.pattern_stop_ptr[p] : tt.pattern_stop_ptr[p + 1]]
        board = tt.pattern_board[tt.pattern_stop_ptr[p] : tt.pattern_stop_ptr[p + 1]]
        ptrips = tt.pattern_trips[tt.pattern_trip_ptr[p] : tt.pattern_trip_ptr[p + 1]]
        for k, t in enumerate(ptrips.tolist()):
            assert t not in seen
            seen[t] = p
            rs = by_trip[t]
            assert trip_routes[t] == tt.pattern_route[p]
            assert pstops.tolist() == [r[2] for r in rs]
            assert board.tolist() == [r[5] != 1 for r in rs]
            assert arr[k].tolist() == [r[3] for r in rs]
            assert dep[k].tolist() == [r[4] for r in rs]
    assert set(seen) == expected_in_pattern
    assert tt.trips["pattern"].tolist() == [seen.get(t, -1) for t in range(len(trip_routes))]
    # trips of one route, stop sequence and rules that never overtake share one pattern
    keys: dict[tuple, list[int]] = {}
    for t in expected_in_pattern:
        rs = by_trip[t]
        keys.setdefault((trip_routes[t], tuple((r[2], r[5]) for r in rs)), []).append(t)
    for members in keys.values():
        times = sorted((tuple(x for r in by_trip[t] for x in (r[3], r[4])), t) for t in members)
        fifo = all(
            all(b >= a for a, b in zip(times[i][0], times[i + 1][0], strict=True))
            for i in range(len(times) - 1)
        )
        if fifo:
            assert len({seen[t] for t in members}) == 1
    # the tidy frame lists each event of each patterned trip once, in order
    events = tt.stop_times()
    assert len(events) == sum(len(by_trip[t]) for t in expected_in_pattern)
    for t in expected_in_pattern:
        got = events[events["trip"] == t]
        assert got["arrival"].tolist() == [r[3] for r in by_trip[t]]


def test_trips_tied_at_both_ends_are_ordered_so_the_pattern_stays_one():
    # same first departure and last arrival; b is earlier in the middle: b then a is FIFO
    tt = Timetable.from_frames(
        *frames(
            {
                "a": [("a", 0), ("b", 600), ("c", 1200)],
                "b": [("a", 0), ("b", 300), ("c", 1200)],
            }
        )
    )
    assert tt.n_patterns == 1
    assert tt.trips.loc[tt.pattern_trips, "trip_id"].tolist() == ["b", "a"]
