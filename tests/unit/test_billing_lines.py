"""Billing's arithmetic without a database: proration by day, one-time charges in the month
a subscription starts, an IRU's maintenance stopping with its duration, early-termination
fees, credits, and the docstring examples of the billing modules."""

from __future__ import annotations

import doctest
import importlib
from datetime import date
from decimal import Decimal

import pytest

from gigalis_nms.billing.lines import (
    Billed,
    credit_lines,
    early_termination_fee,
    fees_between,
    invoice_lines,
)
from gigalis_nms.billing.models import LineKind, Subscription, SubscriptionEnd
from gigalis_nms.billing.money import add_months, cents, prorated
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.monitoring.models import SlaResult

CATALOGUE = load_catalogue(REPOSITORY_CATALOGUE)
DOCTESTED = (
    "gigalis_nms.billing.money",
    "gigalis_nms.billing.accounts",
    "gigalis_nms.billing.numbering",
    "gigalis_nms.billing.lines",
)


def subscription(**fields: object) -> Subscription:
    values: dict[str, object] = {
        "id": 1,
        "circuit_ref": "GIG-ETH-000001",
        "operator_id": 1,
        "offer_id": "eline-1g",
        "offer_kind": "ethernet",
        "monthly_fee": Decimal("600.00"),
        "one_time_fee": Decimal("1200.00"),
        "contract_start": date(2026, 3, 10),
        "commitment_end": date(2029, 3, 10),
        "early_termination_percent": Decimal(100),
        "start_date": date(2026, 3, 10),
        **fields,
    }
    return Subscription(**values)


@pytest.mark.parametrize("name", DOCTESTED)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0


def test_half_a_cent_rounds_up() -> None:
    assert cents(Decimal("0.005")) == Decimal("0.01")
    assert cents(Decimal("2.675")) == Decimal("2.68")  # exact in Decimal, unlike float
    assert prorated(Decimal("350.00"), 15, 31) == Decimal("169.35")  # 169.354…


def test_a_month_from_the_31st_ends_on_the_last_day_of_shorter_months() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 3, 31), 36) == date(2029, 3, 31)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


def test_activation_on_the_10th_bills_22_days_and_the_fas() -> None:
    lines = invoice_lines([subscription()], CATALOGUE, 2026, 3)
    assert [(line.kind, line.amount) for line in lines] == [
        (LineKind.ONE_TIME_FEE, Decimal("1200.00")),
        (LineKind.RECURRING, Decimal("425.81")),  # 600 × 22 / 31
    ]
    recurring = lines[1]
    assert (recurring.quantity, recurring.basis, recurring.unit) == (22, 31, "DAY")
    assert (recurring.period_start, recurring.period_end) == (date(2026, 3, 10), date(2026, 3, 31))


def test_a_whole_month_is_one_month_fee_and_no_fas() -> None:
    lines = invoice_lines([subscription()], CATALOGUE, 2026, 4)
    assert [(line.kind, line.amount, line.unit) for line in lines] == [
        (LineKind.RECURRING, Decimal("600.00"), "MON")
    ]


def test_a_subscription_outside_the_month_bills_nothing() -> None:
    ended = subscription(end_date=date(2026, 3, 31), ended_by=SubscriptionEnd.CHANGE)
    assert invoice_lines([ended], CATALOGUE, 2026, 4) == []
    assert invoice_lines([subscription()], CATALOGUE, 2026, 2) == []


def test_early_termination_is_the_fees_still_due_to_the_end_of_the_commitment() -> None:
    terminated = subscription(
        monthly_fee=Decimal("350.00"),
        contract_start=date(2026, 1, 15),
        start_date=date(2026, 1, 15),
        commitment_end=date(2029, 1, 15),
        end_date=date(2026, 3, 20),
        ended_by=SubscriptionEnd.TERMINATION,
    )
    due = early_termination_fee(terminated)
    assert due == (Decimal("11832.26"), date(2026, 3, 21), date(2029, 1, 14))
    half = subscription(
        monthly_fee=Decimal("350.00"),
        commitment_end=date(2026, 6, 1),
        end_date=date(2026, 3, 31),
        early_termination_percent=Decimal(50),
        ended_by=SubscriptionEnd.TERMINATION,
    )
    # April and May, 350.00 each, half of it.
    assert early_termination_fee(half) == (Decimal("350.00"), date(2026, 4, 1), date(2026, 5, 31))


