"""Pure functions from what the router printed to NAPALM's typed getter payloads.

Nothing here runs a command: each function takes the raw text of one command, so the unit
tests replay outputs recorded on real FRR routers. Structured output (``ip -j``, vtysh's
``json``, ``lldpcli -f json0``) is used wherever the tool offers it.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypedDict

from napalm.base import helpers, models

# napalm calls the default routing table "global"; FRR calls it "default".
_DEFAULT_VRF = "default"
_NAPALM_DEFAULT_VRF = "global"
_ESTABLISHED = "Established"

_FAMILIES = {
    "ipv4Unicast": "ipv4",
    "ipv6Unicast": "ipv6",
    "ipv4Multicast": "ipv4_multicast",
    "ipv6Multicast": "ipv6_multicast",
    "ipv4LabeledUnicast": "ipv4_labeled_unicast",
    "ipv6LabeledUnicast": "ipv6_labeled_unicast",
    "ipv4Vpn": "ipv4_vpn",
    "ipv6Vpn": "ipv6_vpn",
    "ipv4Flowspec": "ipv4_flowspec",
    "ipv6Flowspec": "ipv6_flowspec",
    "l2VpnEvpn": "l2vpn_evpn",
}
_VERSION_LINE = re.compile(r"^FRRouting (?P<version>\S+) \((?P<hostname>[^)]*)\)")
_RUNNING_HEADER = ("Building configuration...", "Current configuration:")


def load_json(text: str, what: str) -> Any:
    """JSON from a tool, or a ValueError that says which tool printed something else."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        start = text.strip()[:80]
        raise ValueError(f"{what}: not JSON ({error.msg}); output starts {start!r}") from error


def parse_show_version(text: str) -> tuple[str, str]:
    """FRR's version and the host name it runs under, from ``show version``.

    >>> parse_show_version("FRRouting 8.4.4 (r1) on Linux(6.1.0).\\nCopyright ...")
    ('8.4.4', 'r1')
    """
    for line in text.splitlines():
        match = _VERSION_LINE.match(line.strip())
        if match:
            return match["version"], match["hostname"]
    raise ValueError(f"show version: no 'FRRouting <version> (<host>)' line in {text[:80]!r}")


def parse_uptime(text: str) -> float:
    """Seconds since boot, the first number of ``/proc/uptime``.

    >>> parse_uptime("12345.67 23456.78\\n")
    12345.67
    """
    try:
        return float(text.split(maxsplit=1)[0])
    except (IndexError, ValueError) as error:
        raise ValueError(f"/proc/uptime: unexpected content {text[:40]!r}") from error


def fqdn_of(hostname: str, nodename: str) -> str:
    """The fully qualified name when the kernel's node name carries one, without asking DNS.

    >>> fqdn_of("r1", "r1.pdl.gigalis.example")
    'r1.pdl.gigalis.example'
    >>> fqdn_of("r1", "r1")
    'r1'
    """
    if nodename.startswith(f"{hostname}."):
        return nodename
    return hostname


def parse_links(text: str) -> list[dict[str, Any]]:
    """The link list of ``ip -j link show``."""
    links = load_json(text, "ip link")
    if not isinstance(links, list):
        raise ValueError("ip link: expected a JSON list of links")
    return links


def interface_names(links: list[dict[str, Any]]) -> list[str]:
    return sorted(link["ifname"] for link in links)


def parse_frr_descriptions(text: str) -> dict[str, str]:
    """Interface descriptions configured in FRR, from ``show interface json``."""
    interfaces = load_json(text, "show interface json")
    return {
        name: details["description"]
        for name, details in interfaces.items()
        if isinstance(details, dict) and details.get("description")
    }


def parse_link_speeds(text: str) -> dict[str, float]:
    """Speeds in Mbit/s from ``grep -H '' /sys/class/net/*/speed``; the kernel writes -1 for a
    link that does not know its speed, and we keep that.

    >>> parse_link_speeds("/sys/class/net/eth1/speed:10000\\n/sys/class/net/eth2/speed:-1\\n")
    {'eth1': 10000.0, 'eth2': -1.0}
    """
    speeds: dict[str, float] = {}
    for line in text.splitlines():
        path, _, value = line.partition(":")
        parts = path.split("/")
        if len(parts) == 6 and parts[-1] == "speed":
            try:
                speeds[parts[-2]] = float(int(value))
            except ValueError:
                continue
    return speeds


def _mac(link: dict[str, Any]) -> str:
    # Point-to-point and tunnel links have no Ethernet address (or an IPv4 one as "address").
    address = link.get("address", "")
    if link.get("link_type") not in ("ether", "loopback") or not address:
        return ""
    return helpers.mac(address)


