"""Atomic writes and content hashes, shared by every cache and output writer."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectivity._errors import ConnectivityError, OutputError

_CHUNK = 1 << 20

log = logging.getLogger(__name__)

#: A temporary file of an atomic write untouched for this long (seconds) belongs to a
#: run that was killed: no write of a live run pauses that long.
STALE_TMP_SECONDS = 3600.0


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The process umask, read once at import (reading it means setting it, which is not
#: thread-safe, so it is not done per write).
_UMASK = _read_umask()


def file_digest(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 hex digest of a file's contents (or of a folder's files)."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(child.relative_to(path).as_posix().encode())
            h.update(bytes.fromhex(file_digest(child)))
        return h.hexdigest()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def cache_key(*parts: Any) -> str:
    """Hash JSON-serialisable parts (digests, parameters) into a short cache key."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched, so
    a failed run never leaves a half-written output or cache entry behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if _in_cache(target):
        sweep_cache()
    # The name is cut so that the temporary name fits the file system as the target does.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:200]}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, target)
    except BaseException as exc:  # KeyboardInterrupt too: no temporary file stays
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, ConnectivityError):
            raise _write_error(target, exc) from exc
        raise


def _write_error(target: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    return OutputError(
        f"cannot write {target} ({reason}): nothing was written there; free space or "
        "choose a folder you can write into"
    )


@contextlib.contextmanager
def staged_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success move what was written in it
    into ``target`` (made when absent; files of the same name replaced), else remove it.

    A run that fails (or is interrupted) part-way so leaves ``target`` as it was: the
    outputs appear together, after every computation succeeded.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(
        tempfile.mkdtemp(prefix=f".{target.name[:200]}.", suffix=".tmp", dir=target.parent)
    )
    try:
        yield stage
        target.mkdir(exist_ok=True)
        for item in sorted(stage.rglob("*")):
            dest = target / item.relative_to(stage)
            if item.is_dir():
                dest.mkdir(exist_ok=True)
            else:
                os.replace(item, dest)
    except OSError as exc:
        if isinstance(exc, ConnectivityError):
            raise
        raise _write_error(target, exc) from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``target`` atomically (UTF-8) and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


#: The date GDAL writes into a GeoPackage's metadata (``gpkg_contents.last_change``) in
#: place of the time of writing, so the same layer written twice is the same bytes.
GPKG_DATE = "2000-01-01T00:00:00.000Z"


def write_vector_atomic(
    frame: Any, target: str | os.PathLike[str], *, driver: str, layer: str
) -> Path:
    """Write a GeoDataFrame with GDAL (``driver``: ``GeoJSON``, ``GPKG``) atomically.

    GDAL wants the format's suffix on the file it writes (a GeoPackage layer is named
    after the file otherwise, and the temporary name is no valid layer name): the frame
    is written beside the temporary file, then moved. A GeoPackage gets the fixed date
    :data:`GPKG_DATE`, not the time of writing.
    """
    import pyogrio

    target = Path(target)
    with atomic_path(target) as tmp:
        named = tmp.with_name(tmp.name + target.suffix)
        previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
        try:
            frame.to_file(named, driver=driver, layer=layer, engine="pyogrio")
            named.replace(tmp)
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
            named.unlink(missing_ok=True)
    return target


def _in_cache(path: Path) -> bool:
    from connectivity import settings

    try:
        return path.resolve().is_relative_to(Path(settings.cache_folder).resolve())
    except (OSError, RuntimeError):
        return False


def remove_stale_tmp(
    folder: str | os.PathLike[str], *, older_than: float = STALE_TMP_SECONDS
) -> int:
    """Remove the temporary files of atomic writes (``.NAME.XXXX.tmp``) in ``folder`` that
    no one has touched for ``older_than`` seconds: those a killed run left behind.

    Files of a write in progress are younger and are kept. Returns how many were removed
    (each logged).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    now = time.time()
    removed = 0
    for tmp in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if now - tmp.lstat().st_mtime > older_than:
                tmp.unlink()
                removed += 1
                log.info("removed %s, left by an interrupted write", tmp)
    return removed


def sweep_cache() -> int:
    """Remove the stale temporary files (see :func:`remove_stale_tmp`) in every folder of
    ``settings.cache_folder``; each cache reader calls it, so a killed run's leftovers go
    with the next run that uses the cache. Returns how many were removed."""
    from connectivity import settings

    root = Path(settings.cache_folder)
    if not root.is_dir():
        return 0
    removed = remove_stale_tmp(root)
    with contextlib.suppress(OSError):
        for folder in root.iterdir():
            if folder.is_dir():
                removed += remove_stale_tmp(folder)
    return removed
