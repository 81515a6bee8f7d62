"""The shared page cache judged from its contract only (README, *The shared page cache* and the
``PAGE_CACHE*`` settings): after every kind of committed write the very next request shows
the new state, in both languages, for the pages and the API; a hit and a 304 read nothing
from the database; nothing private is kept; the site without a cache behaves as before.

The oracle everywhere is the same site rendered without the page cache: for every request
the cached site must answer what the uncached one answers (status, address, body, validators).
On SQLite (no cache configured) a local-memory "pages" cache stands in for Redis, in one
process.
"""

import datetime as dt
import re
import threading

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from disclosure import services
from disclosure.models import CreditRecord, DisclosureRuleSet, Entity
from tests.conftest import SHANGHAI
from tests.factories import (
    CatalogItemFactory,
    CreditRecordFactory,
    EntityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

ON_POSTGRES = connection.vendor == "postgresql"
REDIS_PAGES = "pages" in django_settings.CACHES
LOCMEM_PAGES = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages-contract"}
LANGUAGES = ("zh-hans", "en")
CODE = "91110000600037341L"


# --- helpers -----------------------------------------------------------------------------


@pytest.fixture
def page_cache(settings):
    """A "pages" cache: the configured Redis one, or a local-memory stand-in."""
    if "pages" not in settings.CACHES:
        settings.CACHES = {**settings.CACHES, "pages": LOCMEM_PAGES}
    caches["pages"].clear()
    yield caches["pages"]
    caches["pages"].clear()


def without_pages():
    return override_settings(CACHES={k: v for k, v in django_settings.CACHES.items() if k != "pages"})


NOISE = [
    (re.compile(rb'nonce="[^"]*"'), b'nonce=""'),
    (re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"'), b'name="csrfmiddlewaretoken" value=""'),
    # the links to this page in the other language repeat the query string (see the fragment test)
    (re.compile(rb'(href="[^"?]*)\?[^"]*"'), rb'\1"'),
]


def normalized(body: bytes) -> bytes:
    for pattern, replacement in NOISE:
        body = pattern.sub(replacement, body)
    return body


def api(url):
    return url.startswith("/api/")


def request(url, lang, *, method="get", client=None, **headers):
    client = client or Client()
    if api(url):
        headers.setdefault("HTTP_ACCEPT_LANGUAGE", lang)
    elif lang == "en":
        url = "/en" + url
    return getattr(client, method)(url, **headers)


def answer(response):
    return {
        "status": response.status_code,
        "location": response.get("Location"),
        "etag": response.get("ETag"),
        "last_modified": response.get("Last-Modified"),
        "content_type": response.get("Content-Type"),
        "body": normalized(response.content),
    }


def fresh(url, lang, **kwargs):
    with without_pages():
        return answer(request(url, lang, **kwargs))


def urls_for(entity, record):
    return [
        f"/entities/{entity.code}/",
        f"/records/{record.pk}/",
        f"/search/?q={entity.code}",
        "/lists/serious-dishonesty/",
        "/lists/red/",
        "/browse/penalties/",
        f"/api/v1/entities/{entity.code}/",
        f"/api/v1/entities/{entity.code}/records/",
        f"/api/v1/records/{record.pk}/",
    ]


def warm(urls):
    """Every page kept (asked twice: the second is served from the cache)."""
    for url in urls:
        for lang in LANGUAGES:
            request(url, lang)
            request(url, lang)


def stale(urls, **kwargs):
    """The pages whose cached answer differs from the uncached one, with how."""
    found = {}
    for url in urls:
        for lang in LANGUAGES:
            cached, uncached = answer(request(url, lang, **kwargs)), fresh(url, lang, **kwargs)
            # a list page has no validators uncached; the cache may add an ETag to it
            diff = [
                key
                for key in cached
                if cached[key] != uncached[key] and not (key == "etag" and not uncached[key])
            ]
            if diff:
                found[(url, lang)] = diff
    return found


@pytest.fixture
def world(page_cache, shipped_rule_sets, frozen_today):
    """An entity with a disclosed penalty, a serious-dishonesty listing and a red-list entry."""
    from disclosure.rules import Category, Severity

    entity = EntityFactory(name="北京华为数字技术有限公司", code=CODE, legal_representative="张三")
    record = CreditRecordFactory(
        entity=entity, decision_date=dt.date(2026, 6, 15), outcome="罚款人民币五万元"
    )
    listing_item = CatalogItemFactory(
        code="sd", category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS, name="严重失信主体名单",
        name_en="Serious dishonesty list",
    )  # fmt: skip
    listing = CreditRecordFactory(entity=entity, catalog_item=listing_item, decision_date=dt.date(2026, 6, 1))
    red_item = CatalogItemFactory(code="red", category=Category.RED_LIST, severity="", name="守信红名单",
                                  name_en="Red list")  # fmt: skip
    CreditRecordFactory(entity=EntityFactory(name="北京守信有限公司"), catalog_item=red_item,
                        decision_date=dt.date(2026, 6, 1), valid_from=dt.date(2026, 6, 1),
                        valid_until=dt.date(2027, 6, 1), outcome="列入红名单")  # fmt: skip
    clerk = UserFactory(username="clerk")
    record.department.staff.add(clerk)
    listing.department.staff.add(clerk)
    urls = urls_for(entity, record) + [f"/records/{listing.pk}/", f"/api/v1/records/{listing.pk}/"]
    return {"entity": entity, "record": record, "listing": listing, "clerk": clerk, "urls": urls}


# --- the site without a cache ------------------------------------------------------------


@pytest.mark.skipif(REDIS_PAGES, reason="the configured site has a page cache")
def test_without_a_configured_cache_nothing_is_kept_and_no_answer_says_hit(shipped_rule_sets, frozen_today):
    entity = EntityFactory(code=CODE)
    record = CreditRecordFactory(entity=entity)
    assert "pages" not in django_settings.CACHES
    for url in urls_for(entity, record):
        for lang in LANGUAGES:
            first, second = request(url, lang), request(url, lang)
            assert "X-Cache" not in second, url
            assert answer(first) == answer(second), url


def test_without_a_cache_an_entity_page_reads_the_database_each_time(
    shipped_rule_sets, frozen_today, settings
):
    settings.CACHES = {k: v for k, v in settings.CACHES.items() if k != "pages"}
    entity = EntityFactory(code=CODE)
    CreditRecordFactory(entity=entity)
    request(f"/entities/{CODE}/", "zh-hans")
    with CaptureQueriesContext(connection) as queries:
        response = request(f"/entities/{CODE}/", "zh-hans")
    assert response.status_code == 200
    assert len(queries) > 0


def test_page_cache_off_keeps_nothing(db, frozen_today, settings):
    """PAGE_CACHE=0: the settings module then leaves out the "pages" cache."""
    import importlib
    import os

    from creditchina import settings as site_settings

    old = os.environ.get("PAGE_CACHE")
    os.environ["PAGE_CACHE"] = "0"
    os.environ.setdefault("SINGLE_PROCESS", "1")
    try:
        reloaded = importlib.reload(site_settings)
        assert "pages" not in reloaded.CACHES
    finally:
        if old is None:
            os.environ.pop("PAGE_CACHE")
        else:
            os.environ["PAGE_CACHE"] = old
        importlib.reload(site_settings)


# --- hits, 304s and queries -------------------------------------------------------------


def test_every_kept_answer_is_served_from_the_cache_with_no_query(world):
    warm(world["urls"])
    for url in world["urls"]:
        for lang in LANGUAGES:
            with CaptureQueriesContext(connection) as queries:
                response = request(url, lang)
            assert (url, lang, response.get("X-Cache"), len(queries)) == (url, lang, "hit", 0), [
                q["sql"] for q in queries
            ]


def test_a_304_from_the_cache_makes_no_query(world):
    warm(world["urls"])
    for url in world["urls"]:
        for lang in LANGUAGES:
            etag = request(url, lang).get("ETag")
            if not etag:
                continue  # the search redirect
            with CaptureQueriesContext(connection) as queries:
                response = request(url, lang, HTTP_IF_NONE_MATCH=etag)
            assert (url, lang, response.status_code, len(queries)) == (url, lang, 304, 0)


def test_kept_answers_equal_uncached_ones(world):
    warm(world["urls"])
    assert stale(world["urls"]) == {}


# --- every write, then the very next request ---------------------------------------------


def _correct(w):
    services.record_correct(
        record=w["record"], actor=w["clerk"], reason="更正", changes={"outcome": "罚款人民币六万元"}
    )


def _withdraw(w):
    services.record_withdraw(record=w["record"], actor=w["clerk"], reason="撤回", reference="京撤〔2026〕1号")


def _redisclose(w):
    with without_pages():
        services.record_withdraw(
            record=w["record"], actor=w["clerk"], reason="撤回", reference="京撤〔2026〕1号"
        )
    caches["pages"].clear()
    warm(w["urls"])
    services.record_redisclose(record=CreditRecord.objects.get(pk=w["record"].pk), actor=w["clerk"],
                               reason="重新公示", reference="京〔2026〕2号")  # fmt: skip


def _revoke(w):
    services.record_revoke(record=w["record"], actor=w["clerk"], reason="复议撤销")


def _revoke_listing(w):
    services.record_revoke(record=w["listing"], actor=w["clerk"], reason="复议撤销")


def _supersede(w):
    services.record_supersede(
        record=w["record"], actor=w["clerk"], reason="变更决定", changes={"outcome": "警告"}
    )


def _create(w):
    CreditRecordFactory(entity=w["entity"], catalog_item=w["record"].catalog_item, department=w["record"].department,
                        decision_date=dt.date(2026, 7, 1), outcome="罚款人民币七万元")  # fmt: skip


def _create_listing(w):
    CreditRecordFactory(entity=EntityFactory(name="北京新失信有限公司"), catalog_item=w["listing"].catalog_item,
                        department=w["listing"].department, decision_date=dt.date(2026, 7, 1))  # fmt: skip


def _rename(w):
    services.entity_rename(entity=w["entity"], new_name="北京华为新名称有限公司", changed_on=dt.date(2026, 11, 28),
                           actor=w["clerk"], reason="更名")  # fmt: skip


def _former_name(w):
    services.entity_add_former_name(
        entity=w["entity"], name="北京华为旧名称有限公司", changed_on=dt.date(2020, 1, 1)
    )


def _catalog_item_name(w):
    item = w["record"].catalog_item
    services.catalog_item_update(
        item=item, actor=None, changes={"name": "行政处罚决定信息", "name_en": "Penalty decision"}
    )


def _catalog_item_not_public(w):
    item = w["record"].catalog_item
    services.catalog_item_update(item=item, actor=None, changes={"disclosure_attribute": "shared"})


def _recompute(w):
    from disclosure.models import DisclosureRule

    rule_set = DisclosureRuleSet.objects.in_force_on(w["record"].decision_date)
    DisclosureRule.objects.filter(rule_set=rule_set, severity=w["record"].severity).update(
        disclosure_months=11
    )
    assert services.records_recompute_periods(rule_set=rule_set, actor=None, reason="规则调整") >= 1


def _repair_approve(w):
    from repair import services as repair
    from tests.repair.conftest import submit_for_repair

    with without_pages():
        application = submit_for_repair(w["record"]).application
        application = repair.repair_accept(application=application, reviewer=w["clerk"])
    caches["pages"].clear()
    warm(w["urls"])
    repair.repair_approve(application=application, reviewer=w["clerk"])


def _repair_revoke_approval(w):
    from repair.models import Application

    _repair_approve(w)
    from repair import services as repair

    warm(w["urls"])
    application = Application.objects.get()
    repair.repair_revoke_approval(application=application, reviewer=w["clerk"], reason="虚假材料")


def _expiries(w):
    services.records_record_expiries(on=dt.date(2030, 1, 1))


def _orm_save_legal_representative(w):
    entity = Entity.objects.get(pk=w["entity"].pk)
    entity.legal_representative = "王五"
    entity.save()


WRITES = {
    "record_correct": _correct,
    "record_withdraw": _withdraw,
    "record_redisclose": _redisclose,
    "record_revoke": _revoke,
    "record_revoke_listing": _revoke_listing,
    "record_supersede": _supersede,
    "record_create": _create,
    "record_create_listing": _create_listing,
    "entity_rename": _rename,
    "entity_add_former_name": _former_name,
    "catalog_item_update_name": _catalog_item_name,
    "catalog_item_update_not_public": _catalog_item_not_public,
    "repair_approve": _repair_approve,
    "repair_revoke_approval": _repair_revoke_approval,
    "records_recompute_periods": _recompute,
    "records_record_expiries": _expiries,
    "orm_save_entity": _orm_save_legal_representative,
}


@pytest.mark.parametrize("write", list(WRITES))
def test_after_a_write_the_next_request_shows_it_everywhere(world, write):
    warm(world["urls"])
    before = {(u, lang): answer(request(u, lang))["body"] for u in world["urls"] for lang in LANGUAGES}
    WRITES[write](world)
    assert stale(world["urls"]) == {}
    after = {(u, lang): fresh(u, lang)["body"] for u in world["urls"] for lang in LANGUAGES}
    if write not in {
        "record_redisclose",
        "records_record_expiries",
        "repair_revoke_approval",
    }:  # back as before; events only
        assert before != after, "the write changed nothing public: the test proves nothing"


# --- the intake path and the admin -------------------------------------------------------


def _csv(world, **changes):
    import csv
    import io

    record = world["record"]
    row = {
        "code": CODE, "entity_name": world["entity"].name, "catalog_item": record.catalog_item.code,
        "decision_number": record.decision_number, "decision_date": "2026-06-15", "facts": record.facts,
        "legal_basis_cited": record.legal_basis_cited, "outcome": record.outcome, "penalty_amount": "",
        "severity": "", "valid_from": "", "valid_until": "", "revoked": "", "revoke_reason": "",
    }  # fmt: skip
    row.update(changes)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(row))
    writer.writerow(list(row.values()))
    return out.getvalue().encode()


def _import(world, data):
    import io

    from intake import services as intake
    from intake.models import Channel

    upload = intake.Upload(io.BytesIO(data), "records.csv")
    return intake.batch_submit(department=world["record"].department, upload=upload, channel=Channel.ADMIN,
                               actor=world["clerk"])  # fmt: skip


def test_an_imported_file_with_a_changed_row_shows_at_once(world):
    warm(world["urls"])
    batch = _import(world, _csv(world, outcome="罚款人民币八万元"))
    assert CreditRecord.objects.get(pk=world["record"].pk).outcome == "罚款人民币八万元", batch.status
    assert stale(world["urls"]) == {}


def test_undoing_an_imported_batch_shows_at_once(world):
    from intake import services as intake

    with without_pages():
        batch = _import(world, _csv(world, outcome="罚款人民币八万元"))
    warm(world["urls"])
    intake.batch_undo(batch=batch, actor=world["clerk"], reason="导入有误")
    assert CreditRecord.objects.get(pk=world["record"].pk).outcome == "罚款人民币五万元"
    assert stale(world["urls"]) == {}


def test_an_imported_file_with_a_new_record_shows_at_once(world):
    warm(world["urls"])
    _import(world, _csv(world, decision_number="京朝市监罚〔2026〕999号", outcome="罚款人民币九万元"))
    assert CreditRecord.objects.filter(decision_number="京朝市监罚〔2026〕999号").exists()
    assert stale(world["urls"]) == {}


def _root(world):
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


def test_an_admin_edit_of_an_entity_shows_at_once(world):
    entity = world["entity"]
    warm(world["urls"])
    response = _root(world).post(reverse("admin:disclosure_entity_change", args=[entity.pk]), {
        "name": "北京华为管理后台新名有限公司", "kind": entity.kind, "legal_representative": "王五",
        "former_names-TOTAL_FORMS": "0", "former_names-INITIAL_FORMS": "0",
        "former_names-MIN_NUM_FORMS": "0", "former_names-MAX_NUM_FORMS": "1000",
    })  # fmt: skip
    assert response.status_code == 302, response.content[:3000]
    assert stale(world["urls"]) == {}


def test_an_admin_edit_of_the_legal_representative_only_shows_at_once(world):
    entity = world["entity"]
    warm(world["urls"])
    response = _root(world).post(reverse("admin:disclosure_entity_change", args=[entity.pk]), {
        "name": entity.name, "kind": entity.kind, "legal_representative": "赵六",
        "former_names-TOTAL_FORMS": "0", "former_names-INITIAL_FORMS": "0",
        "former_names-MIN_NUM_FORMS": "0", "former_names-MAX_NUM_FORMS": "1000",
    })  # fmt: skip
    assert response.status_code == 302, response.content[:3000]
    assert Entity.objects.get(pk=entity.pk).legal_representative == "赵六"
    assert stale(world["urls"]) == {}


def test_a_department_renamed_as_the_admin_saves_it_shows_at_once(world):
    """The admin's change form saves the model (ModelAdmin.save_model); the form itself needs
    fields this test does not know, so the save is made the same way directly."""
    from disclosure.models import Department

    department = Department.objects.get(pk=world["record"].department_id)
    warm(world["urls"])
    department.name, department.name_en = (
        "北京市朝阳区市场监督管理局（新）",
        "Chaoyang Market Regulation (new)",
    )
    department.save()
    assert stale(world["urls"]) == {}


def test_an_admin_edit_of_a_catalog_item_shows_at_once(world):
    item = world["record"].catalog_item
    warm(world["urls"])
    response = _root(world).post(reverse("admin:disclosure_catalogitem_change", args=[item.pk]), {
        "name": "行政处罚（后台改名）", "name_en": "Penalty (renamed)", "code": item.code, "category": item.category,
        "subjects": item.subjects, "legal_basis": item.legal_basis, "legal_basis_level": item.legal_basis_level,
        "provider": item.provider_id, "disclosure_attribute": item.disclosure_attribute, "severity": item.severity,
        "repairable": "on",
    })  # fmt: skip
    assert response.status_code == 302, response.content[:3000]
    assert stale(world["urls"]) == {}


def test_an_admin_rule_set_recompute_shows_at_once(world):
    from disclosure.models import DisclosureRule

    rule_set = DisclosureRuleSet.objects.in_force_on(world["record"].decision_date)
    DisclosureRule.objects.filter(rule_set=rule_set, severity=world["record"].severity).update(
        disclosure_months=11
    )
    warm(world["urls"])
    url = reverse("admin:disclosure_disclosureruleset_recompute", args=[rule_set.pk])
    assert _root(world).post(url, {"reason": "核对"}).status_code == 302
    assert stale(world["urls"]) == {}


# --- midnight ----------------------------------------------------------------------------


def licence_valid_until_28_november(entity):
    """A licence of ``entity`` whose last day shown is 2026-11-28 (its validity's end)."""
    from disclosure.rules import Category

    item = CatalogItemFactory(code="lic", category=Category.ADMINISTRATIVE_LICENCE, severity="", name="行政许可信息",
                              name_en="Licence")  # fmt: skip
    return CreditRecordFactory(entity=entity, catalog_item=item, decision_date=dt.date(2026, 1, 1),
                               valid_from=dt.date(2026, 1, 1), valid_until=dt.date(2026, 11, 28),
                               outcome="准予许可")  # fmt: skip


def test_a_record_on_its_last_second_and_the_first_second_after(world):
    licence = licence_valid_until_28_november(world["entity"])
    urls = world["urls"] + [f"/records/{licence.pk}/", f"/api/v1/records/{licence.pk}/", "/browse/licences/"]
    with time_machine.travel(dt.datetime(2026, 11, 28, 23, 59, 59, tzinfo=SHANGHAI), tick=False):
        warm(urls)
        assert request(f"/records/{licence.pk}/", "zh-hans").status_code == 200
        assert stale(urls) == {}
    with time_machine.travel(dt.datetime(2026, 11, 29, 0, 0, 1, tzinfo=SHANGHAI), tick=False):
        assert stale(urls) == {}
        assert fresh(f"/records/{licence.pk}/", "zh-hans")["status"] != 200


def test_a_kept_page_of_yesterday_is_not_served_today_even_in_utc_morning(world):
    """The day is the site's (Asia/Shanghai), not UTC's: 23:30 UTC is already tomorrow."""
    licence = licence_valid_until_28_november(world["entity"])
    urls = [f"/entities/{CODE}/", f"/records/{licence.pk}/", f"/api/v1/entities/{CODE}/records/"]
    with time_machine.travel(dt.datetime(2026, 11, 28, 15, 59, 0, tzinfo=dt.UTC), tick=False):
        warm(urls)
    with time_machine.travel(dt.datetime(2026, 11, 28, 16, 0, 1, tzinfo=dt.UTC), tick=False):
        assert stale(urls) == {}


# --- strange requests --------------------------------------------------------------------


def strange_requests(world):
    entity, record = world["entity"], world["record"]
    lower = entity.code.lower()
    return [
        (f"/entities/{entity.code}/?x=1", "get", {}),
        (f"/entities/{entity.code}/?page=2", "get", {}),
        (f"/entities/{lower}/", "get", {}),
        (f"/entities/{entity.code}x/", "get", {}),
        (f"/entities/{entity.code}", "get", {}),
        (f"/entities/%20{entity.code}/", "get", {}),
        (f"/records/{record.pk}/?utm=1", "get", {}),
        (f"/records/{record.pk}/", "head", {}),
        (f"/entities/{entity.code}/", "head", {}),
        (f"/api/v1/entities/{entity.code}/", "head", {}),
        (f"/api/v1/entities/{lower}/", "get", {}),
        (f"/api/v1/entities/{entity.code}/?format=json", "get", {}),
        (f"/api/v1/entities/{entity.code}/records/?page=2", "get", {}),
        (f"/api/v1/records/{record.pk}/?fields=x", "get", {}),
        ("/lists/serious-dishonesty/?page=1", "get", {}),
        ("/lists/serious-dishonesty/?page=01", "get", {}),
        ("/lists/serious-dishonesty/?page=99", "get", {}),
        ("/lists/serious-dishonesty/?page=1&q=x", "get", {}),
        ("/lists/serious-dishonesty/?region=11", "get", {}),
        (f"/search/?q={lower}", "get", {}),
        (f"/search/?q=%20{entity.code}%20", "get", {}),
        (f"/search/?q={entity.code}&page=2", "get", {}),
        (f"/entities/{entity.code}/", "get", {"HTTP_IF_NONE_MATCH": "*"}),
        (f"/entities/{entity.code}/", "get", {"HTTP_IF_NONE_MATCH": '"nope"'}),
        (f"/entities/{entity.code}/", "get", {"HTTP_IF_MODIFIED_SINCE": "Sat, 28 Nov 2099 00:00:00 GMT"}),
        (f"/entities/{entity.code}/", "get", {"HTTP_IF_MODIFIED_SINCE": "Sat, 01 Jan 2000 00:00:00 GMT"}),
        (f"/entities/{entity.code}/", "get", {"HTTP_IF_MODIFIED_SINCE": "garbage"}),
        (f"/records/{record.pk}/", "get", {"HTTP_IF_NONE_MATCH": "*"}),
        (f"/records/{record.pk}/", "get", {"HTTP_IF_MODIFIED_SINCE": "Sat, 28 Nov 2099 00:00:00 GMT"}),
        (f"/api/v1/records/{record.pk}/", "get", {"HTTP_IF_NONE_MATCH": "*"}),
        (f"/api/v1/records/{record.pk}/", "get", {"HTTP_IF_MODIFIED_SINCE": "Sat, 28 Nov 2099 00:00:00 GMT"}),
        ("/lists/red/", "get", {"HTTP_IF_NONE_MATCH": "*"}),
        ("/lists/red/", "get", {"HTTP_IF_MODIFIED_SINCE": "Sat, 28 Nov 2099 00:00:00 GMT"}),
        (f"/api/v1/entities/{entity.code}/", "get", {"HTTP_ACCEPT": "text/html"}),
        (f"/api/v1/entities/{entity.code}/", "get", {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}),
        (f"/api/v1/entities/{entity.code}/", "get", {"HTTP_ACCEPT_LANGUAGE": "fr"}),
        (
            f"/api/v1/entities/{entity.code}/",
            "get",
            {"HTTP_COOKIE": "django_language=en", "HTTP_ACCEPT_LANGUAGE": ""},
        ),
    ]


def test_strange_requests_get_what_the_uncached_site_gives(world):
    warm(world["urls"])
    different = {}
    for url, method, headers in strange_requests(world):
        for lang in LANGUAGES:
            for attempt in ("first", "again"):
                cached = answer(request(url, lang, method=method, **headers))
                uncached = fresh(url, lang, method=method, **headers)
                diff = [
                    k for k in cached if cached[k] != uncached[k] and not (k == "etag" and not uncached[k])
                ]
                if (
                    headers.get("HTTP_IF_NONE_MATCH") == "*"
                    and not uncached["etag"]
                    and cached["status"] == 304
                ):
                    diff = []  # "*" matches any current representation (RFC 9110); uncached lists have none
                if diff:
                    different[(url, method, tuple(headers.items()), lang, attempt)] = {
                        k: (
                            cached[k] if k != "body" else cached[k][:80],
                            uncached[k] if k != "body" else uncached[k][:80],
                        )
                        for k in diff
                    }
    assert different == {}


@pytest.mark.parametrize("kind", ["entity", "record", "api-entity", "api-records", "api-record"])
def test_if_none_match_with_several_etags_and_weak_ones_is_a_304(world, kind):
    url = {
        "entity": f"/entities/{CODE}/", "record": f"/records/{world['record'].pk}/",
        "api-entity": f"/api/v1/entities/{CODE}/", "api-records": f"/api/v1/entities/{CODE}/records/",
        "api-record": f"/api/v1/records/{world['record'].pk}/",
    }[kind]  # fmt: skip
    warm([url])
    etag = request(url, "zh-hans")["ETag"]
    for header in (f'"a", {etag}, "b"', f"W/{etag}", f'"x",W/{etag}', "*"):
        cached = request(url, "zh-hans", HTTP_IF_NONE_MATCH=header)
        assert (header, cached.status_code) == (
            header,
            fresh(url, "zh-hans", HTTP_IF_NONE_MATCH=header)["status"],
        )
        assert (header, cached.status_code) == (header, 304)


def test_an_etag_of_one_language_is_not_a_304_in_the_other(world):
    for url in (f"/entities/{CODE}/", f"/api/v1/entities/{CODE}/"):
        warm([url])
        etag = request(url, "zh-hans")["ETag"]
        assert (
            request(url, "en", HTTP_IF_NONE_MATCH=etag).status_code
            == fresh(url, "en", HTTP_IF_NONE_MATCH=etag)["status"]
        )


def test_an_etag_from_before_a_write_is_not_a_304_after_it(world):
    urls = [f"/entities/{CODE}/", f"/records/{world['record'].pk}/", f"/api/v1/records/{world['record'].pk}/",
            f"/api/v1/entities/{CODE}/records/"]  # fmt: skip
    warm(urls)
    etags = {url: request(url, "zh-hans")["ETag"] for url in urls}
    _correct(world)
    for url in urls:
        cached = request(url, "zh-hans", HTTP_IF_NONE_MATCH=etags[url]).status_code
        assert (url, cached) == (url, fresh(url, "zh-hans", HTTP_IF_NONE_MATCH=etags[url])["status"])
        assert (url, cached) == (url, 200)


# --- nothing private is kept -------------------------------------------------------------


def test_a_staff_members_view_is_never_served_to_the_public(world):
    staff = Client()
    staff.force_login(world["clerk"])
    for url in world["urls"]:
        for lang in LANGUAGES:
            request(url, lang, client=staff)
    for url in world["urls"]:
        for lang in LANGUAGES:
            response = request(url, lang)
            assert "Set-Cookie" not in response, url
            assert b"clerk" not in response.content, url
            assert b"logout" not in response.content.lower(), url
    assert stale(world["urls"]) == {}


def test_a_public_page_is_not_served_to_staff_in_place_of_their_own(world):
    warm(world["urls"])
    staff = Client()
    staff.force_login(world["clerk"])
    for url in world["urls"]:
        for lang in LANGUAGES:
            cached = answer(request(url, lang, client=staff))
            with without_pages():
                uncached = answer(request(url, lang, client=staff))
            assert (url, lang, cached["body"]) == (url, lang, uncached["body"])


def test_no_kept_answer_carries_a_cookie_or_a_csrf_token(world):
    warm(world["urls"])
    for url in world["urls"]:
        for lang in LANGUAGES:
            response = request(url, lang)
            assert not response.cookies, (url, lang, response.cookies)
            assert b"csrfmiddlewaretoken" not in response.content, url
    for key in _all_keys():
        assert b"csrf" not in key.lower() and b"session" not in key.lower(), key


def _all_keys():
    cache = caches["pages"]
    if hasattr(cache, "_cache") and isinstance(cache._cache, dict):
        return [k.encode() if isinstance(k, str) else k for k in cache._cache]
    client = cache._cache.get_client()
    return list(client.scan_iter("*"))


def test_a_flash_message_for_one_visitor_is_not_kept_for_the_next(world):
    from django.contrib import messages
    from django.contrib.messages.storage.fallback import FallbackStorage  # noqa: F401

    url = f"/entities/{CODE}/"
    visitor = Client()
    # a message waiting in the visitor's session, as after a sign-out or a form
    session = visitor.session
    session["_messages"] = (
        '[["__json_message",0,' + str(messages.INFO) + ',"\\u79c1\\u4eba\\u6d88\\u606f-PRIVATE"]]'
    )
    session.save()
    request(url, "zh-hans", client=visitor)
    response = request(url, "zh-hans")
    assert b"PRIVATE" not in response.content
    assert "Set-Cookie" not in response


def test_staff_pages_are_never_kept(world):
    staff = Client()
    staff.force_login(UserFactory(username="root", is_superuser=True))
    before = set(_all_keys())
    for url in ("/admin/", f"/admin/disclosure/entity/{world['entity'].pk}/change/",
                f"/admin/disclosure/creditrecord/{world['record'].pk}/change/"):  # fmt: skip
        assert staff.get(url).status_code == 200
    assert set(_all_keys()) == before
    assert Client().get("/admin/").status_code == 302


# --- a Redis that goes away and comes back -----------------------------------------------

REDIS_REAL = {"BACKEND": "creditchina.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/10",
              "KEY_PREFIX": "pages"}  # fmt: skip
REDIS_GONE = {**REDIS_REAL, "LOCATION": "redis://127.0.0.1:1/10"}


def _redis_up():
    import redis

    try:
        return redis.Redis.from_url("redis://127.0.0.1:6379/10", socket_connect_timeout=1).ping()
    except Exception:
        return False


@pytest.fixture
def real_redis(world, settings):
    if not _redis_up():
        pytest.skip("no Redis at 127.0.0.1:6379")
    settings.CACHES = {**settings.CACHES, "pages": REDIS_REAL}
    caches["pages"].clear()
    yield
    settings.CACHES = {**settings.CACHES, "pages": REDIS_REAL}
    caches["pages"].clear()


def test_pages_are_served_while_redis_is_down(world, real_redis, settings):
    warm(world["urls"])
    settings.CACHES = {**settings.CACHES, "pages": REDIS_GONE}
    assert stale(world["urls"]) == {}


def test_a_write_while_redis_is_down_is_logged_and_the_next_request_after_it_returns_is_fresh(
    world, real_redis, settings, caplog
):
    warm(world["urls"])
    settings.CACHES = {**settings.CACHES, "pages": REDIS_GONE}
    import logging

    with caplog.at_level(logging.ERROR):
        _correct(world)
    assert any("page cache: could not renew" in r.getMessage() for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]
    settings.CACHES = {**settings.CACHES, "pages": REDIS_REAL}
    assert stale(world["urls"]) == {}


def test_redis_emptied_while_running_serves_fresh_pages(world, real_redis):
    """Redis restarted without its data (or evicted everything): tokens and entries gone."""
    warm(world["urls"])
    import redis

    redis.Redis.from_url("redis://127.0.0.1:6379/10").flushdb()
    assert stale(world["urls"]) == {}
    _correct(world)
    assert stale(world["urls"]) == {}


def test_tokens_evicted_but_entries_kept_never_serves_a_stale_page(world, real_redis):
    """allkeys-lru may evict an entity's token and keep the page: the page must not come back
    as current after a write."""
    import redis

    warm(world["urls"])
    client = redis.Redis.from_url("redis://127.0.0.1:6379/10")
    keys = list(client.scan_iter("*"))
    small = [k for k in keys if (client.memory_usage(k) or 0) < 200]
    for key in small:  # the tokens (a few dozen bytes each)
        client.delete(key)
    _correct(world)
    assert stale(world["urls"]) == {}


# --- concurrent writers and readers --------------------------------------------------------


@pytest.mark.skipif(not (ON_POSTGRES and REDIS_PAGES), reason="threads need PostgreSQL and Redis")
def test_a_reader_that_read_before_a_write_committed_and_stores_after_leaves_nothing_stale(world):
    """The reader reads the old rows, the write commits, then the reader stores its answer:
    the next request must show the write."""
    from django.core.cache.backends.redis import RedisCacheClient

    url = f"/entities/{CODE}/"
    read_done, committed = threading.Event(), threading.Event()
    paused = []
    reader_thread = {}
    original = {name: getattr(RedisCacheClient, name) for name in ("set", "set_many", "add")}

    def hold(name):
        def wrapper(self, *args, **kwargs):
            if threading.current_thread() is reader_thread.get("t") and not paused:
                paused.append(name)
                read_done.set()
                committed.wait(10)
            return original[name](self, *args, **kwargs)

        return wrapper

    def reader():
        try:
            reader_thread["response"] = request(url, "zh-hans")
        finally:
            read_done.set()
            connection.close()

    # The lease held (by a request before), so that the reader's first write to the cache is
    # its answer, after its read, not the mark of a look for renewals owed, before it.
    request("/lists/red/", "zh-hans")
    for name in original:
        setattr(RedisCacheClient, name, hold(name))
    try:
        t = threading.Thread(target=reader)
        reader_thread["t"] = t
        t.start()
        assert read_done.wait(20)
        _correct(world)
        committed.set()
        t.join(20)
    finally:
        for name, method in original.items():
            setattr(RedisCacheClient, name, method)
    assert paused, "the reader stored nothing through Django's cache client: the race was not staged"
    assert "罚款人民币五万元".encode() in reader_thread["response"].content
    assert stale([url, f"/api/v1/entities/{CODE}/records/", f"/records/{world['record'].pk}/"]) == {}


@pytest.mark.skipif(not (ON_POSTGRES and REDIS_PAGES), reason="threads need PostgreSQL and Redis")
def test_a_reader_that_reads_inside_a_writers_open_transaction_leaves_nothing_stale(world):
    """A write holds its transaction open while readers fill the cache with the old rows."""
    urls = [f"/entities/{CODE}/", f"/records/{world['record'].pk}/", f"/api/v1/records/{world['record'].pk}/",
            f"/api/v1/entities/{CODE}/records/", "/browse/penalties/"]  # fmt: skip
    in_transaction, readers_done = threading.Event(), threading.Event()
    errors = []

    def writer():
        try:
            with transaction.atomic():
                _correct(world)
                in_transaction.set()
                readers_done.wait(30)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    t = threading.Thread(target=writer)
    t.start()
    assert in_transaction.wait(30)
    caches["pages"].clear()
    warm(urls)
    readers_done.set()
    t.join(30)
    assert errors == []
    assert stale(urls) == {}


@pytest.mark.skipif(not (ON_POSTGRES and REDIS_PAGES), reason="threads need PostgreSQL and Redis")
def test_many_readers_and_writers_end_with_nothing_stale(world):
    urls = [f"/entities/{CODE}/", f"/records/{world['record'].pk}/", f"/api/v1/records/{world['record'].pk}/",
            f"/api/v1/entities/{CODE}/records/", f"/api/v1/entities/{CODE}/", "/browse/penalties/"]  # fmt: skip
    stop = threading.Event()
    errors = []

    def reader():
        try:
            while not stop.is_set():
                for url in urls:
                    for lang in LANGUAGES:
                        request(url, lang)
        except Exception as error:  # pragma: no cover
            errors.append(error)
        finally:
            connection.close()

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for r in readers:
        r.start()
    try:
        for n in range(8):
            record = CreditRecord.objects.get(pk=world["record"].pk)
            services.record_correct(record=record, actor=world["clerk"], reason="更正",
                                    changes={"outcome": f"罚款人民币{n + 10}万元"})  # fmt: skip
    finally:
        stop.set()
        for r in readers:
            r.join(60)
    assert errors == []
    assert stale(urls) == {}


# --- the per-process fragments, seen while comparing ---------------------------------------


def test_a_visitors_query_string_is_not_shown_to_the_next_visitor(shipped_rule_sets, frozen_today, settings):
    settings.CACHES = {k: v for k, v in settings.CACHES.items() if k != "pages"}
    entity = EntityFactory(code=CODE)
    CreditRecordFactory(entity=entity)
    caches["fragments"].clear()
    assert Client().get(f"/entities/{CODE}/?utm=evil-link").status_code == 200
    assert b"evil-link" not in Client().get(f"/entities/{CODE}/").content
