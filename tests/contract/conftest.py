"""Helpers for contract tests: an agency's view of the site over real HTTP (urllib, no Django
test client), a copy that applies the feed exactly as README/clients/README say, and the
OpenAPI schema served at /api/v1/schema/ turned into JSON Schema validators.

Nothing here reads disclosure/feed.py, publication.py or services.py: the site is driven
through the service functions named in the README, and observed through its API."""

from __future__ import annotations

import copy as _copy
import csv
import datetime as dt
import hashlib
import io
import json
import urllib.error
import urllib.parse
import urllib.request

import jsonschema
import pytest
import yaml

from disclosure import agencies
from disclosure.models import Agency
from disclosure.rules import Category
from tests.conftest import run_daily_expiries
from tests.factories import CatalogItemFactory, EntityFactory

D = dt.date
TODAY = D(2026, 11, 28)  # the frozen_today fixture's day


# --------------------------------------------------------------------------------- HTTP


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Api:
    def __init__(self, base: str, key: str | None):
        self.base = base.rstrip("/")
        self.key = key

    def url(self, path, params=None):
        url = self.base + path
        if params is not None:
            url += "?" + urllib.parse.urlencode(params)
        return url

    def request(self, method, path, params=None, headers=None, body=None, key=True):
        hdrs = {"Accept": "application/json", "Accept-Language": "en"}
        if key and self.key:
            hdrs["Authorization"] = f"Bearer {self.key}"
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        req = urllib.request.Request(self.url(path, params), data=body, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, err.headers, err.read())

    def get(self, path, params=None, headers=None, **kw):
        return self.request("GET", path, params, headers, **kw)

    def post(self, path, body, headers=None, **kw):
        return self.request("POST", path, None, headers, body=body, **kw)

    def open_stream(self, path):
        req = urllib.request.Request(
            self.url(path), headers={"Authorization": f"Bearer {self.key}", "Accept-Language": "en"}
        )
        return urllib.request.urlopen(req, timeout=120)

    # ------------------------------------------------------------------ feed helpers
    def changes(self, after, limit=None, headers=None):
        params = {"after": after}
        if limit is not None:
            params["limit"] = limit
        return self.get("/api/v1/changes/", params, headers)

    def all_events(self, after=0, limit=5000):
        events = []
        while True:
            resp = self.changes(after, limit)
            assert resp.status == 200, resp
            page = resp.json()
            events += page["events"]
            after = page["next"]
            if not page["has_more"]:
                return events, after

    def head(self):
        """The head, as the site states it: the 400 for a cursor beyond any head names it."""
        resp = self.changes(2**62)
        assert resp.status == 400, resp
        return resp.json()["error"]["head"]

    def snapshot(self):
        """(cursor from the first line, cursor header, {id: document})."""
        resp = self.get("/api/v1/snapshot.ndjson", headers={"Accept": "*/*"})
        assert resp.status == 200, resp
        return parse_snapshot(resp.body.decode(), resp.headers)


def parse_snapshot(text: str, headers):
    lines = [line for line in text.split("\n") if line.strip()]
    first = json.loads(lines[0])
    docs = {}
    for line in lines[1:]:
        doc = json.loads(line)
        assert doc["id"] not in docs, f"record {doc['id']} twice in the snapshot"
        docs[doc["id"]] = doc
    return first, headers.get("X-Feed-Cursor"), docs


def first_line_cursor(first: dict) -> int:
    """The cursor in the snapshot's first NDJSON line (named `cursor`)."""
    return first["cursor"]


# --------------------------------------------------------------------------------- copy


DOCUMENT_TYPES = {"disclosed", "updated"}
TOMBSTONE_TYPES = {"withdrawn", "revoked", "expired", "removed"}


class Copy:
    """An agency's copy, kept exactly as the contract says: `disclosed`/`updated` put the
    document, every other type removes the record; shown from disclosure_start to
    disclosure_end inclusive."""

    def __init__(self):
        self.docs: dict[int, dict] = {}
        self.cursor = 0

    def load_snapshot(self, api):
        first, _header, docs = api.snapshot()
        self.docs = dict(docs)
        self.cursor = first_line_cursor(first)
        return self

    def apply(self, events):
        for event in events:
            if event["type"] in DOCUMENT_TYPES:
                assert event["record"]["id"] == event["record_id"], event
                self.docs[event["record_id"]] = event["record"]
            else:
                self.docs.pop(event["record_id"], None)
            self.cursor = event["cursor"]

    def follow(self, api, limit=5000):
        events, nxt = api.all_events(self.cursor, limit)
        self.apply(events)
        self.cursor = nxt
        return events

    def visible(self, day: dt.date) -> dict[int, dict]:
        iso = day.isoformat()
        return {i: d for i, d in self.docs.items() if d["disclosure_start"] <= iso <= d["disclosure_end"]}

    def held(self, day: dt.date) -> dict[int, dict]:
        iso = day.isoformat()
        return {i: d for i, d in self.docs.items() if d["disclosure_end"] >= iso}