def interfaces_from_links(
    links: list[dict[str, Any]], descriptions: dict[str, str], speeds: dict[str, float]
) -> dict[str, models.InterfaceDict]:
    """``get_interfaces`` from ``ip -j -d -s link``, FRR's descriptions and sysfs speeds.

    A description configured in FRR wins over the kernel's interface alias: FRR's is the one
    the provisioning templates write.
    """
    interfaces: dict[str, models.InterfaceDict] = {}
    for link in links:
        name = link["ifname"]
        flags = link.get("flags", [])
        is_enabled = "UP" in flags
        interfaces[name] = {
            "is_up": is_enabled and "LOWER_UP" in flags,
            "is_enabled": is_enabled,
            "description": descriptions.get(name) or link.get("ifalias", ""),
            # The kernel does not keep the time of the last carrier change.
            "last_flapped": -1.0,
            "mtu": int(link["mtu"]),
            "speed": speeds.get(name, -1.0),
            "mac_address": _mac(link),
        }
    return interfaces


def counters_from_links(links: list[dict[str, Any]]) -> dict[str, models.InterfaceCounterDict]:
    """``get_interfaces_counters`` from the ``stats64`` of ``ip -j -s link``.

    Linux counts received multicast but neither broadcast nor transmitted multicast: those
    three are -1 (unknown), and transmitted unicast is every transmitted packet. A monitor
    must treat -1 as "not counted", never as a counter reset.
    """
    counters: dict[str, models.InterfaceCounterDict] = {}
    for link in links:
        stats = link.get("stats64")
        if not stats:
            continue
        rx, tx = stats["rx"], stats["tx"]
        counters[link["ifname"]] = {
            "tx_errors": int(tx["errors"]),
            "rx_errors": int(rx["errors"]),
            "tx_discards": int(tx["dropped"]),
            "rx_discards": int(rx["dropped"]),
            "tx_octets": int(tx["bytes"]),
            "rx_octets": int(rx["bytes"]),
            "tx_unicast_packets": int(tx["packets"]),
            "rx_unicast_packets": int(rx["packets"]) - int(rx.get("multicast", 0)),
            "tx_multicast_packets": -1,
            "rx_multicast_packets": int(rx.get("multicast", 0)),
            "tx_broadcast_packets": -1,
            "rx_broadcast_packets": -1,
        }
    return counters


def parse_interfaces_ip(text: str) -> dict[str, models.InterfacesIPDict]:
    """``get_interfaces_ip`` from ``ip -j addr show``; interfaces without an address are left
    out, as NAPALM's other drivers do."""
    result: dict[str, models.InterfacesIPDict] = {}
    for link in parse_links(text):
        entry: models.InterfacesIPDict = {}
        for address in link.get("addr_info", []):
            family = {"inet": "ipv4", "inet6": "ipv6"}.get(address.get("family", ""))
            if family is None or "local" not in address:
                continue
            prefixes = entry.setdefault(family, {})  # type: ignore[misc]
            prefixes[address["local"]] = {"prefix_length": int(address["prefixlen"])}
        if entry:
            result[link["ifname"]] = entry
    return result


def _address_family(frr_name: str) -> str:
    """NAPALM's family names: ``ipv4Unicast`` → ``ipv4``; the others in snake case.

    >>> _address_family("ipv6Unicast"), _address_family("l2VpnEvpn")
    ('ipv6', 'l2vpn_evpn')
    """
    return _FAMILIES.get(frr_name, frr_name.lower())


