"""The daily expiry job of ``deploy/creditchina-jobs.service`` (#12): a second run writes
nothing, two runs at once write each expiry event exactly once, the feed writes nothing and
shows a day's expiries all at once."""

import datetime as dt
import io
import re
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from disclosure import agencies, feed, services
from disclosure.models import (
    Agency,
    CreditRecord,
    EventKind,
    ExpiryDay,
    FeedType,
    PublishedDocument,
    RecordEvent,
)
from repair.models import Application, Step
from tests.conftest import SHANGHAI
from tests.factories import CreditRecordFactory

D = dt.date
WRITES = ("INSERT", "UPDATE", "DELETE")
LATER = dt.datetime(2027, 1, 10, 0, 10, tzinfo=SHANGHAI)  # the job's time, days after the lapses


def lapsing(count: int) -> list:
    """Records shown today (2026-11-28) and in agencies' copies, whose periods end on
    2026-12-01, 12-02, … (at most 40: all ended by 2027-01-10)."""
    return [CreditRecordFactory(decision_date=D(2025, 12, 1) + dt.timedelta(days=n)) for n in range(count)]


def writes_of(run) -> tuple[object, list[str]]:
    """What ``run()`` returns, and every statement it sent that writes."""
    with CaptureQueriesContext(connection) as queries:
        result = run()
    return result, [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


def state():
    """Everything the jobs could touch, to compare before and after a run."""
    return (
        list(RecordEvent.objects.order_by("id").values_list()),
        list(PublishedDocument.objects.order_by("record_id").values_list()),
        list(CreditRecord.objects.order_by("id").values_list()),
        list(Application.objects.order_by("id").values_list()),
        list(Step.objects.order_by("id").values_list()),
    )


def test_the_expiry_job_run_twice_writes_nothing_the_second_time(db, frozen_today):
    lapsed = lapsing(3)
    current = CreditRecordFactory(decision_date=D(2026, 6, 1))
    frozen_today.move_to(LATER)
    first, first_writes = writes_of(lambda: services.records_record_expiries(batch_size=2))
    assert first == 3
    assert first_writes != []
    after_first = state()
    second, second_writes = writes_of(services.records_record_expiries)
    assert (second, second_writes) == (0, [])
    assert state() == after_first
    expired = RecordEvent.objects.filter(kind=EventKind.EXPIRED).order_by("id")
    assert [(e.record_id, e.effective_on, e.feed_type) for e in expired] == [
        (lapsed[0].pk, D(2026, 12, 2), FeedType.EXPIRED),
        (lapsed[1].pk, D(2026, 12, 3), FeedType.EXPIRED),
        (lapsed[2].pk, D(2026, 12, 4), FeedType.EXPIRED),
    ]
    assert list(PublishedDocument.objects.values_list("record_id", flat=True)) == [current.pk]


def test_the_expiry_command_run_twice_writes_nothing_the_second_time(db, frozen_today):
    lapsing(1)
    frozen_today.move_to(LATER)
    out = io.StringIO()
    call_command("records_record_expiries", stdout=out)
    after_first = state()
    _result, second_writes = writes_of(lambda: call_command("records_record_expiries", stdout=out))
    assert second_writes == []
    assert state() == after_first
    assert out.getvalue() == (
        "1 expiry events written; the expiries of 2027-01-10 are all written.\n"
        "0 expiry events written; the expiries of 2027-01-10 are all written.\n"
    )
    assert list(ExpiryDay.objects.values_list("day", "expiry_events")) == [(D(2027, 1, 10), 1)]


def test_the_feed_writes_nothing_not_even_expiries_that_are_due(client, db, frozen_today):
    """Expiry events come from the daily job on the primary, never from a read: a replica
    could not write them. A poll before the job's first run holds everything back."""
    (lapsed,) = lapsing(1)
    agency = Agency.objects.create(code="acme", name="Acme")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None)
    frozen_today.move_to(LATER)
    before = state()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    with CaptureQueriesContext(connection) as queries:
        answers = [
            client.get("/api/v1/changes/", {"after": 0}, **auth),
            client.get("/api/v1/snapshot.ndjson", **auth),
            client.get("/api/v1/digest/", **auth),
        ]
    written = {
        re.match(r'\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)', query["sql"], re.IGNORECASE).group(1)
        for query in queries
        if query["sql"].lstrip().upper().startswith(WRITES)
    }
    # Only the agency call log (written on the primary, wherever the request reads from).
    assert written <= {"disclosure_agencycall", "disclosure_agencykey"}
    assert (state(), ExpiryDay.objects.count()) == (before, 0)
    assert [answer.status_code for answer in answers] == [200, 503, 503]
    assert (answers[0].json()["events"], answers[0].json()["expiries_written_through"]) == ([], None)
    assert answers[0]["X-Expiries-Written-Through"] == "none"
    assert list(lapsed.events.values_list("kind", flat=True)) == [EventKind.CREATED]


