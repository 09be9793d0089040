"""One router's intended configuration from its base and its circuits, without a database:
how FRR's document folds the circuits in, how the other platforms append them, and what two
circuits cannot share."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gigalis_nms.devices.frr.document import parse_document
from gigalis_nms.devices.frr.kernel import parse_kernel_section, render_kernel_section
from gigalis_nms.errors import Conflict, InvalidInput
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.provisioning.base import RouterBase
from gigalis_nms.provisioning.context import Attachment, CustomerSide, DesignedEline, eline_ends
from gigalis_nms.provisioning.render import render_base, render_service, router_config
from tests.unit.test_render_golden import PORTS, base_config, eline

LOOPBACKS = {"nte1-cr1": "192.0.2.35", "ang1-cr1": "192.0.2.2"}


def router(platform: str, names: dict[str, str] | None = None) -> RouterBase:
    ports = names or {name: name for name in PORTS[platform]}
    return RouterBase("aaa1-cr1", platform, base_config(platform, reflector=False), ports)


def blocks(frr: str) -> list[str]:
    """The FRR section's interface blocks, each from ``interface`` to its ``exit``."""
    found, current = [], None
    for line in frr.splitlines(keepends=True):
        if line.startswith("interface "):
            current = line
        elif current is not None:
            current += line
            if line == "exit\n":
                found.append(current)
                current = None
    return found


def test_an_frr_router_without_circuits_is_its_base_and_no_kernel_link() -> None:
    text = router_config(router("frr"), [])
    document = parse_document(text)
    assert document.kernel is not None
    assert document.kernel.text == ""  # present and empty: a replace removes old circuits
    assert document.frr is not None
    assert document.frr.text == render_base("frr", base_config("frr", reflector=False))


def test_frr_folds_each_circuit_into_the_base() -> None:
    port_based = eline(CustomerSide("z", "eth11", None), ref="GIG-ETH-000103", vni=10003)
    tagged = eline(CustomerSide("a", "eth10", 1101))
    document = parse_document(router_config(router("frr"), [port_based, tagged]))
    assert document.kernel is not None
    assert document.frr is not None
    frr = document.frr.text

    # The kernel section is the driver's own rendering: running and intended read alike.
    kernel = document.kernel.text
    assert kernel == render_kernel_section(parse_kernel_section(kernel))
    assert set(parse_kernel_section(kernel)) == {
        "br10001", "br10003", "eth10.1101", "eth11", "vx10001", "vx10003",
    }  # fmt: skip

    # One block per interface: the port taken whole carries the circuit's description
    # instead of the inventory's, and keeps its other lines.
    headers = [block.splitlines()[0] for block in blocks(frr)]
    assert len(headers) == len(set(headers))
    eth11 = next(block for block in blocks(frr) if block.startswith("interface eth11\n"))
    assert eth11 == "interface eth11\n description GIG-ETH-000103 Orange Wholesale France\nexit\n"
    assert " description NNI ORNG\n" in frr  # eth10 stays the operator's NNI

    # What each circuit's own FRR section says is in the whole document, word for word.
    for end in (port_based, tagged):
        alone = parse_document(render_service("frr", end)).frr
        assert alone is not None
        for block in blocks(alone.text):
            assert block in blocks(frr)


def test_lab_routers_get_their_linux_port_names() -> None:
    names = {name: name.replace("/", "-") for name in PORTS["junos"]}
    config = base_config("junos", reflector=False)
    linux = tuple(replace(i, name=names[i.name]) for i in config.interfaces)
    lab = RouterBase("aaa1-cr1", "frr", replace(config, interfaces=linux), names)
    text = router_config(lab, [eline(CustomerSide("a", "xe-0/1/0", 1101))])
    assert "link xe-0-1-0.1101 type vlan link xe-0-1-0 id 1101 master br10001" in text
    with pytest.raises(InvalidInput, match="interface: GIG-ETH-000101: aaa1-cr1 has no port"):
        router_config(lab, [eline(CustomerSide("a", "xe-9/9/9", 1101))])


@pytest.mark.parametrize("platform", ["junos", "eos", "iosxr"])
def test_other_platforms_append_circuits_by_reference(platform: str) -> None:
    nni, spare = PORTS[platform][2], PORTS[platform][3]
    second = eline(CustomerSide("z", spare, None), ref="GIG-ETH-000103", vni=10003)
    first = eline(CustomerSide("a", nni, 1101))
    text = router_config(router(platform), [second, first])
    base = render_base(platform, base_config(platform, reflector=False))
    base = base.replace("spare", "GIG-ETH-000103 Orange Wholesale France")
    assert text == base + render_service(platform, first) + render_service(platform, second)


