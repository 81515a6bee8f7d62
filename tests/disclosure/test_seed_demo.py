import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from disclosure import divisions, uscc
from disclosure.demo.names import CITIES, DISTRICTS
from disclosure.demo.seed import DemoSeeder
from disclosure.models import (
    CatalogItem,
    CreditRecord,
    Department,
    Entity,
    EntityKind,
    EventKind,
    RecordEvent,
    RecordStatus,
    Subjects,
)
from disclosure.rules import Category, Severity
from repair.models import Application

AS_OF = dt.date(2026, 11, 28)


def test_full_demo_meets_the_floors(db, frozen_today):
    call_command("seed_demo", stdout=io.StringIO())
    assert CatalogItem.objects.count() >= 12
    assert Department.objects.count() >= 6
    assert Entity.objects.count() >= 200
    assert CreditRecord.objects.count() >= 600
    assert set(Entity.objects.values_list("kind", flat=True)) == set(EntityKind.values)
    assert set(CreditRecord.objects.values_list("catalog_item__category", flat=True)) == set(Category.values)
    assert set(CreditRecord.objects.exclude(severity="").values_list("severity", flat=True)) == set(
        Severity.values
    )
    assert Entity.objects.values("province_code").distinct().count() >= 15
    for code in Entity.objects.exclude(code=None).values_list("code", flat=True):
        assert uscc.validate(code) == code
    disclosed = CreditRecord.objects.disclosed(on=AS_OF)
    assert disclosed.filter(disclosure_end__lte=AS_OF + dt.timedelta(days=9)).count() >= 10  # about to expire
    assert disclosed.filter(earliest_repair_on__lte=AS_OF).count() >= 50  # repairable now
    # 20 withdrawn directly, 2 through approved demo applications.
    assert CreditRecord.objects.filter(status=RecordStatus.WITHDRAWN).count() == 22
    assert sorted(Application.objects.values_list("status", flat=True)) == sorted(
        ["submitted"] * 3
        + ["under_review"] * 3
        + ["awaiting_material", "approved", "approved", "rejected", "not_accepted", "withdrawn"]
    )
    assert Application.objects.overdue().count() == 2
    # Each number carries the day its application came in, not the day the demo was loaded.
    for application in Application.objects.all():
        submitted_on = timezone.localtime(application.submitted_at).date()
        assert application.number[2:10] == f"{submitted_on:%Y%m%d}"
    assert len({a.number[2:10] for a in Application.objects.all()}) > 1
    # Amounts are a field of their own, not glued to the outcome's words.
    assert not CreditRecord.objects.filter(outcome__contains="人民币", penalty_amount__isnull=False).exists()
    assert CreditRecord.objects.filter(disclosure_end__lt=AS_OF).count() >= 50  # expired
    assert RecordEvent.objects.filter(kind=EventKind.EXPIRED).count() == (
        CreditRecord.objects.filter(status=RecordStatus.DISCLOSED, disclosure_end__lt=AS_OF).count()
    )
    # Natural persons have records, each under an item that applies to them.
    persons = CreditRecord.objects.filter(entity__kind=EntityKind.NATURAL_PERSON).select_related("catalog_item")
    assert persons.exists()
    assert all(record.catalog_item.applies_to(EntityKind.NATURAL_PERSON) for record in persons)


def test_the_demo_catalog_says_whom_each_item_concerns(db):
    seeder = DemoSeeder(seed=1, as_of=AS_OF, entities=0, records=0)
    seeder.catalog(seeder.departments())
    organisations, both = Subjects.ORGANISATIONS, Subjects.BOTH
    assert dict(CatalogItem.objects.values_list("code", "subjects")) == {
        "abnormal-operation": organisations,  # 经营异常名录: market entities only
        "licence-food": organisations,
        "licence-construction": organisations,
        "red-tax-a": organisations,
        "red-customs-aeo": organisations,
        "penalty-shared": organisations,
        "licence-general": both,
        "penalty-simple": both,
        "penalty-market": both,
        "penalty-tax": both,
        "penalty-environment": both,
        "penalty-safety": both,
        "serious-market": both,
        "serious-tax": both,
        "key-attention-safety": both,
        "judgment-debtor": both,
        "commitment": both,
    }


def fingerprint():
    return (
        list(Entity.objects.order_by("id").values_list("code", "name", "kind", "region", "id_number_masked")),
        list(
            CreditRecord.objects.order_by("id").values_list(
                "entity__name",
                "catalog_item__code",
                "decision_number",
                "decision_date",
                "severity",
                "penalty_amount",
                "disclosure_end",
                "status",
            )
        ),
    )


def seeded(seed):
    with transaction.atomic():
        DemoSeeder(seed=seed, as_of=AS_OF, entities=30, records=80).run()
        result = fingerprint()
        transaction.set_rollback(True)
    return result


def test_same_seed_same_data(db, frozen_today):
    first = seeded(7)
    assert len(first[1]) >= 80
    assert seeded(7) == first
    assert seeded(8) != first


def test_seed_refuses_a_database_with_data(db, frozen_today):
    call_command("seed_demo", "--entities", "10", "--records", "20", stdout=io.StringIO())
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", "--if-empty", stdout=io.StringIO())  # make run: a no-op


@pytest.mark.parametrize(("division", "city"), CITIES)
def test_demo_cities_are_real_divisions(division, city):
    _province, region = divisions.lookup(division)
    assert city in region
    assert region.endswith(DISTRICTS[division])
