"""SLA arithmetic with figures worked out by hand: month lengths across the daylight-saving
changes, an outage over two months, business-hour GTR over a weekend and a public holiday,
overlapping incidents, maintenance excluded, the penalty's rounding and cap."""

from __future__ import annotations

import doctest
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from gigalis_nms.catalogue.models import ServiceHours
from gigalis_nms.monitoring import calendar
from gigalis_nms.monitoring.calendar import PARIS, business_seconds, french_public_holidays
from gigalis_nms.monitoring.sla import Outage, OutageCause, SlaTerms, monthly_sla

# The catalogue's two classes (billing/catalogue.yaml), written out so the figures below
# do not move if the catalogue's prices do.
STANDARD = SlaTerms(ServiceHours.BUSINESS, 8, Decimal("99.5"), Decimal(5), Decimal(50))
PREMIUM = SlaTerms(ServiceHours.ALWAYS, 4, Decimal("99.9"), Decimal(10), Decimal(100))
FEE = Decimal("600.00")
HOUR = 3600


def paris(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=PARIS)  # type: ignore[misc]


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


def test_calendar_examples_hold() -> None:
    assert doctest.testmod(calendar).failed == 0


def test_the_holidays_of_2026_and_2027() -> None:
    assert french_public_holidays(2026) == {
        date(2026, 1, 1), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 8),
        date(2026, 5, 14), date(2026, 5, 25), date(2026, 7, 14), date(2026, 8, 15),
        date(2026, 11, 1), date(2026, 11, 11), date(2026, 12, 25),
    }  # fmt: skip
    assert date(2027, 3, 29) in french_public_holidays(2027)  # Easter Monday
    assert date(2027, 5, 6) in french_public_holidays(2027)  # Ascension


def test_a_month_without_outage() -> None:
    april = monthly_sla([], STANDARD, 2026, 4, FEE)
    assert april.period_seconds == 720 * HOUR
    assert april.availability == 1
    assert april.availability_met
    assert april.incidents == ()
    assert april.penalty == 0


def test_march_is_an_hour_short_and_an_outage_over_the_change_lasts_what_it_lasted() -> None:
    # 01:30 CET to 03:30 CEST on 29 March 2026: one hour went by, not two.
    outage = Outage(paris(2026, 3, 29, 1, 30), paris(2026, 3, 29, 3, 30))
    march = monthly_sla([outage], PREMIUM, 2026, 3, FEE)
    assert march.period_seconds == 743 * HOUR
    assert march.downtime_seconds == HOUR
    assert march.availability == 1 - Decimal(HOUR) / Decimal(743 * HOUR)
    assert not march.availability_met  # 99.865 % < 99.9 %
    assert [incident.restore_seconds for incident in march.incidents] == [HOUR]
    assert march.penalty == 0  # within the 4 h GTR


def test_october_is_an_hour_long() -> None:
    # 01:30 CEST to 01:30 CET on 25 October 2026: two hours.
    outage = Outage(utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 1, 30))
    october = monthly_sla([outage], PREMIUM, 2026, 10, FEE)
    assert october.period_seconds == 745 * HOUR
    assert october.downtime_seconds == 2 * HOUR
    assert october.availability == 1 - Decimal(2 * HOUR) / Decimal(745 * HOUR)


def test_an_outage_over_two_months_counts_in_each_and_is_assessed_when_restored() -> None:
    outage = Outage(paris(2026, 1, 31, 23, 0), paris(2026, 2, 1, 1, 0))
    january = monthly_sla([outage], PREMIUM, 2026, 1, FEE)
    february = monthly_sla([outage], PREMIUM, 2026, 2, FEE)
    assert january.downtime_seconds == HOUR
    assert february.downtime_seconds == HOUR
    assert january.incidents == ()
    assert [incident.restore_seconds for incident in february.incidents] == [2 * HOUR]


def test_business_hours_skip_the_weekend() -> None:
    # Friday 16:00 to Monday 14:00: 2 h on Friday, 6 h on Monday: the GTR exactly.
    on_time = Outage(paris(2026, 3, 6, 16, 0), paris(2026, 3, 9, 14, 0))
    assert business_seconds(on_time.start, on_time.end or on_time.start) == 8 * HOUR
    assert monthly_sla([on_time], STANDARD, 2026, 3, FEE).penalty == 0

    # Half an hour later: 8.5 h, one started hour beyond: 5 % of 600.00.
    late = Outage(paris(2026, 3, 6, 16, 0), paris(2026, 3, 9, 14, 30))
    march = monthly_sla([late], STANDARD, 2026, 3, FEE)
    assert march.incidents[0].started_hours_beyond == 1
    assert march.penalty_percent == 5
    assert march.penalty == Decimal("30.00")


