import datetime as dt

import pytest
from django.urls import reverse

from disclosure import services
from disclosure.models import EntityKind
from disclosure.rules import Category, Severity
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory

D = dt.date


def test_home_page(client, penalty, english):
    response = client.get("/en/")
    assert response.status_code == 200
    assert response.context["counts"]["records"] == 1
    assert b'name="q"' in response.content


@pytest.mark.parametrize(
    "typed",
    [
        "91110000600037341L",
        "9111 0000 6000 3734 1l",
        "９１１１００００６０００３７３４１Ｌ",
        "911100-006000-37341L",
    ],
)
def test_a_valid_code_goes_straight_to_the_entity(client, entity, typed):
    response = client.get(reverse("disclosure:search"), {"q": typed})
    assert response.status_code == 302
    assert response["Location"] == "/entities/91110000600037341L/"


def test_a_broken_code_says_what_is_wrong_and_still_searches_names(client, entity, english):
    response = client.get("/en/search/", {"q": "91110000600037341M"})
    assert response.status_code == 200
    assert response.context["code_error"] == "The check character (position 18) should be “L”, not “M”."
    assert response.context["page"].total == 0
    assert "The check character (position 18) should be “L”, not “M”." in response.content.decode()


def test_unknown_valid_code(client, db, english):
    response = client.get("/en/search/", {"q": "9F1100006000373419"})
    assert response.status_code == 200
    assert response.context["message"] == (
        "No entity with the code 9F1100006000373419 is published here. Check the code against the "
        "business licence, or search by the entity's name."
    )
    assert response.context["page"] is None  # a code is not searched as a name


def test_identity_number_finds_the_person(client, db):
    person = services.entity_create(
        name="张三", kind=EntityKind.NATURAL_PERSON, identity_number="11010519491231002X"
    )
    response = client.get(reverse("disclosure:search"), {"q": "110105 19491231 002x"})
    assert response["Location"] == f"/persons/{person.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "110105********002X" in page
    assert "11010519491231002X" not in page


def test_name_search_highlights_and_counts(client, entity, english):
    EntityFactory(name="华为终端有限公司")
    response = client.get("/en/search/", {"q": "华为"})
    body = response.content.decode()
    assert response.context["page"].total == 2
    assert "2 results for “华为”" in body
    assert "<mark>华为</mark>终端有限公司" in body
    assert "北京<mark>华为</mark>数字技术有限公司" in body


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"q": ""}, 200, "Enter a Unified Social Credit Code or a name to search."),
        ({"q": "   "}, 200, "Enter a Unified Social Credit Code or a name to search."),
    ],
)
def test_empty_queries_get_a_message(client, db, english, params, status, message):
    response = client.get("/en/search/", params)
    assert response.status_code == status
    assert response.context["message"] == message


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"q": "x" * 101}, ["Unified Social Credit Code or name: The search is too long: at most 100 characters."]),
        ({"q": "a", "province": "zz"}, ["Region: Select a valid choice. zz is not one of the available choices."]),
        ({"q": "a", "page": "-3"}, ["Page: Ensure this value is greater than or equal to 1."]),
        ({"q": "a", "page": "abc"}, ["Page: Enter a whole number."]),
    ],
)
def test_a_parameter_the_site_cannot_read_is_a_400_that_says_which(client, db, english, params, errors):
    """One behaviour on every page: 400, the reason shown above the form, nothing listed."""
    response = client.get("/en/search/", params)
    assert response.status_code == 400
    assert response.context["errors"] == errors
    assert response.context["page"] is None
    assert 'role="alert" id="error-summary"' in response.content.decode()


@pytest.mark.parametrize("garbage", ["%%%", "_", "'; DROP TABLE x; --", "\\", "😀", "<script>"])
def test_garbage_queries_never_fail(client, entity, garbage):
    response = client.get(reverse("disclosure:search"), {"q": garbage})
    assert response.status_code == 200
    assert response.context["page"].total == 0


def test_search_query_count_is_pinned(client, django_assert_num_queries, db):
    for i in range(30):
        EntityFactory(name=f"测试{i}有限公司" if i % 2 else f"北京测试{i}")
    # exact, prefix, the count row, prefix page, substring page, the hits' record counts
    with django_assert_num_queries(6):
        response = client.get(reverse("disclosure:search"), {"q": "测试"})
    assert response.context["page"].total == 30
    with django_assert_num_queries(3):  # exact, prefix, the count row: nothing found needs no page
        client.get(reverse("disclosure:search"), {"q": "没有"})


