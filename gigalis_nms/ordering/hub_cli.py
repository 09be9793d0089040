"""`gigalis hub`: the notification callbacks, the delivery log, and retrying a delivery."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gigalis_nms.console import console, database, reports_errors
from gigalis_nms.db import session_scope
from gigalis_nms.db.listing import fetch_page, parse_filters
from gigalis_nms.inventory.cli import cli_actor
from gigalis_nms.ordering import hub
from gigalis_nms.ordering.models import DeliveryState

app = typer.Typer(help="Notification callbacks and their delivery log.", no_args_is_help=True)

STATE_STYLE = {
    DeliveryState.PENDING: "yellow",
    DeliveryState.DELIVERED: "green",
    DeliveryState.ABANDONED: "red",
}


@app.command("list")
@reports_errors
def list_callbacks() -> None:
    """Every live subscription: whose, where, which events."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        subscriptions = hub.list_subscriptions(session, tenant=None)
    table = Table("id", "operator", "callback", "query", "created", "by")
    for item in subscriptions:
        table.add_row(
            str(item.id),
            "staff" if item.operator_id is None else str(item.operator_id),
            escape(item.callback),
            escape(item.query or "every event"),
            f"{item.created_at:%Y-%m-%d %H:%M}",
            escape(item.created_by),
        )
    console.print(table)


@app.command("deliveries")
@reports_errors
def list_deliveries(
    order: Annotated[int | None, typer.Option("--order", help="an order's id")] = None,
    state: Annotated[DeliveryState | None, typer.Option("--state", help="a state")] = None,
    subscription: Annotated[
        int | None, typer.Option("--subscription", help="a subscription's id")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="at most this many rows")] = 50,
) -> None:
    """The delivery log, newest first."""
    raw = {
        name: [str(value)]
        for name, value in (("order", order), ("state", state), ("subscription", subscription))
        if value is not None
    }
    with database() as engine, session_scope(engine, read_only=True) as session:
        filters = parse_filters(hub.DELIVERY_LOG.filters, raw, prefix="--")
        page = fetch_page(session, hub.DELIVERY_LOG, filters, limit=limit, offset=0)
    rows = [hub.DeliveryView.model_validate(dict(row)) for row in page.rows]
    console.print(delivery_table(rows))
    if page.count > len(rows):
        console.print(f"{len(rows)} of {page.count} deliveries; --limit shows more")


def delivery_table(rows: list[hub.DeliveryView]) -> Table:
    table = Table(
        "id", "event", "type", "order", "sub", "callback", "state", "tries", "last", "next / done"
    )
    for row in rows:
        style = STATE_STYLE[row.state]
        last = " ".join(part for part in (str(row.last_status or ""), row.last_error or "") if part)
        when = row.delivered_at if row.state is DeliveryState.DELIVERED else row.next_attempt_at
        shown = "" if when is None or row.state is DeliveryState.ABANDONED else f"{when:%H:%M:%S}"
        if row.waiting_for is not None:
            shown = f"after {row.waiting_for}"
        table.add_row(
            str(row.id),
            str(row.event_id),
            row.event_type,
            str(row.order_id),
            str(row.subscription_id),
            escape(row.callback),
            f"[{style}]{row.state.value}[/]",
            str(row.attempts),
            escape(last),
            shown,
        )
    return table


@app.command("retry")
@reports_errors
def retry(delivery_id: Annotated[int, typer.Argument(help="the delivery's id")]) -> None:
    """Make an abandoned delivery pending again; `gigalis serve` sends it."""
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        hub.retry_delivery(session, delivery_id)
    console.print(f"delivery {delivery_id} is pending again")
