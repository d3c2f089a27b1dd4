"""Street networks downloaded from Overpass through osmnx, with every response cached.

osmnx sends the Overpass queries (and the Nominatim geocoding of place names) and keeps
each raw response as a JSON file in its cache folder; here that folder is
``settings.cache_folder / "overpass"``, so a second call with the same arguments reads
the responses back and opens no connection. The graph osmnx builds (unsimplified, every
component kept) becomes a :class:`~connectivity.streets.graph.StreetNetwork` through the same
assembly as a file (:func:`connectivity.streets._osm.assemble`). The ways follow osmnx's
``walk`` / ``bike`` / ``drive`` filters and one-way rules.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from connectivity import settings
from connectivity._errors import (
    EmptyNetworkError,
    OverpassError,
    ParameterError,
)
from connectivity._files import sweep_cache, write_text_atomic
from connectivity._modes import Mode
from connectivity.streets._osm import ROAD_TAGS, assemble, check_bbox
from connectivity.streets.graph import StreetNetwork, check_lonlat

log = logging.getLogger(__name__)


@contextlib.contextmanager
def osmnx_settings() -> Iterator[Any]:
    """Point osmnx at connectivity's cache and endpoint while a download runs."""
    import osmnx as ox

    wanted = {
        "cache_folder": settings.cache_folder / "overpass",
        "use_cache": True,
        "overpass_url": settings.overpass_url,
        "http_user_agent": settings.user_agent,
        "log_console": False,
    }
    saved = {name: getattr(ox.settings, name) for name in wanted}
    for name, value in wanted.items():
        setattr(ox.settings, name, value)
    http = ox._http
    read, save = http._retrieve_from_cache, http._save_to_cache
    http._retrieve_from_cache = _safe_retrieve(read)
    http._save_to_cache = _atomic_save(save)
    try:
        yield ox
    finally:
        http._retrieve_from_cache, http._save_to_cache = read, save
        for name, value in saved.items():
            setattr(ox.settings, name, value)


def _safe_retrieve(read: Any) -> Any:
    """osmnx's cache read, with an unreadable response (truncated, garbage, not JSON)
    taken as a miss: logged and removed, so the response is downloaded again."""

    def retrieve(url: str) -> Any:
        import osmnx as ox

        sweep_cache()
        try:
            value = read(url)
            if (
                "interpreter" in url
                and value is not None
                and not isinstance(value.get("elements") if isinstance(value, dict) else None, list)
            ):
                raise ValueError("no list of elements in the response")
            return value
        except (ValueError, OSError) as exc:  # JSONDecodeError, UnicodeDecodeError, ...
            path = ox._http._resolve_cache_filepath(url)
            log.warning(
                "ignoring the unreadable Overpass response %s (%s: %s); downloading it again",
                path,
                type(exc).__name__,
                exc,
            )
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    return retrieve


def _atomic_save(save: Any) -> Any:
    """osmnx's cache write made atomic (a killed run leaves no half-written response)."""

    def store(url: str, response_json: Any, ok: bool) -> None:
        import json

        import osmnx as ox

        if not (ox.settings.use_cache and ok) or (
            isinstance(response_json, dict) and "remark" in response_json
        ):
            save(url, response_json, ok)  # osmnx logs why it saves nothing
            return
        path = ox._http._resolve_cache_filepath(url)
        write_text_atomic(path, json.dumps(response_json))
        log.info("saved the Overpass response to %s", path)

    return store


