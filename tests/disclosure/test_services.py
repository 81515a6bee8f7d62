import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from disclosure import services
from disclosure.models import CreditRecord, EventKind, RecordEvent, RecordStatus
from disclosure.rules import Category, Severity
from tests.factories import (
    CatalogItemFactory,
    CreditRecordFactory,
    DepartmentFactory,
    EntityFactory,
    UserFactory,
)

D = dt.date


def record_kwargs(department, item, **overrides):
    values = {
        "department": department,
        "entity": EntityFactory(),
        "catalog_item": item,
        "decision_number": "京朝市监罚〔2026〕101号",
        "decision_date": D(2026, 6, 15),
        "facts": "销售不符合安全标准的食品。",
        "legal_basis_cited": "《中华人民共和国食品安全法》第一百二十四条",
        "outcome": "罚款人民币五万元",
        "severity": Severity.GENERAL,
    }
    values.update(overrides)
    return values


@pytest.fixture
def penalty_item(department):
    item = CatalogItemFactory(provider=department)
    return item


def test_create_computes_dates_and_writes_a_created_event(staff_user, department, penalty_item, frozen_today):
    record = services.record_create(actor=staff_user, **record_kwargs(department, penalty_item))
    assert (record.disclosure_start, record.disclosure_end, record.earliest_repair_on) == (
        D(2026, 6, 15),
        D(2027, 6, 15),
        D(2026, 9, 16),
    )
    (event,) = record.events.all()
    assert (event.kind, event.actor, event.actor_label, event.effective_on) == (
        EventKind.CREATED,
        staff_user,
        "clerk",
        D(2026, 6, 15),
    )
    assert event.changes["decision_number"] == "京朝市监罚〔2026〕101号"
    assert event.changes["disclosure_end"] == "2027-06-15"


def test_department_cannot_publish_outside_its_scope(staff_user, department, frozen_today, english):
    foreign_item = CatalogItemFactory(name="失信被执行人")  # provided by, and in scope of, another department
    with pytest.raises(ValidationError) as caught:
        services.record_create(actor=staff_user, **record_kwargs(department, foreign_item))
    assert caught.value.message_dict == {
        "catalog_item": [f"“失信被执行人” is outside the business scope of {department.name}."]
    }
    assert CreditRecord.objects.count() == 0
    assert RecordEvent.objects.count() == 0


def test_staff_of_another_department_cannot_act(department, penalty_item, frozen_today):
    outsider = UserFactory(username="outsider")
    DepartmentFactory().staff.add(outsider)
    with pytest.raises(PermissionDenied):
        services.record_create(actor=outsider, **record_kwargs(department, penalty_item))
    assert CreditRecord.objects.count() == 0


def test_decision_number_unique_per_department(staff_user, department, penalty_item, frozen_today, english):
    services.record_create(actor=staff_user, **record_kwargs(department, penalty_item))
    with pytest.raises(ValidationError) as caught:
        services.record_create(actor=staff_user, **record_kwargs(department, penalty_item))
    assert caught.value.message_dict == {
        "__all__": ["This department already has a record with that decision number."]
    }
    assert CreditRecord.objects.count() == 1
    other = DepartmentFactory()
    other.scope.add(penalty_item)
    services.record_create(actor=None, **record_kwargs(other, penalty_item))
    assert CreditRecord.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"decision_date": D(2026, 11, 29)}, "decision_date"),
        ({"decision_date": D(2018, 12, 31)}, "decision_date"),
    ],
)
def test_bad_dates_are_refused(staff_user, department, penalty_item, frozen_today, overrides, field):
    with pytest.raises(ValidationError) as caught:
        services.record_create(actor=staff_user, **record_kwargs(department, penalty_item, **overrides))
    assert list(caught.value.message_dict) == [field]
    assert CreditRecord.objects.count() == 0


