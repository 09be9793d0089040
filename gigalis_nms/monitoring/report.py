"""The monthly SLA report: each circuit in service during a Paris calendar month, its
availability, its incidents against the GTR and the penalty owed, summed per operator and
per offer; and the results of closed months stored for billing.

Which circuits: those in service at some time in the month. A circuit has no dates of
activation or termination of its own, so the rule reads its lifecycle:

- active or suspended now, and created before the month ended: in service;
- terminated, created before the month ended, and terminated (``updated_at``: terminated is
  final, so the last change of a terminated circuit is its termination) after it started;
- reserved, designed or provisioning now: never in service yet (no lifecycle move leads
  back to them from active), whatever the month.

A circuit that became active in the middle of the month is measured over the whole month:
there is no record of the day it went live, and it could not fail before it existed, so
this flatters it by at most the days it was not yet delivered (proration is billing's).

Which terms: the offer of the circuit's last add or modify order item that did not fail
(``offering_id``), its SLA class in the catalogue, and the item's recurring price as the
monthly fee (the offer's list price when the item has none). Circuits of the inventory files
were never ordered: their availability is measured, but they have no GTR and no penalty.

A month not over yet is computed up to ``now`` and marked provisional; it is never stored.

Three queries whatever the number of circuits (circuits, order items, outages): the
arithmetic is then done in memory, circuit by circuit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gigalis_nms.audit import AuditEntry, audit_rows
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of, utcnow
from gigalis_nms.errors import Conflict, InvalidInput
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.tables import CIRCUIT, ORGANISATION
from gigalis_nms.monitoring.calendar import PARIS, month_bounds
from gigalis_nms.monitoring.models import SlaResult
from gigalis_nms.monitoring.outages import outages_between
from gigalis_nms.monitoring.sla import (
    COUNTED_CAUSES,
    IncidentAssessment,
    Outage,
    SlaTerms,
    monthly_sla,
    time_down,
)
from gigalis_nms.ordering.models import ItemAction, ItemState, ProductOrderItem

IN_SERVICE = (CircuitStatus.ACTIVE, CircuitStatus.SUSPENDED)
# An item that failed, was cancelled or rejected changed nothing: the circuit kept its offer.
VOID_ITEM_STATES = (ItemState.FAILED, ItemState.CANCELLED, ItemState.REJECTED)
NO_FEE = Decimal("0.00")
MONTH_TEXT = re.compile(r"(\d{4})-(\d{2})")


# --- Months -----------------------------------------------------------------------------------


def parse_month(text: str, field: str = "month") -> tuple[int, int]:
    """``(year, month)`` of ``YYYY-MM``; InvalidInput naming ``field`` otherwise.

    >>> parse_month("2026-10")
    (2026, 10)
    >>> parse_month("2026-13")
    Traceback (most recent call last):
    ...
    gigalis_nms.errors.InvalidInput: month: 2026-13 has no month 13 (01 to 12)
    """
    found = MONTH_TEXT.fullmatch(text.strip())
    if found is None:
        raise InvalidInput.of(field, f"{text!r} is not a month: write YYYY-MM, e.g. 2026-10")
    year, month = int(found[1]), int(found[2])
    if not 1 <= month <= 12:
        raise InvalidInput.of(field, f"{text} has no month {month} (01 to 12)")
    if year < 1970:
        raise InvalidInput.of(field, f"{text} is before the network's records (1970 on)")
    return year, month


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


# --- What the report holds --------------------------------------------------------------------


@dataclass(frozen=True)
class Availability:
    """Time measured over a period: counted downtime, excluded time, availability (0–1)."""

    period_seconds: float
    excluded_seconds: float
    downtime_seconds: float
    availability: Decimal


@dataclass(frozen=True)
class CircuitMonth:
    """One circuit's SLA for the month (up to ``computed_to`` when provisional)."""

    circuit_id: int
    ref: str
    operator_id: int
    operator: str
    offer_id: str | None  # None: never ordered (inventory files)
    sla_class: str | None  # None: no SLA terms, so no target, GTR or penalty
    monthly_fee: Decimal
    period_seconds: float
    excluded_seconds: float  # planned, customer-caused, force majeure
    downtime_seconds: float  # counted against availability
    availability: Decimal  # 0–1
    availability_target: Decimal | None  # 0–1, the SLA class's
    availability_met: bool | None
    incidents: int  # unplanned outages restored in the period
    assessments: tuple[IncidentAssessment, ...]  # those incidents against the GTR
    gtr_breaches: int | None
    penalty: Decimal | None  # EUR excluding VAT


