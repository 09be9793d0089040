"""What circuits hold: VLANs on ports, bandwidth on backbone links, fibre strands.

The database refuses a resource held twice (unique constraints on the VLAN per port and on
the strand) and bandwidth beyond a link's capacity (a trigger keeps ``held_mbps`` and a CHECK
bounds it), also between concurrent transactions. Each holding is written in a savepoint, so
that a refusal can be explained by reading who holds the resource, after the fact.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, SQLModel, col, select

from gigalis_nms.db.integrity import Violation, ViolationKind, write_or_conflict
from gigalis_nms.db.listing import column_of, execute_core
from gigalis_nms.db.types import INTEGER_MAX, fits_row_id, table_of
from gigalis_nms.errors import Conflict, FieldProblem, InvalidInput, NotFound
from gigalis_nms.inventory.enums import CircuitStatus, StrandState
from gigalis_nms.inventory.models import (
    BackboneLink,
    BandwidthHolding,
    Circuit,
    FibreCable,
    FibreStrand,
    HoldingPublic,
    Interface,
    StrandHolding,
    Vlan,
    VlanHolding,
)
from gigalis_nms.inventory.rules import circuit_shape_problems
from gigalis_nms.inventory.tables import LINK

logger = logging.getLogger(__name__)


class HoldingKind(StrEnum):
    STRAND = "strand"
    VLAN = "vlan"
    BANDWIDTH = "bandwidth"


HOLDING_MODELS: dict[HoldingKind, type[SQLModel]] = {
    HoldingKind.STRAND: StrandHolding,
    HoldingKind.VLAN: VlanHolding,
    HoldingKind.BANDWIDTH: BandwidthHolding,
}


class CircuitHolding(HoldingPublic):
    """A resource a circuit holds, with the id that releases it."""

    id: int
    kind: HoldingKind
    sequence: int | None = None


class HoldingRequest(BaseModel):
    """What a circuit should hold: a VLAN on a port, bandwidth on a link, or a strand."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "vlan", "interface_id": 12, "vlan": 101},
                {"kind": "bandwidth", "backbone_link_id": 3, "bandwidth_mbps": 1000},
                {"kind": "strand", "strand_id": 481, "sequence": 0},
            ]
        },
    )

    kind: HoldingKind
    interface_id: int | None = Field(None, description="vlan: the port")
    vlan: Vlan | None = Field(None, description="vlan: the VLAN id, 1-4094")
    backbone_link_id: int | None = Field(None, description="bandwidth: the link")
    bandwidth_mbps: int | None = Field(
        None,
        gt=0,
        le=1_600_000,
        description="bandwidth: Mb/s; the circuit's bandwidth, which is also the default",
    )
    strand_id: int | None = Field(None, description="strand: the fibre strand")
    sequence: int = Field(
        0, ge=0, le=INTEGER_MAX, description="strand: position of its cable along the route"
    )


HOLDING_FIELDS = {
    HoldingKind.VLAN: ("interface_id", "vlan"),
    HoldingKind.BANDWIDTH: ("backbone_link_id", "bandwidth_mbps"),
    HoldingKind.STRAND: ("strand_id",),
}


def _id(obj: Any) -> int:
    """The id of an object already written."""
    assert obj.id is not None, "flushed objects have an id"
    return int(obj.id)


def _check_can_hold(circuit: Circuit) -> None:
    if circuit.status is CircuitStatus.TERMINATED:
        raise Conflict.of("status", f"circuit {circuit.ref} is terminated and holds nothing")


def _referenced(session: Session, model: type[SQLModel], row_id: int, field: str) -> Any:
    """The row a holding request names by id, or InvalidInput naming ``field``."""
    # An id beyond the column's range names nothing; the database would fail on it.
    row = session.get(model, row_id) if fits_row_id(row_id) else None
    if row is None:
        label = table_of(model).name.replace("_", " ")
        raise InvalidInput.of(field, f"no {label} with id {row_id}")
    return row


def _vlan_holder(session: Session, port_id: int, vlan: int) -> str:
    ref = session.exec(
        select(Circuit.ref)
        .join(VlanHolding, col(VlanHolding.circuit_id) == col(Circuit.id))
        .where(col(VlanHolding.interface_id) == port_id, col(VlanHolding.vlan) == vlan)
    ).first()
    return f" by circuit {ref}" if ref else ""


