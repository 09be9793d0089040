"""From what the routers said to the state of each backbone link and circuit: pure functions
over a snapshot of the network, so that every rule is tested without a router.

The rules, in the order a NOC engineer would check:

- A **port** is up when it is administratively enabled and has carrier. A router that did not
  answer tells nothing about its ports (unknown), nor does a port it did not list.
- A **backbone link** is down when either end it can see is down, or when both carriers are
  up but an end that reported IS-IS has no adjacency up on it (the link carries nothing);
  up when at least one end is seen up and none down; unknown when neither router answered.
- A **circuit** is down when a hand-off port at either end is down, when a router at an end
  is down (it does not answer and every backbone link to it is down), or when its designed
  path is broken — for a protected circuit, when both its paths are. It stays up on its
  protection path while only the working one is broken. A circuit with no path known (a
  protected circuit made by hand before Gigalis designed paths: which link is on which path
  was never written) is followed on its ends only. Anything unknown and nothing down:
  unknown. (``shape.py`` takes an unprotected hand-made circuit's path from the links it
  holds bandwidth on.)

The *failing* element of a down circuit is what the NOC goes to fix first: the port, the
router, or the first broken link of the working path; incidents are keyed on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gigalis_nms.monitoring.models import FailingKind, ObservedState

UP, DOWN, UNKNOWN = ObservedState.UP, ObservedState.DOWN, ObservedState.UNKNOWN


# --- what the routers said ------------------------------------------------------------------


@dataclass(frozen=True)
class PortReading:
    name: str  # the inventory's name for the port
    enabled: bool
    up: bool
    speed_mbps: int | None = None
    counters: Mapping[str, int] = field(default_factory=dict)  # NAPALM's counter names


@dataclass(frozen=True)
class DeviceReading:
    """One router's answers at one poll; ``reachable`` False and ``error`` when it gave none."""

    hostname: str
    reachable: bool
    seconds: float = 0.0
    error: str | None = None
    ports: Mapping[str, PortReading] = field(default_factory=dict)
    # Port → the IS-IS systems seen on it and whether each adjacency is up; None when the
    # router could not say (no IS-IS getter for its platform).
    isis: Mapping[str, Sequence[tuple[str, bool]]] | None = None
    bgp: Mapping[str, bool] = field(default_factory=dict)  # peer (vrf/address) → established


# --- the network, as the inventory describes it ------------------------------------------------


@dataclass(frozen=True)
class PortRef:
    interface_id: int
    device_id: int
    hostname: str
    name: str

    def __str__(self) -> str:
        return f"{self.hostname} {self.name}"


@dataclass(frozen=True)
class LinkShape:
    link_id: int
    code: str
    a: PortRef
    z: PortRef
    cables: tuple[str, ...] = ()  # fibre cables it rides, by code


@dataclass(frozen=True)
class CircuitShape:
    circuit_id: int
    ref: str
    ends: tuple[PortRef, ...]
    working: tuple[int, ...] = ()  # backbone link ids, from the A end
    protect: tuple[int, ...] = ()
    protected: bool = False


@dataclass(frozen=True)
class NetworkShape:
    links: Mapping[int, LinkShape]
    circuits: Sequence[CircuitShape]
    device_links: Mapping[int, tuple[int, ...]]  # device id → its backbone link ids


@dataclass(frozen=True)
class Failing:
    kind: FailingKind
    id: int
    description: str


@dataclass(frozen=True)
class Verdict:
    state: ObservedState
    reason: str | None = None
    failing: Failing | None = None
    on_protection: bool = False


# --- ports and links ---------------------------------------------------------------------------


def port_state(readings: Mapping[str, DeviceReading], port: PortRef) -> ObservedState:
    reading = readings.get(port.hostname)
    if reading is None or not reading.reachable or port.name not in reading.ports:
        return UNKNOWN
    seen = reading.ports[port.name]
    return UP if seen.enabled and seen.up else DOWN


