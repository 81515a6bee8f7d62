import datetime as dt

import pytest

from reports import signing
from tests.conftest import SIGNING_PASSPHRASE as PASSPHRASE
from tests.factories import CatalogItemFactory, CreditRecordFactory, DepartmentFactory, EntityFactory


@pytest.fixture(autouse=True)
def signing_key(settings, signing_p12):
    settings.REPORT_SIGNING_P12 = str(signing_p12)
    settings.REPORT_SIGNING_PASSPHRASE = PASSPHRASE
    settings.SITE_URL = "https://credit.example.gov.cn"
    return signing.site_key()


@pytest.fixture
def entity(db):
    return EntityFactory(
        name="北京华为数字技术有限公司", code="91110000600037341L", legal_representative="张三"
    )


@pytest.fixture
def market(db):
    return DepartmentFactory(code="samr", name="市场监督管理局", name_en="Market Regulation")


@pytest.fixture
def tax(db):
    return DepartmentFactory(code="tax", name="税务局", name_en="Taxation")


@pytest.fixture
def penalty(entity, market, frozen_today):
    item = CatalogItemFactory(provider=market, name="行政处罚信息", name_en="Administrative penalty")
    return CreditRecordFactory(
        entity=entity,
        catalog_item=item,
        decision_number="京朝市监罚〔2026〕1号",
        decision_date=dt.date(2026, 6, 15),
        outcome="罚款人民币五万元",
    )
