"""Generated bad input against every public form and endpoint (#12): codes, names, dates and
numbers full of Unicode oddities (NUL, lone surrogates as bytes and as JSON escapes, RTL and
zero-width marks, full-width forms), huge values, very long strings and files with the wrong
bytes. Whatever comes in, the answer is never a 500, an API error is JSON, and an answer
that refuses writes nothing: the records, events, applications, evidence (rows and files),
entities and batches are as they were.

Each example runs in a savepoint rolled back afterwards, so every example starts from the same
data. Bounded (``FUZZ``) to run in seconds on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disclosure import agencies
from disclosure.models import Agency, CreditRecord, Entity, RecordEvent
from intake import services as intake_services
from intake.models import Batch
from repair import services as repair_services
from repair.models import Application, Evidence, Step
from tests.conftest import run_daily_expiries
from tests.factories import (
    CatalogItemFactory,
    CreditRecordFactory,
    DepartmentFactory,
    EntityFactory,
    UserFactory,
)
from tests.repair.conftest import JPEG, PDF, PNG

D = dt.date
# 25 examples per test keeps the file in seconds on both databases; FUZZ_EXAMPLES=500 digs deeper.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CODE = "91110000600037341L"

# --- what comes in ------------------------------------------------------------------------

ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u200f",  # right-to-left mark
    "\u202e91110000600037341L",  # right-to-left override
    "\u200b",  # zero-width space
    "\ufeff",  # byte-order mark
    "\u3000",  # ideographic space
    "９１１１００００６０００３７３４１Ｌ",  # full-width code
    "９１１１－００００",
    "e\u0301",  # combining accent
    "\U0001f4a9",
    "華為",
    "%",
    "%00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "'; DROP TABLE disclosure_creditrecord; --",
    "\r\n",
    "\\",
    "NaN",
    "Infinity",
    "-0",
    "1e309",
    "0x10",
    "-1",
    "99999999999999999999999999999999",
    "2026-02-30",
    "0000-00-00",
    "9999-12-31",
    "2026-13-01",
    CODE,
    CODE.lower(),
]
texts = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.text(max_size=40),
    st.text(st.sampled_from("91XLA-／\u3000\u200f０Ｌ "), max_size=25),
    st.integers().map(str),
    st.text(min_size=1, max_size=3).map(lambda s: s * 4000),  # very long
)
# Bytes as a client may send them: UTF-8, lone surrogates encoded anyway (CESU), GB18030,
# or no encoding at all.
raw_values = st.one_of(
    texts.map(lambda s: s.encode()),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=4).map(
        lambda s: s.encode("utf-8", "surrogatepass")
    ),
    texts.map(lambda s: s.encode("gb18030", "replace")),
    st.binary(max_size=60),
)
# What a JSON body can hold, lone surrogates (as \\ud800 escapes) included.
json_texts = st.one_of(texts, st.text(st.characters(categories=["Cs", "Cc", "Lo", "Nd"]), max_size=20))
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(allow_nan=True, allow_infinity=True),
        json_texts,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(json_texts, inner, max_size=3)),
    max_leaves=6,
)
FILE_BYTES = [
    b"",
    PDF,
    PNG,
    JPEG,
    PDF[:5],  # a PDF signature and nothing else
    PNG[:8],
    b"%PDF-" + b"\x00" * 64,
    b"\xff\xd8\xff" + b"A" * 100,
    b"MZ\x90\x00",  # a Windows executable
    b"<html><script>alert(1)</script></html>",
    b"PK\x03\x04" + b"\x00" * 30,  # a zip (and an XLSX's first bytes)
    "姓名,代码\n张三,911\n".encode("gb18030"),
]
file_bytes = st.one_of(st.sampled_from(FILE_BYTES), st.binary(max_size=200))
file_names = st.one_of(
    st.sampled_from(
        [b"a.pdf", b"a.PDF.exe", b"", b".pdf", b"../../x.pdf", "证明.pdf".encode(), b"a" * 300 + b".pdf"]
    ),
    raw_values.map(lambda b: b.replace(b'"', b"").replace(b"\r", b"").replace(b"\n", b"")),
)


def query(params: dict[str, bytes | None]) -> str:
    """A query string of the given bytes, percent-encoded; None leaves the parameter out."""
    pairs = [f"{quote(name)}={quote_from_bytes(v, safe='')}" for name, v in params.items() if v is not None]
    return "?" + "&".join(pairs)


def segment(value: bytes) -> str:
    """One path segment, percent-encoded (an empty one would be another address)."""
    return quote_from_bytes(value, safe="") or "%20"


BOUNDARY = "fuzz-7MA4YWxkTrZu0gW-boundary"


def multipart(fields: list[tuple[str, bytes]], files: list[tuple[str, bytes, bytes]]) -> bytes:
    """A multipart body built from bytes, so a field may hold what no browser would encode."""
    parts = []
    for name, value in fields:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value
        )
    for name, filename, content in files:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="'.encode()
            + filename
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + content
        )
    return b"\r\n".join([*parts, f"--{BOUNDARY}--\r\n".encode()])


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"

# --- what must hold -------------------------------------------------------------------------


def written(storage: Path | None = None) -> tuple:
    rows = tuple(
        model.objects.count()
        for model in (CreditRecord, RecordEvent, Entity, Application, Evidence, Step, Batch)
    )
    # Files that passed the content check are kept for the applicant across a refused form
    # (repair/pending.py), so they need not choose them again: not evidence, not written.
    files = (
        sorted(str(p) for p in storage.rglob("*") if p.is_file() and "pending" not in p.relative_to(storage).parts)
        if storage and storage.exists()
        else []
    )
    return rows, files


def body_of(response) -> bytes:
    if response.streaming:
        content = b"".join(response.streaming_content)
        response.close()
        return content
    return response.content


def answer(client, method: str, url: str, *, storage: Path | None = None, writes=False, check=None, **kwargs):
    """Send one request in a savepoint rolled back afterwards; check it was no 500, that an API
    error is JSON, and that an error wrote nothing (``writes``: a success may write; ``check``:
    more to check before the rollback)."""
    for alias in ("default", "fragments"):
        caches[alias].clear()  # the rate limits count in the cache: every example starts afresh
    savepoint = transaction.savepoint()
    try:
        before = written(storage)
        # ``generic`` sends the body's bytes as they are (``post`` would re-encode them).
        response = client.generic(method.upper(), url, **kwargs)
        content = body_of(response)
        assert response.status_code < 500, (url, response.status_code)
        if response.status_code >= 400:
            assert written(storage) == before, (url, response.status_code)
            if url.startswith("/api/"):
                assert response["Content-Type"].startswith("application/json"), (url, content[:200])
                assert set(json.loads(content)) == {"error"}, (url, content[:200])
        elif not writes:
            assert written(storage) == before, (url, response.status_code)
        if check is not None:
            check(response, content, before)
        return response
    finally:
        transaction.savepoint_rollback(savepoint)
        for path in storage.rglob("*") if storage and storage.exists() else []:
            if path.is_file():
                path.unlink()  # files a successful example stored: their rows were rolled back


@pytest.fixture
def site(db, frozen_today, settings):
    """An entity with a repairable record, a credit service agency and a department's intake
    key. Rate limits off: every example should reach the view."""
    settings.RATELIMIT_ENABLE = False
    entity = EntityFactory(name="北京华为数字技术有限公司", code=CODE)
    record = CreditRecordFactory(entity=entity, decision_date=D(2026, 6, 15))
    agency = Agency.objects.create(code="acme-credit", name="Acme")
    _key, agency_key = agencies.agency_key_issue(agency=agency, actor=None, label="fuzz")
    department = DepartmentFactory(code="tst", name="测试市场监督管理局")
    CatalogItemFactory(code="tst-penalty", provider=department)
    _key, department_key = intake_services.department_key_issue(department=department, actor=None)
    reviewer = UserFactory(username="reviewer")
    record.department.staff.add(reviewer)
    run_daily_expiries()
    return {
        "record": record,
        "agency_key": agency_key,
        "department_key": department_key,
        "reviewer": reviewer,
    }


# --- the public pages and the public API ------------------------------------------------------

SEARCH_PARAMS = st.dictionaries(
    st.sampled_from(["q", "kind", "province", "category", "page", "has", "department"]),
    raw_values,
    max_size=4,
)


@FUZZ
@given(params=SEARCH_PARAMS, list_slug=st.sampled_from(["serious-dishonesty", "red", "abnormal-operation"]))
def test_search_page_and_api(client, site, params, list_slug):
    for url in ("/search/", "/en/search/", "/api/v1/entities/", f"/lists/{list_slug}/"):
        answer(client, "get", url + query(params))


@FUZZ
@given(
    code=st.one_of(
        raw_values,
        st.sampled_from(
            [CODE, CODE.lower(), f" {CODE} ", "９１１１００００６０００３７３４１ｌ", CODE[:17], CODE + "0"]
        ).map(str.encode),
    ),
    number=st.one_of(st.integers(min_value=0, max_value=10**30), raw_values),
)
def test_entity_and_record_pages(client, site, code, number):
    for url in (
        f"/entities/{segment(code)}/",
        f"/en/entities/{segment(code)}/",
        f"/api/v1/entities/{segment(code)}/",
        f"/api/v1/entities/{segment(code)}/records/",
    ):
        answer(client, "get", url)
    number = str(number).encode() if isinstance(number, int) else number
    for url in (
        f"/records/{segment(number)}/",
        f"/api/v1/records/{segment(number)}/",
        f"/persons/{segment(number)}/",
    ):
        answer(client, "get", url)


# --- credit repair --------------------------------------------------------------------------

APPLICATION_FIELDS = [
    "entity_code",
    "entity_name",
    "contact_person",
    "phone",
    "email",
    "statement",
    "signatory",
    "commitment_confirmed",
]
GOOD_APPLICATION = {
    "entity_code": CODE.encode(),
    "entity_name": "北京华为数字技术有限公司".encode(),
    "contact_person": "张三".encode(),
    "phone": b"13800138000",
    "email": b"zhang@example.com",
    "statement": "已于2026年7月1日缴清全部罚款，并已整改广告内容，建立了审核制度。".encode(),
    "signatory": "李四".encode(),
    "commitment_confirmed": b"on",
}
# Often a good file among the bad, so the form gets past its first refusal.
evidence = st.one_of(
    st.just([(b"receipt.pdf", PDF)]),
    st.lists(
        st.tuples(st.sampled_from([b"a.pdf", b"b.jpg", b"c.png"]), st.sampled_from([PDF, JPEG, PNG])),
        max_size=2,
    ),
    st.lists(st.tuples(file_names, file_bytes), max_size=3),
)


@FUZZ
@given(
    changed=st.dictionaries(st.sampled_from(APPLICATION_FIELDS), raw_values, max_size=3),
    fulfilment=evidence,
    representation=evidence,
)
def test_the_repair_application_form(client, site, private_storage, changed, fulfilment, representation):
    fields = {**GOOD_APPLICATION, **changed}
    files = [("fulfilment_files", name, content) for name, content in fulfilment]
    files += [("representation_files", name, content) for name, content in representation]
    response = answer(
        client,
        "post",
        f"/repair/apply/{site['record'].pk}/",
        storage=private_storage,
        writes=True,
        data=multipart(list(fields.items()), files),
        content_type=MULTIPART,
    )
    assert response.status_code in (302, 400)


@FUZZ
@given(number=raw_values, query_code=raw_values, note=raw_values, files=evidence)
def test_the_repair_status_forms(client, site, private_storage, number, query_code, note, files):
    reviewer = site["reviewer"]
    submission = repair_services.repair_submit(
        record=site["record"],
        **{
            name: value.decode() for name, value in GOOD_APPLICATION.items() if name != "commitment_confirmed"
        },
        commitment_confirmed=True,
        fulfilment_files=[_upload("a.pdf", PDF)],
        representation_files=[_upload("b.jpg", JPEG)],
    )
    # Material asked for, so the upload form is open.
    repair_services.repair_accept(application=submission.application, reviewer=reviewer)
    repair_services.repair_request_material(
        application=submission.application, reviewer=reviewer, reason="请补充完税证明。"
    )
    answer(
        client,
        "post",
        "/repair/status/",
        data=multipart([("number", number), ("query_code", query_code)], []),
        content_type=MULTIPART,
    )
    # Signed in to the real application, with bad input for its own forms.
    real = submission.application.number
    client.post("/repair/status/", {"number": real, "query_code": submission.query_code})
    for url in (f"/repair/status/{segment(number)}/", f"/repair/status/{real}/"):
        answer(client, "get", url)
    for url in (f"/repair/status/{segment(number)}/withdraw/", f"/repair/status/{real}/withdraw/"):
        answer(
            client,
            "post",
            url,
            writes=True,
            data=multipart([("note", note), ("confirm", query_code)], []),
            content_type=MULTIPART,
        )
    answer(
        client,
        "post",
        f"/repair/status/{real}/material/",
        storage=private_storage,
        writes=True,
        data=multipart([("note", note)], [("files", name, content) for name, content in files]),
        content_type=MULTIPART,
    )
    repair_services.repair_withdraw(application=submission.application)  # the next example applies afresh


def _upload(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


# --- the agency API ---------------------------------------------------------------------------

number_like = st.one_of(
    st.none(),  # left out
    st.integers(min_value=-1, max_value=6000).map(lambda n: str(n).encode()),
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda n: str(n).encode()),
    raw_values,
)


@FUZZ
@given(
    after=number_like,
    limit=number_like,
    bucket_size=number_like,
    entity=raw_values,
    acknowledged=json_values,
    raw_body=raw_values,
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "application/json; charset=gb18030",
        ]
    ),
)
def test_the_agency_api(
    client, site, after, limit, bucket_size, entity, acknowledged, raw_body, content_type
):
    key = {"HTTP_AUTHORIZATION": f"Bearer {site['agency_key']}"}
    agency = Agency.objects.get()

    def refusal_keeps_the_cursor(response, _content, _before):
        if response.status_code >= 400:
            assert Agency.objects.values_list("applied_cursor", flat=True).get() == agency.applied_cursor

    answer(client, "get", "/api/v1/changes/" + query({"after": after, "limit": limit}), **key)
    answer(client, "get", "/api/v1/digest/" + query({"bucket_size": bucket_size, "entity": entity}), **key)
    for body, kind in (
        (json.dumps({"cursor": acknowledged}).encode(), "application/json"),
        (json.dumps(acknowledged).encode(), "application/json"),
        (raw_body, content_type),
    ):
        answer(
            client,
            "post",
            "/api/v1/acknowledgement/",
            data=body,
            content_type=kind,
            writes=True,
            check=refusal_keeps_the_cursor,
            **key,
        )


# --- department intake --------------------------------------------------------------------------

INTAKE_COLUMNS = [
    "code", "entity_name", "catalog_item", "decision_number", "decision_date", "facts", "legal_basis_cited",
    "outcome", "penalty_amount", "severity", "valid_from", "valid_until", "revoked", "revoke_reason",
]  # fmt: skip
GOOD_ROW = {
    "code": "911101052000000179",
    "entity_name": "北京导入测试有限公司",
    "catalog_item": "tst-penalty",
    "decision_number": "京朝市监罚〔2026〕1号",
    "decision_date": "2026-06-15",
    "facts": "未按规定公示年度报告。",
    "legal_basis_cited": "《企业信息公示暂行条例》第十八条",
    "outcome": "罚款人民币一万元",
    "penalty_amount": "10000",
}


@FUZZ
@given(
    changed=st.dictionaries(st.sampled_from(INTAKE_COLUMNS), json_texts, max_size=3),
    raw_file=file_bytes,
    file_name=file_names,
    name_param=raw_values,
    valid_rows=st.sampled_from([b"", b"1", b"true", b"\xff", b"on"]),
)
def test_the_intake_api(client, site, private_storage, changed, raw_file, file_name, name_param, valid_rows):
    key = {"HTTP_AUTHORIZATION": f"Bearer {site['department_key']}"}
    row = {**GOOD_ROW, **changed}
    json_lines = (json.dumps(row) + "\n").encode()
    csv_text = (
        ",".join(INTAKE_COLUMNS) + "\n" + ",".join(_csv_cell(row.get(c, "")) for c in INTAKE_COLUMNS) + "\n"
    )
    csv_file = csv_text.encode("utf-8", "surrogatepass")
    for body, kind, params in (
        (json_lines, "application/x-ndjson", {"name": name_param, "import_valid_rows": valid_rows}),
        (raw_file, "text/csv", {"import_valid_rows": valid_rows}),
        (raw_file, "application/octet-stream", {"name": name_param}),
    ):
        _check_intake(client, "/api/v1/intake/batches/" + query(params), private_storage, data=body, content_type=kind,
                      **key)  # fmt: skip
    for name, content in ((file_name, csv_file), (file_name, raw_file), (b"rows.jsonl", json_lines)):
        _check_intake(
            client,
            "/api/v1/intake/batches/",
            private_storage,
            data=multipart([("import_valid_rows", valid_rows)], [("file", name, content)]),
            content_type=MULTIPART,
            **key,
        )
    for url in (
        f"/api/v1/intake/batches/{segment(name_param)}/",
        f"/api/v1/intake/batches/{segment(name_param)}/errors.csv",
    ):
        answer(client, "get", url, **key)


def _csv_cell(value: str) -> str:
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _check_intake(client, url, storage, **kwargs):
    def the_worker_ends_it_and_a_rejection_writes_no_record(response, content, before):
        if response.status_code != 202:
            return
        # The file waits for the intake worker: run it. Whatever the rows hold, the batch ends
        # imported or rejected (``failed`` would be an exception in the pipeline), and a refused
        # file is a rejected batch with its report that writes nothing else.
        call_command("intake_worker", "--once", stdout=io.StringIO())
        batch = Batch.objects.get(number=json.loads(content)["number"])
        assert batch.status in ("imported", "rejected"), (batch.status, batch.failure)
        if batch.status == "rejected":
            assert written()[0][:-1] == before[0][:-1]

    answer(client, "post", url, storage=storage, writes=True, check=the_worker_ends_it_and_a_rejection_writes_no_record,
           **kwargs)  # fmt: skip
