import datetime as dt
import random

import pytest

from disclosure import search, services
from disclosure.fold import fold
from disclosure.models import Entity, EntityKind, FormerName, NameGram, NameGramCount
from disclosure.rules import Category
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory

D = dt.date


def names_of(page):
    return [(hit.entity.name, hit.match) for hit in page.hits]


@pytest.fixture
def companies(db):
    made = {
        name: EntityFactory(name=name)
        for name in [
            "华为技术有限公司",
            "华为",
            "华为终端有限公司",
            "深圳市华为投资控股有限公司",
            "北京华联商厦股份有限公司",
            "中华人民共和国海关",
            "ABC Trading 有限公司",
        ]
    }
    services.entity_add_former_name(
        entity=made["北京华联商厦股份有限公司"], name="北京华为商厦", changed_on=D(2020, 1, 1)
    )
    return made


def test_ranked_exact_prefix_substring_then_former(companies):
    page = search.search("华为")
    assert page.total == 5
    assert names_of(page) == [
        ("华为", "exact"),
        ("华为技术有限公司", "prefix"),
        ("华为终端有限公司", "prefix"),
        ("深圳市华为投资控股有限公司", "substring"),
        ("北京华联商厦股份有限公司", "former"),
    ]
    former = page.hits[-1]
    assert (former.former_name, former.former_parts) == (
        "北京华为商厦",
        [("北京", False), ("华为", True), ("商厦", False)],
    )


def test_one_character_query(companies):
    page = search.search("华")
    assert page.total == 6
    assert [name for name, _m in names_of(page)] == [
        "华为",
        "华为技术有限公司",
        "华为终端有限公司",
        "深圳市华为投资控股有限公司",
        "北京华联商厦股份有限公司",
        "中华人民共和国海关",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "有限公司",
            [
                "华为技术有限公司",
                "华为终端有限公司",
                "深圳市华为投资控股有限公司",
                "北京华联商厦股份有限公司",
                "ABC Trading 有限公司",
            ],
        ),
        ("技术有", ["华为技术有限公司"]),
        ("为投资控股有限", ["深圳市华为投资控股有限公司"]),  # longer than the counted grams
        ("华为商厦", ["北京华联商厦股份有限公司"]),  # only a former name has it
        ("不存在", []),
    ],
)
def test_longer_queries(companies, query, expected):
    page = search.search(query)
    assert [name for name, _m in names_of(page)] == expected
    assert page.total == len(expected)


@pytest.mark.parametrize("typed", ["abc", "ＡＢＣ", "a b c", "Abc"])
def test_latin_letters_full_and_half_width_alike(companies, typed):
    page = search.search(typed)
    assert names_of(page) == [("ABC Trading 有限公司", "prefix")]
    assert page.hits[0].name_parts == [("ABC", True), (" Trading 有限公司", False)]


def test_full_width_cjk_query(companies):
    assert search.search("ｔｒａｄｉｎｇ").total == 1


def test_highlight_marks_the_match_in_the_original_name():
    assert search.highlight("深圳市华为投资控股有限公司", "华为") == [
        ("深圳市", False),
        ("华为", True),
        ("投资控股有限公司", False),
    ]
    assert search.highlight("ＡＢＣ贸易", "bc") == [("Ａ", False), ("ＢＣ", True), ("贸易", False)]


def test_pagination_is_exact_across_segments(db):
    for i in range(45):
        EntityFactory(name=f"测试{i:02d}号公司" if i % 3 else f"甲测试{i:02d}")
    pages = [search.search("测试", page=n) for n in (1, 2, 3)]
    assert [p.total for p in pages] == [45, 45, 45]
    assert [len(p.hits) for p in pages] == [20, 20, 5]
    seen = [hit.entity.pk for p in pages for hit in p.hits]
    assert len(set(seen)) == 45
    assert [hit.match for hit in pages[0].hits][:5] == ["prefix"] * 5
    assert pages[2].hits[-1].match == "substring"
    assert (pages[1].start_index, pages[1].end_index, pages[1].pages) == (21, 40, 3)


def test_filters_by_kind_region_and_category(db, frozen_today):
    shop = EntityFactory(name="星光便利店", kind=EntityKind.INDIVIDUAL_BUSINESS)
    firm = EntityFactory(name="星光科技有限公司")
    far = EntityFactory(name="星光物流有限公司", province_code="44")
    CreditRecordFactory(
        entity=firm,
        catalog_item=CatalogItemFactory(category=Category.ABNORMAL_OPERATION),
        decision_date=D(2026, 6, 1),
    )
    assert search.search("星光").total == 3
    assert [
        h.entity for h in search.search("星光", filters=search.Filters(kind="individual_business")).hits
    ] == [shop]
    assert [h.entity for h in search.search("星光", filters=search.Filters(province="44")).hits] == [far]
    assert [
        h.entity for h in search.search("星光", filters=search.Filters(category="abnormal_operation")).hits
    ] == [firm]
    assert search.search("星光", filters=search.Filters(category="red_list")).total == 0


def brute_force(query):
    q = fold(query)
    current = {e.pk for e in Entity.objects.all() if q in e.search_name}
    former = {f.entity_id for f in FormerName.objects.all() if q in f.search_name} - current
    return len(current), len(former)


def test_index_follows_renames_and_counts_stay_exact(db):
    rng = random.Random(5)
    alphabet = "华为中国科技有限公司北京"
    entities = [EntityFactory(name="".join(rng.choice(alphabet) for _ in range(6))) for _ in range(25)]
    for step in range(40):
        entity = rng.choice(entities)
        new_name = "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 7)))
        if new_name != Entity.objects.get(pk=entity.pk).name:
            services.entity_rename(
                entity=entity, new_name=new_name, changed_on=D(2025, 1, 1) + dt.timedelta(days=step)
            )
    for query in ["华", "为", "科技", "有限公司", "中国", "司北", "华为中", "京"]:
        current, former = brute_force(query)
        page = search.search(query, per_page=100)
        assert page.total == current + former, query
        assert sum(h.match != "former" for h in page.hits) == current, query
    # The postings are exactly those of the names now held.
    for entity in Entity.objects.all():
        expected = search.index_terms(
            [entity.name, *sorted(entity.former_names.values_list("name", flat=True))]
        )
        assert (
            dict(NameGram.objects.filter(entity=entity).values_list("gram", "in_current"))
            == expected.postings
        )


def test_counts_table_is_not_read_when_filters_apply(db):
    EntityFactory(name="测试公司")
    assert NameGramCount.objects.get(gram="测试").current == 1
    assert search.search("测试", filters=search.Filters(kind="government_body")).total == 0


def test_empty_query_finds_nothing(db):
    EntityFactory(name="测试公司")
    page = search.search("   ")
    assert (page.total, page.hits) == (0, [])
