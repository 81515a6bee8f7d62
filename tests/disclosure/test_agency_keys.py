import re

import pytest
from django.urls import reverse

from disclosure import agencies
from disclosure.models import Agency, AgencyCall, AgencyKey


@pytest.fixture
def agency(db):
    return Agency.objects.create(code="acme-credit", name="Acme 征信有限公司")


@pytest.fixture
def issued(agency):
    return agencies.agency_key_issue(agency=agency, actor=None, label="production")


def test_a_key_is_stored_only_as_its_digest(issued):
    key, raw = issued
    assert raw.startswith(f"cc_{key.prefix}_")
    stored = AgencyKey.objects.filter(pk=key.pk).values().get()
    assert raw not in " ".join(str(value) for value in stored.values())
    assert stored["digest"] == agencies.digest(raw)


def test_agency_endpoint_needs_a_key(client, db):
    response = client.get("/api/v1/agency/")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_API_KEY"])
def test_a_valid_key_works_and_every_call_is_logged(client, agency, issued, header):
    key, raw = issued
    value = f"Bearer {raw}" if header == "HTTP_AUTHORIZATION" else raw
    response = client.get("/api/v1/agency/?x=1", **{header: value})
    assert (response.status_code, response.json()) == (
        200,
        {"code": "acme-credit", "name": "Acme 征信有限公司"},
    )
    call = AgencyCall.objects.get()
    assert (call.agency, call.key, call.method, call.endpoint, call.status) == (
        agency,
        key,
        "GET",
        "/api/v1/agency/?x=1",
        200,
    )
    key.refresh_from_db()
    assert key.last_used_at == call.at


@pytest.mark.parametrize("wrong", ["cc_00000000_nope", "nonsense", "cc_{prefix}_tampered"])
def test_wrong_keys_are_refused(client, issued, wrong):
    key, _raw = issued
    response = client.get(
        "/api/v1/agency/",
        HTTP_AUTHORIZATION=f"Bearer {wrong.format(prefix=key.prefix)}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key is not valid, or has been revoked."
    assert AgencyCall.objects.count() == 0


def test_revoked_key_and_inactive_agency_stop_at_once(client, agency, issued):
    key, raw = issued
    agencies.agency_key_revoke(key=key)
    assert client.get("/api/v1/agency/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    _key2, raw2 = agencies.agency_key_issue(agency=agency, actor=None)
    assert client.get("/api/v1/agency/", HTTP_AUTHORIZATION=f"Bearer {raw2}").status_code == 200
    Agency.objects.filter(pk=agency.pk).update(active=False)
    assert client.get("/api/v1/agency/", HTTP_AUTHORIZATION=f"Bearer {raw2}").status_code == 401


def test_per_agency_throttle(client, agency, issued, settings):
    from disclosure.api import agency as agency_api

    _key, raw = issued
    other = Agency.objects.create(code="other", name="Other")
    _other_key, other_raw = agencies.agency_key_issue(agency=other, actor=None)
    agency_api.AgencyThrottle.THROTTLE_RATES = {"agency": "2/min"}
    try:
        statuses = [
            client.get("/api/v1/agency/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        throttled = client.get("/api/v1/agency/", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert int(throttled["Retry-After"]) > 0
        assert client.get("/api/v1/agency/", HTTP_AUTHORIZATION=f"Bearer {other_raw}").status_code == 200
    finally:
        from rest_framework.settings import api_settings

        agency_api.AgencyThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_staff_issue_a_key_in_the_admin_and_see_it_once(client, superuser, agency):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:disclosure_agency_changelist"),
        {"action": "issue_key", "_selected_action": [agency.pk]},
        follow=True,
    )
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("Acme 征信有限公司的新API密钥——请立即复制，之后不会再显示：cc_")
    raw = re.search(r"cc_[0-9a-f]{8}_\S+", message).group(0)
    key = AgencyKey.objects.get(agency=agency)
    assert agencies.agency_key_authenticate(raw) == key
    page = client.get(reverse("admin:disclosure_agency_change", args=[agency.pk])).content.decode()
    assert key.prefix in page
    assert raw not in page


def test_staff_revoke_in_the_admin(client, superuser, issued):
    key, raw = issued
    client.force_login(superuser)
    client.post(
        reverse("admin:disclosure_agencykey_changelist"), {"action": "revoke", "_selected_action": [key.pk]}
    )
    assert agencies.agency_key_authenticate(raw) is None