def _summary_prefixes(summary: dict[str, Any]) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(vrf, peer, family) → (received, sent) prefixes from ``show bgp vrf all summary json``."""
    counts: dict[tuple[str, str, str], tuple[int, int]] = {}
    for vrf, families in summary.items():
        for family, section in families.items():
            if not isinstance(section, dict):
                continue
            for peer, details in section.get("peers", {}).items():
                key = (vrf, peer, _address_family(family))
                counts[key] = (int(details.get("pfxRcd", 0)), int(details.get("pfxSnt", 0)))
    return counts


def _router_ids(summary: dict[str, Any]) -> dict[str, str]:
    router_ids: dict[str, str] = {}
    for vrf, families in summary.items():
        for section in families.values():
            if isinstance(section, dict) and "routerId" in section:
                router_ids.setdefault(vrf, section["routerId"])
    return router_ids


def _peer(
    vrf: str, address: str, details: dict[str, Any], prefixes: dict[tuple[str, str, str], Any]
) -> models.BGPStateNeighborDict:
    is_up = details.get("bgpState") == _ESTABLISHED
    families: dict[str, models.BGPStateAddressFamilyDict] = {}
    for frr_family, info in details.get("addressFamilyInfo", {}).items():
        family = _address_family(frr_family)
        received, sent = prefixes.get((vrf, address, family), (0, 0))
        families[family] = {
            "received_prefixes": received,
            "accepted_prefixes": int(info.get("acceptedPrefixCounter", 0)),
            "sent_prefixes": int(info.get("sentPrefixCounter", sent)),
        }
    return {
        "local_as": int(details.get("localAs", 0)),
        "remote_as": int(details.get("remoteAs", 0)),
        "remote_id": details.get("remoteRouterId", "0.0.0.0"),
        "is_up": is_up,
        "is_enabled": not details.get("adminShutDown", False),
        "description": details.get("nbrDesc", ""),
        # FRR reports no uptime for a session that is not established: -1 says "none".
        "uptime": int(details["bgpTimerUpMsec"]) // 1000 if is_up else -1,
        "address_family": families,
    }


def parse_bgp_neighbors(
    summary_text: str, neighbors_text: str
) -> dict[str, models.BGPStateNeighborsPerVRFDict]:
    """``get_bgp_neighbors`` from ``show bgp vrf all summary json`` (router ids, prefixes
    received) and ``show bgp vrf all neighbors json`` (everything about each peer)."""
    summary = load_json(summary_text, "show bgp vrf all summary json")
    neighbors = load_json(neighbors_text, "show bgp vrf all neighbors json")
    prefixes = _summary_prefixes(summary)
    router_ids = _router_ids(summary)
    result: dict[str, models.BGPStateNeighborsPerVRFDict] = {}
    for vrf, entries in neighbors.items():
        peers = {
            address: _peer(vrf, address, details, prefixes)
            for address, details in entries.items()
            if isinstance(details, dict)
        }
        name = _NAPALM_DEFAULT_VRF if vrf == _DEFAULT_VRF else vrf
        result[name] = {"router_id": router_ids.get(vrf, ""), "peers": peers}
    return result


def _first_value(items: list[dict[str, Any]] | None, default: str = "") -> str:
    return str(items[0].get("value", default)) if items else default


def _remote_port(port: dict[str, Any]) -> str:
    """The neighbour's port name: its id when that is a name, else its description (lldpd
    sends the MAC address as port id by default, and the interface name as description)."""
    port_id = (port.get("id") or [{}])[0]
    if port_id.get("type") in ("ifname", "local") or not port.get("descr"):
        return str(port_id.get("value", ""))
    return _first_value(port.get("descr"))


def parse_lldp_neighbors(text: str) -> dict[str, list[models.LLDPNeighborDict]]:
    """``get_lldp_neighbors`` from ``lldpcli -f json0 show neighbors``."""
    document = load_json(text, "lldpcli show neighbors")
    neighbors: dict[str, list[models.LLDPNeighborDict]] = {}
    for section in document.get("lldp", []):
        for interface in section.get("interface", []):
            chassis = (interface.get("chassis") or [{}])[0]
            port = (interface.get("port") or [{}])[0]
            neighbors.setdefault(interface["name"], []).append(
                {"hostname": _first_value(chassis.get("name")), "port": _remote_port(port)}
            )
    return neighbors


class IsisNeighbor(TypedDict):
    """One IS-IS adjacency as ``get_isis_neighbors`` reports it (NAPALM has no IS-IS getter:
    this one follows the shape of its LLDP getter, neighbours by local interface)."""

    system: str  # the neighbour's system name (its hostname on the Gigalis backbone)
    level: int
    state: str  # FRR's word: Up, Initializing, Down
    is_up: bool


def parse_isis_neighbors(text: str) -> dict[str, list[IsisNeighbor]]:
    """``get_isis_neighbors`` from ``show isis neighbor json``: FRR lists one entry per IS-IS
    circuit, those without an adjacency carrying no ``adj``; a router without IS-IS prints
    nothing at all."""
    if not text.strip():
        return {}
    document = load_json(text, "show isis neighbor json")
    neighbors: dict[str, list[IsisNeighbor]] = {}
    for area in document.get("areas", []):
        for circuit in area.get("circuits", []):
            if "adj" not in circuit:
                continue
            state = str(circuit.get("state", ""))
            neighbors.setdefault(str(circuit["interface"]), []).append(
                {
                    "system": str(circuit["adj"]),
                    "level": int(circuit.get("level", 0)),
                    "state": state,
                    "is_up": state.lower() == "up",
                }
            )
    return neighbors


def strip_running_config_header(text: str) -> str:
    """FRR's running configuration without vtysh's banner, which is not configuration (fed
    back to vtysh, it is refused as unknown commands)."""
    lines = text.splitlines()
    while lines and (not lines[0].strip() or lines[0].strip() in _RUNNING_HEADER):
        lines.pop(0)
    return "\n".join(lines) + "\n"
