"""Provisioning jobs on both databases, over routers in memory (tests/integration/
memory_routers.py: a stand-in so that devices fail on cue; the same jobs run against the
lab's real FRR routers in tests/lab/test_provisioning_lab.py).

What is checked here is the job's own logic: records, all-or-nothing commits, dry runs,
deprovisioning, and recovery after the process running a job stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
from nornir.core import Nornir
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import Conflict, FieldProblem, InvalidInput, NotFound
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.holdings import list_holdings
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import BackboneLink, Circuit, CircuitCreate, Device, Interface
from gigalis_nms.provisioning.access import InventoryAccess, production_refusals
from gigalis_nms.provisioning.jobs import (
    MAX_ATTEMPTS,
    cancel_job,
    create_job,
    next_queued_job,
    recover_interrupted_jobs,
    view_job,
)
from gigalis_nms.provisioning.lock import routers_to_myself
from gigalis_nms.provisioning.models import (
    CircuitDesign,
    DeviceOutcome,
    DeviceWorkLock,
    JobKind,
    JobState,
    ProvisioningJob,
)
from gigalis_nms.provisioning.run import run_job
from tests.conftest import ROOT
from tests.integration.memory_routers import Fleet, MemoryAccess, install

A_DEVICE, A_PORT = "nte1-cr1", "eth11"
Z_DEVICE, Z_PORT = "lry1-cr1", "eth10"


@pytest.fixture
def network(engine: Engine) -> Engine:
    load_inventory(engine, ROOT / "inventory", actor="test")
    return engine


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    routers = Fleet()
    install(routers)
    return routers


@pytest.fixture
def access(fleet: Fleet) -> MemoryAccess:
    return MemoryAccess(fleet)


def new_circuit(engine: Engine, ref: str, vlan: int | None = 100, **fields: object) -> None:
    with session_scope(engine, actor="test") as session:

        def port(hostname: str, name: str) -> tuple[int, int]:
            device = session.exec(select(Device).where(col(Device.hostname) == hostname)).one()
            interface = session.exec(
                select(Interface).where(
                    col(Interface.device_id) == device.id, col(Interface.name) == name
                )
            ).one()
            assert device.id is not None
            assert interface.id is not None
            return device.site_id, interface.id

        a_site, a_port = port(A_DEVICE, A_PORT)
        z_site, z_port = port(Z_DEVICE, Z_PORT)
        operator = session.exec(
            select(Circuit.operator_id).where(col(Circuit.ref) == "GIG-ETH-000004")
        ).one()  # SFR Business, whose hand-off ports these are
        values: dict[str, object] = {
            "ref": ref,
            "operator_id": operator,
            "service_type": ServiceType.ETHERNET_ELINE,
            "a_site_id": a_site,
            "a_interface_id": a_port,
            "a_vlan": vlan,
            "z_site_id": z_site,
            "z_interface_id": z_port,
            "z_vlan": vlan,
            "bandwidth_mbps": 1000,
            "status": CircuitStatus.RESERVED,
        } | fields
        service.create_object(session, service.CIRCUITS, CircuitCreate.model_validate(values))


def status_of(engine: Engine, ref: str) -> CircuitStatus:
    with session_scope(engine, read_only=True) as session:
        return session.exec(select(Circuit.status).where(col(Circuit.ref) == ref)).one()


def held(engine: Engine) -> dict[str, int]:
    with session_scope(engine, read_only=True) as session:
        return {link.code: link.held_mbps for link in session.exec(select(BackboneLink))}


def queue(engine: Engine, kind: JobKind, *refs: str, dry_run: bool = False) -> int:
    with session_scope(engine, actor="test") as session:
        job_id = create_job(session, kind, list(refs), actor="test:noc", dry_run=dry_run).id
    assert job_id is not None
    return job_id


def provision(engine: Engine, access: MemoryAccess, *refs: str, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return run_job(engine, queue(engine, JobKind.PROVISION, *refs, dry_run=dry_run), access)


def test_provisioning_designs_commits_on_both_ends_and_records_everything(
    network: Engine, fleet: Fleet, access: MemoryAccess
) -> None:
    new_circuit(network, "GIG-ETH-900001")
    view = provision(network, access, "GIG-ETH-900001")

    assert view.state is JobState.SUCCEEDED, view.error
    assert view.requested_by == "test:noc"
    assert view.started_at is not None
    assert view.finished_at is not None
    assert sorted(d.hostname for d in view.devices) == sorted([A_DEVICE, Z_DEVICE])
    for device in view.devices:
        assert device.outcome is DeviceOutcome.COMMITTED
        assert "GIG-ETH-900001" in device.rendered_config
        assert device.diff.startswith("--- running")
        assert fleet.routers[device.hostname].running == device.rendered_config
        assert not fleet.routers[device.hostname].pending  # confirmed
    assert [(c.ref, c.status_before, c.status_after) for c in view.circuits] == [
        ("GIG-ETH-900001", "reserved", "active")
    ]
    with session_scope(network, read_only=True) as session:
        circuit = session.exec(select(Circuit).where(col(Circuit.ref) == "GIG-ETH-900001")).one()
        assert session.exec(
            select(CircuitDesign).where(col(CircuitDesign.circuit_id) == circuit.id)
        ).one()


def test_provisioning_again_changes_nothing(
    network: Engine, fleet: Fleet, access: MemoryAccess
) -> None:
    new_circuit(network, "GIG-ETH-900001")
    provision(network, access, "GIG-ETH-900001")
    again = provision(network, access, "GIG-ETH-900001")
    assert again.state is JobState.SUCCEEDED
    assert {d.outcome for d in again.devices} == {DeviceOutcome.UNCHANGED}
    assert all(d.diff == "" for d in again.devices)
    assert all(len(router.commits) == 1 for router in fleet.routers.values())


def test_a_dry_run_shows_diffs_and_changes_nothing(
    network: Engine, fleet: Fleet, access: MemoryAccess
) -> None:
    new_circuit(network, "GIG-ETH-900001")
    before = held(network)
    view = provision(network, access, "GIG-ETH-900001", dry_run=True)
    assert view.state is JobState.SUCCEEDED, view.error
    assert {d.outcome for d in view.devices} == {DeviceOutcome.PLANNED}
    assert all("GIG-ETH-900001" in d.diff for d in view.devices)
    assert all(
        router.running == "" and router.candidate is None for router in fleet.routers.values()
    )
    assert status_of(network, "GIG-ETH-900001") is CircuitStatus.RESERVED
    assert held(network) == before
    with session_scope(network, read_only=True) as session:
        assert session.exec(select(CircuitDesign)).first() is None


def test_a_refused_commit_rolls_back_the_routers_that_committed(
    network: Engine, fleet: Fleet, access: MemoryAccess
) -> None:
    new_circuit(network, "GIG-ETH-900001")
    before = held(network)
    fleet.router(Z_DEVICE).refuse_commit = "commit refused: configuration locked by another user"
    view = provision(network, access, "GIG-ETH-900001")

    assert view.state is JobState.FAILED
    assert view.error is not None
    assert f"{Z_DEVICE}: commit failed" in view.error
    assert "configuration locked" in view.error
    outcomes = {d.hostname: d.outcome for d in view.devices}
    assert outcomes == {A_DEVICE: DeviceOutcome.ROLLED_BACK, Z_DEVICE: DeviceOutcome.FAILED}
    assert fleet.routers[A_DEVICE].running == ""  # back to what it was
    assert not fleet.routers[A_DEVICE].pending
    # Designed by the job, the circuit is reserved again, its capacity given back.
    assert status_of(network, "GIG-ETH-900001") is CircuitStatus.RESERVED
    assert held(network) == before

    fleet.router(Z_DEVICE).refuse_commit = None
    retried = provision(network, access, "GIG-ETH-900001")
    assert retried.state is JobState.SUCCEEDED, retried.error
    assert status_of(network, "GIG-ETH-900001") is CircuitStatus.ACTIVE


def test_a_router_that_does_not_answer_stops_the_job_before_any_commit(
    network: Engine, fleet: Fleet, access: MemoryAccess
) -> None:
    new_circuit(network, "GIG-ETH-900001")
    fleet.router(A_DEVICE).unreachable = True
    view = provision(network, access, "GIG-ETH-900001")
    assert view.state is JobState.FAILED
    assert view.error is not None
    assert f"{A_DEVICE}: prepare failed" in view.error
    outcomes = {d.hostname: d.outcome for d in view.devices}
    assert outcomes == {A_DEVICE: DeviceOutcome.FAILED, Z_DEVICE: DeviceOutcome.NOT_STARTED}
    assert fleet.routers[Z_DEVICE].commits == []
    assert fleet.routers[Z_DEVICE].candidate is None  # discarded


def test_a_confirm_that_fails_rolls_back_every_router_that_committed(
    network: Engine, fleet: Fleet, access: MemoryAccess
) -> None:
    new_circuit(network, "GIG-ETH-900001")
    fleet.router(Z_DEVICE).refuse_confirm = "session lost"
    view = provision(network, access, "GIG-ETH-900001")
    assert view.state is JobState.FAILED
    assert view.error is not None
    assert f"{Z_DEVICE}: confirm failed" in view.error
    outcomes = {d.hostname: d.outcome for d in view.devices}
    assert outcomes == {A_DEVICE: DeviceOutcome.ROLLED_BACK, Z_DEVICE: DeviceOutcome.FAILED}
    assert all(router.running == "" for router in fleet.routers.values())


def test_deprovisioning_removes_the_service_and_releases_every_holding(
    network: Engine, fleet: Fleet, access: MemoryAccess
) -> None:
    before = held(network)
    new_circuit(network, "GIG-ETH-900001")
    provision(network, access, "GIG-ETH-900001")
    assert held(network) != before

    view = run_job(network, queue(network, JobKind.DEPROVISION, "GIG-ETH-900001"), access)
    assert view.state is JobState.SUCCEEDED, view.error
    assert {d.outcome for d in view.devices} == {DeviceOutcome.COMMITTED}
    for hostname in (A_DEVICE, Z_DEVICE):
        assert "GIG-ETH-900001" not in fleet.routers[hostname].running
    assert status_of(network, "GIG-ETH-900001") is CircuitStatus.TERMINATED
    assert held(network) == before
    with session_scope(network, read_only=True) as session:
        circuit = session.exec(select(Circuit).where(col(Circuit.ref) == "GIG-ETH-900001")).one()
        assert list_holdings(session, circuit) == []
        assert session.exec(select(CircuitDesign)).first() is None


def test_a_bulk_job_changes_each_router_once_for_all_its_circuits(
    network: Engine, fleet: Fleet, access: MemoryAccess
) -> None:
    refs = [f"GIG-ETH-9000{n:02d}" for n in range(1, 6)]
    for number, ref in enumerate(refs):
        new_circuit(network, ref, vlan=100 + number)
    view = provision(network, access, *refs)
    assert view.state is JobState.SUCCEEDED, view.error
    assert len(view.circuits) == 5
    for hostname in (A_DEVICE, Z_DEVICE):
        assert len(fleet.routers[hostname].commits) == 1
        assert all(ref in fleet.routers[hostname].running for ref in refs)


def test_bad_requests_are_refused_with_the_field_and_change_nothing(
    network: Engine, access: MemoryAccess
) -> None:
    new_circuit(network, "GIG-ETH-900001")
    with session_scope(network, actor="test") as session:
        with pytest.raises(NotFound, match="GIG-ETH-999999"):
            create_job(session, JobKind.PROVISION, ["GIG-ETH-999999"], actor="t")
        with pytest.raises(InvalidInput) as refused:
            create_job(session, JobKind.DEPROVISION, ["GIG-ETH-900001"], actor="t")
        assert refused.value.problems[0].field == "status"
        with pytest.raises(InvalidInput) as twice:
            create_job(session, JobKind.PROVISION, ["GIG-ETH-900001"] * 2, actor="t")
        assert twice.value.problems[0].field == "circuits"
        with pytest.raises(InvalidInput) as by_hand:
            create_job(session, JobKind.PROVISION, ["GIG-ETH-000004"], actor="t")
        assert by_hand.value.problems[0].field == "design"
        with pytest.raises(InvalidInput) as dark:
            create_job(session, JobKind.PROVISION, ["GIG-DF-000001"], actor="t")
        assert dark.value.problems[0].field == "service_type"
    with session_scope(network, read_only=True) as session:
        assert session.exec(select(ProvisioningJob)).first() is None


def test_one_unfinished_job_per_circuit(network: Engine) -> None:
    new_circuit(network, "GIG-ETH-900001")
    queue(network, JobKind.PROVISION, "GIG-ETH-900001")
    with pytest.raises(Conflict, match="unfinished"):
        queue(network, JobKind.PROVISION, "GIG-ETH-900001")
    queue(network, JobKind.PROVISION, "GIG-ETH-900001", dry_run=True)  # dry runs may overlap


def _leave_running(
    engine: Engine, job_id: int, *, runner: str, dry_run: bool = False, attempts: int = 1
) -> None:
    """What a process that died in the middle of a job leaves behind."""
    with session_scope(engine, actor="test") as session:
        job = session.get(ProvisioningJob, job_id)
        assert job is not None
        job.state, job.runner, job.dry_run, job.attempts = (
            JobState.RUNNING,
            runner,
            dry_run,
            attempts,
        )
        job.started_at = job.heartbeat_at = utcnow() - timedelta(minutes=5)


def test_a_job_left_running_by_a_dead_process_is_resumed_and_finishes(
    network: Engine, fleet: Fleet, access: MemoryAccess
) -> None:
    new_circuit(network, "GIG-ETH-900001")
    job_id = queue(network, JobKind.PROVISION, "GIG-ETH-900001")
    _leave_running(network, job_id, runner="old-host:4242")

    assert recover_interrupted_jobs(network) == [job_id]
    with session_scope(network, read_only=True) as session:
        resumed = view_job(session, job_id)
    assert resumed.state is JobState.QUEUED
    assert resumed.error is not None
    assert "resumed" in resumed.error

    view = run_job(network, job_id, access)
    assert view.state is JobState.SUCCEEDED, view.error
    assert view.attempts == 2
    assert status_of(network, "GIG-ETH-900001") is CircuitStatus.ACTIVE


def test_a_job_out_of_attempts_or_a_dry_run_is_failed_cleanly(network: Engine) -> None:
    new_circuit(network, "GIG-ETH-900001")
    new_circuit(network, "GIG-ETH-900002", vlan=101)
    tired = queue(network, JobKind.PROVISION, "GIG-ETH-900001")
    _leave_running(network, tired, runner="old-host:1", attempts=MAX_ATTEMPTS)
    dry = queue(network, JobKind.PROVISION, "GIG-ETH-900002", dry_run=True)
    _leave_running(network, dry, runner="old-host:2", dry_run=True)
    alive = queue(network, JobKind.PROVISION, "GIG-ETH-900002")
    with session_scope(network, actor="test") as session:
        job = session.get(ProvisioningJob, alive)
        assert job is not None
        job.state, job.runner, job.heartbeat_at = JobState.RUNNING, "elsewhere:1", utcnow()

    assert sorted(recover_interrupted_jobs(network)) == sorted([tired, dry])
    with session_scope(network, read_only=True) as session:
        for job_id in (tired, dry):
            view = view_job(session, job_id)
            assert view.state is JobState.FAILED
            assert view.error is not None
            assert "interrupted" in view.error
            assert view.finished_at is not None
        assert view_job(session, alive).state is JobState.RUNNING  # its runner is alive
    assert status_of(network, "GIG-ETH-900001") is CircuitStatus.RESERVED


def test_only_one_runner_claims_a_job(network: Engine, access: MemoryAccess) -> None:
    new_circuit(network, "GIG-ETH-900001")
    job_id = queue(network, JobKind.PROVISION, "GIG-ETH-900001")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def claim() -> None:
        barrier.wait()
        try:
            run_job(network, job_id, access)
            outcomes.append("ran")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ran", "refused"]


def test_concurrent_requests_queue_one_job_per_circuit(network: Engine) -> None:
    """Two requests for one circuit at the same instant: one job, one refusal."""
    new_circuit(network, "GIG-ETH-900001")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def request() -> None:
        barrier.wait()
        try:
            with session_scope(network, actor="test") as session:
                create_job(session, JobKind.PROVISION, ["GIG-ETH-900001"], actor="t")
                time.sleep(0.3)  # hold the transaction while the other one tries
            outcomes.append("queued")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["queued", "refused"]
    with session_scope(network, read_only=True) as session:
        assert len(session.exec(select(ProvisioningJob)).all()) == 1


def test_a_queued_job_can_be_cancelled_a_running_one_cannot(network: Engine) -> None:
    new_circuit(network, "GIG-ETH-900001")
    queued = queue(network, JobKind.PROVISION, "GIG-ETH-900001")
    with session_scope(network, actor="test") as session:
        cancel_job(session, queued, actor="cli:alice")
    with session_scope(network, read_only=True) as session:
        view = view_job(session, queued)
    assert view.state is JobState.FAILED
    assert view.error == "cancelled by cli:alice before it ran"
    assert status_of(network, "GIG-ETH-900001") is CircuitStatus.RESERVED

    running = queue(network, JobKind.PROVISION, "GIG-ETH-900001")
    _leave_running(network, running, runner="elsewhere:1")
    with session_scope(network, actor="test") as session, pytest.raises(InvalidInput) as refused:
        cancel_job(session, running, actor="cli:alice")
    assert "interrupt the process running it" in str(refused.value)


class ProductionLikeAccess(MemoryAccess):
    """Routers in memory, guarded as production routers are."""

    def refusals(self, session: Session, hostnames: Sequence[str]) -> list[FieldProblem]:
        return production_refusals(session, hostnames)


def test_production_routers_that_a_replace_would_harm_are_refused(
    network: Engine, fleet: Fleet
) -> None:
    with session_scope(network, read_only=True) as session:
        reasons = [p.reason for p in production_refusals(session, ["nte2-cr1", "nte1-cr1"])]
    assert any(r.startswith("nte2-cr1 runs junos") for r in reasons), reasons
    assert any(r.startswith("nte1-cr1 carries GIG-ETH-000001") for r in reasons), reasons

    # A job on such a router fails before any router is touched.
    new_circuit(network, "GIG-ETH-900001")
    view = provision(network, ProductionLikeAccess(fleet), "GIG-ETH-900001")
    assert view.state is JobState.FAILED
    assert view.error is not None
    assert "configured by hand before Gigalis managed it" in view.error
    assert all(
        router.commits == [] and router.candidate is None for router in fleet.routers.values()
    )
    assert status_of(network, "GIG-ETH-900001") is CircuitStatus.RESERVED


def test_production_without_router_logins_fails_before_any_connection(
    network: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded default has no router logins: a job (one an order queued inside
    `gigalis serve`, say) fails naming the setting, and never builds a connection."""
    for name in ("USERNAME", "PASSWORD", "KEY_FILE", "CREDENTIALS_FILE"):
        monkeypatch.delenv(f"GIGALIS_DEVICE_{name}", raising=False)
    access = InventoryAccess(network.url.render_as_string(hide_password=False))

    def no_connection(_hostnames: Sequence[str]) -> Nornir:
        raise AssertionError("a job without logins must not reach for the routers")

    monkeypatch.setattr(access.__class__, "nornir", lambda _self, hosts: no_connection(hosts))
    new_circuit(network, "GIG-ETH-900001")
    with session_scope(network, actor="test") as session:
        job_id = create_job(
            session, JobKind.PROVISION, ["GIG-ETH-900001"], actor="test", target=access.target
        ).id
    assert job_id is not None
    view = run_job(network, job_id, access)
    assert view.state is JobState.FAILED
    assert view.error is not None
    assert "GIGALIS_DEVICE_USERNAME" in view.error
    assert status_of(network, "GIG-ETH-900001") is CircuitStatus.RESERVED