def download(
    *,
    place: str | None,
    bbox: Any,
    point: Any,
    dist: float | None,
    mode: Mode,
    walk_speed: float,
    bike_speed: float,
    drive_speeds: Mapping[str, float],
) -> StreetNetwork:
    """Download (or read from the cache) one mode's streets; see ``download_streets``."""
    import requests
    from osmnx._errors import InsufficientResponseError

    given = [
        name
        for name, value in (("place", place), ("bbox", bbox), ("point", point))
        if value is not None
    ]
    if len(given) != 1:
        raise ParameterError(
            "give exactly one of place=, bbox= or point= (with dist=) to download streets"
            + (f"; got {', '.join(given)}" if given else "")
        )
    if point is not None:
        try:
            lat, lon = (float(c) for c in point)
        except (TypeError, ValueError):
            raise ParameterError(f"point must be (lat, lon) in degrees, got {point!r}") from None
        check_lonlat(np.array([lon]), np.array([lat]))
        if dist is None or not dist > 0:
            raise ParameterError(
                f"point= needs dist= (metres, > 0) for the radius around it, got dist={dist!r}"
            )
    elif dist is not None:
        raise ParameterError("dist= is only used with point=")
    box = check_bbox(bbox) if bbox is not None else None

    cache = settings.cache_folder / "overpass"
    what = (
        f"place {place!r}"
        if place is not None
        else f"bbox {box}"
        if box is not None
        else f"{dist:g} m around (lat {lat}, lon {lon})"
    )
    log.info("streets for %s (mode %s) from Overpass, cached in %s", what, mode.value, cache)
    with osmnx_settings() as ox:
        options = {"network_type": mode.value, "simplify": False, "retain_all": True}
        try:
            if place is not None:
                graph = ox.graph_from_place(place, **options)
            elif box is not None:
                graph = ox.graph_from_bbox(box, **options)
            else:
                graph = ox.graph_from_point((lat, lon), float(dist or 0), **options)
        except InsufficientResponseError as exc:
            if place is not None and "Nominatim" in str(exc):
                raise ParameterError(
                    f"Nominatim found no place {place!r} ({exc}): check the spelling, add "
                    "the country, or give bbox= instead"
                ) from None
            raise EmptyNetworkError(
                f"Overpass returned no streets for mode {mode.value} in {what}: use a "
                "larger area or another mode"
            ) from None
        except TypeError as exc:
            # osmnx: the place geocoded to a point or line, not to an area.
            raise ParameterError(
                f"place {place!r} is not an area in Nominatim ({exc}): give a city or "
                "district name, or use point= with dist= instead"
            ) from None
        except ValueError as exc:
            if "no graph nodes" in str(exc).lower():
                raise EmptyNetworkError(
                    f"Overpass returned no streets for mode {mode.value} in {what}: use a "
                    "larger area or another mode"
                ) from None
            raise
        except (requests.RequestException, OSError) as exc:
            raise OverpassError(
                f"could not download streets for {what} from {settings.overpass_url} "
                f"({type(exc).__name__}: {exc}) and no cached response is in {cache}: "
                "check the internet connection or settings.overpass_url, or load a local "
                "extract with load_streets()"
            ) from None
    return from_osmnx_graph(
        graph,
        mode=mode,
        walk_speed=walk_speed,
        bike_speed=bike_speed,
        drive_speeds=drive_speeds,
        source=f"Overpass {what}",
    )


def from_osmnx_graph(
    graph: Any,
    *,
    mode: Mode,
    walk_speed: float,
    bike_speed: float,
    drive_speeds: Mapping[str, float],
    source: str,
) -> StreetNetwork:
    """A :class:`StreetNetwork` from an unprojected osmnx ``MultiDiGraph`` whose edges
    osmnx has already directed by its one-way rules."""
    node_ids = np.fromiter(graph.nodes, np.int64, count=graph.number_of_nodes())
    nodes = pd.DataFrame(
        {
            "id": node_ids,
            "lon": [graph.nodes[n]["x"] for n in node_ids],
            "lat": [graph.nodes[n]["y"] for n in node_ids],
        }
    )
    rows = list(graph.edges(data=True))
    if not rows:
        raise EmptyNetworkError(f"{source} holds no streets usable for mode {mode.value}")

    def column(name: str) -> list[Any]:
        return [d.get(name) for _, _, d in rows]

    edges = pd.DataFrame(
        {
            "u": np.array([r[0] for r in rows], np.int64),
            "v": np.array([r[1] for r in rows], np.int64),
            "osmid": [o[0] if isinstance(o, list) else o for o in column("osmid")],
            "length": np.array(column("length"), float),
            "highway": column("highway"),
            "name": column("name"),
            **{tag: column(tag) for tag in ROAD_TAGS},
        }
    )
    return assemble(
        nodes,
        edges,
        mode=mode,
        walk_speed=walk_speed,
        bike_speed=bike_speed,
        drive_speeds=drive_speeds,
        source=source,
    )
