"""Hosts, groups and logins of the Gigalis Nornir inventory, built from device records without a
database (the plugin on real databases is in tests/integration/test_nornir_inventory.py)."""

from __future__ import annotations

import doctest
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import SecretStr

from gigalis_nms.errors import InvalidInput
from gigalis_nms.lab.state import LabRouter, LabState
from gigalis_nms.provisioning import credentials, nornir_inventory, progress
from gigalis_nms.provisioning.credentials import CredentialsBook, DeviceCredentials
from gigalis_nms.provisioning.nornir_inventory import (
    NAPALM_CONNECTION,
    DeviceRecord,
    build_inventory,
    lab_inventory,
    lab_login,
    napalm_driver,
    production_login,
)

CORE = DeviceRecord(
    hostname="nte1-cr1",
    site="NTE1",
    platform="frr",
    management_address="198.51.100.11",
    status="active",
    role="core",
    device_id=7,
)
JUNOS = DeviceRecord(
    hostname="nte2-cr1",
    site="NTE2",
    platform="junos",
    management_address="198.51.100.13",
    status="staged",
    role="core",
    device_id=8,
)
BOOK = CredentialsBook(
    defaults=DeviceCredentials(username="netops", password=SecretStr("default-secret")),
    platforms={"junos": DeviceCredentials(username="gigalis")},
    hosts={"nte2-cr1": DeviceCredentials(password=SecretStr("nte2-secret"))},
)


def lab_router(hostname: str, site: str, platform: str, address: str) -> LabRouter:
    netns = f"gl-{hostname}"
    return LabRouter(
        hostname=hostname,
        site=site,
        platform=platform,
        netns=netns,
        uts_file=f"/run/gigalis-lab/routers/{hostname}/uts",
        management_address=address,
        loopback_ipv4="192.0.2.1",
        loopback_ipv6="2001:db8::1",
        lldpd_socket=f"/run/gigalis-lab/routers/{hostname}/lldpd.socket",
        device_state_dir=f"/run/gigalis-lab/routers/{hostname}/state",
        backbone_ports=("eth1",),
        customer_ports=(),
        port_names={"eth1": "eth1"},
    )


def lab_state(*routers: LabRouter) -> LabState:
    return LabState(
        runtime_dir="/run/gigalis-lab",
        sites=tuple(sorted({router.site for router in routers})),
        ssh_user="root",
        ssh_key_file="/run/gigalis-lab/ssh/id_ed25519",
        known_hosts_file="/run/gigalis-lab/ssh/known_hosts",
        routers=routers,
        links=(),
        cpes=(),
    )


@pytest.mark.parametrize("module", [nornir_inventory, credentials, progress])
def test_docstring_examples_run(module: ModuleType) -> None:
    failures, tried = doctest.testmod(module)
    assert tried > 0
    assert failures == 0


def test_a_host_per_device_at_its_management_address_with_its_driver() -> None:
    inventory = build_inventory([CORE, JUNOS], production_login(BOOK))

    host = inventory.hosts["nte1-cr1"]
    assert host.hostname == "198.51.100.11"
    assert host.platform == "frr"
    assert host.username == "netops"
    assert host.password == "default-secret"
    assert host.data == {
        "site": "NTE1",
        "role": "core",
        "device_id": 7,
        "inventory_platform": "frr",
        "status": "active",
    }
    assert [group.name for group in host.groups] == ["site_NTE1", "role_core", "platform_frr"]
    assert host.connection_options[NAPALM_CONNECTION].extras == {"optional_args": {}}


def test_groups_are_made_once_and_shared() -> None:
    inventory = build_inventory([CORE, JUNOS], production_login(BOOK))

    assert sorted(inventory.groups) == [
        "platform_frr",
        "platform_junos",
        "role_core",
        "site_NTE1",
        "site_NTE2",
    ]
    core_groups = [inventory.hosts[name].groups[1] for name in ("nte1-cr1", "nte2-cr1")]
    assert core_groups[0] is core_groups[1] is inventory.groups["role_core"]
    assert inventory.hosts["nte2-cr1"].has_parent_group("platform_junos")


