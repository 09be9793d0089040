"""TMF679 productOfferingQualification over HTTP: answers, tenancy, lists, bad bodies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.ordering.holds import expire_holds
from tests.integration.builders import Inventory
from tests.integration.conftest import Api

pytestmark = pytest.mark.timeout(120)

PATH = "/tmf-api/productOfferingQualificationManagement/v4/productOfferingQualification"
QUOTES = "/tmf-api/quoteManagement/v4/quote"


def qualification(offer: str = "eline-100m", z: str = "ANG1", **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "productOfferingQualificationItem": [
            {
                "id": "1",
                "productOffering": {"id": offer},
                "product": {"place": [{"role": "A", "id": "NTE1"}, {"role": "Z", "id": z}]},
            }
        ],
    }


def rows(engine: Engine) -> tuple[int, int]:
    with session_scope(engine, read_only=True) as session:
        connection = session.connection()
        return (
            connection.execute(text("SELECT count(*) FROM qualification")).scalar_one(),
            connection.execute(text("SELECT count(*) FROM circuit")).scalar_one(),
        )


def test_an_operator_qualifies_for_itself_and_reads_it_back(api: Api) -> None:
    created = api.post("operator_a", PATH, json=qualification())

    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["state"] == "done"
    assert answer["qualificationResult"] == "qualified"
    assert created.headers["Location"] == answer["href"]
    item = answer["productOfferingQualificationItem"][0]
    assert item["itemPrice"][0]["price"]["dutyFreeAmount"] == {"unit": "EUR", "value": 900.0}

    again = api.get("operator_a", answer["href"])
    assert again.status_code == 200
    assert again.json() == answer


def test_another_operator_gets_404_and_lists_only_its_own(api: Api) -> None:
    answer = api.post("operator_a", PATH, json=qualification()).json()

    assert api.get("operator_b", answer["href"]).status_code == 404
    mine = api.get("operator_b", PATH)
    assert mine.status_code == 200
    assert mine.json() == []
    assert mine.headers["X-Total-Count"] == "0"
    theirs = api.get("operator_a", PATH)
    assert [document["id"] for document in theirs.json()] == [answer["id"]]
    assert theirs.headers["X-Result-Count"] == "1"
    assert api.get("noc", answer["href"]).status_code == 200


def test_staff_name_the_operator_in_related_party(api: Api, inventory: Inventory) -> None:
    refused = api.post("noc", PATH, json=qualification())
    assert refused.status_code == 422
    assert refused.json()["error"]["problems"][0]["field"] == "relatedParty"

    party = [{"id": str(inventory.operator_b), "role": "customer"}]
    created = api.post("noc", PATH, json=qualification(relatedParty=party))
    assert created.status_code == 201, created.text
    assert created.json()["relatedParty"][0]["id"] == str(inventory.operator_b)
    assert api.get("operator_b", created.json()["href"]).status_code == 200


def test_a_point_is_answered_with_the_nearest_pop(api: Api) -> None:
    body = qualification()
    point = {"role": "Z", "@type": "GeographicPoint", "latitude": 47.21, "longitude": -1.55}
    body["productOfferingQualificationItem"][0]["product"]["place"][1] = point

    answer = api.post("operator_a", PATH, json=body).json()

    z = answer["productOfferingQualificationItem"][0]["product"]["place"][1]
    assert z["id"] in {"NTE1", "ANG1"}
    assert isinstance(z["distanceM"], int)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (qualification("eline-7g"), "productOfferingQualificationItem[0].productOffering.id"),
        (qualification(z="XXX9"), "productOfferingQualificationItem[0].product.place[1].id"),
        (qualification(holdCapacity="soon"), "holdCapacity"),
        (qualification(colour="red"), "colour"),
        ({"productOfferingQualificationItem": []}, "productOfferingQualificationItem"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field_and_write_nothing(
    api: Api, engine: Engine, body: dict[str, Any], field: str
) -> None:
    before = rows(engine)

    refused = api.post("operator_a", PATH, json=body)

    assert refused.status_code == 422, refused.text
    assert field in [problem["field"] for problem in refused.json()["error"]["problems"]]
    assert rows(engine) == before


def test_a_hold_over_http_opens_a_circuit(api: Api, engine: Engine) -> None:
    before = rows(engine)
    answer = api.post("operator_a", PATH, json=qualification(holdCapacity=True)).json()

    assert answer["qualificationResult"] == "qualified", answer
    assert "expirationDate" in answer
    assert rows(engine) == (before[0] + 1, before[1] + 1)


def test_an_expired_hold_is_read_back_without_its_deleted_circuit(api: Api, engine: Engine) -> None:
    before = rows(engine)
    answer = api.post("operator_a", PATH, json=qualification(holdCapacity=True)).json()
    held = answer["productOfferingQualificationItem"][0]["heldCircuit"]
    assert api.get("noc", held["href"]).status_code == 200

    assert expire_holds(engine, utcnow() + timedelta(days=1)) == [int(answer["id"])]

    assert api.get("noc", held["href"]).status_code == 404
    again = api.get("operator_a", answer["href"]).json()
    item = again["productOfferingQualificationItem"][0]
    assert "heldCircuit" not in item
    assert item["holdState"] == "expired"
    assert item["holdNote"].startswith("expired at ")
    assert held["id"] in item["holdNote"]
    assert rows(engine) == (before[0] + 1, before[1])  # the held circuit is gone


def test_unknown_list_parameters_are_refused(api: Api) -> None:
    assert api.get("operator_a", PATH, params={"colour": "red"}).status_code == 400
    assert api.get("operator_a", PATH, params={"fields": "id"}).status_code == 200


def test_a_viewer_reads_but_neither_qualifies_nor_quotes(api: Api, engine: Engine) -> None:
    """Holding capacity, or pricing for an operator, is a write: viewers read only."""
    before = rows(engine)
    for_a = {"relatedParty": [{"role": "customer", "name": "Opérateur A"}]}
    held = api.post("viewer", PATH, json=qualification(holdCapacity=True, **for_a))
    assert held.status_code == 403, held.text
    item = {"action": "add", **qualification()["productOfferingQualificationItem"][0]}
    quoted = api.post("viewer", QUOTES, json={"quoteItem": [item], **for_a})
    assert quoted.status_code == 403, quoted.text
    assert rows(engine) == before
    assert api.get("viewer", PATH).status_code == 200
