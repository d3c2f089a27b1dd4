"""connectivity: transport network connectivity of urban agglomerations.

Street networks (walk, bike, drive) from OpenStreetMap and GTFS timetables join into one
intermodal network; from it come schedule-exact travel times, isochrones, accessibility
of the periphery, bottlenecks, and the effect of proposed transit lines.

The public API is listed in ``__all__``; its names are imported lazily (PEP 562), so
``import connectivity`` stays fast and heavy parts (maps, rasters) load when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from connectivity._errors import (
    CacheError,
    ConnectivityError,
    CoordinateError,
    EmptyNetworkError,
    GtfsError,
    InputFileError,
    MissingDependencyError,
    NoServiceError,
    OsmDataError,
    OutsideNetworkError,
    OverpassError,
    ParameterError,
    ScenarioError,
)
from connectivity._modes import Mode

__version__ = "0.1.0"

#: Public name -> module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "StreetNetwork": "connectivity.streets",
    "Snapped": "connectivity.streets",
    "load_streets": "connectivity.streets",
    "download_streets": "connectivity.streets",
    "demo_pbf": "connectivity.streets",
    "Timetable": "connectivity.timetable",
    "IntermodalNetwork": "connectivity.network",
    "build_network": "connectivity.network",
    "TravelTimes": "connectivity.routing",
    "travel_times": "connectivity.routing",
    "latest_departures": "connectivity.routing",
    "travel_time_matrix": "connectivity.routing",
    "load_timetable": "connectivity.gtfs",
    "service_dates": "connectivity.gtfs",
    "TransitMode": "connectivity.gtfs",
    "audit": "connectivity._audit",
    "isochrones": "connectivity.isochrone",
    "isochrones_from_file": "connectivity.isochrone",
    "travel_times_from": "connectivity.isochrone",
    "travel_time_surface": "connectivity.isochrone",
    "write_geotiff": "connectivity.isochrone",
    "write_isochrones": "connectivity.isochrone",
    "isochrone_map": "connectivity.maps",
    "save_map": "connectivity.maps",
    "access_map": "connectivity.maps",
    "transit_routes": "connectivity.maps",
    "static_map": "connectivity._static_map",
    "transit_isochrones": "connectivity.transit_isochrone",
    "transit_times_from": "connectivity.transit_isochrone",
    "demo": "connectivity._demo",
    "Core": "connectivity.zones",
    "read_core": "connectivity.zones",
    "read_zones": "connectivity.zones",
    "ring_zones": "connectivity.zones",
    "zone_of_nodes": "connectivity.zones",
    "AssignmentReport": "connectivity.opportunities",
    "Opportunities": "connectivity.opportunities",
    "assign_opportunities": "connectivity.opportunities",
    "cumulative_accessibility": "connectivity.opportunities",
    "gravity_accessibility": "connectivity.opportunities",
    "network_accessibility": "connectivity.opportunities",
    "read_opportunities": "connectivity.opportunities",
    "transit_accessibility": "connectivity.opportunities",
    "CoreTimes": "connectivity.access",
    "core_periphery": "connectivity.access",
    "core_times": "connectivity.access",
    "distance_profile": "connectivity.access",
    "report_text": "connectivity.access",
    "transit_core_times": "connectivity.access",
    "write_indicators": "connectivity.access",
    "gtfs_from_osm": "connectivity.osm_transit",
    "read_route_relations": "connectivity.osm_transit",
    "RouteRelations": "connectivity.osm_transit",
    "estimated_feed": "connectivity.osm_transit",
    "route_lines": "connectivity.osm_transit",
    "Bottlenecks": "connectivity.bottlenecks",
    "StudyArea": "connectivity.bottlenecks",
    "articulation_points": "connectivity.bottlenecks",
    "bottleneck_map": "connectivity.bottlenecks",
    "find_bottlenecks": "connectivity.bottlenecks",
    "bridges": "connectivity.bottlenecks",
    "study_area": "connectivity.bottlenecks",
    "transit_view": "connectivity.bottlenecks",
    "criticality": "connectivity.bottlenecks",
    "edge_betweenness": "connectivity.bottlenecks",
    "edge_capacity": "connectivity.bottlenecks",
    "min_cuts": "connectivity.bottlenecks",
    "node_betweenness": "connectivity.bottlenecks",
    "od_betweenness": "connectivity.bottlenecks",
    "population_weighted_times": "connectivity.bottlenecks",
    "removal_sets": "connectivity.bottlenecks",
    "AddLine": "connectivity.scenario",
    "AddStop": "connectivity.scenario",
    "ChangeFrequency": "connectivity.scenario",
    "RemoveRoutes": "connectivity.scenario",
    "RemoveStops": "connectivity.scenario",
    "apply_scenario": "connectivity.scenario",
    "scenario_timetable": "connectivity.scenario",
    "compare_variants": "connectivity.scenario",
    "VariantComparison": "connectivity.scenario",
    "write_gtfs": "connectivity.gtfs_write",
    "run_scenario": "connectivity._scenario_study",
    "read_scenario": "connectivity._scenario_file",
}

__all__ = [
    "CacheError",
    "ConnectivityError",
    "CoordinateError",
    "EmptyNetworkError",
    "GtfsError",
    "InputFileError",
    "MissingDependencyError",
    "Mode",
    "NoServiceError",
    "OsmDataError",
    "OutsideNetworkError",
    "OverpassError",
    "ParameterError",
    "ScenarioError",
    "__version__",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'connectivity' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
