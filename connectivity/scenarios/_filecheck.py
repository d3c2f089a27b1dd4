"""Reading a hand-written file of keys safely, and checking its values by a schema.

What :mod:`connectivity.scenarios.file` builds on:

- :func:`load_document`: a TOML or YAML file of at most :data:`MAX_FILE_BYTES`, a regular
  file (not a device or a FIFO); YAML is composed with the safe loader and refused when
  its aliases would expand it beyond :data:`MAX_YAML_NODES` nodes (an alias bomb fails
  in milliseconds, before anything is expanded). The :class:`Document` knows the line of
  each key (exactly for YAML, by the table headers and keys for TOML).
- :class:`Checker`: each value against its kind (numbers in a range, never strings or
  booleans; booleans only ``true`` / ``false``; ``HH:MM`` clock times; lists of them),
  each error a :class:`~connectivity.ScenarioError` of one line naming the file, the
  line, the key's path and a short excerpt of the value; unknown keys name the closest
  known key (:func:`difflib.get_close_matches`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import reprlib
import stat
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from connectivity._errors import InputFileError, ScenarioError

#: The largest scenario file read, bytes.
MAX_FILE_BYTES = 1 << 20
#: The most nodes a YAML document may hold once its aliases are expanded.
MAX_YAML_NODES = 20_000
#: The most characters of a value quoted in an error message.
EXCERPT = 40

Path_ = tuple[str | int, ...]

_short = reprlib.Repr()
_short.maxstring = EXCERPT
_short.maxother = EXCERPT
_short.maxlist = 4
_short.maxdict = 4
_short.maxlevel = 2


def excerpt(value: Any) -> str:
    """A short ``repr`` of ``value`` (at most about :data:`EXCERPT` characters)."""
    text = _short.repr(value).replace("\n", " ")
    return text if len(text) <= EXCERPT + 10 else text[: EXCERPT + 6] + "...'"


def path_text(path: Path_) -> str:
    """``study.cutoffs``, ``modifications[1].headway_min`` (list positions from 1)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + part
    return out


