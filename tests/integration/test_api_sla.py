"""`/api/v1/sla`: the monthly report per circuit, operator and offer, each operator reading
only its own circuits, and storing a closed month (NOC roles), on both databases.

The circuits and their October 2026 figures are those of ``test_sla_report``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from gigalis_nms.db import session_scope
from gigalis_nms.monitoring.calendar import PARIS
from gigalis_nms.monitoring.models import SlaResult
from tests.integration.conftest import Api, make_tokens
from tests.integration.test_sla_report import C1, C3, OCTOBER_REFS, October, build_october

REPORT = "/api/v1/sla/report"


@pytest.fixture
def october(engine: Engine) -> October:
    return build_october(engine)


@pytest.fixture
def api(client: TestClient, engine: Engine, october: October) -> Api:
    return Api(client, make_tokens(engine, october))


def report(api: Api, who: str, **params: str | int) -> dict[str, object]:
    response = api.get(who, REPORT, params={"month": "2026-10", **params})
    assert response.status_code == 200, response.text
    document: dict[str, object] = response.json()
    return document


def refs(document: dict[str, object]) -> list[str]:
    circuits = document["circuits"]
    assert isinstance(circuits, list)
    return [circuit["ref"] for circuit in circuits]


def stored_rows(engine: Engine) -> int:
    with session_scope(engine, read_only=True) as session:
        return len(session.exec(select(SlaResult)).all())


def test_staff_read_every_operator(api: Api, october: October) -> None:
    for who in ("admin", "noc", "viewer"):  # viewers: management and finance
        document = report(api, who)
        assert document["month"] == "2026-10"
        assert document["provisional"] is False
        assert refs(document) == OCTOBER_REFS
    circuits = document["circuits"]
    assert isinstance(circuits, list)
    first = circuits[0]
    assert Decimal(first["availability"]) == C1
    assert first["availability_target"] == "0.995"
    assert first["penalty"] == "180.00"
    assert first["gtr_breaches"] == 1
    assert circuits[3]["penalty"] is None  # never ordered: no SLA terms
    by_operator = document["by_operator"]
    assert isinstance(by_operator, list)
    assert [group["operator"] for group in by_operator] == ["Opérateur A", "Opérateur B"]
    assert by_operator[0]["totals"]["penalties"] == "630.00"
    by_offer = document["by_offer"]
    assert isinstance(by_offer, list)
    assert [offer["offer_id"] for offer in by_offer] == ["eline-100m", "eline-10g", None]

    only_b = report(api, "viewer", operator=october.operator_b)
    assert refs(only_b) == ["GIG-ETH-000003", "GIG-ETH-000004"]


def test_an_operator_reads_its_own_circuits_only(api: Api, october: October) -> None:
    own = report(api, "operator_b")
    assert refs(own) == ["GIG-ETH-000003", "GIG-ETH-000004"]
    assert own["operator_id"] == october.operator_b
    circuits = own["circuits"]
    assert isinstance(circuits, list)
    assert Decimal(circuits[0]["availability"]) == C3
    by_operator = own["by_operator"]
    assert isinstance(by_operator, list)
    assert [group["operator"] for group in by_operator] == ["Opérateur B"]
    assert refs(report(api, "operator_b", operator=october.operator_b)) == refs(own)

    # Another operator's id answers as an unknown one: its existence is not told.
    other = api.get(
        "operator_b", REPORT, params={"month": "2026-10", "operator": october.operator_a}
    )
    unknown = api.get("operator_b", REPORT, params={"month": "2026-10", "operator": 999_999})
    assert other.status_code == unknown.status_code == 404
    assert other.json()["error"]["problems"][0]["field"] == "operator"
    assert "Opérateur A" not in other.text
    assert other.json()["error"]["message"].replace(str(october.operator_a), "X") == (
        unknown.json()["error"]["message"].replace("999999", "X")
    )


def test_bad_requests_are_refused_naming_the_field(api: Api) -> None:
    for month in ("2026-13", "abc", "2099-01"):  # 2099: not started yet
        response = api.get("noc", REPORT, params={"month": month})
        assert response.status_code == 422, month
        assert response.json()["error"]["problems"][0]["field"] == "month"
    assert api.get("noc", REPORT).status_code == 422  # no month
    unknown = api.get("noc", REPORT, params={"month": "2026-10", "operater": 1})
    assert unknown.status_code == 400
    assert api.get("noc", REPORT, params={"month": "2026-10", "operator": 999_999}).status_code == (
        404
    )
    assert api.get(None, REPORT, params={"month": "2026-10"}).status_code == 401


def test_the_current_month_is_provisional_and_not_stored(api: Api, engine: Engine) -> None:
    this_month = f"{datetime.now(PARIS):%Y-%m}"
    document = report(api, "noc", month=this_month)
    assert document["provisional"] is True
    assert str(document["computed_to"]) < str(document["ends_at"])

    refused = api.post("noc", f"/api/v1/sla/months/{this_month}/store")
    assert refused.status_code == 422
    assert refused.json()["error"]["problems"][0]["field"] == "month"
    assert "not over" in refused.json()["error"]["message"]
    assert stored_rows(engine) == 0


def test_the_noc_stores_a_closed_month_once(api: Api, engine: Engine) -> None:
    path = "/api/v1/sla/months/2026-10/store"
    for who in ("viewer", "operator_a"):
        assert api.post(who, path).status_code == 403
    assert stored_rows(engine) == 0

    first = api.post("noc", path)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "month": "2026-10",
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "kept": 0,
    }
    again = api.post("noc", path)
    assert again.json() == {
        "month": "2026-10",
        "created": 0,
        "updated": 0,
        "unchanged": 5,
        "kept": 0,
    }

    for month in ("2026-13", "2099-01"):
        refused = api.post("noc", f"/api/v1/sla/months/{month}/store")
        assert refused.status_code == 422
        assert refused.json()["error"]["problems"][0]["field"] == "month"
    assert stored_rows(engine) == 5
