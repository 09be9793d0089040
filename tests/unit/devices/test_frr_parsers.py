"""The FRR driver's getters, replayed against output recorded on real FRR 8.4 routers.

The recordings (``frr/recorded/``) come from three routers in network namespaces running
IS-IS, iBGP and lldpd; ``r1`` also carries a bridge, a VXLAN tunnel, a bridge port, a BGP VRF
without its kernel device, an administratively shut peer, a peer that never came up and two
secrets. ``frr/record.py`` makes them again.
"""

from __future__ import annotations

import doctest
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from napalm.base.exceptions import ConnectionException

from gigalis_nms.devices.frr import frrconfig, parsers
from gigalis_nms.devices.frr.driver import GETTERS
from gigalis_nms.devices.frr.kernel import Bridge, Port, Vxlan, parse_kernel_state
from gigalis_nms.devices.payloads import PayloadError, check_getter_payload
from tests.unit.devices.frr.replay import RECORDED, ReplayDriver, recording_names, replay_driver

WORKING = [name for name in recording_names() if "stopped" not in name]


@pytest.fixture
def r1() -> Iterator[ReplayDriver]:
    driver = replay_driver("r1")
    driver.open()
    yield driver
    driver.close()


def recorded_text(router: str, prefix: str) -> str:
    (path,) = (RECORDED / router).glob(f"{prefix}*.txt")
    return path.read_text()


@pytest.mark.parametrize("router", WORKING)
@pytest.mark.parametrize("getter", GETTERS)
def test_every_getter_returns_napalm_typed_data(router: str, getter: str) -> None:
    driver = replay_driver(router)
    driver.open()
    check_getter_payload(getter, getattr(driver, getter)())


def test_the_type_check_catches_an_int_where_napalm_says_float(r1: ReplayDriver) -> None:
    facts = dict(r1.get_facts(), uptime=12)
    with pytest.raises(PayloadError, match=r"get_facts\.uptime: expected float, got int"):
        check_getter_payload("get_facts", facts)


def test_facts(r1: ReplayDriver) -> None:
    facts = r1.get_facts()

    assert facts["vendor"] == "FRRouting"
    assert facts["os_version"] == "8.4.4"
    assert facts["hostname"] == facts["fqdn"] == "r1"
    assert facts["uptime"] > 0
    assert facts["model"] == "Linux"  # this machine has no DMI product name
    assert {"lo", "eth1", "eth2", "eth3", "br100", "vx100", "mgmt0"} <= set(facts["interface_list"])


def test_interfaces(r1: ReplayDriver) -> None:
    interfaces = r1.get_interfaces()

    eth1 = interfaces["eth1"]
    assert eth1["description"] == "to-next"  # FRR's description wins over the kernel alias
    assert eth1["is_up"]
    assert eth1["is_enabled"]
    assert eth1["speed"] == 10000.0  # a veth reports 10 Gbit/s
    assert eth1["mtu"] == 1500
    assert eth1["mac_address"].count(":") == 5
    assert eth1["mac_address"].isupper()
    assert interfaces["br100"]["description"] == "circuit C-0001"
    assert interfaces["lo"]["speed"] == -1.0  # the loopback has no speed
    assert interfaces["lo"]["mac_address"] == "00:00:00:00:00:00"
    assert interfaces["lo"]["mtu"] == 65536
    assert all(interface["last_flapped"] == -1.0 for interface in interfaces.values())


def test_interface_alias_is_the_description_when_frr_has_none() -> None:
    links = [{"ifname": "eth9", "flags": ["UP"], "mtu": 1500, "ifalias": "to PoP ANC1"}]
    interfaces = parsers.interfaces_from_links(links, descriptions={}, speeds={})
    assert interfaces["eth9"]["description"] == "to PoP ANC1"
    assert interfaces["eth9"]["is_enabled"]
    assert not interfaces["eth9"]["is_up"]


