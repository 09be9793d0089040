"""The inventory API, on SQLite and PostgreSQL.

A generic suite runs against every resource, which only declares its data in ``CASES``:
create, read, list and paginate, filter, update only what is sent, delete, missing objects,
bad input, duplicates, who may do what, and the audit trail. Rules particular to one resource
(circuit holdings and lifecycle, scoping of operators, link capacity) follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gigalis_nms.api.app import create_app
from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token, revoke_token
from gigalis_nms.db import make_engine, session_scope
from gigalis_nms.db.migrate import head_revision
from gigalis_nms.db.types import utcnow
from gigalis_nms.settings import Settings
from tests.integration.builders import Inventory
from tests.integration.conftest import TEST_SECRET_KEY, Api

V1 = "/api/v1"
Body = Callable[[Inventory], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """One resource, as data: a body that is valid in the fixture inventory, one that is
    not and the field the error must name, a PATCH, and a filter with its expected count."""

    path: str
    entity: str  # table name in the audit log
    key: str  # natural key: a duplicate must be refused naming it
    valid: Body
    invalid: Body
    invalid_field: str
    patch: dict[str, Any]
    filter: Callable[[Inventory], tuple[dict[str, Any], int]]
    operator_reads: bool = False
    duplicate: Body | None = None  # when a copy of ``valid`` would clash on another field


CASES = [
    Case(
        path="organisations",
        entity="organisation",
        key="name",
        valid=lambda inv: {"name": "Fibre Ouest", "kind": "operator", "siren": "552081317"},
        invalid=lambda inv: {"name": "Bad SIREN", "kind": "operator", "siren": "552081318"},
        invalid_field="siren",
        patch={"arcep_code": "FOT"},
        filter=lambda inv: ({"kind": "operator"}, 2),
        operator_reads=True,
        # The same SIREN too would be a second duplicate, which PostgreSQL may report first.
        duplicate=lambda inv: {"name": "Fibre Ouest", "kind": "member"},
    ),
    Case(
        path="sites",
        entity="site",
        key="code",
        valid=lambda inv: {
            "code": "LAV1",
            "name": "Laval",
            "kind": "pop",
            "insee_code": "53130",
            "latitude": 48.07,
            "longitude": -0.77,
        },
        invalid=lambda inv: {
            "code": "LAV2",
            "name": "Laval",
            "kind": "pop",
            "insee_code": "53130",
            "latitude": 91,
            "longitude": -0.77,
        },
        invalid_field="latitude",
        patch={"name": "Laval Saint-Nicolas"},
        filter=lambda inv: ({"departement": "49"}, 1),
        operator_reads=True,
    ),
    Case(
        path="devices",
        entity="device",
        key="hostname",
        valid=lambda inv: {
            "hostname": "nte1-edge1",
            "site_id": inv.site_a,
            "role": "edge",
            "platform": "frr",
        },
        invalid=lambda inv: {
            "hostname": "NTE1_edge",
            "site_id": inv.site_a,
            "role": "edge",
            "platform": "frr",
        },
        invalid_field="hostname",
        patch={"status": "offline"},
        filter=lambda inv: ({"site_id": inv.site_b}, 1),
    ),
    Case(
        path="interfaces",
        entity="interface",
        key="name",
        valid=lambda inv: {"device_id": inv.device_a, "name": "xe-0/0/9", "type": "10gbase-x-sfpp"},
        invalid=lambda inv: {
            "device_id": inv.device_a,
            "name": "xe-0/0/8",
            "type": "10gbase-x-sfpp",
            "speed_mbps": 0,
        },
        invalid_field="speed_mbps",
        patch={"enabled": False},
        filter=lambda inv: ({"device_id": inv.device_a}, 3),
    ),
    Case(
        path="cables",
        entity="fibre_cable",
        key="code",
        valid=lambda inv: {
            "code": "FC-ANG1-NTE1-2",
            "a_site_id": inv.site_b,
            "z_site_id": inv.site_a,
            "length_m": 90_000,
            "fibre_count": 24,
            "owner_id": inv.owner,
            "ownership": "iru",
            "iru_end_date": "2041-06-30",
        },
        invalid=lambda inv: {
            "code": "FC-BAD",
            "a_site_id": inv.site_b,
            "z_site_id": inv.site_a,
            "length_m": 90_000,
            "fibre_count": 24,
            "owner_id": inv.owner,
            "ownership": "iru",
        },
        invalid_field="iru_end_date",
        patch={"length_m": 91_000},
        filter=lambda inv: ({"site_id": inv.site_b}, 1),
    ),
    Case(
        path="links",
        entity="backbone_link",
        key="code",
        valid=lambda inv: {
            "code": "BL-NTE1-ANG1-2",
            "a_interface_id": inv.ports["a3"],
            "z_interface_id": inv.ports["b3"],
            "capacity_mbps": 10_000,
        },
        invalid=lambda inv: {
            "code": "BL-LOOP",
            "a_interface_id": inv.ports["a3"],
            "z_interface_id": inv.ports["a3"],
            "capacity_mbps": 10_000,
        },
        invalid_field="z_interface_id",
        patch={"igp_metric": 42},
        filter=lambda inv: ({"device_id": inv.device_b}, 1),
        duplicate=lambda inv: {
            "code": "BL-NTE1-ANG1-2",
            "a_interface_id": inv.ports["a1"],
            "z_interface_id": inv.ports["b1"],
            "capacity_mbps": 10_000,
        },
    ),
    Case(
        path="circuits",
        entity="circuit",
        key="ref",
        valid=lambda inv: {
            "ref": "GIG-ETH-000010",
            "operator_id": inv.operator_a,
            "service_type": "ethernet_eline",
            "a_site_id": inv.site_a,
            "a_interface_id": inv.ports["a1"],
            "a_vlan": 200,
            "z_site_id": inv.site_b,
            "z_interface_id": inv.ports["b1"],
            "z_vlan": 200,
            "bandwidth_mbps": 100,
        },
        invalid=lambda inv: {
            "ref": "GIG-ETH-000011",
            "operator_id": inv.operator_a,
            "service_type": "ethernet_eline",
            "a_site_id": inv.site_a,
            "a_interface_id": inv.ports["b1"],
            "a_vlan": 201,
            "z_site_id": inv.site_b,
            "bandwidth_mbps": 100,
        },
        invalid_field="a_interface_id",
        patch={"description": "Lycée Clemenceau"},
        filter=lambda inv: ({"site_id": inv.site_a}, 2),
        operator_reads=True,
    ),
]
BY_PATH = {case.path: case for case in CASES}
each_case = pytest.mark.parametrize("case", CASES, ids=[case.path for case in CASES])


def problem_fields(response: httpx.Response) -> list[str]:
    return [problem["field"] for problem in response.json()["error"]["problems"]]


def count(api: Api, path: str, **params: Any) -> int:
    response = api.get("admin", f"{V1}/{path}", params=params)
    assert response.status_code == 200, response.text
    total: int = response.json()["count"]
    return total


def create(api: Api, case: Case, inventory: Inventory, who: str = "noc") -> dict[str, Any]:
    response = api.post(who, f"{V1}/{case.path}", json=case.valid(inventory))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"]
    assert error["message"]
    if field is not None:
        assert field in problem_fields(response), response.text
        assert error["message"].startswith(f"{field}: ") or f"; {field}: " in error["message"]


# --- The generic suite --------------------------------------------------------------------


@each_case
def test_create_then_read(api: Api, inventory: Inventory, case: Case) -> None:
    created = create(api, case, inventory)

    assert isinstance(created["id"], int)
    for name, value in case.valid(inventory).items():
        assert created[name] == value, name
    fetched = api.get("viewer", f"{V1}/{case.path}/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == created


@each_case
def test_list_paginates(api: Api, inventory: Inventory, case: Case) -> None:
    create(api, case, inventory)
    total = count(api, case.path)
    assert total >= 2

    first = api.get("viewer", f"{V1}/{case.path}", params={"limit": 1}).json()
    assert first["count"] == total
    assert len(first["results"]) == 1
    assert first["previous"] is None
    assert first["next"].startswith("http://testserver/")
    second = api.get("viewer", first["next"]).json()
    assert second["results"][0]["id"] > first["results"][0]["id"]
    assert second["previous"] is not None
    assert api.get("viewer", second["previous"]).json()["results"] == first["results"]

    everything = api.get("viewer", f"{V1}/{case.path}", params={"limit": 0}).json()
    assert len(everything["results"]) == total
    assert everything["next"] is None

    past = api.get("viewer", f"{V1}/{case.path}", params={"offset": total + 10})
    assert past.status_code == 200
    assert past.json()["results"] == []
    assert past.json()["count"] == total
    assert past.json()["next"] is None


@each_case
def test_filters_are_exact(api: Api, inventory: Inventory, case: Case) -> None:
    params, expected = case.filter(inventory)
    listed = api.get("viewer", f"{V1}/{case.path}", params=params).json()
    assert listed["count"] == expected
    assert len(listed["results"]) == expected

    created = create(api, case, inventory)
    by_key = api.get("viewer", f"{V1}/{case.path}", params={case.key: created[case.key]}).json()
    assert [item["id"] for item in by_key["results"]] == [created["id"]]


@each_case
def test_unknown_filter_is_refused(api: Api, inventory: Inventory, case: Case) -> None:
    response = api.get("viewer", f"{V1}/{case.path}", params={"statsu": "active"})
    assert_error(response, 400, "query.statsu")
    assert response.json()["error"]["code"] == "unknown_parameter"


@each_case
def test_patch_changes_only_the_fields_sent(api: Api, inventory: Inventory, case: Case) -> None:
    created = create(api, case, inventory)

    response = api.patch("noc", f"{V1}/{case.path}/{created['id']}", json=case.patch)
    assert response.status_code == 200, response.text
    updated = response.json()
    for name, value in created.items():
        expected = case.patch.get(name, value)
        if name != "updated_at":
            assert updated[name] == expected, name
    assert api.get("viewer", f"{V1}/{case.path}/{created['id']}").json() == updated


@each_case
def test_patch_refuses_unknown_fields(api: Api, inventory: Inventory, case: Case) -> None:
    created = create(api, case, inventory)
    response = api.patch("noc", f"{V1}/{case.path}/{created['id']}", json={"nmae": "x"})
    assert_error(response, 422, "nmae")


@each_case
def test_delete(api: Api, inventory: Inventory, case: Case) -> None:
    created = create(api, case, inventory)
    before = count(api, case.path)

    response = api.delete("noc", f"{V1}/{case.path}/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api.get("noc", f"{V1}/{case.path}/{created['id']}"), 404, "id")
    assert count(api, case.path) == before - 1


@each_case
def test_missing_object_is_404(api: Api, inventory: Inventory, case: Case) -> None:
    missing = f"{V1}/{case.path}/999999"
    assert_error(api.get("noc", missing), 404, "id")
    assert_error(api.patch("noc", missing, json=case.patch), 404, "id")
    assert_error(api.delete("noc", missing), 404, "id")


@each_case
def test_bad_input_names_the_field_and_writes_nothing(
    api: Api, inventory: Inventory, case: Case
) -> None:
    before, audited = count(api, case.path), count(api, "audit")

    response = api.post("noc", f"{V1}/{case.path}", json=case.invalid(inventory))

    assert_error(response, 422, case.invalid_field)
    assert count(api, case.path) == before
    assert count(api, "audit") == audited


@each_case
def test_duplicate_natural_key_is_a_conflict(api: Api, inventory: Inventory, case: Case) -> None:
    create(api, case, inventory)
    before, audited = count(api, case.path), count(api, "audit")

    duplicate = (case.duplicate or case.valid)(inventory)
    response = api.post("noc", f"{V1}/{case.path}", json=duplicate)

    assert_error(response, 409, case.key)
    assert str(duplicate[case.key]) in response.json()["error"]["message"]
    assert count(api, case.path) == before
    assert count(api, "audit") == audited


def test_a_management_address_belongs_to_one_device(api: Api, inventory: Inventory) -> None:
    first = api.patch(
        "noc", f"{V1}/devices/{inventory.device_a}", json={"management_address": "192.0.2.1"}
    )
    assert first.status_code == 200, first.text
    before = count(api, "audit")
    second = api.patch(
        "noc", f"{V1}/devices/{inventory.device_b}", json={"management_address": "192.0.2.1"}
    )
    assert_error(second, 409, "management_address")
    assert count(api, "audit") == before


@each_case
def test_viewer_reads_but_cannot_write(api: Api, inventory: Inventory, case: Case) -> None:
    created = create(api, case, inventory)
    one = f"{V1}/{case.path}/{created['id']}"

    assert api.get("viewer", f"{V1}/{case.path}").status_code == 200
    assert api.get("viewer", one).status_code == 200
    assert_error(api.post("viewer", f"{V1}/{case.path}", json=case.valid(inventory)), 403)
    assert_error(api.patch("viewer", one, json=case.patch), 403)
    assert_error(api.delete("viewer", one), 403)
    assert api.get("admin", one).json() == created


@each_case
def test_operator_access(api: Api, inventory: Inventory, case: Case) -> None:
    created = create(api, case, inventory)
    one = f"{V1}/{case.path}/{created['id']}"

    listed = api.get("operator_a", f"{V1}/{case.path}")
    assert listed.status_code == (200 if case.operator_reads else 403)
    assert_error(api.post("operator_a", f"{V1}/{case.path}", json=case.valid(inventory)), 403)
    assert_error(api.patch("operator_a", one, json=case.patch), 403)
    assert_error(api.delete("operator_a", one), 403)


@each_case
def test_no_token_or_a_bad_one_is_401(api: Api, inventory: Inventory, case: Case) -> None:
    for headers in ({}, {"Authorization": "Bearer gig_not-a-token"}, {"Authorization": "x"}):
        response = api.client.get(f"{V1}/{case.path}", headers=headers)
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"
    response = api.client.post(f"{V1}/{case.path}", json=case.valid(inventory))
    assert_error(response, 401)


@each_case
def test_audit_records_each_change(api: Api, inventory: Inventory, case: Case) -> None:
    created = create(api, case, inventory)
    path = f"{V1}/{case.path}/{created['id']}"
    assert api.patch("noc", path, json=case.patch).status_code == 200
    assert api.delete("noc", path).status_code == 204

    params = {"entity": case.entity, "entity_id": created["id"]}
    entries = api.get("admin", f"{V1}/audit", params=params).json()["results"]

    assert [entry["action"] for entry in entries] == ["delete", "update", "create"]
    assert {entry["actor"] for entry in entries} == {f"token:noc#{_token_id(api, 'noc')}"}
    deleted, updated, made = entries
    assert made["before"] is None
    assert made["after"][case.key] == created[case.key]
    assert set(updated["after"]) == set(case.patch)
    for name, value in case.patch.items():
        assert updated["before"][name] == created[name]
        assert updated["after"][name] == value
    assert deleted["before"]["id"] == created["id"]
    assert deleted["after"] is None


def _token_id(api: Api, who: str) -> int:
    entries = api.get("admin", f"{V1}/audit", params={"entity": "api_token"}).json()["results"]
    return next(entry["entity_id"] for entry in entries if entry["after"]["name"] == who)


# --- Operators see only their own -----------------------------------------------------------


def test_operator_sees_only_its_own_circuits(api: Api, inventory: Inventory) -> None:
    mine = api.get("operator_a", f"{V1}/circuits").json()
    assert mine["count"] == 1
    assert [c["id"] for c in mine["results"]] == [inventory.circuit_a]
    filtered = api.get("operator_a", f"{V1}/circuits", params={"operator_id": inventory.operator_b})
    assert filtered.json()["count"] == 0

    assert api.get("operator_a", f"{V1}/circuits/{inventory.circuit_a}").status_code == 200
    other = f"{V1}/circuits/{inventory.circuit_b}"
    assert_error(api.get("operator_a", other), 404, "id")
    assert_error(api.get("operator_a", f"{other}/holdings"), 404, "id")
    assert api.get("operator_b", other).status_code == 200
    holdings = api.get("operator_a", f"{V1}/circuits/{inventory.circuit_a}/holdings")
    assert holdings.status_code == 200
    assert holdings.json()["count"] == 2


def test_operator_sees_only_its_own_organisation(api: Api, inventory: Inventory) -> None:
    listed = api.get("operator_a", f"{V1}/organisations").json()
    assert [o["id"] for o in listed["results"]] == [inventory.operator_a]
    assert api.get("operator_a", f"{V1}/organisations/{inventory.operator_a}").status_code == 200
    assert_error(api.get("operator_a", f"{V1}/organisations/{inventory.operator_b}"), 404, "id")
    assert_error(api.get("operator_a", f"{V1}/organisations/{inventory.owner}"), 404, "id")


def test_operator_reads_sites_but_nothing_internal(api: Api, inventory: Inventory) -> None:
    assert count_as(api, "operator_a", "sites") == 2
    for path in ("devices", "interfaces", "cables", "links", "audit"):
        assert_error(api.get("operator_a", f"{V1}/{path}"), 403)
    assert_error(api.get("operator_a", f"{V1}/cables/{inventory.cable}/strands"), 403)
    hold = {"kind": "vlan", "interface_id": inventory.ports["a3"], "vlan": 300}
    assert_error(
        api.post("operator_a", f"{V1}/circuits/{inventory.circuit_a}/holdings", json=hold), 403
    )


def count_as(api: Api, who: str, path: str) -> int:
    total: int = api.get(who, f"{V1}/{path}").json()["count"]
    return total


def test_viewer_cannot_read_the_audit_log(api: Api, inventory: Inventory) -> None:
    assert_error(api.get("viewer", f"{V1}/audit"), 403)
    assert api.get("noc", f"{V1}/audit").status_code == 200


# --- Tokens -------------------------------------------------------------------------------


def test_revoked_and_expired_tokens_are_refused(
    api: Api, engine: Engine, inventory: Inventory
) -> None:
    with session_scope(engine) as session:
        revoked, revoked_plain = create_token(
            session, name="old", role=Role.NOC, secret_key=TEST_SECRET_KEY
        )
        expiring, expiring_plain = create_token(
            session,
            name="soon",
            role=Role.NOC,
            expires_at=utcnow() + timedelta(seconds=30),
            secret_key=TEST_SECRET_KEY,
        )
    headers = {"Authorization": f"Bearer {revoked_plain}"}
    assert api.client.get(f"{V1}/sites", headers=headers).status_code == 200

    with session_scope(engine) as session:
        assert revoked.id is not None
        assert expiring.id is not None
        revoke_token(session, revoked.id)
        expired = session.get(type(expiring), expiring.id)
        assert expired is not None
        expired.expires_at = utcnow() - timedelta(seconds=1)

    response = api.client.get(f"{V1}/sites", headers=headers)
    assert_error(response, 401)
    assert "revoked" in response.json()["error"]["message"]
    response = api.client.get(f"{V1}/sites", headers={"Authorization": f"Bearer {expiring_plain}"})
    assert_error(response, 401)
    assert "expired" in response.json()["error"]["message"]


def test_netbox_token_scheme_is_accepted(api: Api, inventory: Inventory) -> None:
    headers = {"Authorization": f"Token {api.tokens['viewer']}"}
    assert api.client.get(f"{V1}/sites", headers=headers).status_code == 200


# --- Circuits and what they hold ------------------------------------------------------------


def circuit_body(inventory: Inventory, ref: str, **fields: Any) -> dict[str, Any]:
    return {
        "ref": ref,
        "operator_id": inventory.operator_b,
        "service_type": "ethernet_eline",
        "a_site_id": inventory.site_a,
        "z_site_id": inventory.site_b,
        "bandwidth_mbps": 100,
        **fields,
    }


def holdings(api: Api, circuit_id: int) -> list[dict[str, Any]]:
    response = api.get("noc", f"{V1}/circuits/{circuit_id}/holdings")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["results"]
    return found


def test_creating_a_circuit_holds_its_vlans(api: Api, inventory: Inventory) -> None:
    circuit = create(api, BY_PATH["circuits"], inventory)
    held = {(h["kind"], h["interface_id"], h["vlan"]) for h in holdings(api, circuit["id"])}
    assert held == {("vlan", inventory.ports["a1"], 200), ("vlan", inventory.ports["b1"], 200)}


def test_a_vlan_already_held_refuses_the_whole_circuit(api: Api, inventory: Inventory) -> None:
    before, audited = count(api, "circuits"), count(api, "audit")
    body = circuit_body(
        inventory, "GIG-ETH-000020", a_interface_id=inventory.ports["a1"], a_vlan=100
    )

    response = api.post("noc", f"{V1}/circuits", json=body)

    assert_error(response, 409, "a_vlan")
    message = response.json()["error"]["message"]
    assert f"VLAN 100 is already held on interface {inventory.ports['a1']}" in message
    assert "GIG-ETH-000001" in message
    assert count(api, "circuits") == before
    assert count(api, "audit") == audited


def test_moving_a_vlan_moves_its_holding(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/circuits/{inventory.circuit_a}"
    response = api.patch("noc", path, json={"a_interface_id": inventory.ports["a3"], "a_vlan": 101})
    assert response.status_code == 200, response.text

    held = {(h["interface_id"], h["vlan"]) for h in holdings(api, inventory.circuit_a)}
    assert held == {(inventory.ports["a3"], 101), (inventory.ports["b1"], 100)}
    freed = circuit_body(
        inventory, "GIG-ETH-000021", a_interface_id=inventory.ports["a1"], a_vlan=100
    )
    assert api.post("noc", f"{V1}/circuits", json=freed).status_code == 201


def test_status_follows_the_lifecycle(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/circuits/{inventory.circuit_a}"
    response = api.patch("noc", path, json={"status": "active"})
    assert_error(response, 422, "status")
    assert "designed" in response.json()["error"]["message"]

    for status in ("designed", "provisioning", "active", "suspended"):
        response = api.patch("noc", path, json={"status": status})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status


def test_terminating_releases_everything(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/circuits/{inventory.circuit_a}"
    hold = {"kind": "bandwidth", "backbone_link_id": inventory.link}
    assert api.post("noc", f"{path}/holdings", json=hold).status_code == 201
    assert len(holdings(api, inventory.circuit_a)) == 3

    response = api.patch("noc", path, json={"status": "terminated"})

    assert response.status_code == 200, response.text
    assert holdings(api, inventory.circuit_a) == []
    assert api.get("noc", f"{V1}/links/{inventory.link}").json()["held_mbps"] == 0
    assert_error(api.patch("noc", path, json={"a_vlan": 5}), 422, "a_vlan")
    assert_error(api.patch("noc", path, json={"status": "active"}), 422, "status")
    assert api.patch("noc", path, json={"description": "closed"}).status_code == 200
    assert_error(api.post("noc", f"{path}/holdings", json=hold), 409, "status")


def test_a_circuit_needs_an_operator(api: Api, inventory: Inventory) -> None:
    body = circuit_body(inventory, "GIG-ETH-000022", operator_id=inventory.owner)
    response = api.post("noc", f"{V1}/circuits", json=body)
    assert_error(response, 422, "operator_id")
    assert "not an operator" in response.json()["error"]["message"]
    body = circuit_body(inventory, "GIG-ETH-000022", operator_id=999)
    assert_error(api.post("noc", f"{V1}/circuits", json=body), 422, "operator_id")


def test_a_vlan_needs_a_port(api: Api, inventory: Inventory) -> None:
    body = circuit_body(inventory, "GIG-ETH-000023", a_vlan=10)
    assert_error(api.post("noc", f"{V1}/circuits", json=body), 422, "a_vlan")


def test_bandwidth_cannot_exceed_the_link(api: Api, inventory: Inventory) -> None:
    link = f"{V1}/links/{inventory.link}"
    for circuit_id in (inventory.circuit_a, inventory.circuit_b):
        response = api.patch("noc", f"{V1}/circuits/{circuit_id}", json={"bandwidth_mbps": 600})
        assert response.status_code == 200, response.text
    hold = {"kind": "bandwidth", "backbone_link_id": inventory.link, "bandwidth_mbps": 600}
    first = api.post("noc", f"{V1}/circuits/{inventory.circuit_a}/holdings", json=hold)
    assert first.status_code == 201, first.text
    assert api.get("noc", link).json()["held_mbps"] == 600
    assert api.get("noc", link).json()["free_mbps"] == 400

    second = api.post("noc", f"{V1}/circuits/{inventory.circuit_b}/holdings", json=hold)

    assert_error(second, 409, "bandwidth_mbps")
    assert "BL-NTE1-ANG1 has only 400 Mb/s free" in second.json()["error"]["message"]
    assert api.get("noc", link).json()["held_mbps"] == 600
    response = api.patch("noc", link, json={"capacity_mbps": 500})
    assert_error(response, 409, "capacity_mbps")
    assert "holds 600 Mb/s" in response.json()["error"]["message"]

    released = api.delete(
        "noc", f"{V1}/circuits/{inventory.circuit_a}/holdings/bandwidth/{first.json()['id']}"
    )
    assert released.status_code == 204
    assert api.get("noc", link).json()["held_mbps"] == 0


def test_a_strand_is_held_once(api: Api, inventory: Inventory) -> None:
    strands = api.get("noc", f"{V1}/cables/{inventory.cable}/strands", params={"limit": 0}).json()
    assert strands["count"] == 12
    strand = strands["results"][4]
    assert (strand["number"], strand["tube"], strand["colour"]) == (5, 1, "violet")
    hold = {"kind": "strand", "strand_id": strand["id"], "sequence": 0}
    first_id = dark_fibre(api, inventory, "GIG-DF-000001")
    second_id = dark_fibre(api, inventory, "GIG-DF-000002")

    first = api.post("noc", f"{V1}/circuits/{first_id}/holdings", json=hold)
    assert first.status_code == 201, first.text
    second = api.post("noc", f"{V1}/circuits/{second_id}/holdings", json=hold)

    assert_error(second, 409, "strand_id")
    message = second.json()["error"]["message"]
    assert "strand 5 of cable FC-NTE1-ANG1 is already held by circuit GIG-DF-000001" in message
    held = api.get("noc", f"{V1}/cables/{inventory.cable}/strands", params={"held": "true"}).json()
    assert [(s["id"], s["held_by_circuit_id"]) for s in held["results"]] == [
        (strand["id"], first_id)
    ]
    assert_error(api.delete("noc", f"{V1}/cables/{inventory.cable}"), 409, "id")


def dark_fibre(api: Api, inventory: Inventory, ref: str) -> int:
    """A new dark-fibre circuit: only dark fibre holds strands."""
    body = circuit_body(inventory, ref, service_type="dark_fibre", bandwidth_mbps=None)
    response = api.post("noc", f"{V1}/circuits", json=body)
    assert response.status_code == 201, response.text
    made: int = response.json()["id"]
    return made


def test_holding_requests_name_their_missing_fields(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/circuits/{inventory.circuit_a}/holdings"
    assert_error(api.post("noc", path, json={"kind": "vlan", "interface_id": 1}), 422, "vlan")
    wrong = {"kind": "strand", "strand_id": 1, "vlan": 10}
    assert_error(api.post("noc", path, json=wrong), 422, "vlan")
    assert_error(api.post("noc", path, json={"kind": "vlan", "vlan": 5000}), 422, "vlan")
    assert_error(api.delete("noc", f"{path}/vlan/999999"), 404, "holding_id")
    assert_error(api.delete("noc", f"{path}/fibre/1"), 422, "path.kind")


# --- Cross-field rules --------------------------------------------------------------------


def test_a_port_must_be_at_the_circuit_end_site(api: Api, inventory: Inventory) -> None:
    body = circuit_body(inventory, "GIG-ETH-000024", z_interface_id=inventory.ports["a3"], z_vlan=7)
    response = api.post("noc", f"{V1}/circuits", json=body)
    assert_error(response, 422, "z_interface_id")
    assert "at site NTE1, not at the z site ANG1" in response.json()["error"]["message"]


def test_cable_rules(api: Api, inventory: Inventory) -> None:
    body = BY_PATH["cables"].valid(inventory) | {"z_site_id": inventory.site_b}
    assert_error(api.post("noc", f"{V1}/cables", json=body), 422, "z_site_id")
    body = BY_PATH["cables"].valid(inventory) | {"ownership": "own"}
    assert_error(api.post("noc", f"{V1}/cables", json=body), 422, "iru_end_date")
    path = f"{V1}/cables/{inventory.cable}"
    assert_error(api.patch("noc", path, json={"ownership": "iru"}), 422, "iru_end_date")
    both = {"ownership": "iru", "iru_end_date": "2040-01-01"}
    assert api.patch("noc", path, json=both).status_code == 200
    assert_error(api.patch("noc", path, json={"ownership": None}), 422, "ownership")


def test_an_interface_carries_one_link(api: Api, inventory: Inventory) -> None:
    body = {
        "code": "BL-AGAIN",
        "a_interface_id": inventory.ports["b2"],
        "z_interface_id": inventory.ports["a3"],
        "capacity_mbps": 1000,
    }
    response = api.post("noc", f"{V1}/links", json=body)
    assert_error(response, 409, "a_interface_id")
    assert "BL-NTE1-ANG1" in response.json()["error"]["message"]


def test_a_missing_reference_names_its_field(api: Api, inventory: Inventory) -> None:
    body = BY_PATH["devices"].valid(inventory) | {"site_id": 999_999}
    response = api.post("noc", f"{V1}/devices", json=body)
    assert_error(response, 422, "site_id")
    assert "no site with id 999999" in response.json()["error"]["message"]


def test_deleting_what_is_referenced_is_a_conflict(api: Api, inventory: Inventory) -> None:
    response = api.delete("noc", f"{V1}/sites/{inventory.site_a}")
    assert_error(response, 409, "id")
    assert "still referenced by" in response.json()["error"]["message"]
    response = api.delete("noc", f"{V1}/devices/{inventory.device_a}")
    assert "1 backbone link" in response.json()["error"]["message"]
    assert count(api, "sites") == 2
    assert count(api, "devices") == 2


def test_an_operator_with_circuits_stays_an_operator(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/organisations/{inventory.operator_a}"
    assert_error(api.patch("noc", path, json={"kind": "member"}), 422, "kind")


# --- Lists, errors and documents ------------------------------------------------------------


def test_next_keeps_the_filters(api: Api, inventory: Inventory) -> None:
    params = {"device_id": inventory.device_a, "enabled": "true", "limit": 1}
    page = api.get("viewer", f"{V1}/interfaces", params=params).json()
    assert page["count"] == 3
    following = httpx.URL(page["next"])
    assert following.params["device_id"] == str(inventory.device_a)
    assert following.params["enabled"] == "true"
    assert following.params["offset"] == "1"


def test_repeated_filters_are_alternatives(api: Api, inventory: Inventory) -> None:
    params = [("code", "NTE1"), ("code", "ANG1"), ("code", "XXX9")]
    assert api.get("viewer", f"{V1}/sites", params=params).json()["count"] == 2


def test_bad_filter_values_and_limits_name_the_parameter(api: Api, inventory: Inventory) -> None:
    assert_error(api.get("viewer", f"{V1}/devices", params={"site_id": "x"}), 422, "query.site_id")
    assert_error(api.get("viewer", f"{V1}/sites", params={"kind": "castle"}), 422, "query.kind")
    assert_error(api.get("viewer", f"{V1}/sites", params={"limit": -1}), 422, "query.limit")
    assert_error(api.get("viewer", f"{V1}/sites/abc"), 422, "path.id")
    # Past what the databases take (SQLite: 64 bits) is refused, not a 500.
    huge = str(2**63)
    assert_error(api.get("viewer", f"{V1}/sites", params={"offset": huge}), 422, "query.offset")
    assert_error(api.get("viewer", f"{V1}/sites", params={"limit": huge}), 422, "query.limit")


def test_limit_is_capped_at_the_page_max(
    engine: Engine, settings: Settings, inventory: Inventory, api: Api
) -> None:
    small = settings.model_copy(update={"page_max": 2})
    with TestClient(create_app(small, engine)) as client:
        headers = {"Authorization": f"Bearer {api.tokens['viewer']}"}
        for limit in (0, 3, 1000):
            page = client.get(f"{V1}/interfaces", params={"limit": limit}, headers=headers).json()
            assert len(page["results"]) == 2
            assert "limit=2" in page["next"]


def test_every_error_has_the_same_shape(api: Api, inventory: Inventory) -> None:
    assert_error(api.get("noc", f"{V1}/nowhere"), 404)
    assert_error(api.get(None, "/nowhere"), 404)
    assert_error(api.request("noc", "PUT", f"{V1}/sites"), 405)
    broken = api.post(
        "noc", f"{V1}/sites", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(broken, 422, "body")
    nested = {
        "name": "With contacts",
        "kind": "member",
        "contacts": [{"name": "x", "email": "not-an-email"}],
    }
    assert_error(api.post("noc", f"{V1}/organisations", json=nested), 422, "contacts.0.email")


def test_health(api: Api, inventory: Inventory) -> None:
    response = api.get(None, "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "revision": head_revision()}


def test_health_without_a_database(settings: Settings) -> None:
    # A closed port on the loopback: the connection is refused at once.
    unreachable = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings, unreachable)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_openapi_documents_tags_filters_and_examples(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert {tag["name"] for tag in document["tags"]} >= {case.path for case in CASES}
    list_sites = document["paths"]["/api/v1/sites"]["get"]
    parameters = {parameter["name"] for parameter in list_sites["parameters"]}
    assert {"limit", "offset", "departement", "code", "kind", "status"} <= parameters
    schemas = document["components"]["schemas"]
    assert schemas["SiteCreate"]["examples"][0]["code"] == "LAV1"
    assert schemas["CircuitUpdate"]["examples"]
    assert "ErrorBody" in schemas
    assert document["paths"]["/api/v1/sites"]["post"]["operationId"]
