"""Caches under faults (issues 18 and 24): every kind of cache entry (streets, timetable,
network, estimated feed, Overpass response) that is truncated, garbage or of the wrong
shape is a miss (logged, rebuilt, rewritten); a process killed (SIGKILL) while writing an
entry leaves nothing a later run reads, and its temporary file is removed once stale; two
processes building the same entry at once both succeed with identical results."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connectivity import settings

KINDS = ("streets", "timetables", "networks", "estimated_gtfs", "overpass")
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def fingerprint(value) -> str:
    """A digest of a result's content (frames, arrays, dataclass fields but ``meta``)."""
    h = hashlib.sha256()

    def add(v):
        if isinstance(v, pd.DataFrame):
            h.update(json.dumps([str(c) for c in v.columns]).encode())
            h.update(pd.util.hash_pandas_object(v, index=False).to_numpy().tobytes())
        elif isinstance(v, np.ndarray):
            if v.dtype == object:
                h.update("\x1f".join(map(str, v.tolist())).encode())
            else:
                h.update(str(v.dtype).encode() + np.ascontiguousarray(v).tobytes())
        elif dataclasses.is_dataclass(v):
            for f in dataclasses.fields(v):
                if f.name not in ("meta", "streets", "timetable"):
                    h.update(f.name.encode())
                    add(getattr(v, f.name))
        elif isinstance(v, dict):
            for k in sorted(v):
                h.update(str(k).encode())
                add(v[k])
        elif isinstance(v, Path):
            with zipfile.ZipFile(v) as z:  # a feed: its members' contents
                for name in sorted(z.namelist()):
                    h.update(name.encode() + z.read(name))
        else:
            h.update(repr(v).encode())

    add(value)
    return h.hexdigest()


