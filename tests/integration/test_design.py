"""Circuit design on both databases: paths by IGP and by length, capacity, protection paths
sharing no cable, end ports, VNIs, release, the real Gigalis inventory, and concurrent designs
racing for the last capacity of a link."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.db import session_scope
from gigalis_nms.errors import Conflict, GigalisError, InvalidInput, NotFound
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import (
    CableOwnership,
    CircuitStatus,
    InterfaceType,
    LifecycleStatus,
    OrganisationKind,
    ServiceType,
)
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import (
    BackboneLink,
    BackboneLinkCreate,
    BackboneLinkUpdate,
    BandwidthHolding,
    Circuit,
    CircuitCreate,
    CircuitUpdate,
    FibreCableCreate,
    FibreStrand,
    Interface,
    InterfaceUpdate,
    Organisation,
    Site,
    StrandHolding,
    VlanHolding,
)
from gigalis_nms.provisioning import design as design_module
from gigalis_nms.provisioning.design import (
    DesignView,
    describe_design,
    design_circuit,
    design_of,
    release_design,
    smallest_free_vni,
    undesign_circuit,
)
from gigalis_nms.provisioning.models import (
    FIRST_VNI,
    CircuitDesign,
    CircuitHop,
    PathMetric,
    PathRole,
)
from tests.integration import builders
from tests.integration.builders import Inventory
from tests.integration.conftest import Api

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "test:noc"
V1 = "/api/v1"
WAIT_S = 30

Cable = tuple[str, str, str, float]  # code, A site, Z site, km
Link = tuple[str, str, str, int, int, list[str]]  # code, A, Z, IGP, capacity, cables

# Nantes to Cholet: cheaper in IGP through Angers, shorter in fibre through La Roche-sur-Yon.
DIAMOND_CABLES: list[Cable] = [
    ("C-NTE1-ANG1", "NTE1", "ANG1", 90),
    ("C-ANG1-CHO1", "ANG1", "CHO1", 60),
    ("C-NTE1-LRY1", "NTE1", "LRY1", 20),
    ("C-LRY1-CHO1", "LRY1", "CHO1", 25),
]
DIAMOND_LINKS: list[Link] = [
    ("BL-NTE1-ANG1", "NTE1", "ANG1", 10, 10_000, ["C-NTE1-ANG1"]),
    ("BL-ANG1-CHO1", "ANG1", "CHO1", 10, 10_000, ["C-ANG1-CHO1"]),
    ("BL-NTE1-LRY1", "NTE1", "LRY1", 30, 10_000, ["C-NTE1-LRY1"]),
    ("BL-LRY1-CHO1", "LRY1", "CHO1", 30, 10_000, ["C-LRY1-CHO1"]),
]
VIA_ANGERS = ["BL-NTE1-ANG1", "BL-ANG1-CHO1"]
VIA_LA_ROCHE = ["BL-NTE1-LRY1", "BL-LRY1-CHO1"]

# The Nantes–Angers express rides both cables through Ancenis: every path shares a cable.
EXPRESS_CABLES: list[Cable] = [
    ("C-NTE1-ANC1", "NTE1", "ANC1", 40),
    ("C-ANC1-ANG1", "ANC1", "ANG1", 50),
]
EXPRESS_LINKS: list[Link] = [
    ("BL-NTE1-ANG1", "NTE1", "ANG1", 20, 10_000, ["C-NTE1-ANC1", "C-ANC1-ANG1"]),
    ("BL-NTE1-ANC1", "NTE1", "ANC1", 10, 10_000, ["C-NTE1-ANC1"]),
    ("BL-ANC1-ANG1", "ANC1", "ANG1", 10, 10_000, ["C-ANC1-ANG1"]),
]

# Each router's customer ports: spare 10G and 1G, and a hand-off to each operator.
CUSTOMER_PORTS = {
    "eth10": (InterfaceType.SFPP_10G, 10_000, "spare"),
    "eth11": (InterfaceType.SFP_1G, 1000, "spare"),
    "eth12": (InterfaceType.SFPP_10G, 10_000, "NNI OPA"),
    "eth13": (InterfaceType.SFPP_10G, 10_000, "NNI OPB"),
}


@dataclass
class Backbone:
    """Ids of what :func:`build_backbone` made; one router per site, ``<site>-cr1``."""

    operator: int  # ARCEP code OPA
    other_operator: int  # OPB
    sites: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # "nte1-cr1:eth10"
    links: dict[str, int] = field(default_factory=dict)

    def router(self, site: str) -> str:
        return f"{site.lower()}-cr1"

    def port(self, site: str, name: str) -> int:
        return self.ports[f"{self.router(site)}:{name}"]


def build_backbone(engine: Engine, cables: list[Cable], links: list[Link]) -> Backbone:
    with session_scope(engine, actor="test:builders") as session:
        made = Backbone(
            operator=_id(builders.organisation(session, "Opérateur A", arcep_code="OPA")),
            other_operator=_id(builders.organisation(session, "Opérateur B", arcep_code="OPB")),
        )
        owner = builders.organisation(session, "Syndicat Fibre", OrganisationKind.FIBRE_OWNER)
        codes = sorted({site for cable in cables for site in cable[1:3]})
        codes += sorted({site for link in links for site in link[1:3]} - set(codes))
        routers = {code: _site_with_router(session, made, code) for code in codes}
        cable_ids = {cable[0]: _cable(session, made, owner, cable) for cable in cables}
        used: dict[str, int] = {}
        for code, a, z, igp, capacity, ridden in links:
            ends = [_backbone_port(session, made, routers[site], code) for site in (a, z)]
            link = service.create_object(
                session,
                service.LINKS,
                BackboneLinkCreate(
                    code=code,
                    a_interface_id=ends[0],
                    z_interface_id=ends[1],
                    capacity_mbps=capacity,
                    igp_metric=igp,
                ),
            )
            made.links[code] = _id(link)
            for sequence, cable in enumerate(ridden):
                for _ in range(2):
                    used[cable] = used.get(cable, 0) + 1
                    strand = session.exec(
                        select(FibreStrand.id).where(
                            col(FibreStrand.cable_id) == cable_ids[cable],
                            col(FibreStrand.number) == used[cable],
                        )
                    ).one()
                    session.add(
                        StrandHolding(
                            strand_id=strand, backbone_link_id=_id(link), sequence=sequence
                        )
                    )
        return made


def _site_with_router(session: Session, made: Backbone, code: str) -> Any:
    site = builders.site(session, code)
    made.sites[code] = _id(site)
    router = builders.device(session, made.router(code), site)
    for name, (kind, speed, description) in CUSTOMER_PORTS.items():
        port = builders.interface(
            session, router, name, type=kind, speed_mbps=speed, description=description
        )
        made.ports[f"{router.hostname}:{name}"] = _id(port)
    builders.interface(session, router, "lo", type=InterfaceType.LOOPBACK, speed_mbps=None)
    return router


def _backbone_port(session: Session, made: Backbone, router: Any, link: str) -> int:
    number = 1 + sum(1 for key in made.ports if key.startswith(f"{router.hostname}:eth-bb"))
    port = builders.interface(session, router, f"eth-bb{number}", description=link)
    made.ports[f"{router.hostname}:eth-bb{number}"] = _id(port)
    return _id(port)


def _cable(session: Session, made: Backbone, owner: Any, cable: Cable) -> int:
    code, a, z, km = cable
    body = FibreCableCreate(
        code=code,
        a_site_id=made.sites[a],
        z_site_id=made.sites[z],
        length_m=int(km * 1000),
        fibre_count=12,
        owner_id=owner.id,
        ownership=CableOwnership.OWN,
    )
    return _id(service.create_object(session, service.CABLES, body))


def _id(obj: Any) -> int:
    assert obj.id is not None
    return int(obj.id)


def new_circuit(
    engine: Engine,
    backbone: Backbone,
    number: int,
    a: str,
    z: str,
    *,
    mbps: int = 1000,
    operator: int | None = None,
    **fields: Any,
) -> int:
    with session_scope(engine, actor="test:builders") as session:
        circuit = service.create_object(
            session,
            service.CIRCUITS,
            CircuitCreate(
                ref=f"GIG-ETH-{number:06d}",
                operator_id=operator or backbone.operator,
                service_type=ServiceType.ETHERNET_ELINE,
                a_site_id=backbone.sites[a],
                z_site_id=backbone.sites[z],
                bandwidth_mbps=mbps,
                **fields,
            ),
        )
        return _id(circuit)


def design(engine: Engine, circuit_id: int, metric: PathMetric = PathMetric.IGP) -> int:
    """Design the circuit in a transaction of its own; its VNI."""
    with session_scope(engine, actor=ACTOR) as session:
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        return design_circuit(session, circuit, actor=ACTOR, metric=metric).vni


def hops(engine: Engine, circuit_id: int) -> dict[PathRole, list[str]]:
    with session_scope(engine, read_only=True) as session:
        rows = session.exec(
            select(CircuitHop.path, BackboneLink.code)
            .join(BackboneLink, col(BackboneLink.id) == col(CircuitHop.backbone_link_id))
            .where(col(CircuitHop.circuit_id) == circuit_id)
            .order_by(col(CircuitHop.path), col(CircuitHop.sequence))
        ).all()
    found: dict[PathRole, list[str]] = {}
    for role, code in rows:
        found.setdefault(role, []).append(code)
    return found


def held(engine: Engine) -> dict[str, int]:
    """The bandwidth held on each link that holds any."""
    with session_scope(engine, read_only=True) as session:
        links = session.exec(select(BackboneLink).where(col(BackboneLink.held_mbps) > 0))
        return {link.code: link.held_mbps for link in links}


def circuit_row(engine: Engine, circuit_id: int) -> Circuit:
    with session_scope(engine, read_only=True) as session:
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        return circuit


SNAPSHOT_TABLES = (
    "circuit_design", "circuit_hop", "bandwidth_holding", "vlan_holding", "audit_entry",
)  # fmt: skip


def snapshot(session: Session) -> dict[str, Any]:
    """What a design writes, read inside the session: row counts, held bandwidth, circuits."""
    connection = session.connection()
    counts = {
        table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in SNAPSHOT_TABLES
    }
    links = connection.execute(text("SELECT code, held_mbps FROM backbone_link ORDER BY code"))
    circuits = connection.execute(
        text(
            "SELECT ref, status, a_interface_id, a_vlan, z_interface_id, z_vlan "
            "FROM circuit ORDER BY ref"
        )
    )
    return {**counts, "links": links.all(), "circuits": circuits.all()}


def refused_without_trace(
    engine: Engine, circuit_id: int, expected: type[GigalisError], **kwargs: Any
) -> GigalisError:
    """Design the circuit, expecting a refusal; check that the session holds nothing of it
    and stays usable."""
    with session_scope(engine, actor=ACTOR) as session:
        before = snapshot(session)
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        with pytest.raises(expected) as refused:
            design_circuit(session, circuit, actor=ACTOR, **kwargs)
        session.flush()
        assert snapshot(session) == before
        assert circuit.status is CircuitStatus.RESERVED
    return refused.value


@pytest.fixture
def diamond(engine: Engine) -> Backbone:
    return build_backbone(engine, DIAMOND_CABLES, DIAMOND_LINKS)


# --- Paths --------------------------------------------------------------------------------


def test_shortest_by_igp_and_by_length_differ(engine: Engine, diamond: Backbone) -> None:
    by_igp = new_circuit(engine, diamond, 1, "NTE1", "CHO1")
    by_length = new_circuit(engine, diamond, 2, "NTE1", "CHO1")

    design(engine, by_igp, PathMetric.IGP)
    design(engine, by_length, PathMetric.LENGTH)

    assert hops(engine, by_igp) == {PathRole.WORKING: VIA_ANGERS}
    assert hops(engine, by_length) == {PathRole.WORKING: VIA_LA_ROCHE}
    assert held(engine) == dict.fromkeys(VIA_ANGERS + VIA_LA_ROCHE, 1000)
    assert circuit_row(engine, by_igp).status is CircuitStatus.DESIGNED
    with session_scope(engine, read_only=True) as session:
        circuit = session.get(Circuit, by_length)
        assert circuit is not None
        view = design_of(session, circuit)
    assert view.metric is PathMetric.LENGTH
    assert view.working.devices == ["nte1-cr1", "lry1-cr1", "cho1-cr1"]
    assert (view.working.length_m, view.working.igp_metric) == (45_000, 60)
    assert view.working.cables == ["C-LRY1-CHO1", "C-NTE1-LRY1"]


def test_the_design_is_audited_as_the_sessions_actor(engine: Engine, diamond: Backbone) -> None:
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1")

    design(engine, circuit_id)

    with session_scope(engine, read_only=True) as session:
        rows = session.connection().execute(
            text("SELECT entity, action FROM audit_entry WHERE actor = :actor"), {"actor": ACTOR}
        )
        entries = {(entity, action) for entity, action in rows}
        made = session.exec(select(CircuitDesign)).one()
    assert {
        ("circuit_design", "create"),
        ("circuit_hop", "create"),
        ("bandwidth_holding", "create"),
        ("circuit", "update"),
    } <= entries
    assert made.designed_by == ACTOR


def test_links_without_room_are_avoided(engine: Engine, diamond: Backbone) -> None:
    narrow(engine, diamond, "BL-ANG1-CHO1", 500)
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1")

    design(engine, circuit_id)

    assert hops(engine, circuit_id) == {PathRole.WORKING: VIA_LA_ROCHE}


def narrow(engine: Engine, backbone: Backbone, code: str, mbps: int) -> None:
    with session_scope(engine) as session:
        update = BackboneLinkUpdate(capacity_mbps=mbps)
        service.update_object(session, service.LINKS, backbone.links[code], update)


def test_no_room_names_the_links_that_would_have_made_a_path(
    engine: Engine, diamond: Backbone
) -> None:
    narrow(engine, diamond, "BL-ANG1-CHO1", 500)
    narrow(engine, diamond, "BL-LRY1-CHO1", 800)
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1")

    refused = refused_without_trace(engine, circuit_id, Conflict)

    assert refused.problems[0].field == "bandwidth_mbps"
    assert refused.message == (
        "bandwidth_mbps: no path from nte1-cr1 to cho1-cr1 with 1000 Mb/s spare: "
        "link BL-ANG1-CHO1 has only 500 Mb/s free"
    )


def test_no_links_at_all_is_invalid(engine: Engine, diamond: Backbone) -> None:
    with session_scope(engine) as session:
        lmn1 = builders.site(session, "LMN1", "72181")
        builders.interface(session, builders.device(session, "lmn1-cr1", lmn1), "eth10")
        diamond.sites["LMN1"] = _id(lmn1)
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "LMN1")

    refused = refused_without_trace(engine, circuit_id, InvalidInput)

    assert refused.problems[0].field == "path"
    assert "no active backbone links join nte1-cr1 to lmn1-cr1" in refused.message


def test_a_link_taken_out_of_service_carries_nothing(engine: Engine, diamond: Backbone) -> None:
    with session_scope(engine) as session:
        update = BackboneLinkUpdate(status=LifecycleStatus.DECOMMISSIONING)
        service.update_object(session, service.LINKS, diamond.links["BL-NTE1-ANG1"], update)
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1")

    design(engine, circuit_id)

    assert hops(engine, circuit_id) == {PathRole.WORKING: VIA_LA_ROCHE}


# --- Protection ---------------------------------------------------------------------------


def test_a_protected_circuit_gets_a_path_sharing_no_cable(
    engine: Engine, diamond: Backbone
) -> None:
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1", protected=True)

    design(engine, circuit_id)

    assert hops(engine, circuit_id) == {
        PathRole.WORKING: VIA_ANGERS,
        PathRole.PROTECT: VIA_LA_ROCHE,
    }
    assert held(engine) == dict.fromkeys(VIA_ANGERS + VIA_LA_ROCHE, 1000)
    with session_scope(engine, read_only=True) as session:
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        view = design_of(session, circuit)
    assert view.protect is not None
    assert not set(view.working.cables) & set(view.protect.cables)
    assert view.protect.devices == ["nte1-cr1", "lry1-cr1", "cho1-cr1"]


def test_impossible_protection_is_refused_and_nothing_written(engine: Engine) -> None:
    express = build_backbone(engine, EXPRESS_CABLES, EXPRESS_LINKS)
    # Both ends without a port: the ports given to them are undone with the rest.
    circuit_id = new_circuit(engine, express, 1, "NTE1", "ANG1", protected=True)

    refused = refused_without_trace(engine, circuit_id, InvalidInput)

    assert refused.problems[0].field == "protected"
    assert "no two paths from nte1-cr1 to ang1-cr1 share no fibre cable" in refused.message
    assert "C-ANC1-ANG1, C-NTE1-ANC1" in refused.message
    unprotected = new_circuit(engine, express, 2, "NTE1", "ANG1")
    design(engine, unprotected)
    assert hops(engine, unprotected) == {PathRole.WORKING: ["BL-NTE1-ANG1"]}


def test_protection_without_room_names_the_full_links(engine: Engine, diamond: Backbone) -> None:
    narrow(engine, diamond, "BL-LRY1-CHO1", 300)
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1", protected=True)

    refused = refused_without_trace(engine, circuit_id, Conflict)

    assert refused.problems[0].field == "protected"
    assert "link BL-LRY1-CHO1 has only 300 Mb/s free" in refused.message


# --- Ends ---------------------------------------------------------------------------------


def test_a_vlan_end_goes_on_the_operators_hand_off_with_the_same_vlan(
    engine: Engine, diamond: Backbone
) -> None:
    given = diamond.port("NTE1", "eth12")
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1", a_interface_id=given, a_vlan=100)

    design(engine, circuit_id)

    circuit = circuit_row(engine, circuit_id)
    assert (circuit.z_interface_id, circuit.z_vlan) == (diamond.port("CHO1", "eth12"), 100)
    with session_scope(engine, read_only=True) as session:
        vlans = session.exec(select(VlanHolding.interface_id, VlanHolding.vlan)).all()
    assert sorted(vlans) == sorted([(given, 100), (diamond.port("CHO1", "eth12"), 100)])


def test_a_vlan_taken_on_the_hand_off_is_replaced_by_the_lowest_free(
    engine: Engine, diamond: Backbone
) -> None:
    handoff = diamond.port("CHO1", "eth12")
    new_circuit(
        engine, diamond, 1, "NTE1", "CHO1", a_interface_id=diamond.port("NTE1", "eth12"),
        a_vlan=50, z_interface_id=handoff, z_vlan=100,
    )  # fmt: skip
    circuit_id = new_circuit(
        engine, diamond, 2, "NTE1", "CHO1", a_interface_id=diamond.port("NTE1", "eth12"),
        a_vlan=100,
    )  # fmt: skip

    design(engine, circuit_id)

    circuit = circuit_row(engine, circuit_id)
    assert (circuit.z_interface_id, circuit.z_vlan) == (handoff, 2)  # VLAN 1 is never given


def test_a_port_based_end_takes_the_slowest_whole_port_that_is_fast_enough(
    engine: Engine, diamond: Backbone
) -> None:
    one_gig = new_circuit(engine, diamond, 1, "NTE1", "CHO1", mbps=1000)
    ten_gig = new_circuit(engine, diamond, 2, "NTE1", "CHO1", mbps=5000)
    other_operator = new_circuit(
        engine, diamond, 3, "NTE1", "CHO1", mbps=100, operator=diamond.other_operator
    )

    for circuit_id in (one_gig, ten_gig, other_operator):
        design(engine, circuit_id)

    # Operator A's own hand-off first, then the spare 1G; the 5G circuit gets the spare 10G.
    first, second, third = (circuit_row(engine, c) for c in (one_gig, ten_gig, other_operator))
    assert (first.a_interface_id, first.a_vlan) == (diamond.port("NTE1", "eth12"), None)
    assert second.z_interface_id == diamond.port("CHO1", "eth10")
    assert third.a_interface_id == diamond.port("NTE1", "eth13")  # B's own hand-off


def test_no_free_port_is_a_conflict_naming_the_site(engine: Engine, diamond: Backbone) -> None:
    for number in (1, 2, 3):  # A's hand-off, the spare 1G and the spare 10G
        design(engine, new_circuit(engine, diamond, number, "NTE1", "CHO1", mbps=100))
    circuit_id = new_circuit(engine, diamond, 4, "NTE1", "CHO1")  # B's hand-off is not A's

    refused = refused_without_trace(engine, circuit_id, Conflict)

    assert refused.problems[0].field == "a_site_id"
    assert "no free port at site NTE1 for a port-based end of 1000 Mb/s" in refused.message


def test_both_ends_on_one_router_get_a_vni_and_no_path(engine: Engine, diamond: Backbone) -> None:
    local = new_circuit(
        engine, diamond, 1, "NTE1", "NTE1", a_interface_id=diamond.port("NTE1", "eth12"),
        z_interface_id=diamond.port("NTE1", "eth13"),
    )  # fmt: skip
    protected = new_circuit(
        engine, diamond, 2, "NTE1", "NTE1", protected=True,
        a_interface_id=diamond.port("NTE1", "eth10"), z_interface_id=diamond.port("NTE1", "eth11"),
    )  # fmt: skip

    assert design(engine, local) == FIRST_VNI

    assert hops(engine, local) == {}
    assert held(engine) == {}
    with session_scope(engine, read_only=True) as session:
        circuit = session.get(Circuit, local)
        assert circuit is not None
        view = design_of(session, circuit)
    assert view.working.links == []
    assert view.working.devices == ["nte1-cr1"]
    refused = refused_without_trace(engine, protected, InvalidInput)
    assert refused.problems[0].field == "protected"


# --- Refusals, atomicity ------------------------------------------------------------------


def test_only_a_reserved_ethernet_line_is_designed(engine: Engine, diamond: Backbone) -> None:
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1")
    design(engine, circuit_id)
    with session_scope(engine) as session:
        dark_fibre = service.create_object(
            session,
            service.CIRCUITS,
            CircuitCreate(
                ref="GIG-DF-000001",
                operator_id=diamond.operator,
                service_type=ServiceType.DARK_FIBRE,
                a_site_id=diamond.sites["NTE1"],
                z_site_id=diamond.sites["CHO1"],
            ),
        )
        dark_fibre_id = _id(dark_fibre)

    designed = refused_without_trace_any(engine, circuit_id)
    assert designed.problems[0].field == "status"
    assert "is designed already; undesign it to design it again" in designed.message
    wrong_kind = refused_without_trace_any(engine, dark_fibre_id)
    assert wrong_kind.problems[0].field == "service_type"


def refused_without_trace_any(engine: Engine, circuit_id: int) -> GigalisError:
    with session_scope(engine, actor=ACTOR) as session:
        before = snapshot(session)
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        with pytest.raises(InvalidInput) as refused:
            design_circuit(session, circuit, actor=ACTOR)
        assert snapshot(session) == before
    return refused.value


def test_a_failure_late_in_the_design_leaves_nothing(
    engine: Engine, diamond: Backbone, monkeypatch: pytest.MonkeyPatch
) -> None:
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1", protected=True)

    def fail(*_args: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(design_module, "_write_hops", fail)
    with session_scope(engine, actor=ACTOR) as session:
        before = snapshot(session)
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        with pytest.raises(RuntimeError):
            design_circuit(session, circuit, actor=ACTOR)
        assert snapshot(session) == before
        # The transaction is still usable: the caller may go on and commit other work.
        service.update_object(
            session, service.CIRCUITS, circuit_id, CircuitUpdate(description="still here")
        )
    assert held(engine) == {}
    assert circuit_row(engine, circuit_id).description == "still here"


def hold_by_hand(engine: Engine, backbone: Backbone, circuit_id: int, *codes: str) -> None:
    with session_scope(engine) as session:
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        for code in codes:
            service.hold_bandwidth(session, circuit, backbone.links[code])


def test_bandwidth_held_by_hand_is_taken_over(
    engine: Engine, diamond: Backbone, caplog: pytest.LogCaptureFixture
) -> None:
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1")
    # One link on the path the design takes, one off it.
    hold_by_hand(engine, diamond, circuit_id, "BL-NTE1-ANG1", "BL-LRY1-CHO1")

    with caplog.at_level(logging.INFO, logger="gigalis_nms.provisioning.design"):
        design(engine, circuit_id)

    assert hops(engine, circuit_id) == {PathRole.WORKING: VIA_ANGERS}
    assert held(engine) == dict.fromkeys(VIA_ANGERS, 1000)
    assert (
        "circuit GIG-ETH-000001: bandwidth held outside a design on "
        "['BL-LRY1-CHO1', 'BL-NTE1-ANG1'] released; designing afresh"
    ) in caplog.text
    assert circuit_row(engine, circuit_id).status is CircuitStatus.DESIGNED


def test_a_refused_design_keeps_the_bandwidth_held_by_hand(
    engine: Engine, diamond: Backbone
) -> None:
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1", protected=True)
    hold_by_hand(engine, diamond, circuit_id, "BL-LRY1-CHO1")
    narrow(engine, diamond, "BL-NTE1-LRY1", 500)

    refused_without_trace(engine, circuit_id, Conflict)

    assert held(engine) == {"BL-LRY1-CHO1": 1000}


def mark_designed(engine: Engine, circuit_id: int) -> None:
    """Record the circuit as designed without a design, as the inventory's files can."""
    with session_scope(engine) as session:
        update = CircuitUpdate(status=CircuitStatus.DESIGNED)
        service.update_object(session, service.CIRCUITS, circuit_id, update)


