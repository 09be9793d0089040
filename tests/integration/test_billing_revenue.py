"""Revenue reports and the MRR over a scripted quarter, January to March 2026, on both
databases: the service functions, CSV, `gigalis billing report` and `/api/v1/billing`.

The ledger is written directly (the monthly run is tested on its own). Two operators:

=================  ===  ===========  ==  ========================================  =========
circuit            op.  offer        dé  subscriptions                              MRR move
=================  ===  ===========  ==  ========================================  =========
GIG-ETH-000001     A    eline-100m   44  512.34 from 2025-06-01 to 2026-01-14       expansion
                        eline-1g         815.67 from 2026-01-15                      Jan +303.33
GIG-ETH-000002     B    eline-1g     49  903.21 from 2025-09-01 to 2026-02-09       contraction
                        eline-100m       451.60 from 2026-02-10                      Feb −451.61
GIG-ETH-000003     A    eline-100m   53  350.05 from 2025-01-01, terminated 02-20   churn Feb
GIG-ETH-000004     B    eline-100m   85  600.99 from 2026-01-10                     new Jan
GIG-DF-000005      A    dark-fibre-  72  125.13 maintenance from 2026-03-05, IRU     new Mar
                        iru              30 000.00 signed then
GIG-DF-000006      B    dark-fibre-  72  80.08 from 2006-02-01, 20 years: to 01-31  churn Feb
                        iru
=================  ===  ===========  ==  ========================================  =========

Documents (amounts excluding VAT; all issued but March's invoice of A and credit note of B):

- 2025-12, A: invoice, 512.34 recurring (outside every range below).
- 2026-01, A: invoice: 000001 231.38 (512.34 × 14/31) + 447.30 (815.67 × 17/31), 000003
  350.05 = 1028.73. B: invoice: 000002 903.21, 000004 FAS 1500.00 + 426.51 (600.99 × 22/31),
  DF-000006 80.08 = 2909.80; credit note: 000002 90.32.
- 2026-02, A: invoice: 000001 815.67, 000003 250.04 (350.05 × 20/28) + early termination
  2100.30 = 3166.01; credit note: 000001 81.57, 000003 35.01 = 116.58. B: invoice: 000002
  290.32 (903.21 × 9/28) + 306.44 (451.60 × 19/28), 000004 600.99 = 1197.75.
- 2026-03, A (draft): invoice: 000001 815.67, DF-000005 IRU 30000.00 + 108.98 (125.13 ×
  27/31) = 30924.65. B: invoice: 000002 451.60, 000004 600.99 = 1052.59; credit note (draft):
  000004 60.10.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from gigalis_nms.api import billing_reports
from gigalis_nms.api.app import V1, create_app
from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token
from gigalis_nms.billing.models import (
    BillingDocument,
    BillingLine,
    DocumentKind,
    DocumentState,
    LineKind,
    Subscription,
    SubscriptionEnd,
)
from gigalis_nms.billing.money import cents
from gigalis_nms.billing.revenue import (
    MrrFigures,
    MrrReport,
    RevenueAxis,
    RevenueFigures,
    RevenueReport,
    as_csv,
    mrr_report,
    revenue_report,
)
from gigalis_nms.billing.revenue_cli import register
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.settings import Settings
from tests.integration.builders import build_inventory
from tests.integration.conftest import TEST_SECRET_KEY, Api, make_tokens

D = Decimal
JAN, FEB, MAR, APR = "2026-01", "2026-02", "2026-03", "2026-04"
RECURRING, FAS, IRU = LineKind.RECURRING, LineKind.ONE_TIME_FEE, LineKind.IRU
EARLY, CREDIT = LineKind.EARLY_TERMINATION, LineKind.SLA_CREDIT
ETH1, ETH2, ETH3, ETH4 = (f"GIG-ETH-00000{number}" for number in (1, 2, 3, 4))
DF5, DF6 = "GIG-DF-000005", "GIG-DF-000006"
# One charge or credit: kind, circuit, offer, département (credit notes name none), amount.
Line = tuple[LineKind, str, str, str | None, str]


@dataclass(frozen=True)
class Quarter:
    operator_a: int
    operator_b: int


@pytest.fixture
def quarter(engine: Engine) -> Quarter:
    inventory = build_inventory(engine)
    a, b = inventory.operator_a, inventory.operator_b
    with session_scope(engine, actor="test:revenue") as session:
        _subscriptions(session, a, b)
        _documents(session, a, b)
    return Quarter(a, b)


def _subscriptions(session: Session, a: int, b: int) -> None:
    def subscribe(
        ref: str,
        operator: int,
        offer: str,
        where: str,
        fee: str,
        *,
        since: date,
        until: date | None = None,
        **fields: Any,
    ) -> None:
        kind = "dark_fibre_iru" if offer == "dark-fibre-iru" else "ethernet"
        session.add(
            Subscription(
                circuit_ref=ref,
                operator_id=operator,
                offer_id=offer,
                offer_kind=kind,
                departement=where,
                monthly_fee=D(fee),
                contract_start=fields.pop("contract_start", since),
                start_date=since,
                end_date=until,
                **fields,
            )
        )

    change, termination = SubscriptionEnd.CHANGE, SubscriptionEnd.TERMINATION
    subscribe(ETH1, a, "eline-100m", "44", "512.34", since=date(2025, 6, 1),
              until=date(2026, 1, 14), ended_by=change)  # fmt: skip
    subscribe(ETH1, a, "eline-1g", "44", "815.67", since=date(2026, 1, 15),
              contract_start=date(2025, 6, 1))  # fmt: skip
    subscribe(ETH2, b, "eline-1g", "49", "903.21", since=date(2025, 9, 1),
              until=date(2026, 2, 9), ended_by=change)  # fmt: skip
    subscribe(ETH2, b, "eline-100m", "49", "451.60", since=date(2026, 2, 10),
              contract_start=date(2025, 9, 1))  # fmt: skip
    subscribe(ETH3, a, "eline-100m", "53", "350.05", since=date(2025, 1, 1),
              until=date(2026, 2, 20), ended_by=termination)  # fmt: skip
    subscribe(ETH4, b, "eline-100m", "85", "600.99", since=date(2026, 1, 10),
              one_time_fee=D("1500.00"))  # fmt: skip
    subscribe(DF5, a, "dark-fibre-iru", "72", "125.13", since=date(2026, 3, 5),
              iru_price=D("30000.00"), schedule_end=date(2046, 3, 5))  # fmt: skip
    # Its 20 years ended with January; the subscription was not closed yet: no MRR after.
    subscribe(DF6, b, "dark-fibre-iru", "72", "80.08", since=date(2006, 2, 1),
              schedule_end=date(2026, 2, 1))  # fmt: skip


def _documents(session: Session, a: int, b: int) -> None:
    numbers = {DocumentKind.INVOICE: count(1), DocumentKind.CREDIT_NOTE: count(1)}

    def document(
        kind: DocumentKind,
        operator: int,
        month: str,
        lines: list[Line],
        *,
        issued: bool = True,
        invoice: BillingDocument | None = None,
    ) -> BillingDocument:
        year, number = (int(part) for part in month.split("-"))
        net = sum((D(line[4]) for line in lines), D("0.00"))
        made = BillingDocument(
            kind=kind,
            state=DocumentState.ISSUED if issued else DocumentState.DRAFT,
            operator_id=operator,
            month=month,
            period_start=date(year, number, 1),
            period_end=date(year, number, 28),
            invoice_id=invoice.id if invoice else None,
            vat_rate=D("0.2000"),
            total_net=net,
            total_vat=cents(net * D("0.2")),
            total_gross=net + cents(net * D("0.2")),
            catalogue_version="test",
            fingerprint=f"{kind}-{operator}-{month}",
        )
        if issued:
            made.sequence = next(numbers[kind])
            made.number = f"{'FAC' if kind is DocumentKind.INVOICE else 'AV'}-{made.sequence:07d}"
        session.add(made)
        session.flush()
        assert made.id is not None
        for position, (line_kind, ref, offer, where, amount) in enumerate(lines, start=1):
            session.add(
                BillingLine(
                    document_id=made.id,
                    position=position,
                    kind=line_kind,
                    circuit_ref=ref,
                    offer_id=offer,
                    departement=where,
                    description=f"{line_kind} {ref}",
                    unit_price=D(amount),
                    quantity=D(1),
                    amount=D(amount),
                )
            )
        return made

    invoice, credit_note = DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE
    document(invoice, a, "2025-12", [(RECURRING, ETH1, "eline-100m", "44", "512.34")])

    document(invoice, a, JAN, [
        (RECURRING, ETH1, "eline-100m", "44", "231.38"),
        (RECURRING, ETH1, "eline-1g", "44", "447.30"),
        (RECURRING, ETH3, "eline-100m", "53", "350.05"),
    ])  # fmt: skip
    b_january = document(invoice, b, JAN, [
        (RECURRING, ETH2, "eline-1g", "49", "903.21"),
        (FAS, ETH4, "eline-100m", "85", "1500.00"),
        (RECURRING, ETH4, "eline-100m", "85", "426.51"),
        (RECURRING, DF6, "dark-fibre-iru", "72", "80.08"),
    ])  # fmt: skip
    document(credit_note, b, JAN, [(CREDIT, ETH2, "eline-1g", None, "90.32")], invoice=b_january)

    a_february = document(invoice, a, FEB, [
        (RECURRING, ETH1, "eline-1g", "44", "815.67"),
        (RECURRING, ETH3, "eline-100m", "53", "250.04"),
        (EARLY, ETH3, "eline-100m", "53", "2100.30"),
    ])  # fmt: skip
    document(credit_note, a, FEB, [
        (CREDIT, ETH1, "eline-1g", None, "81.57"),
        (CREDIT, ETH3, "eline-100m", None, "35.01"),
    ], invoice=a_february)  # fmt: skip
    document(invoice, b, FEB, [
        (RECURRING, ETH2, "eline-1g", "49", "290.32"),
        (RECURRING, ETH2, "eline-100m", "49", "306.44"),
        (RECURRING, ETH4, "eline-100m", "85", "600.99"),
    ])  # fmt: skip

    document(invoice, a, MAR, [
        (RECURRING, ETH1, "eline-1g", "44", "815.67"),
        (IRU, DF5, "dark-fibre-iru", "72", "30000.00"),
        (RECURRING, DF5, "dark-fibre-iru", "72", "108.98"),
    ], issued=False)  # fmt: skip
    b_march = document(invoice, b, MAR, [
        (RECURRING, ETH2, "eline-100m", "49", "451.60"),
        (RECURRING, ETH4, "eline-100m", "85", "600.99"),
    ])  # fmt: skip
    document(credit_note, b, MAR, [(CREDIT, ETH4, "eline-100m", None, "60.10")], issued=False,
             invoice=b_march)  # fmt: skip


# --- Expected figures ---------------------------------------------------------------------


def figures(
    recurring: str, one_time: str, early: str, credited: str, documents: int
) -> tuple[Decimal, ...]:
    """A row's amounts as written by hand, with invoiced and net derived the one way they
    are defined (the report computes them separately)."""
    invoiced = D(recurring) + D(one_time) + D(early)
    return (D(recurring), D(one_time), D(early), invoiced, D(credited), invoiced - D(credited),
            D(documents))  # fmt: skip


def row_figures(row: RevenueFigures) -> tuple[Decimal, ...]:
    return (row.recurring, row.one_time, row.early_termination, row.invoiced, row.credited,
            row.net, D(row.documents))  # fmt: skip


def report(engine: Engine, first: str, last: str, **options: Any) -> RevenueReport:
    with session_scope(engine, read_only=True) as session:
        return revenue_report(session, first, last, **{"by": RevenueAxis.MONTH, **options})


def mrr(engine: Engine, first: str, last: str, **options: Any) -> MrrReport:
    with session_scope(engine, read_only=True) as session:
        return mrr_report(session, first, last, **options)


# --- Revenue ------------------------------------------------------------------------------


def test_revenue_by_month_reads_issued_documents(engine: Engine, quarter: Quarter) -> None:
    found = report(engine, JAN, APR)

    assert [(row.month, row_figures(row)) for row in found.rows] == [
        # recurring: 231.38 + 447.30 + 350.05 + 903.21 + 426.51 + 80.08
        (JAN, figures("2438.53", "1500.00", "0.00", "90.32", 3)),
        # recurring: 815.67 + 250.04 + 290.32 + 306.44 + 600.99; credited 81.57 + 35.01
        (FEB, figures("2263.46", "0.00", "2100.30", "116.58", 3)),
        (MAR, figures("1052.59", "0.00", "0.00", "0.00", 1)),  # A's invoice is a draft
        (APR, figures("0.00", "0.00", "0.00", "0.00", 0)),  # no document: still a row
    ]
    # The invoices' totals, as the run wrote them: 1028.73 + 2909.80, 3166.01 + 1197.75.
    assert [row.invoiced for row in found.rows[:3]] == [D("3938.53"), D("4363.76"), D("1052.59")]
    assert row_figures(found.totals) == figures("5754.58", "1500.00", "2100.30", "206.90", 7)
    assert (found.first, found.last, found.by, found.include_drafts) == (JAN, APR, "month", False)


def test_drafts_count_when_asked(engine: Engine, quarter: Quarter) -> None:
    found = report(engine, MAR, MAR, include_drafts=True)

    # recurring: 815.67 + 108.98 + 451.60 + 600.99; the IRU's right of use is one-time
    assert [row_figures(row) for row in found.rows] == [
        figures("1977.24", "30000.00", "0.00", "60.10", 3)
    ]
    assert found.rows[0].invoiced == D("30924.65") + D("1052.59")
    assert found.include_drafts


def test_revenue_by_operator_carries_names(engine: Engine, quarter: Quarter) -> None:
    found = report(engine, JAN, MAR, by=RevenueAxis.OPERATOR)

    a, b = quarter.operator_a, quarter.operator_b
    assert [(row.month, row.operator_id, row.operator, row_figures(row)) for row in found.rows] == [
        (JAN, a, "Opérateur A", figures("1028.73", "0.00", "0.00", "0.00", 1)),
        (JAN, b, "Opérateur B", figures("1409.80", "1500.00", "0.00", "90.32", 2)),
        (FEB, a, "Opérateur A", figures("1065.71", "0.00", "2100.30", "116.58", 2)),
        (FEB, b, "Opérateur B", figures("1197.75", "0.00", "0.00", "0.00", 1)),
        (MAR, b, "Opérateur B", figures("1052.59", "0.00", "0.00", "0.00", 1)),
    ]
    assert all(row.offer_id is None and row.departement is None for row in found.rows)
    assert row_figures(found.totals) == row_figures(report(engine, JAN, MAR).totals)


def test_revenue_by_offer(engine: Engine, quarter: Quarter) -> None:
    found = report(engine, JAN, FEB, by=RevenueAxis.OFFER)

    assert [(row.month, row.offer_id, row_figures(row)) for row in found.rows] == [
        (JAN, "dark-fibre-iru", figures("80.08", "0.00", "0.00", "0.00", 1)),
        # 231.38 + 350.05 + 426.51
        (JAN, "eline-100m", figures("1007.94", "1500.00", "0.00", "0.00", 2)),
        # 903.21 + 447.30; the credit note of B counts as a third document
        (JAN, "eline-1g", figures("1350.51", "0.00", "0.00", "90.32", 3)),
        # 250.04 + 306.44 + 600.99
        (FEB, "eline-100m", figures("1157.47", "0.00", "2100.30", "35.01", 3)),
        # 815.67 + 290.32
        (FEB, "eline-1g", figures("1105.99", "0.00", "0.00", "81.57", 3)),
    ]
    # A document is counted once in the totals, whatever the offers on its lines.
    assert found.totals.documents == 6


def test_revenue_by_departement_places_credits_by_their_circuit(
    engine: Engine, quarter: Quarter
) -> None:
    found = report(engine, FEB, MAR, by=RevenueAxis.DEPARTEMENT, include_drafts=True)

    assert [(row.month, row.departement, row_figures(row)) for row in found.rows] == [
        (FEB, "44", figures("815.67", "0.00", "0.00", "81.57", 2)),
        (FEB, "49", figures("596.76", "0.00", "0.00", "0.00", 1)),  # 290.32 + 306.44
        (FEB, "53", figures("250.04", "0.00", "2100.30", "35.01", 2)),
        (FEB, "85", figures("600.99", "0.00", "0.00", "0.00", 1)),
        (MAR, "44", figures("815.67", "0.00", "0.00", "0.00", 1)),
        (MAR, "49", figures("451.60", "0.00", "0.00", "0.00", 1)),
        (MAR, "72", figures("108.98", "30000.00", "0.00", "0.00", 1)),
        (MAR, "85", figures("600.99", "0.00", "0.00", "60.10", 2)),
    ]


def test_revenue_of_one_operator(engine: Engine, quarter: Quarter) -> None:
    found = report(engine, JAN, MAR, operator_id=quarter.operator_a, include_drafts=True)

    assert (found.operator_id, found.operator) == (quarter.operator_a, "Opérateur A")
    assert [(row.month, row_figures(row)) for row in found.rows] == [
        (JAN, figures("1028.73", "0.00", "0.00", "0.00", 1)),
        (FEB, figures("1065.71", "0.00", "2100.30", "116.58", 2)),
        (MAR, figures("924.65", "30000.00", "0.00", "0.00", 1)),  # 815.67 + 108.98
    ]


# --- MRR ----------------------------------------------------------------------------------


def movements(figures: MrrFigures) -> tuple[Any, ...]:
    return (
        figures.opening,
        (figures.new.circuits, figures.new.amount),
        (figures.expansion.circuits, figures.expansion.amount),
        (figures.contraction.circuits, figures.contraction.amount),
        (figures.churn.circuits, figures.churn.amount),
        figures.closing,
        figures.circuits,
        figures.penalties_credited,
    )


def assert_balances(figures: MrrFigures) -> None:
    assert (
        figures.opening
        + figures.new.amount
        + figures.expansion.amount
        - figures.contraction.amount
        - figures.churn.amount
        == figures.closing
    )


def test_mrr_moves_circuit_by_circuit(engine: Engine, quarter: Quarter) -> None:
    found = mrr(engine, JAN, APR)

    # 31 December: 512.34 + 903.21 + 350.05 + 80.08
    opening = D("1845.68")
    assert [(month.month, movements(month)) for month in found.months] == [
        # 000004 new; 000001 from 512.34 to 815.67
        (JAN, (opening, (1, D("600.99")), (1, D("303.33")), (0, D("0.00")), (0, D("0.00")),
               D("2750.00"), 5, D("90.32"))),
        # 000002 from 903.21 to 451.60; 000003 terminated, DF-000006's 20 years over
        (FEB, (D("2750.00"), (0, D("0.00")), (0, D("0.00")), (1, D("451.61")),
               (2, D("430.13")), D("1868.26"), 3, D("116.58"))),
        # DF-000005's maintenance; B's credit note is a draft
        (MAR, (D("1868.26"), (1, D("125.13")), (0, D("0.00")), (0, D("0.00")), (0, D("0.00")),
               D("1993.39"), 4, D("0.00"))),
        (APR, (D("1993.39"), (0, D("0.00")), (0, D("0.00")), (0, D("0.00")), (0, D("0.00")),
               D("1993.39"), 4, D("0.00"))),
    ]  # fmt: skip
    for month in found.months:
        assert_balances(month)
    assert movements(found.totals) == (
        opening, (2, D("726.12")), (1, D("303.33")), (1, D("451.61")), (2, D("430.13")),
        D("1993.39"), 4, D("206.90"),
    )  # fmt: skip
    assert_balances(found.totals)


def test_mrr_of_one_operator(engine: Engine, quarter: Quarter) -> None:
    found = mrr(engine, JAN, MAR, operator_id=quarter.operator_a)

    assert found.operator == "Opérateur A"
    assert [(month.month, movements(month)) for month in found.months] == [
        # 512.34 + 350.05 on 31 December
        (JAN, (D("862.39"), (0, D("0.00")), (1, D("303.33")), (0, D("0.00")), (0, D("0.00")),
               D("1165.72"), 2, D("0.00"))),
        (FEB, (D("1165.72"), (0, D("0.00")), (0, D("0.00")), (0, D("0.00")), (1, D("350.05")),
               D("815.67"), 1, D("116.58"))),
        (MAR, (D("815.67"), (1, D("125.13")), (0, D("0.00")), (0, D("0.00")), (0, D("0.00")),
               D("940.80"), 2, D("0.00"))),
    ]  # fmt: skip
    for month in found.months:
        assert_balances(month)


def test_months_before_any_subscription_read_zero(engine: Engine, quarter: Quarter) -> None:
    found = mrr(engine, "2005-11", "2006-02")

    assert [(month.month, month.opening, month.closing) for month in found.months] == [
        ("2005-11", D("0.00"), D("0.00")),
        ("2005-12", D("0.00"), D("0.00")),
        ("2006-01", D("0.00"), D("0.00")),
        ("2006-02", D("0.00"), D("80.08")),  # DF-000006 from 1 February 2006
    ]
    assert found.months[-1].new.circuits == 1


# --- Scale and bad input ----------------------------------------------------------------------


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The queries run while the test reads (not the transaction's BEGIN or settings)."""
    seen: list[str] = []

    def record(*arguments: Any) -> None:
        if "FROM" in arguments[2]:
            seen.append(arguments[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_reports_take_a_fixed_number_of_statements(
    engine: Engine, quarter: Quarter, statements: list[str]
) -> None:
    counted = []
    for first, last in ((JAN, JAN), ("2016-01", "2025-12")):  # one month, and 120
        with session_scope(engine, read_only=True) as session:
            before = len(statements)
            for by in RevenueAxis:
                revenue_report(session, first, last, by=by, include_drafts=True)
            mrr_report(session, first, last, operator_id=quarter.operator_b)
            counted.append(len(statements) - before)
    # Two per revenue report (rows, totals); three for the MRR (operator, months, penalties).
    assert counted == [2 * 4 + 3, 2 * 4 + 3]


@pytest.mark.parametrize(
    ("first", "last", "field", "reason"),
    [
        ("2026-13", JAN, "from", "no month 13"),
        ("janvier", JAN, "from", "not a month"),
        (JAN, "2026-1", "to", "not a month"),
        (MAR, JAN, "to", "2026-01 is before 2026-03"),
        ("2016-01", "2026-01", "to", "121 months"),
    ],
)
def test_bad_months_are_refused_naming_the_field(
    engine: Engine, first: str, last: str, field: str, reason: str
) -> None:
    with session_scope(engine, read_only=True) as session:
        for read in (
            lambda: revenue_report(session, first, last, by=RevenueAxis.OFFER),
            lambda: mrr_report(session, first, last),
        ):
            with pytest.raises(InvalidInput) as refused:
                read()
            assert refused.value.problems[0].field == field
            assert reason in refused.value.message


def test_an_unknown_operator_is_not_found(engine: Engine) -> None:
    with session_scope(engine, read_only=True) as session, pytest.raises(NotFound) as missing:
        mrr_report(session, JAN, FEB, operator_id=999_999)
    assert missing.value.problems[0].field == "operator"


# --- CSV ----------------------------------------------------------------------------------


def test_csv_has_a_header_and_one_line_per_row(engine: Engine, quarter: Quarter) -> None:
    by_operator = as_csv(report(engine, JAN, FEB, by=RevenueAxis.OPERATOR)).splitlines()
    a, b = quarter.operator_a, quarter.operator_b
    assert by_operator == [
        "month,operator_id,operator,recurring,one_time,early_termination,invoiced,credited,"
        "net,documents",
        f"{JAN},{a},Opérateur A,1028.73,0.00,0.00,1028.73,0.00,1028.73,1",
        f"{JAN},{b},Opérateur B,1409.80,1500.00,0.00,2909.80,90.32,2819.48,2",
        f"{FEB},{a},Opérateur A,1065.71,0.00,2100.30,3166.01,116.58,3049.43,2",
        f"{FEB},{b},Opérateur B,1197.75,0.00,0.00,1197.75,0.00,1197.75,1",
    ]
    by_offer = as_csv(report(engine, MAR, MAR, by=RevenueAxis.OFFER)).splitlines()
    assert by_offer[0].startswith("month,offer_id,recurring,")
    assert by_offer[1] == f"{MAR},eline-100m,1052.59,0.00,0.00,1052.59,0.00,1052.59,1"

    monthly = as_csv(mrr(engine, FEB, FEB)).splitlines()
    assert monthly == [
        "month,opening,new_circuits,new,expansion_circuits,expansion,contraction_circuits,"
        "contraction,churn_circuits,churn,closing,circuits,penalties_credited",
        f"{FEB},2750.00,0,0.00,0,0.00,1,451.61,2,430.13,1868.26,3,116.58",
    ]


# --- `gigalis billing report` -------------------------------------------------------------


@pytest.fixture
def billing() -> typer.Typer:
    """A `gigalis billing` group holding the report alone, as `register` adds it."""
    group = typer.Typer()

    @group.callback()
    def billing() -> None:
        """Billing."""

    register(group)
    return group


def test_the_command_reports_revenue_and_mrr(
    runner: CliRunner, billing: typer.Typer, engine: Engine, quarter: Quarter, tmp_path: Path
) -> None:
    table = runner.invoke(billing, ["report", "--from", JAN, "--to", MAR, "--by", "operator"])
    assert table.exit_code == 0, table.output
    assert "Opérateur B" in table.stdout
    assert "2 819.48" in table.stdout  # B's net in January
    assert "9 147.98" in table.stdout  # the net of the quarter, issued documents

    as_json = runner.invoke(
        billing, ["report", "--from", MAR, "--drafts", "--operator", "Opérateur A", "--format",
                  "json"]
    )  # fmt: skip
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert (document["operator"], document["include_drafts"]) == ("Opérateur A", True)
    assert document["rows"][0]["one_time"] == "30000.00"
    assert document["totals"]["net"] == "30924.65"

    mrr_table = runner.invoke(billing, ["report", "--from", JAN, "--to", FEB, "--mrr"])
    assert mrr_table.exit_code == 0, mrr_table.output
    assert "1 868.26" in mrr_table.stdout
    assert "430.13 (2)" in mrr_table.stdout

    written = tmp_path / "mrr.csv"
    to_file = runner.invoke(billing, ["report", "--from", FEB, "--mrr", "--output", str(written)])
    assert to_file.exit_code == 0, to_file.output
    assert to_file.stdout == ""
    assert str(written) in to_file.stderr
    assert written.read_text(encoding="utf-8") == as_csv(mrr(engine, FEB, FEB))


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--from", "2026-13"], "--from"),
        (["--from", MAR, "--to", JAN], "--to"),
        (["--from", JAN, "--operator", "Opérateur Z"], "--operator"),
        (["--from", JAN, "--mrr", "--by", "offer"], "--by"),
        (["--from", JAN, "--mrr", "--drafts"], "--drafts"),
        (["--from", JAN, "--format", "table", "--output", "report.txt"], "--format"),
    ],
)
def test_the_command_refuses_bad_input(
    runner: CliRunner, billing: typer.Typer, quarter: Quarter, arguments: list[str], named: str
) -> None:
    result = runner.invoke(billing, ["report", *arguments])
    assert result.exit_code == 1
    assert f"{named}:" in result.stderr


