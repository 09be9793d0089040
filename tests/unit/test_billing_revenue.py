"""The pure parts of revenue reports: month ranges and CSV, with the module's examples."""

from __future__ import annotations

import csv
import doctest
import io
from datetime import date
from decimal import Decimal

import pytest

from gigalis_nms.billing import revenue
from gigalis_nms.billing.revenue import (
    MAX_MONTHS,
    Movement,
    MrrFigures,
    MrrMonth,
    MrrReport,
    RevenueAxis,
    RevenueFigures,
    RevenueReport,
    RevenueRow,
    as_csv,
    month_range,
)
from gigalis_nms.errors import InvalidInput


def test_the_docstring_examples_hold() -> None:
    result = doctest.testmod(revenue)
    assert result.attempted >= 3
    assert result.failed == 0


def test_a_range_across_years_ends_each_month_on_its_last_day() -> None:
    months = month_range("2023-12", "2024-03")
    assert months.labels == ["2023-12", "2024-01", "2024-02", "2024-03"]
    # The opening day first: the MRR of the month before the first.
    assert months.month_ends == [
        date(2023, 11, 30),
        date(2023, 12, 31),
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
    ]
    assert month_range("2026-05").labels == ["2026-05"]


def test_a_range_holds_at_most_ten_years() -> None:
    assert len(month_range("2017-01", "2026-12").labels) == MAX_MONTHS
    with pytest.raises(InvalidInput) as refused:
        month_range("2016-12", "2026-12", ("--from", "--to"))
    assert refused.value.problems[0].field == "--to"
    assert "121 months" in refused.value.message


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2026-00", None, "query.from"),
        ("2026-04", "2026/05", "query.to"),
        (" ", None, "query.from"),
    ],
)
def test_a_bad_month_names_the_field_given(first: str, last: str | None, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        month_range(first, last, ("query.from", "query.to"))
    assert refused.value.problems[0].field == field


def test_revenue_csv_has_the_axis_columns_and_no_totals_line() -> None:
    row = RevenueRow(
        month="2026-01",
        operator_id=7,
        operator='Fibre "Ouest", SAS',  # quoted as CSV quotes it
        recurring=Decimal("1234.50"),
        invoiced=Decimal("1234.50"),
        credited=Decimal("34.50"),
        net=Decimal("1200.00"),
        documents=2,
    )
    report = RevenueReport(
        first="2026-01",
        last="2026-01",
        by=RevenueAxis.OPERATOR,
        include_drafts=False,
        rows=[row],
        totals=RevenueFigures(net=Decimal("1200.00"), documents=2),
    )
    text = as_csv(report)

    assert text.endswith("\n")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed == [
        ["month", "operator_id", "operator", "recurring", "one_time", "early_termination",
         "invoiced", "credited", "net", "documents"],
        ["2026-01", "7", 'Fibre "Ouest", SAS', "1234.50", "0.00", "0.00", "1234.50", "34.50",
         "1200.00", "2"],
    ]  # fmt: skip

    by_departement = report.model_copy(update={"by": RevenueAxis.DEPARTEMENT})
    assert as_csv(by_departement).splitlines()[1].startswith("2026-01,,1234.50,")  # unknown


def test_mrr_csv_gives_each_movement_its_count_and_amount() -> None:
    month = MrrMonth(
        month="2026-02",
        opening=Decimal("100.00"),
        new=Movement(circuits=1, amount=Decimal("20.00")),
        expansion=Movement(circuits=2, amount=Decimal("5.50")),
        contraction=Movement(circuits=1, amount=Decimal("0.50")),
        churn=Movement(circuits=1, amount=Decimal("10.00")),
        closing=Decimal("115.00"),
        circuits=12,
        penalties_credited=Decimal("3.21"),
    )
    report = MrrReport(first="2026-02", last="2026-02", months=[month], totals=MrrFigures())
    assert (
        as_csv(report).splitlines()[1]
        == "2026-02,100.00,1,20.00,2,5.50,1,0.50,1,10.00,115.00,12,3.21"
    )
