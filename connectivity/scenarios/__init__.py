"""Scenarios: proposed lines and service changes, applied to a network and compared.

Modifications (add a line, change a frequency, remove routes or stops, add a stop),
applying them incrementally to a built network, comparing variants, and the scenario
file format.
"""