def link_verdict(readings: Mapping[str, DeviceReading], link: LinkShape) -> Verdict:
    ends = [(port, port_state(readings, port)) for port in (link.a, link.z)]
    for port, state in ends:
        if state is DOWN:
            return Verdict(DOWN, f"{port} is down", _link_failing(link))
    if all(state is UNKNOWN for _, state in ends):
        return Verdict(UNKNOWN, "neither router answered")
    for port, state in ends:
        if state is UP and not _adjacency_up(readings[port.hostname], port.name):
            return Verdict(DOWN, f"no IS-IS adjacency up on {port}", _link_failing(link))
    return Verdict(UP)


def _adjacency_up(reading: DeviceReading, port: str) -> bool:
    if reading.isis is None:
        return True  # the router cannot say: the carrier is all we know
    return any(up for _, up in reading.isis.get(port, ()))


def _link_failing(link: LinkShape) -> Failing:
    cables = f" over {', '.join(link.cables)}" if link.cables else ""
    return Failing(
        FailingKind.LINK, link.link_id, f"backbone link {link.code} ({link.a} – {link.z}{cables})"
    )


def link_verdicts(readings: Mapping[str, DeviceReading], shape: NetworkShape) -> dict[int, Verdict]:
    return {link_id: link_verdict(readings, link) for link_id, link in shape.links.items()}


# --- circuits ----------------------------------------------------------------------------------


def device_down(
    readings: Mapping[str, DeviceReading],
    links: Mapping[int, Verdict],
    shape: NetworkShape,
    port: PortRef,
) -> bool:
    """A router that does not answer is down, rather than cut off from the management
    network, when every backbone link to it is seen down from the other side."""
    reading = readings.get(port.hostname)
    if reading is not None and reading.reachable:
        return False
    own = shape.device_links.get(port.device_id, ())
    return bool(own) and all(links[link_id].state is DOWN for link_id in own)


def circuit_verdict(
    readings: Mapping[str, DeviceReading],
    links: Mapping[int, Verdict],
    shape: NetworkShape,
    circuit: CircuitShape,
) -> Verdict:
    unknown = False
    for port in circuit.ends:
        if device_down(readings, links, shape, port):
            failing = Failing(FailingKind.DEVICE, port.device_id, f"router {port.hostname}")
            return Verdict(DOWN, f"router {port.hostname} is down", failing)
        state = port_state(readings, port)
        if state is DOWN:
            failing = Failing(FailingKind.INTERFACE, port.interface_id, f"port {port}")
            return Verdict(DOWN, f"hand-off port {port} is down", failing)
        unknown |= state is UNKNOWN
    if not circuit.working:
        return Verdict(UNKNOWN, "an end could not be read") if unknown else Verdict(UP)
    working = _path_state(links, circuit.working)
    if working is DOWN and circuit.protected and circuit.protect:
        protect = _path_state(links, circuit.protect)
        if protect is UP and not unknown:
            return Verdict(UP, "working path broken: on its protection path", on_protection=True)
        if protect is DOWN:
            return _path_down(links, circuit, "both paths are broken")
        return Verdict(UNKNOWN, "working path broken, protection path not known")
    if working is DOWN:
        return _path_down(links, circuit, "its path is broken")
    if unknown or working is UNKNOWN:
        return Verdict(UNKNOWN, "part of it could not be read")
    return Verdict(UP)


def _path_state(links: Mapping[int, Verdict], path: Iterable[int]) -> ObservedState:
    states = [links[link_id].state for link_id in path]
    if DOWN in states:
        return DOWN
    return UNKNOWN if UNKNOWN in states else UP


def _path_down(links: Mapping[int, Verdict], circuit: CircuitShape, why: str) -> Verdict:
    """Down, failing at the first broken link of the working path (of the protection path
    when the working one is only unknown)."""
    broken = [
        links[link_id]
        for link_id in (*circuit.working, *circuit.protect)
        if links[link_id].state is DOWN
    ]
    failing = broken[0].failing
    assert failing is not None  # a link verdict that is down always names the link
    return Verdict(DOWN, f"{why}: {failing.description}", failing)


def circuit_verdicts(
    readings: Mapping[str, DeviceReading], links: Mapping[int, Verdict], shape: NetworkShape
) -> dict[int, Verdict]:
    return {
        circuit.circuit_id: circuit_verdict(readings, links, shape, circuit)
        for circuit in shape.circuits
    }
