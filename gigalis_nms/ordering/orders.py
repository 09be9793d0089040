"""Product orders (TMF622): creating one, reading and listing them, the few changes allowed
afterwards, and the NOC's acceptance or rejection.

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

Offers say how orders are accepted: automatically (the order goes straight to inProgress) or
by a NOC engineer, who accepts or rejects it; an order with one offer of each kind waits for
the NOC. Times are UTC; requested dates are calendar days in Europe/Paris.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import AwareDatetime, BeforeValidator, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gigalis_nms.catalogue.models import Acceptance, Catalogue, OfferBase
from gigalis_nms.db.integrity import violation_of
from gigalis_nms.db.listing import Filter
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import (
    Conflict,
    FieldProblem,
    GigalisError,
    InvalidInput,
    NotFound,
)
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.models import Circuit, CircuitUpdate
from gigalis_nms.ordering import holds, pricing, quotes
from gigalis_nms.ordering.circuits import CircuitRequest, open_designed_circuit
from gigalis_nms.ordering.events import ORDER_ATTRIBUTE_CHANGE_EVENT, publish_order_event
from gigalis_nms.ordering.giveback import give_back_circuit, restore_bandwidth
from gigalis_nms.ordering.models import (
    FINAL_ORDER_STATES,
    ItemAction,
    ItemState,
    OrderState,
    ProductOrder,
    ProductOrderItem,
)
from gigalis_nms.ordering.parties import RelatedParty, customer_of
from gigalis_nms.ordering.requests import (
    End,
    ItemAsk,
    ProductOfferingRef,
    ProductValue,
    TmfModel,
    bandwidth_of,
    offer_named,
    read_item,
    service_of,
)
from gigalis_nms.ordering.transitions import move_item, move_order, record_created
from gigalis_nms.provisioning.jobs import circuit_by_ref
from gigalis_nms.provisioning.ports import check_given_end

logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
AUTO_ACTOR = "ordering:auto"
IDEMPOTENCY_FIELD = "header.idempotency-key"
OPEN_ITEM_STATES = (ItemState.ACKNOWLEDGED, ItemState.IN_PROGRESS)
MAX_ITEMS = 20


# --- days -----------------------------------------------------------------------------------


def paris_day(moment: datetime) -> date:
    """The calendar day in Europe/Paris at ``moment`` (UTC when naive).

    >>> paris_day(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    datetime.date(2027, 1, 1)
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(PARIS).date()


def _requested_day(value: Any) -> Any:
    """A TMF date-time or a plain date, read as its Europe/Paris day (a date-time without an
    offset is taken as Paris time)."""
    if isinstance(value, str) and "T" in value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) nor a date-time") from None
        if moment.tzinfo is None:
            return moment.date()
        return paris_day(moment)
    if isinstance(value, datetime):
        return paris_day(value) if value.tzinfo else value.date()
    return value


RequestedDay = Annotated[date, BeforeValidator(_requested_day)]


# --- what a POST carries --------------------------------------------------------------------


class Note(TmfModel):
    text: str = Field(min_length=1, max_length=2000)
    author: str | None = Field(None, min_length=1, max_length=200)


class QualificationItemRef(TmfModel):
    id: str = Field(min_length=1, max_length=32)
    product_offering_qualification_id: str = Field(
        alias="productOfferingQualificationId", min_length=1, max_length=20
    )
    href: str | None = Field(None, max_length=500)


class QuoteItemRef(TmfModel):
    id: str = Field(min_length=1, max_length=32)
    quote_id: str = Field(alias="quoteId", min_length=1, max_length=20)
    href: str | None = Field(None, max_length=500)


class OrderItemCreate(TmfModel):
    id: str = Field(min_length=1, max_length=32, description="unique in the order")
    action: ItemAction
    product_offering: ProductOfferingRef | None = Field(None, alias="productOffering")
    product: ProductValue
    product_offering_qualification_item: QualificationItemRef | None = Field(
        None, alias="productOfferingQualificationItem"
    )
    quote_item: QuoteItemRef | None = Field(None, alias="quoteItem")


