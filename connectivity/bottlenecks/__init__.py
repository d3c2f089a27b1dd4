"""Bottlenecks: where the network is fragile between the core and its periphery.

Structure measures on igraph (betweenness, bridges, articulation points, minimum cuts),
the transit static view, and the removal criticality of candidates.
"""
