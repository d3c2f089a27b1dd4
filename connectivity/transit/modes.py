"""Route types (basic and Google's extended ones) mapped to a class of transit mode."""

from __future__ import annotations

from enum import StrEnum

import numpy as np

__all__ = ["TransitMode", "route_modes"]


class TransitMode(StrEnum):
    """A class of transit mode: ``TransitMode("tram")`` and ``TransitMode.TRAM`` agree."""

    TRAM = "tram"
    METRO = "metro"
    RAIL = "rail"
    BUS = "bus"
    FERRY = "ferry"
    CABLE = "cable"
    GONDOLA = "gondola"
    FUNICULAR = "funicular"
    TROLLEYBUS = "trolleybus"
    MONORAIL = "monorail"
    COACH = "coach"
    AIR = "air"
    TAXI = "taxi"
    OTHER = "other"


_BASIC = {
    0: TransitMode.TRAM,
    1: TransitMode.METRO,
    2: TransitMode.RAIL,
    3: TransitMode.BUS,
    4: TransitMode.FERRY,
    5: TransitMode.CABLE,
    6: TransitMode.GONDOLA,
    7: TransitMode.FUNICULAR,
    11: TransitMode.TROLLEYBUS,
    12: TransitMode.MONORAIL,
}

# Extended route types (https://developers.google.com/transit/gtfs/reference/extended-route-types):
# (first, last, mode), later entries override earlier ones.
_EXTENDED = (
    (100, 199, TransitMode.RAIL),  # railway service
    (200, 299, TransitMode.COACH),  # coach service
    (300, 399, TransitMode.RAIL),  # suburban railway
    (400, 499, TransitMode.METRO),  # urban railway, metro, underground
    (405, 405, TransitMode.MONORAIL),
    (500, 699, TransitMode.METRO),  # metro, underground
    (700, 799, TransitMode.BUS),  # bus service
    (800, 899, TransitMode.TROLLEYBUS),
    (900, 999, TransitMode.TRAM),
    (907, 907, TransitMode.CABLE),  # cable tram
    (1000, 1099, TransitMode.FERRY),  # water transport
    (1100, 1199, TransitMode.AIR),
    (1200, 1299, TransitMode.FERRY),
    (1300, 1399, TransitMode.GONDOLA),  # aerial lifts
    (1400, 1499, TransitMode.FUNICULAR),
    (1500, 1599, TransitMode.TAXI),
    (1600, 1799, TransitMode.OTHER),  # self drive, miscellaneous
)

_TABLE = np.full(1800, TransitMode.OTHER.value, dtype=object)
for _lo, _hi, _mode in _EXTENDED:
    _TABLE[_lo : _hi + 1] = _mode.value
for _code, _mode in _BASIC.items():
    _TABLE[_code] = _mode.value


def route_modes(route_types: np.ndarray) -> np.ndarray:
    """Return the mode class (a string of :class:`TransitMode`) of each route type;
    unknown codes are ``"other"``."""
    codes = np.asarray(route_types, np.int64)
    inside = (codes >= 0) & (codes < len(_TABLE))
    out = np.full(len(codes), TransitMode.OTHER.value, dtype=object)
    out[inside] = _TABLE[codes[inside]]
    return out


#: Hundreds of the extended route types -> their basic route type: railway 100 and coach
#: 200 (a bus), urban railway 400, metro 500 and underground 600, bus 700, trolleybus
#: 800, tram 900, water transport 1000, ferry 1200, aerial lift 1300, funicular 1400.
#: Air (1100), taxi (1500) and the rest have no basic type.
_EXTENDED_BASIC: dict[int, int] = {
    1: 2,
    2: 3,
    4: 1,
    5: 1,
    6: 1,
    7: 3,
    8: 11,
    9: 0,
    10: 4,
    12: 4,
    13: 6,
    14: 7,
}


def basic_route_type(route_type: int) -> int | None:
    """The basic GTFS route type (0-12) of a basic or extended route type, or ``None``
    where there is none (air, taxi, unknown codes)."""
    if 0 <= route_type <= 12 and route_type in _BASIC:
        return route_type
    if 100 <= route_type < 1800:
        return _EXTENDED_BASIC.get(route_type // 100)
    return None
