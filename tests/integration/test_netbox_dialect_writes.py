"""Writes through the NetBox dialect that an export to a second Gigalis relies on: providers,
cables, manufacturers, device types, platforms, management addresses (ip-addresses and a
device's primary IP), and circuits' exact lifecycle and end interfaces. Each is created one
and a list at a time, read back field by field, changed one and a list at a time and deleted;
each refusal answers its status naming the NetBox field and changes nothing; the audit log
records the changes. On SQLite and PostgreSQL, through the in-process client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gigalis_nms.audit import AuditEntry
from gigalis_nms.db import session_scope
from tests.integration.builders import Inventory, hold_link_on_cable
from tests.integration.conftest import Api

ROOT = "/netbox/api"
# The rows migration 0009 seeds, which PostgreSQL tests share (tests/conftest.py).
SEEDED_MANUFACTURERS = (1, 2, 3)
SEEDED_PLATFORMS = (1, 2, 3, 4)


@pytest.fixture(autouse=True)
def seeded_tables_as_seeded(engine: Engine) -> Iterator[None]:
    """Remove the manufacturers and platforms a test made: the PostgreSQL database keeps the
    seeded tables from test to test."""
    yield
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE device SET device_type_id = NULL"))
        connection.execute(sa.text("DELETE FROM device_type"))
        connection.execute(
            sa.text("DELETE FROM platform WHERE id NOT IN (1, 2, 3, 4)"),
        )
        connection.execute(sa.text("DELETE FROM manufacturer WHERE id NOT IN (1, 2, 3)"))


def nb(api: Api, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A request as NetBox clients send it: Token scheme, path under the dialect's root."""
    headers = {"Authorization": f"Token {api.tokens[who]}"}
    return api.client.request(method, f"{ROOT}/{path}", headers=headers, **kwargs)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def refused(response: httpx.Response, field: str, status: int = 400) -> str:
    """Asserts a refusal naming ``field``; gives the reason."""
    assert response.status_code == status, response.text
    problems = {p["field"]: p["reason"] for p in response.json()["error"]["problems"]}
    assert field in problems, problems
    return problems[field]


def count(api: Api, path: str, **params: Any) -> int:
    return int(ok(nb(api, "viewer", "GET", path, params={**params, "limit": 1}))["count"])


def audit_actions(engine: Engine, entity: str, entity_id: int) -> list[str]:
    with session_scope(engine, actor="test") as session:
        return list(
            session.exec(
                select(AuditEntry.action)
                .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
                .order_by(col(AuditEntry.id))
            ).all()
        )


def audit_changes(engine: Engine, entity: str, entity_id: int) -> list[dict[str, Any]]:
    with session_scope(engine, actor="test") as session:
        rows = session.exec(
            select(AuditEntry)
            .where(
                AuditEntry.entity == entity,
                AuditEntry.entity_id == entity_id,
                AuditEntry.action == "update",
            )
            .order_by(col(AuditEntry.id))
        ).all()
        return [row.after or {} for row in rows]


# --- Providers ----------------------------------------------------------------------------


def test_providers_are_every_organisation_but_operators(api: Api, inventory: Inventory) -> None:
    providers = ok(nb(api, "viewer", "GET", "circuits/providers/"))["results"]
    assert [p["name"] for p in providers] == ["Syndicat Fibre"]
    assert providers[0]["custom_fields"] == {
        "kind": "fibre_owner",
        "siren": None,
        "arcep_code": None,
    }
    member = ok(
        nb(
            api,
            "noc",
            "POST",
            "circuits/providers/",
            json={"name": "Département 53", "custom_fields": {"kind": "member"}},
        ),
        201,
    )
    names = {p["name"] for p in ok(nb(api, "viewer", "GET", "circuits/providers/"))["results"]}
    assert names == {"Syndicat Fibre", "Département 53"}
    tenants = ok(nb(api, "viewer", "GET", "tenancy/tenants/"))["results"]
    assert member["id"] not in {t["id"] for t in tenants}
    assert (
        nb(api, "viewer", "GET", f"circuits/providers/{inventory.operator_a}/").status_code == 404
    )


