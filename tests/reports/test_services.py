import datetime as dt
import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from disclosure import feed
from disclosure import services as disclosure_services
from disclosure.rules import Category
from reports import selectors, services, signing
from reports.models import Report, ReportKind
from tests.factories import CatalogItemFactory, CreditRecordFactory

SITE = "https://credit.example.gov.cn"


def issue(entity, **kwargs):
    kwargs.setdefault("kind", ReportKind.PUBLIC)
    kwargs.setdefault("language", "zh-hans")
    return services.report_issue(entity=entity, site_url=SITE, **kwargs)


def test_public_report_records_what_it_stated(entity, penalty, frozen_today):
    report = issue(entity)

    report.refresh_from_db()
    assert report.kind == ReportKind.PUBLIC
    assert report.entity == entity
    assert report.issued_at == timezone.now().replace(microsecond=0)
    assert report.disclosed_on == dt.date(2026, 11, 28)
    assert report.feed_cursor == feed.head().latest
    assert report.record_versions == [[penalty.pk, penalty.published.version]]
    assert report.window_start is None
    content = report.pdf.read()
    assert content.startswith(b"%PDF-")
    assert report.pdf_sha256 == hashlib.sha256(content).hexdigest()
    assert report.pdf_size == len(content)
    assert report.pdf.name == f"reports/2026/11/28/{report.number}.pdf"


def test_report_numbers_say_kind_and_day(entity, frozen_today):
    report = issue(entity)
    assert report.number[:11] == "PR20261128-"
    assert len(report.number) == 19
    assert services.normalize_number(" pr20261128-" + report.number[11:].lower() + " ") == report.number


def test_public_report_leaves_out_what_is_not_disclosed(entity, penalty, market, frozen_today):
    repaired = CreditRecordFactory(
        entity=entity, catalog_item=penalty.catalog_item, decision_date=dt.date(2026, 3, 1)
    )
    disclosure_services.record_withdraw(record=repaired, actor=None, reason="修复", reference="XF1")
    lapsed = CreditRecordFactory(
        entity=entity, catalog_item=penalty.catalog_item, decision_date=dt.date(2025, 1, 1)
    )

    report = issue(entity)

    assert [record_id for record_id, _ in report.record_versions] == [penalty.pk]
    assert lapsed.pk not in dict(report.record_versions)


def test_special_report_scope_fields_kinds_and_window(entity, penalty, market, tax, frozen_today):
    tax_item = CatalogItemFactory(provider=tax, name="税务行政处罚", name_en="Tax penalty")
    old = CreditRecordFactory(entity=entity, catalog_item=tax_item, decision_date=dt.date(2025, 11, 28),
                              severity="serious")  # fmt: skip
    inside = CreditRecordFactory(entity=entity, catalog_item=tax_item, decision_date=dt.date(2025, 11, 29),
                                 severity="serious")  # fmt: skip

    report = issue(
        entity, kind=ReportKind.SPECIAL, departments=["tax"], categories=[Category.ADMINISTRATIVE_PENALTY],
        window_months=12,
    )  # fmt: skip

    assert report.window_start == dt.date(2025, 11, 29)
    assert report.window_end == dt.date(2026, 11, 28)
    assert report.departments == ["tax"]
    assert report.categories == ["penalty"]
    assert [record_id for record_id, _ in report.record_versions] == [inside.pk]
    assert old.pk != inside.pk


def test_special_report_needs_fields_kinds_and_a_window(entity, frozen_today, english):
    with pytest.raises(ValidationError) as caught:
        issue(entity, kind=ReportKind.SPECIAL, departments=[], categories=[], window_months=7)
    assert caught.value.message_dict == {
        "departments": ["Choose at least one field."],
        "categories": ["Choose at least one kind of record."],
        "window_months": ["Choose a window of 12, 24 or 36 months."],
    }
    assert Report.objects.count() == 0


def test_no_key_no_report(entity, settings, private_storage, frozen_today):
    settings.REPORT_SIGNING_P12 = None
    with pytest.raises(signing.SigningUnavailable):
        issue(entity)
    assert Report.objects.count() == 0
    assert not (private_storage / "reports").exists()


def test_wrong_passphrase_no_report(entity, settings, frozen_today):
    settings.REPORT_SIGNING_PASSPHRASE = "wrong"
    with pytest.raises(signing.SigningUnavailable):
        issue(entity)
    assert Report.objects.count() == 0


def test_changes_since_issue_are_exact(entity, penalty, frozen_today, staff_user):
    report = issue(entity)
    today = dt.date(2026, 11, 28)
    assert selectors.report_changes(report, on=today) == selectors.ReportChanges(
        on=today, added=0, gone=0, updated=0
    )

    market = penalty.department
    market.staff.add(staff_user)
    disclosure_services.record_correct(
        record=penalty, actor=staff_user, reason="更正", changes={"outcome": "罚款五千元"}
    )
    assert selectors.report_changes(report, on=today).updated == 1

    CreditRecordFactory(entity=entity, catalog_item=penalty.catalog_item, decision_date=dt.date(2026, 11, 1))
    disclosure_services.record_withdraw(record=penalty, actor=None, reason="修复", reference="XF2")
    changes = selectors.report_changes(report, on=today)
    assert (changes.added, changes.gone, changes.updated, changes.changed) == (1, 1, 0, True)


def test_a_lapsed_record_makes_the_report_stale(entity, penalty, frozen_today):
    report = issue(entity)
    after_lapse = penalty.disclosure_end + dt.timedelta(days=1)
    assert selectors.report_changes(report, on=after_lapse).gone == 1


def test_special_report_counts_records_decided_after_its_window(entity, penalty, market, frozen_today):
    report = issue(
        entity, kind=ReportKind.SPECIAL, departments=["samr"], categories=["penalty"], window_months=12
    )
    frozen_today.shift(dt.timedelta(days=10))
    CreditRecordFactory(entity=entity, catalog_item=penalty.catalog_item, decision_date=dt.date(2026, 12, 2))
    changes = selectors.report_changes(report, on=dt.date(2026, 12, 8))
    assert (changes.changed, changes.later) == (False, 1)
