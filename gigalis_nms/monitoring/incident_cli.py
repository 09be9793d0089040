"""`gigalis incident …` and `gigalis maintenance …`: the NOC's incidents, with the outages they
caused and their causes, and maintenance windows with the circuits and operators they affect.

Times are shown, and read when given without an offset, in Europe/Paris: the NOC's and the
operators' clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gigalis_nms.auth.cli import find_organisation
from gigalis_nms.catalogue.loader import cached_catalogue, catalogue_path
from gigalis_nms.console import console, database, reports_errors, settings
from gigalis_nms.db import session_scope
from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.inventory.cli import cli_actor
from gigalis_nms.monitoring.calendar import PARIS
from gigalis_nms.monitoring.incidents import (
    IncidentState,
    IncidentView,
    list_incidents,
    reclassify,
    view_incident,
)
from gigalis_nms.monitoring.maintenance import (
    WindowState,
    WindowView,
    cancel_window,
    declare_window,
    list_windows,
    view_window,
)
from gigalis_nms.monitoring.models import SubjectKind
from gigalis_nms.monitoring.report import StoredCounts
from gigalis_nms.monitoring.sla import OutageCause

incident_app = typer.Typer(
    help="Incidents: the outages they caused, and their causes.", no_args_is_help=True
)
maintenance_app = typer.Typer(
    help="Maintenance windows: planned work and the circuits it affects.", no_args_is_help=True
)

IncidentArgument = Annotated[int, typer.Argument(help="the incident's id")]
WindowArgument = Annotated[int, typer.Argument(help="the maintenance window's id")]


def paris(moment: datetime | None) -> str:
    """An instant as the NOC reads it.

    >>> from datetime import UTC
    >>> paris(datetime(2026, 7, 1, 20, 0, tzinfo=UTC)), paris(None)
    ('2026-07-01 22:00', '')
    """
    return moment.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") if moment else ""


def duration(seconds: int) -> str:
    """
    >>> duration(59), duration(3_725), duration(90_000)
    ('0:00:59', '1:02:05', '1 d 1:00:00')
    """
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days} d {text}" if days else text


def moment_of(text: str, field: str) -> datetime:
    """An ISO date and time; without an offset, Paris time.

    >>> moment_of("2026-12-10T22:00", "start").isoformat()
    '2026-12-10T22:00:00+01:00'
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput.of(
            field, f"{text!r} is not a date and time like 2026-12-10T22:00"
        ) from None
    if moment.tzinfo is not None:
        return moment
    return _paris_wall_clock(moment, text, field)