@dataclass(frozen=True)
class Totals:
    """A group of circuits: availability mean and worst, downtime, breaches, penalties."""

    circuits: int
    availability_mean: Decimal
    availability_worst: Decimal
    downtime_seconds: float
    below_target: int  # circuits whose availability missed their SLA class's target
    gtr_breaches: int
    penalties: Decimal


@dataclass(frozen=True)
class OperatorTotals:
    operator_id: int
    operator: str
    totals: Totals


@dataclass(frozen=True)
class OfferTotals:
    offer_id: str | None  # None: circuits never ordered
    sla_class: str | None
    totals: Totals


@dataclass(frozen=True)
class MonthReport:
    month: str  # "2026-10", Europe/Paris
    starts_at: datetime
    ends_at: datetime
    computed_to: datetime  # ends_at, or the time of computing for a month not over
    provisional: bool
    operator_id: int | None  # the report covers this operator only
    circuits: tuple[CircuitMonth, ...]
    by_operator: tuple[OperatorTotals, ...]
    by_offer: tuple[OfferTotals, ...]


@dataclass(frozen=True)
class StoredCounts:
    """What :func:`store_month` did, circuit by circuit."""

    month: str
    created: int
    updated: int
    unchanged: int
    kept: int  # already billed: never changed


# --- Computing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ordered:
    offer_id: str
    recurring_price: Decimal | None


@dataclass(frozen=True)
class _Contract:
    """What a circuit was sold under: no offer, SLA class or terms when never ordered."""

    offer_id: str | None
    sla_class: str | None
    terms: SlaTerms | None
    monthly_fee: Decimal


@dataclass(frozen=True)
class _Period:
    year: int
    month: int
    start: datetime
    end: datetime
    until: datetime  # end, or now in a month not over

    @property
    def closed(self) -> bool:
        return self.until == self.end


def month_report(
    session: Session,
    catalogue: Catalogue,
    year: int,
    month: int,
    *,
    operator_id: int | None = None,
    circuit_ids: Collection[int] | None = None,
    now: datetime | None = None,
) -> MonthReport:
    """The SLA of every circuit in service in the Paris month ``year``-``month``, of one
    operator's circuits only with ``operator_id``, of those circuits only with
    ``circuit_ids``.

    ``now`` (aware; the current time by default) inside the month makes the report
    provisional, computed up to it; a month that has not started is refused.
    """
    label = month_label(*parse_month(month_label(year, month)))
    start, end = month_bounds(year, month)
    now = now or utcnow()
    if now <= start:
        raise InvalidInput.of("month", f"{label} has not started yet")
    period = _Period(year, month, start, end, min(end, now))

    circuits = _circuits_in_service(session, start, end, operator_id)
    if circuit_ids is not None:
        wanted = set(circuit_ids)
        circuits = [row for row in circuits if row.id in wanted]
    ordered = ordered_offers(session)
    outages = outages_between(session, start, period.until, circuit_ids)
    contract_of = _contracts(catalogue)

    results = []
    for row in circuits:
        found = outages.get(row.id, [])
        if not period.closed:
            found = _as_seen_at(found, period.until)
        contract = contract_of(ordered.get(row.id) or _listed(catalogue, row))
        results.append(_circuit_month(row, contract, found, period))
    return MonthReport(
        month=label,
        starts_at=start,
        ends_at=end,
        computed_to=period.until,
        provisional=not period.closed,
        operator_id=operator_id,
        circuits=tuple(results),
        by_operator=_by_operator(results),
        by_offer=_by_offer(results),
    )


def _circuit_month(
    row: Any, contract: _Contract, outages: list[Outage], period: _Period
) -> CircuitMonth:
    terms = contract.terms
    sla = None
    if terms is not None:
        sla = monthly_sla(outages, terms, period.year, period.month, contract.monthly_fee)
    if sla is not None and period.closed:  # the SLA arithmetic's own figures
        measured = Availability(
            sla.period_seconds, sla.excluded_seconds, sla.downtime_seconds, sla.availability
        )
    else:
        measured = measure(outages, period.start, period.until)

    target = terms.availability_percent / 100 if terms is not None else None
    assessments = sla.incidents if sla is not None else ()
    return CircuitMonth(
        circuit_id=row.id,
        ref=row.ref,
        operator_id=row.operator_id,
        operator=row.operator,
        offer_id=contract.offer_id,
        sla_class=contract.sla_class,
        monthly_fee=contract.monthly_fee,
        period_seconds=measured.period_seconds,
        excluded_seconds=measured.excluded_seconds,
        downtime_seconds=measured.downtime_seconds,
        availability=measured.availability,
        availability_target=target,
        availability_met=measured.availability >= target if target is not None else None,
        incidents=len(restored_between(outages, period.start, period.until)),
        assessments=assessments,
        gtr_breaches=None if sla is None else sum(1 for one in assessments if one.breached),
        penalty=sla.penalty if sla is not None else None,
    )


