"""Criticality: what the failure of a road, junction, route or stop costs people.

:func:`population_weighted_times` gives the population-weighted travel times between the
core and the periphery; :func:`removal_sets` groups edges into the units that fail
together (roads between junctions, edges, OSM ways, junctions, transit routes and stops);
:func:`criticality` removes each set in turn and recomputes the core-periphery travel
times exactly (scipy's Dijkstra, in parallel processes), giving the added person-hours
and the population cut off or pushed beyond each cutoff. The candidates' scores from the
origin-destination flows (``_set_scores``) and their merging into corridors of one street
(``_corridors``) serve :func:`connectivity.bottlenecks.study.find_bottlenecks`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Hashable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from connectivity._errors import ParameterError
from connectivity.bottlenecks.structure import _Arrays, _check_network, _node_array, _weights

if TYPE_CHECKING:
    from connectivity.streets.graph import StreetNetwork

__all__ = ["criticality", "population_weighted_times", "removal_sets"]

logger = logging.getLogger(__name__)

KINDS = ("road", "edge", "way", "node", "route", "stop")

# -- population-weighted travel times and criticality --------------------------------


def _check_cutoffs(cutoffs: Iterable[float]) -> tuple[int, ...]:
    try:
        values = [float(c) for c in cutoffs]
    except (TypeError, ValueError):
        values = []
    if not values or not all(math.isfinite(c) and c >= 1 for c in values):
        raise ParameterError(
            f"cutoffs {cutoffs!r} must be positive times in seconds, e.g. (1800, 3600)"
        )
    return tuple(sorted({int(c) for c in values}))


def _summary(times: np.ndarray, weight: np.ndarray, cutoffs: Sequence[int]) -> dict[str, float]:
    """Population-weighted indicators of a (sources x destinations) time matrix whose
    pairs carry ``weight / n_sources``."""
    pair_w = np.broadcast_to(weight / times.shape[0], times.shape)
    reach = np.isfinite(times)
    pop = float(pair_w.sum())
    reached = float(pair_w[reach].sum())
    row: dict[str, float] = {
        "population": pop,
        "mean_time_s": float((pair_w * np.where(reach, times, 0.0)).sum() / reached)
        if reached > 0
        else math.nan,
        "unreachable": pop - reached,
    }
    for c in cutoffs:
        row[f"beyond_{c}s"] = float(pair_w[~(times <= c)].sum())
    return row


def population_weighted_times(
    network: StreetNetwork,
    sources: Any,
    population: Any,
    *,
    cutoffs: Iterable[float] = (1800, 2700, 3600),
) -> pd.DataFrame:
    """Population-weighted travel times between the core and the periphery.

    Every (source, node) pair weighs ``population[node] / len(sources)``, so the
    weights of one direction add up to the population.

    Parameters
    ----------
    network
        A street network.
    sources
        Node positions of the core's origins.
    population
        Population of each node position (0 outside the periphery zones).
    cutoffs
        Thresholds in seconds for the population beyond them.

    Returns
    -------
    indicators
        Rows ``outbound`` (core to periphery) and ``inbound``; columns ``population``,
        ``mean_time_s`` (over reachable pairs), ``unreachable`` (population) and
        ``beyond_{c}s`` (population farther than ``c`` seconds, unreachable included).
    """
    _check_network(network)
    src = _node_array(network, sources, "sources")
    if len(src) == 0:
        raise ParameterError("sources is empty: give at least one core node")
    weight = _weights(network, population, "population")
    cuts = _check_cutoffs(cutoffs)
    arrays = _Arrays.of(network)
    dest = np.flatnonzero(weight > 0)
    rows = {}
    for name, reverse in (("outbound", False), ("inbound", True)):
        times = arrays.times(src, reverse=reverse)[:, dest]
        rows[name] = _summary(times, weight[dest], cuts)
    return pd.DataFrame.from_dict(rows, orient="index")


class _Evaluator:
    """Recomputes the core-periphery times with some edges removed (one per process)."""

    def __init__(
        self,
        n: int,
        u: np.ndarray,
        v: np.ndarray,
        w: np.ndarray,
        sources: np.ndarray,
        weight: np.ndarray,
        cutoffs: tuple[int, ...],
        penalty: float,
    ) -> None:
        self.arrays = _Arrays(n, u, v, w)
        self.penalty = penalty
        self.sources = sources
        self.dest = np.flatnonzero(weight > 0)
        self.pair_w = np.broadcast_to(
            weight[self.dest] / len(sources), (len(sources), len(self.dest))
        )
        self.cutoffs = cutoffs
        self.base = self._times(None)

    def _times(self, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        out = self.arrays.times(self.sources, keep=keep)[:, self.dest]
        inn = self.arrays.times(self.sources, reverse=True, keep=keep)[:, self.dest]
        return out, inn

    def loss(self, removed: np.ndarray) -> dict[str, float]:
        keep = np.ones(len(self.arrays.u), bool)
        keep[removed] = False
        after = self._times(keep)
        row: dict[str, float] = {}
        w = self.pair_w
        base_ok = np.isfinite(self.base[0]) & np.isfinite(self.base[1])
        after_ok = np.isfinite(after[0]) & np.isfinite(after[1])
        row["cut_off"] = float(w[base_ok & ~after_ok].sum())
        for name, b, a in (("out", self.base[0], after[0]), ("in", self.base[1], after[1])):
            ok = np.isfinite(a)
            extra = float((w * np.where(ok, a - b, 0.0)).sum())
            reached = float(w[ok].sum())
            row[f"cut_off_{name}"] = float(w[np.isfinite(b) & ~ok].sum())
            row[f"person_hours_{name}"] = extra / 3600.0
            row[f"mean_delay_{name}_s"] = extra / reached if reached > 0 else math.nan
            for c in self.cutoffs:
                row[f"beyond_{c}s_{name}"] = float(w[~(a <= c)].sum() - w[~(b <= c)].sum())
        row["person_hours"] = row["person_hours_out"] + row["person_hours_in"]
        cut_trips = row["cut_off_out"] + row["cut_off_in"]
        row["loss_hours"] = row["person_hours"] + cut_trips * self.penalty / 3600.0
        return row


_WORKER: dict[str, _Evaluator] = {}


def _init_worker(payload: dict[str, Any]) -> None:
    _WORKER["evaluator"] = _Evaluator(**payload)


def _work(removed: np.ndarray) -> dict[str, float]:
    return _WORKER["evaluator"].loss(removed)


def _n_workers(n_jobs: int, n_tasks: int) -> int:
    if not isinstance(n_jobs, int | np.integer) or n_jobs == 0 or n_jobs < -1:
        raise ParameterError(
            f"n_jobs={n_jobs!r}: use a positive number of processes, or -1 for all"
        )
    cores = os.cpu_count() or 1
    return max(1, min(cores if n_jobs == -1 else int(n_jobs), n_tasks))


def criticality(
    network: StreetNetwork,
    sources: Any,
    population: Any,
    removals: Mapping[Hashable, Any],
    *,
    cutoffs: Iterable[float] = (1800, 2700, 3600),
    unreachable_penalty: float | None = None,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> pd.DataFrame:
    """What removing each set of edges costs the core-periphery trips, computed exactly.

    For each removal the travel times from the core's sources to every populated node
    (outbound) and back (inbound) are recomputed with those edges gone and compared with
    the intact network, every (source, node) pair weighing ``population / len(sources)``.

    Parameters
    ----------
    network
        A street network.
    sources
        Node positions of the core's origins.
    population
        Population of each node position (0 outside the periphery zones).
    removals
        Candidate key -> edge positions removed together (see :func:`removal_sets`).
    cutoffs
        Thresholds in seconds.
    unreachable_penalty
        Seconds that a trip made impossible costs in ``loss_hours`` (None: the largest
        cutoff).
    n_jobs
        Processes (-1: one per core); each receives the network once. They are
        started with ``spawn`` (safe beside threads), so a calling script needs the
        ``if __name__ == "__main__":`` guard.
    progress
        Show a progress bar (None: only on a terminal).

    Returns
    -------
    loss
        Indexed by candidate key, columns: ``cut_off`` (population that can no longer
        make the round trip), ``cut_off_out``/``cut_off_in``, ``person_hours_out``/
        ``_in`` and ``person_hours`` (added travel time of the pairs still reachable),
        ``mean_delay_out_s``/``_in_s`` (increase of the population-weighted mean time over
        the pairs still reachable), ``beyond_{c}s_out``/``_in`` (increase of the
        population beyond each cutoff, the cut-off included), and ``loss_hours``
        (``person_hours`` plus ``unreachable_penalty`` for each trip cut off, per
        direction: the ranking score).
    """
    from tqdm.auto import tqdm

    _check_network(network)
    src = _node_array(network, sources, "sources")
    if len(src) == 0:
        raise ParameterError("sources is empty: give at least one core node")
    weight = _weights(network, population, "population")
    cuts = _check_cutoffs(cutoffs)
    penalty = float(max(cuts) if unreachable_penalty is None else unreachable_penalty)
    if not (math.isfinite(penalty) and penalty >= 0):
        raise ParameterError(
            f"unreachable_penalty={unreachable_penalty!r} must be a non-negative number of "
            "seconds, or None for the largest cutoff"
        )
    keys = list(removals)
    sets = [_node_array_edges(network, removals[k], f"removals[{k!r}]") for k in keys]
    workers = _n_workers(n_jobs, len(sets))
    arrays = _Arrays.of(network)
    payload = {
        "n": network.n_nodes,
        "u": arrays.u,
        "v": arrays.v,
        "w": network.edges["time"].to_numpy(float),
        "sources": src,
        "weight": weight,
        "cutoffs": cuts,
        "penalty": penalty,
    }
    bar = tqdm(total=len(sets), desc="removals", unit="cand", disable=_no_bar(progress))
    rows: list[dict[str, float]] = []
    try:
        if workers == 1:
            evaluator = _Evaluator(**payload)
            for s in sets:
                rows.append(evaluator.loss(s))
                bar.update()
        else:
            logger.info("evaluating %d removals on %d processes", len(sets), workers)
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(payload,),
            ) as pool:
                for row in pool.map(_work, sets, chunksize=max(1, len(sets) // (4 * workers))):
                    rows.append(row)
                    bar.update()
    finally:
        bar.close()
    columns = list(rows[0]) if rows else ["cut_off", "person_hours", "loss_hours"]
    return pd.DataFrame(rows, index=pd.Index(keys, name="candidate"), columns=columns)


def _node_array_edges(network: StreetNetwork, edges: Any, what: str) -> np.ndarray:
    arr = np.unique(np.asarray(edges, dtype=np.int64).ravel())
    if len(arr) == 0:
        raise ParameterError(f"{what} removes no edge: give at least one edge position")
    if arr[0] < 0 or arr[-1] >= network.n_edges:
        raise ParameterError(
            f"{what} holds edge positions outside 0..{network.n_edges - 1}: give row "
            "numbers of network.edges"
        )
    return arr


def _no_bar(progress: bool | None) -> bool | None:
    if progress is None:
        return None if logger.isEnabledFor(logging.INFO) else True
    return not progress


def _pairs(network: StreetNetwork) -> tuple[np.ndarray, np.ndarray]:
    """(pair id per edge, the pairs' end nodes): one pair per unordered node pair."""
    e = network.edges
    u = e["u"].to_numpy(np.int64)
    v = e["v"].to_numpy(np.int64)
    a, b = np.minimum(u, v), np.maximum(u, v)
    ends, pair = np.unique(np.column_stack([a, b]), axis=0, return_inverse=True)
    return pair.ravel().astype(np.int64), ends


def _roads(network: StreetNetwork) -> np.ndarray:
    """Road id per edge: a road is a street between two junctions, the chain of links
    through nodes with exactly two neighbours (an unsimplified OSM network splits a
    street at every OSM node; the chain is the unit a closure removes)."""
    from scipy.sparse.csgraph import connected_components

    pair, ends = _pairs(network)
    loops = ends[:, 0] == ends[:, 1]
    inc_node = np.concatenate([ends[~loops, 0], ends[~loops, 1]])
    inc_pair = np.concatenate([np.flatnonzero(~loops)] * 2)
    degree = np.bincount(inc_node, minlength=network.n_nodes)
    inner = degree[inc_node] == 2
    node2, pair2 = inc_node[inner], inc_pair[inner]
    order = np.argsort(node2, kind="stable")
    pair2 = pair2[order]
    joined = sp.coo_matrix(
        (np.ones(len(pair2) // 2), (pair2[0::2], pair2[1::2])), shape=(len(ends), len(ends))
    )
    _, label = connected_components(joined, directed=False)
    return label[pair].astype(np.int64)


def removal_sets(network: StreetNetwork, kind: str = "road") -> dict[Hashable, np.ndarray]:
    """Group edges into the units that fail together.

    Parameters
    ----------
    network
        A street network.
    kind
        ``"road"``: both directions of a street between two junctions (the chain of
        segments through nodes with two neighbours); ``"edge"``: one directed edge;
        ``"way"``: every edge of an OSM way; ``"node"``: every edge at a junction (a
        node with other than two neighbours; a node inside a road fails like its road).

    Returns
    -------
    sets
        Key -> edge positions (int64). Keys are the first edge position of the road,
        the edge position, the OSM way id, or the node position.
    """
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r}: use one of {', '.join(KINDS)}")
    e = network.edges
    pos = np.arange(network.n_edges, dtype=np.int64)
    if kind in ("route", "stop") and "kind" not in e.columns:
        raise ParameterError(
            f"kind={kind!r} needs a transit network: make one with transit_view(...)"
        )
    if kind == "edge":
        return {int(i): pos[i : i + 1] for i in pos}
    if kind == "route":
        transit = np.flatnonzero((e["kind"] == "transit").to_numpy())
        routes = e["route_id"].to_numpy()[transit]
        return {
            str(r): transit[idx] for r, idx in pd.Series(routes).groupby(routes).indices.items()
        }
    if kind == "stop":
        # Closing a stop: no boarding, alighting or changing there (its links,
        # transfers, boardings and alightings go); vehicles still run through it.
        access = np.flatnonzero(e["kind"].isin(["link", "transfer", "board", "alight"]).to_numpy())
        stop_nodes = np.flatnonzero(
            network.nodes.get("stop", pd.Series(-1, index=network.nodes.index)).to_numpy() >= 0
        )
        is_stop = np.zeros(network.n_nodes, bool)
        is_stop[stop_nodes] = True
        u = e["u"].to_numpy(np.int64)[access]
        v = e["v"].to_numpy(np.int64)[access]
        at = np.concatenate([u[is_stop[u]], v[is_stop[v]]])
        ids = np.concatenate([access[is_stop[u]], access[is_stop[v]]])
        return {int(k): np.unique(ids[idx]) for k, idx in pd.Series(at).groupby(at).indices.items()}
    if kind == "node":
        _, ends = _pairs(network)
        ends = ends[ends[:, 0] != ends[:, 1]]
        degree = np.bincount(ends.ravel(), minlength=network.n_nodes)
        at = np.concatenate([e["u"].to_numpy(np.int64), e["v"].to_numpy(np.int64)])
        ids = np.concatenate([pos, pos])
        keep = (degree[at] != 2) & (degree[at] > 0)
        at, ids = at[keep], ids[keep]
        order = np.argsort(at, kind="stable")
        at, ids = at[order], ids[order]
        bounds = np.flatnonzero(np.diff(at)) + 1
        return {
            int(at[g[0]]): np.unique(ids[g]) for g in np.split(np.arange(len(at)), bounds) if len(g)
        }
    groups = _roads(network) if kind == "road" else e["osmid"].to_numpy()
    out: dict[Hashable, np.ndarray] = {}
    for key, idx in pd.Series(pos).groupby(groups, sort=False).indices.items():
        members = pos[np.sort(idx)]
        out[int(members[0]) if kind == "road" else _key(key)] = members
    return out


def _set_scores(
    network: StreetNetwork, kind: str, edge_flow: np.ndarray, eligible: np.ndarray
) -> dict[Hashable, float]:
    """Trips through each removal set with an eligible edge and some trips: the busiest
    of its links, both directions summed (every trip crosses a road's busiest link, and
    the links of a road carry nearly the same trips; a sum would favour roads split into
    many segments). Keys as in :func:`removal_sets`."""
    pair, _ = _pairs(network)
    link_flow = np.bincount(pair, weights=edge_flow)[pair]
    pos = np.arange(network.n_edges, dtype=np.int64)
    key: np.ndarray
    if kind == "edge":
        key = pos
    elif kind == "route":
        transit = (network.edges["kind"] == "transit").to_numpy()
        key = network.edges["route_id"].astype(str).to_numpy()  # only transit is eligible
        eligible = eligible & transit
    elif kind == "way":
        key = network.edges["osmid"].to_numpy()
    else:
        key = pd.Series(pos).groupby(_roads(network)).transform("min").to_numpy()
    flow = edge_flow if kind == "edge" else link_flow
    frame = pd.DataFrame({"key": key, "flow": flow, "eligible": eligible})
    frame = frame[frame["eligible"]]
    agg = frame.groupby("key", sort=False).agg(flow=("flow", "max"), eligible=("eligible", "any"))
    agg = agg[agg["eligible"] & (agg["flow"] > 0)]
    return {_key(k): float(f) for k, f in agg["flow"].items()}


#: Relative difference of trips under which consecutive roads of one street are merged.
MERGE_TOLERANCE = 0.01


def _corridors(
    network: StreetNetwork,
    sets: Mapping[Hashable, np.ndarray],
    scores: Mapping[Hashable, float],
    keys: Sequence[Hashable],
) -> np.ndarray:
    """Group label per candidate: candidates that touch each other, belong to the same
    street (name, else ref, else road class) and carry the same trips (within
    :data:`MERGE_TOLERANCE`) form one corridor."""
    from scipy.sparse.csgraph import connected_components

    e = network.edges
    u = e["u"].to_numpy(np.int64)
    v = e["v"].to_numpy(np.int64)
    labels, ends = [], []
    for key in keys:
        members = sets[key]
        label = _first_text(e["name"].iloc[members]) if "name" in e.columns else ""
        if not label and "ref" in e.columns:
            label = _first_text(e["ref"].iloc[members])
        if not label and "highway" in e.columns:
            label = "<" + _first_text(e["highway"].iloc[members]) + ">"
        labels.append(label)
        ends.append(set(u[members].tolist()) | set(v[members].tolist()))
    rows, cols = [], []
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            si, sj = scores[keys[i]], scores[keys[j]]
            if (
                labels[i]
                and labels[i] == labels[j]
                and ends[i] & ends[j]
                and abs(si - sj) <= MERGE_TOLERANCE * max(si, sj)
            ):
                rows.append(i)
                cols.append(j)
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(keys), len(keys)))
    return connected_components(graph, directed=False)[1]


def _key(value: Any) -> Hashable:
    return int(value) if isinstance(value, int | np.integer) else value


def _first_text(values: pd.Series) -> str:
    seen: list[str] = []
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        text = str(value).strip()
        if text and text.lower() not in ("nan", "none", "<na>") and text not in seen:
            seen.append(text)
    return "; ".join(seen)
