"""`gigalis order`: the NOC's view of product orders: list them, read one with its history,
accept or reject those waiting for the NOC, and carry accepted ones forward by hand.

``advance`` does what the order worker inside `gigalis serve` does in one round (start the
jobs of orders whose day has come, follow them, close finished orders, release temporary
capacity), then runs the jobs it queued in this process and follows them once more, so that
one command takes an accepted order to its end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import Engine

from gigalis_nms.console import console, database, reports_errors
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import Conflict
from gigalis_nms.inventory.cli import cli_actor
from gigalis_nms.ordering.fulfilment import advance_orders, failed_job_errors
from gigalis_nms.ordering.models import OrderState
from gigalis_nms.ordering.orders import (
    accept_order,
    get_order,
    list_orders,
    order_id_of,
    reject_order,
)
from gigalis_nms.ordering.representation import order_resource
from gigalis_nms.provisioning.circuit_cli import job_access, print_job
from gigalis_nms.provisioning.jobs import next_queued_job, recover_interrupted_jobs
from gigalis_nms.provisioning.run import JobAccess, run_job

app = typer.Typer(help="Product orders: list, show, accept, reject, advance.", no_args_is_help=True)

OrderArgument = Annotated[str, typer.Argument(help="the order's id")]
WAIT_FOR_ROUTERS = 300.0


@app.command("list")
@reports_errors
def list_command(
    state: Annotated[
        list[OrderState] | None, typer.Option("--state", help="only orders in this state")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many")] = 50,
) -> None:
    """Orders, newest first."""
    filters = {"state": list(state)} if state else {}
    with database() as engine, session_scope(engine, read_only=True) as session:
        total, found = list_orders(session, tenant=None, filters=filters, limit=limit)
        table = Table("id", "externalId", "operator", "state", "ordered", "items", "start")
        for order in found:
            document = order_resource(session, order)
            items = ", ".join(
                f"{item['id']} {item['action']} {item['state']}"
                for item in document["productOrderItem"]
            )
            table.add_row(
                str(order.id),
                escape(order.external_id or ""),
                escape(document["relatedParty"][0]["name"] or ""),
                order.state.value,
                f"{order.created_at:%Y-%m-%d %H:%M}",
                escape(items),
                str(order.requested_start_date or ""),
            )
    console.print(table)
    console.print(f"{len(found)} of {total} orders")


@app.command("show")
@reports_errors
def show(order_id: OrderArgument) -> None:
    """One order: its items, circuits and prices, and its whole state history."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        order = get_order(session, order_id_of(order_id, "order"), tenant=None, field="order")
        document = order_resource(session, order)
        failures = failed_job_errors(session, order)
    _print_order(document)
    # The operator reads a summary of a failed job; the NOC needs what the routers said.
    for item_id, job_id, error in failures:
        console.print(f"item {escape(item_id)}: job {job_id} failed: {escape(error)}")


def _print_order(document: dict[str, Any]) -> None:
    customer = document["relatedParty"][0]
    console.print(
        f"order {document['id']} ({escape(str(document.get('externalId', '-')))}) for "
        f"{escape(str(customer['name']))}: [bold]{document['state']}[/]"
    )
    for name in ("description", "requestedStartDate", "requestedEndDate", "completionDate"):
        if name in document:
            console.print(f"  {name}: {escape(str(document[name]))}")
    items = Table("item", "action", "offer", "circuit", "state", "reason", title="items")
    for item in document["productOrderItem"]:
        items.add_row(
            item["id"],
            item["action"],
            item.get("productOffering", {}).get("id", ""),
            item["product"].get("id", ""),
            item["state"],
            escape(item.get("stateReason", "")),
        )
    console.print(items)
    history = Table("when", "item", "state", "reason", "by", title="state history")
    for change in document["stateChange"]:
        history.add_row(
            change["changeDate"],
            change.get("itemId", ""),
            change["state"],
            escape(change["changeReason"] or ""),
            escape(change["actor"]),
        )
    console.print(history)


@app.command("accept")
@reports_errors
def accept(order_id: OrderArgument) -> None:
    """Accept an acknowledged order: it goes ahead on its requested day."""
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        order = get_order(session, order_id_of(order_id, "order"), tenant=None, field="order")
        accept_order(session, order, actor=cli_actor())
    console.print(f"order {order_id}: {order.state.value}")


@app.command("reject")
@reports_errors
def reject(
    order_id: OrderArgument,
    reason: Annotated[str, typer.Option("--reason", help="told to the operator")],
) -> None:
    """Reject an acknowledged order: the capacity it held is freed."""
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        order = get_order(session, order_id_of(order_id, "order"), tenant=None, field="order")
        reject_order(session, order, actor=cli_actor(), reason=reason)
    console.print(f"order {order_id}: {order.state.value}")


@app.command("advance")
@reports_errors
def advance(
    lab: Annotated[
        bool, typer.Option("--lab", help="work on the running lab's routers instead of production")
    ] = False,
    runtime_dir: Annotated[
        Path | None,
        typer.Option("--runtime-dir", help="the lab's state folder, with --lab"),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no diffs")] = False,
) -> None:
    """One round of the order worker, the jobs it queued run here, and one more round to
    follow them."""
    with database() as engine:
        recover_interrupted_jobs(engine, actor=cli_actor())
        access = job_access(engine, lab=lab, runtime_dir=runtime_dir)
        steps = advance_orders(engine, now=utcnow(), target=access.target, actor=cli_actor())
        ran = _run_queued(engine, access, quiet=quiet)
        if ran:
            steps += advance_orders(engine, now=utcnow(), target=access.target, actor=cli_actor())
    console.print(f"{steps} order steps, {ran} jobs run")


def _run_queued(engine: Engine, access: JobAccess, *, quiet: bool) -> int:
    ran = 0
    while (job_id := next_queued_job(engine, access.target)) is not None:
        try:
            view = run_job(engine, job_id, access, wait_seconds=WAIT_FOR_ROUTERS)
        except Conflict as busy:
            console.print(f"job {job_id} waits: {escape(busy.message)}")
            break
        print_job(view, diffs=not quiet)
        ran += 1
    return ran
