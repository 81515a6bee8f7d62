from disclosure.models import CreditRecord, Entity, EventKind, PublishedDocument, RecordEvent, RecordStatus
from intake.models import BatchStatus, RecordAction, RecordBatch

from .conftest import code, csv_bytes, licence_row, penalty_row


def test_a_clean_file_creates_records_with_events_and_feed_entries(submit):
    batch = submit(csv_bytes([penalty_row(1), penalty_row(2), licence_row(3)]))
    assert (batch.status, batch.rows_total, batch.created, batch.rows_refused, batch.errors) == (
        BatchStatus.IMPORTED, 3, 3, 0, []
    )
    records = CreditRecord.objects.order_by("decision_number")
    assert records.count() == 3
    events = RecordEvent.objects.filter(kind=EventKind.CREATED)
    assert sorted(e.reference for e in events) == [batch.number] * 3
    assert {e.feed_type for e in events} == {"disclosed"}
    assert PublishedDocument.objects.count() == 3
    assert RecordBatch.objects.filter(batch=batch, action=RecordAction.CREATED).count() == 3
    assert batch.entities_created == 3
    assert Entity.objects.get(code=code(1)).name == "北京导入测试有限公司1"


def test_the_same_file_again_changes_nothing(submit):
    data = csv_bytes([penalty_row(1), penalty_row(2)])
    submit(data)
    events = RecordEvent.objects.count()
    again = submit(data)
    assert (again.status, again.created, again.corrected, again.unchanged) == (BatchStatus.IMPORTED, 0, 0, 2)
    assert RecordEvent.objects.count() == events


def test_a_changed_row_corrects_and_a_revoked_row_revokes(submit):
    submit(csv_bytes([penalty_row(1), penalty_row(2)]))
    batch = submit(csv_bytes([
        penalty_row(1, outcome="罚款人民币两万元", penalty_amount="20000"),
        penalty_row(2, revoked="是", revoke_reason="复议决定撤销（京朝复〔2026〕3号）"),
    ]))  # fmt: skip
    assert (batch.corrected, batch.revoked) == (1, 1)
    first = CreditRecord.objects.get(decision_number="京朝市监罚〔2026〕1号")
    assert (first.outcome, str(first.penalty_amount)) == ("罚款人民币两万元", "20000.00")
    corrected = first.events.get(kind=EventKind.CORRECTED)
    assert (corrected.reference, corrected.feed_type) == (batch.number, "updated")
    second = CreditRecord.objects.get(decision_number="京朝市监罚〔2026〕2号")
    assert second.status == RecordStatus.REVOKED
    assert second.events.get(kind=EventKind.REVOKED).feed_type == "revoked"


def test_a_known_code_with_a_new_name_renames_and_keeps_the_former_name(submit):
    submit(csv_bytes([penalty_row(1)]))
    batch = submit(csv_bytes([penalty_row(8, entity_name="北京改名后有限公司")]))  # code(8 % 7) == code(1)
    entity = Entity.objects.get(code=code(1))
    assert (entity.name, list(entity.former_names.values_list("name", flat=True))) == (
        "北京改名后有限公司", ["北京导入测试有限公司1"]
    )
    assert (batch.entities_renamed, batch.created) == (1, 1)


def test_an_unchanged_row_under_a_new_name_still_renames(submit, english):
    submit(csv_bytes([penalty_row(1), penalty_row(2)]))
    events = RecordEvent.objects.count()
    batch = submit(csv_bytes([penalty_row(1, entity_name="北京改名后有限公司"), penalty_row(2)]))
    assert (batch.entities_renamed, batch.unchanged, batch.created, batch.corrected) == (1, 2, 0, 0)
    assert Entity.objects.get(code=code(1)).name == "北京改名后有限公司"
    renamed = RecordEvent.objects.filter(kind=EventKind.ENTITY_RENAMED)
    assert (RecordEvent.objects.count(), renamed.get().reason) == (
        events + 1, f"Renamed in batch {batch.number}, line 2."
    )


def test_one_bad_row_and_nothing_is_written(submit, english):
    batch = submit(csv_bytes([penalty_row(1), penalty_row(2, code="91110000600037341X")]))
    assert batch.status == BatchStatus.REJECTED
    assert batch.errors == [{
        "line": 3, "column": "code", "code": "code",
        "message": "The check character (position 18) should be “L”, not “X”.",
    }]
    assert CreditRecord.objects.count() == 0
    assert Entity.objects.count() == 0


def test_import_valid_rows_imports_the_rest(submit):
    batch = submit(csv_bytes([penalty_row(1), penalty_row(2, decision_date="2027-01-01")]), import_valid_rows=True)
    assert (batch.status, batch.created, batch.rows_refused) == (BatchStatus.IMPORTED, 1, 1)
    assert [(e["line"], e["column"], e["code"]) for e in batch.errors] == [(3, "decision_date", "future")]
    assert CreditRecord.objects.count() == 1