def test_interfaces_ip(r1: ReplayDriver) -> None:
    addresses = r1.get_interfaces_ip()

    assert addresses["lo"]["ipv4"]["192.0.2.1"] == {"prefix_length": 32}
    assert addresses["lo"]["ipv6"]["2001:db8::1"] == {"prefix_length": 128}
    assert addresses["eth1"]["ipv4"] == {"198.51.100.0": {"prefix_length": 31}}
    assert set(addresses["br100"]) == {"ipv6"}  # link-local only
    assert addresses["br100"]["ipv6"].popitem()[0].startswith("fe80::")


def test_interfaces_counters(r1: ReplayDriver) -> None:
    counters = r1.get_interfaces_counters()

    eth1 = counters["eth1"]
    assert eth1["rx_octets"] > 0
    assert eth1["tx_octets"] > 0
    assert eth1["tx_unicast_packets"] > 0
    # Linux does not count these: -1, never a made-up zero.
    assert eth1["tx_multicast_packets"] == eth1["rx_broadcast_packets"] == -1


def test_bgp_neighbors(r1: ReplayDriver) -> None:
    bgp = r1.get_bgp_neighbors()

    assert set(bgp) == {"global", "blue"}
    assert bgp["global"]["router_id"] == "192.0.2.1"
    assert bgp["blue"]["router_id"] == "192.0.2.101"
    peers = bgp["global"]["peers"]
    up = peers["192.0.2.2"]
    assert up["is_up"]
    assert up["is_enabled"]
    assert up["remote_as"] == up["local_as"] == 64496
    assert up["remote_id"] == "192.0.2.2"
    assert up["description"] == "ibgp-r2"
    assert up["uptime"] >= 0
    assert up["address_family"]["ipv4"] == {
        "received_prefixes": 1,
        "accepted_prefixes": 1,
        "sent_prefixes": 1,
    }
    assert set(peers["2001:db8::2"]["address_family"]) == {"ipv6"}
    shut = peers["203.0.113.98"]
    assert not shut["is_enabled"]
    assert not shut["is_up"]
    assert shut["uptime"] == -1
    never = peers["203.0.113.99"]
    assert never["is_enabled"]
    assert not never["is_up"]
    assert never["description"] == "never-up"
    assert never["remote_id"] == "0.0.0.0"
    assert bgp["blue"]["peers"]["203.0.113.50"]["description"] == "customer-blue"


def test_lldp_neighbors(r1: ReplayDriver) -> None:
    # lldpd sends the MAC address as port id and the interface name as description.
    assert r1.get_lldp_neighbors() == {
        "eth1": [{"hostname": "r2", "port": "eth2"}],
        "eth2": [{"hostname": "r3", "port": "eth1"}],
    }


def test_lldp_without_neighbours_is_empty() -> None:
    driver = replay_driver("r2-no-lldp-neighbour")
    driver.open()
    assert driver.get_lldp_neighbors() == {}


def test_running_config_is_a_document_with_both_sections(r1: ReplayDriver) -> None:
    running = r1.get_config(retrieve="running")

    assert running["startup"] == running["candidate"] == ""
    kernel, frr = running["running"].split("! section: frr\n")
    assert kernel == (
        "! section: kernel\n"
        "link br100 type bridge mtu 1500\n"
        "link vx100 type vxlan id 100 local 192.0.2.1 remote 192.0.2.2 dstport 4789 nolearning"
        " master br100 mtu 1500\n"
        "port eth3 master br100\n"
    )
    assert frr.startswith("!\nfrr version 8.4.4\n")
    assert "Building configuration" not in frr


def test_startup_config_is_the_saved_kernel_section_and_frr_conf(r1: ReplayDriver) -> None:
    startup = r1.get_config(retrieve="startup")["startup"]

    assert startup.startswith("! section: kernel\nlink br100 type bridge mtu 1500\n")
    assert "! section: frr\nfrr version 8.4.4\n" in startup


def test_startup_config_without_saved_kernel_section_is_frr_only() -> None:
    driver = replay_driver("r2")
    driver.open()
    startup = driver.get_config(retrieve="startup")["startup"]
    assert startup.startswith("! section: frr\n")


