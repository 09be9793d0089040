"""What one operator owes for one month, as document lines: pure functions of its
subscriptions and SLA results, no database.

- A subscription in service during the month: its monthly fee prorated by the days it covers
  (22 of 31 days: 22/31 of the fee); a whole month is one month's fee. An IRU's monthly
  maintenance is billed the same way until the end of its duration.
- The month a subscription starts: its one-time fee (FAS) and, for an IRU, the right of use.
- The month a subscription is terminated inside its commitment: the early-termination fee,
  the catalogue's percentage of the monthly fees still due from the day after termination to
  the end of the commitment, each month of it prorated by day.
- A credit note: each SLA penalty of the month, as computed by monitoring.

Each line's amount is rounded half-up to the cent, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from gigalis_nms.billing.models import LineKind, Subscription, SubscriptionEnd
from gigalis_nms.billing.money import (
    ZERO,
    cents,
    day_before,
    days_between,
    month_days,
    overlap,
    prorated,
)
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.monitoring.models import SlaResult

ONE = Decimal(1)
HUNDRED = Decimal(100)
FRENCH_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


@dataclass(frozen=True)
class LineDraft:
    """A document line before it is stored; ``amount`` = unit_price × quantity / basis,
    rounded half-up to the cent."""

    kind: LineKind
    description: str
    unit_price: Decimal
    quantity: Decimal
    basis: Decimal
    unit: str  # UN/ECE recommendation 20: MON month, DAY day, C62 one
    amount: Decimal
    circuit_ref: str | None = None
    subscription_id: int | None = None
    sla_result_id: int | None = None
    offer_id: str | None = None
    departement: str | None = None
    period_start: date | None = None
    period_end: date | None = None  # inclusive


@dataclass(frozen=True)
class Billed:
    """What issued invoices already charged: the months closed (an invoice of the month is
    issued), and per subscription the days its fee was billed for and the one-off charges
    (one-time fee, IRU, early termination) already on an invoice."""

    months: frozenset[tuple[int, int]] = frozenset()
    days: Mapping[int, Sequence[tuple[date, date]]] = field(default_factory=dict)
    charged: frozenset[tuple[int, LineKind]] = frozenset()


NOTHING_BILLED = Billed()
REGULARISATION = "Régularisation — "


def invoice_lines(
    subscriptions: Iterable[Subscription],
    catalogue: Catalogue,
    year: int,
    month: int,
    billed: Billed = NOTHING_BILLED,
) -> list[LineDraft]:
    """Every charge of the month for these subscriptions (one operator's) that no issued
    invoice made yet, ordered by circuit, then by date, one-time charges before the month's
    fee; then what the closed months of ``billed`` should have charged and did not (a
    circuit recorded in service after its month was invoiced, say), as régularisations."""
    names = {offer.id: offer.name for offer in catalogue.offers}
    ordered = sorted(subscriptions, key=lambda s: (s.circuit_ref, s.start_date))
    lines = [
        line
        for subscription in ordered
        for line in _due(subscription, names, month_days(year, month), billed)
    ]
    for closed in sorted(m for m in billed.months if m < (year, month)):
        for subscription in ordered:
            lines += _due(subscription, names, month_days(*closed), billed, REGULARISATION)
    return lines


def _due(
    subscription: Subscription,
    names: Mapping[str, str],
    month: tuple[date, date],
    billed: Billed,
    prefix: str = "",
) -> list[LineDraft]:
    """The subscription's charges of ``month`` not yet on an issued invoice."""
    first, last = month
    name = names.get(subscription.offer_id, subscription.offer_id)
    charged = billed.charged
    lines = [
        line
        for line in _one_time_lines(subscription, name, first, last)
        if (subscription.id, line.kind) not in charged
    ]
    days = _days_due(subscription, first, last)
    covered = billed.days.get(subscription.id, ()) if subscription.id is not None else ()
    for gap in uncovered(days, covered) if days else ():
        lines.append(_recurring_for(subscription, name, gap, last.day))
    early = _early_termination_line(subscription, name, first, last)
    if early is not None and (subscription.id, early.kind) not in charged:
        lines.append(early)
    return [replace(line, description=prefix + line.description) for line in lines]


def uncovered(
    days: tuple[date, date], covered: Iterable[tuple[date, date]]
) -> list[tuple[date, date]]:
    """The runs of ``days`` (inclusive) that no period of ``covered`` holds.

    >>> march = (date(2026, 3, 1), date(2026, 3, 31))
    >>> middle = (date(2026, 3, 10), date(2026, 3, 20))
    >>> [f"{low.day}-{high.day}" for low, high in uncovered(march, [middle])]
    ['1-9', '21-31']
    """
    gaps, start = [], days[0]
    for low, high in sorted(covered):
        if high < start or low > days[1]:
            continue
        if low > start:
            gaps.append((start, low - timedelta(days=1)))
        start = max(start, high + timedelta(days=1))
    if start <= days[1]:
        gaps.append((start, days[1]))
    return gaps


def credit_lines(
    results: Iterable[SlaResult], departements: Mapping[str, str | None] | None = None
) -> list[LineDraft]:
    """One credit per SLA penalty of the month, by circuit; ``departements`` by circuit
    reference (from its subscriptions) so that revenue reports place credits too."""
    places = departements or {}
    return [
        _line(
            LineKind.SLA_CREDIT,
            _penalty_text(result),
            result.penalty,
            result=result,
            departement=places.get(result.circuit_ref),
        )
        for result in sorted(results, key=lambda r: r.circuit_ref)
        if result.penalty > ZERO
    ]


def early_termination_fee(subscription: Subscription) -> tuple[Decimal, date, date] | None:
    """The fee for leaving inside the commitment, with the days it covers (from the day after
    termination to the commitment's last day), or None when nothing is due."""
    if (
        subscription.ended_by is not SubscriptionEnd.TERMINATION
        or subscription.end_date is None
        or subscription.commitment_end is None
        or subscription.early_termination_percent <= 0
    ):
        return None
    first_due = subscription.end_date + timedelta(days=1)
    last_due = day_before(subscription.commitment_end)
    if first_due > last_due:
        return None
    still_due = fees_between(subscription.monthly_fee, first_due, last_due)
    fee = cents(still_due * subscription.early_termination_percent / HUNDRED)
    return (fee, first_due, last_due) if fee > ZERO else None


def fees_between(monthly_fee: Decimal, first: date, last: date) -> Decimal:
    """The monthly fees of the days ``first``–``last``, each month prorated by its days,
    unrounded (the caller rounds the total once)."""
    total = Decimal(0)
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        start, end = month_days(year, month)
        days = overlap(first, last, start, end)
        if days is not None:
            total += monthly_fee * days_between(*days) / end.day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return total


def _days_due(subscription: Subscription, first: date, last: date) -> tuple[date, date] | None:
    """The days of ``first``–``last`` that the subscription's monthly fee is due for."""
    end = subscription.end_date
    if subscription.schedule_end is not None:  # an IRU's maintenance stops with its duration
        scheduled_last = day_before(subscription.schedule_end)
        end = scheduled_last if end is None else min(end, scheduled_last)
    if subscription.monthly_fee <= ZERO:
        return None
    return overlap(subscription.start_date, end, first, last)


def _recurring_for(
    subscription: Subscription, name: str, days: tuple[date, date], month_length: int
) -> LineDraft:
    start, stop = days
    billed = days_between(start, stop)
    fee = subscription.monthly_fee
    if billed == month_length:
        quantity, basis, unit, amount = ONE, ONE, "MON", cents(fee)
    else:
        quantity, basis, unit = Decimal(billed), Decimal(month_length), "DAY"
        amount = prorated(fee, billed, month_length)
    what = "Maintenance IRU" if subscription.offer_kind == "dark_fibre_iru" else name
    return _line(
        LineKind.RECURRING,
        f"{what} — {subscription.circuit_ref} — du {_day(start)} au {_day(stop)}",
        fee,
        quantity=quantity,
        basis=basis,
        unit=unit,
        amount=amount,
        subscription=subscription,
        period=(start, stop),
    )


def _one_time_lines(
    subscription: Subscription, name: str, first: date, last: date
) -> list[LineDraft]:
    if not first <= subscription.start_date <= last:
        return []
    lines = []
    day = (subscription.start_date, subscription.start_date)
    if subscription.one_time_fee > ZERO:
        text = f"Frais d'accès au service — {name} — {subscription.circuit_ref}"
        lines.append(
            _line(
                LineKind.ONE_TIME_FEE,
                f"{text} — mise en service le {_day(subscription.start_date)}",
                subscription.one_time_fee,
                subscription=subscription,
                period=day,
            )
        )
    if subscription.iru_price > ZERO:
        years = _iru_years(subscription)
        lines.append(
            _line(
                LineKind.IRU,
                f"Droit irrévocable d'usage{years} — {subscription.circuit_ref} — signé le "
                f"{_day(subscription.start_date)}",
                subscription.iru_price,
                subscription=subscription,
                period=day,
            )
        )
    return lines


def _early_termination_line(
    subscription: Subscription, name: str, first: date, last: date
) -> LineDraft | None:
    if subscription.end_date is None or not first <= subscription.end_date <= last:
        return None
    due = early_termination_fee(subscription)
    if due is None:
        return None
    fee, first_due, last_due = due
    percent = f"{subscription.early_termination_percent.normalize():f}".replace(".", ",")
    return _line(
        LineKind.EARLY_TERMINATION,
        f"Résiliation anticipée — {name} — {subscription.circuit_ref} — {percent} % des "
        f"redevances restant dues du {_day(first_due)} au {_day(last_due)}",
        fee,
        subscription=subscription,
        period=(first_due, last_due),
    )


def _line(
    kind: LineKind,
    description: str,
    unit_price: Decimal,
    *,
    quantity: Decimal = ONE,
    basis: Decimal = ONE,
    unit: str = "C62",
    amount: Decimal | None = None,
    subscription: Subscription | None = None,
    period: tuple[date, date] | None = None,
    result: SlaResult | None = None,
    departement: str | None = None,
) -> LineDraft:
    """A line of ``subscription`` (a charge) or of ``result`` (an SLA credit)."""
    return LineDraft(
        kind,
        description[:300],
        cents(unit_price),
        quantity,
        basis,
        unit,
        cents(unit_price * quantity / basis) if amount is None else amount,
        circuit_ref=_either(subscription, result, "circuit_ref"),
        subscription_id=subscription.id if subscription else None,
        sla_result_id=result.id if result else None,
        offer_id=_either(subscription, result, "offer_id"),
        departement=subscription.departement if subscription else departement,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
    )


def _either(subscription: Subscription | None, result: SlaResult | None, name: str) -> str | None:
    source = subscription if subscription is not None else result
    value = getattr(source, name, None)
    return str(value) if value is not None else None


def _penalty_text(result: SlaResult) -> str:
    year, month = (int(part) for part in result.month.split("-"))
    availability = f"{result.availability * 100:.3f}".replace(".", ",")
    breaches = result.gtr_breaches
    gtr = f"{breaches} dépassement{'s' if breaches > 1 else ''} de GTR ; " if breaches else ""
    return (
        f"Pénalité SLA — {result.circuit_ref} — {FRENCH_MONTHS[month - 1]} {year} : "
        f"{gtr}disponibilité {availability} %"
    )


def _iru_years(subscription: Subscription) -> str:
    if subscription.schedule_end is None:
        return ""
    years = subscription.schedule_end.year - subscription.contract_start.year
    return f" {years} ans"


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def month_name(year: int, month: int) -> str:
    """``mars 2026``."""
    return f"{FRENCH_MONTHS[month - 1]} {year}"
