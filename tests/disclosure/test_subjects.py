"""A catalog item says which kinds of entity its records may concern (信用主体类型): organisations,
natural persons in key professions, or both. A record about another kind is refused by the
services, and so by the admin; intake's row check asks the same rule (tests/intake/test_subjects.py)."""

import datetime as dt
import importlib
import threading
import time

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import translation

from disclosure import services
from disclosure.models import CatalogItem, CreditRecord, EntityKind, RecordEvent, Subjects
from disclosure.rules import Category, Severity
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory

D = dt.date
ORGANISATIONS_ONLY = (
    "“经营异常名录” applies to legal persons and unincorporated organisations only, not to natural persons."
)
PERSONS_ONLY = "“执业资格惩戒” applies to natural persons only, not to organisations."


def person(n: int = 0):
    numbers = ["11010519491231002X", "110105198001010016"]
    return services.entity_create(name=f"张三{n}", kind=EntityKind.NATURAL_PERSON, identity_number=numbers[n])


@pytest.fixture
def abnormal_operation(department):
    return CatalogItemFactory(
        provider=department,
        name="经营异常名录",
        category=Category.ABNORMAL_OPERATION,
        subjects=Subjects.ORGANISATIONS,
    )


@pytest.fixture
def professional_sanction(department):
    return CatalogItemFactory(provider=department, name="执业资格惩戒", subjects=Subjects.NATURAL_PERSONS)


@pytest.fixture
def listed(staff_user, department, abnormal_operation, frozen_today):
    """An enterprise on the abnormal-operation list."""
    return services.record_create(
        actor=staff_user, **record_kwargs(department, abnormal_operation, EntityFactory())
    )


def record_kwargs(department, item, entity, **overrides):
    return {
        "department": department,
        "entity": entity,
        "catalog_item": item,
        "decision_number": "京朝市监处〔2026〕7号",
        "decision_date": D(2026, 6, 15),
        "facts": "未按规定公示年度报告。",
        "legal_basis_cited": "《企业信息公示暂行条例》第十七条",
        "outcome": "列入经营异常名录",
        "severity": Severity.GENERAL,
        **overrides,
    }


@pytest.mark.parametrize(
    ("subjects", "organisations", "persons"),
    [
        (Subjects.ORGANISATIONS, True, False),
        (Subjects.NATURAL_PERSONS, False, True),
        (Subjects.BOTH, True, True),
    ],
)
def test_an_item_applies_to_the_kinds_its_subjects_name(subjects, organisations, persons):
    item = CatalogItem(subjects=subjects)
    others = [kind for kind in EntityKind if kind != EntityKind.NATURAL_PERSON]
    assert [item.applies_to(kind) for kind in others] == [organisations] * 5
    assert item.applies_to(EntityKind.NATURAL_PERSON) is persons


def test_a_new_item_applies_to_both_unless_it_says_otherwise(department):
    assert CatalogItemFactory(provider=department).subjects == Subjects.BOTH


def test_the_database_refuses_an_unknown_subjects_value(department):
    from django.db import IntegrityError, transaction

    item = CatalogItemFactory(provider=department)
    with pytest.raises(IntegrityError), transaction.atomic():
        CatalogItem.objects.filter(pk=item.pk).update(subjects="everyone")


def test_an_organisations_only_item_refuses_a_natural_person(
    staff_user, department, abnormal_operation, frozen_today, english
):
    with pytest.raises(ValidationError) as caught:
        services.record_create(actor=staff_user, **record_kwargs(department, abnormal_operation, person()))
    assert caught.value.message_dict == {"catalog_item": [ORGANISATIONS_ONLY]}
    assert (CreditRecord.objects.count(), RecordEvent.objects.count()) == (0, 0)
    record = services.record_create(
        actor=staff_user, **record_kwargs(department, abnormal_operation, EntityFactory())
    )
    assert record.entity.kind == EntityKind.ENTERPRISE


def test_a_natural_persons_only_item_refuses_an_organisation(
    staff_user, department, professional_sanction, frozen_today, english
):
    with pytest.raises(ValidationError) as caught:
        services.record_create(
            actor=staff_user, **record_kwargs(department, professional_sanction, EntityFactory())
        )
    assert caught.value.message_dict == {"catalog_item": [PERSONS_ONLY]}
    assert CreditRecord.objects.count() == 0
    assert services.record_create(
        actor=staff_user, **record_kwargs(department, professional_sanction, person())
    )


def test_the_refusal_is_translated(staff_user, department, abnormal_operation, frozen_today):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        services.record_create(actor=staff_user, **record_kwargs(department, abnormal_operation, person()))
    assert caught.value.message_dict == {
        "catalog_item": ["“经营异常名录”的信用主体为法人和非法人组织，不适用于自然人。"]
    }


