"""Intake refuses a row whose catalog item does not apply to the entity it names: an item for
organisations with an identity number, an item for natural persons with a code. The row check
(``pipeline.RowChecker``) asks the catalog item's own rule; every path goes through it: the
temporary file on SQLite, the temporary table on PostgreSQL, one service call a record or the
bulk writer, the admin upload and the department API's worker, and a second clerk's release."""

import csv
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import translation

from disclosure.models import CatalogItem, CreditRecord, Entity, EntityKind, RecordEvent, Subjects
from disclosure.rules import Category, Severity
from intake import services
from intake.models import BatchStatus
from tests.factories import CatalogItemFactory

from .conftest import auth, csv_bytes, penalty_row, person_row

ORGANISATIONS_ONLY = (
    "“经营异常名录” applies to legal persons and unincorporated organisations only, not to natural persons."
)
PERSONS_ONLY = "“执业资格惩戒” applies to natural persons only, not to organisations."


@pytest.fixture
def items(intake_department):
    CatalogItemFactory(code="tst-abnormal", provider=intake_department, name="经营异常名录",
                       category=Category.ABNORMAL_OPERATION, severity=Severity.GENERAL,
                       subjects=Subjects.ORGANISATIONS)  # fmt: skip
    CatalogItemFactory(code="tst-professional", provider=intake_department, name="执业资格惩戒",
                       subjects=Subjects.NATURAL_PERSONS)  # fmt: skip


def listed(n: int, **changes) -> dict:
    return penalty_row(n, catalog_item="tst-abnormal", penalty_amount="", **changes)


def test_the_rows_wait_where_this_database_keeps_them(intake_department):
    """The suite runs on both databases: on PostgreSQL these tests go through the temporary
    table and its SQL, on SQLite through the temporary file."""
    with services.checked_rows(intake_department) as rows:
        expected = "StagedRows" if connection.vendor == "postgresql" else "PickledRows"
        assert type(rows).__name__ == expected


@pytest.mark.parametrize("bulk", [False, True])
def test_a_row_whose_item_does_not_apply_to_its_entity_is_refused_with_line_and_column(
    submit, items, english, bulk
):
    rows = [
        listed(1),  # an enterprise on the abnormal-operation list: fine
        person_row(2, catalog_item="tst-abnormal", penalty_amount=""),  # a natural person on it
        penalty_row(3, catalog_item="tst-professional"),  # an enterprise under an item for persons
        person_row(4, catalog_item="tst-professional"),  # a person under it: fine
        person_row(5),  # an item for both: fine
    ]
    batch = submit(csv_bytes(rows), bulk=bulk)
    assert (batch.status, batch.rows_total, batch.rows_refused) == (BatchStatus.REJECTED, 5, 2)
    assert batch.errors == [
        {"line": 3, "column": "catalog_item", "code": "subjects", "message": ORGANISATIONS_ONLY},
        {"line": 4, "column": "catalog_item", "code": "subjects", "message": PERSONS_ONLY},
    ]
    assert batch.error_counts == {"subjects": 2}
    assert (CreditRecord.objects.count(), Entity.objects.count(), RecordEvent.objects.count()) == (0, 0, 0)
    imported = submit(csv_bytes(rows), bulk=bulk, import_valid_rows=True)
    assert (imported.status, imported.created, imported.rows_refused) == (BatchStatus.IMPORTED, 3, 2)
    assert sorted(CreditRecord.objects.values_list("catalog_item__code", "entity__kind")) == [
        ("tst-abnormal", EntityKind.ENTERPRISE),
        ("tst-penalty", EntityKind.NATURAL_PERSON),
        ("tst-professional", EntityKind.NATURAL_PERSON),
    ]


def test_a_correction_moving_a_record_to_a_person_is_refused(submit, items, english):
    submit(csv_bytes([listed(1)]))
    batch = submit(csv_bytes([person_row(1, catalog_item="tst-abnormal", penalty_amount="",
                                         decision_number=listed(1)["decision_number"])]))  # fmt: skip
    assert batch.errors == [
        {"line": 2, "column": "catalog_item", "code": "subjects", "message": ORGANISATIONS_ONLY}
    ]
    assert CreditRecord.objects.get().entity.kind == EntityKind.ENTERPRISE


def test_the_column_is_named_as_the_file_names_it_and_the_reason_in_its_language(submit, items):
    data = csv_bytes([person_row(2, catalog_item="tst-abnormal", penalty_amount="")])
    chinese = data.decode().replace("catalog_item", "目录项编码", 1).encode()
    with translation.override("zh-hans"):
        batch = submit(chinese)
    assert batch.errors == [{"line": 2, "column": "目录项编码", "code": "subjects",
                             "message": "“经营异常名录”的信用主体为法人和非法人组织，不适用于自然人。"}]  # fmt: skip


def test_the_department_api_reports_it_after_the_worker(client, items, department_key, frozen_today, english):
    data = csv_bytes([listed(1), person_row(2, catalog_item="tst-abnormal", penalty_amount="")])
    response = client.post("/api/v1/intake/batches/", data, content_type="text/csv", HTTP_ACCEPT_LANGUAGE="en",
                           **auth(department_key))  # fmt: skip
    assert response.status_code == 202
    call_command("intake_worker", "--once", stdout=io.StringIO())
    body = client.get(response["Location"], **auth(department_key)).json()
    assert (body["status"], body["rows_refused"], body["errors"]) == (
        "rejected",
        1,
        [{"line": 3, "column": "catalog_item", "code": "subjects", "message": ORGANISATIONS_ONLY}],
    )


