import datetime as dt

import pytest
import time_machine

from disclosure import rules
from disclosure.models import CreditRecord, DisclosureRule, DisclosureRuleSet
from disclosure.rules import Category, Severity
from tests.factories import CatalogItemFactory, CreditRecordFactory

D = dt.date

YES, NO, IF_NECESSARY = rules.Disclosure.DISCLOSED, rules.Disclosure.NOT_DISCLOSED, rules.Disclosure.WHERE_NECESSARY

RULES_2026 = {
    Severity.MINOR: rules.SeverityRule(disclosure=IF_NECESSARY, repair_after_months=0, disclosure_months=3),
    Severity.GENERAL: rules.SeverityRule(disclosure=YES, repair_after_months=3, disclosure_months=12),
    Severity.SERIOUS: rules.SeverityRule(disclosure=YES, repair_after_months=12, disclosure_months=36),
}
RULES_ORDER_58 = {
    Severity.MINOR: rules.SeverityRule(disclosure=NO, repair_after_months=0, disclosure_months=0),
    Severity.GENERAL: rules.SeverityRule(disclosure=YES, repair_after_months=3, disclosure_months=12),
    Severity.SERIOUS: rules.SeverityRule(disclosure=YES, repair_after_months=12, disclosure_months=36),
}
RULES_2019 = {
    Severity.MINOR: rules.SeverityRule(disclosure=NO, repair_after_months=0, disclosure_months=0),
    Severity.GENERAL: rules.SeverityRule(disclosure=YES, repair_after_months=3, disclosure_months=12),
    Severity.SERIOUS: rules.SeverityRule(disclosure=YES, repair_after_months=6, disclosure_months=36),
}

# (rule set, severity, decision date) -> (shown from, shown until inclusive, repair from)
PERIOD_CASES = [
    (RULES_2026, Severity.MINOR, D(2026, 5, 10), (D(2026, 5, 10), D(2026, 8, 10), D(2026, 5, 10))),
    (RULES_2026, Severity.GENERAL, D(2026, 5, 10), (D(2026, 5, 10), D(2027, 5, 10), D(2026, 8, 11))),
    (RULES_2026, Severity.SERIOUS, D(2026, 5, 10), (D(2026, 5, 10), D(2029, 5, 10), D(2027, 5, 11))),
    # Month ends: no corresponding day, so the period ends on the month's last day.
    (RULES_2026, Severity.MINOR, D(2026, 11, 30), (D(2026, 11, 30), D(2027, 2, 28), D(2026, 11, 30))),
    (RULES_2026, Severity.GENERAL, D(2026, 11, 30), (D(2026, 11, 30), D(2027, 11, 30), D(2027, 3, 1))),
    (RULES_2026, Severity.GENERAL, D(2026, 5, 31), (D(2026, 5, 31), D(2027, 5, 31), D(2026, 9, 1))),
    (RULES_2026, Severity.GENERAL, D(2026, 12, 31), (D(2026, 12, 31), D(2027, 12, 31), D(2027, 4, 1))),
    # Leap days: into, out of and across February 29.
    (RULES_2026, Severity.MINOR, D(2027, 11, 30), (D(2027, 11, 30), D(2028, 2, 29), D(2027, 11, 30))),
    (RULES_2026, Severity.GENERAL, D(2027, 11, 29), (D(2027, 11, 29), D(2028, 11, 29), D(2028, 3, 1))),
    (RULES_2026, Severity.SERIOUS, D(2028, 2, 29), (D(2028, 2, 29), D(2031, 2, 28), D(2029, 3, 1))),
    (RULES_2026, Severity.GENERAL, D(2028, 2, 29), (D(2028, 2, 29), D(2029, 2, 28), D(2028, 5, 30))),
    # The earlier rules: serious repair after 6 months, minor not disclosed at all.
    (RULES_2019, Severity.SERIOUS, D(2025, 6, 30), (D(2025, 6, 30), D(2028, 6, 30), D(2025, 12, 31))),
    (RULES_2019, Severity.SERIOUS, D(2025, 8, 31), (D(2025, 8, 31), D(2028, 8, 31), D(2026, 3, 1))),
    (RULES_2019, Severity.GENERAL, D(2025, 6, 30), (D(2025, 6, 30), D(2026, 6, 30), D(2025, 10, 1))),
    (RULES_2019, Severity.MINOR, D(2025, 6, 30), (None, None, None)),
]


