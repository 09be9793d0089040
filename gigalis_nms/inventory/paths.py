"""Routes over the fibre plant: the shortest chain of cables between two sites."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import networkx as nx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gigalis_nms.db.types import table_of
from gigalis_nms.errors import NotFound
from gigalis_nms.inventory.enums import LifecycleStatus
from gigalis_nms.inventory.models import FibreCable, Site


@dataclass(frozen=True)
class CableHop:
    cable: str
    from_site: str
    to_site: str
    length_m: int


@dataclass(frozen=True)
class CableRoute:
    hops: list[CableHop]

    @property
    def length_m(self) -> int:
        return sum(hop.length_m for hop in self.hops)

    @property
    def sites(self) -> list[str]:
        return [self.hops[0].from_site, *(hop.to_site for hop in self.hops)] if self.hops else []


def cable_graph(session: Session) -> nx.Graph:
    """Sites joined by their shortest cable; cables being retired or planned carry nothing."""
    cable = table_of(FibreCable)
    a_site, z_site = table_of(Site).alias("a_site"), table_of(Site).alias("z_site")
    query = (
        sa.select(cable.c.code, a_site.c.code, z_site.c.code, cable.c.length_m)
        .join(a_site, a_site.c.id == cable.c.a_site_id)
        .join(z_site, z_site.c.id == cable.c.z_site_id)
        .where(cable.c.status == LifecycleStatus.ACTIVE)
    )
    graph = nx.Graph()
    for cable, a_site, z_site, length in session.execute(query):
        current = graph.get_edge_data(a_site, z_site)
        if current is None or length < current["length_m"]:
            graph.add_edge(a_site, z_site, cable=cable, length_m=length)
    return graph


def shortest_cable_route(session: Session, a_code: str, z_code: str) -> CableRoute:
    """The active cables of least total route length from site ``a_code`` to ``z_code``."""
    for field, code in (("a", a_code), ("z", z_code)):
        site = table_of(Site)
        if session.scalar(sa.select(site.c.id).where(site.c.code == code)) is None:
            raise NotFound.of(field, f"no site with code {code!r}")
    if a_code == z_code:
        return CableRoute([])
    graph = cable_graph(session)
    try:
        sites = nx.shortest_path(graph, a_code, z_code, weight="length_m")
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        raise NotFound.of("z", f"no active cable route from {a_code} to {z_code}") from None
    hops = []
    for here, there in pairwise(sites):
        edge = graph.edges[here, there]
        hops.append(CableHop(edge["cable"], here, there, edge["length_m"]))
    return CableRoute(hops)