def test_a_release_checks_again_against_the_catalog_as_it_is_then(client, submit, items, intake_department, clerk,
                                                                   english):  # fmt: skip
    """An item narrowed while a batch waits for its second clerk: the release refuses the row."""
    from intake.models import DepartmentIntakePolicy
    from tests.factories import UserFactory

    DepartmentIntakePolicy.objects.create(department=intake_department, requires_release=True)
    held = submit(csv_bytes([person_row(2, catalog_item="tst-abnormal", penalty_amount="")]))
    assert held.status == BatchStatus.REJECTED  # checked at once, as submitted
    item = CatalogItem.objects.get(code="tst-abnormal")
    item.subjects = Subjects.BOTH
    item.save()
    waiting = submit(csv_bytes([person_row(2, catalog_item="tst-abnormal", penalty_amount="")]))
    assert waiting.status == BatchStatus.AWAITING_RELEASE
    item.subjects = Subjects.ORGANISATIONS
    item.save()
    second = UserFactory(username="second-clerk")
    intake_department.staff.add(second)
    released = services.batch_release(batch=waiting, actor=second)
    assert (released.status, released.errors) == (
        BatchStatus.REJECTED,
        [{"line": 2, "column": "catalog_item", "code": "subjects", "message": ORGANISATIONS_ONLY}],
    )
    assert CreditRecord.objects.count() == 0
    client.force_login(clerk)
    report = client.get(reverse("admin:intake_batch_errors", args=[released.pk]))
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [
        ["line", "column", "error", "message"],
        ["2", "catalog_item", "subjects", ORGANISATIONS_ONLY],
    ]


@pytest.mark.parametrize("bulk", [False, True])
def test_the_import_checks_the_item_again_under_the_batchs_lock(submit, items, english, bulk, monkeypatch):
    """Checked against the catalog as it is when the rows are written, not as it was when
    they were read: a person's row under an item narrowed meanwhile is refused, by line and
    by the file's column, and nothing of the batch is written."""
    CatalogItem.objects.filter(code="tst-abnormal").update(subjects=Subjects.BOTH)
    rows = [listed(1), person_row(2, catalog_item="tst-abnormal", penalty_amount="")]
    chinese = csv_bytes(rows).decode().replace("catalog_item", "目录项编码", 1).encode()
    take_lock = services._lock_department

    def narrow_then_lock(department):
        CatalogItem.objects.filter(code="tst-abnormal").update(subjects=Subjects.ORGANISATIONS)
        take_lock(department)

    monkeypatch.setattr(services, "_lock_department", narrow_then_lock)
    batch = submit(chinese, bulk=bulk)
    assert (batch.status, batch.rows_refused) == (BatchStatus.REJECTED, 1)
    assert batch.errors == [{"line": 3, "column": "目录项编码", "code": "subjects", "message": ORGANISATIONS_ONLY}]
    assert (CreditRecord.objects.count(), RecordEvent.objects.count()) == (0, 0)

    CatalogItem.objects.filter(code="tst-abnormal").update(subjects=Subjects.BOTH)
    imported = submit(chinese, bulk=bulk, import_valid_rows=True)
    assert (imported.status, imported.created, imported.rows_refused) == (BatchStatus.IMPORTED, 1, 1)
    assert list(CreditRecord.objects.values_list("entity__kind", flat=True)) == [EntityKind.ENTERPRISE]
    # No entity for the refused row either (the bulk path makes a chunk's entities first).
    assert list(Entity.objects.values_list("kind", flat=True)) == [EntityKind.ENTERPRISE]
    assert imported.entities_created == 1


@pytest.mark.parametrize("bulk", [False, True])
def test_a_known_person_under_an_item_for_persons_is_imported(submit, items, english, bulk):
    """The second batch names persons the first one created: they are known entities, and
    still natural persons to the item's rule."""
    first = submit(csv_bytes([person_row(1)]), bulk=bulk)
    assert (first.status, first.entities_created) == (BatchStatus.IMPORTED, 1)
    second = submit(csv_bytes([person_row(6, catalog_item="tst-professional")]), bulk=bulk)  # person 1 again
    assert (second.status, second.created, second.entities_created, second.errors) == (BatchStatus.IMPORTED, 1, 0, [])


@pytest.mark.parametrize("bulk", [False, True])
def test_a_narrowing_committed_before_the_event_order_lock_refuses_the_batch(submit, items, english, bulk,
                                                                            monkeypatch):  # fmt: skip
    """The item narrowed after the import checked it again, before the import took the
    event-order lock (under which a narrowing waits for it): checked once more under the lock."""
    from disclosure import services as disclosure_services

    CatalogItem.objects.filter(code="tst-abnormal").update(subjects=Subjects.BOTH)
    take = disclosure_services.lock_event_order

    def narrow_then_take():
        CatalogItem.objects.filter(code="tst-abnormal").update(subjects=Subjects.ORGANISATIONS)
        return take()

    monkeypatch.setattr(disclosure_services, "lock_event_order", narrow_then_take)
    batch = submit(csv_bytes([person_row(2, catalog_item="tst-abnormal", penalty_amount="")]), bulk=bulk)
    assert batch.status == BatchStatus.REJECTED
    assert [(e["line"], e["code"], e["message"]) for e in batch.errors] == [(2, "subjects", ORGANISATIONS_ONLY)]
    assert (CreditRecord.objects.count(), RecordEvent.objects.count(), Entity.objects.count()) == (0, 0, 0)
