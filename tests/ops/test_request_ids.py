"""The request id in the rows a request writes: record events, repair steps, agency calls
(#12). Rows written by jobs and commands have none."""

import datetime as dt
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from disclosure import agencies, services
from disclosure.models import Agency, AgencyCall, EventKind, RecordEvent
from ops.logs import current_request_id
from tests.factories import CatalogItemFactory, CreditRecordFactory

D = dt.date
PROXY_ID = "0123456789abcdef-proxy"


@pytest.fixture
def clerk_client(client, staff_user):
    staff_user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="disclosure", codename__in=["view_creditrecord", "change_creditrecord"]
        )
    )
    client.force_login(staff_user)
    return client


@pytest.fixture
def own_record(department, frozen_today):
    return CreditRecordFactory(
        catalog_item=CatalogItemFactory(provider=department),
        decision_number="本局〔2026〕1号",
        decision_date=D(2026, 6, 1),
    )


def shown_request_ids(response) -> list[str]:
    """The request ids in the history inline of an admin page, top to bottom."""
    return re.findall(r'<td class="field-request_id">\s*<p>([^<]*)</p>', response.content.decode())


def correction_form(record, **changes):
    return {
        "entity": record.entity.pk,
        "catalog_item": record.catalog_item.pk,
        "decision_number": record.decision_number,
        "decision_date": record.decision_date.isoformat(),
        "facts": record.facts,
        "legal_basis_cited": record.legal_basis_cited,
        "outcome": record.outcome,
        "penalty_amount": "",
        "severity": record.severity,
        "valid_from": "",
        "valid_until": "",
        "reason": "决定书金额笔误",
        "events-TOTAL_FORMS": "1",
        "events-INITIAL_FORMS": "1",
        **changes,
    }


def test_a_correction_in_the_admin_carries_the_requests_id_into_its_event(clerk_client, own_record):
    url = reverse("admin:disclosure_creditrecord_change", args=[own_record.pk])
    response = clerk_client.post(url, correction_form(own_record, outcome="罚款人民币两千元"))
    assert response.status_code == 302
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    created, corrected = own_record.events.order_by("id")
    assert (created.kind, created.request_id) == (EventKind.CREATED, "")  # the factory: no request
    assert (corrected.kind, corrected.request_id) == (EventKind.CORRECTED, request_id)
    # The history inline on the record's page shows it.
    assert shown_request_ids(clerk_client.get(url)) == ["-", request_id]


def test_behind_a_trusted_proxy_the_rows_carry_the_proxys_id(clerk_client, own_record, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    url = reverse("admin:disclosure_creditrecord_change", args=[own_record.pk])
    response = clerk_client.post(
        url,
        correction_form(own_record, outcome="罚款人民币两千元"),
        HTTP_X_REQUEST_ID=PROXY_ID,
        HTTP_X_FORWARDED_FOR="192.0.2.8",
    )
    assert (response.status_code, response["X-Request-ID"]) == (302, PROXY_ID)
    assert own_record.events.latest("id").request_id == PROXY_ID


@pytest.fixture
def agency_key(db):
    agency = Agency.objects.create(code="acme-credit", name="Acme")
    return agencies.agency_key_issue(agency=agency, actor=None, label="x")


def test_each_agency_call_is_logged_with_its_own_request_id(client, agency_key):
    _key, raw = agency_key
    first = client.get("/api/v1/agency/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    second = client.get("/api/v1/changes/?after=0", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (first.status_code, second.status_code) == (200, 200)
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert list(AgencyCall.objects.order_by("id").values_list("endpoint", "request_id")) == [
        ("/api/v1/agency/", first["X-Request-ID"]),
        ("/api/v1/changes/?after=0", second["X-Request-ID"]),
    ]


def test_rows_written_by_jobs_and_commands_have_no_request_id(db, frozen_today):
    lapsed = CreditRecordFactory(decision_date=D(2025, 11, 20))
    call_command("records_record_expiries", stdout=io.StringIO())
    assert list(lapsed.events.order_by("id").values_list("kind", "request_id")) == [
        (EventKind.CREATED, ""),
        (EventKind.EXPIRED, ""),
    ]
    services.entity_rename(entity=lapsed.entity, new_name="北京新名称有限公司", changed_on=D(2026, 11, 1))
    assert lapsed.events.latest("id").request_id == ""


def test_no_request_id_outlives_its_request(client, db):
    client.get("/healthz")
    assert current_request_id() == ""


def test_the_event_admin_finds_a_requests_rows(client, superuser, own_record, frozen_today):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:disclosure_creditrecord_change", args=[own_record.pk]),
        correction_form(own_record, outcome="罚款人民币两千元"),
    )
    request_id = response["X-Request-ID"]
    found = client.get(reverse("admin:disclosure_recordevent_changelist"), {"q": request_id})
    assert [event.kind for event in found.context["cl"].queryset] == [EventKind.CORRECTED]
    assert RecordEvent.objects.filter(request_id=request_id).count() == 1


def test_log_lines_outside_a_request_still_say_so():
    import logging

    from ops.logs import RequestIdFilter

    record = logging.LogRecord("ops.access", logging.INFO, __file__, 1, "job", None, None)
    assert (RequestIdFilter().filter(record), record.request_id) == (True, "-")
