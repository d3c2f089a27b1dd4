"""Tests of connectivity.accessibility.indicators: core-periphery indicators on a hand-made agglomeration."""

from __future__ import annotations

import csv
import math

import geopandas as gpd
import numpy as np
import pytest
from conftest import shared_data
from shapely.geometry import box

from connectivity import OutsideNetworkError, ParameterError
from connectivity.accessibility.indicators import (
    CoreTimes,
    core_periphery,
    core_times,
    distance_profile,
    report_text,
    write_indicators,
    write_report,
)
from connectivity.accessibility.zones import read_core, ring_zones, zone_of_nodes
from connectivity.streets.graph import StreetNetwork

CRS = "EPSG:32632"
CX, CY = 461_000.0, 5_481_000.0
INF = math.inf

# The agglomeration: a core town and three satellite towns 10 km east, north and west.
#          index: name  (x, y offset in m)   population
NODES = [
    ("C0", (0, 0), 80),
    ("C1", (500, 0), 60),
    ("C2", (0, 500), 60),
    ("E0", (10_000, 0), 10),
    ("E1", (10_500, 0), 15),
    ("E2", (11_000, 0), 35),
    ("N0", (0, 10_000), 5),
    ("N1", (0, 10_500), 5),
    ("N2", (500, 10_000), 40),
    ("W0", (-10_000, 0), 1),
    ("W1", (-10_500, 0), 2),
    ("W2", (-10_000, 500), 3),
    ("F", (20_000, 20_000), 7),  # a farm outside every zone, reached by no road
]
IDX = {name: i for i, (name, _, _) in enumerate(NODES)}
POP = np.array([p for _, _, p in NODES], float)
LOCAL = [("C0", "C1"), ("C0", "C2"), ("E0", "E1"), ("E1", "E2"), ("N0", "N1"), ("N0", "N2"),
         ("W0", "W1"), ("W0", "W2")]  # fmt: skip


def _network(mode: str) -> StreetNetwork:
    """Local streets 500 m (drive 60 s, walk 360 s); highways 10 km: C-E drive 600 s
    both ways; C->N 600 s but N->C 900 s (a one-way detour); C-W walkable only."""
    u, v, length, time = [], [], [], []

    def add(a, b, metres, seconds):
        u.append(IDX[a])
        v.append(IDX[b])
        length.append(metres)
        time.append(seconds)

    walk = mode == "walk"
    for a, b in LOCAL:
        add(a, b, 500, 360 if walk else 60)
        add(b, a, 500, 360 if walk else 60)
    add("C0", "E0", 10_000, 7200 if walk else 600)
    add("E0", "C0", 10_000, 7200 if walk else 600)
    add("C0", "N0", 10_000, 7200 if walk else 600)
    add("N0", "C0", 10_000, 7200 if walk else 900)
    if walk:
        add("C0", "W0", 10_000, 7200)
        add("W0", "C0", 10_000, 7200)
    xy = np.array([offset for _, offset, _ in NODES], float)
    return StreetNetwork.from_arrays(
        x=CX + xy[:, 0], y=CY + xy[:, 1], u=u, v=v, length=length, time=time, mode=mode, crs=CRS
    )


def _zones() -> gpd.GeoDataFrame:
    squares = {
        "Core": (-1000, -1000, 1000, 1000),
        "East": (9000, -1000, 12_000, 1000),
        "North": (-1000, 9000, 1000, 11_000),
        "West": (-11_000, -1000, -9000, 1000),
    }
    return gpd.GeoDataFrame(
        {"name": list(squares)},
        geometry=[box(CX + a, CY + b, CX + c, CY + d) for a, b, c, d in squares.values()],
        crs=CRS,
    ).to_crs("EPSG:4326")


def _core():
    return read_core(
        gpd.GeoSeries.from_xy([CX], [CY], crs=CRS).to_crs("EPSG:4326").iloc[0], name="C"
    )


# Hand-computed times per node, in NODES order.
CAR_FROM = [0, 60, 60, 600, 660, 720, 600, 660, 660, INF, INF, INF, INF]
CAR_TO = [0, 60, 60, 600, 660, 720, 900, 960, 960, INF, INF, INF, INF]
WALK = [0, 360, 360, 7200, 7560, 7920, 7200, 7560, 7560, 7200, 7560, 7560, INF]


