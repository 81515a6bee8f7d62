import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from disclosure import services
from disclosure.models import CreditRecord, DisclosureRule, DisclosureRuleSet, EventKind
from disclosure.rules import Category, Severity
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory, UserFactory

D = dt.date


@pytest.fixture
def root_client(client, superuser):
    client.force_login(superuser)
    return client


def order_58():
    return DisclosureRuleSet.objects.get(effective_from=D(2023, 5, 1))


def rule_set_form(rules, **overrides):
    data = {
        "name": "Test rules",
        "document_title": "《测试办法》",
        "document_number": "测试令2030年第1号",
        "issuing_authority": "国家发展和改革委员会",
        "published_on": "2030-01-01",
        "effective_from": "2030-04-01",
        "source": "",
        "rules-TOTAL_FORMS": str(len(rules)),
        "rules-INITIAL_FORMS": "0",
    }
    for index, (severity, disclosure, repair_after, longest) in enumerate(rules):
        data.update(
            {
                f"rules-{index}-severity": severity,
                f"rules-{index}-disclosure": disclosure,
                f"rules-{index}-repair_after_months": str(repair_after),
                f"rules-{index}-disclosure_months": str(longest),
                f"rules-{index}-provision": "",
            }
        )
    data.update(overrides)
    return data


def test_a_rule_set_lacking_a_severity_is_refused(root_client, english):
    url = reverse("admin:disclosure_disclosureruleset_add")
    response = root_client.post(
        url, rule_set_form([("general", "disclosed", 3, 12), ("serious", "disclosed", 12, 36)])
    )
    assert response.status_code == 200
    assert [formset.non_form_errors() for formset in response.context["inline_admin_formsets"]] == [
        ["A rule set needs a rule for every severity; missing: Minor."]
    ]
    assert DisclosureRuleSet.objects.filter(effective_from=D(2030, 4, 1)).exists() is False
    response = root_client.post(
        url,
        rule_set_form(
            [("minor", "where_necessary", 0, 3), ("general", "disclosed", 3, 12), ("serious", "disclosed", 12, 36)]
        ),
    )
    assert response.status_code == 302
    assert DisclosureRuleSet.objects.get(effective_from=D(2030, 4, 1)).rules.count() == 3


