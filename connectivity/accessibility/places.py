"""Settlements of an OpenStreetMap extract as zones, named, with their tagged population.

:func:`place_zones` makes one zone per settlement of the extract: the OSM ``place`` nodes
(or areas) ``city``, ``town``, ``village`` and ``hamlet``, and the ``suburb`` places
inside them. A settlement's zone is

- its **boundary**: an administrative relation (``boundary=administrative``) with the
  place's name, or the place's own area, when osmium can assemble it from the extract;
- else its **Voronoi cell** among the other settlements without a boundary, over the
  streets' extent (the convex hull of the network's nodes, padded by ``pad`` metres)
  minus the boundaries.

A settlement holding ``suburb`` places is split the same way into its suburbs, which
replace it; so zones never overlap and cover the streets' extent. Each zone carries the
place's ``population=*`` tag where there is one.

A place whose same-name boundary relation is in the extract but cannot be assembled
(its ways are cut off by the extract) is marked ``cut``: its tagged population counts
people beyond the extract, and :func:`connectivity.estimate_population` does not scale
to it. So is a boundary of which less than 95 % lies within the streets' extent.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from connectivity._errors import InputFileError, OsmDataError, ParameterError

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

    from connectivity.streets.graph import StreetNetwork

__all__ = ["SETTLEMENT_PLACES", "place_zones"]

logger = logging.getLogger(__name__)

#: ``place=*`` values that are settlements, largest first.
SETTLEMENT_PLACES = ("city", "town", "village", "hamlet")
#: ``place=*`` values that are parts of a settlement.
PART_PLACES = ("suburb",)

#: Share of a boundary's area that must lie in the streets' extent for its population
#: tag to count as the population of the streets there.
_INSIDE_SHARE = 0.95

_NUMBER = re.compile(r"\d+(?:[.,\s']\d{3})*(?:\.\d+)?")


@dataclass
class Place:
    """One named place of the extract (a node, or an area's representative point)."""

    osm_id: str
    name: str
    place: str
    population: float
    lon: float
    lat: float
    boundary: BaseGeometry | None = None  # EPSG:4326
    boundary_source: str = ""
    cut: str = ""  # why the tagged population is not the extract's, or ""


def parse_population(value: Any) -> float:
    """A ``population=*`` tag as a number: ``"12345"``, ``"12,345"``, ``"12 345"``,
    ``"~5000"``, ``"1.2e6"``; NaN when no number can be read."""
    text = str(value or "").strip()
    try:
        number = float(text)
        return number if math.isfinite(number) and number >= 0 else math.nan
    except ValueError:
        pass
    match = _NUMBER.search(text)
    if match is None:
        return math.nan
    digits = re.sub(r"[,\s']", "", match.group(0))
    try:
        return float(digits)
    except ValueError:
        return math.nan


def read_places(path: str | Path) -> list[Place]:
    """The settlements and suburbs of an OSM file, with their boundaries where present.

    One osmium pass: ``place`` nodes and areas of :data:`SETTLEMENT_PLACES` and
    :data:`PART_PLACES` with a ``name``, and the administrative boundaries (assembled as
    areas). Boundaries are matched to places by name (case-insensitive); a boundary
    relation that is in the file but cannot be assembled marks its place ``cut``.

    Raises
    ------
    InputFileError
        The file does not exist.
    OsmDataError
        The file cannot be read by osmium.
    """
    import osmium
    import shapely

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"OSM file {path} does not exist: check the path")
    kinds = set(SETTLEMENT_PLACES) | set(PART_PLACES)
    wkb = osmium.geom.WKBFactory()
    points: dict[str, Place] = {}
    areas: dict[str, Place] = {}
    boundaries: dict[str, tuple[int, BaseGeometry, str]] = {}
    relations: dict[str, str] = {}
    keys = osmium.filter.KeyFilter("place", "boundary")
    try:
        processor: Any = osmium.FileProcessor(str(path)).with_areas(keys).with_filter(keys)
        for obj in processor:
            tags = obj.tags
            name = tags.get("name")
            if not name:
                continue
            key = name.strip().casefold()
            if obj.is_area():
                try:
                    geom = shapely.from_wkb(wkb.create_multipolygon(obj))
                except RuntimeError:  # an invalid ring
                    continue
                origin = f"{'way' if obj.from_way() else 'relation'}/{obj.orig_id()}"
                if tags.get("boundary") == "administrative":
                    level = _level(tags.get("admin_level"))
                    if key not in boundaries or level > boundaries[key][0]:
                        boundaries[key] = (level, geom, origin)
                place = tags.get("place")
                if place in kinds and key not in areas:
                    rep = geom.representative_point()
                    areas[key] = Place(
                        origin,
                        name,
                        place,
                        parse_population(tags.get("population")),
                        rep.x,
                        rep.y,
                        geom,
                        origin,
                    )
            elif obj.is_node():
                place = tags.get("place")
                if place in kinds and key not in points:
                    points[key] = Place(
                        f"node/{obj.id}",
                        name,
                        place,
                        parse_population(tags.get("population")),
                        obj.location.lon,
                        obj.location.lat,
                    )
            elif obj.is_relation() and tags.get("boundary") == "administrative":
                relations.setdefault(key, f"relation/{obj.id}")
    except RuntimeError as exc:
        raise OsmDataError(
            f"cannot read OSM file {path} ({exc}): re-download the extract"
        ) from None
    places: list[Place] = []
    for key, place in {**areas, **points}.items():  # a node wins over an area of its name
        if key in areas and place.boundary is None:
            place.boundary, place.boundary_source = areas[key].boundary, areas[key].osm_id
            if math.isnan(place.population):
                place.population = areas[key].population
        if key in boundaries and place.boundary is None:
            _, place.boundary, place.boundary_source = boundaries[key]
        elif key in relations and place.boundary is None:
            place.cut = f"its boundary {relations[key]} is cut off by the extract"
        places.append(place)
    places.sort(key=lambda p: (p.osm_id, p.name))
    return places


