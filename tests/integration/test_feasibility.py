"""Feasibility on both databases: qualified, short of capacity with alternatives, points
answered with their nearest PoP, holds that really hold capacity and expire, and the real
Gigalis network."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, InterfaceType, ServiceType
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import (
    BackboneLink,
    Circuit,
    CircuitCreate,
    Organisation,
    Site,
)
from gigalis_nms.ordering.feasibility import (
    QualificationBody,
    expire_holds,
    qualify,
    release_hold,
    take_held_circuit,
)
from gigalis_nms.ordering.models import HoldState, Qualification
from gigalis_nms.ordering.requests import Characteristic
from gigalis_nms.provisioning.design import design_circuit
from tests.integration import builders

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "test:feasibility"
# Each router's customer ports: spare 10G and 1G, and a hand-off to operator OPA.
CUSTOMER_PORTS = {
    "eth10": (InterfaceType.SFPP_10G, 10_000, "spare"),
    "eth11": (InterfaceType.SFP_1G, 1000, "spare"),
    "eth12": (InterfaceType.SFPP_10G, 10_000, "NNI OPA"),
}
# Nantes, Angers and a second Angers PoP 4 km away. Angers is reached only over a 1 Gb/s
# link; the other Angers PoP over 10 Gb/s.
SITES = {
    "NTE1": (47.2181, -1.5528),
    "ANG1": (47.4784, -0.5632),
    "ANG2": (47.5100, -0.5900),
    "CHO1": (47.0600, -0.8790),
}
LINKS = [
    ("BL-NTE1-ANG1", "NTE1", "ANG1", 1000),
    ("BL-NTE1-ANG2", "NTE1", "ANG2", 10_000),
    ("BL-NTE1-CHO1", "NTE1", "CHO1", 1000),
]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPOSITORY_CATALOGUE)


@pytest.fixture
def network(engine: Engine) -> dict[str, int]:
    """The small network; ids by name: the operators, then the links by code."""
    with session_scope(engine, actor=ACTOR) as session:
        made = {
            "opa": _id(builders.organisation(session, "Opérateur A", arcep_code="OPA")),
            "opb": _id(builders.organisation(session, "Opérateur B", arcep_code="OPB")),
        }
        routers = {}
        for code, (latitude, longitude) in SITES.items():
            site = builders.site(session, code, latitude=latitude, longitude=longitude)
            made[code] = _id(site)
            routers[code] = builders.device(session, f"{code.lower()}-cr1", site)
            for name, (kind, speed, description) in CUSTOMER_PORTS.items():
                builders.interface(
                    session,
                    routers[code],
                    name,
                    type=kind,
                    speed_mbps=speed,
                    description=description,
                )
        for number, (code, a, z, capacity) in enumerate(LINKS):
            ends = [
                builders.interface(session, routers[site], f"eth-bb{number}", description=code)
                for site in (a, z)
            ]
            made[code] = _id(builders.link(session, code, ends[0], ends[1], capacity))
    return made


def _id(obj: Any) -> int:
    assert obj.id is not None
    return int(obj.id)


def body(
    offer: str, a: dict[str, Any], z: dict[str, Any] | None, **extra: Any
) -> QualificationBody:
    places = [{"role": "A", **a}] + ([] if z is None else [{"role": "Z", **z}])
    return QualificationBody.model_validate(
        {
            **extra,
            "productOfferingQualificationItem": [
                {"id": "1", "productOffering": {"id": offer}, "product": {"place": places}}
            ],
        }
    )


def run(
    engine: Engine,
    catalogue: Catalogue,
    request: QualificationBody,
    operator_id: int,
    hold_minutes: int = 120,
) -> dict[str, Any]:
    with session_scope(engine, actor=ACTOR) as session:
        qualification = qualify(
            session,
            catalogue,
            request,
            operator_id=operator_id,
            actor=ACTOR,
            now=utcnow(),
            hold_minutes=hold_minutes,
        )
        return qualification.answer


def item(answer: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = answer["productOfferingQualificationItem"][0]
    return found


def held_mbps(engine: Engine, link_id: int) -> int:
    with session_scope(engine, read_only=True) as session:
        link = session.get(BackboneLink, link_id)
        assert link is not None
        return link.held_mbps


def fill(engine: Engine, network: dict[str, int], mbps: int) -> None:
    """A designed circuit of ``mbps`` from NTE1 to ANG1, holding that much of their link."""
    with session_scope(engine, actor=ACTOR) as session:
        circuit = service.create_object(
            session,
            service.CIRCUITS,
            CircuitCreate(
                ref="GIG-ETH-000900",
                operator_id=network["opb"],
                service_type=ServiceType.ETHERNET_ELINE,
                a_site_id=network["NTE1"],
                z_site_id=network["ANG1"],
                bandwidth_mbps=mbps,
            ),
        )
        design_circuit(session, circuit, actor=ACTOR)


NTE1, ANG1, ANG2 = {"id": "NTE1"}, {"id": "ANG1"}, {"id": "ANG2"}


# --- Answers --------------------------------------------------------------------------------


def test_an_eline_with_room_is_qualified_and_priced(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    answer = run(engine, catalogue, body("eline-1g", NTE1, ANG1), network["opa"])

    assert answer["state"] == "done"
    assert answer["qualificationResult"] == "qualified"
    found = item(answer)
    assert found["qualificationItemResult"] == "qualified"
    assert "eligibilityUnavailabilityReason" not in found
    monthly = found["itemPrice"][1]["price"]
    assert monthly["dutyFreeAmount"] == {"unit": "EUR", "value": 600.0}
    assert monthly["taxIncludedAmount"] == {"unit": "EUR", "value": 720.0}
    assert held_mbps(engine, network["BL-NTE1-ANG1"]) == 0  # no hold asked: nothing held


def test_a_nearly_full_link_is_named_with_a_lower_bandwidth_and_another_pop(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    fill(engine, network, 600)

    answer = run(engine, catalogue, body("eline-1g", NTE1, ANG1), network["opa"])

    assert answer["qualificationResult"] == "alternate"
    found = item(answer)
    assert found["eligibilityUnavailabilityReason"] == [
        {"code": "noCapacity", "label": "link BL-NTE1-ANG1 has only 400 Mb/s free"}
    ]
    proposals = {
        proposal["alternateProposalType"]: proposal
        for proposal in found["alternateProductOfferingProposal"]
    }
    assert proposals["lowerBandwidth"]["productOffering"]["id"] == "eline-100m"
    assert proposals["otherSite"]["productOffering"]["id"] == "eline-1g"
    places = proposals["otherSite"]["product"]["place"]
    assert [(place["role"], place["id"]) for place in places] == [("A", "NTE1"), ("Z", "ANG2")]
    assert "laterDate" not in proposals  # the circuit filling the link has no end date
    assert "itemPrice" not in found  # only what is qualified is priced


def test_alternatives_say_why_in_terms_of_the_capacity_short(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    fill(engine, network, 600)

    answer = run(engine, catalogue, body("eline-1g", NTE1, ANG1), network["opa"])

    descriptions = {
        proposal["alternateProposalType"]: proposal["description"]
        for proposal in item(answer)["alternateProductOfferingProposal"]
    }
    short = "link BL-NTE1-ANG1 has only 400 Mb/s free"
    assert descriptions["lowerBandwidth"] == f"{short}; 100 Mb/s fits"
    assert descriptions["otherSite"].startswith(f"{short}; 1 Gb/s fits from ANG2 instead of ANG1 (")


def test_a_missing_port_is_what_the_lower_bandwidth_proposal_names(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    answer = run(engine, catalogue, body("eline-100g", NTE1, ANG2), network["opa"])

    found = item(answer)
    assert [reason["label"] for reason in found["eligibilityUnavailabilityReason"]] == [
        "no free port at site NTE1 for a VLAN-based end of 100 Gb/s",
        "no free port at site ANG2 for a VLAN-based end of 100 Gb/s",
    ]
    [proposal] = found["alternateProductOfferingProposal"]
    assert proposal["productOffering"]["id"] == "eline-10g"
    # The ports were short, not the links: no word of free capacity.
    assert proposal["description"] == "no free 100 Gb/s port at NTE1 or at ANG2; 10 Gb/s fits"


def test_another_pop_is_never_the_site_of_the_other_end(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    fill(engine, network, 600)  # ANG1 is left 400 Mb/s; ANG2, 4 km away, is the other end
    near_angers_1 = {"latitude": 47.4790, "longitude": -0.5640}

    for request in (
        body("eline-1g", ANG1, ANG2),
        body("eline-1g", ANG2, ANG1),
        body("eline-1g", ANG2, near_angers_1),  # a point served by ANG1
    ):
        found = item(run(engine, catalogue, request, network["opa"]))

        assert found["eligibilityUnavailabilityReason"][0]["code"] == "noCapacity"
        proposals = found["alternateProductOfferingProposal"]
        for proposal in proposals:
            places = [place["id"] for place in proposal["product"]["place"]]
            assert places[0] != places[1], proposal
        # No PoP near ANG1 or ANG2 but each other: only the lower bandwidth is left.
        assert [proposal["alternateProposalType"] for proposal in proposals] == ["lowerBandwidth"]


def test_a_point_far_from_every_pop_is_unqualified_with_the_nearest_named(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    paris = {"@type": "GeographicPoint", "latitude": 48.8566, "longitude": 2.3522}

    for offer in ("dark-fibre-lease", "eline-100m"):
        request = body(offer, NTE1, paris, holdCapacity=True)
        answer = run(engine, catalogue, request, network["opa"])

        assert answer["qualificationResult"] == "unqualified"
        found = item(answer)
        z = found["product"]["place"][1]
        assert z["id"] == "ANG2"  # the nearest PoP, still named, with its distance
        assert 250_000 < z["distanceM"] < 300_000
        [reason] = found["eligibilityUnavailabilityReason"]
        assert reason["code"] == "noPop"
        km = z["distanceM"] / 1000
        assert reason["label"].startswith(
            f"no PoP within 20 km of the point; the nearest is ANG2 at {km:.1f} km"
        )
        assert "alternateProductOfferingProposal" not in found
        assert "itemPrice" not in found
        assert "expirationDate" not in answer  # nothing held
        assert held_qualification(engine, answer).reason == f"noPop: {reason['label']}"
    with session_scope(engine, read_only=True) as session:
        assert session.exec(select(func.count()).select_from(Circuit)).one() == 0


def test_without_alternatives_asked_the_answer_is_unqualified(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    fill(engine, network, 600)

    request = body("eline-1g", NTE1, ANG1, provideAlternative=False)
    answer = run(engine, catalogue, request, network["opa"])

    assert answer["qualificationResult"] == "unqualified"
    assert "alternateProductOfferingProposal" not in item(answer)


def test_a_point_is_answered_with_its_nearest_pop_and_distance(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    near_angers_2 = {"@type": "GeographicPoint", "latitude": 47.52, "longitude": -0.59}

    answer = run(engine, catalogue, body("eline-100m", NTE1, near_angers_2), network["opa"])

    assert answer["qualificationResult"] == "qualified"
    z = item(answer)["product"]["place"][1]
    assert (z["role"], z["id"]) == ("Z", "ANG2")
    assert 1000 < z["distanceM"] < 1200  # 0.01° of latitude: 1.11 km


def test_a_site_without_router_or_free_port_is_named(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    with session_scope(engine, actor=ACTOR) as session:
        builders.site(session, "LVL1", "53130", latitude=48.07, longitude=-0.77)

    answer = run(engine, catalogue, body("eline-100m", NTE1, {"id": "LVL1"}), network["opa"])
    assert item(answer)["eligibilityUnavailabilityReason"] == [
        {"code": "noRouter", "label": "site LVL1 has no active router"}
    ]

    answer = run(engine, catalogue, body("eline-100g", NTE1, ANG2), network["opa"])
    reasons = item(answer)["eligibilityUnavailabilityReason"]
    assert {reason["code"] for reason in reasons} == {"noPort"}
    assert "site NTE1" in reasons[0]["label"]


def test_unknown_offer_or_site_is_refused_naming_the_field_and_nothing_is_written(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    with pytest.raises(InvalidInput) as refused:
        run(engine, catalogue, body("eline-7g", NTE1, ANG1), network["opa"])
    assert refused.value.problems[0].field == (
        "productOfferingQualificationItem[0].productOffering.id"
    )
    with pytest.raises(InvalidInput) as refused:
        run(engine, catalogue, body("eline-1g", NTE1, {"id": "XXX9"}), network["opa"])
    assert refused.value.problems[0].field == (
        "productOfferingQualificationItem[0].product.place[1].id"
    )
    with session_scope(engine, read_only=True) as session:
        assert session.exec(select(func.count()).select_from(Qualification)).one() == 0


def test_dark_fibre_is_left_to_the_noc_when_a_free_pair_joins_the_sites(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    with session_scope(engine, actor=ACTOR) as session:
        owner = session.get(Organisation, network["opb"])
        assert owner is not None
        nte1 = session.get(Site, network["NTE1"])
        ang1 = session.get(Site, network["ANG1"])
        assert nte1 is not None
        assert ang1 is not None
        builders.cable(session, "C-NTE1-ANG1", nte1, ang1, owner)  # 12 km

    answer = run(engine, catalogue, body("dark-fibre-lease", NTE1, ANG1), network["opa"])
    found = item(answer)
    assert found["qualificationItemResult"] == "qualified"
    assert [reason["code"] for reason in found["eligibilityUnavailabilityReason"]] == [
        "notAutomated"
    ]
    # 12 km: second band, 12 × 70.00 a month
    assert found["itemPrice"][1]["price"]["dutyFreeAmount"]["value"] == 840.0

    answer = run(engine, catalogue, body("dark-fibre-lease", NTE1, ANG2), network["opa"])
    assert item(answer)["eligibilityUnavailabilityReason"][0]["code"] == "noPath"
    assert answer["qualificationResult"] == "unqualified"


# --- Holds --------------------------------------------------------------------------------


def held_qualification(engine: Engine, answer: dict[str, Any]) -> Qualification:
    with session_scope(engine, read_only=True) as session:
        qualification = session.get(Qualification, int(answer["id"]))
        assert qualification is not None
        return qualification


def test_a_hold_holds_the_capacity_until_it_expires(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    link = network["BL-NTE1-ANG1"]
    answer = run(engine, catalogue, body("eline-1g", NTE1, ANG1, holdCapacity=True), network["opa"])

    assert answer["qualificationResult"] == "qualified"
    assert "expirationDate" in answer
    assert item(answer)["heldCircuit"]["id"].startswith("GIG-ETH-")
    assert item(answer)["holdState"] == "held"
    assert held_mbps(engine, link) == 1000
    qualification = held_qualification(engine, answer)
    assert qualification.hold_state is HoldState.HELD

    # The capacity is really taken: the next one is told when it comes back.
    second = run(engine, catalogue, body("eline-1g", NTE1, ANG1), network["opa"])
    reasons = item(second)["eligibilityUnavailabilityReason"]
    assert reasons == [{"code": "noCapacity", "label": "link BL-NTE1-ANG1 has only 0 Mb/s free"}]
    later = [
        proposal
        for proposal in item(second)["alternateProductOfferingProposal"]
        if proposal["alternateProposalType"] == "laterDate"
    ]
    assert later[0]["alternateActivationDate"] == answer["expirationDate"]

    assert expire_holds(engine, utcnow()) == []  # not yet due
    assert expire_holds(engine, utcnow() + timedelta(hours=3)) == [qualification.id]
    assert expire_holds(engine, utcnow() + timedelta(hours=3)) == []  # once only
    assert held_mbps(engine, link) == 0
    expired = held_qualification(engine, answer)
    assert expired.hold_state is HoldState.EXPIRED
    assert expired.held_circuit_id is None  # the circuit was deleted
    # The stored answer (what GET serves) no longer links to the deleted circuit.
    stored = item(expired.answer)
    assert "heldCircuit" not in stored
    assert stored["holdState"] == "expired"
    expired_at = f"{qualification.hold_expires_at:%Y-%m-%dT%H:%M:%SZ}"
    assert stored["holdNote"] == (
        f"expired at {expired_at}; circuit {item(answer)['heldCircuit']['id']} was deleted "
        "and its capacity given back"
    )
    with session_scope(engine, read_only=True) as session:
        assert session.exec(select(func.count()).select_from(Circuit)).one() == 0


def test_only_the_owner_takes_a_held_circuit_and_only_once(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    answer = run(engine, catalogue, body("eline-1g", NTE1, ANG1, holdCapacity=True), network["opa"])
    number = int(answer["id"])

    def take(session: Session, operator: str, offer: str = "eline-1g") -> Circuit:
        return take_held_circuit(
            session, number, operator_id=network[operator], offering_id=offer, actor=ACTOR
        )

    with session_scope(engine, actor=ACTOR) as session, pytest.raises(NotFound) as refused:
        take(session, "opb")
    field = "productOfferingQualificationItem.productOfferingQualificationId"
    assert refused.value.problems[0].field == field
    with session_scope(engine, actor=ACTOR) as session, pytest.raises(InvalidInput):
        take(session, "opa", "eline-100m")
    with session_scope(engine, actor=ACTOR) as session:
        circuit = take(session, "opa")
        assert circuit.ref == item(answer)["heldCircuit"]["id"]
        assert circuit.status is CircuitStatus.DESIGNED
    ordered = item(held_qualification(engine, answer).answer)
    assert ordered["holdState"] == "ordered"
    assert ordered["heldCircuit"] == item(answer)["heldCircuit"]  # the circuit lives on
    with session_scope(engine, actor=ACTOR) as session, pytest.raises(InvalidInput) as refused:
        take(session, "opa")
    assert "already taken" in refused.value.message

    # An ordered hold does not expire: the order owns its capacity now.
    assert expire_holds(engine, utcnow() + timedelta(days=1)) == []
    assert held_mbps(engine, network["BL-NTE1-ANG1"]) == 1000


def test_an_expired_hold_cannot_be_taken_and_a_released_one_frees_its_capacity(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    request = body("eline-100m", NTE1, ANG1, holdCapacity=True)
    stale = run(engine, catalogue, request, network["opa"], hold_minutes=1)
    with session_scope(engine, actor=ACTOR) as session:
        row = session.get(Qualification, int(stale["id"]))
        assert row is not None
        row.hold_expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    with session_scope(engine, actor=ACTOR) as session, pytest.raises(InvalidInput) as refused:
        take_held_circuit(
            session,
            int(stale["id"]),
            operator_id=network["opa"],
            offering_id="eline-100m",
            actor=ACTOR,
        )
    assert "expired" in refused.value.message

    fresh = run(engine, catalogue, request, network["opa"])
    assert held_mbps(engine, network["BL-NTE1-ANG1"]) == 200
    with session_scope(engine, actor=ACTOR) as session:
        row = session.get(Qualification, int(fresh["id"]))
        assert row is not None
        assert release_hold(session, row, actor=ACTOR)
    assert held_mbps(engine, network["BL-NTE1-ANG1"]) == 100
    released = item(held_qualification(engine, fresh).answer)
    assert "heldCircuit" not in released
    assert released["holdState"] == "released"
    assert released["holdNote"].startswith("released at ")
    assert released["holdNote"].endswith(
        f"circuit {item(fresh)['heldCircuit']['id']} was deleted and its capacity given back"
    )


def test_a_hold_that_finds_no_room_answers_why(
    engine: Engine, catalogue: Catalogue, network: dict[str, int]
) -> None:
    fill(engine, network, 600)
    answer = run(engine, catalogue, body("eline-1g", NTE1, ANG1, holdCapacity=True), network["opa"])

    assert answer["qualificationResult"] == "alternate"
    assert "expirationDate" not in answer
    assert held_mbps(engine, network["BL-NTE1-ANG1"]) == 600


# --- The Gigalis network --------------------------------------------------------------------


@pytest.fixture
def gigalis(engine: Engine) -> int:
    """The real network; the id of an operator."""
    load_inventory(engine, ROOT / "inventory", actor="test")
    with session_scope(engine, read_only=True) as session:
        operator = session.exec(select(Organisation).where(Organisation.arcep_code == "ORNG")).one()
        return _id(operator)


def test_the_gigalis_network_qualifies_an_eline_and_a_point(
    engine: Engine, catalogue: Catalogue, gigalis: int
) -> None:
    answer = run(engine, catalogue, body("eline-1g", NTE1, {"id": "LMN1"}), gigalis)
    assert answer["qualificationResult"] == "qualified"

    near_angers = {"latitude": 47.47, "longitude": -0.55}
    answer = run(engine, catalogue, body("eline-100m", NTE1, near_angers), gigalis)
    z = item(answer)["product"]["place"][1]
    assert z["id"] == "ANG1"
    assert 0 < z["distanceM"] < 5000


def test_the_gigalis_network_holds_protected_capacity(
    engine: Engine, catalogue: Catalogue, gigalis: int
) -> None:
    request = body("eline-1g", NTE1, ANG1, holdCapacity=True)
    request.items[0].product.product_characteristic.append(
        Characteristic(name="protected", value=True)
    )
    answer = run(engine, catalogue, request, gigalis)

    assert answer["qualificationResult"] == "qualified"
    with session_scope(engine, read_only=True) as session:
        held = session.exec(select(func.sum(BackboneLink.held_mbps))).one()
    assert held is not None
    assert held >= 2000  # at least one link on each of two paths
