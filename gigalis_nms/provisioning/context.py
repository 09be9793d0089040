"""What the service templates are given: one context per router per circuit, built from the
circuit, its design and the address plan.

An Ethernet E-Line is EVPN-VXLAN on every platform: the circuit's VNI (from its design)
joins the customer side at each end to a VXLAN tunnel between the two ends' loopbacks, and
BGP EVPN (route target ``64496:<vni>``) tells each end where the other is. Transit routers
carry the tunnel as plain routed traffic and get nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from gigalis_nms.db.types import table_of
from gigalis_nms.errors import FieldProblem, GigalisError, InvalidInput, NotFound
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.tables import CIRCUIT, DEVICE, INTERFACE, ORGANISATION
from gigalis_nms.provisioning.baseconfig import GIGALIS_ASN
from gigalis_nms.provisioning.models import FIRST_VNI, CircuitDesign

DESIGN = table_of(CircuitDesign)

# The largest customer frame payload the E-Line carries: 1500 bytes, the Ethernet standard
# (MEF's 1522-byte service frame with its one tag). VXLAN adds 50 bytes outside it, so every
# backbone port needs an MTU of 1550 or more; see provisioning/README.md.
SERVICE_MTU = 1500
# Circuits the routers carry: a designed circuit is configured only while it is being
# provisioned (``include``), a suspended or terminated one not at all.
CONFIGURED_STATUSES = (CircuitStatus.PROVISIONING, CircuitStatus.ACTIVE)
# Device-wide VLANs that bridge a circuit on platforms that bridge through VLANs (EOS):
# VNI 10000 + n gets VLAN 100 + n, repeating every 3900 circuits.
BRIDGE_VLAN_FIRST = 100
BRIDGE_VLAN_COUNT = 3900
# A route distinguisher "address:number" holds a 16-bit number.
RD_NUMBER_MAX = 65535

_ASCII_PUNCTUATION = str.maketrans({"–": "-", "—": "-", "’": "'", "‘": "'", "«": '"', "»": '"'})


def plain_text(text: str) -> str:
    """``text`` in printable ASCII on one line, as every platform's description takes it.

    >>> plain_text("Opérateur  Alpha – Nantes")
    'Operateur Alpha - Nantes'
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_PUNCTUATION))
    ascii_only = decomposed.encode("ascii", "ignore").decode()
    return " ".join("".join(c for c in ascii_only if c.isprintable()).split())


@dataclass(frozen=True)
class CustomerSide:
    """Where the circuit meets the operator on this router."""

    end: str  # "a" or "z": which end of the circuit
    port: str  # the port's name: the inventory's, or the router's own once translated
    vlan: int | None  # None: port-based, the whole port is the circuit's

    @property
    def port_based(self) -> bool:
        return self.vlan is None


@dataclass(frozen=True)
class ElineEnd:
    """One router's part of one Ethernet E-Line: the customer side (both, when the two ends
    are on this router) and the VXLAN tunnel endpoints."""

    SERVICE: ClassVar[str] = "eline"  # the template: <platform>/eline.j2

    hostname: str
    circuit_ref: str
    operator: str  # the operator's name
    vni: int
    sides: tuple[CustomerSide, ...]  # one; two when both ends are on this router
    loopback: str  # this router's IPv4 loopback: the local VTEP
    remote_loopbacks: tuple[str, ...]  # the far end's VTEP; none when both ends are here
    bandwidth_mbps: int | None
    description: str | None
    mtu: int = SERVICE_MTU

    @property
    def local_only(self) -> bool:
        """Both ends on this router: a local bridge, no tunnel."""
        return not self.remote_loopbacks

    @property
    def label(self) -> str:
        """The circuit as interface descriptions name it: reference and operator."""
        return plain_text(f"{self.circuit_ref} {self.operator}")

    @property
    def asn(self) -> int:
        return GIGALIS_ASN

    @property
    def route_target(self) -> str:
        """AS:VNI, the route target FRR derives by itself for a VNI, so that every platform
        imports the others' routes without configuring FRR's."""
        return f"{GIGALIS_ASN}:{self.vni}"

    @property
    def route_distinguisher(self) -> str:
        if self.vni > RD_NUMBER_MAX:
            # Shortcoming: past VNI 65535 the RD needs another numbering; FRR, which derives
            # its own, is not affected, the vendors' templates are.
            raise InvalidInput.of(
                "vni", f"{self.circuit_ref}: VNI {self.vni} does not fit a route distinguisher"
            )
        return f"{self.loopback}:{self.vni}"

    @property
    def bridge_vlan(self) -> int:
        """The device-wide VLAN that bridges the circuit where bridging needs one (EOS)."""
        return BRIDGE_VLAN_FIRST + (self.vni - FIRST_VNI) % BRIDGE_VLAN_COUNT

    def with_port_names(self, names: Mapping[str, str]) -> ElineEnd:
        """The same end with its ports named as the router names them (``names``: inventory
        name → router's name; the lab's stand-ins use Linux names)."""
        missing = [side.port for side in self.sides if side.port not in names]
        if missing:
            raise InvalidInput.of(
                "interface", f"{self.circuit_ref}: {self.hostname} has no port {missing[0]!r}"
            )
        sides = tuple(replace(side, port=names[side.port]) for side in self.sides)
        return replace(self, sides=sides)


@dataclass(frozen=True)
class Attachment:
    """One end of a circuit as the inventory holds it."""

    hostname: str
    port: str  # inventory name
    vlan: int | None


@dataclass(frozen=True)
class DesignedEline:
    """A designed E-Line as the database holds it."""

    circuit_id: int
    ref: str
    status: CircuitStatus
    operator: str
    vni: int
    a: Attachment
    z: Attachment
    bandwidth_mbps: int | None
    description: str | None


