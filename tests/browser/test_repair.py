import datetime as dt
import re

import pytest

from disclosure.models import CreditRecord, RecordStatus
from repair.models import Application
from tests.factories import (
    CatalogItemFactory,
    CreditRecordFactory,
    DepartmentFactory,
    EntityFactory,
    UserFactory,
)
from tests.repair.conftest import JPEG, PDF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = dt.date


@pytest.fixture
def evidence_files(tmp_path):
    receipt = tmp_path / "罚款缴纳凭证.pdf"
    receipt.write_bytes(PDF)
    authorization = tmp_path / "授权委托书.jpg"
    authorization.write_bytes(JPEG)
    return receipt, authorization


@pytest.fixture
def penalty(frozen_today, shipped_rule_sets):
    department = DepartmentFactory(
        name="北京市市场监督管理局", name_en="Beijing Administration for Market Regulation"
    )
    item = CatalogItemFactory(
        provider=department, name="市场监管行政处罚", name_en="Market regulation penalty"
    )
    entity = EntityFactory(name="北京华为数字技术有限公司", code="91110000600037341L")
    record = CreditRecordFactory(
        entity=entity,
        catalog_item=item,
        decision_number="京市监罚〔2026〕1024号",
        decision_date=D(2026, 6, 15),
        facts="发布虚假广告，欺骗、误导消费者。",
        outcome="罚款人民币三十万元",
    )
    reviewer = UserFactory(username="samr-reviewer")
    department.staff.add(reviewer)
    return record


def test_apply_review_approve_and_the_record_is_gone(
    page, browser, live_server, penalty, evidence_files, screenshot
):
    receipt, authorization = evidence_files
    # The applicant finds the entity and opens the record.
    page.goto(page.base_url + "/")
    page.get_by_label("统一社会信用代码或名称").fill("91110000600037341L")
    page.keyboard.press("Enter")
    page.wait_for_url("**/entities/91110000600037341L/")
    page.get_by_role("link", name="市场监管行政处罚 · 京市监罚〔2026〕1024号").click()
    page.wait_for_url(f"**/records/{penalty.pk}/")
    page.get_by_role("link", name="申请信用修复").click()
    page.wait_for_url(f"**/repair/apply/{penalty.pk}/")

    page.locator("#id_entity_code").fill("91110000600037341L")
    page.locator("#id_entity_name").fill("北京华为数字技术有限公司")
    page.locator("#id_contact_person").fill("张三")
    page.locator("#id_phone").fill("13800138000")
    page.locator("#id_email").fill("zhang@example.com")
    page.locator("#id_statement").fill("已于2026年7月1日缴清全部罚款，已删除违法广告并建立广告发布审核制度。")
    page.locator("#id_fulfilment_files").set_input_files(str(receipt))
    page.locator("#id_representation_files").set_input_files(str(authorization))
    page.locator("#id_signatory").fill("李四")
    page.locator("#id_commitment_confirmed").check()
    screenshot(page, "repair-apply")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/repair/submitted/")
    number = page.locator("#application-number").inner_text()
    query_code = page.locator("#query-code").inner_text()
    assert re.fullmatch(r"XF20261128\d{8}", number)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{10}", query_code)
    screenshot(page, "repair-submitted")

    # A reviewer of the department logs in, accepts and approves.
    reviewer_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    reviewer = reviewer_context.new_page()
    reviewer.goto(live_server.url + "/repair/review/")
    reviewer.wait_for_url("**/admin/login/**")
    reviewer.locator("#id_username").fill("samr-reviewer")
    reviewer.locator("#id_password").fill("correct horse battery staple")
    reviewer.locator("input[type=submit]").click()
    reviewer.wait_for_url("**/repair/review/")
    assert reviewer.locator("table.queue tbody tr td:first-child").all_inner_texts() == [number]
    screenshot(reviewer, "repair-queue")
    reviewer.get_by_role("link", name=number).click()
    reviewer.get_by_role("button", name="受理", exact=True).click()
    assert reviewer.locator("#application-status").inner_text() == "已受理，审核中"
    reviewer.get_by_role("button", name="通过并撤下该信息").click()
    # Taking a record out of public view is confirmed on a page of its own.
    assert reviewer.locator("h1").inner_text() == "确认：通过并撤下该信息"
    screenshot(reviewer, "repair-confirm")
    reviewer.get_by_role("button", name="确定：通过并撤下该信息").click()
    assert reviewer.locator(".messages li").inner_text() == "已通过：该信息已停止公示。"
    assert reviewer.locator("#application-status").inner_text() == "已通过：信息已撤下"
    screenshot(reviewer, "repair-review")
    reviewer_context.close()

    penalty.refresh_from_db()
    assert penalty.status == RecordStatus.WITHDRAWN
    assert not CreditRecord.objects.disclosed().filter(pk=penalty.pk).exists()

    # The record is gone from the public pages.
    response = page.goto(page.base_url + f"/records/{penalty.pk}/")
    assert response.status == 410
    page.goto(page.base_url + "/entities/91110000600037341L/")
    assert page.locator("h2").first.inner_text() == "公示中的信息0条"

    # The applicant follows the application with the number and query code.
    page.goto(page.base_url + "/repair/status/")
    page.locator("#id_number").fill(number)
    page.locator("#id_query_code").fill(query_code)
    page.get_by_role("button", name="查看申请").click()
    page.wait_for_url(f"**/repair/status/{number}/")
    assert page.locator("#application-status").inner_text() == "已通过：信息已撤下"
    assert page.locator(".steps strong").all_inner_texts() == ["已提交申请", "已受理", "已通过：信息已撤下"]
    screenshot(page, "repair-status")
    assert Application.objects.get().status == "approved"