def hold_vlan(
    session: Session, circuit: Circuit, interface_id: int, vlan: int, *, field: str = "vlan"
) -> VlanHolding:
    """Hold ``vlan`` on a port for a circuit; Conflict naming ``field`` if it is taken."""
    _check_can_hold(circuit)
    _referenced(session, Interface, interface_id, "interface_id")
    if not 1 <= vlan <= 4094:
        raise InvalidInput.of(field, "a VLAN id is between 1 and 4094")
    _check_not_backbone_port(session, interface_id, field)
    holding = VlanHolding(interface_id=interface_id, vlan=vlan, circuit_id=_id(circuit))

    def explain(violation: Violation) -> FieldProblem:
        if violation.kind is ViolationKind.UNIQUE:
            holder = _vlan_holder(session, interface_id, vlan)
            return FieldProblem(
                field, f"VLAN {vlan} is already held on interface {interface_id}{holder}"
            )
        return FieldProblem(field, f"refused by the database rule {violation.constraint}")

    write_or_conflict(session, lambda: session.add(holding), explain)
    logger.info("circuit %s holds VLAN %s on interface %s", circuit.ref, vlan, interface_id)
    return holding


def _check_not_backbone_port(session: Session, interface_id: int, field: str) -> None:
    """A port that ends a backbone link carries the backbone; a customer's VLAN there would
    ride the IGP's links rather than a service."""
    link = session.scalar(
        sa.select(LINK.c.code).where(
            sa.or_(LINK.c.a_interface_id == interface_id, LINK.c.z_interface_id == interface_id)
        )
    )
    if link is not None:
        raise InvalidInput.of(
            field, f"interface {interface_id} ends backbone link {link}; use a customer port"
        )


def _bandwidth_of(circuit: Circuit, mbps: int | None, field: str) -> int:
    """What a circuit holds on a link: its bandwidth, on every link of its path."""
    if circuit.bandwidth_mbps is None:
        raise InvalidInput.of(
            field, f"circuit {circuit.ref} is {circuit.service_type} and has no bandwidth to hold"
        )
    if mbps is not None and mbps != circuit.bandwidth_mbps:
        raise InvalidInput.of(
            field,
            f"circuit {circuit.ref} holds its bandwidth, {circuit.bandwidth_mbps} Mb/s, on each "
            "link; change the circuit's bandwidth_mbps to hold another amount",
        )
    return circuit.bandwidth_mbps


def hold_bandwidth(
    session: Session,
    circuit: Circuit,
    link_id: int,
    mbps: int | None = None,
    *,
    field: str = "bandwidth_mbps",
) -> BandwidthHolding:
    """Hold the circuit's bandwidth on a backbone link; Conflict if the link has not that much
    free. ``mbps``, when given, must be the circuit's bandwidth: a circuit carries the same
    bandwidth over every link of its path, and changing it changes them all."""
    _check_can_hold(circuit)
    _referenced(session, BackboneLink, link_id, "backbone_link_id")
    mbps = _bandwidth_of(circuit, mbps, field)
    holding = BandwidthHolding(
        backbone_link_id=link_id, circuit_id=_id(circuit), bandwidth_mbps=mbps
    )

    def explain(violation: Violation) -> FieldProblem:
        state = link_state(session, link_id)
        if violation.kind is ViolationKind.UNIQUE:
            return FieldProblem(
                "backbone_link_id",
                f"circuit {circuit.ref} already holds bandwidth on link {state.code}",
            )
        free = state.capacity_mbps - state.held_mbps
        return FieldProblem(field, f"link {state.code} has only {free} Mb/s free")

    write_or_conflict(session, lambda: session.add(holding), explain)
    logger.info("circuit %s holds %s Mb/s on link %s", circuit.ref, mbps, link_id)
    return holding


def hold_bandwidth_on_links(session: Session, circuit: Circuit, link_ids: list[int]) -> None:
    """Hold the circuit's bandwidth on each of ``link_ids`` (existing links, in the order
    given), all in one write; Conflict naming every link short of room when the database
    refuses, and nothing held. A design holds its whole path so: one write per link made a
    long path the slowest part of an order (bench/ordering.py)."""
    _check_can_hold(circuit)
    mbps = _bandwidth_of(circuit, None, "bandwidth_mbps")
    holdings = [
        BandwidthHolding(backbone_link_id=link_id, circuit_id=_id(circuit), bandwidth_mbps=mbps)
        for link_id in link_ids
    ]

    def explain(violation: Violation) -> FieldProblem:
        states = [link_state(session, link_id) for link_id in link_ids]
        if violation.kind is ViolationKind.UNIQUE:
            codes = ", ".join(state.code for state in states)
            return FieldProblem(
                "backbone_link_id", f"circuit {circuit.ref} already holds bandwidth on {codes}"
            )
        short = [
            f"link {state.code} has only {state.capacity_mbps - state.held_mbps} Mb/s free"
            for state in states
            if state.capacity_mbps - state.held_mbps < mbps
        ]
        return FieldProblem("bandwidth_mbps", "; ".join(short) or "a link has not that much free")

    write_or_conflict(session, lambda: session.add_all(holdings), explain)
    logger.info("circuit %s holds %s Mb/s on links %s", circuit.ref, mbps, link_ids)


