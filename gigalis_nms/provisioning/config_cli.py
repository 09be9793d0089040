"""`gigalis config …`: the routers' running configurations, backed up and compared."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from gigalis_nms.console import (
    console,
    database,
    quiet_device_libraries,
    reports_errors,
    settings,
)
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.lab.state import LabState, read_lab_state
from gigalis_nms.provisioning.access import InventoryAccess, LabAccess
from gigalis_nms.provisioning.backup import (
    BackupOutcome,
    BackupReport,
    diff_backups,
    list_backups,
    take_backups,
)
from gigalis_nms.provisioning.drift import DriftState, check_drift
from gigalis_nms.provisioning.nornir_inventory import open_nornir
from gigalis_nms.provisioning.progress import device_progress

config_app = typer.Typer(
    help="Router configurations: backups, and the differences between them.",
    no_args_is_help=True,
)

OUTCOME_STYLES = {
    BackupOutcome.FIRST: "green",
    BackupOutcome.CHANGED: "yellow",
    BackupOutcome.UNCHANGED: "dim",
    BackupOutcome.FAILED: "bold red",
}
SHORT_SHA = 12

# Options shared by the commands that reach routers.
Devices = Annotated[
    list[str] | None,
    typer.Option("--device", help="a device's hostname; repeat for several; default: every router"),
]
RuntimeDir = Annotated[
    Path | None,
    typer.Option(
        "--runtime-dir", help="the lab's state folder, with --lab (GIGALIS_LAB_RUNTIME_DIR)"
    ),
]


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


@config_app.command("backup")
@reports_errors
def backup(
    devices: Devices = None,
    lab: Annotated[
        bool, typer.Option("--lab", help="back up the running lab's routers instead")
    ] = False,
    runtime_dir: RuntimeDir = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Store the running configuration of every active or staged router (or those named),
    read in parallel; exits with 1 when any could not be read."""
    current = settings()
    state = running_lab(runtime_dir) if lab else None
    actor = cli_actor()
    # The report below names every failure and its reason, which a screen of Nornir's
    # tracebacks would bury.
    quiet_device_libraries()
    with database() as engine:
        nornir = open_nornir(
            database_url=current.resolved_database_url,
            devices=devices,
            lab_state=state,
            settings=current,
        )
        try:
            require_hosts(list(nornir.inventory.hosts), devices, lab=lab)
            total = len(nornir.inventory.hosts)
            if total == 0:
                console.print("No active or staged device to back up.")
                return
            with (
                device_progress(total, "backing up", enabled=False if quiet else None) as done,
                session_scope(engine, actor=actor) as session,
            ):
                report = take_backups(session, nornir, actor=actor, progress=done)
        finally:
            nornir.close_connections(on_good=True, on_failed=True)
    print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def running_lab(runtime_dir: Path | None) -> LabState:
    runtime_dir = runtime_dir or settings().lab_runtime_dir
    try:
        state = read_lab_state(runtime_dir)
    except (OSError, ValueError) as error:
        raise InvalidInput.of("--runtime-dir", f"cannot read the lab's state: {error}") from None
    if state is None:
        raise InvalidInput.of(
            "--lab", f"no lab is up (no state in {runtime_dir}); `gigalis lab up` builds one"
        )
    return state


def require_hosts(hosts: list[str], wanted: list[str] | None, *, lab: bool) -> None:
    """Every device asked for by name is there, or the command says which are not."""
    missing = [name for name in wanted or () if name not in hosts]
    if missing:
        where = "routers of the running lab" if lab else "devices"
        raise NotFound.of(
            "--device", f"{', '.join(missing)}: not among the active or staged {where}"
        )


def print_report(report: BackupReport) -> None:
    table = Table(
        "device", "outcome", "backup", "taken at", "sha256", "error", title_justify="left"
    )
    table.title = f"Configuration backups ({len(report.devices)} devices)"
    for device in report.devices:
        style = OUTCOME_STYLES[device.outcome]
        table.add_row(
            device.hostname,
            f"[{style}]{device.outcome}[/]",
            str(device.backup_id or ""),
            utc(device.taken_at) if device.taken_at else "",
            (device.sha256 or "")[:SHORT_SHA],
            escape(device.error or ""),
        )
    console.print(table)
    summary = failure_summary(len(report.failed), len(report.devices))
    if summary:
        console.print(summary)