def test_a_designed_circuit_without_a_design_is_designed(engine: Engine, diamond: Backbone) -> None:
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1")
    hold_by_hand(engine, diamond, circuit_id, *VIA_LA_ROCHE)
    mark_designed(engine, circuit_id)

    assert design(engine, circuit_id) == FIRST_VNI

    assert hops(engine, circuit_id) == {PathRole.WORKING: VIA_ANGERS}
    assert held(engine) == dict.fromkeys(VIA_ANGERS, 1000)
    circuit = circuit_row(engine, circuit_id)
    assert circuit.status is CircuitStatus.DESIGNED
    assert circuit.a_interface_id is not None
    assert circuit.z_interface_id is not None


def test_the_shipped_circuits_without_a_design_are_designed(engine: Engine) -> None:
    load_inventory(engine, ROOT / "inventory", actor="test:loader")
    with session_scope(engine, read_only=True) as session:
        refs = {"GIG-ETH-000017": CircuitStatus.DESIGNED, "GIG-ETH-000018": CircuitStatus.RESERVED}
        circuits = {
            ref: session.exec(select(Circuit).where(col(Circuit.ref) == ref)).one() for ref in refs
        }
    assert {ref: circuit.status for ref, circuit in circuits.items()} == refs

    for circuit in circuits.values():
        design(engine, _id(circuit))

    for ref, circuit in circuits.items():
        paths = hops(engine, _id(circuit))
        assert paths[PathRole.WORKING], ref
        with session_scope(engine, read_only=True) as session:
            holdings = session.exec(
                select(BackboneLink.code, BandwidthHolding.bandwidth_mbps)
                .join(BandwidthHolding, col(BandwidthHolding.backbone_link_id) == BackboneLink.id)
                .where(col(BandwidthHolding.circuit_id) == circuit.id)
            ).all()
        assert sorted(holdings) == sorted(
            (code, circuit.bandwidth_mbps) for code in paths[PathRole.WORKING]
        )
        assert circuit_row(engine, _id(circuit)).status is CircuitStatus.DESIGNED


