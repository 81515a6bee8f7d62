import datetime as dt

import pytest

from tests.factories import CreditRecordFactory, EntityFactory


@pytest.fixture
def entity(db):
    return EntityFactory(name="北京华为数字技术有限公司", code="91110000600037341L")


@pytest.fixture
def penalty(entity, frozen_today):
    return CreditRecordFactory(entity=entity, decision_date=dt.date(2026, 6, 15), outcome="罚款人民币五万元")
