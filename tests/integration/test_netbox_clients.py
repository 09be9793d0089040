"""Unmodified NetBox clients against a real `gigalis serve`: pynetbox and nornir-netbox's
NetBoxInventory2 read and write the Gigalis network, loaded from the repository's
inventory, through the dialect at /netbox/api/ (SQLite, loopback only).

The clients use requests, which would follow proxy settings from the environment: the tests
clear them so that nothing leaves the loopback address.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pynetbox
import pytest
import requests
from nornir_netbox.plugins.inventory.netbox import NetBoxInventory2
from sqlmodel import select

from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token
from gigalis_nms.db import make_engine, session_scope, upgrade
from gigalis_nms.inventory.loader.run import load_inventory
from gigalis_nms.inventory.models import Device, Site
from tests.processes import PROXY_VARIABLES, ROOT, gigalis_serve, quiet_serve_environment

pytestmark = pytest.mark.timeout(300)

SECRET_KEY = "netbox-clients-test-secret-key-0123456789"


@dataclass
class Service:
    url: str  # what a NetBox client is given: http://127.0.0.1:PORT/netbox
    tokens: dict[str, str]
    devices: dict[str, Device]  # by hostname, as loaded
    site_codes: dict[int, str]  # by site id


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`gigalis serve` over a SQLite file holding the Gigalis inventory, no background work."""
    folder = tmp_path_factory.mktemp("netbox-clients")
    database = folder / "gigalis.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    load_inventory(engine, ROOT / "inventory", actor="test:netbox-clients")
    tokens = {}
    with session_scope(engine, actor="test:tokens") as session:
        for role in (Role.ADMIN, Role.VIEWER):
            _, tokens[role.value] = create_token(
                session, name=role.value, role=role, organisation_id=None, secret_key=SECRET_KEY
            )
        devices = {d.hostname: Device.model_validate(d) for d in session.exec(select(Device))}
        site_codes = {s.id: s.code for s in session.exec(select(Site)) if s.id is not None}
    engine.dispose()
    environment = quiet_serve_environment(folder, f"sqlite:///{database}", SECRET_KEY)
    with gigalis_serve(environment, folder / "serve.log") as url:
        yield Service(f"{url}/netbox", tokens, devices, site_codes)


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def netbox(service: Service, role: str = "admin", *, threading: bool = False) -> pynetbox.api:
    api = pynetbox.api(service.url, token=service.tokens[role], threading=threading)
    session = requests.Session()
    session.trust_env = False  # no proxy, whatever the environment says
    api.http_session = session
    return api


def test_version_and_status(service: Service) -> None:
    api = netbox(service)
    assert api.version == "4.1"
    assert api.status()["netbox-version"] == "4.1.0"


@pytest.mark.parametrize("threading", [False, True])
def test_list_all(service: Service, threading: bool) -> None:
    api = netbox(service, "viewer", threading=threading)
    devices = list(api.dcim.devices.all())
    assert sorted(d.name for d in devices) == sorted(service.devices)
    # More interfaces than a page holds: pynetbox pages on, in parallel when threading.
    interfaces = list(api.dcim.interfaces.all())
    assert len(interfaces) > 100
    assert len({i.id for i in interfaces}) == len(interfaces) == api.dcim.interfaces.count()


def test_filter_get_and_count(service: Service) -> None:
    api = netbox(service, "viewer")
    core_nte1 = api.dcim.devices.filter(site="nte1", role="core")
    assert sorted(d.name for d in core_nte1) == ["nte1-cr1", "nte1-cr2"]
    by_name = api.dcim.devices.get(name="nte2-cr1")
    assert by_name is not None
    assert by_name.platform.slug == "junos"
    assert by_name.primary_ip4.address == f"{service.devices['nte2-cr1'].management_address}/32"
    by_id = api.dcim.devices.get(by_name.id)
    assert (by_id.name, by_id.site.slug, by_id.status.value) == ("nte2-cr1", "nte2", "active")
    assert api.dcim.devices.count() == len(service.devices)
    assert api.dcim.devices.count(platform="frr") == sum(
        d.platform == "frr" for d in service.devices.values()
    )
    assert api.dcim.devices.get(name="no-such-router") is None


def test_unsupported_filter_is_an_error_naming_it(service: Service) -> None:
    api = netbox(service, "viewer")
    with pytest.raises(pynetbox.RequestError) as refused:
        list(api.dcim.devices.filter(rack_id=3))
    assert refused.value.req.status_code == 400
    assert "query.rack_id" in refused.value.error


def test_choices(service: Service) -> None:
    choices = netbox(service).dcim.devices.choices()
    assert {"value": "active", "display_name": "Active"} in choices["status"]
    types = netbox(service).dcim.interfaces.choices()["type"]
    assert {"value": "100gbase-x-qsfp28", "display_name": "QSFP28 (100GE)"} in types


