"""`gigalis circuit …` and `gigalis job …`: design, provision and deprovision circuits, and
read the jobs that did it.

The commands run their job in this process, from start to end, and print each device's diff
and outcome; the API queues the same jobs for the worker inside `gigalis serve`.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.syntax import Syntax
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.console import (
    console,
    database,
    errors,
    quiet_device_libraries,
    reports_errors,
    settings,
)
from gigalis_nms.db import migrate, session_scope
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.cli import cli_actor
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.lab.state import read_lab_state
from gigalis_nms.provisioning.access import InventoryAccess, LabAccess
from gigalis_nms.provisioning.credentials import check_credentials
from gigalis_nms.provisioning.design import (
    describe_design,
    design_circuit,
    design_of,
    undesign_circuit,
)
from gigalis_nms.provisioning.devices import Progress
from gigalis_nms.provisioning.jobs import (
    REVERT_NOTE,
    JobView,
    cancel_job,
    circuit_by_ref,
    create_job,
    list_jobs,
    next_queued_job,
    recover_interrupted_jobs,
    view_job,
)
from gigalis_nms.provisioning.models import DeviceOutcome, JobKind, JobState, PathMetric
from gigalis_nms.provisioning.progress import device_progress
from gigalis_nms.provisioning.run import JobAccess, end_devices, run_job

circuit_app = typer.Typer(help="Design, provision and deprovision circuits.", no_args_is_help=True)
job_app = typer.Typer(
    help="Provisioning jobs: what they changed, and how they ended.", no_args_is_help=True
)

Refs = Annotated[list[str], typer.Argument(help="circuit references, e.g. GIG-ETH-000027")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="show the diffs; change nothing")]
Lab = Annotated[
    bool, typer.Option("--lab", help="work on the running lab's routers instead of production")
]
RuntimeDir = Annotated[
    Path | None,
    typer.Option(
        "--runtime-dir", help="the lab's state folder, with --lab (GIGALIS_LAB_RUNTIME_DIR)"
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar, no diffs")]

# How long a command waits for another job or drift check to end before it gives up.
WAIT_FOR_ROUTERS = 300.0

OUTCOME_STYLE = {
    DeviceOutcome.COMMITTED: "green",
    DeviceOutcome.UNCHANGED: "dim",
    DeviceOutcome.PLANNED: "cyan",
    DeviceOutcome.ROLLED_BACK: "yellow",
    DeviceOutcome.FAILED: "red",
    DeviceOutcome.NOT_STARTED: "dim",
    DeviceOutcome.PENDING: "dim",
}


def job_access(engine: Engine, *, lab: bool, runtime_dir: Path | None = None) -> JobAccess:
    """The routers a command works on: the running lab's, or production's."""
    url = engine.url.render_as_string(hide_password=False)
    current = settings()
    if not lab:
        check_credentials(current)
        return InventoryAccess(url, current.device_credentials_file)
    runtime_dir = runtime_dir or current.lab_runtime_dir
    state = read_lab_state(runtime_dir)
    if state is None:
        raise InvalidInput.of("lab", f"no lab is up (no state in {runtime_dir}): `gigalis lab up`")
    return LabAccess(url, state)


@contextmanager
def _ready_database(*, recover: bool = False) -> Iterator[Engine]:
    """The database, migrated; ``recover``: also take over the jobs of stopped processes
    (only commands that run jobs do: reading jobs changes nothing)."""
    with database() as engine:
        migrate.upgrade(engine)
        if recover:
            recover_interrupted_jobs(engine, actor=cli_actor())
        yield engine


def _interruptible() -> None:
    """SIGTERM ends a job the way Ctrl-C does: recorded as failed, not left running. Also
    keeps Nornir's and paramiko's tracebacks off the screen: the job reports each device."""
    quiet_device_libraries()

    def interrupt(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _run_to_end(engine: Engine, job_id: int, access: JobAccess, progress: Progress) -> JobView:
    try:
        return run_job(engine, job_id, access, progress=progress, wait_seconds=WAIT_FOR_ROUTERS)
    except KeyboardInterrupt:
        errors.print(f"interrupted: job {job_id} failed; {REVERT_NOTE}")
        # Device threads still waiting on a router would hold the process until their
        # timeout; the job is recorded, so leave now.
        os._exit(130)


def _run(
    kind: JobKind,
    refs: list[str],
    *,
    dry_run: bool,
    lab: bool,
    quiet: bool,
    runtime_dir: Path | None,
) -> None:
    _interruptible()
    with _ready_database(recover=True) as engine:
        access = job_access(engine, lab=lab, runtime_dir=runtime_dir)
        with session_scope(engine, actor=cli_actor()) as session:
            job = create_job(
                session, kind, refs, actor=cli_actor(), dry_run=dry_run, target=access.target
            )
            ids = [c.id for c in _circuits_of(session, refs) if c.id is not None]
            devices = end_devices(session, ids)
        assert job.id is not None
        job_id = job.id
        label = f"{'dry run: ' if dry_run else ''}{kind} {', '.join(refs)}"
        with device_progress(len(devices), label, enabled=not quiet) as advance:
            view = _run_to_end(engine, job_id, access, advance)
    print_job(view, diffs=not quiet)
    if view.state is not JobState.SUCCEEDED:
        raise typer.Exit(1)


def print_job(view: JobView, *, diffs: bool = True, configs: bool = False) -> None:
    """A job as an engineer reads it: per device the diff and the outcome, then the verdict."""
    for device in view.devices:
        if configs:
            console.rule(f"{device.hostname}: intended configuration")
            console.print(Syntax(device.rendered_config, "text", word_wrap=True))
        if diffs and device.diff:
            console.rule(device.hostname)
            console.print(Syntax(device.diff, "diff", word_wrap=True))
    table = Table("device", "outcome", "reason", title=f"job {view.id}: {view.kind}")
    for device in view.devices:
        style = OUTCOME_STYLE.get(device.outcome, "")
        table.add_row(device.hostname, f"[{style}]{device.outcome}[/]", device.error or "")
    console.print(table)
    circuits = ", ".join(f"{c.ref} {c.status_before} → {c.status_after}" for c in view.circuits)
    colour = "green" if view.state is JobState.SUCCEEDED else "red"
    console.print(f"[{colour}]{view.state}[/]{' (dry run)' if view.dry_run else ''}: {circuits}")
    if view.error:
        console.print(f"[red]{view.error}[/]", soft_wrap=True)


@circuit_app.command("design")
@reports_errors
def design(
    ref: Annotated[str, typer.Argument(help="a reserved circuit's reference")],
    metric: Annotated[
        PathMetric, typer.Option(help="shortest by IS-IS metric or by fibre length")
    ] = PathMetric.IGP,
    show: Annotated[
        bool, typer.Option("--show", help="show the design only; change nothing")
    ] = False,
) -> None:
    """Design a reserved circuit: its path (and protection path), its VNI and ports, and hold
    its bandwidth on every link, in one transaction."""
    with _ready_database() as engine, session_scope(engine, actor=cli_actor()) as session:
        circuit = circuit_by_ref(session, ref)
        if not show:
            design_circuit(session, circuit, actor=cli_actor(), metric=metric)
        console.print(describe_design(design_of(session, circuit)))


def _circuits_of(session: Session, refs: list[str]) -> list[Circuit]:
    return list(session.exec(select(Circuit).where(col(Circuit.ref).in_(refs))))


@circuit_app.command("undesign")
@reports_errors
def undesign(ref: Annotated[str, typer.Argument(help="a reserved or designed circuit")]) -> None:
    """Give back a design: its path, VNI and held bandwidth; the circuit is reserved again
    (a provisioned circuit is deprovisioned instead)."""
    with _ready_database() as engine, session_scope(engine, actor=cli_actor()) as session:
        undesign_circuit(session, circuit_by_ref(session, ref))
    console.print(f"{ref}: reserved; its design and bandwidth are released")


@circuit_app.command("provision")
@reports_errors
def provision(
    refs: Refs,
    dry_run: DryRun = False,
    lab: Lab = False,
    runtime_dir: RuntimeDir = None,
    quiet: Quiet = False,
) -> None:
    """Configure circuits on their routers: render, show the diff per router, commit on all of
    them or on none. A reserved circuit is designed first. Several circuits make one bulk job:
    each router is changed once for all of them."""
    _run(JobKind.PROVISION, refs, dry_run=dry_run, lab=lab, quiet=quiet, runtime_dir=runtime_dir)


@circuit_app.command("deprovision")
@reports_errors
def deprovision(
    refs: Refs,
    dry_run: DryRun = False,
    lab: Lab = False,
    runtime_dir: RuntimeDir = None,
    quiet: Quiet = False,
) -> None:
    """Remove circuits from their routers (all or none), then terminate them and release every
    resource they hold."""
    _run(JobKind.DEPROVISION, refs, dry_run=dry_run, lab=lab, quiet=quiet, runtime_dir=runtime_dir)


@job_app.command("list")
@reports_errors
def list_(
    circuit: Annotated[str | None, typer.Option(help="only jobs on this circuit")] = None,
    state: Annotated[JobState | None, typer.Option(help="only jobs in this state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Jobs, newest first."""
    with _ready_database() as engine, session_scope(engine, read_only=True) as session:
        count, jobs = list_jobs(session, circuit_ref=circuit, state=state, limit=limit)
        views = [view_job(session, job.id) for job in jobs if job.id is not None]
    table = Table(
        "id", "kind", "state", "circuits", "by", "created", "error", title=f"{count} jobs"
    )
    for view in views:
        kind = f"{view.kind}{' (dry run)' if view.dry_run else ''}"
        refs = ", ".join(c.ref for c in view.circuits)
        table.add_row(
            str(view.id),
            kind,
            str(view.state),
            refs,
            view.requested_by,
            f"{view.created_at:%Y-%m-%d %H:%M:%S}",
            (view.error or "")[:80],
        )
    console.print(table)


