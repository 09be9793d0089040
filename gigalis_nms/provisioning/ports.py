"""Customer ports for circuit ends that were ordered without one.

A port can take a circuit end when it is enabled, physical (not a loopback or a virtual
interface), on an active router at the end's site, fast enough for the circuit (or of unknown
speed), ends no backbone link, and hands off to the circuit's operator or to nobody. A port
hands off to an operator when its description names the operator's ARCEP code ("NNI ORNG"),
the convention of ``inventory/`` that the lab also follows to plug the operator's CPE in;
another operator's hand-off is never taken, since it is cabled to that operator.

- A port-based end (the circuit carries no VLAN) takes a whole port: one that no VLAN is
  held on and that ends no other circuit still in service.
- A VLAN-based end (the other end has a VLAN; an end without a port has none) shares the
  operator's hand-off, where it holds the other end's VLAN if free there, else the lowest
  free one; failing that, it takes a whole spare port with the other end's VLAN.

The operator's own hand-offs come first, then the slowest port that is fast enough (so a
100 Gb/s port is not spent on 1 Gb/s), then router and port names in natural order.

A port given to an end by hand is held to the same rules by :func:`check_given_end`, so that
design refuses a circuit that could not carry traffic: a backbone port, a disabled port, a
port slower than the circuit, a VLAN-based end on a port another circuit takes whole, or a
port-based end on a port other circuits share.

Two designs must not take one port. A VLAN held twice is refused by the database; a whole
port is not held by any row, so designs lock the port's row before taking it and check it
again (a design skips a port another design has locked rather than wait for it). Circuits
created by hand take no such lock: one made on a port while a design takes it can end up
sharing it, since no holding row makes the database refuse a port-based end twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.errors import Conflict, FieldProblem, InvalidInput
from gigalis_nms.inventory.enums import (
    CircuitStatus,
    DeviceStatus,
    InterfaceType,
    OrganisationKind,
)
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.inventory.tables import (
    CIRCUIT,
    DEVICE,
    INTERFACE,
    LINK,
    ORGANISATION,
    SITE,
    VLAN_HOLDING,
)

# VLAN 1 is the default, often untagged, VLAN of most platforms: never handed to a customer.
FIRST_CUSTOMER_VLAN = 2
LAST_VLAN = 4094
NOT_A_PORT = (InterfaceType.LOOPBACK, InterfaceType.VIRTUAL)


@dataclass(frozen=True)
class CandidatePort:
    interface_id: int
    hostname: str
    name: str
    speed_mbps: int | None
    # Hands off to the circuit's operator: its description names the operator, or it already
    # carries VLAN-based circuits of that operator only.
    own_handoff: bool

    def rank(self) -> tuple[Any, ...]:
        unknown_speed = self.speed_mbps is None
        return (
            not self.own_handoff,
            unknown_speed,
            self.speed_mbps or 0,
            natural_key(self.hostname),
            natural_key(self.name),
        )


@dataclass(frozen=True)
class GivenPort:
    """What design needs to know of a port given to a circuit end."""

    interface_id: int
    hostname: str
    name: str
    speed_mbps: int | None
    enabled: bool
    backbone_link: str | None  # the code of the backbone link it ends, if any

    def __str__(self) -> str:
        return f"{self.hostname} {self.name}"


@dataclass(frozen=True)
class EndPort:
    """The port (and VLAN, for a VLAN-based end) chosen for a circuit end."""

    interface_id: int
    hostname: str
    name: str
    vlan: int | None


def natural_key(name: str) -> tuple[Any, ...]:
    """Names with their numbers compared as numbers.

    >>> sorted(["eth10", "eth2", "xe-0/0/10", "xe-0/0/9"], key=natural_key)
    ['eth2', 'eth10', 'xe-0/0/9', 'xe-0/0/10']
    """
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def handoff_operator(description: str | None, operator_codes: frozenset[str]) -> str | None:
    """The operator a port hands off to: the first word of its description that is an
    operator's code, as the lab reads it too (``gigalis_nms.lab.names.operator_of``).

    >>> handoff_operator("NNI ORNG", frozenset({"ORNG", "SFRB"}))
    'ORNG'
    >>> handoff_operator("spare", frozenset({"ORNG"})) is None
    True
    """
    words = (description or "").split()
    return next((word for word in words if word in operator_codes), None)


def choose_end_port(
    session: Session, circuit: Circuit, end: str, *, vlan: int | None, taken: set[int]
) -> EndPort:
    """A port at the ``end`` ("a" or "z") site of ``circuit``, locked for this transaction;
    ``vlan`` is the VLAN wanted for a VLAN-based end, None for a port-based one; ``taken``
    are ports this design already uses. Conflict naming ``<end>_site_id`` when there is none.
    """
    candidates = [
        port for port in candidate_ports(session, circuit, end) if port.interface_id not in taken
    ]
    for port in sorted(candidates, key=CandidatePort.rank):
        chosen = _take(session, port, vlan)
        if chosen is not None:
            return chosen
    site = _site_code(session, getattr(circuit, f"{end}_site_id"))
    kind = "VLAN-based" if vlan is not None else "port-based"
    raise Conflict.of(
        f"{end}_site_id",
        f"no free port at site {site} for a {kind} end of {circuit.bandwidth_mbps} Mb/s: "
        "none is enabled, fast enough, on an active router, off the backbone, and unused by "
        "other circuits and operators",
    )


def check_given_end(session: Session, circuit: Circuit, end: str) -> None:
    """Refuse the port given to the ``end`` ("a" or "z") of ``circuit`` when the circuit could
    not work on it: InvalidInput for a port that cannot carry it (naming ``<end>_interface_id``,
    or ``bandwidth_mbps`` for a port too slow), Conflict for a port that another circuit's end
    makes unusable (naming ``<end>_interface_id`` and that circuit). An end without a port
    passes: design chooses one that fits."""
    interface_id = getattr(circuit, f"{end}_interface_id")
    if interface_id is None:
        return
    port = _given_port(session, interface_id)
    problem = given_port_problem(port, end, circuit.bandwidth_mbps)
    if problem is not None:
        raise InvalidInput(str(problem), [problem])
    _check_sharing(session, circuit, end, port)


def given_port_problem(port: GivenPort, end: str, mbps: int | None) -> FieldProblem | None:
    """Why ``port`` cannot carry a circuit end of ``mbps``, by itself; None when it can.

    >>> port = GivenPort(7, "nte1-cr1", "eth11", 1000, True, None)
    >>> given_port_problem(port, "a", 1000) is None
    True
    >>> print(given_port_problem(port, "z", 10_000))
    bandwidth_mbps: 10000 Mb/s is more than the Z end port nte1-cr1 eth11 runs at (1000 Mb/s)
    """
    field = f"{end}_interface_id"
    if port.backbone_link is not None:
        reason = (
            f"{port} ends backbone link {port.backbone_link}; a circuit ends on a customer port"
        )
        return FieldProblem(field, reason)
    if not port.enabled:
        return FieldProblem(field, f"{port} is disabled (enabled: false)")
    if port.speed_mbps is not None and mbps is not None and mbps > port.speed_mbps:
        return FieldProblem(
            "bandwidth_mbps",
            f"{mbps} Mb/s is more than the {end.upper()} end port {port} runs at "
            f"({port.speed_mbps} Mb/s)",
        )
    return None


def _given_port(session: Session, interface_id: int) -> GivenPort:
    backbone = (
        sa.select(LINK.c.code)
        .where(sa.or_(LINK.c.a_interface_id == interface_id, LINK.c.z_interface_id == interface_id))
        .order_by(LINK.c.code)
        .limit(1)
        .scalar_subquery()
    )
    query = (
        sa.select(
            INTERFACE.c.id,
            DEVICE.c.hostname,
            INTERFACE.c.name,
            INTERFACE.c.speed_mbps,
            INTERFACE.c.enabled,
            backbone.label("backbone_link"),
        )
        .join(DEVICE, DEVICE.c.id == INTERFACE.c.device_id)
        .where(INTERFACE.c.id == interface_id)
    )
    row = execute_core(session, query).one()
    return GivenPort(
        row.id, row.hostname, row.name, row.speed_mbps, bool(row.enabled), row.backbone_link
    )


def _check_sharing(session: Session, circuit: Circuit, end: str, port: GivenPort) -> None:
    """A port-based end takes the whole port: no other end may be there, nor any VLAN held
    by another circuit. A VLAN-based end shares the port, unless a port-based end has it."""
    field = f"{end}_interface_id"
    other_end = "z" if end == "a" else "a"
    port_based = getattr(circuit, f"{end}_vlan") is None
    if port_based and getattr(circuit, f"{other_end}_interface_id") == port.interface_id:
        raise Conflict.of(
            field,
            f"{port} is also the {other_end.upper()} end of circuit {circuit.ref}; a port-based "
            "end takes the whole port",
        )
    for ref, vlan in _others_on_port(session, circuit, port.interface_id):
        if port_based:
            tag = f"VLAN {vlan}" if vlan is not None else "port-based"
            raise Conflict.of(
                field,
                f"{port} carries circuit {ref} ({tag}); a port-based end takes the whole port",
            )
        if vlan is None:
            raise Conflict.of(
                field,
                f"{port} is taken whole by the port-based circuit {ref}; a VLAN-based end "
                "cannot share it",
            )


def _others_on_port(
    session: Session, circuit: Circuit, interface_id: int
) -> list[tuple[str, int | None]]:
    """The other circuits in service that end on the port (with their VLAN there, None for a
    port-based end) or hold a VLAN on it, by reference."""
    ends = [
        sa.select(CIRCUIT.c.ref, CIRCUIT.c[f"{end}_vlan"].label("vlan")).where(
            _in_service(),
            CIRCUIT.c.id != circuit.id,
            CIRCUIT.c[f"{end}_interface_id"] == interface_id,
        )
        for end in ("a", "z")
    ]
    held = (
        sa.select(CIRCUIT.c.ref, VLAN_HOLDING.c.vlan)
        .join(CIRCUIT, CIRCUIT.c.id == VLAN_HOLDING.c.circuit_id)
        .where(VLAN_HOLDING.c.interface_id == interface_id, CIRCUIT.c.id != circuit.id)
    )
    rows = execute_core(session, sa.union(*ends, held)).all()
    # Port-based ends first: they are the reason whichever end is checked.
    return sorted(
        {(row.ref, row.vlan) for row in rows}, key=lambda row: (row[1] is not None, row[0])
    )


def _take(session: Session, port: CandidatePort, vlan: int | None) -> EndPort | None:
    """The port with its VLAN, locked; None when another design holds it or it is no longer
    free. The operator's hand-off is waited for when busy, since it is shared by VLANs; a
    whole port is skipped, so that two designs never wait on each other's ports."""
    if not _lock(session, port.interface_id, wait=vlan is not None and port.own_handoff):
        return None
    if ends_port_based_circuit(session, port):
        return None
    if vlan is None or not port.own_handoff:
        if not is_wholly_free(session, port.interface_id):
            return None
        return EndPort(port.interface_id, port.hostname, port.name, vlan)
    free = free_vlan(session, port.interface_id, vlan)
    if free is None:
        return None
    return EndPort(port.interface_id, port.hostname, port.name, free)