def test_core_times_follow_one_way_streets():
    drive = _network("drive")
    car = core_times(drive, _core())
    assert car.fixed
    np.testing.assert_array_equal(car.at("from_core"), CAR_FROM)
    np.testing.assert_array_equal(car.at("to_core"), CAR_TO)
    np.testing.assert_array_equal(car.at("to_core", 90), CAR_TO)  # fixed: every percentile
    walk = core_times(_network("walk"), _core())
    np.testing.assert_array_equal(walk.at("from_core"), WALK)
    np.testing.assert_array_equal(walk.at("to_core"), WALK)


def test_core_times_on_another_network_take_the_nearest_node():
    drive = _network("drive")
    xy = np.array([offset for _, offset, _ in NODES], float)
    # A finer network: every node twice, 40 m and 80 m east of the drive nodes.
    other = StreetNetwork.from_arrays(
        x=np.r_[CX + xy[:, 0] + 40, CX + xy[:, 0] + 80],
        y=np.r_[CY + xy[:, 1], CY + xy[:, 1]],
        u=[0],
        v=[1],
        length=[40.0],
        speed_kmh=5,
        crs=CRS,
    )
    car = core_times(drive, _core(), on=other)
    assert car.n_nodes == 2 * len(NODES)
    np.testing.assert_array_equal(car.at("to_core"), CAR_TO + CAR_TO)
    with pytest.raises(OutsideNetworkError, match="core"):
        core_times(drive, (52.5, 13.4))


