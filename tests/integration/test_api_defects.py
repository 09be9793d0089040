"""Defects a tester found in the API, each kept here as the test that proves it fixed.

Every test runs on SQLite and PostgreSQL (``engine`` fixture), which must answer alike.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token, revoke_token
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import INTEGER_MAX
from tests.integration.builders import Inventory
from tests.integration.conftest import TEST_SECRET_KEY, Api
from tests.integration.test_api_inventory import (
    BY_PATH,
    V1,
    assert_error,
    circuit_body,
    count,
    dark_fibre,
    holdings,
    problem_fields,
)

BEYOND = (INTEGER_MAX + 1, 2**63, 2**64)  # past PostgreSQL's INTEGER, then SQLite's INTEGER


def reason(response: Any, field: str) -> str:
    problems = response.json()["error"]["problems"]
    found: str = next(problem["reason"] for problem in problems if problem["field"] == field)
    return found


def strand_id(api: Api, inventory: Inventory, number: int) -> int:
    strands = api.get("noc", f"{V1}/cables/{inventory.cable}/strands", params={"limit": 0})
    found: int = strands.json()["results"][number - 1]["id"]
    return found


# --- 1. A circuit's end VLAN is released only by changing the end ---------------------------


def test_an_end_vlan_cannot_be_released_alone(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/circuits/{inventory.circuit_a}"
    own = [h for h in holdings(api, inventory.circuit_a) if h["kind"] == "vlan"]
    a_end = next(h for h in own if h["interface_id"] == inventory.ports["a1"])
    z_end = next(h for h in own if h["interface_id"] == inventory.ports["b1"])
    audited = count(api, "audit")

    response = api.delete("noc", f"{path}/holdings/vlan/{a_end['id']}")

    assert_error(response, 409, "a_vlan")
    assert reason(response, "a_vlan") == (
        "held for the circuit's A end; change or clear a_vlan instead"
    )
    assert_error(api.delete("noc", f"{path}/holdings/vlan/{z_end['id']}"), 409, "z_vlan")
    assert len(holdings(api, inventory.circuit_a)) == 2
    assert count(api, "audit") == audited
    taken = circuit_body(inventory, "GIG-ETH-000030", a_interface_id=inventory.ports["a1"])
    assert_error(api.post("noc", f"{V1}/circuits", json=taken | {"a_vlan": 100}), 409, "a_vlan")

    # Clearing the end releases its VLAN; a VLAN held besides the ends is released freely.
    assert api.patch("noc", path, json={"a_vlan": None}).status_code == 200
    assert api.post("noc", f"{V1}/circuits", json=taken | {"a_vlan": 100}).status_code == 201
    extra = {"kind": "vlan", "interface_id": inventory.ports["a3"], "vlan": 300}
    held = api.post("noc", f"{path}/holdings", json=extra)
    assert held.status_code == 201, held.text
    assert api.delete("noc", f"{path}/holdings/vlan/{held.json()['id']}").status_code == 204


# --- 2. A circuit's bandwidth holdings follow its bandwidth --------------------------------


def test_changing_the_bandwidth_changes_its_holdings(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/circuits/{inventory.circuit_a}"
    link = f"{V1}/links/{inventory.link}"
    held = api.post(
        "noc", f"{path}/holdings", json={"kind": "bandwidth", "backbone_link_id": inventory.link}
    )
    assert held.status_code == 201, held.text
    assert held.json()["bandwidth_mbps"] == 100  # the circuit's bandwidth, by default

    response = api.patch("noc", path, json={"bandwidth_mbps": 300})

    assert response.status_code == 200, response.text
    assert [h["bandwidth_mbps"] for h in holdings(api, inventory.circuit_a)][-1] == 300
    assert api.get("noc", link).json()["held_mbps"] == 300

    audited = count(api, "audit")
    response = api.patch("noc", path, json={"bandwidth_mbps": 95_000})

    assert_error(response, 409, "bandwidth_mbps")
    assert "BL-NTE1-ANG1" in reason(response, "bandwidth_mbps")
    assert "1000 Mb/s" in reason(response, "bandwidth_mbps")
    assert api.get("noc", path).json()["bandwidth_mbps"] == 300
    assert api.get("noc", link).json()["held_mbps"] == 300
    assert count(api, "audit") == audited


def test_a_circuit_holds_its_own_bandwidth(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/circuits/{inventory.circuit_a}/holdings"
    other = {"kind": "bandwidth", "backbone_link_id": inventory.link, "bandwidth_mbps": 600}
    response = api.post("noc", path, json=other)
    assert_error(response, 422, "bandwidth_mbps")
    assert "100 Mb/s" in reason(response, "bandwidth_mbps")

    same = other | {"bandwidth_mbps": 100}
    assert api.post("noc", path, json=same).status_code == 201
    assert api.get("noc", f"{V1}/links/{inventory.link}").json()["held_mbps"] == 100


# --- 3. The API refuses the circuits the loader refuses ------------------------------------

SHAPES = {
    "dark fibre with bandwidth": (
        {"ref": "GIG-DF-000030", "service_type": "dark_fibre"},
        "bandwidth_mbps",
    ),
    "hosting with a z end": (
        {"ref": "GIG-HST-000030", "service_type": "hosting", "bandwidth_mbps": 1000},
        "z_site_id",
    ),
    "e-line without bandwidth": (
        {"ref": "GIG-ETH-000030", "bandwidth_mbps": None},
        "bandwidth_mbps",
    ),
    "e-line without a z end": ({"ref": "GIG-ETH-000030", "z_site_id": None}, "z_site_id"),
    "wavelength without bandwidth": (
        {"ref": "GIG-WAV-000030", "service_type": "wavelength", "bandwidth_mbps": None},
        "bandwidth_mbps",
    ),
    "reference of another service": ({"ref": "GIG-DF-000030"}, "ref"),
}


@pytest.mark.parametrize(("fields", "field"), SHAPES.values(), ids=SHAPES.keys())
def test_a_circuit_of_the_wrong_shape_is_refused(
    api: Api, inventory: Inventory, fields: dict[str, Any], field: str
) -> None:
    before = count(api, "circuits")
    body = circuit_body(inventory, **fields)

    response = api.post("noc", f"{V1}/circuits", json=body)

    assert_error(response, 422, field)
    assert count(api, "circuits") == before


def test_a_circuit_keeps_its_shape_when_changed(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/circuits/{inventory.circuit_a}"
    assert_error(api.patch("noc", path, json={"bandwidth_mbps": None}), 422, "bandwidth_mbps")
    assert api.get("noc", path).json()["bandwidth_mbps"] == 100


def test_only_dark_fibre_holds_strands(api: Api, inventory: Inventory) -> None:
    strand = {"kind": "strand", "strand_id": strand_id(api, inventory, 5)}
    response = api.post("noc", f"{V1}/circuits/{inventory.circuit_a}/holdings", json=strand)
    assert_error(response, 422, "strand_id")
    assert "only dark fibre holds strands" in reason(response, "strand_id")

    dark = dark_fibre(api, inventory, "GIG-DF-000030")
    held = api.post("noc", f"{V1}/circuits/{dark}/holdings", json=strand)
    assert held.status_code == 201, held.text
    hosting = {
        "ref": "GIG-HST-000030",
        "operator_id": inventory.operator_b,
        "service_type": "hosting",
        "a_site_id": inventory.site_a,
        "bandwidth_mbps": 1000,
    }
    assert api.post("noc", f"{V1}/circuits", json=hosting).status_code == 201


# --- 4. Ids beyond what the columns hold --------------------------------------------------


@pytest.mark.parametrize("big", BEYOND)
def test_ids_beyond_the_column_range_are_invalid(api: Api, inventory: Inventory, big: int) -> None:
    circuit = f"{V1}/circuits/{inventory.circuit_a}"
    assert_error(api.get("noc", f"{V1}/sites/{big}"), 422, "path.id")
    assert_error(api.patch("noc", f"{V1}/sites/{big}", json={"name": "x"}), 422, "path.id")
    assert_error(api.get("noc", f"{V1}/circuits/{big}/holdings"), 422, "path.id")
    assert_error(api.delete("noc", f"{circuit}/holdings/vlan/{big}"), 422, "path.holding_id")
    assert_error(api.get("noc", f"{V1}/cables/{big}/strands"), 422, "path.id")

    for path, name in (
        ("devices", "site_id"),
        ("circuits", "site_id"),
        ("links", "device_id"),
        ("audit", "entity_id"),
        (f"cables/{inventory.cable}/strands", "tube"),
    ):
        assert_error(api.get("noc", f"{V1}/{path}", params={name: big}), 422, f"query.{name}")

    device = {"hostname": "nte1-edge9", "site_id": big, "role": "edge", "platform": "frr"}
    response = api.post("noc", f"{V1}/devices", json=device)
    assert_error(response, 422, "site_id")
    assert reason(response, "site_id") == f"no site with id {big}"
    moved = api.patch("noc", f"{V1}/devices/{inventory.device_a}", json={"site_id": big})
    assert_error(moved, 422, "site_id")
    dark = f"{V1}/circuits/{dark_fibre(api, inventory, 'GIG-DF-000031')}"
    for holder, hold, field in (
        (circuit, {"kind": "vlan", "interface_id": big, "vlan": 10}, "interface_id"),
        (circuit, {"kind": "bandwidth", "backbone_link_id": big}, "backbone_link_id"),
        (dark, {"kind": "strand", "strand_id": big}, "strand_id"),
        (dark, {"kind": "strand", "strand_id": 1, "sequence": big}, "sequence"),
    ):
        response = api.post("noc", f"{holder}/holdings", json=hold)
        assert_error(response, 422, field)
        if field != "sequence":
            assert reason(response, field).startswith("no "), response.text


# --- 5. NUL characters --------------------------------------------------------------------


def test_nul_characters_are_refused(api: Api, inventory: Inventory) -> None:
    before, audited = count(api, "sites"), count(api, "audit")
    site = {
        "code": "LAV1",
        "name": "nul\u0000byte",
        "kind": "pop",
        "insee_code": "53130",
        "latitude": 48.07,
        "longitude": -0.77,
    }
    response = api.post("noc", f"{V1}/sites", json=site)
    assert_error(response, 422, "name")
    assert "NUL" in reason(response, "name")
    patched = api.patch("noc", f"{V1}/sites/{inventory.site_a}", json={"address": "a\u0000"})
    assert_error(patched, 422, "address")
    contacts = {"contacts": [{"name": "x", "role": "n\u0000c"}]}
    patched = api.patch("noc", f"{V1}/organisations/{inventory.owner}", json=contacts)
    assert_error(patched, 422, "contacts.0.role")

    assert_error(api.get("noc", f"{V1}/sites?code=%00"), 422, "query.code")
    assert_error(api.get("noc", f"{V1}/sites?code=NTE1&name=x%00"), 422, "query.name")
    assert_error(api.get("noc", f"{V1}/audit?actor=a%00b"), 422, "query.actor")
    assert count(api, "sites") == before
    assert count(api, "audit") == audited
    assert api.get("noc", f"{V1}/sites/{inventory.site_a}").json()["address"] is None


def test_nan_and_infinity_are_refused(api: Api, inventory: Inventory) -> None:
    # Python's json writes and reads them; PostgreSQL's json type refuses them, SQLite not.
    cable = BY_PATH["cables"].valid(inventory) | {"route": [[-1.55, 47.2], [math.nan, math.inf]]}
    headers = {"Content-Type": "application/json"}
    before = count(api, "cables")

    response = api.post("noc", f"{V1}/cables", content=json.dumps(cable), headers=headers)

    assert_error(response, 422, "route.1.0")
    assert_error(response, 422, "route.1.1")
    assert count(api, "cables") == before


# --- 6. An organisation is not deleted from under its tokens -------------------------------


def test_an_organisation_with_tokens_is_not_deleted(
    api: Api, engine: Engine, inventory: Inventory
) -> None:
    made = api.post("noc", f"{V1}/organisations", json={"name": "Fibre Ouest", "kind": "operator"})
    organisation = f"{V1}/organisations/{made.json()['id']}"
    with session_scope(engine, actor="test:tokens") as session:
        token, plain = create_token(
            session,
            name="fibre-ouest",
            role=Role.OPERATOR,
            organisation_id=made.json()["id"],
            secret_key=TEST_SECRET_KEY,
        )
    its_own = {"Authorization": f"Bearer {plain}"}
    audited = count(api, "audit")

    response = api.delete("admin", organisation)

    assert_error(response, 409, "id")
    assert response.json()["error"]["message"].endswith("still referenced by 1 API token")
    assert count(api, "audit") == audited
    assert api.client.get(organisation, headers=its_own).status_code == 200

    # Revoking still works; a revoked token is kept, and keeps its organisation.
    with session_scope(engine, actor="test:tokens") as session:
        assert token.id is not None
        revoke_token(session, token.id)
    assert_error(api.client.get(organisation, headers=its_own), 401)
    assert_error(api.delete("admin", organisation), 409, "id")
    assert api.get("admin", organisation).status_code == 200


# --- 7. Bodies that are not JSON ----------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", None],
    ids=["text", "form", "none"],
)
def test_a_body_that_is_not_json_is_415(
    api: Api, inventory: Inventory, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = b'{"name": "x"}' if content_type != "application/x-www-form-urlencoded" else b"name=x"
    for method, path in (
        ("POST", f"{V1}/sites"),
        ("PATCH", f"{V1}/sites/{inventory.site_a}"),
        ("POST", f"{V1}/circuits/{inventory.circuit_a}/holdings"),
    ):
        response = api.request("noc", method, path, content=body, headers=headers)
        assert_error(response, 415, "header.content-type")
        assert response.json()["error"]["code"] == "unsupported_media_type"
        assert "send application/json" in reason(response, "header.content-type")


def test_invalid_json_says_where(api: Api, inventory: Inventory) -> None:
    headers = {"Content-Type": "application/json"}
    response = api.post("noc", f"{V1}/sites", content=b'{\n  "code": x}', headers=headers)
    assert_error(response, 422, "body")
    assert "line 2, column 11" in reason(response, "body")
    vendor = {"Content-Type": "application/merge-patch+json"}
    patched = api.patch(
        "noc", f"{V1}/sites/{inventory.site_a}", content=b'{"name": "Nantes"}', headers=vendor
    )
    assert patched.status_code == 200, patched.text


# --- 8. INSEE codes of départements that exist ------------------------------------------------


@pytest.mark.parametrize(
    ("insee_code", "accepted"),
    [
        ("53130", True),
        ("2A004", True),
        ("2B033", True),
        ("97411", True),
        ("01001", True),
        ("95127", True),
        ("99999", False),
        ("20004", False),
        ("00000", False),
        ("96001", False),
        ("97701", False),
        ("2C004", False),
    ],
)
def test_insee_codes_name_a_real_departement(
    api: Api, inventory: Inventory, insee_code: str, accepted: bool
) -> None:
    site = {
        "code": "NEW1",
        "name": "Somewhere",
        "kind": "pop",
        "insee_code": insee_code,
        "latitude": 47.0,
        "longitude": -1.0,
    }
    response = api.post("noc", f"{V1}/sites", json=site)
    if accepted:
        assert response.status_code == 201, response.text
    else:
        assert_error(response, 422, "insee_code")


# --- 9. A circuit's holdings are a page like every list ------------------------------------


def test_holdings_are_paginated(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/circuits/{inventory.circuit_a}/holdings"
    page = api.get("operator_a", path).json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 2
    first = api.get("operator_a", path, params={"limit": 1}).json()
    assert len(first["results"]) == 1
    second = api.get("operator_a", first["next"]).json()
    assert second["next"] is None
    assert [h["id"] for h in first["results"] + second["results"]] == [
        h["id"] for h in page["results"]
    ]
    response = api.get("operator_a", path, params={"knd": "vlan"})
    assert_error(response, 400, "query.knd")
    assert problem_fields(response) == ["query.knd"]


def test_a_customer_vlan_on_a_backbone_port_is_refused(api: Api, inventory: Inventory) -> None:
    path = f"{V1}/circuits/{inventory.circuit_a}/holdings"
    on_backbone = {"kind": "vlan", "interface_id": inventory.ports["a2"], "vlan": 300}

    response = api.post("noc", path, json=on_backbone)

    assert_error(response, 422, "vlan")
    assert reason(response, "vlan") == (
        f"interface {inventory.ports['a2']} ends backbone link BL-NTE1-ANG1; use a customer port"
    )
