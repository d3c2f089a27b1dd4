"""Tests of connectivity.accessibility.opportunities: reading, assignment to nodes, accessibility."""

from __future__ import annotations

import csv
import logging
import math
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import shared_data
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Polygon

from connectivity import CoordinateError, InputFileError, ParameterError
from connectivity.accessibility.opportunities import (
    AssignmentReport,
    Opportunities,
    assign_opportunities,
    cumulative_accessibility,
    gravity_accessibility,
    network_accessibility,
    read_opportunities,
)
from connectivity.streets.graph import StreetNetwork

CRS = "EPSG:32632"
X0, Y0 = 460_000.0, 5_482_000.0  # top-left corner of the test raster


def _network(n: int = 300, seed: int = 3, size: float = 1500.0) -> StreetNetwork:
    """Random nodes in the west part of a 2 x 2 km square, joined in a chain."""
    rng = np.random.default_rng(seed)
    x = X0 + rng.uniform(0, size, n)
    y = Y0 - rng.uniform(0, 2000, n)
    u = np.arange(n - 1)
    v = u + 1
    return StreetNetwork.from_arrays(
        x=np.asarray(x),
        y=np.asarray(y),
        u=np.r_[u, v],
        v=np.r_[v, u],
        length=np.r_[np.hypot(x[u] - x[v], y[u] - y[v]), np.hypot(x[u] - x[v], y[u] - y[v])],
        speed_kmh=5,
        crs=CRS,
    )


def _nearest(network: StreetNetwork, px: float, py: float) -> tuple[int, float]:
    """Brute-force nearest node: a loop over every node."""
    best, best_d = -1, math.inf
    for i, (x, y) in enumerate(zip(network.nodes["x"], network.nodes["y"], strict=True)):
        d = math.hypot(x - px, y - py)
        if d < best_d:
            best, best_d = i, d
    return best, best_d


def _write_raster(path, data, *, crs=CRS, nodata=None, cell=100.0):
    import rasterio
    from affine import Affine

    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": data.dtype.name,
        "transform": Affine(cell, 0.0, X0, 0.0, -cell, Y0),
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


# -- rasters ----------------------------------------------------------------------------


def test_raster_total_is_preserved_and_assigned_to_the_nearest_node(tmp_path, caplog):
    rng = np.random.default_rng(7)
    data = rng.integers(0, 500, size=(20, 20)).astype(np.float32)
    data[rng.random((20, 20)) < 0.1] = -9999.0  # nodata cells
    path = tmp_path / "population.tif"
    _write_raster(path, data, nodata=-9999.0)
    network = _network()
    max_distance = 150.0
    with caplog.at_level(logging.WARNING, logger="connectivity.accessibility.opportunities"):
        weights, report = assign_opportunities(network, str(path), max_distance=max_distance)

    # Independently: every valid cell's centre, its nearest node by a loop.
    expected = np.zeros(network.n_nodes)
    total = assigned = 0.0
    n_cells = n_far = 0
    for row in range(20):
        for col in range(20):
            value = float(data[row, col])
            if value == -9999.0 or value == 0:
                continue
            n_cells += 1
            total += value
            node, d = _nearest(network, X0 + (col + 0.5) * 100, Y0 - (row + 0.5) * 100)
            assert abs(d - max_distance) > 1e-3  # no cell sits on the reach limit
            if d <= max_distance:
                expected[node] += value
                assigned += value
            else:
                n_far += 1
    assert 0 < n_far < n_cells  # the east of the raster lies beyond the streets
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-9)
    assert report.total == pytest.approx(total, rel=1e-12)
    assert report.assigned == pytest.approx(assigned, rel=1e-12)
    assert report.assigned + report.unassigned == pytest.approx(report.total, rel=1e-12)
    assert abs(weights.sum() - report.assigned) <= 1e-3 * report.assigned
    assert report.share_unassigned == pytest.approx((total - assigned) / total)
    assert (report.n_points, report.n_unassigned) == (n_cells, n_far)
    assert f"{n_far} of {n_cells} cells" in caplog.text


