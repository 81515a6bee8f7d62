"""`GET /api/v1/digest/?bucket_size=&entity=`: "count and hash of the set disclosed today
(`as_of`; sum mod 2^64 of the first 8 bytes of `md5("{id}:{version}")`), overall, per bucket
of ids or per entity, to find where a copy differs". Computed here from a copy."""

import datetime as dt

import pytest

from disclosure import services
from disclosure.models import EntityKind
from tests.conftest import SHANGHAI
from tests.contract.conftest import Copy, digest_of
from tests.factories import CreditRecordFactory, EntityFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date
DIGEST = "/api/v1/digest/"


def id_card(prefix17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(prefix17, weights, strict=True))
    return prefix17 + "10X98765432"[total % 11]


@pytest.fixture
def population(catalog, entity):
    penalty, licence = catalog["penalty"], catalog["licence"]
    other = EntityFactory()
    rows = [
        CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2026, 5, d))
        for d in range(1, 12)
    ]
    rows += [
        CreditRecordFactory(entity=other, catalog_item=penalty, decision_date=D(2026, 7, d))
        for d in range(1, 6)
    ]
    # held but not shown today: not in the digest
    rows.append(
        CreditRecordFactory(
            entity=entity,
            catalog_item=licence,
            decision_date=D(2026, 11, 1),
            valid_from=D(2026, 12, 1),
            valid_until=D(2027, 11, 30),
        )
    )
    # shown today only: its last day
    rows.append(CreditRecordFactory(entity=other, catalog_item=penalty, decision_date=D(2025, 11, 28)))
    services.record_revoke(record=rows[3], actor=None, reason="撤销")
    services.record_correct(record=rows[4], actor=None, reason="r", changes={"penalty_amount": "100.50"})
    return {"entity": entity, "other": other, "rows": rows}


def check_digests(api, copy, day, entities):
    shown = copy.visible(day)
    resp = api.get(DIGEST)
    assert resp.status == 200, resp
    overall = resp.json()
    assert overall["as_of"] == day.isoformat()
    assert (overall["count"], int(overall["hash"], 16)) == digest_of(shown)
    assert len(overall["hash"]) == 16  # 64 bits, hex

    for size in (1, 3, 7, 1000):
        page = api.get(DIGEST, {"bucket_size": size}).json()
        assert page["bucket_size"] == size
        assert (page["count"], int(page["hash"], 16)) == digest_of(shown)
        listed = {b["bucket"]: b for b in page["buckets"]}
        expected = {}
        for i, doc in shown.items():
            expected.setdefault(i // size, {})[i] = doc
        for bucket, docs in expected.items():
            assert bucket in listed, (size, bucket)
            b = listed[bucket]
            assert b["first_id"] == bucket * size
            assert (b["count"], int(b["hash"], 16)) == digest_of(docs), (size, bucket)
        for bucket, b in listed.items():
            if bucket not in expected:
                assert b["count"] == 0 and int(b["hash"], 16) == 0, (size, b)

    for ent in entities:
        page = api.get(DIGEST, {"entity": ent.code}).json()
        mine = {i: d for i, d in shown.items() if d["entity"] == ent.code}
        assert (page["count"], int(page["hash"], 16)) == digest_of(mine), ent.code


def test_digest_equals_the_copy_overall_per_bucket_and_per_entity(api, schema, population, frozen_today):
    copy = Copy().load_snapshot(api)
    copy.follow(api)
    check_digests(api, copy, D(2026, 11, 28), [population["entity"], population["other"]])
    # the next day, before the expiry job has run: the lapsed record is out of the digest
    frozen_today.move_to(dt.datetime(2026, 11, 29, 0, 0, 1, tzinfo=SHANGHAI))
    copy.follow(api)
    check_digests(api, copy, D(2026, 11, 29), [population["entity"], population["other"]])
    # the day the licence starts
    frozen_today.move_to(dt.datetime(2026, 12, 1, 0, 0, 1, tzinfo=SHANGHAI))
    services.records_record_expiries()
    copy.follow(api)
    check_digests(api, copy, D(2026, 12, 1), [population["entity"], population["other"]])


def test_the_digest_changes_with_any_field(api, population):
    """README: "A document's `version` is a hash of its content, so the digest changes with
    any field"."""
    record = population["rows"][0]
    seen = {api.get(DIGEST).json()["hash"]}
    for changes in (
        {"facts": "事实更正。"},
        {"outcome": "结果更正"},
        {"legal_basis_cited": "依据更正"},
        {"penalty_amount": "1.00"},
        {"penalty_amount": "1.10"},
        {"decision_number": "京朝市监罚〔2026〕更正1号"},
    ):
        services.record_correct(
            record=type(record).objects.get(pk=record.pk), actor=None, reason="r", changes=changes
        )
        digest = api.get(DIGEST).json()["hash"]
        assert digest not in seen, changes
        seen.add(digest)


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "9" * 40])
def test_bad_bucket_size_is_a_structured_400(api, schema, population, value):
    resp = api.get(DIGEST, {"bucket_size": value})
    assert resp.status == 400, resp
    schema.check(DIGEST, "get", resp)
    assert resp.json()["error"]["field"] == "bucket_size"


def test_unknown_or_malformed_entity_is_never_a_500(api, schema, population):
    for value in ("91110000600037341X", "nonsense", "9" * 300, "'; drop table x;--"):
        resp = api.get(DIGEST, {"entity": value})
        assert resp.status in (200, 400, 404), (value, resp)
        schema.check(DIGEST, "get", resp) if resp.status != 404 else None
        if resp.status == 200:
            assert resp.json()["count"] == 0


def test_natural_persons_digest_matches_what_a_copy_can_group(api, catalog, frozen_today):
    """A natural person's documents carry only the masked number (`entity`: "a natural
    person's masked number"); two persons whose numbers mask alike are one group for a
    copy. The per-entity digest, asked with that masked number, must cover what the copy
    holds under it, or a copy can never match it."""
    a = services.entity_create(
        name="张三", kind=EntityKind.NATURAL_PERSON, identity_number=id_card("11010519800101123")
    )
    b = services.entity_create(
        name="李四", kind=EntityKind.NATURAL_PERSON, identity_number=id_card("11010519900202123")
    )
    ra = CreditRecordFactory(entity=a, catalog_item=catalog["penalty"], decision_date=D(2026, 6, 1))
    rb = CreditRecordFactory(entity=b, catalog_item=catalog["penalty"], decision_date=D(2026, 6, 2))
    copy = Copy().load_snapshot(api)
    masked_a, masked_b = copy.docs[ra.id]["entity"], copy.docs[rb.id]["entity"]
    assert "19800101" not in masked_a  # the number is not shown in full
    for masked in {masked_a, masked_b}:
        resp = api.get(DIGEST, {"entity": masked})
        if resp.status == 400:  # refused, saying so: acceptable
            continue
        assert resp.status == 200, resp
        mine = {i: d for i, d in copy.visible(D(2026, 11, 28)).items() if d["entity"] == masked}
        page = resp.json()
        assert (page["count"], int(page["hash"], 16)) == digest_of(mine), masked