def _level(text: Any) -> int:
    try:
        return int(str(text))
    except ValueError:
        return 0


def place_zones(
    osm: str | Path,
    network: StreetNetwork,
    *,
    pad: float = 100.0,
    level: str = "finest",
) -> gpd.GeoDataFrame:
    """Zones of the settlements (and their suburbs) of an OSM extract.

    Parameters
    ----------
    osm
        The OpenStreetMap file (PBF or XML) the network was read from.
    network
        The street network whose extent the Voronoi cells are clipped to.
    pad
        Metres around the network's convex hull that make the streets' extent.
    level
        ``"finest"``: settlements, each split into its suburbs where it has some;
        ``"settlements"``: the settlements alone.

    Returns
    -------
    zones
        One row per zone, largest place kind first: ``name``, ``place`` (city, town,
        village, hamlet, suburb), ``settlement`` (the settlement a suburb lies in; the
        name itself for a settlement), ``population_osm`` (the ``population=*`` tag, NaN
        where untagged), ``osm_id`` (``node/N``...), ``boundary`` (the boundary's OSM id,
        or ``"voronoi"``), ``cut`` (why the tagged population is not the extract's, or
        ""), and polygon geometries in EPSG:4326.

    Raises
    ------
    OsmDataError
        The extract holds no named settlement or suburb within the streets' extent.
    ParameterError
        ``level`` or ``pad`` is not valid.

    Examples
    --------
    >>> zones = place_zones(demo_pbf(), walk)  # doctest: +SKIP
    """
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    if level not in ("finest", "settlements"):
        raise ParameterError(f"level must be 'finest' or 'settlements', not {level!r}")
    if not (isinstance(pad, int | float) and math.isfinite(pad) and pad >= 0):
        raise ParameterError(f"pad must be metres >= 0, got {pad!r}")
    places = read_places(osm)
    to_net = Transformer.from_crs("EPSG:4326", network.crs, always_xy=True)
    extent = shapely.convex_hull(
        shapely.multipoints(
            np.column_stack([network.nodes["x"].to_numpy(), network.nodes["y"].to_numpy()])
        )
    ).buffer(pad)
    for p in places:
        if p.boundary is not None:
            p.boundary = shapely.transform(p.boundary, _projector(to_net))
            inside = p.boundary.intersection(extent).area
            if p.boundary.area > 0 and inside / p.boundary.area < _INSIDE_SHARE and not p.cut:
                p.cut = (
                    f"only {inside / p.boundary.area:.0%} of its boundary "
                    f"{p.boundary_source} lies within the streets"
                )
    x, y = to_net.transform([p.lon for p in places], [p.lat for p in places])
    for p, px, py in zip(places, x, y, strict=True):
        p.lon, p.lat = float(px), float(py)  # projected from here on
    settlements = [
        p
        for p in places
        if p.place in SETTLEMENT_PLACES
        and (p.boundary is not None or extent.contains(shapely.Point(p.lon, p.lat)))
    ]
    parts = [
        p
        for p in places
        if p.place in PART_PLACES
        and (p.boundary is not None or extent.contains(shapely.Point(p.lon, p.lat)))
    ]
    rows: list[tuple[Place, BaseGeometry, str]] = []
    if not settlements and not parts:
        raise OsmDataError(
            f"{osm} holds no named place={'|'.join(SETTLEMENT_PLACES + PART_PLACES)} within "
            "the streets: give zones in a file (--zones FILE) or rings (--rings KM)"
        )
    top = _partition(extent, settlements) if settlements else [(None, extent)]
    for settlement, area in top:
        inner = [
            p
            for p in parts
            if level == "finest" and area.intersects(_anchor(p)) and area.contains(_anchor(p))
        ]
        if inner:
            for part, cell in _partition(area, inner):
                rows.append((part, cell, settlement.name if settlement else part.name))
        elif settlement is not None:
            rows.append((settlement, area, settlement.name))
    rank = {k: i for i, k in enumerate(SETTLEMENT_PLACES + PART_PLACES)}
    rows = [r for r in rows if not r[1].is_empty]
    rows.sort(key=lambda r: (rank[r[0].place], r[0].name))
    frame = gpd.GeoDataFrame(
        {
            "name": [p.name for p, _, _ in rows],
            "place": [p.place for p, _, _ in rows],
            "settlement": [s for _, _, s in rows],
            "population_osm": [p.population for p, _, _ in rows],
            "osm_id": [p.osm_id for p, _, _ in rows],
            "boundary": [p.boundary_source or "voronoi" for p, _, _ in rows],
            "cut": [p.cut for p, _, _ in rows],
        },
        geometry=[g for _, g, _ in rows],
        crs=network.crs,
    )
    return frame.to_crs("EPSG:4326")


