"""Every public page at a desktop and a phone width, in both languages, checked by axe-core
(the accessibility engine, run in the page): no serious or critical violation."""

import datetime as dt

import pytest
from axe_playwright_python.sync_playwright import Axe

from disclosure import services
from disclosure.rules import Category, Severity
from notices.models import Notice
from tests.factories import CatalogItemFactory, CreditRecordFactory, DepartmentFactory, EntityFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = dt.date
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
# Pages whose picture the README shows (docs/screenshots via `make screenshots`).
SHOWN = {
    ("home", "zh", "desktop"),
    ("list", "zh", "desktop"),
    ("list", "zh", "phone"),
    ("category", "en", "desktop"),
    ("browse", "zh", "desktop"),
    ("record", "zh", "desktop"),
    ("help", "en", "desktop"),
    ("rules", "zh", "desktop"),
    ("search", "en", "phone"),
    ("entity", "zh", "phone"),
}


@pytest.fixture
def site(frozen_today, shipped_rule_sets):
    department = DepartmentFactory(name="北京市市场监督管理局", name_en="Beijing Administration for Market Regulation")
    penalty = CatalogItemFactory(provider=department, name="市场监管行政处罚", name_en="Market regulation penalty")
    serious = CatalogItemFactory(
        provider=department, name="严重违法失信名单", name_en="Serious illegal and dishonest list",
        category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS,
    )  # fmt: skip
    red = CatalogItemFactory(
        provider=department, name="纳税信用A级纳税人", name_en="Grade A taxpayer", category=Category.RED_LIST, severity=""
    )
    entity = EntityFactory(name="北京华为数字技术有限公司", code="91110000600037341L")
    services.entity_add_former_name(entity=entity, name="北京华为网络技术有限公司", changed_on=D(2019, 3, 1))
    record = CreditRecordFactory(
        entity=entity, catalog_item=penalty, decision_number="京市监罚〔2026〕1024号", decision_date=D(2026, 6, 15),
        facts="发布虚假广告，欺骗、误导消费者。", outcome="罚款", penalty_amount=300000,
    )  # fmt: skip
    CreditRecordFactory(entity=entity, catalog_item=serious, decision_date=D(2026, 8, 1))
    for n in range(45):
        day = D(2026, 1, 1) + dt.timedelta(days=n)
        CreditRecordFactory(
            entity=EntityFactory(name=f"厦门海湾物流有限公司{n}"), catalog_item=red, decision_date=day,
            valid_from=day, valid_until=D(2028, 12, 31),
        )  # fmt: skip
    notice = Notice.objects.create(
        title="关于《信用修复管理办法》施行的公告", title_en="On the entry into force of the credit repair measures",
        body="《信用修复管理办法》自2026年4月1日起施行。\n\n申请人可在本站在线申请信用修复。",
        body_en="The measures are in force from 1 April 2026.\n\nApplicants may apply online on this site.",
        published_on=D(2026, 3, 30), is_published=True,
    )  # fmt: skip
    return {"entity": entity, "record": record, "notice": notice}


def pages(site):
    return {
        "home": "/",
        "search": "/search/?q=华为",
        "entity": f"/entities/{site['entity'].code}/",
        "record": f"/records/{site['record'].pk}/",
        "browse": "/browse/",
        "category": "/browse/penalties/",
        "list": "/lists/red/?page=2",
        "list-error": "/lists/red/?province=99",
        "help": "/help/",
        "rules": "/help/disclosure-rules/",
        "repair-guide": "/help/credit-repair/",
        "notices": "/notices/",
        "notice": f"/notices/{site['notice'].pk}/",
        "repair": "/repair/",
        "repair-apply": f"/repair/apply/{site['record'].pk}/",
        "repair-status": "/repair/status/",
        "repair-statistics": "/repair/statistics/",
        "late-agencies": "/agencies/late/",
    }


SERIOUS = {"serious", "critical"}


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_public_page_reads_well_and_passes_axe(browser, live_server, site, settings, screenshot, width, language):
    settings.RATELIMIT_ENABLE = False
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    axe = Axe()
    problems = {}
    for name, path in pages(site).items():
        url = live_server.url + ("/en" if language == "en" else "") + path
        response = page.goto(url)
        assert response.status == (400 if name == "list-error" else 200), name
        # Nothing wider than the window: no sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= w, (name, language, width)
        assert page.locator("h1").count() == 1, name
        results = axe.run(page)
        serious = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in SERIOUS
        ]
        if serious:
            problems[name] = serious
        if (name, language, width) in SHOWN:
            screenshot(page, f"{name}-{language}-{width}")
    context.close()
    assert problems == {}


def test_lists_are_cards_on_a_phone(browser, live_server, site, settings):
    settings.RATELIMIT_ENABLE = False
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + "/lists/red/")
    row = page.locator("table.cards tbody tr").first
    assert row.evaluate("r => getComputedStyle(r).display") == "block"
    label = page.locator("table.cards tbody td").first.evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    assert label == '"主体"'
    context.close()


def test_printing_leaves_out_the_header_navigation_and_search(browser, live_server, site, settings):
    settings.RATELIMIT_ENABLE = False
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + f"/entities/{site['entity'].code}/")
    page.emulate_media(media="print")
    for selector in (".site-header", ".site-nav", ".header-search", ".site-footer", ".breadcrumbs"):
        assert not page.locator(selector).first.is_visible(), selector
    assert page.locator("h1").is_visible()
    context.close()