def test_business_hours_skip_a_public_holiday() -> None:
    # Thursday 30 April 17:00 to Monday 4 May 16:20, Friday 1 May a holiday: 1 h + 8 h 20.
    outage = Outage(paris(2026, 4, 30, 17, 0), paris(2026, 5, 4, 16, 20))
    may = monthly_sla([outage], STANDARD, 2026, 5, FEE)
    assert may.incidents[0].restore_seconds == 9 * HOUR + 20 * 60
    assert may.incidents[0].started_hours_beyond == 2  # 1 h 20 beyond: two started hours
    assert may.penalty == Decimal("60.00")
    # Around the clock, the same outage lasted 95 h 20.
    assert monthly_sla([outage], PREMIUM, 2026, 5, FEE).incidents[0].restore_seconds == (
        95 * HOUR + 20 * 60
    )


def test_overlapping_incidents_count_their_time_once() -> None:
    first = Outage(paris(2026, 4, 15, 10, 0), paris(2026, 4, 15, 12, 0))
    second = Outage(paris(2026, 4, 15, 11, 0), paris(2026, 4, 15, 13, 0))
    april = monthly_sla([first, second], STANDARD, 2026, 4, FEE)
    assert april.downtime_seconds == 3 * HOUR
    assert len(april.incidents) == 2


def test_maintenance_is_excluded_even_where_an_incident_overlaps_it() -> None:
    planned = Outage(paris(2026, 4, 15, 2, 0), paris(2026, 4, 15, 4, 0), OutageCause.PLANNED)
    unplanned = Outage(paris(2026, 4, 15, 3, 0), paris(2026, 4, 15, 5, 0))
    april = monthly_sla([planned, unplanned], PREMIUM, 2026, 4, FEE)
    assert april.excluded_seconds == 2 * HOUR
    assert april.downtime_seconds == HOUR
    assert april.availability == 1 - Decimal(HOUR) / Decimal(720 * HOUR - 2 * HOUR)


@pytest.mark.parametrize("cause", [OutageCause.CUSTOMER, OutageCause.FORCE_MAJEURE])
def test_customer_and_force_majeure_outages_cost_nothing(cause: OutageCause) -> None:
    outage = Outage(paris(2026, 4, 13, 8, 0), paris(2026, 4, 17, 18, 0), cause)
    april = monthly_sla([outage], STANDARD, 2026, 4, FEE)
    assert april.downtime_seconds == 0
    assert april.availability == 1
    assert april.incidents == ()
    assert april.penalty == 0


def test_the_penalty_is_capped_per_month() -> None:
    # Monday 08:00 to Friday 18:00: 50 business hours, 42 beyond the GTR: 210 %, capped 50 %.
    outage = Outage(paris(2026, 4, 13, 8, 0), paris(2026, 4, 17, 18, 0))
    april = monthly_sla([outage], STANDARD, 2026, 4, FEE)
    assert april.incidents[0].started_hours_beyond == 42
    assert april.penalty_percent == 50
    assert april.penalty == Decimal("300.00")
    # Around the clock: 106 h, 102 beyond the 4 h GTR: 1,020 %, capped at 100 %.
    assert monthly_sla([outage], PREMIUM, 2026, 4, FEE).penalty == Decimal("600.00")


def test_the_penalty_is_rounded_half_up_to_the_cent() -> None:
    late = Outage(paris(2026, 3, 6, 16, 0), paris(2026, 3, 9, 14, 30))
    assert monthly_sla([late], STANDARD, 2026, 3, Decimal("333.33")).penalty == Decimal("16.67")


def test_an_open_outage_counts_to_the_months_end_and_is_not_assessed_yet() -> None:
    outage = Outage(paris(2026, 4, 30, 22, 0), None)
    april = monthly_sla([outage], PREMIUM, 2026, 4, FEE)
    assert april.downtime_seconds == 2 * HOUR
    assert april.incidents == ()
