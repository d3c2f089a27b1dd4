"""The error hierarchy: one base class, one subclass per kind of problem.

Every error a user can cause derives from :class:`ConnectivityError` and, where it fits,
from the matching builtin too, so ``except ValueError`` still works. Messages say what is
wrong, where, and how to fix it; the command-line tool prints them on one line and exits
with status 2.
"""

from __future__ import annotations

__all__ = [
    "CacheError",
    "ConnectivityError",
    "CoordinateError",
    "EmptyNetworkError",
    "GtfsError",
    "InputFileError",
    "MissingDependencyError",
    "NoServiceError",
    "OsmDataError",
    "OutputError",
    "OutsideNetworkError",
    "OverpassError",
    "ParameterError",
    "ScenarioError",
]


class ConnectivityError(Exception):
    """Base class of every error that ``connectivity`` raises for bad input."""


class InputFileError(ConnectivityError, FileNotFoundError):
    """An input file is missing, unreadable or of an unknown kind."""


class OsmDataError(ConnectivityError, ValueError):
    """An OpenStreetMap file is corrupt or not what it claims to be."""


class EmptyNetworkError(ConnectivityError, ValueError):
    """The data holds no streets (or no stops) usable for the requested mode."""


class CoordinateError(ConnectivityError, ValueError):
    """A coordinate is out of range, malformed, or looks swapped (lon, lat for lat, lon)."""


class OutsideNetworkError(ConnectivityError, ValueError):
    """A point lies too far from the network to be snapped onto it."""


class OverpassError(ConnectivityError, ConnectionError):
    """An Overpass download failed and no cached response exists."""


class GtfsError(ConnectivityError, ValueError):
    """A GTFS feed is malformed: the message names the file, the row and the column."""


class NoServiceError(GtfsError):
    """The feed runs no trip on the requested service date."""


class NoJourneyError(ConnectivityError, LookupError):
    """No departure of the window reaches the destination (within the time limit)."""


class ParameterError(ConnectivityError, ValueError):
    """An analysis parameter is out of its valid range."""


class ScenarioError(ConnectivityError, ValueError):
    """A scenario modification is invalid: an unknown route or stop, a headway <= 0, a
    proposed line off the network or of fewer than two stops."""


class OutputError(ConnectivityError, OSError):
    """An output file or folder cannot be written (no permission, disk full, a folder in
    the way); nothing half-written is left behind."""


class CacheError(ConnectivityError, OSError):
    """The cache folder cannot be written or holds an unreadable entry."""


class MissingDependencyError(ConnectivityError, ImportError):
    """An optional tool or asset (Chromium, the npm package leaflet, dask) is absent."""
