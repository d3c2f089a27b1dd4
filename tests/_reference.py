"""An independent reference for routing tests: a plain time-expanded Dijkstra.

It reads raw trips (lists of stop events), explicit footpaths and access walks, and
knows nothing of patterns, rounds or the project's routing code. States are
``("R", stop, k)`` ready to board having used ``k`` vehicles, ``("T", trip, i, k)`` on
board trip at its ``i``-th event, ``("V", stop, k)`` just left a vehicle at ``stop``.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field

INF = 2**31 - 1


@dataclass
class Event:
    stop: int
    arrival: int
    departure: int
    board: bool = True
    alight: bool = True


@dataclass
class RefFeed:
    n_stops: int
    trips: list[list[Event]]
    # q -> [(p, walk seconds, board seconds)], including q -> q for the slack
    footpaths: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)


def reference(
    feed: RefFeed, access: dict[int, int], departure: int, n_rounds: int
) -> tuple[list[int], list[int]]:
    """Return ``(arrive, vehicle)`` per stop (absolute seconds, INF when not reached)."""
    boards: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for t, events in enumerate(feed.trips):
        for i, ev in enumerate(events[:-1]):
            if ev.board:
                boards[ev.stop].append((t, i))
    arrive = [INF] * feed.n_stops
    vehicle = [INF] * feed.n_stops
    best: dict[tuple, int] = {}
    heap: list[tuple[int, tuple]] = []

    def push(state: tuple, time: int) -> None:
        if time < best.get(state, INF):
            best[state] = time
            heapq.heappush(heap, (time, state))

    for s, walk in access.items():
        push(("R", s, 0), departure + walk)
        arrive[s] = min(arrive[s], departure + walk)
    while heap:
        time, state = heapq.heappop(heap)
        if time > best[state]:
            continue
        kind = state[0]
        if kind == "R":
            _, s, k = state
            if k >= n_rounds:
                continue
            for t, i in boards[s]:
                dep = feed.trips[t][i].departure
                if dep >= time:
                    push(("T", t, i, k + 1), dep)
        elif kind == "T":
            _, t, i, k = state
            events = feed.trips[t]
            if i + 1 < len(events):
                nxt = events[i + 1]
                if nxt.alight:
                    push(("V", nxt.stop, k), nxt.arrival)
                push(("T", t, i + 1, k), nxt.departure)
        else:
            _, q, k = state
            vehicle[q] = min(vehicle[q], time)
            arrive[q] = min(arrive[q], time)
            for p, walk, board in feed.footpaths.get(q, []):
                arrive[p] = min(arrive[p], time + walk)
                push(("R", p, k), time + board)
    return arrive, vehicle