def test_create_save_delete(service: Service) -> None:
    api = netbox(service)
    site = api.dcim.sites.create(
        name="Laval Saint-Nicolas",
        slug="lav9",
        status="planned",
        latitude=48.07,
        longitude=-0.77,
        custom_fields={"insee_code": "53130", "kind": "pop"},
    )
    assert site.facility == "LAV9"
    router = api.dcim.devices.create(
        name="lav9-er1", site=site.id, role=api.dcim.device_roles.get(slug="edge").id, platform=1
    )
    port = api.dcim.interfaces.create(
        device=router.id, name="eth1", type="10gbase-x-sfpp", speed=10_000_000
    )

    port.description = "to nowhere yet"
    port.enabled = False
    assert port.save()
    again = api.dcim.interfaces.get(port.id)
    assert (again.description, again.enabled, again.speed) == ("to nowhere yet", False, 10_000_000)
    router.status = "planned"
    assert router.save()
    assert api.dcim.devices.get(router.id).status.value == "planned"

    tenant = api.tenancy.tenants.create(name="Fibre 53 Test", slug="fibre-53-test")
    assert api.tenancy.tenants.get(slug="fibre-53-test").id == tenant.id

    # Bulk, as pynetbox sends it: PATCH and DELETE of a list on the endpoint.
    spare = api.dcim.interfaces.create(device=router.id, name="eth2", type="10gbase-x-sfpp")
    updated = api.dcim.interfaces.update([{"id": spare.id, "description": "spare"}])
    assert [i.description for i in updated] == ["spare"]
    assert api.dcim.interfaces.delete([port, spare])
    assert api.dcim.interfaces.count(device_id=router.id) == 0

    assert router.delete()
    assert site.delete()
    assert tenant.delete()
    assert api.dcim.sites.get(slug="lav9") is None


def test_viewer_cannot_write(service: Service) -> None:
    with pytest.raises(pynetbox.RequestError) as refused:
        netbox(service, "viewer").tenancy.tenants.create(name="Nope", slug="nope")
    assert refused.value.req.status_code == 403


def test_trace_along_a_backbone_link(service: Service) -> None:
    api = netbox(service, "viewer")
    start = api.dcim.interfaces.get(device="nte1-cr1", name="eth1")
    near, cable, far = api.dcim.interfaces.get(start.id).trace()
    assert [p.id for p in near] == [start.id]
    assert cable.label == "C-NTE1-NTE2"
    assert [(p.device.name, p.name) for p in far] == [("nte2-cr1", "et-0/0/0")]
    assert start.cable.id == cable.id


def test_circuits(service: Service) -> None:
    api = netbox(service, "viewer")
    circuits = list(api.circuits.circuits.all())
    assert circuits
    first = circuits[0]
    assert first.cid.startswith("GIG-")
    assert first.tenant.id in {t.id for t in api.tenancy.tenants.all()}
    assert first.provider.name == "Gigalis"
    terminations = api.circuits.circuit_terminations.filter(circuit_id=first.id)
    assert {t.term_side for t in terminations} <= {"A", "Z"}


# The platforms' NAPALM drivers are named as their slugs, so both options give the same.
@pytest.mark.parametrize("option", ["use_platform_slug", "use_platform_napalm_driver"])
def test_nornir_inventory(service: Service, tmp_path: Path, option: str) -> None:
    inventory = NetBoxInventory2(
        nb_url=service.url,
        nb_token=service.tokens["viewer"],
        group_file=str(tmp_path / "groups.yaml"),
        defaults_file=str(tmp_path / "defaults.yaml"),
        **{option: True},
    )
    inventory.session.trust_env = False  # no proxy, whatever the environment says
    hosts = inventory.load().hosts
    assert sorted(hosts) == sorted(service.devices)
    for name, device in service.devices.items():
        host = hosts[name]
        assert host.platform == device.platform
        assert host.hostname == device.management_address
        site = service.site_codes[device.site_id].lower()
        assert {f"site__{site}", f"platform__{device.platform}"} <= {g.name for g in host.groups}
        assert host.data["role"]["slug"] == device.role.value


def test_nornir_inventory_filter(service: Service, tmp_path: Path) -> None:
    inventory = NetBoxInventory2(
        nb_url=service.url,
        nb_token=service.tokens["viewer"],
        filter_parameters={"platform": "frr", "role": "core"},
        group_file=str(tmp_path / "groups.yaml"),
        defaults_file=str(tmp_path / "defaults.yaml"),
        use_platform_slug=True,
    )
    inventory.session.trust_env = False
    hosts = inventory.load().hosts
    expected = [h for h, d in service.devices.items() if d.platform == "frr" and d.role == "core"]
    assert sorted(hosts) == sorted(expected)
    assert expected


def test_trace_of_an_express_link_over_two_cables(service: Service) -> None:
    """BL-NTE2-ANG1 rides C-NTE2-ANC1 then C-ANC1-ANG1 through ANC1 without stopping; traced
    from its Z end, the cables come in reverse, with empty ends at the splice."""
    api = netbox(service, "viewer")
    start = api.dcim.interfaces.get(device="ang1-cr1", name="HundredGigE0/0/0/0")
    path = start.trace()
    assert len(path) == 6  # two segments of (near ends, cable, far ends)
    assert [p.id for p in path[0]] == [start.id]
    assert [path[1].label, path[4].label] == ["C-ANC1-ANG1", "C-NTE2-ANC1"]
    assert path[2] == path[3] == []
    assert [(p.device.name, p.name) for p in path[5]] == [("nte2-cr2", "et-0/0/0")]
