"""The OpenAPI schema is the contract: every answer the API gives, success or error, is
checked against the schema's description of that endpoint and status code."""

import datetime as dt
import re

import jsonschema
import pytest
from django.core.cache import cache

from disclosure import agencies, services
from disclosure.api.views import PublicThrottle
from disclosure.models import Agency, DisclosureAttribute
from tests.conftest import run_daily_expiries
from tests.factories import CatalogItemFactory, CreditRecordFactory, DepartmentFactory

D = dt.date


@pytest.fixture
def spec(client, db):
    return client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def to_json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema's null type; everything else as it is."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value) for key, value in node.items() if key not in ("nullable", "discriminator")}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out or "allOf" in out or "oneOf" in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def operation(spec, method, path):
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path):
            return operations[method.lower()]
    raise AssertionError(f"{path} is not in the schema")


def check(spec, response, method="GET"):
    """The answer's status is described, and its JSON body matches the described schema."""
    path = response.wsgi_request.path
    if response.streaming:
        # Read to the end, as a server does (the test client then closes it): the snapshot's
        # read transaction lasts as long as its body.
        b"".join(response.streaming_content)
    described = operation(spec, method, path)["responses"]
    status = str(response.status_code)
    assert status in described, f"{method} {path} answered {status}, not described: {sorted(described)}"
    content = described[status].get("content", {})
    if response.get("Content-Type", "").startswith("application/json"):
        assert "application/json" in content, f"{method} {path} {status}: no JSON body described"
        schema = {**to_json_schema(content["application/json"]["schema"]),
                  "components": to_json_schema(spec["components"])}  # fmt: skip
        jsonschema.Draft202012Validator(schema).validate(response.json())
    return response


@pytest.fixture
def key(db, frozen_today):
    run_daily_expiries()
    agency = Agency.objects.create(code="acme", name="Acme")
    return agencies.agency_key_issue(agency=agency, actor=None)[1]


def test_every_agency_answer_matches_the_schema(client, spec, key, frozen_today, superuser):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    records = [CreditRecordFactory(decision_date=D(2026, 6, day), penalty_amount="100.00") for day in (1, 2, 3, 4)]
    lapsing = CreditRecordFactory(decision_date=D(2025, 11, 28))
    services.record_correct(record=records[0], actor=None, reason="更正", changes={"outcome": "警告"})
    services.record_withdraw(record=records[1], actor=None, reason="修复", reference="XF1")
    services.record_revoke(record=records[2], actor=None, reason="撤销")
    services.catalog_item_update(
        item=records[3].catalog_item, actor=superuser, changes={"disclosure_attribute": DisclosureAttribute.SHARED}
    )
    frozen_today.shift(dt.timedelta(days=1))
    # Before the day's job: a write of the new day is held back, and so are the digest and
    # the snapshot (503, documented).
    late = CreditRecordFactory(decision_date=D(2026, 6, 5))
    assert check(spec, client.get("/api/v1/digest/", **auth)).status_code == 503
    assert check(spec, client.get("/api/v1/changes/", {"limit": 100}, **auth)).json()["expiries_written_through"] == "2026-11-28"
    run_daily_expiries()
    body = check(spec, client.get("/api/v1/changes/", {"limit": 100}, **auth)).json()
    assert late.pk in {e["record_id"] for e in body["events"]}
    assert {e["type"] for e in body["events"]} == {"disclosed", "updated", "withdrawn", "revoked", "removed", "expired"}
    assert lapsing.pk in {e["record_id"] for e in body["events"] if e["type"] == "expired"}
    head = body["next"]
    check(spec, client.get("/api/v1/changes/", {"after": head + 5}, **auth))
    check(spec, client.get("/api/v1/changes/", {"after": "x"}, **auth))
    check(spec, client.get("/api/v1/changes/"))  # no key
    check(spec, client.get("/api/v1/changes/", HTTP_AUTHORIZATION="Bearer cc_nope_nope"))
    check(spec, client.get("/api/v1/digest/", {"bucket_size": 2}, **auth))
    check(spec, client.get("/api/v1/digest/", {"entity": records[0].entity.code}, **auth))
    check(spec, client.get("/api/v1/digest/", {"bucket_size": "-1"}, **auth))
    check(spec, client.get("/api/v1/agency/", **auth))
    check(spec, client.get("/api/v1/acknowledgement/", **auth))
    check(spec, client.post("/api/v1/acknowledgement/", {"cursor": head}, content_type="application/json", **auth), "POST")
    check(spec, client.post("/api/v1/acknowledgement/", {"cursor": head + 1}, content_type="application/json", **auth), "POST")
    check(spec, client.post("/api/v1/acknowledgement/", {}, content_type="application/json", **auth), "POST")
    for path in ("/api/v1/snapshot.ndjson", "/api/v1/snapshot.csv"):
        response = check(spec, client.get(path, **auth))
        assert response.status_code == 200
        check(spec, client.get(path))


