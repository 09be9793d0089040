"""The incidents and maintenance windows API on both databases: who may read and change what,
an operator's view limited to its own circuits (another's answers 404 and no other
operator's circuit reference ever appears), and bad input refused naming the field with
nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import select

from gigalis_nms.api.incidents import ReclassifyRequest, WindowRequest
from gigalis_nms.db import session_scope
from gigalis_nms.monitoring.models import Incident, MaintenanceWindow
from tests.integration.conftest import Api, make_tokens
from tests.integration.test_incidents import Incidents, incidents
from tests.integration.test_maintenance import DARK, OTHER, PLAIN, PROTECTED, window_rows

__all__ = ["incidents"]  # the fixture, shared with the incident tests

V1 = "/api/v1"


@pytest.fixture
def api(client: TestClient, engine: Engine, incidents: Incidents) -> Api:
    return Api(client, make_tokens(engine, incidents.network))


def outages_seen(body: dict[str, Any]) -> dict[int, list[str]]:
    return {item["id"]: [o["circuit"] for o in item["outages"]] for item in body["results"]}


def stored(engine: Engine) -> tuple[list[Any], list[Any]]:
    with session_scope(engine, read_only=True) as session:
        incidents = [i.model_dump() for i in session.exec(select(Incident))]
        windows = [w.model_dump() for w in session.exec(select(MaintenanceWindow))]
    return incidents, windows


# --- incidents -------------------------------------------------------------------------------


def test_staff_read_every_incident_and_outage(api: Api, incidents: Incidents) -> None:
    for who in ("noc", "viewer"):
        response = api.get(who, f"{V1}/incidents")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == 2
        assert outages_seen(body) == {
            incidents.link: [PROTECTED, PLAIN],
            incidents.closed: [OTHER],
        }

    page = api.get("noc", f"{V1}/incidents", params={"state": "closed", "limit": 1}).json()
    assert (page["count"], [i["id"] for i in page["results"]]) == (1, [incidents.closed])


def test_an_operator_sees_only_its_own_circuits(api: Api, incidents: Incidents) -> None:
    mine = api.get("operator_b", f"{V1}/incidents")
    assert mine.status_code == 200, mine.text
    assert outages_seen(mine.json()) == {incidents.closed: [OTHER]}
    for ref in (PROTECTED, PLAIN):
        assert ref not in mine.text

    theirs = api.get("operator_b", f"{V1}/incidents/{incidents.link}")
    assert theirs.status_code == 404
    own = api.get("operator_a", f"{V1}/incidents/{incidents.link}")
    assert own.status_code == 200
    assert [o["circuit"] for o in own.json()["outages"]] == [PROTECTED, PLAIN]
    # Filtering on another operator's circuit finds nothing, not that circuit.
    assert api.get("operator_a", f"{V1}/incidents", params={"circuit": OTHER}).json()["count"] == 0


def test_reclassify_is_the_nocs(api: Api, engine: Engine, incidents: Incidents) -> None:
    path = f"{V1}/incidents/{incidents.link}/reclassify"
    body = {"cause": "planned", "comment": "router swap", "maintenance_window_id": incidents.window}
    before = stored(engine)
    for who in ("viewer", "operator_a"):
        assert api.post(who, path, json=body).status_code == 403
    assert stored(engine) == before

    response = api.post("noc", path, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["cause"] == "planned"
    assert response.json()["maintenance_window_id"] == incidents.window
    assert response.json()["classified_by"].startswith("token:noc")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cause": "customer", "comment": " "}, "comment"),
        ({"cause": "planned", "comment": "swap"}, "maintenance_window_id"),
        ({"cause": "act of god", "comment": "swap"}, "cause"),
        ({"cause": "customer"}, "comment"),
        ({"cause": "customer", "comment": "x", "window": 1}, "window"),
    ],
)
def test_a_bad_reclassification_names_the_field(
    api: Api, engine: Engine, incidents: Incidents, body: dict[str, Any], field: str
) -> None:
    before = stored(engine)
    response = api.post("noc", f"{V1}/incidents/{incidents.link}/reclassify", json=body)
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["error"]["problems"]] == [field]
    assert stored(engine) == before


def test_unknown_incidents_answer_404(api: Api, incidents: Incidents) -> None:
    assert api.get("noc", f"{V1}/incidents/999999").status_code == 404
    response = api.post(
        "noc", f"{V1}/incidents/999999/reclassify", json={"cause": "customer", "comment": "x"}
    )
    assert response.status_code == 404
    assert api.get("noc", f"{V1}/incidents", params={"colour": "red"}).status_code == 400


# --- maintenance windows ---------------------------------------------------------------------


def window_body(incidents: Incidents, **changes: Any) -> dict[str, Any]:
    start = incidents.start.replace(year=incidents.start.year + 1)
    return {
        "subject_kind": "cable",
        "subject": "C-ANG1-CHO1",
        "starts_at": start.isoformat(),
        "ends_at": start.replace(hour=23).isoformat(),
        "reason": "splicing",
        **changes,
    }


def test_the_noc_declares_and_cancels_windows(
    api: Api, engine: Engine, incidents: Incidents
) -> None:
    before = stored(engine)
    assert (
        api.post("viewer", f"{V1}/maintenance-windows", json=window_body(incidents)).status_code
        == 403
    )
    assert (
        api.post("operator_a", f"{V1}/maintenance-windows", json=window_body(incidents)).status_code
        == 403
    )
    assert stored(engine) == before

    response = api.post("noc", f"{V1}/maintenance-windows", json=window_body(incidents))
    assert response.status_code == 201, response.text
    window = response.json()
    assert [(c["ref"], c["at_risk_only"]) for c in window["circuits"]] == [
        (DARK, False),
        (PROTECTED, True),
        (PLAIN, False),
    ]
    assert window["operators"] == ["Opérateur A", "Opérateur B"]

    path = f"{V1}/maintenance-windows/{window['id']}/cancel"
    assert api.post("operator_a", path).status_code == 403
    cancelled = api.post("noc", path)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    again = api.post("noc", path)
    assert again.status_code == 422
    assert again.json()["error"]["problems"][0]["field"] == "maintenance_window"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject": "C-NOWHERE"}, "subject"),
        ({"subject_kind": "building"}, "subject_kind"),
        ({"starts_at": "2031-12-10T22:00:00"}, "starts_at"),
        ({"ends_at": "2020-01-01T00:00:00Z"}, "ends_at"),
        ({"reason": ""}, "reason"),
    ],
)
def test_a_bad_window_names_the_field_and_writes_nothing(
    api: Api, engine: Engine, incidents: Incidents, changes: dict[str, Any], field: str
) -> None:
    before = stored(engine)
    response = api.post("noc", f"{V1}/maintenance-windows", json=window_body(incidents, **changes))
    assert response.status_code == 422, response.text
    assert field in [p["field"] for p in response.json()["error"]["problems"]]
    assert stored(engine) == before


def test_an_operator_sees_the_windows_affecting_its_circuits_only(
    api: Api, incidents: Incidents
) -> None:
    # On ang1-cr1: only operator A's circuits; on LRY1: both operators'.
    seen = api.get("operator_a", f"{V1}/maintenance-windows")
    assert seen.status_code == 200, seen.text
    assert {w["id"] for w in seen.json()["results"]} == {incidents.window, incidents.elsewhere}
    only_b = api.get("operator_b", f"{V1}/maintenance-windows").json()
    assert [w["id"] for w in only_b["results"]] == [incidents.elsewhere]
    [lry1] = only_b["results"]
    assert [c["ref"] for c in lry1["circuits"]] == [OTHER]
    assert lry1["operators"] == ["Opérateur B"]
    assert lry1["declared_by"] is None
    for ref in (PROTECTED, PLAIN):
        assert ref not in str(only_b)

    assert api.get("operator_b", f"{V1}/maintenance-windows/{incidents.window}").status_code == 404
    staff = api.get("viewer", f"{V1}/maintenance-windows/{incidents.elsewhere}").json()
    assert [c["ref"] for c in staff["circuits"]] == [PROTECTED, OTHER]
    assert api.get("noc", f"{V1}/maintenance-windows/999999").status_code == 404


def test_windows_filter_by_state(api: Api, incidents: Incidents) -> None:
    api.post("noc", f"{V1}/maintenance-windows/{incidents.elsewhere}/cancel")

    scheduled = api.get("noc", f"{V1}/maintenance-windows", params={"state": "scheduled"}).json()
    assert [w["id"] for w in scheduled["results"]] == [incidents.window]
    both = api.get(
        "noc", f"{V1}/maintenance-windows", params=[("state", "scheduled"), ("state", "cancelled")]
    ).json()
    assert both["count"] == 2
    bad = api.get("noc", f"{V1}/maintenance-windows", params={"state": "soon"})
    assert bad.status_code == 422


@pytest.mark.parametrize("model", [ReclassifyRequest, WindowRequest], ids=lambda m: m.__name__)
def test_the_body_examples_are_valid(model: type[BaseModel]) -> None:
    examples = model.model_json_schema()["examples"]
    assert examples
    for example in examples:
        model.model_validate(example)


@pytest.mark.parametrize(
    ("since", "reason"),
    [
        ("2026-12-01T00:00:00", "since: needs a timezone"),
        ("2026-12-01", "since: needs a timezone"),
        ("9999-12-31T23:59:59-12:00", "since: outside the years 2000 to 2099"),
        ("0001-01-01T00:00:00+14:00", "since: outside the years 2000 to 2099"),
    ],
)
def test_an_unusable_instant_in_a_filter_is_refused(
    api: Api, incidents: Incidents, since: str, reason: str
) -> None:
    response = api.get("noc", f"{V1}/incidents", params={"since": since})
    assert response.status_code == 422, response.text
    assert reason in response.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("reason", "line card\x1b[31m swap"), ("reason", "swap\u202e"), ("reference", "CHG\x01")],
)
def test_control_characters_in_a_window_are_refused(
    api: Api, engine: Engine, incidents: Incidents, field: str, value: str
) -> None:
    before = window_rows(engine)
    body = window_body(incidents) | {field: value}
    response = api.post("noc", f"{V1}/maintenance-windows", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["problems"][0]["field"] == field
    assert window_rows(engine) == before


def test_a_window_far_in_the_future_is_refused_not_a_crash(
    api: Api, engine: Engine, incidents: Incidents
) -> None:
    body = window_body(incidents) | {
        "starts_at": "9999-12-31T20:00:00-12:00",
        "ends_at": "9999-12-31T23:00:00-12:00",
    }
    response = api.post("noc", f"{V1}/maintenance-windows", json=body)
    assert response.status_code == 422, response.text
    assert "outside the years 2000 to 2099" in response.text