def test_provider_create_read_patch_delete(api: Api, engine: Engine) -> None:
    body = {
        "name": "Fibre Vendée",
        "slug": "fibre-vendee",
        "description": "",
        "comments": "",
        "tags": [],
        "accounts": [],
        "asns": [],
        "custom_fields": {"kind": "fibre_owner", "siren": "732829320", "arcep_code": "FVD"},
    }
    made = ok(nb(api, "noc", "POST", "circuits/providers/", json=body), 201)
    read = ok(nb(api, "viewer", "GET", f"circuits/providers/{made['id']}/"))
    assert read == made
    assert (read["name"], read["slug"]) == ("Fibre Vendée", "fibre-vendee")
    assert read["custom_fields"] == body["custom_fields"]

    pair = ok(
        nb(
            api,
            "admin",
            "POST",
            "circuits/providers/",
            json=[{"name": "Câbles Sarthe"}, {"name": "Poteaux 49", "slug": "poteaux-49"}],
        ),
        201,
    )
    assert [p["custom_fields"]["kind"] for p in pair] == ["supplier", "supplier"]
    assert [p["slug"] for p in pair] == ["cables-sarthe", "poteaux-49"]

    renamed = ok(
        nb(
            api,
            "noc",
            "PATCH",
            f"circuits/providers/{made['id']}/",
            json={"name": "Fibre Vendée Océan", "slug": "fibre-vendee-ocean"},
        )
    )
    assert (renamed["name"], renamed["custom_fields"]["siren"]) == (
        "Fibre Vendée Océan",
        "732829320",
    )
    bulk = [{"id": p["id"], "custom_fields": {"kind": "member"}} for p in pair]
    changed = ok(nb(api, "noc", "PATCH", "circuits/providers/", json=bulk))
    assert [p["custom_fields"]["kind"] for p in changed] == ["member", "member"]
    organisation = api.get("noc", f"/api/v1/organisations/{pair[0]['id']}").json()
    assert organisation["kind"] == "member"

    ok(nb(api, "noc", "DELETE", f"circuits/providers/{made['id']}/"), 204)
    ok(nb(api, "noc", "DELETE", "circuits/providers/", json=[{"id": p["id"]} for p in pair]), 204)
    assert count(api, "circuits/providers/") == 1
    assert audit_actions(engine, "organisation", made["id"]) == ["create", "update", "delete"]
    assert audit_actions(engine, "organisation", pair[0]["id"]) == ["create", "update", "delete"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Fibre 72", "slug": "f72"}, "slug"),
        ({"name": "Fibre 72", "custom_fields": {"kind": "operator"}}, "custom_fields.kind"),
        ({"name": "Fibre 72", "custom_fields": {"kind": "owner"}}, "custom_fields.kind"),
        ({"name": "Fibre 72", "custom_fields": {"siren": "123"}}, "custom_fields.siren"),
        ({"name": "Fibre 72", "custom_fields": {"colour": "red"}}, "custom_fields.colour"),
        ({"name": "Fibre 72", "description": "poles"}, "description"),
        ({"name": "Fibre 72", "accounts": [1]}, "accounts"),
    ],
)
def test_provider_refusals_change_nothing(
    api: Api, inventory: Inventory, body: dict[str, Any], field: str
) -> None:
    refused(nb(api, "noc", "POST", "circuits/providers/", json=body), field)
    assert count(api, "circuits/providers/") == 1
    owner = f"circuits/providers/{inventory.owner}/"
    refused(nb(api, "noc", "PATCH", owner, json=body), field)
    assert ok(nb(api, "viewer", "GET", owner))["name"] == "Syndicat Fibre"


def test_provider_needs_a_name_and_keeps_its_slug(api: Api, inventory: Inventory) -> None:
    refused(nb(api, "noc", "POST", "circuits/providers/", json={"slug": "fibre-72"}), "name")
    owner = f"circuits/providers/{inventory.owner}/"
    refused(nb(api, "noc", "PATCH", owner, json={"slug": "fibre-72"}), "slug")
    assert ok(nb(api, "viewer", "GET", owner))["slug"] == "syndicat-fibre"
    assert count(api, "circuits/providers/") == 1


def test_provider_still_referenced_is_not_deleted(api: Api, inventory: Inventory) -> None:
    # Syndicat Fibre owns the inventory's cable.
    reason = refused(
        nb(api, "noc", "DELETE", f"circuits/providers/{inventory.owner}/"), "id", status=409
    )
    assert "fibre cable" in reason
    assert count(api, "circuits/providers/") == 1


# --- Cables -------------------------------------------------------------------------------


def cable_body(inventory: Inventory, label: str, **fields: Any) -> dict[str, Any]:
    custom = {
        "a_site": inventory.site_a,
        "z_site": inventory.site_b,
        "fibre_count": 24,
        "ownership": "own",
        "owner": "Syndicat Fibre",
        "iru_end_date": None,
        "route": None,
        **fields.pop("custom_fields", {}),
    }
    return {"label": label, "length": 1200, "length_unit": "m", "custom_fields": custom, **fields}


def test_cable_create_read_patch_delete(api: Api, inventory: Inventory, engine: Engine) -> None:
    route = [[-1.55, 47.21], [-0.55, 47.47]]
    body = cable_body(
        inventory,
        "FC-NTE1-ANG1-B",
        status={"value": "planned", "label": "Planned"},
        type="smf",
        length=12.5,
        length_unit={"value": "km"},
        a_terminations=[],
        b_terminations=[],
        tenant=None,
        color="",
        comments="",
        description="",
        tags=[],
        custom_fields={"ownership": "iru", "iru_end_date": "2041-06-30", "route": route},
    )
    made = ok(nb(api, "noc", "POST", "dcim/cables/", json=body), 201)
    read = ok(nb(api, "viewer", "GET", f"dcim/cables/{made['id']}/"))
    assert read == made
    assert (read["label"], read["status"]["value"], read["type"]) == (
        "FC-NTE1-ANG1-B",
        "planned",
        "smf",
    )
    assert (read["length"], read["length_unit"]["value"]) == (12500.0, "m")
    assert (read["a_terminations"], read["b_terminations"]) == ([], [])
    assert read["custom_fields"] == {
        "a_site": inventory.site_a,
        "z_site": inventory.site_b,
        "fibre_count": 24,
        "ownership": "iru",
        "owner": "Syndicat Fibre",
        "iru_end_date": "2041-06-30",
        "route": route,
        "lifecycle": "planned",
    }
    strands = api.get("viewer", f"/api/v1/cables/{made['id']}/strands", params={"limit": 1})
    assert strands.json()["count"] == 24

    listed = ok(
        nb(
            api,
            "noc",
            "POST",
            "dcim/cables/",
            json=[
                cable_body(inventory, "FC-A", length=1000, length_unit="ft"),
                cable_body(inventory, "FC-B", length=2, length_unit="mi", status="connected"),
                cable_body(inventory, "FC-C", length=150, length_unit={"value": "cm"}),
            ],
        ),
        201,
    )
    assert [c["length"] for c in listed] == [305.0, 3219.0, 2.0]
    assert [c["status"]["value"] for c in listed] == ["connected", "connected", "connected"]

    url = f"dcim/cables/{made['id']}/"
    changed = ok(
        nb(
            api,
            "noc",
            "PATCH",
            url,
            json={
                "status": "connected",
                "length": 13,
                "length_unit": "km",
                "custom_fields": {"ownership": "own", "iru_end_date": None, "route": None},
            },
        )
    )
    assert (changed["status"]["value"], changed["length"]) == ("connected", 13000.0)
    assert changed["custom_fields"]["ownership"] == "own"
    assert changed["custom_fields"]["route"] is None
    assert changed["label"] == "FC-NTE1-ANG1-B"  # PATCH keeps what was not sent

    bulk = [{"id": c["id"], "status": "decommissioning"} for c in listed]
    assert {
        c["status"]["value"] for c in ok(nb(api, "noc", "PATCH", "dcim/cables/", json=bulk))
    } == {"decommissioning"}

    ok(nb(api, "noc", "DELETE", url), 204)
    ok(nb(api, "noc", "DELETE", "dcim/cables/", json=[{"id": c["id"]} for c in listed]), 204)
    assert count(api, "dcim/cables/") == 1
    assert audit_actions(engine, "fibre_cable", made["id"]) == ["create", "update", "delete"]
    assert audit_actions(engine, "fibre_cable", listed[0]["id"]) == ["create", "update", "delete"]


