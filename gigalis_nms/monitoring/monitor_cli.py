"""`gigalis monitor …`: what the poller sees, at a glance, and one poll on demand.

- ``status``: routers that do not answer, backbone links and circuits that are down or
  unknown, the poller's last round — what a NOC engineer looks at first.
- ``poll``: one round now, with the routers ``GIGALIS_DEVICES`` names, recorded as the
  poller would (to check a fix without waiting for the next round).
- ``events``: the latest changes of state, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session

from gigalis_nms.console import console, database, reports_errors, settings
from gigalis_nms.db import session_scope
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.tables import CIRCUIT, DEVICE, LINK
from gigalis_nms.monitoring.incident_cli import paris
from gigalis_nms.monitoring.models import (
    CircuitState,
    DevicePoll,
    LinkState,
    MonitoringEvent,
    ObservedState,
    PollerStatus,
)
from gigalis_nms.monitoring.poller import NotPolling, poll_once, poller_access

monitor_app = typer.Typer(
    help="What the poller sees: routers, links and circuits not up; one poll on demand.",
    no_args_is_help=True,
)

NOT_UP = (ObservedState.DOWN, ObservedState.UNKNOWN)


@monitor_app.command("status")
@reports_errors
def status_command(
    unknown: Annotated[
        bool, typer.Option("--unknown", help="also links and circuits whose state is unknown")
    ] = False,
) -> None:
    """Routers not answering, links and circuits down (and unknown), and the last round."""
    states = NOT_UP if unknown else (ObservedState.DOWN,)
    with database() as engine, session_scope(engine, read_only=True) as session:
        _print_poller(session)
        _print_silent(session)
        for what, table, key, named in (
            ("backbone links", table_of(LinkState), "backbone_link_id", LINK),
            ("circuits", table_of(CircuitState), "circuit_id", CIRCUIT),
        ):
            _print_not_up(session, what, states, Followed(table, key, named))


def _print_poller(session: Session) -> None:
    status = session.get(PollerStatus, 1)
    if status is None or status.last_round_started_at is None:
        console.print("The poller has not completed a round yet.")
        return
    console.print(
        f"Last round {paris(status.last_round_started_at)} (Paris) by {status.runner}:"
        f" {status.last_round_devices} routers in {status.last_round_seconds or 0:.1f} s,"
        f" {status.last_round_failed_devices} silent; {status.rounds_total} rounds in all."
    )


def _print_silent(session: Session) -> None:
    poll = table_of(DevicePoll)
    query = (
        sa.select(DEVICE.c.hostname, poll.c.since, poll.c.error)
        .join(poll, poll.c.device_id == DEVICE.c.id)
        .where(poll.c.reachable.is_(False))
        .order_by(DEVICE.c.hostname)
    )
    rows = list(execute_core(session, query))
    if not rows:
        console.print("Every polled router answers.")
        return
    table = Table("router", "silent since (Paris)", "last error", title="Routers not answering")
    for row in rows:
        table.add_row(row.hostname, paris(row.since), escape(row.error or ""))
    console.print(table)


@dataclass(frozen=True)
class Followed:
    """A table of derived states, its key, and the table that names what it follows."""

    states: sa.Table
    key: str
    named: sa.Table


def _print_not_up(
    session: Session, what: str, shown: tuple[ObservedState, ...], followed: Followed
) -> None:
    states, named = followed.states, followed.named
    name = named.c.code if "code" in named.c else named.c.ref
    query = (
        sa.select(name.label("name"), states.c.state, states.c.since, states.c.reason)
        .join(named, named.c.id == states.c[followed.key])
        .where(states.c.state.in_(shown))
        .order_by(states.c.state, name)
    )
    rows = list(execute_core(session, query))
    if not rows:
        console.print(f"No {what} {' or '.join(map(str, shown))}.")
        return
    table = Table(what[:-1], "state", "since (Paris)", "why", title=f"{what.capitalize()} not up")
    for row in rows:
        table.add_row(row.name, str(row.state), paris(row.since), escape(row.reason or ""))
    console.print(table)


@monitor_app.command("poll")
@reports_errors
def poll_command() -> None:
    """Poll every router once now and record what changed, as the poller does."""
    current = settings()
    with database() as engine:
        try:
            summary = poll_once(engine, poller_access(current, engine))
        except NotPolling as refused:
            raise InvalidInput(f"not polling: {refused}", refused.problems) from None
    console.print(
        f"{summary.devices} routers read in {summary.seconds:.1f} s"
        f" ({len(summary.failed_devices)} silent: {', '.join(summary.failed_devices) or 'none'});"
        f" {summary.events} changes recorded; incidents opened {summary.incidents_opened or '–'},"
        f" closed {summary.incidents_closed or '–'}; {summary.circuits_down} circuits in an"
        " outage."
    )


@monitor_app.command("events")
@reports_errors
def events_command(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="how many")] = 50,
    kind: Annotated[
        str | None,
        typer.Option(help="device, interface, neighbour, link or circuit"),
    ] = None,
) -> None:
    """The latest changes of state the poller recorded, newest first."""
    kinds = ("device", "interface", "neighbour", "link", "circuit")
    if kind is not None and kind not in kinds:
        raise InvalidInput.of("--kind", f"{kind!r} is not one of {', '.join(kinds)}")
    event = table_of(MonitoringEvent)
    query = sa.select(event).order_by(event.c.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(event.c.kind == kind)
    with database() as engine, session_scope(engine, read_only=True) as session:
        rows = list(execute_core(session, query))
    table = Table("at (Paris)", "kind", "what", "from", "to", "detail")
    for row in rows:
        table.add_row(
            paris(row.at),
            row.kind,
            escape(row.subject),
            row.from_state or "",
            row.to_state,
            escape(row.detail or ""),
        )
    console.print(table)