def run_at_once(target, count: int) -> tuple[list, list]:
    """``target()`` in ``count`` threads released together; their results and errors."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        try:
            barrier.wait(10)
            results.append(target())
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has a single writer already")
@pytest.mark.django_db(transaction=True)
def test_two_expiry_jobs_at_once_write_each_expiry_event_exactly_once(shipped_rule_sets, frozen_today):
    lapsed = lapsing(40)
    current = CreditRecordFactory(decision_date=D(2026, 6, 1))
    services.records_record_expiries()
    head = feed.latest_cursor()
    frozen_today.move_to(LATER)
    results, errors = run_at_once(lambda: services.records_record_expiries(batch_size=3), 2)
    assert errors == []
    assert (len(results), sum(results)) == (2, 40)
    # The day is recorded once, with every expiry event of both runs.
    assert list(ExpiryDay.objects.filter(day=LATER.date()).values_list("expiry_events", flat=True)) == [40]
    expired = list(RecordEvent.objects.filter(kind=EventKind.EXPIRED).values_list("record_id", flat=True))
    assert sorted(expired) == [record.pk for record in lapsed]
    # The feed tells each lapse once, in commit order, and the copies keep only the current record.
    page = feed.changes(after=head, limit=100, until=feed.head().cursor)
    assert sorted(event["record_id"] for event in page["events"]) == [record.pk for record in lapsed]
    assert {event["type"] for event in page["events"]} == {FeedType.EXPIRED}
    assert list(PublishedDocument.objects.values_list("record_id", flat=True)) == [current.pk]
    assert services.records_record_expiries() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has a single writer already")
@pytest.mark.django_db(transaction=True)
def test_polls_while_the_job_runs_see_none_of_the_days_expiries_or_all_of_them(shipped_rule_sets, frozen_today):
    """The job writes the day's expiries in several transactions; the feed shows them only
    once the day is recorded, with the last batch: never a part of the day."""
    lapsed = lapsing(30)
    services.records_record_expiries()
    frozen_today.move_to(LATER)
    seen = []
    done = threading.Event()

    def job():
        try:
            return services.records_record_expiries(batch_size=4)
        finally:
            done.set()

    def poll():
        while not done.is_set():
            current = feed.head()
            seen.append(len(feed.changes(after=0, limit=1000, until=current.cursor)["events"]))

    calls = iter([job, poll, poll])
    lock = threading.Lock()

    def one_of_them():
        with lock:
            call = next(calls)
        return call()

    _results, errors = run_at_once(one_of_them, 3)
    assert errors == []
    assert set(seen) <= {30, 60}  # the 30 disclosures, then the 30 expiries all at once
    assert len(feed.changes(after=0, limit=1000, until=feed.head().cursor)["events"]) == 60
    expired = list(RecordEvent.objects.filter(kind=EventKind.EXPIRED).values_list("record_id", flat=True))
    assert sorted(expired) == [record.pk for record in lapsed]
