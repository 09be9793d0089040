"""`gigalis hub list | deliveries | retry`, against both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.ordering.delivery import MAX_ATTEMPTS, deliver_due
from gigalis_nms.ordering.hub_cli import app
from gigalis_nms.ordering.models import DeliveryState, EventDelivery
from gigalis_nms.settings import Settings
from tests.callback_receiver import Receiver
from tests.integration.builders import Inventory
from tests.integration.hub.support import (
    new_order,
    publish,
    subscribe,
)


def test_list_shows_the_subscriptions(
    runner: CliRunner, engine: Engine, inventory: Inventory
) -> None:
    subscribe(engine, "http://127.0.0.1:9/a", inventory.operator_a)
    subscribe(engine, "http://127.0.0.1:9/staff", None, query="eventType=productOrderCreateEvent")

    result = runner.invoke(app, ["list"])

    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:9/a" in result.stdout
    assert "staff" in result.stdout
    assert "eventType=productOrderCreateEvent" in result.stdout


def test_deliveries_are_listed_filtered_and_retried(
    runner: CliRunner, engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver(fail_first=MAX_ATTEMPTS) as receiver:
        subscribe(engine, receiver.url, inventory.operator_a)
        first = new_order(engine, inventory.operator_a)
        second = new_order(engine, inventory.operator_a)
        publish(engine, first, "acknowledged")
        publish(engine, second, "acknowledged")
        clock = utcnow() + timedelta(seconds=1)
        for _ in range(MAX_ATTEMPTS):
            deliver_due(engine, settings, now=clock)
            clock += timedelta(hours=2)

    listed = runner.invoke(app, ["deliveries", "--order", str(first)])
    assert listed.exit_code == 0, listed.output
    assert "abandoned" in listed.stdout
    assert "HTTP 500" in listed.stdout
    assert listed.stdout.count("productOrderStateChangeEvent") == 1

    with session_scope(engine, read_only=True) as session:
        query = select(EventDelivery.id).where(col(EventDelivery.order_id) == first)
        [delivery_id] = session.exec(query).all()
    retried = runner.invoke(app, ["retry", str(delivery_id)])
    assert retried.exit_code == 0, retried.output
    with session_scope(engine, read_only=True) as session:
        row = session.get(EventDelivery, delivery_id)
        assert row is not None
        assert row.state is DeliveryState.PENDING

    again = runner.invoke(app, ["retry", str(delivery_id)])
    assert again.exit_code == 1
    assert "only an abandoned one is retried" in again.stderr
    pending = runner.invoke(app, ["deliveries", "--state", "pending"])
    assert pending.stdout.count("pending") == 1
    bad = runner.invoke(app, ["deliveries", "--state", "lost"])
    assert bad.exit_code != 0


def test_a_held_back_delivery_is_shown_waiting_for_the_one_before(
    runner: CliRunner, engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver(fail_first=1) as receiver:
        subscribe(engine, receiver.url, inventory.operator_a)
        order = new_order(engine, inventory.operator_a)
        publish(engine, order, "acknowledged")
        publish(engine, order, "inProgress")
        deliver_due(engine, settings, now=utcnow() + timedelta(seconds=1))

    with session_scope(engine, read_only=True) as session:
        query = select(EventDelivery.id).order_by(col(EventDelivery.event_id))
        first, _ = session.exec(query).all()
    listed = runner.invoke(app, ["deliveries"])
    assert listed.exit_code == 0, listed.output
    assert f"after {first}" in listed.stdout
