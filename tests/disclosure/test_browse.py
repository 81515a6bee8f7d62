"""Browsing without typing: category pages, lists with filters, numbered pages, CSV, and the
search's advice."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.cache import cache

from disclosure import divisions, uscc
from disclosure.rules import Category, Severity
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts(settings):
    settings.RATELIMIT_ENABLE = False
    cache.clear()


def red_record(**kwargs):
    item = kwargs.pop("catalog_item", None) or CatalogItemFactory(category=Category.RED_LIST, severity="")
    day = kwargs.pop("decision_date", D(2026, 5, 1))
    return CreditRecordFactory(
        catalog_item=item, decision_date=day, valid_from=day, valid_until=D(2027, 4, 30), **kwargs
    )


def test_every_category_has_a_page(client, frozen_today):
    licence = CatalogItemFactory(category=Category.ADMINISTRATIVE_LICENCE, severity="", name_en="Food licence")
    record = CreditRecordFactory(
        catalog_item=licence, decision_date=D(2026, 3, 1), valid_from=D(2026, 3, 1), valid_until=D(2031, 2, 28)
    )
    CreditRecordFactory(decision_date=D(2026, 6, 1))  # a penalty
    response = client.get("/en/browse/licences/")
    assert response.status_code == 200
    assert list(response.context["page"]) == [record]
    assert response.context["title"] == "Administrative licence"
    assert client.get("/browse/nothing/").status_code == 404
    browse = client.get("/en/browse/").content.decode()
    assert '<a href="/en/browse/licences/"><span class="count">1</span> <span>Administrative licence</span></a>' in browse


def test_list_filters_by_name_code_kind_and_dates(client, frozen_today):
    older = red_record(decision_date=D(2026, 2, 1), entity=EntityFactory(name="厦门海湾物流有限公司"))
    newer = red_record(decision_date=D(2026, 8, 1))
    url = "/lists/red/"
    assert list(client.get(url, {"q": "海湾"}).context["page"]) == [older]
    assert list(client.get(url, {"q": newer.entity.code.lower()}).context["page"]) == [newer]
    assert list(client.get(url, {"decided_from": "2026-03-01"}).context["page"]) == [newer]
    assert list(client.get(url, {"decided_to": "2026-03-01"}).context["page"]) == [older]
    assert list(client.get(url, {"item": older.catalog_item.code}).context["page"]) == [older]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"province": "99"}, ["Region: Select a valid choice. 99 is not one of the available choices."]),
        ({"page": "abc"}, ["The page number must be a whole number."]),
        ({"page": "99"}, ["There is no page 99: the list has 1 pages."]),
        ({"decided_from": "yesterday"}, ["Decided from: Enter a valid date."]),
    ],
)
def test_a_filter_the_site_cannot_read_is_a_400_that_says_which(client, frozen_today, english, params, errors):
    red_record()
    response = client.get("/en/lists/red/", params)
    assert response.status_code == 400
    assert response.context["errors"] == errors
    body = response.content.decode()
    assert 'role="alert" id="error-summary"' in body
    assert "<tbody>" not in body  # nothing listed that the visitor did not ask for
    assert '<a href="/en/lists/red/">Show the whole list</a>' in body


def test_pages_are_numbered(client, frozen_today):
    item = CatalogItemFactory(category=Category.RED_LIST, severity="")
    for day in range(1, 30):
        for _ in range(3):
            red_record(catalog_item=item, decision_date=D(2026, 4, day))
    response = client.get("/en/lists/red/", {"page": 3})
    assert response.context["page"].number == 3
    body = response.content.decode()
    for n in (1, 2, 4, 5):
        assert f'href="?page={n}" aria-label="Page {n}">{n}</a>' in body
    assert '<span aria-current="page" aria-label="Page 3, the current page">3</span>' in body


def test_csv_export_follows_the_filters_and_escapes_formulas(client, frozen_today):
    red_record(entity=EntityFactory(name="=HYPERLINK(\"http://evil\")有限公司"))
    red_record(entity=EntityFactory(province_code="44"))
    response = client.get("/lists/red/export.csv", {"province": "11"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="red-2026-11-28.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == [
        "entity", "identifier", "kind_of_record", "category", "department", "decision_number",
        "decision_date", "disclosed_until", "url",
    ]  # fmt: skip
    assert len(rows) == 2
    assert rows[1][0] == "'=HYPERLINK(\"http://evil\")有限公司"
    assert client.get("/lists/red/export.csv", {"province": "99"}).status_code == 400


def test_home_counts_link_to_the_categories_and_count_entities_with_records(client, frozen_today, english):
    with_records = CreditRecordFactory(decision_date=D(2026, 6, 1))
    EntityFactory()  # nothing disclosed about it
    body = client.get("/en/").content.decode()
    assert '<a href="/en/browse/penalties/"><span class="count">1</span>' in body
    assert "1 records disclosed today, about 1 entities." in body
    assert f"Example: {with_records.entity.code}, or two characters of a name." in body
    assert "in the 8 categories below" in body


def test_an_identity_number_is_recognized_as_one(client, db, english):
    response = client.get("/en/search/", {"q": "11010519491231002X"})
    assert response.status_code == 200
    assert response.context["code_error"] is None
    assert response.context["message"] == (
        "No natural person with this identity number is published here. Only natural persons in key "
        "professions with a disclosed record are."
    )


def test_a_wrong_check_character_offers_the_corrected_code(client, db, english):
    entity = EntityFactory()
    wrong = entity.code[:17] + ("0" if entity.code[17] != "0" else "1")
    response = client.get("/en/search/", {"q": wrong})
    assert response.context["did_you_mean"] == entity.code
    assert f'Did you mean <a href="/en/entities/{entity.code}/" class="code">{entity.code}</a>?' in (
        response.content.decode()
    )
    unknown = uscc.make_code("91", "110105", "87654321")
    response = client.get("/en/search/", {"q": unknown[:17] + ("0" if unknown[17] != "0" else "1")})
    assert response.context["did_you_mean"] is None


def test_search_results_show_record_counts_and_serious_dishonesty(client, frozen_today, english):
    serious = CatalogItemFactory(category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS)
    listed = EntityFactory(name="测试甲有限公司")
    CreditRecordFactory(entity=listed, catalog_item=serious, decision_date=D(2026, 8, 1))
    CreditRecordFactory(entity=listed, decision_date=D(2026, 8, 1))
    other = EntityFactory(name="测试乙有限公司")
    response = client.get("/en/search/", {"q": "测试"})
    summaries = response.context["summaries"]
    assert (summaries[listed.pk].total, summaries[listed.pk].on_serious_dishonesty_list) == (2, True)
    assert (summaries[other.pk].total, summaries[other.pk].on_serious_dishonesty_list) == (0, False)
    body = response.content.decode()
    assert '<span class="tag tag-danger">Serious dishonesty</span>' in body
    assert '<span class="record-count">2 disclosed records</span>' in body


def test_record_fields_are_labelled_for_their_kind(client, frozen_today):
    licence = CatalogItemFactory(category=Category.ADMINISTRATIVE_LICENCE, severity="")
    record = CreditRecordFactory(
        catalog_item=licence, decision_date=D(2026, 3, 1), valid_from=D(2026, 3, 1), valid_until=D(2031, 2, 28)
    )
    zh = client.get(f"/records/{record.pk}/").content.decode()
    assert "<dt>许可内容</dt>" in zh and "<dt>许可依据</dt>" in zh
    assert "违法事实" not in zh and "处罚依据" not in zh
    assert "2026-03-01至2031-02-28" in zh
    fine = CreditRecordFactory(decision_date=D(2026, 6, 1), outcome="罚款", penalty_amount=Decimal("4569400"))
    en = client.get(f"/en/records/{fine.pk}/").content.decode()
    assert "<dt>Facts of the violation</dt>" in en
    assert '<dt>Penalty</dt><dd>罚款</dd>' in en
    assert '<dt>Fine</dt><dd class="amount">4,569,400.00 yuan</dd>' in en


def test_regions_in_english_and_in_simplified_characters(client, db):
    assert dict(divisions.provinces())["81"] == "香港特别行政区"
    assert divisions.region_en("440305") == "Nanshan District, Shenzhen, Guangdong"
    assert divisions.region_en("610113") == "Yanta District, Xi'an, Shaanxi"
    entity = EntityFactory()
    assert "Chaoyang District, Beijing" in client.get(f"/en/entities/{entity.code}/").content.decode()
    en = client.get("/en/lists/red/").content.decode()
    assert '<option value="44">Guangdong</option>' in en


def test_favicon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"


def test_the_main_navigation_marks_the_current_section(client, frozen_today, english):
    body = client.get("/en/lists/red/").content.decode()
    assert '<a href="/en/browse/" aria-current="page">Browse records</a>' in body
    body = client.get("/en/repair/").content.decode()
    assert '<a href="/en/repair/" aria-current="page">Credit repair</a>' in body
    assert '<a href="/en/browse/" aria-current="page">' not in body
