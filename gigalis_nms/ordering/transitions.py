"""Moving orders and their items from state to state: every move checked against the
transition tables in :mod:`gigalis_nms.ordering.models`, recorded with its time, reason and
actor, and published to the operator's callbacks as an event, in the caller's transaction.

Publishing in the same transaction as the move is what keeps notifications exact: an event
exists if and only if the move committed, and the event ids order the events of an order.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import InvalidInput
from gigalis_nms.ordering.events import (
    ORDER_CREATE_EVENT,
    ORDER_STATE_CHANGE_EVENT,
    publish_order_event,
)
from gigalis_nms.ordering.models import (
    ITEM_TRANSITIONS,
    ORDER_TRANSITIONS,
    ItemState,
    OrderState,
    OrderStateChange,
    ProductOrder,
    ProductOrderItem,
)

logger = logging.getLogger(__name__)


def _order_id(order: ProductOrder) -> int:
    assert order.id is not None, "an order is flushed before it moves"
    return order.id


def record_created(session: Session, order: ProductOrder, *, actor: str) -> None:
    """Record the order's first state and announce it (``productOrderCreateEvent``)."""
    session.flush()
    session.add(
        OrderStateChange(
            order_id=_order_id(order),
            from_state=None,
            to_state=order.state.value,
            reason="order received",
            actor=actor,
        )
    )
    publish_order_event(session, order, ORDER_CREATE_EVENT)


def move_order(
    session: Session,
    order: ProductOrder,
    to: OrderState,
    *,
    reason: str,
    actor: str,
    at: datetime | None = None,
) -> None:
    """Move ``order`` to ``to``, or refuse (InvalidInput on ``state``) a move the TMF622
    subset does not allow. A move to the state it is in already does nothing."""
    if order.state is to:
        return
    allowed = ORDER_TRANSITIONS.get(order.state, frozenset())
    if to not in allowed:
        raise InvalidInput.of(
            "state", f"order {order.id} is {order.state.value}; it cannot become {to.value}"
        )
    when = at or utcnow()
    session.add(
        OrderStateChange(
            order_id=_order_id(order),
            from_state=order.state.value,
            to_state=to.value,
            at=when,
            reason=reason,
            actor=actor,
        )
    )
    logger.info("order %s: %s -> %s (%s) by %s", order.id, order.state, to, reason, actor)
    order.state = to
    order.updated_at = when
    session.add(order)
    session.flush()
    publish_order_event(session, order, ORDER_STATE_CHANGE_EVENT)


def move_item(
    session: Session,
    order: ProductOrder,
    item: ProductOrderItem,
    to: ItemState,
    *,
    reason: str | None,
    actor: str,
) -> None:
    """Move one item; recorded like an order's move, announced with the order's next move
    (an item's state is part of the order the event carries)."""
    if item.state is to:
        return
    if to not in ITEM_TRANSITIONS.get(item.state, frozenset()):
        raise InvalidInput.of(
            "state",
            f"item {item.item_id} of order {order.id} is {item.state.value}; "
            f"it cannot become {to.value}",
        )
    session.add(
        OrderStateChange(
            order_id=_order_id(order),
            item_id=item.item_id,
            from_state=item.state.value,
            to_state=to.value,
            reason=reason,
            actor=actor,
        )
    )
    item.state = to
    if reason is not None:
        item.reason = reason
    session.add(item)
