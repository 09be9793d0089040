"""Provisioning job records: created, claimed by one runner, finished, and recovered after a
crash. This module only reads and writes the database; :mod:`.run` does the device work.

A job is durable: it is written before anything is touched and it says which process runs it
and when that process last said it was alive (the heartbeat). When a process starts, the
jobs left *running* by a process that is gone are resumed (queued again: provisioning is
idempotent, so a second run finishes what the first began) or, after
``MAX_ATTEMPTS`` runs, failed; a dry run is simply failed. No job stays *running* for ever.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import Conflict, InvalidInput, NotFound
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.provisioning.design import has_design, release_design
from gigalis_nms.provisioning.devices import REVERT_AFTER_SECONDS
from gigalis_nms.provisioning.models import (
    DeviceOutcome,
    JobCircuit,
    JobDevice,
    JobKind,
    JobState,
    ProvisioningJob,
)

logger = logging.getLogger(__name__)

# A runner writes its heartbeat this often; one silent for STALE_AFTER is taken for dead.
HEARTBEAT_EVERY = timedelta(seconds=5)
STALE_AFTER = timedelta(seconds=60)
MAX_ATTEMPTS = 3
UNFINISHED = (JobState.QUEUED, JobState.RUNNING)
COMMITTING = "committing"  # a device's note while its commit is under way
REVERT_NOTE = (
    f"routers with a commit not yet confirmed revert by themselves within {REVERT_AFTER_SECONDS} s"
)

# What each kind of job accepts: provisioning designs a reserved circuit first, and running
# it again on an active circuit is allowed (and changes nothing when nothing drifted).
ACCEPTED_STATUSES: dict[JobKind, frozenset[CircuitStatus]] = {
    JobKind.PROVISION: frozenset(
        {CircuitStatus.RESERVED, CircuitStatus.DESIGNED, CircuitStatus.ACTIVE}
    ),
    JobKind.DEPROVISION: frozenset(
        {
            CircuitStatus.DESIGNED,
            CircuitStatus.PROVISIONING,
            CircuitStatus.ACTIVE,
            CircuitStatus.SUSPENDED,
        }
    ),
}


def runner_identity() -> str:
    """This process, as a job records it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


# --- what the API and the command line show -------------------------------------------------


class JobDeviceView(BaseModel):
    hostname: str
    outcome: DeviceOutcome
    diff: str
    rendered_config: str
    error: str | None
    finished_at: datetime | None


class JobCircuitView(BaseModel):
    ref: str
    status_before: str | None
    status_after: str | None


class JobView(BaseModel):
    id: int
    kind: JobKind
    dry_run: bool
    target: str | None
    state: JobState
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    runner: str | None
    attempts: int
    error: str | None
    circuits: list[JobCircuitView]
    devices: list[JobDeviceView]


def view_job(session: Session, job_id: int) -> JobView:
    job = get_job(session, job_id)
    circuits = session.exec(
        select(JobCircuit).where(col(JobCircuit.job_id) == job_id).order_by(col(JobCircuit.id))
    ).all()
    devices = session.exec(
        select(JobDevice).where(col(JobDevice.job_id) == job_id).order_by(col(JobDevice.hostname))
    ).all()
    return JobView(
        id=job_id,
        kind=job.kind,
        dry_run=job.dry_run,
        target=job.target,
        state=job.state,
        requested_by=job.requested_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        runner=job.runner,
        attempts=job.attempts,
        error=job.error,
        circuits=[
            JobCircuitView(
                ref=c.circuit_ref, status_before=c.status_before, status_after=c.status_after
            )
            for c in circuits
        ],
        devices=[
            JobDeviceView(
                hostname=d.hostname,
                outcome=d.outcome,
                diff=d.diff,
                rendered_config=d.rendered_config,
                error=d.error,
                finished_at=d.finished_at,
            )
            for d in devices
        ],
    )


