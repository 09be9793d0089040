"""How an import reads a real NetBox, whose objects lack Gigalis's custom fields.

A real NetBox cannot run here (it needs its Django application, PostgreSQL and Redis, none
of which the package registries provide), so this test stands in for it: the records below
have NetBox 4.1's shapes as its REST API serves them (and a 4.2 circuit termination), and a
stand-in for pynetbox's ``api`` object hands them out as pynetbox's ``dict(record)`` would.
The round trip through a second Gigalis serving the dialect, with the real pynetbox, is
tests/integration/test_netbox_sync.py.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from gigalis_nms.netbox.sync import netbox_side
from gigalis_nms.netbox.sync.records import NOT_SERVED, Inventory, plan

Json = dict[str, Any]


class Endpoint:
    """What the importer uses of a pynetbox endpoint: ``all()``, records readable by dict()."""

    def __init__(self, records: list[Json]) -> None:
        self.records = records

    def all(self) -> list[Json]:
        return self.records


def brief(object_id: int, **fields: Any) -> Json:
    return {"id": object_id, "url": f"https://netbox.example.net/api/x/{object_id}/", **fields}


def netbox(**apps: dict[str, list[Json]]) -> SimpleNamespace:
    endpoints = {
        "tenancy": ["tenants"],
        "circuits": ["providers", "circuit_types", "circuits", "circuit_terminations"],
        "dcim": [
            "sites",
            "manufacturers",
            "device_types",
            "platforms",
            "device_roles",
            "devices",
            "interfaces",
            "cables",
        ],
    }
    return SimpleNamespace(
        **{
            app: SimpleNamespace(
                **{name: Endpoint(apps.get(app, {}).get(name, [])) for name in names}
            )
            for app, names in endpoints.items()
        }
    )


SITES = [
    {
        **brief(1, name="Nantes Est", slug="nantes-est"),
        "facility": "",
        "status": {"value": "active", "label": "Active"},
        "physical_address": "1 rue de la Fibre, 44000 Nantes",
        "latitude": 47.218371,
        "longitude": -1.553621,
        "custom_fields": {"insee_code": "44109"},
    },
    {
        **brief(2, name="Angers", slug="angers"),
        "facility": "ANG-01",
        "status": {"value": "staging", "label": "Staging"},
        "physical_address": "",
        "latitude": 47.4784,
        "longitude": -0.5632,
        "custom_fields": {"insee_code": "49007", "kind": "nro"},
    },
    {  # no INSEE code: Gigalis cannot place it in a commune
        **brief(3, name="Somewhere", slug="somewhere"),
        "facility": "",
        "status": {"value": "active"},
        "latitude": 47.0,
        "longitude": -1.0,
        "custom_fields": {},
    },
]
DEVICES = [
    {
        **brief(10, name="nte-cr1"),
        "site": brief(1, slug="nantes-est"),
        "role": brief(1, slug="core", name="Core"),
        "platform": brief(4, slug="junos"),
        "device_type": brief(7, slug="mx204", model="MX204"),
        "status": {"value": "active"},
        "serial": "JN123",
        "primary_ip": brief(99, address="192.0.2.10/24"),
    },
    {
        **brief(11, name="ang-cr1"),
        "site": brief(2, slug="angers"),
        "device_role": brief(1, slug="core"),  # NetBox before 4.0 called the role so
        "platform": brief(5, slug="eos"),
        "device_type": brief(8, slug="7280r"),
        "status": {"value": "planned"},
        "serial": "",
        "primary_ip": None,
    },
    {**brief(12, name="nte-sw1"), "site": brief(1), "role": brief(2, slug="access-switch")},
    {**brief(13, name="nte-srv1"), "site": brief(1), "role": brief(1, slug="core")},
    {**brief(14, name=None), "site": brief(1), "role": brief(1, slug="core")},
]
INTERFACES = [
    {
        **brief(100, name="et-0/0/0"),
        "device": brief(10, name="nte-cr1"),
        "type": {"value": "100gbase-x-qsfp28"},
        "speed": 100_000_000,
        "enabled": True,
        "description": "to Angers",
    },
    {
        **brief(101, name="Ethernet1"),
        "device": brief(11, name="ang-cr1"),
        "type": {"value": "25gbase-x-sfp28"},
        "speed": None,
        "enabled": False,
        "description": "",
    },
    {
        **brief(102, name="xe-0/0/1"),
        "device": brief(10),
        "type": {"value": "10gbase-x-sfpp"},
        "speed": 2500,
    },
    {**brief(103, name="eth0"), "device": brief(12), "type": {"value": "1000base-t"}},
]


def interface_end(object_id: int, device_id: int) -> Json:
    return {
        "object_type": "dcim.interface",
        "object_id": object_id,
        "object": brief(object_id, device=brief(device_id)),
    }


CABLES = [
    {
        **brief(200, label="C-NTE-ANG"),
        "type": "smf",
        "status": {"value": "connected"},
        "a_terminations": [interface_end(100, 10)],
        "b_terminations": [interface_end(101, 11)],
        "length": 87.5,
        "length_unit": {"value": "km"},
        "custom_fields": {"fibre_count": 72, "owner": "Gigalis", "ownership": "own"},
    },
    {
        **brief(201, label=""),
        "status": {"value": "connected"},
        "a_terminations": [interface_end(100, 10)],
        "b_terminations": [interface_end(101, 11)],
        "length": 10,
        "length_unit": {"value": "m"},
        "custom_fields": {},
    },
    {
        **brief(202, label="C-NO-COUNT"),
        "status": {"value": "planned"},
        "a_terminations": [interface_end(100, 10)],
        "b_terminations": [interface_end(101, 11)],
        "length": 1200,
        "length_unit": {"value": "m"},
        "custom_fields": {"owner": "Gigalis", "ownership": "own"},
    },
]
CIRCUITS = [
    {
        **brief(300, cid="GIG-ETH-000042"),
        "provider": brief(1, name="Gigalis"),
        "type": brief(2, slug="ethernet-eline"),
        "status": {"value": "planned"},
        "tenant": brief(5, name="Orange Wholesale France"),
        "commit_rate": 1_000_000,
        "install_date": None,
        "description": "Collecte",
        "custom_fields": {},
    },
    {
        **brief(301, cid="GIG-ETH-000043"),
        "type": brief(2, slug="ethernet-eline"),
        "status": {"value": "active"},
        "tenant": None,
        "commit_rate": 100_000,
        "custom_fields": {},
    },
    {
        **brief(302, cid="TRANSIT-1"),
        "type": brief(9, slug="transit"),
        "status": {"value": "active"},
        "tenant": brief(5, name="Orange Wholesale France"),
        "custom_fields": {},
    },
]
TERMINATIONS = [
    {
        **brief(400),
        "circuit": brief(300),
        "term_side": "A",
        "site": brief(1),
        "link_peers_type": "dcim.interface",
        "link_peers": [brief(100, name="et-0/0/0")],
        "custom_fields": {},
    },
    {  # NetBox 4.2 on: the site is a typed termination
        **brief(401),
        "circuit": brief(300),
        "term_side": "Z",
        "termination_type": "dcim.site",
        "termination": brief(2),
        "link_peers": [],
        "custom_fields": {},
    },
]


def read() -> netbox_side.NetBoxInventory:
    return netbox_side.read(
        netbox(
            tenancy={"tenants": [{**brief(5, name="Orange Wholesale France"), "slug": "o"}]},
            circuits={
                "providers": [
                    {**brief(1, name="Gigalis", slug="gigalis"), "custom_fields": {}},
                    {**brief(6, name="Orange Wholesale France"), "custom_fields": {}},
                ],
                "circuit_types": [brief(2, slug="ethernet-eline")],
                "circuits": CIRCUITS,
                "circuit_terminations": TERMINATIONS,
            },
            dcim={
                "platforms": [{**brief(4, name="Junos", slug="junos"), "manufacturer": None}],
                "sites": SITES,
                "devices": DEVICES,
                "interfaces": INTERFACES,
                "cables": CABLES,
            },
        )
    )


def skipped(found: netbox_side.NetBoxInventory) -> dict[tuple[str, str], str]:
    return {(p.kind, p.key): p.field for p in found.skipped}


def test_organisations_sites_and_what_is_skipped() -> None:
    found = read()
    assert found.records["organisation"] == {
        "Orange Wholesale France": {"kind": "operator", "siren": None, "arcep_code": None},
        "Gigalis": {"kind": "supplier", "siren": None, "arcep_code": None},
    }
    assert found.records["site"]["NANTES-EST"] == {
        "name": "Nantes Est",
        "kind": "pop",  # no kind custom field: a point of presence
        "address": "1 rue de la Fibre, 44000 Nantes",
        "insee_code": "44109",
        "latitude": 47.218371,
        "longitude": -1.553621,
        "status": "active",
    }
    angers = found.records["site"]["ANG-01"]  # the facility is the code
    assert (angers["kind"], angers["status"]) == ("nro", "planned")  # staging reads planned
    assert skipped(found)[("site", "SOMEWHERE")] == "custom_fields.insee_code"
    assert skipped(found)[("organisation", "Orange Wholesale France")] == ""


def test_devices_and_interfaces() -> None:
    found = read()
    assert found.records["device"]["nte-cr1"] == {
        "site": "NANTES-EST",
        "role": "core",
        "platform": "junos",
        "device_type": "mx204",
        "status": "active",
        "serial": "JN123",
        "management_address": "192.0.2.10",  # the primary IP, without its prefix
    }
    assert found.records["device"]["ang-cr1"]["role"] == "core"
    reasons = skipped(found)
    assert reasons[("device", "nte-sw1")] == "role"
    assert reasons[("device", "nte-srv1")] == "platform"
    assert reasons[("device", "#14")] == "name"
    assert found.records["interface"]["nte-cr1:et-0/0/0"] == {
        "type": "100gbase-x-qsfp28",
        "speed_mbps": 100_000,
        "enabled": True,
        "description": "to Angers",
    }
    assert found.records["interface"]["ang-cr1:Ethernet1"]["type"] == "other"
    assert reasons[("interface", "nte-cr1:xe-0/0/1")] == "speed"
    # An interface of a skipped device is not listed twice: its device says why.
    assert not any(key.startswith("nte-sw1:") for kind, key in reasons if kind == "interface")


def test_cables_from_their_terminations() -> None:
    found = read()
    assert found.records["cable"] == {
        "C-NTE-ANG": {
            "a_site": "NANTES-EST",
            "z_site": "ANG-01",
            "length_m": 87_500,
            "fibre_count": 72,
            "owner": "Gigalis",
            "ownership": "own",
            "iru_end_date": None,
            "route": None,
            "status": "active",
        }
    }
    reasons = skipped(found)
    assert reasons[("cable", "#201")] == "label"
    assert reasons[("cable", "C-NO-COUNT")] == "fibre_count"


def test_circuits_from_their_terminations() -> None:
    found = read()
    assert found.records["circuit"] == {
        "GIG-ETH-000042": {
            "operator": "Orange Wholesale France",
            "service_type": "ethernet_eline",
            "a_site": "NANTES-EST",
            "a_interface": "nte-cr1:et-0/0/0",  # the interface the termination is cabled to
            "a_vlan": None,
            "z_site": "ANG-01",
            "z_interface": None,
            "z_vlan": None,
            "bandwidth_mbps": 1000,
            "protected": False,
            "status": "reserved",  # planned, without the exact lifecycle
            "description": "Collecte",
            "in_service_since": None,
        }
    }
    reasons = skipped(found)
    assert reasons[("circuit", "GIG-ETH-000043")] == "tenant"
    assert reasons[("circuit", "TRANSIT-1")] == "type"


def test_a_field_netbox_does_not_serve_is_left_alone() -> None:
    """NetBox 4 platforms have no NAPALM driver: an import keeps Gigalis's."""
    found = read()
    gigalis = Inventory()
    gigalis.add(
        "platform",
        "junos",
        {"name": "Junos", "manufacturer": None, "napalm_driver": "junos", "description": ""},
    )
    assert found.records["platform"]["junos"]["napalm_driver"] is NOT_SERVED
    assert [c for c in plan(found, gigalis).changes if c.kind == "platform"] == []
    created = plan(found, Inventory()).changes
    assert [(c.key, sorted(c.fields)) for c in created if c.kind == "platform"] == [
        ("junos", ["description", "manufacturer", "name"])
    ]
