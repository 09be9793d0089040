"""`/api/v1/billing`: finance runs and issues a month, operators read their own issued
documents only, billing accounts refuse identifiers that are not the operator's, on both
databases. The month is ``test_billing_month``'s scripted March 2026, for two operators."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from gigalis_nms.billing.models import BillingAccount
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.models import Organisation
from tests.integration.conftest import Api, make_tokens
from tests.integration.test_billing_month import Clock, build_march

RUNS = "/api/v1/billing/runs"
DOCUMENTS = "/api/v1/billing/documents"
SECOND_SIREN = "356000000"


@dataclass(frozen=True)
class Operators:
    operator_a: int
    operator_b: int


@pytest.fixture
def operators(engine: Engine, clock: Clock) -> Operators:
    first = build_march(engine, clock)
    second = build_march(engine, clock, "Opérateur Avril", first=201)
    with session_scope(engine) as session:
        organisation = session.get(Organisation, second.operator)
        assert organisation is not None
        organisation.siren = SECOND_SIREN
        session.add(organisation)
    return Operators(first.operator, second.operator)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def api(client: TestClient, engine: Engine, operators: Operators) -> Api:
    return Api(client, make_tokens(engine, operators))


def documents(api: Api, who: str, **params: object) -> list[dict[str, object]]:
    response = api.get(who, DOCUMENTS, params=params)
    assert response.status_code == 200, response.text
    results: list[dict[str, object]] = response.json()["results"]
    return results


def test_finance_runs_drafts_that_operators_do_not_see(api: Api, operators: Operators) -> None:
    response = api.post("finance", RUNS, json={"month": "2026-03"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert [run["operator"] for run in report["operators"]] == ["Opérateur Avril", "Opérateur Mars"]
    assert all(run["error"] is None for run in report["operators"])

    drafts = documents(api, "viewer", month="2026-03")
    assert len(drafts) == 4
    assert {d["state"] for d in drafts} == {"draft"}
    assert {d["number"] for d in drafts} == {None}
    assert documents(api, "operator_a") == []
    draft_id = drafts[0]["id"]
    assert api.get("operator_a", f"{DOCUMENTS}/{draft_id}").status_code == 404


def test_only_finance_and_admins_run_and_issue(api: Api) -> None:
    for who in ("viewer", "noc", "operator_a"):
        response = api.post(who, RUNS, json={"month": "2026-03"})
        assert response.status_code == 403, who
        assert api.post(who, "/api/v1/billing/months/2026-03/issue", json={}).status_code == 403
    assert api.post(None, RUNS, json={"month": "2026-03"}).status_code == 401
    assert documents(api, "viewer") == []  # nothing was written


def test_issued_documents_are_read_by_their_operator_only(api: Api, operators: Operators) -> None:
    assert api.post("admin", RUNS, json={"month": "2026-03"}).status_code == 200
    issued = api.post("finance", "/api/v1/billing/months/2026-03/issue", json={})
    assert issued.status_code == 200, issued.text
    numbers = sorted(d["number"] for run in issued.json()["operators"] for d in run["documents"])
    assert numbers == ["AVO-0000001", "AVO-0000002", "FAC-0000001", "FAC-0000002"]

    own = documents(api, "operator_a")
    assert {d["operator_id"] for d in own} == {operators.operator_a}
    assert {d["kind"] for d in own} == {"invoice", "credit_note"}
    invoice = next(d for d in own if d["kind"] == "invoice")
    detail = api.get("operator_a", f"{DOCUMENTS}/{invoice['id']}").json()
    assert detail["total_gross"] == "49084.49"
    assert len(detail["lines"]) == 11
    theirs = documents(api, "operator_b")
    assert api.get("operator_a", f"{DOCUMENTS}/{theirs[0]['id']}").status_code == 404
    assert documents(api, "operator_a", operator=operators.operator_b) == []


def test_bad_runs_name_the_field_and_change_nothing(api: Api, clock: Clock) -> None:
    response = api.post("finance", RUNS, json={"month": "2026-13"})
    assert response.status_code == 422
    assert "body.month" in response.text
    response = api.post("finance", RUNS, json={"month": "2026-03", "operators": [999]})
    assert response.status_code == 404
    assert "operator" in response.text
    clock.today = clock.today.replace(month=3, day=31)
    response = api.post("finance", RUNS, json={"month": "2026-03"})
    assert response.status_code == 422
    assert "is not over" in response.text
    assert documents(api, "viewer") == []
    assert api.get("viewer", DOCUMENTS, params={"colour": "red"}).status_code == 400


def test_billing_accounts_refuse_another_companys_identifiers(
    api: Api, engine: Engine, operators: Operators
) -> None:
    path = f"/api/v1/billing/accounts/{operators.operator_a}"
    wrong = api.put(
        "finance", path, json={"siret": "35600000000001"}
    )  # La Poste: valid, not theirs
    assert wrong.status_code == 422
    assert "siret" in wrong.text
    assert "not an establishment of SIREN 732829320" in wrong.text
    public = api.put("finance", path, json={"public_buyer": True})
    assert public.status_code == 422
    assert "Chorus Pro" in public.text
    with session_scope(engine, read_only=True) as session:
        accounts = session.exec(select(BillingAccount)).all()
    assert {(a.siret, a.public_buyer) for a in accounts} == {(None, False)}  # as built

    body = {
        "siret": "73282932000074",
        "vat_number": "FR44732829320",
        "public_buyer": True,
        "chorus_service_code": "SERVICE-TELECOM",
        "commitment_number": "EJ-2026-0042",
        "postcode": "44000",
        "city": "Nantes",
    }
    done = api.put("finance", path, json=body)
    assert done.status_code == 200, done.text
    assert done.json()["chorus_service_code"] == "SERVICE-TELECOM"
    assert api.put("viewer", path, json={"city": "Angers"}).status_code == 403
    assert api.get("operator_a", path).json()["siret"] == "73282932000074"
    other = f"/api/v1/billing/accounts/{operators.operator_b}"
    assert api.get("operator_a", other).status_code == 404
    vat = api.put("finance", path, json={"vat_number": "FR00732829320"})
    assert vat.status_code == 422
    assert "FR44732829320" in vat.text


def test_subscriptions_are_scoped_to_the_operator(api: Api, operators: Operators) -> None:
    response = api.get("operator_a", "/api/v1/billing/subscriptions", params={"ended": "true"})
    assert response.status_code == 200, response.text
    rows = response.json()["results"]
    assert {row["operator_id"] for row in rows} == {operators.operator_a}
    assert len(rows) == 6  # five circuits, the upgraded one in two periods
    everyone = api.get("viewer", "/api/v1/billing/subscriptions").json()
    assert everyone["count"] == 8  # running only: two operators, four each


def test_an_operator_downloads_its_invoice_as_pdf(api: Api) -> None:
    assert api.post("finance", RUNS, json={"month": "2026-03", "issue": True}).status_code == 200
    invoice = next(d for d in documents(api, "operator_a") if d["kind"] == "invoice")
    response = api.get("operator_a", f"{DOCUMENTS}/{invoice['id']}/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert f'filename="{invoice["number"]}.pdf"' in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF-")
    again = api.get("operator_a", f"{DOCUMENTS}/{invoice['id']}/pdf")
    assert again.content == response.content  # issued: rendered once, served as stored
    theirs = next(d for d in documents(api, "operator_b") if d["kind"] == "invoice")
    assert api.get("operator_a", f"{DOCUMENTS}/{theirs['id']}/pdf").status_code == 404


def test_a_run_request_is_read_strictly_since_issuing_cannot_be_undone(api: Api) -> None:
    for body in (
        {"month": "2026-03", "isue": True},
        {"month": "2026-03", "issue": "yes"},
        {"month": "2026-03", "operators": []},
    ):
        response = api.post("finance", RUNS, json=body)
        assert response.status_code == 422, body
    assert '"field":"isue"' in api.post("finance", RUNS, json={"month": "2026-03", "isue": 1}).text
    queried = api.post("finance", RUNS, params={"issue": "false"}, json={"month": "2026-03"})
    assert queried.status_code == 400
    assert "query.issue" in queried.text
    dry = api.post("finance", "/api/v1/billing/months/2026-03/issue", json={"dry_run": True})
    assert dry.status_code == 422
    assert documents(api, "viewer") == []  # nothing computed, nothing issued


def test_account_text_is_printable_and_identifiers_are_read_as_typed(
    api: Api, operators: Operators
) -> None:
    path = f"/api/v1/billing/accounts/{operators.operator_a}"
    for field, value in (
        ("legal_name", "Bouygues\u0007 Telecom"),
        ("legal_name", "   "),
        ("city", "Paris\u202eSIRAP"),
        ("chorus_service_code", ""),
        ("postcode", "4400"),
    ):
        response = api.put("finance", path, json={field: value})
        assert response.status_code == 422, (field, value)
        assert field in response.text
    spaced = api.put(
        "finance", path, json={"siret": "732 829 320 00074", "vat_number": "fr44732829320"}
    )
    assert spaced.status_code == 200, spaced.text
    assert (spaced.json()["siret"], spaced.json()["vat_number"]) == (
        "73282932000074",
        "FR44732829320",
    )
