"""A proposed tram line in Mannheim, three frequencies compared (the scenario file
``rhine_neckar_tram.toml`` beside this script).

Builds the Rhine-Neckar baseline once (streets + the RNV feed of 2016-11-04), adds the
line T-Ost (Wasserturm - Neuostheim - Feudenheim - Seckenheim) every 5, 10 or 15 minutes,
and writes into ``out/rhine_neckar_tram/`` (or the folder given as the first argument)
the ranked variants, per variant the indicator changes per ring around Paradeplatz, the
street nodes newly within 30/45/60 minutes of the core (no population grid comes with
this data set: every street node weighs 1), the travel-time difference (GeoTIFF and
GeoJSON), a before/after map, and the scenario feeds (``<variant>/gtfs.zip``). Prints the results.

Run: ``python examples/rhine_neckar_tram.py [OUT_DIR]`` (the shared data folder is found
beside the project, or through ``CONNECTIVITY_DATA``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
os.environ.setdefault("CONNECTIVITY_DATA", str(HERE.parents[0].parent / "shared" / "data"))


def main(out: Path) -> None:
    from connectivity import run_scenario

    data = Path(os.environ["CONNECTIVITY_DATA"]) / "rhein-neckar"
    if not (data / "rnv.osm.pbf").exists():
        sys.exit(f"the Rhine-Neckar data is absent: {data}")
    start = time.perf_counter()
    study = run_scenario(HERE / "rhine_neckar_tram.toml", out)
    print(f"done in {time.perf_counter() - start:.0f} s")
    table = study.variants
    print(f"\nvariants ranked by {table.attrs['rank_by']}:")
    cols = ["rank", "variant", "route_km", "new_stops", "trips", "mean_change_min"]
    cols += [c for c in table.columns if c.startswith(("newly_within", "gain_per_km"))]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table[cols].round(2).to_string(index=False))
    for name, files in study.files.items():
        within = pd.read_csv(files["newly_within"])
        print(f"\n{name}: street nodes within the cutoffs of Paradeplatz (to the core)")
        print(within.to_string(index=False))
    best = table["variant"].iloc[0]
    zones = pd.read_csv(study.files[best]["indicators_csv"])
    cols = [
        "name",
        "transit_to_core_p50_base",
        "transit_to_core_p50_scenario",
        "transit_to_core_p50_change",
    ]
    print(f"\n{best}: median minutes to the core per ring")
    print((zones[cols].set_index("name") / 60).round(1).to_string())
    print(f"\nfiles of {best}:")
    for key, path in study.files[best].items():
        print(f"  {key}: {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out") / "rhine_neckar_tram")
