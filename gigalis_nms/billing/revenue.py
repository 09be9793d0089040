"""Revenue read from the ledger: what was invoiced and credited by month, operator, offer or
département, and the monthly recurring revenue (MRR) with its movements.

Two readings, two sources:

- **Revenue** reads the lines of the documents of each service month: the recurring fees,
  one-time charges (FAS and IRU rights of use), early-termination fees, all invoiced, and the
  SLA penalties credited by credit note. Issued documents only by default: management reads
  the ledger, and a draft may still change. Rows are keyed by (month, axis value), one row per
  month even on the operator, offer or département axis, so that a spreadsheet pivots them
  without losing the months; the totals cover the whole range.
- **MRR** reads the subscriptions: at each month's last day, the sum of the monthly fees of
  the subscriptions covering that day (an IRU's maintenance stops with its duration). Circuit
  by circuit, the change from the previous month's last day is new (no MRR before), churn (no
  MRR now), expansion or contraction, so that opening + new + expansion − contraction − churn
  = closing, to the cent. A circuit whose subscription bills nothing monthly has no MRR.
  A month not over yet reads its subscriptions as they stand: running ones count.

Both are aggregated by the database (GROUP BY), in a fixed number of statements whatever the
number of subscriptions, lines and months.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session

from gigalis_nms.billing.models import (
    BillingDocument,
    BillingLine,
    DocumentKind,
    DocumentState,
    LineKind,
    Subscription,
)
from gigalis_nms.billing.money import ZERO, cents, day_before, month_days
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.inventory.tables import ORGANISATION
from gigalis_nms.monitoring.report import month_label, parse_month
from gigalis_nms.ordering.models import MONEY

LINE = table_of(BillingLine)
DOCUMENT = table_of(BillingDocument)
SUBSCRIPTION = table_of(Subscription)

MAX_MONTHS = 120  # ten years: a report, not an export of the ledger


# --- Months -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRange:
    """Calendar months from ``first`` to ``last``, both included, as (year, month)."""

    first: tuple[int, int]
    last: tuple[int, int]

    @property
    def labels(self) -> list[str]:
        """``["2026-01", "2026-02", …]``."""
        start = self.first[0] * 12 + self.first[1] - 1
        stop = self.last[0] * 12 + self.last[1] - 1
        return [month_label(index // 12, index % 12 + 1) for index in range(start, stop + 1)]

    @property
    def month_ends(self) -> list[date]:
        """The last day of the month before ``first``, then the last day of each month."""
        year, month = self.first
        opening = day_before(month_days(year, month)[0])
        return [opening] + [month_days(*parse_month(label))[1] for label in self.labels]

    def __str__(self) -> str:
        return f"{month_label(*self.first)}/{month_label(*self.last)}"


def month_range(
    first: str, last: str | None = None, fields: tuple[str, str] = ("from", "to")
) -> MonthRange:
    """The months ``first``–``last`` ("YYYY-MM"; ``last`` by default ``first``); a bad month,
    a range backwards or longer than ten years is refused naming its field in ``fields``.

    >>> str(month_range("2026-01", "2026-03")), month_range("2026-11", "2027-02").labels
    ('2026-01/2026-03', ['2026-11', '2026-12', '2027-01', '2027-02'])
    >>> month_range("2026-03", "2026-01")
    Traceback (most recent call last):
    ...
    gigalis_nms.errors.InvalidInput: to: 2026-01 is before 2026-03 (from)
    """
    first_field, last_field = fields
    start = parse_month(first, first_field)
    stop = parse_month(last, last_field) if last is not None else start
    if stop < start:
        raise InvalidInput.of(
            last_field, f"{month_label(*stop)} is before {month_label(*start)} ({first_field})"
        )
    count = (stop[0] - start[0]) * 12 + stop[1] - start[1] + 1
    if count > MAX_MONTHS:
        raise InvalidInput.of(
            last_field,
            f"{count} months from {month_label(*start)}: at most {MAX_MONTHS} in one report",
        )
    return MonthRange(start, stop)


# --- What the reports hold --------------------------------------------------------------------


class RevenueAxis(StrEnum):
    """What the rows of a revenue report are keyed by, besides the month."""

    MONTH = "month"
    OPERATOR = "operator"  # the operator invoiced
    OFFER = "offer"  # the offer of each line
    DEPARTEMENT = "departement"  # of the circuit's A end


class RevenueFigures(BaseModel):
    """Amounts excluding VAT, in EUR."""

    recurring: Decimal = ZERO  # monthly fees, prorated by day
    one_time: Decimal = ZERO  # FAS and IRU rights of use
    early_termination: Decimal = ZERO
    invoiced: Decimal = ZERO  # every invoice line: the three above
    credited: Decimal = ZERO  # SLA penalties, by credit note
    net: Decimal = ZERO  # invoiced − credited
    documents: int = 0  # invoices and credit notes with a line here


class RevenueRow(RevenueFigures):
    """The figures of one month and one value of the report's axis; the axis's own fields
    are set, the others are None (so is ``offer_id`` for lines of no offer)."""

    month: str
    operator_id: int | None = None
    operator: str | None = None
    offer_id: str | None = None
    departement: str | None = None


class RevenueReport(BaseModel):
    first: str  # "2026-01"
    last: str
    by: RevenueAxis
    operator_id: int | None = Field(default=None, description="only this operator's documents")
    operator: str | None = None
    include_drafts: bool = Field(description="drafts counted too (they may still change)")
    rows: list[RevenueRow]
    totals: RevenueFigures  # the whole range; documents counted once each


class Movement(BaseModel):
    circuits: int = 0
    amount: Decimal = ZERO  # EUR per month, excluding VAT; always positive


class MrrFigures(BaseModel):
    """opening + new + expansion − contraction − churn = closing."""

    opening: Decimal = ZERO  # MRR at the previous month's last day
    new: Movement = Movement()  # circuits without MRR before
    expansion: Movement = Movement()  # circuits whose MRR grew
    contraction: Movement = Movement()  # circuits whose MRR shrank
    churn: Movement = Movement()  # circuits without MRR any more
    closing: Decimal = ZERO  # MRR at the month's last day
    circuits: int = 0  # circuits with MRR at the month's last day
    penalties_credited: Decimal = ZERO  # issued SLA credit notes of the service month(s)


class MrrMonth(MrrFigures):
    month: str


class MrrReport(BaseModel):
    first: str
    last: str
    operator_id: int | None = None
    operator: str | None = None
    months: list[MrrMonth]
    totals: MrrFigures  # from the first month's opening to the last month's closing


# --- Revenue ----------------------------------------------------------------------------------


def revenue_report(
    session: Session,
    first: str,
    last: str,
    *,
    by: RevenueAxis,
    operator_id: int | None = None,
    include_drafts: bool = False,
) -> RevenueReport:
    """Revenue of the service months ``first``–``last`` ("YYYY-MM"), one row per month and
    value of ``by``; of one operator with ``operator_id``; drafts too with
    ``include_drafts``."""
    months = month_range(first, last)
    operator = _operator_name(session, operator_id)
    scope = _documents_in(months, operator_id, include_drafts)

    rows = [_revenue_row(row, by) for row in execute_core(session, _revenue_query(by, scope))]
    if by is RevenueAxis.MONTH:  # every month shows, those without documents as zeros
        present = {row.month for row in rows}
        rows += [RevenueRow(month=label) for label in months.labels if label not in present]
    totals = _figures(execute_core(session, _totals_query(scope)).one())

    return RevenueReport(
        first=month_label(*months.first),
        last=month_label(*months.last),
        by=by,
        operator_id=operator_id,
        operator=operator,
        include_drafts=include_drafts,
        rows=sorted(rows, key=_row_order),
        totals=totals,
    )


def _documents_in(
    months: MonthRange, operator_id: int | None, include_drafts: bool
) -> list[sa.ColumnElement[bool]]:
    """Which documents a report reads."""
    labels = months.labels
    scope: list[sa.ColumnElement[bool]] = [DOCUMENT.c.month.between(labels[0], labels[-1])]
    if not include_drafts:
        scope.append(DOCUMENT.c.state == DocumentState.ISSUED)
    if operator_id is not None:
        scope.append(DOCUMENT.c.operator_id == operator_id)
    return scope


def _revenue_query(by: RevenueAxis, scope: list[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """The figures per month and value of ``by``."""
    source = LINE.join(DOCUMENT, DOCUMENT.c.id == LINE.c.document_id)
    keys: list[sa.ColumnElement[Any]] = [DOCUMENT.c.month]
    if by is RevenueAxis.OPERATOR:
        source = source.join(ORGANISATION, ORGANISATION.c.id == DOCUMENT.c.operator_id)
        keys += [DOCUMENT.c.operator_id, ORGANISATION.c.name.label("operator")]
    elif by is RevenueAxis.OFFER:
        keys.append(LINE.c.offer_id)
    elif by is RevenueAxis.DEPARTEMENT:
        # A credit note's line names the circuit but not its département (an SLA result has
        # none): the circuit's subscriptions tell it.
        known = _circuit_departements()
        source = source.outerjoin(known, known.c.circuit_ref == LINE.c.circuit_ref)
        keys.append(sa.func.coalesce(LINE.c.departement, known.c.departement).label("departement"))
    return sa.select(*keys, *_figure_columns()).select_from(source).where(*scope).group_by(*keys)


def _totals_query(scope: list[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """The figures of the whole range, each document counted once."""
    source = LINE.join(DOCUMENT, DOCUMENT.c.id == LINE.c.document_id)
    return sa.select(*_figure_columns()).select_from(source).where(*scope)


def _figure_columns() -> list[sa.ColumnElement[Any]]:
    invoice = DOCUMENT.c.kind == DocumentKind.INVOICE
    credit = DOCUMENT.c.kind == DocumentKind.CREDIT_NOTE
    one_time = LINE.c.kind.in_([LineKind.ONE_TIME_FEE, LineKind.IRU])
    return [
        _sum_where(sa.and_(invoice, LINE.c.kind == LineKind.RECURRING), "recurring"),
        _sum_where(sa.and_(invoice, one_time), "one_time"),
        _sum_where(sa.and_(invoice, LINE.c.kind == LineKind.EARLY_TERMINATION), "early"),
        _sum_where(invoice, "invoiced"),
        _sum_where(sa.and_(credit, LINE.c.kind == LineKind.SLA_CREDIT), "credited"),
        sa.func.count(sa.distinct(DOCUMENT.c.id)).label("documents"),
    ]


def _circuit_departements() -> sa.Subquery:
    return (
        sa.select(
            SUBSCRIPTION.c.circuit_ref, sa.func.max(SUBSCRIPTION.c.departement).label("departement")
        )
        .group_by(SUBSCRIPTION.c.circuit_ref)
        .subquery("circuit_departement")
    )


def _sum_where(condition: sa.ColumnElement[bool], name: str) -> sa.Label[Any]:
    return _money_sum(sa.case((condition, LINE.c.amount)), name)


def _money_sum(amount: sa.ColumnElement[Any], name: str) -> sa.Label[Any]:
    """A sum of amounts read back as ``Decimal``: SQLite sums NUMERIC as a float, exact to far
    below the cent at the ledger's sizes, and read back to the cent as MONEY."""
    return sa.type_coerce(sa.func.coalesce(sa.func.sum(amount), 0), MONEY).label(name)


