"""download_streets: Overpass and Nominatim through osmnx, proven offline.

No test here opens a socket: ``socket.connect`` raises, DNS lookups answer 127.0.0.1, and
requests' transport (``HTTPAdapter.send``) is replaced by a fake server that answers the
Overpass status, interpreter and Nominatim search URLs with data the test writes, and
counts the requests. A second identical call must be answered by the cache alone.
"""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import requests

from connectivity import (
    EmptyNetworkError,
    OverpassError,
    ParameterError,
    download_streets,
    settings,
)

LON0, LAT0, STEP = 8.600, 49.500, 0.001
# A 3 x 3 grid of nodes 1..9; node (i, j) at LON0 + i * STEP, LAT0 + j * STEP.
NODES = {1 + i + 3 * j: (LON0 + i * STEP, LAT0 + j * STEP) for i in range(3) for j in range(3)}
WAYS = {
    100: ([1, 2, 3], {"highway": "residential", "name": "Row 0"}),
    101: ([4, 5, 6], {"highway": "residential", "name": "Row 1"}),
    102: ([7, 8, 9], {"highway": "residential", "name": "Row 2"}),
    200: ([1, 4, 7], {"highway": "residential", "name": "Column 0"}),
    201: ([2, 5, 8], {"highway": "residential", "name": "Column 1", "oneway": "yes"}),
    202: ([3, 6, 9], {"highway": "primary", "name": "Column 2", "maxspeed": "50"}),
}
BBOX = (LON0 - 0.0005, LAT0 - 0.0005, LON0 + 0.0025, LAT0 + 0.0025)
STATUS = (
    "Connected as: 1\nCurrent time: 2026-01-01T00:00:00Z\nAnnounced endpoint: none\n"
    "Rate limit: 2\n2 slots available now.\nCurrently running queries:\n"
)


def overpass_json(nodes=NODES, ways=WAYS):
    elements = [
        {"type": "node", "id": i, "lon": lon, "lat": lat} for i, (lon, lat) in nodes.items()
    ]
    elements += [
        {"type": "way", "id": i, "nodes": refs, "tags": tags} for i, (refs, tags) in ways.items()
    ]
    return {"version": 0.6, "generator": "test", "elements": elements}


NOMINATIM = [
    {
        "place_id": 1,
        "osm_type": "relation",
        "osm_id": 42,
        "lat": str(LAT0 + STEP),
        "lon": str(LON0 + STEP),
        "class": "boundary",
        "type": "administrative",
        "place_rank": 16,
        "importance": 0.5,
        "display_name": "Testdorf, Germany",
        "boundingbox": [str(BBOX[1]), str(BBOX[3]), str(BBOX[0]), str(BBOX[2])],
        "geojson": {
            "type": "Polygon",
            "coordinates": [
                [
                    [BBOX[0], BBOX[1]],
                    [BBOX[2], BBOX[1]],
                    [BBOX[2], BBOX[3]],
                    [BBOX[0], BBOX[3]],
                    [BBOX[0], BBOX[1]],
                ]
            ],
        },
    }
]


class FakeServer:
    """Answers requests' HTTP calls; counts them; ``down=True`` fails like no network."""

    def __init__(self, interpreter=None, nominatim=None):
        self.interpreter = overpass_json() if interpreter is None else interpreter
        self.nominatim = NOMINATIM if nominatim is None else nominatim
        self.calls: list[str] = []
        self.down = False

    def send(self, adapter, request, **kwargs):
        self.calls.append(request.url)
        if self.down:
            raise requests.ConnectionError(f"fake network down for {request.url}")
        response = requests.Response()
        response.status_code = 200
        response.url = request.url
        response.request = request
        response.reason = "OK"
        if "/status" in request.url:
            body = STATUS
        elif "/interpreter" in request.url:
            body = json.dumps(self.interpreter)
        elif "/search" in request.url:
            body = json.dumps(self.nominatim)
        else:
            raise AssertionError(f"unexpected request {request.url}")
        response._content = body.encode()
        response.headers["Content-Type"] = "application/json"
        return response


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """No socket may connect; DNS answers locally (osmnx pins the host's address)."""

    def refuse(self, *args, **kwargs):
        raise OSError("tests must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: "127.0.0.1")
    # osmnx replaces socket.getaddrinfo while downloading: restore it afterwards.
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)