def get_job(session: Session, job_id: int) -> ProvisioningJob:
    job = session.get(ProvisioningJob, job_id) if 0 < job_id < 2**31 else None
    if job is None:
        raise NotFound.of("job", f"no provisioning job {job_id}")
    return job


def list_jobs(
    session: Session,
    *,
    circuit_ref: str | None = None,
    state: JobState | None = None,
    operator_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[ProvisioningJob]]:
    """Jobs, newest first; ``operator_id`` keeps those on that operator's circuits."""
    query = select(ProvisioningJob)
    if circuit_ref is not None or operator_id is not None:
        on_circuits = select(JobCircuit.job_id)
        if circuit_ref is not None:
            on_circuits = on_circuits.where(col(JobCircuit.circuit_ref) == circuit_ref)
        if operator_id is not None:
            on_circuits = on_circuits.join(
                Circuit, col(Circuit.id) == col(JobCircuit.circuit_id)
            ).where(col(Circuit.operator_id) == operator_id)
        query = query.where(col(ProvisioningJob.id).in_(on_circuits))
    if state is not None:
        query = query.where(col(ProvisioningJob.state) == state)
    count = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    page = query.order_by(col(ProvisioningJob.id).desc()).limit(limit).offset(offset)
    return count, list(session.exec(page).all())


# --- creating a job ---------------------------------------------------------------------------


def circuit_by_ref(session: Session, ref: str, *, lock: bool = False) -> Circuit:
    """The circuit named ``ref``; NotFound on ``ref`` otherwise. ``lock``: keep its row
    locked until the transaction ends (PostgreSQL; SQLite's writers take turns anyway)."""
    query = select(Circuit).where(col(Circuit.ref) == ref)
    circuit = session.exec(query.with_for_update() if lock else query).first()
    if circuit is None:
        raise NotFound.of("ref", f"no circuit {ref}")
    return circuit


def _check_can_run(session: Session, kind: JobKind, circuit: Circuit, *, dry_run: bool) -> None:
    if circuit.service_type is not ServiceType.ETHERNET_ELINE:
        raise InvalidInput.of(
            "service_type",
            f"circuit {circuit.ref} is {circuit.service_type}: only Ethernet E-Lines are "
            "configured on routers",
        )
    if circuit.status not in ACCEPTED_STATUSES[kind]:
        accepted = ", ".join(sorted(ACCEPTED_STATUSES[kind]))
        raise InvalidInput.of(
            "status", f"circuit {circuit.ref} is {circuit.status}; {kind} needs one of {accepted}"
        )
    if circuit.a_interface_id is None or circuit.z_interface_id is None:
        end = "a" if circuit.a_interface_id is None else "z"
        raise InvalidInput.of(
            f"{end}_interface_id", f"circuit {circuit.ref} has no port at its {end.upper()} end"
        )
    # A reserved circuit is designed by the job; so is one marked designed by hand.
    designable = (CircuitStatus.RESERVED, CircuitStatus.DESIGNED)
    if kind is JobKind.PROVISION and circuit.status in designable:
        pass
    elif not has_design(session, circuit):
        raise InvalidInput.of(
            "design",
            f"circuit {circuit.ref} has no design: it was configured on the routers before"
            " Gigalis managed them, so jobs cannot render it (change it by hand, or terminate"
            " it in the inventory and order it again)",
        )
    if dry_run:
        return  # a dry run changes nothing: it may run beside anything
    busy = session.exec(
        select(ProvisioningJob.id)
        .join(JobCircuit, col(JobCircuit.job_id) == col(ProvisioningJob.id))
        .where(col(JobCircuit.circuit_id) == circuit.id)
        .where(col(ProvisioningJob.state).in_(UNFINISHED))
        .where(col(ProvisioningJob.dry_run).is_(False))
    ).first()
    if busy is not None:
        raise Conflict.of("circuit", f"circuit {circuit.ref} already has job {busy} unfinished")


