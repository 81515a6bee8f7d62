import datetime as dt

import pytest

from disclosure import services
from disclosure.models import CreditRecord, DisclosureAttribute
from disclosure.rules import Category, Severity
from tests.factories import CatalogItemFactory, CreditRecordFactory

D = dt.date


def visible_on(record, day):
    return list(CreditRecord.objects.disclosed(on=day).values_list("pk", flat=True)) == [record.pk]


@pytest.fixture
def general_penalty(db, frozen_today):
    """Decided 2025-11-28 under the 2019 rules: shown through 2026-11-28 inclusive."""
    return CreditRecordFactory(decision_date=D(2025, 11, 28), severity=Severity.GENERAL)


def test_shown_on_each_day_of_its_period_and_not_outside(general_penalty):
    assert (general_penalty.disclosure_start, general_penalty.disclosure_end) == (
        D(2025, 11, 28),
        D(2026, 11, 28),
    )
    assert not visible_on(general_penalty, D(2025, 11, 27))
    assert visible_on(general_penalty, D(2025, 11, 28))
    assert visible_on(general_penalty, D(2026, 11, 28))
    assert not visible_on(general_penalty, D(2026, 11, 29))


def test_expired_record_is_invisible_the_next_day_without_any_job(general_penalty, frozen_today):
    assert list(CreditRecord.objects.disclosed()) == [general_penalty]
    frozen_today.move_to(dt.datetime(2026, 11, 29, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    assert list(CreditRecord.objects.disclosed()) == []


def test_today_is_the_sites_time_zone_not_utc(general_penalty, frozen_today):
    # 2026-11-28 16:30 UTC is already 2026-11-29 00:30 in Shanghai: the record has lapsed.
    frozen_today.move_to(dt.datetime(2026, 11, 28, 16, 30, tzinfo=dt.UTC))
    assert list(CreditRecord.objects.disclosed()) == []


def test_withdrawn_revoked_and_superseded_are_hidden(db, frozen_today):
    shown = CreditRecordFactory(decision_date=D(2026, 6, 1))
    withdrawn = CreditRecordFactory(decision_date=D(2026, 6, 1))
    revoked = CreditRecordFactory(decision_date=D(2026, 6, 1))
    superseded = CreditRecordFactory(decision_date=D(2026, 6, 1))
    services.record_withdraw(record=withdrawn, actor=None, reason="修复通过", reference="XF20261128000001")
    services.record_revoke(record=revoked, actor=None, reason="行政复议撤销")
    replacement = services.record_supersede(
        record=superseded, actor=None, reason="更正罚款金额", changes={"outcome": "罚款人民币五千元"}
    )
    assert set(CreditRecord.objects.disclosed()) == {shown, replacement}


def test_minor_records_hidden_where_the_rules_do_not_disclose_them(db, frozen_today):
    necessary = CatalogItemFactory(minor_disclosure_necessary=True)
    minor_order_58 = CreditRecordFactory(
        catalog_item=necessary, decision_date=D(2026, 3, 20), severity=Severity.MINOR
    )
    minor_2026 = CreditRecordFactory(catalog_item=necessary, decision_date=D(2026, 10, 20), severity=Severity.MINOR)
    minor_2026_not_necessary = CreditRecordFactory(decision_date=D(2026, 10, 20), severity=Severity.MINOR)
    assert (minor_order_58.disclosure_start, minor_order_58.disclosure_end) == (None, None)
    assert (minor_2026_not_necessary.disclosure_start, minor_2026_not_necessary.disclosure_end) == (None, None)
    assert (minor_2026.disclosure_start, minor_2026.disclosure_end) == (D(2026, 10, 20), D(2027, 1, 20))
    assert list(CreditRecord.objects.disclosed(on=D(2026, 3, 21))) == []
    assert list(CreditRecord.objects.disclosed()) == [minor_2026]
    assert list(CreditRecord.objects.disclosed(on=D(2027, 1, 20))) == [minor_2026]
    assert list(CreditRecord.objects.disclosed(on=D(2027, 1, 21))) == []


@pytest.mark.parametrize(
    ("attribute", "shown"),
    [
        (DisclosureAttribute.PUBLIC, True),
        (DisclosureAttribute.SHARED, False),
        (DisclosureAttribute.AUTHORIZED, False),
    ],
)
def test_only_public_catalog_items_are_shown(db, frozen_today, attribute, shown):
    record = CreditRecordFactory(
        catalog_item=CatalogItemFactory(disclosure_attribute=attribute), decision_date=D(2026, 6, 1)
    )
    assert list(CreditRecord.objects.disclosed()) == ([record] if shown else [])


def test_licence_shown_for_its_validity(db, frozen_today):
    licence = CreditRecordFactory(
        catalog_item=CatalogItemFactory(category=Category.ADMINISTRATIVE_LICENCE, severity=""),
        decision_date=D(2026, 1, 5),
        valid_from=D(2026, 1, 10),
        valid_until=D(2031, 1, 9),
    )
    assert (licence.disclosure_start, licence.disclosure_end, licence.earliest_repair_on) == (
        D(2026, 1, 10),
        D(2031, 1, 9),
        None,
    )
    assert not visible_on(licence, D(2026, 1, 9))
    assert visible_on(licence, D(2031, 1, 9))
    assert not visible_on(licence, D(2031, 1, 10))
