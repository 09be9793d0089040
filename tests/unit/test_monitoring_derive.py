"""The rules that turn routers' answers into link and circuit states (monitoring/derive.py),
on a small network written out here:

    r1 ──L1── r2 ──L2── r3        working path of C1 and C2: L1, L2
     └────────L3────────┘         protection path of C2: L3

C1 (unprotected) and C2 (protected) run from r1 port c1 to r3 port c3; C3 has no design.
"""

from __future__ import annotations

from collections.abc import Mapping

from gigalis_nms.monitoring.derive import (
    DOWN,
    UNKNOWN,
    UP,
    CircuitShape,
    DeviceReading,
    LinkShape,
    NetworkShape,
    PortReading,
    PortRef,
    circuit_verdicts,
    link_verdicts,
)
from gigalis_nms.monitoring.models import FailingKind

DEVICES = {"r1": 1, "r2": 2, "r3": 3}
PORTS = {
    "r1": ("l1", "l3", "c1"),
    "r2": ("l1", "l2"),
    "r3": ("l2", "l3", "c3"),
}


def port(hostname: str, name: str) -> PortRef:
    device = DEVICES[hostname]
    return PortRef(device * 10 + PORTS[hostname].index(name), device, hostname, name)


LINKS = {
    101: LinkShape(101, "L1", port("r1", "l1"), port("r2", "l1"), ("CABLE-A",)),
    102: LinkShape(102, "L2", port("r2", "l2"), port("r3", "l2")),
    103: LinkShape(103, "L3", port("r1", "l3"), port("r3", "l3")),
}
ENDS = (port("r1", "c1"), port("r3", "c3"))
SHAPE = NetworkShape(
    links=LINKS,
    circuits=[
        CircuitShape(1, "C1", ENDS, working=(101, 102)),
        CircuitShape(2, "C2", ENDS, working=(101, 102), protect=(103,), protected=True),
        CircuitShape(3, "C3", ENDS),
    ],
    device_links={1: (101, 103), 2: (101, 102), 3: (102, 103)},
)


def healthy(
    hostname: str, *, down: tuple[str, ...] = (), no_adjacency: tuple[str, ...] = ()
) -> DeviceReading:
    ports = {name: PortReading(name, enabled=True, up=name not in down) for name in PORTS[hostname]}
    isis = {
        name: [("peer", name not in no_adjacency)]
        for name in PORTS[hostname]
        if name.startswith("l") and name not in down
    }
    return DeviceReading(hostname, reachable=True, ports=ports, isis=isis)


def silent(hostname: str) -> DeviceReading:
    return DeviceReading(hostname, reachable=False, error="TimeoutError: timed out")


def network(**readings: DeviceReading) -> dict[str, DeviceReading]:
    every = {hostname: healthy(hostname) for hostname in DEVICES}
    return every | readings


def states(readings: Mapping[str, DeviceReading]) -> tuple[dict[str, str], dict[str, str]]:
    links = link_verdicts(readings, SHAPE)
    circuits = circuit_verdicts(readings, links, SHAPE)
    return (
        {LINKS[i].code: str(v.state) for i, v in links.items()},
        {f"C{i}": str(v.state) for i, v in circuits.items()},
    )


def test_everything_up() -> None:
    assert states(network()) == (
        {"L1": "up", "L2": "up", "L3": "up"},
        {"C1": "up", "C2": "up", "C3": "up"},
    )


def test_a_link_down_takes_the_unprotected_circuit_down_and_not_the_protected_one() -> None:
    readings = network(r1=healthy("r1", down=("l1",)), r2=healthy("r2", down=("l1",)))
    links = link_verdicts(readings, SHAPE)
    circuits = circuit_verdicts(readings, links, SHAPE)

    assert links[101].state is DOWN
    assert links[101].reason == "r1 l1 is down"
    assert circuits[1].state is DOWN
    assert circuits[1].failing is not None
    assert circuits[1].failing.kind is FailingKind.LINK
    assert circuits[1].failing.id == 101
    assert circuits[1].failing.description == "backbone link L1 (r1 l1 – r2 l1 over CABLE-A)"
    assert circuits[2].state is UP
    assert circuits[2].on_protection
    assert circuits[3].state is UP  # no design: followed on its ends only


