"""Routing: schedule-exact travel times over the intermodal network.

The compiled range-RAPTOR kernels (private), one-to-all queries forward and arrive-by,
street-only modes through the same interface, and many-to-many matrices over processes
or Dask.
"""