def test_entity_page_groups_records_by_category(client, entity, penalty, english):
    CreditRecordFactory(
        entity=entity,
        catalog_item=CatalogItemFactory(category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS),
        decision_date=D(2026, 7, 1),
    )
    response = client.get("/en/entities/91110000600037341L/")
    profile = response.context["profile"]
    assert [(g.category, len(g.records)) for g in profile.groups] == [
        ("penalty", 1),
        ("serious_dishonesty", 1),
    ]
    assert profile.on_serious_dishonesty_list is True
    body = response.content.decode()
    assert "On a serious-dishonesty list" in body
    assert "Credit repair open since 2026-09-16." in body
    assert "2026-06-15 to 2027-06-15" in body


def test_entity_code_in_the_url_is_canonicalised(client, entity):
    response = client.get("/entities/91110000600037341l/")
    assert (response.status_code, response["Location"]) == (301, "/entities/91110000600037341L/")
    assert client.get("/entities/91110000600037341M/").status_code == 404


@pytest.mark.parametrize("records", [1, 6])
def test_entity_page_query_count_is_pinned(client, entity, frozen_today, django_assert_num_queries, records, no_page_cache):
    for _ in range(records):
        CreditRecordFactory(entity=entity, decision_date=D(2026, 6, 15))
    with django_assert_num_queries(2):  # the entity with its version, its records
        response = client.get("/entities/91110000600037341L/")
    assert response.context["profile"].record_count == records
    with django_assert_num_queries(1):  # rendered before: the page comes from the cache
        cached = client.get("/entities/91110000600037341L/")
    assert cached.content == response.content


def test_entity_with_former_names_reads_them(client, entity, frozen_today, django_assert_num_queries, no_page_cache):
    services.entity_add_former_name(entity=entity, name="北京华为网络技术有限公司", changed_on=D(2019, 3, 1))
    with django_assert_num_queries(3):
        response = client.get("/entities/91110000600037341L/")
    assert [f.name for f in response.context["profile"].former_names] == ["北京华为网络技术有限公司"]


