"""`POST /api/v1/acknowledgement/ {"cursor": n}`: the cursor the agency's copy has applied;
`GET` shows it and the lag it means. A cursor beyond the head is refused (agencies docstring:
"nobody can have applied events that do not exist")."""

import datetime as dt

import pytest
from django.db import connection, transaction

from disclosure import services
from tests.conftest import SHANGHAI
from tests.factories import CreditRecordFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date
ACK = "/api/v1/acknowledgement/"


@pytest.fixture
def records(catalog, entity):
    return [
        CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 6, day))
        for day in (1, 2, 3, 4)
    ]


def test_cursor_beyond_the_head_is_refused(api, schema, records):
    events, head = api.all_events(0)
    for cursor in (head + 1, head + 10**6, 2**63, 10**30):
        resp = api.post(ACK, {"cursor": cursor})
        assert resp.status == 400, (cursor, resp)
        schema.check(ACK, "post", resp)
        assert resp.json()["error"]["field"] == "cursor"
    state = api.get(ACK).json()
    assert state["cursor"] is None  # nothing was recorded


@pytest.mark.parametrize(
    "body", [{"cursor": -1}, {"cursor": "abc"}, {"cursor": None}, {}, {"cursor": 1.5}, [], "x"]
)
def test_bad_acknowledgements_are_structured_400s(api, schema, records, body):
    resp = api.post(ACK, body)
    assert resp.status == 400, (body, resp)
    schema.check(ACK, "post", resp)
    assert resp.json()["error"]["type"] == "invalid"


def test_lag_counts_events_not_cursor_arithmetic(api, schema, catalog, entity, records):
    """Cursors may have gaps (a rolled-back writer used an id): the lag is the number of
    events the copy lacks."""
    events, head = api.all_events(0)
    resp = api.post(ACK, {"cursor": head})
    assert resp.status == 200, resp
    schema.check(ACK, "post", resp)
    state = resp.json()
    assert (state["cursor"], state["events_behind"], state["behind_since"]) == (head, 0, None)

    # a rolled-back write leaves a hole in the cursors
    with pytest.raises(RuntimeError), transaction.atomic():
        CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 6, 9))
        raise RuntimeError
    new = CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 6, 10))
    services.record_revoke(record=new, actor=None, reason="撤销")
    new_events, new_head = api.all_events(head)
    assert len(new_events) == 2
    if connection.vendor == "postgresql":
        assert new_head > head + 2  # the hole (SQLite gives a rolled-back id out again)

    state = api.get(ACK).json()
    schema.check(ACK, "get", api.get(ACK))
    assert (state["cursor"], state["events_behind"]) == (head, 2)
    assert state["behind_since"] is not None

    # acknowledging the first of the two
    state = api.post(ACK, {"cursor": new_events[0]["cursor"]}).json()
    assert state["events_behind"] == 1
    # from an earlier cursor (a copy reloaded) the count is again exact
    state = api.post(ACK, {"cursor": events[1]["cursor"]}).json()
    assert state["events_behind"] == len(events) - 2 + 2
    state = api.post(ACK, {"cursor": new_head}).json()
    assert (state["cursor"], state["events_behind"], state["behind_since"]) == (new_head, 0, None)
    # cursor 0: everything
    _all, _h = api.all_events(0)
    assert api.post(ACK, {"cursor": 0}).json()["events_behind"] == len(_all)


def test_a_late_agency_is_named_and_leaves_the_list_once_caught_up(
    frozen_today, api, live_server, catalog, entity, records, settings
):
    # The clock stops first: an agency registered on the real day would be behind since then
    # (``behind_since`` is never before the agency existed).
    events, head = api.all_events(0)
    api.post(ACK, {"cursor": head})
    CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 6, 11))
    late_page = "/agencies/late/"
    public = api.__class__(live_server.url, None)

    def named():
        resp = public.get(late_page, headers={"Accept": "text/html"}, key=False)
        assert resp.status == 200, resp
        return "Tester Credit Services" in resp.body.decode()

    assert not named()
    frozen_today.move_to(dt.datetime(2026, 12, 4, 12, tzinfo=SHANGHAI))  # 6 days behind
    assert not named()
    frozen_today.move_to(dt.datetime(2026, 12, 6, 12, 0, 1, tzinfo=SHANGHAI))  # 8 days behind
    assert named()
    _e, new_head = api.all_events(head)
    api.post(ACK, {"cursor": new_head})
    assert not named()
