import datetime as dt

import pytest
from django.urls import reverse

from disclosure.models import CreditRecord, Entity, EventKind, RecordStatus
from tests.factories import (
    CatalogItemFactory,
    CreditRecordFactory,
    DepartmentFactory,
    EntityFactory,
    UserFactory,
)

D = dt.date


@pytest.fixture
def clerk_client(client, staff_user):
    from django.contrib.auth.models import Permission

    staff_user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="disclosure",
            codename__in=[
                "view_creditrecord",
                "add_creditrecord",
                "change_creditrecord",
                "view_entity",
                "add_entity",
            ],
        )
    )
    client.force_login(staff_user)
    return client


@pytest.fixture
def own_and_foreign(department, frozen_today):
    own = CreditRecordFactory(
        catalog_item=CatalogItemFactory(provider=department),
        decision_number="本局〔2026〕1号",
        decision_date=D(2026, 6, 1),
    )
    foreign = CreditRecordFactory(decision_number="他局〔2026〕1号", decision_date=D(2026, 6, 1))
    return own, foreign


def test_staff_see_only_their_departments_records(clerk_client, own_and_foreign):
    own, foreign = own_and_foreign
    response = clerk_client.get(reverse("admin:disclosure_creditrecord_changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [own]
    assert (
        clerk_client.get(reverse("admin:disclosure_creditrecord_change", args=[foreign.pk])).status_code
        == 302
    )


def test_superuser_sees_every_record(client, superuser, own_and_foreign):
    client.force_login(superuser)
    response = client.get(reverse("admin:disclosure_creditrecord_changelist"))
    assert set(response.context["cl"].queryset) == set(own_and_foreign)


def record_form(entity, item, department, **overrides):
    data = {
        "entity": entity.pk,
        "catalog_item": item.pk,
        "department": department.pk,
        "decision_number": "京朝市监罚〔2026〕88号",
        "decision_date": "2026-09-01",
        "facts": "超范围经营。",
        "legal_basis_cited": "《市场主体登记管理条例》第四十三条",
        "outcome": "罚款人民币三千元",
        "penalty_amount": "3000",
        "severity": "general",
        "valid_from": "",
        "valid_until": "",
        "reason": "",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_staff_add_a_record_in_scope_through_the_service(clerk_client, staff_user, department, frozen_today):
    item = CatalogItemFactory(provider=department)
    entity = EntityFactory()
    response = clerk_client.post(
        reverse("admin:disclosure_creditrecord_add"), record_form(entity, item, department)
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    record = CreditRecord.objects.get()
    assert (record.department, record.disclosure_end, record.earliest_repair_on) == (
        department,
        D(2027, 9, 1),
        D(2026, 12, 2),
    )
    assert list(record.events.values_list("kind", "actor_label")) == [(EventKind.CREATED, "clerk")]


def test_staff_cannot_choose_an_item_outside_their_scope(clerk_client, department, frozen_today):
    foreign_item = CatalogItemFactory()  # in another department's scope only
    entity = EntityFactory()
    response = clerk_client.post(
        reverse("admin:disclosure_creditrecord_add"), record_form(entity, foreign_item, department)
    )
    assert response.status_code == 200
    assert "catalog_item" in response.context["adminform"].form.errors
    assert CreditRecord.objects.count() == 0


def test_superuser_gets_the_scope_error_in_the_form(client, superuser, department, frozen_today, english):
    client.force_login(superuser)
    foreign_item = CatalogItemFactory(name="重大税收违法失信主体")
    response = client.post(
        reverse("admin:disclosure_creditrecord_add"),
        record_form(EntityFactory(), foreign_item, department),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["catalog_item"] == [
        f"“重大税收违法失信主体” is outside the business scope of {department.name}."
    ]
    assert CreditRecord.objects.count() == 0


def test_correction_in_the_admin_needs_a_reason_and_is_in_the_history(clerk_client, own_and_foreign, english):
    own, _foreign = own_and_foreign
    url = reverse("admin:disclosure_creditrecord_change", args=[own.pk])
    data = record_form(
        own.entity,
        own.catalog_item,
        own.department,
        decision_number=own.decision_number,
        decision_date="2026-06-01",
        outcome="罚款人民币两千元",
        **{"events-TOTAL_FORMS": "1", "events-INITIAL_FORMS": "1"},
    )
    data.pop("department")
    response = clerk_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["reason"] == [
        "Give a reason: every change to a record is traceable."
    ]
    data["reason"] = "决定书金额笔误"
    response = clerk_client.post(url, data)
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.outcome == "罚款人民币两千元"
    event = own.events.last()
    assert (event.kind, event.reason, event.changes["outcome"][1]) == (
        EventKind.CORRECTED,
        "决定书金额笔误",
        "罚款人民币两千元",
    )
    page = clerk_client.get(url).content.decode()
    assert "决定书金额笔误" in page  # the history is on the record's page
    assert "Last day shown (inclusive)" in page  # computed dates explained


def test_records_cannot_be_deleted(client, superuser, own_and_foreign):
    client.force_login(superuser)
    own, _foreign = own_and_foreign
    response = client.post(reverse("admin:disclosure_creditrecord_delete", args=[own.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert CreditRecord.objects.filter(pk=own.pk, status=RecordStatus.DISCLOSED).exists()


def test_entity_added_in_admin_is_validated(clerk_client, english):
    url = reverse("admin:disclosure_entity_add")
    data = {
        "code": "91110000600037341M",
        "name": "北京测试有限公司",
        "kind": "enterprise",
        "legal_representative": "",
        "identity_number": "",
        "former_names-TOTAL_FORMS": "0",
        "former_names-INITIAL_FORMS": "0",
    }
    response = clerk_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"] == [
        "The check character (position 18) should be “L”, not “M”."
    ]
    data["code"] = "9111 0000 6000 3734 1L"
    response = clerk_client.post(url, data)
    assert response.status_code == 302
    assert Entity.objects.get().code == "91110000600037341L"


def test_person_added_in_admin_keeps_only_a_masked_number(clerk_client):
    data = {
        "code": "",
        "name": "张三",
        "kind": "natural_person",
        "legal_representative": "",
        "identity_number": "11010519491231002X",
        "former_names-TOTAL_FORMS": "0",
        "former_names-INITIAL_FORMS": "0",
    }
    response = clerk_client.post(reverse("admin:disclosure_entity_add"), data)
    assert response.status_code == 302
    person = Entity.objects.get()
    assert (person.code, person.id_number_masked) == (None, "110105********002X")


def test_other_staff_cannot_open_the_admin_without_permissions(client, db):
    user = UserFactory(username="nobody")
    DepartmentFactory().staff.add(user)
    client.force_login(user)
    assert client.get(reverse("admin:disclosure_creditrecord_changelist")).status_code == 403


def test_staff_revoke_their_record_with_a_reason_and_it_is_gone_everywhere(
    clerk_client, staff_user, own_and_foreign, english
):
    own, _foreign = own_and_foreign
    change_page = clerk_client.get(
        reverse("admin:disclosure_creditrecord_change", args=[own.pk])
    ).content.decode()
    url = reverse("admin:disclosure_creditrecord_revoke", args=[own.pk])
    assert f'href="{url}"' in change_page

    response = clerk_client.post(url, {"reason": "  "})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == [
        "Give a reason: every change to a record is traceable."
    ]
    own.refresh_from_db()
    assert (own.status, own.events.count()) == (RecordStatus.DISCLOSED, 1)

    response = clerk_client.post(url, {"reason": "市政府行政复议决定书 京政复〔2026〕88号 撤销原处罚决定"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:disclosure_creditrecord_change", args=[own.pk])
    own.refresh_from_db()
    assert own.status == RecordStatus.REVOKED
    event = own.events.last()
    assert (event.kind, event.actor, event.reason) == (
        EventKind.REVOKED,
        staff_user,
        "市政府行政复议决定书 京政复〔2026〕88号 撤销原处罚决定",
    )
    page = clerk_client.get(response["Location"]).content.decode()
    assert "本局〔2026〕1号 is revoked: it is no longer shown, and agencies’ feeds carry its removal." in page
    assert f'href="{url}"' not in page  # nothing left to revoke
    assert clerk_client.get(f"/en/records/{own.pk}/").status_code == 410

    again = clerk_client.post(url, {"reason": "重复"})
    assert again.status_code == 200
    assert again.context["form"].non_field_errors() == [
        "This record is “Revoked”; that change is not possible now."
    ]
    assert own.events.count() == 2


def test_staff_cannot_revoke_another_departments_record(clerk_client, own_and_foreign):
    _own, foreign = own_and_foreign
    url = reverse("admin:disclosure_creditrecord_revoke", args=[foreign.pk])
    assert clerk_client.get(url).status_code == 404
    assert clerk_client.post(url, {"reason": "越权"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == RecordStatus.DISCLOSED


def entity_form(entity, **changes):
    data = {
        "name": entity.name,
        "kind": entity.kind,
        "legal_representative": entity.legal_representative,
        "former_names-TOTAL_FORMS": "0",
        "former_names-INITIAL_FORMS": "0",
        "former_names-MIN_NUM_FORMS": "0",
        "former_names-MAX_NUM_FORMS": "1000",
    }
    return {**data, **changes}


def test_a_rename_in_the_admin_goes_through_the_rename_service(client, db, frozen_today):
    from django.contrib.auth.models import Permission

    registrar = UserFactory(username="registrar")
    registrar.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="disclosure", codename__in=["view_entity", "change_entity", "view_formername"]
        )
    )
    entity = EntityFactory(name="北京旧名称科技有限公司")
    record = CreditRecordFactory(entity=entity, decision_date=D(2026, 6, 1))
    client.force_login(registrar)
    url = reverse("admin:disclosure_entity_change", args=[entity.pk])
    response = client.post(url, entity_form(entity, name="北京新名称科技有限公司", legal_representative="王五"))
    assert response.status_code == 302
    entity.refresh_from_db()
    assert (entity.name, entity.legal_representative) == ("北京新名称科技有限公司", "王五")
    assert list(entity.former_names.values_list("name", "changed_on")) == [("北京旧名称科技有限公司", D(2026, 11, 28))]
    assert list(record.events.order_by("id").values_list("kind", "feed_type", "actor_label")) == [
        ("created", "disclosed", "system"),
        ("entity_renamed", "updated", "registrar"),
    ]
    assert '"entity_name":"北京新名称科技有限公司"' in record.published.document


def test_a_clerk_whose_role_is_not_registration_cannot_rename(clerk_client, frozen_today):
    entity = EntityFactory(name="北京旧名称科技有限公司")
    url = reverse("admin:disclosure_entity_change", args=[entity.pk])
    assert clerk_client.get(url).status_code == 200  # read-only
    response = clerk_client.post(url, entity_form(entity, name="冒名顶替有限公司"))
    assert response.status_code == 403
    entity.refresh_from_db()
    assert (entity.name, entity.former_names.count()) == ("北京旧名称科技有限公司", 0)


def test_a_catalog_item_made_shared_in_the_admin_tells_the_feed(client, superuser, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1))
    item = record.catalog_item
    client.force_login(superuser)
    response = client.post(
        reverse("admin:disclosure_catalogitem_change", args=[item.pk]),
        {
            "name": item.name, "name_en": item.name_en, "code": item.code, "category": item.category,
            "subjects": item.subjects, "legal_basis": item.legal_basis, "legal_basis_level": item.legal_basis_level,
            "provider": item.provider_id, "disclosure_attribute": "shared", "severity": item.severity,
            "repairable": "on",
        },
    )  # fmt: skip
    assert response.status_code == 302
    assert list(record.events.order_by("id").values_list("kind", "feed_type", "actor_label")) == [
        ("created", "disclosed", "system"),
        ("catalog_changed", "removed", "root"),
    ]
    assert not CreditRecord.objects.disclosed().exists()
