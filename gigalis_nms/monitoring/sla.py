"""A circuit's SLA for one calendar month (Europe/Paris): availability, the time to restore of
each incident against the guaranteed time (GTR), and the penalty owed.

Pure arithmetic on outages, so that it is exact and tested to the second and the cent; the
poller and the incident log (to come) feed it, billing reads its results.

- **Availability** = 1 − counted downtime / (month − excluded time). Only unplanned outages
  count; planned work (inside a declared maintenance window), customer-caused outages and
  force majeure are excluded from both. Overlapping outages count once; where an excluded
  outage overlaps a counted one, the time is excluded.
- **GTR**: each unplanned incident restored within the month is measured from its start to
  its end, in business hours (Monday–Friday 08:00–18:00 Paris, holidays excluded) for a
  business-hours SLA class, around the clock for a 24x7 one. An incident is assessed in the
  month it is restored in; an incident still open at the month's end is not assessed yet.
- **Penalty**: the schedule's percentage of the monthly fee per started hour beyond the GTR,
  summed over the month's incidents, capped at the schedule's monthly cap; the amount is
  rounded half-up to the cent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from gigalis_nms.catalogue.models import CENT, ServiceHours, SlaClass
from gigalis_nms.monitoring.calendar import business_seconds, month_bounds

HOUR = 3600


class OutageCause(StrEnum):
    UNPLANNED = "unplanned"  # the default: counts against availability and GTR
    PLANNED = "planned"  # inside a declared maintenance window
    CUSTOMER = "customer"  # caused by the operator or its customer
    FORCE_MAJEURE = "force_majeure"


COUNTED_CAUSES = frozenset({OutageCause.UNPLANNED})


@dataclass(frozen=True)
class Outage:
    """A time the circuit was down, and why; ``end`` None while it lasts."""

    start: datetime
    end: datetime | None
    cause: OutageCause = OutageCause.UNPLANNED


@dataclass(frozen=True)
class SlaTerms:
    """What an SLA class promises, and what missing it costs."""

    hours: ServiceHours
    gtr_hours: int
    availability_percent: Decimal
    percent_per_started_hour: Decimal
    monthly_cap_percent: Decimal

    @classmethod
    def of(cls, sla: SlaClass) -> SlaTerms:
        return cls(
            sla.hours,
            sla.gtr_hours,
            sla.availability_percent,
            sla.penalty.percent_per_started_hour,
            sla.penalty.monthly_cap_percent,
        )


@dataclass(frozen=True)
class IncidentAssessment:
    """One unplanned incident restored in the month, against the GTR."""

    start: datetime
    end: datetime
    restore_seconds: float  # in the SLA class's hours
    gtr_seconds: int
    started_hours_beyond: int  # 0 when restored within the GTR

    @property
    def breached(self) -> bool:
        return self.started_hours_beyond > 0


@dataclass(frozen=True)
class MonthlySla:
    year: int
    month: int
    period_seconds: float
    excluded_seconds: float
    downtime_seconds: float  # counted
    availability: Decimal  # 0–1
    availability_met: bool
    incidents: tuple[IncidentAssessment, ...]
    penalty_percent: Decimal
    penalty: Decimal  # EUR excluding VAT


Interval = tuple[datetime, datetime]


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of ``intervals``, as sorted disjoint intervals."""
    result: list[Interval] = []
    for start, end in sorted(intervals):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def without(intervals: Sequence[Interval], removed: Sequence[Interval]) -> list[Interval]:
    """``intervals`` (disjoint) less the time in ``removed`` (disjoint)."""
    result = []
    for start, end in intervals:
        pieces = [(start, end)]
        for cut_start, cut_end in removed:
            pieces = [
                piece
                for piece_start, piece_end in pieces
                for piece in (
                    (piece_start, min(piece_end, cut_start)),
                    (max(piece_start, cut_end), piece_end),
                )
                if piece[0] < piece[1]
            ]
        result += pieces
    return result


def _seconds(intervals: Iterable[Interval]) -> float:
    return sum((end - start).total_seconds() for start, end in intervals)


def _clipped(
    outages: Iterable[Outage], start: datetime, end: datetime, *, counted: bool
) -> list[Interval]:
    return merged(
        (max(outage.start, start), min(outage.end or end, end))
        for outage in outages
        if (outage.cause in COUNTED_CAUSES) == counted
        and outage.start < end
        and (outage.end is None or outage.end > start)
    )


def _in_utc(outage: Outage) -> Outage:
    # Python subtracts two datetimes of one time zone on their wall clocks: 03:30 less 01:30
    # on the night clocks go forward would be two hours. In UTC it is the hour that passed.
    end = outage.end.astimezone(UTC) if outage.end is not None else None
    return Outage(outage.start.astimezone(UTC), end, outage.cause)


def restore_seconds(outage: Outage, hours: ServiceHours) -> float:
    assert outage.end is not None
    if hours is ServiceHours.BUSINESS:
        return business_seconds(outage.start, outage.end)
    return (outage.end - outage.start).total_seconds()


def assess(outage: Outage, terms: SlaTerms) -> IncidentAssessment:
    """An incident restored, against the GTR of the SLA class."""
    assert outage.end is not None
    restored_in = restore_seconds(_in_utc(outage), terms.hours)
    gtr = terms.gtr_hours * HOUR
    beyond = math.ceil((restored_in - gtr) / HOUR) if restored_in > gtr else 0
    return IncidentAssessment(outage.start, outage.end, restored_in, gtr, beyond)


def monthly_sla(
    outages: Iterable[Outage], terms: SlaTerms, year: int, month: int, monthly_fee: Decimal
) -> MonthlySla:
    """The SLA of one circuit for the Paris calendar month ``year``-``month``."""
    outages = [_in_utc(outage) for outage in outages]
    start, end = month_bounds(year, month)
    excluded = _clipped(outages, start, end, counted=False)
    counted = without(_clipped(outages, start, end, counted=True), excluded)
    period = (end - start).total_seconds()
    excluded_seconds, downtime = _seconds(excluded), _seconds(counted)
    measured = Decimal(str(period - excluded_seconds))
    availability = (1 - Decimal(str(downtime)) / measured) if measured > 0 else Decimal(1)

    restored = [
        outage
        for outage in outages
        if outage.cause in COUNTED_CAUSES and outage.end is not None and start <= outage.end < end
    ]
    incidents = tuple(assess(outage, terms) for outage in sorted(restored, key=lambda o: o.start))
    hours_beyond = sum(incident.started_hours_beyond for incident in incidents)
    percent = min(hours_beyond * terms.percent_per_started_hour, terms.monthly_cap_percent)
    penalty = (monthly_fee * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return MonthlySla(
        year=year,
        month=month,
        period_seconds=period,
        excluded_seconds=excluded_seconds,
        downtime_seconds=downtime,
        availability=availability,
        availability_met=availability * 100 >= terms.availability_percent,
        incidents=incidents,
        penalty_percent=percent,
        penalty=penalty,
    )


def time_down(outages: Iterable[Outage], start: datetime, end: datetime) -> tuple[float, float]:
    """Seconds counted against availability and seconds excluded from it in [start, end):
    the month to date that the exporter shows, by the same rules as :func:`monthly_sla`."""
    outages = [_in_utc(outage) for outage in outages]
    excluded = _clipped(outages, start, end, counted=False)
    counted = without(_clipped(outages, start, end, counted=True), excluded)
    return _seconds(counted), _seconds(excluded)
