"""The RAPTOR kernels against a time-expanded Dijkstra reference (tests/_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest
from _reference import INF, Event, RefFeed, reference
from _timetables import timetable_from_events

from connectivity import Timetable
from connectivity._arrays import csr_from_pairs
from connectivity.routing._raptor import (
    UNREACHED,
    egress,
    range_raptor,
    scheduled_boarding,
    timetable_arrays,
)


def to_timetable(feed: RefFeed) -> Timetable:
    zeros = np.zeros(feed.n_stops)
    return timetable_from_events(feed.trips, lon=zeros, lat=zeros)


def run(feed, access, departures, n_rounds, tt=None):
    tt = tt or to_timetable(feed)
    src, dst, walk, board = [], [], [], []
    for q, lst in feed.footpaths.items():
        for p, w, b in lst:
            src.append(q)
            dst.append(p)
            walk.append(w)
            board.append(b)
    fp = csr_from_pairs(
        feed.n_stops,
        np.asarray(src, np.int64),
        np.asarray(dst, np.int64),
        np.asarray(walk, np.int64),
        np.asarray(board, np.int64),
    )
    a_stops = np.asarray(list(access), np.int64)
    a_times = np.asarray(list(access.values()), np.int64)
    return range_raptor(
        *timetable_arrays(tt),
        *fp,
        a_stops,
        a_times,
        np.asarray(departures, np.int64),
        n_rounds,
        *scheduled_boarding(tt.n_patterns),
    )


def slack_loops(n_stops: int, slack: int) -> dict[int, list[tuple[int, int, int]]]:
    return {s: [(s, 0, slack)] for s in range(n_stops)}


def check(feed, access, departure, n_rounds):
    arrive, vehicle = run(feed, access, [departure], n_rounds)
    ref_arrive, ref_vehicle = reference(feed, access, departure, n_rounds)
    assert arrive[0].tolist() == ref_arrive
    assert vehicle[0].tolist() == ref_vehicle
    return arrive[0], vehicle[0]


def test_unreached_sentinel_matches_reference():
    assert int(UNREACHED) == INF


# -- hand-built feeds ---------------------------------------------------------------


def test_overtaking_express_is_taken():
    # slow trip departs first but the express overtakes it: both reach stop 2
    feed = RefFeed(
        3,
        [
            [Event(0, 100, 100), Event(1, 400, 400), Event(2, 900, 900)],
            [Event(0, 200, 200), Event(1, 300, 300), Event(2, 500, 500)],
        ],
        slack_loops(3, 60),
    )
    arrive, vehicle = check(feed, {0: 0}, 50, 3)
    assert vehicle[2] == 500 and vehicle[1] == 300
    # leaving after the express: only... nothing later, stop 2 unreachable
    arrive, _ = check(feed, {0: 0}, 201, 3)
    assert arrive[2] == INF


def test_minimum_transfer_time_decides_the_connection():
    # trip A: 0 -> 1 arrives 300; trip B leaves 1 at 330, trip C at 400
    trips = [
        [Event(0, 0, 0), Event(1, 300, 300)],
        [Event(1, 330, 330), Event(2, 500, 500)],
        [Event(1, 400, 400), Event(2, 700, 700)],
    ]
    fast = RefFeed(3, trips, slack_loops(3, 30))
    _, v = check(fast, {0: 0}, 0, 3)
    assert v[2] == 500
    slow = RefFeed(3, trips, slack_loops(3, 31))
    _, v = check(slow, {0: 0}, 0, 3)
    assert v[2] == 700
    forbidden = RefFeed(3, trips, {0: [(0, 0, 60)], 2: [(2, 0, 60)]})  # no change at 1
    a, v = check(forbidden, {0: 0}, 0, 3)
    assert v[2] == INF and a[1] == 300


def test_max_transfers_limits_the_number_of_vehicles():
    trips = [
        [Event(0, 0, 0), Event(1, 100, 100)],
        [Event(1, 200, 200), Event(2, 300, 300)],
        [Event(2, 400, 400), Event(3, 500, 500)],
    ]
    feed = RefFeed(4, trips, slack_loops(4, 0))
    _, v = check(feed, {0: 0}, 0, 2)
    assert v[2] == 300 and v[3] == INF
    _, v = check(feed, {0: 0}, 0, 3)
    assert v[3] == 500


def test_trips_past_midnight_and_walking_transfer():
    trips = [
        [Event(0, 86_000, 86_000), Event(1, 86_700, 86_700)],  # 23:53 -> 00:05 (+1 day)
        [Event(2, 87_000, 87_000), Event(3, 88_000, 88_000)],
    ]
    fp = {1: [(1, 0, 60), (2, 120, 180)], 2: [(2, 0, 60)]}
    feed = RefFeed(4, trips, fp)
    a, v = check(feed, {0: 30}, 85_900, 4)
    assert a[2] == 86_820 and v[3] == 88_000


def test_pickup_and_drop_off_rules():
    trips = [[Event(0, 0, 0), Event(1, 100, 100, board=False, alight=False), Event(2, 200, 200)]]
    feed = RefFeed(3, trips, slack_loops(3, 0))
    a, v = check(feed, {0: 0, 1: 0}, 0, 2)
    assert v[1] == INF and v[2] == 200


def test_frequency_like_trips_and_unreachable_stops():
    # every 600 s from 0 to 3000, 0 -> 1 in 300 s; stop 2 has no service
    trips = [[Event(0, h, h), Event(1, h + 300, h + 300)] for h in range(0, 3001, 600)]
    feed = RefFeed(3, trips, slack_loops(3, 0))
    for d in (0, 1, 599, 601, 3000):
        a, v = check(feed, {0: 0}, d, 2)
        assert a[2] == INF
    a, _ = check(feed, {0: 0}, 3001, 2)
    assert a[1] == INF


# -- randomised feeds --------------------------------------------------------------


def random_feed(rng: np.random.Generator) -> tuple[RefFeed, dict[int, int], int, int]:
    n_stops = int(rng.integers(3, 9))
    trips = []
    for _ in range(int(rng.integers(1, 5))):
        length = int(rng.integers(2, min(n_stops, 5) + 1))
        seq = [int(s) for s in rng.choice(n_stops, size=length, replace=False)]
        if rng.random() < 0.15 and length >= 3:
            seq.append(seq[0])  # a loop back to its first stop
        restrict = rng.random() < 0.3
        for _ in range(int(rng.integers(1, 6))):
            t = int(rng.integers(0, 2400))
            events = []
            for s in seq:
                arr = t
                dep = arr + int(rng.integers(0, 3)) * 30
                board = not (restrict and rng.random() < 0.2)
                alight = not (restrict and rng.random() < 0.2)
                events.append(Event(s, arr, dep, board, alight))
                t = dep + int(rng.integers(1, 10)) * 60
            trips.append(events)
    slack = int(rng.choice([0, 30, 60, 120]))
    footpaths: dict[int, list[tuple[int, int, int]]] = {}
    for q in range(n_stops):
        lst = []
        if rng.random() < 0.9:
            lst.append((q, 0, slack if rng.random() < 0.8 else int(rng.integers(0, 300))))
        for p in range(n_stops):
            if p != q and rng.random() < 0.25:
                w = int(rng.integers(0, 600))
                lst.append((p, w, w + (slack if rng.random() < 0.8 else 0)))
        footpaths[q] = lst
    access = {
        int(s): int(rng.integers(0, 600))
        for s in rng.choice(n_stops, size=int(rng.integers(1, 3)), replace=False)
    }
    departure = int(rng.integers(0, 2400))
    n_rounds = int(rng.integers(1, 6))
    return RefFeed(n_stops, trips, footpaths), access, departure, n_rounds


@pytest.mark.parametrize("seed", range(6))
def test_random_feeds_agree_with_the_reference(seed):
    rng = np.random.default_rng(seed)
    reached = 0
    for _ in range(60):
        feed, access, departure, n_rounds = random_feed(rng)
        _, v = check(feed, access, departure, n_rounds)
        reached += int((v < INF).sum())
    assert reached > 0  # the generator produces feeds where vehicles are used


@pytest.mark.parametrize("seed", range(3))
def test_range_query_equals_single_runs_at_every_minute(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(30):
        feed, access, departure, n_rounds = random_feed(rng)
        tt = to_timetable(feed)
        deps = departure + 60 * np.arange(30)
        arrive, vehicle = run(feed, access, deps, n_rounds, tt)
        for i, d in enumerate(deps):
            a1, v1 = run(feed, access, [d], n_rounds, tt)
            assert arrive[i].tolist() == a1[0].tolist()
            assert vehicle[i].tolist() == v1[0].tolist()
        # the range result also equals the reference at some minutes
        for i in (0, 29):
            ref_a, ref_v = reference(feed, access, int(deps[i]), n_rounds)
            assert arrive[i].tolist() == ref_a and vehicle[i].tolist() == ref_v


def test_egress_takes_the_minimum_over_stops_within_the_walk_limit():
    # stop 0 at 100 s reaches node 0 at 10 m and node 1 at 50 m; stop 1 at 90 s node 1 at 80 m
    ptr, node, dist = csr_from_pairs(
        2,
        np.array([0, 0, 1]),
        np.array([0, 1, 1], np.int64),
        np.array([10.0, 50.0, 80.0]),
    )
    vehicle = np.array([100, 90], np.int64)
    out = np.full(3, np.inf)
    egress(vehicle, ptr, node, dist, 60.0, 1.0, out)
    assert out.tolist() == [110.0, 150.0, np.inf]
    out = np.full(3, np.inf)
    egress(vehicle, ptr, node, dist, 1000.0, 0.5, out)
    assert out.tolist() == [105.0, 125.0, np.inf]