# --- VNIs and release ---------------------------------------------------------------------


def test_vnis_are_the_smallest_free_and_unique(engine: Engine, diamond: Backbone) -> None:
    circuits = [new_circuit(engine, diamond, n, "NTE1", "CHO1", mbps=100) for n in (1, 2, 3)]

    assert [design(engine, c) for c in circuits] == [FIRST_VNI, FIRST_VNI + 1, FIRST_VNI + 2]

    with session_scope(engine) as session:
        middle = session.get(Circuit, circuits[1])
        assert middle is not None
        release_design(session, middle)
        assert smallest_free_vni(session) == FIRST_VNI + 1
    assert design(engine, circuits[1]) == FIRST_VNI + 1


def test_release_gives_back_the_bandwidth_and_keeps_the_ends(
    engine: Engine, diamond: Backbone
) -> None:
    handoff = diamond.port("NTE1", "eth12")
    circuit_id = new_circuit(
        engine, diamond, 1, "NTE1", "CHO1", protected=True, a_interface_id=handoff, a_vlan=100
    )
    other = new_circuit(engine, diamond, 2, "NTE1", "CHO1", mbps=300)
    design(engine, other)
    before = held(engine)
    design(engine, circuit_id)
    assert held(engine) != before

    for _ in range(2):  # idempotent
        with session_scope(engine, actor=ACTOR) as session:
            circuit = session.get(Circuit, circuit_id)
            assert circuit is not None
            release_design(session, circuit)

    assert held(engine) == before
    assert hops(engine, circuit_id) == {}
    circuit = circuit_row(engine, circuit_id)
    assert circuit.status is CircuitStatus.RESERVED
    assert circuit.z_interface_id is not None  # the port given by the design stays
    with session_scope(engine, read_only=True) as session:
        assert (
            session.exec(
                select(CircuitDesign).where(col(CircuitDesign.circuit_id) == circuit_id)
            ).all()
            == []
        )
        vlans = session.exec(
            select(VlanHolding.interface_id).where(col(VlanHolding.circuit_id) == circuit_id)
        ).all()
        assert sorted(vlans) == sorted([handoff, circuit.z_interface_id])
        with pytest.raises(NotFound):
            design_of(session, circuit)
    assert design(engine, circuit_id) == FIRST_VNI + 1  # designed again, same free VNI


