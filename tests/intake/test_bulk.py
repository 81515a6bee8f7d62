"""The bulk path writes exactly what the per-record services write for the same file."""

import io
import json

from django.db import transaction
from django.utils import timezone

from disclosure import publication
from disclosure.models import CreditRecord, Entity, NameGram, NameGramCount, PublishedDocument, RecordEvent
from intake import services
from intake.models import Channel, RecordBatch

from .conftest import csv_bytes, licence_row, penalty_row, person_row


class Rollback(Exception):
    pass


def _document(text):
    if not text:
        return text
    document = json.loads(text)
    document.pop("id"), document.pop("version")
    return document


def _state(batch_number):
    def plain(text):
        return text.replace(batch_number, "<batch>")

    records = {
        r.decision_number: (
            r.entity.code or r.entity.id_number_masked, r.catalog_item_id, r.decision_date, r.facts, r.outcome, r.penalty_amount, r.severity,
            r.valid_from, r.valid_until, r.rule_set_id, r.disclosure_start, r.disclosure_end, r.earliest_repair_on,
            r.status,
            [(e.kind, e.feed_type, _document(e.document), e.changes if e.kind != "created" else
              {k: v for k, v in e.changes.items() if k != "entity"}, e.effective_on, plain(e.reference),
              plain(e.reason), e.actor_label) for e in r.events.order_by("id")],
            _document(getattr(getattr(r, "published", None), "document", "")),
        )
        for r in CreditRecord.objects.select_related("entity", "published")
    }  # fmt: skip
    entities = {
        e.code or e.id_number_digest: (
                 e.code, e.name, e.search_name, e.kind, e.registration_authority, e.entity_type, e.division_code,
                 e.province_code, e.region, e.legal_representative, e.id_number_masked, e.records_version,
                 e.records_changed_at is not None, e.indexed_names,
                 sorted(e.former_names.values_list("name", flat=True)))
        for e in Entity.objects.all()
    }  # fmt: skip
    grams = sorted(
        (gram, code or digest, in_current)
        for gram, code, digest, in_current in NameGram.objects.values_list(
            "gram", "entity__code", "entity__id_number_digest", "in_current"
        )
    )
    counts = sorted(NameGramCount.objects.values_list("gram", "current", "any_name"))
    links = sorted(RecordBatch.objects.values_list("record__decision_number", "action", "line", "before"))
    return records, entities, grams, counts, links, PublishedDocument.objects.count(), RecordEvent.objects.count()


def _documents_as_the_database_builds_them():
    """Every document written (in the copies and in the events) is, byte for byte, the one
    ``publication`` builds from the record as the database now holds it; events' ids follow
    the records' order."""
    ids = list(CreditRecord.objects.order_by("id").values_list("id", flat=True))
    held = publication.held_documents(ids, on=timezone.localdate())
    assert dict(PublishedDocument.objects.values_list("record_id", "version")) == {
        pk: version for pk, (version, _text) in held.items()
    }
    assert dict(PublishedDocument.objects.values_list("record_id", "document")) == {
        pk: text for pk, (_version, text) in held.items()
    }
    latest = dict(RecordEvent.objects.exclude(document="").order_by("id").values_list("record_id", "document"))
    assert latest == {pk: text for pk, (_version, text) in held.items()}
    created = list(RecordEvent.objects.filter(kind="created").order_by("id").values_list("record_id", flat=True))
    assert created == sorted(created)


def test_bulk_and_per_record_paths_write_the_same(intake_department, clerk, submit, frozen_today):
    # Known entities and persons, and records to correct.
    submit(csv_bytes([penalty_row(1), penalty_row(2), person_row(101), person_row(102)]))
    rows = [penalty_row(n) for n in range(3, 40)] + [licence_row(n) for n in range(40, 60)]
    rows += [licence_row(60, valid_from="2020-01-01", valid_until="2021-01-01")]  # never held by copies
    rows += [penalty_row(1, outcome="罚款人民币两万元")]
    rows += [person_row(n) for n in range(103, 115)]  # new persons (3, 4, 0) and known ones (1, 2)
    rows += [person_row(101, outcome="罚款人民币两万元")]
    for row in rows:  # the entity of record 2 and person 2, renamed in this file
        if row["entity_name"] in ("北京导入测试有限公司2", "测试人员2"):
            row["entity_name"] = "北京改名后有限公司" if row["code"] else "测试人员乙"
    data = csv_bytes(rows)

    def run(bulk):
        upload = services.Upload(io.BytesIO(data), "same.csv")
        batch = services.batch_submit(department=intake_department, upload=upload, channel=Channel.ADMIN,
                                      actor=clerk, bulk=bulk)  # fmt: skip
        assert (batch.status, batch.created, batch.corrected) == ("imported", 70, 2)
        assert (batch.entities_created, batch.entities_renamed) == (8, 2)
        return _state(batch.number)

    try:
        with transaction.atomic():
            per_record = run(False)
            raise Rollback
    except Rollback:
        pass
    in_bulk = run(True)
    assert in_bulk == per_record
    assert len(in_bulk[0]) == 74
    persons = {key: entity for key, entity in in_bulk[1].items() if entity[3] == "natural_person"}
    assert sorted((entity[1], entity[10]) for entity in persons.values()) == [
        ("测试人员0", "110105********0008"), ("测试人员1", "110105********0016"), ("测试人员3", "110105********0032"),
        ("测试人员4", "110105********0040"), ("测试人员乙", "110105********0024"),
    ]  # fmt: skip
    _documents_as_the_database_builds_them()


def test_bulk_path_again_writes_nothing(intake_department, clerk, submit, frozen_today):
    data = csv_bytes([penalty_row(n) for n in range(1, 30)] + [licence_row(n) for n in range(30, 40)]
                     + [person_row(n) for n in range(40, 50)])  # fmt: skip
    first = submit(data, bulk=True)
    before = _state(first.number)
    again = submit(data, bulk=True)
    assert (again.created, again.corrected, again.unchanged, again.entities_created) == (0, 0, 49, 0)
    assert _state(first.number) == before