def test_dishonesty_needs_a_severity(staff_user, department, frozen_today):
    item = CatalogItemFactory(provider=department, severity="")
    with pytest.raises(ValidationError) as caught:
        services.record_create(actor=staff_user, **record_kwargs(department, item, severity=""))
    assert list(caught.value.message_dict) == ["severity"]


def test_licence_needs_validity_dates(staff_user, department, frozen_today):
    item = CatalogItemFactory(provider=department, category=Category.ADMINISTRATIVE_LICENCE, severity="")
    with pytest.raises(ValidationError) as caught:
        services.record_create(actor=staff_user, **record_kwargs(department, item, severity=""))
    assert sorted(caught.value.message_dict) == ["valid_from", "valid_until"]


def test_catalog_severity_is_the_default(staff_user, department, frozen_today):
    item = CatalogItemFactory(provider=department, severity=Severity.SERIOUS)
    record = services.record_create(actor=staff_user, **record_kwargs(department, item, severity=""))
    assert record.severity == Severity.SERIOUS


def test_correction_recomputes_and_records_what_changed(staff_user, department, penalty_item, frozen_today):
    record = services.record_create(actor=staff_user, **record_kwargs(department, penalty_item))
    services.record_correct(
        record=record,
        actor=staff_user,
        reason="复核认定为严重违法",
        changes={"severity": Severity.SERIOUS, "outcome": "吊销许可证"},
    )
    record.refresh_from_db()
    assert (record.severity, record.disclosure_end, record.earliest_repair_on) == (
        Severity.SERIOUS,
        D(2029, 6, 15),
        D(2027, 6, 16),
    )
    event = record.events.last()
    assert (event.kind, event.reason) == (EventKind.CORRECTED, "复核认定为严重违法")
    assert event.changes == {
        "severity": ["general", "serious"],
        "outcome": ["罚款人民币五万元", "吊销许可证"],
        "disclosure_end": ["2027-06-15", "2029-06-15"],
        "earliest_repair_on": ["2026-09-16", "2027-06-16"],
    }


def test_correction_needs_a_reason_and_changes_nothing_without_one(
    staff_user, department, penalty_item, frozen_today
):
    record = services.record_create(actor=staff_user, **record_kwargs(department, penalty_item))
    with pytest.raises(ValidationError):
        services.record_correct(record=record, actor=staff_user, reason=" ", changes={"outcome": "x"})
    record.refresh_from_db()
    assert record.outcome == "罚款人民币五万元"
    assert record.events.count() == 1


def test_withdrawal_changes_status_and_writes_the_application_number(db, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1))
    services.record_withdraw(
        record=record, actor=None, reason="信用修复申请已通过", reference="XF2026112800001"
    )
    record.refresh_from_db()
    assert (record.status, record.status_reason) == (RecordStatus.WITHDRAWN, "信用修复申请已通过")
    event = record.events.last()
    assert (event.kind, event.reference, event.changes) == (
        EventKind.WITHDRAWN,
        "XF2026112800001",
        {"status": ["disclosed", "withdrawn"]},
    )
    with pytest.raises(ValidationError) as caught:
        services.record_withdraw(record=record, actor=None, reason="again", reference="XF2026112800002")
    assert caught.value.code == "state"
    assert record.events.count() == 2


def test_redisclose_after_withdrawal(db, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1))
    services.record_withdraw(record=record, actor=None, reason="修复通过", reference="XF1")
    services.record_redisclose(record=record, actor=None, reason="材料虚假，撤销修复决定", reference="XF1")
    assert list(CreditRecord.objects.disclosed()) == [record]
    assert list(record.events.values_list("kind", flat=True)) == ["created", "withdrawn", "redisclosed"]


def test_supersede_links_old_and_new(db, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1))
    replacement = services.record_supersede(
        record=record, actor=None, reason="更正决定书", changes={"penalty_amount": 5000}
    )
    record.refresh_from_db()
    assert (record.status, record.superseded_by) == (RecordStatus.SUPERSEDED, replacement)
    assert replacement.decision_number == record.decision_number
    assert list(record.events.values_list("kind", flat=True)) == ["created", "superseded"]
    assert list(replacement.events.values_list("kind", flat=True)) == ["created"]