def test_describe_design_prints_both_paths(engine: Engine, diamond: Backbone) -> None:
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1", protected=True)
    design(engine, circuit_id)

    with session_scope(engine, read_only=True) as session:
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        view = design_of(session, circuit)
    text_ = describe_design(view)

    DesignView.model_validate(view.model_dump())
    assert text_.splitlines()[0] == ("GIG-ETH-000001: VNI 10000, 1000 Mb/s, shortest by IGP metric")
    assert "working  nte1-cr1 =BL-NTE1-ANG1=> ang1-cr1 =BL-ANG1-CHO1=> cho1-cr1" in text_
    assert "protect  nte1-cr1 =BL-NTE1-LRY1=> lry1-cr1 =BL-LRY1-CHO1=> cho1-cr1" in text_
    assert "2 links, 45.0 km, IGP 60, cables C-LRY1-CHO1, C-NTE1-LRY1" in text_


# --- Undesign -----------------------------------------------------------------------------


def undesign(engine: Engine, circuit_id: int) -> None:
    with session_scope(engine, actor=ACTOR) as session:
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        undesign_circuit(session, circuit)


def designs_of(engine: Engine, circuit_id: int) -> list[CircuitDesign]:
    with session_scope(engine, read_only=True) as session:
        return list(
            session.exec(select(CircuitDesign).where(col(CircuitDesign.circuit_id) == circuit_id))
        )


