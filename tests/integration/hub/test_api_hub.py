"""`/hub` and the NOC's delivery log over HTTP: registration and its refusals, tenancy,
removal, the log's roles, filters and paging, and retrying an abandoned delivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from gigalis_nms.db.types import utcnow
from gigalis_nms.ordering.delivery import MAX_ATTEMPTS, deliver_due
from gigalis_nms.settings import Settings
from tests.callback_receiver import Receiver, verified
from tests.integration.builders import Inventory
from tests.integration.conftest import Api
from tests.integration.hub.support import new_order, publish

HUB = "/tmf-api/productOrderingManagement/v4/hub"
LOG = "/api/v1/hub/deliveries"


def problem(response: Any) -> tuple[str, str]:
    [first, *_] = response.json()["error"]["problems"]
    return first["field"], first["reason"]


def register(api: Api, who: str, callback: str, **body: Any) -> dict[str, Any]:
    response = api.post(who, HUB, json={"callback": callback, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_an_operator_registers_a_callback_and_gets_its_secret_once(
    api: Api, receiver: Receiver
) -> None:
    query = "eventType=productOrderStateChangeEvent"
    response = api.post("operator_a", HUB, json={"callback": receiver.url, "query": query})

    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "callback", "query", "secret"}
    assert (created["callback"], created["query"]) == (receiver.url, query)
    assert len(created["secret"]) == 64
    assert response.headers["location"] == f"{HUB}/{created['id']}"
    shown = api.get("operator_a", f"{HUB}/{created['id']}").json()
    assert shown == {"id": created["id"], "callback": receiver.url, "query": query}


def test_the_returned_secret_verifies_the_deliveries(
    api: Api, engine: Engine, settings: Settings, inventory: Inventory, receiver: Receiver
) -> None:
    secret = register(api, "operator_a", receiver.url)["secret"]
    publish(engine, new_order(engine, inventory.operator_a), "acknowledged")

    deliver_due(engine, settings, now=utcnow() + timedelta(seconds=1))

    [item] = receiver.received
    assert verified(secret, item)


def test_operators_see_only_their_own_subscriptions(api: Api, receiver: Receiver) -> None:
    of_a = register(api, "operator_a", receiver.url)
    of_b = register(api, "operator_b", receiver.url)
    staff = register(api, "noc", receiver.url)

    listed = api.get("operator_a", HUB)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [of_a["id"]]
    assert listed.headers["x-total-count"] == "1"
    assert [item["id"] for item in api.get("admin", HUB).json()] == [
        of_a["id"],
        of_b["id"],
        staff["id"],
    ]
    for path in (f"{HUB}/{of_b['id']}", f"{HUB}/{staff['id']}"):
        assert api.get("operator_a", path).status_code == 404
        assert api.delete("operator_a", path).status_code == 404
    assert api.get("operator_b", f"{HUB}/{of_b['id']}").status_code == 200
    assert api.get("viewer", f"{HUB}/{of_b['id']}").status_code == 200
    assert api.get("operator_a", HUB, params={"state": "x"}).status_code == 400


def test_a_viewer_may_not_register(api: Api, receiver: Receiver) -> None:
    assert api.post("viewer", HUB, json={"callback": receiver.url}).status_code == 403
    assert api.post(None, HUB, json={"callback": receiver.url}).status_code == 401


@pytest.mark.parametrize(
    ("callback", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::a9fe:a9fe]/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0:8080/", "unspecified"),
        ("ftp://127.0.0.1/", "the scheme must be http or https"),
        ("javascript:alert(1)", "the scheme must be http or https"),
        ("http://admin:pw@127.0.0.1/", "may not carry a user name or password"),
        ("http://127.0.0.1/" + "x" * 2000, "at most 2000 characters"),
    ],
)
def test_dangerous_callbacks_are_refused_naming_callback(
    api: Api, callback: str, reason: str
) -> None:
    response = api.post("operator_a", HUB, json={"callback": callback})

    assert response.status_code == 422
    field, said = problem(response)
    assert field == "callback"
    assert reason in said
    assert api.get("operator_a", HUB).json() == []


def test_private_callbacks_are_refused_unless_the_setting_allows_them(
    api: Api, settings: Settings, receiver: Receiver
) -> None:
    strict = settings.model_copy(update={"hub_allow_private_callbacks": False})
    app: Any = api.client.app
    app.state.settings = strict

    for callback in (receiver.url, "http://10.1.2.3/", "http://[fd00::1]/", "http://[::1]:9/"):
        response = api.post("operator_a", HUB, json={"callback": callback})
        assert response.status_code == 422, callback
        field, reason = problem(response)
        assert field == "callback"
        assert "private address" in reason


@pytest.mark.parametrize(
    "query", ["eventType=orderExploded", "eventType=", "state=completed", "eventType=a&&b"]
)
def test_a_bad_query_is_refused_naming_query(api: Api, receiver: Receiver, query: str) -> None:
    response = api.post("operator_a", HUB, json={"callback": receiver.url, "query": query})

    assert response.status_code == 422
    assert problem(response)[0] == "query"


def test_the_same_callback_twice_is_refused_naming_the_subscription_there(
    api: Api, receiver: Receiver
) -> None:
    state_changes = "eventType=productOrderStateChangeEvent"
    first = register(api, "operator_a", receiver.url, query=state_changes)

    for again in (
        {"query": state_changes},
        {},  # every event type, so the state changes too
        {"query": "eventType=productOrderCreateEvent,productOrderStateChangeEvent"},
    ):
        response = api.post("operator_a", HUB, json={"callback": receiver.url, **again})
        assert response.status_code == 409, response.text
        field, reason = problem(response)
        assert field == "callback"
        assert f"hub subscription {first['id']}" in reason
        assert "productOrderStateChangeEvent" in reason
    # The same place written otherwise is the same callback.
    written_otherwise = receiver.url.replace("http://", "HTTP://")
    assert api.post("operator_a", HUB, json={"callback": written_otherwise}).status_code == 409

    # Other event types, another operator, or after removal: no event would arrive twice.
    register(api, "operator_a", receiver.url, query="eventType=productOrderCreateEvent")
    register(api, "operator_b", receiver.url, query=state_changes)
    register(api, "noc", receiver.url, query=state_changes)
    assert api.delete("operator_a", f"{HUB}/{first['id']}").status_code == 204
    register(api, "operator_a", receiver.url, query=state_changes)
    listed = api.get("operator_a", HUB).json()
    assert len(listed) == 2


def test_a_body_with_unknown_fields_is_refused(api: Api, receiver: Receiver) -> None:
    response = api.post("operator_a", HUB, json={"callback": receiver.url, "secret": "mine"})
    assert response.status_code == 422
    assert problem(response)[0] == "secret"
    assert problem(api.post("operator_a", HUB, json={}))[0] == "callback"


def test_removing_a_subscription_abandons_its_pending_deliveries(
    api: Api, engine: Engine, inventory: Inventory, receiver: Receiver
) -> None:
    created = register(api, "operator_a", receiver.url)
    order = new_order(engine, inventory.operator_a)
    publish(engine, order, "acknowledged")
    publish(engine, order, "inProgress")

    assert api.delete("operator_a", f"{HUB}/{created['id']}").status_code == 204

    assert api.get("operator_a", f"{HUB}/{created['id']}").status_code == 404
    assert api.delete("operator_a", f"{HUB}/{created['id']}").status_code == 404
    rows = api.get("noc", LOG, params={"subscription": created["id"]}).json()["results"]
    assert [(row["state"], row["last_error"]) for row in rows] == [
        ("abandoned", "subscription removed")
    ] * 2


def test_the_delivery_log_is_for_the_noc(
    api: Api, engine: Engine, settings: Settings, inventory: Inventory, receiver: Receiver
) -> None:
    created = register(api, "operator_a", receiver.url)
    orders = [new_order(engine, inventory.operator_a) for _ in range(2)]
    events = [publish(engine, order, "acknowledged") for order in orders]
    deliver_due(engine, settings, now=utcnow() + timedelta(seconds=1))
    publish(engine, orders[0], "inProgress")

    for who in ("operator_a", "operator_b", "viewer"):
        assert api.get(who, LOG).status_code == 403

    page = api.get("noc", LOG).json()
    assert page["count"] == 3
    newest = page["results"][0]
    assert newest["state"] == "pending"
    assert newest["order_id"] == orders[0]
    assert newest["callback"] == receiver.url
    assert newest["subscription_id"] == int(created["id"])
    assert newest["event_type"] == "productOrderStateChangeEvent"
    delivered = api.get("admin", LOG, params={"state": "delivered"}).json()["results"]
    assert sorted(row["event_id"] for row in delivered) == events
    assert all(row["delivered_at"] and row["last_status"] == 204 for row in delivered)
    by_order = api.get("noc", LOG, params={"order": orders[1]}).json()
    assert [row["event_id"] for row in by_order["results"]] == [events[1]]
    paged = api.get("noc", LOG, params={"limit": 1, "offset": 1}).json()
    assert paged["count"] == 3
    assert len(paged["results"]) == 1
    assert paged["next"] is not None
    assert api.get("noc", LOG, params={"colour": "red"}).status_code == 400
    assert api.get("noc", LOG, params={"state": "lost"}).status_code == 422


def test_a_delivery_held_back_by_a_failing_one_shows_what_it_waits_for(
    api: Api, engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver(fail_first=MAX_ATTEMPTS) as receiver:
        register(api, "operator_a", receiver.url)
        order = new_order(engine, inventory.operator_a)
        first, second = publish(engine, order, "acknowledged"), publish(engine, order, "inProgress")
        other = publish(engine, new_order(engine, inventory.operator_a), "acknowledged")
        deliver_due(engine, settings, now=utcnow() + timedelta(seconds=1))

        rows = {row["event_id"]: row for row in api.get("noc", LOG).json()["results"]}

        failing, waiting = rows[first], rows[second]
        assert (failing["state"], failing["attempts"], failing["waiting_for"]) == (
            "pending",
            1,
            None,
        )
        assert failing["next_attempt_at"] is not None
        assert (waiting["state"], waiting["attempts"]) == ("pending", 0)
        assert waiting["waiting_for"] == failing["id"]
        assert waiting["next_attempt_at"] is None  # not a past time that never comes
        assert rows[other]["waiting_for"] is None  # another order is not held back

        clock = utcnow() + timedelta(seconds=1)
        for _ in range(MAX_ATTEMPTS):
            deliver_due(engine, settings, now=clock)
            clock += timedelta(hours=2)
        rows = {row["event_id"]: row for row in api.get("noc", LOG).json()["results"]}
        assert rows[first]["state"] == "abandoned"
        assert rows[second]["waiting_for"] is None  # let go when the first was abandoned


def test_an_abandoned_delivery_can_be_retried_by_the_noc(
    api: Api, engine: Engine, settings: Settings, inventory: Inventory
) -> None:
    with Receiver(fail_first=MAX_ATTEMPTS) as receiver:
        register(api, "operator_a", receiver.url)
        event = publish(engine, new_order(engine, inventory.operator_a), "acknowledged")
        clock = utcnow() + timedelta(seconds=1)
        for _ in range(MAX_ATTEMPTS):
            deliver_due(engine, settings, now=clock)
            clock += timedelta(hours=2)
        [row] = api.get("noc", LOG, params={"state": "abandoned"}).json()["results"]
        retry = f"{LOG}/{row['id']}/retry"

        assert api.post("operator_a", retry).status_code == 403
        answer = api.post("noc", retry)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["state"], answer.json()["attempts"]) == ("pending", 0)
        assert api.post("noc", retry).status_code == 422  # pending, not abandoned
        assert api.post("noc", f"{LOG}/999999/retry").status_code == 404

        deliver_due(engine, settings, now=clock)
        assert receiver.acknowledged()[event] == 1
        [done] = api.get("noc", LOG).json()["results"]
        assert (done["state"], done["attempts"]) == ("delivered", 1)
