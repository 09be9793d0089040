"""What to build for a lab, decided from the inventory alone: no command runs here, so the
whole plan is tested without root (tests/unit/test_lab_plan.py).

A lab is the routers of some sites. Each router is a network namespace; each backbone link
with both ends in the lab is a veth pair; each port handing off to an operator is a veth to
that operator's CPE namespace at the site; every other port exists but is plugged into
nothing (a TAP device nobody opens: the kernel here has no dummy interfaces).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.lab.layout import RuntimeLayout
from gigalis_nms.lab.names import (
    cpe_ifnames,
    cpe_netns,
    linux_port_names,
    management_veth,
    operator_of,
    router_netns,
)
from gigalis_nms.lab.network import BackboneLink, Network, Port, Router
from gigalis_nms.lab.state import LabCpe, LabCpePort, LabLink, LabRouter, LabState
from gigalis_nms.provisioning.addressing import DEFAULT_IGP_METRIC, AddressPlan, plan_addresses
from gigalis_nms.provisioning.baseconfig import (
    GIGALIS_ASN,
    BaseConfig,
    BgpConfig,
    InterfaceConfig,
)
from gigalis_nms.provisioning.ibgp import IbgpPeers, plan_ibgp

# Six sites, nine FRR routers, several rings through Nantes and Cholet.
DEFAULT_SITES = ("NTE1", "CHO1", "CLI1", "LRY1", "MTG1", "LHB1")
ALL_SITES = "all"
SSH_USER = "root"
MANAGEMENT_NETWORK = ipaddress.IPv4Network("198.51.100.0/24")
MANAGEMENT_GATEWAY = "198.51.100.1"  # the gl-mgmt bridge in the root namespace


class PortKind(StrEnum):
    BACKBONE = "backbone"  # a veth to the router at the other end of a lab link
    UNWIRED = "unwired"  # a backbone port whose far end is outside the lab: unplugged
    HANDOFF = "handoff"  # a veth to an operator's CPE namespace
    SPARE = "spare"  # a customer port nothing is attached to


@dataclass(frozen=True)
class PortPlan:
    inventory_name: str
    linux_name: str
    kind: PortKind
    enabled: bool
    operator: str | None = None  # hand-offs only


@dataclass(frozen=True)
class RouterPlan:
    lab: LabRouter
    management_veth: str  # root side, on the gl-mgmt bridge
    ports: tuple[PortPlan, ...]  # every port but the loopback, in inventory order
    config: BaseConfig


@dataclass(frozen=True)
class LabPlan:
    state: LabState
    routers: tuple[RouterPlan, ...]

    @property
    def namespaces(self) -> list[str]:
        return [r.lab.netns for r in self.routers] + [cpe.namespace for cpe in self.state.cpes]


def plan_lab(network: Network, sites: Sequence[str] | None, runtime_dir: Path) -> LabPlan:
    """The lab of ``sites`` (None: the default lab; ["all"]: the whole network)."""
    chosen = resolve_sites(network, sites)
    routers = sorted(
        (router for router in network.routers if router.site in chosen),
        key=lambda router: router.hostname,
    )
    _check_management(routers)
    wiring = _Wiring(network, plan_addresses(network), routers)
    layout = RuntimeLayout(runtime_dir)
    router_plans = tuple(_router_plan(router, wiring, layout) for router in routers)
    metrics = {link.code: link.igp_metric for link in wiring.lab_links}
    peers = plan_ibgp(routers, wiring.links_in_lab, metrics)
    router_plans = tuple(_with_bgp(plan, peers[plan.lab.hostname], wiring) for plan in router_plans)
    state = LabState(
        runtime_dir=str(runtime_dir),
        sites=tuple(sorted(chosen)),
        ssh_user=SSH_USER,
        ssh_key_file=str(layout.client_key),
        known_hosts_file=str(layout.known_hosts),
        routers=tuple(plan.lab for plan in router_plans),
        links=wiring.lab_links,
        cpes=_plan_cpes(router_plans),
    )
    return LabPlan(state, router_plans)


def resolve_sites(network: Network, sites: Sequence[str] | None) -> set[str]:
    """Site codes of the lab; an unknown code or a site without a router is refused, and
    every such code is named at once."""
    with_routers = {router.site for router in network.routers}
    if not with_routers:
        raise InvalidInput.of(
            "sites", "the database holds no router: load one with `gigalis inventory load`"
        )
    if sites is None:
        wanted = list(DEFAULT_SITES)
    elif [code.strip().lower() for code in sites] == [ALL_SITES]:
        return with_routers
    else:
        wanted = [code.strip().upper() for code in sites if code.strip()]
    if not wanted:
        raise InvalidInput.of("sites", "no site given")
    problems = [
        FieldProblem("sites", f"unknown site code {code!r}")
        for code in wanted
        if code not in network.sites
    ] + [
        FieldProblem("sites", f"site {code!r} has no router")
        for code in wanted
        if code in network.sites and code not in with_routers
    ]
    if problems:
        raise InvalidInput(str(problems[0]), problems)
    return set(wanted)


def _check_management(routers: Sequence[Router]) -> None:
    problems = []
    seen: dict[str, str] = {}
    for router in routers:
        address = router.management_address
        if address is None:
            reason = "has no management_address; the lab reaches routers through it"
        elif ipaddress.ip_address(address) not in MANAGEMENT_NETWORK:
            reason = f"management_address {address} is outside {MANAGEMENT_NETWORK}"
        elif address == MANAGEMENT_GATEWAY:
            reason = f"management_address {address} is the lab's own, on gl-mgmt"
        elif address in seen:
            reason = f"management_address {address} is also {seen[address]}'s"
        else:
            seen[address] = router.hostname
            continue
        problems.append(FieldProblem("devices", f"{router.hostname} {reason}"))
    if problems:
        raise InvalidInput(str(problems[0]), problems)


class _Wiring:
    """Which port ends which link, over the whole network and inside the lab."""

    def __init__(self, network: Network, addresses: AddressPlan, routers: list[Router]) -> None:
        self.network = network
        self.addresses = addresses
        self.port_names = {r.hostname: linux_port_names(r.platform, r.ports) for r in routers}
        self.ends: dict[tuple[str, str], BackboneLink] = {}
        for link in network.links:
            self.ends[link.a_host, link.a_port] = link
            self.ends[link.z_host, link.z_port] = link
        self.links_in_lab = [
            link
            for link in network.links
            if link.a_host in self.port_names and link.z_host in self.port_names
        ]
        self.lab_links = tuple(self._lab_link(link) for link in self.links_in_lab)
        self.lab_codes = {link.code for link in self.links_in_lab}

    def _lab_link(self, link: BackboneLink) -> LabLink:
        return LabLink(
            code=link.code,
            a_host=link.a_host,
            a_port=self.port_names[link.a_host][link.a_port],
            z_host=link.z_host,
            z_port=self.port_names[link.z_host][link.z_port],
            a_address=self.addresses.links[link.code].a,
            z_address=self.addresses.links[link.code].z,
            igp_metric=link.igp_metric or DEFAULT_IGP_METRIC,
            enabled=self.port(link.a_host, link.a_port).enabled
            and self.port(link.z_host, link.z_port).enabled,
        )

    def port(self, hostname: str, name: str) -> Port:
        return next(port for port in self.network.router(hostname).ports if port.name == name)

    def port_plan(self, router: Router, port: Port) -> PortPlan:
        linux_name = self.port_names[router.hostname][port.name]
        link = self.ends.get((router.hostname, port.name))
        if link is not None:
            kind = PortKind.BACKBONE if link.code in self.lab_codes else PortKind.UNWIRED
            return PortPlan(port.name, linux_name, kind, port.enabled)
        operator = operator_of(port.description, self.network.operator_codes)
        kind = PortKind.HANDOFF if operator else PortKind.SPARE
        return PortPlan(port.name, linux_name, kind, port.enabled, operator)

    def interface_config(self, router: Router, port: Port) -> InterfaceConfig:
        """Backbone ports carry their address and IS-IS metric whether or not the far end is
        in the lab: a router's configuration does not depend on which lab it is in."""
        name = self.port_names[router.hostname][port.name]
        link = self.ends.get((router.hostname, port.name))
        if link is None:
            return InterfaceConfig(name, port.description, port.enabled)
        ends = self.addresses.links[link.code]
        is_a = (link.a_host, link.a_port) == (router.hostname, port.name)
        return InterfaceConfig(
            name,
            port.description,
            port.enabled,
            ipv4=ends.a if is_a else ends.z,
            isis_metric=link.igp_metric or DEFAULT_IGP_METRIC,
        )


