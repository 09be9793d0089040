"""The dispatcher against a real receiver on loopback, on SQLite and PostgreSQL: order per
order, signatures, retries with backoff, abandonment, address checks at delivery, removal of
a subscription, and two dispatchers at once."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.ordering import delivery, hub
from gigalis_nms.ordering.delivery import MAX_ATTEMPTS, EventDispatcher, deliver_due
from gigalis_nms.ordering.events import ORDER_CREATE_EVENT
from gigalis_nms.ordering.models import DeliveryState, EventDelivery
from gigalis_nms.settings import Settings
from tests.callback_receiver import Receiver, verified
from tests.integration.builders import Inventory
from tests.integration.conftest import TEST_SECRET_KEY
from tests.integration.hub.support import new_order, publish, subscribe


def deliveries(engine: Engine, **where: object) -> list[EventDelivery]:
    with session_scope(engine, read_only=True) as session:
        query = select(EventDelivery).order_by(col(EventDelivery.event_id))
        for name, value in where.items():
            query = query.where(getattr(EventDelivery, name) == value)
        return list(session.exec(query).all())


def one(engine: Engine, event_id: int) -> EventDelivery:
    [found] = deliveries(engine, event_id=event_id)
    return found


def later() -> datetime:
    """A moment after every event the test wrote: they are all due."""
    return utcnow() + timedelta(seconds=1)


def test_events_of_one_order_arrive_in_order_with_valid_signatures(
    engine: Engine, settings: Settings, inventory: Inventory, receiver: Receiver
) -> None:
    _, secret = subscribe(engine, receiver.url, inventory.operator_a)
    order = new_order(engine, inventory.operator_a)
    sent = [publish(engine, order, "acknowledged", ORDER_CREATE_EVENT)]
    sent += [publish(engine, order, state) for state in ("inProgress", "completed")]

    assert deliver_due(engine, settings, now=later()) == 3

    assert [item.event_id for item in receiver.received] == sent
    for item in receiver.received:
        assert verified(secret, item)
        assert item.headers["content-type"] == "application/json"
        assert item.headers["x-gigalis-event-type"] == item.event["eventType"]
        assert item.event["eventId"] == str(item.event_id)
    assert [item.event["event"]["productOrder"]["state"] for item in receiver.received] == [
        "acknowledged",
        "inProgress",
        "completed",
    ]
    done = deliveries(engine)
    assert [row.state for row in done] == [DeliveryState.DELIVERED] * 3
    assert all(row.delivered_at is not None and row.attempts == 1 for row in done)
    assert {row.id for row in done} == {item.delivery_id for item in receiver.received}


def test_a_wrong_secret_does_not_verify(
    engine: Engine, settings: Settings, inventory: Inventory, receiver: Receiver
) -> None:
    _, secret = subscribe(engine, receiver.url, inventory.operator_a)
    publish(engine, new_order(engine, inventory.operator_a), "acknowledged")

    deliver_due(engine, settings, now=later())

    [item] = receiver.received
    assert verified(secret, item)
    assert not verified(secret[:-1] + ("0" if secret[-1] != "0" else "1"), item)


def test_interleaved_orders_each_keep_their_own_order(
    engine: Engine, settings: Settings, inventory: Inventory, receiver: Receiver
) -> None:
    subscribe(engine, receiver.url, inventory.operator_a)
    orders = [new_order(engine, inventory.operator_a) for _ in range(4)]
    expected: dict[int, list[int]] = defaultdict(list)
    for round_ in range(3):
        for order in orders:
            expected[order].append(publish(engine, order, f"state-{round_}"))
    receiver.delay = 0.01  # concurrent senders finish out of step

    assert deliver_due(engine, settings, now=later()) == 12

    arrived: dict[int, list[int]] = defaultdict(list)
    for item in sorted(receiver.received, key=lambda item: item.at):
        arrived[int(item.event["event"]["productOrder"]["id"])].append(item.event_id)
    assert arrived == expected


def test_a_staff_subscription_gets_every_operator_and_an_operator_only_its_own(
    engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver() as staff, Receiver() as of_b:
        subscribe(engine, staff.url, None)
        subscribe(engine, of_b.url, inventory.operator_b)
        event_a = publish(engine, new_order(engine, inventory.operator_a), "acknowledged")
        event_b = publish(engine, new_order(engine, inventory.operator_b), "acknowledged")

        deliver_due(engine, settings, now=later())

        assert sorted(item.event_id for item in staff.received) == [event_a, event_b]
        assert [item.event_id for item in of_b.received] == [event_b]


def test_a_query_limits_the_event_types(
    engine: Engine, settings: Settings, inventory: Inventory, receiver: Receiver
) -> None:
    subscribe(engine, receiver.url, inventory.operator_a, query="eventType=" + ORDER_CREATE_EVENT)
    order = new_order(engine, inventory.operator_a)
    created = publish(engine, order, "acknowledged", ORDER_CREATE_EVENT)
    publish(engine, order, "inProgress")

    deliver_due(engine, settings, now=later())

    assert [item.event_id for item in receiver.received] == [created]


def test_failing_twice_then_succeeding_acknowledges_each_event_once_in_order(
    engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver(fail_first=2) as receiver:
        subscribe(engine, receiver.url, inventory.operator_a)
        order = new_order(engine, inventory.operator_a)
        first, second = publish(engine, order, "acknowledged"), publish(engine, order, "inProgress")
        start = later()

        assert deliver_due(engine, settings, now=start) == 1
        failed = one(engine, first)
        assert (failed.attempts, failed.last_status, failed.state) == (1, 500, "pending")
        assert failed.last_error == "HTTP 500"
        wait = failed.next_attempt_at - start
        assert timedelta(seconds=1) <= wait <= timedelta(seconds=1.1)
        assert deliver_due(engine, settings, now=start) == 0  # not due before its backoff

        assert deliver_due(engine, settings, now=start + timedelta(seconds=1.2)) == 1
        wait = one(engine, first).next_attempt_at - (start + timedelta(seconds=1.2))
        assert timedelta(seconds=2) <= wait <= timedelta(seconds=2.2)
        assert {item.event_id for item in receiver.received} == {first}  # the second waits

        clock = start + timedelta(seconds=4)
        while one(engine, second).state is DeliveryState.PENDING:
            deliver_due(engine, settings, now=clock)
            clock += timedelta(minutes=5)

        assert receiver.acknowledged() == Counter({first: 1, second: 1})
        statuses = [(item.event_id, item.status) for item in receiver.received]
        expected = [(event, status) for event in (first, second) for status in (500, 500, 204)]
        assert statuses == expected
        assert one(engine, first).attempts == 3
        assert one(engine, second).state is DeliveryState.DELIVERED


def test_a_delivery_failing_every_time_is_abandoned_and_lets_the_next_event_go(
    engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver(fail_first=MAX_ATTEMPTS) as receiver:
        subscribe(engine, receiver.url, inventory.operator_a)
        order = new_order(engine, inventory.operator_a)
        first, second = publish(engine, order, "acknowledged"), publish(engine, order, "inProgress")
        clock = later()
        for _ in range(MAX_ATTEMPTS):
            assert deliver_due(engine, settings, now=clock) >= 1
            clock += timedelta(hours=2)

        abandoned = one(engine, first)
        assert abandoned.state is DeliveryState.ABANDONED
        assert abandoned.attempts == MAX_ATTEMPTS
        assert receiver.acknowledged()[first] == 0
        assert one(engine, second).attempts == 1  # sent in the pass that gave up on the first


def test_a_redirect_is_not_followed(
    engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver(status=307, headers={"Location": "/elsewhere"}) as receiver:
        subscribe(engine, receiver.url, inventory.operator_a)
        event = publish(engine, new_order(engine, inventory.operator_a), "acknowledged")

        deliver_due(engine, settings, now=later())

        assert [item.path for item in receiver.received] == ["/events"]
        failed = one(engine, event)
        assert failed.last_status == 307
        assert failed.last_error is not None
        assert "redirects are not followed" in failed.last_error


def test_a_silent_callback_times_out(
    engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver(delay=1.0) as receiver:
        subscribe(engine, receiver.url, inventory.operator_a)
        event = publish(engine, new_order(engine, inventory.operator_a), "acknowledged")
        impatient = httpx.Client(timeout=0.2, trust_env=False)

        with impatient:
            deliver_due(engine, settings, now=later(), client=impatient)

        failed = one(engine, event)
        assert failed.last_status is None
        assert failed.last_error is not None
        assert "Timeout" in failed.last_error


def test_an_unreachable_callback_fails_the_attempt(
    engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver() as closed:
        url = closed.url
    subscribe(engine, url, inventory.operator_a)  # the port is closed now
    event = publish(engine, new_order(engine, inventory.operator_a), "acknowledged")

    deliver_due(engine, settings, now=later())

    failed = one(engine, event)
    assert (failed.state, failed.attempts, failed.last_status) == ("pending", 1, None)
    assert failed.last_error is not None
    assert "ConnectError" in failed.last_error


def test_the_callback_is_checked_again_at_each_delivery(
    engine: Engine, settings: Settings, inventory: Inventory, receiver: Receiver
) -> None:
    port = receiver.port
    with session_scope(engine) as session:
        hub.register_subscription(
            session,
            hub.HubCreate(callback=f"http://callback.test:{port}/events"),
            operator_id=inventory.operator_a,
            secret_key=TEST_SECRET_KEY,
            allow_private=True,
            actor="test:hub",
            resolve=lambda _host, _port: ["127.0.0.1"],
        )
    event = publish(engine, new_order(engine, inventory.operator_a), "acknowledged")

    # The name now points at the cloud metadata address: the attempt fails, nothing is sent.
    deliver_due(engine, settings, now=later(), resolve=lambda _host, _port: ["169.254.169.254"])

    refused = one(engine, event)
    assert receiver.received == []
    assert (refused.attempts, refused.last_status) == (1, None)
    assert refused.last_error is not None
    assert "link-local address 169.254.169.254" in refused.last_error

    # Back on loopback, but private callbacks are no longer allowed.
    strict = settings.model_copy(update={"hub_allow_private_callbacks": False})
    deliver_due(engine, strict, now=later() + timedelta(hours=1), resolve=lambda *_: ["127.0.0.1"])
    assert "private address 127.0.0.1" in (one(engine, event).last_error or "")

    # Allowed again: sent to the checked address, with the callback's name as Host.
    deliver_due(
        engine, settings, now=later() + timedelta(hours=2), resolve=lambda *_: ["127.0.0.1"]
    )
    [item] = receiver.received
    assert item.headers["host"] == f"callback.test:{port}"
    assert one(engine, event).state is DeliveryState.DELIVERED


def test_removing_a_subscription_abandons_its_pending_deliveries(
    engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver(fail_first=1) as receiver:
        subscription, _ = subscribe(engine, receiver.url, inventory.operator_a)
        order = new_order(engine, inventory.operator_a)
        first, second = publish(engine, order, "acknowledged"), publish(engine, order, "inProgress")
        deliver_due(engine, settings, now=later())  # the first fails once: both stay pending

        with session_scope(engine) as session:
            assert hub.remove_subscription(session, subscription, None) == 2

        rows = deliveries(engine)
        assert [(row.event_id, row.state) for row in rows] == [
            (first, DeliveryState.ABANDONED),
            (second, DeliveryState.ABANDONED),
        ]
        assert {row.last_error for row in rows} == {hub.SUBSCRIPTION_REMOVED}
        assert deliver_due(engine, settings, now=later() + timedelta(hours=1)) == 0
        publish(engine, order, "completed")
        assert deliveries(engine, state=DeliveryState.PENDING) == []  # none for a removed one


def test_two_passes_in_parallel_never_send_one_delivery_twice(
    engine: Engine, settings: Settings, inventory: Inventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "CLAIM_BATCH", 3)  # small claims: the passes interleave
    with Receiver(delay=0.005) as receiver:
        subscribe(engine, receiver.url, inventory.operator_a)
        subscribe(engine, receiver.url, None)
        for order in [new_order(engine, inventory.operator_a) for _ in range(8)]:
            for state in ("acknowledged", "inProgress", "completed"):
                publish(engine, order, state)
        total = len(deliveries(engine))
        assert total == 48
        now = later()
        start = threading.Barrier(2)
        attempted: list[int] = []

        def one_pass() -> None:
            start.wait()
            attempted.append(deliver_due(engine, settings, now=now))

        passes = [threading.Thread(target=one_pass) for _ in range(2)]
        for thread in passes:
            thread.start()
        for thread in passes:
            thread.join(60)

        sent = Counter(item.delivery_id for item in receiver.received)
        assert len(sent) == total
        assert set(sent.values()) == {1}
        assert sum(attempted) == total
        assert min(attempted) > 0  # both passes took a share
        assert {row.state for row in deliveries(engine)} == {DeliveryState.DELIVERED}


def test_the_dispatcher_thread_delivers_until_stopped(
    engine: Engine, settings: Settings, inventory: Inventory, receiver: Receiver
) -> None:
    subscribe(engine, receiver.url, inventory.operator_a)
    order = new_order(engine, inventory.operator_a)
    dispatcher = EventDispatcher(engine, settings, interval=0.05)
    dispatcher.start()
    try:
        events = [publish(engine, order, state) for state in ("acknowledged", "inProgress")]
        dispatcher.wake()
        deadline = time.monotonic() + 10
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        dispatcher.stop(timeout=10)

    assert [item.event_id for item in receiver.received] == events


def test_backoff_is_capped_at_an_hour() -> None:
    assert delivery.backoff(30, jitter=0) == timedelta(hours=1)
    assert timedelta(seconds=8) <= delivery.backoff(4) <= timedelta(seconds=8.8)
