"""Taking a product order (TMF622 POST): the items read against the catalogue and the
inventory, and everything they ask taken at once or not at all.

Creating an order is one transaction that either takes everything its items ask or nothing:

- ``add`` opens a circuit holding its capacity (an E-Line is designed at once, its
  bandwidth held on every link of its path), or takes over the circuit a qualification holds;
- ``modify`` changes a circuit's bandwidth on every link it holds, checked again;
- ``delete`` names a circuit to terminate.

Two orders competing for the last capacity of a link are serialized by the database's own
guard on the link's held bandwidth (see :mod:`gigalis_nms.ordering.circuits`): the loser's
whole POST is refused, naming the link. A POST retried with the same ``Idempotency-Key``
finds the order the first one made, through a unique constraint, so that even two concurrent
POSTs with one key make one order.

An order whose offers are all accepted automatically goes straight to inProgress.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gigalis_nms.catalogue.models import Acceptance, Catalogue, OfferBase
from gigalis_nms.db.integrity import violation_of
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import (
    Conflict,
    FieldProblem,
    GigalisError,
    InvalidInput,
    NotFound,
)
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import Circuit, CircuitUpdate
from gigalis_nms.ordering import holds, pricing, quotes
from gigalis_nms.ordering.bodies import (
    IDEMPOTENCY_FIELD,
    OrderCreate,
    OrderItemCreate,
    check_idempotency_key,
    paris_day,
    request_fingerprint,
)
from gigalis_nms.ordering.circuits import CircuitRequest, open_designed_circuit
from gigalis_nms.ordering.models import (
    ItemAction,
    ItemState,
    OrderState,
    ProductOrder,
    ProductOrderItem,
)
from gigalis_nms.ordering.orders import (
    accept_order,
    is_decrease,
    note_entry,
    refuse_taken_external_id,
)
from gigalis_nms.ordering.parties import customer_of
from gigalis_nms.ordering.requests import (
    End,
    ItemAsk,
    Role,
    bandwidth_of,
    offer_named,
    read_item,
    service_of,
)
from gigalis_nms.ordering.transitions import record_created
from gigalis_nms.provisioning.jobs import circuit_by_ref
from gigalis_nms.provisioning.ports import check_given_end

logger = logging.getLogger(__name__)

AUTO_ACTOR = "ordering:auto"
OPEN_ITEM_STATES = (ItemState.ACKNOWLEDGED, ItemState.IN_PROGRESS)


# --- creating an order ----------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedOrder:
    order: ProductOrder
    replayed: bool  # the same key and body were posted before: this is that order


@dataclass
class ItemPlan:
    """One item read and checked, before anything is written."""

    number: int
    body: OrderItemCreate
    offer: OfferBase | None
    ask: ItemAsk | None = None  # add
    circuit: Circuit | None = None  # modify, delete
    qualification_id: int | None = None
    quote_id: int | None = None

    @property
    def field(self) -> str:
        return f"productOrderItem[{self.number}]"


def create_order(
    session: Session,
    catalogue: Catalogue,
    body: OrderCreate,
    *,
    tenant: int | None,
    actor: str,
    idempotency_key: str | None = None,
    today: date | None = None,
) -> CreatedOrder:
    """Take an order: every item checked (InvalidInput listing every problem, each naming
    its field), then its capacity taken (Conflict naming the item and the link short of
    room), all or nothing. ``tenant``: the operator token's organisation (None for staff,
    who name the operator in ``relatedParty``)."""
    operator_id = customer_of(session, body.related_party, tenant=tenant, field="relatedParty")
    fingerprint = request_fingerprint(body)
    key = check_idempotency_key(idempotency_key)
    if key is not None:
        earlier = _order_by_key(session, operator_id, key)
        if earlier is not None:
            return _replay(earlier, fingerprint)

    problems: list[FieldProblem] = []
    _check_dates(body, today or paris_day(utcnow()), problems)
    plans = _read_items(session, catalogue, body, operator_id, problems)
    if problems:
        raise InvalidInput("; ".join(map(str, problems)), problems)
    if body.external_id is not None:
        refuse_taken_external_id(session, operator_id, body.external_id)

    try:
        order = _insert_order(
            session,
            body,
            operator_id=operator_id,
            key=key,
            fingerprint=fingerprint,
            actor=actor,
        )
    except IntegrityError as refused:
        return _after_refused_insert(
            session,
            refused,
            operator_id=operator_id,
            key=key,
            fingerprint=fingerprint,
            body=body,
        )
    for plan in plans:
        _take_item(session, catalogue, order=order, plan=plan, body=body, actor=actor)
    record_created(session, order, actor=actor)
    if all(plan.offer is None or plan.offer.acceptance is Acceptance.AUTOMATIC for plan in plans):
        accept_order(session, order, actor=AUTO_ACTOR, reason="offers accepted automatically")
    logger.info("order %s: taken for operator %s by %s", order.id, operator_id, actor)
    return CreatedOrder(order, replayed=False)


def _order_by_key(session: Session, operator_id: int, key: str) -> ProductOrder | None:
    return session.exec(
        select(ProductOrder).where(
            col(ProductOrder.operator_id) == operator_id,
            col(ProductOrder.idempotency_key) == key,
        )
    ).first()


def _replay(earlier: ProductOrder, fingerprint: str) -> CreatedOrder:
    if earlier.request_fingerprint != fingerprint:
        raise InvalidInput.of(
            IDEMPOTENCY_FIELD,
            f"this key was used for order {earlier.id} with another body; use a new key",
        )
    logger.info("order %s: POST replayed with its idempotency key", earlier.id)
    return CreatedOrder(earlier, replayed=True)


def _check_dates(body: OrderCreate, today: date, problems: list[FieldProblem]) -> None:
    start = body.requested_start_date
    if start is not None and start < today:
        problems.append(
            FieldProblem("requestedStartDate", f"{start} is past (today is {today}, Paris)")
        )
    end = body.requested_end_date
    if end is not None and end <= (start or today):
        after = f"the start date {start}" if start else f"today, {today}"
        problems.append(FieldProblem("requestedEndDate", f"{end} must be after {after}"))
    done = body.requested_completion_date
    if done is not None and done < (start or today):
        problems.append(
            FieldProblem("requestedCompletionDate", f"{done} is before the start of the work")
        )
    if end is not None and any(
        item.action is not ItemAction.ADD for item in body.product_order_item
    ):
        problems.append(
            FieldProblem("requestedEndDate", "temporary capacity is ordered with add items only")
        )


def _insert_order(
    session: Session,
    body: OrderCreate,
    *,
    operator_id: int,
    key: str | None,
    fingerprint: str,
    actor: str,
) -> ProductOrder:
    """The order row, written first: a concurrent POST with the same key or externalId waits
    here for this transaction, and is refused by the unique constraint once it commits."""
    now = utcnow()
    order = ProductOrder(
        operator_id=operator_id,
        external_id=body.external_id,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        state=OrderState.ACKNOWLEDGED,
        description=body.description,
        requested_start_date=body.requested_start_date,
        requested_end_date=body.requested_end_date,
        notes=[note_entry(note, actor, now) for note in body.note],
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    with session.begin_nested():
        session.add(order)
        session.flush()
    return order


def _after_refused_insert(
    session: Session,
    refused: IntegrityError,
    *,
    operator_id: int,
    key: str | None,
    fingerprint: str,
    body: OrderCreate,
) -> CreatedOrder:
    """A concurrent POST committed first: with the same key, its order is the answer; with
    the same externalId, a conflict."""
    # Whichever constraint the database names first, a POST with the same key is a replay.
    columns = violation_of(refused).columns
    if key is not None:
        earlier = _order_by_key(session, operator_id, key)
        if earlier is not None:
            return _replay(earlier, fingerprint)
    if body.external_id is not None and "external_id" in columns:
        refuse_taken_external_id(session, operator_id, body.external_id)
    raise refused


# --- reading the items ----------------------------------------------------------------------


def _read_items(
    session: Session,
    catalogue: Catalogue,
    body: OrderCreate,
    operator_id: int,
    problems: list[FieldProblem],
) -> list[ItemPlan]:
    plans: list[ItemPlan] = []
    seen_ids: set[str] = set()
    seen_circuits: set[str] = set()
    for number, item in enumerate(body.product_order_item):
        field = f"productOrderItem[{number}]"
        if item.id in seen_ids:
            problems.append(FieldProblem(f"{field}.id", f"item id {item.id!r} is given twice"))
        seen_ids.add(item.id)
        try:
            plan = _read_item(session, catalogue, number, item, operator_id)
        except InvalidInput as refused:
            problems.extend(refused.problems or [FieldProblem(field, refused.message)])
            continue
        if plan.circuit is not None:
            if plan.circuit.ref in seen_circuits:
                problems.append(
                    FieldProblem(f"{field}.product.id", f"{plan.circuit.ref} is in two items")
                )
            seen_circuits.add(plan.circuit.ref)
        plans.append(plan)
    return plans


def _read_item(
    session: Session, catalogue: Catalogue, number: int, item: OrderItemCreate, operator_id: int
) -> ItemPlan:
    field = f"productOrderItem[{number}]"
    if item.action is ItemAction.ADD:
        return _read_add(session, catalogue, number, item)
    problems: list[FieldProblem] = []
    if item.product.place or item.product.product_characteristic:
        problems.append(
            FieldProblem(
                f"{field}.product",
                f"a {item.action} item names its circuit by product.id only; the offer gives "
                "the new bandwidth",
            )
        )
    if item.product_offering_qualification_item or item.quote_item:
        problems.append(
            FieldProblem(field, f"a {item.action} item takes no qualification or quote")
        )
    circuit = _operators_circuit(session, item.product.id, operator_id, f"{field}.product.id")
    offer = None
    if item.product_offering is not None:
        offer = offer_named(catalogue, item.product_offering.id, f"{field}.productOffering.id")
        problems.extend(_offer_problems(circuit, offer, item.action, field))
    elif item.action is ItemAction.MODIFY:
        problems.append(
            FieldProblem(f"{field}.productOffering", "a modify item names the new offer")
        )
    if problems:
        raise InvalidInput("; ".join(map(str, problems)), problems)
    return ItemPlan(number, item, offer, circuit=circuit)


def _read_add(
    session: Session, catalogue: Catalogue, number: int, item: OrderItemCreate
) -> ItemPlan:
    field = f"productOrderItem[{number}]"
    if item.product_offering is None:
        raise InvalidInput.of(f"{field}.productOffering", "an add item names its offer")
    problems: list[FieldProblem] = []
    if item.product.id is not None:
        problems.append(
            FieldProblem(f"{field}.product.id", "a new product has no id yet; leave it out")
        )
    ask = None
    try:
        ask = read_item(
            session, catalogue, item.product_offering, item.product, field, points_allowed=False
        )
    except InvalidInput as refused:
        problems.extend(refused.problems)
    qualification = item.product_offering_qualification_item
    quote = item.quote_item
    qualification_id = _number(
        qualification.product_offering_qualification_id if qualification else None,
        f"{field}.productOfferingQualificationItem.productOfferingQualificationId",
        problems,
    )
    quote_id = _number(quote.quote_id if quote else None, f"{field}.quoteItem.quoteId", problems)
    if problems:
        raise InvalidInput("; ".join(map(str, problems)), problems)
    assert ask is not None
    return ItemPlan(
        number,
        item,
        ask.offer,
        ask=ask,
        qualification_id=qualification_id,
        quote_id=quote_id,
    )


def _number(value: str | None, field: str, problems: list[FieldProblem]) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not 0 < int(value) < 2**31:
        problems.append(FieldProblem(field, f"{value!r} is not an id"))
        return None
    return int(value)


def _operators_circuit(session: Session, ref: str | None, operator_id: int, field: str) -> Circuit:
    """The operator's circuit ``ref``, in service; another operator's reads as unknown."""
    if ref is None:
        raise InvalidInput.of(field, "the circuit's reference is required")
    circuit = session.exec(select(Circuit).where(col(Circuit.ref) == ref)).first()
    if circuit is None or circuit.operator_id != operator_id:
        raise InvalidInput.of(field, f"no circuit {ref}")
    if circuit.status is CircuitStatus.TERMINATED:
        raise InvalidInput.of(field, f"circuit {ref} is terminated")
    busy = session.exec(
        select(ProductOrderItem.order_id).where(
            col(ProductOrderItem.circuit_id) == circuit.id,
            col(ProductOrderItem.state).in_(OPEN_ITEM_STATES),
        )
    ).first()
    if busy is not None:
        raise InvalidInput.of(field, f"circuit {ref} is in order {busy}, not finished yet")
    return circuit


def _offer_problems(
    circuit: Circuit, offer: OfferBase, action: ItemAction, field: str
) -> list[FieldProblem]:
    where = f"{field}.productOffering.id"
    if service_of(offer) is not circuit.service_type:
        return [
            FieldProblem(
                where, f"offer {offer.id} is not a {circuit.service_type} like {circuit.ref}"
            )
        ]
    if action is not ItemAction.MODIFY:
        return []
    bandwidth = bandwidth_of(offer)
    if bandwidth is None:
        return [FieldProblem(where, f"offer {offer.id} has no bandwidth to change to")]
    if bandwidth == circuit.bandwidth_mbps:
        return [FieldProblem(where, f"circuit {circuit.ref} has {bandwidth} Mb/s already")]
    return []


# --- taking what the items ask --------------------------------------------------------------


def _take_item(
    session: Session,
    catalogue: Catalogue,
    *,
    order: ProductOrder,
    plan: ItemPlan,
    body: OrderCreate,
    actor: str,
) -> ProductOrderItem:
    assert order.id is not None
    request = plan.body.model_dump(mode="json", by_alias=True, exclude_none=True)
    # What the representation needs and the order's row has no column for: the VAT rate
    # the prices were shown with, and the completion date asked.
    request["vatRate"] = str(catalogue.vat_rate)
    if body.requested_completion_date is not None:
        request["requestedCompletionDate"] = body.requested_completion_date.isoformat()
    item = ProductOrderItem(
        order_id=order.id,
        item_id=plan.body.id,
        action=plan.body.action,
        offering_id=plan.offer.id if plan.offer else None,
        state=ItemState.ACKNOWLEDGED,
        qualification_id=plan.qualification_id,
        quote_id=plan.quote_id,
        request=request,
    )
    try:
        if plan.body.action is ItemAction.ADD:
            _take_add(session, catalogue, order=order, plan=plan, item=item, actor=actor)
        elif plan.body.action is ItemAction.MODIFY:
            _take_modify(session, catalogue, plan, item)
        else:
            assert plan.circuit is not None
            item.circuit_id, item.circuit_ref = plan.circuit.id, plan.circuit.ref
            item.bandwidth_mbps = plan.circuit.bandwidth_mbps
    except GigalisError as refused:
        raise _about_item(refused, plan) from None
    session.add(item)
    session.flush()
    return item


# What the circuit layer calls the inventory's columns, as an item's TMF fields: a
# characteristic is named in the reason, its field being the list of characteristics.
CHARACTERISTIC_OF_COLUMN = {
    "bandwidth_mbps": "bandwidthMbps",
    "protected": "protected",
    "a_vlan": "aVlan",
    "z_vlan": "zVlan",
}
ROLE_OF_COLUMN: dict[str, Role] = {
    "a_site_id": "A",
    "a_interface_id": "A",
    "z_site_id": "Z",
    "z_interface_id": "Z",
}
TMF_ITEM_FIELDS = frozenset(
    {"product", "productOffering", "productOfferingQualificationItem", "quoteItem"}
)
CIRCUIT_REF = re.compile(r"\bGIG-[A-Z]+-\d+\b")


def _about_item(refused: GigalisError, plan: ItemPlan) -> GigalisError:
    """The same refusal in the item's terms: each field named inside the item by its TMF
    name (a circuit's ``bandwidth_mbps`` is ``productOrderItem[0].product.
    productCharacteristic``, its ``a_site_id`` the A place), and no reference of a circuit
    but the item's own (a port or VLAN may be held by another operator's circuit). NotFound
    of something the body names is an invalid body."""
    own = plan.circuit.ref if plan.circuit is not None else None
    problems = [
        _item_problem(FieldProblem(problem.field, _own_refs_only(problem.reason, own)), plan)
        for problem in refused.problems
    ] or [FieldProblem(plan.field, _own_refs_only(refused.message, own))]
    kind = InvalidInput if isinstance(refused, NotFound) else type(refused)
    return kind("; ".join(map(str, problems)), problems)


def _own_refs_only(reason: str, own: str | None) -> str:
    """``reason`` naming no circuit but ``own``.

    >>> _own_refs_only("port carries circuit GIG-ETH-000007 (vlan 5)", "GIG-ETH-000001")
    'port carries another circuit (vlan 5)'
    """
    hidden = CIRCUIT_REF.sub(lambda ref: ref[0] if ref[0] == own else "another circuit", reason)
    return hidden.replace("circuit another circuit", "another circuit")


def _item_problem(problem: FieldProblem, plan: ItemPlan) -> FieldProblem:
    field, name = plan.field, problem.field
    if name.startswith(field):
        return problem
    if name in CHARACTERISTIC_OF_COLUMN:
        if plan.body.action is not ItemAction.ADD:  # the new bandwidth is the offer's
            return FieldProblem(f"{field}.productOffering.id", problem.reason)
        characteristic = CHARACTERISTIC_OF_COLUMN[name]
        return FieldProblem(
            f"{field}.product.productCharacteristic", f"{characteristic}: {problem.reason}"
        )
    if name in ROLE_OF_COLUMN:
        return FieldProblem(_place_field(plan, ROLE_OF_COLUMN[name]), problem.reason)
    if name == "path":
        return FieldProblem(f"{field}.product.place", problem.reason)
    if name.split(".")[0] in TMF_ITEM_FIELDS:
        return FieldProblem(f"{field}.{name}", problem.reason)
    # Anything else the circuit layer names (status, vni, ref…) is no field of the body.
    return FieldProblem(field, problem.reason)


def _place_field(plan: ItemPlan, role: Role) -> str:
    """The item's place of ``role`` as the client wrote it; a modify has only its circuit."""
    for number, place in enumerate(plan.body.product.place):
        if place.role == role:
            return f"{plan.field}.product.place[{number}]"
    return f"{plan.field}.product.id" if plan.circuit is not None else f"{plan.field}.product"


