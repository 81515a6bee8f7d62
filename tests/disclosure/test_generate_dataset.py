import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from disclosure import uscc
from disclosure.models import CatalogItem, CreditRecord, Entity, EntityKind, EventKind, RecordEvent


def test_generates_the_requested_rows_with_valid_codes_and_events(db, frozen_today):
    out = io.StringIO()
    call_command("generate_dataset", "--entities", "300", "--records", "900", stdout=out)
    assert Entity.objects.count() == 300
    assert CreditRecord.objects.count() == 900
    assert RecordEvent.objects.filter(kind=EventKind.CREATED).count() == 900
    lapsed = CreditRecord.objects.filter(disclosure_end__lt=dt.date(2026, 11, 28))
    assert lapsed.count() > 0
    assert RecordEvent.objects.filter(kind=EventKind.EXPIRED).count() == lapsed.count()
    assert lapsed.filter(expiry_recorded_on=None).count() == 0
    expired = RecordEvent.objects.filter(kind=EventKind.EXPIRED).select_related("record").first()
    assert expired.effective_on == expired.record.disclosure_end + dt.timedelta(days=1)
    codes = list(Entity.objects.exclude(kind=EntityKind.NATURAL_PERSON).values_list("code", flat=True))
    assert [uscc.validate(code) for code in codes] == codes
    assert Entity.objects.filter(kind=EntityKind.NATURAL_PERSON, id_number_digest=None).count() == 0
    # Each record's catalog item applies to its entity's kind (the abnormal-operation list never
    # to a natural person).
    pairs = set(CreditRecord.objects.values_list("catalog_item__code", "entity__kind").distinct())
    items = {item.code: item for item in CatalogItem.objects.all()}
    assert [(code, kind) for code, kind in pairs if not items[code].applies_to(kind)] == []
    assert {kind for _code, kind in pairs} >= {EntityKind.NATURAL_PERSON, EntityKind.ENTERPRISE}
    # Computed dates are the site's own: a record recomputed through the service is unchanged.
    from disclosure import services

    for record in CreditRecord.objects.select_related("catalog_item")[:50]:
        before = (
            record.disclosure_start,
            record.disclosure_end,
            record.earliest_repair_on,
            record.rule_set_id,
        )
        services.record_apply_rules(record)
        assert (
            record.disclosure_start,
            record.disclosure_end,
            record.earliest_repair_on,
            record.rule_set_id,
        ) == before
    assert "records: 900/900" in out.getvalue()
    # The sequences continue after the generated ids: the site can add rows afterwards.
    call_command("generate_dataset", "--entities", "10", "--records", "10", stdout=io.StringIO())
    assert Entity.objects.count() == 310


def test_generated_entities_are_searchable_with_exact_counts(db, frozen_today):
    from disclosure import search
    from disclosure.models import FormerName

    call_command("generate_dataset", "--entities", "400", "--records", "10", stdout=io.StringIO())
    assert FormerName.objects.exists()
    for entity in Entity.objects.order_by("id")[:40]:
        expected = search.index_terms(
            [entity.name, *sorted(entity.former_names.values_list("name", flat=True))]
        )
        assert entity.indexed_names[0] == entity.name
        assert set(entity.grams.values_list("gram", "in_current")) == set(expected.postings.items())
    for query in ["有限", "公", "科技有限", "便利店"]:
        brute = sum(
            1
            for e in Entity.objects.prefetch_related("former_names")
            if query in e.search_name or any(query in f.search_name for f in e.former_names.all())
        )
        assert search.search(query).total == brute


def _schema_of(tables):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indrelid = ANY(%s::regclass[]) ORDER BY 1",
            [list(tables)],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), condeferrable, condeferred"
            " FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
            [list(tables)],
        )
        return indexes, cursor.fetchall()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the indexes are built after the load on PostgreSQL"
)
def test_indexes_and_constraints_built_after_the_load_are_the_migrations_own(db, frozen_today):
    from disclosure.demo.dataset import BULK_TABLES

    before = _schema_of(BULK_TABLES)
    out = io.StringIO()
    call_command("generate_dataset", "--entities", "200", "--records", "600", stdout=out)
    assert "indexes and constraints: " in out.getvalue()  # the empty tables took the bulk path
    assert _schema_of(BULK_TABLES) == before
    # The foreign keys were checked when they were added again, and still check new rows.
    from disclosure.models import CreditRecord

    with pytest.raises(IntegrityError), transaction.atomic():
        CreditRecord.objects.filter(pk=CreditRecord.objects.order_by("id").first().pk).update(entity_id=10**9)
        connection.check_constraints()
