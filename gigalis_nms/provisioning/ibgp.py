"""Who peers with whom in iBGP: route reflectors at the core, every other router a client
of its two nearest reflectors.

A full mesh of 45 routers would be 990 sessions; with the 16 core routers as reflectors in a
full mesh (120 sessions) and each of the 29 others a client of two (58 sessions), every
router still learns every route, from two reflectors so that one can fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    # Imported for their types only, as the lab imports this module.
    from gigalis_nms.lab.network import BackboneLink, Router

REFLECTOR_ROLE = "core"
REFLECTORS_PER_CLIENT = 2


@dataclass(frozen=True)
class IbgpPeers:
    reflectors: tuple[str, ...]  # hostnames this router peers with as a client, or RR mesh
    clients: tuple[str, ...]  # hostnames of this router's clients (reflectors only)


def plan_ibgp(
    routers: Sequence[Router], links: Sequence[BackboneLink], metrics: dict[str, int]
) -> dict[str, IbgpPeers]:
    """iBGP peers of each router among ``routers``, over ``links`` with IGP ``metrics``.

    Reflectors are the core routers; when there is none among ``routers`` (a lab of edge
    sites), the first two by hostname stand in, so that iBGP still converges. A client takes
    the two reflectors nearest by IGP metric, hostname breaking ties, so the choice is the
    same at every run.
    """
    hostnames = sorted(router.hostname for router in routers)
    reflectors = sorted(r.hostname for r in routers if r.role == REFLECTOR_ROLE)
    if not reflectors:
        reflectors = hostnames[:REFLECTORS_PER_CLIENT]
    distances = _igp_distances(hostnames, links, metrics)
    chosen: dict[str, list[str]] = {}
    for client in (hostname for hostname in hostnames if hostname not in reflectors):
        reach = distances.get(client, {})
        nearest = sorted(reflectors, key=lambda rr: (reach.get(rr, float("inf")), rr))
        chosen[client] = nearest[:REFLECTORS_PER_CLIENT]
    peers: dict[str, IbgpPeers] = {}
    for hostname in hostnames:
        if hostname in reflectors:
            mesh = tuple(rr for rr in reflectors if rr != hostname)
            clients = tuple(c for c in sorted(chosen) if hostname in chosen[c])
            peers[hostname] = IbgpPeers(mesh, clients)
        else:
            peers[hostname] = IbgpPeers(tuple(chosen[hostname]), ())
    return peers


def _igp_distances(
    hostnames: list[str], links: Sequence[BackboneLink], metrics: dict[str, int]
) -> dict[str, dict[str, float]]:
    graph = nx.Graph()
    graph.add_nodes_from(hostnames)
    for link in links:
        weight = metrics[link.code]
        if graph.has_edge(link.a_host, link.z_host):  # parallel links: the best one counts
            weight = min(weight, graph[link.a_host][link.z_host]["weight"])
        graph.add_edge(link.a_host, link.z_host, weight=weight)
    return dict(nx.all_pairs_dijkstra_path_length(graph, weight="weight"))
