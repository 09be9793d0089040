"""Product orders (TMF622) once taken: reading and listing them, the few changes a buyer may
make (PATCH), the NOC's acceptance or rejection, and giving back what an item holds. Taking
an order is :mod:`gigalis_nms.ordering.taking`; its bodies are
:mod:`gigalis_nms.ordering.bodies`.

Offers say how orders are accepted: automatically (the order goes straight to inProgress) or
by a NOC engineer, who accepts or rejects it; an order with one offer of each kind waits for
the NOC. Times are UTC; requested dates are calendar days in Europe/Paris.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, ValidationError
from sqlmodel import Session, col, select

from gigalis_nms.db.listing import Filter
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import (
    Conflict,
    FieldProblem,
    InvalidInput,
    NotFound,
)
from gigalis_nms.inventory.enums import ServiceType
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.ordering.bodies import PATCHABLE, TMF_META, Note, OrderPatch, paris_day
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
from gigalis_nms.ordering.transitions import move_item, move_order

logger = logging.getLogger(__name__)


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
    (before provisioning started; a date, never null once the order has one), requestedEndDate.
    Any other field is refused by name."""
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
            FieldProblem(tmf_field(item["loc"]), item["msg"].removeprefix("Value error, "))
            for item in error.errors()
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
            refuse_taken_external_id(session, order.operator_id, patch.external_id)
        order.external_id = patch.external_id
        changed.append("externalId")
    if patch.note:
        now = utcnow()
        order.notes = [*order.notes, *(note_entry(note, actor, now) for note in patch.note)]
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
    if start is None:
        # Null reads as "no date", which the worker takes as "start now": an order that had a
        # date must say today's date to mean that, not clear the date by mistake.
        raise InvalidInput.of(
            "requestedStartDate", "give a date; today's date to start as soon as possible"
        )
    if any(item.job_id is not None for item in order_items(session, order)):
        raise InvalidInput.of(
            "requestedStartDate", f"order {order.id}: provisioning has started already"
        )
    if start < today:
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


def is_decrease(item: ProductOrderItem) -> bool:
    """A modify item that lowers its circuit's bandwidth: the old bandwidth stays held until
    the item's day, when the worker frees the difference; until then there is nothing to
    give back."""
    return (
        item.action is ItemAction.MODIFY
        and item.bandwidth_mbps is not None
        and item.previous_bandwidth_mbps is not None
        and item.bandwidth_mbps < item.previous_bandwidth_mbps
    )


def _joined(reason: str, done: str | None) -> str:
    return f"{reason}; {done}" if done else reason


def is_field_work(service_type: ServiceType) -> bool:
    """Services the routers do not carry: a NOC engineer builds them on site."""
    return service_type is not ServiceType.ETHERNET_ELINE


def tmf_field(location: Sequence[str | int]) -> str:
    """A pydantic error's location as a TMF field, list positions in brackets.

    >>> tmf_field(("note", 0, "text")), tmf_field(("requestedStartDate",))
    ('note[0].text', 'requestedStartDate')
    """
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
    return text.removeprefix(".")


def refuse_taken_external_id(session: Session, operator_id: int, external_id: str) -> None:
    taken = session.exec(
        select(ProductOrder.id).where(
            col(ProductOrder.operator_id) == operator_id,
            col(ProductOrder.external_id) == external_id,
        )
    ).first()
    if taken is not None:
        raise Conflict.of("externalId", f"{external_id!r} is the externalId of order {taken}")


def note_entry(note: Note, actor: str, at: datetime) -> dict[str, Any]:
    return {
        "text": note.text,
        "author": note.author or actor,
        "date": at.isoformat().replace("+00:00", "Z"),
    }
