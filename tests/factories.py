import datetime as dt

import factory
from django.contrib.auth import get_user_model

from disclosure import search, services, uscc
from disclosure.models import (
    CatalogItem,
    CreditRecord,
    Department,
    Entity,
    EntityKind,
    LegalBasisLevel,
)
from disclosure.rules import Category, Severity


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")
    is_staff = True


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.Sequence(lambda n: f"第{n}市场监督管理局")
    name_en = factory.Sequence(lambda n: f"Market Regulation Bureau {n}")


class CatalogItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogItem
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"item-{n}")
    name = "行政处罚信息"
    name_en = "Administrative penalty"
    category = Category.ADMINISTRATIVE_PENALTY
    legal_basis = "《中华人民共和国行政处罚法》第四十八条"
    legal_basis_level = LegalBasisLevel.LAW
    provider = factory.SubFactory(DepartmentFactory)
    severity = Severity.GENERAL
    repairable = True

    @factory.post_generation
    def in_scope_of_provider(self, create, extracted, **kwargs):
        if create:
            self.provider.scope.add(self)


class EntityFactory(factory.django.DjangoModelFactory):
    """An enterprise with a valid code (registration authority 9, type 1, Beijing Chaoyang)."""

    class Meta:
        model = Entity

    code = factory.Sequence(lambda n: uscc.make_code("91", "110105", f"{n + 10000000:08d}"))
    name = factory.Sequence(lambda n: f"北京测试科技有限公司{n}")
    kind = EntityKind.ENTERPRISE
    registration_authority = "9"
    entity_type = "1"
    division_code = "110105"
    province_code = "11"
    region = "北京市朝阳区"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        entity = super()._create(model_class, *args, **kwargs)
        search.index_entity(entity)
        return entity


class CreditRecordFactory(factory.django.DjangoModelFactory):
    """Creates records through ``services.record_create``, so the computed dates and the
    ``created`` event are exactly what the site itself would write."""

    class Meta:
        model = CreditRecord

    entity = factory.SubFactory(EntityFactory)
    catalog_item = factory.SubFactory(CatalogItemFactory)
    department = factory.LazyAttribute(lambda r: r.catalog_item.provider)
    decision_number = factory.Sequence(lambda n: f"京朝市监罚〔2026〕{n}号")
    decision_date = dt.date(2026, 6, 15)
    facts = "未按规定公示年度报告。"
    legal_basis_cited = "《企业信息公示暂行条例》第十八条"
    outcome = "罚款人民币一万元"
    penalty_amount = None
    severity = ""
    valid_from = None
    valid_until = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs["department"].scope.add(kwargs["catalog_item"])
        return services.record_create(actor=kwargs.pop("actor", None), **kwargs)
