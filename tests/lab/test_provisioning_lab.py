"""Provisioning against the lab's live routers: the acceptance of the provisioning capability.

An operator's E-Lines between its hand-off ports at two PoPs at least two backbone hops
apart are designed, provisioned through Nornir + NAPALM on the real FRR routers, and proven
by traffic between the operator's CPE namespaces: VLAN 100 carries pings, VLAN 200 on the
same ports is a separate service, and deprovisioning stops the traffic and frees the
holdings. A router cut off in the middle of a job leaves every other router as it was; a
change made by hand is reported as drift and provisioning again clears it.

Each test leaves the lab's routers with their base configuration: circuits it made are
deprovisioned at its end, whatever happened.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.db import session_scope
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.holdings import list_holdings
from gigalis_nms.inventory.models import (
    BackboneLink,
    Circuit,
    CircuitCreate,
    Device,
    Interface,
    Organisation,
)
from gigalis_nms.lab.cpe import add_cpe_vlan, cpe_behind, remove_cpe_vlan
from gigalis_nms.lab.state import LabState
from gigalis_nms.provisioning.access import LabAccess
from gigalis_nms.provisioning.backup import read_running_config
from gigalis_nms.provisioning.design import design_of
from gigalis_nms.provisioning.devices import run_on
from gigalis_nms.provisioning.drift import DriftState, check_drift
from gigalis_nms.provisioning.jobs import JobView, create_job
from gigalis_nms.provisioning.models import DeviceOutcome, JobKind, JobState
from gigalis_nms.provisioning.run import run_job
from tests.lab.frames import FRAMES, Tap, frames_seen

OPERATOR = "SFR Business"
# SFR Business hands off at NTE1 and at LRY1 in the default lab; the two PoPs are more than
# one backbone hop apart (asserted on the design below).
A_END = ("NTE1", "nte1-cr1", "eth11")
Z_END = ("LRY1", "lry1-cr1", "eth10")
# Addresses on the operator's side only, inside its CPE namespaces.
VLAN_100 = ("203.0.113.241/29", "203.0.113.242/29")
VLAN_200 = ("203.0.113.249/29", "203.0.113.250/29")
EVPN_CONVERGENCE = 45  # seconds for BGP EVPN to exchange the VNI's routes and ARP to settle


@dataclass(frozen=True)
class Cpe:
    namespace: str
    port: str  # the CPE's interface on the router's hand-off port


def cpe_at(lab: LabState, router: str, port: str) -> Cpe:
    return Cpe(*cpe_behind(lab, router, port))


def in_netns(namespace: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", namespace, *command], capture_output=True, text=True, check=False
    )


def pings(cpe: Cpe, address: str, *, seconds: float = EVPN_CONVERGENCE) -> bool:
    """Whether ``address`` answers within ``seconds`` (traffic takes a while to flow)."""
    deadline = time.monotonic() + seconds
    while True:
        done = in_netns(cpe.namespace, "ping", "-c", "2", "-i", "0.2", "-W", "1", address)
        if done.returncode == 0:
            return True
        if time.monotonic() > deadline:
            return False


def never_pings(cpe: Cpe, address: str, *, seconds: float = 6) -> bool:
    done = in_netns(
        cpe.namespace, "ping", "-c", str(int(seconds * 5)), "-i", "0.2", "-W", "1", address
    )
    return done.returncode != 0


def host_of(cidr: str) -> str:
    return cidr.split("/", maxsplit=1)[0]


# --- circuits -----------------------------------------------------------------------------


def _interface_id(session: Session, hostname: str, name: str) -> int:
    found = session.exec(
        select(Interface.id)
        .join(Device, col(Device.id) == col(Interface.device_id))
        .where(col(Device.hostname) == hostname, col(Interface.name) == name)
    ).one()
    assert found is not None
    return found


def _site_id(session: Session, hostname: str) -> int:
    return session.exec(select(Device.site_id).where(col(Device.hostname) == hostname)).one()


def new_circuit(
    engine: Engine,
    ref: str,
    vlan: int,
    *,
    z_end: tuple[str, str, str] = Z_END,
    protected: bool = False,
    bandwidth_mbps: int = 1000,
) -> None:
    """A reserved VLAN-based E-Line of the operator between its hand-off ports at A_END and
    ``z_end``."""
    with session_scope(engine, actor="test:lab") as session:
        operator = session.exec(
            select(Organisation).where(col(Organisation.name) == OPERATOR)
        ).one()
        body = CircuitCreate(
            ref=ref,
            operator_id=operator.id or 0,
            service_type=ServiceType.ETHERNET_ELINE,
            a_site_id=_site_id(session, A_END[1]),
            a_interface_id=_interface_id(session, A_END[1], A_END[2]),
            a_vlan=vlan,
            z_site_id=_site_id(session, z_end[1]),
            z_interface_id=_interface_id(session, z_end[1], z_end[2]),
            z_vlan=vlan,
            bandwidth_mbps=bandwidth_mbps,
            protected=protected,
            status=CircuitStatus.RESERVED,
            description=f"lab test VLAN {vlan}",
        )
        service.create_object(session, service.CIRCUITS, body)


def circuit(engine: Engine, ref: str) -> Circuit:
    with session_scope(engine, read_only=True) as session:
        return session.exec(select(Circuit).where(col(Circuit.ref) == ref)).one()


def run(
    engine: Engine,
    access: LabAccess,
    kind: JobKind,
    refs: Sequence[str],
    *,
    dry_run: bool = False,
    before_commit: Callable[[Sequence[str]], None] | None = None,
) -> JobView:
    with session_scope(engine, actor="test:lab") as session:
        job_id = create_job(session, kind, refs, actor="test:lab", dry_run=dry_run).id
    assert job_id is not None
    return run_job(engine, job_id, access, before_commit=before_commit)


def held_mbps(engine: Engine) -> dict[str, int]:
    with session_scope(engine, read_only=True) as session:
        return {link.code: link.held_mbps for link in session.exec(select(BackboneLink))}


def running_configs(access: LabAccess, hostnames: Sequence[str]) -> dict[str, str]:
    nornir = access.nornir(hostnames)
    try:
        results = run_on(nornir, hostnames, read_running_config)
    finally:
        nornir.close_connections(on_good=True, on_failed=True)
    assert all(result.ok for result in results.values()), results
    return {host: result.value.text for host, result in results.items()}


@pytest.fixture
def access(lab: LabState, inventory_engine: Engine) -> LabAccess:
    url = inventory_engine.url.render_as_string(hide_password=False)
    return LabAccess(url, lab, timeout=10)


@pytest.fixture
def made(inventory_engine: Engine, access: LabAccess) -> Iterator[list[str]]:
    """Circuits a test makes; whatever is left of them is deprovisioned at the end."""
    refs: list[str] = []
    yield refs
    left = [
        ref
        for ref in refs
        # A reserved circuit has nothing on the routers (a failed job undid its design).
        if circuit(inventory_engine, ref).status
        not in (CircuitStatus.TERMINATED, CircuitStatus.RESERVED)
    ]
    if left:
        view = run(inventory_engine, access, JobKind.DEPROVISION, left)
        assert view.state is JobState.SUCCEEDED, view.error


@pytest.fixture
def cpes(lab: LabState) -> Iterator[tuple[Cpe, Cpe]]:
    """The operator's CPEs at both ends, with VLAN 100 and 200 sub-interfaces."""
    a, z = cpe_at(lab, A_END[1], A_END[2]), cpe_at(lab, Z_END[1], Z_END[2])
    for vlan, (a_address, z_address) in ((100, VLAN_100), (200, VLAN_200)):
        add_cpe_vlan(a.namespace, a.port, vlan, a_address)
        add_cpe_vlan(z.namespace, z.port, vlan, z_address)
    yield a, z
    for vlan in (100, 200):
        remove_cpe_vlan(a.namespace, a.port, vlan)
        remove_cpe_vlan(z.namespace, z.port, vlan)


