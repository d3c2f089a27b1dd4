"""Walk+transit isochrones: schedule-exact travel times, summarised over a window, drawn
as the street-following polygons of :mod:`connectivity.accessibility.isochrones`.

The recipe in two calls is::

    times = travel_times(network, (lon, lat), departure=..., window=...)
    iso = isochrones(network.streets, times.node_times(50), cutoffs=..., origin=(lat, lon))

:func:`transit_isochrones` does both in one call, and :func:`transit_times_from` gives the
per-node times alone (for :func:`connectivity.accessibility.isochrones.travel_time_surface`). The times
are per street node of the walk network, so the walks from the stops to every street
(egress) are included; the polygons are drawn on the walk network.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from connectivity._errors import ParameterError

if TYPE_CHECKING:
    import geopandas as gpd

    from connectivity.network.intermodal import IntermodalNetwork

__all__ = ["origin_access_time", "transit_isochrones", "transit_times_from"]


def transit_times_from(
    network: IntermodalNetwork,
    *,
    lat: float,
    lon: float,
    departure: Any,
    window: float | None = None,
    percentile: float = 50,
    max_time: float | None = None,
    **options: Any,
) -> np.ndarray:
    """Walk+transit travel times from a point to every node of the walk network.

    Parameters
    ----------
    network
        From :func:`connectivity.network.intermodal.build_network` (with a timetable).
    lat, lon
        The origin in degrees (keyword-only, so they cannot be swapped silently).
    departure
        As :func:`connectivity.routing.queries.travel_times` takes it (``"YYYY-MM-DDTHH:MM"`` on
        the timetable's date, a time, or seconds after midnight).
    window
        Seconds of departure window (every minute from ``departure`` on); ``None`` for the
        single departure.
    percentile
        Per node, the nearest-rank percentile of the window's times (50: the median);
        minutes from which a node is not reached count as ``inf``.
    max_time
        Times beyond this many seconds count as unreached (``inf``); the largest cutoff
        wanted is enough, and makes the search faster.
    **options
        Other options of :func:`connectivity.routing.queries.travel_times` (``max_transfers``,
        ``max_walk_time``, ``walk_speed``, ...).

    Returns
    -------
    times
        Seconds per node of ``network.streets`` (node position order), ``inf`` where
        not reached.

    Raises
    ------
    ParameterError
        A percentile outside (0, 100], a negative window, or any routing parameter
        error.
    OutsideNetworkError
        The origin is off the walk network.
    """
    from connectivity.routing.queries import travel_times

    number = isinstance(percentile, numbers.Real) and not isinstance(percentile, bool | np.bool_)
    if not (number and 0 < float(percentile) <= 100):
        raise ParameterError(
            f"percentile={percentile!r}: give a number in (0, 100], e.g. 50 for the median"
        )
    if window is not None:
        try:
            seconds = float(window)
        except (TypeError, ValueError):
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ParameterError(f"window={window!r}: give seconds >= 0, e.g. 3600")
        window = seconds
    result = travel_times(
        network,
        (float(lon), float(lat)),
        departure=departure,
        window=window or None,
        max_time=max_time,
        **options,
    )
    return np.asarray(result.node_times(float(percentile)), float)


def transit_isochrones(
    network: IntermodalNetwork,
    *,
    lat: float,
    lon: float,
    departure: Any,
    window: float | None = None,
    percentile: float = 50,
    cutoffs: Sequence[float] = (900, 1800),
    buffer: float | None = None,
    resolution: float | None = None,
    **options: Any,
) -> gpd.GeoDataFrame:
    """Walk+transit isochrones from a point: route, summarise over the window, draw.

    Parameters
    ----------
    network
        From :func:`connectivity.network.intermodal.build_network` (with a timetable).
    lat, lon
        The origin in degrees.
    departure
        As :func:`transit_times_from`.
    window
        Seconds of departure window; ``None`` for one departure.
    percentile
        Per node, the percentile of the window's times that the polygons show.
    cutoffs
        Travel times in seconds; one polygon each.
    buffer, resolution
        As :func:`connectivity.accessibility.isochrones.isochrones` (metres, defaults of the walk mode).
    **options
        Other options of :func:`connectivity.routing.queries.travel_times`.

    Returns
    -------
    isochrones
        A GeoDataFrame in EPSG:4326: ``cutoff`` (seconds, ascending) and ``geometry``,
        nested (each polygon contains the smaller ones).

    Raises
    ------
    ParameterError
        Bad cutoffs, percentile, window or routing parameters.
    OutsideNetworkError
        The origin is off the walk network.

    Examples
    --------
    >>> iso = transit_isochrones(  # doctest: +SKIP
    ...     network, lat=60.1710, lon=24.9414, departure="2022-02-22T08:00",
    ...     window=3600, cutoffs=(900, 1800))
    """
    from connectivity.accessibility.isochrones import _check_cutoffs, isochrones

    cuts = _check_cutoffs(cutoffs)
    times = transit_times_from(
        network,
        lat=lat,
        lon=lon,
        departure=departure,
        window=window,
        percentile=percentile,
        max_time=max(cuts),
        **options,
    )
    return isochrones(
        network.streets,
        times,
        cutoffs=cuts,
        buffer=buffer,
        resolution=resolution,
        origin=(float(lat), float(lon)),
        max_distance=options.get("snap_distance"),
        origin_time=origin_access_time(network, lat=lat, lon=lon, **options),
    )


def origin_access_time(
    network: IntermodalNetwork, *, lat: float, lon: float, **options: Any
) -> float:
    """Seconds of the walk from a point onto its street, as walk+transit routing counts
    it (snapping distance / walking speed): the ``origin_time`` of
    :func:`connectivity.accessibility.isochrones.isochrones` for walk+transit times.

    ``options`` are those of :func:`connectivity.routing.queries.travel_times`; only
    ``snap_distance`` and ``walk_speed`` matter here.
    """
    snap: dict[str, Any] = {}
    if options.get("snap_distance") is not None:
        snap["max_distance"] = float(options["snap_distance"])
    speed = options.get("walk_speed")
    kmh = float(network.walk_speed if speed is None else speed)
    snapped = network.streets.snap(float(lon), float(lat), **snap)
    return float(snapped.distance[0]) / (kmh / 3.6)