def _lock(session: Session, interface_id: int, *, wait: bool) -> bool:
    # FOR NO KEY UPDATE: designs exclude each other, while other transactions can still
    # insert rows referring to the port. SQLite takes no row locks: its transactions are
    # already serialized from BEGIN IMMEDIATE.
    query = (
        sa.select(INTERFACE.c.id)
        .where(INTERFACE.c.id == interface_id)
        .with_for_update(key_share=True, skip_locked=not wait)
    )
    return execute_core(session, query).first() is not None


def candidate_ports(session: Session, circuit: Circuit, end: str) -> list[CandidatePort]:
    backbone = sa.union(sa.select(LINK.c.a_interface_id), sa.select(LINK.c.z_interface_id))
    query = (
        sa.select(
            INTERFACE.c.id,
            INTERFACE.c.name,
            INTERFACE.c.speed_mbps,
            INTERFACE.c.description,
            DEVICE.c.hostname,
        )
        .join(DEVICE, DEVICE.c.id == INTERFACE.c.device_id)
        .where(
            DEVICE.c.site_id == getattr(circuit, f"{end}_site_id"),
            DEVICE.c.status == DeviceStatus.ACTIVE,
            INTERFACE.c.enabled.is_(True),
            INTERFACE.c.type.not_in(NOT_A_PORT),
            INTERFACE.c.id.not_in(backbone),
            sa.or_(
                INTERFACE.c.speed_mbps.is_(None),
                INTERFACE.c.speed_mbps >= circuit.bandwidth_mbps,
            ),
        )
    )
    codes = _operator_codes(session)
    own = _arcep_code(session, circuit.operator_id)
    rows = list(execute_core(session, query))
    shared_by_operator = _vlan_ports_of(session, circuit.operator_id, [row.id for row in rows])
    candidates = []
    for row in rows:
        hands_off_to = handoff_operator(row.description, codes)
        if hands_off_to is not None and hands_off_to != own:
            continue
        own_handoff = hands_off_to is not None or row.id in shared_by_operator
        candidates.append(
            CandidatePort(row.id, row.hostname, row.name, row.speed_mbps, own_handoff)
        )
    return candidates


