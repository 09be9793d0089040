"""One poll of the routers through Nornir and NAPALM: interfaces and their counters, BGP
sessions and, where the driver has the getter, IS-IS adjacencies.

Routers are polled in parallel, each on its own NAPALM session opened for the round and
closed after it: a router that stops answering costs the round its timeout, and is reported
as unreachable with the reason, without holding a session open between rounds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from napalm.base import NetworkDriver
from nornir.core import Nornir
from nornir.core.task import Result, Task

from gigalis_nms.monitoring.derive import DeviceReading, PortReading
from gigalis_nms.provisioning.devices import NAPALM_CONNECTION

# NAPALM's interface counters, as the poller keeps them.
COUNTERS = (
    "rx_octets",
    "tx_octets",
    "rx_errors",
    "tx_errors",
    "rx_discards",
    "tx_discards",
)
ERROR_LENGTH = 500


def poll(nornir: Nornir, port_names: Mapping[str, Mapping[str, str]]) -> dict[str, DeviceReading]:
    """Hostname → what the router said. ``port_names`` maps, per router, the names the router
    gives its ports to the inventory's (the lab's stand-ins rename some); a port missing
    from it keeps its name."""
    results = nornir.run(task=_read_device, port_names=port_names, on_failed=True)
    try:
        return {hostname: _reading(hostname, result) for hostname, result in results.items()}
    finally:
        nornir.close_connections(on_good=True, on_failed=True)


def _read_device(task: Task, port_names: Mapping[str, Mapping[str, str]]) -> Result:
    started = time.perf_counter()
    device: NetworkDriver = task.host.get_connection(NAPALM_CONNECTION, task.nornir.config)
    names = port_names.get(task.host.name, {})
    reading = DeviceReading(
        hostname=task.host.name,
        reachable=True,
        ports=_ports(device.get_interfaces(), device.get_interfaces_counters(), names),
        isis=_isis(device, names),
        bgp=_bgp(device.get_bgp_neighbors()),
        seconds=time.perf_counter() - started,
    )
    return Result(host=task.host, result=reading)


def _reading(hostname: str, result: Any) -> DeviceReading:
    if not result.failed:
        reading: DeviceReading = result[0].result
        return reading
    error = result[0].exception
    text = f"{type(error).__name__}: {error}" if error is not None else str(result[0].result)
    return DeviceReading(hostname=hostname, reachable=False, error=text[:ERROR_LENGTH])


def _ports(
    interfaces: Mapping[str, Any], counters: Mapping[str, Any], names: Mapping[str, str]
) -> dict[str, PortReading]:
    ports = {}
    for name, seen in interfaces.items():
        inventory_name = names.get(name, name)
        speed = seen.get("speed")
        ports[inventory_name] = PortReading(
            name=inventory_name,
            enabled=bool(seen.get("is_enabled")),
            up=bool(seen.get("is_up")),
            # NAPALM reports Mb/s as a float, -1 (or 0) when the port cannot say.
            speed_mbps=int(speed) if isinstance(speed, int | float) and speed > 0 else None,
            counters={key: int(counters[name][key]) for key in COUNTERS if name in counters},
        )
    return ports


def _isis(
    device: NetworkDriver, names: Mapping[str, str]
) -> dict[str, list[tuple[str, bool]]] | None:
    """IS-IS adjacencies by inventory port; None when the driver has no IS-IS getter (NAPALM
    has none: the FRR driver adds one)."""
    getter = getattr(device, "get_isis_neighbors", None)
    if getter is None:
        return None
    return {
        names.get(port, port): [(neighbour["system"], neighbour["is_up"]) for neighbour in seen]
        for port, seen in getter().items()
    }


def _bgp(neighbours: Mapping[str, Any]) -> dict[str, bool]:
    """Peer → established; peers of a VRF other than the global table are named vrf/address."""
    sessions = {}
    for vrf, table in neighbours.items():
        for address, peer in table.get("peers", {}).items():
            key = address if vrf == "global" else f"{vrf}/{address}"
            sessions[key] = bool(peer.get("is_up"))
    return sessions
