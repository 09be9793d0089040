"""The calendar SLAs are counted in: Europe/Paris months, French public holidays and the
business hours of the standard SLA class (Monday to Friday, 08:00–18:00, holidays excluded).

Instants are aware datetimes (stored in UTC); days, months and hours are Paris's, so a month
holding a daylight-saving change is an hour shorter (March) or longer (October):

>>> hours = lambda bounds: (bounds[1] - bounds[0]).total_seconds() / 3600
>>> hours(month_bounds(2026, 3)), hours(month_bounds(2026, 10)), hours(month_bounds(2026, 4))
(743.0, 745.0, 720.0)
>>> [day.isoformat() for day in sorted(french_public_holidays(2026))][:5]
['2026-01-01', '2026-04-06', '2026-05-01', '2026-05-08', '2026-05-14']
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
BUSINESS_OPENS = time(8, 0)
BUSINESS_CLOSES = time(18, 0)
FRIDAY = 4  # date.weekday()


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous algorithm of 1876).

    >>> easter_sunday(2026), easter_sunday(2027), easter_sunday(2024)
    (datetime.date(2026, 4, 5), datetime.date(2027, 3, 28), datetime.date(2024, 3, 31))
    """
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def french_public_holidays(year: int) -> frozenset[date]:
    """The eleven public holidays of metropolitan France (Code du travail, L3133-1); the
    Alsace-Moselle ones do not apply to the Pays de la Loire."""
    easter = easter_sunday(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    movable = [
        easter + timedelta(days=offset) for offset in (1, 39, 50)
    ]  # Monday, Ascension, Whit Monday
    return frozenset([date(year, month, day) for month, day in fixed] + movable)


def is_business_day(day: date) -> bool:
    return day.weekday() <= FRIDAY and day not in french_public_holidays(day.year)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of the Paris calendar month and of the next one, in UTC."""
    start = datetime(year, month, 1, tzinfo=PARIS)
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=PARIS)
    return start.astimezone(UTC), following.astimezone(UTC)


def business_seconds(start: datetime, end: datetime) -> float:
    """Seconds of ``[start, end)`` that fall in business hours, Paris time.

    >>> friday_5pm = datetime(2026, 3, 6, 17, 0, tzinfo=PARIS)
    >>> business_seconds(friday_5pm, friday_5pm + timedelta(days=3)) / 3600  # to Monday 5 pm
    10.0
    """
    if end <= start:
        return 0.0
    # In UTC: Python subtracts two times of one zone on their wall clocks (see sla.py).
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = 0.0
    day = start.astimezone(PARIS).date()
    last = end.astimezone(PARIS).date()
    while day <= last:
        if is_business_day(day):
            opens = datetime.combine(day, BUSINESS_OPENS, tzinfo=PARIS).astimezone(UTC)
            closes = datetime.combine(day, BUSINESS_CLOSES, tzinfo=PARIS).astimezone(UTC)
            overlap = min(end, closes) - max(start, opens)
            total += max(overlap.total_seconds(), 0.0)
        day += timedelta(days=1)
    return total