def vlans_of(engine: Engine, circuit_id: int) -> list[tuple[int, int]]:
    with session_scope(engine, read_only=True) as session:
        rows = session.exec(
            select(VlanHolding.interface_id, VlanHolding.vlan).where(
                col(VlanHolding.circuit_id) == circuit_id
            )
        ).all()
    return sorted((port, vlan) for port, vlan in rows)


def test_undesign_takes_a_designed_circuit_back_to_reserved(
    engine: Engine, diamond: Backbone
) -> None:
    handoff = diamond.port("NTE1", "eth12")
    circuit_id = new_circuit(
        engine, diamond, 1, "NTE1", "CHO1", protected=True, a_interface_id=handoff, a_vlan=100
    )
    design(engine, circuit_id)
    ends = vlans_of(engine, circuit_id)

    undesign(engine, circuit_id)

    circuit = circuit_row(engine, circuit_id)
    assert circuit.status is CircuitStatus.RESERVED
    assert (designs_of(engine, circuit_id), hops(engine, circuit_id), held(engine)) == ([], {}, {})
    assert vlans_of(engine, circuit_id) == ends  # the ends keep their ports and VLANs
    with session_scope(engine, read_only=True) as session:
        assert smallest_free_vni(session) == FIRST_VNI
    assert design(engine, circuit_id) == FIRST_VNI


