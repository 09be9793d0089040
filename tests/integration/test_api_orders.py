"""TMF622 product orders over HTTP, on both databases: creation and its idempotency, lists,
tenancy, malformed bodies, PATCH, the NOC's actions and cancellation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from gigalis_nms.db.types import utcnow
from gigalis_nms.ordering.fulfilment import advance_orders
from tests.integration.conftest import Api, make_tokens
from tests.integration.ordering_support import (
    Network,
    api_over,
    build_network,
    held_mbps,
    item,
    noc_catalogue_file,
    order_body,
    row_counts,
)

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
CANCELS = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"


@pytest.fixture
def network(engine: Engine) -> Network:
    return build_network(engine)


@pytest.fixture
def order_api(engine: Engine, network: Network) -> Iterator[Api]:
    with api_over(engine) as client:
        yield Api(client, make_tokens(engine, network))


@pytest.fixture
def noc_order_api(engine: Engine, network: Network, tmp_path: Path) -> Iterator[Api]:
    """The API over a catalogue whose eline-100m waits for the NOC."""
    with api_over(engine, noc_catalogue_file(tmp_path)) as client:
        yield Api(client, make_tokens(engine, network))


def post_order(api: Api, who: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(who, ORDERS, json=body, headers=headers)


def fields_of(response: httpx.Response) -> list[str]:
    return [problem["field"] for problem in response.json()["error"]["problems"]]


# --- creating and reading -------------------------------------------------------------------


def test_an_order_is_created_read_and_listed(order_api: Api) -> None:
    response = post_order(order_api, "operator_a", order_body(externalId="PO-1"), key="k-1")

    assert response.status_code == 201, response.text
    order = response.json()
    assert response.headers["location"] == f"{ORDERS}/{order['id']}"
    assert order["@type"] == "ProductOrder"
    assert order["state"] == "inProgress"
    assert order["externalId"] == "PO-1"
    assert order["relatedParty"][0]["role"] == "customer"
    [added] = order["productOrderItem"]
    assert added["product"]["id"].startswith("GIG-ETH-")
    assert added["productOffering"]["href"].endswith("/productOffering/eline-100m")
    assert {price["priceType"] for price in added["itemPrice"]} == {"oneTime", "recurring"}
    assert [change["state"] for change in order["stateChange"]] == [
        "acknowledged",
        "inProgress",
        "inProgress",
    ]

    read = order_api.get("operator_a", f"{ORDERS}/{order['id']}")
    assert read.json() == order
    listed = order_api.get("operator_a", ORDERS, params={"state": "inProgress", "fields": "id"})
    assert listed.headers["x-total-count"] == "1"
    assert listed.headers["x-result-count"] == "1"
    assert [o["id"] for o in listed.json()] == [order["id"]]


def test_lists_page_and_filter(order_api: Api) -> None:
    ids = [
        post_order(order_api, "operator_a", order_body(externalId=f"PO-{n}")).json()["id"]
        for n in range(3)
    ]
    page = order_api.get("operator_a", ORDERS, params={"limit": 2, "offset": 1})
    assert [o["id"] for o in page.json()] == [ids[1], ids[0]]  # newest first
    assert page.headers["x-total-count"] == "3"
    by_external = order_api.get("operator_a", ORDERS, params={"externalId": "PO-2"})
    assert [o["id"] for o in by_external.json()] == [ids[2]]
    later = order_api.get("noc", ORDERS, params={"orderDate.gt": "2999-01-01T00:00:00Z"})
    assert later.json() == []
    unknown = order_api.get("operator_a", ORDERS, params={"colour": "red"})
    assert unknown.status_code == 400
    assert fields_of(unknown) == ["query.colour"]


def test_a_retried_post_returns_the_same_order(order_api: Api, engine: Engine) -> None:
    body = order_body(externalId="PO-9")
    first = post_order(order_api, "operator_a", body, key="retry-1")
    counts = row_counts(engine)

    again = post_order(order_api, "operator_a", body, key="retry-1")

    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert row_counts(engine) == counts

    other = post_order(order_api, "operator_a", order_body(description="x"), key="retry-1")
    assert other.status_code == 422
    assert fields_of(other) == ["header.idempotency-key"]
    assert row_counts(engine) == counts


def test_concurrent_posts_with_one_key_over_http(order_api: Api, engine: Engine) -> None:
    body = order_body(externalId="PO-RACE")
    barrier = threading.Barrier(6)
    answers: list[httpx.Response] = []

    def post() -> None:
        barrier.wait()
        answers.append(post_order(order_api, "operator_a", body, key="same"))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert sorted(answer.status_code for answer in answers) == [200] * 5 + [201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert row_counts(engine)["ProductOrder"] == 1


def test_twenty_concurrent_posts_for_room_for_five_over_http(
    order_api: Api, engine: Engine, network: Network
) -> None:
    """The acceptance case through the API: 20 operators' POSTs at once for a link with room
    for five 100 Mb/s E-Lines; five orders, fifteen 409s naming the link, nothing more held."""
    barrier = threading.Barrier(20)
    answers: list[httpx.Response] = []

    def post(number: int) -> None:
        barrier.wait()
        answers.append(post_order(order_api, "operator_a", order_body(), key=f"race-{number}"))

    threads = [threading.Thread(target=post, args=(number,)) for number in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * 5 + [409] * 15
    for refused in (answer for answer in answers if answer.status_code == 409):
        assert "link BL-NTE1-ANG1 has only" in refused.json()["error"]["message"]
    assert held_mbps(engine, network.link) == (500, 500)
    assert row_counts(engine)["ProductOrder"] == 5


def test_no_room_answers_409_naming_the_link(order_api: Api, engine: Engine) -> None:
    six = order_body(*(item(number=str(n)) for n in range(6)))
    counts = row_counts(engine)

    response = post_order(order_api, "operator_a", six)

    assert response.status_code == 409
    assert "link BL-NTE1-ANG1 has only" in response.json()["error"]["message"]
    assert fields_of(response)[0].startswith("productOrderItem[5]")
    assert row_counts(engine) == counts


def test_a_taken_external_id_answers_409(order_api: Api) -> None:
    first = post_order(order_api, "operator_a", order_body(externalId="PO-1"))
    second = post_order(order_api, "operator_a", order_body(externalId="PO-1"))
    assert second.status_code == 409
    assert f"order {first.json()['id']}" in second.json()["error"]["message"]


# --- bad bodies -----------------------------------------------------------------------------

MALFORMED: list[tuple[Any, str]] = [
    ({"productOrderItem": "one"}, "productOrderItem"),
    (order_body(colour="red"), "colour"),
    (order_body(item(extra=1)), "productOrderItem[0].extra"),
    ({"productOrderItem": []}, "productOrderItem"),
    (order_body(requestedStartDate="2026-13-45"), "requestedStartDate"),
    (order_body(requestedStartDate="2020-01-01"), "requestedStartDate"),
    (order_body(item(z=None)), "productOrderItem[0].product.place"),
    (order_body(item(offer="eline-3g")), "productOrderItem[0].productOffering.id"),
    (order_body(item(a="XXX9")), "productOrderItem[0].product.place[0].id"),
    (order_body(item(action="replace")), "productOrderItem[0].action"),
]


@pytest.mark.parametrize(("body", "field"), MALFORMED)
def test_a_malformed_body_names_the_field_and_writes_nothing(
    order_api: Api, engine: Engine, body: Any, field: str
) -> None:
    counts = row_counts(engine)

    response = post_order(order_api, "operator_a", body)

    assert response.status_code == 422, response.text
    assert field in fields_of(response)
    assert row_counts(engine) == counts


def with_characteristic(name: str, value: Any) -> dict[str, Any]:
    places = item()["product"]["place"]
    characteristics = [{"name": name, "value": value}]
    return order_body(item(product={"place": places, "productCharacteristic": characteristics}))


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("protected", "yes", "protected must be true or false"),
        ("protected", 1, "protected must be true or false"),
        ("aVlan", "101", "aVlan must be a whole number"),
        ("aVlan", True, "aVlan must be a whole number"),
        ("zVlan", 101.5, "zVlan must be a whole number"),
    ],
)
def test_characteristic_values_are_strict(
    order_api: Api, engine: Engine, name: str, value: Any, reason: str
) -> None:
    counts = row_counts(engine)

    response = post_order(order_api, "operator_a", with_characteristic(name, value))

    assert response.status_code == 422, response.text
    assert response.json()["error"]["problems"] == [
        {"field": "productOrderItem[0].product.productCharacteristic[0].value", "reason": reason}
    ]
    assert row_counts(engine) == counts


def test_list_positions_are_bracketed_whoever_refuses(order_api: Api) -> None:
    """The body model and the order service name fields alike under /tmf-api/."""
    by_model = post_order(order_api, "operator_a", order_body(item(), item(number="2", x=1)))
    by_service = post_order(order_api, "operator_a", order_body(item(), item(a="XXX9", number="2")))

    assert fields_of(by_model) == ["productOrderItem[1].x"]
    assert fields_of(by_service) == ["productOrderItem[1].product.place[0].id"]
    assert by_model.json()["error"]["message"].startswith("productOrderItem[1].x: ")


def test_a_body_that_is_not_json_is_refused(order_api: Api, engine: Engine) -> None:
    counts = row_counts(engine)
    headers = {"Content-Type": "application/json"}
    broken = order_api.post(
        "operator_a", ORDERS, content=b'{"productOrderItem": [', headers=headers
    )
    assert broken.status_code == 422
    assert fields_of(broken) == ["body"]
    text = order_api.post(
        "operator_a", ORDERS, content=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    assert row_counts(engine) == counts


def test_a_bad_idempotency_key_is_refused(order_api: Api) -> None:
    response = post_order(order_api, "operator_a", order_body(), key="x" * 201)
    assert response.status_code == 422
    assert fields_of(response) == ["header.idempotency-key"]


# --- tenancy and roles ----------------------------------------------------------------------


def test_another_operators_order_answers_404(order_api: Api, engine: Engine) -> None:
    order_id = post_order(order_api, "operator_a", order_body()).json()["id"]
    path = f"{ORDERS}/{order_id}"

    assert order_api.get("operator_b", path).status_code == 404
    assert order_api.patch("operator_b", path, json={"description": "x"}).status_code == 404
    assert order_api.post("operator_b", f"{path}/accept").status_code == 404
    assert order_api.post("operator_b", f"{path}/reject", json={"reason": "x"}).status_code == 404
    cancel = {"productOrder": {"id": order_id}}
    assert order_api.post("operator_b", CANCELS, json=cancel).status_code == 404
    assert order_api.get("operator_b", ORDERS).json() == []
    assert order_api.get("operator_a", path).status_code == 200
    assert order_api.get("viewer", path).status_code == 200  # staff read everything


def test_only_the_noc_accepts_and_viewers_do_not_order(order_api: Api) -> None:
    order_id = post_order(order_api, "operator_a", order_body()).json()["id"]
    assert order_api.post("operator_a", f"{ORDERS}/{order_id}/accept").status_code == 403
    assert post_order(order_api, "viewer", order_body()).status_code == 403


def test_staff_order_for_an_operator_they_name(order_api: Api, network: Network) -> None:
    body = order_body(relatedParty=[{"id": str(network.operator_b), "role": "customer"}])
    response = post_order(order_api, "noc", body)
    assert response.status_code == 201, response.text
    assert response.json()["relatedParty"][0]["id"] == str(network.operator_b)
    assert order_api.get("operator_b", f"{ORDERS}/{response.json()['id']}").status_code == 200


# --- PATCH ------------------------------------------------------------------------------------


def test_patch_takes_merge_patch_and_refuses_other_fields(order_api: Api) -> None:
    order_id = post_order(order_api, "operator_a", order_body()).json()["id"]
    path = f"{ORDERS}/{order_id}"
    merge = {"Content-Type": "application/merge-patch+json"}

    changed = order_api.patch(
        "operator_a",
        path,
        content=b'{"description": "new school", "note": [{"text": "gate code 1234"}]}',
        headers=merge,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "new school"
    assert changed.json()["note"][0]["text"] == "gate code 1234"

    refused = order_api.patch("operator_a", path, json={"state": "completed"})
    assert refused.status_code == 422
    assert fields_of(refused) == ["state"]
    bad_date = order_api.patch("operator_a", path, json={"requestedStartDate": "soon"})
    assert bad_date.status_code == 422
    assert fields_of(bad_date) == ["requestedStartDate"]
    bad_note = order_api.patch("operator_a", path, json={"note": [{"text": ""}]})
    assert fields_of(bad_note) == ["note[0].text"]


def test_patch_refuses_null_for_a_start_date_it_had(order_api: Api) -> None:
    start = (date.today() + timedelta(days=5)).isoformat()
    order = post_order(order_api, "operator_a", order_body(requestedStartDate=start)).json()
    path = f"{ORDERS}/{order['id']}"

    refused = order_api.patch("operator_a", path, json={"requestedStartDate": None})

    assert refused.status_code == 422
    assert refused.json()["error"]["problems"] == [
        {
            "field": "requestedStartDate",
            "reason": "give a date; today's date to start as soon as possible",
        }
    ]
    assert order_api.get("operator_a", path).json()["requestedStartDate"] == start


# --- the NOC's actions ----------------------------------------------------------------------


def test_the_noc_accepts_an_order_waiting_for_it(noc_order_api: Api) -> None:
    order = post_order(noc_order_api, "operator_a", order_body()).json()
    assert order["state"] == "acknowledged"

    accepted = noc_order_api.post("noc", f"{ORDERS}/{order['id']}/accept")

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "inProgress"
    again = noc_order_api.post("noc", f"{ORDERS}/{order['id']}/accept")
    assert again.status_code == 422


def test_a_noc_rejection_frees_the_capacity(
    noc_order_api: Api, engine: Engine, network: Network
) -> None:
    order = post_order(noc_order_api, "operator_a", order_body()).json()
    assert held_mbps(engine, network.link)[0] == 100

    rejected = noc_order_api.post(
        "noc", f"{ORDERS}/{order['id']}/reject", json={"reason": "no port this month"}
    )

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["productOrderItem"][0]["state"] == "rejected"
    assert held_mbps(engine, network.link)[0] == 0


def test_the_noc_completes_field_work(order_api: Api, engine: Engine) -> None:
    body = order_body(item("dark-fibre-lease"))
    order = post_order(order_api, "operator_a", body).json()
    assert order["state"] == "acknowledged"  # dark fibre waits for the NOC
    path = f"{ORDERS}/{order['id']}"
    order_api.post("noc", f"{path}/accept")
    advance_orders(engine, now=utcnow(), target="inventory", actor="test:worker")
    assert order_api.get("noc", path).json()["state"] == "inProgress"  # no job: field work

    done = order_api.post("noc", f"{path}/productOrderItem/1/complete")

    assert done.status_code == 200, done.text
    assert done.json()["state"] == "completed"
    assert done.json()["productOrderItem"][0]["product"]["status"] == "active"


# --- cancellation -----------------------------------------------------------------------------


def test_an_order_is_cancelled_and_the_cancellation_read(
    noc_order_api: Api, engine: Engine, network: Network
) -> None:
    order_id = post_order(noc_order_api, "operator_a", order_body()).json()["id"]

    response = noc_order_api.post(
        "operator_a",
        CANCELS,
        json={"productOrder": {"id": order_id}, "cancellationReason": "budget cut"},
    )

    assert response.status_code == 201, response.text
    cancellation = response.json()
    assert cancellation["state"] == "done"
    assert cancellation["productOrder"]["id"] == order_id
    order = noc_order_api.get("operator_a", f"{ORDERS}/{order_id}").json()
    assert order["state"] == "cancelled"
    assert order["cancellationReason"] == "budget cut"
    assert held_mbps(engine, network.link)[0] == 0

    read = noc_order_api.get("operator_a", f"{CANCELS}/{cancellation['id']}")
    assert read.json() == cancellation
    assert noc_order_api.get("operator_b", f"{CANCELS}/{cancellation['id']}").status_code == 404
    listed = noc_order_api.get("operator_a", CANCELS)
    assert listed.headers["x-total-count"] == "1"

    again = noc_order_api.post("operator_a", CANCELS, json={"productOrder": {"id": order_id}})
    assert again.json()["state"] == "terminatedWithError"
    assert "cancelled" in again.json()["stateReason"]