@job_app.command("show")
@reports_errors
def show(
    job_id: Annotated[int, typer.Argument(help="the job's id")],
    configs: Annotated[
        bool, typer.Option("--configs", help="also the rendered configurations")
    ] = False,
) -> None:
    """One job: per device the diff, the outcome and the reason."""
    with _ready_database() as engine, session_scope(engine, read_only=True) as session:
        view = view_job(session, job_id)
    print_job(view, configs=configs)


@job_app.command("cancel")
@reports_errors
def cancel(job_id: Annotated[int, typer.Argument(help="a queued job's id")]) -> None:
    """Cancel a queued job before it runs (a running job ends with its process: interrupt
    that process, and its routers revert)."""
    with _ready_database() as engine, session_scope(engine, actor=cli_actor()) as session:
        cancel_job(session, job_id, actor=cli_actor())
    console.print(f"job {job_id} cancelled")


@job_app.command("resume")
@reports_errors
def resume(
    lab: Lab = False,
    runtime_dir: RuntimeDir = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no diffs")] = False,
) -> None:
    """Resume the jobs left by a process that stopped, and run every queued job."""
    _interruptible()
    failed = False
    with _ready_database(recover=True) as engine:
        access = job_access(engine, lab=lab, runtime_dir=runtime_dir)
        while (job_id := next_queued_job(engine, access.target)) is not None:
            view = _run_to_end(engine, job_id, access, lambda _host, _ok: None)
            print_job(view, diffs=not quiet)
            failed = failed or view.state is not JobState.SUCCEEDED
    if failed:
        raise typer.Exit(1)
