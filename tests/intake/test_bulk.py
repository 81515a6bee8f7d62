"""The bulk path writes exactly what the per-record services write for the same file."""

import io
import json

from django.db import transaction

from disclosure.models import CreditRecord, Entity, NameGram, NameGramCount, PublishedDocument, RecordEvent
from intake import services
from intake.models import Channel

from .conftest import csv_bytes, licence_row, penalty_row


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
            r.entity.code, r.catalog_item_id, r.decision_date, r.facts, r.outcome, r.penalty_amount, r.severity,
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
        e.code: (e.name, e.kind, e.registration_authority, e.entity_type, e.division_code, e.province_code,
                 e.region, e.records_version, e.indexed_names, sorted(e.former_names.values_list("name", flat=True)))
        for e in Entity.objects.all()
    }  # fmt: skip
    grams = sorted(NameGram.objects.values_list("gram", "entity__code", "in_current"))
    counts = sorted(NameGramCount.objects.values_list("gram", "current", "any_name"))
    return records, entities, grams, counts, PublishedDocument.objects.count(), RecordEvent.objects.count()


def test_bulk_and_per_record_paths_write_the_same(intake_department, clerk, submit, frozen_today):
    submit(csv_bytes([penalty_row(1), penalty_row(2)]))  # known entities and a record to correct
    rows = [penalty_row(n) for n in range(3, 40)] + [licence_row(n) for n in range(40, 60)]
    rows += [licence_row(60, valid_from="2020-01-01", valid_until="2021-01-01")]  # never held by copies
    rows += [penalty_row(1, outcome="罚款人民币两万元")]
    for row in rows:  # the entity of record 2, renamed in this file
        if row["entity_name"] == "北京导入测试有限公司2":
            row["entity_name"] = "北京改名后有限公司"
    data = csv_bytes(rows)

    def run(bulk):
        upload = services.Upload(io.BytesIO(data), "same.csv")
        batch = services.batch_submit(department=intake_department, upload=upload, channel=Channel.ADMIN,
                                      actor=clerk, bulk=bulk)  # fmt: skip
        assert (batch.status, batch.created, batch.corrected) == ("imported", 58, 1)
        return _state(batch.number)

    try:
        with transaction.atomic():
            per_record = run(False)
            raise Rollback
    except Rollback:
        pass
    in_bulk = run(True)
    assert in_bulk == per_record
    assert len(in_bulk[0]) == 60