def _router_plan(router: Router, wiring: _Wiring, layout: RuntimeLayout) -> RouterPlan:
    hostname = router.hostname
    ports = tuple(wiring.port_plan(router, port) for port in router.ports if not port.is_loopback)
    addresses = wiring.addresses
    lab = LabRouter(
        hostname=hostname,
        site=router.site,
        platform=router.platform,
        netns=router_netns(hostname),
        uts_file=str(layout.uts_file(hostname)),
        management_address=str(router.management_address),
        loopback_ipv4=addresses.loopback_ipv4(hostname),
        loopback_ipv6=addresses.loopback_ipv6(hostname),
        lldpd_socket=str(layout.lldpd_socket(hostname)),
        device_state_dir=str(layout.device_state_dir(hostname)),
        backbone_ports=tuple(p.linux_name for p in ports if p.kind is PortKind.BACKBONE),
        customer_ports=tuple(
            p.linux_name for p in ports if p.kind in (PortKind.HANDOFF, PortKind.SPARE)
        ),
        port_names=wiring.port_names[hostname],
    )
    config = BaseConfig(
        hostname=hostname,
        loopback_ipv4=lab.loopback_ipv4,
        loopback_ipv6=lab.loopback_ipv6,
        isis_net=addresses.isis_net(hostname),
        interfaces=tuple(
            wiring.interface_config(router, port) for port in router.ports if not port.is_loopback
        ),
        bgp=BgpConfig(GIGALIS_ASN, (), ()),  # peers are known once every router is planned
    )
    number = addresses.device_numbers[hostname]
    return RouterPlan(lab, management_veth(hostname, number), ports, config)


