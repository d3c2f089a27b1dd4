"""Streets: OpenStreetMap read into one directed street graph per mode.

Reading OSM (PBF through pyrosm, XML through osmium, Overpass through osmnx with every
response cached), the :class:`~connectivity.StreetNetwork` with its CSR arrays, the
built-network cache, and the geometry of snapping points onto streets. The first stage:
it imports nothing of the package but its foundation (``_errors``, ``_files``,
``_modes``, ``settings``).
"""