def test_every_public_answer_matches_the_schema(client, spec, frozen_today, settings, monkeypatch):
    shown = CreditRecordFactory(decision_date=D(2026, 6, 1))
    gone = CreditRecordFactory(decision_date=D(2026, 6, 2))
    services.record_withdraw(record=gone, actor=None, reason="修复", reference="XF1")
    code = shown.entity.code
    check(spec, client.get("/api/v1/entities/", {"q": shown.entity.name[:4]}))
    check(spec, client.get("/api/v1/entities/", {"q": ""}))
    check(spec, client.get("/api/v1/entities/", {"q": "公司", "page": "abc"}))
    check(spec, client.get(f"/api/v1/entities/{code}/"))
    check(spec, client.get(f"/api/v1/entities/{code}/records/"))
    check(spec, client.get("/api/v1/entities/91110000600037341L/"))  # valid, not on the site
    check(spec, client.get("/api/v1/entities/91110000600037341X/"))  # wrong check character
    check(spec, client.get(f"/api/v1/records/{shown.pk}/"))
    check(spec, client.get(f"/api/v1/records/{gone.pk}/"))
    check(spec, client.get("/api/v1/records/999999/"))
    settings.RATELIMIT_ENABLE = True
    monkeypatch.setattr(PublicThrottle, "rate", "1/min", raising=False)
    cache.clear()
    statuses = [check(spec, client.get(f"/api/v1/entities/{code}/")).status_code for _ in range(2)]
    assert statuses == [200, 429]


def test_every_intake_answer_matches_the_schema(client, spec, frozen_today, settings):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from intake import services as intake_services
    from tests.intake.conftest import csv_bytes, penalty_row

    department = DepartmentFactory(code="tst")
    CatalogItemFactory(code="tst-penalty", provider=department)
    raw = intake_services.department_key_issue(department=department, actor=None)[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    url = "/api/v1/intake/batches/"
    good = check(spec, client.post(url, {"file": SimpleUploadedFile("a.csv", csv_bytes([penalty_row(1)]))}, **auth), "POST")
    bad = check(spec, client.post(url, csv_bytes([penalty_row(2, catalog_item="nope")]), content_type="text/csv", **auth), "POST")
    assert (good.status_code, bad.status_code, good.json()["status"]) == (202, 202, "queued")
    check(spec, client.get(good["Location"], **auth))
    check(spec, client.post(url, b"%PDF-1.7", content_type="text/csv", **auth), "POST")  # 400
    check(spec, client.post(url, {"import_valid_rows": "1"}, **auth), "POST")  # 400: no file
    check(spec, client.post(url, b"", content_type="text/csv"), "POST")  # 401
    settings.INTAKE_MAX_UPLOAD_BYTES = 1024
    check(spec, client.post(url, b"x" * 200_000, content_type="text/csv", **auth), "POST")  # 413
    call_command("intake_worker", "--once", stdout=io.StringIO())
    assert check(spec, client.get(good["Location"], **auth)).json()["status"] == "imported"
    assert check(spec, client.get(bad["Location"], **auth)).json()["status"] == "rejected"
    check(spec, client.get(bad.json()["errors_url"], **auth))
    check(spec, client.get(url + "20261128-00000000/", **auth))  # 404