# --- the acceptance -----------------------------------------------------------------------


def test_vlan_elines_carry_traffic_apart_and_stop_when_deprovisioned(
    inventory_engine: Engine, access: LabAccess, made: list[str], cpes: tuple[Cpe, Cpe]
) -> None:
    engine, (a, z) = inventory_engine, cpes
    before = held_mbps(engine)
    made += ["GIG-ETH-900100", "GIG-ETH-900200"]
    new_circuit(engine, "GIG-ETH-900100", 100)

    # A dry run designs nothing, changes no router and shows the diffs.
    planned = run(engine, access, JobKind.PROVISION, ["GIG-ETH-900100"], dry_run=True)
    assert planned.state is JobState.SUCCEEDED, planned.error
    assert {d.outcome for d in planned.devices} == {DeviceOutcome.PLANNED}
    assert all("eth11.100" in d.diff or "eth10.100" in d.diff for d in planned.devices)
    assert circuit(engine, "GIG-ETH-900100").status is CircuitStatus.RESERVED
    assert held_mbps(engine) == before
    assert never_pings(a, host_of(VLAN_100[1]), seconds=2)

    # Provisioned: designed over at least two hops, committed on both end routers, pinging.
    done = run(engine, access, JobKind.PROVISION, ["GIG-ETH-900100"])
    assert done.state is JobState.SUCCEEDED, done.error
    assert sorted(d.hostname for d in done.devices) == sorted([A_END[1], Z_END[1]])
    assert {d.outcome for d in done.devices} == {DeviceOutcome.COMMITTED}
    assert circuit(engine, "GIG-ETH-900100").status is CircuitStatus.ACTIVE
    with session_scope(engine, read_only=True) as session:
        design = design_of(session, circuit(engine, "GIG-ETH-900100"))
    assert len(design.working.links) >= 2
    assert pings(a, host_of(VLAN_100[1]))

    # Provisioning an active circuit again changes nothing.
    again = run(engine, access, JobKind.PROVISION, ["GIG-ETH-900100"])
    assert again.state is JobState.SUCCEEDED, again.error
    assert {d.outcome for d in again.devices} == {DeviceOutcome.UNCHANGED}
    assert all(d.diff == "" for d in again.devices)

    # A second circuit on the same ports, VLAN 200: its own traffic, none of the first's.
    new_circuit(engine, "GIG-ETH-900200", 200)
    second = run(engine, access, JobKind.PROVISION, ["GIG-ETH-900200"])
    assert second.state is JobState.SUCCEEDED, second.error
    assert pings(a, host_of(VLAN_200[1]))
    assert pings(a, host_of(VLAN_100[1]), seconds=5)
    # Frames sent into VLAN 100 arrive on VLAN 100's interface at the far end, none on VLAN
    # 200's, and the other way round.
    taps = {vlan: Tap(z.namespace, f"{z.port}.{vlan}") for vlan in (100, 200)}
    for vlan, other in ((100, 200), (200, 100)):
        seen = frames_seen(taps, Tap(a.namespace, f"{a.port}.{vlan}"), 0)
        assert len(seen[vlan]) == FRAMES, f"VLAN {vlan} lost frames: {seen}"
        assert seen[other] == [], f"VLAN {vlan} leaked into VLAN {other}: {seen}"
    # Deprovisioned: the traffic stops and every holding is released.
    gone = run(engine, access, JobKind.DEPROVISION, ["GIG-ETH-900100"])
    assert gone.state is JobState.SUCCEEDED, gone.error
    assert never_pings(a, host_of(VLAN_100[1]))
    assert pings(a, host_of(VLAN_200[1]), seconds=5)  # the other circuit is untouched
    ended = circuit(engine, "GIG-ETH-900100")
    assert ended.status is CircuitStatus.TERMINATED
    with session_scope(engine, read_only=True) as session:
        assert list_holdings(session, ended) == []
    gone = run(engine, access, JobKind.DEPROVISION, ["GIG-ETH-900200"])
    assert gone.state is JobState.SUCCEEDED, gone.error
    assert held_mbps(engine) == before