@pytest.mark.parametrize("platform", ["frr", "junos", "eos", "iosxr"])
def test_what_circuits_cannot_share_is_refused(platform: str) -> None:
    nni, spare = PORTS[platform][2], PORTS[platform][3]
    whole = eline(CustomerSide("a", nni, None))
    tagged = eline(CustomerSide("a", nni, 1102), ref="GIG-ETH-000102", vni=10002)
    with pytest.raises(Conflict, match=f"{nni} is all GIG-ETH-000101's, yet GIG-ETH-000102"):
        router_config(router(platform), [whole, tagged])
    again = eline(CustomerSide("a", nni, 1101), ref="GIG-ETH-000102", vni=10002)
    with pytest.raises(Conflict, match="VLAN 1101: GIG-ETH-000101 and GIG-ETH-000102"):
        router_config(router(platform), [eline(CustomerSide("a", nni, 1101)), again])
    with pytest.raises(InvalidInput, match="aaa1-cr1 has no port"):
        router_config(router(platform), [eline(CustomerSide("a", f"{spare}9", None))])
    with pytest.raises(Conflict, match="is a backbone port"):
        router_config(router(platform), [eline(CustomerSide("a", PORTS[platform][0], 7))])


def test_eos_refuses_two_circuits_on_one_bridging_vlan() -> None:
    first = eline(CustomerSide("a", "Ethernet41", 1101))
    clash = eline(CustomerSide("a", "Ethernet42", None), ref="GIG-ETH-003901", vni=13901)
    assert first.bridge_vlan == clash.bridge_vlan == 101
    with pytest.raises(Conflict, match="would share bridging VLAN 101"):
        router_config(router("eos"), [first, clash])
    # Elsewhere VLANs belong to a port: the same two circuits are fine on Junos.
    on_junos = [
        replace(first, sides=(CustomerSide("a", "xe-0/1/0", 1101),)),
        replace(clash, sides=(CustomerSide("a", "ge-1/0/1", None),)),
    ]
    assert "vni 13901;" in router_config(router("junos"), on_junos)


def test_a_vni_beyond_route_distinguishers_is_refused_where_one_is_needed() -> None:
    big = replace(eline(CustomerSide("a", "xe-0/1/0", 1101)), vni=70000)
    with pytest.raises(InvalidInput, match="VNI 70000 does not fit a route distinguisher"):
        render_service("junos", big)
    assert "vx70000" in render_service("frr", replace(big, sides=(CustomerSide("a", "eth1", 7),)))


def designed(a_host: str, z_host: str) -> DesignedEline:
    return DesignedEline(
        circuit_id=1,
        ref="GIG-ETH-000101",
        status=CircuitStatus.ACTIVE,
        operator="Orange Wholesale France",
        vni=10001,
        a=Attachment(a_host, "eth10", 1101),
        z=Attachment(z_host, "TenGigE0/0/2/0" if z_host == "ang1-cr1" else "eth11", None),
        bandwidth_mbps=1000,
        description=None,
    )


def test_each_end_router_gets_its_side_and_the_far_vtep() -> None:
    a, z = eline_ends(designed("nte1-cr1", "ang1-cr1"), LOOPBACKS)
    assert (a.hostname, a.sides, a.loopback, a.remote_loopbacks) == (
        "nte1-cr1", (CustomerSide("a", "eth10", 1101),), "192.0.2.35", ("192.0.2.2",),
    )  # fmt: skip
    assert (z.hostname, z.sides, z.remote_loopbacks) == (
        "ang1-cr1", (CustomerSide("z", "TenGigE0/0/2/0", None),), ("192.0.2.35",),
    )  # fmt: skip
    assert not a.local_only


def test_both_ends_on_one_router_make_one_context_without_tunnel() -> None:
    (only,) = eline_ends(designed("nte1-cr1", "nte1-cr1"), LOOPBACKS)
    assert only.sides == (CustomerSide("a", "eth10", 1101), CustomerSide("z", "eth11", None))
    assert only.local_only
    assert "vxlan" not in render_service("frr", only)