class OrderCreate(TmfModel):
    """A TMF622 ProductOrder as an operator posts it."""

    external_id: str | None = Field(None, alias="externalId", min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    requested_start_date: RequestedDay | None = Field(None, alias="requestedStartDate")
    requested_completion_date: RequestedDay | None = Field(None, alias="requestedCompletionDate")
    requested_end_date: RequestedDay | None = Field(
        None,
        alias="requestedEndDate",
        description="Gigalis extension: temporary capacity, released after this day",
    )
    note: list[Note] = Field(default_factory=list, max_length=20)
    related_party: list[RelatedParty] = Field(
        default_factory=list, alias="relatedParty", max_length=10
    )
    product_order_item: list[OrderItemCreate] = Field(
        alias="productOrderItem", min_length=1, max_length=MAX_ITEMS
    )


class OrderPatch(TmfModel):
    """What a PATCH may change (every field optional; null clears what may be cleared)."""

    external_id: str | None = Field(None, alias="externalId", min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    note: list[Note] = Field(default_factory=list, max_length=20)
    requested_start_date: RequestedDay | None = Field(None, alias="requestedStartDate")
    requested_end_date: RequestedDay | None = Field(None, alias="requestedEndDate")


PATCHABLE = frozenset(
    {"externalId", "description", "note", "requestedStartDate", "requestedEndDate"}
)
TMF_META = frozenset({"@type", "@baseType", "@schemaLocation"})


def request_fingerprint(body: OrderCreate) -> str:
    """sha256 of the body as canonical JSON: the same order written with its keys in another
    order has the same fingerprint."""
    document = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_idempotency_key(key: str | None) -> str | None:
    """The header's value, or InvalidInput naming it: 1 to 200 printable ASCII characters.

    >>> check_idempotency_key("retry-7f3a")
    'retry-7f3a'
    """
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not all(" " <= char <= "~" for char in key):
        raise InvalidInput.of(IDEMPOTENCY_FIELD, "1 to 200 printable ASCII characters")
    return key


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
        _refuse_taken_external_id(session, operator_id, body.external_id)

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


def _refuse_taken_external_id(session: Session, operator_id: int, external_id: str) -> None:
    taken = session.exec(
        select(ProductOrder.id).where(
            col(ProductOrder.operator_id) == operator_id,
            col(ProductOrder.external_id) == external_id,
        )
    ).first()
    if taken is not None:
        raise Conflict.of("externalId", f"{external_id!r} is the externalId of order {taken}")


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
        notes=[_note(note, actor, now) for note in body.note],
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
        _refuse_taken_external_id(session, operator_id, body.external_id)
    raise refused


def _note(note: Note, actor: str, at: datetime) -> dict[str, Any]:
    return {
        "text": note.text,
        "author": note.author or actor,
        "date": at.isoformat().replace("+00:00", "Z"),
    }


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
        raise _about_item(refused, plan.field) from None
    session.add(item)
    session.flush()
    return item


def _about_item(refused: GigalisError, field: str) -> GigalisError:
    """The same refusal, its fields named inside the item (a circuit's ``bandwidth_mbps``
    becomes ``productOrderItem[0].bandwidth_mbps``); NotFound of something the body names is
    an invalid body."""
    problems = [
        FieldProblem(
            problem.field if problem.field.startswith(field) else f"{field}.{problem.field}",
            problem.reason,
        )
        for problem in refused.problems
    ] or [FieldProblem(field, refused.message)]
    kind = InvalidInput if isinstance(refused, NotFound) else type(refused)
    return kind("; ".join(map(str, problems)), problems)


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
    """The circuit's new bandwidth is held at once on every link of its path, in a savepoint:
    no room on one link, or a hand-off port too slow, and nothing changes."""
    assert plan.circuit is not None
    assert plan.offer is not None
    circuit = circuit_by_ref(session, plan.circuit.ref, lock=True)
    new = bandwidth_of(plan.offer)
    item.circuit_id, item.circuit_ref = circuit.id, circuit.ref
    item.previous_bandwidth_mbps, item.bandwidth_mbps = circuit.bandwidth_mbps, new
    assert circuit.id is not None
    with session.begin_nested():
        update = CircuitUpdate(bandwidth_mbps=new)
        service.update_object(session, service.CIRCUITS, circuit.id, update)
        for end in ("a", "z"):
            try:
                check_given_end(session, circuit, end)
            except InvalidInput as too_slow:  # the port is there: it is short of room
                raise Conflict(too_slow.message, too_slow.problems) from None
    ask = _ask_of_circuit(session, circuit, plan.offer)
    price = pricing.price_item(session, catalogue, ask, field="product")
    item.one_time_price, item.recurring_price = price.one_time, price.recurring


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


# --- reading orders -------------------------------------------------------------------------


def get_order(
    session: Session, order_id: int, *, tenant: int | None, field: str = "path.id"
) -> ProductOrder:
    """The order, if the caller may see it; another operator's reads as unknown (404)."""
    order = session.get(ProductOrder, order_id) if 0 < order_id < 2**31 else None
    if order is None or (tenant is not None and order.operator_id != tenant):
        raise NotFound.of(field, f"no product order {order_id}")
    return order


def order_id_of(text: str, field: str = "path.id") -> int:
    """A TMF id (a string) as the order's number; NotFound for anything else."""
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise NotFound.of(field, f"no product order {text!r}")
    return int(text)


ORDER_FILTERS: dict[str, Filter] = {
    "state": Filter(
        OrderState, col(ProductOrder.state).in_, "the order's state; repeat for any of several"
    ),
    "externalId": Filter(
        str, col(ProductOrder.external_id).in_, "the operator's own reference for the order"
    ),
    "orderDate.gt": Filter(
        AwareDatetime,
        lambda values: col(ProductOrder.created_at) > max(values),
        "ordered after this time (ISO 8601 with an offset)",
    ),
    "orderDate.lt": Filter(
        AwareDatetime,
        lambda values: col(ProductOrder.created_at) < min(values),
        "ordered before this time (ISO 8601 with an offset)",
    ),
}


def list_orders(
    session: Session,
    *,
    tenant: int | None,
    filters: Mapping[str, list[Any]] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[ProductOrder]]:
    """Orders the caller may see, newest first, and how many there are in all; ``filters``
    are typed values of :data:`ORDER_FILTERS` (``parse_filters`` reads them from text)."""
    query = select(ProductOrder)
    if tenant is not None:
        query = query.where(col(ProductOrder.operator_id) == tenant)
    for name, values in (filters or {}).items():
        query = query.where(ORDER_FILTERS[name].condition(values))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    page = query.order_by(col(ProductOrder.id).desc()).limit(limit).offset(offset)
    return total, list(session.exec(page).all())


def order_items(session: Session, order: ProductOrder) -> list[ProductOrderItem]:
    return list(
        session.exec(
            select(ProductOrderItem)
            .where(col(ProductOrderItem.order_id) == order.id)
            .order_by(col(ProductOrderItem.id))
        ).all()
    )


def lock_order(session: Session, order: ProductOrder) -> None:
    """Read the order afresh and keep the worker, a cancellation and the NOC from acting on
    it at the same time (PostgreSQL; SQLite's writers take turns anyway)."""
    session.flush()
    session.refresh(order, with_for_update=True)


# --- changing an order ----------------------------------------------------------------------


def patch_order(
    session: Session,
    order: ProductOrder,
    document: Any,
    *,
    actor: str,
    today: date | None = None,
) -> ProductOrder:
    """Apply a merge-patch: description, externalId, note (appended), requestedStartDate
    (before provisioning started), requestedEndDate. Any other field is refused by name."""
    if not isinstance(document, dict):
        raise InvalidInput.of("body", "a PATCH body is a JSON object")
    fixed = sorted(set(document) - PATCHABLE - TMF_META)
    if fixed:
        changeable = ", ".join(sorted(PATCHABLE))
        problems = [
            FieldProblem(name, f"not changeable (changeable: {changeable})") for name in fixed
        ]
        raise InvalidInput("; ".join(map(str, problems)), problems)
    try:
        patch = OrderPatch.model_validate(document)
    except ValidationError as error:
        problems = [
            FieldProblem(".".join(map(str, item["loc"])), item["msg"]) for item in error.errors()
        ]
        raise InvalidInput("; ".join(map(str, problems)), problems) from None

    lock_order(session, order)
    if order.state in FINAL_ORDER_STATES:
        raise InvalidInput.of("state", f"order {order.id} is {order.state.value}: it is closed")
    sent = set(document)
    changed = _apply_patch(
        session, order, patch=patch, sent=sent, actor=actor, today=today or paris_day(utcnow())
    )
    if changed:
        order.updated_at = utcnow()
        session.add(order)
        session.flush()
        publish_order_event(session, order, ORDER_ATTRIBUTE_CHANGE_EVENT)
        logger.info("order %s: %s changed by %s", order.id, ", ".join(changed), actor)
    return order


def _apply_patch(
    session: Session,
    order: ProductOrder,
    *,
    patch: OrderPatch,
    sent: set[str],
    actor: str,
    today: date,
) -> list[str]:
    changed: list[str] = []
    if "description" in sent and patch.description != order.description:
        order.description = patch.description
        changed.append("description")
    if "externalId" in sent and patch.external_id != order.external_id:
        if patch.external_id is not None:
            _refuse_taken_external_id(session, order.operator_id, patch.external_id)
        order.external_id = patch.external_id
        changed.append("externalId")
    if patch.note:
        now = utcnow()
        order.notes = [*order.notes, *(_note(note, actor, now) for note in patch.note)]
        changed.append("note")
    start = order.requested_start_date
    if "requestedStartDate" in sent and patch.requested_start_date != start:
        _check_start_changeable(session, order, patch.requested_start_date, today)
        start = order.requested_start_date = patch.requested_start_date
        changed.append("requestedStartDate")
    if "requestedEndDate" in sent or "requestedStartDate" in sent:
        end = patch.requested_end_date if "requestedEndDate" in sent else order.requested_end_date
        _check_end_changeable(session, order, end, start, today)
        if end != order.requested_end_date:
            order.requested_end_date = end
            changed.append("requestedEndDate")
    return changed


def _check_start_changeable(
    session: Session, order: ProductOrder, start: date | None, today: date
) -> None:
    if any(item.job_id is not None for item in order_items(session, order)):
        raise InvalidInput.of(
            "requestedStartDate", f"order {order.id}: provisioning has started already"
        )
    if start is not None and start < today:
        raise InvalidInput.of("requestedStartDate", f"{start} is past (today is {today}, Paris)")


def _check_end_changeable(
    session: Session, order: ProductOrder, end: date | None, start: date | None, today: date
) -> None:
    items = order_items(session, order)
    if any(item.released_at is not None for item in items):
        raise InvalidInput.of(
            "requestedEndDate", f"order {order.id}: its capacity was released already"
        )
    if end is None:
        return
    if any(item.action is not ItemAction.ADD for item in items):
        raise InvalidInput.of(
            "requestedEndDate", "temporary capacity is ordered with add items only"
        )
    if end <= max(start or today, today):
        raise InvalidInput.of("requestedEndDate", f"{end} must be after the start and today")


# --- the NOC's decisions --------------------------------------------------------------------


def accept_order(
    session: Session, order: ProductOrder, *, actor: str, reason: str = "accepted by the NOC"
) -> ProductOrder:
    """An acknowledged order goes ahead: it and its items become inProgress; the order
    worker starts provisioning on the requested day."""
    lock_order(session, order)
    if order.state is not OrderState.ACKNOWLEDGED:
        raise InvalidInput.of(
            "state",
            f"order {order.id} is {order.state.value}; only an acknowledged one is accepted",
        )
    for item in order_items(session, order):
        move_item(session, order, item, ItemState.IN_PROGRESS, reason=reason, actor=actor)
    order.accepted_at, order.accepted_by = utcnow(), actor
    move_order(session, order, OrderState.IN_PROGRESS, reason=reason, actor=actor)
    return order


def reject_order(session: Session, order: ProductOrder, *, actor: str, reason: str) -> ProductOrder:
    """The NOC refuses an acknowledged order: every circuit it opened is given back (its
    capacity freed), every bandwidth it changed restored."""
    lock_order(session, order)
    if order.state is not OrderState.ACKNOWLEDGED:
        raise InvalidInput.of(
            "state",
            f"order {order.id} is {order.state.value}; only an acknowledged one is rejected",
        )
    for item in order_items(session, order):
        done = give_back_item(session, item)
        move_item(
            session, order, item, ItemState.REJECTED, reason=_joined(reason, done), actor=actor
        )
    move_order(session, order, OrderState.REJECTED, reason=reason, actor=actor)
    return order


def give_back_item(session: Session, item: ProductOrderItem) -> str | None:
    """Undo what an item took when its order was taken; what was done, if anything."""
    circuit = session.get(Circuit, item.circuit_id) if item.circuit_id is not None else None
    if circuit is None:
        return None
    if item.action is ItemAction.ADD:
        return give_back_circuit(session, circuit)
    if item.action is ItemAction.MODIFY and item.previous_bandwidth_mbps is not None:
        return restore_bandwidth(session, circuit, item.previous_bandwidth_mbps)
    return None


def _joined(reason: str, done: str | None) -> str:
    return f"{reason}; {done}" if done else reason


def is_field_work(service_type: ServiceType) -> bool:
    """Services the routers do not carry: a NOC engineer builds them on site."""
    return service_type is not ServiceType.ETHERNET_ELINE