def test_a_router_cut_off_mid_job_fails_it_and_the_others_are_put_back(
    lab: LabState, inventory_engine: Engine, access: LabAccess, made: list[str]
) -> None:
    engine = inventory_engine
    made.append("GIG-ETH-900300")
    new_circuit(engine, "GIG-ETH-900300", 300)
    hosts = [A_END[1], Z_END[1]]
    before = running_configs(access, hosts)
    cut = Z_END[1]
    namespace = next(r.netns for r in lab.routers if r.hostname == cut)

    def cut_management(_hostnames: Sequence[str]) -> None:
        subprocess.run(["ip", "-n", namespace, "link", "set", "mgmt0", "down"], check=True)

    try:
        failed = run(
            engine, access, JobKind.PROVISION, ["GIG-ETH-900300"], before_commit=cut_management
        )
    finally:
        subprocess.run(["ip", "-n", namespace, "link", "set", "mgmt0", "up"], check=True)

    assert failed.state is JobState.FAILED
    assert failed.error is not None
    assert cut in failed.error
    outcomes = {d.hostname: d.outcome for d in failed.devices}
    assert outcomes[cut] is DeviceOutcome.FAILED
    assert outcomes[A_END[1]] is DeviceOutcome.ROLLED_BACK
    assert circuit(engine, "GIG-ETH-900300").status is CircuitStatus.RESERVED
    # Every router that was reached is back to its previous configuration. The one that was
    # cut off never applied the change, or its revert timer takes it back.
    deadline = time.monotonic() + 150
    while running_configs(access, hosts) != before and time.monotonic() < deadline:
        time.sleep(5)
    assert running_configs(access, hosts) == before