def test_sanitized_config_hides_secrets(r1: ReplayDriver) -> None:
    plain = r1.get_config(retrieve="running")["running"]
    sanitized = r1.get_config(retrieve="running", sanitized=True)["running"]

    assert "s3cret" in plain
    assert "k3y" in plain
    assert "s3cret" not in sanitized
    assert "k3y" not in sanitized
    assert " neighbor 203.0.113.99 password <removed>\n" in sanitized
    assert " area-password md5 <removed>\n" in sanitized


def test_get_config_refuses_an_unknown_store(r1: ReplayDriver) -> None:
    with pytest.raises(ValueError, match="retrieve: 'saved' is not one of"):
        r1.get_config(retrieve="saved")


def test_stopped_frr_is_a_connection_error_that_says_so() -> None:
    driver = replay_driver("r3-frr-stopped")
    with pytest.raises(ConnectionException, match=r"FRR is not running \(pathspace glx-r3\)"):
        driver.open()
    assert driver.is_alive() == {"is_alive": False}


def test_kernel_state_from_recorded_links() -> None:
    state = parse_kernel_state(parsers.parse_links(recorded_text("r1", "13-ip-j-d-link-show")))

    assert state.objects == {
        "br100": Bridge("br100", mtu=1500),
        "vx100": Vxlan(
            "vx100",
            vni=100,
            local="192.0.2.1",
            remote="192.0.2.2",
            learning=False,
            master="br100",
            mtu=1500,
        ),
        "eth3": Port("eth3", master="br100"),
    }
    assert {"lo", "eth1", "mgmt0"} <= state.links


def test_frr_reload_diff_is_kept_without_surrounding_blank_lines() -> None:
    raw = (RECORDED / "config-r1" / "frr-reload-test.txt").read_text()
    diff = frrconfig.clean_reload_diff(raw)

    assert diff.startswith("Lines To Delete\n")
    assert " no neighbor 192.0.2.2 description ibgp-r2\n" in diff
    assert " neighbor 192.0.2.2 description ibgp-r2-renamed\n" in diff
    assert frrconfig.clean_reload_diff("\n\n") == ""


def test_vtysh_syntax_errors_are_renumbered_to_the_document() -> None:
    raw = (RECORDED / "config-r1" / "vtysh-check-stderr.txt").read_text()
    message = frrconfig.renumber_vtysh_errors(raw, first_line=10)

    assert "line 12: % Unknown command[25]:  bogus command here" in message
    assert "line 15: % Unknown command[17]:  ip adress 192.0.2.1/24" in message


def test_unreadable_output_names_the_router_and_the_command() -> None:
    with pytest.raises(ValueError, match="show bgp vrf all summary json: not JSON"):
        parsers.parse_bgp_neighbors("% BGP instance not found", "{}")


MODULES = [
    "gigalis_nms.devices.payloads",
    *(
        f"gigalis_nms.devices.frr.{path.stem}"
        for path in sorted(Path(parsers.__file__).parent.glob("*.py"))
        if path.stem != "__init__"
    ),
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


def test_isis_neighbors_by_interface() -> None:
    # Recorded on a Gigalis lab router (FRR 8.4): five IS-IS circuits, two with an adjacency.
    text = (RECORDED / "isis" / "nte1-cr1-show-isis-neighbor-json.txt").read_text()
    assert parsers.parse_isis_neighbors(text) == {
        "eth3": [{"system": "cho1-cr1", "level": 2, "state": "Up", "is_up": True}],
        "eth4": [{"system": "nte1-cr2", "level": 2, "state": "Up", "is_up": True}],
    }


def test_isis_neighbors_without_isis_is_empty() -> None:
    assert parsers.parse_isis_neighbors("") == {}
    assert parsers.parse_isis_neighbors('{"areas": []}') == {}


def test_isis_neighbors_not_up() -> None:
    text = (
        '{"areas":[{"area":"A","circuits":[{"circuit":0,"adj":"r2","interface":"eth1",'
        '"level":2,"state":"Initializing"}]}]}'
    )
    assert parsers.parse_isis_neighbors(text) == {
        "eth1": [{"system": "r2", "level": 2, "state": "Initializing", "is_up": False}]
    }
