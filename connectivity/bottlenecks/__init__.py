"""Bottlenecks: where the network is fragile between the core and its periphery.

``structure`` (igraph: betweenness, bridges, articulation points, capacities, minimum
cuts; the origin-destination betweenness), ``criticality`` (population-weighted times,
removal sets, the exact cost of each removal), ``transit`` (the walk + transit static
view) and ``study`` (the study area and the whole ranked study, ``find_bottlenecks``).
The map of a study is an output: :mod:`connectivity.outputs.bottleneck_map`.
"""
