import csv
import datetime as dt
import io

import pytest
from stdnum.cn import ric

from disclosure import uscc
from disclosure.rules import Category, Severity
from intake import services
from intake.models import Channel
from tests.factories import CatalogItemFactory, DepartmentFactory, UserFactory

HEADER = [
    "code", "id_number", "entity_name", "catalog_item", "decision_number", "decision_date", "facts", "legal_basis_cited",
    "outcome", "penalty_amount", "severity", "valid_from", "valid_until", "revoked", "revoke_reason",
]  # fmt: skip


def code(n: int) -> str:
    return uscc.make_code("91", "110105", f"{n + 20000000:08d}")


def penalty_row(n: int, **changes) -> dict:
    row = {
        "code": code(n % 7), "id_number": "", "entity_name": f"北京导入测试有限公司{n % 7}", "catalog_item": "tst-penalty",
        "decision_number": f"京朝市监罚〔2026〕{n}号", "decision_date": "2026-06-15", "facts": "未按规定公示年度报告。",
        "legal_basis_cited": "《企业信息公示暂行条例》第十八条", "outcome": "罚款人民币一万元", "penalty_amount": "10000",
        "severity": "", "valid_from": "", "valid_until": "", "revoked": "", "revoke_reason": "",
    }  # fmt: skip
    row.update(changes)
    return row


def id_number(n: int) -> str:
    """A valid resident identity number (GB 11643), one per ``n`` below 1000."""
    first17 = f"11010519800101{n:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def person_row(n: int, **changes) -> dict:
    """A penalty on one of 5 natural persons, named by identity number instead of a code."""
    values = {"code": "", "id_number": id_number(n % 5), "entity_name": f"测试人员{n % 5}",
              "decision_number": f"京朝税罚〔2026〕{n}号"}  # fmt: skip
    return penalty_row(n, **{**values, **changes})


def licence_row(n: int, **changes) -> dict:
    values = {"catalog_item": "tst-licence", "decision_number": f"京朝许〔2026〕{n}号", "outcome": "准予许可",
              "penalty_amount": "", "valid_from": "2026-06-15", "valid_until": "2029-06-14"}  # fmt: skip
    return penalty_row(n, **{**values, **changes})


def csv_bytes(rows, *, header=HEADER, encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header] if isinstance(row, dict) else row)
    return out.getvalue().encode(encoding)


@pytest.fixture
def intake_department(db):
    department = DepartmentFactory(code="tst", name="测试市场监督管理局")
    CatalogItemFactory(code="tst-penalty", provider=department, category=Category.ADMINISTRATIVE_PENALTY,
                       severity=Severity.GENERAL)  # fmt: skip
    CatalogItemFactory(code="tst-licence", provider=department, category=Category.ADMINISTRATIVE_LICENCE,
                       severity="", name="行政许可信息")  # fmt: skip
    return department


@pytest.fixture
def clerk(intake_department):
    user = UserFactory(username="intake-clerk")
    intake_department.staff.add(user)
    return user


@pytest.fixture
def submit(intake_department, clerk, frozen_today):
    def submit(data: bytes, *, name="records.csv", actor=clerk, department=intake_department, **options):
        upload = services.Upload(io.BytesIO(data), name)
        return services.batch_submit(department=department, upload=upload, channel=Channel.ADMIN, actor=actor, **options)

    return submit


TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def department_key(intake_department, clerk):
    """A department system's raw key (what it sends as ``Bearer``)."""
    _key, raw = services.department_key_issue(department=intake_department, actor=clerk)
    return raw


def auth(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