def _take_add(
    session: Session,
    catalogue: Catalogue,
    *,
    order: ProductOrder,
    plan: ItemPlan,
    item: ProductOrderItem,
    actor: str,
) -> None:
    ask = plan.ask
    assert ask is not None
    assert order.id is not None
    if plan.qualification_id is not None:
        circuit = holds.take_held_circuit(
            session,
            plan.qualification_id,
            operator_id=order.operator_id,
            offering_id=ask.offer.id,
            actor=actor,
        )
        _check_same_ends(circuit, ask)
    else:
        circuit = open_designed_circuit(
            session,
            CircuitRequest(
                operator_id=order.operator_id,
                service_type=ask.service_type,
                a_site_id=_site(ask.a),
                z_site_id=_site(ask.z) if ask.z is not None else None,
                bandwidth_mbps=ask.bandwidth_mbps,
                protected=ask.protected,
                a_vlan=ask.a_vlan,
                z_vlan=ask.z_vlan,
                description=f"order {order.id} item {plan.body.id}",
            ),
            actor=actor,
        )
    price = _price(session, catalogue, order, plan, ask)
    item.circuit_id, item.circuit_ref = circuit.id, circuit.ref
    item.bandwidth_mbps = circuit.bandwidth_mbps
    item.one_time_price, item.recurring_price = price.one_time, price.recurring


