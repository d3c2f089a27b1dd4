"""The all-origins surface against per-origin travel_times, reduced here independently
(nearest-rank percentile by sorting, weights summed in Python), on a synthetic town with
buses and, where present, on Rhine-Neckar."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from connectivity import accessibility_surface, build_network, travel_times
from connectivity._errors import ParameterError
from connectivity.streets.graph import StreetNetwork

CRS = "EPSG:32632"
N = 15  # N x N grid, 150 m apart
STEP = 150.0
START = 8 * 3600


def _town():
    from connectivity import Timetable

    idx = np.arange(N * N).reshape(N, N)
    u, v = [], []
    for i in range(N):
        for j in range(N):
            for di, dj in ((0, 1), (1, 0)):
                if i + di < N and j + dj < N:
                    u += [idx[i, j], idx[i + di, j + dj]]
                    v += [idx[i + di, j + dj], idx[i, j]]
    length = np.full(len(u), STEP)
    x = 461_000.0 + STEP * np.tile(np.arange(N), N)
    y = 5_481_000.0 + STEP * np.repeat(np.arange(N), N)
    walk = StreetNetwork.from_arrays(
        x=x, y=y, u=u, v=v, length=length, time=length / (5 / 3.6), mode="walk", crs=CRS
    )
    lines = [idx[2, :], idx[:, 7], idx[12, ::-1], np.diag(idx)]
    stop_nodes = sorted({int(n) for line in lines for n in line[::2]})
    stops = pd.DataFrame(
        {
            "stop_id": [f"s{n}" for n in stop_nodes],
            "stop_name": [f"Stop {n}" for n in stop_nodes],
            "lon": walk.nodes["lon"].to_numpy()[stop_nodes],
            "lat": walk.nodes["lat"].to_numpy()[stop_nodes],
        }
    )
    pos = {n: k for k, n in enumerate(stop_nodes)}
    rng = np.random.default_rng(3)
    trips, rows = [], []
    for r, line in enumerate(lines):
        seq = [pos[int(n)] for n in line[::2]]
        for direction in (seq, seq[::-1]):
            t0 = START - 1800 + int(rng.integers(0, 300))
            while t0 < START + 2 * 3600:
                t = len(trips)
                trips.append({"trip_id": f"t{t}", "route": r})
                at = t0
                for k, s in enumerate(direction):
                    rows.append((t, s, k, at, at + 20))
                    at += 20 + int(rng.integers(40, 90))
                t0 += int(rng.integers(360, 900))
    routes = pd.DataFrame({"route_id": [f"L{r}" for r in range(len(lines))], "route_type": 3})
    stop_times = pd.DataFrame(
        rows, columns=["trip", "stop", "stop_sequence", "arrival", "departure"]
    )
    tt = Timetable.from_frames(
        stops, routes, pd.DataFrame(trips), stop_times, date=dt.date(2024, 5, 6)
    )
    return walk, build_network(walk, tt)


@pytest.fixture(scope="module")
def town():
    return _town()


def reference(network, lon, lat, weights, cutoffs, percentile, window):
    times = travel_times(network, (lon, lat), departure=START, window=window).nodes
    ordered = np.sort(times, axis=0)
    if percentile == "min":
        per_node = ordered[0]
    else:
        q = 50.0 if percentile == "median" else float(percentile)
        per_node = ordered[max(int(np.ceil(q / 100 * len(times))) - 1, 0)]
    return [sum(w for w, t in zip(weights, per_node, strict=True) if t <= c) for c in cutoffs]


@pytest.mark.parametrize("percentile", ["min", 50, 80])
def test_surface_equals_per_origin_travel_times(town, percentile):
    walk, network = town
    rng = np.random.default_rng(11)
    weights = rng.integers(0, 50, walk.n_nodes).astype(float)
    weights[rng.random(walk.n_nodes) < 0.3] = 0
    cutoffs = (600, 900, 1200)
    surface = accessibility_surface(
        network, weights, departure=START, window=3600, cutoffs=cutoffs, percentile=percentile
    )
    frame = surface.frame
    assert list(frame["origin"]) == list(range(walk.n_nodes))
    sample = rng.choice(walk.n_nodes, 200, replace=False)
    lon, lat = walk.nodes["lon"].to_numpy(), walk.nodes["lat"].to_numpy()
    got = frame[["access_600", "access_900", "access_1200"]].to_numpy()
    for o in sample:
        expected = reference(network, lon[o], lat[o], weights, cutoffs, percentile, 3600)
        assert got[o].tolist() == expected, o
    # the values differ between origins and grow with the cutoff
    assert len(np.unique(got[:, 1])) > 10
    assert (got[:, 0] <= got[:, 1]).all() and (got[:, 1] <= got[:, 2]).all()
    # the raster: one cell per node here (cell 100 m, nodes 150 m apart)
    assert surface.raster.shape[0] == 3
    assert np.nansum(surface.raster[1]) == pytest.approx(got[:, 1].sum())


def test_processes_and_dask_give_the_same_surface(town):
    walk, network = town
    weights = np.ones(walk.n_nodes)
    kw = {"departure": START, "window": 1200, "cutoffs": (900,), "percentile": 50}
    one = accessibility_surface(network, weights, **kw)
    two = accessibility_surface(network, weights, n_jobs=2, batch=40, **kw)
    pytest.importorskip("distributed")
    dask = accessibility_surface(network, weights, n_jobs=2, scheduler="local", batch=40, **kw)
    assert one.frame["access_900"].tolist() == two.frame["access_900"].tolist()
    assert one.frame["access_900"].tolist() == dask.frame["access_900"].tolist()


def test_grid_origins_and_decay(town, tmp_path):
    walk, network = town
    weights = np.ones(walk.n_nodes)
    surface = accessibility_surface(
        network, weights, origins="grid", cell=300, departure=START, window=None, cutoffs=(900,)
    )
    # 15 x 15 nodes 150 m apart: cells of 300 m cover them in an 8 x 8 (or 9 x 9) block
    x, y = walk.nodes["x"].to_numpy(), walk.nodes["y"].to_numpy()
    cells = {(int(a // 300), int(b // 300)) for a, b in zip(x, y, strict=True)}
    assert len(surface.frame) == len(cells)
    row = surface.frame.iloc[0]
    assert (
        row["access_900"]
        == reference(network, row["lon"], row["lat"], weights, (900,), "min", None)[0]
    )
    surface.to_geotiff(tmp_path / "s.tif")
    import rasterio

    with rasterio.open(tmp_path / "s.tif") as src:
        assert src.count == 1 and src.res == (300.0, 300.0)
        np.testing.assert_array_equal(src.read(1), surface.raster[0])
    from connectivity import gravity_accessibility

    decayed = accessibility_surface(
        network,
        weights,
        origins=surface.frame.head(5),
        departure=START,
        window=600,
        decay={"decay": "exponential", "beta": 0.003},
        percentile="median",
    )
    times = travel_times(
        network, (surface.frame["lon"][0], surface.frame["lat"][0]), departure=START, window=600
    ).nodes
    median = np.sort(times, axis=0)[4]
    expected = gravity_accessibility(median, weights, decay="exponential", beta=0.003)
    assert decayed.frame["access"][0] == pytest.approx(expected, rel=1e-12)


def test_surface_errors(town):
    walk, network = town
    w = np.ones(walk.n_nodes)
    with pytest.raises(ParameterError, match="exactly one of cutoffs= .* and decay="):
        accessibility_surface(network, w, departure=START)
    with pytest.raises(ParameterError, match="one weight per node"):
        accessibility_surface(network, w[:3], departure=START, cutoffs=(60,))
    with pytest.raises(ParameterError, match="origins='everywhere'"):
        accessibility_surface(network, w, origins="everywhere", departure=START, cutoffs=(60,))
    with pytest.raises(ParameterError, match="cell must be a positive"):
        accessibility_surface(network, w, origins="grid", cell=0, departure=START, cutoffs=(60,))
    with pytest.raises(ParameterError, match=r"unknown routing option\(s\) max_time"):
        accessibility_surface(network, w, departure=START, cutoffs=(60,), max_time=60)
    with pytest.raises(ParameterError, match=r"percentile must be in \(0, 100\]"):
        accessibility_surface(network, w, departure=START, cutoffs=(60,), percentile=120)


@pytest.mark.integration
def test_rhine_neckar_surface_equals_travel_times_at_200_origins():
    from conftest import shared_data

    from connectivity import load_streets, load_timetable

    pbf = shared_data("rhein-neckar/rnv.osm.pbf")
    gtfs = shared_data("rhein-neckar/rnv_gtfs.zip")
    walk = load_streets(pbf, mode="walk")
    network = build_network(walk, load_timetable(gtfs, date="2016-11-22"))
    rng = np.random.default_rng(5)
    weights = np.where(rng.random(walk.n_nodes) < 0.05, rng.integers(1, 100, walk.n_nodes), 0)
    weights = weights.astype(float)
    sample = rng.choice(walk.n_nodes, 200, replace=False)
    import geopandas as gpd

    points = gpd.GeoDataFrame(
        {"id": sample},
        geometry=gpd.points_from_xy(
            walk.nodes["lon"].to_numpy()[sample], walk.nodes["lat"].to_numpy()[sample]
        ),
        crs="EPSG:4326",
    )
    cutoffs = (1800, 2700, 3600)
    surface = accessibility_surface(
        network, weights, origins=points, departure=START, window=600, cutoffs=cutoffs,
        percentile=50, n_jobs=2,
    )  # fmt: skip
    got = surface.frame[[f"access_{c}" for c in cutoffs]].to_numpy()
    lon, lat = walk.nodes["lon"].to_numpy(), walk.nodes["lat"].to_numpy()
    nz = np.flatnonzero(weights)
    for k, o in enumerate(sample):
        times = travel_times(network, (lon[o], lat[o]), departure=START, window=600).nodes
        median = np.sort(times[:, nz], axis=0)[4]
        assert got[k].tolist() == [float(weights[nz][median <= c].sum()) for c in cutoffs]
    assert got[:, 2].max() > got[:, 0].min()
