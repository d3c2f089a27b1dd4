"""load_timetable on every real feed, checked against an independent csv-only reader."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pytest
from _gtfs_feed import RawFeed, _seconds
from conftest import shared_data

from connectivity.transit.gtfs import load_timetable, service_dates

pytestmark = pytest.mark.integration

FEEDS = [
    "helsinki/hsl_gtfs.zip",
    "rhein-neckar/rnv_gtfs.zip",
    "sao-paulo/spo_gtfs.zip",
    "bay-area/bart_gtfs.zip",
]

_RAW: dict[str, RawFeed] = {}


def raw(relative: str) -> RawFeed:
    if relative not in _RAW:
        _RAW[relative] = RawFeed(shared_data(relative))
    return _RAW[relative]


def sample_dates(feed: RawFeed) -> list[dt.date]:
    """The busiest date and the first, middle and last dates with service."""
    counts = feed.counts()
    served = [d for d, n in counts.items() if n > 0]
    busiest = max(served, key=lambda d: (counts[d], -d.toordinal()))
    picks = [busiest, served[0], served[len(served) // 2], served[-1]]
    return sorted(set(picks))


def raw_stop_times(feed: RawFeed) -> dict[str, list[tuple[int, str, int, int]]]:
    """trip_id -> [(stop_sequence, stop_id, arrival, departure)] sorted by sequence."""
    out: dict[str, list[tuple[int, str, int, int]]] = defaultdict(list)
    for r in feed.rows("stop_times.txt"):
        out[r["trip_id"].strip()].append(
            (
                int(r["stop_sequence"]),
                r["stop_id"].strip(),
                _seconds(r["arrival_time"]),
                _seconds(r["departure_time"]),
            )
        )
    for rows in out.values():
        rows.sort()
    return out


@pytest.mark.parametrize("relative", FEEDS)
def test_service_dates_and_busiest_date_match_the_independent_reader(relative):
    feed = raw(relative)
    expected = feed.counts()
    dates = service_dates(shared_data(relative))
    got = dict(zip(dates["date"], dates["trips"], strict=True))
    for day in set(expected) | set(got):
        assert got.get(day, 0) == expected.get(day, 0), day
    busiest = max(expected, key=lambda d: (expected[d], -d.toordinal()))
    tt = load_timetable(shared_data(relative))
    assert tt.date == busiest
    assert int((tt.trips["day_offset"] == 0).sum()) == expected[busiest]


@pytest.mark.parametrize("relative", FEEDS)
def test_trips_and_stop_times_of_sample_dates_match_the_reader_exactly(relative):
    feed = raw(relative)
    stop_times = raw_stop_times(feed)
    rng = np.random.default_rng(7)
    for day in sample_dates(feed):
        tt = load_timetable(shared_data(relative), date=day)
        day_trips = tt.trips[tt.trips["day_offset"] == 0]
        assert len(day_trips) == feed.trips_on(day), day
        # stop events of the day's trips: every trip, every expansion, exactly once;
        # trips of fewer than two stops carry nobody and are in no pattern
        active = feed.services[day]
        expected_events = expected_stubs = 0
        for t, s in feed.trip_service.items():
            if s in active:
                times = len(feed.expansions[t]) if t in feed.expansions else 1
                if len(stop_times[t]) >= 2:
                    expected_events += len(stop_times[t]) * times
                else:
                    expected_stubs += times
        events = tt.stop_times()
        day_events = events[tt.trips["day_offset"].to_numpy()[events["trip"]] == 0]
        assert len(day_events) == expected_events, day
        assert int((day_trips["pattern"] == -1).sum()) == expected_stubs
        # trips of the day before still running at or after midnight, counted by brute
        # force: every trip (every expansion) of the previous date's services whose last
        # time is 24:00:00 or later
        before = feed.services.get(day - dt.timedelta(days=1), set())
        expected_prev = 0
        for t, s in feed.trip_service.items():
            rows = stop_times.get(t)
            if s not in before or not rows:
                continue
            last = max(max(r[2], r[3]) for r in rows)
            starts = feed.expansions[t] if t in feed.expansions else [rows[0][3]]
            expected_prev += sum(1 for x in starts if last + x - rows[0][3] >= 86_400)
        assert int((tt.trips["day_offset"] == -1).sum()) == expected_prev, day
        # times of sampled trips equal the raw times (shifted by the expansion's start)
        by_trip = {t: g for t, g in events.groupby("trip")}
        stop_ids = tt.stops["stop_id"].to_numpy()
        for pos in rng.choice(day_trips.index.to_numpy(), size=min(40, len(day_trips))):
            row = tt.trips.loc[pos]
            rows = stop_times[row["gtfs_trip_id"]]
            shift = 0
            if row["frequency"]:
                h, m, s = row["trip_id"].rsplit("#", 1)[1].split(":")
                shift = int(h) * 3600 + int(m) * 60 + int(s) - rows[0][3]
            got = by_trip[pos]
            assert stop_ids[got["stop"]].tolist() == [r[1] for r in rows]
            assert got["arrival"].tolist() == [r[2] + shift for r in rows]
            assert got["departure"].tolist() == [r[3] + shift for r in rows]


@pytest.mark.parametrize("relative", FEEDS)
def test_every_pattern_of_every_real_feed_is_fifo_and_consistent(relative):
    feed = raw(relative)
    for day in sample_dates(feed)[:2]:
        tt = load_timetable(shared_data(relative), date=day)
        for p in range(tt.n_patterns):
            arr, dep = tt.pattern_times(p)
            assert (np.diff(arr, axis=0) >= 0).all() and (np.diff(dep, axis=0) >= 0).all()
            trips = tt.pattern_trips[tt.pattern_trip_ptr[p] : tt.pattern_trip_ptr[p + 1]]
            assert (tt.trips["pattern"].to_numpy()[trips] == p).all()
            assert (tt.trips["route"].to_numpy()[trips] == tt.pattern_route[p]).all()
        # the stop -> pattern index points back at each stop
        for s in range(tt.n_stops):
            lo, hi = tt.stop_pattern_ptr[s], tt.stop_pattern_ptr[s + 1]
            pats, pos = tt.stop_patterns[lo:hi], tt.stop_pattern_pos[lo:hi]
            assert (tt.pattern_stops[tt.pattern_stop_ptr[pats] + pos] == s).all()


@pytest.mark.parametrize(
    "relative", ["helsinki/hsl_gtfs.zip", "rhein-neckar/rnv_gtfs.zip", "bay-area/bart_gtfs.zip"]
)
def test_trip_of_the_previous_day_after_midnight_is_present(relative):
    feed = raw(relative)
    stop_times = raw_stop_times(feed)
    served = {d for d, n in feed.counts().items() if n > 0}
    found = None
    for t, rows in stop_times.items():
        if rows[-1][2] < 86_400 or t in feed.expansions:
            continue
        service = feed.trip_service.get(t)
        for day in sorted(served):
            if service in feed.services[day]:
                found = (t, day + dt.timedelta(days=1), rows)
                break
        if found:
            break
    assert found is not None, "the feed holds a trip running past midnight"
    trip_id, day, rows = found
    tt = load_timetable(shared_data(relative), date=day)
    matches = np.flatnonzero(tt.trips["trip_id"].to_numpy() == f"{trip_id}@-1d")
    assert len(matches) == 1
    pos = int(matches[0])
    assert tt.trips.loc[pos, "day_offset"] == -1
    events = tt.stop_times()
    got = events[events["trip"] == pos]
    assert got["arrival"].tolist() == [r[2] - 86_400 for r in rows]
    # and every previous-day trip of the Timetable does run past midnight
    prev = tt.trips[(tt.trips["day_offset"] == -1) & (tt.trips["pattern"] >= 0)]
    last = events.groupby("trip")["arrival"].max()
    assert (last.loc[prev.index] >= 0).all()


def test_hsl_headway_of_71760_seconds_expands_to_the_right_trips():
    feed = raw("helsinki/hsl_gtfs.zip")
    rows = [r for r in feed.headways if r[3] == 71_760]
    assert rows, "HSL has a headway of 71,760 s"
    tt = load_timetable(shared_data("helsinki/hsl_gtfs.zip"), date="2022-02-22")
    ids = set(tt.trips["trip_id"])
    for trip_id, start, end, headway in rows:
        for s in range(start, end, headway):
            assert f"{trip_id}#{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" in ids
    templates = tt.trips[tt.trips["frequency"]]["gtfs_trip_id"]
    assert (templates.value_counts() == templates.value_counts().index.map(
        lambda t: len(feed.expansions[t])
    )).all()  # fmt: skip
