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
from heapq import heappop, heappush
from itertools import islice, pairwise
from operator import attrgetter

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


# router -> neighbouring router -> the links joining them, cheapest first (then by code)
LinkIndex = dict[str, dict[str, tuple[tuple[int, BackboneEdge], ...]]]


class IndexedEdges(list[BackboneEdge]):
    """A whole backbone's edges, with the links between each pair of routers indexed once for
    every search over the same shape of network.

    A search then looks at a link only when it reaches one of its routers, and reads the
    link's free bandwidth from ``free`` (as of the transaction that read it), instead of
    sorting and filtering every link of the network first. :func:`shortest_route` uses the
    index when it is given such a list; any other iterable of edges is searched as it is."""

    def __init__(self, edges: Iterable[BackboneEdge], shape: BackboneShape) -> None:
        super().__init__(edges)
        self.shape = shape
        self.free = {edge.link_id: edge.free_mbps for edge in self}
        self._current: dict[int, BackboneEdge] | None = None

    def current(self, link_id: int) -> BackboneEdge:
        """The edge of ``link_id`` with its free bandwidth as of now."""
        if self._current is None:
            self._current = {edge.link_id: edge for edge in self}
        return self._current[link_id]


class BackboneShape:
    """The links of a backbone between each pair of routers, per metric, computed once."""

    def __init__(self, edges: Iterable[BackboneEdge]) -> None:
        self._edges = tuple(edges)
        self._indexes: dict[PathMetric, LinkIndex] = {}

    def index(self, metric: PathMetric) -> LinkIndex:
        index = self._indexes.get(metric)
        if index is None:  # two threads may both build it: the same result, kept once
            index = self._indexes.setdefault(metric, _link_index(self._edges, metric))
        return index


def _link_index(edges: Iterable[BackboneEdge], metric: PathMetric) -> LinkIndex:
    pairs: dict[str, dict[str, list[tuple[int, str, BackboneEdge]]]] = {}
    for edge in sorted(edges, key=attrgetter("code")):  # the same order whatever was read
        a, z = edge.a_device, edge.z_device
        if a == z:  # a link looping on one router carries nothing
            continue
        entry = (edge.weight(metric), edge.code, edge)
        pairs.setdefault(a, {}).setdefault(z, []).append(entry)
        pairs.setdefault(z, {}).setdefault(a, []).append(entry)
    return {
        router: {
            neighbour: tuple((weight, edge) for weight, _, edge in sorted(links))
            for neighbour, links in neighbours.items()
        }
        for router, neighbours in pairs.items()
    }


@dataclass(frozen=True)
class LinkFilter:
    """Which links a path may take: enough free bandwidth, none of some links or cables."""

    min_free_mbps: int = 0
    avoid_links: frozenset[str] = frozenset()
    avoid_cables: frozenset[str] = frozenset()

    def cheapest(
        self, links: tuple[tuple[int, BackboneEdge], ...], free: dict[int, int]
    ) -> tuple[int, BackboneEdge] | None:
        """The first usable of ``links`` (cheapest first), with its weight; None if none is."""
        for weight, edge in links:
            if free[edge.link_id] < self.min_free_mbps:
                continue
            if self.avoid_links and edge.code in self.avoid_links:
                continue
            if self.avoid_cables and edge.cables & self.avoid_cables:
                continue
            return weight, edge
        return None


def _indexed(edges: Iterable[BackboneEdge]) -> IndexedEdges:
    if isinstance(edges, IndexedEdges):
        return edges
    listed = list(edges)
    return IndexedEdges(listed, BackboneShape(listed))


def _indexed_route(
    edges: IndexedEdges,
    start: str,
    end: str,
    metric: PathMetric,
    usable: LinkFilter,
) -> Route | None:
    """Dijkstra over the index: at each router, the cheapest usable link to each neighbour."""
    index, free = edges.shape.index(metric), edges.free
    cost = {start: 0}
    via: dict[str, tuple[str, BackboneEdge]] = {}
    queue = [(0, start)]
    settled: set[str] = set()
    while queue:
        reached, router = heappop(queue)
        if router in settled:
            continue
        if router == end:
            break
        settled.add(router)
        for neighbour, links in index.get(router, {}).items():
            link = usable.cheapest(links, free)
            if link is None:
                continue
            through = reached + link[0]
            if neighbour not in cost or through < cost[neighbour]:
                cost[neighbour] = through
                via[neighbour] = (router, link[1])
                heappush(queue, (through, neighbour))
    if end not in cost:
        return None
    devices: list[str] = [end]
    path: list[BackboneEdge] = []
    while devices[-1] != start:
        router, edge = via[devices[-1]]
        devices.append(router)
        path.append(edges.current(edge.link_id))
    return Route(tuple(reversed(devices)), tuple(reversed(path)))


def backbone_graph(
    edges: Iterable[BackboneEdge],
    metric: PathMetric,
    *,
    min_free_mbps: int = 0,
    avoid_links: frozenset[str] = frozenset(),
    avoid_cables: frozenset[str] = frozenset(),
) -> nx.Graph:
    """Routers joined by the cheapest usable link between each pair (the lowest code among
    equals), as a networkx graph, for the algorithms it has (k shortest paths)."""
    indexed = _indexed(edges)
    usable = LinkFilter(min_free_mbps, avoid_links, avoid_cables)
    graph = nx.Graph()
    for router, neighbours in indexed.shape.index(metric).items():
        for neighbour, links in neighbours.items():
            link = usable.cheapest(links, indexed.free) if router < neighbour else None
            if link is not None:
                edge = indexed.current(link[1].link_id)
                graph.add_edge(router, neighbour, weight=link[0], edge=edge)
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
    usable = LinkFilter(min_free_mbps, avoid_links, avoid_cables)
    return _indexed_route(_indexed(edges), start, end, metric, usable)


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
    edges = _indexed(edges)  # indexed once for every candidate and its partner
    for working in islice(candidate_routes(edges, start, end, metric, min_free_mbps), candidates):
        protect = diverse_route(edges, working, metric, min_free_mbps=min_free_mbps)
        if protect is not None:
            return working, protect
    return None
