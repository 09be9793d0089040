"""The lab's plan from the real inventory, without root and without a database: which routers,
links and CPEs a lab has, their addresses and names, and the configuration FRR receives."""

from __future__ import annotations

import doctest
import ipaddress
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import networkx as nx
import pytest
import yaml

from gigalis_nms.errors import InvalidInput
from gigalis_nms.lab import names
from gigalis_nms.lab.network import BackboneLink, Network, Port, Router
from gigalis_nms.lab.plan import DEFAULT_SITES, LabPlan, PortKind, plan_lab
from gigalis_nms.lab.state import (
    BuildPhase,
    LabRecord,
    StartedProcess,
    read_lab_state,
    read_record,
    write_record,
)
from gigalis_nms.lab.wiring import root_lines, router_lines
from gigalis_nms.provisioning import addressing
from gigalis_nms.provisioning.templates import render_base

INVENTORY = Path(__file__).resolve().parents[2] / "inventory"
RUNTIME = Path("/run/gigalis-lab")


def _yaml(name: str) -> list[dict[str, Any]]:
    document = yaml.safe_load((INVENTORY / name).read_text())
    return list(document[name.removesuffix(".yaml")])


def _network() -> Network:
    """The inventory files as the lab reads them from the database."""
    routers = tuple(
        Router(
            device["hostname"],
            device["site"],
            device["role"],
            device["platform"],
            device.get("management_address"),
            tuple(
                Port(port["name"], port["type"], port.get("enabled", True), port.get("description"))
                for port in device["interfaces"]
            ),
        )
        for device in _yaml("devices.yaml")
    )
    links = tuple(
        BackboneLink(
            link["code"],
            *link["a"].split(":", 1),
            *link["z"].split(":", 1),
            link.get("igp_metric"),
        )
        for link in _yaml("links.yaml")
    )
    operators = frozenset(
        org["arcep_code"]
        for org in _yaml("organisations.yaml")
        if org["kind"] == "operator" and org.get("arcep_code")
    )
    sites = frozenset(site["code"] for site in _yaml("sites.yaml"))
    return Network(sites, routers, links, operators)


NETWORK = _network()


@pytest.fixture(scope="module")
def default_lab() -> LabPlan:
    return plan_lab(NETWORK, None, RUNTIME)


@pytest.fixture(scope="module")
def whole_lab() -> LabPlan:
    return plan_lab(NETWORK, ["all"], RUNTIME)


def test_default_lab_is_nine_frr_routers_at_six_sites(default_lab: LabPlan) -> None:
    state = default_lab.state
    assert state.sites == tuple(sorted(DEFAULT_SITES))
    assert len(state.routers) == 9
    assert {router.platform for router in state.routers} == {"frr"}
    assert [router.netns for router in state.routers][:2] == ["gl-cho1-cr1", "gl-cho1-cr2"]
    assert len(state.links) == 12


def test_default_lab_links_form_rings(default_lab: LabPlan) -> None:
    graph = nx.MultiGraph()
    graph.add_edges_from((link.a_host, link.z_host) for link in default_lab.state.links)
    assert set(graph) == {router.hostname for router in default_lab.state.routers}
    assert nx.is_connected(graph)
    # No link whose loss cuts the lab in two: every link lies on a ring.
    assert list(nx.bridges(nx.Graph(graph))) == []
    assert len(nx.cycle_basis(nx.Graph(graph))) >= 3


def test_only_links_with_both_ends_in_the_lab_are_built() -> None:
    plan = plan_lab(NETWORK, ["nte1", "CHO1"], RUNTIME)
    assert sorted(link.code for link in plan.state.links) == [
        "BL-CHO1-CR1-CR2",
        "BL-NTE1-CHO1",
        "BL-NTE1-CR1-CR2",
    ]
    nte1_cr1 = next(router for router in plan.routers if router.lab.hostname == "nte1-cr1")
    kinds = {port.linux_name: port.kind for port in nte1_cr1.ports}
    assert kinds["eth3"] is PortKind.BACKBONE  # to cho1-cr1
    assert kinds["eth1"] is PortKind.UNWIRED  # to nte2-cr1, outside this lab
    assert nte1_cr1.lab.backbone_ports == ("eth3", "eth4")
    assert "eth1" not in nte1_cr1.lab.customer_ports


