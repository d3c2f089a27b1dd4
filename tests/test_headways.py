"""Headway-based services (issue 13): frequency entries kept as such, Monte Carlo phases,
and the bounds of boarding without sampling, against analytic distributions and a brute
force over every pair of phases written here."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from test_routing import SPEED, X0, Y0, lonlat, write_feed

from connectivity import StreetNetwork, load_timetable
from connectivity._errors import ParameterError
from connectivity.network.intermodal import build_network
from connectivity.routing.headways import draw_phases, headway_patterns
from connectivity.routing.queries import latest_departures, travel_times

DATE = dt.date(2024, 5, 6)
START, END = 6 * 3600, 12 * 3600
DEPARTURE = 8 * 3600
H1, H2, R = 600, 900, 300  # headways of lines 1 and 2, their run time
NODE = {"A": 0, "B": 30, "C": 60, "D": 45}  # stops on a straight street, 100 m apart
SLACK = 60


def hms(t: int) -> str:
    return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"


def street() -> StreetNetwork:
    n = 61
    us = list(range(n - 1)) + list(range(1, n))
    vs = list(range(1, n)) + list(range(n - 1))
    return StreetNetwork.from_arrays(
        x=[X0 + 100 * i for i in range(n)],
        y=[Y0] * n,
        u=us,
        v=vs,
        length=[100] * (2 * n - 2),
        speed_kmh=SPEED,
        crs="EPSG:32635",
    )


def feed(tmp_path, *, exact: int = 0, scheduled_only: bool = False):
    """Line 1 A -> B every H1 s, line 2 B -> C every H2 s (both 06:00-12:00, 300 s run
    time, ``exact_times=exact``), and a scheduled line 3 A -> D at 08:03, 08:20, 08:41."""
    streets = street()
    lon = streets.nodes["lon"].to_numpy()
    lat = streets.nodes["lat"].to_numpy()
    stops = "stop_id,stop_name,stop_lat,stop_lon\n" + "\n".join(
        f"{s},Stop {s},{lat[n]:.9f},{lon[n]:.9f}" for s, n in NODE.items()
    )
    trips = ["3,S,s1", "3,S,s2", "3,S,s3"]
    times = []
    for trip, t in (("s1", 8 * 3600 + 180), ("s2", 8 * 3600 + 1200), ("s3", 8 * 3600 + 2460)):
        times += [f"{trip},{hms(t)},{hms(t)},A,1", f"{trip},{hms(t + 600)},{hms(t + 600)},D,2"]
    files = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
        "a,A,http://a.example,Europe/Helsinki",
        "stops.txt": stops,
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\nS,1,1,1,1,1,1,1,20240101,20241231",
    }
    if scheduled_only:
        files["routes.txt"] = "route_id,agency_id,route_short_name,route_type\n3,a,3,3"
    else:
        files["routes.txt"] = (
            "route_id,agency_id,route_short_name,route_type\n1,a,1,0\n2,a,2,3\n3,a,3,3"
        )
        trips = ["1,S,f1", "2,S,f2", *trips]
        times = [
            "f1,00:00:00,00:00:00,A,1",
            f"f1,{hms(R)},{hms(R)},B,2",
            "f2,00:00:00,00:00:00,B,1",
            f"f2,{hms(R)},{hms(R)},C,2",
            *times,
        ]
        files["frequencies.txt"] = (
            "trip_id,start_time,end_time,headway_secs,exact_times\n"
            f"f1,{hms(START)},{hms(END)},{H1},{exact}\nf2,{hms(START)},{hms(END)},{H2},{exact}"
        )
    files["trips.txt"] = "route_id,service_id,trip_id\n" + "\n".join(trips)
    files["stop_times.txt"] = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + "\n".join(times)
    )
    tt = load_timetable(write_feed(tmp_path / "feed", files), date=DATE)
    net = build_network(streets, tt, walk_speed=SPEED, walk_radius=1500, transfer_radius=500)
    return net, {s: tt.stop_index(s) for s in NODE}


def times(net, **kw):
    kw.setdefault("departure", DEPARTURE)
    return travel_times(net, lonlat(net.streets, NODE["A"]), transfer_slack=SLACK, **kw)


def next_vehicle(t, start, phase, headway):
    """The first departure at or after ``t`` of a service leaving ``start + phase + k
    headway``; ``inf`` at or after END."""
    k = np.maximum(np.ceil((t - start - phase) / headway), 0)
    dep = start + phase + k * headway
    return np.where(dep < END, dep, np.inf)


def test_the_timetable_keeps_each_headway_entry_as_a_pattern(tmp_path):
    net, _ = feed(tmp_path)
    tt = net.timetable
    hp = headway_patterns(tt)
    assert len(hp) == 2
    assert sorted(tt.pattern_headway[hp].tolist()) == [H1, H2]
    assert tt.pattern_end[hp].tolist() == [END, END]
    # the expansion is today's: every headway from the span's start, before its end
    assert int(tt.trips["frequency"].sum()) == (END - START) // H1 + (END - START) // H2
    (tmp_path / "exact").mkdir()
    exact, _ = feed(tmp_path / "exact", exact=1)
    assert len(headway_patterns(exact.timetable)) == 0  # exact_times=1 is a timetable


def test_one_line_random_phase_is_the_uniform_wait(tmp_path):
    """Line 1 alone from a stop at the origin: the time to B is R + U(0, H1). Each draw's
    time is the formula's at that draw's phase exactly; over 60 minutes x 200 draws the
    quartiles are R + H1/4, R + H1/2, R + 3 H1/4 within 1 % of H1."""
    net, stop = feed(tmp_path)
    res = times(net, window=3600, boarding="random", draws=200, seed=7)
    b = res.stops[:, stop["B"]].astype(float)
    assert b.shape == (60 * 200,)
    hp = headway_patterns(net.timetable)
    line1 = hp[net.timetable.pattern_headway[hp] == H1]
    phase = draw_phases(net.timetable, line1, 200, 7)[:, 0]
    dep = res.departures.astype(float)
    expected = next_vehicle(dep, START, np.repeat(phase, 60), H1) + R - dep
    np.testing.assert_array_equal(b, expected)
    assert phase.min() >= 0 and phase.max() < H1 and len(np.unique(phase)) > 150
    for q in (25, 50, 75):
        assert abs(np.percentile(b, q) - (R + q / 100 * H1)) <= 0.01 * H1, q
    frame = res.to_frame(percentiles=(50,))
    row = frame[(frame["kind"] == "stop") & (frame["index"] == stop["B"])]
    assert abs(float(row["travel_time_p50"].iloc[0]) - (R + H1 / 2)) <= 0.01 * H1


@pytest.mark.parametrize(
    ("boarding", "wait"), [("best", 0), ("worst", H1), ("half_headway", H1 // 2)]
)
def test_bounds_are_exact(tmp_path, boarding, wait):
    net, stop = feed(tmp_path)
    res = times(net, window=1800, boarding=boarding)
    assert res.stops.shape[0] == 30
    np.testing.assert_array_equal(res.stops[:, stop["B"]], R + wait)
    # C: the second line's wait as well, after the slack of the change at B
    wait2 = {"best": 0, "worst": H2, "half_headway": H2 // 2}[boarding]
    np.testing.assert_array_equal(res.stops[:, stop["C"]], R + wait + SLACK + wait2 + R)
    # the scheduled line 3 is boarded as given whatever the rule
    np.testing.assert_array_equal(
        res.stops[:, stop["D"]], times(net, window=1800, boarding="scheduled").stops[:, stop["D"]]
    )


def test_two_lines_with_a_transfer_against_every_pair_of_phases(tmp_path):
    """Leaving A at 08:00 for C over B: the distribution over 400 draws against the
    exact one over all H1 x H2 phase pairs on a one-second grid (540,000 pairs): their
    largest CDF gap under 1.95 / sqrt(400) (Kolmogorov-Smirnov at 0.1 %); and each
    draw's time is the brute force's at that draw's phases."""
    net, stop = feed(tmp_path)
    n = 400
    res = times(net, boarding="random", draws=n, seed=3)
    c = np.sort(res.stops[:, stop["C"]].astype(float))
    p1, p2 = np.meshgrid(np.arange(H1), np.arange(H2), indexing="ij")
    at_b = next_vehicle(DEPARTURE, START, p1.ravel(), H1) + R
    at_c = next_vehicle(at_b + SLACK, START, p2.ravel(), H2) + R
    exact = np.sort(at_c - DEPARTURE)
    grid = np.union1d(c, exact)
    cdf_routed = np.searchsorted(c, grid, side="right") / n
    cdf_exact = np.searchsorted(exact, grid, side="right") / len(exact)
    assert np.abs(cdf_routed - cdf_exact).max() < 1.95 / np.sqrt(n)
    # draw by draw
    tt = net.timetable
    hp = headway_patterns(tt)
    ph = draw_phases(tt, hp, n, 3)
    h = tt.pattern_headway[hp]
    ph1, ph2 = ph[:, h == H1][:, 0], ph[:, h == H2][:, 0]
    want = next_vehicle(next_vehicle(DEPARTURE, START, ph1, H1) + R + SLACK, START, ph2, H2)
    np.testing.assert_array_equal(res.stops[:, stop["C"]], want + R - DEPARTURE)