def test_an_item_for_both_takes_either(staff_user, department, frozen_today):
    item = CatalogItemFactory(provider=department, subjects=Subjects.BOTH)
    services.record_create(actor=staff_user, **record_kwargs(department, item, EntityFactory()))
    services.record_create(
        actor=staff_user, **record_kwargs(department, item, person(), decision_number="二号")
    )
    assert CreditRecord.objects.filter(catalog_item=item).count() == 2


def test_a_correction_cannot_move_a_record_to_an_entity_or_item_that_does_not_fit(
    staff_user, department, abnormal_operation, listed, frozen_today, english
):
    with pytest.raises(ValidationError) as caught:
        services.record_correct(
            record=listed, actor=staff_user, reason="主体有误", changes={"entity": person()}
        )
    assert caught.value.message_dict == {"catalog_item": [ORGANISATIONS_ONLY]}
    penalty = CatalogItemFactory(provider=department)
    fined = services.record_create(
        actor=staff_user, **record_kwargs(department, penalty, person(1), decision_number="二号")
    )
    with pytest.raises(ValidationError) as caught:
        services.record_correct(
            record=fined, actor=staff_user, reason="类别有误", changes={"catalog_item": abnormal_operation}
        )
    assert caught.value.message_dict == {"catalog_item": [ORGANISATIONS_ONLY]}
    assert [(r.entity.kind, r.catalog_item) for r in CreditRecord.objects.order_by("id")] == [
        (EntityKind.ENTERPRISE, abnormal_operation),
        (EntityKind.NATURAL_PERSON, penalty),
    ]
    assert RecordEvent.objects.count() == 2  # the two created events, nothing else


def test_a_supersession_is_held_to_the_rule_too(staff_user, listed, english):
    with pytest.raises(ValidationError) as caught:
        services.record_supersede(
            record=listed, actor=staff_user, reason="主体有误", changes={"entity": person()}
        )
    assert caught.value.message_dict == {"catalog_item": [ORGANISATIONS_ONLY]}
    listed.refresh_from_db()
    assert (listed.status, CreditRecord.objects.count()) == ("disclosed", 1)


def test_an_item_cannot_leave_out_a_kind_its_disclosed_records_concern(
    superuser, department, frozen_today, english
):
    item = CatalogItemFactory(provider=department)
    record = CreditRecordFactory(catalog_item=item, entity=person(), decision_date=D(2026, 6, 1))
    CreditRecordFactory(catalog_item=item, decision_date=D(2026, 6, 1))
    with pytest.raises(ValidationError) as caught:
        services.catalog_item_update(item=item, actor=superuser, changes={"subjects": Subjects.ORGANISATIONS})
    assert caught.value.message_dict == {
        "subjects": [
            "1 disclosed or withdrawn record(s) of this item concern a kind of entity it would no longer apply "
            "to: correct or revoke them first."
        ]
    }
    item.refresh_from_db()
    assert item.subjects == Subjects.BOTH
    services.record_revoke(record=record, actor=superuser, reason="复议撤销")
    services.catalog_item_update(item=item, actor=superuser, changes={"subjects": Subjects.ORGANISATIONS})
    item.refresh_from_db()
    assert item.subjects == Subjects.ORGANISATIONS
    with pytest.raises(ValidationError):
        services.catalog_item_update(
            item=item, actor=superuser, changes={"subjects": Subjects.NATURAL_PERSONS}
        )


def test_the_migration_narrows_abnormal_operation_lists_without_person_records(department, frozen_today):
    """What existing databases get: every item keeps applying to both, except the
    abnormal-operation lists, unless one already holds a natural person's record."""
    migration = importlib.import_module("disclosure.migrations.0013_catalog_item_subjects")
    clean = CatalogItemFactory(provider=department, category=Category.ABNORMAL_OPERATION, code="abnormal")
    held = CatalogItemFactory(provider=department, category=Category.ABNORMAL_OPERATION, code="abnormal-held")
    penalty = CatalogItemFactory(provider=department, code="penalty")
    CreditRecordFactory(catalog_item=held, entity=person(), decision_date=D(2026, 6, 1))
    CreditRecordFactory(catalog_item=clean, decision_date=D(2026, 6, 1))
    CatalogItem.objects.update(subjects=Subjects.BOTH)
    migration.abnormal_operation_for_organisations(apps, None)
    assert dict(CatalogItem.objects.values_list("code", "subjects")) == {
        "abnormal": Subjects.ORGANISATIONS,
        "abnormal-held": Subjects.BOTH,
        penalty.code: Subjects.BOTH,
    }


# -- the admin ----------------------------------------------------------------------------------


def record_form(entity, item, department):
    return {
        "entity": entity.pk, "catalog_item": item.pk, "department": department.pk,
        "decision_number": "京朝市监处〔2026〕8号", "decision_date": "2026-09-01", "facts": "未按规定公示年度报告。",
        "legal_basis_cited": "《企业信息公示暂行条例》第十七条", "outcome": "列入经营异常名录", "penalty_amount": "",
        "severity": "general", "valid_from": "", "valid_until": "", "reason": "",
        "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
    }  # fmt: skip