# --- /api/v1/billing ----------------------------------------------------------------------

REVENUE, MRR = f"{V1}/billing/revenue", f"{V1}/billing/mrr"


@pytest.fixture
def app(engine: Engine, settings: Settings) -> FastAPI:
    made = create_app(settings, engine)
    # Until the application includes the router itself (the lead wires it in api/app.py).
    if not any(getattr(route, "path", "") == REVENUE for route in made.routes):
        made.include_router(billing_reports.router, prefix=V1)
    return made


@pytest.fixture
def api(app: FastAPI, engine: Engine, quarter: Quarter) -> Iterator[Api]:
    tokens = make_tokens(engine, quarter)
    with session_scope(engine, actor="test:tokens") as session:
        _, tokens["finance"] = create_token(
            session, name="finance", role=Role.FINANCE, secret_key=TEST_SECRET_KEY
        )
    with TestClient(app) as client:
        yield Api(client, tokens)


def test_staff_read_revenue_and_mrr(api: Api, quarter: Quarter) -> None:
    for who in ("admin", "noc", "viewer", "finance"):
        revenue = api.get(who, REVENUE, params={"from": JAN, "to": MAR, "by": "operator"})
        assert revenue.status_code == 200, revenue.text
        document = revenue.json()
        assert document["rows"][1] == {
            "month": JAN,
            "operator_id": quarter.operator_b,
            "operator": "Opérateur B",
            "offer_id": None,
            "departement": None,
            "recurring": "1409.80",
            "one_time": "1500.00",
            "early_termination": "0.00",
            "invoiced": "2909.80",
            "credited": "90.32",
            "net": "2819.48",
            "documents": 2,
        }
        assert document["totals"]["net"] == "9147.98"

    drafts = api.get("finance", REVENUE, params={"from": MAR, "drafts": "true"}).json()
    assert drafts["totals"]["invoiced"] == "31977.24"

    monthly = api.get("viewer", MRR, params={"from": JAN, "to": FEB})
    assert monthly.status_code == 200, monthly.text
    february = monthly.json()["months"][1]
    assert february["churn"] == {"circuits": 2, "amount": "430.13"}
    assert february["closing"] == "1868.26"
    one = api.get("viewer", MRR, params={"from": FEB, "operator": quarter.operator_a}).json()
    assert one["operator"] == "Opérateur A"
    assert one["months"][0]["closing"] == "815.67"