def test_raster_with_nan_nodata_and_second_band(tmp_path):
    import rasterio
    from affine import Affine

    path = tmp_path / "two.tif"
    band1 = np.array([[1.0, np.nan], [2.0, 3.0]], np.float64)
    band2 = np.array([[10.0, 20.0], [0.0, 5.0]], np.float64)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=2,
        width=2,
        count=2,
        dtype="float64",
        crs=CRS,
        transform=Affine(100.0, 0.0, X0, 0.0, -100.0, Y0),
    ) as dst:
        dst.write(band1, 1)
        dst.write(band2, 2)
    one = read_opportunities(str(path))
    assert one.kind == "raster" and one.column == "band 1"
    assert sorted(one.weight.tolist()) == [1.0, 2.0, 3.0]
    two = read_opportunities(f"{path}:2")
    assert sorted(two.weight.tolist()) == [5.0, 10.0, 20.0]
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(two.lon, two.lat)
    got = sorted(zip(np.round(x, 3), np.round(y, 3), two.weight, strict=True))
    assert got == sorted(
        [(X0 + 50, Y0 - 50, 10.0), (X0 + 150, Y0 - 50, 20.0), (X0 + 150, Y0 - 150, 5.0)]
    )
    with pytest.raises(ParameterError, match="has 2 band"):
        read_opportunities(f"{path}:3")
    with pytest.raises(ParameterError, match="band number"):
        read_opportunities(f"{path}:population")


def test_raster_errors(tmp_path):
    path = tmp_path / "nocrs.tif"
    _write_raster(path, np.ones((3, 3), np.float32), crs=None)
    with pytest.raises(CoordinateError, match="has no CRS.*gdal_edit"):
        read_opportunities(str(path))
    negative = tmp_path / "negative.tif"
    _write_raster(negative, np.full((2, 2), -1.0, np.float32))
    with pytest.raises(ParameterError, match="negative cells.*nodata"):
        read_opportunities(str(negative))
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"not a tiff")
    with pytest.raises(InputFileError, match="cannot read raster"):
        read_opportunities(str(broken))
    with pytest.raises(InputFileError, match="does not exist"):
        read_opportunities(str(tmp_path / "absent.tif"))


# -- points (CSV) and grids ------------------------------------------------------------


def _write_points_csv(path, network, rng, n=80):
    to_lonlat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    px = X0 + rng.uniform(-300, 2300, n)
    py = Y0 - rng.uniform(-300, 2300, n)
    lon, lat = to_lonlat.transform(px, py)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "Longitude", "Latitude", "jobs", "name"])
        for i in range(n):
            writer.writerow([i, f"{lon[i]:.9f}", f"{lat[i]:.9f}", int(rng.integers(0, 100)), "x"])
    return px, py


def test_points_csv_assigned_to_the_nearest_node(tmp_path):
    rng = np.random.default_rng(11)
    network = _network()
    path = tmp_path / "jobs.csv"
    _write_points_csv(path, network, rng)
    weights, report = assign_opportunities(network, f"{path}:jobs", max_distance=200)
    # A NumPy number is a number too.
    again, _ = assign_opportunities(network, f"{path}:jobs", max_distance=np.int64(200))
    np.testing.assert_array_equal(again, weights)

    to_xy = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    expected = np.zeros(network.n_nodes)
    total = 0.0
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            jobs = float(row["jobs"])
            total += jobs
            x, y = to_xy.transform(float(row["Longitude"]), float(row["Latitude"]))
            node, d = _nearest(network, x, y)
            if d <= 200 and jobs > 0:
                expected[node] += jobs
    np.testing.assert_allclose(weights, expected, atol=1e-9)
    assert report.total == total
    assert report.unassigned == total - expected.sum() > 0


def test_points_csv_errors(tmp_path):
    path = tmp_path / "jobs.csv"
    _write_points_csv(path, _network(), np.random.default_rng(1), n=5)
    with pytest.raises(ParameterError, match=r"no column 'workers'.*id, Longitude, Latitude, jobs"):
        read_opportunities(f"{path}:workers")
    with pytest.raises(ParameterError, match="which column.*jobs"):
        read_opportunities(str(path))
    with pytest.raises(ParameterError, match="'name' of .* is not numeric"):
        read_opportunities(f"{path}:name")
    with pytest.raises(ParameterError, match="two weight columns"):
        read_opportunities(f"{path}:jobs", column="id")
    flat = tmp_path / "flat.csv"
    flat.write_text("easting,northing,jobs\n1,2,3\n")
    with pytest.raises(ParameterError, match="no longitude/latitude columns.*easting, northing"):
        read_opportunities(f"{flat}:jobs")
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("lat,lon,jobs\n149.48,8.47,3\n")
    with pytest.raises(CoordinateError, match="swapped"):
        read_opportunities(f"{swapped}:jobs")
    negative = tmp_path / "negative.csv"
    negative.write_text("lon,lat,jobs\n8.47,49.48,-3\n")
    with pytest.raises(ParameterError, match="negative values"):
        read_opportunities(f"{negative}:jobs")
    with pytest.raises(InputFileError, match="does not exist"):
        read_opportunities(f"{tmp_path / 'none.csv'}:jobs")
    with pytest.raises(ParameterError, match="cannot read opportunities from int"):
        read_opportunities(3)
    with pytest.raises(ParameterError, match="max_distance must be >= 0"):
        assign_opportunities(_network(), f"{path}:jobs", max_distance=-1)