def test_a_retired_cable_stays_retired(api: Api, inventory: Inventory) -> None:
    ok(api.patch("noc", f"/api/v1/cables/{inventory.cable}", json={"status": "retired"}))
    url = f"dcim/cables/{inventory.cable}/"
    assert ok(nb(api, "viewer", "GET", url))["status"]["value"] == "decommissioning"
    ok(nb(api, "noc", "PATCH", url, json={"status": "decommissioning"}))
    assert api.get("noc", f"/api/v1/cables/{inventory.cable}").json()["status"] == "retired"
    ok(nb(api, "noc", "PATCH", url, json={"status": "connected"}))
    assert api.get("noc", f"/api/v1/cables/{inventory.cable}").json()["status"] == "active"


def test_a_cable_lifecycle_is_exact(api: Api, inventory: Inventory) -> None:
    """custom_fields.lifecycle carries the status NetBox cannot tell (retired), and must agree
    with the NetBox status when both are sent."""
    url = f"dcim/cables/{inventory.cable}/"
    retired = ok(nb(api, "noc", "PATCH", url, json={"custom_fields": {"lifecycle": "retired"}}))
    assert (retired["status"]["value"], retired["custom_fields"]["lifecycle"]) == (
        "decommissioning",
        "retired",
    )
    both = {"status": "connected", "custom_fields": {"lifecycle": "active"}}
    assert ok(nb(api, "noc", "PATCH", url, json=both))["custom_fields"]["lifecycle"] == "active"
    for body in (
        {"status": "connected", "custom_fields": {"lifecycle": "retired"}},
        {"custom_fields": {"lifecycle": "connected"}},
        {"custom_fields": {"lifecycle": None}},
    ):
        refused(nb(api, "noc", "PATCH", url, json=body), "custom_fields.lifecycle")
    assert api.get("noc", f"/api/v1/cables/{inventory.cable}").json()["status"] == "active"


def test_a_cable_read_is_written_back_as_is(api: Api, inventory: Inventory, engine: Engine) -> None:
    hold_link_on_cable(engine, inventory)
    url = f"dcim/cables/{inventory.cable}/"
    read = ok(nb(api, "viewer", "GET", url))
    assert [t["object_id"] for t in read["a_terminations"]] == [inventory.ports["a2"]]
    writable = {k: v for k, v in read.items() if k not in {"created", "last_updated"}}
    assert ok(nb(api, "noc", "PATCH", url, json=writable)) == read
    # As pynetbox sends them: object type and id only, and every custom field.
    sent_back = {
        "a_terminations": [
            {"object_type": t["object_type"], "object_id": t["object_id"]}
            for t in read["a_terminations"]
        ],
        "custom_fields": {**read["custom_fields"], "route": [[-1.55, 47.2], [-0.55, 47.47]]},
    }
    assert ok(nb(api, "noc", "PATCH", url, json=sent_back))["custom_fields"]["route"] == [
        [-1.55, 47.2],
        [-0.55, 47.47],
    ]
    other = [{"object_type": "dcim.interface", "object_id": inventory.ports["a3"]}]
    reason = refused(nb(api, "noc", "PATCH", url, json={"b_terminations": other}), "b_terminations")
    assert "/api/v1/links" in reason
    refused(nb(api, "noc", "PATCH", url, json={"a_terminations": []}), "a_terminations")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"length": "long"}, "length"),
        ({"length": -3}, "length"),
        ({"length": 0}, "length"),
        ({"length": None}, "length"),
        ({"length": 0.3}, "length"),
        ({"length_unit": "in"}, "length_unit"),
        ({"type": "mmf"}, "type"),
        ({"status": "installed"}, "status"),
        ({"status": ["connected"]}, "status"),
        ({"color": "ff0000"}, "color"),
        ({"custom_fields": {"owner": "Nobody"}}, "custom_fields.owner"),
        ({"custom_fields": {"z_site": "ANG1"}}, "custom_fields.z_site"),
        ({"custom_fields": {"route": [[1, 2, 3]]}}, "custom_fields.route"),
        ({"custom_fields": {"route": [[200, 2]]}}, "custom_fields.route"),
        ({"custom_fields": {"ownership": "iru"}}, "custom_fields.iru_end_date"),
        ({"custom_fields": {"fibre_count": 0}}, "custom_fields.fibre_count"),
        ({"a_terminations": [{"object_type": "dcim.interface", "object_id": 1}]}, "a_terminations"),
        ({"b_terminations": "none"}, "b_terminations"),
    ],
)
def test_cable_create_refusals_change_nothing(
    api: Api, inventory: Inventory, fields: dict[str, Any], field: str
) -> None:
    refused(
        nb(api, "noc", "POST", "dcim/cables/", json=cable_body(inventory, "FC-NEW", **fields)),
        field,
    )
    assert count(api, "dcim/cables/") == 1


