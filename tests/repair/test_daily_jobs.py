"""The daily recomputation of provisional due dates (``repair_recompute_deadlines``, run by
``deploy/creditchina-jobs.service``): a second run writes nothing, two at once change each
due date once (#12)."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from repair import services, workdays
from tests.conftest import SHANGHAI
from tests.disclosure.test_daily_jobs import run_at_once, state, writes_of

D = dt.date


@pytest.fixture
def provisional_application(submit):
    """Submitted on 2026-12-29: its acceptance is due on 2027-01-04, a year the calendar
    library does not know yet."""
    with time_machine.travel(dt.datetime(2026, 12, 29, 10, tzinfo=SHANGHAI), tick=False):
        application = submit().application
    assert (application.due_on, application.due_provisional) == (D(2027, 1, 4), True)
    return application


@pytest.fixture
def calendar_knows_2027(monkeypatch):
    """The schedule a library update would bring: 4 January 2027 declared a holiday."""
    import chinese_calendar

    original = chinese_calendar.is_workday

    def knows_2027(day):
        if day.year == 2027:
            return day.weekday() < 5 and day not in (D(2027, 1, 1), D(2027, 1, 4))
        return original(day)

    workdays.is_working_day.cache_clear()
    monkeypatch.setattr(chinese_calendar, "is_workday", knows_2027)
    yield
    workdays.is_working_day.cache_clear()


def test_recomputing_deadlines_while_the_year_is_unknown_writes_nothing(provisional_application):
    before = state()
    for _run in range(2):
        assert writes_of(services.repair_recompute_deadlines) == (0, [])
    assert state() == before


def test_recomputing_deadlines_twice_writes_nothing_the_second_time(
    provisional_application, calendar_knows_2027
):
    assert services.repair_recompute_deadlines() == 1
    after_first = state()
    assert writes_of(services.repair_recompute_deadlines) == (0, [])
    assert state() == after_first
    provisional_application.refresh_from_db()
    assert (provisional_application.due_on, provisional_application.due_provisional) == (D(2027, 1, 5), False)


def test_the_recompute_command_twice(provisional_application, calendar_knows_2027):
    out = io.StringIO()
    call_command("repair_recompute_deadlines", stdout=out)
    call_command("repair_recompute_deadlines", stdout=out)
    assert out.getvalue() == "1 due date(s) changed\n0 due date(s) changed\n"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has a single writer already")
@pytest.mark.django_db(transaction=True)
def test_two_deadline_recomputations_at_once_change_each_due_date_once(
    shipped_rule_sets, provisional_application, calendar_knows_2027
):
    results, errors = run_at_once(services.repair_recompute_deadlines, 2)
    assert (errors, sorted(results)) == ([], [0, 1])
    provisional_application.refresh_from_db()
    assert (provisional_application.due_on, provisional_application.due_provisional) == (D(2027, 1, 5), False)
