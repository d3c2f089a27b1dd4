"""Geographic helpers shared by every stage: the UTM zone that projects a place."""

from __future__ import annotations


def utm_crs(lon: float, lat: float) -> str:
    """The EPSG code of the UTM zone holding a point, e.g. ``"EPSG:32632"``."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"