def create_job(
    session: Session,
    kind: JobKind,
    refs: Sequence[str],
    *,
    actor: str,
    dry_run: bool = False,
    target: str | None = None,
) -> ProvisioningJob:
    """A queued job over the circuits ``refs``; every circuit is checked before any is taken.

    A circuit has at most one unfinished job that changes devices; dry runs may overlap.
    The caller commits. The circuits' rows stay locked until then, so that two requests for
    one circuit cannot both pass the check.
    """
    if not refs:
        raise InvalidInput.of("circuits", "no circuit given")
    duplicates = sorted({ref for ref in refs if list(refs).count(ref) > 1})
    if duplicates:
        raise InvalidInput.of("circuits", f"named twice: {', '.join(duplicates)}")
    # Locked, so that two sessions queueing jobs on one circuit cannot both pass the checks.
    circuits = [circuit_by_ref(session, ref, lock=True) for ref in refs]
    for circuit in circuits:
        _check_can_run(session, kind, circuit, dry_run=dry_run)

    job = ProvisioningJob(
        kind=kind, dry_run=dry_run, requested_by=actor, state=JobState.QUEUED, target=target
    )
    session.add(job)
    session.flush()
    for circuit in circuits:
        session.add(
            JobCircuit(
                job_id=_id(job),
                circuit_id=circuit.id,
                circuit_ref=circuit.ref,
                status_before=circuit.status,
            )
        )
    session.flush()
    logger.info("job %s: %s of %s queued by %s", job.id, kind, ", ".join(refs), actor)
    return job


def _id(row: ProvisioningJob | Circuit) -> int:
    assert row.id is not None, "flushed rows have ids"
    return row.id


def cancel_job(session: Session, job_id: int, *, actor: str) -> None:
    """Cancel a queued job: it fails without touching anything. A running one cannot be
    cancelled here: its runner ends it (interrupt that process; its routers revert)."""
    job = get_job(session, job_id)
    if job.state is not JobState.QUEUED:
        raise InvalidInput.of(
            "job",
            f"job {job_id} is {job.state}: only a queued job can be cancelled"
            + (" (interrupt the process running it)" if job.state is JobState.RUNNING else ""),
        )
    finish_job(session, job_id, JobState.FAILED, f"cancelled by {actor} before it ran")


# --- running state ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: JobKind
    dry_run: bool
    actor: str
    circuit_ids: tuple[int, ...]
    target: str | None = None


def claim_job(engine: Engine, job_id: int, runner: str) -> ClaimedJob:
    """Move a queued job to running under ``runner``; Conflict if another took it first."""
    with session_scope(engine, actor=runner) as session:
        job = session.exec(
            select(ProvisioningJob).where(col(ProvisioningJob.id) == job_id).with_for_update()
        ).first()
        if job is None:
            raise NotFound.of("job", f"no provisioning job {job_id}")
        if job.state is not JobState.QUEUED:
            raise Conflict.of("job", f"job {job_id} is {job.state}, not queued")
        now = utcnow()
        job.state, job.runner, job.started_at, job.heartbeat_at = JobState.RUNNING, runner, now, now
        job.attempts += 1
        circuit_ids = tuple(
            cid
            for cid in session.exec(
                select(JobCircuit.circuit_id).where(col(JobCircuit.job_id) == job_id)
            ).all()
            if cid is not None
        )
        logger.info("job %s: run %d by %s", job_id, job.attempts, runner)
        return ClaimedJob(job_id, job.kind, job.dry_run, job.requested_by, circuit_ids, job.target)


def beat(engine: Engine, job_id: int, runner: str) -> None:
    """Say that ``runner`` is still working on the job."""
    with session_scope(engine, actor=runner) as session:
        session.execute(
            sa.update(ProvisioningJob)
            .where(col(ProvisioningJob.id) == job_id)
            .where(col(ProvisioningJob.runner) == runner)
            .values(heartbeat_at=utcnow())
        )


