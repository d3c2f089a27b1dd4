"""Walk+transit isochrones on a hand-made street network and timetable: per-node times
and reached sets worked out by hand; polygons against the raster they come from."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import shapely

from connectivity import OutsideNetworkError, ParameterError, Timetable
from connectivity.accessibility.isochrones import isochrones, travel_time_surface
from connectivity.accessibility.transit_isochrones import transit_isochrones, transit_times_from
from connectivity.network.intermodal import build_network
from connectivity.streets.graph import StreetNetwork

CRS = "EPSG:32635"
CX, CY = 385_000.0, 6_672_000.0
SPACING = 200.0  # metres between nodes: 144 s at 5 km/h
EDGE_S = SPACING / (5 / 3.6)
N = 8
EIGHT = dt.datetime(2024, 5, 6, 8, 0)
BUSES = (8 * 3600 + 120, 8 * 3600 + 720, 8 * 3600 + 1320)  # 08:02, 08:12, 08:22
RIDE = 300


def _network():
    """Two streets that do not meet: W0..W7 going west from the origin W0, and E0..E7
    going east from E0, 3 km east of W0. A bus runs from a stop at W0 to a stop at E0."""
    x = np.r_[CX - SPACING * np.arange(N), CX + 3000 + SPACING * np.arange(N)]
    y = np.full(2 * N, CY)
    u, v = [], []
    for start in (0, N):
        for i in range(start, start + N - 1):
            u += [i, i + 1]
            v += [i + 1, i]
    walk = StreetNetwork.from_arrays(
        x=x, y=y, u=u, v=v, length=np.full(len(u), SPACING), speed_kmh=5, crs=CRS
    )
    at = [0, N]
    stops = pd.DataFrame(
        {
            "stop_id": ["west", "east"],
            "stop_name": ["West", "East"],
            "lon": walk.nodes["lon"].to_numpy()[at],
            "lat": walk.nodes["lat"].to_numpy()[at],
        }
    )
    routes = pd.DataFrame({"route_id": ["B"], "route_type": [3]})
    trips = pd.DataFrame({"trip_id": [f"t{k}" for k in range(len(BUSES))], "route": 0})
    rows = []
    for k, dep in enumerate(BUSES):
        rows += [(k, 0, 0, dep, dep), (k, 1, 1, dep + RIDE, dep + RIDE)]
    stop_times = pd.DataFrame(
        rows, columns=["trip", "stop", "stop_sequence", "arrival", "departure"]
    )
    timetable = Timetable.from_frames(stops, routes, trips, stop_times, date=EIGHT.date())
    return walk, build_network(walk, timetable)


@pytest.fixture(scope="module")
def network():
    return _network()


def _origin(walk):
    return float(walk.nodes["lat"].iat[0]), float(walk.nodes["lon"].iat[0])


def _by_hand(start_minutes, stat):
    """Per node, the times of each departure minute by hand, summarised (nearest rank)."""
    rows = []
    for minute in start_minutes:
        t0 = 8 * 3600 + 60 * minute
        west = EDGE_S * np.arange(N)
        bus = min(b for b in BUSES if b >= t0)
        east = (bus - t0) + RIDE + EDGE_S * np.arange(N)
        rows.append(np.r_[west, east])
    arr = np.sort(np.array(rows), axis=0)
    if stat == "min":
        return arr[0]
    return arr[max(math.ceil(stat / 100 * len(rows)) - 1, 0)]


def test_times_per_node_equal_the_schedule(network):
    walk, net = network
    lat, lon = _origin(walk)
    one = transit_times_from(net, lat=lat, lon=lon, departure=EIGHT)
    np.testing.assert_allclose(one, _by_hand([0], 50), atol=1e-6)
    assert one[N] == 420  # wait 2 minutes, ride 5
    for p in (10, 50, 90):
        window = transit_times_from(
            net, lat=lat, lon=lon, departure=EIGHT, window=600, percentile=p
        )
        np.testing.assert_allclose(window, _by_hand(range(10), p), atol=1e-6)
    # by hand: over 08:00..08:09 the waits are 2,1,0,9,8,...,3 minutes; the 5th best is 4
    median = transit_times_from(net, lat=lat, lon=lon, departure=EIGHT, window=600)
    assert median[N] == 4 * 60 + RIDE
    capped = transit_times_from(net, lat=lat, lon=lon, departure=EIGHT, max_time=500)
    assert np.isinf(capped[N + 1]) and capped[N] == 420


@pytest.mark.parametrize(
    ("window", "percentile", "cutoff", "west", "east"),
    [
        # one departure at 08:00: walk 144 s per node west; east 420 s + 144 s per node
        (None, 50, 300, 3, 0),
        (None, 50, 600, 5, 2),
        # the median over 08:00-08:09 reaches E0 in 540 s; the best minute in 300 s
        (600, 50, 600, 5, 1),
        (600, 10, 600, 5, 3),
    ],
)
def test_reached_sets_equal_the_hand_computed_ones(network, window, percentile, cutoff, west, east):
    walk, net = network
    lat, lon = _origin(walk)
    iso = transit_isochrones(
        net,
        lat=lat,
        lon=lon,
        departure=EIGHT,
        window=window,
        percentile=percentile,
        cutoffs=(cutoff,),
    )
    assert list(iso["cutoff"]) == [cutoff]
    poly = iso.to_crs(CRS).geometry.iat[0]
    points = shapely.points(walk.nodes["x"].to_numpy(), walk.nodes["y"].to_numpy())
    inside = shapely.covers(poly, points)
    expected = np.zeros(2 * N, bool)
    expected[:west] = True
    expected[N : N + east] = True
    np.testing.assert_array_equal(inside, expected)


def test_raster_and_polygons_agree(network):
    import rasterio.features

    walk, net = network
    lat, lon = _origin(walk)
    times = transit_times_from(net, lat=lat, lon=lon, departure=EIGHT, window=600)
    for cutoff in (300, 600, 900):
        surface = travel_time_surface(
            walk, times, max_time=cutoff, buffer=50, resolution=5, origin=(lat, lon)
        )
        iso = isochrones(walk, times, cutoffs=(cutoff,), buffer=50, resolution=5, origin=(lat, lon))
        poly = iso.to_crs(CRS).geometry.iat[0]
        mask = rasterio.features.rasterize(
            [poly], out_shape=surface.values.shape, transform=surface.transform
        ).astype(bool)
        cells = np.nan_to_num(surface.values, nan=np.inf) <= cutoff
        iou = (mask & cells).sum() / (mask | cells).sum()
        assert iou >= 0.95, (cutoff, iou)
        assert cells.sum() > 100


def test_errors(network):
    walk, net = network
    lat, lon = _origin(walk)
    with pytest.raises(ParameterError, match="percentile"):
        transit_times_from(net, lat=lat, lon=lon, departure=EIGHT, percentile=0)
    with pytest.raises(ParameterError, match="window"):
        transit_times_from(net, lat=lat, lon=lon, departure=EIGHT, window=-60)
    with pytest.raises(ParameterError, match="cutoff"):
        transit_isochrones(net, lat=lat, lon=lon, departure=EIGHT, cutoffs=(-5,))
    with pytest.raises(ParameterError, match="not on the timetable's date"):
        transit_isochrones(net, lat=lat, lon=lon, departure=dt.datetime(2024, 5, 7, 8))
    with pytest.raises(OutsideNetworkError):
        transit_isochrones(net, lat=lat + 0.1, lon=lon, departure=EIGHT)
