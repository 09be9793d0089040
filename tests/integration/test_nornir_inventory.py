"""The GigalisInventory Nornir plugin on the repository's network, loaded in SQLite and in
PostgreSQL, through a real ``InitNornir`` that finds the plugin by its entry point. Nothing
here connects to a device: building an inventory opens no session."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.plugins.inventory import InventoryPluginRegister
from pydantic import SecretStr
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from gigalis_nms.audit import AuditEntry
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.enums import DeviceStatus
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import Device
from gigalis_nms.lab.state import BuildPhase, LabRecord, LabState, write_record
from gigalis_nms.provisioning.nornir_inventory import (
    NAPALM_CONNECTION,
    PLUGIN_NAME,
    GigalisInventory,
    open_nornir,
)
from gigalis_nms.settings import Settings
from tests.conftest import ROOT
from tests.unit.test_nornir_inventory import lab_router, lab_state

PASSWORD = "device-password-never-stored"


@pytest.fixture
def network(engine: Engine) -> list[dict[str, Any]]:
    """The repository's inventory in the database; its devices as the YAML describes them."""
    load_inventory(engine, ROOT / "inventory", actor="test:nornir")
    document = yaml.safe_load((ROOT / "inventory" / "devices.yaml").read_text())
    devices: list[dict[str, Any]] = document["devices"]
    return devices


@pytest.fixture
def device_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"device_username": "netops", "device_password": SecretStr(PASSWORD)}
    )


def init_nornir(**options: Any) -> Nornir:
    return InitNornir(
        inventory={"plugin": PLUGIN_NAME, "options": options},
        logging={"enabled": False},
    )


def set_device(engine: Engine, hostname: str, **fields: Any) -> None:
    with session_scope(engine, actor="test:nornir") as session:
        device = session.exec(select(Device).where(Device.hostname == hostname)).one()
        for name, value in fields.items():
            setattr(device, name, value)


def test_the_plugin_is_found_by_its_entry_point() -> None:
    InventoryPluginRegister.auto_register()
    assert InventoryPluginRegister.get_plugin(PLUGIN_NAME) is GigalisInventory


def test_one_host_per_device_of_the_network(
    network: list[dict[str, Any]], database_url: str, device_settings: Settings, engine: Engine
) -> None:
    nornir = init_nornir(database_url=database_url, settings=device_settings)

    hosts = nornir.inventory.hosts
    assert sorted(hosts) == sorted(device["hostname"] for device in network)
    with session_scope(engine, read_only=True) as session:
        ids = dict(session.exec(select(Device.hostname, Device.id)).all())
    for device in network:
        host = hosts[device["hostname"]]
        assert host.hostname == device["management_address"]
        assert host.platform == device["platform"]  # each platform's driver has its name
        assert (host.username, host.password) == ("netops", PASSWORD)
        assert host.data == {
            "site": device["site"],
            "role": device["role"],
            "device_id": ids[device["hostname"]],
            "inventory_platform": device["platform"],
            "status": device["status"],
        }
        assert [group.name for group in host.groups] == [
            f"site_{device['site']}",
            f"role_{device['role']}",
            f"platform_{device['platform']}",
        ]
    groups = nornir.inventory.groups
    assert {"platform_frr", "platform_junos", "platform_eos", "platform_iosxr"} <= set(groups)
    assert sorted(host.name for host in nornir.inventory.children_of_group("site_NTE1")) == [
        "nte1-cr1",
        "nte1-cr2",
    ]


def test_filters_by_site_and_by_device(
    network: list[dict[str, Any]], database_url: str, device_settings: Settings
) -> None:
    by_site = init_nornir(database_url=database_url, settings=device_settings, sites=["ANG1"])
    by_device = init_nornir(
        database_url=database_url,
        settings=device_settings,
        devices=["nte2-cr1", "lmn1-cr1", "no-such-device"],
    )

    assert sorted(by_site.inventory.hosts) == ["ang1-cr1", "ang1-cr2"]
    # A name that matches nothing is left out; callers check what they asked for.
    assert sorted(by_device.inventory.hosts) == ["lmn1-cr1", "nte2-cr1"]
    assert sorted(by_device.inventory.groups) == [
        "platform_eos",
        "platform_junos",
        "role_core",
        "site_LMN1",
        "site_NTE2",
    ]