def test_a_change_by_hand_is_drift_and_provisioning_again_clears_it(
    lab: LabState, inventory_engine: Engine, access: LabAccess, made: list[str]
) -> None:
    engine = inventory_engine
    made.append("GIG-ETH-900400")
    new_circuit(engine, "GIG-ETH-900400", 400)
    done = run(engine, access, JobKind.PROVISION, ["GIG-ETH-900400"])
    assert done.state is JobState.SUCCEEDED, done.error
    hosts = [router.hostname for router in lab.routers]
    clean = check_drift(engine, access, hosts)
    assert clean.clean, [
        (d.hostname, d.state, d.diff, d.error)
        for d in clean.devices
        if d.state is not DriftState.IN_SYNC
    ]

    namespace = next(r.netns for r in lab.routers if r.hostname == A_END[1])
    in_netns(
        namespace,
        "vtysh",
        "-N",
        namespace,
        "-c",
        "configure terminal",
        "-c",
        f"interface {A_END[2]}",
        "-c",
        "description changed by hand",
    )
    drifted = check_drift(engine, access, hosts)
    states = {d.hostname: d.state for d in drifted.devices}
    assert states[A_END[1]] is DriftState.DRIFTED
    assert "changed by hand" in next(d.diff for d in drifted.devices if d.hostname == A_END[1])
    assert all(state is DriftState.IN_SYNC for host, state in states.items() if host != A_END[1])

    fixed = run(engine, access, JobKind.PROVISION, ["GIG-ETH-900400"])
    assert fixed.state is JobState.SUCCEEDED, fixed.error
    assert {d.hostname: d.outcome for d in fixed.devices}[A_END[1]] is DeviceOutcome.COMMITTED
    assert check_drift(engine, access, [A_END[1]]).clean
