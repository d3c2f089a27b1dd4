"""Comparing scenario variants by the accessibility they give many origins.

:func:`compare_variants` computes the baseline's travel-time matrix once, applies each
variant (:func:`connectivity.scenarios.apply.apply_scenario`), routes again only the
origins that may reach a new stop, and ranks the variants in a
:class:`VariantComparison`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import ScenarioError
from connectivity.network.intermodal import IntermodalNetwork
from connectivity.scenarios.apply import _APPLY, apply_scenario, baseline_frames
from connectivity.scenarios.modifications import AddLine

__all__ = ["VariantComparison", "compare_variants"]


@dataclass
class VariantComparison:
    """The result of :func:`compare_variants`.

    Attributes
    ----------
    table
        One row per variant, ranked: ``variant``, ``route_km``, ``new_stops``,
        ``access_gain`` (the sum over origins of the change of their accessibility),
        ``gain_per_km``, ``origins_routed`` (origins that had to be routed again; the
        others kept the baseline's values, see :func:`compare_variants`).
    accessibility
        Per origin (rows, by id) and variant (columns; ``baseline`` first), the weight
        of the destinations within the cutoff.
    networks
        Variant -> its network.
    """

    table: pd.DataFrame
    accessibility: pd.DataFrame
    networks: dict[str, IntermodalNetwork]


def _access(
    matrix: pd.DataFrame, weights: Mapping[Any, float], cutoff: float, window: Any = None
) -> pd.Series:
    """Per origin, the weight of the destinations within ``cutoff``: of the one
    departure's time; over a window, of its minimum; at one departure with drawn phases
    of headway-based services, of the median over the draws."""
    if "travel_time" in matrix.columns:
        col = "travel_time"
    elif window:
        col = "travel_time_min"
    else:
        col = next(c for c in matrix.columns if c.startswith("travel_time_p"))
    w = matrix["destination"].map(weights).to_numpy(float)
    within = (matrix[col].to_numpy(float) <= cutoff) * w
    return pd.Series(within, index=matrix["origin"].to_numpy()).groupby(level=0).sum()


def _reachable_new_stops(
    base: IntermodalNetwork,
    scen: IntermodalNetwork,
    origins: pd.DataFrame,
    departure: int,
    cutoff: float,
    routing: Mapping[str, Any],
) -> np.ndarray:
    """Per origin, whether it may reach a stop of a new line of ``scen`` (a new stop, or an
    existing one the line reuses) within ``cutoff`` on the
    baseline (a necessary condition for any of its times within the cutoff to change
    when only lines are added): one arrive-by search per new stop, checked at both end
    nodes of the origin's street with the street's length as a margin."""
    from connectivity.routing.queries import latest_departures

    walk = base.streets
    speed = float(routing.get("walk_speed") or base.walk_speed) / 3.6
    from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

    snapped = walk.snap(
        origins["lon"].to_numpy(float),
        origins["lat"].to_numpy(float),
        max_distance=float(routing.get("snap_distance", DEFAULT_SNAP_DISTANCE)),
    )
    length = walk.edges["length"].to_numpy(float)[snapped.edge]
    # A journey leaving at any departure of the window and at a new stop within the
    # cutoff leaves an end node of the origin's street at or after the first departure,
    # so that node's duration to the stop by the window's end plus the cutoff is at most
    # cutoff + window, plus: the walk along the street (or along it to a stop beside it,
    # up to max_link_distance off it, that the origin reaches straight) and rounding.
    window = float(routing.get("window") or 0)
    side = float(base.params.get("max_link_distance", 0.0))
    limit = cutoff + window + (length + side) / speed + 60.0
    reach = np.zeros(len(origins), bool)
    tt = scen.timetable
    assert tt is not None
    lon = tt.stops["lon"].to_numpy(float)
    lat = tt.stops["lat"].to_numpy(float)
    skip = ("window", "n_jobs", "progress", "max_time")  # max_time: durations include waits
    keep = {k: v for k, v in routing.items() if k not in skip}
    keep = {k: v for k, v in keep.items() if k not in ("client", "chunk_size", "percentiles")}
    # With a window, the last departure may still reach a stop by its end plus the cutoff.
    arrival = departure + int(cutoff) + int(window)
    served = {int(s) for line in scen.meta["lines"] for s in line.get("stops", ())}
    for s in sorted(served | {int(s) for s in scen.meta["new_stops"]}):
        back = latest_departures(base, (float(lon[s]), float(lat[s])), arrival=arrival, **keep)
        t = back.nodes.min(axis=0)  # the best draw of drawn phases: any may change
        reach |= np.minimum(t[snapped.node_u], t[snapped.node_v]) <= limit
        if reach.all():
            break
    return reach


def compare_variants(
    network: IntermodalNetwork,
    variants: Mapping[str, Any],
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    *,
    departure: Any,
    cutoff: float = 2700,
    weights: str | None = None,
    prune: bool = True,
    rank_by: str = "gain_per_km",
    **routing: Any,
) -> VariantComparison:
    """Compare variants by the accessibility they give many origins, reusing the baseline.

    The baseline's travel-time matrix is computed once; each variant only rebuilds its
    timetable and its new stops' links (:func:`apply_scenario`) and routes again. When a
    variant only adds lines (:class:`AddLine`) and ``prune`` is on, an origin that
    cannot reach any new stop within ``cutoff`` on the baseline keeps the baseline's
    accessibility (exact: a journey using a new line reaches one of its stops first,
    by baseline vehicles and walks), and only the other origins are routed again.

    Parameters
    ----------
    network
        The baseline.
    variants
        Name -> modifications.
    origins, destinations
        Frames with ``id``, ``lon``, ``lat`` (as :func:`connectivity.travel_time_matrix`).
    departure
        The departure (one; a ``window`` in ``routing`` uses the minimum over it; at one
        departure, drawn phases of headway-based services their median).
    cutoff
        Seconds: a destination counts when reached within it.
    weights
        A column of ``destinations`` with their weights (default 1 each).
    prune
        Reuse the baseline's values of origins that cannot reach a new line.
    rank_by
        ``gain_per_km`` or ``access_gain``.
    **routing
        Passed to :func:`connectivity.travel_time_matrix`.

    Returns
    -------
    comparison
        The ranked table and the accessibility per origin and variant.

    Raises
    ------
    ScenarioError
        An invalid modification, or an unknown ``rank_by`` / ``weights`` column.
    """
    from connectivity.routing.matrix import travel_time_matrix
    from connectivity.routing.queries import parse_departure

    if rank_by not in ("gain_per_km", "access_gain"):
        raise ScenarioError(f"rank_by must be 'gain_per_km' or 'access_gain' (got {rank_by!r})")
    if weights is not None and weights not in destinations.columns:
        raise ScenarioError(f"destinations have no column {weights!r} for the weights")
    if not variants:
        raise ScenarioError("no variants to compare")
    dest_ids = destinations["id"] if "id" in destinations.columns else destinations.index
    w = destinations[weights].to_numpy(float) if weights else np.ones(len(destinations))
    weight_of = dict(zip(dest_ids, w, strict=True))
    ids = origins["id"].to_numpy() if "id" in origins.columns else origins.index.to_numpy()
    start = parse_departure(network, departure)
    kw = {"departure": start, **routing}
    window = routing.get("window")
    base_access = _access(
        travel_time_matrix(network, origins, destinations, **kw), weight_of, cutoff, window
    ).reindex(ids, fill_value=0.0)
    frames = baseline_frames(network)
    access = {"baseline": base_access.to_numpy(float)}
    rows, nets = [], {}
    import sys

    from tqdm.auto import tqdm

    bar = tqdm(variants.items(), desc="variants", unit="variant", disable=not sys.stderr.isatty())
    for name, mods in bar:
        scen = apply_scenario(network, mods, baseline_frames=frames)
        nets[name] = scen
        mods_list = [mods] if isinstance(mods, tuple(_APPLY)) else list(mods)
        values = base_access.to_numpy(float).copy()
        routed = np.ones(len(origins), bool)
        if prune and all(isinstance(m, AddLine) for m in mods_list):
            routed = _reachable_new_stops(network, scen, origins, start, cutoff, routing)
        if routed.any():
            sub = origins[routed]
            matrix = travel_time_matrix(scen, sub, destinations, **kw)
            got = _access(matrix, weight_of, cutoff, window)
            values[routed] = got.reindex(ids[routed], fill_value=0.0).to_numpy(float)
        access[name] = values
        km = float(sum(line["km"] for line in scen.meta["lines"]))
        gain = float(values.sum() - base_access.sum())
        rows.append(
            {
                "variant": name,
                "route_km": km,
                "new_stops": len(scen.meta["new_stops"]),
                "access_gain": gain,
                "gain_per_km": gain / km if km > 0 else np.nan,
                "origins_routed": int(routed.sum()),
            }
        )
    table = pd.DataFrame(rows).sort_values(
        rank_by, ascending=False, na_position="last", kind="stable"
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return VariantComparison(table.reset_index(drop=True), pd.DataFrame(access, index=ids), nets)