def test_undesign_releases_bandwidth_held_by_hand(engine: Engine, diamond: Backbone) -> None:
    reserved = new_circuit(engine, diamond, 1, "NTE1", "CHO1")
    hold_by_hand(engine, diamond, reserved, "BL-NTE1-ANG1")
    without_design = new_circuit(engine, diamond, 2, "NTE1", "CHO1")
    hold_by_hand(engine, diamond, without_design, *VIA_LA_ROCHE)
    mark_designed(engine, without_design)

    for circuit_id in (reserved, without_design):
        undesign(engine, circuit_id)

    assert held(engine) == {}
    assert [circuit_row(engine, c).status for c in (reserved, without_design)] == [
        CircuitStatus.RESERVED,
        CircuitStatus.RESERVED,
    ]
    undesign(engine, reserved)  # nothing left: nothing to do


def test_undesign_refuses_a_circuit_on_the_routers(engine: Engine, diamond: Backbone) -> None:
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1")
    design(engine, circuit_id)
    with session_scope(engine) as session:
        for status in (CircuitStatus.PROVISIONING, CircuitStatus.ACTIVE):
            update = CircuitUpdate(status=status)
            service.update_object(session, service.CIRCUITS, circuit_id, update)

    with session_scope(engine, actor=ACTOR) as session:
        before = snapshot(session)
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        with pytest.raises(InvalidInput) as refused:
            undesign_circuit(session, circuit)
        assert snapshot(session) == before

    assert refused.value.problems[0].field == "status"
    assert refused.value.message == (
        "status: circuit GIG-ETH-000001 is active: it is configured on the routers, so "
        "deprovision it instead"
    )
    assert hops(engine, circuit_id) == {PathRole.WORKING: VIA_ANGERS}


def test_undesign_refuses_a_terminated_circuit(engine: Engine, diamond: Backbone) -> None:
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1")
    with session_scope(engine) as session:
        update = CircuitUpdate(status=CircuitStatus.TERMINATED)
        service.update_object(session, service.CIRCUITS, circuit_id, update)

    with pytest.raises(InvalidInput) as refused:
        undesign(engine, circuit_id)

    assert refused.value.problems[0].field == "status"
    assert "is terminated" in refused.value.message


# --- End ports given by hand --------------------------------------------------------------


def test_bandwidth_above_an_end_ports_speed_is_refused(engine: Engine, diamond: Backbone) -> None:
    one_gig = diamond.port("NTE1", "eth11")
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1", mbps=5000, a_interface_id=one_gig)

    refused = refused_without_trace(engine, circuit_id, InvalidInput)

    assert refused.message == (
        "bandwidth_mbps: 5000 Mb/s is more than the A end port nte1-cr1 eth11 runs at (1000 Mb/s)"
    )


def disable(engine: Engine, port_id: int) -> None:
    with session_scope(engine) as session:
        update = InterfaceUpdate(enabled=False)
        service.update_object(session, service.INTERFACES, port_id, update)


def test_a_disabled_end_port_is_refused(engine: Engine, diamond: Backbone) -> None:
    port = diamond.port("CHO1", "eth10")
    disable(engine, port)
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1", z_interface_id=port)

    refused = refused_without_trace(engine, circuit_id, InvalidInput)

    assert refused.message == "z_interface_id: cho1-cr1 eth10 is disabled (enabled: false)"


def test_a_backbone_port_is_refused_as_an_end(engine: Engine, diamond: Backbone) -> None:
    backbone_port = diamond.port("NTE1", "eth-bb1")
    circuit_id = new_circuit(engine, diamond, 1, "NTE1", "CHO1", a_interface_id=backbone_port)

    refused = refused_without_trace(engine, circuit_id, InvalidInput)

    assert refused.problems[0].field == "a_interface_id"
    assert "nte1-cr1 eth-bb1 ends backbone link BL-NTE1-ANG1" in refused.message


def test_a_vlan_end_on_a_port_taken_whole_is_refused(engine: Engine, diamond: Backbone) -> None:
    port = diamond.port("NTE1", "eth10")
    new_circuit(engine, diamond, 1, "NTE1", "CHO1", a_interface_id=port)  # port-based
    circuit_id = new_circuit(engine, diamond, 2, "NTE1", "CHO1", a_interface_id=port, a_vlan=200)

    refused = refused_without_trace(engine, circuit_id, Conflict)

    assert refused.message == (
        "a_interface_id: nte1-cr1 eth10 is taken whole by the port-based circuit "
        "GIG-ETH-000001; a VLAN-based end cannot share it"
    )


