"""Money and calendar arithmetic of billing: cents rounded half-up, months of Paris days,
and a monthly fee prorated by the days billed.

A month is billed by calendar day: a circuit in service from the 10th to the 31st of a
31-day month pays 22/31 of its monthly fee. Every amount is ``Decimal`` and rounded once,
half-up to the cent, at the line that shows it.

>>> prorated(Decimal("600.00"), 22, 31)
Decimal('425.81')
>>> month_days(2026, 2)
(datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

# The project's one rounding to the cent and one Paris day, named here for billing's modules.
from gigalis_nms.catalogue.tmf620 import cents
from gigalis_nms.ordering.bodies import paris_day

__all__ = [
    "ZERO",
    "add_months",
    "cents",
    "day_before",
    "days_between",
    "month_days",
    "overlap",
    "paris_day",
    "prorated",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def prorated(monthly_fee: Decimal, days: int, days_in_month: int) -> Decimal:
    """The share of ``monthly_fee`` for ``days`` of a month of ``days_in_month`` days."""
    return cents(monthly_fee * days / days_in_month)


def month_days(year: int, month: int) -> tuple[date, date]:
    """The first and the last day of a month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def overlap(start: date, end: date | None, first: date, last: date) -> tuple[date, date] | None:
    """The days of ``start``–``end`` (inclusive; None: open) inside ``first``–``last``."""
    low = max(start, first)
    high = last if end is None else min(end, last)
    return (low, high) if low <= high else None


def days_between(first: date, last: date) -> int:
    """How many days from ``first`` to ``last``, both included."""
    return (last - first).days + 1


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day
    (a 36-month commitment from 31 January 2026 ends on 31 January 2029; from 31 March,
    one month on is 30 April)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def day_before(day: date) -> date:
    return day - timedelta(days=1)
