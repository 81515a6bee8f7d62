"""The department API as README ("Submitting and polling through the API") describes it, over
real HTTP: a department system sends JSON lines with ``import_valid_rows=1``, gets ``202`` and
the batch's address in ``Location`` at once, with nothing written; polling shows ``queued``
until the intake worker runs, then the final counts, and ``errors.csv`` lists the refused
line. A wrong key is refused at once, with no batch made."""

import csv
import io
import json

import pytest
from django.core.management import call_command

from disclosure.models import CreditRecord
from intake import services
from intake.models import Batch
from tests.factories import CatalogItemFactory, DepartmentFactory, UserFactory

from .conftest import Api

pytestmark = pytest.mark.django_db(transaction=True)

ROW = {
    "统一社会信用代码": "91110105MA01ABCD4X", "主体名称": "北京契约测试有限公司", "目录项编码": "ct-penalty",
    "决定文书号": "京朝市监罚〔2026〕901号", "决定日期": "2026-06-15", "事实": "未按规定公示年度报告。",
    "依据": "《企业信息公示暂行条例》第十八条", "结果": "罚款人民币一万元", "金额（元）": "10000",
}  # fmt: skip


@pytest.fixture
def department_api(live_server, frozen_today, shipped_rule_sets):
    from disclosure import uscc
    from disclosure.rules import Category, Severity

    department = DepartmentFactory(code="ct", name="契约测试局")
    CatalogItemFactory(code="ct-penalty", provider=department, category=Category.ADMINISTRATIVE_PENALTY,
                       severity=Severity.GENERAL)  # fmt: skip
    clerk = UserFactory(username="ct-clerk")
    department.staff.add(clerk)
    _key, raw = services.department_key_issue(department=department, actor=clerk)
    ROW["统一社会信用代码"] = uscc.make_code("91", "110105", "30000901")
    return Api(live_server.url, raw)


def _lines(*rows) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def test_submit_then_poll_until_the_worker_has_imported(department_api):
    bad = {**ROW, "决定文书号": "京朝市监罚〔2026〕902号", "决定日期": "2099-01-01"}  # a decision in the future
    sent = department_api.request(
        "POST", "/api/v1/intake/batches/", params={"name": "day.jsonl", "import_valid_rows": "1"},
        headers={"Content-Type": "application/x-ndjson"}, body=_lines(ROW, bad),
    )  # fmt: skip
    assert sent.status == 202, sent
    body = sent.json()
    assert body["status"] == "queued"
    location = sent.headers["Location"]
    assert location.endswith(f"/api/v1/intake/batches/{body['number']}/")
    assert CreditRecord.objects.count() == 0  # nothing checked nor written before the worker

    path = location[location.index("/api/"):]
    polled = department_api.get(path)
    assert (polled.status, polled.json()["status"]) == (200, "queued")

    call_command("intake_worker", "--once", stdout=io.StringIO())

    done = department_api.get(path).json()
    assert (done["status"], done["created"], done["rows_refused"]) == ("imported", 1, 1), done["errors"]
    assert list(CreditRecord.objects.values_list("decision_number", flat=True)) == ["京朝市监罚〔2026〕901号"]
    report = department_api.get(path + "errors.csv", headers={"Accept": "text/csv"})
    assert report.status == 200, report
    lines = list(csv.reader(io.StringIO(report.body.decode("utf-8-sig"))))
    assert [row[0] for row in lines[1:]] == ["2"]  # the second line of the file, and only it


def test_a_wrong_key_is_refused_at_once_and_makes_no_batch(department_api):
    department_api.key = "dk_" + "0" * 40
    sent = department_api.request(
        "POST", "/api/v1/intake/batches/", headers={"Content-Type": "application/x-ndjson"}, body=_lines(ROW)
    )
    assert sent.status == 401, sent
    assert "error" in sent.json()
    assert Batch.objects.count() == 0


def test_an_abnormal_operation_list_naming_a_natural_person_is_refused(department_api):
    """README (CatalogItem): "A record about a kind of entity its item does not concern (an
    abnormal-operation list and a natural person) is refused ... in intake"; the error report
    names the line, the file's own column and the reason."""
    from stdnum.cn import ric

    from disclosure.models import Department, Subjects
    from disclosure.rules import Category, Severity

    CatalogItemFactory(code="ct-abnormal", provider=Department.objects.get(code="ct"), name="经营异常名录",
                       category=Category.ABNORMAL_OPERATION, severity=Severity.GENERAL,
                       subjects=Subjects.ORGANISATIONS)  # fmt: skip
    first17 = "11010519800101001"
    person = {key: value for key, value in ROW.items() if key not in ("统一社会信用代码", "金额（元）")}
    person.update({"身份证号码": first17 + ric.calc_check_digit(first17 + "0"), "主体名称": "张三",
                   "目录项编码": "ct-abnormal", "结果": "列入经营异常名录"})  # fmt: skip
    sent = department_api.request(
        "POST", "/api/v1/intake/batches/", params={"name": "list.jsonl"},
        headers={"Content-Type": "application/x-ndjson"}, body=_lines(person),
    )  # fmt: skip
    assert sent.status == 202, sent
    path = sent.headers["Location"][sent.headers["Location"].index("/api/"):]
    call_command("intake_worker", "--once", stdout=io.StringIO())
    done = department_api.get(path).json()
    assert (done["status"], done["created"], done["rows_refused"]) == ("rejected", 0, 1), done
    report = department_api.get(path + "errors.csv", headers={"Accept": "text/csv"})
    lines = list(csv.reader(io.StringIO(report.body.decode("utf-8-sig"))))
    assert [row[:3] for row in lines[1:]] == [["1", "目录项编码", "subjects"]]
    assert "经营异常名录" in lines[1][3]
    assert CreditRecord.objects.count() == 0
