"""Population estimated from OpenStreetMap where no population product is at hand.

:func:`estimate_population` weighs the nodes of a street network by the homes near them:

1. **buildings**: every building area's home floor area, footprint (m², in the network's
   projected CRS) x ``building:levels`` (else the default levels of its type,
   :data:`DEFAULT_LEVELS`), put on the node nearest its centroid. Residential types
   (:data:`HOME_TYPES`) weigh as homes; so does an untyped ``building=yes`` without a
   ``shop``, ``office``, ``amenity``, ``tourism``, ``craft`` or ``industrial`` tag (most
   homes in OpenStreetMap are untyped); every other type weighs 0;
2. else **residential streets**: the length of ``highway=residential|living_street``
   edges of the network, half to each end node.

The weights are then **scaled**: to ``total`` when given; else to the ``population=*``
tags of the extract's settlements (:func:`connectivity.place_zones`), each settlement's
nodes to its tag, and the nodes of untagged settlements at the tagged ones' people per
unit of weight; else they stay **relative** (summing to the node count, so figures keep
the scale of node counts) and the report says ``relative: no population data``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from connectivity._errors import InputFileError, OsmDataError, ParameterError

if TYPE_CHECKING:
    from connectivity.streets.graph import StreetNetwork

__all__ = ["DEFAULT_LEVELS", "HOME_TYPES", "PopulationEstimate", "estimate_population"]

logger = logging.getLogger(__name__)

#: ``building=*`` values that are homes.
HOME_TYPES = frozenset(
    {
        "apartments",
        "residential",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "dormitory",
        "bungalow",
        "farm",
        "cabin",
        "houseboat",
        "static_caravan",
        "yes",
    }
)

#: Levels of a building without ``building:levels``, by type (``"default"`` otherwise).
DEFAULT_LEVELS: dict[str, float] = {
    "apartments": 4.0,
    "residential": 3.0,
    "dormitory": 4.0,
    "house": 2.0,
    "detached": 2.0,
    "semidetached_house": 2.0,
    "terrace": 2.0,
    "farm": 2.0,
    "bungalow": 1.0,
    "cabin": 1.0,
    "houseboat": 1.0,
    "static_caravan": 1.0,
    "default": 2.0,
}

#: Tags that make an untyped ``building=yes`` a workplace, not a home.
_NOT_HOME_KEYS = ("shop", "office", "amenity", "tourism", "craft", "industrial", "man_made")

#: Street classes whose length weighs as homes in the fallback.
RESIDENTIAL_STREETS = ("residential", "living_street")

RELATIVE = "relative: no population data"


@dataclass(frozen=True)
class PopulationEstimate:
    """What :func:`estimate_population` used.

    Attributes
    ----------
    source
        The OSM file read.
    method
        ``"buildings"`` or ``"residential streets"``.
    scale
        ``"total"`` (the user's total), ``"places"`` (``population=*`` tags) or
        ``"relative"`` (no population data: the weights sum to the node count).
    total
        The sum of the weights.
    n_buildings
        Building areas read.
    n_homes
        Of them, homes with a floor area on a node within ``max_distance``.
    n_far
        Homes farther than ``max_distance`` from every node (left out).
    floor_area
        Home floor area put on nodes (m²).
    residential_km
        Residential street length (km, each street once) in the fallback; 0 otherwise.
    places_used
        ``"Name (population)"`` of each settlement scaled to its tag.
    places_skipped
        ``"Name: why"`` of each tagged settlement not used.
    """

    source: str
    method: str
    scale: str
    total: float
    n_buildings: int
    n_homes: int
    n_far: int
    floor_area: float
    residential_km: float
    places_used: tuple[str, ...] = ()
    places_skipped: tuple[str, ...] = ()

    @property
    def relative(self) -> bool:
        """Whether the weights are relative (no population data)."""
        return self.scale == "relative"

    def summary(self) -> str:
        """One line for reports: where the weights come from and what they sum to."""
        name = Path(self.source).name
        if self.method == "buildings":
            what = (
                f"estimated from {self.n_homes:,} homes of {self.n_buildings:,} buildings "
                f"in {name} ({self.floor_area:,.0f} m² of floor area)"
            )
        else:
            what = (
                f"estimated from {self.residential_km:,.1f} km of residential streets in "
                f"{name} (no residential buildings there)"
            )
        if self.scale == "total":
            scaled = f"scaled to the total given, {self.total:,.0f}"
        elif self.scale == "places":
            scaled = f"scaled to the population tags of {', '.join(self.places_used)}"
        else:
            scaled = f"{RELATIVE} (weights sum to the {self.total:,.0f} nodes)"
        skipped = f"; not used: {'; '.join(self.places_skipped)}" if self.places_skipped else ""
        return f"Population {what}, {scaled}{skipped}."


def estimate_population(
    osm: str | Path,
    network: StreetNetwork,
    *,
    total: float | None = None,
    places: bool = True,
    max_distance: float = 200.0,
    levels: dict[str, float] | None = None,
) -> tuple[np.ndarray, PopulationEstimate]:
    """Estimate the population per node of a network from an OSM extract's buildings.

    Parameters
    ----------
    osm
        The OpenStreetMap file (PBF or XML) the network was read from.
    network
        The street network (usually the walk network).
    total
        People in the study area: the weights are scaled to sum to it.
    places
        Without ``total``, scale to the settlements' ``population=*`` tags.
    max_distance
        Metres: a building farther from every node is left out (and counted).
    levels
        Default levels per building type, merged over :data:`DEFAULT_LEVELS`.

    Returns
    -------
    weights
        People per node (float64, ``network.n_nodes``), or relative weights summing to
        ``network.n_nodes`` when there is no population data.
    report
        What was used: :class:`PopulationEstimate`.

    Raises
    ------
    InputFileError
        The file does not exist.
    OsmDataError
        The file holds neither residential buildings nor residential streets.
    ParameterError
        ``total`` is not a number > 0, bad ``levels`` or ``max_distance``.

    Examples
    --------
    >>> weights, report = estimate_population(demo_pbf(), walk)  # doctest: +SKIP
    """
    path = Path(osm)
    if total is not None and not (
        isinstance(total, int | float | np.number) and math.isfinite(total) and total > 0
    ):
        raise ParameterError(
            f"total must be a number of people > 0, got {total!r}: give the people of the "
            "study area, e.g. 2.1e6"
        )
    if not (isinstance(max_distance, int | float) and max_distance > 0):
        raise ParameterError(f"max_distance must be metres > 0, got {max_distance!r}")
    table = {**DEFAULT_LEVELS, **(levels or {})}
    if any(not (math.isfinite(float(v)) and float(v) > 0) for v in table.values()):
        raise ParameterError(f"levels must be > 0 per building type, got {levels!r}")
    if not path.exists():
        raise InputFileError(f"OSM file {path} does not exist: check the path")
    weights = np.zeros(network.n_nodes)
    n_buildings, n_homes, n_far, floor_area, km = 0, 0, 0, 0.0, 0.0
    buildings = _read_buildings(path, table)
    n_buildings = len(buildings["area"])
    home = buildings["home"]
    if home.any():
        floor = buildings["area"][home] * buildings["levels"][home]
        x, y = _project(network, buildings["lon"][home], buildings["lat"][home])
        dist, node = network._kdtree.query(np.column_stack([x, y]))
        near = dist <= max_distance
        np.add.at(weights, node[near], floor[near])
        n_homes, n_far, floor_area = int(near.sum()), int((~near).sum()), float(floor[near].sum())
    method = "buildings"
    if weights.sum() <= 0:
        method = "residential streets"
        weights, km = _street_weights(network)
        if weights.sum() <= 0:
            raise OsmDataError(
                f"{path} holds neither residential buildings ({n_buildings} buildings, none a "
                "home near the streets) nor residential streets (highway=residential|"
                "living_street): give a population product with --population FILE "
                "(population=...), or --population nodes to count street nodes"
            )
    used: list[str] = []
    skipped: list[str] = []
    if total is not None:
        weights *= float(total) / weights.sum()
        scale = "total"
    else:
        scale = "relative"
        if places:
            weights, used, skipped = _scale_to_places(path, network, weights)
            scale = "places" if used else "relative"
        if scale == "relative":
            weights *= network.n_nodes / weights.sum()
    report = PopulationEstimate(
        source=str(path),
        method=method,
        scale=scale,
        total=float(weights.sum()),
        n_buildings=n_buildings,
        n_homes=n_homes,
        n_far=n_far,
        floor_area=floor_area,
        residential_km=km,
        places_used=tuple(used),
        places_skipped=tuple(skipped),
    )
    logger.info("%s", report.summary())
    if n_far:
        logger.warning(
            "%s: %d homes lie farther than %g m from the %s network and were left out",
            path,
            n_far,
            max_distance,
            network.mode,
        )
    return weights, report


def _project(network: StreetNetwork, lon: np.ndarray, lat: np.ndarray) -> tuple[Any, Any]:
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", network.crs, always_xy=True)
    return t.transform(lon, lat)


def _levels(text: Any) -> float:
    """``building:levels`` as a number of levels >= 1, or NaN."""
    try:
        value = float(str(text).replace(",", ".").split(";")[0])
    except ValueError:
        return math.nan
    return max(value, 1.0) if math.isfinite(value) else math.nan


def _read_buildings(path: Path, table: dict[str, float]) -> dict[str, np.ndarray]:
    """Building areas: centroid lon/lat, footprint (m²), levels, whether a home."""
    import geopandas as gpd
    import osmium
    import shapely

    from connectivity._geo import utm_crs

    wkb = osmium.geom.WKBFactory()
    geoms: list[Any] = []
    levels: list[float] = []
    home: list[bool] = []
    keys = osmium.filter.KeyFilter("building")
    try:
        processor: Any = osmium.FileProcessor(str(path)).with_areas(keys).with_filter(keys)
        for obj in processor:
            if not obj.is_area():
                continue
            tags = obj.tags
            kind = tags.get("building", "yes")
            if kind == "no":
                continue
            try:
                geoms.append(wkb.create_multipolygon(obj))
            except RuntimeError:  # an invalid ring
                continue
            n = _levels(tags.get("building:levels"))
            levels.append(n if not math.isnan(n) else table.get(kind, table["default"]))
            is_home = kind in HOME_TYPES
            if kind == "yes" and any(k in tags for k in _NOT_HOME_KEYS):
                is_home = False
            home.append(is_home)
    except RuntimeError as exc:
        raise OsmDataError(
            f"cannot read OSM file {path} ({exc}): re-download the extract"
        ) from None
    if not geoms:
        empty = np.zeros(0)
        return {"lon": empty, "lat": empty, "area": empty, "levels": empty, "home": empty > 0}
    series = gpd.GeoSeries(shapely.from_wkb(geoms), crs="EPSG:4326")
    centre = series.representative_point()
    lon, lat = centre.x.to_numpy(), centre.y.to_numpy()
    area = series.to_crs(utm_crs(float(np.median(lon)), float(np.median(lat)))).area
    return {
        "lon": lon,
        "lat": lat,
        "area": area.to_numpy(float),
        "levels": np.asarray(levels, float),
        "home": np.asarray(home, bool),
    }


def _street_weights(network: StreetNetwork) -> tuple[np.ndarray, float]:
    """Residential street length, half on each end node; each street counted once."""
    edges = network.edges
    residential = edges["highway"].astype(str).isin(RESIDENTIAL_STREETS).to_numpy()
    u = edges["u"].to_numpy()[residential]
    v = edges["v"].to_numpy()[residential]
    length = edges["length"].to_numpy(float)[residential]
    pairs = np.column_stack([np.minimum(u, v), np.maximum(u, v)])
    _, first = np.unique(pairs, axis=0, return_index=True)
    weights = np.zeros(network.n_nodes)
    np.add.at(weights, u[first], length[first] / 2)
    np.add.at(weights, v[first], length[first] / 2)
    return weights, float(length[first].sum()) / 1000.0


def _scale_to_places(
    path: Path, network: StreetNetwork, weights: np.ndarray
) -> tuple[np.ndarray, list[str], list[str]]:
    """Scale each tagged settlement's nodes to its population; the rest at their rate."""
    from connectivity.accessibility.places import place_zones
    from connectivity.accessibility.zones import zone_of_nodes

    try:
        zones = place_zones(path, network, level="settlements")
    except OsmDataError:  # no settlement in the extract
        return weights, [], []
    zone = zone_of_nodes(network, zones)
    out = weights.copy()
    used: list[str] = []
    skipped: list[str] = []
    people, weight_used = 0.0, 0.0
    scaled = np.zeros(network.n_nodes, bool)
    for z, row in enumerate(zones.itertuples(index=False)):
        if math.isnan(row.population_osm):
            continue
        members = zone == z
        w = float(weights[members].sum())
        if row.cut:
            skipped.append(f"{row.name} ({row.population_osm:,.0f}): {row.cut}")
        elif w <= 0 or row.population_osm <= 0:
            skipped.append(f"{row.name} ({row.population_osm:,.0f}): no homes on its streets")
        else:
            out[members] = weights[members] * (row.population_osm / w)
            scaled |= members
            people += float(row.population_osm)
            weight_used += w
            used.append(f"{row.name} ({row.population_osm:,.0f})")
    if used:
        out[~scaled] = weights[~scaled] * (people / weight_used)
    return out, used, skipped


def resolve_population(
    spec: str | Path | None,
    osm: str | Path,
    network: StreetNetwork,
    *,
    total: float | None = None,
) -> tuple[np.ndarray | None, str]:
    """The population of a command: the same weights for every consumer.

    Parameters
    ----------
    spec
        ``None``: the OSM estimate (:func:`estimate_population`); ``"nodes"``: every
        node counts 1 (returned as ``None``); else a population product for
        :func:`connectivity.assign_population`, split over each cell's nodes in
        proportion to the OSM estimate where there is one.
    osm
        The OpenStreetMap file the network was read from.
    network
        The network the weights are for.
    total
        People in the study area, for the OSM estimate only.

    Returns
    -------
    weights
        People (or relative weights) per node, ``None`` for node counts.
    text
        One line for reports saying where the weights come from.

    Raises
    ------
    ParameterError
        ``total`` with a product or with node counts, or ``total`` <= 0.
    """
    from connectivity.accessibility.population import assign_population

    if spec is not None and total is not None:
        raise ParameterError(
            f"population_total scales the OSM estimate: drop it with population={spec!s}"
        )
    if spec is None:
        weights, report = estimate_population(osm, network, total=total)
        return weights, report.summary()
    if str(spec).strip().lower() == "nodes":
        return None, f"Population: not estimated; every {network.mode} network node counts 1."
    try:
        prior, _ = estimate_population(osm, network)
    except OsmDataError:  # neither buildings nor residential streets: split equally
        prior = None
    weights, assignment = assign_population(network, spec, prior=prior)
    split = "by the OSM estimate" if prior is not None else "equally"
    text = (
        f"Population: {assignment.total:,.0f} in {spec}; {assignment.assigned:,.0f} assigned to "
        f"the {network.mode} network, {assignment.unassigned:,.0f} "
        f"({assignment.share_unassigned:.1%}, {assignment.n_unassigned} of "
        f"{assignment.n_cells} cells or points) too far from it and left out; cells split "
        f"over the streets inside them {split}."
    )
    return weights, text
