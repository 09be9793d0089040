"""Paths over the backbone, computed on plain records so that they can be tested without a
database: routers are the nodes, backbone links the edges.

"Shortest" is by IGP metric (the path the routers' IS-IS will take) or by fibre route
length (the lowest latency); a tie on one is broken by the other, then by link code, so
that the same network always gives the same path. A protection path shares no fibre cable
and no link with its working path: one cut then never takes both down.

>>> links = [
...     BackboneEdge(1, "BL-A-B", "a", "b", igp_metric=10, length_m=5_000, free_mbps=10_000,
...                  cables=frozenset({"C-A-B"})),
...     BackboneEdge(2, "BL-B-C", "b", "c", igp_metric=10, length_m=5_000, free_mbps=500,
...                  cables=frozenset({"C-B-C"})),
...     BackboneEdge(3, "BL-A-C", "a", "c", igp_metric=30, length_m=8_000, free_mbps=10_000,
...                  cables=frozenset({"C-A-C"})),
... ]
>>> shortest_route(links, "a", "c", PathMetric.IGP).codes
('BL-A-B', 'BL-B-C')
>>> shortest_route(links, "a", "c", PathMetric.LENGTH).codes
('BL-A-C',)
>>> shortest_route(links, "a", "c", PathMetric.IGP, min_free_mbps=1000).codes
('BL-A-C',)
>>> working, protect = protected_pair(links, "a", "c", PathMetric.IGP)
>>> working.codes, protect.codes
(('BL-A-B', 'BL-B-C'), ('BL-A-C',))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice, pairwise

import networkx as nx

from gigalis_nms.provisioning.models import PathMetric

# A path's weight is its cost by the chosen metric times this, plus its cost by the other
# metric: the second only breaks ties. Neither sum comes near it (70 links of the largest
# IS-IS metric make 1.2e9; of the longest cable, 7e7 m).
TIE_BREAK_SCALE = 10**12
# How many working paths, shortest first, are tried before a protected circuit is refused:
# the shortest working path can cut every cable-disjoint second path that a slightly longer
# one would leave. Exact shared-risk disjoint pairs are NP-hard; a few tries find one on
# networks like Gigalis's, where paths differ by a PoP or two.
WORKING_CANDIDATES = 16


@dataclass(frozen=True)
class BackboneEdge:
    """One backbone link as a path sees it: its routers, its costs, its room, its cables."""

    link_id: int
    code: str
    a_device: str  # hostname
    z_device: str
    igp_metric: int
    length_m: int  # the fibre route: the sum of its cables' lengths
    free_mbps: int  # capacity less what circuits hold
    cables: frozenset[str] = field(default_factory=frozenset)  # codes of the cables it rides

    def cost(self, metric: PathMetric) -> int:
        return self.igp_metric if metric is PathMetric.IGP else self.length_m

    def weight(self, metric: PathMetric) -> int:
        other = PathMetric.LENGTH if metric is PathMetric.IGP else PathMetric.IGP
        return self.cost(metric) * TIE_BREAK_SCALE + self.cost(other)


@dataclass(frozen=True)
class Route:
    """A path from its first router to its last, the links in order; no links when both ends
    are on one router."""

    devices: tuple[str, ...]
    links: tuple[BackboneEdge, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(link.code for link in self.links)

    @property
    def igp_metric(self) -> int:
        return sum(link.igp_metric for link in self.links)

    @property
    def length_m(self) -> int:
        return sum(link.length_m for link in self.links)

    @property
    def cables(self) -> tuple[str, ...]:
        """The cables the path rides, each once, sorted."""
        return tuple(sorted({cable for link in self.links for cable in link.cables}))

    def cost(self, metric: PathMetric) -> int:
        return sum(link.cost(metric) for link in self.links)

    def short_of(self, mbps: int) -> list[BackboneEdge]:
        """The links of the path with less than ``mbps`` free."""
        return [link for link in self.links if link.free_mbps < mbps]


def backbone_graph(
    edges: Iterable[BackboneEdge],
    metric: PathMetric,
    *,
    min_free_mbps: int = 0,
    avoid_links: frozenset[str] = frozenset(),
    avoid_cables: frozenset[str] = frozenset(),
) -> nx.Graph:
    """Routers joined by the cheapest usable link between each pair."""
    graph = nx.Graph()
    for edge in sorted(edges, key=lambda edge: edge.code):
        usable = (
            edge.free_mbps >= min_free_mbps
            and edge.code not in avoid_links
            and not edge.cables & avoid_cables
            and edge.a_device != edge.z_device  # a link looping on one router carries nothing
        )
        if not usable:
            continue
        weight = edge.weight(metric)
        current = graph.get_edge_data(edge.a_device, edge.z_device)
        if current is None or weight < current["weight"]:
            graph.add_edge(edge.a_device, edge.z_device, weight=weight, edge=edge)
    return graph


def _route(graph: nx.Graph, devices: list[str]) -> Route:
    links = tuple(graph.edges[here, there]["edge"] for here, there in pairwise(devices))
    return Route(tuple(devices), links)


def shortest_route(
    edges: Iterable[BackboneEdge],
    start: str,
    end: str,
    metric: PathMetric,
    *,
    min_free_mbps: int = 0,
    avoid_links: frozenset[str] = frozenset(),
    avoid_cables: frozenset[str] = frozenset(),
) -> Route | None:
    """The cheapest path from router ``start`` to router ``end`` over links with at least
    ``min_free_mbps`` free, none of ``avoid_links`` and none riding ``avoid_cables``; None
    when there is none."""
    if start == end:
        return Route((start,))
    graph = backbone_graph(
        edges,
        metric,
        min_free_mbps=min_free_mbps,
        avoid_links=avoid_links,
        avoid_cables=avoid_cables,
    )
    if start not in graph or end not in graph:
        return None
    try:
        devices = nx.shortest_path(graph, start, end, weight="weight")
    except nx.NetworkXNoPath:
        return None
    return _route(graph, devices)


def candidate_routes(
    edges: Iterable[BackboneEdge], start: str, end: str, metric: PathMetric, min_free_mbps: int = 0
) -> Iterator[Route]:
    """Loop-free paths from ``start`` to ``end``, cheapest first (Yen's algorithm)."""
    if start == end:
        yield Route((start,))
        return
    graph = backbone_graph(edges, metric, min_free_mbps=min_free_mbps)
    if start not in graph or end not in graph:
        return
    try:
        for devices in nx.shortest_simple_paths(graph, start, end, weight="weight"):
            yield _route(graph, devices)
    except nx.NetworkXNoPath:
        return


def diverse_route(
    edges: Iterable[BackboneEdge],
    working: Route,
    metric: PathMetric,
    *,
    min_free_mbps: int = 0,
) -> Route | None:
    """The cheapest path between the ends of ``working`` that uses none of its links and
    rides none of its cables; None when there is none. Both ends on one router: None, since
    there is no backbone path to protect."""
    if not working.links:
        return None
    return shortest_route(
        edges,
        working.devices[0],
        working.devices[-1],
        metric,
        min_free_mbps=min_free_mbps,
        avoid_links=frozenset(working.codes),
        avoid_cables=frozenset(working.cables),
    )


def protected_pair(
    edges: Iterable[BackboneEdge],
    start: str,
    end: str,
    metric: PathMetric,
    *,
    min_free_mbps: int = 0,
    candidates: int = WORKING_CANDIDATES,
) -> tuple[Route, Route] | None:
    """A working path and a protection path sharing no cable and no link: the cheapest
    working path of the first ``candidates`` that has such a partner, with its cheapest
    partner; None when none of them has one."""
    edges = list(edges)
    for working in islice(candidate_routes(edges, start, end, metric, min_free_mbps), candidates):
        protect = diverse_route(edges, working, metric, min_free_mbps=min_free_mbps)
        if protect is not None:
            return working, protect
    return None