def _shape_problems(circuit: Circuit, *, holds_strands: bool) -> list[FieldProblem]:
    return circuit_shape_problems(
        ref=circuit.ref,
        service_type=circuit.service_type,
        bandwidth_mbps=circuit.bandwidth_mbps,
        has_z_end=circuit.z_site_id is not None,
        holds_strands=holds_strands,
    )


def _strand_name(session: Session, strand_id: int) -> str:
    number, cable = session.exec(
        select(FibreStrand.number, FibreCable.code)
        .join(FibreCable, col(FibreStrand.cable_id) == col(FibreCable.id))
        .where(col(FibreStrand.id) == strand_id)
    ).one()
    return f"strand {number} of cable {cable}"


def _strand_holder(session: Session, strand_id: int) -> str:
    holder = session.exec(
        select(Circuit.ref, BackboneLink.code)
        .select_from(StrandHolding)
        .outerjoin(Circuit, col(StrandHolding.circuit_id) == col(Circuit.id))
        .outerjoin(BackboneLink, col(StrandHolding.backbone_link_id) == col(BackboneLink.id))
        .where(col(StrandHolding.strand_id) == strand_id)
    ).first()
    if holder is None:
        return ""
    ref, link = holder
    return f" by circuit {ref}" if ref else f" by backbone link {link}"


def hold_strand(
    session: Session, circuit: Circuit, strand_id: int, sequence: int, *, field: str = "strand_id"
) -> StrandHolding:
    """Hold a fibre strand for a circuit (dark fibre); Conflict if anything holds it already."""
    _check_can_hold(circuit)
    for problem in _shape_problems(circuit, holds_strands=True):
        if problem.field == "strands":
            raise InvalidInput.of(field, f"circuit {circuit.ref}: {problem.reason}")
    strand: FibreStrand = _referenced(session, FibreStrand, strand_id, field)
    if strand.state is not StrandState.AVAILABLE:
        raise InvalidInput.of(field, f"{_strand_name(session, strand_id)} is {strand.state}")
    holding = StrandHolding(
        strand_id=strand_id, circuit_id=_id(circuit), backbone_link_id=None, sequence=sequence
    )

    def explain(violation: Violation) -> FieldProblem:
        name = _strand_name(session, strand_id)
        if violation.kind is ViolationKind.UNIQUE:
            return FieldProblem(
                field, f"{name} is already held{_strand_holder(session, strand_id)}"
            )
        return FieldProblem(field, f"{name}: refused by the database rule {violation.constraint}")

    write_or_conflict(session, lambda: session.add(holding), explain)
    logger.info("circuit %s holds strand %s", circuit.ref, strand_id)
    return holding


def _required(request: HoldingRequest, name: str) -> int:
    value = getattr(request, name)
    if value is None:
        raise InvalidInput.of(name, f"required to hold a {request.kind}")
    return int(value)


def hold(session: Session, circuit: Circuit, request: HoldingRequest) -> Any:
    """Hold what ``request`` describes; the fields of the other kinds must be left out."""
    for kind, names in HOLDING_FIELDS.items():
        for name in names:
            if kind is not request.kind and getattr(request, name) is not None:
                raise InvalidInput.of(name, f"not used to hold a {request.kind}")
    if request.kind is HoldingKind.VLAN:
        port_id, vlan = _required(request, "interface_id"), _required(request, "vlan")
        return hold_vlan(session, circuit, port_id, vlan)
    if request.kind is HoldingKind.BANDWIDTH:
        link_id = _required(request, "backbone_link_id")
        return hold_bandwidth(session, circuit, link_id, request.bandwidth_mbps)
    return hold_strand(session, circuit, _required(request, "strand_id"), request.sequence)


def _check_not_an_end(circuit: Circuit, holding: Any) -> None:
    """A VLAN held for one of the circuit's ends goes with the end, never alone: released on
    its own, it would leave the end naming a VLAN that another circuit could then take."""
    if not isinstance(holding, VlanHolding):
        return
    for end in ("a", "z"):
        port, vlan = getattr(circuit, f"{end}_interface_id"), getattr(circuit, f"{end}_vlan")
        if (holding.interface_id, holding.vlan) == (port, vlan):
            raise Conflict.of(
                f"{end}_vlan",
                f"held for the circuit's {end.upper()} end; change or clear {end}_vlan instead",
            )