def test_entity_page_validators_and_304(client, entity, penalty):
    first = client.get("/entities/91110000600037341L/")
    etag = first["ETag"]
    assert first["Cache-Control"] == "no-cache"
    again = client.get("/entities/91110000600037341L/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    since = client.get("/entities/91110000600037341L/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304


def test_a_change_to_the_records_changes_the_etag_at_once(client, entity, penalty, frozen_today):
    etag = client.get("/entities/91110000600037341L/")["ETag"]
    frozen_today.shift(dt.timedelta(seconds=1))
    services.record_withdraw(record=penalty, actor=None, reason="修复通过", reference="XF1")
    response = client.get("/entities/91110000600037341L/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert response.context["profile"].record_count == 0


def test_etag_changes_at_midnight(client, entity, penalty, frozen_today):
    etag = client.get("/entities/91110000600037341L/")["ETag"]
    frozen_today.shift(dt.timedelta(days=1))
    assert client.get("/entities/91110000600037341L/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_record_page_and_410_once_withdrawn(client, penalty, english):
    url = f"/en/records/{penalty.pk}/"
    response = client.get(url)
    assert response.status_code == 200
    assert "罚款人民币五万元" in response.content.decode()
    assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    services.record_withdraw(record=penalty, actor=None, reason="修复通过", reference="XF20261128000001")
    gone = client.get(url)
    assert gone.status_code == 410
    body = gone.content.decode()
    assert "This record is no longer published" in body
    assert "罚款人民币五万元" not in body
    assert "XF20261128000001" not in body and "修复" not in body
    assert client.get("/records/999999/").status_code == 404


def test_lapsed_record_is_410_the_next_day(client, db, frozen_today):
    record = CreditRecordFactory(decision_date=D(2025, 11, 28))  # shown through 2026-11-28
    assert client.get(f"/records/{record.pk}/").status_code == 200
    frozen_today.shift(dt.timedelta(days=1))
    assert client.get(f"/records/{record.pk}/").status_code == 410


def test_lists_show_current_entries_newest_first_with_filters(client, db, frozen_today):
    serious = CatalogItemFactory(category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS)
    older = CreditRecordFactory(catalog_item=serious, decision_date=D(2026, 5, 1))
    newer = CreditRecordFactory(catalog_item=serious, decision_date=D(2026, 8, 1))
    tax_list = CatalogItemFactory(category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS)
    far = CreditRecordFactory(
        catalog_item=tax_list, decision_date=D(2026, 9, 1), entity=EntityFactory(province_code="44")
    )
    CreditRecordFactory(decision_date=D(2026, 9, 1))  # a penalty: not on the list
    withdrawn = CreditRecordFactory(catalog_item=serious, decision_date=D(2026, 9, 2))
    services.record_withdraw(record=withdrawn, actor=None, reason="修复", reference="XF2")
    response = client.get("/lists/serious-dishonesty/")
    assert list(response.context["page"]) == [far, newer, older]
    assert list(client.get("/lists/serious-dishonesty/", {"province": "11"}).context["page"]) == [
        newer,
        older,
    ]
    other_department = client.get("/lists/serious-dishonesty/", {"department": far.department.code})
    assert list(other_department.context["page"]) == [far]
    assert client.get("/lists/red/").context["page"].paginator.count == 0


def test_list_query_count_is_pinned(client, db, frozen_today, django_assert_num_queries):
    serious = CatalogItemFactory(category=Category.RED_LIST, severity="")
    for _ in range(5):
        CreditRecordFactory(
            catalog_item=serious,
            decision_date=D(2026, 5, 1),
            valid_from=D(2026, 5, 1),
            valid_until=D(2027, 4, 30),
        )
    with django_assert_num_queries(4):  # the departments and kinds to filter by, count, page
        client.get("/lists/red/")


def test_pages_only_answer_get_and_head(client, entity):
    assert client.post("/entities/91110000600037341L/").status_code == 405
    assert client.post(reverse("disclosure:search"), {"q": "x"}).status_code == 405
    assert client.head("/entities/91110000600037341L/").status_code == 200


def test_rate_limit_answers_429_with_retry_after(client, db, settings, frozen_today):
    # The limits count in fixed windows: a stopped clock keeps every request in one window.
    settings.RATELIMIT_ENABLE = True
    from disclosure import views

    limit = int(views.SEARCH_RATE.split("/")[0])
    statuses = [client.get(reverse("disclosure:search"), {"q": "x"}).status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [200] * limit
    assert statuses[limit] == 429
    blocked = client.get(reverse("disclosure:search"), {"q": "x"})
    assert blocked["Retry-After"] == "60"
    # Another client is not affected.
    assert client.get(reverse("disclosure:search"), {"q": "x"}, REMOTE_ADDR="10.9.9.9").status_code == 200


def test_both_languages_and_the_switch(client, entity, penalty):
    zh = client.get("/entities/91110000600037341L/")
    en = client.get("/en/entities/91110000600037341L/")
    assert "统一社会信用代码" in zh.content.decode()
    assert "Unified Social Credit Code" in en.content.decode()
    assert zh["ETag"] != en["ETag"] or zh.content != en.content
    links = {link["code"]: link["url"] for link in zh.context["language_links"]}
    assert links == {"zh-hans": "/entities/91110000600037341L/", "en": "/en/entities/91110000600037341L/"}
    back = {link["code"]: link["url"] for link in en.context["language_links"]}
    assert back["zh-hans"] == "/entities/91110000600037341L/"
    search = client.get("/en/search/", {"q": "华为", "page": "1"})
    assert {link["code"]: link["url"] for link in search.context["language_links"]}["zh-hans"] == (
        "/search/?q=%E5%8D%8E%E4%B8%BA&page=1"
    )


def test_navigation_and_footer_are_cached_per_language(client, entity, penalty):
    """They are rendered once per language and process; each language keeps its own."""
    for _ in range(2):
        zh = client.get("/entities/91110000600037341L/").content.decode()
        en = client.get("/en/entities/91110000600037341L/").content.decode()
        assert '<li><a href="/browse/">浏览信用信息</a></li>' in zh
        assert '<li><a href="/en/browse/">Browse records</a></li>' in en
        assert "Looking up is free and needs no account." in en
        assert "Looking up is free and needs no account." not in zh


def test_robots_txt_keeps_crawlers_off_search(client):
    assert client.get("/robots.txt").content.decode().splitlines()[1] == "Disallow: /search/"


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        ("/entities/91110000600037341L/", "en", "/en/entities/91110000600037341L/"),
        ("/entities/91110000600037341L/", "zh-hans", "/entities/91110000600037341L/"),
        ("/en/search/?q=%E5%8D%8E", "zh-hans", "/search/?q=%E5%8D%8E"),
        ("/en/search/?q=x", "en", "/en/search/?q=x"),
        ("/", "en", "/en/"),
        ("/en/", "zh-hans", "/"),
        ("/entries/en/", "en", "/en/entries/en/"),
    ],
)
def test_the_same_page_in_another_language(path, code, expected):
    from disclosure.context_processors import in_language

    assert in_language(path, code) == expected