def test_only_active_and_staged_devices_are_hosts(
    network: list[dict[str, Any]], database_url: str, device_settings: Settings, engine: Engine
) -> None:
    set_device(engine, "nte1-cr1", status=DeviceStatus.STAGED)
    for hostname, status in [
        ("nte1-cr2", DeviceStatus.PLANNED),
        ("nte2-cr1", DeviceStatus.OFFLINE),
        ("nte2-cr2", DeviceStatus.DECOMMISSIONING),
        ("snz1-cr1", DeviceStatus.RETIRED),
    ]:
        set_device(engine, hostname, status=status)

    hosts = init_nornir(database_url=database_url, settings=device_settings).inventory.hosts

    assert hosts["nte1-cr1"].data["status"] == "staged"
    assert not {"nte1-cr2", "nte2-cr1", "nte2-cr2", "snz1-cr1"} & set(hosts)
    assert len(hosts) == len(network) - 4


def test_an_unknown_platform_names_the_device_and_the_platform(
    network: list[dict[str, Any]], database_url: str, device_settings: Settings, engine: Engine
) -> None:
    set_device(engine, "cho1-cr1", platform="vyos")

    with pytest.raises(InvalidInput) as refused:
        init_nornir(database_url=database_url, settings=device_settings)

    assert str(refused.value.problems[0]) == (
        "device cho1-cr1: platform: 'vyos' has no NAPALM driver here; known: eos, frr, iosxr, junos"
    )


def test_credentials_from_a_private_file_and_never_into_the_database(
    network: list[dict[str, Any]],
    database_url: str,
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
) -> None:
    secrets = tmp_path / "credentials.yaml"
    secrets.write_text(
        f"defaults: {{username: netops, password: {PASSWORD}}}\n"
        "platforms: {junos: {username: gigalis, key_file: /etc/gigalis/junos.key}}\n"
        "hosts: {ang1-cr1: {password: only-ang1}}\n"
    )
    secrets.chmod(0o600)
    with session_scope(engine, read_only=True) as session:
        audit_before = session.exec(select(func.count()).select_from(AuditEntry)).one()

    nornir = init_nornir(database_url=database_url, settings=settings, credentials_file=secrets)

    hosts = nornir.inventory.hosts
    assert (hosts["nte1-cr1"].username, hosts["nte1-cr1"].password) == ("netops", PASSWORD)
    assert (hosts["nte2-cr1"].username, hosts["nte2-cr1"].password) == ("gigalis", PASSWORD)
    assert hosts["nte2-cr1"].connection_options[NAPALM_CONNECTION].extras == {
        "optional_args": {"key_file": "/etc/gigalis/junos.key"}
    }
    assert hosts["ang1-cr1"].password == "only-ang1"
    with session_scope(engine, read_only=True) as session:
        assert session.exec(select(func.count()).select_from(AuditEntry)).one() == audit_before


def test_a_credentials_file_open_to_others_is_refused(
    network: list[dict[str, Any]], database_url: str, settings: Settings, tmp_path: Path
) -> None:
    secrets = tmp_path / "credentials.yaml"
    secrets.write_text(f"defaults: {{username: netops, password: {PASSWORD}}}\n")
    secrets.chmod(0o644)

    with pytest.raises(InvalidInput) as refused:
        init_nornir(database_url=database_url, settings=settings, credentials_file=str(secrets))

    assert f"{secrets} has mode 0644" in refused.value.message
    assert PASSWORD not in refused.value.message


def test_without_a_login_every_device_is_named(
    network: list[dict[str, Any]], database_url: str, settings: Settings
) -> None:
    with pytest.raises(InvalidInput) as refused:
        init_nornir(database_url=database_url, settings=settings)

    assert len(refused.value.problems) == len(network)
    hostnames = sorted(device["hostname"] for device in network)
    assert refused.value.message == (
        f"{len(network)} devices cannot be reached: devices {', '.join(hostnames[:10])}"
        f" and {len(network) - 10} more: username: no login: set GIGALIS_DEVICE_USERNAME or"
        " give one in the credentials file"
    )


def test_every_device_refused_is_named_by_reason(
    network: list[dict[str, Any]], database_url: str, settings: Settings, engine: Engine
) -> None:
    set_device(engine, "cho1-cr1", platform="vyos")
    set_device(engine, "nte2-cr1", management_address=None)

    with pytest.raises(InvalidInput) as refused:
        init_nornir(
            database_url=database_url,
            settings=settings.model_copy(update={"device_username": "netops"}),
            sites=["CHO1", "NTE1", "NTE2"],
        )

    assert refused.value.message == (
        "2 devices cannot be reached: device cho1-cr1: platform: 'vyos' has no NAPALM driver"
        " here; known: eos, frr, iosxr, junos; device nte2-cr1: management_address: not set:"
        " cannot reach the device"
    )
    assert [problem.location for problem in refused.value.problems] == [
        "device cho1-cr1",
        "device nte2-cr1",
    ]