def test_one_end_seeing_the_carrier_go_is_enough() -> None:
    # The far end's router is silent; the near end sees no carrier.
    readings = network(r1=healthy("r1", down=("l1",)), r2=silent("r2"))
    assert states(readings)[0]["L1"] == "down"


def test_carrier_up_without_isis_adjacency_is_down() -> None:
    readings = network(r2=healthy("r2", no_adjacency=("l2",)))
    links = link_verdicts(readings, SHAPE)
    assert links[102].state is DOWN
    assert links[102].reason == "no IS-IS adjacency up on r2 l2"


def test_a_router_without_isis_getter_is_judged_on_carrier() -> None:
    r2 = healthy("r2")
    readings = network(r2=DeviceReading("r2", True, ports=r2.ports, isis=None))
    assert states(readings)[0]["L1"] == "up"


def test_both_paths_broken_takes_the_protected_circuit_down_on_the_working_path() -> None:
    readings = network(
        r1=healthy("r1", down=("l1", "l3")),
        r2=healthy("r2", down=("l1",)),
        r3=healthy("r3", down=("l3",)),
    )
    links = link_verdicts(readings, SHAPE)
    circuits = circuit_verdicts(readings, links, SHAPE)
    assert circuits[2].state is DOWN
    assert circuits[2].failing is not None
    assert circuits[2].failing.id == 101
    assert circuits[2].reason is not None
    assert circuits[2].reason.startswith("both paths are broken: backbone link L1")


def test_a_hand_off_port_down_is_the_failing_element() -> None:
    readings = network(r3=healthy("r3", down=("c3",)))
    links = link_verdicts(readings, SHAPE)
    circuits = circuit_verdicts(readings, links, SHAPE)
    for circuit in (1, 2, 3):
        assert circuits[circuit].state is DOWN
        assert circuits[circuit].failing is not None
        assert circuits[circuit].failing.kind is FailingKind.INTERFACE
        assert circuits[circuit].failing.id == port("r3", "c3").interface_id


def test_an_administratively_shut_port_is_down() -> None:
    r3 = healthy("r3")
    ports = dict(r3.ports, c3=PortReading("c3", enabled=False, up=False))
    readings = network(r3=DeviceReading("r3", True, ports=ports, isis=r3.isis))
    assert states(readings)[1]["C3"] == "down"


def test_a_silent_router_is_unknown_not_down() -> None:
    # r3 does not answer but its links are seen up from r1 and r2: a management problem.
    link_states, circuit_states = states(network(r3=silent("r3")))
    assert link_states == {"L1": "up", "L2": "up", "L3": "up"}
    assert circuit_states == {"C1": "unknown", "C2": "unknown", "C3": "unknown"}


def test_a_silent_router_whose_links_are_all_down_is_down() -> None:
    readings = network(
        r3=silent("r3"), r2=healthy("r2", down=("l2",)), r1=healthy("r1", down=("l3",))
    )
    links = link_verdicts(readings, SHAPE)
    circuits = circuit_verdicts(readings, links, SHAPE)
    assert circuits[3].state is DOWN
    assert circuits[3].failing is not None
    assert circuits[3].failing.kind is FailingKind.DEVICE
    assert circuits[3].failing.id == DEVICES["r3"]
    assert circuits[3].reason == "router r3 is down"


def test_a_port_the_router_does_not_list_is_unknown() -> None:
    r3 = healthy("r3")
    ports = {name: seen for name, seen in r3.ports.items() if name != "c3"}
    readings = network(r3=DeviceReading("r3", True, ports=ports, isis=r3.isis))
    circuits = circuit_verdicts(readings, link_verdicts(readings, SHAPE), SHAPE)
    assert circuits[3].state is UNKNOWN


def test_nobody_answering_leaves_everything_unknown() -> None:
    link_states, circuit_states = states({hostname: silent(hostname) for hostname in DEVICES})
    assert set(link_states.values()) == {"unknown"}
    assert set(circuit_states.values()) == {"unknown"}
