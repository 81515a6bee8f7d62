"""Working days for the repair time limits: Chinese public holidays and adjusted working days
from the chinesecalendar library, which follows the State Council's schedule year by year.

The schedule for a year is published late in the year before, so the library may not know a
year yet. A day in such a year is judged provisionally: weekends and the statutory holidays
are days off. The statutory holidays are known in advance even where they move with the lunar
calendar (《全国年节及纪念日放假办法》: New Year's Day, Spring Festival from its eve to the third
day, Qingming, Labour Day 1-2 May, Dragon Boat, Mid-Autumn, National Day 1-3 October); the
``holidays`` library computes them. Only the State Council's swaps (weekends worked, weekdays
off around the holidays) are unknown, so a deadline that consulted a provisional day says so,
and is computed again once a library update knows the year (``repair_recompute_deadlines``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
import holidays

ONE_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=16)
def statutory_holidays(year: int) -> frozenset[dt.date]:
    """The statutory holidays of ``year``, without the guessed "observed" days: where a
    holiday falling on a weekend is made up is part of the unpublished schedule."""
    return frozenset(holidays.country_holidays("CN", years=year, observed=False))


@lru_cache(maxsize=4096)
def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """(is it a working day, is that a provisional judgement)."""
    try:
        return chinese_calendar.is_workday(day), False
    except NotImplementedError:
        return day.weekday() < 5 and day not in statutory_holidays(day.year), True


@dataclass(frozen=True)
class Deadline:
    due_on: dt.date
    provisional: bool


def add_working_days(start: dt.date, days: int) -> Deadline:
    """The date of the ``days``-th working day after ``start`` (``start`` itself does not
    count, whatever it is: an application made on a Saturday has its first working day on
    Monday). Zero days is ``start`` itself."""
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    day, counted, provisional = start, 0, False
    while counted < days:
        day += ONE_DAY
        working, guessed = is_working_day(day)
        provisional |= guessed
        counted += working
    return Deadline(day, provisional)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``)."""
    count, day = 0, start
    while day < end:
        day += ONE_DAY
        count += is_working_day(day)[0]
    return count