def _paris_wall_clock(moment: datetime, text: str, field: str) -> datetime:
    """A Paris wall-clock time, refused where it names no instant or two: the hour the
    clocks skip in March, the hour they repeat in October.

    >>> _paris_wall_clock(datetime(2027, 3, 28, 2, 30), "2027-03-28T02:30", "--start")
    Traceback (most recent call last):
    ...
    gigalis_nms.errors.InvalidInput: --start: 2027-03-28T02:30 does not exist in Paris (the clocks go forward); give an offset, e.g. 2027-03-28T02:30+01:00
    """  # noqa: E501 - a doctest's expected line is as long as the message
    early = moment.replace(tzinfo=PARIS, fold=0)
    late = moment.replace(tzinfo=PARIS, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early
    skipped = early.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != moment
    why = (
        "does not exist in Paris (the clocks go forward)"
        if skipped
        else ("happens twice in Paris (the clocks go back)")
    )
    raise InvalidInput.of(field, f"{text} {why}; give an offset, e.g. {text}+01:00")


# The command line's names of the fields the domain functions refuse.
DECLARE_OPTIONS = {
    "starts_at": "--start",
    "ends_at": "--end",
    "reason": "--reason",
    "reference": "--ref",
    "subject": "--device/--cable/--site",
}
RECLASSIFY_OPTIONS = {
    "comment": "--comment",
    "cause": "--cause",
    "maintenance_window_id": "--window",
}


@contextmanager
def options_named(names: dict[str, str]) -> Iterator[None]:
    """Refusals name the command's options, as the user typed them, not the fields of the
    functions behind them."""
    try:
        yield
    except InvalidInput as refused:
        problems = [
            FieldProblem(names.get(problem.field, problem.field), problem.reason, problem.location)
            for problem in refused.problems
        ]
        raise InvalidInput("; ".join(map(str, problems)), problems) from None


# --- incidents ---------------------------------------------------------------------------


@incident_app.command("list")
@reports_errors
def list_incidents_command(
    open_only: Annotated[bool, typer.Option("--open", help="only incidents still open")] = False,
    operator: Annotated[
        str | None, typer.Option(help="only those of this operator (name or id)")
    ] = None,
    circuit: Annotated[str | None, typer.Option(help="only those of this circuit")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many")] = 50,
) -> None:
    """Incidents, newest first."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        operator_id = find_organisation(session, operator).id if operator else None
        count, views = list_incidents(
            session,
            state=IncidentState.OPEN if open_only else None,
            circuit=circuit,
            operator_id=operator_id,
            limit=limit,
        )
    table = Table("id", "opened", "closed", "failing", "cause", "circuits", "longest")
    for view in views:
        table.add_row(
            str(view.id),
            paris(view.opened_at),
            paris(view.closed_at) or "[red]open[/]",
            escape(view.failing),
            view.cause.value,
            str(len(view.outages)),
            duration(max((o.duration_seconds for o in view.outages), default=0)),
        )
    console.print(table)
    console.print(f"{len(views)} of {count} incidents")


@incident_app.command("show")
@reports_errors
def show_incident(incident_id: IncidentArgument) -> None:
    """One incident: what failed, its cause, and each circuit's outage."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        view = view_incident(session, incident_id)
    print_incident(view)


def print_incident(view: IncidentView) -> None:
    closed = paris(view.closed_at) or "[red]open[/]"
    console.print(
        f"incident {view.id}: {escape(view.failing)}, {paris(view.opened_at)} → {closed}",
        highlight=False,
    )
    window = f" (window {view.maintenance_window_id})" if view.maintenance_window_id else ""
    console.print(f"  cause: [bold]{view.cause.value}[/]{window}")
    if view.classified_by:
        console.print(
            f"  classified by {escape(view.classified_by)} at {paris(view.classified_at)}: "
            f"{escape(view.comment or '')}",
            highlight=False,
        )
    table = Table("circuit", "operator", "down", "up", "duration", title="outages")
    for outage in view.outages:
        table.add_row(
            outage.circuit,
            escape(outage.operator),
            paris(outage.started_at),
            paris(outage.ended_at) or "[red]down[/]",
            duration(outage.duration_seconds),
        )
    console.print(table)


@incident_app.command("reclassify")
@reports_errors
def reclassify_command(
    incident_id: IncidentArgument,
    cause: Annotated[OutageCause, typer.Option(help="what really caused it")],
    comment: Annotated[str, typer.Option(help="why; kept with the change")],
    window: Annotated[
        int | None, typer.Option(help="for --cause planned: the maintenance window's id")
    ] = None,
) -> None:
    """Give an incident its real cause (customer, force_majeure, planned, unplanned); the
    change is audited."""
    with (
        database() as engine,
        session_scope(engine, actor=cli_actor()) as session,
        options_named(RECLASSIFY_OPTIONS),
    ):
        restated = reclassify(
            session,
            incident_id,
            cause,
            comment,
            cli_actor(),
            catalogue=cached_catalogue(catalogue_path(settings())),
            maintenance_window_id=window,
        )
        view = view_incident(session, incident_id)
    print_incident(view)
    print_restated(restated)


def print_restated(restated: list[StoredCounts]) -> None:
    """Stored monthly SLA results computed again; billed ones are the bill's and stay."""
    for counts in restated:
        console.print(
            f"SLA {counts.month}: {counts.updated} stored results restated,"
            f" {counts.unchanged} unchanged",
            highlight=False,
        )
        if counts.kept:
            console.print(
                f"[yellow]SLA {counts.month}: {counts.kept} results already billed were kept as"
                " billed: a correction is a credit note, made by billing[/]"
            )


# --- maintenance windows ------------------------------------------------------------------


@maintenance_app.command("declare")
@reports_errors
def declare(
    *,
    start: Annotated[str, typer.Option(help="e.g. 2026-12-10T22:00 (Paris time without offset)")],
    end: Annotated[str, typer.Option(help="at most 7 days after the start")],
    reason: Annotated[str, typer.Option(help="what the work is, for the operators")],
    device: Annotated[str | None, typer.Option(help="a router's hostname")] = None,
    cable: Annotated[str | None, typer.Option(help="a fibre cable's code")] = None,
    site: Annotated[str | None, typer.Option(help="a site's code")] = None,
    ref: Annotated[str | None, typer.Option(help="a change ticket")] = None,
) -> None:
    """Declare work on one router, cable or site, and print the circuits and operators it
    affects."""
    kind, subject = _subject(device, cable, site)
    starts_at, ends_at = moment_of(start, "--start"), moment_of(end, "--end")
    with (
        database() as engine,
        session_scope(engine, actor=cli_actor()) as session,
        options_named(DECLARE_OPTIONS),
    ):
        window = declare_window(
            session,
            subject_kind=kind,
            subject=subject,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            reference=ref,
            actor=cli_actor(),
        )
        view = view_window(session, window)
    print_window(view)


def _subject(device: str | None, cable: str | None, site: str | None) -> tuple[SubjectKind, str]:
    given = [
        (kind, name)
        for kind, name in (
            (SubjectKind.DEVICE, device),
            (SubjectKind.CABLE, cable),
            (SubjectKind.SITE, site),
        )
        if name is not None
    ]
    if len(given) != 1:
        raise InvalidInput.of("--device", "give exactly one of --device, --cable and --site")
    return given[0]


@maintenance_app.command("list")
@reports_errors
def list_windows_command(
    every: Annotated[bool, typer.Option("--all", help="also windows ended or cancelled")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many")] = 50,
) -> None:
    """Maintenance windows to come and in progress (with --all, every one), latest first."""
    states = () if every else (WindowState.SCHEDULED, WindowState.IN_PROGRESS)
    with database() as engine, session_scope(engine, read_only=True) as session:
        count, views = list_windows(session, states=states, limit=limit)
    table = Table("id", "on", "from", "to", "state", "circuits", "operators", "reason")
    for view in views:
        table.add_row(
            str(view.id),
            f"{view.subject_kind.value} {escape(view.subject)}",
            paris(view.starts_at),
            paris(view.ends_at),
            view.state.value,
            str(len(view.circuits)),
            escape(", ".join(view.operators)),
            escape(view.reason),
        )
    console.print(table)
    console.print(f"{len(views)} of {count} windows")


@maintenance_app.command("show")
@reports_errors
def show_window(window_id: WindowArgument) -> None:
    """One window with the circuits and operators it affects."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        view = view_window(session, window_id)
    print_window(view)


@maintenance_app.command("cancel")
@reports_errors
def cancel(window_id: WindowArgument) -> None:
    """Call the work off before the window ends: it makes no new outage planned."""
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        view = view_window(session, cancel_window(session, window_id, cli_actor()))
    print_window(view)


def print_window(view: WindowView) -> None:
    reference = f" [{escape(view.reference)}]" if view.reference else ""
    console.print(
        f"maintenance window {view.id} on {view.subject_kind.value} {escape(view.subject)}"
        f"{reference}: {paris(view.starts_at)} → {paris(view.ends_at)} (Paris), "
        f"[bold]{view.state.value}[/]",
        highlight=False,
    )
    console.print(f"  {escape(view.reason)}", highlight=False)
    if view.cancelled_at:
        console.print(
            f"  cancelled by {escape(view.cancelled_by or '?')} at {paris(view.cancelled_at)}"
        )
    table = Table("circuit", "operator", "status", "protected", "impact", title="circuits")
    for circuit in view.circuits:
        table.add_row(
            circuit.ref,
            escape(circuit.operator),
            circuit.status.value,
            "yes" if circuit.protected else "no",
            "at risk (one path)" if circuit.at_risk_only else "[red]down[/]",
        )
    console.print(table)
    operators = ", ".join(view.operators) or "none"
    console.print(f"{len(view.circuits)} circuits; operators: {escape(operators)}")