def test_a_port_based_end_on_a_port_with_vlans_is_refused(
    engine: Engine, diamond: Backbone
) -> None:
    handoff = diamond.port("CHO1", "eth12")
    vlan_circuit = new_circuit(
        engine, diamond, 1, "NTE1", "CHO1", z_interface_id=handoff, z_vlan=300
    )
    circuit_id = new_circuit(engine, diamond, 2, "NTE1", "CHO1", z_interface_id=handoff)

    refused = refused_without_trace(engine, circuit_id, Conflict)

    assert refused.message == (
        "z_interface_id: cho1-cr1 eth12 carries circuit GIG-ETH-000001 (VLAN 300); a "
        "port-based end takes the whole port"
    )
    with session_scope(engine) as session:  # a terminated circuit is no longer there
        update = CircuitUpdate(status=CircuitStatus.TERMINATED)
        service.update_object(session, service.CIRCUITS, vlan_circuit, update)
    design(engine, circuit_id)


def test_both_port_based_ends_on_one_port_are_refused(engine: Engine, diamond: Backbone) -> None:
    port = diamond.port("NTE1", "eth10")
    circuit_id = new_circuit(
        engine, diamond, 1, "NTE1", "NTE1", a_interface_id=port, z_interface_id=port
    )

    refused = refused_without_trace(engine, circuit_id, Conflict)

    assert refused.problems[0].field == "a_interface_id"
    assert "nte1-cr1 eth10 is also the Z end of circuit GIG-ETH-000001" in refused.message


# --- Inventory changes to designed circuits -----------------------------------------------


def api_design(engine: Engine, circuit_id: int) -> None:
    with session_scope(engine, actor=ACTOR) as session:
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        design_circuit(session, circuit, actor=ACTOR)


