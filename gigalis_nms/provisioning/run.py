"""Running a provisioning job: plan in the database, render, diff, commit on every device or
on none, and record each step.

The steps, each recorded in the job before the next starts:

1. *plan*: a reserved circuit is designed; circuits to provision move to ``provisioning``;
2. *render*: the whole intended configuration of each end router of the circuits (base plus
   every service it carries, with these circuits in, or out for a deprovision);
3. *prepare*: on every router at once, the intended configuration is loaded as a candidate
   and compared with the running one; the diff is stored;
4. *commit* on the routers whose diff is not empty, with a revert timer, then *confirm* once
   all have committed; a failure anywhere rolls back every router that committed;
5. *finish*: circuits become ``active`` (or, deprovisioned, ``terminated`` with every holding
   released); after a failure they go back to where they were, a design made by the job
   undone.

A dry run does 1-3 in a transaction that is rolled back, discards the candidates and keeps
the diffs: nothing changes, neither in the database nor on a router.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from types import TracebackType

from nornir.core import Nornir
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import Conflict, GigalisError
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.holdings import release_all_holdings
from gigalis_nms.inventory.models import Circuit, Device, Interface
from gigalis_nms.provisioning.design import design_circuit, has_design, release_design
from gigalis_nms.provisioning.devices import (
    DeviceResult,
    JobAccess,
    Progress,
    commit_task,
    confirm_task,
    discard_task,
    missing_hosts,
    prepare_task,
    rollback_task,
    run_on,
)
from gigalis_nms.provisioning.jobs import (
    COMMITTING,
    HEARTBEAT_EVERY,
    REVERT_NOTE,
    ClaimedJob,
    JobView,
    beat,
    claim_job,
    finish_job,
    get_job,
    mark_unreached,
    restore_circuits,
    runner_identity,
    view_job,
)
from gigalis_nms.provisioning.lock import routers_to_myself
from gigalis_nms.provisioning.models import (
    DeviceOutcome,
    JobDevice,
    JobKind,
    JobState,
)
from gigalis_nms.provisioning.render import intended_configs

logger = logging.getLogger(__name__)

# Called with the hostnames about to be committed: the seam the lab tests use to make a
# router unreachable in the middle of a job. Production code passes nothing.
BeforeCommit = Callable[[Sequence[str]], None]


class JobFailed(Exception):
    """A step failed; the message names the device and the reason, for the job's record."""


