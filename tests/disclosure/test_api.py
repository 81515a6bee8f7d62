import datetime as dt

import pytest

from disclosure import services
from disclosure.rules import Category, Severity
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory

D = dt.date


def test_entity_by_code(client, entity):
    response = client.get("/api/v1/entities/91110000600037341L/")
    assert response.status_code == 200
    assert response.json() == {
        "code": "91110000600037341L",
        "identifier": "91110000600037341L",
        "name": "北京华为数字技术有限公司",
        "kind": "enterprise",
        "region": "北京市朝阳区",
        "registration_authority": "9",
        "entity_type": "1",
        "former_names": [],
    }


def test_a_bad_code_is_a_structured_400(client, db):
    response = client.get("/api/v1/entities/91110000600037341M/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "type": "invalid",
            "message": "The check character (position 18) should be “L”, not “M”.",
            "field": "code",
            "fields": {"code": ["The check character (position 18) should be “L”, not “M”."]},
        }
    }


def test_messages_follow_accept_language(client, db):
    response = client.get("/api/v1/entities/91110000600037341M/")
    assert response.json()["error"]["message"] == "第18位校验码应为“L”，而不是“M”。"


def test_unknown_code_and_unknown_url_are_json_404(client, db):
    response = client.get("/api/v1/entities/9F1100006000373419/")
    assert (response.status_code, response.json()["error"]["type"]) == (404, "not_found")
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["type"] == "not_found"


def test_records_are_the_pages_records(client, entity, penalty, frozen_today):
    CreditRecordFactory(entity=entity, decision_date=D(2024, 1, 1))  # lapsed: not shown anywhere
    response = client.get("/api/v1/entities/91110000600037341L/records/")
    (record,) = response.json()
    assert record["id"] == penalty.pk
    assert record["outcome"] == "罚款人民币五万元"
    assert (record["disclosure_start"], record["disclosure_end"], record["earliest_repair_on"]) == (
        "2026-06-15",
        "2027-06-15",
        "2026-09-16",
    )
    page = client.get("/entities/91110000600037341L/")
    assert [r.pk for g in page.context["profile"].groups for r in g.records] == [record["id"]]


def test_record_gone_is_410_json(client, penalty):
    assert client.get(f"/api/v1/records/{penalty.pk}/").status_code == 200
    services.record_withdraw(record=penalty, actor=None, reason="修复通过", reference="XF1")
    response = client.get(f"/api/v1/records/{penalty.pk}/")
    assert response.status_code == 410
    assert response.json()["error"]["type"] == "gone"
    assert "罚款" not in response.content.decode()
    assert client.get("/api/v1/records/99999999/").status_code == 404


def test_search(client, entity, frozen_today):
    EntityFactory(name="华为终端有限公司")
    response = client.get("/api/v1/entities/", {"q": "华为"})
    body = response.json()
    assert (body["total"], body["page"], body["pages"]) == (2, 1, 1)
    assert [(hit["name"], hit["match"]) for hit in body["results"]] == [
        ("华为终端有限公司", "prefix"),
        ("北京华为数字技术有限公司", "substring"),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "a", "kind": "dragon"}, "kind"),
        ({"q": "a", "page": "0"}, "page"),
    ],
)
def test_search_errors_name_the_field(client, db, params, field):
    response = client.get("/api/v1/entities/", params)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_search_with_category_filter(client, entity, frozen_today):
    CreditRecordFactory(
        entity=entity,
        catalog_item=CatalogItemFactory(category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS),
        decision_date=D(2026, 8, 1),
    )
    EntityFactory(name="华为终端有限公司")
    body = client.get("/api/v1/entities/", {"q": "华为", "category": "serious_dishonesty"}).json()
    assert [hit["code"] for hit in body["results"]] == ["91110000600037341L"]


def test_only_get(client, entity):
    response = client.post("/api/v1/entities/91110000600037341L/")
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "method_not_allowed"


def test_throttled_with_retry_after(client, db, settings):
    from django.core.cache import cache

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"public": "3/min"}}
    from disclosure.api import views

    before = views.PublicThrottle.THROTTLE_RATES
    views.PublicThrottle.THROTTLE_RATES = {"public": "3/min"}
    try:
        cache.clear()
        statuses = [client.get("/api/v1/entities/", {"q": "x"}).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = client.get("/api/v1/entities/", {"q": "x"})
        assert response.json()["error"]["type"] == "throttled"
        assert int(response["Retry-After"]) > 0
    finally:
        # The class keeps the rates it read when it was defined (settings still say 3/min here).
        views.PublicThrottle.THROTTLE_RATES = before


def test_schema_and_offline_docs(client, db):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/entities/{code}/records/" in schema.content
    docs = client.get("/api/v1/docs/").content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()


def test_the_schema_describes_every_endpoint_without_warnings(tmp_path, db):
    """drf-spectacular validates the schema and fails on any warning: every endpoint, the
    agency ones included, has its request and response described."""
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    for component in ("ChangesPage:", "FeedEvent:", "RecordDocument:", "Digest:", "AcknowledgementState:"):
        assert f"    {component}" in text
    for path in (
        "/api/v1/changes/:",
        "/api/v1/snapshot.ndjson:",
        "/api/v1/acknowledgement/:",
        "/api/v1/digest/:",
    ):
        assert f"  {path}" in text


def test_records_list_filters_with_the_lists_filters(client, db, frozen_today, settings):
    settings.RATELIMIT_ENABLE = False
    from disclosure.rules import Category as C
    from tests.factories import CatalogItemFactory as Item
    from tests.factories import CreditRecordFactory as Record

    red = Item(category=C.RED_LIST, severity="")
    listed = Record(catalog_item=red, decision_date=D(2026, 5, 1), valid_from=D(2026, 5, 1), valid_until=D(2027, 4, 30))
    penalty = Record(decision_date=D(2026, 6, 1))
    body = client.get("/api/v1/records/").json()
    assert body["count"] == 2
    assert [r["id"] for r in body["results"]] == [penalty.pk, listed.pk]
    only_red = client.get("/api/v1/records/", {"category": "red_list"}).json()
    assert [r["id"] for r in only_red["results"]] == [listed.pk]
    by_name = client.get("/api/v1/records/", {"q": penalty.entity.name[:3], "category": "penalty"}).json()
    assert [r["id"] for r in by_name["results"]] == [penalty.pk]
    bad = client.get("/api/v1/records/", {"province": "99"})
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "province"
    assert client.get("/api/v1/records/", {"decided_from": "2026-13-01"}).status_code == 400