def finish_job(session: Session, job_id: int, state: JobState, error: str | None) -> None:
    job = get_job(session, job_id)
    job.state, job.error, job.finished_at = state, _clip(error), utcnow()
    for link in session.exec(select(JobCircuit).where(col(JobCircuit.job_id) == job_id)):
        circuit = session.get(Circuit, link.circuit_id) if link.circuit_id else None
        link.status_after = circuit.status if circuit else None
    logger.info("job %s: %s%s", job_id, state, f": {error}" if error else "")


def _clip(text: str | None, limit: int = 4000) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


def next_queued_job(engine: Engine, target: str | None = None) -> int | None:
    """The oldest queued job; with ``target``, the oldest one on those routers."""
    with session_scope(engine, read_only=True) as session:
        query = select(ProvisioningJob.id).where(col(ProvisioningJob.state) == JobState.QUEUED)
        if target is not None:
            anywhere = col(ProvisioningJob.target).is_(None)
            query = query.where((col(ProvisioningJob.target) == target) | anywhere)
        return session.exec(query.order_by(col(ProvisioningJob.id)).limit(1)).first()


# --- recovery after a crash -------------------------------------------------------------------


def runner_gone(runner: str | None, heartbeat: datetime | None, now: datetime) -> bool:
    """Whether the process that runs a job has stopped: its heartbeat is stale, or it ran on
    this machine and its process id is no longer alive (a restart need not wait)."""
    if heartbeat is None or now - heartbeat > STALE_AFTER:
        return True
    host, _, pid = (runner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_interrupted_jobs(engine: Engine, *, actor: str = "recovery") -> list[int]:
    """Resume or fail every running job whose runner has stopped; the ids touched."""
    now = utcnow()
    touched: list[int] = []
    with session_scope(engine, actor=actor) as session:
        running = session.exec(
            select(ProvisioningJob).where(col(ProvisioningJob.state) == JobState.RUNNING)
        ).all()
        for job in running:
            if not runner_gone(job.runner, job.heartbeat_at, now):
                continue
            touched.append(_id(job))
            gone = f"its runner {job.runner} stopped (last heard {job.heartbeat_at})"
            if job.dry_run or job.attempts >= MAX_ATTEMPTS:
                _fail_interrupted(session, job, gone)
            else:
                job.state, job.runner, job.error = JobState.QUEUED, None, f"resumed: {gone}"
                logger.warning("job %s: %s; queued again", job.id, gone)
    return touched


def _fail_interrupted(session: Session, job: ProvisioningJob, gone: str) -> None:
    """Fail a job that will not be run again; its circuits go back to where they were."""
    job_id = _id(job)
    restore_circuits(session, job_id)
    mark_unreached(session, job_id)
    reason = f"interrupted: {gone}"
    if not job.dry_run:
        reason += f"; {REVERT_NOTE}"
    finish_job(session, job_id, JobState.FAILED, reason)


def restore_circuits(session: Session, job_id: int) -> None:
    """After a failure, circuits go back to where they were before the job: a circuit this job
    designed loses that design again, and the capacity it held."""
    links = session.exec(select(JobCircuit).where(col(JobCircuit.job_id) == job_id)).all()
    for link in links:
        circuit = session.get(Circuit, link.circuit_id) if link.circuit_id else None
        if circuit is None or circuit.status is not CircuitStatus.PROVISIONING:
            continue
        before = CircuitStatus(link.status_before or CircuitStatus.DESIGNED)
        if before is CircuitStatus.RESERVED:
            circuit.status = CircuitStatus.DESIGNED
            release_design(session, circuit)  # designed → reserved, capacity given back
        else:
            circuit.status = before
    session.flush()


def mark_unreached(session: Session, job_id: int) -> None:
    """Devices the job left without an outcome: never reached, or cut off while committing."""
    rows = session.exec(select(JobDevice).where(col(JobDevice.job_id) == job_id)).all()
    for row in rows:
        if row.outcome is not DeviceOutcome.PENDING:
            continue
        if row.error == COMMITTING:
            row.outcome = DeviceOutcome.FAILED
            row.error = f"cut off while committing: {REVERT_NOTE}"
        else:
            row.outcome = DeviceOutcome.NOT_STARTED