def refusal(response: Any, status: int, field: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert [problem["field"] for problem in error["problems"]] == [field], response.text
    message: str = error["message"]
    return message


def test_terminating_a_designed_circuit_frees_its_design(
    engine: Engine, api: Api, inventory: Inventory
) -> None:
    circuit_id = inventory.circuit_a
    api_design(engine, circuit_id)
    assert designs_of(engine, circuit_id) != []

    response = api.patch("noc", f"{V1}/circuits/{circuit_id}", json={"status": "terminated"})

    assert response.status_code == 200, response.text
    assert (designs_of(engine, circuit_id), hops(engine, circuit_id), held(engine)) == ([], {}, {})
    with session_scope(engine, read_only=True) as session:
        assert smallest_free_vni(session) == FIRST_VNI
        deleted = session.connection().execute(
            text("SELECT entity FROM audit_entry WHERE action = 'delete'")
        )
        assert {"circuit_design", "circuit_hop"} <= set(deleted.scalars())


def test_moving_a_designed_circuits_end_is_refused(
    engine: Engine, api: Api, inventory: Inventory
) -> None:
    circuit_id = inventory.circuit_a
    path = f"{V1}/circuits/{circuit_id}"
    api_design(engine, circuit_id)
    ends = vlans_of(engine, circuit_id)

    moved = api.patch("noc", path, json={"a_interface_id": inventory.ports["a3"]})
    other_port = api.patch("noc", path, json={"z_interface_id": inventory.ports["b3"], "z_vlan": 7})

    message = refusal(moved, 422, "a_interface_id")
    assert message == (
        "a_interface_id: circuit GIG-ETH-000001 is designed: undesign it (or deprovision it) "
        "before moving its ends"
    )
    refusal(other_port, 422, "z_interface_id")
    circuit = circuit_row(engine, circuit_id)
    assert (circuit.a_interface_id, circuit.z_interface_id, circuit.z_vlan) == (
        inventory.ports["a1"],
        inventory.ports["b1"],
        100,
    )
    assert vlans_of(engine, circuit_id) == ends
    assert hops(engine, circuit_id) == {PathRole.WORKING: ["BL-NTE1-ANG1"]}

    undesign(engine, circuit_id)
    again = api.patch("noc", path, json={"a_interface_id": inventory.ports["a3"]})
    assert again.status_code == 200, again.text


def test_moving_a_designed_circuits_site_is_refused_whoever_writes_it(
    engine: Engine, inventory: Inventory
) -> None:
    api_design(engine, inventory.circuit_b)  # without ports: the design gives them

    with session_scope(engine) as session:
        circuit = session.get(Circuit, inventory.circuit_b)
        assert circuit is not None
        circuit.z_site_id, circuit.z_interface_id = inventory.site_b, None
        with pytest.raises(InvalidInput) as refused:
            session.flush()
        session.rollback()

    assert refused.value.problems[0].field == "z_site_id"
    assert circuit_row(engine, inventory.circuit_b).z_site_id == inventory.site_a


def test_other_changes_to_a_designed_circuit_keep_its_design(
    engine: Engine, api: Api, inventory: Inventory
) -> None:
    circuit_id = inventory.circuit_a
    path = f"{V1}/circuits/{circuit_id}"
    api_design(engine, circuit_id)

    same_port = api.patch("noc", path, json={"a_interface_id": inventory.ports["a1"]})
    resized = api.patch("noc", path, json={"bandwidth_mbps": 400, "description": "bigger"})
    too_big = api.patch("noc", path, json={"bandwidth_mbps": 2000})

    assert same_port.status_code == 200, same_port.text
    assert resized.status_code == 200, resized.text
    refusal(too_big, 409, "bandwidth_mbps")
    assert hops(engine, circuit_id) == {PathRole.WORKING: ["BL-NTE1-ANG1"]}
    assert held(engine) == {"BL-NTE1-ANG1": 400}  # the holding on the hop's link followed
    assert len(designs_of(engine, circuit_id)) == 1


# --- The real network ---------------------------------------------------------------------


def test_a_circuit_across_the_gigalis_backbone(engine: Engine) -> None:
    load_inventory(engine, ROOT / "inventory", actor="test:loader")
    with session_scope(engine, actor="test:builders") as session:
        operator = session.exec(
            select(Organisation).where(col(Organisation.name) == "Covage")
        ).one()
        sites = {site.code: _id(site) for site in session.exec(select(Site))}
        made = [
            service.create_object(
                session,
                service.CIRCUITS,
                CircuitCreate(
                    ref=f"GIG-ETH-09000{number}",
                    operator_id=_id(operator),
                    service_type=ServiceType.ETHERNET_ELINE,
                    a_site_id=sites["NTE1"],
                    z_site_id=sites["LHB1"],
                    bandwidth_mbps=1000,
                    protected=protected,
                ),
            )
            for number, protected in ((1, False), (2, True))
        ]
        ids = [_id(circuit) for circuit in made]
    before = held(engine)

    for circuit_id in ids:
        design(engine, circuit_id)

    plain, protected = (hops(engine, circuit_id) for circuit_id in ids)
    assert len(plain[PathRole.WORKING]) >= 2
    assert len(protected[PathRole.PROTECT]) >= 2
    with session_scope(engine, read_only=True) as session:
        circuit = session.get(Circuit, ids[1])
        assert circuit is not None
        view = design_of(session, circuit)
        ends = session.exec(
            select(Interface.name).where(
                col(Interface.id).in_([circuit.a_interface_id, circuit.z_interface_id])
            )
        ).all()
    assert view.protect is not None
    assert not set(view.working.cables) & set(view.protect.cables)
    assert view.working.devices[0].startswith("nte1-")
    assert view.working.devices[-1] == "lhb1-ar1"
    assert len(ends) == 2
    after = held(engine)
    for code in plain[PathRole.WORKING]:
        assert after[code] >= before.get(code, 0) + 1000


# --- Concurrency --------------------------------------------------------------------------


def race(engine: Engine, circuit_ids: list[int]) -> list[BaseException | None]:
    """Design the circuits at once, each in its own transaction; each one's exception or None.

    As in test_holdings_concurrency: on PostgreSQL both transactions are open (each has read
    its circuit) before either designs; SQLite serializes them from BEGIN IMMEDIATE.
    """
    start = threading.Barrier(len(circuit_ids), timeout=WAIT_S)
    inside = threading.Barrier(len(circuit_ids), timeout=WAIT_S)
    overlap = engine.dialect.name == "postgresql"
    outcomes: list[BaseException | None] = [None] * len(circuit_ids)

    def run(index: int, circuit_id: int) -> None:
        try:
            start.wait()
            with session_scope(engine, actor=f"test:racer{index}") as session:
                if overlap:
                    session.connection().execute(text("SET LOCAL lock_timeout = '20s'"))
                circuit = session.get(Circuit, circuit_id)
                assert circuit is not None
                if overlap:
                    inside.wait()
                design_circuit(session, circuit, actor=f"test:racer{index}")
        except BaseException as error:  # every outcome goes to the test
            outcomes[index] = error

    threads = [
        threading.Thread(target=run, args=(index, circuit_id), daemon=True)
        for index, circuit_id in enumerate(circuit_ids)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * WAIT_S)
    assert not any(thread.is_alive() for thread in threads), "a racer is stuck"
    return outcomes


def meet_after_reading(monkeypatch: pytest.MonkeyPatch, engine: Engine, name: str) -> None:
    """On PostgreSQL, make the two racers meet after their first call of ``name`` in the
    design module, so that both have read the same state before either writes: the race
    is then certain, not left to timing. (SQLite serializes them: nothing to meet.)"""
    if engine.dialect.name != "postgresql":
        return
    original = getattr(design_module, name)
    meeting = threading.Barrier(2, timeout=WAIT_S)
    met = threading.local()

    def read_then_meet(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not getattr(met, "done", False):
            met.done = True
            meeting.wait()
        return result

    monkeypatch.setattr(design_module, name, read_then_meet)


CHAIN_CABLES: list[Cable] = [("C-NTE1-ANG1", "NTE1", "ANG1", 90)]
CHAIN_LINKS: list[Link] = [("BL-NTE1-ANG1", "NTE1", "ANG1", 10, 1000, ["C-NTE1-ANG1"])]


def test_the_last_capacity_of_a_link_goes_to_one_design(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = build_backbone(engine, CHAIN_CABLES, CHAIN_LINKS)
    racers = [new_circuit(engine, chain, n, "NTE1", "ANG1", mbps=600) for n in (1, 2)]
    meet_after_reading(monkeypatch, engine, "backbone_edges")

    outcomes = race(engine, racers)

    losers = [outcome for outcome in outcomes if outcome is not None]
    assert len(losers) == 1, outcomes
    assert isinstance(losers[0], Conflict), repr(losers[0])
    assert "link BL-NTE1-ANG1 has only 400 Mb/s free" in losers[0].message
    assert held(engine) == {"BL-NTE1-ANG1": 600}
    statuses = sorted(circuit_row(engine, c).status for c in racers)
    assert statuses == [CircuitStatus.DESIGNED, CircuitStatus.RESERVED]
    loser = racers[outcomes.index(losers[0])]
    assert hops(engine, loser) == {}
    assert circuit_row(engine, loser).z_interface_id is None


def test_a_design_that_loses_the_short_path_takes_the_long_one(
    engine: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = [(code, a, z, igp, 1000, cables) for code, a, z, igp, _, cables in DIAMOND_LINKS]
    diamond = build_backbone(engine, DIAMOND_CABLES, links)
    racers = [new_circuit(engine, diamond, n, "NTE1", "CHO1", mbps=600) for n in (1, 2)]
    meet_after_reading(monkeypatch, engine, "backbone_edges")

    with caplog.at_level(logging.INFO, logger="gigalis_nms.provisioning.design"):
        outcomes = race(engine, racers)

    assert outcomes == [None, None]
    if engine.dialect.name == "postgresql":  # both read the free link: the loser designs again
        assert "lost a race" in caplog.text
    paths = sorted(hops(engine, c)[PathRole.WORKING] for c in racers)
    assert paths == sorted([VIA_ANGERS, VIA_LA_ROCHE])
    assert held(engine) == dict.fromkeys(VIA_ANGERS + VIA_LA_ROCHE, 600)


def test_concurrent_designs_get_different_vnis(
    engine: Engine,
    diamond: Backbone,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Disjoint paths, so that the racers meet only at the VNI.
    racers = [
        new_circuit(engine, diamond, 1, "NTE1", "ANG1"),
        new_circuit(engine, diamond, 2, "LRY1", "CHO1"),
    ]
    meet_after_reading(monkeypatch, engine, "smallest_free_vni")

    with caplog.at_level(logging.INFO, logger="gigalis_nms.provisioning.design"):
        outcomes = race(engine, racers)

    assert outcomes == [None, None]
    if engine.dialect.name == "postgresql":  # both chose the same VNI; the loser took the next
        assert f"VNI {FIRST_VNI} was taken meanwhile" in caplog.text
    with session_scope(engine, read_only=True) as session:
        vnis = sorted(session.exec(select(CircuitDesign.vni)).all())
    assert vnis == [FIRST_VNI, FIRST_VNI + 1]