@pytest.mark.parametrize(("rule_set", "severity", "decided", "expected"), PERIOD_CASES)
def test_dishonesty_periods(rule_set, severity, decided, expected):
    periods = rules.dishonesty_periods(
        decision_date=decided, rule=rule_set[severity], repairable=True, disclosure_necessary=True
    )
    assert (periods.disclosure_start, periods.disclosure_end, periods.earliest_repair_on) == expected


def test_not_repairable_has_no_repair_date():
    periods = rules.dishonesty_periods(
        decision_date=D(2026, 5, 10), rule=RULES_2026[Severity.SERIOUS], repairable=False, disclosure_necessary=False
    )
    assert periods == rules.Periods(D(2026, 5, 10), D(2029, 5, 10), None)


def test_validity_categories_are_shown_for_their_validity():
    periods = rules.validity_periods(valid_from=D(2026, 1, 1), valid_until=D(2030, 12, 31))
    assert periods == rules.Periods(D(2026, 1, 1), D(2030, 12, 31), None)


@pytest.mark.parametrize(
    ("rule", "necessary", "expected"),
    [
        (RULES_2026[Severity.MINOR], False, rules.Periods(None, None, None)),
        (RULES_2026[Severity.MINOR], True, rules.Periods(D(2026, 5, 10), D(2026, 8, 10), D(2026, 5, 10))),
        (RULES_2019[Severity.MINOR], True, rules.Periods(None, None, None)),
        (RULES_2026[Severity.GENERAL], False, rules.Periods(D(2026, 5, 10), D(2027, 5, 10), D(2026, 8, 11))),
    ],
)
def test_disclosure_where_necessary_is_the_catalog_items_word(rule, necessary, expected):
    periods = rules.dishonesty_periods(
        decision_date=D(2026, 5, 10), rule=rule, repairable=True, disclosure_necessary=necessary
    )
    assert periods == expected


def test_shipped_rule_sets_match_the_domain_table(db):
    shipped = {
        rule_set.effective_from: {rule.severity: rule.as_rule() for rule in rule_set.rules.all()}
        for rule_set in DisclosureRuleSet.objects.prefetch_related("rules")
    }
    assert shipped == {D(2019, 7, 1): RULES_2019, D(2023, 5, 1): RULES_ORDER_58, D(2026, 4, 1): RULES_2026}


def test_each_shipped_rule_set_cites_its_document(db):
    cited = [
        (
            rule_set.document_title,
            rule_set.document_number,
            rule_set.issuing_authority,
            rule_set.published_on,
            rule_set.effective_from,
            rule_set.in_force_until(),
        )
        for rule_set in DisclosureRuleSet.objects.order_by("effective_from")
    ]
    assert cited == [
        (
            "《国家发展改革委办公厅关于进一步完善“信用中国”网站及地方信用门户网站行政处罚信息信用修复机制的通知》",
            "发改办财金〔2019〕527号",
            "国家发展改革委办公厅",
            D(2019, 5, 14),
            D(2019, 7, 1),
            D(2023, 4, 30),
        ),
        (
            "《失信行为纠正后的信用信息修复管理办法（试行）》",
            "国家发展改革委令2023年第58号",
            "国家发展和改革委员会",
            D(2023, 1, 13),
            D(2023, 5, 1),
            D(2026, 3, 31),
        ),
        (
            "《信用修复管理办法》",
            "国家发展改革委令2025年第36号",
            "国家发展和改革委员会",
            D(2025, 11, 20),
            D(2026, 4, 1),
            None,
        ),
    ]
    # Every figure carries the words it comes from.
    assert [
        (rule.rule_set.effective_from, rule.severity)
        for rule in DisclosureRule.objects.select_related("rule_set").filter(provision="")
    ] == []