# The builds, shared by this process and the children (the source of the child script).
BUILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from connectivity import settings


    def build(kind):
        from connectivity.network.intermodal import build_network
        from connectivity.streets.load import demo_pbf, load_streets
        from connectivity.transit.gtfs import load_timetable
        from connectivity.transit.osm_feed import estimated_feed

        if kind == "overpass":
            sys.path.insert(0, TESTS)
            import socket

            import requests
            from test_overpass import BBOX, FakeServer

            from connectivity import download_streets

            fake = FakeServer()
            saved = requests.adapters.HTTPAdapter.send, socket.gethostbyname
            requests.adapters.HTTPAdapter.send = lambda self, r, **kw: fake.send(self, r, **kw)
            socket.gethostbyname = lambda host: "127.0.0.1"
            try:
                return download_streets(bbox=BBOX, mode="walk")
            finally:
                requests.adapters.HTTPAdapter.send, socket.gethostbyname = saved
        feed = estimated_feed(demo_pbf(), timezone="Europe/Helsinki")
        if kind == "estimated_gtfs":
            return feed
        timetable = load_timetable(feed, date="2022-02-22")
        if kind == "timetables":
            return timetable
        walk = load_streets(demo_pbf(), mode="walk")
        if kind == "streets":
            return walk
        return build_network(walk, timetable)
    """
)

CHILD = (
    "import os, sys, time\n"
    f"TESTS = {str(TESTS)!r}\n"
    + BUILD
    + textwrap.dedent(
        """
    if __name__ == "__main__":
        kind, cache, marker, pause = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
        peer = sys.argv[5] if len(sys.argv) > 5 else None
        settings.cache_folder = cache
        import connectivity._files as files

        replace = os.replace

        def slow_replace(src, dst, *args, **kwargs):
            # Deterministically slow: stop just before the entry of `kind` is moved into
            # place (for streets: before its last file, the JSON that completes it).
            dst = Path(dst)
            if dst.parent.name == kind and (kind != "streets" or dst.suffix == ".json"):
                Path(marker).write_text(str(src))
                if peer is None:  # a kill comes while this sleeps
                    time.sleep(float(pause))
                deadline = time.monotonic() + float(pause)
                while peer and not Path(peer).exists() and time.monotonic() < deadline:
                    time.sleep(0.02)  # both processes stand at the same write
            return replace(src, dst, *args, **kwargs)

        files.os.replace = slow_replace
        sys.path.insert(0, TESTS)
        from test_cache_faults import fingerprint

        print(fingerprint(build(kind)))
    """
    )
)

namespace: dict = {"TESTS": str(TESTS)}
exec(BUILD, namespace)
build = namespace["build"]


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    """A cache holding every kind of entry, and the fingerprint of each result."""
    cache = tmp_path_factory.mktemp("seed-cache")
    saved = settings.cache_folder
    settings.cache_folder = cache
    try:
        prints = {kind: fingerprint(build(kind)) for kind in KINDS}
    finally:
        settings.cache_folder = saved
    assert all((cache / kind).is_dir() for kind in KINDS)
    return cache, prints


def cache_without(seed_cache: Path, kind: str, dest: Path) -> Path:
    """A copy of the seed cache without the entries of ``kind``."""
    shutil.copytree(seed_cache, dest)
    shutil.rmtree(dest / kind)
    return dest


@pytest.fixture
def no_network(monkeypatch):
    import socket

    def refuse(self, *args, **kwargs):
        raise OSError("tests must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)


def entries(cache: Path, kind: str) -> list[Path]:
    return sorted(p for p in (cache / kind).iterdir() if not p.name.startswith("."))


# -- unreadable entries are misses -----------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(64) + b"\0" * 100)


def _wrong_keys(path: Path) -> None:
    """A readable file of the right format holding the wrong things."""
    if path.suffix == ".npz":
        with path.open("wb") as f:
            np.savez(f, other=np.arange(3))
    elif path.suffix == ".pickle":
        path.write_bytes(pickle.dumps({"not": "a timetable"}))
    elif path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("stops.txt", "stop_id\n")
    elif path.suffix == ".parquet":
        pd.DataFrame({"other": [1, 2]}).to_parquet(path)
    elif path.name.endswith(".json") and path.parent.name == "streets":
        path.write_text(json.dumps({"crs": "EPSG:4326"}))
    else:  # an Overpass response without elements
        path.write_text(json.dumps({"version": 0.6, "remark": "none"}))


@pytest.mark.parametrize("damage", [_truncate, _garbage, _wrong_keys], ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", KINDS)
def test_unreadable_entry_is_logged_rebuilt_and_rewritten(
    seed, tmp_path, monkeypatch, caplog, no_network, kind, damage
):
    cache = tmp_path / "cache"
    shutil.copytree(seed[0], cache)
    monkeypatch.setattr(settings, "cache_folder", cache)
    damaged = entries(cache, kind)
    if kind == "overpass":
        damaged = [p for p in damaged if "elements" in p.read_text()]  # the interpreter's
    assert damaged
    for path in damaged:
        damage(path)
    with caplog.at_level("WARNING"):
        result = build(kind)
    assert fingerprint(result) == seed[1][kind]
    assert "unreadable" in caplog.text
    # The entry is whole again: a second build reads it without a warning.
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert fingerprint(build(kind)) == seed[1][kind]
    assert "unreadable" not in caplog.text


@pytest.mark.parametrize("kind", KINDS)
def test_stale_temporary_files_are_removed_fresh_ones_kept(
    seed, tmp_path, monkeypatch, no_network, kind
):
    cache = cache_without(seed[0], kind, tmp_path / "cache")
    monkeypatch.setattr(settings, "cache_folder", cache)
    folder = cache / kind
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / ".entry.abc123.tmp", folder / ".entry.def456.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    assert fingerprint(build(kind)) == seed[1][kind]
    assert not stale.exists()
    assert fresh.exists()


# -- kills and races ---------------------------------------------------------------------


def child(
    kind: str, cache: Path, marker: Path, pause: float, peer: Path | None = None
) -> subprocess.Popen:
    script = cache.parent / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{TESTS}"}
    extra = [str(peer)] if peer is not None else []
    return subprocess.Popen(
        [sys.executable, str(script), kind, str(cache), str(marker), str(pause), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_while_writing_leaves_nothing_a_later_run_reads(
    seed, tmp_path, monkeypatch, caplog, no_network, kind
):
    cache = cache_without(seed[0], kind, tmp_path / "cache")
    marker = tmp_path / "writing"
    proc = child(kind, cache, marker, pause=600)
    deadline = time.monotonic() + 120
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the child never reached the write of {kind}: {err[-2000:]}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    orphans = list((cache / kind).glob(".*.tmp"))
    assert orphans, "the kill came before the write"
    # What the killed run leaves is never read: the next run rebuilds the same result.
    monkeypatch.setattr(settings, "cache_folder", cache)
    assert fingerprint(build(kind)) == seed[1][kind]
    # Its orphan, once older than a run, is removed by the next use of the cache.
    old = time.time() - 2 * 3600
    for tmp in orphans:
        if tmp.exists():
            os.utime(tmp, (old, old))
    with caplog.at_level("WARNING"):
        assert fingerprint(build(kind)) == seed[1][kind]
    assert "unreadable" not in caplog.text
    assert not any(t.exists() for t in orphans)


def test_two_processes_building_the_same_entries_at_once(seed, tmp_path):
    """Both succeed and agree, for every kind, though their writes overlap."""
    for kind in KINDS:
        cache = cache_without(seed[0], kind, tmp_path / kind / "cache")
        marks = [tmp_path / kind / "writing-0", tmp_path / kind / "writing-1"]
        procs = [child(kind, cache, marks[i], 120, peer=marks[1 - i]) for i in range(2)]
        results = [p.communicate(timeout=300) for p in procs]
        for p, (_, err) in zip(procs, results, strict=True):
            assert p.returncode == 0, err[-2000:]
        prints = [out.strip().splitlines()[-1] for out, _ in results]
        assert prints == [seed[1][kind]] * 2, kind
        assert all(m.exists() for m in marks)  # both stood at the write at once
        assert not list((cache / kind).glob(".*.tmp"))
