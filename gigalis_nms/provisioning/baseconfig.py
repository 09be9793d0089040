"""The base configuration of a Gigalis router, before any service: hostname, loopbacks,
IS-IS level 2 on every backbone port and iBGP with route reflection. Each platform renders
it with ``provisioning/templates/<platform>/base.j2``.

The context holds only what the inventory determines (names, addresses, metrics, peers), so
that ``gigalis provision base`` renders the same text for a production router as the lab
does for its namespace, but for the port names: the lab's stand-ins carry Linux names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gigalis_nms.provisioning.addressing import DEFAULT_IGP_METRIC, AddressPlan, plan_addresses
from gigalis_nms.provisioning.ibgp import IbgpPeers, plan_ibgp

if TYPE_CHECKING:
    # Imported for their types only, as the lab imports this module.
    from gigalis_nms.lab.network import BackboneLink, Network, Port, Router

# A private AS number from the documentation range (RFC 5398): the backbone's iBGP is never
# meant to speak to the outside world.
GIGALIS_ASN = 64496


@dataclass(frozen=True)
class InterfaceConfig:
    name: str  # as the router names it
    description: str | None
    enabled: bool
    ipv4: str | None = None  # "203.0.113.0/31" on backbone ports
    isis_metric: int | None = None  # set on backbone ports only

    @property
    def backbone(self) -> bool:
        return self.isis_metric is not None


@dataclass(frozen=True)
class BgpConfig:
    asn: int
    reflector_peers: tuple[str, ...]  # loopbacks: a client's reflectors, or the other RRs
    client_peers: tuple[str, ...]  # loopbacks of a reflector's clients


@dataclass(frozen=True)
class BaseConfig:
    hostname: str
    loopback_ipv4: str
    loopback_ipv6: str
    isis_net: str
    interfaces: tuple[InterfaceConfig, ...]  # every port but the loopback, in inventory order
    bgp: BgpConfig


def plan_base_configs(network: Network) -> dict[str, BaseConfig]:
    """The base configuration of every router of ``network``, ports by their inventory names,
    iBGP planned over the whole backbone.

    The lab plans the same thing for its own routers (gigalis_nms.lab.plan), with Linux port
    names and iBGP among the routers it builds; for the whole-network lab both agree (see
    tests/unit/test_render_base.py).
    """
    addresses = plan_addresses(network)
    ends = {(link.a_host, link.a_port): link for link in network.links}
    ends.update({(link.z_host, link.z_port): link for link in network.links})
    metrics = {link.code: link.igp_metric or DEFAULT_IGP_METRIC for link in network.links}
    peers = plan_ibgp(network.routers, network.links, metrics)
    return {
        router.hostname: _base_config(router, addresses, ends, peers[router.hostname])
        for router in sorted(network.routers, key=lambda router: router.hostname)
    }


def _base_config(
    router: Router,
    addresses: AddressPlan,
    ends: dict[tuple[str, str], BackboneLink],
    peers: IbgpPeers,
) -> BaseConfig:
    hostname = router.hostname
    interfaces = tuple(
        _interface_config(router, port, addresses, ends.get((hostname, port.name)))
        for port in router.ports
        if not port.is_loopback
    )
    bgp = BgpConfig(
        GIGALIS_ASN,
        reflector_peers=tuple(addresses.loopback_ipv4(peer) for peer in peers.reflectors),
        client_peers=tuple(addresses.loopback_ipv4(peer) for peer in peers.clients),
    )
    return BaseConfig(
        hostname=hostname,
        loopback_ipv4=addresses.loopback_ipv4(hostname),
        loopback_ipv6=addresses.loopback_ipv6(hostname),
        isis_net=addresses.isis_net(hostname),
        interfaces=interfaces,
        bgp=bgp,
    )


def _interface_config(
    router: Router, port: Port, addresses: AddressPlan, link: BackboneLink | None
) -> InterfaceConfig:
    if link is None:
        return InterfaceConfig(port.name, port.description, port.enabled)
    is_a = (link.a_host, link.a_port) == (router.hostname, port.name)
    ends = addresses.links[link.code]
    return InterfaceConfig(
        port.name,
        port.description,
        port.enabled,
        ipv4=ends.a if is_a else ends.z,
        isis_metric=link.igp_metric or DEFAULT_IGP_METRIC,
    )
