"""Order events (TMF622 notifications) and the deliveries that carry them to callbacks.

An event is written in the same transaction as the change it announces, with the order as
it is at that moment, and one :class:`EventDelivery` per subscription that wants it. The
dispatcher (:mod:`gigalis_nms.ordering.delivery`) sends them later, in event order for each
order and subscription, so a slow or failing callback never holds back the order itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.ordering.models import (
    DeliveryState,
    EventDelivery,
    HubSubscription,
    OrderEvent,
    ProductOrder,
)

ORDER_CREATE_EVENT = "productOrderCreateEvent"
ORDER_STATE_CHANGE_EVENT = "productOrderStateChangeEvent"
ORDER_ATTRIBUTE_CHANGE_EVENT = "productOrderAttributeValueChangeEvent"
CANCEL_ORDER_STATE_CHANGE_EVENT = "cancelProductOrderStateChangeEvent"
EVENT_TYPES = (
    ORDER_CREATE_EVENT,
    ORDER_STATE_CHANGE_EVENT,
    ORDER_ATTRIBUTE_CHANGE_EVENT,
    CANCEL_ORDER_STATE_CHANGE_EVENT,
)


def wanted_event_types(query: str | None) -> frozenset[str] | None:
    """The event types a subscription's ``query`` asks for; None: every type.

    >>> sorted(wanted_event_types("eventType=productOrderStateChangeEvent"))
    ['productOrderStateChangeEvent']
    >>> wanted_event_types(None) is None, wanted_event_types("") is None
    (True, True)
    >>> sorted(wanted_event_types("eventType=productOrderCreateEvent,productOrderStateChangeEvent"))
    ['productOrderCreateEvent', 'productOrderStateChangeEvent']
    """
    if not query:
        return None
    values = parse_qs(query, keep_blank_values=True).get("eventType", [])
    return frozenset(name.strip() for value in values for name in value.split(",") if name.strip())


def _subscribers(session: Session, operator_id: int) -> list[tuple[int, str | None]]:
    """Live subscriptions of the operator, and staff subscriptions (all operators)."""
    hub = table_of(HubSubscription)
    query = sa.select(hub.c.id, hub.c.query).where(
        hub.c.removed_at.is_(None),
        sa.or_(hub.c.operator_id == operator_id, hub.c.operator_id.is_(None)),
    )
    return [(row.id, row.query) for row in execute_core(session, query)]


def publish_order_event(
    session: Session,
    order: ProductOrder,
    event_type: str,
    *,
    resource: dict[str, Any] | None = None,
    resource_name: str = "productOrder",
) -> OrderEvent:
    """Write ``event_type`` about ``order`` (carrying ``resource``, by default the order as
    the API shows it now) and a delivery for each subscription that wants it."""
    from gigalis_nms.ordering.representation import order_resource  # noqa: PLC0415 - cycle

    assert order.id is not None
    body = resource if resource is not None else order_resource(session, order)
    event = OrderEvent(order_id=order.id, operator_id=order.operator_id, event_type=event_type)
    session.add(event)
    session.flush()
    assert event.id is not None
    event.payload = {
        "eventId": str(event.id),
        "eventTime": event.event_time.isoformat().replace("+00:00", "Z"),
        "eventType": event_type,
        "domain": "productOrdering",
        "event": {resource_name: body},
    }
    for subscription_id, query in _subscribers(session, order.operator_id):
        wanted = wanted_event_types(query)
        if wanted is not None and event_type not in wanted:
            continue
        session.add(
            EventDelivery(
                event_id=event.id,
                subscription_id=subscription_id,
                order_id=order.id,
                state=DeliveryState.PENDING,
                next_attempt_at=event.event_time,
            )
        )
    session.flush()
    return event