def test_expiry_events_written_once_with_the_day_the_period_ended(db, frozen_today):
    lapsed = CreditRecordFactory(decision_date=D(2025, 11, 20))  # shown through 2026-11-20
    current = CreditRecordFactory(decision_date=D(2026, 6, 1))
    assert services.records_record_expiries() == 1
    assert services.records_record_expiries() == 0
    (event,) = RecordEvent.objects.filter(kind=EventKind.EXPIRED)
    assert (event.record, event.effective_on, event.actor_label) == (lapsed, D(2026, 11, 21), "system")
    assert not current.events.filter(kind=EventKind.EXPIRED).exists()


def test_a_correction_that_moves_the_end_clears_the_expiry_marker(db, frozen_today):
    lapsed = CreditRecordFactory(decision_date=D(2025, 11, 20))  # shown through 2026-11-20
    assert services.records_record_expiries() == 1
    services.record_correct(record=lapsed, actor=None, reason="错别字", changes={"facts": "更正后的事实"})
    lapsed.refresh_from_db()
    assert lapsed.expiry_recorded_on == D(2026, 11, 28)  # the end did not move: still lapsed
    services.record_correct(
        record=lapsed, actor=None, reason="复核认定为严重失信", changes={"severity": Severity.SERIOUS}
    )
    lapsed.refresh_from_db()
    assert (lapsed.disclosure_end, lapsed.expiry_recorded_on) == (D(2028, 11, 20), None)
    assert services.records_record_expiries(on=D(2028, 11, 21)) == 1


def test_events_are_append_only_in_the_model(db, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1))
    event = record.events.get()
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        RecordEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(TypeError):
        RecordEvent.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_events_are_append_only_in_postgresql(db, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1))
    event = record.events.get()
    for sql in (
        "UPDATE disclosure_recordevent SET reason = 'x' WHERE id = %s",
        "DELETE FROM disclosure_recordevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert RecordEvent.objects.get(pk=event.pk).reason == ""


def test_entity_create_reads_the_code(db, english):
    entity = services.entity_create(
        name="北京测试有限公司", kind="enterprise", code="９１１１００００６０００３７３４１ｌ"
    )
    assert (
        entity.code,
        entity.registration_authority,
        entity.entity_type,
        entity.division_code,
        entity.province_code,
        entity.region,
    ) == (
        "91110000600037341L",
        "9",
        "1",
        "110000",
        "11",
        "北京市",
    )


def test_entity_create_refuses_a_bad_code(db, english):
    with pytest.raises(ValidationError) as caught:
        services.entity_create(name="x", kind="enterprise", code="91110000600037341M")
    assert caught.value.message_dict == {
        "code": ["The check character (position 18) should be “L”, not “M”."]
    }


def test_natural_person_identity_number_is_never_stored_in_full(db):
    person = services.entity_create(name="张三", kind="natural_person", identity_number="11010519491231002X")
    assert (person.code, person.id_number_masked) == (None, "110105********002X")
    row = type(person).objects.filter(pk=person.pk).values().get()
    assert "11010519491231002X" not in " ".join(str(value) for value in row.values())
    assert person.region == "北京市朝阳区"


def test_expiry_command(db, frozen_today):
    import io

    from django.core.management import call_command

    CreditRecordFactory(decision_date=D(2025, 11, 20))
    out = io.StringIO()
    call_command("records_record_expiries", stdout=out)
    call_command("records_record_expiries", stdout=out)
    assert out.getvalue() == (
        "1 expiry events written; the expiries of 2026-11-28 are all written.\n"
        "0 expiry events written; the expiries of 2026-11-28 are all written.\n"
    )
