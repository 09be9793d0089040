"""Small inventories for tests, built through the service functions as the API builds them.

``build_inventory`` makes two operators and a fibre owner, two sites in two départements, a
router at each with ports, a backbone link and a cable between them, and one circuit per
operator. The single builders are there for tests that need one more of something.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from gigalis_nms.db import session_scope
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import (
    CableOwnership,
    DeviceRole,
    InterfaceType,
    OrganisationKind,
    ServiceType,
    SiteKind,
)
from gigalis_nms.inventory.models import (
    BackboneLink,
    BackboneLinkCreate,
    Circuit,
    CircuitCreate,
    Device,
    DeviceCreate,
    FibreCable,
    FibreCableCreate,
    FibreStrand,
    Interface,
    InterfaceCreate,
    Organisation,
    OrganisationCreate,
    Site,
    SiteCreate,
    StrandHolding,
)

ACTOR = "test:builders"


def organisation(
    session: Session, name: str, kind: OrganisationKind = OrganisationKind.OPERATOR, **fields: Any
) -> Organisation:
    body = OrganisationCreate(name=name, kind=kind, **fields)
    made: Organisation = service.create_object(session, service.ORGANISATIONS, body)
    return made


def site(session: Session, code: str, insee_code: str = "44109", **fields: Any) -> Site:
    values = {
        "name": f"PoP {code}",
        "kind": SiteKind.POP,
        "latitude": 47.2,
        "longitude": -1.55,
        **fields,
    }
    body = SiteCreate(code=code, insee_code=insee_code, **values)
    made: Site = service.create_object(session, service.SITES, body)
    return made


def device(session: Session, hostname: str, at: Site, **fields: Any) -> Device:
    values = {"role": DeviceRole.CORE, "platform": "frr", **fields}
    body = DeviceCreate(hostname=hostname, site_id=at.id, **values)
    made: Device = service.create_object(session, service.DEVICES, body)
    return made


def interface(session: Session, on: Device, name: str, **fields: Any) -> Interface:
    values = {"type": InterfaceType.SFPP_10G, "speed_mbps": 10_000, **fields}
    body = InterfaceCreate(device_id=on.id, name=name, **values)
    made: Interface = service.create_object(session, service.INTERFACES, body)
    return made


def link(
    session: Session, code: str, a: Interface, z: Interface, capacity_mbps: int = 1000
) -> BackboneLink:
    body = BackboneLinkCreate(
        code=code, a_interface_id=a.id, z_interface_id=z.id, capacity_mbps=capacity_mbps
    )
    made: BackboneLink = service.create_object(session, service.LINKS, body)
    return made


def cable(
    session: Session, code: str, a: Site, z: Site, owner: Organisation, *, fibre_count: int = 12
) -> FibreCable:
    body = FibreCableCreate(
        code=code,
        a_site_id=a.id,
        z_site_id=z.id,
        length_m=12_000,
        fibre_count=fibre_count,
        owner_id=owner.id,
        ownership=CableOwnership.OWN,
    )
    made: FibreCable = service.create_object(session, service.CABLES, body)
    return made


def circuit(session: Session, ref: str, operator: Organisation, a: Site, **fields: Any) -> Circuit:
    values = {"service_type": ServiceType.ETHERNET_ELINE, "bandwidth_mbps": 100, **fields}
    body = CircuitCreate(ref=ref, operator_id=operator.id, a_site_id=a.id, **values)
    made: Circuit = service.create_object(session, service.CIRCUITS, body)
    return made


@dataclass(frozen=True)
class Inventory:
    """Ids of the objects ``build_inventory`` made."""

    operator_a: int
    operator_b: int
    owner: int
    site_a: int
    site_b: int
    device_a: int
    device_b: int
    ports: dict[str, int]  # "a1", "a2", "a3", "b1", "b2", "b3"
    link: int
    cable: int
    circuit_a: int  # of operator_a, VLAN 100 on a1 and b1
    circuit_b: int  # of operator_b, no VLAN


def build_inventory(engine: Engine) -> Inventory:
    with session_scope(engine, actor=ACTOR) as session:
        operator_a = organisation(session, "Opérateur A", siren="123456782", arcep_code="OPA")
        operator_b = organisation(session, "Opérateur B", siren="123456790")
        owner = organisation(session, "Syndicat Fibre", OrganisationKind.FIBRE_OWNER)
        site_a = site(session, "NTE1", "44109", name="Nantes Beaulieu")
        site_b = site(session, "ANG1", "49007", name="Angers Saint-Serge")
        device_a = device(session, "nte1-core1", site_a)
        device_b = device(session, "ang1-core1", site_b)
        ports = {
            f"{end}{number}": interface(session, router, f"xe-0/0/{number}")
            for end, router in (("a", device_a), ("b", device_b))
            for number in (1, 2, 3)
        }
        backbone = link(session, "BL-NTE1-ANG1", ports["a2"], ports["b2"], capacity_mbps=1000)
        fibre = cable(session, "FC-NTE1-ANG1", site_a, site_b, owner)
        circuit_a = circuit(
            session,
            "GIG-ETH-000001",
            operator_a,
            site_a,
            z_site_id=site_b.id,
            a_interface_id=ports["a1"].id,
            a_vlan=100,
            z_interface_id=ports["b1"].id,
            z_vlan=100,
        )
        circuit_b = circuit(session, "GIG-ETH-000002", operator_b, site_b, z_site_id=site_a.id)
        return Inventory(
            operator_a=_id(operator_a),
            operator_b=_id(operator_b),
            owner=_id(owner),
            site_a=_id(site_a),
            site_b=_id(site_b),
            device_a=_id(device_a),
            device_b=_id(device_b),
            ports={name: _id(port) for name, port in ports.items()},
            link=_id(backbone),
            cable=_id(fibre),
            circuit_a=_id(circuit_a),
            circuit_b=_id(circuit_b),
        )


def hold_link_on_cable(engine: Engine, inventory: Inventory) -> None:
    """The inventory's backbone link rides two strands of its cable."""
    with session_scope(engine, actor="test") as session:
        strands = session.exec(
            select(FibreStrand.id).where(FibreStrand.cable_id == inventory.cable).limit(2)
        ).all()
        for strand in strands:
            session.add(
                StrandHolding(strand_id=strand, backbone_link_id=inventory.link, sequence=0)
            )


def _id(obj: Any) -> int:
    assert obj.id is not None
    return int(obj.id)
