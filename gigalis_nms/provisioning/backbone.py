"""The backbone as paths see it, read from the inventory in three queries: each link with its
routers, IGP metric, free bandwidth and the fibre cables it rides.

A link without an IGP metric has the base configuration's default one. A link's cables are
those holding its strands. A link between two routers of one site rides none and is 0 m long
(a patch inside the PoP). A link between two sites with no strands recorded is assumed to
ride the shortest active cable route between its sites, so that its length is about right and
a protection path still avoids the cables it most likely rides; without any cable route
between them it counts 0 m and no cable, and a protection path cannot know what it shares.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Collection
from dataclasses import replace
from itertools import pairwise
from typing import Any

import networkx as nx
import sqlalchemy as sa
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.inventory.enums import LifecycleStatus
from gigalis_nms.inventory.paths import cable_graph
from gigalis_nms.inventory.tables import (
    CABLE,
    DEVICE,
    INTERFACE,
    LINK,
    SITE,
    STRAND,
    STRAND_HOLDING,
)
from gigalis_nms.provisioning.addressing import DEFAULT_IGP_METRIC
from gigalis_nms.provisioning.paths import BackboneEdge, BackboneShape, IndexedEdges

logger = logging.getLogger(__name__)

CableLengths = dict[str, int]  # cable code -> length in metres


def backbone_edges(
    session: Session, *, link_ids: Collection[int] | None = None, active_only: bool = True
) -> list[BackboneEdge]:
    """The backbone links (only ``link_ids`` when given; only active ones by default) as path
    edges, with what they hold as of now in this transaction.

    The whole active backbone, which every design and qualification reads, comes from
    :data:`TOPOLOGIES`: its shape is read again only when the inventory changed, its free
    bandwidth at every call."""
    if link_ids is None and active_only:
        return TOPOLOGIES.edges(session)
    return _read_edges(session, link_ids, active_only)


def _read_edges(
    session: Session, link_ids: Collection[int] | None, active_only: bool
) -> list[BackboneEdge]:
    rows = execute_core(session, _links_query(link_ids, active_only)).all()
    ridden = _cables_of_links(session, [row.id for row in rows])
    assumed: nx.Graph | None = None
    edges = []
    for row in rows:
        cables = ridden.get(row.id, {})
        if not cables and row.a_site != row.z_site:
            assumed = cable_graph(session) if assumed is None else assumed
            cables = _assumed_cables(assumed, row.a_site, row.z_site)
            logger.debug("link %s has no strands; assumed to ride %s", row.code, sorted(cables))
        edges.append(
            BackboneEdge(
                link_id=row.id,
                code=row.code,
                a_device=row.a_device,
                z_device=row.z_device,
                # Without a metric of its own, a link has the one the base configuration
                # gives it: the path designed is the path the routers' IS-IS takes.
                igp_metric=row.igp_metric or DEFAULT_IGP_METRIC,
                length_m=sum(cables.values()),
                free_mbps=row.capacity_mbps - row.held_mbps,
                cables=frozenset(cables),
            )
        )
    return edges


def _links_query(link_ids: Collection[int] | None, active_only: bool) -> sa.Select[Any]:
    a_if, z_if = INTERFACE.alias("a_if"), INTERFACE.alias("z_if")
    a_dev, z_dev = DEVICE.alias("a_dev"), DEVICE.alias("z_dev")
    a_site, z_site = SITE.alias("a_site"), SITE.alias("z_site")
    query = (
        sa.select(
            LINK.c.id,
            LINK.c.code,
            LINK.c.capacity_mbps,
            LINK.c.held_mbps,
            LINK.c.igp_metric,
            a_dev.c.hostname.label("a_device"),
            z_dev.c.hostname.label("z_device"),
            a_site.c.code.label("a_site"),
            z_site.c.code.label("z_site"),
        )
        .join(a_if, a_if.c.id == LINK.c.a_interface_id)
        .join(a_dev, a_dev.c.id == a_if.c.device_id)
        .join(a_site, a_site.c.id == a_dev.c.site_id)
        .join(z_if, z_if.c.id == LINK.c.z_interface_id)
        .join(z_dev, z_dev.c.id == z_if.c.device_id)
        .join(z_site, z_site.c.id == z_dev.c.site_id)
        .order_by(LINK.c.code)
    )
    if active_only:
        query = query.where(LINK.c.status == LifecycleStatus.ACTIVE)
    if link_ids is not None:
        query = query.where(LINK.c.id.in_(list(link_ids)))
    return query


def _cables_of_links(session: Session, link_ids: list[int]) -> dict[int, CableLengths]:
    if not link_ids:
        return {}
    holder = STRAND_HOLDING.c.backbone_link_id
    query = (
        sa.select(holder, CABLE.c.code, CABLE.c.length_m)
        .distinct()
        .join(STRAND, STRAND.c.id == STRAND_HOLDING.c.strand_id)
        .join(CABLE, CABLE.c.id == STRAND.c.cable_id)
        .where(holder.in_(link_ids))
    )
    cables: dict[int, CableLengths] = defaultdict(dict)
    for row in execute_core(session, query):
        cables[row.backbone_link_id][row.code] = row.length_m
    return cables


def _assumed_cables(graph: nx.Graph, a_site: str, z_site: str) -> CableLengths:
    """The cables of the shortest active cable route between two sites; none without one."""
    try:
        sites = nx.shortest_path(graph, a_site, z_site, weight="length_m")
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return {}
    hops = (graph.edges[here, there] for here, there in pairwise(sites))
    return {hop["cable"]: hop["length_m"] for hop in hops}


# --- The shape of the backbone, kept between calls --------------------------------------------


def topology_version(session: Session) -> tuple[Any, ...]:
    """What changes whenever a link's routers, metric, status or cables may have changed: the
    row count and the last change of the tables the shape is read from. The held bandwidth
    is not in it: triggers change it without touching ``updated_at``, and it is read fresh.
    """
    held_strands = STRAND_HOLDING.c.backbone_link_id.is_not(None)
    marks = [
        aggregate
        for table in (LINK, DEVICE, CABLE)
        for aggregate in (
            sa.select(sa.func.count()).select_from(table),
            sa.select(sa.func.max(table.c.updated_at)),
        )
    ]
    # Strands held by links have no timestamp: their count and highest id say a change.
    marks += [
        sa.select(sa.func.count()).where(held_strands),
        sa.select(sa.func.max(STRAND_HOLDING.c.id)).where(held_strands),
    ]
    query = sa.select(*(mark.scalar_subquery() for mark in marks))  # one round trip
    return tuple(execute_core(session, query).one())


class TopologyCache:
    """The active backbone's edges as last read, per database, with the version they were read
    at. Only immutable edges are kept; each call returns them with the free bandwidth read
    in the caller's transaction. A process serves one or a few databases, so the cache
    holds one entry per database URL, replaced when the version moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[
            str, tuple[tuple[Any, ...], tuple[BackboneEdge, ...], BackboneShape]
        ] = {}

    def edges(self, session: Session) -> IndexedEdges:
        key = str(session.get_bind().engine.url)
        version = topology_version(session)
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            read = _read_edges(session, None, active_only=True)
            entry = (version, tuple(read), BackboneShape(read))
            with self._lock:
                self._entries[key] = entry
            return IndexedEdges(read, entry[2])
        edges = _with_free_bandwidth(session, entry[1])
        with self._lock:  # keep the latest objects, so that the next call reuses them
            self._entries[key] = (version, tuple(edges), entry[2])
        return IndexedEdges(edges, entry[2])


def _with_free_bandwidth(session: Session, shape: tuple[BackboneEdge, ...]) -> list[BackboneEdge]:
    """The edges with their free bandwidth as of now. An edge whose free bandwidth has not
    moved since it was read is the same object: most have not, and rebuilding 5,000 frozen
    edges would cost more than the query."""
    query = sa.select(LINK.c.id, (LINK.c.capacity_mbps - LINK.c.held_mbps).label("free"))
    free: dict[int, int] = {row.id: row.free for row in execute_core(session, query)}
    return [
        edge
        if edge.free_mbps == free[edge.link_id]
        else replace(edge, free_mbps=free[edge.link_id])
        for edge in shape
    ]


# Module state on purpose: reading the shape of a 5,000-link backbone takes most of a path
# computation (bench/ordering.py), and it changes a few times a year.
TOPOLOGIES = TopologyCache()
