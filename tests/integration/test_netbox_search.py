"""NetBox's search (``q``), ``ordering`` and lookup suffixes (``__ic``, ``__n``…) in the
dialect, through the in-process client on SQLite and PostgreSQL, then through unmodified
pynetbox against a real `gigalis serve`.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import Circuit, Device, Interface, Site
from gigalis_nms.netbox.endpoints import ENDPOINTS
from gigalis_nms.netbox.models import DeviceType
from tests.integration.builders import Inventory
from tests.integration.conftest import Api
from tests.integration.test_netbox_clients import Service, netbox, no_proxies, service

__all__ = ["no_proxies", "service"]  # the fixtures, shared with the NetBox client tests

ROOT = "/netbox/api"
NANTES, ANGERS = "Nantes Beaulieu", "Angers Saint-Serge"
CIRCUIT_A, CIRCUIT_B = "GIG-ETH-000001", "GIG-ETH-000002"
T = TypeVar("T")


def row(session: Session, model: type[T], row_id: int) -> T:
    found = session.get(model, row_id)
    assert found is not None
    return found


@pytest.fixture
def data(engine: Engine, inventory: Inventory) -> Inventory:
    """The test inventory with something in each searched field: a site's address, a
    device's serial, management addresses (IPv4 and IPv6), a port's and a circuit's
    descriptions, two device types; and the second circuit provisioning, which NetBox reads
    as after the first (planned) and Gigalis stores as before it (reserved)."""
    with session_scope(engine, actor="test") as session:
        site = row(session, Site, inventory.site_a)
        device_a = row(session, Device, inventory.device_a)
        device_b = row(session, Device, inventory.device_b)
        port = row(session, Interface, inventory.ports["a1"])
        circuit_a = row(session, Circuit, inventory.circuit_a)
        circuit_b = row(session, Circuit, inventory.circuit_b)
        site.address = "12 Quai de la Fosse, 44000 Nantes"
        device_a.serial = "FRR-NTE-0001"
        device_a.management_address = "192.0.2.11"
        device_b.management_address = "2001:db8::12"
        port.description = "Vers ANGERS"
        circuit_a.description = "Lycée Guist'hau"
        circuit_b.status = CircuitStatus.PROVISIONING
        session.add_all([site, device_a, device_b, port, circuit_a, circuit_b])
        session.add(
            DeviceType(manufacturer_id=1, model="MX204", slug="mx204", part_number="MX204-HW-BASE")
        )
        session.add(DeviceType(manufacturer_id=2, model="7280R3", slug="7280r3"))
    return inventory


def nb(api: Api, path: str, params: Any = None) -> httpx.Response:
    headers = {"Authorization": f"Token {api.tokens['viewer']}"}
    return api.client.get(f"{ROOT}/{path}", params=params, headers=headers)


def listed(api: Api, path: str, params: Any = None, key: str = "display") -> list[Any]:
    response = nb(api, path, params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["results"])
    return [item[key] for item in body["results"]]


# --- q ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("dcim/sites/", "BEAULIEU", [NANTES]),  # name
        ("dcim/sites/", "ang1", [ANGERS]),  # facility
        ("dcim/sites/", "quai de LA fosse", [NANTES]),  # physical address
        ("dcim/devices/", "NTE1-Core", ["nte1-core1"]),  # name
        ("dcim/devices/", "frr-nte", ["nte1-core1"]),  # serial
        ("dcim/devices/", "192.0.2.1", ["nte1-core1"]),  # start of the primary IPv4
        ("dcim/devices/", "2001:db8::12/128", ["ang1-core1"]),  # primary IPv6, as served
        ("dcim/devices/", "0.2.11", []),  # an address is searched from its start only
        ("ipam/ip-addresses/", "ANG1-core", ["2001:db8::12/128"]),  # DNS name
        ("ipam/ip-addresses/", "192.0.2.", ["192.0.2.11/32"]),  # start of the address
        ("dcim/interfaces/", "XE-0/0/3", ["xe-0/0/3", "xe-0/0/3"]),  # name
        ("dcim/interfaces/", "vers angers", ["xe-0/0/1"]),  # description
        ("dcim/cables/", "fc-nte1", ["FC-NTE1-ANG1"]),  # label
        ("circuits/circuits/", "eth-000002", [CIRCUIT_B]),  # cid
        ("circuits/circuits/", "lycée GUIST", [CIRCUIT_A]),  # description
        ("tenancy/tenants/", "opérateur b", ["Opérateur B"]),  # name
        ("tenancy/tenants/", "operateur-a", ["Opérateur A"]),  # slug, made from the name
        ("circuits/providers/", "SYNDICAT", ["Syndicat Fibre"]),  # name
        ("dcim/manufacturers/", "JUNI", ["Juniper"]),  # name
        ("dcim/platforms/", "iosx", ["IOS XR"]),  # slug
        ("dcim/device-types/", "juniper", ["MX204"]),  # the manufacturer's name
        ("dcim/device-types/", "hw-base", ["MX204"]),  # part number
        ("dcim/device-types/", "7280r", ["7280R3"]),  # model
        ("dcim/device-roles/", "AGGREG", ["Aggregation"]),  # name, in Python
        ("circuits/circuit-types/", "dark-fibre", ["Dark fibre"]),  # slug, in Python
        ("circuits/circuit-types/", "FIBRE", ["Dark fibre"]),  # name, in Python
        (
            "circuits/circuit-terminations/",
            "eth-000001",
            [f"{CIRCUIT_A}: Termination A", f"{CIRCUIT_A}: Termination Z"],
        ),  # the circuit's cid, in Python
        ("dcim/sites/", "%", []),  # LIKE's wildcards are plain characters
        ("circuits/circuit-types/", "_", []),
        ("dcim/sites/", "  ", [NANTES, ANGERS]),  # blank: no search, as in NetBox
    ],
)
def test_q_finds_by_each_searched_field_whatever_the_case(
    api: Api, data: Inventory, path: str, text: str, expected: list[str]
) -> None:
    assert listed(api, path, {"q": text}) == expected


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path)
def test_q_without_a_match_counts_nothing(api: Api, data: Inventory, endpoint: Any) -> None:
    body = nb(api, f"{endpoint.path}/", {"q": "no-such-thing-anywhere"}).json()
    assert (body["count"], body["results"]) == (0, [])


def test_q_combines_with_filters(api: Api, data: Inventory) -> None:
    assert listed(api, "dcim/interfaces/", {"q": "xe-0/0/1", "device": "ang1-core1"}) == [
        "xe-0/0/1"
    ]
    assert listed(api, "dcim/devices/", {"q": "core", "site": "nte1"}) == ["nte1-core1"]


# --- ordering -----------------------------------------------------------------------------


def test_ordering_ascending_descending_and_by_two_keys(api: Api, data: Inventory) -> None:
    ports = data.ports
    assert listed(api, "dcim/sites/") == [NANTES, ANGERS]  # by id unless asked
    assert listed(api, "dcim/sites/", {"ordering": "name"}) == [ANGERS, NANTES]
    assert listed(api, "dcim/sites/", {"ordering": "-name"}) == [NANTES, ANGERS]
    assert listed(api, "dcim/interfaces/", {"ordering": "name,-id"}, "id") == [
        ports[p] for p in ("b1", "a1", "b2", "a2", "b3", "a3")
    ]
    assert listed(api, "dcim/interfaces/", {"ordering": "-name, id"}, "id") == [
        ports[p] for p in ("a3", "b3", "a2", "b2", "a1", "b1")
    ]
    assert listed(api, "circuits/circuits/", {"ordering": "-cid"}) == [CIRCUIT_B, CIRCUIT_A]


def test_ordering_reads_values_as_served(api: Api, data: Inventory) -> None:
    # A missing description or serial is served as "" and sorts as "".
    by_description = listed(api, "dcim/interfaces/", {"ordering": "description"}, "id")
    assert by_description[-1] == data.ports["a1"]
    assert (
        listed(api, "dcim/interfaces/", {"ordering": "-description"}, "id")[0] == (data.ports["a1"])
    )
    assert listed(api, "dcim/devices/", {"ordering": "serial"}) == ["ang1-core1", "nte1-core1"]
    # Circuit statuses as NetBox names them: planned before provisioning.
    assert listed(api, "circuits/circuits/", {"ordering": "status"}) == [CIRCUIT_A, CIRCUIT_B]
    assert listed(api, "circuits/circuits/", {"ordering": "-status"}) == [CIRCUIT_B, CIRCUIT_A]


def test_ordering_objects_made_in_python(api: Api, data: Inventory) -> None:
    roles = "dcim/device-roles/"
    assert listed(api, roles, {"ordering": "-name"}) == ["Edge", "Core", "Aggregation"]
    assert listed(api, roles, {"ordering": "slug"}) == ["Aggregation", "Core", "Edge"]
    assert listed(api, "circuits/circuit-terminations/", {"ordering": "term_side,-id"}) == [
        f"{CIRCUIT_B}: Termination A",
        f"{CIRCUIT_A}: Termination A",
        f"{CIRCUIT_B}: Termination Z",
        f"{CIRCUIT_A}: Termination Z",
    ]


@pytest.mark.parametrize(
    ("path", "ordering"),
    [
        ("dcim/devices/", "rack"),
        ("dcim/sites/", "name,-nothing"),
        ("dcim/devices/", "site"),  # a nested object
        ("dcim/device-roles/", "color"),
        ("circuits/circuit-terminations/", "--id"),
    ],
)
def test_ordering_by_an_unknown_field_is_refused(
    api: Api, data: Inventory, path: str, ordering: str
) -> None:
    response = nb(api, path, {"ordering": ordering})
    assert response.status_code == 400, response.text
    assert [p["field"] for p in response.json()["error"]["problems"]] == ["query.ordering"]


# --- Lookup suffixes ----------------------------------------------------------------------

BOTH_SITES = [NANTES, ANGERS]


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        # Text, on a column.
        ("dcim/sites/", {"name__n": NANTES}, [ANGERS]),
        ("dcim/sites/", {"name__ic": "BEAU"}, [NANTES]),
        ("dcim/sites/", {"name__nic": "beau"}, [ANGERS]),
        ("dcim/sites/", {"name__isw": "ANGERS"}, [ANGERS]),
        ("dcim/sites/", {"name__nisw": "angers"}, [NANTES]),
        ("dcim/sites/", {"name__iew": "SERGE"}, [ANGERS]),
        ("dcim/sites/", {"name__niew": "serge"}, [NANTES]),
        ("dcim/sites/", {"name__ie": "nantes BEAULIEU"}, [NANTES]),
        ("dcim/sites/", {"name__nie": "NANTES beaulieu"}, [ANGERS]),
        ("dcim/sites/", {"name__ie": "nantes"}, []),
        ("dcim/sites/", {"name__empty": "true"}, []),
        ("dcim/sites/", {"name__empty": "false"}, BOTH_SITES),
        ("dcim/sites/", {"name__ic": ["beau", "serge"]}, BOTH_SITES),  # repeated: any of
        ("dcim/sites/", {"name__nic": ["beau", "serge"]}, []),  # none of
        ("dcim/sites/", {"name__isw": "%"}, []),
        ("dcim/sites/", {"slug__isw": "NTE"}, [NANTES]),
        ("dcim/sites/", {"cf_insee_code__n": "44109"}, [ANGERS]),
        # A column holding nothing is empty, and stays among what a negation keeps.
        ("dcim/devices/", {"serial__empty": "true"}, ["ang1-core1"]),
        ("dcim/devices/", {"serial__empty": "false"}, ["nte1-core1"]),
        ("dcim/devices/", {"serial__nic": "frr"}, ["ang1-core1"]),
        ("dcim/devices/", {"serial__n": "FRR-NTE-0001"}, ["ang1-core1"]),
        ("dcim/devices/", {"name__iew": "CORE1", "name__nisw": "ang"}, ["nte1-core1"]),
        # Choices, tested against the choices and served as NetBox names them.
        ("dcim/devices/", {"status__n": "active"}, []),
        ("circuits/circuits/", {"status__n": "planned"}, [CIRCUIT_B]),
        ("circuits/circuits/", {"status__isw": "provisioning"}, [CIRCUIT_B]),
        ("circuits/circuits/", {"status__empty": "false"}, [CIRCUIT_A, CIRCUIT_B]),
        ("circuits/circuits/", {"status__empty": "true"}, []),
        ("dcim/cables/", {"status__nie": "connected"}, []),
        ("dcim/cables/", {"status__ie": "connected"}, ["FC-NTE1-ANG1"]),
        ("dcim/interfaces/", {"type__n": "10gbase-x-sfpp"}, []),
        # Slugs made from names.
        ("tenancy/tenants/", {"slug__ic": "OPERATEUR"}, ["Opérateur A", "Opérateur B"]),
        ("tenancy/tenants/", {"slug__niew": "-b"}, ["Opérateur A"]),
        ("circuits/providers/", {"slug__isw": "syndicat"}, ["Syndicat Fibre"]),
        # Related objects, by slug or name: __n only.
        ("dcim/devices/", {"site__n": "nte1"}, ["ang1-core1"]),
        ("dcim/devices/", {"role__n": "core"}, []),
        ("dcim/devices/", {"platform__n": "junos"}, ["nte1-core1", "ang1-core1"]),
        ("circuits/circuits/", {"tenant__n": "operateur-a"}, [CIRCUIT_B]),
        ("circuits/circuits/", {"type__n": "ethernet-eline"}, []),
        ("dcim/interfaces/", {"device__n": "nte1-core1", "name__ie": "XE-0/0/2"}, ["xe-0/0/2"]),
        # Objects made in Python.
        ("dcim/device-roles/", {"name__isw": "co"}, ["Core"]),
        ("dcim/device-roles/", {"name__niew": "E"}, ["Aggregation"]),
        ("dcim/device-roles/", {"slug__ie": "EDGE"}, ["Edge"]),
        ("dcim/device-roles/", {"id__gt": "1"}, ["Aggregation", "Edge"]),
        ("dcim/device-roles/", {"id__lte": "2", "id__n": "1"}, ["Aggregation"]),
        ("dcim/device-roles/", {"id__empty": "false"}, ["Core", "Aggregation", "Edge"]),
        ("circuits/circuit-types/", {"slug__empty": "true"}, []),
        (
            "circuits/circuit-terminations/",
            {"term_side__n": "A"},
            [f"{CIRCUIT_A}: Termination Z", f"{CIRCUIT_B}: Termination Z"],
        ),
    ],
)
def test_suffixes_select_as_netbox(
    api: Api, data: Inventory, path: str, params: dict[str, Any], expected: list[str]
) -> None:
    assert listed(api, path, params) == expected


def test_number_suffixes(api: Api, data: Inventory) -> None:
    nantes, angers = data.site_a, data.site_b
    assert listed(api, "dcim/sites/", {"id__gt": nantes}) == [ANGERS]
    assert listed(api, "dcim/sites/", {"id__gte": nantes}) == BOTH_SITES
    assert listed(api, "dcim/sites/", {"id__lt": angers}) == [NANTES]
    assert listed(api, "dcim/sites/", {"id__lte": nantes}) == [NANTES]
    assert listed(api, "dcim/sites/", {"id__n": nantes}) == [ANGERS]
    assert listed(api, "dcim/sites/", {"id__lt": 0}) == []
    assert listed(api, "dcim/sites/", {"id__empty": "true"}) == []
    assert listed(api, "dcim/sites/", {"id__empty": "false"}) == BOTH_SITES
    ports = data.ports
    between = {"id__gte": ports["a2"], "id__lt": ports["b2"]}
    assert listed(api, "dcim/interfaces/", between, "id") == [ports[p] for p in ("a2", "a3", "b1")]
    # Related objects' ids: __n only.
    assert listed(api, "dcim/devices/", {"site_id__n": nantes}) == ["ang1-core1"]
    assert listed(api, "circuits/circuits/", {"tenant_id__n": data.operator_a}) == [CIRCUIT_B]
    assert listed(api, "circuits/circuits/", {"site_id__n": nantes}) == []
    terminations = "circuits/circuit-terminations/"
    assert listed(api, terminations, {"circuit_id__n": data.circuit_a}) == [
        f"{CIRCUIT_B}: Termination A",
        f"{CIRCUIT_B}: Termination Z",
    ]
    assert listed(api, terminations, {"site_id__n": nantes}) == [
        f"{CIRCUIT_A}: Termination Z",
        f"{CIRCUIT_B}: Termination A",
    ]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("dcim/sites/", {"name__xyz": "x"}, "query.name__xyz"),  # no such suffix
        ("dcim/sites/", {"name__lt": "x"}, "query.name__lt"),  # a number's, on text
        ("dcim/sites/", {"id__ic": "1"}, "query.id__ic"),  # text's, on a number
        ("dcim/devices/", {"site__ic": "nte"}, "query.site__ic"),  # a related object: __n only
        ("dcim/devices/", {"site_id__gt": "1"}, "query.site_id__gt"),
        ("dcim/interfaces/", {"enabled__n": "true"}, "query.enabled__n"),  # booleans: none
        ("dcim/cables/", {"site_id__n": "1"}, "query.site_id__n"),  # NetBox's methods: none
        ("ipam/ip-addresses/", {"address__ic": "192"}, "query.address__ic"),
        ("dcim/device-roles/", {"name__gt": "a"}, "query.name__gt"),
        ("circuits/circuit-terminations/", {"term_side__lt": "A"}, "query.term_side__lt"),
        ("dcim/sites/", {"rack__n": "1"}, "query.rack__n"),  # not a filter at all
        ("dcim/sites/", {"name__ic__n": "x"}, "query.name__ic__n"),
        ("dcim/sites/", {"id__gt": "one"}, "query.id__gt"),  # values they cannot read
        ("dcim/sites/", {"name__empty": "maybe"}, "query.name__empty"),
        ("circuits/circuits/", {"status__ic": "plan"}, "query.status__ic"),  # not a choice
        ("dcim/devices/", {"site__n": "nowhere"}, "query.site"),  # no such site
    ],
)
def test_suffixes_a_filter_does_not_take_are_refused(
    api: Api, data: Inventory, path: str, params: dict[str, str], field: str
) -> None:
    response = nb(api, path, params)
    assert response.status_code == 400, response.text
    assert [p["field"] for p in response.json()["error"]["problems"]] == [field]


# --- Paging -------------------------------------------------------------------------------


def test_paging_keeps_q_ordering_and_suffixes(api: Api, data: Inventory) -> None:
    asked = {"q": "xe", "ordering": "-name,id", "name__isw": "XE-0/0/", "id__n": data.ports["a3"]}
    whole = listed(api, "dcim/interfaces/", asked, "id")
    assert len(whole) == 5

    seen: list[int] = []
    response = nb(api, "dcim/interfaces/", {**asked, "limit": 2})
    while True:
        body = response.json()
        assert body["count"] == 5
        seen += [item["id"] for item in body["results"]]
        if body["next"] is None:
            break
        kept = dict(parse_qsl(urlsplit(body["next"]).query))
        assert {k: kept[k] for k in asked} == {k: str(v) for k, v in asked.items()}
        response = api.client.get(
            body["next"], headers={"Authorization": f"Token {api.tokens['viewer']}"}
        )
    assert seen == whole


# --- Unmodified pynetbox ------------------------------------------------------------------


def test_pynetbox_search_and_lookups(service: Service) -> None:
    api = netbox(service, "viewer")
    found = sorted(device.name for device in api.dcim.devices.filter("nte"))  # sent as q
    expected = sorted(
        name
        for name, device in service.devices.items()
        if "nte" in name.lower() or "nte" in (device.serial or "").lower()
    )
    assert found == expected
    assert found

    nantes = sorted(site.name for site in api.dcim.sites.filter(name__ic="nantes"))
    assert nantes == sorted(s.name for s in api.dcim.sites.all() if "nantes" in s.name.lower())
    assert nantes
    backwards = api.dcim.sites.filter(name__ic="NANTES", ordering="-name")
    assert [site.name for site in backwards] == sorted(nantes, reverse=True)