@pytest.fixture
def server(monkeypatch):
    fake = FakeServer()
    monkeypatch.setattr(
        requests.adapters.HTTPAdapter,
        "send",
        lambda self, request, **kw: fake.send(self, request, **kw),
    )
    return fake


def edge_set(net):
    ids = net.nodes["osmid"].to_numpy()
    return {(int(ids[u]), int(ids[v])) for u, v in net.edges[["u", "v"]].itertuples(index=False)}


def segments(ways=WAYS):
    return [
        (a, b, w)
        for w, (refs, _) in ways.items()
        for a, b in zip(refs[:-1], refs[1:], strict=False)
    ]


def test_bbox_download_builds_the_network_and_second_call_reads_the_cache(server):
    net = download_streets(bbox=BBOX, mode="walk", walk_speed=3.6)
    assert net.n_nodes == 9
    expected = {(a, b) for a, b, _ in segments()} | {(b, a) for a, b, _ in segments()}
    assert edge_set(net) == expected
    # 1 m/s: time equals length; lengths are about 72 m (east-west) and 111 m (north-south).
    assert np.allclose(net.edges["time"], net.edges["length"])
    assert net.edges["length"].min() == pytest.approx(72.4, abs=0.5)
    assert net.edges["length"].max() == pytest.approx(111.2, abs=0.5)
    assert net.crs == "EPSG:32632"
    assert any("/interpreter" in url for url in server.calls)
    cached = list((settings.cache_folder / "overpass").glob("*.json"))
    assert cached, "the Overpass response was not cached"

    server.down = True
    server.calls.clear()
    again = download_streets(bbox=BBOX, mode="walk", walk_speed=3.6)
    assert server.calls == []
    assert edge_set(again) == edge_set(net)
    assert np.allclose(np.sort(again.edges["time"]), np.sort(net.edges["time"]))


def test_drive_download_respects_oneway_and_maxspeed(server):
    net = download_streets(bbox=BBOX, mode="drive")
    expected = {(a, b) for a, b, _ in segments()} | {(b, a) for a, b, w in segments() if w != 201}
    assert edge_set(net) == expected
    ids = net.nodes["osmid"].to_numpy()
    e = net.edges.assign(a=ids[net.edges["u"]], b=ids[net.edges["v"]]).set_index(["a", "b"])
    assert e.loc[(3, 6), "time"] == pytest.approx(e.loc[(3, 6), "length"] / (50 / 3.6))
    assert e.loc[(1, 2), "time"] == pytest.approx(e.loc[(1, 2), "length"] / (30 / 3.6))


def test_place_is_geocoded_once_then_read_from_the_cache(server):
    net = download_streets(place="Testdorf, Germany", mode="walk")
    assert net.n_nodes == 9
    assert any("/search" in url for url in server.calls)
    server.down = True
    server.calls.clear()
    again = download_streets(place="Testdorf, Germany", mode="walk")
    assert server.calls == []
    assert edge_set(again) == edge_set(net)


def test_point_and_distance(server):
    net = download_streets(point=(LAT0 + STEP, LON0 + STEP), dist=300, mode="walk")
    assert net.n_nodes == 9


def test_download_failure_without_cache_is_an_overpass_error(server, monkeypatch):
    import time

    # With the status endpoint unreachable too, osmnx waits 60 s before its query.
    pauses = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    server.down = True
    with pytest.raises(
        OverpassError, match=r"could not download streets for bbox.*no cached response"
    ):
        download_streets(bbox=BBOX)
    assert pauses and max(pauses) == 60
    assert not list((settings.cache_folder / "overpass").glob("*.json"))


def test_no_streets_in_the_area(server):
    server.interpreter = overpass_json({}, {})
    with pytest.raises(EmptyNetworkError, match="Overpass returned no streets for mode walk"):
        download_streets(bbox=BBOX)


def test_unknown_place(server):
    server.nominatim = []
    with pytest.raises(ParameterError, match="Nominatim found no place 'Nowhere'"):
        download_streets(place="Nowhere")


def test_argument_errors(server):
    with pytest.raises(ParameterError, match="exactly one of place=, bbox= or point="):
        download_streets()
    with pytest.raises(ParameterError, match="got place, bbox"):
        download_streets(place="Testdorf", bbox=BBOX)
    with pytest.raises(ParameterError, match="point= needs dist="):
        download_streets(point=(LAT0, LON0))
    with pytest.raises(ParameterError, match="dist= is only used with point="):
        download_streets(bbox=BBOX, dist=100)
    assert server.calls == []
