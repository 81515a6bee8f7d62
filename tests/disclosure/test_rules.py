import datetime as dt

import pytest
import time_machine

from disclosure import rules
from disclosure.models import CreditRecord, DisclosureRuleSet
from disclosure.rules import Category, Severity
from tests.factories import CatalogItemFactory, CreditRecordFactory

D = dt.date

RULES_2026 = {
    Severity.MINOR: rules.SeverityRule(disclosed=True, repair_after_months=0, disclosure_months=3),
    Severity.GENERAL: rules.SeverityRule(disclosed=True, repair_after_months=3, disclosure_months=12),
    Severity.SERIOUS: rules.SeverityRule(disclosed=True, repair_after_months=12, disclosure_months=36),
}
RULES_2019 = {
    Severity.MINOR: rules.SeverityRule(disclosed=False, repair_after_months=0, disclosure_months=0),
    Severity.GENERAL: rules.SeverityRule(disclosed=True, repair_after_months=3, disclosure_months=12),
    Severity.SERIOUS: rules.SeverityRule(disclosed=True, repair_after_months=6, disclosure_months=36),
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
    periods = rules.dishonesty_periods(decision_date=decided, rule=rule_set[severity], repairable=True)
    assert (periods.disclosure_start, periods.disclosure_end, periods.earliest_repair_on) == expected


def test_not_repairable_has_no_repair_date():
    periods = rules.dishonesty_periods(
        decision_date=D(2026, 5, 10), rule=RULES_2026[Severity.SERIOUS], repairable=False
    )
    assert periods == rules.Periods(D(2026, 5, 10), D(2029, 5, 10), None)


def test_validity_categories_are_shown_for_their_validity():
    periods = rules.validity_periods(valid_from=D(2026, 1, 1), valid_until=D(2030, 12, 31))
    assert periods == rules.Periods(D(2026, 1, 1), D(2030, 12, 31), None)


def test_shipped_rule_sets_match_the_domain_table(db):
    shipped = {
        rule_set.effective_from: {rule.severity: rule.as_rule() for rule in rule_set.rules.all()}
        for rule_set in DisclosureRuleSet.objects.prefetch_related("rules")
    }
    assert shipped == {D(2019, 1, 1): RULES_2019, D(2026, 4, 1): RULES_2026}


@pytest.mark.parametrize(
    ("decided", "in_force"),
    [
        (D(2019, 1, 1), D(2019, 1, 1)),
        (D(2026, 3, 31), D(2019, 1, 1)),
        (D(2026, 4, 1), D(2026, 4, 1)),
        (D(2026, 4, 2), D(2026, 4, 1)),
    ],
)
def test_rule_set_in_force_on_the_decision_date(db, decided, in_force):
    assert DisclosureRuleSet.objects.in_force_on(decided).effective_from == in_force


def test_no_rule_set_before_the_first(db):
    assert DisclosureRuleSet.objects.in_force_on(D(2018, 12, 31)) is None


@pytest.mark.parametrize(
    ("decided", "repair_from", "shown_until"),
    [
        # Decided the day before the 2026 rules: judged by 2019's (repair after 6 months).
        (D(2026, 3, 31), D(2026, 10, 1), D(2029, 3, 31)),
        # Decided the day they took effect: repair after 1 year.
        (D(2026, 4, 1), D(2027, 4, 2), D(2029, 4, 1)),
    ],
)
@time_machine.travel(dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC), tick=False)
def test_record_is_judged_by_the_set_in_force_on_its_decision_date(db, decided, repair_from, shown_until):
    item = CatalogItemFactory(category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS)
    record = CreditRecordFactory(catalog_item=item, decision_date=decided)
    record = CreditRecord.objects.get(pk=record.pk)
    assert (record.disclosure_start, record.earliest_repair_on, record.disclosure_end) == (
        decided,
        repair_from,
        shown_until,
    )
    assert record.rule_set.effective_from == (D(2026, 4, 1) if decided >= D(2026, 4, 1) else D(2019, 1, 1))