class Heartbeat:
    """Writes the job's heartbeat from a background thread while the job runs."""

    def __init__(self, engine: Engine, job_id: int, runner: str) -> None:
        self._engine, self._job_id, self._runner = engine, job_id, runner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"job-{job_id}-heartbeat")

    def _loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY.total_seconds()):
            try:
                beat(self._engine, self._job_id, self._runner)
            except Exception:  # a missed beat is not a failed job; the next one may pass
                logger.warning("job %s: heartbeat not written", self._job_id, exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()


def run_job(
    engine: Engine,
    job_id: int,
    access: JobAccess,
    *,
    runner: str | None = None,
    progress: Progress | None = None,
    before_commit: BeforeCommit | None = None,
    wait_seconds: float = 0,
) -> JobView:
    """Claim a queued job, run it to its end, and return what it recorded. The routers are
    taken for the job (waiting up to ``wait_seconds`` for another job or drift check; then
    Conflict, the job still queued)."""
    runner = runner or runner_identity()
    _check_target(engine, job_id, access)
    with routers_to_myself(engine, runner, f"job {job_id}", wait_seconds=wait_seconds):
        claimed = claim_job(engine, job_id, runner)
        _run_claimed(
            engine, claimed, access, runner, progress=progress, before_commit=before_commit
        )
    with session_scope(engine, read_only=True) as session:
        return view_job(session, job_id)


def _check_target(engine: Engine, job_id: int, access: JobAccess) -> None:
    with session_scope(engine, read_only=True) as session:
        target = get_job(session, job_id).target
    if target is not None and target != access.target:
        raise Conflict.of(
            "target",
            f"job {job_id} works on the {target} routers, not the {access.target} ones: run it"
            f" from a process that reaches them{' (--lab)' if target == 'lab' else ''}",
        )


def _run_claimed(
    engine: Engine,
    claimed: ClaimedJob,
    access: JobAccess,
    runner: str,
    *,
    progress: Progress | None,
    before_commit: BeforeCommit | None,
) -> None:
    job_id = claimed.id
    with Heartbeat(engine, job_id, runner):
        try:
            _run(engine, claimed, access, progress, before_commit)
        except KeyboardInterrupt:
            # Ctrl-C, or SIGTERM turned into it by the command line: the job ends here, and
            # routers whose commit was not confirmed yet revert by themselves.
            _fail(engine, claimed, f"interrupted by {runner}; {REVERT_NOTE}")
            raise
        except Exception as exc:  # whatever happens, the job ends with the reason recorded
            if isinstance(exc, JobFailed):
                reason = str(exc)
            elif isinstance(exc, GigalisError):
                reason = "; ".join(map(str, exc.problems)) or exc.message
            else:
                logger.exception("job %s: unexpected error", job_id)
                reason = f"{type(exc).__name__}: {exc}"
            _fail(engine, claimed, reason)


def _fail(engine: Engine, job: ClaimedJob, reason: str) -> None:
    with session_scope(engine, actor=job.actor) as session:
        restore_circuits(session, job.id)
        mark_unreached(session, job.id)
        finish_job(session, job.id, JobState.FAILED, reason)


# --- plan and render ----------------------------------------------------------------------


def _circuits(session: Session, ids: Collection[int]) -> list[Circuit]:
    return list(
        session.exec(select(Circuit).where(col(Circuit.id).in_(ids)).order_by(col(Circuit.id)))
    )


def _plan(session: Session, job: ClaimedJob) -> None:
    """Design what is only reserved, and mark what is to be provisioned."""
    if job.kind is not JobKind.PROVISION:
        return
    for circuit in _circuits(session, job.circuit_ids):
        if circuit.status is CircuitStatus.RESERVED or not has_design(session, circuit):
            design_circuit(session, circuit, actor=job.actor)
        if circuit.status is CircuitStatus.DESIGNED:
            circuit.status = CircuitStatus.PROVISIONING
    session.flush()


def end_devices(session: Session, circuit_ids: Collection[int]) -> dict[str, int]:
    """Hostname → device id of the routers at the ends of the circuits: where they are
    configured (transit routers carry the VXLAN tunnel as plain routed traffic)."""
    rows = session.exec(
        select(Device.hostname, Device.id)
        .join(Interface, col(Interface.device_id) == col(Device.id))
        .join(
            Circuit,
            (col(Circuit.a_interface_id) == col(Interface.id))
            | (col(Circuit.z_interface_id) == col(Interface.id)),
        )
        .where(col(Circuit.id).in_(circuit_ids))
    ).all()
    return {hostname: int(device_id) for hostname, device_id in rows if device_id is not None}


def _render(session: Session, job: ClaimedJob, access: JobAccess) -> dict[str, str]:
    devices = end_devices(session, job.circuit_ids)
    include = job.circuit_ids if job.kind is JobKind.PROVISION else ()
    exclude = job.circuit_ids if job.kind is JobKind.DEPROVISION else ()
    return intended_configs(
        session,
        sorted(devices),
        base=access.base_configs(session),
        include=include,
        exclude=exclude,
    )


def _record_rendered(
    engine: Engine, job: ClaimedJob, configs: dict[str, str], ids: dict[str, int]
) -> None:
    with session_scope(engine, actor=job.actor) as session:
        existing = {
            d.hostname: d
            for d in session.exec(select(JobDevice).where(col(JobDevice.job_id) == job.id))
        }
        for hostname, config in configs.items():
            row = existing.get(hostname) or JobDevice(
                job_id=job.id, hostname=hostname, outcome=DeviceOutcome.PENDING
            )
            row.device_id, row.rendered_config = ids.get(hostname), config
            row.diff, row.outcome, row.error, row.finished_at = (
                "",
                DeviceOutcome.PENDING,
                None,
                None,
            )
            session.add(row)


def _plan_and_render(engine: Engine, job: ClaimedJob, access: JobAccess) -> dict[str, str]:
    if job.dry_run:
        # Everything the plan changes is undone: the session is never committed.
        with Session(engine, expire_on_commit=False) as session:
            session.info["actor"] = job.actor
            try:
                _plan(session, job)
                configs = _render(session, job, access)
                ids = end_devices(session, job.circuit_ids)
            finally:
                session.rollback()
    else:
        with session_scope(engine, actor=job.actor) as session:
            _plan(session, job)
        with session_scope(engine, actor=job.actor, read_only=True) as session:
            configs = _render(session, job, access)
            ids = end_devices(session, job.circuit_ids)
    _record_rendered(engine, job, configs, ids)
    return configs


# --- recording device outcomes --------------------------------------------------------------


def _record(
    engine: Engine,
    job: ClaimedJob,
    outcomes: Mapping[str, tuple[DeviceOutcome, str | None]],
    diffs: Mapping[str, str] | None = None,
) -> None:
    with session_scope(engine, actor=job.actor) as session:
        rows = session.exec(select(JobDevice).where(col(JobDevice.job_id) == job.id)).all()
        for row in rows:
            if diffs is not None and row.hostname in diffs:
                row.diff = diffs[row.hostname]
            if row.hostname in outcomes:
                row.outcome, row.error = outcomes[row.hostname]
                row.finished_at = utcnow()


def _failures(results: dict[str, DeviceResult]) -> list[DeviceResult]:
    return [result for result in results.values() if not result.ok]


def _describe(failures: Sequence[DeviceResult], step: str) -> str:
    return "; ".join(f"{f.hostname}: {step} failed: {f.error}" for f in failures)


# --- the device steps -----------------------------------------------------------------------


def _run(
    engine: Engine,
    job: ClaimedJob,
    access: JobAccess,
    progress: Progress | None,
    before_commit: BeforeCommit | None,
) -> None:
    configs = _plan_and_render(engine, job, access)
    hostnames = sorted(configs)
    with session_scope(engine, read_only=True) as session:
        refused = access.refusals(session, hostnames)
    if refused:
        raise JobFailed("; ".join(str(problem) for problem in refused))
    nornir = access.nornir(hostnames)
    try:
        unknown = missing_hosts(nornir, hostnames)
        if unknown:
            raise JobFailed(f"{', '.join(unknown)}: not reachable (not in the device inventory)")
        diffs = _prepare(engine, job, nornir, configs, progress)
        changed = sorted(host for host, diff in diffs.items() if diff)
        if job.dry_run:
            run_on(nornir, changed, discard_task)
            planned = {
                h: (DeviceOutcome.PLANNED if diffs[h] else DeviceOutcome.UNCHANGED, None)
                for h in hostnames
            }
            _record(engine, job, planned)
        else:
            _record(
                engine, job, {h: (DeviceOutcome.UNCHANGED, None) for h in hostnames if not diffs[h]}
            )
            if before_commit is not None:
                before_commit(changed)
            _commit_all_or_nothing(engine, job, nornir, changed)
    finally:
        nornir.close_connections(on_good=True, on_failed=True)
    with session_scope(engine, actor=job.actor) as session:
        if not job.dry_run:
            _finish_circuits(session, job)
        finish_job(session, job.id, JobState.SUCCEEDED, None)


def _prepare(
    engine: Engine,
    job: ClaimedJob,
    nornir: Nornir,
    configs: dict[str, str],
    progress: Progress | None,
) -> dict[str, str]:
    results = run_on(nornir, sorted(configs), prepare_task, progress, configs=configs)
    diffs = {host: str(result.value or "") for host, result in results.items() if result.ok}
    failures = _failures(results)
    if failures:
        prepared = [host for host, diff in diffs.items() if diff]
        run_on(nornir, prepared, discard_task)
        outcomes = {f.hostname: (DeviceOutcome.FAILED, f.error) for f in failures}
        outcomes |= dict.fromkeys(diffs, (DeviceOutcome.NOT_STARTED, None))
        _record(engine, job, outcomes, diffs)
        raise JobFailed(_describe(failures, "prepare"))
    _record(engine, job, {}, diffs)
    return diffs


def _commit_all_or_nothing(
    engine: Engine, job: ClaimedJob, nornir: Nornir, changed: list[str]
) -> None:
    message = f"gigalis job {job.id}"
    # Said before the commits go out, so that a job cut off now records where it was.
    _record(engine, job, dict.fromkeys(changed, (DeviceOutcome.PENDING, COMMITTING)))
    commits = run_on(nornir, changed, commit_task, message=message)
    committed = [host for host, result in commits.items() if result.ok]
    failures = _failures(commits)
    step = "commit"
    if not failures:
        pending = [host for host in committed if commits[host].value == "pending"]
        confirms = run_on(nornir, pending, confirm_task)
        failures = _failures(confirms)
        step = "confirm"
    if not failures:
        _record(engine, job, dict.fromkeys(committed, (DeviceOutcome.COMMITTED, None)))
        return

    failed = {f.hostname for f in failures}
    to_undo = [host for host in committed if host not in failed or step == "confirm"]
    undone = run_on(nornir, to_undo, rollback_task)
    outcomes = {f.hostname: (DeviceOutcome.FAILED, f.error) for f in failures}
    for host, result in undone.items():
        if result.ok:
            outcomes.setdefault(host, (DeviceOutcome.ROLLED_BACK, None))
        else:
            note = f"rollback failed: {result.error}; its revert timer undoes the commit"
            outcomes[host] = (DeviceOutcome.FAILED, note)
    _record(engine, job, outcomes)
    raise JobFailed(_describe(failures, step) + _undo_summary(undone))


def _undo_summary(undone: dict[str, DeviceResult]) -> str:
    back = sorted(host for host, result in undone.items() if result.ok)
    stuck = sorted(host for host, result in undone.items() if not result.ok)
    text = f"; rolled back: {', '.join(back)}" if back else ""
    if stuck:
        text += f"; rollback failed on {', '.join(stuck)} (they revert by themselves)"
    return text


# --- the circuits at the end ----------------------------------------------------------------


def _finish_circuits(session: Session, job: ClaimedJob) -> None:
    for circuit in _circuits(session, job.circuit_ids):
        if job.kind is JobKind.PROVISION:
            circuit.status = CircuitStatus.ACTIVE
        else:
            release_design(session, circuit)
            release_all_holdings(session, circuit)
            circuit.status = CircuitStatus.TERMINATED
        logger.info("circuit %s: %s by job %s", circuit.ref, circuit.status, job.id)
    session.flush()
