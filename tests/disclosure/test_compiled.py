import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from disclosure import selectors, services
from disclosure.compiled import CompiledQuery
from disclosure.models import CreditRecord, DisclosureAttribute, Entity
from disclosure.rules import Severity
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory

D = dt.date


@pytest.fixture
def records(entity, frozen_today):
    """An entity's records in every state the visibility rule tells apart."""
    other = EntityFactory()
    made = {
        "shown": CreditRecordFactory(
            entity=entity, decision_date=D(2026, 6, 15), penalty_amount=Decimal("50000.50")
        ),
        "older": CreditRecordFactory(entity=entity, decision_date=D(2026, 1, 5)),
        "withdrawn": CreditRecordFactory(entity=entity, decision_date=D(2026, 6, 1)),
        "not public": CreditRecordFactory(
            entity=entity,
            decision_date=D(2026, 6, 1),
            catalog_item=CatalogItemFactory(disclosure_attribute=DisclosureAttribute.SHARED),
        ),
        "lapsed": CreditRecordFactory(entity=entity, decision_date=D(2025, 3, 1), severity=Severity.GENERAL),
        "someone else's": CreditRecordFactory(entity=other, decision_date=D(2026, 6, 15)),
    }
    services.record_withdraw(record=made["withdrawn"], actor=None, reason="修复通过", reference="XF1")
    return made


@pytest.mark.parametrize(
    "day", [D(2025, 3, 1), D(2026, 1, 4), D(2026, 6, 15), D(2026, 11, 28), D(2031, 1, 1)]
)
def test_compiled_records_are_the_querysets_records(records, entity, day):
    expected = list(selectors.entity_disclosed_records(entity=entity, on=day))
    compiled = selectors.entity_profile(entity, on=day)
    assert [r.pk for g in compiled.groups for r in g.records] == [r.pk for r in expected]


def test_compiled_records_come_as_the_orm_makes_them(records, entity, django_assert_num_queries):
    with django_assert_num_queries(1):
        profile = selectors.entity_profile(entity)
        [shown, older] = profile.groups[0].records
        assert (shown.pk, older.pk) == (records["shown"].pk, records["older"].pk)
        # Related rows came with it; values have the ORM's types on every backend.
        assert shown.catalog_item == records["shown"].catalog_item
        assert shown.department.code == records["shown"].department.code
        assert shown.penalty_amount == Decimal("50000.50")
        assert shown.decision_date == D(2026, 6, 15)
    assert shown.updated_at == CreditRecord.objects.get(pk=shown.pk).updated_at
    assert shown.updated_at.tzinfo is not None
    assert shown._state.db == "default" and not shown._state.adding


def test_entity_by_code_matches_the_queryset(entity):
    assert selectors.entity_by_code("91110000600037341L") == Entity.objects.get(code="91110000600037341L")
    assert selectors.entity_by_code("91110000600037341M") is None


def test_a_marker_that_does_not_reach_the_sql_fails_loudly(db):
    query = CompiledQuery(lambda code: Entity.objects.filter(name="固定"), code="\x00marker")
    with pytest.raises(ImproperlyConfigured, match="does not reach the SQL"):
        query(code="91110000600037341L")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_the_small_reference_tables_are_analyzed_after_any_change(db):
    """Without statistics PostgreSQL guessed one public catalog item and read the entity's
    records once per item (bench/README.md): the catalog and its neighbours are analyzed
    after every change."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s) ORDER BY relname",
            [["disclosure_catalogitem", "disclosure_department", "disclosure_disclosurerule", "disclosure_disclosureruleset"]],
        )
        rows = cursor.fetchall()
    assert rows == [
        (name, ["autovacuum_analyze_threshold=1", "autovacuum_analyze_scale_factor=0"])
        for name in ("disclosure_catalogitem", "disclosure_department", "disclosure_disclosurerule", "disclosure_disclosureruleset")
    ]


def test_the_private_orm_machinery_it_relies_on_is_the_verified_one():
    """disclosure/compiled.py reads private parts of Django's ORM. They were checked for this
    release; a Django upgrade fails here until someone checks them again (and the tests above
    still pass), then moves the pin."""
    import inspect

    import django
    from django.db.models.query import get_related_populators
    from django.db.models.sql.compiler import SQLCompiler

    assert django.VERSION[:2] == (5, 2), "re-verify disclosure/compiled.py against this Django release"
    assert list(inspect.signature(get_related_populators).parameters) == ["klass_info", "select", "db"]
    assert list(inspect.signature(SQLCompiler.get_converters).parameters) == ["self", "expressions"]
    assert list(inspect.signature(SQLCompiler.apply_converters).parameters) == ["self", "rows", "converters"]
    compiler = Entity.objects.filter(code="x").select_related().query.get_compiler(connection=connection)
    compiler.as_sql()
    assert set(compiler.klass_info) >= {"model", "select_fields", "related_klass_infos"}
    assert compiler.annotation_col_map == {}
