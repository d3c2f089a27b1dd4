"""Scenario benchmark on Rhine-Neckar: 10 variants of a proposed line, accessibility for
500 origins each, against 10 full rebuilds from modified feeds.

Variants: two alignments in Mannheim (Wasserturm - Neuostheim - Feudenheim - Seckenheim,
Wasserturm - Neckarau - Rheinau - Rheinau Bahnhof; stops every 700 m, 30 km/h, both directions, 06:00-22:00) at
headways of 5, 7.5, 10, 12.5 and 15 minutes. Accessibility: the number of the 500
origins (random street nodes, seeded) reached within 45 minutes leaving at 08:00.

- variant (the way of :func:`connectivity.compare_variants`): apply the line to
  the baseline (:func:`connectivity.apply_scenario`: a new timetable and the new
  stops' links only) and route the 500 origins; "pruned" routes only the origins that can
  reach a new stop within 45 minutes on the baseline (exact), "all" routes all of them;
- rebuild: write the modified feed (write_gtfs), load_timetable, build_network (no
  cache), route the 500 origins.

The baseline (streets, timetable, network, its matrix) is built once and not timed.
Run: ``python benchmarks/scenarios.py [--origins 500] [--variants 10]``. Prints medians
per variant and the ratios; times only, nothing asserted. The machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(
    os.environ.get(
        "CONNECTIVITY_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)
DATE = dt.date(2016, 11, 4)  # the busiest date of the feed
DEPARTURE = 8 * 3600
CUTOFF = 45 * 60
ALIGNMENTS = {
    "east": [
        (8.47321, 49.48497),
        (8.523983, 49.476985),
        (8.53763, 49.48404),
        (8.563188, 49.467029),
    ],
    "south": [
        (8.47321, 49.48497),
        (8.481916, 49.455663),
        (8.522798, 49.438967),
        (8.536229, 49.424327),
    ],
}
HEADWAYS = (300, 450, 600, 750, 900)


def access(matrix: pd.DataFrame) -> pd.Series:
    ok = matrix["travel_time"].to_numpy(float) <= CUTOFF
    return pd.Series(ok, index=matrix["origin"].to_numpy()).groupby(level=0).sum()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--origins", type=int, default=500)
    parser.add_argument("--variants", type=int, default=10)
    args = parser.parse_args()
    folder = DATA / "rhein-neckar"
    if not (folder / "rnv.osm.pbf").exists():
        print(f"real data absent: {folder}", file=sys.stderr)
        return 1

    from connectivity import settings
    from connectivity.network.intermodal import build_network
    from connectivity.routing.matrix import travel_time_matrix
    from connectivity.scenarios.apply import apply_scenario, baseline_frames
    from connectivity.scenarios.compare import _reachable_new_stops
    from connectivity.scenarios.modifications import AddLine
    from connectivity.streets.load import load_streets
    from connectivity.transit.gtfs import load_timetable
    from connectivity.transit.write import write_gtfs

    settings.cache_folder = Path(tempfile.mkdtemp(prefix="scenario-bench-"))
    work = Path(tempfile.mkdtemp(prefix="scenario-feeds-"))
    print(f"Rhine-Neckar, {DATE}, 08:00, cutoff 45 min; {os.cpu_count()} cores (shared)")
    streets = load_streets(folder / "rnv.osm.pbf", mode="walk")
    tt = load_timetable(folder / "rnv_gtfs.zip", date=DATE)
    base = build_network(streets, tt)
    rng = np.random.default_rng(0)
    nodes = rng.choice(streets.n_nodes, args.origins, replace=False)
    pts = pd.DataFrame(
        {
            "id": nodes,
            "lon": streets.nodes["lon"].to_numpy()[nodes],
            "lat": streets.nodes["lat"].to_numpy()[nodes],
        }
    )
    t = time.perf_counter()
    base_access = access(travel_time_matrix(base, pts, pts, departure=DEPARTURE))
    print(f"baseline: {base!r}; its matrix {time.perf_counter() - t:.1f} s (not timed below)")
    frames = baseline_frames(base)
    variants = [
        (
            f"{name} every {h / 60:g} min",
            AddLine(name, alignment=line, stop_spacing=700, speed=30, headway=h),
        )
        for name, line in ALIGNMENTS.items()
        for h in HEADWAYS
    ][: args.variants]

    rows = []
    builds: list[float] = []
    for label, line in variants:
        # Variant, pruned.
        t0 = time.perf_counter()
        scen = apply_scenario(base, line, baseline_frames=frames)
        t_apply = time.perf_counter() - t0
        routed = _reachable_new_stops(base, scen, pts, DEPARTURE, CUTOFF, {})
        got = base_access.copy()
        if routed.any():
            sub = access(travel_time_matrix(scen, pts[routed], pts, departure=DEPARTURE))
            got.loc[sub.index] = sub
        t_pruned = time.perf_counter() - t0
        # Variant, every origin routed.
        t0 = time.perf_counter()
        scen2 = apply_scenario(base, line, baseline_frames=frames)
        full = access(travel_time_matrix(scen2, pts, pts, departure=DEPARTURE))
        t_all = time.perf_counter() - t0
        # Full rebuild from the modified feed.
        t0 = time.perf_counter()
        feed = write_gtfs(scen.timetable, work / f"{len(rows)}.zip")
        tt2 = load_timetable(feed, date=DATE, use_cache=False)
        t1 = time.perf_counter()
        net2 = build_network(streets, tt2, use_cache=False)
        builds.append(time.perf_counter() - t1)
        rebuilt = access(travel_time_matrix(net2, pts, pts, departure=DEPARTURE))
        t_rebuild = time.perf_counter() - t0
        same = bool(
            (got.sort_index().to_numpy() == full.sort_index().to_numpy()).all()
            and (full.sort_index().to_numpy() == rebuilt.sort_index().to_numpy()).all()
        )
        rows.append(
            (
                label,
                t_apply,
                t_pruned,
                t_all,
                t_rebuild,
                int(routed.sum()),
                same,
                int(full.sum() - base_access.sum()),
            )
        )
        print(
            f"{label:<26} apply {t_apply * 1000:7.0f} ms | variant pruned {t_pruned:6.2f} s "
            f"({routed.sum():3d} origins routed) | all {t_all:6.2f} s | rebuild "
            f"{t_rebuild:6.2f} s | gain {rows[-1][7]:+6d} | same results: {same}"
        )
    med = {
        k: statistics.median(r[i] for r in rows)
        for i, k in ((1, "apply"), (2, "pruned"), (3, "all"), (4, "rebuild"))
    }
    print()
    print(f"medians over {len(rows)} variants (one run each):")
    print(f"  apply_scenario (timetable + new stops' links)  {med['apply'] * 1000:8.0f} ms")
    print(f"  variant, pruned routing                        {med['pruned']:8.2f} s")
    print(f"  variant, every origin routed                   {med['all']:8.2f} s")
    print(f"  full rebuild from the modified feed            {med['rebuild']:8.2f} s")
    print(f"    of which build_network (no cache)            {statistics.median(builds):8.2f} s")
    print(f"  ratio rebuild / variant (pruned): {med['rebuild'] / med['pruned']:.1f}x (goal >= 5x)")
    print(f"  ratio rebuild / variant (all origins): {med['rebuild'] / med['all']:.1f}x")
    total_v = sum(r[2] for r in rows)
    total_r = sum(r[4] for r in rows)
    print(
        f"  totals: variants {total_v:.1f} s, rebuilds {total_r:.1f} s ({total_r / total_v:.1f}x)"
    )
    print(f"  every variant gave the rebuild's accessibility: {all(r[6] for r in rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
