"""`gigalis billing report`: revenue by month, operator, offer or département, or the monthly
recurring revenue and its movements, as a table for people, JSON for tools or CSV for
spreadsheets, on the screen or into a file.

Registered on the `gigalis billing` group by :func:`register`; it only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gigalis_nms.billing.revenue import (
    MrrFigures,
    MrrReport,
    RevenueAxis,
    RevenueFigures,
    RevenueReport,
    RevenueRow,
    as_csv,
    month_range,
    mrr_report,
    revenue_report,
)
from gigalis_nms.console import console, database, reports_errors
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.cli import operator_id_named


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def register(app: typer.Typer) -> None:
    """Add ``report`` to the `gigalis billing` group."""
    app.command("report")(report)


@reports_errors
def report(
    *,
    first: Annotated[str, typer.Option("--from", help="the first service month, YYYY-MM")],
    last: Annotated[
        str | None, typer.Option("--to", help="the last service month (by default --from)")
    ] = None,
    by: Annotated[
        RevenueAxis | None,
        typer.Option("--by", help="rows per month and operator, offer or département"),
    ] = None,
    mrr: Annotated[
        bool, typer.Option("--mrr", help="the monthly recurring revenue and its movements")
    ] = False,
    operator: Annotated[
        str | None, typer.Option("--operator", help="only this operator (its name)")
    ] = None,
    output: Annotated[
        Format | None,
        typer.Option("--format", help="table, json or csv (a file: by its extension, else csv)"),
    ] = None,
    drafts: Annotated[
        bool, typer.Option("--drafts", help="count draft documents too (they may change)")
    ] = False,
    path: Annotated[
        Path | None, typer.Option("--output", help="write into this file", dir_okay=False)
    ] = None,
) -> None:
    """Revenue invoiced and credited per service month (issued documents), by operator,
    offer or département with --by; with --mrr, the MRR at each month's end and its new,
    expansion, contraction and churn."""
    month_range(first, last, ("--from", "--to"))  # refused before the database is opened
    if mrr and by is not None:
        raise InvalidInput.of("--by", "the MRR is per month: --by is for revenue reports")
    if mrr and drafts:
        raise InvalidInput.of(
            "--drafts", "the MRR reads subscriptions, and its penalties issued credit notes only"
        )
    chosen = _format(output, path)

    with database() as engine, session_scope(engine, read_only=True) as session:
        operator_id = operator_id_named(session, operator) if operator else None
        found: RevenueReport | MrrReport
        if mrr:
            found = mrr_report(session, first, last or first, operator_id=operator_id)
        else:
            found = revenue_report(
                session,
                first,
                last or first,
                by=by or RevenueAxis.MONTH,
                operator_id=operator_id,
                include_drafts=drafts,
            )

    if chosen is not Format.TABLE:
        _emit(found, chosen, path)
    elif isinstance(found, MrrReport):
        _print_mrr(found)
    else:
        _print_revenue(found)


def _emit(found: RevenueReport | MrrReport, chosen: Format, path: Path | None) -> None:
    text = found.model_dump_json(indent=2) + "\n" if chosen is Format.JSON else as_csv(found)
    if path is None:
        typer.echo(text, nl=False)
    else:
        _write(path, text)
        # On stderr, as every note of a command whose output may be piped.
        typer.echo(f"written: {path}", err=True)


def _format(given: Format | None, path: Path | None) -> Format:
    if path is None:
        return given or Format.TABLE
    if given is Format.TABLE:
        raise InvalidInput.of("--format", "a table is for the screen: write json or csv to a file")
    return given or (Format.JSON if path.suffix.lower() == ".json" else Format.CSV)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as error:
        raise InvalidInput.of("--output", f"cannot write {path}: {error.strerror}") from None


# --- Tables -----------------------------------------------------------------------------------

FIGURE_HEADERS = (
    "recurring €",
    "one-time €",
    "early termination €",
    "invoiced €",
    "credited €",
    "net €",
    "documents",
)
MRR_HEADERS = (
    "opening €",
    "new €",
    "expansion €",
    "contraction €",
    "churn €",
    "closing €",
    "circuits",
    "penalties credited €",
)
AXIS_HEADERS = {
    RevenueAxis.MONTH: (),
    RevenueAxis.OPERATOR: ("operator",),
    RevenueAxis.OFFER: ("offer",),
    RevenueAxis.DEPARTEMENT: ("département",),
}


def _print_revenue(found: RevenueReport) -> None:
    scope = "drafts included" if found.include_drafts else "issued documents"
    table = _table(
        ("month", *AXIS_HEADERS[found.by]),
        FIGURE_HEADERS,
        title=f"Revenue {_period(found.first, found.last)}{_of(found.operator)} ({scope})",
    )
    for row in found.rows:
        table.add_row(row.month, *_axis_cells(found.by, row), *_figure_cells(row))
    table.add_section()
    blank = [""] * len(AXIS_HEADERS[found.by])
    table.add_row("total", *blank, *_figure_cells(found.totals), style="bold")
    console.print(table)


def _axis_cells(by: RevenueAxis, row: RevenueRow) -> list[str]:
    if by is RevenueAxis.OPERATOR:
        return [escape(row.operator or "")]
    if by is RevenueAxis.OFFER:
        return [escape(row.offer_id or "(no offer)")]
    if by is RevenueAxis.DEPARTEMENT:
        return [escape(row.departement or "(unknown)")]
    return []


def _figure_cells(figures: RevenueFigures) -> list[str]:
    amounts = (
        figures.recurring,
        figures.one_time,
        figures.early_termination,
        figures.invoiced,
        figures.credited,
        figures.net,
    )
    return [*map(_money, amounts), str(figures.documents)]


def _print_mrr(found: MrrReport) -> None:
    table = _table(
        ("month",),
        MRR_HEADERS,
        title=f"MRR {_period(found.first, found.last)}{_of(found.operator)}",
    )
    table.caption = "movements: amount (circuits); MRR at each month's last day"
    for month in found.months:
        table.add_row(month.month, *_mrr_cells(month))
    table.add_section()
    table.add_row("total", *_mrr_cells(found.totals), style="bold")
    console.print(table)


def _mrr_cells(figures: MrrFigures) -> list[str]:
    moves = (figures.new, figures.expansion, figures.contraction, figures.churn)
    return [
        _money(figures.opening),
        *(f"{_money(move.amount)} ({move.circuits})" for move in moves),
        _money(figures.closing),
        str(figures.circuits),
        _money(figures.penalties_credited),
    ]


def _table(keys: Sequence[str], figures: Sequence[str], title: str) -> Table:
    """Keys on the left, figures right-aligned so that their digits line up."""
    table = Table(*keys, title=title)
    for name in figures:
        table.add_column(name, justify="right")
    return table


def _period(first: str, last: str) -> str:
    return first if first == last else f"{first} to {last}"


def _of(operator: str | None) -> str:
    return f" — {escape(operator)}" if operator else ""


def _money(amount: Decimal) -> str:
    """Thousands apart, as finance reads them: ``12 345.67``."""
    return f"{amount:,.2f}".replace(",", " ")
