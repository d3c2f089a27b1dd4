"""GTFS loading benchmark: RNV (424k stop_times) to a complete Timetable, against gtfs-kit.

Prints medians over repeated runs of:

- ``load_timetable(rnv_gtfs.zip, date=2016-11-04)``: the complete Timetable (calendars,
  times parsed, previous day's trips after midnight, frequencies expanded, FIFO patterns
  built), with the Timetable cache off (``use_cache=False``: every run parses the zip);
- ``load_timetable`` choosing the busiest date itself (cache off);
- ``load_timetable`` answered from its cache (content hash of the zip + unpickling);
- gtfs-kit's bare read on the same file: ``gtfs_kit.read_feed(path, dist_units="km")``
  then ``restrict_to_dates(feed, ["20161104"])`` (it parses no times and builds no
  patterns); skipped with a message when gtfs-kit is not installed (it is not a
  dependency of the project: ``pip install gtfs-kit`` to compare);
- one fresh interpreter doing the import and the load (the true cold start), once.

Goals (issue 3): the Timetable in under 1.5 s, and within 4x of gtfs-kit's bare read.

Run: ``python benchmarks/gtfs.py [--repeat N]``. Exits 0 with a message where the data
is absent (``CONNECTIVITY_DATA`` overrides ``../shared/data``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CONNECTIVITY_DATA", ROOT.parent / "shared" / "data"))
FEED = DATA / "rhein-neckar" / "rnv_gtfs.zip"
DATE = "2016-11-04"


def median_time(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per measurement (>= 5)")
    args = parser.parse_args(argv)
    if not FEED.exists():
        print(f"skipped: {FEED} is absent (set CONNECTIVITY_DATA to the shared data folder)")
        return 0
    sys.path.insert(0, str(ROOT))
    from connectivity.transit.gtfs import load_timetable

    repeat = max(5, args.repeat)
    tt = load_timetable(FEED, date=DATE, use_cache=False)  # warm imports and the OS file cache
    day = tt.trips["day_offset"] == 0
    day_events = int(day.to_numpy()[tt.stop_times()["trip"]].sum())
    print(f"feed: {FEED} ({FEED.stat().st_size / 1e6:.1f} MB), date {DATE}")
    print(
        f"Timetable: {int(day.sum()):,} trips of the date (+{int((~day).sum())} of the day "
        f"before after midnight), {day_events:,} stop events of the date's trips, "
        f"{tt.n_stop_times:,} in all, {tt.n_patterns} patterns"
    )
    print(f"(runs on a shared, loaded machine: {os.cpu_count()} cores; medians of {repeat})")
    print()

    ours, ours_all = median_time(lambda: load_timetable(FEED, date=DATE, use_cache=False), repeat)
    busiest, _ = median_time(lambda: load_timetable(FEED, use_cache=False), repeat)
    import tempfile

    from connectivity import settings

    with tempfile.TemporaryDirectory() as folder:
        settings.cache_folder = Path(folder)
        load_timetable(FEED, date=DATE, use_cache=True)
        cached, _ = median_time(lambda: load_timetable(FEED, date=DATE, use_cache=True), repeat)
    rows = [
        ("load_timetable(date=2016-11-04)", ours, ours_all),
        ("load_timetable() (busiest date)", busiest, None),
        ("load_timetable(date=...) from the cache", cached, None),
    ]
    kit = None
    try:
        import gtfs_kit
    except ImportError:
        print("gtfs-kit is not installed: skipped (pip install gtfs-kit to compare)")
    else:

        def kit_read() -> object:
            feed = gtfs_kit.read_feed(FEED, dist_units="km")
            return gtfs_kit.restrict_to_dates(feed, [DATE.replace("-", "")])

        kit_read()
        kit, kit_all = median_time(kit_read, repeat)
        rows.append(("gtfs_kit read_feed + restrict_to_dates", kit, kit_all))

    code = (
        "import time; t = time.perf_counter(); "
        "from connectivity.transit.gtfs import load_timetable; "
        f"load_timetable({str(FEED)!r}, date={DATE!r}, use_cache=False); "
        "print(time.perf_counter() - t)"
    )
    fresh = float(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout.strip()
    )
    rows.append(("fresh interpreter: import + load (once)", fresh, None))

    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'median s':>9}  runs")
    for name, value, runs in rows:
        listed = ", ".join(f"{t:.3f}" for t in runs) if runs else ""
        print(f"{name:<{width}}  {value:>9.3f}  {listed}")
    print()
    print(f"goal: Timetable < 1.5 s: {ours:.3f} s -> {'met' if ours < 1.5 else 'NOT met'}")
    if kit is not None:
        ratio = ours / kit
        print(
            f"goal: within 4x of gtfs-kit's bare read: {ratio:.2f}x -> "
            f"{'met' if ratio <= 4 else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
