"""What the network can carry, checked without taking anything: a free port at a site, a path
with room between two routers, a fibre route with a free strand pair, and when the capacity
short on a path comes free.

The checks follow design (:mod:`gigalis_nms.provisioning.design`) step by step — the port
it would choose (:mod:`gigalis_nms.provisioning.ports`), then the path by IGP metric over
links with the room asked — but lock nothing: the answer may be stale by the time an order
comes. Only a design holds capacity, so a qualification asked to hold it designs a circuit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import networkx as nx
import sqlalchemy as sa
from sqlmodel import Session

from gigalis_nms.catalogue.tmf620 import paris_midnight
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import (
    CircuitStatus,
    DeviceStatus,
    LifecycleStatus,
    ServiceType,
    StrandState,
)
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.inventory.tables import (
    BANDWIDTH_HOLDING,
    CABLE,
    DEVICE,
    SITE,
    STRAND,
    STRAND_HOLDING,
)
from gigalis_nms.ordering.models import (
    HoldState,
    OrderState,
    ProductOrder,
    ProductOrderItem,
    Qualification,
)
from gigalis_nms.provisioning import ports
from gigalis_nms.provisioning.models import PathMetric
from gigalis_nms.provisioning.paths import (
    BackboneEdge,
    Route,
    protected_pair,
    shortest_route,
)

# Feasibility follows the metric design uses by default.
METRIC = PathMetric.IGP
QUALIFICATION = table_of(Qualification)
ORDER = table_of(ProductOrder)
ORDER_ITEM = table_of(ProductOrderItem)
# Orders whose circuits are given back when they end; a completed order with an end date is
# temporary capacity in service, released at the end of that day.
ENDED_WITHOUT_CAPACITY = [OrderState.REJECTED, OrderState.CANCELLED, OrderState.FAILED]


@dataclass(frozen=True)
class Shortfall:
    """Why something cannot be delivered: a TMF679 eligibility unavailability reason."""

    code: str  # noPath, noCapacity, noPort, noRouter, noPop, notAutomated
    label: str
    site: str | None = None  # the site's code, for noPort and noRouter


# --- Ports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndRouter:
    """The router an end would hand off on (the one of the port design would choose)."""

    hostname: str
    interface_id: int


def end_router(
    session: Session,
    site_id: int,
    *,
    operator_id: int,
    mbps: int,
    vlan: int | None,
    taken: frozenset[int] = frozenset(),
) -> EndRouter | Shortfall:
    """The router of the first free port design would give an end at ``site_id``, or why
    there is none (noRouter, noPort). ``vlan``: the VLAN of a VLAN-based end, None for a
    port-based one; ``taken``: ports the other end already has."""
    # A probe never added to the session: the port helpers read its site, operator and speed.
    probe = Circuit(
        ref="probe",
        operator_id=operator_id,
        service_type=ServiceType.ETHERNET_ELINE,
        a_site_id=site_id,
        bandwidth_mbps=mbps,
        status=CircuitStatus.RESERVED,
    )
    candidates = [
        port
        for port in ports.candidate_ports(session, probe, "a")
        if port.interface_id not in taken
    ]
    for port in sorted(candidates, key=ports.CandidatePort.rank):
        if _port_is_free(session, port, vlan):
            return EndRouter(port.hostname, port.interface_id)
    code = site_code(session, site_id)
    if not has_active_router(session, site_id):
        return Shortfall("noRouter", f"site {code} has no active router", code)
    kind = "VLAN-based" if vlan is not None else "port-based"
    label = f"no free port at site {code} for a {kind} end of {mbps_text(mbps)}"
    return Shortfall("noPort", label, code)


def _port_is_free(session: Session, port: ports.CandidatePort, vlan: int | None) -> bool:
    """What :func:`gigalis_nms.provisioning.ports._take` checks, without the lock."""
    if ports.ends_port_based_circuit(session, port):
        return False
    if vlan is None or not port.own_handoff:
        return ports.is_wholly_free(session, port.interface_id)
    return ports.free_vlan(session, port.interface_id, vlan) is not None


def has_active_router(session: Session, site_id: int) -> bool:
    query = sa.select(
        sa.exists().where(DEVICE.c.site_id == site_id, DEVICE.c.status == DeviceStatus.ACTIVE)
    )
    return bool(execute_core(session, query).scalar_one())


def site_code(session: Session, site_id: int) -> str:
    code: str = execute_core(session, sa.select(SITE.c.code).where(SITE.c.id == site_id)).one()[0]
    return code


# --- Paths ----------------------------------------------------------------------------------


def routes_with_room(
    edges: list[BackboneEdge], a: str, z: str, mbps: int, *, protected: bool
) -> list[Route] | None:
    """The path(s) design would take with ``mbps`` free on every link; None when none has."""
    if not protected:
        route = shortest_route(edges, a, z, METRIC, min_free_mbps=mbps)
        return None if route is None else [route]
    if a == z:
        return None
    pair = protected_pair(edges, a, z, METRIC, min_free_mbps=mbps)
    return None if pair is None else list(pair)


def path_shortfall(
    edges: list[BackboneEdge], a: str, z: str, mbps: int, *, protected: bool
) -> tuple[Shortfall, list[BackboneEdge]]:
    """Why no path with room exists between routers ``a`` and ``z``, and the links short of
    room on the path(s) there would be without the bandwidth bound (none for noPath)."""
    unbounded = routes_with_room(edges, a, z, 0, protected=protected)
    if unbounded is None:
        if protected:
            label = f"no two paths from {a} to {z} share no fibre cable"
            if a == z:
                label = f"both ends are on {a}: there is no backbone path to protect"
        else:
            label = f"no active backbone links join {a} to {z}"
        return Shortfall("noPath", label), []
    short = {link.code: link for route in unbounded for link in route.short_of(mbps)}
    links = [short[code] for code in sorted(short)]
    label = "; ".join(
        f"link {link.code} has only {mbps_text(link.free_mbps)} free" for link in links
    )
    return Shortfall("noCapacity", label), links


def mbps_text(mbps: int) -> str:
    """A bandwidth as people write it.

    >>> mbps_text(400), mbps_text(10_000), mbps_text(2500)
    ('400 Mb/s', '10 Gb/s', '2500 Mb/s')
    """
    if mbps >= 1000 and mbps % 1000 == 0:
        return f"{mbps // 1000} Gb/s"
    return f"{mbps} Mb/s"


def widest_room(edges: Iterable[BackboneEdge], a: str, z: str) -> int | None:
    """The most bandwidth one path from ``a`` to ``z`` has free: the bottleneck of the widest
    path (links added widest first until the ends join); None when no links join them.

    >>> edges = [BackboneEdge(1, "AB", "a", "b", 10, 1, 400), BackboneEdge(2, "BC", "b", "c",
    ...     10, 1, 900), BackboneEdge(3, "AC", "a", "c", 10, 1, 300)]
    >>> widest_room(edges, "a", "c")
    400
    """
    if a == z:
        return None
    joined = nx.utils.UnionFind()
    for edge in sorted(edges, key=lambda edge: -edge.free_mbps):
        if edge.a_device == edge.z_device:
            continue
        joined.union(edge.a_device, edge.z_device)
        if a in joined.parents and z in joined.parents and joined[a] == joined[z]:
            return edge.free_mbps
    return None


def reachable_routers(edges: list[BackboneEdge], start: str, mbps: int) -> set[str]:
    """Every router a path with ``mbps`` free on every link joins to ``start``."""
    graph = nx.Graph()
    graph.add_node(start)
    for edge in edges:
        if edge.free_mbps >= mbps and edge.a_device != edge.z_device:
            graph.add_edge(edge.a_device, edge.z_device)
    return set(nx.node_connected_component(graph, start))


# --- When capacity comes free ---------------------------------------------------------------


def release_times(
    session: Session, link_ids: Iterable[int], now: datetime
) -> dict[int, list[tuple[datetime, int]]]:
    """For each link, when bandwidth held on it is due back and how much: holds of
    qualifications at their expiry, temporary capacity of orders at the end of their end day
    (Europe/Paris). Sorted by time; only times after ``now``."""
    ids = list(link_ids)
    releases: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    if not ids:
        return releases
    holds = (
        sa.select(
            BANDWIDTH_HOLDING.c.backbone_link_id,
            BANDWIDTH_HOLDING.c.bandwidth_mbps,
            QUALIFICATION.c.hold_expires_at,
        )
        .join(QUALIFICATION, QUALIFICATION.c.held_circuit_id == BANDWIDTH_HOLDING.c.circuit_id)
        .where(
            BANDWIDTH_HOLDING.c.backbone_link_id.in_(ids),
            QUALIFICATION.c.hold_state == HoldState.HELD,
        )
    )
    for row in execute_core(session, holds):
        releases[row.backbone_link_id].append((row.hold_expires_at, row.bandwidth_mbps))
    temporary = (
        sa.select(
            BANDWIDTH_HOLDING.c.backbone_link_id,
            BANDWIDTH_HOLDING.c.bandwidth_mbps,
            ORDER.c.requested_end_date,
        )
        .join(ORDER_ITEM, ORDER_ITEM.c.circuit_id == BANDWIDTH_HOLDING.c.circuit_id)
        .join(ORDER, ORDER.c.id == ORDER_ITEM.c.order_id)
        .where(
            BANDWIDTH_HOLDING.c.backbone_link_id.in_(ids),
            ORDER.c.requested_end_date.is_not(None),
            ORDER_ITEM.c.released_at.is_(None),
            ORDER.c.state.not_in(ENDED_WITHOUT_CAPACITY),
        )
    )
    for row in execute_core(session, temporary):
        due = paris_midnight(row.requested_end_date + timedelta(days=1))
        releases[row.backbone_link_id].append((due, row.bandwidth_mbps))
    return {
        link: sorted(pair for pair in pairs if pair[0] > now) for link, pairs in releases.items()
    }


def room_from(
    short: list[BackboneEdge], mbps: int, releases: dict[int, list[tuple[datetime, int]]]
) -> datetime | None:
    """The earliest time every link of ``short`` has ``mbps`` free, counting only what is
    due back; None when what is due back is not enough on some link."""
    latest: datetime | None = None
    for link in short:
        free = link.free_mbps
        when = None
        for due, amount in releases.get(link.link_id, []):
            free += amount
            if free >= mbps:
                when = due
                break
        if when is None:
            return None
        latest = when if latest is None or when > latest else latest
    return latest


# --- Dark fibre -----------------------------------------------------------------------------


def free_pair_route_exists(session: Session, a_site_id: int, z_site_id: int) -> bool:
    """Whether active cables with at least two free strands each (available, held by nothing)
    join the two sites."""
    if a_site_id == z_site_id:
        return True
    held = sa.select(STRAND_HOLDING.c.strand_id)
    free = (
        sa.select(CABLE.c.a_site_id, CABLE.c.z_site_id)
        .join(STRAND, STRAND.c.cable_id == CABLE.c.id)
        .where(
            CABLE.c.status == LifecycleStatus.ACTIVE,
            STRAND.c.state == StrandState.AVAILABLE,
            STRAND.c.id.not_in(held),
        )
        .group_by(CABLE.c.id, CABLE.c.a_site_id, CABLE.c.z_site_id)
        .having(sa.func.count(STRAND.c.id) >= 2)
    )
    graph = nx.Graph()
    graph.add_nodes_from((a_site_id, z_site_id))
    graph.add_edges_from((row.a_site_id, row.z_site_id) for row in execute_core(session, free))
    return bool(nx.has_path(graph, a_site_id, z_site_id))