def _figures(row: Any) -> RevenueFigures:
    invoiced, credited = cents(row.invoiced), cents(row.credited)
    return RevenueFigures(
        recurring=cents(row.recurring),
        one_time=cents(row.one_time),
        early_termination=cents(row.early),
        invoiced=invoiced,
        credited=credited,
        net=invoiced - credited,
        documents=row.documents,
    )


def _revenue_row(row: Any, by: RevenueAxis) -> RevenueRow:
    keys: dict[str, Any] = {"month": row.month}
    if by is RevenueAxis.OPERATOR:
        keys |= {"operator_id": row.operator_id, "operator": row.operator}
    elif by is RevenueAxis.OFFER:
        keys["offer_id"] = row.offer_id
    elif by is RevenueAxis.DEPARTEMENT:
        keys["departement"] = row.departement
    return RevenueRow(**keys, **_figures(row).model_dump())


def _row_order(row: RevenueRow) -> tuple[Any, ...]:
    # Sorted here, not by the database: PostgreSQL's collation and SQLite's byte order differ
    # on accented names. Lines of no offer or département come last.
    key = row.operator or row.offer_id or row.departement
    return (row.month, key is None, key or "", row.operator_id or 0)


# --- MRR --------------------------------------------------------------------------------------


def mrr_report(
    session: Session, first: str, last: str, *, operator_id: int | None = None
) -> MrrReport:
    """The MRR at the last day of each month ``first``–``last`` and its movements from the
    month before, with the SLA penalties credited; of one operator with ``operator_id``."""
    months = month_range(first, last)
    operator = _operator_name(session, operator_id)
    moved = {row.position: row for row in execute_core(session, _mrr_query(months, operator_id))}
    credited = {
        row.month: cents(row.credited)
        for row in execute_core(session, _penalties_query(months, operator_id))
    }

    # A month without a row had no circuit with MRR at either of its ends.
    found = [
        _mrr_month(label, moved.get(position), credited.get(label, ZERO))
        for position, label in enumerate(months.labels, start=1)
    ]

    return MrrReport(
        first=month_label(*months.first),
        last=month_label(*months.last),
        operator_id=operator_id,
        operator=operator,
        months=found,
        totals=_mrr_totals(found),
    )


