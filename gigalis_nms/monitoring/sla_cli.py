"""`gigalis sla report`: the monthly SLA per circuit, then per operator and per offer, as a
table for people, JSON for tools or CSV for spreadsheets.

A closed month is stored for billing as it is reported (``--no-store`` to only read); a
month not over yet is computed up to now, marked provisional and never stored.
"""

from __future__ import annotations

import csv
import io
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.markup import escape
from rich.table import Table

from gigalis_nms.catalogue.loader import cached_catalogue, catalogue_path
from gigalis_nms.console import console, database, reports_errors, settings
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.cli import cli_actor, operator_id_named
from gigalis_nms.monitoring.report import (
    CircuitMonth,
    MonthReport,
    StoredCounts,
    Totals,
    month_report,
    parse_month,
    store_month,
)

app = typer.Typer(help="SLA: monthly availability, GTR and penalties.", no_args_is_help=True)

# Shown rounded down: 99.4996 % must not read as a met 99.500 % target.
THOUSANDTH = Decimal("0.001")
CSV_COLUMNS = (
    "circuit",
    "operator",
    "offer",
    "sla_class",
    "availability",
    "availability_target",
    "downtime_seconds",
    "excluded_seconds",
    "incidents",
    "gtr_breaches",
    "monthly_fee",
    "penalty",
)


@app.callback()
def sla() -> None:
    """SLA: monthly availability, GTR and penalties."""
    # A callback keeps `report` a subcommand: Typer runs a lone command as the group itself.


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@app.command("report")
@reports_errors
def report(
    month: Annotated[str, typer.Option("--month", help="the Paris calendar month, YYYY-MM")],
    operator: Annotated[
        str | None, typer.Option("--operator", help="only this operator's circuits (its name)")
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.TABLE,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="store a closed month's results for billing")
    ] = True,
) -> None:
    """Availability, incidents against the GTR and penalties of every circuit in service in
    MONTH, then per operator and per offer."""
    year, number = parse_month(month, "--month")
    catalogue = cached_catalogue(catalogue_path(settings()))
    with (
        database() as engine,
        session_scope(engine, actor=cli_actor(), read_only=not store) as session,
    ):
        operator_id = operator_id_named(session, operator) if operator else None
        found = month_report(session, catalogue, year, number, operator_id=operator_id)
        stored = store_month(session, found) if store and not found.provisional else None

    if output is Format.JSON:
        typer.echo(TypeAdapter(MonthReport).dump_json(found, indent=2).decode())
    elif output is Format.CSV:
        typer.echo(circuits_csv(found), nl=False)
    else:
        _print_tables(found)
    # On stderr, so that JSON and CSV on stdout stay whole.
    typer.echo(_outcome(found, stored), err=True)


def _outcome(found: MonthReport, stored: StoredCounts | None) -> str:
    if found.provisional:
        until = f"{found.computed_to:%Y-%m-%d %H:%M} UTC"
        return f"{found.month} is not over: provisional up to {until}, not stored"
    if stored is None:
        return f"{found.month}: not stored (--no-store)"
    return (
        f"{found.month} stored: {stored.created} new, {stored.updated} updated, "
        f"{stored.unchanged} unchanged, {stored.kept} kept (already billed)"
    )


def percent(ratio: Decimal | None) -> str:
    """A 0–1 ratio as a percentage with three decimals, rounded down.

    >>> percent(Decimal("0.99499999")), percent(Decimal(1)), percent(None)
    ('99.499', '100.000', '')
    """
    if ratio is None:
        return ""
    return str((ratio * 100).quantize(THOUSANDTH, rounding=ROUND_DOWN))


def duration(seconds: float) -> str:
    """Seconds as h:mm:ss, hours beyond 24 kept as hours.

    >>> duration(0), duration(99_000), duration(3_725.4)
    ('0:00:00', '27:30:00', '1:02:05')
    """
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}"


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.2f}"


def _print_tables(found: MonthReport) -> None:
    title = f"SLA {found.month}" + (" (provisional)" if found.provisional else "")
    circuits = Table(
        "circuit",
        "operator",
        "offer",
        "SLA class",
        "availability %",
        "target %",
        "downtime",
        "excluded",
        "incidents",
        "GTR breaches",
        "penalty €",
        title=title,
    )
    for circuit in found.circuits:
        circuits.add_row(*_circuit_cells(circuit))
    console.print(circuits)

    operators = _totals_table("operator", "per operator")
    for group in found.by_operator:
        operators.add_row(escape(group.operator), *_totals_cells(group.totals))
    console.print(operators)
    offers = _totals_table("offer", "per offer")
    for offer in found.by_offer:
        offers.add_row(escape(offer.offer_id or "(never ordered)"), *_totals_cells(offer.totals))
    console.print(offers)


def _circuit_cells(circuit: CircuitMonth) -> list[str]:
    breaches = circuit.gtr_breaches
    return [
        circuit.ref,
        escape(circuit.operator),
        escape(circuit.offer_id or ""),
        escape(circuit.sla_class or ""),
        percent(circuit.availability),
        percent(circuit.availability_target),
        duration(circuit.downtime_seconds),
        duration(circuit.excluded_seconds),
        str(circuit.incidents),
        "" if breaches is None else str(breaches),
        _money(circuit.penalty),
    ]


def _totals_table(name: str, title: str) -> Table:
    return Table(
        name,
        "circuits",
        "mean availability %",
        "worst %",
        "downtime",
        "below target",
        "GTR breaches",
        "penalties €",
        title=title,
    )


def _totals_cells(totals: Totals) -> list[str]:
    return [
        str(totals.circuits),
        percent(totals.availability_mean),
        percent(totals.availability_worst),
        duration(totals.downtime_seconds),
        str(totals.below_target),
        str(totals.gtr_breaches),
        _money(totals.penalties),
    ]


def circuits_csv(found: MonthReport) -> str:
    """One line per circuit, in base units (0–1 ratios, seconds, EUR), for a spreadsheet."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for circuit in found.circuits:
        writer.writerow(
            [
                circuit.ref,
                circuit.operator,
                circuit.offer_id or "",
                circuit.sla_class or "",
                circuit.availability,
                "" if circuit.availability_target is None else circuit.availability_target,
                round(circuit.downtime_seconds),
                round(circuit.excluded_seconds),
                circuit.incidents,
                "" if circuit.gtr_breaches is None else circuit.gtr_breaches,
                _money(circuit.monthly_fee),
                _money(circuit.penalty),
            ]
        )
    return text.getvalue()
