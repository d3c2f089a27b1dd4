"""Checks on paths and sizes made before any work: inputs that are regular, readable
files within a size limit per kind, outputs whose folder exists (or can be made) and is
writable, and counts (cells, zones) that stay within what memory holds.

Each check raises a one-line :class:`~connectivity.ConnectivityError` subclass naming the
option (or parameter), what is wrong and the limit, so the command-line tool prints it
and exits 2 before reading or computing anything.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from connectivity._errors import InputFileError, ParameterError

__all__ = [
    "MAX_CELLS",
    "MAX_ZONES",
    "SIZE_LIMITS",
    "check_count",
    "check_grid",
    "check_jobs",
    "check_text",
    "check_input",
    "check_output_dir",
    "check_output_file",
]

_GIB = 1 << 30

#: Largest input file accepted per kind, in bytes (a country's OSM extract is a few GB;
#: a hand-written scenario file a few KB). A file beyond it is refused before reading.
SIZE_LIMITS: dict[str, int] = {
    "osm": 16 * _GIB,
    "gtfs": 4 * _GIB,
    "gtfs member": 8 * _GIB,
    "vector": 2 * _GIB,
    "points": 2 * _GIB,
    "raster": 4 * _GIB,
    "scenario": 1 << 20,
}

#: Most raster cells an isochrone or travel-time surface may have (8 bytes each: 800 MB).
MAX_CELLS = 100_000_000

#: Most zones (rings) an indicator table may have.
MAX_ZONES = 10_000


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_input(
    path: str | os.PathLike[str], option: str, *, kind: str, folder: bool = False
) -> Path:
    """Check that ``path`` is a readable regular file (or, with ``folder``, a readable
    folder) of at most ``SIZE_LIMITS[kind]`` bytes; return it as a :class:`Path`.

    Devices (``/dev/zero``), FIFOs and sockets are refused without being opened: reading
    them never ends.

    Raises
    ------
    InputFileError
        Missing, a folder where a file is expected, not a regular file, too large, or
        not readable; the message names ``option``.
    """
    path = Path(path)
    _no_nul(path, option)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputFileError(f"{option} {path}: no such file or folder") from None
    except OSError as exc:
        raise InputFileError(f"{option} {path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        if not folder:
            raise InputFileError(f"{option} {path} is a folder: give a {kind} file")
        try:
            os.listdir(path)
        except OSError as exc:
            raise InputFileError(
                f"{option} {path}: the folder cannot be read ({exc.strerror}): check its "
                "permissions"
            ) from None
        return path
    if not stat.S_ISREG(info.st_mode):
        what = (
            "a FIFO"
            if stat.S_ISFIFO(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "a device"
        )
        raise InputFileError(f"{option} {path} is not a regular file ({what}): give a {kind} file")
    limit = SIZE_LIMITS.get(kind)
    if limit is not None and info.st_size > limit:
        raise InputFileError(
            f"{option} {path} is {_size(info.st_size)}, more than the {_size(limit)} "
            f"accepted for a {kind} file: give a smaller extract"
        )
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InputFileError(
            f"{option} {path}: cannot be read ({exc.strerror}): check its permissions"
        ) from None
    return path


def _existing_ancestor(path: Path) -> Path:
    """The nearest of ``path`` and its parents that exists (as anything)."""
    here = path.absolute()
    while not os.path.lexists(here) and here != here.parent:
        here = here.parent
    return here


def _no_nul(path: Path, option: str) -> None:
    if "\x00" in str(path):
        raise ParameterError(f"{option} {str(path)!r}: a path cannot hold a NUL character")


def _check_names(path: Path, option: str) -> None:
    _no_nul(path, option)
    anchor = _existing_ancestor(path.parent)
    try:
        limit = os.pathconf(anchor if anchor.is_dir() else anchor.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > limit:
            raise ParameterError(
                f"{option} {str(path)[:60]}...: the name {part[:20]}... is {size} bytes, more "
                f"than the {limit} the file system allows; give a shorter name"
            )


def _probe(folder: Path, option: str, path: Path) -> None:
    """Create and remove a file in ``folder`` to prove it can be written."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".connectivity-probe.", dir=folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason += ": give a folder you can write into"
        raise ParameterError(f"{option} {path}: cannot write into {folder} ({reason})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _check_parent(folder: Path, option: str, path: Path) -> None:
    anchor = _existing_ancestor(folder)
    if not anchor.is_dir():
        raise ParameterError(
            f"{option} {path}: {anchor} is a file, not a folder: give a path in a folder"
        )
    _probe(anchor, option, path)


def check_output_file(path: str | os.PathLike[str], option: str) -> Path:
    """Check, before any work, that a file can be written at ``path``.

    The path must not be a folder, its name must fit the file system, and its folder
    must exist (or be creatable: its nearest existing parent is a folder) and be
    writable (a probe file is created and removed). Nothing else is created.

    Raises
    ------
    ParameterError
        The message names ``option``, the path and what to change.
    """
    path = Path(path)
    _check_names(path, option)
    if path.is_dir():
        raise ParameterError(f"{option} {path} is a folder: give the name of a file to write")
    _check_parent(path.parent, option, path)
    return path


def check_output_dir(path: str | os.PathLike[str], option: str) -> Path:
    """Check, before any work, that ``path`` is a folder (or can be made) to write into.

    Raises
    ------
    ParameterError
        ``path`` is a file, lies under a file, has a too-long name, or cannot be
        written; the message names ``option``.
    """
    path = Path(path)
    _check_names(path / "x", option)
    if os.path.lexists(path) and not path.is_dir():
        raise ParameterError(f"{option} {path} is a file: give a folder to write into")
    _check_parent(path, option, path)
    return path


def check_count(count: float, limit: int, *, option: str, what: str, fix: str) -> None:
    """Refuse ``count`` (cells, zones) beyond ``limit`` with the resulting size named.

    Raises
    ------
    ParameterError
        ``count`` exceeds ``limit`` (or is not finite).
    """
    if not (count == count and count <= limit):  # NaN and inf refused too
        raise ParameterError(
            f"{option} gives {count:,.0f} {what}, more than the {limit:,} allowed: {fix}"
        )


def check_grid(
    x: object, y: object, *, buffer: float, resolution: float, option: str = "--resolution"
) -> None:
    """Refuse a raster of cell size ``resolution`` (metres) around the points ``x, y``
    (padded by ``buffer``) that would hold more than :data:`MAX_CELLS` cells, or a buffer
    disk of more than :data:`MAX_CELLS` cells.

    Raises
    ------
    ParameterError
        The message names ``option``, the number of cells and the limit.
    """
    import math

    import numpy as np

    xs = np.asarray(x, float)
    ys = np.asarray(y, float)
    if not (math.isfinite(resolution) and resolution > 0) or len(xs) == 0:
        return  # the analysis reports a bad resolution itself; no points, one cell
    pad = buffer + 2 * resolution
    width = float(xs.max() - xs.min()) + 2 * pad
    height = float(ys.max() - ys.min()) + 2 * pad
    cells = math.ceil(width / resolution + 1) * math.ceil(height / resolution + 1)
    disk = (2 * math.floor(buffer / resolution) + 1) ** 2
    check_count(
        max(cells, disk),
        MAX_CELLS,
        option=f"{option} {resolution:g}",
        what=f"cells of {resolution:g} m over {width / 1000:,.1f} x {height / 1000:,.1f} km",
        fix=f"give a cell size of at least {math.sqrt(width * height / MAX_CELLS):.2g} m",
    )


def check_jobs(jobs: int, option: str = "--jobs") -> int:
    """Refuse a number of worker processes that is not 1..cores (or -1: every core).

    Raises
    ------
    ParameterError
        Names ``option``, the value and the number of cores.
    """
    cores = os.cpu_count() or 1
    if jobs == -1 or 1 <= jobs <= cores:
        return jobs
    raise ParameterError(
        f"{option} {jobs}: give 1 to {cores} processes (the cores of this machine), or -1 "
        "for every core"
    )


def check_text(path: str | os.PathLike[str], option: str) -> Path:
    """Refuse a hand-written file (a scenario) that is not UTF-8 text.

    Raises
    ------
    InputFileError
        Names ``option``, the file and the first byte that is not UTF-8.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{option} {path} is not UTF-8 text (byte {exc.start:,} is 0x{data[exc.start]:02x}): "
            "give a TOML or YAML file"
        ) from None
    return path