def measure(outages: Iterable[Outage], start: datetime, end: datetime) -> Availability:
    """Availability over ``[start, end)`` alone, for circuits without SLA terms and months
    not over yet; the same rules as :func:`~gigalis_nms.monitoring.sla.monthly_sla`."""
    downtime, excluded = time_down(outages, start, end)
    period = (end - start).total_seconds()
    measured = Decimal(str(period - excluded))
    availability = (1 - Decimal(str(downtime)) / measured) if measured > 0 else Decimal(1)
    return Availability(period, excluded, downtime, availability)


def restored_between(outages: Iterable[Outage], start: datetime, end: datetime) -> list[Outage]:
    """The unplanned outages restored in ``[start, end)``: the month's incidents."""
    return [
        outage
        for outage in outages
        if outage.cause in COUNTED_CAUSES and outage.end is not None and start <= outage.end < end
    ]


def _as_seen_at(outages: list[Outage], now: datetime) -> list[Outage]:
    """Outages as they stood at ``now``: one restored later was still open then."""
    return [
        outage
        if outage.end is None or outage.end <= now
        else Outage(outage.start, None, outage.cause)
        for outage in outages
        if outage.start < now
    ]


def _listed(catalogue: Catalogue, row: Any) -> Ordered | None:
    """A never-ordered circuit (the inventory files') under the offer that matches it, at its
    list fee: billing bills it so, and its SLA is owed so. Dark fibre has no list fee (it is
    priced by length): its SLA is measured and its penalty is nil."""
    offer = catalogue.offer_for_circuit(row.service_type, row.bandwidth_mbps)
    if isinstance(offer, str):
        return None
    return Ordered(offer.id, getattr(offer, "monthly_fee", None))


def _circuits_in_service(
    session: Session, start: datetime, end: datetime, operator_id: int | None
) -> list[Any]:
    last_day = (end - timedelta(seconds=1)).astimezone(PARIS).date()
    began = sa.or_(  # the day it went into service, else its creation, is before the month's end
        CIRCUIT.c.in_service_since <= last_day,
        sa.and_(CIRCUIT.c.in_service_since.is_(None), CIRCUIT.c.created_at < end),
    )
    query = (
        sa.select(
            CIRCUIT.c.id,
            CIRCUIT.c.ref,
            CIRCUIT.c.operator_id,
            CIRCUIT.c.service_type,
            CIRCUIT.c.bandwidth_mbps,
            ORGANISATION.c.name.label("operator"),
        )
        .join(ORGANISATION, ORGANISATION.c.id == CIRCUIT.c.operator_id)
        .where(
            began,
            sa.or_(
                CIRCUIT.c.status.in_(IN_SERVICE),
                sa.and_(
                    CIRCUIT.c.status == CircuitStatus.TERMINATED,
                    CIRCUIT.c.updated_at >= start,
                ),
            ),
        )
        .order_by(CIRCUIT.c.ref)
    )
    if operator_id is not None:
        query = query.where(CIRCUIT.c.operator_id == operator_id)
    return list(execute_core(session, query))


def ordered_offers(session: Session) -> dict[int, Ordered]:
    """The offer and price each circuit was last ordered or modified under, by circuit id;
    items that failed, were cancelled or rejected changed nothing. Circuits of the inventory
    files were never ordered and have none."""
    items = table_of(ProductOrderItem)
    query = last_order_items(items.c.circuit_id, items.c.offering_id, items.c.recurring_price)
    return {
        row.circuit_id: Ordered(row.offering_id, row.recurring_price)
        for row in execute_core(session, query).all()
    }


def last_order_items(*columns: sa.Column[Any]) -> sa.Select[Any]:
    """``columns`` of the order items that set a circuit's offer, oldest first: the last
    of a circuit's items wins (:func:`ordered_offers`; ``/metrics`` reads the offers alone)."""
    items = table_of(ProductOrderItem)
    return (
        sa.select(*columns)
        .where(
            items.c.circuit_id.is_not(None),
            items.c.offering_id.is_not(None),
            items.c.action.in_([ItemAction.ADD, ItemAction.MODIFY]),
            items.c.state.not_in(VOID_ITEM_STATES),
        )
        .order_by(items.c.id)
    )


