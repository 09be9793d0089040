"""Every platform's templates rendered from fixed contexts and compared with the files under
tests/data/golden/<platform>/. After a deliberate change of a template, rewrite them with
``GIGALIS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_render_golden.py`` and review the
diff of the files before committing it."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from gigalis_nms.provisioning.addressing import isis_net
from gigalis_nms.provisioning.base import RouterBase
from gigalis_nms.provisioning.baseconfig import (
    GIGALIS_ASN,
    BaseConfig,
    BgpConfig,
    InterfaceConfig,
)
from gigalis_nms.provisioning.context import CustomerSide, ElineEnd
from gigalis_nms.provisioning.render import render_base, render_service, router_config

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
UPDATE_GOLDEN = "GIGALIS_UPDATE_GOLDEN"
PLATFORMS = ("frr", "junos", "eos", "iosxr")
# Per platform: two backbone ports, two customer ports, as the inventory names them.
PORTS = {
    "frr": ("eth1", "eth2", "eth10", "eth11"),
    "junos": ("et-0/0/0", "xe-0/2/0", "xe-0/1/0", "ge-1/0/1"),
    "eos": ("Ethernet1/1", "Ethernet33", "Ethernet41", "Ethernet42"),
    "iosxr": ("HundredGigE0/0/0/0", "TenGigE0/0/1/0", "TenGigE0/0/2/0", "GigabitEthernet0/0/3/0"),
}
LOOPBACK = "192.0.2.1"
FAR_LOOPBACK = "192.0.2.24"


def assert_golden(name: str, text: str) -> None:
    """``text`` equals the golden file ``name``; with GIGALIS_UPDATE_GOLDEN=1, becomes it."""
    path = GOLDEN / name
    if os.environ.get(UPDATE_GOLDEN) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.is_file(), f"{path} is missing: render it with {UPDATE_GOLDEN}=1 and review it"
    expected = path.read_text()
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), text.splitlines(), str(path), "rendered", lineterm=""
        )
        pytest.fail(f"{name} differs from its golden file:\n" + "\n".join(diff))


def base_config(platform: str, *, reflector: bool = True) -> BaseConfig:
    """A router with a working and a disabled backbone port, an operator's port and a spare
    one; a route reflector (with a peer reflector and two clients, its spare port disabled)
    or a client of two."""
    first, second, nni, spare = PORTS[platform]
    interfaces = (
        InterfaceConfig(first, "BL-AAA1-BBB1 to bbb1-cr1", True, "203.0.113.0/31", 71),
        InterfaceConfig(second, "BL-AAA1-CCC1 to ccc1-ar1", False, "203.0.113.3/31", 250),
        InterfaceConfig(nni, "NNI ORNG", True),
        InterfaceConfig(spare, "spare", not reflector),
    )
    bgp = (
        BgpConfig(GIGALIS_ASN, ("192.0.2.2",), ("192.0.2.3", "192.0.2.4"))
        if reflector
        else BgpConfig(GIGALIS_ASN, ("192.0.2.2", "192.0.2.5"), ())
    )
    return BaseConfig("aaa1-cr1", LOOPBACK, "2001:db8::1", isis_net(LOOPBACK), interfaces, bgp)


def eline(*sides: CustomerSide, ref: str = "GIG-ETH-000101", vni: int = 10001) -> ElineEnd:
    local = len(sides) > 1
    return ElineEnd(
        hostname="aaa1-cr1",
        circuit_ref=ref,
        operator="Orange Wholesale France",
        vni=vni,
        sides=sides,
        loopback=LOOPBACK,
        remote_loopbacks=() if local else (FAR_LOOPBACK,),
        bandwidth_mbps=1000,
        description="Collecte Orange Nantes – Angers",
    )


def nni(platform: str) -> str:
    return PORTS[platform][2]


def spare(platform: str) -> str:
    return PORTS[platform][3]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_base(platform: str) -> None:
    assert_golden(f"{platform}/base.conf", render_base(platform, base_config(platform)))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_eline_port_based(platform: str) -> None:
    end = eline(CustomerSide("a", nni(platform), None))
    assert_golden(f"{platform}/eline-port.conf", render_service(platform, end))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_eline_vlan_based(platform: str) -> None:
    end = eline(CustomerSide("z", nni(platform), 1101))
    assert_golden(f"{platform}/eline-vlan.conf", render_service(platform, end))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_eline_both_ends_on_one_router(platform: str) -> None:
    end = eline(CustomerSide("a", nni(platform), 1101), CustomerSide("z", spare(platform), None))
    assert_golden(f"{platform}/eline-same-device.conf", render_service(platform, end))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_intended_configuration(platform: str) -> None:
    """A route reflector client carrying three circuits: two VLAN-based on the operator's
    port, one taking the spare port whole."""
    names = {name: name for name in PORTS[platform]}
    router = RouterBase("aaa1-cr1", platform, base_config(platform, reflector=False), names)
    ends = [
        eline(CustomerSide("a", nni(platform), 1102), ref="GIG-ETH-000102", vni=10002),
        eline(CustomerSide("z", spare(platform), None), ref="GIG-ETH-000103", vni=10003),
        eline(CustomerSide("a", nni(platform), 1101)),
    ]
    assert_golden(f"{platform}/intended.conf", router_config(router, ends))