def test_a_duplicate_cable_label_is_refused(api: Api, inventory: Inventory) -> None:
    """400, as NetBox answers a duplicate: pynetbox reads a 409 answering a POST as a failed
    IP allocation and drops the reason."""
    body = cable_body(inventory, "FC-NTE1-ANG1")
    reason = refused(nb(api, "noc", "POST", "dcim/cables/", json=body), "label")
    assert reason == "fibre cable FC-NTE1-ANG1 already exists"
    assert count(api, "dcim/cables/") == 1


def test_same_sites_and_unknown_sites_are_refused(api: Api, inventory: Inventory) -> None:
    same = cable_body(inventory, "FC-LOOP", custom_fields={"z_site": inventory.site_a})
    refused(nb(api, "noc", "POST", "dcim/cables/", json=same), "custom_fields.z_site")
    nowhere = cable_body(inventory, "FC-LOOP", custom_fields={"a_site": 999_999})
    refused(nb(api, "noc", "POST", "dcim/cables/", json=nowhere), "custom_fields.a_site")
    assert count(api, "dcim/cables/") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"custom_fields": {"a_site": 999_999}}, "custom_fields.a_site"),
        ({"custom_fields": {"fibre_count": 48}}, "custom_fields.fibre_count"),
        ({"length_unit": "km"}, "length_unit"),
        ({"label": "FC-RENAMED"}, "label"),
        ({"status": "connected", "length": -1}, "length"),
    ],
)
def test_cable_patch_refusals_change_nothing(
    api: Api, inventory: Inventory, body: dict[str, Any], field: str
) -> None:
    url = f"dcim/cables/{inventory.cable}/"
    before = ok(nb(api, "viewer", "GET", url))
    reason = refused(nb(api, "noc", "PATCH", url, json=body), field)
    if field in {"custom_fields.a_site", "custom_fields.fibre_count", "label"}:
        assert reason == "cannot be changed on an existing object"
    assert ok(nb(api, "viewer", "GET", url)) == before


def test_cable_carrying_a_link_is_not_deleted(
    api: Api, inventory: Inventory, engine: Engine
) -> None:
    hold_link_on_cable(engine, inventory)
    reason = refused(nb(api, "noc", "DELETE", f"dcim/cables/{inventory.cable}/"), "id", 409)
    assert "strand holding" in reason
    assert count(api, "dcim/cables/") == 1


def test_cable_choices_name_every_unit(api: Api) -> None:
    described = ok(nb(api, "noc", "OPTIONS", "dcim/cables/"))
    units = [c["value"] for c in described["actions"]["POST"]["length_unit"]["choices"]]
    assert units == ["km", "m", "cm", "mi", "ft"]


# --- Manufacturers, device types, platforms -----------------------------------------------


def test_manufacturer_create_read_patch_delete(api: Api, engine: Engine) -> None:
    made = ok(
        nb(
            api,
            "noc",
            "POST",
            "dcim/manufacturers/",
            json={"name": "Nokia", "slug": "nokia", "description": "SR", "tags": []},
        ),
        201,
    )
    assert ok(nb(api, "viewer", "GET", f"dcim/manufacturers/{made['id']}/")) == made
    assert (made["name"], made["slug"], made["description"]) == ("Nokia", "nokia", "SR")
    pair = ok(
        nb(
            api,
            "noc",
            "POST",
            "dcim/manufacturers/",
            json=[{"name": "Ciena", "slug": "ciena"}, {"name": "Adva", "slug": "adva"}],
        ),
        201,
    )
    assert [m["description"] for m in pair] == ["", ""]
    changed = ok(
        nb(api, "noc", "PATCH", f"dcim/manufacturers/{made['id']}/", json={"name": "Nokia SR"})
    )
    assert (changed["name"], changed["slug"]) == ("Nokia SR", "nokia")
    bulk = [{"id": m["id"], "description": "optical"} for m in pair]
    assert [
        m["description"] for m in ok(nb(api, "noc", "PATCH", "dcim/manufacturers/", json=bulk))
    ] == [
        "optical",
        "optical",
    ]
    ok(nb(api, "noc", "DELETE", f"dcim/manufacturers/{made['id']}/"), 204)
    ok(nb(api, "noc", "DELETE", "dcim/manufacturers/", json=[{"id": m["id"]} for m in pair]), 204)
    assert count(api, "dcim/manufacturers/") == len(SEEDED_MANUFACTURERS)
    assert audit_actions(engine, "manufacturer", made["id"]) == ["create", "update", "delete"]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"name": "Juniper", "slug": "juniper-2"}, "name", 400),
        ({"name": "Juniper Networks", "slug": "juniper"}, "slug", 400),
        ({"name": "Nokia", "slug": "Nokia SR"}, "slug", 400),
        ({"name": "", "slug": "nokia"}, "name", 400),
        ({"slug": "nokia"}, "name", 400),
        ({"name": "Nokia", "slug": "nokia", "tags": [{"name": "x"}]}, "tags", 400),
    ],
)
def test_manufacturer_refusals_change_nothing(
    api: Api, body: dict[str, Any], field: str, status: int
) -> None:
    refused(nb(api, "noc", "POST", "dcim/manufacturers/", json=body), field, status)
    assert count(api, "dcim/manufacturers/") == len(SEEDED_MANUFACTURERS)


