"""What the hub tests share: orders, events and subscriptions written straight into the
database (without the order service). The receiver is tests/callback_receiver.py.

Holds no tests itself; the fixtures are in conftest.py beside it.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from gigalis_nms.db import session_scope
from gigalis_nms.ordering import hub
from gigalis_nms.ordering.events import ORDER_STATE_CHANGE_EVENT, publish_order_event
from gigalis_nms.ordering.models import OrderState, ProductOrder
from tests.integration.conftest import TEST_SECRET_KEY


def new_order(engine: Engine, operator_id: int) -> int:
    with session_scope(engine, actor="test:hub") as session:
        order = ProductOrder(
            operator_id=operator_id, state=OrderState.ACKNOWLEDGED, created_by="test:hub"
        )
        session.add(order)
        session.flush()
        assert order.id is not None
        return order.id


def publish(
    engine: Engine, order_id: int, state: str, event_type: str = ORDER_STATE_CHANGE_EVENT
) -> int:
    """Publish an event about the order, carrying a small resource; the event's id."""
    with session_scope(engine, actor="test:hub") as session:
        order = session.get(ProductOrder, order_id)
        assert order is not None
        resource = {"id": str(order_id), "state": state}
        event = publish_order_event(session, order, event_type, resource=resource)
        assert event.id is not None
        return event.id


def subscribe(
    engine: Engine, callback: str, operator_id: int | None, query: str | None = None
) -> tuple[int, str]:
    """A subscription registered as the API does it; its id and secret."""
    with session_scope(engine, actor="test:hub") as session:
        created = hub.register_subscription(
            session,
            hub.HubCreate(callback=callback, query=query),
            operator_id=operator_id,
            secret_key=TEST_SECRET_KEY,
            allow_private=True,
            actor="test:hub",
        )
        return int(created.id), created.secret
