"""The NetBox dialect at /netbox/api/ through the in-process client, on SQLite and
PostgreSQL: shapes, paging, filters, roles, writes through the inventory's rules, and trace.

The real clients (pynetbox, nornir-netbox) against a real `gigalis serve` are in
test_netbox_clients.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gigalis_nms.audit import AuditEntry
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.netbox.endpoints import ENDPOINTS
from tests.integration.builders import Inventory, hold_link_on_cable
from tests.integration.conftest import Api

ROOT = "/netbox/api"
BASE = "http://testserver/netbox/api"


def nb(api: Api, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A request as NetBox clients send it: Token scheme, path under the dialect's root."""
    headers = {"Authorization": f"Token {api.tokens[who]}"}
    return api.client.request(method, f"{ROOT}/{path}", headers=headers, **kwargs)


def fields_of(response: httpx.Response) -> list[str]:
    return [problem["field"] for problem in response.json()["error"]["problems"]]


def test_root_status_and_api_version(api: Api) -> None:
    root = nb(api, "viewer", "GET", "")
    assert root.status_code == 200
    assert root.headers["API-Version"] == "4.1"
    assert root.json()["dcim"] == f"{BASE}/dcim/"
    assert nb(api, "viewer", "GET", "dcim/").json()["devices"] == f"{BASE}/dcim/devices/"
    assert nb(api, "viewer", "GET", "status/").json()["netbox-version"] == "4.1.0"
    # Errors carry the header too: pynetbox reads it before anything else.
    missing = api.client.get(f"{ROOT}/dcim/devices/")
    assert missing.status_code == 401
    assert missing.headers["API-Version"] == "4.1"


@pytest.mark.parametrize("who", ["admin", "noc", "viewer", "finance"])
def test_staff_read(api: Api, who: str) -> None:
    assert nb(api, who, "GET", "dcim/devices/").status_code == 200


@pytest.mark.parametrize("who", ["operator_a", "operator_b"])
def test_operator_tokens_are_refused_everywhere(api: Api, who: str) -> None:
    for path in ("", "dcim/sites/", "circuits/circuits/", "tenancy/tenants/"):
        assert nb(api, who, "GET", path).status_code == 403


@pytest.mark.parametrize("who", ["viewer", "finance"])
def test_readers_cannot_write(api: Api, inventory: Inventory, who: str) -> None:
    response = nb(api, who, "PATCH", f"dcim/sites/{inventory.site_a}/", json={"name": "X"})
    assert response.status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path)
def test_every_endpoint_lists_and_gets_by_url(api: Api, endpoint: Any) -> None:
    page = nb(api, "viewer", "GET", f"{endpoint.path}/", params={"limit": 0})
    assert page.status_code == 200, page.text
    body = page.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(body["results"])
    for item in body["results"]:
        assert {"id", "url", "display"} <= set(item)
        assert item["url"] == f"{BASE}/{endpoint.path}/{item['id']}/"
        one = api.client.get(item["url"], headers={"Authorization": f"Token {api.tokens['noc']}"})
        assert one.json() == item
    assert nb(api, "viewer", "GET", f"{endpoint.path}/2147483647/").status_code == 404


def test_device_reads_as_netbox_and_nornir_need(api: Api, inventory: Inventory) -> None:
    device = nb(api, "viewer", "GET", f"dcim/devices/{inventory.device_a}/").json()
    assert device["name"] == "nte1-core1"
    assert device["site"]["slug"] == "nte1"
    assert device["role"]["slug"] == "core"
    assert device["platform"]["slug"] == "frr"
    assert device["status"] == {"value": "active", "label": "Active"}
    assert device["config_context"] == {}
    assert device["custom_fields"] == {}
    platform = nb(api, "viewer", "GET", "dcim/platforms/", params={"slug": "frr"}).json()
    assert platform["results"][0]["napalm_driver"] == "frr"


def test_brief_forms(api: Api, inventory: Inventory) -> None:
    page = nb(api, "viewer", "GET", "dcim/devices/", params={"brief": 1, "limit": 1}).json()
    assert set(page["results"][0]) == {"id", "url", "display", "name", "description"}
    site = nb(api, "viewer", "GET", f"dcim/sites/{inventory.site_a}/", params={"brief": "true"})
    assert set(site.json()) == {"id", "url", "display", "name", "slug", "description"}