def test_addresses_are_unique_and_documentation_ranges(whole_lab: LabPlan) -> None:
    routers, links = whole_lab.state.routers, whole_lab.state.links
    assert len(routers) == 45
    assert len(links) == 70
    loopbacks = [ipaddress.ip_address(r.loopback_ipv4) for r in routers]
    loopbacks6 = [ipaddress.ip_address(r.loopback_ipv6) for r in routers]
    managements = [ipaddress.ip_address(r.management_address) for r in routers]
    ends = [ipaddress.ip_interface(a) for link in links for a in (link.a_address, link.z_address)]
    for addresses in (loopbacks, loopbacks6, managements, ends):
        assert len(set(addresses)) == len(addresses)
    assert all(a in ipaddress.ip_network("192.0.2.0/24") for a in loopbacks)
    assert all(a in ipaddress.ip_network("2001:db8::/32") for a in loopbacks6)
    assert all(a in ipaddress.ip_network("198.51.100.0/24") for a in managements)
    assert all(end.network.subnet_of(ipaddress.IPv4Network("203.0.113.0/24")) for end in ends)
    for link in links:
        a, z = ipaddress.ip_interface(link.a_address), ipaddress.ip_interface(link.z_address)
        assert a.network == z.network
        assert a.network.prefixlen == 31


def test_loopbacks_follow_hostname_order_and_mirror_digits(whole_lab: LabPlan) -> None:
    first, last = whole_lab.state.routers[0], whole_lab.state.routers[-1]
    assert (first.hostname, first.loopback_ipv4, first.loopback_ipv6) == (
        "anc1-ar1",
        "192.0.2.1",
        "2001:db8::1",
    )
    assert (last.loopback_ipv4, last.loopback_ipv6) == ("192.0.2.45", "2001:db8::45")
    config = next(r.config for r in whole_lab.routers if r.lab.hostname == "anc1-ar1")
    assert config.isis_net == "49.0001.1920.0000.2001.00"


def test_addresses_are_the_same_in_every_lab(default_lab: LabPlan, whole_lab: LabPlan) -> None:
    subset = plan_lab(NETWORK, ["NTE1", "CHO1"], RUNTIME)
    for smaller in (default_lab, subset):
        for router in smaller.state.routers:
            same = whole_lab.state.router(router.hostname)
            assert (router.loopback_ipv4, router.loopback_ipv6, router.port_names) == (
                same.loopback_ipv4,
                same.loopback_ipv6,
                same.port_names,
            )
        whole_links = {link.code: link for link in whole_lab.state.links}
        for link in smaller.state.links:
            assert link == whole_links[link.code]
        # Interfaces are configured alike too: only the iBGP peers depend on the lab.
        whole_configs = {r.lab.hostname: r.config for r in whole_lab.routers}
        for router in smaller.routers:
            assert router.config.interfaces == whole_configs[router.lab.hostname].interfaces


def test_stand_in_port_names_are_linux_names(whole_lab: LabPlan) -> None:
    for router in whole_lab.state.routers:
        linux = list(router.port_names.values())
        assert len(set(linux)) == len(linux), router.hostname
        assert all(names.is_linux_ifname(name) for name in linux), router.hostname
    junos = whole_lab.state.router("nte2-cr1").port_names
    iosxr = whole_lab.state.router("ang1-cr1").port_names
    eos = whole_lab.state.router("lmn1-cr1").port_names
    assert (junos["et-0/0/0"], junos["lo0"]) == ("et-0-0-0", "lo")
    assert (iosxr["HundredGigE0/0/0/0"], iosxr["Loopback0"]) == ("hu0-0-0-0", "lo")
    assert (eos["Ethernet41"], eos["Ethernet1/1"]) == ("et41", "et1-1")
    frr = whole_lab.state.router("nte1-cr1").port_names
    assert all(name == linux for name, linux in frr.items() if name != "lo")


