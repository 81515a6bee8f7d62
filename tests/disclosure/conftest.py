import datetime as dt

import pytest
from django.contrib.auth.models import Permission

from tests.factories import CreditRecordFactory, EntityFactory


@pytest.fixture
def entity(db):
    return EntityFactory(name="北京华为数字技术有限公司", code="91110000600037341L")


@pytest.fixture
def penalty(entity, frozen_today):
    return CreditRecordFactory(entity=entity, decision_date=dt.date(2026, 6, 15), outcome="罚款人民币五万元")


@pytest.fixture
def clerk(client, staff_user, department):
    """A signed-in clerk of ``department`` who may add and change records in the admin."""
    staff_user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="disclosure",
            codename__in=["view_creditrecord", "add_creditrecord", "change_creditrecord", "view_entity"],
        )
    )
    client.force_login(staff_user)
    return client
