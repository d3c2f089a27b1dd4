"""The static PNG of the map view: classes coloured as the HTML map colours them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image

from connectivity import ParameterError
from connectivity.outputs.choropleth import indicator_scale
from connectivity.outputs.static_map import static_map


def _rgb(hex_colour):
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], float)


def _zones():
    squares = [shapely.box(24.90 + 0.02 * k, 60.15, 24.92 + 0.02 * k, 60.17) for k in range(3)]
    return gpd.GeoDataFrame(
        {
            "name": ["a", "b", "c"],
            "population": [1.0, 2.0, 3.0],
            "transit_to_core_p50": [600.0, 3000.0, np.inf],
        },
        geometry=squares,
        crs="EPSG:4326",
    )


def test_zone_colours_follow_the_classes(tmp_path):
    path = static_map(tmp_path / "out" / "map.png", indicators=_zones(), point=(60.16, 24.93))
    assert path == tmp_path / "out" / "map.png"
    assert list((tmp_path / "out").iterdir()) == [path]  # written atomically, no leftovers
    image = np.asarray(Image.open(path).convert("RGB"), float)
    scale = indicator_scale("transit_to_core_p50", [])
    white = np.full(3, 255.0)
    # zones drawn at alpha 0.75 over white: 10 min, 50 min, unreached
    for colour in (scale.colour(600), scale.colour(3000), scale.colour(np.inf)):
        blended = white * 0.25 + _rgb(colour) * 0.75
        assert (np.abs(image - blended).max(axis=2) <= 3).sum() > 2000, colour
    # a class that no zone has is not painted (only its small legend swatch)
    unused = white * 0.25 + _rgb(scale.colour(2000)) * 0.75
    assert (np.abs(image - unused).max(axis=2) <= 3).sum() < 400


def test_isochrones_and_routes(tmp_path):
    from shapely.geometry import LineString

    iso = gpd.GeoDataFrame(
        {"cutoff": [300.0, 600.0]},
        geometry=[
            shapely.Point(24.94, 60.17).buffer(0.005),
            shapely.Point(24.94, 60.17).buffer(0.01),
        ],
        crs="EPSG:4326",
    )
    routes = gpd.GeoDataFrame(
        {"route_type": [0], "route_color": ["#ff00ff"]},
        geometry=[LineString([(24.92, 60.17), (24.96, 60.17)])],
        crs="EPSG:4326",
    )
    path = static_map(tmp_path / "iso.png", isochrones=iso, routes=routes, title="t")
    image = np.asarray(Image.open(path).convert("RGB"), float)
    assert (np.abs(image - _rgb("#ff00ff")).max(axis=2) <= 40).sum() > 200  # the route line


def test_errors(tmp_path):
    with pytest.raises(ParameterError, match="nothing to draw"):
        static_map(tmp_path / "x.png")
    with pytest.raises(ParameterError, match="no column 'jobs'"):
        static_map(tmp_path / "x.png", indicators=_zones(), column="jobs")
    assert not (tmp_path / "x.png").exists()
