"""Reading the files of a GTFS feed: zip or folder, in memory, as tables of strings.

A :class:`FeedSource` finds the feed's files (at the root of a zip or folder, or in one
subfolder of it, as many published zips have) and reads them with pyarrow's CSV parser:
every column as a string, whitespace around values and column names trimmed, empty
values as nulls, a UTF-8 byte order mark skipped. Zip members are read into memory,
never extracted to paths taken from their names. Every problem becomes a
:class:`~connectivity.GtfsError` that names the feed, the file, the line and the column.

Line numbers assume one line per record (a quoted field spanning lines shifts them).
"""

from __future__ import annotations

import csv
import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from connectivity._checks import SIZE_LIMITS, check_input
from connectivity._errors import GtfsError, InputFileError

__all__ = ["FeedSource", "parse_dates", "parse_int", "parse_times"]

_BOM = b"\xef\xbb\xbf"


class FeedSource:
    """The files of one GTFS feed, a zip file or a folder.

    Parameters
    ----------
    path
        The zip file or folder.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, str] = {}
        if not self.path.exists():
            raise InputFileError(
                f"GTFS feed {self.path} does not exist: give the path of a feed's zip file "
                "or of a folder holding its .txt files"
            )
        check_input(self.path, "GTFS feed", kind="gtfs", folder=True)
        if self.path.is_dir():
            names = [p.relative_to(self.path).as_posix() for p in self.path.rglob("*.txt")]
        else:
            if not zipfile.is_zipfile(self.path):
                raise GtfsError(
                    f"GTFS feed {self.path} is not a zip file: give a feed's .zip, or a "
                    "folder holding its .txt files"
                )
            try:
                self._zip = zipfile.ZipFile(self.path)
                names = [i.filename for i in self._zip.infolist() if not i.is_dir()]
            except (zipfile.BadZipFile, OSError) as exc:
                raise GtfsError(f"GTFS feed {self.path} is a corrupt zip file: {exc}") from None
        self._members = _locate(self.path, names)

    def __repr__(self) -> str:
        return f"FeedSource({str(self.path)!r})"

    def has(self, name: str) -> bool:
        """Whether the feed holds the file ``name`` (such as ``"calendar.txt"``)."""
        return name in self._members

    def read_bytes(self, name: str) -> bytes | None:
        """Return the raw bytes of ``name``, or None when the feed lacks it."""
        member = self._members.get(name)
        if member is None:
            return None
        if self._zip is not None:
            size = self._zip.getinfo(member).file_size
            if size > SIZE_LIMITS["gtfs member"]:
                raise GtfsError(
                    f"{self.path}: {member} unpacks to {size:,} bytes, more than the "
                    f"{SIZE_LIMITS['gtfs member']:,} accepted: is the zip corrupt?"
                )
            try:
                return self._zip.read(member)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise GtfsError(f"{self.path}: cannot read {member} from the zip: {exc}") from None
        try:
            return check_input(
                self.path / member, f"GTFS feed {self.path}:", kind="gtfs member"
            ).read_bytes()
        except InputFileError as exc:
            raise GtfsError(str(exc)) from None

    def where(self, name: str) -> str:
        """``feed/name`` for messages."""
        return f"{self.path}: {self._members.get(name, name)}"

    def read(
        self,
        name: str,
        *,
        required: Sequence[str] = (),
        optional: Sequence[str] | None = None,
        must_exist: bool = True,
    ) -> pa.Table | None:
        """Read the file ``name`` as a table of strings.

        Parameters
        ----------
        name
            The file, such as ``"stops.txt"``.
        required
            Columns that must be present (a :class:`GtfsError` otherwise).
        optional
            Further columns to read when present; None reads every column.
        must_exist
            Whether a missing (or empty) file is an error; otherwise None is returned for a
            missing file and an empty table for an empty one.

        Returns
        -------
        table
            One string column per column read (nulls where empty), and ``_line``, the line
            of each record in the file.
        """
        data = self.read_bytes(name)
        if data is None:
            if must_exist:
                raise GtfsError(
                    f"GTFS feed {self.path} lacks the required file {name}: add it to the "
                    "feed (see https://gtfs.org/schedule/reference/)"
                )
            return None
        if data.startswith(_BOM):
            data = data[len(_BOM) :]
        header_end = data.find(b"\n")
        header_bytes = data if header_end < 0 else data[:header_end]
        try:
            header_text = header_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise GtfsError(
                f"{self.where(name)}, line 1: the header is not UTF-8 text: save the file as UTF-8"
            ) from None
        names = [c.strip() for c in next(csv.reader([header_text.rstrip("\r")]), [])]
        if not any(names):
            if must_exist:
                raise GtfsError(
                    f"{self.where(name)} is empty: it needs a header line and at least one record"
                )
            cols = list(required) + [c for c in (optional or ()) if c not in required]
            return pa.table(
                {c: pa.array([], pa.string()) for c in cols} | {"_line": pa.array([], pa.int64())}
            )
        missing = [c for c in required if c not in names]
        if missing:
            raise GtfsError(
                f"{self.where(name)}, line 1: the required column(s) {', '.join(missing)} "
                f"are missing (the header has {', '.join(names)}): add them"
            )
        wanted = [c for c in names if c] if optional is None else [*required, *optional]
        include = [c for c in dict.fromkeys(wanted) if c in names]
        column_names = [c if c else f"_unnamed{i}" for i, c in enumerate(names)]
        if len(set(column_names)) != len(column_names):
            dup = sorted({c for c in column_names if column_names.count(c) > 1})
            raise GtfsError(
                f"{self.where(name)}, line 1: the column(s) {', '.join(dup)} appear twice in "
                "the header: remove the duplicates"
            )
        body = b"" if header_end < 0 else data[header_end + 1 :]
        if body.strip():
            table = _parse_csv(self.where(name), body, column_names, include, data)
        else:
            table = pa.table(
                {c: pa.array([], pa.string()) for c in include}
                | {"_line": pa.array([], pa.int64())}
            )
        if must_exist and table.num_rows == 0:
            raise GtfsError(
                f"{self.where(name)} has a header but no records: the feed needs at least "
                "one record in it"
            )
        return table


def _locate(path: Path, names: list[str]) -> dict[str, str]:
    """Map each GTFS file name to its member, at the root or in one subfolder."""
    names = [n for n in names if not n.startswith("__MACOSX/") and "/." not in f"/{n}"]
    folders = sorted(
        {n.rsplit("/", 1)[0] if "/" in n else "" for n in names if n.endswith("stops.txt")},
        key=lambda f: (f.count("/"), f),
    )
    folders = [f for f in folders if f"{f}/stops.txt".lstrip("/") in names]
    if not folders:
        raise GtfsError(
            f"GTFS feed {path} lacks the required file stops.txt (it holds "
            f"{', '.join(sorted(names)[:8]) or 'no .txt file'}): is this a GTFS feed?"
        )
    top = [f for f in folders if f.count("/") == folders[0].count("/")]
    if len(top) > 1:
        raise GtfsError(
            f"{path} holds several feeds (in {', '.join(repr(f) for f in top)}): give each "
            "feed's folder or zip separately"
        )
    prefix = f"{folders[0]}/" if folders[0] else ""
    return {
        n[len(prefix) :]: n
        for n in names
        if n.startswith(prefix) and "/" not in n[len(prefix) :] and n.endswith(".txt")
    }


def _parse_csv(
    where: str, body: bytes, column_names: list[str], include: list[str], whole: bytes
) -> pa.Table:
    read = pcsv.ReadOptions(column_names=column_names, use_threads=True, block_size=1 << 22)
    convert = pcsv.ConvertOptions(
        column_types={c: pa.string() for c in column_names},
        include_columns=include,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        try:
            table = pcsv.read_csv(
                pa.BufferReader(body),
                read_options=read,
                convert_options=convert,
                parse_options=pcsv.ParseOptions(newlines_in_values=False),
            )
        except pa.ArrowInvalid:
            if b'"' not in body:
                raise
            # A quoted value may hold a line break: parse again, allowing it (slower).
            table = pcsv.read_csv(
                pa.BufferReader(body),
                read_options=read,
                convert_options=convert,
                parse_options=pcsv.ParseOptions(newlines_in_values=True),
            )
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if "UTF8" in text or "utf8" in text.lower():
            raise _encoding_error(where, whole) from None
        m = re.search(r"Expected (\d+) columns, got (\d+): (.*)", text)
        if m:
            line = _line_of_text(body, m.group(3))
            raise GtfsError(
                f"{where}, line {line}: a record has {m.group(2)} fields where the header "
                f"has {m.group(1)}: fix its commas or quotes"
            ) from None
        raise GtfsError(f"{where}: the file is not valid CSV ({text})") from None
    columns = {}
    for c in include:
        col = table[c]
        if col.null_count < len(col):
            col = pc.utf8_trim_whitespace(col)
            col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
        columns[c] = col
    columns["_line"] = pa.array(np.arange(2, table.num_rows + 2, dtype=np.int64))
    return pa.table(columns)


def _line_of_text(body: bytes, fragment: str) -> int | str:
    pos = body.find(fragment.encode("utf-8", "replace")[:200])
    return body[:pos].count(b"\n") + 2 if pos >= 0 else "?"


def _encoding_error(where: str, data: bytes) -> GtfsError:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return GtfsError(
            f"{where}, line {line}: the file is not UTF-8 (byte {data[exc.start]:#04x} at "
            f"offset {exc.start}): GTFS files must be UTF-8, re-save it with that encoding"
        )
    return GtfsError(f"{where}: the file is not valid UTF-8: re-save it as UTF-8")


def _bad(where: str, column: str, table: pa.Table, bad: np.ndarray, what: str, fix: str) -> None:
    """Raise a GtfsError for the first row of ``bad`` (a boolean mask)."""
    rows = np.flatnonzero(bad)
    if len(rows) == 0:
        return
    i = int(rows[0])
    line = table["_line"][i].as_py()
    value = table[column][i].as_py()
    more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
    raise GtfsError(f"{where}, line {line}, column {column}: {what} {value!r}{more}: {fix}")


def parse_times(
    table: pa.Table,
    column: str,
    where: str,
    *,
    allow_missing: bool = True,
    strict: bool = True,
) -> np.ndarray:
    """Parse ``H:MM:SS`` times (hours may exceed 23) into seconds, vectorised.

    Returns an int64 array with -1 where the value is missing; an unparseable value (or a
    missing one where ``allow_missing`` is False) raises a :class:`GtfsError`, or gives -2
    when ``strict`` is False.
    """
    arr = table[column].combine_chunks() if table.num_rows else pa.array([], pa.string())
    n = len(arr)
    if n == 0:
        return np.zeros(0, np.int64)
    if arr.type == pa.large_string():
        arr = arr.cast(pa.string())
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), bool)
    if not allow_missing:
        _bad(where, column, table, ~valid, "missing time", "give the time as HH:MM:SS")
    offsets = np.frombuffer(arr.buffers()[1], np.int32, n + 1, arr.offset * 4).astype(np.int64)
    data = np.frombuffer(arr.buffers()[2], np.uint8) if arr.buffers()[2] is not None else None
    start, end = offsets[:-1], offsets[1:]
    length = end - start
    ok = valid & (length >= 7) & (length <= 9)
    seconds = np.full(n, -1, np.int64)
    if data is None or not ok.any():
        if not strict:
            seconds[valid] = -2
            return seconds
        _bad(
            where,
            column,
            table,
            valid & ~ok,
            "cannot read the time",
            "write times as HH:MM:SS (hours may exceed 23)",
        )
        return seconds
    e = np.where(ok, end, 9)
    e = np.minimum(e, len(data))

    def digit(pos: np.ndarray) -> np.ndarray:
        return data[np.clip(pos, 0, len(data) - 1)].astype(np.int64) - 48

    s1, s0, m1, m0 = digit(e - 1), digit(e - 2), digit(e - 4), digit(e - 5)
    c1, c2 = digit(e - 3), digit(e - 6)
    h0, h1, h2 = digit(e - 7), digit(e - 8), digit(e - 9)
    colon = ord(":") - 48
    digits_ok = (
        (np.minimum.reduce([s1, s0, m1, m0, h0]) >= 0)
        & (np.maximum.reduce([s1, s0, m1, m0, h0]) <= 9)
        & (c1 == colon)
        & (c2 == colon)
        & (s0 <= 5)
        & (m0 <= 5)
    )
    hours = h0.copy()
    two = length >= 8
    three = length >= 9
    digits_ok &= ~two | ((h1 >= 0) & (h1 <= 9))
    digits_ok &= ~three | ((h2 >= 0) & (h2 <= 9))
    hours = np.where(two, hours + 10 * h1, hours)
    hours = np.where(three, hours + 100 * h2, hours)
    good = ok & digits_ok
    if not strict:
        seconds[valid & ~good] = -2
    else:
        _bad(
            where,
            column,
            table,
            valid & ~good,
            "cannot read the time",
            "write times as HH:MM:SS (hours may exceed 23)",
        )
    seconds[good] = (hours * 3600 + (m0 * 10 + m1) * 60 + s0 * 10 + s1)[good]
    return seconds


def parse_int(
    table: pa.Table,
    column: str,
    where: str,
    *,
    default: int | None = None,
    low: int | None = None,
    high: int | None = None,
    fix: str = "",
) -> np.ndarray:
    """Parse an integer column; missing values take ``default`` (an error when None)."""
    if column not in table.column_names:
        if default is None:
            raise GtfsError(f"{where}: the required column {column} is missing: add it")
        return np.full(table.num_rows, default, np.int64)
    col = table[column]
    nulls = np.asarray(col.is_null().to_numpy(zero_copy_only=False), bool)
    if default is None:
        _bad(where, column, table, nulls, "missing value", fix or "give an integer")
    filled = pc.fill_null(col, "0" if default is None else str(default))
    try:
        values = np.asarray(pc.cast(filled, pa.int64()).to_numpy(), np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        num = pd.to_numeric(pd.Series(filled.to_numpy(zero_copy_only=False)), errors="coerce")
        values = num.to_numpy(np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if low is not None:
        bad |= values < low
    if high is not None:
        bad |= values > high
    _bad(where, column, table, bad, "not a valid integer:", fix or "give an integer")
    return values.astype(np.int64)


def parse_float(table: pa.Table, column: str, where: str, *, fix: str = "") -> np.ndarray:
    """Parse a decimal column; missing values are NaN."""
    if column not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col = table[column]
    nulls = np.asarray(col.is_null().to_numpy(zero_copy_only=False), bool)
    try:
        values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        values = np.asarray(values, np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        num = pd.to_numeric(
            pd.Series(col.to_numpy(zero_copy_only=False)), errors="coerce"
        ).to_numpy(np.float64, na_value=np.nan)
        _bad(where, column, table, np.isnan(num) & ~nulls, "not a number:", fix or "give a number")
        values = num
    values = values.copy()
    values[nulls] = np.nan
    return values


def parse_dates(table: pa.Table, column: str, where: str) -> np.ndarray:
    """Parse ``YYYYMMDD`` dates into ``datetime64[D]``; missing or bad values raise."""
    strings = table[column].to_numpy(zero_copy_only=False)
    parsed = pd.to_datetime(pd.Series(strings, dtype=object), format="%Y%m%d", errors="coerce")
    bad = parsed.isna().to_numpy()
    _bad(where, column, table, bad, "cannot read the date", "write dates as YYYYMMDD")
    return parsed.to_numpy().astype("datetime64[D]")


def strings(table: pa.Table, column: str) -> np.ndarray:
    """A column as an object array of str (None where missing or absent)."""
    if column not in table.column_names:
        return np.full(table.num_rows, None, object)
    return np.asarray(table[column].to_numpy(zero_copy_only=False), object)
