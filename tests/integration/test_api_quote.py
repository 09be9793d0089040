"""TMF648 quotes over HTTP: prices to the cent, validity, tenancy, bad bodies, and the price
an order takes from a quote."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.ordering.models import Quote, QuoteState
from gigalis_nms.ordering.pricing import ItemPrice
from gigalis_nms.ordering.quotes import quoted_price
from tests.integration.builders import Inventory
from tests.integration.conftest import Api

pytestmark = pytest.mark.timeout(120)

PATH = "/tmf-api/quoteManagement/v4/quote"


def quote(offer: str, **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "quoteItem": [
            {
                "id": "1",
                "action": "add",
                "productOffering": {"id": offer},
                "product": {"place": [{"role": "A", "id": "NTE1"}, {"role": "Z", "id": "ANG1"}]},
            }
        ],
    }


def amounts(prices: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    return [
        (
            entry["priceType"],
            entry["price"]["dutyFreeAmount"]["value"],
            entry["price"]["taxIncludedAmount"]["value"],
        )
        for entry in prices
    ]


@pytest.mark.parametrize(
    ("offer", "expected"),
    [
        # E-Line 1 Gb/s: FAS 1200.00, 600.00 a month; +20 % VAT.
        ("eline-1g", [("oneTime", 1200.0, 1440.0), ("recurring", 600.0, 720.0)]),
        # The builders' cable is 12 km, in the second band: 12 × 70.00 a month.
        ("dark-fibre-lease", [("oneTime", 1200.0, 1440.0), ("recurring", 840.0, 1008.0)]),
        # IRU: 1500.00 + 12 × 1800.00 once; 12 × 45.00 / 12 = 45.00 a month.
        ("dark-fibre-iru", [("oneTime", 23100.0, 27720.0), ("recurring", 45.0, 54.0)]),
    ],
)
def test_quotes_are_priced_to_the_cent(
    api: Api, offer: str, expected: list[tuple[str, float, float]]
) -> None:
    created = api.post("operator_a", PATH, json=quote(offer, externalId="PO-1"))

    assert created.status_code == 201, created.text
    document = created.json()
    assert document["state"] == "approved"
    assert document["externalId"] == "PO-1"
    assert amounts(document["quoteItem"][0]["quoteItemPrice"]) == expected
    assert amounts(document["quoteTotalPrice"]) == expected
    start = datetime.fromisoformat(document["validFor"]["startDateTime"])
    end = datetime.fromisoformat(document["validFor"]["endDateTime"])
    assert end - start == timedelta(days=30)
    assert api.get("operator_a", document["href"]).json() == document


def test_another_operator_gets_404(api: Api) -> None:
    document = api.post("operator_a", PATH, json=quote("eline-1g")).json()

    assert api.get("operator_b", document["href"]).status_code == 404
    assert api.get("operator_b", PATH).json() == []
    assert [item["id"] for item in api.get("operator_a", PATH).json()] == [document["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (quote("eline-7g"), "quoteItem[0].productOffering.id"),
        ({"quoteItem": []}, "quoteItem"),
        (
            {
                **quote("eline-1g"),
                "quoteItem": [{**quote("eline-1g")["quoteItem"][0], "action": "delete"}],
            },
            "quoteItem[0].action",
        ),
    ],
)
def test_bad_quotes_are_refused_naming_the_field(
    api: Api, engine: Engine, body: dict[str, Any], field: str
) -> None:
    refused = api.post("operator_a", PATH, json=body)

    assert refused.status_code == 422, refused.text
    assert field in [problem["field"] for problem in refused.json()["error"]["problems"]]
    with session_scope(engine, read_only=True) as session:
        assert session.connection().execute(text("SELECT count(*) FROM quote")).scalar_one() == 0


def test_a_point_is_not_quoted(api: Api) -> None:
    body = quote("eline-1g")
    body["quoteItem"][0]["product"]["place"][1] = {"role": "Z", "latitude": 47.4, "longitude": -1}

    refused = api.post("operator_a", PATH, json=body)

    assert refused.status_code == 422
    assert refused.json()["error"]["problems"][0]["field"] == "quoteItem[0].product.place[1].id"


def test_an_order_takes_the_quoted_price_once(
    api: Api, engine: Engine, inventory: Inventory
) -> None:
    number = int(api.post("operator_a", PATH, json=quote("eline-1g")).json()["id"])

    def take(operator: int, offer: str = "eline-1g") -> ItemPrice:
        with session_scope(engine, actor="test") as session:
            return quoted_price(session, number, operator_id=operator, offering_id=offer)

    with pytest.raises(NotFound):
        take(inventory.operator_b)
    with pytest.raises(InvalidInput, match="prices offer eline-1g"):
        take(inventory.operator_a, "eline-100m")
    assert take(inventory.operator_a) == ItemPrice(Decimal("1200.00"), Decimal("600.00"))
    with pytest.raises(InvalidInput, match="accepted"):
        take(inventory.operator_a)
    assert api.get("operator_a", f"{PATH}/{number}").json()["state"] == "accepted"


def test_an_expired_quote_is_not_ordered(api: Api, engine: Engine, inventory: Inventory) -> None:
    number = int(api.post("operator_a", PATH, json=quote("eline-1g")).json()["id"])
    with session_scope(engine, actor="test") as session:
        row = session.get(Quote, number)
        assert row is not None
        row.valid_until = utcnow() - timedelta(minutes=1)
        session.add(row)

    with session_scope(engine, actor="test") as session, pytest.raises(InvalidInput) as refused:
        quoted_price(session, number, operator_id=inventory.operator_a, offering_id="eline-1g")
    assert "expired" in refused.value.message
    with session_scope(engine, read_only=True) as session:
        row = session.get(Quote, number)
        assert row is not None
        assert row.state is QuoteState.APPROVED