def _contracts(catalogue: Catalogue) -> Callable[[Ordered | None], _Contract]:
    """How a circuit's last order item reads against the catalogue: its offer's SLA class
    and terms, and its monthly fee (the item's price, else the offer's list fee, else 0)."""
    classes = {sla.id: SlaTerms.of(sla) for sla in catalogue.sla_classes}
    offers = {offer.id: offer for offer in catalogue.offers}
    unordered = _Contract(None, None, None, NO_FEE)

    def contract(order: Ordered | None) -> _Contract:
        if order is None:
            return unordered
        offer = offers.get(order.offer_id)
        # Dark fibre is priced per km, so it has no list fee: its item always carries one.
        list_fee = getattr(offer, "monthly_fee", None)
        fee = order.recurring_price if order.recurring_price is not None else list_fee
        if offer is None:  # withdrawn from the catalogue: its terms are not known any more
            return _Contract(order.offer_id, None, None, fee or NO_FEE)
        return _Contract(order.offer_id, offer.sla_class, classes[offer.sla_class], fee or NO_FEE)

    return contract


# --- Totals -----------------------------------------------------------------------------------


def totals(circuits: Sequence[CircuitMonth]) -> Totals:
    """The figures of a group of circuits (at least one)."""
    availabilities = [circuit.availability for circuit in circuits]
    return Totals(
        circuits=len(circuits),
        availability_mean=sum(availabilities, Decimal(0)) / len(circuits),
        availability_worst=min(availabilities),
        downtime_seconds=sum(circuit.downtime_seconds for circuit in circuits),
        below_target=sum(1 for circuit in circuits if circuit.availability_met is False),
        gtr_breaches=sum(circuit.gtr_breaches or 0 for circuit in circuits),
        penalties=sum((circuit.penalty or NO_FEE for circuit in circuits), NO_FEE),
    )


def _grouped(
    circuits: Iterable[CircuitMonth], key: Callable[[CircuitMonth], Any]
) -> dict[Any, list[CircuitMonth]]:
    groups: dict[Any, list[CircuitMonth]] = defaultdict(list)
    for circuit in circuits:
        groups[key(circuit)].append(circuit)
    return groups


def _by_operator(circuits: list[CircuitMonth]) -> tuple[OperatorTotals, ...]:
    groups = _grouped(circuits, lambda circuit: (circuit.operator, circuit.operator_id))
    return tuple(
        OperatorTotals(operator_id, name, totals(group))
        for (name, operator_id), group in sorted(groups.items())
    )


def _by_offer(circuits: list[CircuitMonth]) -> tuple[OfferTotals, ...]:
    groups = _grouped(circuits, lambda circuit: (circuit.offer_id, circuit.sla_class))
    # Offers by id, circuits never ordered last.
    ordered = sorted(groups.items(), key=lambda item: (item[0][0] is None, item[0][0] or ""))
    return tuple(
        OfferTotals(offer_id, sla_class, totals(group)) for (offer_id, sla_class), group in ordered
    )


# --- Stored results -----------------------------------------------------------------------------

RESULT = table_of(SlaResult)
# The columns a new computation may change; ``computed_at`` moves only with them.
COMPARED = (
    "circuit_ref",
    "operator_id",
    "offer_id",
    "sla_class",
    "period_seconds",
    "excluded_seconds",
    "downtime_seconds",
    "availability",
    "availability_target",
    "availability_met",
    "incidents",
    "gtr_breaches",
    "monthly_fee",
    "penalty",
)


def store_month(
    session: Session, report: MonthReport, *, only_stored: bool = False
) -> StoredCounts:
    """Store each circuit's result of a closed month for billing: new ones added, changed
    ones updated, billed ones never touched. Storing the same figures twice changes nothing.
    ``only_stored`` updates results already stored and adds none (a restatement).

    Written in bulk (a month holds every circuit) and audited as the ORM would be.
    """
    if report.provisional:
        raise InvalidInput.of(
            "month", f"{report.month} is not over yet: its figures are provisional, not stored"
        )
    existing = {
        row.circuit_id: row
        for row in execute_core(session, sa.select(RESULT).where(RESULT.c.month == report.month))
    }
    computed_at = utcnow()
    new, changed, unchanged, kept = [], [], 0, 0
    for circuit in report.circuits:
        values = result_values(report.month, circuit)
        before = existing.get(circuit.circuit_id)
        if before is None:
            if not only_stored:
                new.append({**values, "month": report.month, "computed_at": computed_at})
        elif before.billed_at is not None:
            kept += 1
        elif all(values[name] == getattr(before, name) for name in COMPARED):
            unchanged += 1
        else:
            changed.append((before, values))

    _insert(session, new)
    _update(session, changed, computed_at)
    return StoredCounts(report.month, len(new), len(changed), unchanged, kept)