@pytest.mark.parametrize(
    ("decided", "in_force"),
    [
        (D(2019, 7, 1), D(2019, 7, 1)),
        (D(2023, 4, 30), D(2019, 7, 1)),
        (D(2023, 5, 1), D(2023, 5, 1)),
        (D(2024, 2, 29), D(2023, 5, 1)),
        (D(2026, 3, 31), D(2023, 5, 1)),
        (D(2026, 4, 1), D(2026, 4, 1)),
        (D(2026, 4, 2), D(2026, 4, 1)),
    ],
)
def test_rule_set_in_force_on_the_decision_date(db, decided, in_force):
    assert DisclosureRuleSet.objects.in_force_on(decided).effective_from == in_force


def test_no_rule_set_before_the_first(db):
    assert DisclosureRuleSet.objects.in_force_on(D(2019, 6, 30)) is None


@pytest.mark.parametrize(
    ("severity", "decided", "repair_from", "shown_until", "in_force"),
    [
        # The day before Order 58: the 2019 notice, serious repair after 6 months.
        (Severity.SERIOUS, D(2023, 4, 30), D(2023, 10, 31), D(2026, 4, 30), D(2019, 7, 1)),
        # The day Order 58 took effect: repair after 1 year.
        (Severity.SERIOUS, D(2023, 5, 1), D(2024, 5, 2), D(2026, 5, 1), D(2023, 5, 1)),
        # The case: a leap day under Order 58, repairable from 2025-03-01, not 2024-08-30.
        (Severity.SERIOUS, D(2024, 2, 29), D(2025, 3, 1), D(2027, 2, 28), D(2023, 5, 1)),
        # Order 58's last day, then the 2026 rules' first.
        (Severity.SERIOUS, D(2026, 3, 31), D(2027, 4, 1), D(2029, 3, 31), D(2023, 5, 1)),
        (Severity.SERIOUS, D(2026, 4, 1), D(2027, 4, 2), D(2029, 4, 1), D(2026, 4, 1)),
        # General information is the same under all three: 3 months to 1 year.
        (Severity.GENERAL, D(2023, 4, 30), D(2023, 7, 31), D(2024, 4, 30), D(2019, 7, 1)),
        (Severity.GENERAL, D(2023, 5, 1), D(2023, 8, 2), D(2024, 5, 1), D(2023, 5, 1)),
        (Severity.GENERAL, D(2026, 3, 31), D(2026, 7, 1), D(2027, 3, 31), D(2023, 5, 1)),
        (Severity.GENERAL, D(2026, 4, 1), D(2026, 7, 2), D(2027, 4, 1), D(2026, 4, 1)),
    ],
)
@time_machine.travel(dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC), tick=False)
def test_record_is_judged_by_the_set_in_force_on_its_decision_date(
    db, severity, decided, repair_from, shown_until, in_force
):
    item = CatalogItemFactory(category=Category.SERIOUS_DISHONESTY, severity=severity)
    record = CreditRecordFactory(catalog_item=item, decision_date=decided)
    record = CreditRecord.objects.get(pk=record.pk)
    assert (record.disclosure_start, record.earliest_repair_on, record.disclosure_end) == (
        decided,
        repair_from,
        shown_until,
    )
    assert record.rule_set.effective_from == in_force


@pytest.mark.parametrize(
    ("decided", "necessary", "dates"),
    [
        # Minor information before the 2026 rules: never disclosed, whatever the catalog says.
        (D(2026, 3, 31), True, (None, None, None)),
        (D(2026, 3, 31), False, (None, None, None)),
        # From 2026-04-01: only where the catalog item says it is truly necessary, 3 months at most.
        (D(2026, 4, 1), False, (None, None, None)),
        (D(2026, 4, 1), True, (D(2026, 4, 1), D(2026, 7, 1), D(2026, 4, 1))),
        (D(2026, 5, 31), True, (D(2026, 5, 31), D(2026, 8, 31), D(2026, 5, 31))),
        (D(2026, 11, 30), True, (D(2026, 11, 30), D(2027, 2, 28), D(2026, 11, 30))),
    ],
)
def test_minor_information_is_disclosed_only_where_its_catalog_item_says_it_is_necessary(
    db, decided, necessary, dates
):
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC), tick=False):
        item = CatalogItemFactory(severity=Severity.MINOR, minor_disclosure_necessary=necessary)
        record = CreditRecordFactory(catalog_item=item, decision_date=decided)
    assert (record.disclosure_start, record.disclosure_end, record.earliest_repair_on) == dates
