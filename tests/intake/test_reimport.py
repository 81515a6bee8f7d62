"""Importing again: the comparison with the published records (one join on PostgreSQL, numbers
looked up in chunks on SQLite) finds exactly the rows that change something."""

import pytest

from disclosure.models import CreditRecord, Entity, EventKind, PublishedDocument, RecordEvent, RecordStatus
from intake.models import BatchStatus, RecordAction, RecordBatch

from .conftest import code, csv_bytes, licence_row, penalty_row


def _rows():
    return [penalty_row(n) for n in range(1, 13)] + [licence_row(n) for n in range(13, 17)]


def test_changed_revoked_and_renamed_rows_among_unchanged_ones(submit, english):
    first = submit(csv_bytes(_rows()), bulk=True)
    assert (first.status, first.created) == (BatchStatus.IMPORTED, 16)
    events = RecordEvent.objects.count()
    rows = _rows()
    rows[1] = penalty_row(2, outcome="罚款人民币两万元", penalty_amount="20000")  # corrected
    rows[2] = penalty_row(3, revoked="是", revoke_reason="复议决定撤销（京朝复〔2026〕3号）")  # revoked
    rows[12] = licence_row(13, valid_until="2030-06-14")  # corrected
    for row in rows:  # code(4) renamed: rows 4 and 11 unchanged otherwise
        if row["code"] == code(4):
            row["entity_name"] = "北京改名后有限公司"
    rows.append(penalty_row(17))  # new
    batch = submit(csv_bytes(rows))
    assert (batch.status, batch.created, batch.corrected, batch.revoked, batch.unchanged, batch.entities_renamed) == (
        BatchStatus.IMPORTED, 1, 2, 1, 13, 1
    )
    kinds = sorted(RecordEvent.objects.order_by("id").values_list("kind", flat=True)[events:])
    assert kinds == sorted([EventKind.CREATED, EventKind.CORRECTED, EventKind.CORRECTED, EventKind.REVOKED]
                           + [EventKind.ENTITY_RENAMED] * 2)  # fmt: skip
    assert sorted(RecordBatch.objects.filter(batch=batch).values_list("line", "action")) == [
        (3, RecordAction.CORRECTED), (4, RecordAction.REVOKED), (14, RecordAction.CORRECTED), (18, RecordAction.CREATED),
    ]  # fmt: skip
    assert CreditRecord.objects.get(decision_number="京朝市监罚〔2026〕3号").status == RecordStatus.REVOKED
    assert Entity.objects.get(code=code(4)).name == "北京改名后有限公司"

    events = RecordEvent.objects.count()
    again = submit(csv_bytes(rows))  # the revoked row again: already revoked, unchanged
    assert (again.created, again.corrected, again.revoked, again.unchanged, again.entities_renamed) == (0, 0, 0, 17, 0)
    assert RecordEvent.objects.count() == events
    assert not RecordBatch.objects.filter(batch=again).exists()


@pytest.mark.parametrize(
    "change",
    [
        {"catalog_item": "tst-licence", "outcome": "准予许可", "penalty_amount": "", "valid_from": "2026-06-15",
         "valid_until": "2029-06-14"},
        {"decision_date": "2026-06-14"}, {"facts": "未按规定公示年度报告（补正）。"}, {"legal_basis_cited": "《条例》第十七条"},
        {"outcome": "警告"}, {"penalty_amount": "10000.01"}, {"penalty_amount": ""}, {"severity": "严重"},
        {"code": code(5), "entity_name": "北京导入测试有限公司5"},
    ],
)  # fmt: skip
def test_each_compared_field_is_a_correction(submit, change):
    data = csv_bytes([penalty_row(n) for n in range(1, 4)])
    submit(data)
    batch = submit(csv_bytes([penalty_row(1), penalty_row(2, **change), penalty_row(3)]))
    assert (batch.status, batch.corrected, batch.unchanged) == (BatchStatus.IMPORTED, 1, 2)
    assert RecordEvent.objects.filter(kind=EventKind.CORRECTED).count() == 1


def test_an_amount_written_otherwise_is_unchanged(submit):
    submit(csv_bytes([penalty_row(1)]))
    batch = submit(csv_bytes([penalty_row(1, penalty_amount="10,000.00")]))
    assert (batch.corrected, batch.unchanged) == (0, 1)


def test_a_change_to_a_revoked_record_is_refused_and_the_rest_imported(submit, english):
    submit(csv_bytes([penalty_row(1), penalty_row(2)]))
    submit(csv_bytes([penalty_row(2, revoked="是", revoke_reason="复议决定撤销")]))
    batch = submit(csv_bytes([penalty_row(1, outcome="警告"), penalty_row(2, outcome="警告"), penalty_row(3)]),
                   import_valid_rows=True)  # fmt: skip
    assert (batch.status, batch.corrected, batch.created, batch.rows_refused) == (BatchStatus.IMPORTED, 1, 1, 1)
    assert [(e["line"], e["code"]) for e in batch.errors] == [(3, "state")]
    assert CreditRecord.objects.get(decision_number="京朝市监罚〔2026〕2号").outcome == "罚款人民币一万元"


def test_duplicates_inside_the_file_count_refused_rows_too(submit, english):
    rows = [
        penalty_row(1, decision_date="2027-01-01"),  # refused (future), still the number's first line
        penalty_row(1),
        penalty_row(8, entity_name="北京另一个名字有限公司"),  # code(1) again, named otherwise
        penalty_row(2),
    ]
    batch = submit(csv_bytes(rows), import_valid_rows=True)
    assert [(e["line"], e["column"], e["code"], e["message"]) for e in batch.errors] == [
        (2, "decision_date", "future", "The decision date cannot be in the future."),
        (3, "decision_number", "duplicate", "The same decision number is on line 2."),
        (4, "entity_name", "name_conflict", "Line 2 gives this code the name “北京导入测试有限公司1”."),
    ]
    assert (batch.created, batch.rows_refused, batch.error_counts) == (1, 3, {"future": 1, "duplicate": 1, "name_conflict": 1})
    assert list(CreditRecord.objects.values_list("decision_number", flat=True)) == ["京朝市监罚〔2026〕2号"]
    assert PublishedDocument.objects.count() == 1