def eline_ends(eline: DesignedEline, loopbacks: Mapping[str, str]) -> tuple[ElineEnd, ...]:
    """The contexts of ``eline`` on its end routers (one when both ends are on one router),
    with ``loopbacks`` giving each router's IPv4 loopback."""
    missing = sorted({e.hostname for e in (eline.a, eline.z)} - loopbacks.keys())
    if missing:
        raise NotFound.of("device", f"{eline.ref}: no loopback planned for {missing[0]}")
    sides: dict[str, list[CustomerSide]] = {}
    for letter, attachment in (("a", eline.a), ("z", eline.z)):
        side = CustomerSide(letter, attachment.port, attachment.vlan)
        sides.setdefault(attachment.hostname, []).append(side)
    return tuple(
        ElineEnd(
            hostname=hostname,
            circuit_ref=eline.ref,
            operator=eline.operator,
            vni=eline.vni,
            sides=tuple(here),
            loopback=loopbacks[hostname],
            remote_loopbacks=tuple(loopbacks[other] for other in sides if other != hostname),
            bandwidth_mbps=eline.bandwidth_mbps,
            description=eline.description,
        )
        for hostname, here in sides.items()
    )


def configured_elines(
    session: Session, *, include: Collection[int] = (), exclude: Collection[int] = ()
) -> list[DesignedEline]:
    """The designed E-Lines the routers carry: those being provisioned or active, plus
    ``include``, minus ``exclude``; by reference.

    A circuit named in ``include`` must exist, be an E-Line and have a design.
    """
    wanted = sa.or_(CIRCUIT.c.status.in_(CONFIGURED_STATUSES), CIRCUIT.c.id.in_(list(include)))
    rows = session.execute(_eline_query().where(wanted, CIRCUIT.c.id.not_in(list(exclude))))
    elines = [_designed_eline(row._mapping) for row in rows]
    missing = set(include) - set(exclude) - {eline.circuit_id for eline in elines}
    if missing:
        raise _not_renderable(session, sorted(missing))
    return elines


def circuit_eline(session: Session, circuit_id: int) -> DesignedEline:
    """One designed E-Line, whatever its status."""
    row = session.execute(_eline_query().where(CIRCUIT.c.id == circuit_id)).one_or_none()
    if row is None:
        raise _not_renderable(session, [circuit_id])
    return _designed_eline(row._mapping)


def _eline_query() -> sa.Select[Any]:
    a_if, z_if = INTERFACE.alias("a_if"), INTERFACE.alias("z_if")
    a_dev, z_dev = DEVICE.alias("a_dev"), DEVICE.alias("z_dev")
    return (
        sa.select(
            CIRCUIT.c.id,
            CIRCUIT.c.ref,
            CIRCUIT.c.status,
            CIRCUIT.c.a_vlan,
            CIRCUIT.c.z_vlan,
            CIRCUIT.c.bandwidth_mbps,
            CIRCUIT.c.description,
            DESIGN.c.vni,
            ORGANISATION.c.name.label("operator"),
            a_dev.c.hostname.label("a_host"),
            a_if.c.name.label("a_port"),
            z_dev.c.hostname.label("z_host"),
            z_if.c.name.label("z_port"),
        )
        .join(DESIGN, DESIGN.c.circuit_id == CIRCUIT.c.id)
        .join(ORGANISATION, ORGANISATION.c.id == CIRCUIT.c.operator_id)
        .join(a_if, a_if.c.id == CIRCUIT.c.a_interface_id, isouter=True)
        .join(a_dev, a_dev.c.id == a_if.c.device_id, isouter=True)
        .join(z_if, z_if.c.id == CIRCUIT.c.z_interface_id, isouter=True)
        .join(z_dev, z_dev.c.id == z_if.c.device_id, isouter=True)
        .where(CIRCUIT.c.service_type == ServiceType.ETHERNET_ELINE)
        .order_by(CIRCUIT.c.ref)
    )


def _designed_eline(row: RowMapping) -> DesignedEline:
    missing = [end for end in ("a", "z") if row[f"{end}_host"] is None]
    if missing:
        reason = f"{row['ref']}: an E-Line needs a port at each end"
        raise InvalidInput.of(f"{missing[0]}_interface_id", reason)
    return DesignedEline(
        circuit_id=row["id"],
        ref=row["ref"],
        status=CircuitStatus(row["status"]),
        operator=row["operator"],
        vni=row["vni"],
        a=Attachment(row["a_host"], row["a_port"], row["a_vlan"]),
        z=Attachment(row["z_host"], row["z_port"], row["z_vlan"]),
        bandwidth_mbps=row["bandwidth_mbps"],
        description=row["description"],
    )


def _not_renderable(session: Session, circuit_ids: Iterable[int]) -> GigalisError:
    """Why circuits asked for by id are not rendered: unknown, not an E-Line, not designed."""
    problems = []
    unknown = False
    for circuit_id in circuit_ids:
        query = sa.select(CIRCUIT.c.ref, CIRCUIT.c.service_type).where(CIRCUIT.c.id == circuit_id)
        row = session.execute(query).one_or_none()
        if row is None:
            unknown = True
            problems.append(FieldProblem("circuit", f"no circuit with id {circuit_id}"))
        elif row.service_type != ServiceType.ETHERNET_ELINE:
            problems.append(
                FieldProblem("circuit", f"{row.ref}: no template for {row.service_type}")
            )
        else:  # an E-Line the design query did not find
            problems.append(FieldProblem("circuit", f"{row.ref} has no design yet"))
    error = NotFound if unknown else InvalidInput
    return error(str(problems[0]), problems)