def result_values(month: str, circuit: CircuitMonth) -> dict[str, Any]:
    """The stored row of ``circuit``'s result, as compared with what is already stored."""
    return {
        "circuit_id": circuit.circuit_id,
        "circuit_ref": circuit.ref,
        "operator_id": circuit.operator_id,
        "offer_id": circuit.offer_id,
        "sla_class": circuit.sla_class,
        "period_seconds": round(circuit.period_seconds),
        "excluded_seconds": round(circuit.excluded_seconds),
        "downtime_seconds": round(circuit.downtime_seconds),
        "availability": float(circuit.availability),
        "availability_target": _ratio(circuit.availability_target),
        "availability_met": circuit.availability_met,
        "incidents": circuit.incidents,
        "gtr_breaches": circuit.gtr_breaches or 0,
        "monthly_fee": circuit.monthly_fee,
        "penalty": circuit.penalty if circuit.penalty is not None else NO_FEE,
    }


def _ratio(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    try:
        made = session.execute(
            sa.insert(RESULT).returning(RESULT.c.id, RESULT.c.circuit_id), rows
        ).all()
    except IntegrityError:
        # The unique (circuit, month) constraint: another store of the month got there first.
        raise Conflict.of(
            "month", f"{rows[0]['month']} is being stored by another process; try again"
        ) from None
    ids = {circuit_id: row_id for row_id, circuit_id in made}
    changes: list[tuple[int | None, dict[str, Any] | None, dict[str, Any] | None]] = [
        (ids[row["circuit_id"]], None, row) for row in rows
    ]
    _audit(session, "create", changes)


def _update(
    session: Session, changed: list[tuple[Any, dict[str, Any]]], computed_at: datetime
) -> None:
    if not changed:
        return
    statement = (
        sa.update(RESULT)
        .where(RESULT.c.id == sa.bindparam("row_id"), RESULT.c.billed_at.is_(None))
        .values({name: sa.bindparam(name) for name in (*COMPARED, "computed_at")})
    )
    session.execute(
        statement,
        [{**values, "row_id": before.id, "computed_at": computed_at} for before, values in changed],
        execution_options={"synchronize_session": False},
    )
    changes: list[tuple[int | None, dict[str, Any] | None, dict[str, Any] | None]] = []
    for before, values in changed:
        names = [name for name in COMPARED if values[name] != getattr(before, name)]
        old = {name: getattr(before, name) for name in names}
        changes.append((before.id, old, {name: values[name] for name in names}))
    _audit(session, "update", changes)


def _audit(
    session: Session,
    action: str,
    changes: list[tuple[int | None, dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    actor = session.info.get("actor", "system")
    session.execute(sa.insert(AuditEntry), audit_rows(actor, action, RESULT.name, changes))


def restate_stored(
    session: Session, catalogue: Catalogue, circuit_ids: Collection[int]
) -> list[StoredCounts]:
    """Compute again the stored, not yet billed, results of ``circuit_ids`` (an incident of
    theirs was reclassified): every month they have such a result in. Billed months stay as
    billed; a correction of those is billing's, by credit note."""
    query = (
        sa.select(RESULT.c.month)
        .where(RESULT.c.circuit_id.in_(sorted(circuit_ids)), RESULT.c.billed_at.is_(None))
        .distinct()
        .order_by(RESULT.c.month)
    )
    restated = []
    for month in list(execute_core(session, query).scalars()):
        report = month_report(session, catalogue, *parse_month(month), circuit_ids=circuit_ids)
        restated.append(store_month(session, report, only_stored=True))
    return restated


def stored_results(session: Session, month: str, operator_id: int | None = None) -> list[SlaResult]:
    """The stored results of ``month`` ("2026-10"), by circuit reference: what billing
    credits."""
    label = month_label(*parse_month(month))
    query = select(SlaResult).where(col(SlaResult.month) == label)
    if operator_id is not None:
        query = query.where(col(SlaResult.operator_id) == operator_id)
    return list(session.exec(query.order_by(col(SlaResult.circuit_ref))).all())
