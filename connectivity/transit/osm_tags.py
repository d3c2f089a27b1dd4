"""The timetable and colour tags of OSM route relations, read into numbers.

``duration`` and ``interval`` (``mm``, ``hh:mm``, ``hh:mm:ss``) into seconds, simple
``opening_hours`` values into the service windows of a day of the week,
``interval:conditional`` into headway rules by day and time, the two together into the
``frequencies.txt`` rows of a day, and ``colour`` into a GTFS ``route_color``. Values of a
form not read here come back as None, for the estimation to report and fall back on its
defaults.
"""

from __future__ import annotations

import re

_DAY_NAMES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_RE = r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?"
_RULE_RE = re.compile(rf"^(?P<days>{_DAY_RE}(?:\s*,\s*{_DAY_RE})*)?\s*(?P<times>.*)$")
_WINDOW_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def _parse_duration(text: str) -> int | None:
    """``"mm"``, ``"hh:mm"`` or ``"hh:mm:ss"`` -> seconds (None if unreadable or zero)."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts]
    if len(numbers) == 1:
        seconds = numbers[0] * 60
    elif len(numbers) == 2:
        seconds = numbers[0] * 3600 + numbers[1] * 60
    else:
        seconds = numbers[0] * 3600 + numbers[1] * 60 + numbers[2]
    return seconds or None


def _parse_days(text: str | None) -> set[int] | None:
    """Day selector -> weekday numbers (0 = Monday); None when it names public holidays
    only; all days when empty."""
    if not text:
        return set(range(7))
    days: set[int] = set()
    for token in (t.strip() for t in text.split(",")):
        if token == "PH":
            continue
        first, _, last = token.partition("-")
        a = _DAY_NAMES.index(first)
        b = _DAY_NAMES.index(last) if last else a
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return days or None


def _parse_rule(text: str) -> tuple[set[int] | None, list[tuple[int, int]] | None] | None:
    """One opening_hours rule -> (days, windows); windows None = all day, [] = off.
    Returns None when the rule is not of the simple form read here."""
    text = text.strip()
    if text == "24/7":
        return set(range(7)), None
    match = _RULE_RE.match(text)
    if match is None:
        return None
    days = _parse_days(match["days"])
    times = match["times"].strip()
    if times in ("off", "closed"):
        return days, []
    if not times:
        return (days, None) if match["days"] else None
    windows = []
    for window in times.split(","):
        wmatch = _WINDOW_RE.match(window.strip())
        if wmatch is None:
            return None
        h1, m1, h2, m2 = (int(g) for g in wmatch.groups())
        start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
        if m1 > 59 or m2 > 59 or h1 > 24 or h2 > 48:
            return None
        if end <= start:
            end += 86_400
        windows.append((start, end))
    return days, windows


def _split_rules(text: str) -> list[str]:
    """Split at ';' outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _span_for(opening_hours: str, weekday: int) -> list[tuple[int, int]] | None:
    """Service windows of ``weekday`` from a simple opening_hours value (None: unreadable)."""
    windows: list[tuple[int, int]] = []
    for text in _split_rules(opening_hours):
        rule = _parse_rule(text)
        if rule is None:
            return None
        days, rule_windows = rule
        if days is not None and weekday in days:
            windows = [(0, 86_400)] if rule_windows is None else rule_windows
    return windows


def _conditional_intervals(
    text: str,
) -> list[tuple[set[int], list[tuple[int, int]] | None, int]] | None:
    """``interval:conditional`` -> (days, windows or None for all day, seconds) rules."""
    rules = []
    for part in _split_rules(text):
        value, sep, condition = part.partition("@")
        seconds = _parse_duration(value)
        condition = condition.strip()
        if condition.startswith("(") and condition.endswith(")"):
            condition = condition[1:-1]
        rule = _parse_rule(condition) if sep else None
        if seconds is None or rule is None:
            return None
        days, windows = rule
        if days is None or windows == []:
            continue
        rules.append((days, windows, seconds))
    return rules


def _frequencies(
    span: list[tuple[int, int]],
    base: int,
    conditional: list[tuple[set[int], list[tuple[int, int]] | None, int]],
    weekday: int,
) -> list[tuple[int, int, int]]:
    """(start, end, headway) rows covering ``span``; later conditional rules win."""
    rules = [(w, s) for days, w, s in conditional if weekday in days]
    cuts = {t for window in span for t in window}
    for windows, _s in rules:
        for a, b in windows or []:
            cuts.update((a, b))
    points = sorted(cuts)
    rows: list[tuple[int, int, int]] = []
    for a, b in zip(points[:-1], points[1:], strict=True):
        mid = (a + b) / 2
        if not any(s <= mid < e for s, e in span):
            continue
        headway = base
        for windows, seconds in rules:
            if windows is None or any(s <= mid < e for s, e in windows):
                headway = seconds
        if rows and rows[-1][1] == a and rows[-1][2] == headway:
            rows[-1] = (rows[-1][0], b, headway)
        else:
            rows.append((a, b, headway))
    return rows


def _hex_colour(value: str | None) -> str | None:
    if not value:
        return None
    text = value.strip()
    if re.fullmatch(r"#?[0-9A-Fa-f]{6}", text):
        return text.lstrip("#").upper()
    if re.fullmatch(r"#[0-9A-Fa-f]{3}", text):
        return "".join(c * 2 for c in text[1:]).upper()
    try:
        from matplotlib.colors import to_hex

        return to_hex(text.lower()).lstrip("#").upper()
    except ValueError:
        return None
