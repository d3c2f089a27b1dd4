"""assign_population: open population products, each in its exact layout, on the network.

Every file is written by the test in the product's layout (CRS, nodata, scale factor,
H3 ids); the expected weights come from a brute-force loop written here: each node's
cell found by a loop over all cells, each cell's count split equally over its nodes,
cells without a node given to the nearest node (a loop over all nodes) within the
distance.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer

from connectivity import (
    CoordinateError,
    InputFileError,
    ParameterError,
    StreetNetwork,
    assign_population,
)

CRS = "EPSG:32632"
X0, Y0 = 470_000.0, 5_480_000.0  # the network's south-west corner, near Heidelberg


def _network(n: int = 250, seed: int = 5, size: float = 2000.0) -> StreetNetwork:
    rng = np.random.default_rng(seed)
    x = X0 + rng.uniform(0, size, n)
    y = Y0 + rng.uniform(0, size, n)
    u = np.arange(n - 1)
    v = u + 1
    d = np.hypot(x[u] - x[v], y[u] - y[v])
    return StreetNetwork.from_arrays(
        x=x, y=y, u=np.r_[u, v], v=np.r_[v, u], length=np.r_[d, d], speed_kmh=5, crs=CRS
    )


def _nodes_in(network: StreetNetwork, crs: str) -> tuple[np.ndarray, np.ndarray]:
    t = Transformer.from_crs(CRS, crs, always_xy=True)
    return t.transform(network.nodes["x"].to_numpy(), network.nodes["y"].to_numpy())


def _nearest(network: StreetNetwork, px: float, py: float) -> tuple[int, float]:
    best, best_d = -1, math.inf
    for i, (x, y) in enumerate(zip(network.nodes["x"], network.nodes["y"], strict=True)):
        d = math.hypot(x - px, y - py)
        if d < best_d:
            best, best_d = i, d
    return best, best_d


def _expected(network, members, counts, centres, max_distance):
    """members[k]: node ids inside cell k; counts[k]; centres[k]: (x, y) in CRS."""
    w = np.zeros(network.n_nodes)
    off = 0.0
    for k, count in enumerate(counts):
        if count <= 0:
            continue
        if members[k]:
            for i in members[k]:
                w[i] += count / len(members[k])
        else:
            i, d = _nearest(network, *centres[k])
            if d <= max_distance:
                w[i] += count
            else:
                off += count
    return w, off


def _raster_expected(network, path, max_distance, window_only=True):
    """Brute force over every cell of the raster file (not just a window)."""
    with rasterio.open(path) as src:
        data = src.read(1, masked=True)
        scale, offset = src.scales[0], src.offsets[0]
        tr, crs = src.transform, src.crs.to_string()
    values = np.ma.filled(data.astype(float) * scale + offset, 0.0)
    nx, ny = _nodes_in(network, crs)
    h, wdt = values.shape
    members: dict[int, list[int]] = {}
    for i in range(network.n_nodes):
        for r in range(h):
            top, bottom = tr.f + r * tr.e, tr.f + (r + 1) * tr.e
            if not (min(top, bottom) <= ny[i] < max(top, bottom)):
                continue
            for c in range(wdt):
                left, right = tr.c + c * tr.a, tr.c + (c + 1) * tr.a
                if left <= nx[i] < right:
                    members.setdefault(r * wdt + c, []).append(i)
    back = Transformer.from_crs(crs, CRS, always_xy=True)
    counts, centres, mem = [], [], []
    for r in range(h):
        for c in range(wdt):
            counts.append(values[r, c])
            mem.append(members.get(r * wdt + c, []))
            centres.append(back.transform(tr.c + (c + 0.5) * tr.a, tr.f + (r + 0.5) * tr.e))
    return _expected(network, mem, counts, centres, max_distance)


def from_origin(left: float, top: float, xres: float, yres: float) -> Affine:
    return Affine(xres, 0.0, left, 0.0, -yres, top)


def _cell(inv: Affine, x: float, y: float) -> tuple[int, int]:
    return (math.floor(inv.a * x + inv.b * y + inv.c), math.floor(inv.d * x + inv.e * y + inv.f))


def _write_raster(path, data, *, crs, transform, nodata=None, scale=None, dtype="float32"):
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype=dtype)
    if crs is not None:
        profile["crs"] = crs
    profile["transform"] = transform
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(dtype), 1)
        if scale is not None:
            dst.scales = (scale,)


def _mollweide_grid(network, cell, margin_cells):
    """A GHS-POP-like grid in ESRI:54009 covering the network plus margin cells."""
    nx, ny = _nodes_in(network, "ESRI:54009")
    left = math.floor(nx.min() / cell) * cell - margin_cells * cell
    top = math.ceil(ny.max() / cell) * cell + margin_cells * cell
    width = int(math.ceil((nx.max() - left) / cell)) + margin_cells + 1
    height = int(math.ceil((top - ny.min()) / cell)) + margin_cells + 1
    return from_origin(left, top, cell, cell), width, height


def test_ghs_pop_mollweide_window(tmp_path):
    """GHS-POP: ESRI:54009, 100 m, nodata -200; the file is larger than the window."""
    net = _network()
    tr, w, h = _mollweide_grid(net, 100.0, 40)
    rng = np.random.default_rng(1)
    data = rng.uniform(0, 60, (h, w))
    data[rng.random((h, w)) < 0.2] = -200
    path = tmp_path / "GHS_POP_E2020_GLOBE_R2023A_54009_100_V1_0_R4_C19.tif"
    _write_raster(path, data, crs="ESRI:54009", transform=tr, nodata=-200)
    weights, rep = assign_population(net, path, max_distance=150)
    expected, off = _raster_expected(net, path, 150)
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-9)
    assert rep.product == "raster"
    assert rep.assigned == pytest.approx(expected.sum(), abs=1e-9)
    assert rep.assigned + rep.unassigned == pytest.approx(rep.total, abs=1e-9)
    # Only the window is read: the file holds far more people than the window.
    file_total = data[data >= 0].astype(np.float32).astype(float).sum()
    assert rep.total < 0.5 * file_total
    assert rep.n_unassigned > 0 and rep.n_split > 0


def test_ghs_pop_1km_cells_on_the_right_nodes(tmp_path):
    """1 km GHS-POP: one cell per quadrant, each count split over exactly its nodes."""
    net = _network()
    tr, w, h = _mollweide_grid(net, 1000.0, 1)
    data = np.arange(1, w * h + 1, dtype=float).reshape(h, w) * 10
    path = tmp_path / "ghs_1km.tif"
    _write_raster(path, data, crs="ESRI:54009", transform=tr, nodata=-200)
    weights, rep = assign_population(net, path, max_distance=0)
    nx, ny = _nodes_in(net, "ESRI:54009")
    inv = ~tr
    for i in range(net.n_nodes):
        c, r = _cell(inv, nx[i], ny[i])
        same = [j for j in range(net.n_nodes) if _cell(inv, nx[j], ny[j]) == (c, r)]
        assert weights[i] == pytest.approx(data[r, c] / len(same), abs=1e-9)
    assert rep.unassigned == pytest.approx(rep.total - weights.sum(), abs=1e-9)


def test_worldpop_4326_nodata(tmp_path):
    """WorldPop: EPSG:4326, 3 arc-second cells, nodata -99999, counts per cell."""
    net = _network()
    lon, lat = net.nodes["lon"].to_numpy(), net.nodes["lat"].to_numpy()
    res = 3 / 3600
    left = math.floor(lon.min() / res) * res - 20 * res
    top = math.ceil(lat.max() / res) * res + 20 * res
    w = int((lon.max() - left) / res) + 22
    h = int((top - lat.min()) / res) + 22
    rng = np.random.default_rng(2)
    data = rng.gamma(1.0, 3.0, (h, w))
    data[rng.random((h, w)) < 0.3] = -99999
    path = tmp_path / "deu_ppp_2020.tif"
    _write_raster(
        path, data, crs="EPSG:4326", transform=from_origin(left, top, res, res), nodata=-99999
    )
    weights, rep = assign_population(net, path, max_distance=100)
    expected, off = _raster_expected(net, path, 100)
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-9)
    assert rep.unassigned == pytest.approx(rep.total - expected.sum(), abs=1e-9)


def test_scale_factor_applied(tmp_path):
    """An integer raster with a scale factor (0.01) reads as scaled counts."""
    net = _network()
    tr, w, h = _mollweide_grid(net, 250.0, 0)
    raw = np.random.default_rng(3).integers(0, 10_000, (h, w))
    path = tmp_path / "scaled.tif"
    _write_raster(
        path, raw, crs="ESRI:54009", transform=tr, nodata=65535, scale=0.01, dtype="uint16"
    )
    weights, rep = assign_population(net, path, max_distance=500)
    expected, _ = _raster_expected(net, path, 500)
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-9)
    assert rep.total == pytest.approx(raw.sum() * 0.01, rel=1e-12)


def test_hrsl_geotiff_and_csv(tmp_path):
    """Meta/HRSL: a GeoTIFF (EPSG:4326, 1 arc-second, NaN nodata) and a CSV of points."""
    net = _network()
    lon, lat = net.nodes["lon"].to_numpy(), net.nodes["lat"].to_numpy()
    res = 1 / 3600
    left, top = lon.min() - 5 * res, lat.max() + 5 * res
    w, h = int((lon.max() - left) / res) + 6, int((top - lat.min()) / res) + 6
    rng = np.random.default_rng(4)
    data = np.where(rng.random((h, w)) < 0.05, rng.uniform(0.1, 8, (h, w)), np.nan)
    path = tmp_path / "population_deu_2019-07-01.tif"
    _write_raster(
        path, data, crs="EPSG:4326", transform=from_origin(left, top, res, res), nodata=np.nan
    )
    weights, rep = assign_population(net, path, max_distance=40)
    expected, _ = _raster_expected(net, path, 40)
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-9)

    r, c = np.nonzero(np.isfinite(data))
    points = pd.DataFrame(
        {
            "latitude": top - (r + 0.5) * res,
            "longitude": left + (c + 0.5) * res,
            "population_2020": data[r, c],
        }
    )
    csv = tmp_path / "population_deu_2019-07-01.csv"
    points.to_csv(csv, index=False)
    pw, prep = assign_population(net, csv, max_distance=40)
    px, py = net.project(points["longitude"].to_numpy(), points["latitude"].to_numpy())
    exp = np.zeros(net.n_nodes)
    for k in range(len(points)):
        i, d = _nearest(net, px[k], py[k])
        if d <= 40:
            exp[i] += points["population_2020"].iloc[k]
    np.testing.assert_allclose(pw, exp, rtol=0, atol=1e-9)
    assert prep.product == "points" and prep.column == "population_2020"
    assert prep.assigned + prep.unassigned == pytest.approx(points["population_2020"].sum())


def _polygon_expected(net, polys_crs, counts, max_distance):
    members = []
    pts = [shapely.Point(x, y) for x, y in zip(net.nodes["x"], net.nodes["y"], strict=True)]
    taken: set[int] = set()
    for poly in polys_crs:
        inside = [i for i, p in enumerate(pts) if poly.intersects(p) and i not in taken]
        taken.update(inside)
        members.append(inside)
    centres = [(p.point_on_surface().x, p.point_on_surface().y) for p in polys_crs]
    return _expected(net, members, counts, centres, max_distance)


def test_kontur_h3_hexagons(tmp_path):
    """Kontur Population: a GeoPackage of H3 (res 8) hexagons in EPSG:3857, h3 + population."""
    import h3

    net = _network()
    lat, lon = float(net.nodes["lat"].mean()), float(net.nodes["lon"].mean())
    cells = sorted(h3.grid_disk(h3.latlng_to_cell(lat, lon, 8), 4))
    rng = np.random.default_rng(6)
    pop = rng.integers(1, 900, len(cells)).astype(float)
    geoms = [shapely.Polygon([(b, a) for a, b in h3.cell_to_boundary(c)]) for c in cells]
    frame = gpd.GeoDataFrame({"h3": cells, "population": pop}, geometry=geoms, crs="EPSG:4326")
    path = tmp_path / "kontur_population_DE_20231101.gpkg"
    frame.to_crs("EPSG:3857").to_file(path, layer="population")
    weights, rep = assign_population(net, path, max_distance=300)
    local = gpd.read_file(path).to_crs(CRS)
    expected, _ = _polygon_expected(net, list(local.geometry), local["population"], 300)
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-9)
    assert rep.product == "h3" and rep.column == "population"
    assert rep.assigned + rep.unassigned == pytest.approx(rep.total, abs=1e-9)
    # Each hexagon's people sit on nodes whose own H3 cell is that hexagon.
    node_cells = [
        h3.latlng_to_cell(a, b, 8) for a, b in zip(net.nodes["lat"], net.nodes["lon"], strict=True)
    ]
    for c, p in zip(cells, pop, strict=True):
        on = [i for i, nc in enumerate(node_cells) if nc == c]
        if on:
            assert weights[on].sum() == pytest.approx(p, rel=1e-6)


def test_census_polygons_split_by_prior(tmp_path):
    """Census polygons (EPSG:4326, a total each) split equally, or by a prior per node."""
    net = _network()
    local = [
        shapely.box(
            X0 - 100 + i * 1100, Y0 - 100 + j * 1100, X0 + 1000 + i * 1100, Y0 + 1000 + j * 1100
        )
        for i in range(2)
        for j in range(2)
    ]
    frame = gpd.GeoDataFrame(
        {"name": list("abcd"), "einwohner": [1200.0, 0.0, 530.5, 77.0]}, geometry=local, crs=CRS
    )
    path = tmp_path / "zensus.geojson"
    frame.to_crs("EPSG:4326").to_file(path)
    weights, rep = assign_population(net, f"{path}:einwohner")
    back = list(gpd.read_file(path).to_crs(CRS).geometry)
    expected, _ = _polygon_expected(net, back, frame["einwohner"], 50)
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-9)
    assert weights.sum() == pytest.approx(1807.5, abs=1e-9)

    prior = np.zeros(net.n_nodes)
    prior[::3] = np.arange(len(prior[::3])) + 1.0
    pw, _ = assign_population(net, path, column="einwohner", prior=prior)
    assert pw.sum() == pytest.approx(1807.5, abs=1e-9)
    for poly, count in zip(back, frame["einwohner"], strict=True):
        inside = np.array(
            [
                poly.intersects(shapely.Point(x, y))
                for x, y in zip(net.nodes["x"], net.nodes["y"], strict=True)
            ]
        )
        p = prior * inside
        np.testing.assert_allclose(pw[inside], count * p[inside] / p.sum(), atol=1e-9)


# -- bad input -------------------------------------------------------------------------


def _tiny(tmp_path, data, name="bad.tif", **kw):
    net = _network()
    tr, w, h = _mollweide_grid(net, 1000.0, 1)
    path = tmp_path / name
    _write_raster(path, np.broadcast_to(data, (h, w)).copy(), transform=tr, **kw)
    return net, path


def test_raster_without_crs(tmp_path):
    net, path = _tiny(tmp_path, 5.0, crs=None)
    with pytest.raises(CoordinateError, match=r"bad.tif has no CRS: set one \(gdal_edit"):
        assign_population(net, path)


def test_raster_all_nodata(tmp_path):
    net, path = _tiny(tmp_path, -200.0, crs="ESRI:54009", nodata=-200)
    with pytest.raises(ParameterError, match="holds only nodata over the network: give the tile"):
        assign_population(net, path)


def test_raster_negative_and_nan(tmp_path):
    net, path = _tiny(tmp_path, -3.0, crs="ESRI:54009", nodata=-200)
    with pytest.raises(ParameterError, match=r"bad.tif: \d+ raster cells hold negative counts"):
        assign_population(net, path)
    net, path = _tiny(tmp_path, np.nan, name="nan.tif", crs="ESRI:54009", nodata=-200)
    with pytest.raises(ParameterError, match=r"nan.tif: \d+ raster cells hold NaN.*nodata"):
        assign_population(net, path)


def test_total_zero(tmp_path):
    net, path = _tiny(tmp_path, 0.0, crs="ESRI:54009", nodata=-200)
    with pytest.raises(ParameterError, match=r"total of 0 people \(<= 0\): give a product"):
        assign_population(net, path)


def test_raster_elsewhere(tmp_path):
    net = _network()
    path = tmp_path / "far.tif"
    _write_raster(
        path, np.ones((3, 3)), crs="ESRI:54009", transform=from_origin(-9e6, 0, 1000, 1000)
    )
    with pytest.raises(ParameterError, match="does not cover the network"):
        assign_population(net, path)


def test_missing_column_and_file(tmp_path):
    net = _network()
    frame = gpd.GeoDataFrame(
        {"pop": [1.0]}, geometry=[shapely.box(X0, Y0, X0 + 500, Y0 + 500)], crs=CRS
    )
    path = tmp_path / "census.gpkg"
    frame.to_file(path)
    with pytest.raises(ParameterError, match="census.gpkg has no column 'people'.*pop"):
        assign_population(net, f"{path}:people")
    with pytest.raises(InputFileError, match="nothere.tif does not exist"):
        assign_population(net, tmp_path / "nothere.tif")


def test_polygons_negative_nan(tmp_path):
    net = _network()
    box = shapely.box(X0, Y0, X0 + 500, Y0 + 500)
    for value, word in ((-1.0, "negative"), (np.nan, "NaN")):
        frame = gpd.GeoDataFrame({"pop": [value, 2.0]}, geometry=[box, box], crs=CRS)
        path = tmp_path / f"c{word}.gpkg"
        frame.to_file(path)
        with pytest.raises(ParameterError, match=rf"c{word}.gpkg: 1 rows of 'pop' hold {word}"):
            assign_population(net, f"{path}:pop")


def test_invalid_h3_ids(tmp_path):
    net = _network()
    box = shapely.box(X0, Y0, X0 + 500, Y0 + 500)
    frame = gpd.GeoDataFrame(
        {"h3": ["8a1fb46622dffff", "not-a-cell"], "population": [1.0, 2.0]},
        geometry=[box, box],
        crs=CRS,
    )
    path = tmp_path / "kontur.gpkg"
    frame.to_file(path)
    with pytest.raises(ParameterError, match=r"kontur.gpkg: 1 of 2 ids .* not H3 cells"):
        assign_population(net, path)


def test_vector_without_crs(tmp_path):
    net = _network()
    frame = gpd.GeoDataFrame({"pop": [1.0]}, geometry=[shapely.box(0, 0, 1, 1)])
    path = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        frame.to_file(path)
    with pytest.raises(CoordinateError, match="nocrs.shp has no coordinate reference"):
        assign_population(net, f"{path}:pop")