def test_grid_cells_count_at_their_centroids(tmp_path, caplog):
    network = _network()
    to_lonlat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    cells, population, centres = [], [], []
    for i in range(8):
        for j in range(8):
            x, y = X0 - 250 + i * 300, Y0 + 250 - j * 300
            square = [(x, y), (x + 300, y), (x + 300, y - 300), (x, y - 300)]
            cells.append(Polygon([to_lonlat.transform(px, py) for px, py in square]))
            population.append(float((i * 8 + j) % 13))
            centres.append((x + 150, y - 150))
    population[5] = np.nan
    grid = gpd.GeoDataFrame({"population": population}, geometry=cells, crs="EPSG:4326")
    path = tmp_path / "grid.gpkg"
    grid.to_file(path)
    with caplog.at_level(logging.WARNING, logger="connectivity.accessibility.opportunities"):
        weights, report = assign_opportunities(network, f"{path}:population", max_distance=250)
    assert "1 of 64 values of 'population' are missing" in caplog.text
    expected = np.zeros(network.n_nodes)
    for (cx, cy), value in zip(centres, population, strict=True):
        if not value > 0:
            continue
        node, d = _nearest(network, cx, cy)
        assert abs(d - 250) > 0.5  # the centroid in a UTM zone differs by centimetres
        if d <= 250:
            expected[node] += value
    np.testing.assert_allclose(weights, expected, atol=1e-9)
    assert report.total == np.nansum(population)
    assert report.n_points == sum(1 for p in population if p > 0)
    with pytest.raises(CoordinateError, match="no coordinate reference system"):
        read_opportunities(grid.set_crs(None, allow_override=True), column="population")
    # A column labelled by a number (a frame made in a script) is found by its text.
    numbered = read_opportunities(grid.rename(columns={"population": 2020}), column="2020")
    assert numbered.total == report.total
    mixed = pd.concat(
        [grid.iloc[:2], grid.iloc[:1].set_geometry(grid.iloc[:1].to_crs(CRS).centroid.to_crs(4326))]
    )
    with pytest.raises(ParameterError, match="mixes geometry types"):
        read_opportunities(gpd.GeoDataFrame(mixed, crs="EPSG:4326"), column="population")


def test_assign_nothing_and_prebuilt_opportunities(caplog):
    network = _network(20)
    empty = Opportunities(np.zeros(0), np.zeros(0), np.zeros(0), "points", "nothing", "w")
    with caplog.at_level(logging.WARNING, logger="connectivity.accessibility.opportunities"):
        weights, report = assign_opportunities(network, empty)
    assert weights.sum() == 0 and report == AssignmentReport(0.0, 0.0, 0.0, 0.0, 0, 0)
    assert "holds no opportunities" in caplog.text


@pytest.mark.integration
def test_sao_paulo_hexgrid_totals():
    path = shared_data("sao-paulo/spo_hexgrid.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    opp = read_opportunities(f"{path}:jobs")
    jobs = [float(r["jobs"]) for r in rows]
    assert opp.total == pytest.approx(sum(jobs), rel=1e-12)
    assert len(opp) == sum(1 for j in jobs if j > 0)


@pytest.mark.integration
def test_helsinki_grid_totals_match_the_geopackage_table():
    path = shared_data("helsinki/population_grid_2020.gpkg")
    with sqlite3.connect(path) as db:
        (table,) = db.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'"
        ).fetchone()
        total, positive = db.execute(
            f'SELECT SUM(population), SUM(population > 0) FROM "{table}"'
        ).fetchone()
    opp = read_opportunities(f"{path}:population")
    assert opp.kind == "grid"
    assert opp.total == total
    assert len(opp) == positive


