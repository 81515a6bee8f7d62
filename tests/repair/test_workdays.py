import datetime as dt

import pytest

from repair.workdays import Deadline, add_working_days, working_days_between

D = dt.date


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # An ordinary week: Monday + 3 is Thursday.
        (D(2026, 11, 23), 3, D(2026, 11, 26)),
        # Friday + 3 skips the weekend.
        (D(2026, 11, 27), 3, D(2026, 12, 2)),
        # Saturday: the start itself never counts, Monday is the first working day.
        (D(2026, 11, 28), 3, D(2026, 12, 2)),
        # National Day 2026: 1-7 October off; Saturday 10 October is an adjusted working day.
        (D(2026, 9, 30), 3, D(2026, 10, 10)),
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        # Sunday 20 September 2026 is an adjusted working day too.
        (D(2026, 9, 19), 1, D(2026, 9, 20)),
        # Spring Festival 2026 (15-23 February off; 14 and 28 February worked).
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 14), 1, D(2026, 2, 24)),
        (D(2026, 11, 23), 0, D(2026, 11, 23)),
    ],
)
def test_working_days_follow_the_published_schedule(start, days, due):
    assert add_working_days(start, days) == Deadline(due, provisional=False)


def test_a_deadline_into_a_year_without_a_schedule_is_provisional_but_computed():
    # 2026-12-29 (Tue) + 3: 30, 31 December, then 1 January 2027 is a fixed-date holiday, and
    # the library knows nothing of 2027: weekends and fixed-date holidays only.
    assert add_working_days(D(2026, 12, 29), 3) == Deadline(D(2027, 1, 4), provisional=True)


def test_provisional_counts_the_fixed_date_holidays():
    # 2027-04-30 is a Friday; 1-2 May are the weekend anyway; 2027-09-30 (Thu) + 2: 1 October
    # (Fri) is a holiday, then Monday 4 October and Tuesday 5 October.
    assert add_working_days(D(2027, 9, 30), 2) == Deadline(D(2027, 10, 5), provisional=True)


def test_working_days_between():
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 10)) == 3
    assert working_days_between(D(2026, 11, 27), D(2026, 11, 27)) == 0
    assert working_days_between(D(2026, 11, 30), D(2026, 11, 27)) == 0
    assert working_days_between(D(2026, 11, 27), D(2026, 12, 4)) == 5


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Spring Festival 2027: the eve (Friday 5 February) to the third day (Monday 8 February)
        # are off even before the schedule is published.
        (D(2027, 2, 4), 1, D(2027, 2, 9)),
        (D(2027, 2, 3), 2, D(2027, 2, 9)),
        # Qingming (Monday 5 April 2027), Dragon Boat (Wednesday 9 June), Mid-Autumn (Wednesday 15 September).
        (D(2027, 4, 2), 1, D(2027, 4, 6)),
        (D(2027, 6, 8), 1, D(2027, 6, 10)),
        (D(2027, 9, 14), 1, D(2027, 9, 16)),
        # Labour Day is two days: Monday 1 and Tuesday 2 May 2028.
        (D(2028, 4, 28), 1, D(2028, 5, 3)),
        (D(2028, 5, 2), 1, D(2028, 5, 3)),
        # 2031: Spring Festival from Wednesday 22 January, Mid-Autumn on National Day.
        (D(2031, 1, 21), 1, D(2031, 1, 27)),
        (D(2031, 9, 30), 1, D(2031, 10, 6)),
    ],
)
def test_a_provisional_year_still_knows_its_statutory_holidays(start, days, due):
    assert add_working_days(start, days) == Deadline(due, provisional=True)


def test_a_weekday_with_no_holiday_in_a_provisional_year_is_a_working_day():
    # The day before the eve and the day after the third day of Spring Festival 2027.
    assert add_working_days(D(2027, 2, 3), 1) == Deadline(D(2027, 2, 4), provisional=True)
    assert add_working_days(D(2027, 2, 8), 1) == Deadline(D(2027, 2, 9), provisional=True)


def test_a_deadline_that_stays_in_a_known_year_is_not_provisional():
    # 2026-12-28 (Mon) + 3 ends on Thursday 31 December, before the unknown year.
    assert add_working_days(D(2026, 12, 28), 3) == Deadline(D(2026, 12, 31), provisional=False)


def test_negative_days_are_refused():
    with pytest.raises(ValueError) as caught:
        add_working_days(D(2026, 11, 23), -1)
    assert str(caught.value) == "days must not be negative, got -1"