def test_a_directory_as_credentials_file_is_named(
    network: list[dict[str, Any]], database_url: str, settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput) as refused:
        init_nornir(database_url=database_url, settings=settings, credentials_file=tmp_path)

    assert refused.value.message == (
        f"credentials_file: {tmp_path}: is a directory, not a credentials file"
    )


@pytest.mark.usefixtures("network")
def test_host_entries_that_name_no_device_are_reported(
    database_url: str,
    device_settings: Settings,
    engine: Engine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_device(engine, "snz1-cr1", status=DeviceStatus.RETIRED)  # known, though not reached
    secrets = tmp_path / "credentials.yaml"
    secrets.write_text(
        "hosts: {nte1-cr1: {username: a}, nte1-rc2: {username: b}, snz1-cr1: {username: c},"
        " gone-er1: {username: d}}\n"
    )
    secrets.chmod(0o600)

    with caplog.at_level(logging.WARNING, logger="gigalis_nms.provisioning.nornir_inventory"):
        nornir = init_nornir(
            database_url=database_url, settings=device_settings, credentials_file=secrets
        )

    assert nornir.inventory.hosts["nte1-cr1"].username == "a"
    assert nornir.inventory.hosts["nte1-cr2"].username == "netops"  # the misspelt entry's
    assert [record.getMessage() for record in caplog.records] == [
        f"credentials file {secrets}: hosts gone-er1, nte1-rc2 name no device of the inventory;"
        " their entries are not used"
    ]


def test_the_database_url_defaults_to_the_settings(
    network: list[dict[str, Any]], device_settings: Settings
) -> None:
    nornir = open_nornir(settings=device_settings, sites=["NTE1"], num_workers=4)
    assert sorted(nornir.inventory.hosts) == ["nte1-cr1", "nte1-cr2"]
    assert nornir.runner.num_workers == 4


def the_lab() -> LabState:
    return lab_state(
        lab_router("nte1-cr1", "NTE1", "frr", "198.51.100.11"),
        lab_router("nte2-cr1", "NTE2", "junos", "198.51.100.13"),
        lab_router("not-in-db-er1", "XXX1", "frr", "198.51.100.99"),
    )


def test_with_a_lab_the_hosts_are_its_routers_reached_its_way(
    network: list[dict[str, Any]], database_url: str, settings: Settings
) -> None:
    state = the_lab()

    # No device login is needed: the lab's key is used.
    nornir = init_nornir(database_url=database_url, settings=settings, lab_state=state)

    hosts = nornir.inventory.hosts
    assert sorted(hosts) == ["nte1-cr1", "nte2-cr1"]
    stand_in = hosts["nte2-cr1"]
    assert (stand_in.hostname, stand_in.platform, stand_in.username) == (
        "198.51.100.13",
        "frr",
        "root",
    )
    assert stand_in.data["role"] == "core"
    assert stand_in.data["inventory_platform"] == "junos"
    assert stand_in.connection_options[NAPALM_CONNECTION].extras == {
        "optional_args": state.napalm_optional_args(state.router("nte2-cr1"))
    }


def test_a_lab_is_read_from_its_runtime_folder(
    network: list[dict[str, Any]], database_url: str, settings: Settings, tmp_path: Path
) -> None:
    state = the_lab()
    write_record(
        LabRecord(
            state=LabState(**{**state.__dict__, "runtime_dir": str(tmp_path)}),
            phase=BuildPhase.RUNNING,
        )
    )

    nornir = init_nornir(database_url=database_url, settings=settings, lab_runtime_dir=tmp_path)

    assert sorted(nornir.inventory.hosts) == ["nte1-cr1", "nte2-cr1"]
    with pytest.raises(InvalidInput, match="lab_runtime_dir: no lab is up"):
        init_nornir(database_url=database_url, settings=settings, lab_runtime_dir=tmp_path / "none")


def test_a_lab_built_from_another_database_is_refused(
    network: list[dict[str, Any]], database_url: str, settings: Settings
) -> None:
    strangers = lab_state(lab_router("elsewhere-er1", "XXX1", "frr", "198.51.100.99"))

    with pytest.raises(InvalidInput, match="holds none of the lab's 1 routers"):
        init_nornir(database_url=database_url, settings=settings, lab_state=strangers)