def failure_summary(failed: int, total: int) -> str | None:
    """The line under a backup report that has failures.

    >>> failure_summary(1, 4)
    '[bold red]1 of 4 devices failed;[/] the others were backed up.'
    >>> failure_summary(4, 4)
    '[bold red]All 4 devices failed;[/] nothing was backed up.'
    >>> failure_summary(1, 1)
    '[bold red]The device failed;[/] nothing was backed up.'
    """
    if not failed:
        return None
    if failed < total:
        return f"[bold red]{failed} of {total} devices failed;[/] the others were backed up."
    who = "The device" if total == 1 else f"All {total} devices"
    return f"[bold red]{who} failed;[/] nothing was backed up."


@config_app.command("backups")
@reports_errors
def backups(
    device: Annotated[str | None, typer.Option("--device", help="one device's hostname")] = None,
    # As `gigalis job list --limit`: a page of 1 to 1000, never "all", which on a network
    # backed up daily would list every backup ever taken.
    limit: Annotated[int, typer.Option(help="newest backups shown", min=1, max=1000)] = 50,
) -> None:
    """List the stored backups, newest first."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        found = list_backups(session, device, limit=limit)
    table = Table("id", "device", "taken at", "taken by", "sha256", "size", title_justify="left")
    table.title = f"Backups ({len(found)})"
    for item in found:
        table.add_row(
            str(item.id),
            item.hostname,
            utc(item.taken_at),
            escape(item.taken_by),
            item.sha256[:SHORT_SHA],
            f"{item.size} chars",
        )
    console.print(table)


@config_app.command("diff")
@reports_errors
def diff(
    first: Annotated[int, typer.Argument(help="id of the older backup")],
    second: Annotated[int, typer.Argument(help="id of the newer backup")],
) -> None:
    """Show the unified diff between two backups (see `gigalis config backups` for ids)."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        text = diff_backups(session, first, second)
    if not text:
        console.print(f"No difference: backups {first} and {second} hold the same configuration.")
        return
    # Plain text, not rich: a diff is piped to files and tools, and must stay byte-exact.
    typer.echo(text, nl=False)


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


DRIFT_STYLES = {
    DriftState.IN_SYNC: "green",
    DriftState.DRIFTED: "yellow",
    DriftState.COMMIT_PENDING: "cyan",
    DriftState.UNREACHABLE: "bold red",
}


@config_app.command("drift")
@reports_errors
def drift(
    devices: Devices = None,
    lab: Annotated[
        bool, typer.Option("--lab", help="check the running lab's routers instead")
    ] = False,
    runtime_dir: RuntimeDir = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar, no diffs")] = False,
) -> None:
    """Compare each router's running configuration with the one Gigalis intends for it (base
    and provisioned circuits), all routers in parallel. Exits with 1 when any router drifted
    or could not be read."""
    current = settings()
    quiet_device_libraries()  # the table below names every unreachable router and why
    with database() as engine:
        url = engine.url.render_as_string(hide_password=False)
        if lab:
            access: LabAccess | InventoryAccess = LabAccess(url, running_lab(runtime_dir))
        else:
            access = InventoryAccess(url, current.device_credentials_file)
        with session_scope(engine, read_only=True) as session:
            hostnames = devices or list(access.base_configs(session).hostnames)
        with device_progress(len(hostnames), "drift", enabled=not quiet) as done:
            report = check_drift(engine, access, hostnames, progress=done)
    for device in report.drifted:
        if not quiet:
            console.rule(device.hostname)
            console.print(Syntax(device.diff, "diff", word_wrap=True))
    table = Table("device", "state", "reason", title="drift")
    for device in report.devices:
        style = DRIFT_STYLES[device.state]
        table.add_row(device.hostname, f"[{style}]{device.state}[/]", escape(device.error or ""))
    console.print(table)
    if not report.clean:
        raise typer.Exit(1)
