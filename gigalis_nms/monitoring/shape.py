"""The network as the poller needs it, read in a handful of queries: the backbone links with
their end ports and cables, and the active circuits with their ends and designed paths."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import CircuitStatus, LifecycleStatus
from gigalis_nms.inventory.tables import (
    BANDWIDTH_HOLDING,
    CABLE,
    CIRCUIT,
    DEVICE,
    INTERFACE,
    LINK,
    STRAND,
    STRAND_HOLDING,
)
from gigalis_nms.monitoring.derive import CircuitShape, LinkShape, NetworkShape, PortRef
from gigalis_nms.provisioning.models import CircuitHop, PathRole

# Circuits the poller follows: those the operator is paying for and using. A suspended
# circuit is down on purpose; a designed or provisioning one is not delivered yet.
MONITORED = (CircuitStatus.ACTIVE,)


def network_shape(session: Session) -> NetworkShape:
    ports = _ports(session)
    links = _links(session, ports)
    device_links: dict[int, list[int]] = defaultdict(list)
    for link in links.values():
        device_links[link.a.device_id].append(link.link_id)
        device_links[link.z.device_id].append(link.link_id)
    return NetworkShape(
        links=links,
        circuits=_circuits(session, ports, links),
        device_links={device: tuple(ids) for device, ids in device_links.items()},
    )


def _ports(session: Session) -> dict[int, PortRef]:
    query = sa.select(
        INTERFACE.c.id, INTERFACE.c.device_id, INTERFACE.c.name, DEVICE.c.hostname
    ).join(DEVICE, DEVICE.c.id == INTERFACE.c.device_id)
    return {
        row.id: PortRef(row.id, row.device_id, row.hostname, row.name)
        for row in execute_core(session, query)
    }


def _links(session: Session, ports: dict[int, PortRef]) -> dict[int, LinkShape]:
    cables = _cables_of_links(session)
    query = sa.select(LINK.c.id, LINK.c.code, LINK.c.a_interface_id, LINK.c.z_interface_id).where(
        LINK.c.status == LifecycleStatus.ACTIVE
    )
    return {
        row.id: LinkShape(
            row.id,
            row.code,
            ports[row.a_interface_id],
            ports[row.z_interface_id],
            tuple(sorted(cables.get(row.id, ()))),
        )
        for row in execute_core(session, query)
    }


def _cables_of_links(session: Session) -> dict[int, set[str]]:
    holding, strand, cable = STRAND_HOLDING, STRAND, CABLE
    query = (
        sa.select(holding.c.backbone_link_id, cable.c.code)
        .join(strand, strand.c.id == holding.c.strand_id)
        .join(cable, cable.c.id == strand.c.cable_id)
        .where(holding.c.backbone_link_id.is_not(None))
    )
    found: dict[int, set[str]] = defaultdict(set)
    for row in execute_core(session, query):
        found[row.backbone_link_id].add(row.code)
    return found


def _circuits(
    session: Session, ports: dict[int, PortRef], links: dict[int, LinkShape]
) -> list[CircuitShape]:
    paths = _paths(session)
    held = _held_links(session)
    query = (
        sa.select(
            CIRCUIT.c.id,
            CIRCUIT.c.ref,
            CIRCUIT.c.a_interface_id,
            CIRCUIT.c.z_interface_id,
            CIRCUIT.c.protected,
        )
        .where(CIRCUIT.c.status.in_(MONITORED))
        .order_by(CIRCUIT.c.ref)
    )
    shapes = []
    for row in execute_core(session, query):
        ends = tuple(
            ports[interface]
            for interface in (row.a_interface_id, row.z_interface_id)
            if interface is not None
        )
        working = paths.get((row.id, PathRole.WORKING), ())
        protect = paths.get((row.id, PathRole.PROTECT), ())
        if not working and not row.protected:
            # Made by hand before Gigalis designed paths: the links it holds bandwidth on
            # are its path. (Which of a protected one's links are which path, nobody wrote.)
            working = held.get(row.id, ())
        if any(link not in links for link in (*working, *protect)):
            # A hop on a link taken out of service: the design is stale, follow the ends.
            working = protect = ()
        if not ends:
            continue  # a circuit with no port (dark fibre) is not seen by routers
        shapes.append(CircuitShape(row.id, row.ref, ends, working, protect, row.protected))
    return shapes


def _held_links(session: Session) -> dict[int, tuple[int, ...]]:
    query = sa.select(
        BANDWIDTH_HOLDING.c.circuit_id, BANDWIDTH_HOLDING.c.backbone_link_id
    ).order_by(BANDWIDTH_HOLDING.c.circuit_id, BANDWIDTH_HOLDING.c.id)
    found: dict[int, list[int]] = defaultdict(list)
    for row in execute_core(session, query):
        found[row.circuit_id].append(row.backbone_link_id)
    return {circuit: tuple(links) for circuit, links in found.items()}


def _paths(session: Session) -> dict[tuple[int, str], tuple[int, ...]]:
    hops = table_of(CircuitHop)
    query = sa.select(hops.c.circuit_id, hops.c.path, hops.c.backbone_link_id).order_by(
        hops.c.circuit_id, hops.c.path, hops.c.sequence
    )
    found: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in execute_core(session, query):
        found[(row.circuit_id, str(row.path))].append(row.backbone_link_id)
    return {key: tuple(links) for key, links in found.items()}