def test_the_admin_form_names_the_mismatch(clerk, department, abnormal_operation, frozen_today):
    entity = person()
    with translation.override("en"):
        url_en = reverse("admin:disclosure_creditrecord_add")
    response = clerk.post(url_en, record_form(entity, abnormal_operation, department))
    assert (url_en, response.status_code) == ("/en/admin/disclosure/creditrecord/add/", 200)
    assert response.context["adminform"].form.errors == {"catalog_item": [ORGANISATIONS_ONLY]}
    zh = clerk.post(
        "/admin/disclosure/creditrecord/add/", record_form(entity, abnormal_operation, department)
    )
    assert zh.context["adminform"].form.errors == {
        "catalog_item": ["“经营异常名录”的信用主体为法人和非法人组织，不适用于自然人。"]
    }
    assert CreditRecord.objects.count() == 0
    ok = clerk.post(
        "/admin/disclosure/creditrecord/add/", record_form(EntityFactory(), abnormal_operation, department)
    )
    assert ok.status_code == 302
    assert CreditRecord.objects.get().catalog_item == abnormal_operation


def catalog_form(item, **changes):
    return {
        "name": item.name, "name_en": item.name_en, "code": item.code, "category": item.category,
        "subjects": item.subjects, "legal_basis": item.legal_basis, "legal_basis_level": item.legal_basis_level,
        "provider": item.provider_id, "disclosure_attribute": item.disclosure_attribute, "severity": item.severity,
        "repairable": "on", **changes,
    }  # fmt: skip


def test_the_catalog_admin_shows_and_edits_the_subjects(client, superuser, department, abnormal_operation):
    client.force_login(superuser)
    listing = client.get(
        reverse("admin:disclosure_catalogitem_changelist") + "?subjects__exact=organisations"
    )
    assert list(listing.context["cl"].queryset) == [abnormal_operation]
    assert "法人和非法人组织" in listing.content.decode()
    form = client.get(reverse("admin:disclosure_catalogitem_change", args=[abnormal_operation.pk]))
    assert form.context["adminform"].form.initial["subjects"] == Subjects.ORGANISATIONS
    url = reverse("admin:disclosure_catalogitem_change", args=[abnormal_operation.pk])
    response = client.post(url, catalog_form(abnormal_operation, subjects=Subjects.BOTH))
    assert response.status_code == 302
    abnormal_operation.refresh_from_db()
    assert abnormal_operation.subjects == Subjects.BOTH


def test_the_catalog_admin_refuses_to_leave_out_a_kind_in_use(
    client, superuser, department, frozen_today, english
):
    item = CatalogItemFactory(provider=department)
    CreditRecordFactory(catalog_item=item, entity=person(), decision_date=D(2026, 6, 1))
    client.force_login(superuser)
    url = reverse("admin:disclosure_catalogitem_change", args=[item.pk])
    response = client.post(url, catalog_form(item, subjects=Subjects.ORGANISATIONS))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "subjects": [
            "1 disclosed or withdrawn record(s) of this item concern a kind of entity it would no longer apply "
            "to: correct or revoke them first."
        ]
    }
    item.refresh_from_db()
    assert item.subjects == Subjects.BOTH


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has a single writer already")
@pytest.mark.django_db(transaction=True)
def test_a_narrowing_waits_for_a_writer_that_is_writing_and_then_sees_its_record(
    shipped_rule_sets, superuser, department, frozen_today, english
):
    """Two connections: a writer has created a person's record under an item for both and not
    committed; narrowing the item to organisations waits for it (the event-order lock), then
    finds the record and is refused, rather than passing on a read that missed it."""
    item = CatalogItemFactory(provider=department, name="经营异常名录", category=Category.ABNORMAL_OPERATION)
    entity = person()
    written, release, outcome = threading.Event(), threading.Event(), {}

    def write():
        try:
            with transaction.atomic():
                services.record_create(actor=None, **record_kwargs(department, item, entity))
                written.set()
                release.wait(10)
        finally:
            connections.close_all()

    def narrow():
        translation.activate("en")  # a thread starts in the default language
        try:
            services.catalog_item_update(item=item, actor=superuser, changes={"subjects": Subjects.ORGANISATIONS})
            outcome["narrowed"] = True
        except ValidationError as exc:
            outcome["refused"] = exc.message_dict
        finally:
            connections.close_all()

    writer = threading.Thread(target=write)
    writer.start()
    assert written.wait(10)
    narrowing = threading.Thread(target=narrow)
    narrowing.start()
    time.sleep(0.5)
    assert narrowing.is_alive() and outcome == {}  # waiting for the writer
    release.set()
    writer.join(10)
    narrowing.join(10)
    assert outcome == {"refused": {"subjects": [
        "1 disclosed or withdrawn record(s) of this item concern a kind of entity it would no longer apply "
        "to: correct or revoke them first."
    ]}}  # fmt: skip
    item.refresh_from_db()
    assert (item.subjects, CreditRecord.objects.filter(catalog_item=item).count()) == (Subjects.BOTH, 1)