def test_csv_is_a_named_file(api: Api, engine: Engine) -> None:
    revenue = api.get("finance", REVENUE, params={"from": JAN, "to": FEB, "format": "csv"})
    assert revenue.status_code == 200, revenue.text
    assert revenue.headers["content-type"] == "text/csv; charset=utf-8"
    assert revenue.headers["content-disposition"] == (
        'attachment; filename="gigalis-revenue-2026-01-2026-02-by-month.csv"'
    )
    assert revenue.text == as_csv(report(engine, JAN, FEB))
    assert revenue.text.splitlines()[1] == (f"{JAN},2438.53,1500.00,0.00,3938.53,90.32,3848.21,3")

    monthly = api.get("admin", MRR, params={"from": MAR, "format": "csv"})
    assert monthly.headers["content-disposition"] == (
        'attachment; filename="gigalis-mrr-2026-03-2026-03.csv"'
    )
    assert monthly.text == as_csv(mrr(engine, MAR, MAR))


def test_an_operator_token_is_refused(api: Api, quarter: Quarter) -> None:
    for path in (REVENUE, MRR):
        for params in ({"from": JAN}, {"from": JAN, "operator": quarter.operator_a}):
            refused = api.get("operator_a", path, params=params)
            assert refused.status_code == 403
            assert "Opérateur" not in refused.text
        assert api.get(None, path, params={"from": JAN}).status_code == 401


@pytest.mark.parametrize("path", [REVENUE, MRR])
def test_bad_requests_name_the_field(api: Api, path: str) -> None:
    def problem(params: dict[str, Any], status: int) -> str:
        response = api.get("finance", path, params=params)
        assert response.status_code == status, response.text
        field: str = response.json()["error"]["problems"][0]["field"]
        return field

    assert problem({"from": "2026-13"}, 422) == "query.from"
    assert problem({"from": MAR, "to": JAN}, 422) == "query.to"
    assert problem({"from": "2016-01", "to": "2026-01"}, 422) == "query.to"
    assert problem({}, 422) == "query.from"
    assert problem({"from": JAN, "format": "xlsx"}, 422) == "query.format"
    assert problem({"from": JAN, "operator": 999_999}, 404) == "query.operator"
    assert problem({"from": JAN, "month": JAN}, 400) == "query.month"
    if path == REVENUE:
        assert problem({"from": JAN, "by": "site"}, 422) == "query.by"