def _vlan_ports_of(session: Session, operator_id: int, interface_ids: list[int]) -> set[int]:
    """The ports among ``interface_ids`` where circuits in service end with a VLAN, all of
    them ``operator_id``'s: such a port is that operator's hand-off in fact, though its
    description does not say so, and its next VLAN-based circuits share it rather than each
    taking a port of their own."""
    if not interface_ids:
        return set()
    ends = sa.union_all(
        *(
            sa.select(port.label("port"), vlan.label("vlan"), CIRCUIT.c.operator_id).where(
                _in_service(), port.in_(interface_ids)
            )
            for port, vlan in (
                (CIRCUIT.c.a_interface_id, CIRCUIT.c.a_vlan),
                (CIRCUIT.c.z_interface_id, CIRCUIT.c.z_vlan),
            )
        )
    ).subquery()
    query = (
        sa.select(ends.c.port)
        .group_by(ends.c.port)
        .having(
            sa.func.min(ends.c.operator_id) == operator_id,
            sa.func.max(ends.c.operator_id) == operator_id,
            sa.func.count(ends.c.vlan) == sa.func.count(),  # no port-based end there
        )
    )
    return set(execute_core(session, query).scalars())


def _operator_codes(session: Session) -> frozenset[str]:
    query = sa.select(ORGANISATION.c.arcep_code).where(
        ORGANISATION.c.kind == OrganisationKind.OPERATOR, ORGANISATION.c.arcep_code.is_not(None)
    )
    return frozenset(execute_core(session, query).scalars())