def release_holding(session: Session, circuit: Circuit, kind: HoldingKind, holding_id: int) -> None:
    """Give back one resource the circuit holds, other than the VLANs of its ends."""
    holding = session.get(HOLDING_MODELS[kind], holding_id) if fits_row_id(holding_id) else None
    if holding is None or getattr(holding, "circuit_id", None) != circuit.id:
        raise NotFound.of(
            "holding_id", f"circuit {circuit.ref} holds no {kind} with id {holding_id}"
        )
    _check_not_an_end(circuit, holding)
    session.delete(holding)
    session.flush()
    logger.info("circuit %s released %s %s", circuit.ref, kind, holding_id)


def release_vlan(session: Session, circuit: Circuit, port_id: int | None, vlan: int | None) -> None:
    if port_id is None or vlan is None:
        return
    for holding in session.exec(
        select(VlanHolding).where(
            col(VlanHolding.circuit_id) == circuit.id,
            col(VlanHolding.interface_id) == port_id,
            col(VlanHolding.vlan) == vlan,
        )
    ):
        session.delete(holding)
    session.flush()


def resize_bandwidth(session: Session, circuit: Circuit) -> None:
    """Make every bandwidth holding of the circuit its new bandwidth; Conflict naming the first
    link that has not that much free (the triggers move the link's ``held_mbps`` and its CHECK
    refuses the excess)."""
    for holding in _holdings_of(session, BandwidthHolding, circuit):
        _resize(session, circuit, holding)


def _resize(session: Session, circuit: Circuit, holding: BandwidthHolding) -> None:
    mbps = _bandwidth_of(circuit, None, "bandwidth_mbps")
    if holding.bandwidth_mbps == mbps:
        return
    link_id, before = holding.backbone_link_id, holding.bandwidth_mbps

    def change() -> None:
        holding.bandwidth_mbps = mbps

    def explain(violation: Violation) -> FieldProblem:
        if violation.kind is not ViolationKind.CHECK:
            rule = violation.constraint or violation.kind
            return FieldProblem("bandwidth_mbps", f"refused by the database rule {rule}")
        state = link_state(session, link_id)
        most = state.capacity_mbps - state.held_mbps + before
        return FieldProblem(
            "bandwidth_mbps",
            f"link {state.code} ({state.capacity_mbps} Mb/s) has room for at most {most} Mb/s "
            f"of circuit {circuit.ref}, not {mbps}",
        )

    write_or_conflict(session, change, explain)
    logger.info(
        "circuit %s holds %s Mb/s instead of %s on link %s", circuit.ref, mbps, before, link_id
    )


def release_all_holdings(session: Session, circuit: Circuit) -> None:
    """Give back everything a circuit holds, as when it is terminated."""
    for model in HOLDING_MODELS.values():
        for holding in _holdings_of(session, model, circuit):
            session.delete(holding)
    session.flush()
    logger.info("circuit %s released all its holdings", circuit.ref)


def _holdings_of(session: Session, model: type[SQLModel], circuit: Circuit) -> list[Any]:
    owned = column_of(model, "circuit_id") == circuit.id
    return list(session.exec(select(model).where(owned).order_by(column_of(model, "id"))))


def describe_holding(holding: Any) -> CircuitHolding:
    """A holding row as the API shows it."""
    if isinstance(holding, StrandHolding):
        return CircuitHolding(
            kind=HoldingKind.STRAND,
            id=_id(holding),
            circuit_id=holding.circuit_id,
            strand_id=holding.strand_id,
            sequence=holding.sequence,
        )
    if isinstance(holding, VlanHolding):
        return CircuitHolding(
            kind=HoldingKind.VLAN,
            id=_id(holding),
            circuit_id=holding.circuit_id,
            interface_id=holding.interface_id,
            vlan=holding.vlan,
        )
    assert isinstance(holding, BandwidthHolding)
    return CircuitHolding(
        kind=HoldingKind.BANDWIDTH,
        id=_id(holding),
        circuit_id=holding.circuit_id,
        backbone_link_id=holding.backbone_link_id,
        bandwidth_mbps=holding.bandwidth_mbps,
    )


def list_holdings(session: Session, circuit: Circuit) -> list[CircuitHolding]:
    """What a circuit holds: strands along its route, then VLANs, then bandwidth on links."""
    strands = sorted(
        _holdings_of(session, StrandHolding, circuit), key=lambda h: (h.sequence, h.id)
    )
    vlans = _holdings_of(session, VlanHolding, circuit)
    bandwidth = _holdings_of(session, BandwidthHolding, circuit)
    return [describe_holding(holding) for holding in [*strands, *vlans, *bandwidth]]


def link_state(session: Session, link_id: int) -> sa.Row[Any]:
    """A link's code, capacity and held bandwidth, as committed now."""
    link = table_of(BackboneLink)
    return execute_core(
        session,
        sa.select(link.c.code, link.c.capacity_mbps, link.c.held_mbps).where(link.c.id == link_id),
    ).one()