def test_device_type_create_read_patch_delete(
    api: Api, inventory: Inventory, engine: Engine
) -> None:
    body = {
        "manufacturer": {"id": 1},
        "model": "MX204",
        "slug": "mx204",
        "part_number": "MX204-HW-BASE",
        "u_height": 1,
        "description": "edge router",
        "is_full_depth": True,
        "comments": "",
        "tags": [],
    }
    made = ok(nb(api, "noc", "POST", "dcim/device-types/", json=body), 201)
    assert ok(nb(api, "viewer", "GET", f"dcim/device-types/{made['id']}/")) == made
    assert made["manufacturer"]["slug"] == "juniper"
    assert (made["model"], made["slug"], made["part_number"], made["u_height"]) == (
        "MX204",
        "mx204",
        "MX204-HW-BASE",
        1.0,
    )
    assert made["description"] == "edge router"
    pair = ok(
        nb(
            api,
            "noc",
            "POST",
            "dcim/device-types/",
            json=[
                {"manufacturer": 2, "model": "7280R3", "slug": "7280r3", "u_height": 2},
                {"manufacturer": 3, "model": "ASR 9901", "slug": "asr-9901"},
            ],
        ),
        201,
    )
    assert [t["u_height"] for t in pair] == [2.0, 1.0]

    changed = ok(
        nb(
            api,
            "noc",
            "PATCH",
            f"dcim/device-types/{made['id']}/",
            json={"part_number": "MX204-BASE-AC", "u_height": 1.5},
        )
    )
    assert (changed["part_number"], changed["u_height"]) == ("MX204-BASE-AC", 1.5)
    bulk = [{"id": t["id"], "description": "lab"} for t in pair]
    assert [
        t["description"] for t in ok(nb(api, "noc", "PATCH", "dcim/device-types/", json=bulk))
    ] == [
        "lab",
        "lab",
    ]

    # In use by a device: not deleted; nor is its manufacturer.
    device = f"dcim/devices/{inventory.device_a}/"
    ok(nb(api, "noc", "PATCH", device, json={"device_type": made["id"]}))
    reason = refused(nb(api, "noc", "DELETE", f"dcim/device-types/{made['id']}/"), "id", 409)
    assert "1 device" in reason
    reason = refused(nb(api, "noc", "DELETE", "dcim/manufacturers/1/"), "id", 409)
    assert "1 device type, 1 platform" in reason
    assert count(api, "dcim/device-types/") == 3

    ok(nb(api, "noc", "PATCH", device, json={"device_type": None}))
    ok(nb(api, "noc", "DELETE", f"dcim/device-types/{made['id']}/"), 204)
    ok(nb(api, "noc", "DELETE", "dcim/device-types/", json=[{"id": t["id"]} for t in pair]), 204)
    assert count(api, "dcim/device-types/") == 0
    assert audit_actions(engine, "device_type", made["id"]) == ["create", "update", "delete"]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"manufacturer": 99, "model": "X", "slug": "x"}, "manufacturer", 400),
        ({"manufacturer": "juniper", "model": "X", "slug": "x"}, "manufacturer", 400),
        ({"model": "X", "slug": "x"}, "manufacturer", 400),
        ({"manufacturer": 1, "model": "X", "slug": "x", "u_height": -1}, "u_height", 400),
        (
            {"manufacturer": 1, "model": "X", "slug": "x", "airflow": "front-to-rear"},
            "airflow",
            400,
        ),
        (
            {"manufacturer": 1, "model": "X", "slug": "x", "is_full_depth": False},
            "is_full_depth",
            400,
        ),
        ({"manufacturer": 1, "model": "MX1", "slug": "mx1-b"}, "model", 400),
        ({"manufacturer": 2, "model": "Y", "slug": "mx1"}, "slug", 400),
    ],
)
def test_device_type_refusals_change_nothing(
    api: Api, body: dict[str, Any], field: str, status: int
) -> None:
    ok(
        nb(
            api,
            "noc",
            "POST",
            "dcim/device-types/",
            json={"manufacturer": 1, "model": "MX1", "slug": "mx1"},
        ),
        201,
    )
    refused(nb(api, "noc", "POST", "dcim/device-types/", json=body), field, status)
    assert count(api, "dcim/device-types/") == 1


