"""`gigalis billing`: the monthly run, documents, subscriptions, billing accounts and revenue
reports.

The run and issuing are here; the PDF commands are registered by
:mod:`gigalis_nms.billing.document_cli` and the revenue report by
:mod:`gigalis_nms.billing.revenue_cli`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session, col, select

from gigalis_nms.billing import document_cli, revenue_cli
from gigalis_nms.billing.accounts import parse_change, read_account, set_account
from gigalis_nms.billing.models import (
    BillingDocument,
    BillingLine,
    DocumentKind,
    DocumentState,
    Subscription,
)
from gigalis_nms.billing.run import RunReport, find_document, issue_month, run_month
from gigalis_nms.catalogue.loader import cached_catalogue, catalogue_path
from gigalis_nms.console import console, database, reports_errors, settings
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.cli import cli_actor, operator_id_named
from gigalis_nms.inventory.models import Organisation
from gigalis_nms.monitoring.report import parse_month

app = typer.Typer(
    help="Billing: monthly invoices and SLA credit notes, PDFs, revenue.", no_args_is_help=True
)
account_app = typer.Typer(help="Operators' billing accounts (SIRET, address, Chorus Pro).")
app.add_typer(account_app, name="account")

MonthOption = Annotated[str, typer.Option("--month", help="the service month, YYYY-MM")]
OperatorsOption = Annotated[
    list[str] | None,
    typer.Option("--operator", help="only this operator (its name); may be repeated"),
]


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


@app.callback()
def billing() -> None:
    """Billing: monthly invoices and SLA credit notes, PDFs, revenue."""


@app.command("run")
@reports_errors
def run(
    month: MonthOption,
    operators: OperatorsOption = None,
    issue: Annotated[
        bool, typer.Option("--issue", help="number and issue the documents (irreversible)")
    ] = False,
    output: Annotated[Format, typer.Option("--format", help="table or json")] = Format.TABLE,
) -> None:
    """Compute MONTH's invoices and SLA credit notes as drafts (again, for drafts already
    there); with --issue, issue them. Issued documents are never changed."""
    year, number = parse_month(month, "--month")
    catalogue = cached_catalogue(catalogue_path(settings()))
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        ids = _operator_ids(session, operators)
        report = run_month(
            session, catalogue, year, number, operator_ids=ids, issue=issue, actor=cli_actor()
        )
    _show_run(report, output)


@app.command("issue")
@reports_errors
def issue(
    month: MonthOption,
    operators: OperatorsOption = None,
    output: Annotated[Format, typer.Option("--format", help="table or json")] = Format.TABLE,
) -> None:
    """Issue MONTH's drafts as they stand (as reviewed), invoices then credit notes: each
    gets the next number of its series and is frozen."""
    year, number = parse_month(month, "--month")
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        ids = _operator_ids(session, operators)
        report = issue_month(session, year, number, operator_ids=ids, actor=cli_actor())
    _show_run(report, output)


@app.command("documents")
@reports_errors
def documents(
    month: Annotated[str | None, typer.Option("--month", help="service month, YYYY-MM")] = None,
    operators: OperatorsOption = None,
    kind: Annotated[DocumentKind | None, typer.Option("--kind")] = None,
    state: Annotated[DocumentState | None, typer.Option("--state")] = None,
) -> None:
    """List invoices and credit notes."""
    if month is not None:
        parse_month(month, "--month")
    with database() as engine, session_scope(engine, read_only=True) as session:
        ids = _operator_ids(session, operators)
        query = select(BillingDocument, Organisation.name).join(
            Organisation, col(Organisation.id) == col(BillingDocument.operator_id)
        )
        if month is not None:
            query = query.where(col(BillingDocument.month) == month)
        if ids is not None:
            query = query.where(col(BillingDocument.operator_id).in_(ids))
        if kind is not None:
            query = query.where(col(BillingDocument.kind) == kind)
        if state is not None:
            query = query.where(col(BillingDocument.state) == state)
        rows = session.exec(
            query.order_by(col(BillingDocument.month), Organisation.name, BillingDocument.kind)
        ).all()
    table = Table("id", "number", "kind", "state", "month", "operator", "net €", "VAT €", "total €")
    for document, name in rows:
        table.add_row(
            str(document.id),
            document.number or "(draft)",
            document.kind.value,
            document.state.value,
            document.month,
            escape(name),
            _money(document.total_net),
            _money(document.total_vat),
            _money(document.total_gross),
        )
    console.print(table)


@app.command("show")
@reports_errors
def show(document: Annotated[str, typer.Argument(help="a document number or id")]) -> None:
    """A document's lines and totals."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        found = find_document(session, document)
        lines = session.exec(
            select(BillingLine)
            .where(col(BillingLine.document_id) == found.id)
            .order_by(col(BillingLine.position))
        ).all()
    title = f"{found.number or 'draft'} — {found.kind.value} — {found.month} — " + escape(
        str(found.buyer.get("name", ""))
    )
    table = Table("#", "description", "unit price €", "quantity", "amount €", title=title)
    for line in lines:
        quantity = f"{line.quantity.normalize():f}" + (
            f"/{line.basis.normalize():f}" if line.basis != 1 else ""
        )
        table.add_row(
            str(line.position),
            escape(line.description),
            _money(line.unit_price),
            f"{quantity} {line.unit}",
            _money(line.amount),
        )
    console.print(table)
    rate = f"{found.vat_rate * 100:.2f}".rstrip("0").rstrip(".")
    console.print(
        f"Total HT {_money(found.total_net)} €  ·  TVA {rate} % {_money(found.total_vat)} €  ·  "
        f"Total TTC {_money(found.total_gross)} €"
    )


