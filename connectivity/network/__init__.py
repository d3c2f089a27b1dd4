"""The intermodal network: streets of every mode, a timetable, and the links between them.

Stops snapped onto the walk network, stop-to-stop footpaths, the per-stop walk trees that
routing reads, the content-keyed cache, and the networkx / igraph views.
"""