def test_no_early_termination_fee_after_the_commitment_or_on_a_change() -> None:
    late = subscription(end_date=date(2029, 3, 9), ended_by=SubscriptionEnd.TERMINATION)
    assert early_termination_fee(late) is None
    changed = subscription(end_date=date(2026, 3, 20), ended_by=SubscriptionEnd.CHANGE)
    assert early_termination_fee(changed) is None
    free = subscription(
        commitment_end=None, end_date=date(2026, 3, 20), ended_by=SubscriptionEnd.TERMINATION
    )
    assert early_termination_fee(free) is None


def test_fees_between_prorates_each_month_by_its_own_length() -> None:
    # 10 days of February 2026 (28 days) and 5 of March (31 days).
    total = fees_between(Decimal("280.00"), date(2026, 2, 19), date(2026, 3, 5))
    assert total == Decimal(100) + Decimal("280.00") * 5 / 31


def test_an_iru_bills_its_right_of_use_once_and_its_maintenance_until_its_end() -> None:
    iru = subscription(
        circuit_ref="GIG-DF-000001",
        offer_id="dark-fibre-iru",
        offer_kind="dark_fibre_iru",
        monthly_fee=Decimal("46.88"),
        one_time_fee=Decimal("1500.00"),
        iru_price=Decimal("22500.00"),
        contract_start=date(2026, 3, 5),
        start_date=date(2026, 3, 5),
        commitment_end=None,
        schedule_end=date(2046, 3, 5),
    )
    march = invoice_lines([iru], CATALOGUE, 2026, 3)
    assert [(line.kind, line.amount) for line in march] == [
        (LineKind.ONE_TIME_FEE, Decimal("1500.00")),
        (LineKind.IRU, Decimal("22500.00")),
        (LineKind.RECURRING, Decimal("40.83")),
    ]
    assert "20 ans" in march[1].description
    last = invoice_lines([iru], CATALOGUE, 2046, 3)
    assert [(line.kind, line.amount) for line in last] == [
        (LineKind.RECURRING, Decimal("6.05"))  # 4 days: 46.88 × 4 / 31
    ]
    assert invoice_lines([iru], CATALOGUE, 2046, 4) == []


def test_credits_are_the_penalties_and_nothing_for_a_circuit_without_one() -> None:
    results = [
        SlaResult(
            id=7,
            circuit_id=1,
            circuit_ref="GIG-ETH-000002",
            month="2026-03",
            operator_id=1,
            offer_id="eline-10g",
            period_seconds=1,
            excluded_seconds=0,
            downtime_seconds=0,
            availability=0.99126,
            gtr_breaches=1,
            penalty=Decimal("450.00"),
        ),
        SlaResult(
            id=8,
            circuit_id=2,
            circuit_ref="GIG-ETH-000001",
            month="2026-03",
            operator_id=1,
            period_seconds=1,
            excluded_seconds=0,
            downtime_seconds=0,
            availability=1.0,
        ),
    ]
    lines = credit_lines(results)
    assert [(line.kind, line.amount, line.sla_result_id) for line in lines] == [
        (LineKind.SLA_CREDIT, Decimal("450.00"), 7)
    ]
    assert "mars 2026" in lines[0].description
    assert "1 dépassement de GTR" in lines[0].description


def test_days_and_charges_already_invoiced_are_not_billed_again() -> None:
    billed = Billed(
        months=frozenset({(2026, 3)}),
        days={1: [(date(2026, 3, 10), date(2026, 3, 20))]},
        charged=frozenset({(1, LineKind.ONE_TIME_FEE)}),
    )
    lines = invoice_lines([subscription()], CATALOGUE, 2026, 4, billed)
    assert [(line.kind, line.amount, line.period_start, line.period_end) for line in lines] == [
        (LineKind.RECURRING, Decimal("600.00"), date(2026, 4, 1), date(2026, 4, 30)),
        # March 21–31 was never invoiced: 600 × 11 / 31.
        (LineKind.RECURRING, Decimal("212.90"), date(2026, 3, 21), date(2026, 3, 31)),
    ]
    assert lines[1].description.startswith("Régularisation — ")


def test_a_month_not_closed_is_not_regularised() -> None:
    lines = invoice_lines([subscription()], CATALOGUE, 2026, 4, Billed())
    assert [line.period_start for line in lines] == [date(2026, 4, 1)]