@app.command("subscriptions")
@reports_errors
def subscriptions(
    operators: OperatorsOption = None,
    circuit: Annotated[str | None, typer.Option("--circuit", help="a circuit reference")] = None,
    ended: Annotated[bool, typer.Option("--ended", help="also the ended periods")] = False,
) -> None:
    """Subscriptions: the priced periods of circuits, running ones by default."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        ids = _operator_ids(session, operators)
        query = select(Subscription, Organisation.name).join(
            Organisation, col(Organisation.id) == col(Subscription.operator_id)
        )
        if ids is not None:
            query = query.where(col(Subscription.operator_id).in_(ids))
        if circuit is not None:
            query = query.where(col(Subscription.circuit_ref) == circuit)
        if not ended:
            query = query.where(col(Subscription.end_date).is_(None))
        rows = session.exec(
            query.order_by(col(Subscription.circuit_ref), col(Subscription.start_date))
        ).all()
    table = Table(
        "circuit", "operator", "offer", "from", "to", "monthly €", "FAS €", "commitment until"
    )
    for subscription, name in rows:
        table.add_row(
            subscription.circuit_ref,
            escape(name),
            subscription.offer_id,
            str(subscription.start_date),
            str(subscription.end_date or ""),
            _money(subscription.monthly_fee),
            _money(subscription.one_time_fee),
            str(subscription.commitment_end or ""),
        )
    console.print(table)


@account_app.command("show")
@reports_errors
def account_show(operator: Annotated[str, typer.Argument(help="the operator's name")]) -> None:
    """An operator's billing account."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        view = read_account(session, operator_id_named(session, operator))
    typer.echo(view.model_dump_json(indent=2))


@account_app.command("set")
@reports_errors
def account_set(
    operator: Annotated[str, typer.Argument(help="the operator's name")],
    *,
    legal_name: Annotated[str | None, typer.Option(help="name on invoices")] = None,
    siret: Annotated[str | None, typer.Option(help="the establishment invoiced")] = None,
    vat_number: Annotated[str | None, typer.Option(help="FR + key + SIREN")] = None,
    address: Annotated[str | None, typer.Option()] = None,
    postcode: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option(help="where invoices are sent")] = None,
    payment_days: Annotated[int | None, typer.Option(help="days to pay, at most 60")] = None,
    public_buyer: Annotated[
        bool | None, typer.Option("--public/--private", help="invoiced through Chorus Pro")
    ] = None,
    service_code: Annotated[str | None, typer.Option(help="Chorus Pro service code")] = None,
    commitment_number: Annotated[
        str | None, typer.Option(help="Chorus Pro legal commitment number")
    ] = None,
) -> None:
    """Set fields of an operator's billing account (others are kept)."""
    given = {
        "legal_name": legal_name,
        "siret": siret,
        "vat_number": vat_number,
        "address": address,
        "postcode": postcode,
        "city": city,
        "email": email,
        "payment_days": payment_days,
        "public_buyer": public_buyer,
        "chorus_service_code": service_code,
        "commitment_number": commitment_number,
    }
    change = parse_change({name: value for name, value in given.items() if value is not None})
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        view = set_account(session, operator_id_named(session, operator), change)
    typer.echo(view.model_dump_json(indent=2))


def _operator_ids(session: Session, names: Sequence[str] | None) -> list[int] | None:
    if not names:
        return None
    return [operator_id_named(session, name) for name in names]


def _show_run(report: RunReport, output: Format) -> None:
    if output is Format.JSON:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_run(report)
    for note in report.unpriced:
        typer.echo(f"not billed (no offer prices it): {note}", err=True)
    for note in report.mismatched:
        typer.echo(f"check: {note}", err=True)
    for failed in report.failed:
        typer.echo(f"error: {failed.operator}: {failed.error}", err=True)
    if report.failed:
        raise typer.Exit(1)


def _print_run(report: RunReport) -> None:
    title = f"Billing {report.month}" + (" — issued" if report.issue else " — drafts")
    table = Table(
        "operator", "document", "number", "action", "lines", "net €", "total €", title=title
    )
    for operator in report.operators:
        for outcome in operator.documents:
            table.add_row(
                escape(operator.operator),
                outcome.kind.value,
                outcome.number or "",
                outcome.action.value,
                str(outcome.lines),
                _money(outcome.total_net),
                _money(outcome.total_gross),
            )
        if operator.error:
            table.add_row(escape(operator.operator), "", "", "[red]failed[/]", "", "", "")
    console.print(table)
    if report.subscriptions_opened or report.subscriptions_closed:
        console.print(
            f"subscriptions brought up to date: {report.subscriptions_opened} opened, "
            f"{report.subscriptions_closed} closed"
        )


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}".replace(",", " ")


document_cli.register(app)
revenue_cli.register(app)