def test_seeds_reproduce_and_touch_headway_services_only(tmp_path):
    net, stop = feed(tmp_path)
    a = times(net, window=600, boarding="random", draws=5, seed=1)
    b = times(net, window=600, boarding="random", draws=5, seed=1)
    c = times(net, window=600, boarding="random", draws=5, seed=2)
    assert a.nodes.tobytes() == b.nodes.tobytes() and a.stops.tobytes() == b.stops.tobytes()
    assert not np.array_equal(a.stops[:, stop["C"]], c.stops[:, stop["C"]])
    np.testing.assert_array_equal(a.stops[:, stop["D"]], c.stops[:, stop["D"]])
    scheduled = times(net, window=600, boarding="scheduled")
    np.testing.assert_array_equal(a.stops[:, stop["D"]], np.tile(scheduled.stops[:, stop["D"]], 5))


def test_without_headway_services_every_boarding_is_the_timetable(tmp_path):
    net, _ = feed(tmp_path, scheduled_only=True)
    plain = times(net, window=900)
    for boarding in ("random", "best", "worst", "half_headway"):
        other = times(net, window=900, boarding=boarding, draws=7)
        assert other.nodes.tobytes() == plain.nodes.tobytes(), boarding
        assert other.stops.tobytes() == plain.stops.tobytes(), boarding
        assert len(other.departures) == 15


