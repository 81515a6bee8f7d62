import datetime as dt

import pytest

from disclosure import services
from disclosure.rules import Category, Severity
from tests.factories import CatalogItemFactory, CreditRecordFactory, DepartmentFactory, EntityFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = dt.date


@pytest.fixture
def published(frozen_today, shipped_rule_sets):
    department = DepartmentFactory(
        name="北京市市场监督管理局", name_en="Beijing Administration for Market Regulation"
    )
    penalty = CatalogItemFactory(
        provider=department, name="市场监管行政处罚", name_en="Market regulation penalty"
    )
    serious = CatalogItemFactory(
        provider=department,
        name="严重违法失信名单",
        name_en="Serious illegal and dishonest list",
        category=Category.SERIOUS_DISHONESTY,
        severity=Severity.SERIOUS,
    )
    entity = EntityFactory(name="北京华为数字技术有限公司", code="91110000600037341L")
    services.entity_add_former_name(entity=entity, name="北京华为网络技术有限公司", changed_on=D(2019, 3, 1))
    record = CreditRecordFactory(
        entity=entity,
        catalog_item=penalty,
        decision_number="京市监罚〔2026〕1024号",
        decision_date=D(2026, 6, 15),
        facts="发布虚假广告，欺骗、误导消费者。",
        outcome="罚款人民币三十万元",
    )
    CreditRecordFactory(entity=entity, catalog_item=serious, decision_date=D(2026, 8, 1))
    EntityFactory(name="华为终端有限公司")
    EntityFactory(name="深圳市华为投资控股有限公司")
    return {"entity": entity, "record": record}


@pytest.mark.parametrize("typed", ["9111 0000 6000 3734 1l", "９１１１００００６０００３７３４１Ｌ"])
def test_search_by_code_as_people_type_it(page, published, screenshot, typed):
    page.goto(page.base_url + "/")
    page.get_by_label("统一社会信用代码或名称").fill(typed)
    page.keyboard.press("Enter")
    page.wait_for_url("**/entities/91110000600037341L/")
    assert page.locator("h1").inner_text() == "北京华为数字技术有限公司"
    assert page.locator(".entity-fields .code").inner_text() == "91110000600037341L"
    screenshot(page, "entity")


def test_home_page(page, published, screenshot):
    page.goto(page.base_url + "/")
    assert page.locator("h1").inner_text() == "查询公共信用信息"
    screenshot(page, "home")


def test_two_character_name_search_open_entity_switch_language_open_record(page, published, screenshot):
    page.goto(page.base_url + "/")
    page.get_by_label("统一社会信用代码或名称").fill("华为")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/search/?q=*")
    assert page.locator(".results-count").inner_text() == "“华为”共找到3个结果"
    assert page.locator(".result-name").all_inner_texts() == [
        "华为终端有限公司",
        "北京华为数字技术有限公司",
        "深圳市华为投资控股有限公司",
    ]
    assert page.locator(".result-name mark").first.inner_text() == "华为"
    screenshot(page, "search")

    page.get_by_role("link", name="北京华为数字技术有限公司").click()
    page.wait_for_url("**/entities/91110000600037341L/")
    assert page.locator(".banner.danger").is_visible()
    assert page.locator(".category-index a").all_inner_texts() == ["行政处罚 1", "严重失信主体名单 1"]

    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/en/entities/91110000600037341L/")
    assert page.locator(".entity-fields dt").first.inner_text() == "Unified Social Credit Code"
    screenshot(page, "entity-en")

    page.get_by_role("link", name="Market regulation penalty · 京市监罚〔2026〕1024号").click()
    page.wait_for_url(f"**/en/records/{published['record'].pk}/")
    assert page.locator("h1").inner_text() == "Market regulation penalty"
    assert page.get_by_text("罚款人民币三十万元").is_visible()
    screenshot(page, "record-en")

    # The choice sticks: links stay in English.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    page.wait_for_url("**/en/")
    assert page.locator("h1").inner_text() == "Look up public credit information"


def test_a_broken_code_explains_itself(page, published, screenshot):
    page.goto(page.base_url + "/search/?q=91110000600037341M")
    # No space after a full-width colon; the code that exists is offered.
    assert page.get_by_role("alert").inner_text() == (
        "这不是有效的统一社会信用代码：第18位校验码应为“L”，而不是“M”。\n\n"
        "您要查询的是不是91110000600037341L？\n\n已改为按名称搜索。"
    )
    screenshot(page, "search-bad-code")
    page.get_by_role("link", name="91110000600037341L").click()
    page.wait_for_url("**/entities/91110000600037341L/")


def test_phone_width_and_no_javascript(browser, live_server, published, screenshot, settings):
    settings.RATELIMIT_ENABLE = False
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_label("统一社会信用代码或名称").fill("华为")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/search/?q=*")
    assert page.locator(".result-name").count() == 3
    # Nothing wider than the phone: no sideways scrolling (Playwright still evaluates with the
    # page's own scripts off).
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "search-phone")
    context.close()
