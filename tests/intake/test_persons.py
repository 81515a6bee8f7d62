"""Natural persons in key professions, named by their resident identity number instead of a
code: found or registered by the number's fingerprint, never kept or shown in full."""

import io
import json

from django.core.management import call_command
from django.urls import reverse
from stdnum.cn import ric

from disclosure import identity
from disclosure.models import CreditRecord, Entity, EntityKind, EventKind, PublishedDocument, RecordEvent
from intake import services
from intake.models import Batch, BatchStatus

from .conftest import csv_bytes, id_number, penalty_row, person_row


def everything_stored() -> str:
    """Every value of the rows an import writes, as text."""
    models = (Batch, Entity, CreditRecord, RecordEvent, PublishedDocument)
    return json.dumps([list(model.objects.values()) for model in models], default=str, ensure_ascii=False)


def test_a_person_sent_through_the_api_is_registered_by_fingerprint(client, intake_department, clerk, frozen_today,
                                                                    private_storage):  # fmt: skip
    _key, raw = services.department_key_issue(department=intake_department, actor=clerk)
    number = id_number(1)
    data = csv_bytes([person_row(1), penalty_row(2)])
    response = client.post("/api/v1/intake/batches/", data, content_type="text/csv", HTTP_AUTHORIZATION=f"Bearer {raw}")
    call_command("intake_worker", "--once", stdout=io.StringIO())
    body = client.get(response["Location"], HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert (body["status"], body["created"], body["errors"]) == ("imported", 2, [])
    person = Entity.objects.get(kind=EntityKind.NATURAL_PERSON)
    assert (person.name, person.code, person.id_number_digest, person.id_number_masked, person.division_code) == (
        "测试人员1", None, identity.digest(number), "110105********0016", "110105"
    )
    record = CreditRecord.objects.get(entity=person)
    assert json.loads(record.published.document)["entity"] == "110105********0016"
    assert Batch.objects.get().entities_created == 2
    assert number not in everything_stored()
    assert list(private_storage.rglob("*.csv")) == []  # the file held the number: not kept


def test_the_same_person_rows_again_change_nothing(submit):
    for bulk in (False, True):
        data = csv_bytes([person_row(n, decision_number=f"京朝税罚〔2026〕{n}号-{bulk}") for n in range(1, 8)])
        first = submit(data, bulk=bulk)
        assert (first.status, first.created, first.entities_created) == (BatchStatus.IMPORTED, 7, 0 if bulk else 5)
        events = RecordEvent.objects.count()
        again = submit(data, bulk=bulk)
        assert (again.created, again.corrected, again.unchanged, again.entities_created, again.entities_renamed) == (
            0, 0, 7, 0, 0
        )
        assert RecordEvent.objects.count() == events
    assert Entity.objects.filter(kind=EntityKind.NATURAL_PERSON).count() == 5


def test_a_known_person_with_a_new_name_is_renamed_and_a_changed_row_corrects(submit):
    submit(csv_bytes([person_row(1), person_row(2)]))
    batch = submit(csv_bytes([person_row(1, entity_name="测试人员甲"), person_row(2, outcome="警告")]))
    assert (batch.status, batch.entities_renamed, batch.corrected, batch.unchanged) == (BatchStatus.IMPORTED, 1, 1, 1)
    person = Entity.objects.get(id_number_digest=identity.digest(id_number(1)))
    assert (person.name, list(person.former_names.values_list("name", flat=True))) == ("测试人员甲", ["测试人员1"])
    assert CreditRecord.objects.get(decision_number="京朝税罚〔2026〕2号").events.last().kind == EventKind.CORRECTED


def test_a_record_moves_between_an_organisation_and_a_person_as_a_correction(submit):
    submit(csv_bytes([penalty_row(1)]))
    batch = submit(csv_bytes([penalty_row(1, code="", id_number=id_number(3), entity_name="测试人员3")]))
    assert (batch.corrected, batch.entities_created) == (1, 1)
    assert CreditRecord.objects.get().entity.id_number_masked == "110105********0032"


def test_every_person_rule_names_line_column_and_reason_and_never_the_number(client, submit, clerk, english):
    number = id_number(1)
    bad_date = "11010519801301001"  # born in the thirteenth month
    bad_date += ric.calc_check_digit(bad_date + "0")
    rows = [
        person_row(1, id_number=number[:17] + ("0" if number[17] != "0" else "1")),  # wrong check character
        person_row(2, code=penalty_row(2)["code"]),  # both
        person_row(3, id_number=""),  # neither
        penalty_row(4, code=number),  # a number in the code column
        person_row(5, id_number=number[:16]),
        person_row(6, id_number=bad_date),
        person_row(7, id_number=number, entity_name="测试人员1", decision_date=number),  # quoted by another message
        person_row(11, id_number=number, entity_name="测试人员甲"),  # named otherwise than on line 8
        person_row(8, id_number=number, entity_name="测试人员1"),
    ]
    batch = submit(csv_bytes(rows), import_valid_rows=True)
    wrong = number[17]
    assert [(e["line"], e["column"], e["code"], e["message"]) for e in batch.errors] == [
        (2, "id_number", "identity_number",
         f"The check character (position 18) should be “{wrong}”, not “{'0' if wrong != '0' else '1'}”."),
        (3, "id_number", "code_and_identity",
         "Give the code of an organisation or the identity number of a natural person, not both."),
        (4, "code", "required", "Required: the code, or for a natural person the identity number."),
        (5, "code", "code", "This is a resident identity number: write it in the column “身份证号码” (id_number)."),
        (6, "id_number", "identity_number", "A resident identity number has 18 characters; this one has 16."),
        (7, "id_number", "identity_number",
         "Positions 7-14 of a resident identity number are a date of birth; these are not."),
        (8, "decision_date", "date", "“110105********0016” is not a date: write YYYY-MM-DD."),
        (9, "entity_name", "name_conflict", "Line 8 gives this identity number the name “测试人员1”."),
    ]  # fmt: skip
    assert (batch.status, batch.created, batch.rows_refused) == (BatchStatus.IMPORTED, 1, 8)
    assert number not in everything_stored()
    client.force_login(clerk)
    report = client.get(reverse("admin:intake_batch_errors", args=[batch.pk]))
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert ("110105********0016" in text, number in text) == (True, False)
    page = client.get(reverse("admin:intake_batch_change", args=[batch.pk])).content.decode()
    assert ("110105********0016" in page, number in page) == (True, False)


def test_a_file_without_a_header_does_not_quote_a_number_in_its_refusal(submit, english):
    data = f"{id_number(1)},测试人员1,tst-penalty\n".encode()
    batch = submit(data)
    assert batch.file_error == (
        "Missing columns: 统一社会信用代码 (code) or 身份证号码 (id_number), 主体名称 (entity_name), 目录项编码 (catalog_item), "
        "决定文书号 (decision_number), 决定日期 (decision_date), 事实 (facts), 依据 (legal_basis_cited), 结果 (outcome). "
        "Unknown columns: 110105********0016, 测试人员1, tst-penalty. Use the template's headers, in Chinese or in English."
    )


def test_a_file_of_persons_only_needs_no_code_column(submit):
    header = ["id_number", "entity_name", "catalog_item", "decision_number", "decision_date", "facts",
              "legal_basis_cited", "outcome"]  # fmt: skip
    batch = submit(csv_bytes([person_row(1), person_row(2)], header=header))
    assert (batch.status, batch.created) == (BatchStatus.IMPORTED, 2)


def test_the_field_guide_and_the_templates_have_the_column(client, clerk, english):
    client.force_login(clerk)
    guide = client.get(reverse("admin:intake_batch_guide")).content.decode()
    assert "<td>身份证号码</td><td><code>id_number</code>" in guide
    assert guide.count("this or <code>id_number</code>") == guide.count("this or <code>code</code>") == 1
    jsonl = client.get(reverse("admin:intake_batch_template", args=["jsonl"]) + "?headers=en").content.decode()
    assert list(json.loads(jsonl))[:3] == ["code", "id_number", "entity_name"]