def test_credentials_are_taken_field_by_field_from_the_most_specific_entry() -> None:
    host = build_inventory([JUNOS], production_login(BOOK)).hosts["nte2-cr1"]

    assert host.username == "gigalis"  # the platform's
    assert host.password == "nte2-secret"  # the host's


def test_a_key_file_goes_to_the_driver_and_no_password_is_an_empty_one() -> None:
    book = CredentialsBook(
        defaults=DeviceCredentials(username="netops", key_file=Path("/etc/gigalis/netops.key"))
    )
    host = build_inventory([CORE], production_login(book)).hosts["nte1-cr1"]

    assert host.password == ""
    assert host.connection_options[NAPALM_CONNECTION].extras == {
        "optional_args": {"key_file": "/etc/gigalis/netops.key"}
    }


def test_napalm_drivers_for_the_platforms_of_the_network() -> None:
    assert {name: napalm_driver("x", name) for name in ("frr", "junos", "eos", "iosxr")} == {
        "frr": "frr",
        "junos": "junos",
        "eos": "eos",
        "iosxr": "iosxr",
    }


def test_every_device_that_cannot_be_reached_is_named_in_one_error() -> None:
    vyos = DeviceRecord("x-er1", "NTE1", "vyos", "198.51.100.40", "active", "edge", 40)
    unaddressed = DeviceRecord("y-er1", "NTE1", "frr", None, "active", "edge", 41)

    with pytest.raises(InvalidInput) as refused:
        build_inventory([CORE, vyos, unaddressed], production_login(BOOK))

    assert [str(problem) for problem in refused.value.problems] == [
        "device x-er1: platform: 'vyos' has no NAPALM driver here; known: eos, frr, iosxr, junos",
        "device y-er1: management_address: not set: cannot reach the device",
    ]
    assert refused.value.message.startswith("2 devices cannot be reached: device x-er1:")


def test_a_device_without_a_login_is_refused() -> None:
    with pytest.raises(InvalidInput, match="device nte1-cr1: username: no login: set GIGALIS_"):
        build_inventory([CORE], production_login(CredentialsBook()))


def test_lab_hosts_are_reached_as_the_lab_reaches_them() -> None:
    state = lab_state(
        lab_router("nte1-cr1", "NTE1", "frr", "198.51.100.11"),
        lab_router("nte2-cr1", "NTE2", "junos", "198.51.100.13"),
    )

    inventory = build_inventory([CORE, JUNOS], lab_login(state))

    stand_in = inventory.hosts["nte2-cr1"]
    assert stand_in.platform == "frr"  # the stand-in runs FRR whatever the inventory says
    assert stand_in.data["inventory_platform"] == "junos"
    assert stand_in.data["netns"] == "gl-nte2-cr1"
    assert stand_in.has_parent_group("platform_junos")
    assert stand_in.username == "root"
    assert stand_in.password == ""
    optional_args = stand_in.connection_options[NAPALM_CONNECTION].extras["optional_args"]
    assert optional_args == state.napalm_optional_args(state.router("nte2-cr1"))
    assert optional_args["key_file"] == "/run/gigalis-lab/ssh/id_ed25519"


def test_a_lab_inventory_from_the_state_alone() -> None:
    state = lab_state(lab_router("ang1-cr1", "ANG1", "iosxr", "198.51.100.31"))

    inventory = lab_inventory(state, transport="netns")

    host = inventory.hosts["ang1-cr1"]
    assert host.hostname == "198.51.100.31"
    assert host.data["site"] == "ANG1"
    assert host.data["role"] is None
    assert sorted(inventory.groups) == ["platform_iosxr", "site_ANG1"]
    optional_args = host.connection_options[NAPALM_CONNECTION].extras["optional_args"]
    assert optional_args["transport"] == "netns"


def test_no_password_reaches_a_repr() -> None:
    book_repr = repr(BOOK)
    assert "default-secret" not in book_repr
    assert "nte2-secret" not in book_repr
