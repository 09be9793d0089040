"""Circuits made by ordering: a new reference, the reserved circuit, and its design.

Both an order's ``add`` item and a qualification that holds capacity open a circuit here, so
that the capacity they take is held the one way the database guards: by the bandwidth
holdings of a design (see :mod:`gigalis_nms.inventory.holdings`). Two orders competing for
the last capacity of a link therefore cannot both get it, whatever the database engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.errors import Conflict
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import SERVICE_REF_CODES, CircuitStatus, ServiceType
from gigalis_nms.inventory.models import Circuit, CircuitCreate
from gigalis_nms.inventory.tables import CIRCUIT
from gigalis_nms.ordering.models import CircuitRefCounter
from gigalis_nms.provisioning.design import EndVlans, design_circuit
from gigalis_nms.provisioning.ports import FIRST_CUSTOMER_VLAN

logger = logging.getLogger(__name__)

# A reference taken by a concurrent transaction between reading the last one and writing is
# replaced by the next, this many times.
REF_ATTEMPTS = 20
REF_DIGITS = 6


@dataclass(frozen=True)
class CircuitRequest:
    """What an order item or a held qualification asks of the network."""

    operator_id: int
    service_type: ServiceType
    a_site_id: int
    z_site_id: int | None
    bandwidth_mbps: int | None
    protected: bool = False
    # The VLANs asked at each end; an E-Line end without one gets the lowest free VLAN on
    # the port design chooses (an operator orders VLAN-based services on its hand-offs).
    a_vlan: int | None = None
    z_vlan: int | None = None
    description: str | None = None


def last_ref_number(session: Session, service_type: ServiceType) -> int:
    """The highest number used by references of this service (0 when none).

    References are GIG-<code>-<six digits> (the inventory refuses any other), so the
    highest is the last in text order, which the index on ``ref`` finds at once."""
    prefix = f"GIG-{SERVICE_REF_CODES[service_type]}-"
    query = sa.select(sa.func.max(CIRCUIT.c.ref)).where(CIRCUIT.c.ref.startswith(prefix))
    last: str | None = execute_core(session, query).scalar_one()
    return int(last.removeprefix(prefix)) if last else 0


def format_ref(service_type: ServiceType, number: int) -> str:
    """A circuit reference.

    >>> format_ref(ServiceType.ETHERNET_ELINE, 42)
    'GIG-ETH-000042'
    """
    return f"GIG-{SERVICE_REF_CODES[service_type]}-{number:0{REF_DIGITS}d}"


def next_ref_number(session: Session, service_type: ServiceType) -> int:
    """The next number for a new reference of this service, never given before.

    The counter row is read under a lock (PostgreSQL; SQLite serializes writers anyway), so
    concurrent orders take numbers in turn. It starts from, and never falls below, the
    highest number the inventory uses: circuits loaded from files or made by hand count."""
    code = SERVICE_REF_CODES[service_type]
    counter = table_of(CircuitRefCounter)
    used = last_ref_number(session, service_type)
    query = sa.select(counter.c.last_number).where(counter.c.service_code == code)
    last = execute_core(session, query.with_for_update()).scalar_one_or_none()
    if last is None:
        last = _start_counter(session, code, used)
    number = max(last, used) + 1
    update = counter.update().where(counter.c.service_code == code)
    execute_core(session, update.values(last_number=number))
    return number


def _start_counter(session: Session, code: str, used: int) -> int:
    """Make the service's counter row; one made meanwhile by a concurrent order is taken."""
    counter = table_of(CircuitRefCounter)
    try:
        with session.begin_nested():
            execute_core(session, counter.insert().values(service_code=code, last_number=used))
        return used
    except IntegrityError:
        query = sa.select(counter.c.last_number).where(counter.c.service_code == code)
        last: int = execute_core(session, query.with_for_update()).scalar_one()
        return last


def open_circuit(session: Session, request: CircuitRequest) -> Circuit:
    """A new reserved circuit with a reference never given before. Conflict or InvalidInput,
    with nothing written, when the inventory refuses it."""
    for _ in range(REF_ATTEMPTS):
        number = next_ref_number(session, request.service_type)
        body = CircuitCreate(
            ref=format_ref(request.service_type, number),
            operator_id=request.operator_id,
            service_type=request.service_type,
            a_site_id=request.a_site_id,
            z_site_id=request.z_site_id,
            bandwidth_mbps=request.bandwidth_mbps,
            protected=request.protected,
            status=CircuitStatus.RESERVED,
            description=request.description,
        )
        try:
            circuit: Circuit = service.create_object(session, service.CIRCUITS, body)
        except Conflict as refused:
            if any(problem.field == "ref" for problem in refused.problems):
                continue  # made by hand meanwhile with that number: take the next
            raise
        return circuit
    raise Conflict.of("ref", "no free circuit reference after several tries; try again")


def open_designed_circuit(session: Session, request: CircuitRequest, *, actor: str) -> Circuit:
    """A new circuit holding its capacity: an E-Line is designed at once (ports, path,
    bandwidth on every link), the other services are reserved for the NOC to build. Nothing
    is written when the network cannot carry it (Conflict naming the link or site short of
    room, InvalidInput when no path can ever exist)."""
    with session.begin_nested():
        circuit = open_circuit(session, request)
        if request.service_type is ServiceType.ETHERNET_ELINE:
            design_circuit(session, circuit, actor=actor, wanted_vlans=_wanted_vlans(request))
    return circuit


def _wanted_vlans(request: CircuitRequest) -> EndVlans:
    return (request.a_vlan or FIRST_CUSTOMER_VLAN, request.z_vlan or FIRST_CUSTOMER_VLAN)
