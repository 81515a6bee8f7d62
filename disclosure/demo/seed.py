"""Deterministic demo data: the same seed and the same as-of date give the same data.

Everything is written through the services, so the demo holds exactly what real use would:
computed dates, events, withdrawals with history.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from stdnum.cn import ric

from disclosure import services, uscc
from disclosure.models import CatalogItem, CreditRecord, Department, Entity, EntityKind
from disclosure.rules import VALIDITY_CATEGORIES, add_months

from . import names
from .catalog import CATALOG, DECISION_PREFIX, DEPARTMENTS, SHARED_ONLY, SUBJECTS, VALIDITY_PREFIX, WORDING

STAFF_GROUP = "Department staff"
# Changing an entity (its name above all) is registration work: the market regulator's.
REGISTRATION_GROUP = "Entity registration"
REGISTRATION_PERMISSIONS = [
    ("disclosure", "change_entity"),
    ("disclosure", "add_formername"),
    ("disclosure", "change_formername"),
]
REGISTRATION_DEPARTMENTS = {"samr"}
STAFF_PERMISSIONS = [
    ("disclosure", "view_creditrecord"),
    ("disclosure", "add_creditrecord"),
    ("disclosure", "change_creditrecord"),
    ("disclosure", "view_entity"),
    ("disclosure", "add_entity"),
    ("disclosure", "view_formername"),
    ("disclosure", "view_catalogitem"),
    ("disclosure", "view_recordevent"),
    ("disclosure", "view_department"),
]

# Which kinds of record each kind of entity attracts, with a weight.
ITEMS_BY_KIND = {
    EntityKind.ENTERPRISE: [
        ("penalty-market", 6),
        ("penalty-tax", 4),
        ("penalty-environment", 3),
        ("penalty-safety", 3),
        ("penalty-simple", 3),
        ("serious-market", 2),
        ("serious-tax", 1),
        ("abnormal-operation", 4),
        ("key-attention-safety", 1),
        ("judgment-debtor", 1),
        ("licence-general", 3),
        ("licence-food", 2),
        ("licence-construction", 1),
        ("red-tax-a", 2),
        ("red-customs-aeo", 1),
        ("commitment", 2),
        ("penalty-shared", 1),
    ],
    EntityKind.INDIVIDUAL_BUSINESS: [
        ("penalty-simple", 4),
        ("penalty-market", 3),
        ("abnormal-operation", 3),
        ("licence-food", 3),
        ("commitment", 1),
    ],
    EntityKind.SOCIAL_ORGANISATION: [("penalty-market", 1), ("commitment", 2), ("licence-general", 1)],
    EntityKind.PUBLIC_INSTITUTION: [
        ("penalty-environment", 2),
        ("penalty-safety", 2),
        ("commitment", 1),
        ("licence-general", 1),
    ],
    EntityKind.GOVERNMENT_BODY: [("judgment-debtor", 2), ("commitment", 1)],
    EntityKind.NATURAL_PERSON: [("judgment-debtor", 3), ("penalty-tax", 1)],
}


class DemoSeeder:
    def __init__(self, *, seed: int, as_of: dt.date, entities: int, records: int, stdout=None):
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.entity_target = entities
        self.record_target = records
        self.stdout = stdout
        self.decision_counter: dict[str, int] = {}

    def log(self, message: str) -> None:
        if self.stdout is not None:
            self.stdout.write(message)

    @transaction.atomic
    def run(self) -> None:
        departments = self.departments()
        items = self.catalog(departments)
        self.users(departments)
        entities = self.entities()
        self.log(f"  {len(entities)} entities")
        created = self.records(entities, items, departments)
        self.log(f"  {created} records")
        withdrawn = self.withdrawals()
        self.log(f"  {withdrawn} withdrawn after repair")
        expired = services.records_record_expiries(on=self.as_of)
        self.log(f"  {expired} expiry events")

    # -- reference data -------------------------------------------------------------------
    def departments(self) -> dict[str, Department]:
        return {
            code: Department.objects.create(code=code, name=name, name_en=name_en)
            for code, name, name_en in DEPARTMENTS
        }

    def catalog(self, departments) -> dict[str, CatalogItem]:
        items = {}
        for code, name, name_en, category, basis, level, provider, severity, repairable in CATALOG:
            item = CatalogItem.objects.create(
                code=code,
                name=name,
                name_en=name_en,
                category=category,
                subjects=SUBJECTS[code],
                legal_basis=basis,
                legal_basis_level=level,
                provider=departments[provider],
                severity=severity,
                repairable=repairable,
                disclosure_attribute=SHARED_ONLY.get(code, "public"),
            )
            departments[provider].scope.add(item)
            items[code] = item
        return items

    def users(self, departments) -> None:
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@creditchina.example", "admin")
        group, _created = Group.objects.get_or_create(name=STAFF_GROUP)
        group.permissions.set(
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in STAFF_PERMISSIONS
        )
        registration, _created = Group.objects.get_or_create(name=REGISTRATION_GROUP)
        registration.permissions.set(
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in REGISTRATION_PERMISSIONS
        )
        for code, department in departments.items():
            user, _created = User.objects.get_or_create(
                username=code, defaults={"is_staff": True, "email": f"{code}@creditchina.example"}
            )
            user.set_password(code)
            user.save()
            user.groups.add(group)
            if code in REGISTRATION_DEPARTMENTS:
                user.groups.add(registration)
            department.staff.add(user)

    # -- entities -------------------------------------------------------------------------
    def entities(self) -> list[Entity]:
        rng = self.rng
        shares = [
            (EntityKind.ENTERPRISE, 0.62),
            (EntityKind.INDIVIDUAL_BUSINESS, 0.14),
            (EntityKind.SOCIAL_ORGANISATION, 0.06),
            (EntityKind.PUBLIC_INSTITUTION, 0.06),
            (EntityKind.GOVERNMENT_BODY, 0.05),
            (EntityKind.NATURAL_PERSON, 0.07),
        ]
        entities = []
        used_names = set()
        for kind, share in shares:
            for _ in range(max(1, round(self.entity_target * share))):
                division, city = rng.choice(names.CITIES)
                fields = self.entity_fields(kind, division, city)
                while fields["name"] in used_names:
                    fields = self.entity_fields(kind, division, city)
                used_names.add(fields["name"])
                entity = services.entity_create(kind=kind, **fields)
                if kind == EntityKind.ENTERPRISE and rng.random() < 0.2:
                    former = names.enterprise_name(rng, city)
                    changed_on = self.as_of - dt.timedelta(days=rng.randint(60, 2000))
                    services.entity_add_former_name(entity=entity, name=former, changed_on=changed_on)
                entities.append(entity)
        return entities

    def entity_fields(self, kind, division, city) -> dict:
        rng = self.rng
        org = f"{rng.randint(10_000_000, 99_999_999)}"
        org_ma = "MA" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(6))
        legal_rep = names.person_name(rng)
        if kind == EntityKind.ENTERPRISE:
            if rng.random() < 0.08:
                return {
                    "name": names.cooperative_name(rng, city),
                    "code": uscc.make_code("93", division, org_ma),
                    "legal_representative": legal_rep,
                }
            return {
                "name": names.enterprise_name(rng, city),
                "code": uscc.make_code("91", division, org_ma),
                "legal_representative": legal_rep,
            }
        if kind == EntityKind.INDIVIDUAL_BUSINESS:
            code = uscc.make_code("92", division, org_ma)
            return {
                "name": names.individual_business_name(rng, division),
                "code": code,
                "legal_representative": legal_rep,
            }
        if kind == EntityKind.SOCIAL_ORGANISATION:
            pair, pool = rng.choice(
                [("51", names.ASSOCIATIONS), ("52", names.PRIVATE_NON_ENTERPRISE), ("53", names.FOUNDATIONS)]
            )
            return {
                "name": f"{city}市{names.trade_name(rng)}{rng.choice(pool)}",
                "code": uscc.make_code(pair, division, org),
                "legal_representative": legal_rep,
            }
        if kind == EntityKind.PUBLIC_INSTITUTION:
            return {
                "name": f"{city}市{names.DISTRICTS[division]}{rng.choice(names.INSTITUTIONS)}",
                "code": uscc.make_code("12", division, org),
                "legal_representative": legal_rep,
            }
        if kind == EntityKind.GOVERNMENT_BODY:
            return {
                "name": f"{city}市{names.DISTRICTS[division]}{rng.choice(names.GOVERNMENT)}",
                "code": uscc.make_code("11", division, org),
                "legal_representative": legal_rep,
            }
        for _attempt in range(1000):
            # stdnum also checks that the division existed in the birth year: draw until it did.
            birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 40))
            first17 = f"{division}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
            number = first17 + ric.calc_check_digit(first17 + "0")
            if ric.is_valid(number):
                return {"name": names.person_name(rng), "identity_number": number}
            division, _city = rng.choice(names.CITIES)
        raise RuntimeError("no valid identity number drawn in 1000 attempts")

    # -- records --------------------------------------------------------------------------
    def decision_number(self, department: Department, item: CatalogItem, year: int) -> str:
        key = f"{department.code}-{year}"
        self.decision_counter[key] = self.decision_counter.get(key, 0) + 1
        prefix = VALIDITY_PREFIX.get(item.category) or DECISION_PREFIX[department.code]
        return f"{prefix}〔{year}〕{self.decision_counter[key]:04d}号"

    def records(self, entities, items, departments) -> int:
        rng = self.rng
        created = 0
        # Every entity has at least one record, most have a few.
        plan = [(entity, 1 + (rng.random() < 0.6) + (rng.random() < 0.4)) for entity in entities]
        while sum(count for _e, count in plan) < self.record_target:
            index = rng.randrange(len(plan))
            plan[index] = (plan[index][0], plan[index][1] + 1)
        for entity, count in plan:
            choices = ITEMS_BY_KIND[entity.kind]
            for _ in range(count):
                code = rng.choices([c for c, _w in choices], weights=[w for _c, w in choices])[0]
                self.record(entity, items[code])
                created += 1
        # A few general penalties decided just under a year ago: about to lapse.
        enterprises = [e for e in entities if e.kind == EntityKind.ENTERPRISE]
        for days_left in range(0, 10):
            decided = add_months(self.as_of, -12) + dt.timedelta(days=days_left)
            self.record(rng.choice(enterprises), items["penalty-market"], decided=decided, severity="general")
            created += 1
        return created

    def record(self, entity, item, decided: dt.date | None = None, severity: str = "") -> CreditRecord:
        rng = self.rng
        facts, basis, outcome, amount_range = rng.choice(WORDING[item.code])
        if decided is None:
            horizon = 1500 if item.category in VALIDITY_CATEGORIES else 1300
            decided = self.as_of - dt.timedelta(days=int(rng.triangular(0, horizon, 120)))
        amount = None
        if amount_range:
            # The amount is a field of its own, shown beside the outcome's words.
            amount = Decimal(rng.randrange(amount_range[0], amount_range[1], 100))
        fields = {}
        if item.category in VALIDITY_CATEGORIES:
            years = {"licence-general": 5, "licence-food": 5, "licence-construction": 5}.get(item.code, 2)
            if item.code == "commitment":
                years = 1
            fields = {
                "valid_from": decided,
                "valid_until": add_months(decided, 12 * years) - dt.timedelta(days=1),
            }
        elif item.category == "penalty" and item.severity == "general":
            fields["severity"] = rng.choices(["general", "serious"], weights=[5, 1])[0]
        if severity:
            fields["severity"] = severity
        department = item.provider
        return services.record_create(
            actor=None,
            department=department,
            entity=entity,
            catalog_item=item,
            decision_number=self.decision_number(department, item, decided.year),
            decision_date=decided,
            facts=facts,
            legal_basis_cited=basis,
            outcome=outcome,
            penalty_amount=amount,
            **fields,
        )

    def withdrawals(self) -> int:
        """Some repairable records whose repair was approved: withdrawn, with their history."""
        candidates = list(
            CreditRecord.objects.disclosed(on=self.as_of)
            .filter(earliest_repair_on__lte=self.as_of)
            .order_by("id")
        )
        chosen = self.rng.sample(candidates, min(20, len(candidates) // 4))
        for number, record in enumerate(sorted(chosen, key=lambda r: r.pk), start=1):
            services.record_withdraw(
                record=record,
                actor=None,
                reason="信用修复申请经审核通过",
                reference=f"XF{self.as_of:%Y%m%d}{number:05d}",
            )
        return len(chosen)