def test_paging_keeps_filters_and_is_absolute(api: Api) -> None:
    first = nb(api, "viewer", "GET", "dcim/interfaces/", params={"enabled": "true", "limit": 2})
    body = first.json()
    assert body["count"] == 6
    assert body["next"] == f"{BASE}/dcim/interfaces/?enabled=true&limit=2&offset=2"
    assert body["previous"] is None
    second = api.client.get(body["next"], headers={"Authorization": f"Token {api.tokens['noc']}"})
    assert second.json()["previous"] == f"{BASE}/dcim/interfaces/?enabled=true&limit=2"
    past = nb(api, "viewer", "GET", "dcim/interfaces/", params={"offset": 100}).json()
    assert past["results"] == []
    assert past["count"] == 6


def test_filters(api: Api, inventory: Inventory) -> None:
    def names(path: str, **params: Any) -> list[str]:
        response = nb(api, "viewer", "GET", path, params=params)
        assert response.status_code == 200, response.text
        return [item["display"] for item in response.json()["results"]]

    assert names("dcim/devices/", site="ang1") == ["ang1-core1"]
    assert names("dcim/devices/", site=["ang1", "nte1"], role="core") == [
        "nte1-core1",
        "ang1-core1",
    ]
    assert names("dcim/devices/", platform="junos") == []
    assert names("dcim/interfaces/", device="ang1-core1", name="xe-0/0/2") == ["xe-0/0/2"]
    assert names("tenancy/tenants/", slug="operateur-a") == ["Opérateur A"]
    assert names("circuits/circuits/", tenant_id=inventory.operator_b) == ["GIG-ETH-000002"]
    assert names("circuits/circuits/", status="planned", type="ethernet-eline") == [
        "GIG-ETH-000001",
        "GIG-ETH-000002",
    ]
    assert names("circuits/circuit-terminations/", circuit_id=inventory.circuit_a) == [
        "GIG-ETH-000001: Termination A",
        "GIG-ETH-000001: Termination Z",
    ]
    assert names("dcim/device-roles/", slug="edge") == ["Edge"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("dcim/devices/", {"name__xyz": "nte"}, "query.name__xyz"),
        ("dcim/devices/", {"ordering": "rack"}, "query.ordering"),
        ("dcim/devices/", {"site": "nowhere"}, "query.site"),
        ("dcim/devices/", {"status": "bogus"}, "query.status"),
        ("dcim/devices/", {"site_id": "x"}, "query.site_id"),
        ("dcim/interfaces/", {"enabled": "maybe"}, "query.enabled"),
        ("circuits/circuits/", {"status": "reserved"}, "query.status"),
        ("dcim/device-roles/", {"color": "red"}, "query.color"),
        ("dcim/sites/", {"brief": "perhaps"}, "query.brief"),
        ("dcim/sites/", {"cf_kind": "bogus"}, "query.cf_kind"),
        ("dcim/sites/", {"cf_kind": ""}, "query.cf_kind"),
    ],
)
def test_filters_the_dialect_lacks_or_cannot_read_answer_400(
    api: Api, path: str, params: dict[str, str], field: str
) -> None:
    response = nb(api, "viewer", "GET", path, params=params)
    assert response.status_code == 400, response.text
    assert fields_of(response) == [field]


def test_options_give_choices_to_writers_only(api: Api) -> None:
    described = nb(api, "noc", "OPTIONS", "dcim/devices/").json()
    statuses = described["actions"]["POST"]["status"]["choices"]
    assert {"value": "active", "display_name": "Active"} in statuses
    assert nb(api, "viewer", "OPTIONS", "dcim/devices/").json()["actions"] == {}
    interface_types = nb(api, "admin", "OPTIONS", "dcim/interfaces/").json()
    assert {"value": "10gbase-x-sfpp", "display_name": "SFP+ (10GE)"} in interface_types["actions"][
        "POST"
    ]["type"]["choices"]