def test_arrive_by_takes_draws(tmp_path):
    """Arrive-by at C by 09:00 with random phases: each draw's duration is the latest
    departure from A that makes it, by the brute force at that draw's phases."""
    net, stop = feed(tmp_path)
    arrive = 9 * 3600
    res = latest_departures(
        net, lonlat(net.streets, NODE["C"]), arrival=arrive, transfer_slack=SLACK,
        boarding="random", draws=50, seed=5,
    )  # fmt: skip
    assert res.stops.shape[0] == 50
    tt = net.timetable
    hp = headway_patterns(tt)
    ph = draw_phases(tt, hp, 50, 5)
    h = tt.pattern_headway[hp]
    ph1, ph2 = ph[:, h == H1][:, 0], ph[:, h == H2][:, 0]
    # the last line-2 vehicle reaching C by 09:00, then the last line-1 vehicle making it
    k2 = np.floor((arrive - R - START - ph2) / H2)
    dep2 = START + ph2 + k2 * H2
    k1 = np.floor((dep2 - SLACK - R - START - ph1) / H1)
    dep1 = START + ph1 + k1 * H1
    np.testing.assert_array_equal(res.stops[:, stop["A"]], arrive - dep1)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"boarding": "often"}, r"boarding='often' is not one of 'scheduled', 'random'"),
        ({"boarding": "random", "draws": 0}, r"draws must be a whole number in 1\.\.10000"),
        ({"boarding": "random", "draws": 2.5}, r"draws must be a whole number"),
        ({"boarding": "random", "seed": -1}, r"seed must be a whole number >= 0"),
    ],
)
def test_bad_boarding(tmp_path, kw, message):
    net, _ = feed(tmp_path)
    with pytest.raises(ParameterError, match=message):
        times(net, **kw)