def _mrr_query(months: MonthRange, operator_id: int | None) -> sa.Select[Any]:
    """Per month (its position from 1), the MRR at both ends and the movements, summed over
    circuits from each circuit's MRR at the previous and at the month's last day."""
    days = sa.union_all(
        *(
            sa.select(
                sa.literal(position, sa.Integer).label("position"),
                sa.literal(day, sa.Date).label("day"),
            )
            for position, day in enumerate(months.month_ends)
        )
    ).cte("month_end")
    covers = sa.and_(
        SUBSCRIPTION.c.start_date <= days.c.day,
        sa.or_(SUBSCRIPTION.c.end_date.is_(None), SUBSCRIPTION.c.end_date >= days.c.day),
        sa.or_(SUBSCRIPTION.c.schedule_end.is_(None), SUBSCRIPTION.c.schedule_end > days.c.day),
    )
    fees = (
        sa.select(
            days.c.position,
            SUBSCRIPTION.c.circuit_ref,
            sa.func.sum(SUBSCRIPTION.c.monthly_fee).label("fee"),
        )
        .select_from(SUBSCRIPTION.join(days, covers))
        .group_by(days.c.position, SUBSCRIPTION.c.circuit_ref)
        .having(sa.func.sum(SUBSCRIPTION.c.monthly_fee) > 0)
    )
    if operator_id is not None:
        fees = fees.where(SUBSCRIPTION.c.operator_id == operator_id)
    fee_at = fees.cte("fee_at")

    # Each circuit's MRR at a day is the closing of that day's month and the opening of the
    # next: both ends of a month meet in one row per circuit.
    nothing: sa.ColumnElement[Decimal] = sa.literal_column("0")
    ends = sa.union_all(
        sa.select(
            fee_at.c.position.label("position"),
            fee_at.c.circuit_ref,
            nothing.label("opening"),
            fee_at.c.fee.label("closing"),
        ),
        sa.select(
            (fee_at.c.position + 1).label("position"),
            fee_at.c.circuit_ref,
            fee_at.c.fee.label("opening"),
            nothing.label("closing"),
        ),
    ).subquery("ends")
    circuit = (
        sa.select(
            ends.c.position,
            sa.func.sum(ends.c.opening).label("opening"),
            sa.func.sum(ends.c.closing).label("closing"),
        )
        .group_by(ends.c.position, ends.c.circuit_ref)
        .subquery("circuit_month")
    )

    before, after = circuit.c.opening, circuit.c.closing
    movements = {
        "new": (sa.and_(before == 0, after > 0), after),
        "expansion": (sa.and_(before > 0, after > before), after - before),
        "contraction": (sa.and_(after > 0, after < before), before - after),
        "churn": (sa.and_(before > 0, after == 0), before),
    }
    columns: list[sa.ColumnElement[Any]] = [
        circuit.c.position,
        _money_sum(before, "opening"),
        _money_sum(after, "closing"),
        _count_where(after > 0, "circuits"),
    ]
    for name, (condition, amount) in movements.items():
        columns.append(_money_sum(sa.case((condition, amount)), name))
        columns.append(_count_where(condition, f"{name}_circuits"))
    return (
        sa.select(*columns)
        .where(circuit.c.position.between(1, len(months.labels)))
        .group_by(circuit.c.position)
    )


