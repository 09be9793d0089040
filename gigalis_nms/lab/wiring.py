"""The lab's namespaces and cabling as ``ip -batch`` lines, computed from the plan: one
``ip`` process creates every namespace, one every veth pair, and one per namespace sets its
ports up, instead of one process per command (hundreds for the whole network).

A veth is created with each end directly in its namespace, so its names (eth1 on both
sides of most links) never meet in the root namespace.
"""

from __future__ import annotations

from gigalis_nms.lab.names import MANAGEMENT_BRIDGE, MANAGEMENT_PORT
from gigalis_nms.lab.plan import (
    MANAGEMENT_GATEWAY,
    MANAGEMENT_NETWORK,
    LabPlan,
    PortKind,
    RouterPlan,
)
from gigalis_nms.lab.state import LabCpe

# Ports that exist but are plugged into nothing: a TAP device nobody opens has no carrier,
# like an empty optic. (Dummy interfaces would do too, but this kernel has none.)
UNPLUGGED = (PortKind.SPARE, PortKind.UNWIRED)


def namespace_lines(plan: LabPlan) -> list[str]:
    return [f"netns add {netns}" for netns in plan.namespaces]


def root_lines(plan: LabPlan) -> list[str]:
    """The management bridge, each router's management link, each backbone link and each
    hand-off to a CPE."""
    prefix = MANAGEMENT_NETWORK.prefixlen
    lines = [
        f"link add {MANAGEMENT_BRIDGE} type bridge",
        f"addr add {MANAGEMENT_GATEWAY}/{prefix} dev {MANAGEMENT_BRIDGE}",
        f"link set {MANAGEMENT_BRIDGE} up",
    ]
    for router in plan.routers:
        veth, netns = router.management_veth, router.lab.netns
        lines += [
            f"link add {veth} type veth peer name {MANAGEMENT_PORT} netns {netns}",
            f"link set {veth} master {MANAGEMENT_BRIDGE} up",
        ]
    netns_of = {router.lab.hostname: router.lab.netns for router in plan.routers}
    for link in plan.state.links:
        lines.append(
            f"link add {link.a_port} netns {netns_of[link.a_host]} type veth"
            f" peer name {link.z_port} netns {netns_of[link.z_host]}"
        )
    for cpe in plan.state.cpes:
        for port in cpe.ports:
            lines.append(
                f"link add {port.router_port} netns {netns_of[port.router]} type veth"
                f" peer name {port.cpe_ifname} netns {cpe.namespace}"
            )
    return lines


def router_lines(router: RouterPlan) -> list[str]:
    """Inside one router: unplugged ports, link states from the inventory, the management
    address. Loopback and backbone addresses are FRR's (frr.conf), as in production."""
    lines = ["link set lo up"]
    for port in router.ports:
        if port.kind in UNPLUGGED:
            lines.append(f"tuntap add dev {port.linux_name} mode tap")
        lines.append(f"link set {port.linux_name} {'up' if port.enabled else 'down'}")
    prefix = MANAGEMENT_NETWORK.prefixlen
    lines += [
        f"addr add {router.lab.management_address}/{prefix} dev {MANAGEMENT_PORT}",
        f"link set {MANAGEMENT_PORT} up",
    ]
    return lines


def cpe_lines(cpe: LabCpe, inventory_names: dict[tuple[str, str], str]) -> list[str]:
    """Inside one CPE: its ports up, each aliased "<router> <inventory port>" since its own
    name is short."""
    lines = ["link set lo up"]
    for port in cpe.ports:
        inventory_port = inventory_names[port.router, port.router_port]
        lines += [
            f'link set {port.cpe_ifname} alias "{port.router} {inventory_port}"',
            f"link set {port.cpe_ifname} up",
        ]
    return lines