@pytest.mark.parametrize(
    ("boarding", "w1", "w2"),
    [("best", 0, 0), ("worst", H1, H2), ("half_headway", H1 // 2, H2 // 2)],
)
def test_arrive_by_bounds_are_exact(tmp_path, boarding, w1, w2):
    """The bounds by arrive-by, over 30 arrival minutes: from A the same duration as
    forward, each wait and the change's slack; and from B the second line alone."""
    net, stop = feed(tmp_path)
    res = latest_departures(
        net, lonlat(net.streets, NODE["C"]), arrival=9 * 3600, window=1800,
        transfer_slack=SLACK, boarding=boarding,
    )  # fmt: skip
    assert res.stops.shape[0] == 30
    np.testing.assert_array_equal(res.stops[:, stop["A"]], w1 + R + SLACK + w2 + R)
    np.testing.assert_array_equal(res.stops[:, stop["B"]], w2 + R)
    # before the first vehicle there is no way: arrive by 06:04 at C
    early = latest_departures(
        net, lonlat(net.streets, NODE["C"]), arrival=START + R - 1, boarding=boarding
    )
    assert np.isinf(early.stops[0, stop["B"]])
    at_first = latest_departures(
        net, lonlat(net.streets, NODE["C"]), arrival=START + R, boarding=boarding
    )
    assert at_first.stops[0, stop["B"]] == R + w2  # the 06:00 vehicle, after the wait


def test_matrix_takes_the_same_draws(tmp_path):
    """A matrix with random boarding: the percentiles of ``travel_times`` with the same
    draws, at destinations on street nodes; one process or two, the same values."""
    import pandas as pd

    from connectivity.routing.matrix import travel_time_matrix

    net, _ = feed(tmp_path)
    lon = net.streets.nodes["lon"].to_numpy()
    lat = net.streets.nodes["lat"].to_numpy()
    dest_nodes = [NODE["B"] + 2, NODE["C"], NODE["D"] - 3]
    origins = pd.DataFrame({"id": ["a"], "lon": [lon[0]], "lat": [lat[0]]})
    dests = pd.DataFrame({"id": ["b", "c", "d"], "lon": lon[dest_nodes], "lat": lat[dest_nodes]})
    kw = dict(departure=DEPARTURE, window=600, percentiles=(25, 50, 90), transfer_slack=SLACK)
    kw |= dict(boarding="random", draws=8, seed=11)
    one = travel_time_matrix(net, origins, dests, **kw)
    res = times(net, window=600, boarding="random", draws=8, seed=11)
    assert res.nodes.shape[0] == 80
    for p in (25, 50, 90):
        want = res.node_times(p)[dest_nodes]
        np.testing.assert_allclose(one[f"travel_time_p{p}"].to_numpy(), want, atol=0.01)
    two = travel_time_matrix(net, origins, dests, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(one, two)
    # one departure with draws: a distribution too, so percentiles, not one time
    single = travel_time_matrix(net, origins, dests, departure=DEPARTURE, boarding="random")
    assert {"travel_time_min", "travel_time_p50"} <= set(single.columns)
    with pytest.raises(
        ParameterError, match=r"breakdown=True takes boarding='random' or 'scheduled'"
    ):
        travel_time_matrix(net, origins, dests, departure=DEPARTURE, boarding="worst",
                           breakdown=True)  # fmt: skip


def test_cli_boarding_on_the_estimated_feed(cache, tmp_path, capsys):
    """``travel-times --boarding`` on the demo's feed (every entry headway-based): best
    <= random <= worst at every node and stop, random equal to the library's default
    draws; a bad ``--draws`` is one line and exit 2, before any work."""
    import pandas as pd

    from connectivity.cli import main
    from connectivity.streets.load import demo_pbf, load_streets
    from connectivity.transit.osm_feed import estimated_feed

    feed_zip = estimated_feed(demo_pbf(), timezone="Europe/Helsinki")
    argv = ["-q", "travel-times", "--osm", str(demo_pbf()), "--gtfs", str(feed_zip),
            "--origin", "60.1710,24.9414", "--departure", "2022-02-22T08:00", "--window", "10"]  # fmt: skip
    got = {}
    for rule in ("best", "random", "worst"):
        out = tmp_path / f"{rule}.csv"
        assert main([*argv, "--boarding", rule, "--out", str(out)]) == 0
        got[rule] = pd.read_csv(out)["travel_time_s"].fillna(np.inf).to_numpy()
    assert (got["best"] <= got["random"]).all() and (got["random"] <= got["worst"]).all()
    assert (got["best"] < got["worst"]).sum() > 1000
    walk = load_streets(demo_pbf(), mode="walk")
    net = build_network(walk, load_timetable(feed_zip, date=dt.date(2022, 2, 22)))
    res = travel_times(net, (24.9414, 60.1710), departure="2022-02-22T08:00", window=600,
                       boarding="random", max_time=7200)  # fmt: skip
    want = res.to_frame()["travel_time_p50"].round().fillna(np.inf).to_numpy()
    np.testing.assert_array_equal(got["random"], want)
    capsys.readouterr()
    assert main([*argv, "--draws", "0", "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--draws 0: give the random phases per departure minute" in err
    assert not (tmp_path / "x.csv").exists()


def test_audit_counts_the_headway_based_trips(tmp_path):
    from connectivity import audit
    from connectivity.transit.audit import format_report

    feed(tmp_path)
    (tmp_path / "exact").mkdir()
    feed(tmp_path / "exact", exact=1)
    n = (END - START) // H1 + (END - START) // H2  # 36 + 24 expansions
    summary = audit(tmp_path / "feed", date=DATE).attrs["summary"]
    assert (summary["trips"], summary["headway_trips"]) == (n + 3, n)
    text = format_report(audit(tmp_path / "feed", date=DATE))
    assert f"headway-based: {n} of {n + 3} trips (95%) run from frequencies.txt" in text
    assert audit(tmp_path / "exact" / "feed", date=DATE).attrs["summary"]["headway_trips"] == 0


def test_journeys_and_usage_take_the_draws(tmp_path):
    """Journeys A -> C with random phases: the (minute, draw) samples add up, each
    journey's legs sum to its time, which is the brute force's at one sample; the usage
    of every sample rides lines 1 and 2 once each; a bound is refused."""
    import pandas as pd

    from connectivity.routing.itineraries import journeys
    from connectivity.routing.usage import route_usage

    net, _ = feed(tmp_path)
    a, c = lonlat(net.streets, NODE["A"]), lonlat(net.streets, NODE["C"])
    kw = dict(departure=DEPARTURE, window=300, transfer_slack=SLACK, boarding="random")
    kw |= dict(draws=6, seed=4)
    legs = journeys(net, a, c, **kw)
    heads = legs.groupby("journey").first()
    assert int(heads["departures"].sum()) == 5 * 6
    for _, group in legs.groupby("journey"):
        assert group["duration_s"].sum() == pytest.approx(group["travel_time_s"].iloc[0])
        assert list(group.loc[group["kind"] == "ride", "route"]) == ["1", "2"]
    tt = net.timetable
    hp = headway_patterns(tt)
    ph = draw_phases(tt, hp, 6, 4)
    h = tt.pattern_headway[hp]
    ph1, ph2 = ph[:, h == H1][:, 0], ph[:, h == H2][:, 0]
    possible = set()
    for d in DEPARTURE + 60 * np.arange(5):
        at_c = next_vehicle(next_vehicle(d, START, ph1, H1) + R + SLACK, START, ph2, H2) + R
        possible |= set((at_c - d).tolist())
    # the journey's time: the rides' brute force plus the walks at both ends (0 here)
    assert set(heads["travel_time_s"].round().tolist()) <= possible
    points = pd.DataFrame({"lon": [a[0], c[0]], "lat": [a[1], c[1]]})
    use = route_usage(net, points.iloc[[0]], points.iloc[[1]], **kw)
    boardings = dict(zip(use.routes["route"], use.routes["boardings"], strict=True))
    assert boardings["1"] == pytest.approx(1.0) and boardings["2"] == pytest.approx(1.0)
    with pytest.raises(ParameterError, match=r"journeys takes boarding='random' or 'scheduled'"):
        journeys(net, a, c, departure=DEPARTURE, boarding="half_headway")


def test_a_scenario_keeps_the_phases_of_the_lines_it_leaves_alone(tmp_path):
    """A new line far from lines 1 and 2: with random boarding, the same seed draws the
    same phases for them in the baseline and the scenario (a phase is a function of
    the entry, not of its position), so the times to B and C are bitwise equal."""
    from connectivity.scenarios.apply import apply_scenario
    from connectivity.scenarios.modifications import AddLine

    net, stop = feed(tmp_path)
    lon = net.streets.nodes["lon"].to_numpy()
    lat = net.streets.nodes["lat"].to_numpy()
    line = AddLine(name="X", stops=[(lon[3], lat[3]), (lon[12], lat[12])], headway=300,
                   speed=20, follow_streets=False)  # fmt: skip
    scen = apply_scenario(net, line)
    assert scen.timetable.n_patterns > net.timetable.n_patterns
    kw = dict(window=600, boarding="random", draws=10, seed=9)
    before, after = times(net, **kw), times(scen, **kw)
    for s in ("B", "C"):
        j = scen.timetable.stop_index(s)
        assert before.stops[:, stop[s]].tobytes() == after.stops[:, j].tobytes(), s


def test_scenario_lines_with_a_headway_are_headway_based(tmp_path):
    """AddLine(headway=...) and ChangeFrequency(headway=...) make headway-based entries
    (one per direction and period), which write_gtfs writes as frequencies.txt rows
    with exact_times=0 and which load back as the same entries; departures given one by
    one stay a timetable."""
    import zipfile

    from connectivity.scenarios.apply import apply_scenario
    from connectivity.scenarios.modifications import AddLine, ChangeFrequency
    from connectivity.transit.write import write_gtfs

    net, _ = feed(tmp_path)
    lon = net.streets.nodes["lon"].to_numpy()
    lat = net.streets.nodes["lat"].to_numpy()
    ends = [(lon[3], lat[3]), (lon[12], lat[12])]
    line = AddLine(name="X", stops=ends, headway=300, span=("07:00", "09:00"), speed=20,
                   follow_streets=False)  # fmt: skip
    scen = apply_scenario(net, [line, ChangeFrequency(["3"], headway=600)])
    tt = scen.timetable
    hp = headway_patterns(tt)
    route = tt.routes["route_id"].astype(str).to_numpy()[tt.pattern_route[hp]]
    got = sorted(
        zip(
            route.tolist(),
            tt.pattern_headway[hp].tolist(),
            tt.pattern_end[hp].tolist(),
            strict=True,
        )
    )
    last3 = 8 * 3600 + 180 + 1800  # route 3: 08:03 every 10 min to 08:41: the last 08:33
    assert got == [("1", H1, END), ("2", H2, END), ("3", 600, last3 + 1),
                   ("X", 300, 9 * 3600), ("X", 300, 9 * 3600)]  # fmt: skip
    timed = apply_scenario(net, AddLine(name="Y", stops=ends, departures=["07:00", "07:30"],
                                        speed=20, follow_streets=False))  # fmt: skip
    assert len(headway_patterns(timed.timetable)) == 2  # lines 1 and 2 only
    out = write_gtfs(tt, tmp_path / "scen.zip")
    text = zipfile.ZipFile(out).read("frequencies.txt").decode()
    assert text.count(",0\n") == 5 and "07:00:00,09:00:00,300,0" in text
    back = load_timetable(out, date=tt.date)
    hb = headway_patterns(back)
    assert sorted(back.pattern_headway[hb].tolist()) == sorted(tt.pattern_headway[hp].tolist())
    assert back.n_trips == tt.n_trips


def test_scaling_a_frequency_keeps_its_kind_of_trips(tmp_path):
    """ChangeFrequency(scale=...) on a headway-based line makes an entry again, over the
    same span, every headway / scale (before, its trips came back as a timetable); on
    a scheduled line the new trips stay timed. Counted by hand."""
    from connectivity.scenarios.apply import apply_scenario
    from connectivity.scenarios.modifications import ChangeFrequency

    net, _ = feed(tmp_path)
    tt = apply_scenario(net, ChangeFrequency(["1", "3"], scale=2)).timetable
    trips = tt.trips
    route = tt.routes["route_id"].astype(str).to_numpy()[trips["route"].to_numpy()]
    line1 = trips[route == "1"]
    assert (line1["headway_entry"] >= 0).all() and (line1["exact_times"] == 0).all()
    assert set(line1["headway"]) == {H1 // 2} and set(line1["headway_end"]) == {END}
    assert len(line1) == (END - START) // (H1 // 2)  # 06:00-12:00 every 5 min: 72
    hp = headway_patterns(tt)
    routes = tt.routes["route_id"].astype(str).to_numpy()[tt.pattern_route[hp]]
    assert sorted(zip(routes.tolist(), tt.pattern_headway[hp].tolist(), strict=True)) == [
        ("1", H1 // 2), ("2", H2)
    ]  # fmt: skip
    line3 = trips[route == "3"]
    assert (line3["headway_entry"] < 0).all()  # timed, as the line was
    # 08:03, 08:20, 08:41 at twice the service: a departure halfway through each gap.
    first = tt.stop_times().groupby("trip")["departure"].min()
    deps = sorted(int(first[t]) for t in line3.index)
    base = 8 * 3600
    assert deps == [base + 180, base + 690, base + 1200, base + 1830, base + 2460]
    # Routed with random phases, the faster line 1 reaches B sooner at the median.
    b = tt.stop_index("B")
    kw = dict(window=1800, boarding="random", draws=20, seed=1)
    after = times(apply_scenario(net, ChangeFrequency(["1"], scale=2)), **kw)
    before = times(net, **kw)
    assert np.median(after.stops[:, b]) < np.median(before.stops[:, b])


def test_the_same_service_written_two_ways_draws_the_same_phases(tmp_path):
    """A line every 10 min changed to peak-only by ChangeFrequency(headways=...), and
    the same peak-only line written as AddLine(headways=...): the same trips under the
    same names, so the same phases and bitwise the same travel times (the X1 example's
    two peak-only variants differed by 17% in people newly within 45 min, from the
    phases alone)."""
    from connectivity.scenarios.apply import apply_scenario
    from connectivity.scenarios.modifications import AddLine, ChangeFrequency

    net, _ = feed(tmp_path)
    lon = net.streets.nodes["lon"].to_numpy()
    lat = net.streets.nodes["lat"].to_numpy()
    kw = dict(stops=[(lon[3], lat[3]), (lon[12], lat[12])], speed=20, follow_streets=False)
    peaks = {"07:00-09:00": 600, "16:00-18:00": 600}
    changed = apply_scenario(
        net, [AddLine("X", headway=1200, **kw), ChangeFrequency(["X"], headways=peaks)]
    )
    written = apply_scenario(net, AddLine("X", headways=peaks, **kw))
    a, b = changed.timetable.trips, written.timetable.trips
    xa = a[a["route_id"].astype(str) == "X"] if "route_id" in a else a
    xb = b[b["route_id"].astype(str) == "X"] if "route_id" in b else b
    assert len(xa) == 2 * (12 + 12) and sorted(xa["trip_id"]) == sorted(xb["trip_id"])
    assert sorted(xa["gtfs_trip_id"]) == sorted(xb["gtfs_trip_id"])
    opts = dict(window=1800, boarding="random", draws=10, seed=3)
    for when in (7 * 3600 + 300, 16 * 3600):
        ta = times(changed, departure=when, **opts)
        tb = times(written, departure=when, **opts)
        assert ta.nodes.tobytes() == tb.nodes.tobytes()
