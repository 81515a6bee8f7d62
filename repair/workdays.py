"""Working days for the repair time limits: Chinese public holidays and adjusted working days
from the chinesecalendar library, which follows the State Council's schedule year by year.

The schedule for a year is published late in the year before, so the library may not know a
year yet. A day in such a year is judged provisionally: weekends and the fixed-date holidays
are days off, nothing else. A deadline that consulted a provisional day says so, and is
computed again once a library update knows the year (``repair_recompute_deadlines``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar

# Statutory holidays that fall on the same solar date every year (New Year's Day, Labour Day,
# National Day). The lunar holidays move, so they are only known from the published schedule.
FIXED_DATE_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})

ONE_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=4096)
def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """(is it a working day, is that a provisional judgement)."""
    try:
        return chinese_calendar.is_workday(day), False
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS, True


@dataclass(frozen=True)
class Deadline:
    due_on: dt.date
    provisional: bool


def add_working_days(start: dt.date, days: int) -> Deadline:
    """The date of the ``days``-th working day after ``start`` (``start`` itself does not
    count, whatever it is: an application made on a Saturday has its first working day on
    Monday). Zero days is ``start`` itself."""
    if days < 0:
        raise ValueError("days must not be negative")
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
