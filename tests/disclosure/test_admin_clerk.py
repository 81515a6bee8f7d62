"""The clerk's admin as a clerk expects it: entity by code or name, the department preset,
labels translated, a record's history readable."""

import datetime as dt

import pytest

from disclosure import services
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory

D = dt.date
pytestmark = pytest.mark.django_db


def test_the_clerks_department_is_preset_and_the_entity_found_by_code_or_name(clerk, department):
    page = clerk.get("/admin/disclosure/creditrecord/add/")
    assert page.context["adminform"].form.initial["department"] == department.pk
    assert 'class="admin-autocomplete"' in page.content.decode()
    entity = EntityFactory(name="厦门海湾物流有限公司")
    url = "/admin/autocomplete/"
    params = {"app_label": "disclosure", "model_name": "creditrecord", "field_name": "entity"}
    by_name = clerk.get(url, {**params, "term": "海湾"}).json()
    by_code = clerk.get(url, {**params, "term": entity.code}).json()
    assert [r["id"] for r in by_name["results"]] == [str(entity.pk)]
    assert [r["id"] for r in by_code["results"]] == [str(entity.pk)]


def test_a_records_history_reads_as_fields_before_and_after(clerk, department, frozen_today):
    record = CreditRecordFactory(catalog_item=CatalogItemFactory(provider=department), decision_date=D(2026, 6, 1))
    services.record_correct(record=record, actor=None, reason="笔误", changes={"outcome": "罚款人民币二万元"})
    body = clerk.get(f"/en/admin/disclosure/creditrecord/{record.pk}/change/").content.decode()
    assert '<td>outcome</td><td>罚款人民币一万元</td><td>罚款人民币二万元</td>' in body
    assert f"<td>entity</td><td>—</td><td>{record.entity}</td>" in body  # an id shown by what it names
    zh = clerk.get(f"/admin/disclosure/creditrecord/{record.pk}/change/").content.decode()
    assert '<td>处理结果</td><td>罚款人民币一万元</td><td>罚款人民币二万元</td>' in zh
