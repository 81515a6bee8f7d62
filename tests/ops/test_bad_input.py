"""Odd input answers 400 or 404, never 500 (issue #10). NUL only breaks PostgreSQL, so run
these on both databases."""

import io

import pytest
from django.core.management import call_command

from disclosure import agencies
from disclosure.models import Agency

NUL_MESSAGE = {
    "en": "The request holds a NUL character, which no address or field may contain.",
    "zh-hans": "请求中含有空字符（NUL），网址和表单字段都不能包含该字符。",
}


@pytest.mark.parametrize("code", ["-", "／", "－", "\u3000", "—", "%E3%80%80", "-%2F"])
def test_entity_codes_that_fold_to_nothing_or_a_slash_are_not_found(client, db, english, code):
    response = client.get(f"/en/entities/{code}/")
    assert response.status_code == 404
    assert response.templates[0].name == "404.html"


def test_a_typed_code_still_redirects_to_its_canonical_form(client, db):
    response = client.get("/entities/９１１１００００６０００３７３４１ｌ/")
    assert (response.status_code, response["Location"]) == (301, "/entities/91110000600037341L/")


@pytest.mark.parametrize(
    "url",
    [
        "/entities/%00/",
        "/en/entities/9111%0000006000373/",
        "/search/?q=%00",
        "/search/?q=a%00b",
        "/search/?q%00=a",
        "/lists/red/?province=%00",
        "/repair/review/%00/",
        "/repair/review/R%00/accept/",
        "/repair/status/%00/",
    ],
)
def test_nul_in_a_page_address_is_a_bad_request(client, db, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.templates[0].name == "400.html"
    language = "en" if url.startswith("/en/") else "zh-hans"
    assert str(response.context["message"]) == NUL_MESSAGE[language]
    assert NUL_MESSAGE[language] in response.content.decode()


def test_nul_in_a_posted_form_is_a_bad_request(client, db):
    response = client.post("/repair/status/", {"number": "R\x00", "query_code": "x"})
    assert response.status_code == 400
    response = client.post("/repair/status/", {"num\x00ber": "R"})
    assert response.status_code == 400


def test_nul_for_a_reviewer_is_a_bad_request(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/repair/review/R%00/").status_code == 400
    assert client.post("/repair/review/R%00/accept/").status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/entities/%00/",
        "/api/v1/entities/?q=%00",
        "/api/v1/entities/%00/records/",
        "/api/v1/records/1/?x=%00",
    ],
)
def test_nul_on_the_api_is_a_json_bad_request(client, db, url):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": {
                "type": "invalid",
                "message": "The request holds a NUL character, which no address or field may contain.",
                "field": None,
            }
        },
    )


def test_nul_in_the_agency_digest_entity_is_a_json_bad_request(client, db):
    agency = Agency.objects.create(code="acme-credit", name="Acme")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None, label="x")
    response = client.get("/api/v1/digest/?entity=%00", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid"


@pytest.mark.parametrize("code", ["-", "／", "\u3000"])
def test_api_entity_codes_that_fold_to_nothing_are_invalid(client, db, code):
    response = client.get(f"/api/v1/entities/{code}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "code"


# Found by tests/ops/test_fuzz.py: JSON spells NUL and half a surrogate pair as escapes
# (\u0000, \ud800), which no database text and no UTF-8 answer can hold.
@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "\x00", "ab\x00"])
def test_json_lines_with_a_character_no_text_can_hold_are_a_refused_row(
    client, db, frozen_today, english, value
):
    import json

    from disclosure.models import CreditRecord, RecordEvent
    from intake import services as intake_services
    from tests.factories import CatalogItemFactory, DepartmentFactory

    department = DepartmentFactory(code="tst")
    CatalogItemFactory(code="tst-penalty", provider=department)
    _key, raw = intake_services.department_key_issue(department=department, actor=None)
    row = {
        "code": "911101052000000179", "entity_name": "北京导入测试有限公司", "catalog_item": "tst-penalty",
        "decision_number": "京朝市监罚〔2026〕1号", "decision_date": "2026-06-15", "facts": "未按规定公示年度报告。",
        "legal_basis_cited": "《企业信息公示暂行条例》第十八条", "outcome": "罚款人民币一万元",
    }  # fmt: skip
    bad_value = {**row, "decision_number": "京朝市监罚〔2026〕2号", "catalog_item": value}
    bad_key = {**row, "decision_number": "京朝市监罚〔2026〕3号", value: "x"}
    lines = "".join(json.dumps(line) + "\n" for line in (row, bad_value, bad_key)).encode()
    response = client.post(
        "/api/v1/intake/batches/",
        lines,
        content_type="application/x-ndjson",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 202
    call_command("intake_worker", "--once", stdout=io.StringIO())
    body = client.get(response["Location"], HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    message = "This line holds a character no record may contain: NUL (\\u0000) or half of a surrogate pair (\\ud800 to \\udfff)."
    assert (body["status"], body["errors"]) == (
        "rejected",
        [
            {"line": 2, "column": "", "code": "unreadable", "message": message},
            {"line": 3, "column": "", "code": "unreadable", "message": message},
        ],
    )
    assert (CreditRecord.objects.count(), RecordEvent.objects.count()) == (0, 0)


def test_a_nul_in_a_csv_row_past_the_encoding_sample_is_a_refused_row(client, db, frozen_today, english):
    """The encoding check refuses a file with NUL in its first megabyte; one further on reached
    PostgreSQL (a 500)."""
    from disclosure.models import CreditRecord
    from intake import services as intake_services
    from tests.factories import CatalogItemFactory, DepartmentFactory
    from tests.intake.conftest import HEADER, csv_bytes, penalty_row

    department = DepartmentFactory(code="tst")
    CatalogItemFactory(code="tst-penalty", provider=department)
    _key, raw = intake_services.department_key_issue(department=department, actor=None)
    first_rows = csv_bytes([penalty_row(1)])
    empty_rows = ("," * (len(HEADER) - 1) + "\n").encode() * 80_000  # 1.1 MB, skipped as empty
    nul_row = csv_bytes([penalty_row(2, facts="未按规定\x00公示")]).split(b"\n", 1)[1]
    response = client.post(
        "/api/v1/intake/batches/",
        first_rows + empty_rows + nul_row,
        content_type="text/csv",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 202
    call_command("intake_worker", "--once", stdout=io.StringIO())
    body = client.get(response["Location"], HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert (body["status"], body["errors"]) == (
        "rejected",
        [
            {
                "line": 80_003,
                "column": "",
                "code": "unreadable",
                "message": "This line holds a character no record may contain: NUL (\\u0000) or half of a "
                "surrogate pair (\\ud800 to \\udfff).",
            }
        ],
    )
    assert CreditRecord.objects.count() == 0
