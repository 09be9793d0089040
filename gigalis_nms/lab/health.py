"""Is the lab up? Per router: its namespace, its FRR, sshd and lldpd, and its IS-IS
adjacencies against the ones its lab links call for."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from gigalis_nms.lab.errors import LabNotConverged
from gigalis_nms.lab.frr import bgp_sessions, frr_running, isis_up_ports
from gigalis_nms.lab.state import (
    DEFAULT_RUNTIME_DIR,
    BuildPhase,
    LabRecord,
    LabRouter,
    LabState,
    read_record,
)
from gigalis_nms.lab.system import is_running, network_namespaces

PARALLEL_QUERIES = 8
POLL_INTERVAL = 0.5


@dataclass(frozen=True)
class RouterHealth:
    hostname: str
    netns: str
    namespace: bool
    frr: bool
    sshd: bool
    lldpd: bool
    isis_up: int
    isis_expected: int
    bgp_established: int
    bgp_configured: int

    @property
    def healthy(self) -> bool:
        return (
            self.namespace
            and self.frr
            and self.sshd
            and self.lldpd
            and self.isis_up >= self.isis_expected
        )


@dataclass(frozen=True)
class LabHealth:
    phase: BuildPhase
    sites: tuple[str, ...]
    routers: tuple[RouterHealth, ...]

    @property
    def fully_up(self) -> bool:
        return self.phase is BuildPhase.RUNNING and all(r.healthy for r in self.routers)


def expected_adjacencies(state: LabState) -> dict[str, dict[str, str]]:
    """Router -> {port: neighbour hostname} for every lab link with both ends enabled."""
    expected: dict[str, dict[str, str]] = {router.hostname: {} for router in state.routers}
    for link in state.links:
        if link.enabled:
            expected[link.a_host][link.a_port] = link.z_host
            expected[link.z_host][link.z_port] = link.a_host
    return expected


def missing_adjacencies(state: LabState) -> list[str]:
    """Each expected adjacency that is not up, as "host port -> neighbour"."""
    expected = expected_adjacencies(state)
    pathspaces = [router.netns for router in state.routers]
    with ThreadPoolExecutor(max_workers=PARALLEL_QUERIES) as pool:
        answers = pool.map(isis_up_ports, pathspaces)
        up = dict(zip((router.hostname for router in state.routers), answers, strict=True))
    return [
        f"{host} {port} -> {neighbour}"
        for host, ports in expected.items()
        for port, neighbour in ports.items()
        if up[host].get(port) != neighbour
    ]


def wait_for_adjacencies(state: LabState, timeout: float) -> float:
    """Poll until every expected IS-IS adjacency is up; returns the seconds it took."""
    started = time.monotonic()
    while True:
        missing = missing_adjacencies(state)
        waited = time.monotonic() - started
        if not missing:
            return waited
        if waited > timeout:
            raise LabNotConverged(
                f"{len(missing)} IS-IS adjacencies still down after {timeout:g} s, "
                f"e.g. {missing[0]}; see `gigalis lab status`, or `gigalis lab down`",
            )
        time.sleep(POLL_INTERVAL)


def lab_status(runtime_dir: Path = DEFAULT_RUNTIME_DIR) -> LabHealth | None:
    """The health of the lab described by the state file, or None when there is none."""
    record = read_record(runtime_dir)
    if record is None:
        return None
    namespaces = set(network_namespaces())
    expected = expected_adjacencies(record.state)
    with ThreadPoolExecutor(max_workers=PARALLEL_QUERIES) as pool:
        routers = pool.map(
            lambda router: _router_health(record, router, namespaces, expected[router.hostname]),
            record.state.routers,
        )
        return LabHealth(record.phase, record.state.sites, tuple(routers))


def _router_health(
    record: LabRecord, router: LabRouter, namespaces: set[str], expected: dict[str, str]
) -> RouterHealth:
    processes = {p.role: p for p in record.processes if p.router == router.hostname}
    up = isis_up_ports(router.netns)
    established, configured = bgp_sessions(router.netns)
    return RouterHealth(
        hostname=router.hostname,
        netns=router.netns,
        namespace=router.netns in namespaces,
        frr=frr_running(router.netns),
        sshd="sshd" in processes and is_running(processes["sshd"]),
        lldpd="lldpd" in processes and is_running(processes["lldpd"]),
        isis_up=sum(1 for port, neighbour in expected.items() if up.get(port) == neighbour),
        isis_expected=len(expected),
        bgp_established=established,
        bgp_configured=configured,
    )