def md5_8(record_id: int, version: str) -> int:
    return int.from_bytes(hashlib.md5(f"{record_id}:{version}".encode()).digest()[:8], "big")


def digest_of(docs) -> tuple[int, int]:
    """count and hash of a set of documents by the README's formula."""
    total = 0
    for i, d in docs.items():
        total = (total + md5_8(i, d["version"])) % 2**64
    return len(docs), total


# --------------------------------------------------------------------------------- schema


def _openapi_to_jsonschema(node):
    """OpenAPI 3.0 `nullable` to JSON Schema; `discriminator` handled by the caller."""
    if isinstance(node, dict):
        node = {k: _openapi_to_jsonschema(v) for k, v in node.items()}
        if node.pop("nullable", False):
            if "type" in node:
                node["type"] = [node["type"], "null"]
            else:
                node = {"anyOf": [node, {"type": "null"}]}
        node.pop("discriminator", None)
        node.pop("readOnly", None)
        node.pop("title", None)
        return node
    if isinstance(node, list):
        return [_openapi_to_jsonschema(v) for v in node]
    return node


class Schema:
    def __init__(self, raw: dict):
        self.raw = raw
        components = _openapi_to_jsonschema(raw["components"]["schemas"])
        # Event: pick the variant by its discriminator, strictly.
        self.components = components
        self.root = {"components": {"schemas": components}}

    def validator(self, name):
        schema = {"$ref": f"#/components/schemas/{name}", **self.root}
        return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())

    def validate(self, name, instance):
        errors = sorted(self.validator(name).iter_errors(instance), key=str)
        assert not errors, f"{name}: {[e.message for e in errors][:5]}"
        if name == "ChangesPage":
            for event in instance["events"]:
                mapping = self.raw["components"]["schemas"]["FeedEvent"]["discriminator"]["mapping"]
                assert event["type"] in mapping, event
                self.validate(mapping[event["type"]].rsplit("/", 1)[1], event)

    def response_schema(self, path, method, status):
        op = self.raw["paths"][path][method]
        assert str(status) in op["responses"], f"{method.upper()} {path} may not answer {status}"
        content = op["responses"][str(status)].get("content")
        if not content:
            return None
        ref = content.get("application/json", {}).get("schema", {}).get("$ref")
        return ref.rsplit("/", 1)[1] if ref else None

    def check(self, path, method, resp):
        """The answer is one the schema documents, and its body validates."""
        name = self.response_schema(path, method, resp.status)
        if name:
            assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
            self.validate(name, resp.json())


# --------------------------------------------------------------------------------- fixtures


@pytest.fixture
def agency_key(transactional_db):
    agency = Agency.objects.create(code="tester", name="Tester Credit Services")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None)
    return agency, raw


@pytest.fixture
def api(live_server, agency_key, frozen_today):
    """The agency's view, on a day whose daily job has run (as deployed: just after midnight)."""
    run_daily_expiries()
    return Api(live_server.url, agency_key[1])


@pytest.fixture
def schema(live_server):
    resp = Api(live_server.url, None).get(
        "/api/v1/schema/", headers={"Accept": "application/vnd.oai.openapi"}
    )
    assert resp.status == 200, resp
    return Schema(yaml.safe_load(resp.body))


@pytest.fixture
def catalog(frozen_today, shipped_rule_sets):
    penalty = CatalogItemFactory(name="行政处罚信息", code="t-penalty")
    licence = CatalogItemFactory(
        name="行政许可信息",
        name_en="Administrative licence",
        code="t-licence",
        category=Category.ADMINISTRATIVE_LICENCE,
        severity="",
        repairable=False,
        provider=penalty.provider,
    )
    return {"penalty": penalty, "licence": licence, "department": penalty.provider}


@pytest.fixture
def entity(transactional_db):
    return EntityFactory(name="北京测试合同科技有限公司", code="91110000600037341L")


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def deepcopy(x):
    return _copy.deepcopy(x)