def test_core_periphery_equals_hand_computed_values():
    drive, walk = _network("drive"), _network("walk")
    core = _core()
    # A transit-like mode over four departures: the car time plus a wait of 0, 2, 4, 10 min.
    waits = np.array([0, 120, 240, 600], float)[:, None]
    bus = CoreTimes.from_arrays(
        np.array(CAR_FROM)[None, :] + waits,
        np.array(CAR_TO)[None, :] + waits,
        percentiles=(25, 75),
    )
    jobs = np.array([10.0 * i for i in range(len(NODES))])
    jobs[IDX["W1"]] = INF  # unreached: left out of the mean
    out = core_periphery(
        walk,
        _zones(),
        times={"car": core_times(drive, core, on=walk), "walk": core_times(walk, core), "bus": bus},
        population=POP,
        percentiles=(25, 75),
        cutoffs=(600, 900, 7200),
        ratio=("walk", "car"),
        accessibility={"jobs": jobs},
    )
    assert out.crs == "EPSG:4326"
    assert out["name"].tolist() == ["Core", "East", "North", "West"]
    assert out["nodes"].tolist() == [3, 3, 3, 3]
    assert out["population"].tolist() == [200, 60, 50, 6]
    # Weighted medians: Core (80, 60, 60) at (0, 60, 60) -> 60; East (10, 15, 35) at
    # (600, 660, 720) -> 720; North (5, 5, 40): from (600, 660, 660) -> 660, to
    # (900, 960, 960) -> 960; West unreachable by car.
    assert out["car_from_core_p50"].tolist() == [60, 720, 660, INF]
    assert out["car_to_core_p50"].tolist() == [60, 720, 960, INF]
    assert out["car_to_core_p75"].tolist() == [60, 720, 960, INF]
    # West (1, 2, 3) at (7200, 7560, 7560): 3 of 6 within 7560 -> 7560.
    assert out["walk_to_core_p50"].tolist() == [360, 7920, 7560, 7560]
    # Per node, of four departures: p25 the 1st, p50 the 2nd, p75 the 3rd.
    assert out["bus_to_core_p25"].tolist() == [60, 720, 960, INF]
    assert out["bus_to_core_p50"].tolist() == [180, 840, 1080, INF]
    assert out["bus_to_core_p75"].tolist() == [300, 960, 1200, INF]
    assert out["bus_from_core_p50"].tolist() == [180, 840, 780, INF]
    assert out["car_share_10min"].tolist() == [1.0, 10 / 60, 0.0, 0.0]
    assert out["car_share_15min"].tolist() == [1.0, 1.0, 5 / 50, 0.0]
    assert out["car_share_120min"].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert out["walk_share_10min"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert out["walk_share_120min"].tolist() == [1.0, 10 / 60, 5 / 50, 1 / 6]
    # Bus medians per node: car + 120 s; East (720, 780, 840), North (1020, 1080, 1080).
    assert out["bus_share_15min"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert out["bus_share_10min"].tolist() == [1.0, 0.0, 0.0, 0.0]
    ratio_to = out["walk_car_ratio_to_core"].tolist()
    assert ratio_to[:3] == [6.0, 11.0, 7560 / 960] and math.isnan(ratio_to[3])
    assert out["walk_car_ratio_from_core"].tolist()[:3] == [6.0, 11.0, 7560 / 660]
    expected_jobs = [
        (0 * 80 + 10 * 60 + 20 * 60) / 200,
        (30 * 10 + 40 * 15 + 50 * 35) / 60,
        (60 * 5 + 70 * 5 + 80 * 40) / 50,
        (90 * 1 + 110 * 3) / 4,
    ]
    assert out["access_jobs"].tolist() == pytest.approx(expected_jobs)


def test_transit_over_car_ratio_is_infinite_where_transit_never_arrives():
    drive = _network("drive")
    car = core_times(drive, _core())
    never = np.full(len(NODES), INF)
    never[:3] = [0, 100, 100]
    transit = CoreTimes.from_arrays(never, never)
    out = core_periphery(
        drive, _zones(), times={"transit": transit, "car": car}, population=POP, cutoffs=[1800]
    )
    assert out["transit_car_ratio_to_core"].tolist()[:2] == [100 / 60, INF]


def test_rings_without_population_count_nodes():
    drive = _network("drive")
    core = _core()
    # Ring borders at 10.25 and 20.5 km keep clear of the nodes (10, 10.01, 10.5, 11 km).
    rings = ring_zones(core, network=drive, every_km=10.25)
    out = core_periphery(drive, rings, times={"car": core_times(drive, core)}, cutoffs=[900])
    assert out["name"].tolist() == ["0-10.25 km", "10.25-20.5 km", "20.5-30.75 km"]
    # C0 C1 C2 E0 N0 N2 W0 W2 | E1 E2 N1 W1 | F
    assert out["nodes"].tolist() == [8, 4, 1]
    assert out["population"].tolist() == [8, 4, 1]
    # Unweighted: from (0, 60, 60, 600, 600, 660, inf, inf) -> the 4th, 600;
    # to (0, 60, 60, 600, 900, 960, inf, inf) -> 600; from (660, 720, 660, inf) -> 660;
    # to (660, 720, 960, inf) -> 720.
    assert out["car_from_core_p50"].tolist() == [600, 660, INF]
    assert out["car_to_core_p50"].tolist() == [600, 720, INF]
    assert out["car_share_15min"].tolist() == [5 / 8, 2 / 4, 0.0]


def test_distance_profile_bins():
    drive = _network("drive")
    car = core_times(drive, _core())
    # Bins of 4 km keep clear of the nodes' distances (0, 0.5, 10 to 11, 28.3 km).
    profile = distance_profile(drive, _core(), {"car": car}, bin_km=4, population=POP)
    assert profile["from_km"].tolist() == [0, 8, 28]
    assert profile["nodes"].tolist() == [3, 9, 1]
    assert profile["population"].tolist() == [200, 116, 7]
    # 8-12 km, weights (10, 15, 35, 5, 5, 40, 1, 2, 3) at (600, 660, 720, 900, 960, 960,
    # inf x 3): cumulative 10, 25, 60, 65, 70, 110, ... of 116.
    row = profile.iloc[1]
    assert (row["car_p25"], row["car_p50"], row["car_p75"]) == (720, 720, 960)
    assert row["car_reached"] == pytest.approx(110 / 116)
    assert profile.iloc[2]["car_reached"] == 0.0
    brute = []
    for i, (_, (dx, dy), _) in enumerate(NODES):
        if 8_000 <= math.hypot(dx, dy) < 12_000:
            brute.append((CAR_TO[i], POP[i]))
    assert sum(p for _, p in brute) == 116
    from_core = distance_profile(drive, _core(), {"car": car}, bin_km=4, direction="from_core")
    assert from_core.iloc[1]["car_p50"] == 660  # unweighted: 9 nodes, 5th smallest


def test_outputs_csv_geojson_and_report(tmp_path):
    drive = _network("drive")
    car = core_times(drive, _core())
    walk = core_times(_network("walk"), _core())
    out = core_periphery(
        drive,
        _zones(),
        times={"walk": walk, "car": car},
        population=POP,
        cutoffs=(900, 7200),
        ratio=("walk", "car"),
    )
    zones_file = tmp_path / "towns.geojson"
    # A string column before the names: the zones are still named by "name".
    _zones().assign(code=["c", "e", "n", "w"])[["code", "name", "geometry"]].to_file(zones_file)
    from_file = core_periphery(
        drive,
        str(zones_file),
        times={"walk": walk, "car": car},
        population=POP,
        cutoffs=(900, 7200),
        ratio=("walk", "car"),
    )
    assert from_file["car_to_core_p50"].tolist() == out["car_to_core_p50"].tolist()
    assert from_file["name"].tolist() == out["name"].tolist()
    assert from_file["code"].tolist() == ["c", "e", "n", "w"]
    zones_file.unlink()
    path = write_indicators(out, tmp_path / "zones.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["Core", "East", "North", "West"]
    assert "geometry" not in rows[0]
    assert float(rows[2]["car_to_core_p50"]) == 960
    assert rows[3]["car_to_core_p50"] == "inf"
    back = gpd.read_file(write_indicators(out, tmp_path / "zones.geojson"))
    assert back["population"].tolist() == [200, 60, 50, 6]
    assert back["car_to_core_p50"].tolist()[:3] == [60, 720, 960]
    assert math.isnan(back["car_to_core_p50"].iloc[3])  # inf written as null
    assert back.geometry.geom_type.eq("Polygon").all()
    back = gpd.read_file(write_indicators(out, tmp_path / "zones.gpkg"))
    assert back["name"].tolist() == ["Core", "East", "North", "West"]
    assert back["car_to_core_p50"].tolist()[:3] == [60, 720, 960]
    assert math.isnan(back["car_to_core_p50"].iloc[3])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "zones.csv",
        "zones.geojson",
        "zones.gpkg",
    ]
    text = report_text(out)
    assert text.startswith("Core-periphery indicators: 4 zones, population 316\n")
    north = next(line for line in text.splitlines() if line.startswith("- North"))
    assert "population 50 (3 nodes)" in north
    assert "car to core 16 min, from core 11 min (10% within 15min, 100% within 120min)" in north
    assert "walk/car time ratio to core 7.88" in north
    west = next(line for line in text.splitlines() if line.startswith("- West"))
    assert "car to core unreached" in west and "ratio" not in west
    report = write_report(out, tmp_path / "report.txt")
    assert report.read_text() == text
    with pytest.raises(ParameterError, match="use a .csv, .geojson or .gpkg"):
        write_indicators(out, tmp_path / "zones.xlsx")
    profile = distance_profile(drive, _core(), {"car": car})
    with pytest.raises(ParameterError, match="needs geometries"):
        write_indicators(profile, tmp_path / "profile.geojson")


def test_errors():
    drive = _network("drive")
    car = core_times(drive, _core())
    zones = _zones()
    with pytest.raises(ParameterError, match="times is empty"):
        core_periphery(drive, zones, times={})
    with pytest.raises(ParameterError, match="give CoreTimes"):
        core_periphery(drive, zones, times={"car": np.zeros(len(NODES))})
    short = CoreTimes.from_arrays(np.zeros(4), np.zeros(4))
    with pytest.raises(ParameterError, match="covers 4 nodes but the drive network has 13"):
        core_periphery(drive, zones, times={"car": short})
    with pytest.raises(ParameterError, match="population has shape"):
        core_periphery(drive, zones, times={"car": car}, population=[1, 2])
    with pytest.raises(ParameterError, match="population must be finite and >= 0"):
        core_periphery(drive, zones, times={"car": car}, population=-POP)
    with pytest.raises(ParameterError, match="cutoffs must be seconds"):
        core_periphery(drive, zones, times={"car": car}, cutoffs=[-1])
    with pytest.raises(ParameterError, match="percentiles must lie in 0..100"):
        core_periphery(drive, zones, times={"car": car}, percentiles=[150])
    with pytest.raises(ParameterError, match="for 3 nodes but to_core for 2"):
        CoreTimes.from_arrays(np.zeros(3), np.zeros(2))
    with pytest.raises(ParameterError, match="1-D.*2-D"):
        CoreTimes.from_arrays(np.zeros((2, 2, 2)), np.zeros(2))
    with pytest.raises(ParameterError, match="NaN times: use inf"):
        CoreTimes.from_arrays([0, np.nan], [0, 0])
    with pytest.raises(ParameterError, match="negative times"):
        CoreTimes.from_arrays([0, -5], [0, 0])
    with pytest.raises(ParameterError, match="must hold the median"):
        CoreTimes.from_arrays({25: np.zeros(2)}, np.zeros(2))
    with pytest.raises(ParameterError, match="no departures"):
        CoreTimes.from_arrays(np.zeros((0, 3)), np.zeros(3))
    window = CoreTimes.from_arrays(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ParameterError, match="hold percentiles 50, not 90"):
        window.at("to_core", 90)
    with pytest.raises(ParameterError, match="direction must be one of"):
        window.at("around_core")
    # One time per node one way, a window the other way: the single time holds at
    # every percentile of the window.
    mixed = CoreTimes.from_arrays([5.0, 7.0], [[1.0, 2.0], [3.0, 4.0]], percentiles=(25, 75))
    assert not mixed.fixed
    assert mixed.at("from_core", 25).tolist() == mixed.at("from_core", 75).tolist() == [5, 7]
    assert mixed.at("to_core", 25).tolist() == [1, 2] and mixed.at("to_core", 75).tolist() == [3, 4]
    with pytest.raises(ParameterError, match="bin_km must be a positive"):
        distance_profile(drive, _core(), {"car": car}, bin_km=0)
    with pytest.raises(ParameterError, match="times\\['car'\\] has shape"):
        distance_profile(drive, _core(), {"car": np.zeros(2)})


@pytest.mark.integration
def test_rhine_neckar_rings_by_car():
    from connectivity.streets.load import load_streets

    drive = load_streets(shared_data("rhein-neckar/rnv.osm.pbf"), mode="drive")
    core = read_core("49.4794,8.4694", name="Mannheim Hbf")
    rings = ring_zones(core, network=drive, every_km=5)
    car = core_times(drive, core)
    out = core_periphery(drive, rings, times={"car": car}, cutoffs=(900, 1800, 2700))
    zone = zone_of_nodes(drive, rings)
    # Every node lies in some ring (the rings reach the farthest node).
    assert (zone >= 0).all()
    assert out["nodes"].sum() == drive.n_nodes
    # Unweighted medians per ring, brute force over the ring's nodes.
    t = car.at("to_core")
    for z, row in out.iterrows():
        values = np.sort(t[zone == z])
        assert row["car_to_core_p50"] == values[math.ceil(len(values) / 2) - 1]
    medians = out["car_from_core_p50"].to_numpy()
    assert medians[0] < medians[2] < medians[4]  # farther rings take longer


# -- walk + transit ---------------------------------------------------------------------

# Two bus lines from the core's stop (at C0): to E0 and back, to N0 and back.
DEP_TO_E, DEP_FROM_E, RIDE_E = [28_800, 30_000, 31_200], [28_200, 29_400, 30_600, 31_800], 900
DEP_TO_N, DEP_FROM_N, RIDE_N = [29_100, 30_900], [27_900, 29_700, 31_500], 1200
#: Walk from each node to its town's stop (C0, E0, N0), seconds at 5 km/h.
WALK_TO_STOP = {"C": [0, 360, 360], "E": [0, 360, 720], "N": [0, 360, 360]}


def _bus_timetable(walk: StreetNetwork):
    import datetime as dt

    import pandas as pd

    from connectivity import Timetable

    at = [IDX["C0"], IDX["E0"], IDX["N0"]]
    stops = pd.DataFrame(
        {
            "stop_id": ["core", "east", "north"],
            "stop_name": ["Core", "East", "North"],
            "lon": walk.nodes["lon"].to_numpy()[at],
            "lat": walk.nodes["lat"].to_numpy()[at],
        }
    )
    routes = pd.DataFrame({"route_id": ["E", "N"], "route_type": [3, 3]})
    trips, rows = [], []
    for route, a, b, deps, ride in (
        (0, 0, 1, DEP_TO_E, RIDE_E),
        (0, 1, 0, DEP_FROM_E, RIDE_E),
        (1, 0, 2, DEP_TO_N, RIDE_N),
        (1, 2, 0, DEP_FROM_N, RIDE_N),
    ):
        for dep in deps:
            t = len(trips)
            trips.append({"trip_id": f"t{t}", "route": route})
            rows.append((t, a, 0, dep, dep))
            rows.append((t, b, 1, dep + ride, dep + ride))
    stop_times = pd.DataFrame(
        rows, columns=["trip", "stop", "stop_sequence", "arrival", "departure"]
    )
    return Timetable.from_frames(
        stops, routes, pd.DataFrame(trips), stop_times, date=dt.date(2024, 5, 6)
    )


def _reference_bus_times():
    """Per departure minute 08:00..08:59 (from the core) and arrival minute 08:01..09:00
    (to the core), seconds per node, from the schedules by hand: the core town walks, the
    other towns ride their line, West walks the highway, the farm is unreached."""
    minutes = range(60)
    from_core = np.full((60, len(NODES)), INF)
    to_core = np.full((60, len(NODES)), INF)
    for m in minutes:
        t0 = 28_800 + 60 * m
        arrival = 28_860 + 60 * m
        for town, deps_out, deps_in, ride in (
            ("E", DEP_TO_E, DEP_FROM_E, RIDE_E),
            ("N", DEP_TO_N, DEP_FROM_N, RIDE_N),
        ):
            out = [d for d in deps_out if d >= t0]
            back = [d for d in deps_in if d + ride <= arrival]
            for k, walk_s in enumerate(WALK_TO_STOP[town]):
                node = IDX[f"{town}{k}"]
                if out:
                    from_core[m, node] = out[0] + ride - t0 + walk_s
                if back:
                    to_core[m, node] = arrival - (back[-1] - walk_s)
        for k, walk_s in enumerate(WALK_TO_STOP["C"]):
            from_core[m, IDX[f"C{k}"]] = walk_s
            to_core[m, IDX[f"C{k}"]] = walk_s
    # Every town may walk the 10 km highway (7200 s) and its local streets: the direct
    # walk is bounded by max_time only (none here), not by the 20-minute access cap.
    walk = np.full(len(NODES), INF)
    for town, local in (("C", [-7200, -6840, -6840]), ("E", [0, 360, 720])):
        for k, s in enumerate(local):
            walk[IDX[f"{town}{k}"]] = 7200 + s
    for town in ("N", "W"):
        for k, s in enumerate([0, 360, 360]):
            walk[IDX[f"{town}{k}"]] = 7200 + s
    return np.minimum(from_core, walk), np.minimum(to_core, walk)


def _ref_median(values, weights, p=50):
    """Nearest-rank weighted percentile by a loop over sorted values."""
    pairs = sorted(zip(values, weights, strict=True))
    total = sum(weights)
    cum = 0.0
    for v, w in pairs:
        cum += w
        if cum >= p / 100 * total - 1e-9:
            return v
    return math.nan


def test_transit_core_times_match_the_schedules():
    from connectivity.accessibility.indicators import transit_core_times
    from connectivity.network.intermodal import build_network

    walk = _network("walk")
    network = build_network(walk, _bus_timetable(walk))
    transit = transit_core_times(
        network, _core(), departure=28_800, window=3600, percentiles=(25, 75)
    )
    ref_from, ref_to = _reference_bus_times()
    for p in (25, 50, 75):
        rank = math.ceil(p / 100 * 60) - 1
        # (the routing's walk from the core's own node carries ~1e-10 s of float noise)
        np.testing.assert_allclose(
            transit.at("from_core", p), np.sort(ref_from, 0)[rank], atol=1e-6
        )
        np.testing.assert_allclose(transit.at("to_core", p), np.sort(ref_to, 0)[rank], atol=1e-6)
    # By hand: E0's 30th best departure minute waits 14 minutes for the bus (900 s ride).
    assert transit.at("from_core", 50)[IDX["E0"]] == 840 + 900

    drive = _network("drive")
    car = core_times(drive, _core(), on=walk)
    out = core_periphery(
        walk,
        _zones(),
        times={"transit": transit, "car": car},
        population=POP,
        percentiles=(25, 75),
        cutoffs=(1800, 2700, 3600),
    )
    members = {"Core": "C", "East": "E", "North": "N", "West": "W"}
    for _, row in out.iterrows():
        nodes = [IDX[f"{members[row['name']]}{k}"] for k in range(3)]
        weights = [POP[i] for i in nodes]
        for direction, ref in (("from_core", ref_from), ("to_core", ref_to)):
            for p in (25, 50, 75):
                per_node = np.sort(ref, 0)[math.ceil(p / 100 * 60) - 1]
                expected = _ref_median([per_node[i] for i in nodes], weights)
                got = row[f"transit_{direction}_p{p:g}"]
                assert got == pytest.approx(expected, abs=1e-6), (row["name"], direction, p)
        median_to = np.sort(ref_to, 0)[29]
        for c in (1800, 2700, 3600):
            share = sum(POP[i] for i in nodes if median_to[i] <= c) / sum(weights)
            assert row[f"transit_share_{c // 60}min"] == pytest.approx(share)
        car_to = row["car_to_core_p50"]
        ratio = row["transit_car_ratio_to_core"]
        if math.isfinite(car_to) and car_to > 0:
            assert ratio == pytest.approx(row["transit_to_core_p50"] / car_to)
        else:
            assert math.isnan(ratio)
    # The hand-made figures: East from the core, weighted median at E2 (720 s egress).
    east = out.set_index("name").loc["East"]
    assert east["transit_from_core_p50"] == 840 + 900 + 720
    # West has no bus: it walks the highway (weighted median at W1/W2, 7200 + 360 s).
    assert out.set_index("name").loc["West", "transit_to_core_p50"] == 7200 + 360


def test_transit_accessibility_from_many_origins():
    from connectivity.accessibility.opportunities import transit_accessibility
    from connectivity.network.intermodal import build_network

    walk = _network("walk")
    network = build_network(walk, _bus_timetable(walk))
    core = _core()
    at = [IDX["C0"], IDX["C1"], IDX["E0"]]
    origins = np.column_stack([walk.nodes["lon"].to_numpy()[at], walk.nodes["lat"].to_numpy()[at]])
    cutoffs = (1500, 1800, 2400)
    one = transit_accessibility(
        network, origins, POP, cutoffs=cutoffs, departure=28_800, window=3600
    )
    two = transit_accessibility(
        network, origins, POP, cutoffs=cutoffs, departure=28_800, window=3600, n_jobs=2
    )
    np.testing.assert_array_equal(one, two)
    # From the core (C0): the per-node medians of the schedules by hand.
    ref_from, _ = _reference_bus_times()
    median = np.sort(ref_from, 0)[29]
    expected = [POP[median <= c].sum() for c in cutoffs]
    np.testing.assert_allclose(one[0], expected)
    # From C1, 360 s of walk from the core's stop: the core town by walking (C1 0 s,
    # C0 360 s, C2 720 s), the other towns by the first bus leaving the core at or
    # after t0 + 360.
    from_c1 = np.full((60, len(NODES)), INF)
    for m in range(60):
        t0 = 28_800 + 60 * m
        for town, deps, ride in (("E", DEP_TO_E, RIDE_E), ("N", DEP_TO_N, RIDE_N)):
            out = [d for d in deps if d >= t0 + 360]
            for k, walk_s in enumerate(WALK_TO_STOP[town]):
                if out:
                    from_c1[m, IDX[f"{town}{k}"]] = out[0] + ride - t0 + walk_s
        from_c1[m, [IDX["C0"], IDX["C1"], IDX["C2"]]] = [360, 0, 720]
    median_c1 = np.sort(from_c1, 0)[29]
    np.testing.assert_allclose(one[1], [POP[median_c1 <= c].sum() for c in cutoffs])
    assert one[1].tolist() != one[0].tolist()
    assert core.name == "C" and expected[0] < expected[-1]
    single = transit_accessibility(network, origins[:1], POP, cutoffs=[600], departure=28_800)
    assert single.tolist() == [[POP[:3].sum()]]  # walks only within ten minutes
    with pytest.raises(ParameterError, match="n x 2 array"):
        transit_accessibility(network, [1.0, 2.0], POP, cutoffs=[60], departure=0)
    with pytest.raises(ParameterError, match="one weight per node"):
        transit_accessibility(network, origins, POP[:3], cutoffs=[60], departure=0)
    with pytest.raises(ParameterError, match="n_jobs must be"):
        transit_accessibility(network, origins, POP, cutoffs=[60], departure=0, n_jobs=0)