def _count_where(condition: sa.ColumnElement[bool], name: str) -> sa.Label[Any]:
    return sa.func.count(sa.case((condition, 1))).label(name)


def _penalties_query(months: MonthRange, operator_id: int | None) -> sa.Select[Any]:
    """The SLA penalties of issued credit notes, per service month."""
    scope = _documents_in(months, operator_id, include_drafts=False)
    return (
        sa.select(DOCUMENT.c.month, _money_sum(LINE.c.amount, "credited"))
        .select_from(LINE.join(DOCUMENT, DOCUMENT.c.id == LINE.c.document_id))
        .where(
            *scope,
            DOCUMENT.c.kind == DocumentKind.CREDIT_NOTE,
            LINE.c.kind == LineKind.SLA_CREDIT,
        )
        .group_by(DOCUMENT.c.month)
    )


def _mrr_month(label: str, row: Any, penalties: Decimal) -> MrrMonth:
    if row is None:
        return MrrMonth(month=label, penalties_credited=penalties)
    return MrrMonth(
        month=label,
        opening=cents(row.opening),
        new=Movement(circuits=row.new_circuits, amount=cents(row.new)),
        expansion=Movement(circuits=row.expansion_circuits, amount=cents(row.expansion)),
        contraction=Movement(circuits=row.contraction_circuits, amount=cents(row.contraction)),
        churn=Movement(circuits=row.churn_circuits, amount=cents(row.churn)),
        closing=cents(row.closing),
        circuits=row.circuits,
        penalties_credited=penalties,
    )