def test_platform_create_read_patch_delete(api: Api, inventory: Inventory, engine: Engine) -> None:
    body = {
        "name": "SR Linux",
        "slug": "srlinux",
        "manufacturer": None,
        "napalm_driver": "srl",
        "description": "",
        "napalm_args": None,
        "config_template": None,
        "tags": [],
    }
    made = ok(nb(api, "noc", "POST", "dcim/platforms/", json=body), 201)
    assert ok(nb(api, "viewer", "GET", f"dcim/platforms/{made['id']}/")) == made
    assert (made["name"], made["slug"], made["manufacturer"], made["napalm_driver"]) == (
        "SR Linux",
        "srlinux",
        None,
        "srl",
    )
    pair = ok(
        nb(
            api,
            "noc",
            "POST",
            "dcim/platforms/",
            json=[
                {"name": "IOS XE", "slug": "iosxe", "manufacturer": 3, "napalm_driver": "ios"},
                {"name": "NX-OS", "slug": "nxos", "manufacturer": {"id": 3}},
            ],
        ),
        201,
    )
    assert [p["manufacturer"]["slug"] for p in pair] == ["cisco", "cisco"]
    url = f"dcim/platforms/{made['id']}/"
    manufacturer = ok(
        nb(api, "noc", "POST", "dcim/manufacturers/", json={"name": "Nokia", "slug": "nokia"}), 201
    )
    changed = ok(nb(api, "noc", "PATCH", url, json={"manufacturer": manufacturer["id"]}))
    assert changed["manufacturer"]["name"] == "Nokia"
    bulk = [{"id": p["id"], "description": "Cisco"} for p in pair]
    assert [
        p["description"] for p in ok(nb(api, "noc", "PATCH", "dcim/platforms/", json=bulk))
    ] == [
        "Cisco",
        "Cisco",
    ]

    # A device runs it: its slug stays and it is not deleted; nor is its manufacturer.
    device = f"dcim/devices/{inventory.device_a}/"
    assert (
        ok(nb(api, "noc", "PATCH", device, json={"platform": made["id"]}))["platform"]["slug"]
        == "srlinux"
    )
    assert api.get("noc", f"/api/v1/devices/{inventory.device_a}").json()["platform"] == "srlinux"
    reason = refused(nb(api, "noc", "PATCH", url, json={"slug": "sr-linux"}), "slug")
    assert "1 device" in reason
    reason = refused(nb(api, "noc", "DELETE", url), "id", 409)
    assert "1 device" in reason
    refused(nb(api, "noc", "DELETE", f"dcim/manufacturers/{manufacturer['id']}/"), "id", 409)
    assert ok(nb(api, "viewer", "GET", url)) == changed
    ok(nb(api, "noc", "PATCH", url, json={"name": "Nokia SR Linux"}))  # the name may change

    ok(nb(api, "noc", "PATCH", device, json={"platform": 1}))
    assert ok(nb(api, "noc", "PATCH", url, json={"slug": "sr-linux"}))["slug"] == "sr-linux"
    ok(nb(api, "noc", "DELETE", url), 204)
    ok(nb(api, "noc", "DELETE", "dcim/platforms/", json=[{"id": p["id"]} for p in pair]), 204)
    assert count(api, "dcim/platforms/") == len(SEEDED_PLATFORMS)
    assert audit_actions(engine, "platform", made["id"]) == [
        "create",
        "update",
        "update",
        "update",
        "delete",
    ]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"name": "FRR 2", "slug": "frr"}, "slug", 400),
        ({"name": "FRR", "slug": "frr2"}, "name", 400),
        ({"name": "X", "slug": "x", "manufacturer": 99}, "manufacturer", 400),
        ({"name": "X", "slug": "x", "napalm_args": {"port": 22}}, "napalm_args", 400),
        ({"name": "X", "slug": "x", "napalm_driver": "d" * 51}, "napalm_driver", 400),
    ],
)
def test_platform_refusals_change_nothing(
    api: Api, body: dict[str, Any], field: str, status: int
) -> None:
    refused(nb(api, "noc", "POST", "dcim/platforms/", json=body), field, status)
    assert count(api, "dcim/platforms/") == len(SEEDED_PLATFORMS)


def test_seeded_platform_in_use_keeps_its_slug(api: Api) -> None:
    refused(nb(api, "noc", "PATCH", "dcim/platforms/1/", json={"slug": "frrouting"}), "slug")
    refused(nb(api, "noc", "DELETE", "dcim/platforms/1/"), "id", 409)
    assert ok(nb(api, "viewer", "GET", "dcim/platforms/1/"))["slug"] == "frr"


# --- Management addresses -----------------------------------------------------------------


def test_management_address_create_read_patch_delete(
    api: Api, inventory: Inventory, engine: Engine
) -> None:
    assert count(api, "ipam/ip-addresses/") == 0
    body = {
        "address": "192.0.2.10/24",
        "status": "active",
        "dns_name": "nte1-core1",
        "description": "",
        "custom_fields": {"device": inventory.device_a},
    }
    made = ok(nb(api, "noc", "POST", "ipam/ip-addresses/", json=body), 201)
    assert (made["id"], made["address"], made["family"]["value"]) == (
        inventory.device_a,
        "192.0.2.10/32",
        4,
    )
    assert made["custom_fields"] == {"device": inventory.device_a}
    assert made["dns_name"] == "nte1-core1"
    assert ok(nb(api, "viewer", "GET", f"ipam/ip-addresses/{made['id']}/")) == made
    device = ok(nb(api, "viewer", "GET", f"dcim/devices/{inventory.device_a}/"))
    assert (device["primary_ip4"]["id"], device["primary_ip6"]) == (inventory.device_a, None)

    edge = ok(
        nb(
            api,
            "noc",
            "POST",
            "dcim/devices/",
            json={"name": "nte1-edge1", "site": inventory.site_a, "role": "edge", "platform": 1},
        ),
        201,
    )
    pair = ok(
        nb(
            api,
            "noc",
            "POST",
            "ipam/ip-addresses/",
            json=[
                {"address": "2001:db8::1/64", "custom_fields": {"device": inventory.device_b}},
                {"address": "192.0.2.12", "custom_fields": {"device": {"id": edge["id"]}}},
            ],
        ),
        201,
    )
    assert [a["address"] for a in pair] == ["2001:db8::1/128", "192.0.2.12/32"]
    device_b = ok(nb(api, "viewer", "GET", f"dcim/devices/{inventory.device_b}/"))
    assert (device_b["primary_ip4"], device_b["primary_ip6"]["address"]) == (
        None,
        "2001:db8::1/128",
    )

    url = f"ipam/ip-addresses/{inventory.device_a}/"
    changed = ok(nb(api, "noc", "PATCH", url, json={"address": "192.0.2.11/32"}))
    assert changed["address"] == "192.0.2.11/32"
    v1 = api.get("noc", f"/api/v1/devices/{inventory.device_a}").json()
    assert v1["management_address"] == "192.0.2.11"
    bulk = [
        {"id": inventory.device_b, "address": "2001:db8::2/128"},
        {"id": edge["id"], "address": "192.0.2.13/32", "custom_fields": {"device": edge["id"]}},
    ]
    assert [a["address"] for a in ok(nb(api, "noc", "PATCH", "ipam/ip-addresses/", json=bulk))] == [
        "2001:db8::2/128",
        "192.0.2.13/32",
    ]

    ok(nb(api, "noc", "DELETE", url), 204)
    assert (
        api.get("noc", f"/api/v1/devices/{inventory.device_a}").json()["management_address"] is None
    )
    assert nb(api, "viewer", "GET", url).status_code == 404
    ok(nb(api, "noc", "DELETE", "ipam/ip-addresses/", json=[{"id": a["id"]} for a in pair]), 204)
    assert count(api, "ipam/ip-addresses/") == 0
    changes = audit_changes(engine, "device", inventory.device_a)
    assert [c["management_address"] for c in changes] == ["192.0.2.10", "192.0.2.11", None]