def suggest(key: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known key, or ``"; valid keys: ..."``."""
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f": did you mean {close[0]!r}?"
    return f"; valid keys: {', '.join(known)}"


# -- the document --------------------------------------------------------------------------


class Document:
    """A file's data and where its keys are (line numbers from 1)."""

    def __init__(self, path: Path, data: Any, lines: dict[Path_, int] | None, text: str) -> None:
        self.path = path
        self.data = data
        self._lines = lines
        self._text = text.splitlines()

    def line(self, path: Path_) -> int | None:
        """The line of the key at ``path`` (the nearest enclosing one that is known)."""
        if self._lines is not None:
            for k in range(len(path), 0, -1):
                if path[:k] in self._lines:
                    return self._lines[path[:k]]
            return None
        return _toml_line(self._text, path)

    def error(self, path: Path_, message: str) -> ScenarioError:
        """A one-line error: ``file:line: key.path: message``."""
        line = self.line(path)
        where = f"{self.path.name}:{line}" if line else self.path.name
        key = path_text(path)
        return ScenarioError(f"{where}: {key + ': ' if key else ''}{message}")


def _toml_line(lines: Sequence[str], path: Path_) -> int | None:
    """The line of a key of a TOML file, found by its table headers and key names."""
    if not path:
        return None
    top = re.escape(str(path[0]))
    at, rest = 0, list(path[1:])
    if rest and isinstance(rest[0], int):
        headers = [k for k, text in enumerate(lines) if re.match(rf"\s*\[\[\s*{top}\s*\]\]", text)]
        if len(headers) > rest[0]:
            at = headers[rest[0]]
        rest = rest[1:]
    else:
        for k, text in enumerate(lines):
            if re.match(rf"\s*\[\s*{top}\s*\]", text) or re.match(rf"\s*{top}\s*=", text):
                at = k
                break
    for part in rest:
        if isinstance(part, int):
            continue
        pattern = re.compile(rf"(^|[\s{{,]){re.escape(part)}\s*=")
        for k in range(at, len(lines)):
            if pattern.search(lines[k]):
                at = k
                break
    return at + 1


def load_document(path: Path) -> Document:
    """Read a ``.toml``, ``.yaml`` or ``.yml`` file within the limits of this module."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputFileError(f"the scenario file {path} does not exist") from None
    except OSError as exc:
        raise InputFileError(f"the scenario file {path} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(
            f"the scenario file {path} is not a regular file (a folder, device or FIFO)"
        )
    if info.st_size > MAX_FILE_BYTES:
        raise ScenarioError(
            f"the scenario file {path} is {info.st_size:,} bytes; the limit is "
            f"{MAX_FILE_BYTES:,} (a scenario file holds keys, not data)"
        )
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ScenarioError(
            f"{path}: unknown scenario file type {suffix!r}; name it .toml, .yaml or .yml"
        )
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise InputFileError(f"the scenario file {path} cannot be read ({exc.strerror})") from None
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{path}: not valid TOML ({excerpt(str(exc))[1:-1]})") from None
        doc = Document(path, data, None, text)
    else:
        data, lines = _load_yaml(path, text)
        doc = Document(path, data, lines, text)
    if not isinstance(doc.data, dict):
        raise ScenarioError(f"{path}: the file must hold a table of keys (baseline, study...)")
    return doc


def _load_yaml(path: Path, text: str) -> tuple[Any, dict[Path_, int]]:
    """Compose with the safe loader, count the nodes with aliases expanded, construct."""
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or type(exc).__name__
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise ScenarioError(f"{path}: not valid YAML ({excerpt(problem)[1:-1]}{at})") from None
        if node is None:
            return {}, {}
        sizes: dict[int, int] = {}
        if _expanded_size(node, sizes) > MAX_YAML_NODES:
            raise ScenarioError(
                f"{path}: the YAML aliases expand to more than {MAX_YAML_NODES:,} values; "
                "write the values out (anchors and aliases may only repeat small parts)"
            )
        lines: dict[Path_, int] = {}
        _node_lines(node, (), lines)
        try:
            data = loader.construct_document(node)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise ScenarioError(f"{path}: not valid YAML ({excerpt(problem)[1:-1]})") from None
    finally:
        loader.dispose()
    return data, lines


def _expanded_size(node: Any, sizes: dict[int, int]) -> int:
    """Nodes under ``node`` with every alias expanded (memoised per node: linear time)."""
    import yaml

    key = id(node)
    if key in sizes:
        return sizes[key]
    sizes[key] = MAX_YAML_NODES + 1  # a node that holds itself expands without end
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, sizes)
            if total > MAX_YAML_NODES:
                break
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, sizes) + _expanded_size(v, sizes)
            if total > MAX_YAML_NODES:
                break
    sizes[key] = total
    return total


def _node_lines(node: Any, path: Path_, out: dict[Path_, int], depth: int = 0) -> None:
    import yaml

    if depth > 12 or len(out) > MAX_YAML_NODES:
        return
    if isinstance(node, yaml.SequenceNode):
        for k, child in enumerate(node.value):
            out.setdefault((*path, k), child.start_mark.line + 1)
            _node_lines(child, (*path, k), out, depth + 1)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                out.setdefault((*path, str(k.value)), k.start_mark.line + 1)
                _node_lines(v, (*path, str(k.value)), out, depth + 1)


# -- checking values -----------------------------------------------------------------------


class Checker:
    """Checks of values of one document, each raising its error with the key's place."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def fail(self, path: Path_, message: str) -> ScenarioError:
        return self.doc.error(path, message)

    def table(self, value: Any, path: Path_, known: Iterable[str]) -> dict[str, Any]:
        """A table whose keys are all in ``known`` (else: the closest known key)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a table of keys (got {excerpt(value)})")
        known = set(known)
        for key in value:
            if str(key) not in known:
                raise self.fail(
                    (*path, str(key)), f"unknown key {str(key)!r}{suggest(str(key), known)}"
                )
        return value

    def number(
        self,
        value: Any,
        path: Path_,
        unit: str,
        *,
        low: float = 0.0,
        high: float,
        low_open: bool = True,
        integer: bool = False,
    ) -> float:
        """A number (not a string, not a boolean) in ``(low, high]`` (or ``[low, high]``)."""
        kind = "a whole number" if integer else "a number"
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok:
            raise self.fail(path, f"must be {kind} of {unit} in {bounds} (got {excerpt(value)})")
        v = float(value)
        if integer and isinstance(value, float) and not v.is_integer():
            raise self.fail(path, f"must be {kind} of {unit} (got {excerpt(value)})")
        inside = math.isfinite(v) and (v > low if low_open else v >= low) and v <= high
        if not inside:
            raise self.fail(path, f"must be {unit} in {bounds} (got {excerpt(value)})")
        return v

    def boolean(self, value: Any, path: Path_) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false (got {excerpt(value)})")
        return value

    def string(self, value: Any, path: Path_, what: str = "a text") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"must be {what} (got {excerpt(value)})")
        return value

    def strings(self, value: Any, path: Path_, what: str = "ids") -> list[str]:
        """One text or a non-empty list of texts."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.fail(path, f"must be a list of {what} (got {excerpt(value)})")
        for k, item in enumerate(value):
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise self.fail((*path, k), f"must be one of the {what} (got {excerpt(item)})")
        return [str(v) for v in value]

    def clock(self, value: Any, path: Path_) -> int:
        """``"HH:MM"`` or ``"HH:MM:SS"`` (hours may pass 24), or a TOML time: seconds."""
        if isinstance(value, dt.time):
            return value.hour * 3600 + value.minute * 60 + value.second
        if not isinstance(value, str):
            hint = (
                " (in YAML, quote clock times: '08:00' unquoted reads as a number)"
                if isinstance(value, int) and not isinstance(value, bool)
                else ""
            )
            raise self.fail(path, f"must be a clock time 'HH:MM' (got {excerpt(value)}){hint}")
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*", value)
        if not match or int(match[2]) >= 60 or int(match[3] or 0) >= 60 or int(match[1]) > 47:
            raise self.fail(path, f"must be a clock time 'HH:MM' (got {excerpt(value)})")
        return int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3] or 0)

    def period(self, key: Any, path: Path_) -> tuple[int, int]:
        """``"HH:MM-HH:MM"``: start and end seconds (``end > start``)."""
        parts = str(key).split("-")
        if len(parts) != 2:
            raise self.fail(path, f"the period {excerpt(key)} is not 'HH:MM-HH:MM'")
        start, end = (self.clock(p, path) for p in parts)
        if end <= start:
            raise self.fail(path, f"the period {excerpt(key)} ends before it starts")
        return start, end

    def items(self, value: Any, path: Path_, what: str, *, at_least: int = 1) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list of {what} (got {excerpt(value)})")
        if len(value) < at_least:
            raise self.fail(path, f"needs at least {at_least} {what} (got {len(value)})")
        return value

    def lonlat(self, value: Any, path: Path_) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(path, f"must be a point [lon, lat] (got {excerpt(value)})")
        lon = self.number(
            value[0], (*path,), "degrees of longitude", low=-180, high=180, low_open=False
        )
        lat = self.number(
            value[1], (*path,), "degrees of latitude", low=-90, high=90, low_open=False
        )
        return lon, lat