def test_colliding_or_long_names_fall_back_to_ranks() -> None:
    ports = [
        Port("Gi0/1", "other", True, None),
        Port("Gi0.1", "other", True, None),  # both become Gi0-1
        Port("Port-Channel-with-a-long-name", "other", True, None),
        Port("port0", "other", True, None),  # a real port already named like a fallback
    ]
    mapped = names.linux_port_names("eos", ports)
    assert len(set(mapped.values())) == 4
    assert all(names.is_linux_ifname(name) for name in mapped.values())
    assert mapped["port0"] == "port0"
    assert mapped == names.linux_port_names("eos", list(reversed(ports)))


def test_unknown_sites_are_named_and_nothing_planned() -> None:
    with pytest.raises(InvalidInput) as refused:
        plan_lab(NETWORK, ["NTE1", "XYZ9", "abc"], RUNTIME)
    assert [(p.field, p.reason) for p in refused.value.problems] == [
        ("sites", "unknown site code 'XYZ9'"),
        ("sites", "unknown site code 'ABC'"),
    ]
    assert "sites" in str(refused.value)
    assert "XYZ9" in str(refused.value)
    with pytest.raises(InvalidInput, match="sites: no site given"):
        plan_lab(NETWORK, [" "], RUNTIME)


def test_hand_offs_go_to_one_cpe_per_site_and_operator(default_lab: LabPlan) -> None:
    cpes = {cpe.namespace: cpe for cpe in default_lab.state.cpes}
    orange = cpes["gl-cpe-nte1-orng"]
    assert (orange.operator, orange.site) == ("ORNG", "NTE1")
    assert [(p.router, p.router_port, p.cpe_ifname) for p in orange.ports] == [
        ("nte1-cr1", "eth10", "cr1-eth10"),  # NNI ORNG
        ("nte1-cr1", "eth13", "cr1-eth13"),  # NNI ORNG
        ("nte1-cr2", "eth10", "cr2-eth10"),  # wavelength GIG-WAV-000001 ORNG
    ]
    handed_off = Counter(
        (router.lab.hostname, port.linux_name)
        for router in default_lab.routers
        for port in router.ports
        if port.kind is PortKind.HANDOFF
    )
    in_cpes = Counter((p.router, p.router_port) for cpe in cpes.values() for p in cpe.ports)
    assert handed_off == in_cpes
    assert all(names.is_linux_ifname(p.cpe_ifname) for cpe in cpes.values() for p in cpe.ports)
    nte1_cr2 = default_lab.state.router("nte1-cr2")
    assert nte1_cr2.customer_ports == ("eth10", "eth11", "eth12", "eth13")


def test_route_reflectors_are_the_cores_and_stay_few(whole_lab: LabPlan) -> None:
    bgp = {router.lab.hostname: router.config.bgp for router in whole_lab.routers}
    cores = {r.hostname for r in NETWORK.routers if r.role == "core"}
    sessions = set()
    for hostname, config in bgp.items():
        own = whole_lab.state.router(hostname).loopback_ipv4
        if hostname in cores:
            assert len(config.reflector_peers) == len(cores) - 1  # full mesh of reflectors
        else:
            assert len(config.reflector_peers) == 2
            assert config.client_peers == ()
        sessions |= {frozenset((own, peer)) for peer in config.reflector_peers}
    assert len(sessions) == 16 * 15 // 2 + 29 * 2
    # Each client appears among the clients of exactly the reflectors it peers with.
    for hostname, config in bgp.items():
        for reflector in config.reflector_peers:
            peer = next(r for r in whole_lab.state.routers if r.loopback_ipv4 == reflector)
            own = whole_lab.state.router(hostname).loopback_ipv4
            assert (own in bgp[peer.hostname].client_peers) == (hostname not in cores)


