"""The rule on a site's step dates (models.status_date_problem): in order, only for the
steps reached, and never after today in Paris — a step is dated when it is reached."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from gigalis_nms.monitoring.calendar import PARIS
from gigalis_nms.resource_centre.models import (
    NEED_STEPS,
    STATUS_DATE,
    NeedStatus,
    paris_today,
    status_date_problem,
)

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize("step", NEED_STEPS)
def test_no_step_is_dated_after_today(step: NeedStatus) -> None:
    field = STATUS_DATE[step]
    values = {"status": NeedStatus.CONNECTED, field: TODAY + timedelta(days=1)}
    assert status_date_problem(values, today=TODAY) == (
        field,
        "2026-03-11 is in the future (today is 2026-03-10 in Paris)",
    )
    assert status_date_problem({**values, field: TODAY}, today=TODAY) is None


def test_every_step_up_to_today_is_accepted() -> None:
    values = {
        "status": NeedStatus.CONNECTED,
        "identified_on": date(2025, 1, 2),
        "studied_on": date(2025, 6, 1),
        "planned_on": date(2026, 1, 5),
        "connected_on": TODAY,
    }
    assert status_date_problem(values, today=TODAY) is None


def test_the_earlier_rules_still_come_first() -> None:
    # A date for a step not reached is named as such, even in the future.
    future = {"status": NeedStatus.IDENTIFIED, "planned_on": TODAY + timedelta(days=30)}
    assert status_date_problem(future, today=TODAY) == (
        "planned_on",
        "the site is identified: it has not reached planned yet",
    )


def test_today_is_pariss_by_default() -> None:
    assert paris_today() == datetime.now(PARIS).date()
    tomorrow = paris_today() + timedelta(days=1)
    assert status_date_problem({"identified_on": tomorrow}) == (
        "identified_on",
        f"{tomorrow} is in the future (today is {paris_today()} in Paris)",
    )
    assert status_date_problem({"identified_on": paris_today()}) is None