def test_site_create_patch_delete(api: Api, engine: Engine) -> None:
    body = {
        "name": "Laval Saint-Nicolas",
        "slug": "lav1",
        "status": "planned",
        "latitude": 48.07,
        "longitude": -0.77,
        "physical_address": "12 rue de la Fibre, 53000 Laval",
        "custom_fields": {"insee_code": "53130", "kind": "pop"},
        "time_zone": "Europe/Paris",
    }
    made = nb(api, "noc", "POST", "dcim/sites/", json=body)
    assert made.status_code == 201, made.text
    site = made.json()
    assert (site["facility"], site["slug"], site["status"]["value"]) == ("LAV1", "lav1", "planned")

    changed = nb(api, "noc", "PATCH", f"dcim/sites/{site['id']}/", json={"status": "active"})
    assert changed.json()["status"]["value"] == "active"
    assert changed.json()["name"] == "Laval Saint-Nicolas"  # PATCH keeps what was not sent

    assert nb(api, "noc", "DELETE", f"dcim/sites/{site['id']}/").status_code == 204
    assert nb(api, "noc", "GET", f"dcim/sites/{site['id']}/").status_code == 404
    with session_scope(engine, actor="test") as session:
        actions = session.exec(
            select(AuditEntry.action)
            .where(AuditEntry.entity == "site", AuditEntry.entity_id == site["id"])
            .order_by(col(AuditEntry.id))
        ).all()
    assert actions == ["create", "update", "delete"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "slug": "x1", "rack_count": 3}, "rack_count"),
        ({"name": "X", "slug": "x1", "description": "somewhere"}, "description"),
        ({"name": "X", "slug": "x1", "facility": "Y1"}, "facility"),
        ({"name": "X", "slug": "x1", "custom_fields": {"colour": "red"}}, "custom_fields.colour"),
        ({"name": "X", "slug": "x1", "latitude": 1, "longitude": 1}, "custom_fields.insee_code"),
    ],
)
def test_site_bodies_gigalis_cannot_store_answer_400(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = nb(api, "noc", "POST", "dcim/sites/", json=body)
    assert response.status_code == 400, response.text
    assert field in fields_of(response)


def test_tenant_is_an_operator_with_its_slug_from_its_name(api: Api) -> None:
    wrong = nb(api, "noc", "POST", "tenancy/tenants/", json={"name": "Fibre 53", "slug": "f53"})
    assert wrong.status_code == 400
    assert fields_of(wrong) == ["slug"]
    made = nb(
        api, "admin", "POST", "tenancy/tenants/", json={"name": "Fibre 53", "slug": "fibre-53"}
    )
    assert made.status_code == 201, made.text
    organisation = api.get("admin", f"/api/v1/organisations/{made.json()['id']}").json()
    assert organisation["kind"] == "operator"


def test_device_and_interface_writes(api: Api, inventory: Inventory) -> None:
    device = nb(
        api,
        "noc",
        "POST",
        "dcim/devices/",
        json={"name": "nte1-edge9", "site": inventory.site_a, "role": 3, "platform": {"id": 2}},
    )
    assert device.status_code == 201, device.text
    made = device.json()
    assert (made["role"]["slug"], made["platform"]["slug"], made["status"]["value"]) == (
        "edge",
        "junos",
        "active",
    )
    port = nb(
        api,
        "noc",
        "POST",
        "dcim/interfaces/",
        json=[
            {
                "device": made["id"],
                "name": "ge-0/0/0",
                "type": "1000base-x-sfp",
                "speed": 1_000_000,
            },
            {"device": made["id"], "name": "ge-0/0/1", "type": "1000base-x-sfp"},
        ],
    )
    assert port.status_code == 201, port.text
    ids = [item["id"] for item in port.json()]
    assert port.json()[0]["speed"] == 1_000_000

    odd_speed = nb(api, "noc", "PATCH", f"dcim/interfaces/{ids[0]}/", json={"speed": 1500})
    assert fields_of(odd_speed) == ["speed"]
    moved = nb(api, "noc", "PATCH", f"dcim/interfaces/{ids[0]}/", json={"device": 1})
    assert moved.status_code == 400
    assert fields_of(moved) == ["device"]

    bulk = [{"id": ids[0], "enabled": False}, {"id": ids[1], "enabled": False}]
    updated = nb(api, "noc", "PATCH", "dcim/interfaces/", json=bulk)
    assert [item["enabled"] for item in updated.json()] == [False, False]
    gone = nb(api, "noc", "DELETE", "dcim/interfaces/", json=[{"id": i} for i in ids])
    assert gone.status_code == 204
    left = nb(api, "viewer", "GET", "dcim/interfaces/", params={"device_id": made["id"]})
    assert left.json()["count"] == 0

    duplicate = nb(
        api, "noc", "POST", "dcim/devices/", json={"name": "nte1-core1", "site": inventory.site_a}
    )
    assert duplicate.status_code in {400, 409}


def test_bulk_writes_are_one_transaction(api: Api, inventory: Inventory) -> None:
    a1, a2 = inventory.ports["a1"], inventory.ports["a2"]
    bulk = [{"id": a1, "description": "first"}, {"id": a2, "speed": 7}]
    assert nb(api, "noc", "PATCH", "dcim/interfaces/", json=bulk).status_code == 400
    port = nb(api, "viewer", "GET", f"dcim/interfaces/{a1}/").json()
    assert port["description"] == ""


def test_circuit_reads_and_status_mapping(api: Api, inventory: Inventory, engine: Engine) -> None:
    circuit = nb(api, "viewer", "GET", f"circuits/circuits/{inventory.circuit_a}/").json()
    assert circuit["cid"] == "GIG-ETH-000001"
    assert circuit["tenant"]["id"] == inventory.operator_a
    assert circuit["type"]["slug"] == "ethernet-eline"
    assert circuit["status"]["value"] == "planned"
    assert circuit["termination_z"]["term_side"] == "Z"
    with session_scope(engine, actor="test") as session:
        row = session.get(Circuit, inventory.circuit_a)
        assert row is not None
        row.status = CircuitStatus.DESIGNED

    # planned keeps a designed circuit designed; provisioning moves it on.
    url = f"circuits/circuits/{inventory.circuit_a}/"
    assert nb(api, "noc", "PATCH", url, json={"status": "planned"}).status_code == 200
    assert api.get("noc", f"/api/v1/circuits/{inventory.circuit_a}").json()["status"] == "designed"
    stepped = nb(api, "noc", "PATCH", url, json={"status": "provisioning", "commit_rate": 200_000})
    assert stepped.status_code == 200, stepped.text
    assert stepped.json()["commit_rate"] == 200_000
    skipped = nb(
        api, "noc", "PATCH", url, json={"status": "decommissioned", "cid": "GIG-ETH-000099"}
    )
    assert skipped.status_code == 400


def test_read_only_endpoints_say_why(api: Api) -> None:
    for path in ("dcim/device-roles/", "circuits/circuit-types/", "circuits/circuit-terminations/"):
        refused = nb(api, "admin", "POST", path, json={"name": "x"})
        assert refused.status_code == 405
        assert "read-only" in refused.json()["error"]["message"]
    assert nb(api, "admin", "DELETE", "dcim/device-roles/1/").status_code == 405


def test_cable_terminations_and_trace(api: Api, inventory: Inventory, engine: Engine) -> None:
    a2, b2 = inventory.ports["a2"], inventory.ports["b2"]
    # A link on no recorded cable: one segment, no cable.
    [(near, through, far)] = nb(api, "viewer", "GET", f"dcim/interfaces/{a2}/trace/").json()
    assert ([p["id"] for p in near], through, [p["id"] for p in far]) == ([a2], None, [b2])
    hold_link_on_cable(engine, inventory)

    cable = nb(api, "viewer", "GET", f"dcim/cables/{inventory.cable}/").json()
    assert [t["object_id"] for t in cable["a_terminations"]] == [a2]
    assert [t["object_id"] for t in cable["b_terminations"]] == [b2]
    assert cable["custom_fields"]["owner"] == "Syndicat Fibre"
    assert (cable["type"], cable["length_unit"]["value"]) == ("smf", "m")

    port = nb(api, "viewer", "GET", f"dcim/interfaces/{b2}/").json()
    assert (port["cable"]["id"], port["cable_end"]) == (inventory.cable, "B")
    assert [peer["id"] for peer in port["link_peers"]] == [a2]

    trace = nb(api, "viewer", "GET", f"dcim/interfaces/{b2}/trace/").json()
    assert len(trace) == 1
    near, through, far = trace[0]
    assert ([p["id"] for p in near], through["id"], [p["id"] for p in far]) == (
        [b2],
        inventory.cable,
        [a2],
    )
    alone = nb(api, "viewer", "GET", f"dcim/interfaces/{inventory.ports['a3']}/trace/")
    assert alone.json() == []
