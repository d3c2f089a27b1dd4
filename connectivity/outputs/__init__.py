"""Outputs: what a person reads. Folium maps (online or offline), static maps.

Outputs read the objects of every analysis stage and are imported only by
``studies`` and ``cli``.
"""