# -- accessibility from travel times --------------------------------------------------


def _times(rng, origins=7, nodes=40):
    t = rng.uniform(0, 3600, (origins, nodes))
    t[rng.random(t.shape) < 0.15] = np.inf
    return t


def test_cumulative_accessibility_equals_loops():
    rng = np.random.default_rng(5)
    t = _times(rng)
    w = rng.uniform(0, 10, t.shape[1])
    cutoffs = [1800, 600, 3600]
    got = cumulative_accessibility(t, w, cutoffs=cutoffs)
    assert got.shape == (7, 3)
    for i in range(t.shape[0]):
        for k, c in enumerate(cutoffs):
            expected = sum(w[j] for j in range(t.shape[1]) if t[i, j] <= c)
            assert got[i, k] == pytest.approx(expected, rel=1e-12)
    one = cumulative_accessibility(t[2], w, cutoffs=cutoffs)
    np.testing.assert_allclose(one, got[2])
    # The cutoff is inclusive.
    assert cumulative_accessibility([600.0, 601.0], [1.0, 2.0], cutoffs=600).tolist() == [1.0]


@pytest.mark.parametrize("decay", ["exponential", "power", "logistic"])
def test_gravity_accessibility_equals_loops(decay):
    rng = np.random.default_rng(9)
    t = _times(rng)
    t[0, :3] = [0.0, 20.0, 59.0]  # under a minute: power decay counts one minute
    w = rng.uniform(0, 10, t.shape[1])
    beta, midpoint = 0.08, 1500.0

    def f(seconds):
        m = seconds / 60
        if decay == "exponential":
            return math.exp(-beta * m)
        if decay == "power":
            return max(m, 1.0) ** -beta
        return 1 / (1 + math.exp(beta * (m - midpoint / 60)))

    got = gravity_accessibility(t, w, decay=decay, beta=beta, midpoint=midpoint)
    capped = gravity_accessibility(t, w, decay=decay, beta=beta, midpoint=midpoint, max_time=1200)
    for i in range(t.shape[0]):
        reach = [j for j in range(t.shape[1]) if math.isfinite(t[i, j])]
        assert got[i] == pytest.approx(sum(w[j] * f(t[i, j]) for j in reach), rel=1e-12)
        near = [j for j in reach if t[i, j] <= 1200]
        assert capped[i] == pytest.approx(sum(w[j] * f(t[i, j]) for j in near), rel=1e-12)
    assert gravity_accessibility(t[1], w, decay=decay, beta=beta, midpoint=midpoint) == (
        pytest.approx(got[1])
    )


def test_accessibility_errors():
    t = np.ones((2, 3))
    with pytest.raises(ParameterError, match="one weight per destination"):
        cumulative_accessibility(t, [1, 2], cutoffs=[60])
    with pytest.raises(ParameterError, match="cutoffs must be"):
        cumulative_accessibility(t, [1, 2, 3], cutoffs=[-5])
    with pytest.raises(ParameterError, match="times must be 1-D"):
        cumulative_accessibility(np.ones((2, 2, 2)), [1, 2], cutoffs=[60])
    with pytest.raises(ParameterError, match="unknown decay 'linear'.*exponential, power"):
        gravity_accessibility(t, [1, 2, 3], decay="linear", beta=0.1)
    with pytest.raises(ParameterError, match="beta must be a positive"):
        gravity_accessibility(t, [1, 2, 3], beta=0)
    with pytest.raises(ParameterError, match="beta must be a positive number, got '0.1'"):
        gravity_accessibility(t, [1, 2, 3], beta="0.1")
    with pytest.raises(ParameterError, match="logistic decay needs midpoint"):
        gravity_accessibility(t, [1, 2, 3], decay="logistic", beta=0.1)
    with pytest.raises(ParameterError, match="finite"):
        gravity_accessibility(t, [1, np.nan, 3], beta=0.1)
    with pytest.raises(ParameterError, match="one weight per node"):
        network_accessibility(_network(10), np.ones(3), cutoffs=[60])


# -- accessibility from every node -----------------------------------------------------


