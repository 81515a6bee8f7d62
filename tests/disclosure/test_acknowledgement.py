import datetime as dt

import pytest
import time_machine

from disclosure import agencies, services
from disclosure.models import Agency, RecordEvent
from tests.conftest import SHANGHAI, run_daily_expiries
from tests.factories import CreditRecordFactory

D = dt.date


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def agency(db):
    with at(dt.datetime(2026, 11, 1, 9, tzinfo=SHANGHAI)):
        return Agency.objects.create(code="acme", name="Acme Credit Services")


@pytest.fixture
def post(client, agency):
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None)

    def call(path, data=None, method="post"):
        return getattr(client, method)(
            path,
            data,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
            HTTP_ACCEPT_LANGUAGE="en",
        )

    return call


@pytest.fixture
def events(agency):
    """Three events: two on 10 November, one on 25 November."""
    with at(dt.datetime(2026, 11, 10, 9, tzinfo=SHANGHAI)):
        first = CreditRecordFactory(decision_date=D(2026, 11, 2))
        second = CreditRecordFactory(decision_date=D(2026, 11, 3))
    with at(dt.datetime(2026, 11, 25, 9, tzinfo=SHANGHAI)):
        services.record_withdraw(record=first, actor=None, reason="修复", reference="XF1")
        run_daily_expiries()
    return list(RecordEvent.objects.order_by("id").values_list("id", flat=True)), (first, second)


def test_an_agency_reports_its_cursor(post, agency, events, frozen_today):
    ids, _records = events
    response = post("/api/v1/acknowledgement/", {"cursor": ids[1]})
    assert response.status_code == 200
    assert response.json() == {
        "cursor": ids[1],
        "reported_at": "2026-11-28T04:00:00+00:00",
        "events_behind": 1,
        "behind_since": "2026-11-25T01:00:00+00:00",
        "late_after_days": 7,
    }
    agency.refresh_from_db()
    assert agency.applied_cursor == ids[1]
    assert post("/api/v1/acknowledgement/", method="get").json()["cursor"] == ids[1]
    assert post("/api/v1/acknowledgement/", {"cursor": ids[2]}).json()["events_behind"] == 0


def test_a_cursor_from_the_future_is_refused(post, agency, events, english):
    ids, _records = events
    response = post("/api/v1/acknowledgement/", {"cursor": ids[2] + 1})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "cursor"
    assert (
        response.json()["error"]["message"]
        == f"The cursor must be between 0 and the feed's latest cursor, {ids[2]}."
    )
    assert post("/api/v1/acknowledgement/", {"cursor": -1}).status_code == 400
    assert post("/api/v1/acknowledgement/", {"cursor": "x"}).json()["error"]["field"] == "cursor"
    agency.refresh_from_db()
    assert agency.applied_cursor is None


def test_acknowledging_needs_a_key(client, events):
    assert (
        client.post("/api/v1/acknowledgement/", {"cursor": 1}, content_type="application/json").status_code
        == 401
    )


def test_the_public_page_names_late_agencies(client, post, agency, events, frozen_today, english):
    ids, _records = events
    on_time = Agency.objects.create(code="prompt", name="Prompt Data")
    agencies.agency_acknowledge(agency=on_time, cursor=ids[2])
    # Acme applied only the first event: the second has waited since 10 November.
    post("/api/v1/acknowledgement/", {"cursor": ids[0]})
    response = client.get("/en/agencies/late/")
    assert [(lag.agency.code, days) for lag, days in response.context["lags"]] == [("acme", 18)]
    page = response.content.decode()
    assert "Acme Credit Services" in page
    assert "Prompt Data" not in page
    # Up to date: off the page.
    post("/api/v1/acknowledgement/", {"cursor": ids[2]})
    assert client.get("/en/agencies/late/").context["lags"] == []


def test_the_limit_is_a_setting(client, post, events, frozen_today, settings):
    ids, _records = events
    post("/api/v1/acknowledgement/", {"cursor": ids[1]})  # behind since 25 November: 3 days
    assert client.get("/en/agencies/late/").context["lags"] == []
    settings.AGENCY_LATE_DAYS = 2
    assert [lag.agency.code for lag, _days in client.get("/en/agencies/late/").context["lags"]] == ["acme"]


def test_a_new_agency_is_not_late_for_events_before_it_was_authorized(client, events, frozen_today):
    Agency.objects.all().delete()
    with at(dt.datetime(2026, 11, 27, 9, tzinfo=SHANGHAI)):
        Agency.objects.create(code="new", name="New Agency")
    assert client.get("/en/agencies/late/").context["lags"] == []


def test_staff_see_each_agencys_lag(admin_client, post, agency, events, frozen_today, english):
    ids, _records = events
    post("/api/v1/acknowledgement/", {"cursor": ids[0]})
    page = admin_client.get("/en/admin/disclosure/agency/").content.decode()
    assert "2 events behind, the oldest since 2026-11-10 09:00 (18 days)" in page
