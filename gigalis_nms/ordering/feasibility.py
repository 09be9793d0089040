"""Feasibility (TMF679 productOfferingQualification): can an offer be delivered between two
places, and if not, why, and what could be delivered instead.

An E-Line is checked as design would build it (see :mod:`gigalis_nms.ordering.reach`): a
free port at both ends, then a path by IGP metric with the bandwidth free on every link (two
cable-disjoint paths when protected). When it cannot be, the answer says why
(``eligibilityUnavailabilityReason``: noRouter, noPort, noPath, noCapacity naming the links
short of room) and, when ``provideAlternative`` is true, proposes what could be instead:

1. the largest lower-bandwidth E-Line offer that fits the path with the most room;
2. the nearest other PoP, within 30 km of the asked site (20 km of the point asked), from
   which the offer is feasible, never the site of the other end;
3. the earliest time the capacity held on the short links is due back (holds expiring,
   temporary capacity ending).

Each alternative's description starts with what is short (no port of that speed at a site,
a link without the room) and says what fits instead.

The result is qualified, else alternate when anything is proposed, else unqualified. Dark
fibre, wavelengths and hosting need field work that the NOC checks when the order comes
(``notAutomated``): they are qualified when their sites exist and, for dark fibre, a fibre
route with a free strand pair joins them.

A point end (WGS84) is answered with its nearest PoP and the distance to it; a point farther
than :data:`MAX_POINT_DISTANCE_M` from every PoP is unqualified (``noPop``). With
``holdCapacity`` a qualified item opens a circuit as an order would (an E-Line designed at
once, its bandwidth held on every link) until the expiry; see :mod:`gigalis_nms.ordering.holds`.

One qualification checks one item: a Qualification row holds one offer and one pair of ends.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import Field
from sqlmodel import Session

from gigalis_nms.catalogue.models import Catalogue, EthernetOffer, OfferBase
from gigalis_nms.catalogue.tmf620 import offering_href
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.errors import Conflict, InvalidInput, NotFound
from gigalis_nms.inventory.enums import ServiceType
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.ordering.circuits import CircuitRequest, open_designed_circuit
from gigalis_nms.ordering.holds import (
    HELD_QUALIFICATION_FIELD,
    expire_holds,
    release_hold,
    take_held_circuit,
)
from gigalis_nms.ordering.models import HoldState, Qualification, QualificationResult
from gigalis_nms.ordering.parties import RelatedParty
from gigalis_nms.ordering.places import (
    SitePoint,
    nearest_pop,
    pops_near_point,
    pops_near_site,
    serving_pops,
)
from gigalis_nms.ordering.pricing import offer_price, price_item, tmf_prices
from gigalis_nms.ordering.reach import (
    EndRouter,
    Shortfall,
    end_router,
    free_pair_route_exists,
    mbps_text,
    path_shortfall,
    reachable_routers,
    release_times,
    room_from,
    routes_with_room,
    widest_room,
)
from gigalis_nms.ordering.requests import (
    End,
    GeoPoint,
    ItemAsk,
    ProductOfferingRef,
    ProductValue,
    TmfModel,
    read_item,
)
from gigalis_nms.provisioning.backbone import backbone_edges
from gigalis_nms.provisioning.paths import BackboneEdge
from gigalis_nms.provisioning.ports import FIRST_CUSTOMER_VLAN

logger = logging.getLogger(__name__)

__all__ = [
    "HELD_QUALIFICATION_FIELD",
    "QualificationBody",
    "expire_holds",
    "get_qualification",
    "list_qualifications",
    "qualify",
    "release_hold",
    "take_held_circuit",
]

BASE_PATH = "/tmf-api/productOfferingQualificationManagement/v4"
ITEM_FIELD = "productOfferingQualificationItem[0]"
# Another PoP is proposed only this close to the site asked: farther, the operator's own
# access to it changes too much for it to be the same request.
OTHER_POP_RADIUS_M = 30_000
# How many PoPs near the site are tried for the other-PoP alternative, nearest first: each
# costs a few queries, and the nearest feasible one is what is proposed.
OTHER_POP_TRIES = 8
# A point farther than this from its nearest PoP is not qualified: beyond it the last mile
# is a civil-works project (route survey, permits, trenching) quoted by hand, not an order.
MAX_POINT_DISTANCE_M = 20_000


class QualificationItemBody(TmfModel):
    id: str = Field(min_length=1, max_length=32)
    product_offering: ProductOfferingRef = Field(alias="productOffering")
    product: ProductValue


class QualificationBody(TmfModel):
    """A TMF679 productOfferingQualification request with one item."""

    description: str | None = Field(None, max_length=500)
    related_party: list[RelatedParty] = Field(
        default_factory=list, alias="relatedParty", max_length=5
    )
    provide_alternative: bool = Field(True, alias="provideAlternative")
    hold_capacity: bool = Field(
        False, alias="holdCapacity", description="Gigalis: hold what is qualified until expiry"
    )
    items: list[QualificationItemBody] = Field(
        alias="productOfferingQualificationItem", min_length=1, max_length=1
    )


# --- What one item gives ----------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """An end as checked: a site, and, for a point, how far the point is from it."""

    site_id: int
    code: str
    distance_m: int | None = None  # from the point asked, when one was
    point: GeoPoint | None = None  # the point asked, when one was


@dataclass(frozen=True)
class Alternative:
    kind: str  # lowerBandwidth, otherSite, laterDate
    offer: OfferBase
    a: Endpoint
    z: Endpoint | None
    description: str
    available_at: datetime | None = None


@dataclass
class Verdict:
    """The answer for one item."""

    shortfalls: list[Shortfall] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    qualified: bool = False

    @property
    def result(self) -> QualificationResult:
        if self.qualified:
            return QualificationResult.QUALIFIED
        if self.alternatives:
            return QualificationResult.ALTERNATE
        return QualificationResult.UNQUALIFIED


@dataclass(frozen=True)
class Check:
    """An item and its ends, ready to check."""

    ask: ItemAsk
    a: Endpoint
    z: Endpoint | None
    operator_id: int
    alternatives: bool
    now: datetime

    @property
    def vlan(self) -> int:
        """The VLAN an end is checked for: E-Lines are ordered VLAN-based on the operator's
        hand-offs, the lowest free VLAN when none is asked (as orders design them)."""
        return self.ask.a_vlan or self.ask.z_vlan or FIRST_CUSTOMER_VLAN


# --- Qualify ------------------------------------------------------------------------------


def qualify(
    session: Session,
    catalogue: Catalogue,
    body: QualificationBody,
    *,
    operator_id: int,
    actor: str,
    now: datetime,
    hold_minutes: int,
) -> Qualification:
    """Check ``body``'s item for ``operator_id``, hold it when asked and qualified, and store
    the request and the answer; InvalidInput naming the field, with nothing written, for a
    body that names an unknown offer or site."""
    item = body.items[0]
    ask = read_item(
        session, catalogue, item.product_offering, item.product, ITEM_FIELD, points_allowed=True
    )
    a = _endpoint(session, ask.a, f"{ITEM_FIELD}.product.place")
    z = None if ask.z is None else _endpoint(session, ask.z, f"{ITEM_FIELD}.product.place")
    check = Check(ask, a, z, operator_id, body.provide_alternative, now)
    verdict = evaluate(session, catalogue, check)

    qualification = Qualification(
        operator_id=operator_id,
        offering_id=ask.offer.id,
        a_site_id=a.site_id,
        z_site_id=None if z is None else z.site_id,
        bandwidth_mbps=ask.bandwidth_mbps,
        protected=ask.protected,
        result=verdict.result,
        hold_state=HoldState.NONE,
        request=body.model_dump(mode="json", by_alias=True, exclude_none=True),
        created_at=now,
        created_by=actor,
    )
    session.add(qualification)
    session.flush()
    held: Circuit | None = None
    if body.hold_capacity and verdict.qualified:
        held, verdict = _hold(
            session,
            catalogue,
            check,
            qualification=qualification,
            actor=actor,
            hold_minutes=hold_minutes,
        )

    qualification.result = verdict.result
    qualification.reason = _reason_text(verdict)
    qualification.answer = json_ready(
        qualification_document(
            session, catalogue, qualification, body=body, check=check, verdict=verdict, held=held
        )
    )
    session.add(qualification)
    session.flush()
    logger.info(
        "qualification %s: %s %s for organisation %s: %s%s",
        qualification.id,
        ask.offer.id,
        _ends_text(check),
        operator_id,
        verdict.result,
        f" ({qualification.reason})" if qualification.reason else "",
    )
    return qualification


def _endpoint(session: Session, end: End, field: str) -> Endpoint:
    if end.point is None:
        assert end.site_id is not None
        assert end.site_code is not None
        return Endpoint(end.site_id, end.site_code)
    try:
        pop = nearest_pop(session, end.point.latitude, end.point.longitude)
    except NotFound:
        raise InvalidInput.of(field, "no PoP serves any point yet") from None
    return Endpoint(pop.site_id, pop.code, pop.distance_m, end.point)


def _ends_text(check: Check) -> str:
    return check.a.code if check.z is None else f"{check.a.code}-{check.z.code}"


def _reason_text(verdict: Verdict) -> str | None:
    text = "; ".join(f"{item.code}: {item.label}" for item in verdict.shortfalls)
    return text[:2000] or None


def evaluate(session: Session, catalogue: Catalogue, check: Check) -> Verdict:
    """Whether the item can be delivered as asked, why not, and what could be instead."""
    too_far = [_no_pop(end) for end in (check.a, check.z) if end is not None and _beyond_reach(end)]
    if too_far:
        return Verdict(too_far)
    if check.ask.service_type is ServiceType.ETHERNET_ELINE:
        return _evaluate_eline(session, catalogue, check)
    return _evaluate_by_hand(session, check)


def _beyond_reach(end: Endpoint) -> bool:
    return end.distance_m is not None and end.distance_m > MAX_POINT_DISTANCE_M


def _no_pop(end: Endpoint) -> Shortfall:
    km = (end.distance_m or 0) / 1000
    label = (
        f"no PoP within {MAX_POINT_DISTANCE_M // 1000} km of the point; the nearest is "
        f"{end.code} at {km:.1f} km: a last mile that long is a project, not an order"
    )
    return Shortfall("noPop", label, end.code)


def _evaluate_by_hand(session: Session, check: Check) -> Verdict:
    """Dark fibre, wavelengths, hosting: the NOC checks them at order; here only that a fibre
    route with a free pair joins the sites of a dark fibre."""
    by_noc = Shortfall(
        "notAutomated",
        f"{check.ask.service_type} is built by hand: the NOC confirms feasibility at order",
    )
    if check.ask.service_type is ServiceType.DARK_FIBRE:
        assert check.z is not None
        if not free_pair_route_exists(session, check.a.site_id, check.z.site_id):
            label = (
                f"no fibre cable route with a free strand pair joins {check.a.code} and "
                f"{check.z.code}"
            )
            return Verdict([Shortfall("noPath", label), by_noc])
    return Verdict([by_noc], qualified=True)


def _evaluate_eline(session: Session, catalogue: Catalogue, check: Check) -> Verdict:
    assert check.z is not None
    assert check.ask.bandwidth_mbps is not None
    mbps = check.ask.bandwidth_mbps
    a_end = _router(session, check, check.a, mbps)
    taken = frozenset({a_end.interface_id}) if isinstance(a_end, EndRouter) else frozenset()
    z_end = _router(session, check, check.z, mbps, taken)
    edges = backbone_edges(session)
    if not isinstance(a_end, EndRouter) or not isinstance(z_end, EndRouter):
        verdict = Verdict([end for end in (a_end, z_end) if isinstance(end, Shortfall)])
        if check.alternatives:
            why = shortfall_text(verdict.shortfalls, mbps)
            verdict.alternatives = [
                *_lower_bandwidth(session, catalogue, edges, check, why),
                *_other_pops(session, edges, check, (a_end, z_end), why),
            ]
        return verdict

    a, z = a_end.hostname, z_end.hostname
    if routes_with_room(edges, a, z, mbps, protected=check.ask.protected) is not None:
        return Verdict(qualified=True)
    shortfall, short_links = path_shortfall(edges, a, z, mbps, protected=check.ask.protected)
    verdict = Verdict([shortfall])
    if check.alternatives and shortfall.code == "noCapacity":
        why = shortfall_text(verdict.shortfalls, mbps)
        verdict.alternatives = [
            *_lower_bandwidth(session, catalogue, edges, check, why),
            *_other_pops(session, edges, check, (a_end, z_end), why),
            *_later(session, check, short_links, why),
        ]
    return verdict


def _router(
    session: Session,
    check: Check,
    end: Endpoint,
    mbps: int,
    taken: frozenset[int] = frozenset(),
) -> EndRouter | Shortfall:
    return end_router(
        session,
        end.site_id,
        operator_id=check.operator_id,
        mbps=mbps,
        vlan=check.vlan,
        taken=taken,
    )


# --- Alternatives -------------------------------------------------------------------------


def shortfall_text(shortfalls: Sequence[Shortfall], mbps: int) -> str:
    """What is short, in a few words: the start of each alternative's description, so that
    the operator reads why it is proposed.

    >>> ports = [Shortfall("noPort", "…", "NTE1"), Shortfall("noPort", "…", "ANG1")]
    >>> shortfall_text(ports, 100_000)
    'no free 100 Gb/s port at NTE1 or at ANG1'
    >>> shortfall_text([Shortfall("noCapacity", "link L1 has only 400 Mb/s free")], 1000)
    'link L1 has only 400 Mb/s free'
    """
    parts = []
    no_port = [item.site for item in shortfalls if item.code == "noPort" and item.site]
    if no_port:
        parts.append(f"no free {mbps_text(mbps)} port at {' or at '.join(no_port)}")
    parts += [item.label for item in shortfalls if item.code != "noPort"]
    return "; ".join(parts)


def _lower_bandwidth(
    session: Session,
    catalogue: Catalogue,
    edges: list[BackboneEdge],
    check: Check,
    why: str,
) -> list[Alternative]:
    """The largest E-Line offer below the one asked with a port at both ends and a path with
    room: within the bottleneck of the widest path (for a protected circuit: with a
    cable-disjoint pair that has the room)."""
    asked = check.ask.bandwidth_mbps or 0
    lower = sorted(
        (
            offer
            for offer in catalogue.offers
            if isinstance(offer, EthernetOffer) and offer.bandwidth_mbps < asked
        ),
        key=lambda offer: -offer.bandwidth_mbps,
    )
    for offer in lower:
        mbps = offer.bandwidth_mbps
        a_end = _router(session, check, check.a, mbps)
        if not isinstance(a_end, EndRouter):
            continue
        z_end = _router(session, check, check.z or check.a, mbps, frozenset({a_end.interface_id}))
        if not isinstance(z_end, EndRouter):
            continue
        a, z = a_end.hostname, z_end.hostname
        if check.ask.protected:
            if routes_with_room(edges, a, z, mbps, protected=True) is None:
                continue
            text = f"{why}; {mbps_text(mbps)} fits, on two cable-disjoint paths"
        else:
            room = widest_room(edges, a, z)
            if a != z and (room is None or mbps > room):
                continue
            text = f"{why}; {mbps_text(mbps)} fits"
        return [Alternative("lowerBandwidth", offer, check.a, check.z, text)]
    return []


def _other_pops(
    session: Session,
    edges: list[BackboneEdge],
    check: Check,
    routers: tuple[EndRouter | Shortfall, EndRouter | Shortfall],
    why: str,
) -> list[Alternative]:
    """For each end whose other end works, the nearest other PoP within reach of the site
    (or point) asked from which the offer is feasible; never the other end's site, which
    would make a circuit from a PoP to itself."""
    proposals = []
    pops = serving_pops(session)
    assert check.z is not None
    a_end, z_end = routers
    ends = ((check.a, check.z, z_end, "A"), (check.z, check.a, a_end, "Z"))
    for moving, other, fixed, role in ends:
        if not isinstance(fixed, EndRouter):
            continue
        nearby = _pops_near(session, moving, other, pops)
        found = _nearest_feasible_pop(session, edges, check, fixed=fixed, nearby=nearby)
        if found is None:
            continue
        a, z = (found, check.z) if role == "A" else (check.a, found)
        km = (found.distance_m or 0) / 1000
        away = "away" if moving.point is None else "from the point"
        text = (
            f"{why}; {mbps_text(check.ask.bandwidth_mbps or 0)} fits from {found.code} "
            f"instead of {moving.code} ({km:.1f} km {away})"
        )
        proposals.append(Alternative("otherSite", check.ask.offer, a, z, text))
    return proposals


def _pops_near(
    session: Session, moving: Endpoint, other: Endpoint, pops: list[SitePoint]
) -> list[Endpoint]:
    """The PoPs an end could move to, nearest first: near the site asked, or near the point
    asked (as near as a point's own PoP must be), without the site of either end."""
    exclude = {moving.site_id, other.site_id}
    if moving.point is None:
        nearby = pops_near_site(
            session, moving.site_id, OTHER_POP_RADIUS_M, pops=pops, exclude=exclude
        )
    else:
        latitude, longitude = moving.point.latitude, moving.point.longitude
        radius = min(OTHER_POP_RADIUS_M, MAX_POINT_DISTANCE_M)
        nearby = pops_near_point(pops, latitude, longitude, radius, exclude=exclude)
    return [Endpoint(pop.site_id, pop.code, pop.distance_m, moving.point) for pop in nearby]


def _nearest_feasible_pop(
    session: Session,
    edges: list[BackboneEdge],
    check: Check,
    *,
    fixed: EndRouter,
    nearby: list[Endpoint],
) -> Endpoint | None:
    mbps = check.ask.bandwidth_mbps or 0
    protected = check.ask.protected
    reachable = None if protected else reachable_routers(edges, fixed.hostname, mbps)
    for pop in nearby[:OTHER_POP_TRIES]:
        end = end_router(
            session,
            pop.site_id,
            operator_id=check.operator_id,
            mbps=mbps,
            vlan=check.vlan,
            taken=frozenset({fixed.interface_id}),
        )
        if not isinstance(end, EndRouter):
            continue
        if reachable is not None:
            feasible = end.hostname in reachable
        else:
            feasible = (
                routes_with_room(edges, end.hostname, fixed.hostname, mbps, protected=True)
                is not None
            )
        if feasible:
            return pop
    return None


def _later(
    session: Session, check: Check, short_links: list[BackboneEdge], why: str
) -> list[Alternative]:
    """The same offer when the capacity held on the short links is due back."""
    mbps = check.ask.bandwidth_mbps or 0
    releases = release_times(session, [link.link_id for link in short_links], check.now)
    when = room_from(short_links, mbps, releases)
    if when is None:
        return []
    text = (
        f"{why}; {mbps_text(mbps)} fits from {when:%Y-%m-%d %H:%M} UTC, when held capacity "
        "is released"
    )
    return [Alternative("laterDate", check.ask.offer, check.a, check.z, text, when)]


# --- Hold ---------------------------------------------------------------------------------


def _hold(
    session: Session,
    catalogue: Catalogue,
    check: Check,
    *,
    qualification: Qualification,
    actor: str,
    hold_minutes: int,
) -> tuple[Circuit | None, Verdict]:
    """Open the circuit that holds the capacity; a hold that loses a race to a concurrent
    order or hold answers why, with the alternatives there now, instead of an error."""
    expires = check.now + timedelta(minutes=hold_minutes)
    request = CircuitRequest(
        operator_id=check.operator_id,
        service_type=check.ask.service_type,
        a_site_id=check.a.site_id,
        z_site_id=None if check.z is None else check.z.site_id,
        bandwidth_mbps=check.ask.bandwidth_mbps,
        protected=check.ask.protected,
        a_vlan=check.ask.a_vlan,
        z_vlan=check.ask.z_vlan,
        description=f"held for qualification {qualification.id} until {expires:%Y-%m-%d %H:%M} UTC",
    )
    try:
        circuit = open_designed_circuit(session, request, actor=actor)
    except (Conflict, InvalidInput) as lost:
        logger.info("qualification %s: hold refused: %s", qualification.id, lost.message)
        verdict = evaluate(session, catalogue, check)
        if verdict.qualified:  # room seen again, yet the design was refused: say why
            verdict = Verdict([Shortfall("noCapacity", lost.message)])
        return None, verdict
    qualification.hold_state = HoldState.HELD
    qualification.held_circuit_id = circuit.id
    qualification.hold_expires_at = expires
    return circuit, Verdict(qualified=True)


# --- The answer document ------------------------------------------------------------------


def qualification_href(qualification_id: int | None) -> str:
    return f"{BASE_PATH}/productOfferingQualification/{qualification_id}"


def qualification_document(
    session: Session,
    catalogue: Catalogue,
    qualification: Qualification,
    *,
    body: QualificationBody,
    check: Check,
    verdict: Verdict,
    held: Circuit | None,
) -> dict[str, Any]:
    """The TMF679 answer as served (and stored: GET returns it as it was)."""
    item = body.items[0]
    item_document: dict[str, Any] = {
        "id": item.id,
        "state": "done",
        "qualificationItemResult": verdict.result.value,
        "productOffering": _offering_ref(check.ask.offer),
        "product": product_document(check.ask, check.a, check.z),
    }
    if verdict.shortfalls:
        item_document["eligibilityUnavailabilityReason"] = [
            {"code": shortfall.code, "label": shortfall.label} for shortfall in verdict.shortfalls
        ]
    if verdict.alternatives:
        item_document["alternateProductOfferingProposal"] = [
            _proposal(number, alternative, check.ask, catalogue.vat_rate)
            for number, alternative in enumerate(verdict.alternatives, start=1)
        ]
    if verdict.qualified:
        price = price_item(session, catalogue, check.ask, field=f"{ITEM_FIELD}.product")
        item_document["itemPrice"] = tmf_prices(price, catalogue.vat_rate)
    if held is not None and qualification.hold_expires_at is not None:
        item_document["expirationDate"] = qualification.hold_expires_at.isoformat()
        item_document["heldCircuit"] = {"id": held.ref, "href": f"/api/v1/circuits/{held.id}"}
        item_document["holdState"] = HoldState.HELD.value  # Gigalis: kept up by holds.py

    document: dict[str, Any] = {
        "id": str(qualification.id),
        "href": qualification_href(qualification.id),
        "state": "done",
        "qualificationResult": verdict.result.value,
        "creationDate": qualification.created_at.isoformat(),
        "effectiveQualificationDate": qualification.created_at.isoformat(),
        "provideAlternative": body.provide_alternative,
        "holdCapacity": body.hold_capacity,
        "relatedParty": [
            {
                "id": str(qualification.operator_id),
                "role": "customer",
                "@referredType": "Organization",
            }
        ],
        "productOfferingQualificationItem": [item_document],
        "@type": "ProductOfferingQualification",
    }
    if body.description is not None:
        document["description"] = body.description
    if held is not None and qualification.hold_expires_at is not None:
        document["expirationDate"] = qualification.hold_expires_at.isoformat()
    return document


def _offering_ref(offer: OfferBase) -> dict[str, Any]:
    return {"id": offer.id, "href": offering_href(offer.id), "name": offer.name}


def _place(role: str, end: Endpoint) -> dict[str, Any]:
    place: dict[str, Any] = {"role": role, "id": end.code, "@type": "GeographicSite"}
    if end.distance_m is not None:
        place["distanceM"] = end.distance_m  # Gigalis: from the point asked to this PoP
    return place


def product_document(
    ask: ItemAsk, a: Endpoint, z: Endpoint | None, offer: OfferBase | None = None
) -> dict[str, Any]:
    places = [_place("A", a)] + ([] if z is None else [_place("Z", z)])
    characteristics: list[dict[str, Any]] = []
    bandwidth = getattr(offer or ask.offer, "bandwidth_mbps", None)
    if bandwidth is not None:
        characteristics.append({"name": "bandwidthMbps", "value": bandwidth})
    characteristics.append({"name": "protected", "value": ask.protected})
    for name, vlan in (("aVlan", ask.a_vlan), ("zVlan", ask.z_vlan)):
        if vlan is not None:
            characteristics.append({"name": name, "value": vlan})
    return {"place": places, "productCharacteristic": characteristics}


def _proposal(
    number: int, alternative: Alternative, ask: ItemAsk, vat_rate: Decimal
) -> dict[str, Any]:
    proposal: dict[str, Any] = {
        "id": str(number),
        "alternateProposalType": alternative.kind,  # Gigalis: which kind of alternative
        "description": alternative.description,
        "productOffering": _offering_ref(alternative.offer),
        "product": product_document(ask, alternative.a, alternative.z, alternative.offer),
        "itemPrice": tmf_prices(offer_price(alternative.offer), vat_rate),
    }
    if alternative.available_at is not None:
        proposal["alternateActivationDate"] = alternative.available_at.isoformat()
    return proposal


def json_ready(value: Any) -> Any:
    """``value`` with its Decimals as JSON numbers, for a JSON column.

    >>> json_ready({"price": [Decimal("1080.00")]})
    {'price': [1080.0]}
    """
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


# --- Reads --------------------------------------------------------------------------------


def get_qualification(
    session: Session, qualification_id: int, *, tenant: int | None
) -> Qualification:
    """One qualification; NotFound for another operator's, as for one that does not exist."""
    qualification = session.get(Qualification, qualification_id)
    if qualification is None or (tenant is not None and qualification.operator_id != tenant):
        raise NotFound.of("path.id", f"no productOfferingQualification {qualification_id}")
    return qualification


def list_qualifications(
    session: Session, *, tenant: int | None, limit: int, offset: int
) -> tuple[int, list[Qualification]]:
    """The total and one page of the qualifications the caller may see, newest first."""
    table = table_of(Qualification)
    scope = [] if tenant is None else [table.c.operator_id == tenant]
    total = execute_core(session, sa.select(sa.func.count()).select_from(table).where(*scope))
    page = sa.select(table.c.id).where(*scope).order_by(table.c.id.desc()).limit(limit)
    ids = execute_core(session, page.offset(offset)).scalars()
    found = [session.get(Qualification, number) for number in ids]
    return total.scalar_one(), [qualification for qualification in found if qualification]