def _arcep_code(session: Session, organisation_id: int) -> str | None:
    query = sa.select(ORGANISATION.c.arcep_code).where(ORGANISATION.c.id == organisation_id)
    code: str | None = execute_core(session, query).scalar_one_or_none()
    return code


def _in_service() -> sa.ColumnElement[bool]:
    return CIRCUIT.c.status != CircuitStatus.TERMINATED


def ends_port_based_circuit(session: Session, port: CandidatePort) -> bool:
    """Whether a circuit in service has the whole port (an end there without VLAN)."""
    query = sa.select(CIRCUIT.c.id).where(
        _in_service(),
        sa.or_(
            sa.and_(CIRCUIT.c.a_interface_id == port.interface_id, CIRCUIT.c.a_vlan.is_(None)),
            sa.and_(CIRCUIT.c.z_interface_id == port.interface_id, CIRCUIT.c.z_vlan.is_(None)),
        ),
    )
    return execute_core(session, query.limit(1)).first() is not None


def is_wholly_free(session: Session, interface_id: int) -> bool:
    """No VLAN is held on the port and no circuit in service ends there."""
    held = sa.select(VLAN_HOLDING.c.id).where(VLAN_HOLDING.c.interface_id == interface_id)
    ending = sa.select(CIRCUIT.c.id).where(
        _in_service(),
        sa.or_(CIRCUIT.c.a_interface_id == interface_id, CIRCUIT.c.z_interface_id == interface_id),
    )
    query = sa.select(sa.or_(sa.exists(held), sa.exists(ending)))
    return not execute_core(session, query).scalar_one()


def free_vlan(session: Session, interface_id: int, wanted: int) -> int | None:
    """``wanted`` if no one holds it on the port, else the lowest free customer VLAN."""
    query = sa.select(VLAN_HOLDING.c.vlan).where(VLAN_HOLDING.c.interface_id == interface_id)
    held = set(execute_core(session, query).scalars())
    if wanted not in held:
        return wanted
    return next(
        (vlan for vlan in range(FIRST_CUSTOMER_VLAN, LAST_VLAN + 1) if vlan not in held), None
    )


def _site_code(session: Session, site_id: int) -> str:
    query = sa.select(SITE.c.code).where(SITE.c.id == site_id)
    code: str = execute_core(session, query).scalar_one()
    return code