def test_a_lab_without_core_still_has_two_reflectors() -> None:
    plan = plan_lab(NETWORK, ["CLI1", "MTG1", "LHB1"], RUNTIME)
    reflectors = [r for r in plan.routers if r.config.bgp.client_peers]
    assert [r.lab.hostname for r in reflectors] == ["cli1-ar1", "lhb1-ar1"]


def test_base_config_renders_isis_before_interfaces(default_lab: LabPlan) -> None:
    router = next(r for r in default_lab.routers if r.lab.hostname == "nte1-cr1")
    text = render_base("frr", router.config)
    assert text.startswith("frr defaults traditional\nhostname nte1-cr1\n")
    assert "forwarding" not in text  # the host's setting, turned on by the lab (see base.j2)
    assert text.index("router isis GIGALIS") < text.index("interface eth3")
    assert " net 49.0001.1920.0000.2035.00\n" in text
    assert (
        "interface eth3\n description BL-NTE1-CHO1 to cho1-cr1\n ip address 203.0.113.104/31\n"
        " ip router isis GIGALIS\n ipv6 router isis GIGALIS\n isis circuit-type level-2-only\n"
        " isis metric 71\n isis network point-to-point\nexit\n"
    ) in text
    assert " ipv6 address 2001:db8::35/128\n" in text
    assert " neighbor 192.0.2.36 peer-group REFLECTORS\n" in text
    assert "  advertise-all-vni\n" in text
    assert text.endswith("end\n")


def test_wiring_names_fit_the_kernel(whole_lab: LabPlan) -> None:
    for line in root_lines(whole_lab):
        words = line.split()
        for keyword in ("add", "name"):
            if keyword in words and words[0] == "link":
                assert names.is_linux_ifname(words[words.index(keyword) + 1]), line
    router = next(r for r in whole_lab.routers if r.lab.hostname == "ang1-cr1")
    lines = router_lines(router)
    assert "link set hu0-0-0-0 up" in lines
    assert "addr add 198.51.100.24/24 dev mgmt0" in lines
    spares = [line for line in lines if line.startswith("tuntap add")]
    assert spares == []  # every customer port of ang1-cr1 hands off to an operator


def test_state_file_round_trip(tmp_path: Path, default_lab: LabPlan) -> None:
    plan = plan_lab(NETWORK, None, tmp_path)
    record = LabRecord(plan.state, BuildPhase.BUILDING).with_process(
        StartedProcess("sshd", "nte1-cr1", 1234, 5678)
    )
    write_record(record)
    assert read_record(tmp_path) == record
    assert read_lab_state(tmp_path) == plan.state
    assert read_lab_state(tmp_path / "none") is None
    router = plan.state.router("nte1-cr1")
    assert plan.state.napalm_optional_args(router) == {
        "transport": "ssh",
        "key_file": str(tmp_path / "ssh" / "lab_ed25519"),
        "known_hosts_file": str(tmp_path / "ssh" / "known_hosts"),
        "pathspace": "gl-nte1-cr1",
        "state_dir": str(tmp_path / "routers" / "nte1-cr1" / "state"),
        "lldpd_socket": str(tmp_path / "routers" / "nte1-cr1" / "lldpd.socket"),
    }
    assert plan.state.napalm_optional_args(router, "netns") == {
        "transport": "netns",
        "netns": "gl-nte1-cr1",
        "uts_file": str(tmp_path / "uts" / "nte1-cr1"),
        "pathspace": "gl-nte1-cr1",
        "state_dir": str(tmp_path / "routers" / "nte1-cr1" / "state"),
        "lldpd_socket": str(tmp_path / "routers" / "nte1-cr1" / "lldpd.socket"),
    }


@pytest.mark.parametrize("module", [addressing, names], ids=lambda module: module.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    failures, tried = doctest.testmod(module)
    assert tried > 0
    assert failures == 0
