"""Accessibility: what the travel times mean for places and people.

Isochrones (street and walk+transit), travel-time surfaces, opportunities and population
put on the network, zones and the core, and the core-periphery indicators.
"""
