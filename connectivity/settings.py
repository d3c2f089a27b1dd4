"""Environment settings: where caches live, how Overpass is reached, where Leaflet is.

Only settings of the *environment* live here (as in osmnx's ``settings``); analysis
parameters such as speeds, cutoffs and dates are arguments of the functions that use them.
Each setting can be changed at run time (``connectivity.settings.cache_folder = ...``) or
through an environment variable read when the module is first imported.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Folder of every cache (Overpass responses, built networks and timetables).
#: ``CONNECTIVITY_CACHE`` overrides it; the default is ``osm_cache/`` in the working folder.
cache_folder: Path = Path(os.environ.get("CONNECTIVITY_CACHE", "osm_cache"))

#: Whether built networks and timetables are cached at all.
use_cache: bool = os.environ.get("CONNECTIVITY_NO_CACHE", "") == ""

#: Overpass API endpoint used through osmnx.
overpass_url: str = os.environ.get("CONNECTIVITY_OVERPASS_URL", "https://overpass-api.de/api")

#: User agent sent with Overpass requests.
user_agent: str = "connectivity (https://pypi.org/project/connectivity)"

#: Folder of the npm package ``leaflet`` (the folder holding ``dist/leaflet.js``), used
#: when a map is made with ``offline=True``. ``CONNECTIVITY_LEAFLET`` overrides it; when
#: unset, ``node_modules/leaflet`` is looked for in the working folder and its parents.
leaflet_folder: Path | None = (
    Path(os.environ["CONNECTIVITY_LEAFLET"]) if os.environ.get("CONNECTIVITY_LEAFLET") else None
)

#: Folder where feeds are looked for and written by default.
gtfs_folder: Path = Path(os.environ.get("CONNECTIVITY_GTFS", "gtfs"))