def _with_bgp(plan: RouterPlan, peers: IbgpPeers, wiring: _Wiring) -> RouterPlan:
    loopback = wiring.addresses.loopback_ipv4
    bgp = BgpConfig(
        GIGALIS_ASN,
        reflector_peers=tuple(loopback(hostname) for hostname in peers.reflectors),
        client_peers=tuple(loopback(hostname) for hostname in peers.clients),
    )
    return replace(plan, config=replace(plan.config, bgp=bgp))


def _plan_cpes(routers: Sequence[RouterPlan]) -> tuple[LabCpe, ...]:
    """One CPE namespace per (site, operator), holding the far end of each of that
    operator's hand-off ports at the site."""
    handoffs: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for router in routers:
        for port in router.ports:
            if port.kind is PortKind.HANDOFF and port.operator:
                handoffs[router.lab.site, port.operator].append(
                    (router.lab.hostname, port.linux_name)
                )
    cpes = []
    for (site, operator), ports in sorted(handoffs.items()):
        names = cpe_ifnames(ports)
        cpe_ports = tuple(
            LabCpePort(hostname, linux_port, name)
            for (hostname, linux_port), name in zip(ports, names, strict=True)
        )
        cpes.append(LabCpe(cpe_netns(site, operator), operator, site, cpe_ports))
    return tuple(cpes)