def test_a_gap_in_a_rule_set_is_a_form_error_not_a_crash(client, staff_user, department, frozen_today, english):
    from django.contrib.auth.models import Permission

    staff_user.user_permissions.set(
        Permission.objects.filter(codename__in=["add_creditrecord", "view_creditrecord", "change_creditrecord"])
    )
    client.force_login(staff_user)
    DisclosureRule.objects.filter(rule_set__effective_from=D(2026, 4, 1), severity="serious").delete()
    item = CatalogItemFactory(provider=department, severity=Severity.SERIOUS)
    data = {
        "entity": EntityFactory().pk,
        "catalog_item": item.pk,
        "department": department.pk,
        "decision_number": "京朝市监罚〔2026〕99号",
        "decision_date": "2026-09-01",
        "facts": "无证经营。",
        "legal_basis_cited": "《无证无照经营查处办法》第十三条",
        "outcome": "吊销许可证",
        "penalty_amount": "",
        "severity": "serious",
        "valid_from": "",
        "valid_until": "",
        "reason": "",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("admin:disclosure_creditrecord_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["severity"] == [
        "The rule set in force on 2026-09-01 (Credit repair measures (2026)) has no rule for “Serious” "
        "information: an administrator must complete it."
    ]
    assert CreditRecord.objects.count() == 0


def test_the_services_refuse_a_gap_in_a_prefetched_rule_set_too(db, english):
    DisclosureRule.objects.filter(rule_set__effective_from=D(2026, 4, 1), severity="general").delete()
    rule_sets = list(DisclosureRuleSet.objects.prefetch_related("rules").order_by("-effective_from"))
    with pytest.raises(ValidationError) as caught:
        services.compute_periods(
            item=CatalogItemFactory(),
            severity="",
            decision_date=D(2026, 6, 1),
            valid_from=None,
            valid_until=None,
            rule_sets=rule_sets,
        )
    assert caught.value.message_dict == {
        "severity": [
            "The rule set in force on 2026-06-01 (Credit repair measures (2026)) has no rule for “General” "
            "information: an administrator must complete it."
        ]
    }


def test_the_rule_set_page_shows_its_document_and_warns_that_edits_do_not_recompute(root_client, english):
    rule_set = order_58()
    page = root_client.get(reverse("admin:disclosure_disclosureruleset_change", args=[rule_set.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    for shown in (
        "《失信行为纠正后的信用信息修复管理办法（试行）》",
        "国家发展改革委令2023年第58号",
        "国家发展和改革委员会",
        "2026-03-31",  # in force until: the day before the 2026 rules
        "涉及严重失信行为的行政处罚信息最短公示期为一年，最长公示期为三年。",
        "Editing a rule set does not change the dates of the records already judged by it",
        reverse("admin:disclosure_disclosureruleset_recompute", args=[rule_set.pk]),
    ):
        assert shown in text, shown


@pytest.fixture
def order_58_records(frozen_today):
    item = CatalogItemFactory(category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS)
    judged = CreditRecordFactory(catalog_item=item, decision_date=D(2024, 2, 29))
    before = CreditRecordFactory(catalog_item=item, decision_date=D(2023, 4, 30))
    after = CreditRecordFactory(catalog_item=item, decision_date=D(2026, 4, 1))
    return judged, before, after


def test_recomputing_a_rule_set_corrects_its_records_with_the_reason(root_client, superuser, order_58_records, english):
    judged, before, after = order_58_records
    assert judged.earliest_repair_on == D(2025, 3, 1)
    rule_set = order_58()
    DisclosureRule.objects.filter(rule_set=rule_set, severity="serious").update(repair_after_months=6)
    judged.refresh_from_db()
    assert judged.earliest_repair_on == D(2025, 3, 1)  # editing alone changes nothing
    url = reverse("admin:disclosure_disclosureruleset_recompute", args=[rule_set.pk])
    assert root_client.get(url).status_code == 200
    response = root_client.post(url, {"reason": "  "})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == []
    assert response.context["form"].errors == {"reason": ["Give a reason: every change to a record is traceable."]}

    response = root_client.post(url, {"reason": "核对第58号令的最短公示期"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "1 record(s) got new dates; each change is in the record’s history."
    ]
    judged.refresh_from_db()
    assert judged.earliest_repair_on == D(2024, 8, 30)
    event = judged.events.last()
    assert (event.kind, event.actor, event.reason, event.changes) == (
        EventKind.CORRECTED,
        superuser,
        "核对第58号令的最短公示期",
        {"earliest_repair_on": ["2025-03-01", "2024-08-30"]},
    )
    assert [record.events.count() for record in (before, after)] == [1, 1]
    assert LogEntry.objects.get().change_message == "Recomputed the periods of 1 record(s): 核对第58号令的最短公示期"


def test_recomputing_picks_up_records_now_inside_the_window_and_is_idempotent(db, superuser, frozen_today):
    item = CatalogItemFactory(severity=Severity.MINOR, minor_disclosure_necessary=False)
    minor = CreditRecordFactory(catalog_item=item, decision_date=D(2026, 10, 20))
    assert minor.disclosure_end is None
    item.minor_disclosure_necessary = True
    item.save()
    rule_set = DisclosureRuleSet.objects.get(effective_from=D(2026, 4, 1))
    assert services.records_recompute_periods(rule_set=rule_set, actor=superuser, reason="确有必要公示") == 1
    minor.refresh_from_db()
    assert (minor.disclosure_start, minor.disclosure_end) == (D(2026, 10, 20), D(2027, 1, 20))
    assert services.records_recompute_periods(rule_set=rule_set, actor=superuser, reason="再次核对") == 0
    assert list(minor.events.values_list("kind", flat=True)) == [EventKind.CREATED, EventKind.CORRECTED]


def test_only_those_who_may_edit_rule_sets_may_recompute(db, frozen_today, english):
    clerk = UserFactory(username="clerk-without-rules")
    with pytest.raises(PermissionDenied) as caught:
        services.records_recompute_periods(rule_set=order_58(), actor=clerk, reason="试试")
    assert str(caught.value) == "Only those who may edit rule sets may recompute their records."
