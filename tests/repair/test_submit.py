import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage

from disclosure import services as disclosure_services
from disclosure.rules import Category, Severity
from repair import services
from repair.models import Application, ApplicationStatus, Evidence, RepairBar, StepKind
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory
from tests.repair.conftest import JPEG, PDF, PNG, jpeg, pdf, png

pytestmark = pytest.mark.django_db(transaction=False)

D = dt.date


def messages(exc: ValidationError) -> dict | list:
    return exc.message_dict if hasattr(exc, "error_dict") else exc.messages


def test_submit_takes_the_application(submit, record, private_storage, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(fulfilment_files=[pdf(), png()])
    application = submission.application
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.number.startswith("XF20261128")
    assert len(application.number) == 18
    assert application.department == record.department
    assert application.entity == record.entity
    # Saturday 28 November: Monday, Tuesday, Wednesday.
    assert (application.due_on, application.due_provisional) == (D(2026, 12, 2), False)
    assert application.commitment_signatory == "李四"
    assert "91110000600037341L" in application.commitment_text
    assert list(application.steps.values_list("kind", "actor_label")) == [(StepKind.SUBMITTED, "applicant")]
    # The query code is stored only as a digest, and matches.
    assert submission.query_code not in application.query_code_digest
    assert services.query_code_matches(application, submission.query_code.lower())
    assert not services.query_code_matches(application, "WRONGCODE2")
    evidence = list(application.evidence.order_by("id"))
    assert [(e.kind, e.original_name, e.content_type, e.size) for e in evidence] == [
        ("fulfilment", "receipt.pdf", "application/pdf", len(PDF)),
        ("fulfilment", "licence.png", "image/png", len(PNG)),
        ("representation", "authorization.jpg", "image/jpeg", len(JPEG)),
    ]
    # Stored under a random name, never the applicant's.
    assert evidence[0].file.name.startswith(f"repair/{application.number}/")
    assert evidence[0].file.name.endswith(".pdf")
    assert "receipt" not in evidence[0].file.name
    assert (private_storage / evidence[0].file.name).read_bytes() == PDF
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["zhang@example.com"]
    assert submission.query_code in mail.outbox[0].body
    assert application.number in mail.outbox[0].subject


def test_code_and_name_are_matched_as_people_type_them(submit):
    submission = submit(entity_code="9111 0000 6000 3734 1l", entity_name=" 北京华为数字技术有限公司 ")
    assert submission.application.status == ApplicationStatus.SUBMITTED


def test_code_and_name_must_be_the_records_entity(submit, english):
    other = EntityFactory()
    with pytest.raises(ValidationError) as caught:
        submit(entity_code=other.code, entity_name="华为")
    assert messages(caught.value) == {
        "entity_code": ["This code is not the code of the entity the record is about."],
        "entity_name": ["Give the entity's name exactly as it is registered: “北京华为数字技术有限公司”."],
    }
    with pytest.raises(ValidationError) as caught:
        submit(entity_code="91110000600037341X")
    assert messages(caught.value) == {
        "entity_code": ["The check character (position 18) should be “L”, not “X”."]
    }
    assert Application.objects.count() == 0


def test_commitment_and_both_kinds_of_evidence_are_required(submit, english):
    with pytest.raises(ValidationError) as caught:
        submit(commitment_confirmed=False)
    assert messages(caught.value) == {
        "signatory": ["Sign the credit commitment: type the representative's name and confirm."]
    }
    with pytest.raises(ValidationError) as caught:
        submit(representation_files=[])
    assert messages(caught.value) == {
        "representation_files": ["Attach proof of representation or a letter of authorization."]
    }


# --- files -----------------------------------------------------------------------------------


def test_a_file_renamed_to_pdf_is_refused_by_its_content(submit, english, private_storage):
    executable = pdf(name="receipt.pdf", content=b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100)
    with pytest.raises(ValidationError) as caught:
        submit(fulfilment_files=[executable])
    assert messages(caught.value) == {
        "fulfilment_files": [
            "“receipt.pdf” is not a PDF, JPEG or PNG file (its content was checked, not its name)."
        ]
    }
    text = pdf(name="scan.png", content=b"I paid the fine, honestly." * 10)
    with pytest.raises(ValidationError):
        submit(representation_files=[text])
    assert Application.objects.count() == 0
    assert not private_storage.exists() or not any(private_storage.rglob("*.*"))


def test_too_large_and_empty_files(submit, english, settings):
    settings.REPAIR_MAX_FILE_BYTES = 1024
    with pytest.raises(ValidationError) as caught:
        submit(fulfilment_files=[pdf(content=PDF + b"0" * 1024), pdf(name="empty.pdf", content=b"")])
    assert messages(caught.value) == {
        "fulfilment_files": [
            "“receipt.pdf” is 1.1\xa0KB; each file may be at most 1.0\xa0KB.",
            "“empty.pdf” is empty.",
        ]
    }


def test_too_many_files(submit, english, settings):
    settings.REPAIR_MAX_FILES = 3
    with pytest.raises(ValidationError) as caught:
        submit(fulfilment_files=[pdf(), pdf(), pdf()], representation_files=[jpeg()])
    assert messages(caught.value) == {
        "representation_files": ["At most 3 files per application; this would make 4."]
    }


# --- eligibility -----------------------------------------------------------------------------


def refusals(record, on=None):
    from repair.selectors import eligibility_refusals

    return eligibility_refusals(record=record, on=on)


def test_an_eligible_record_has_no_refusals(record):
    assert refusals(record) == []


def test_refused_before_the_minimum_period(entity, english, frozen_today):
    recent = CreditRecordFactory(entity=entity, decision_date=D(2026, 9, 1))
    assert refusals(recent) == [
        "The minimum disclosure period has not passed yet: repair is possible from 2026-12-02."
    ]
    # The day it opens.
    assert refusals(recent, on=D(2026, 12, 2)) == []


def test_refused_when_not_disclosed(record, english, reviewer):
    disclosure_services.record_revoke(record=record, actor=reviewer, reason="复议撤销")
    assert refusals(record) == ["This record is not disclosed, so there is nothing to repair."]


def test_refused_when_the_period_is_over(record, english):
    assert refusals(record, on=D(2027, 6, 16)) == [
        "This record is not disclosed, so there is nothing to repair."
    ]


def test_refused_for_kinds_that_cannot_be_repaired(entity, english, frozen_today):
    item = CatalogItemFactory(
        category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS, repairable=False
    )
    listing = CreditRecordFactory(entity=entity, catalog_item=item, decision_date=D(2024, 1, 10))
    assert refusals(listing) == [
        "Records of this kind cannot be repaired: they are disclosed for their whole period."
    ]


def test_refused_while_another_application_is_open(record, submit, english):
    submit()
    assert refusals(record) == [
        "An application for this record is already under way; follow it on the status page with its number and query code."
    ]
    with pytest.raises(ValidationError) as caught:
        submit()
    assert messages(caught.value) == [
        "An application for this record is already under way; follow it on the status page with its number and query code."
    ]
    assert Application.objects.count() == 1


def test_the_database_holds_one_open_application_per_record(submit):
    from django.db import IntegrityError, transaction

    first = submit().application
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(
            number="XF2026112800000001",
            record=first.record,
            department=first.department,
            entity=first.entity,
            contact_person="x",
            phone="13800138000",
            email="x@example.com",
            statement="x",
            commitment_text="x",
            commitment_signatory="x",
        )


def test_refused_while_the_entity_is_barred(record, submit, reviewer, english, frozen_today):
    other = CreditRecordFactory(entity=record.entity, decision_date=D(2026, 5, 10))
    application = submit().application
    services.repair_accept(application=application, reviewer=reviewer)
    services.repair_approve(application=application, reviewer=reviewer)
    services.repair_revoke_approval(application=application, reviewer=reviewer, reason="缴款凭证系伪造")
    # Revoked on 2026-11-28: barred through 2029-11-28, free to apply from the 29th.
    assert RepairBar.objects.get().barred_until == D(2029, 11, 28)
    assert refusals(other) == [
        "This entity may not apply for credit repair before 2029-11-29: an earlier approval was revoked because the material proved false."
    ]
    # The bar's last day, and the day after.
    from repair.selectors import active_bar

    assert active_bar(record.entity, on=D(2029, 11, 28)) == RepairBar.objects.get()
    assert active_bar(record.entity, on=D(2029, 11, 29)) is None


def test_natural_persons_are_sent_to_the_department(english, frozen_today):
    from disclosure.models import EntityKind

    person = disclosure_services.entity_create(
        name="王五", kind=EntityKind.NATURAL_PERSON, identity_number="11010519491231002X"
    )
    item = CatalogItemFactory(category=Category.ADMINISTRATIVE_PENALTY)
    record = CreditRecordFactory(entity=person, catalog_item=item, decision_date=D(2026, 6, 15))
    assert refusals(record) == [
        "Online repair is for organisations with a Unified Social Credit Code; a natural person applies to the department that made the decision."
    ]


def test_stored_files_are_removed_when_the_application_cannot_be_written(
    submit, private_storage, inject_failure
):
    from django.db import DatabaseError

    inject_failure("repair_step")
    with pytest.raises(DatabaseError):
        submit()
    assert Application.objects.count() == 0
    assert Evidence.objects.count() == 0
    assert list(private_storage.rglob("*.*")) == []


class StorageWithAHook(FileSystemStorage):
    """Runs ``hook`` once, after the first file is written: what another request could do
    while this one stores its files, between the first eligibility check and the lock."""

    hook = None

    def _save(self, name, content):
        saved = super()._save(name, content)
        hook, StorageWithAHook.hook = StorageWithAHook.hook, None
        if hook is not None:
            hook()
        return saved


def test_eligibility_is_checked_again_under_the_record_lock(submit, record, settings, private_storage, english):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": f"{__name__}.StorageWithAHook",
            "OPTIONS": {"location": str(private_storage)},
        },
    }
    StorageWithAHook.hook = lambda: disclosure_services.record_revoke(
        record=record, actor=None, reason="行政复议决定撤销原处罚决定"
    )
    with pytest.raises(ValidationError) as caught:
        submit()
    assert messages(caught.value) == ["This record is not disclosed, so there is nothing to repair."]
    assert Application.objects.count() == 0
    assert list(private_storage.rglob("*.*")) == []
