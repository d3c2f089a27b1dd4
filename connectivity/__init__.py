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
    NoJourneyError,
    NoServiceError,
    OsmDataError,
    OutputError,
    OutsideNetworkError,
    OverpassError,
    ParameterError,
    ScenarioError,
)
from connectivity._modes import Mode

__version__ = "0.1.0"

#: Public name -> module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "StreetNetwork": "connectivity.streets.graph",
    "Snapped": "connectivity.streets.graph",
    "load_streets": "connectivity.streets.load",
    "download_streets": "connectivity.streets.load",
    "demo_pbf": "connectivity.streets.load",
    "clip_osm": "connectivity.streets.clip",
    "with_tram_tracks": "connectivity.streets.tracks",
    "clip_gtfs": "connectivity.transit.clip",
    "accessibility_surface": "connectivity.accessibility.surface",
    "Surface": "connectivity.accessibility.surface",
    "Timetable": "connectivity.transit.timetable",
    "IntermodalNetwork": "connectivity.network.intermodal",
    "build_network": "connectivity.network.intermodal",
    "TravelTimes": "connectivity.routing.queries",
    "travel_times": "connectivity.routing.queries",
    "latest_departures": "connectivity.routing.queries",
    "travel_time_matrix": "connectivity.routing.matrix",
    "journeys": "connectivity.routing.itineraries",
    "route_usage": "connectivity.routing.usage",
    "RouteUsage": "connectivity.routing.usage",
    "load_timetable": "connectivity.transit.gtfs",
    "service_dates": "connectivity.transit.gtfs",
    "TransitMode": "connectivity.transit.gtfs",
    "audit": "connectivity.transit.audit",
    "isochrones": "connectivity.accessibility.isochrones",
    "isochrones_from_file": "connectivity.accessibility.isochrones",
    "travel_times_from": "connectivity.accessibility.isochrones",
    "travel_time_surface": "connectivity.accessibility.isochrones",
    "write_geotiff": "connectivity.accessibility.isochrones",
    "write_isochrones": "connectivity.accessibility.isochrones",
    "isochrone_map": "connectivity.outputs.maps",
    "save_map": "connectivity.outputs.folium_base",
    "access_map": "connectivity.outputs.choropleth",
    "journey_map": "connectivity.outputs.journey_map",
    "transit_routes": "connectivity.outputs.maps",
    "static_map": "connectivity.outputs.static_map",
    "transit_isochrones": "connectivity.accessibility.transit_isochrones",
    "transit_times_from": "connectivity.accessibility.transit_isochrones",
    "demo": "connectivity.studies.demo",
    "Core": "connectivity.accessibility.zones",
    "read_core": "connectivity.accessibility.zones",
    "read_zones": "connectivity.accessibility.zones",
    "ring_zones": "connectivity.accessibility.zones",
    "zone_of_nodes": "connectivity.accessibility.zones",
    "AssignmentReport": "connectivity.accessibility.opportunities",
    "Opportunities": "connectivity.accessibility.opportunities",
    "assign_opportunities": "connectivity.accessibility.opportunities",
    "cumulative_accessibility": "connectivity.accessibility.opportunities",
    "gravity_accessibility": "connectivity.accessibility.opportunities",
    "network_accessibility": "connectivity.accessibility.opportunities",
    "read_opportunities": "connectivity.accessibility.opportunities",
    "transit_accessibility": "connectivity.accessibility.opportunities",
    "CoreTimes": "connectivity.accessibility.indicators",
    "core_periphery": "connectivity.accessibility.indicators",
    "core_times": "connectivity.accessibility.indicators",
    "distance_profile": "connectivity.accessibility.indicators",
    "report_text": "connectivity.accessibility.indicators",
    "transit_core_times": "connectivity.accessibility.indicators",
    "write_indicators": "connectivity.accessibility.indicators",
    "gtfs_from_osm": "connectivity.transit.osm_feed",
    "read_route_relations": "connectivity.transit.osm_relations",
    "RouteRelations": "connectivity.transit.osm_relations",
    "estimated_feed": "connectivity.transit.osm_feed",
    "route_lines": "connectivity.transit.osm_feed",
    "Bottlenecks": "connectivity.bottlenecks.study",
    "StudyArea": "connectivity.bottlenecks.study",
    "articulation_points": "connectivity.bottlenecks.structure",
    "bottleneck_map": "connectivity.outputs.bottleneck_map",
    "write_bottlenecks": "connectivity.outputs.bottleneck_map",
    "find_bottlenecks": "connectivity.bottlenecks.study",
    "bridges": "connectivity.bottlenecks.structure",
    "study_area": "connectivity.bottlenecks.study",
    "transit_view": "connectivity.bottlenecks.transit",
    "criticality": "connectivity.bottlenecks.criticality",
    "edge_betweenness": "connectivity.bottlenecks.structure",
    "edge_capacity": "connectivity.bottlenecks.structure",
    "min_cuts": "connectivity.bottlenecks.structure",
    "node_betweenness": "connectivity.bottlenecks.structure",
    "od_betweenness": "connectivity.bottlenecks.structure",
    "population_weighted_times": "connectivity.bottlenecks.criticality",
    "removal_sets": "connectivity.bottlenecks.criticality",
    "AddLine": "connectivity.scenarios.modifications",
    "AddStop": "connectivity.scenarios.modifications",
    "ChangeFrequency": "connectivity.scenarios.modifications",
    "RemoveRoutes": "connectivity.scenarios.modifications",
    "RemoveStops": "connectivity.scenarios.modifications",
    "Reroute": "connectivity.scenarios.modifications",
    "apply_scenario": "connectivity.scenarios.apply",
    "scenario_timetable": "connectivity.scenarios.apply",
    "compare_variants": "connectivity.scenarios.compare",
    "VariantComparison": "connectivity.scenarios.compare",
    "write_gtfs": "connectivity.transit.write",
    "run_scenario": "connectivity.studies.scenario",
    "read_scenario": "connectivity.scenarios.file",
    "variant_modifications": "connectivity.scenarios.file",
    "PopulationReport": "connectivity.accessibility.population",
    "assign_population": "connectivity.accessibility.population",
    "PopulationEstimate": "connectivity.accessibility.population_osm",
    "estimate_population": "connectivity.accessibility.population_osm",
    "place_zones": "connectivity.accessibility.places",
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
    "OutputError",
    "NoJourneyError",
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
