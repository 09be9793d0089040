"""Cancelling an order (TMF622 ``cancelProductOrder``).

A cancellation is allowed while nothing has been configured yet: the order is acknowledged,
or in progress with no provisioning job started and no item done. Then the order goes
assessingCancellation → pendingCancellation → cancelled, every circuit it opened is given
back (its capacity freed, a qualification hold it took over released) and every bandwidth it
changed restored. Otherwise the cancellation ends terminatedWithError, with the reason, and
the order goes back to where it was. Either way the request is kept and answered.
"""

from __future__ import annotations

import logging

from pydantic import Field
from sqlmodel import Session, col, select

from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import NotFound
from gigalis_nms.ordering.events import CANCEL_ORDER_STATE_CHANGE_EVENT, publish_order_event
from gigalis_nms.ordering.models import (
    CancellationState,
    CancelProductOrder,
    ItemState,
    OrderState,
    ProductOrder,
    ProductOrderItem,
)
from gigalis_nms.ordering.orders import get_order, give_back_item, lock_order, order_items
from gigalis_nms.ordering.representation import cancellation_resource
from gigalis_nms.ordering.requests import TmfModel
from gigalis_nms.ordering.transitions import move_item, move_order

logger = logging.getLogger(__name__)

CANCELLABLE = (OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS)


class ProductOrderRef(TmfModel):
    id: str = Field(min_length=1, max_length=20)
    href: str | None = Field(None, max_length=500)


class CancelOrderCreate(TmfModel):
    """A TMF622 CancelProductOrder as an operator posts it."""

    product_order: ProductOrderRef = Field(alias="productOrder")
    cancellation_reason: str | None = Field(None, alias="cancellationReason", max_length=500)


def cancel_order(
    session: Session, body: CancelOrderCreate, *, tenant: int | None, actor: str
) -> CancelProductOrder:
    """Record the request and carry it out at once, or refuse it with the reason; another
    operator's order reads as unknown (NotFound naming ``productOrder.id``)."""
    field = "productOrder.id"
    text = body.product_order.id
    if not text.isdigit():
        raise NotFound.of(field, f"no product order {text!r}")
    order = get_order(session, int(text), tenant=tenant, field=field)
    lock_order(session, order)
    reason = body.cancellation_reason or "cancelled by the customer"
    cancellation = CancelProductOrder(
        order_id=_id(order),
        state=CancellationState.IN_PROGRESS,
        cancellation_reason=body.cancellation_reason,
        created_by=actor,
    )
    session.add(cancellation)
    session.flush()

    items = order_items(session, order)
    refusal = why_not_cancellable(order, items)
    if refusal is None:
        _carry_out(
            session, order, items=items, cancellation=cancellation, reason=reason, actor=actor
        )
    else:
        _refuse(session, order, cancellation, refusal, actor)
    cancellation.effective_at = utcnow()
    session.add(cancellation)
    session.flush()
    publish_order_event(
        session,
        order,
        CANCEL_ORDER_STATE_CHANGE_EVENT,
        resource=cancellation_resource(cancellation, order),
        resource_name="cancelProductOrder",
    )
    return cancellation


def why_not_cancellable(order: ProductOrder, items: list[ProductOrderItem]) -> str | None:
    """Why the order can no longer be cancelled; None when it can."""
    if order.state not in CANCELLABLE:
        return f"order {order.id} is {order.state.value}"
    started = [item.item_id for item in items if item.job_id is not None]
    if started:
        return f"provisioning has started for items {', '.join(started)}"
    done = [item.item_id for item in items if item.state is ItemState.COMPLETED]
    if done:
        return f"items {', '.join(done)} are completed already"
    return None


def _carry_out(
    session: Session,
    order: ProductOrder,
    *,
    items: list[ProductOrderItem],
    cancellation: CancelProductOrder,
    reason: str,
    actor: str,
) -> None:
    asked = f"cancellation {cancellation.id}: {reason}"
    move_order(session, order, OrderState.ASSESSING_CANCELLATION, reason=asked, actor=actor)
    move_order(session, order, OrderState.PENDING_CANCELLATION, reason=asked, actor=actor)
    for item in items:
        done = give_back_item(session, item)
        item_reason = f"{reason}; {done}" if done else reason
        move_item(session, order, item, ItemState.CANCELLED, reason=item_reason, actor=actor)
    order.cancellation_reason = reason[:500]
    order.cancelled_at = utcnow()
    move_order(session, order, OrderState.CANCELLED, reason=asked, actor=actor)
    cancellation.state = CancellationState.DONE
    logger.info("order %s: cancelled by %s (%s)", order.id, actor, reason)


def _refuse(
    session: Session,
    order: ProductOrder,
    cancellation: CancelProductOrder,
    refusal: str,
    actor: str,
) -> None:
    if order.state in CANCELLABLE:  # assessed, then back where it was
        was = order.state
        asked = f"cancellation {cancellation.id} asked"
        move_order(session, order, OrderState.ASSESSING_CANCELLATION, reason=asked, actor=actor)
        refused = f"cancellation {cancellation.id} refused: {refusal}"
        move_order(session, order, was, reason=refused, actor=actor)
    cancellation.state = CancellationState.TERMINATED_WITH_ERROR
    cancellation.error = refusal
    logger.info("order %s: cancellation %s refused: %s", order.id, cancellation.id, refusal)


def get_cancellation(
    session: Session, cancellation_id: int, *, tenant: int | None
) -> tuple[CancelProductOrder, ProductOrder]:
    found = (
        session.get(CancelProductOrder, cancellation_id) if 0 < cancellation_id < 2**31 else None
    )
    order = session.get(ProductOrder, found.order_id) if found is not None else None
    if found is None or order is None or (tenant is not None and order.operator_id != tenant):
        raise NotFound.of("path.id", f"no cancellation {cancellation_id}")
    return found, order


def list_cancellations(
    session: Session, *, tenant: int | None, limit: int = 100, offset: int = 0
) -> tuple[int, list[tuple[CancelProductOrder, ProductOrder]]]:
    """Cancellations the caller may see, newest first, and how many there are in all."""
    query = select(CancelProductOrder, ProductOrder).join(
        ProductOrder, col(ProductOrder.id) == col(CancelProductOrder.order_id)
    )
    if tenant is not None:
        query = query.where(col(ProductOrder.operator_id) == tenant)
    rows = list(session.exec(query.order_by(col(CancelProductOrder.id).desc())).all())
    return len(rows), [(row[0], row[1]) for row in rows[offset : offset + limit]]


def _id(order: ProductOrder) -> int:
    assert order.id is not None
    return order.id