def _mrr_totals(months: Sequence[MrrMonth]) -> MrrFigures:
    def moved(name: str) -> Movement:
        steps = [getattr(month, name) for month in months]
        return Movement(
            circuits=sum(step.circuits for step in steps),
            amount=sum((step.amount for step in steps), ZERO),
        )

    return MrrFigures(
        opening=months[0].opening,
        new=moved("new"),
        expansion=moved("expansion"),
        contraction=moved("contraction"),
        churn=moved("churn"),
        closing=months[-1].closing,
        circuits=months[-1].circuits,
        penalties_credited=sum((month.penalties_credited for month in months), ZERO),
    )


def _operator_name(session: Session, operator_id: int | None) -> str | None:
    if operator_id is None:
        return None
    query = sa.select(ORGANISATION.c.name).where(ORGANISATION.c.id == operator_id)
    name: str | None = execute_core(session, query).scalar_one_or_none()
    if name is None:
        raise NotFound.of("operator", f"no operator with id {operator_id}")
    return name


# --- CSV --------------------------------------------------------------------------------------

FIGURE_COLUMNS = (
    "recurring",
    "one_time",
    "early_termination",
    "invoiced",
    "credited",
    "net",
    "documents",
)
AXIS_COLUMNS = {
    RevenueAxis.MONTH: (),
    RevenueAxis.OPERATOR: ("operator_id", "operator"),
    RevenueAxis.OFFER: ("offer_id",),
    RevenueAxis.DEPARTEMENT: ("departement",),
}
MOVEMENTS = ("new", "expansion", "contraction", "churn")
MRR_COLUMNS = (
    "month",
    "opening",
    *(f"{name}{suffix}" for name in MOVEMENTS for suffix in ("_circuits", "")),
    "closing",
    "circuits",
    "penalties_credited",
)


def as_csv(report: RevenueReport | MrrReport) -> str:
    """One line per row of the report under a header, amounts in EUR with a dot, for a
    spreadsheet. No totals line: a pivot table sums the rows, and would count it twice.

    >>> print(as_csv(MrrReport(first="2026-01", last="2026-01", months=[
    ...     MrrMonth(month="2026-01", opening=Decimal("10.00"), closing=Decimal("10.00"))],
    ...     totals=MrrFigures())), end="")
    month,opening,new_circuits,new,expansion_circuits,expansion,contraction_circuits,\
contraction,churn_circuits,churn,closing,circuits,penalties_credited
    2026-01,10.00,0,0.00,0,0.00,0,0.00,0,0.00,10.00,0,0.00
    """
    if isinstance(report, MrrReport):
        return _csv(MRR_COLUMNS, (_mrr_cells(month) for month in report.months))
    columns = ("month", *AXIS_COLUMNS[report.by], *FIGURE_COLUMNS)
    return _csv(columns, ([getattr(row, name) for name in columns] for row in report.rows))


def _mrr_cells(month: MrrMonth) -> list[Any]:
    cells: list[Any] = [month.month, month.opening]
    for name in MOVEMENTS:
        movement: Movement = getattr(month, name)
        cells += [movement.circuits, movement.amount]
    return [*cells, month.closing, month.circuits, month.penalties_credited]


def _csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return text.getvalue()