def _projector(transformer: Any) -> Any:
    def project(coords: np.ndarray) -> np.ndarray:
        px, py = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([px, py])

    return project


def _anchor(p: Place) -> BaseGeometry:
    import shapely

    if p.boundary is not None:
        return p.boundary.representative_point()
    return shapely.Point(p.lon, p.lat)


def _partition(region: BaseGeometry, places: list[Place]) -> list[tuple[Place, BaseGeometry]]:
    """Split ``region`` among ``places``: boundaries first, Voronoi cells for the rest."""
    import shapely

    out: list[tuple[Place, BaseGeometry]] = []
    taken: list[BaseGeometry] = []
    for p in places:
        if p.boundary is not None:
            geom = shapely.make_valid(p.boundary).intersection(region)
            if taken:
                geom = geom.difference(shapely.union_all(taken))
            if not geom.is_empty:
                out.append((p, geom))
                taken.append(geom)
    rest = region.difference(shapely.union_all(taken)) if taken else region
    seeds = [p for p in places if p.boundary is None and rest.contains(shapely.Point(p.lon, p.lat))]
    if len(seeds) == 1:
        out.append((seeds[0], rest))
    elif seeds:
        coords = np.array([(p.lon, p.lat) for p in seeds])
        unique, first = np.unique(coords, axis=0, return_index=True)
        cells = shapely.voronoi_polygons(shapely.multipoints(unique), extend_to=region)
        for cell in shapely.get_parts(cells):
            hit = [i for i in first if cell.contains(shapely.Point(*coords[i]))]
            if hit:
                geom = cell.intersection(rest)
                if not geom.is_empty:
                    out.append((seeds[hit[0]], geom))
    return out