def test_management_address_refusals_change_nothing(api: Api, inventory: Inventory) -> None:
    def create(body: dict[str, Any], field: str) -> str:
        reason = refused(nb(api, "noc", "POST", "ipam/ip-addresses/", json=body), field)
        assert count(api, "ipam/ip-addresses/") == 1
        return reason

    ok(
        nb(
            api,
            "noc",
            "POST",
            "ipam/ip-addresses/",
            json={"address": "192.0.2.10/32", "custom_fields": {"device": inventory.device_a}},
        ),
        201,
    )
    b = {"device": inventory.device_b}
    create({"address": "192.0.2.20/32"}, "custom_fields.device")
    create(
        {"address": "192.0.2.20/32", "custom_fields": {"device": 999_999}}, "custom_fields.device"
    )
    create(
        {"address": "192.0.2.20/32", "custom_fields": {"device": "ang1-core1"}},
        "custom_fields.device",
    )
    create({"address": "not-an-address", "custom_fields": b}, "address")
    create({"address": 3232235521, "custom_fields": b}, "address")
    create({"custom_fields": b}, "address")
    create({"address": "192.0.2.20/32", "custom_fields": b, "dns_name": "other"}, "dns_name")
    create({"address": "192.0.2.20/32", "custom_fields": b, "status": "reserved"}, "status")
    create({"address": "192.0.2.20/32", "custom_fields": b, "vrf": 1}, "vrf")
    reason = create(
        {"address": "192.0.2.20/32", "custom_fields": {"device": inventory.device_a}}, "address"
    )
    assert (
        f"already has management address 192.0.2.10; PATCH ip-address {inventory.device_a}"
        in reason
    )

    url = f"ipam/ip-addresses/{inventory.device_a}/"
    refused(nb(api, "noc", "PATCH", url, json={"address": "bogus"}), "address")
    refused(nb(api, "noc", "PATCH", url, json={"custom_fields": b}), "custom_fields.device")
    assert ok(nb(api, "viewer", "GET", url))["address"] == "192.0.2.10/32"


def test_primary_ip_is_the_management_address(api: Api, inventory: Inventory) -> None:
    ok(
        nb(
            api,
            "noc",
            "POST",
            "ipam/ip-addresses/",
            json={"address": "192.0.2.10/32", "custom_fields": {"device": inventory.device_a}},
        ),
        201,
    )
    url = f"dcim/devices/{inventory.device_a}/"

    def address() -> str | None:
        found: str | None = api.get("noc", f"/api/v1/devices/{inventory.device_a}").json()[
            "management_address"
        ]
        return found

    ok(nb(api, "noc", "PATCH", url, json={"primary_ip4": inventory.device_a}))
    ok(nb(api, "noc", "PATCH", url, json={"primary_ip4": {"id": inventory.device_a}}))
    ok(nb(api, "noc", "PATCH", url, json={"primary_ip6": None}))
    assert address() == "192.0.2.10"
    for body, field in (
        ({"primary_ip4": inventory.device_b}, "primary_ip4"),
        ({"primary_ip6": inventory.device_a}, "primary_ip6"),
    ):
        reason = refused(nb(api, "noc", "PATCH", url, json=body), field)
        assert "ipam/ip-addresses" in reason
    refused(nb(api, "noc", "PATCH", url, json={"primary_ip4": "192.0.2.10/32"}), "primary_ip4")
    assert address() == "192.0.2.10"
    cleared = ok(nb(api, "noc", "PATCH", url, json={"primary_ip4": None}))
    assert (cleared["primary_ip"], cleared["primary_ip4"]) == (None, None)
    assert address() is None

    made = nb(
        api,
        "noc",
        "POST",
        "dcim/devices/",
        json={"name": "nte1-edge2", "site": inventory.site_a, "role": 3, "primary_ip4": 1},
    )
    refused(made, "primary_ip4")
    assert count(api, "dcim/devices/") == 2


# --- Circuits: exact lifecycle and end interfaces -----------------------------------------