def _site(end: End) -> int:
    assert end.site_id is not None, "order items name sites, never points"
    return end.site_id


def _check_same_ends(circuit: Circuit, ask: ItemAsk) -> None:
    asked = (ask.a.site_id, ask.z.site_id if ask.z else None)
    if (circuit.a_site_id, circuit.z_site_id) != asked:
        raise InvalidInput.of(
            "product.place",
            f"the qualification's circuit {circuit.ref} joins other places than this item's",
        )


def _price(
    session: Session, catalogue: Catalogue, order: ProductOrder, plan: ItemPlan, ask: ItemAsk
) -> pricing.ItemPrice:
    if plan.quote_id is None:
        return pricing.price_item(session, catalogue, ask, field="product")
    return quotes.quoted_price(
        session, plan.quote_id, operator_id=order.operator_id, offering_id=ask.offer.id
    )


def _take_modify(
    session: Session, catalogue: Catalogue, plan: ItemPlan, item: ProductOrderItem
) -> None:
    """An increase is held at once on every link of the circuit's path, in a savepoint: no
    room on one link, or a hand-off port too slow, and nothing changes. A decrease keeps the
    old bandwidth held until its day (:mod:`gigalis_nms.ordering.fulfilment` frees the
    difference then): the routers carry the old bandwidth until that day, so the room it
    frees must not be sold before."""
    assert plan.circuit is not None
    assert plan.offer is not None
    circuit = circuit_by_ref(session, plan.circuit.ref, lock=True)
    new = bandwidth_of(plan.offer)
    item.circuit_id, item.circuit_ref = circuit.id, circuit.ref
    item.previous_bandwidth_mbps, item.bandwidth_mbps = circuit.bandwidth_mbps, new
    if not is_decrease(item):
        _hold_bandwidth(session, circuit, new)
    ask = _ask_of_circuit(session, circuit, plan.offer)
    price = pricing.price_item(session, catalogue, ask, field="product")
    item.one_time_price, item.recurring_price = price.one_time, price.recurring


def _hold_bandwidth(session: Session, circuit: Circuit, mbps: int | None) -> None:
    assert circuit.id is not None
    with session.begin_nested():
        update = CircuitUpdate(bandwidth_mbps=mbps)
        service.update_object(session, service.CIRCUITS, circuit.id, update)
        for end in ("a", "z"):
            try:
                check_given_end(session, circuit, end)
            except InvalidInput as too_slow:  # the port is there: it is short of room
                raise Conflict(too_slow.message, too_slow.problems) from None


def _ask_of_circuit(session: Session, circuit: Circuit, offer: OfferBase) -> ItemAsk:
    """An existing circuit described as an item asks for one, to price it under an offer."""
    z = End(site_id=circuit.z_site_id) if circuit.z_site_id is not None else None
    return ItemAsk(
        offer,
        circuit.service_type,
        bandwidth_of(offer),
        End(site_id=circuit.a_site_id),
        z,
        circuit.protected,
        circuit.a_vlan,
        circuit.z_vlan,
    )