def _random_directed(n=400, m=1600, seed=2) -> StreetNetwork:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 3000, n)
    y = rng.uniform(0, 3000, n)
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    keep = u != v
    u, v = u[keep], v[keep]
    return StreetNetwork.from_arrays(
        x=x, y=y, u=u, v=v, length=np.hypot(x[u] - x[v], y[u] - y[v]), speed_kmh=5, crs=CRS
    )


def test_network_accessibility_on_a_one_way_path():
    # 0 -> 1 -> 2 (one-way, 60 s each) and 2 <-> 3 (30 s).
    net = StreetNetwork.from_arrays(
        x=[0, 1, 2, 3], y=[0, 0, 0, 0], u=[0, 1, 2, 3], v=[1, 2, 3, 2],
        length=[1, 1, 1, 1], time=[60, 60, 30, 30], crs=CRS,
    )  # fmt: skip
    got = network_accessibility(net, [1.0, 10.0, 100.0, 1000.0], cutoffs=[60, 120, 150])
    np.testing.assert_array_equal(
        got,
        [
            [11.0, 111.0, 1111.0],
            [110.0, 1110.0, 1110.0],
            [1100.0, 1100.0, 1100.0],
            [1100.0, 1100.0, 1100.0],
        ],
    )


def test_network_accessibility_equals_all_pairs_brute_force():
    net = _random_directed()
    rng = np.random.default_rng(4)
    w = rng.uniform(0, 10, net.n_nodes)
    w[rng.random(net.n_nodes) < 0.6] = 0.0  # sparse weights: most nodes hold none
    cutoffs = [900, 300, 1800]
    got = network_accessibility(net, w, cutoffs=cutoffs)
    d = dijkstra(net.csr)  # all pairs, no limit
    for k, c in enumerate(cutoffs):
        expected = np.array([sum(w[j] for j in np.flatnonzero(d[i] <= c)) for i in range(len(w))])
        np.testing.assert_allclose(got[:, k], expected, rtol=1e-12, atol=1e-9)


def test_network_accessibility_equals_pandana():
    pandana = pytest.importorskip("pandana")
    net = _random_directed(seed=8)
    rng = np.random.default_rng(6)
    w = rng.uniform(0, 10, net.n_nodes)
    horizon = 1200.0
    ids = pd.Index(np.arange(net.n_nodes))
    pnet = pandana.Network(
        pd.Series(net.nodes["x"].to_numpy(), index=ids),
        pd.Series(net.nodes["y"].to_numpy(), index=ids),
        pd.Series(net.edges["u"].to_numpy()),
        pd.Series(net.edges["v"].to_numpy()),
        pd.DataFrame({"time": net.edges["time"].to_numpy()}),
        twoway=False,
    )
    pnet.set(ids.to_numpy(), variable=pd.Series(w, index=ids), name="w")
    pnet.precompute(horizon)
    theirs = pnet.aggregate(horizon, type="sum", decay="flat", name="w").to_numpy()
    ours = network_accessibility(net, w, cutoffs=[horizon])[:, 0]
    d = dijkstra(net.csr, limit=horizon)
    brute = (d <= horizon) @ w
    np.testing.assert_allclose(ours, brute, rtol=1e-12)
    # pandana sums in single precision.
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)
    assert np.ptp(ours) > 0


@pytest.mark.integration
def test_helsinki_grid_on_the_embedded_walk_network():
    from connectivity.streets.load import demo_pbf, load_streets

    path = shared_data("helsinki/population_grid_2020.gpkg")
    walk = load_streets(demo_pbf(), mode="walk")
    weights, report = assign_opportunities(walk, f"{path}:population", max_distance=500)
    # Independently: every cell's centroid in the network's UTM zone, nearest node by
    # brute force over all node coordinates.
    grid = gpd.read_file(path).to_crs(walk.crs)
    centres = grid.geometry.centroid
    xy = walk.nodes[["x", "y"]].to_numpy()
    expected = np.zeros(walk.n_nodes)
    for (cx, cy), value in zip(
        np.column_stack([centres.x, centres.y]), grid["population"], strict=True
    ):
        d = np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)
        if value > 0 and d.min() <= 500:
            expected[int(np.argmin(d))] += value
    assert report.total == grid["population"].sum()
    assert report.assigned == expected.sum()
    np.testing.assert_allclose(weights, expected)
    assert report.assigned + report.unassigned == report.total
    # The embedded streets cover about 1 x 1.6 km of a grid about 3 x 2.5 km wide.
    assert 0.2 < report.assigned / report.total < 0.8