def test_jobs_and_drift_checks_take_turns_on_the_routers(
    network: Engine, access: MemoryAccess
) -> None:
    new_circuit(network, "GIG-ETH-900001")
    job_id = queue(network, JobKind.PROVISION, "GIG-ETH-900001")
    # Another machine's drift check holds the routers: the job waits, then stays queued.
    with routers_to_myself(network, "other-host:4242", "drift check"):
        with pytest.raises(Conflict) as busy:
            run_job(network, job_id, access, wait_seconds=1)
        assert busy.value.problems[0].field == "routers"
        assert "drift check (other-host:4242" in busy.value.problems[0].reason
        with session_scope(network, read_only=True) as session:
            assert view_job(session, job_id).state is JobState.QUEUED
    # Released: the job runs.
    assert run_job(network, job_id, access).state is JobState.SUCCEEDED


def test_a_holder_that_stopped_is_replaced(network: Engine) -> None:
    with session_scope(network, actor="test") as session:
        lock = session.get(DeviceWorkLock, 1) or DeviceWorkLock(id=1)
        lock.holder, lock.purpose = "old-host:1", "job 7"
        lock.heartbeat_at = utcnow() - timedelta(minutes=5)
        session.add(lock)
    with (
        routers_to_myself(network, "new-host:2", "job 8"),
        session_scope(network, read_only=True) as session,
    ):
        assert session.get(DeviceWorkLock, 1).holder == "new-host:2"  # type: ignore[union-attr]
    with session_scope(network, read_only=True) as session:
        assert session.get(DeviceWorkLock, 1).holder is None  # type: ignore[union-attr]


def test_a_job_runs_only_where_its_routers_are(network: Engine, access: MemoryAccess) -> None:
    new_circuit(network, "GIG-ETH-900001")
    with session_scope(network, actor="test") as session:
        job = create_job(session, JobKind.PROVISION, ["GIG-ETH-900001"], actor="t", target="lab")
    assert job.id is not None
    with pytest.raises(Conflict) as elsewhere:
        run_job(network, job.id, access)
    assert elsewhere.value.problems[0].field == "target"
    assert "--lab" in elsewhere.value.problems[0].reason
    assert next_queued_job(network, "inventory") is None
    assert next_queued_job(network, "lab") == job.id
