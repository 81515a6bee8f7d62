import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import CreditRecordFactory, EntityFactory, UserFactory

# The smallest files each format's signature check accepts, plus a little body.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def pdf(name="receipt.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def png(name="licence.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def jpeg(name="authorization.jpg"):
    return SimpleUploadedFile(name, JPEG, content_type="image/jpeg")


def submit_for_repair(record):
    """A complete repair application for ``record``, submitted through the service."""
    from repair import services

    return services.repair_submit(
        record=record,
        entity_code=record.entity.code,
        entity_name=record.entity.name,
        contact_person="张三",
        phone="13800138000",
        email="zhang@example.com",
        statement="已缴清罚款并完成整改，建立了合规审核制度。",
        signatory="李四",
        commitment_confirmed=True,
        fulfilment_files=[pdf()],
        representation_files=[jpeg()],
    )


def repair_and_approve(record, reviewer):
    """``record`` repaired through the services: applied for, accepted and approved, so it is
    withdrawn. Returns the application."""
    from repair import services

    application = submit_for_repair(record).application
    services.repair_accept(application=application, reviewer=reviewer)
    services.repair_approve(application=application, reviewer=reviewer)
    return application


@pytest.fixture
def entity(db):
    return EntityFactory(name="北京华为数字技术有限公司", code="91110000600037341L")


@pytest.fixture
def record(entity, frozen_today):
    """A general-severity penalty of 2026-06-15: repairable from 2026-09-16, disclosed until
    2027-06-15. Today (frozen) is Saturday 2026-11-28."""
    return CreditRecordFactory(entity=entity, decision_date=dt.date(2026, 6, 15), outcome="罚款人民币五万元")


@pytest.fixture
def reviewer(record):
    user = UserFactory(username="reviewer")
    record.department.staff.add(user)
    return user


@pytest.fixture
def applicant_data():
    return {
        "entity_code": "91110000600037341L",
        "entity_name": "北京华为数字技术有限公司",
        "contact_person": "张三",
        "phone": "13800138000",
        "email": "zhang@example.com",
        "statement": "已于2026年7月1日缴清全部罚款，并已整改广告内容，建立了审核制度。",
        "signatory": "李四",
        "commitment_confirmed": True,
    }


@pytest.fixture
def submit(record, applicant_data):
    from repair import services

    def submit(**overrides):
        data = {
            **applicant_data,
            "fulfilment_files": [pdf()],
            "representation_files": [jpeg()],
            **overrides,
        }
        return services.repair_submit(
            record=overrides.pop("record", record), **{k: v for k, v in data.items() if k != "record"}
        )

    return submit


@pytest.fixture
def inject_failure(db):
    """Make the database refuse writes to a table, as a crash or a constraint would mid-way
    through a transaction: a trigger, so nothing in the project's code is replaced."""
    from django.db import connection

    made = []

    def inject(table: str, operation: str = "INSERT"):
        name = f"injected_failure_{table}_{operation.lower()}"
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
                )
                cursor.execute(
                    f"CREATE TRIGGER {name} BEFORE {operation} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION injected_failure()"
                )
            else:
                cursor.execute(
                    f"CREATE TRIGGER {name} BEFORE {operation} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
        made.append((name, table))

    yield inject
    with connection.cursor() as cursor:
        for name, table in made:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


@pytest.fixture
def another_record(record):
    """Another repairable record of the same entity, department and kind."""

    def make(decision_date):
        return CreditRecordFactory(
            entity=record.entity,
            department=record.department,
            catalog_item=record.catalog_item,
            decision_date=decision_date,
        )

    return make