def test_circuit_lifecycle_and_end_interfaces_read(api: Api, inventory: Inventory) -> None:
    circuit = ok(nb(api, "viewer", "GET", f"circuits/circuits/{inventory.circuit_a}/"))
    assert circuit["custom_fields"] == {
        "lifecycle": "reserved",
        "protected": False,
        "a_site": inventory.site_a,
        "z_site": inventory.site_b,
        "a_interface": inventory.ports["a1"],
        "z_interface": inventory.ports["b1"],
        "a_vlan": 100,
        "z_vlan": 100,
    }


def test_circuit_lifecycle_writes(api: Api, inventory: Inventory, engine: Engine) -> None:
    url = f"circuits/circuits/{inventory.circuit_a}/"
    designed = ok(nb(api, "noc", "PATCH", url, json={"custom_fields": {"lifecycle": "designed"}}))
    assert (designed["status"]["value"], designed["custom_fields"]["lifecycle"]) == (
        "planned",
        "designed",
    )
    both = {"status": "provisioning", "custom_fields": {"lifecycle": "provisioning"}}
    assert (
        ok(nb(api, "noc", "PATCH", url, json=both))["custom_fields"]["lifecycle"] == "provisioning"
    )
    back = {"status": {"value": "planned"}, "custom_fields": {"lifecycle": "designed"}}
    assert ok(nb(api, "noc", "PATCH", url, json=back))["custom_fields"]["lifecycle"] == "designed"

    for body in (
        {"status": "active", "custom_fields": {"lifecycle": "designed"}},
        {"status": "planned", "custom_fields": {"lifecycle": "provisioning"}},
        {"custom_fields": {"lifecycle": "planned"}},
        {"custom_fields": {"lifecycle": None}},
    ):
        refused(nb(api, "noc", "PATCH", url, json=body), "custom_fields.lifecycle")
    # A move the lifecycle forbids, named as the service names it.
    refused(nb(api, "noc", "PATCH", url, json={"custom_fields": {"lifecycle": "active"}}), "status")
    assert api.get("noc", f"/api/v1/circuits/{inventory.circuit_a}").json()["status"] == "designed"

    bulk = [
        {"id": inventory.circuit_a, "custom_fields": {"lifecycle": "reserved"}},
        {"id": inventory.circuit_b, "custom_fields": {"lifecycle": "designed"}},
    ]
    changed = ok(nb(api, "noc", "PATCH", "circuits/circuits/", json=bulk))
    assert [c["custom_fields"]["lifecycle"] for c in changed] == ["reserved", "designed"]
    statuses = [c["status"] for c in audit_changes(engine, "circuit", inventory.circuit_a)]
    assert statuses == ["designed", "provisioning", "designed", "reserved"]


def test_circuit_create_with_lifecycle_and_interfaces(
    api: Api, inventory: Inventory, engine: Engine
) -> None:
    body = {
        "cid": "GIG-ETH-000003",
        "type": "ethernet-eline",
        "tenant": inventory.operator_a,
        "commit_rate": 100_000,
        "status": "planned",
        "custom_fields": {
            "lifecycle": "designed",
            "a_site": inventory.site_a,
            "z_site": inventory.site_b,
            "a_interface": inventory.ports["a3"],
            "z_interface": {"id": inventory.ports["b3"]},
            "a_vlan": 200,
            "z_vlan": 200,
        },
    }
    made = ok(nb(api, "noc", "POST", "circuits/circuits/", json=body), 201)
    assert ok(nb(api, "viewer", "GET", f"circuits/circuits/{made['id']}/")) == made
    custom = made["custom_fields"]
    assert (custom["lifecycle"], custom["a_interface"], custom["z_interface"]) == (
        "designed",
        inventory.ports["a3"],
        inventory.ports["b3"],
    )
    holdings = api.get("noc", f"/api/v1/circuits/{made['id']}/holdings").json()["results"]
    assert {(h["interface_id"], h["vlan"]) for h in holdings if h["kind"] == "vlan"} == {
        (inventory.ports["a3"], 200),
        (inventory.ports["b3"], 200),
    }

    # Everything read, written back (pynetbox sends every custom field when one changes).
    url = f"circuits/circuits/{made['id']}/"
    moved = ok(
        nb(
            api,
            "noc",
            "PATCH",
            url,
            json={"custom_fields": {**custom, "a_interface": inventory.ports["a1"], "a_vlan": 201}},
        )
    )
    assert (moved["custom_fields"]["a_interface"], moved["custom_fields"]["a_vlan"]) == (
        inventory.ports["a1"],
        201,
    )
    elsewhere = {"custom_fields": {"a_interface": inventory.ports["b2"]}}
    reason = refused(nb(api, "noc", "PATCH", url, json=elsewhere), "custom_fields.a_interface")
    assert "not at the a site" in reason
    refused(
        nb(api, "noc", "PATCH", url, json={"custom_fields": {"z_interface": 999_999}}),
        "custom_fields.z_interface",
    )
    refused(
        nb(api, "noc", "PATCH", url, json={"custom_fields": {"a_site": inventory.site_b}}),
        "custom_fields.a_site",
    )
    assert ok(nb(api, "viewer", "GET", url)) == moved

    ends = {**body["custom_fields"], "a_vlan": 300, "z_vlan": 300, "lifecycle": "terminated"}
    terminated = {**body, "cid": "GIG-ETH-000004", "custom_fields": ends}
    terminated.pop("status")
    refused(nb(api, "noc", "POST", "circuits/circuits/", json=terminated), "status")
    assert count(api, "circuits/circuits/") == 3

    ok(nb(api, "noc", "DELETE", url), 204)
    assert count(api, "circuits/circuits/") == 2
    assert audit_actions(engine, "circuit", made["id"]) == ["create", "update", "delete"]
