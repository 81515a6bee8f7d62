import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from disclosure.models import CreditRecord, EventKind, PublishedDocument, RecordStatus
from intake import services
from intake.models import BatchStatus
from tests.factories import UserFactory

from .conftest import csv_bytes, penalty_row


@pytest.fixture
def second_clerk(intake_department):
    user = UserFactory(username="second-clerk")
    intake_department.staff.add(user)
    return user


def test_two_person_review_holds_the_batch_until_a_second_clerk_releases_it(submit, intake_department, clerk, second_clerk, english):
    services.intake_policy_set(department=intake_department, requires_release=True)
    batch = submit(csv_bytes([penalty_row(1), penalty_row(2)]))
    assert (batch.status, batch.created, CreditRecord.objects.count()) == (BatchStatus.AWAITING_RELEASE, 2, 0)
    with pytest.raises(PermissionDenied) as refused:
        services.batch_release(batch=batch, actor=clerk)
    assert str(refused.value) == "A second clerk must release this batch: not the one who submitted it."
    released = services.batch_release(batch=batch, actor=second_clerk)
    assert (released.status, released.released_by, released.created) == (BatchStatus.IMPORTED, second_clerk, 2)
    assert sorted(CreditRecord.objects.values_list("events__reference", flat=True)) == [batch.number] * 2
    with pytest.raises(ValidationError):
        services.batch_release(batch=released, actor=second_clerk)


def test_undo_revokes_what_the_batch_created_and_restores_what_it_corrected(submit, clerk, english):
    first = submit(csv_bytes([penalty_row(1)]))
    second = submit(csv_bytes([penalty_row(1, outcome="罚款人民币两万元"), penalty_row(2)]))
    assert (second.created, second.corrected) == (1, 1)
    services.batch_undo(batch=second, actor=clerk, reason="wrong export")
    second.refresh_from_db()
    assert second.status == BatchStatus.UNDONE
    one = CreditRecord.objects.get(decision_number="京朝市监罚〔2026〕1号")
    two = CreditRecord.objects.get(decision_number="京朝市监罚〔2026〕2号")
    assert (one.status, one.outcome) == (RecordStatus.DISCLOSED, "罚款人民币一万元")
    assert two.status == RecordStatus.REVOKED
    assert list(two.events.values_list("kind", "feed_type", "reference")) == [
        (EventKind.CREATED, "disclosed", second.number), (EventKind.REVOKED, "revoked", second.number),
    ]  # fmt: skip
    assert list(one.events.values_list("kind", "reference")) == [
        (EventKind.CREATED, first.number), (EventKind.CORRECTED, second.number), (EventKind.CORRECTED, second.number),
    ]  # fmt: skip
    assert PublishedDocument.objects.filter(record=two).exists() is False
    with pytest.raises(ValidationError):
        services.batch_undo(batch=second, actor=clerk, reason="again")


def test_undo_is_refused_when_a_record_changed_since(submit, clerk, english):
    first = submit(csv_bytes([penalty_row(1)]))
    submit(csv_bytes([penalty_row(1, outcome="罚款人民币两万元")]))
    with pytest.raises(ValidationError) as refused:
        services.batch_undo(batch=first, actor=clerk, reason="oops")
    assert refused.value.messages == [
        "These records changed after the batch, so it cannot be undone as a whole: 京朝市监罚〔2026〕1号."
    ]


def test_a_revocation_of_an_unknown_number_is_refused(submit, english):
    batch = submit(csv_bytes([penalty_row(1, revoked="yes", revoke_reason="复议撤销")]))
    assert [(e["line"], e["code"], e["message"]) for e in batch.errors] == [
        (2, "not_found", "There is no record with the decision number “京朝市监罚〔2026〕1号” to revoke.")
    ]


def test_a_held_batch_shows_the_check_pass_counts_new_revoked_and_refused_rows(submit, intake_department, english):
    """What a second clerk sees before releasing is the check pass's own account: new rows
    counted as new, a revocation of a published record as a revocation, and a revocation of
    a number nobody published refused (on PostgreSQL these are counted in SQL)."""
    submit(csv_bytes([penalty_row(1), penalty_row(4), penalty_row(5)]))
    services.intake_policy_set(department=intake_department, requires_release=True)
    rows = [penalty_row(1, revoked="是", revoke_reason="复议决定撤销（京朝复〔2026〕1号）"), penalty_row(2), penalty_row(3)]
    rows += [penalty_row(9, revoked="是", revoke_reason="复议决定撤销（京朝复〔2026〕9号）")]
    rows += [penalty_row(4, outcome="罚款人民币两万元"), penalty_row(5)]
    batch = submit(csv_bytes(rows), import_valid_rows=True)
    assert (batch.status, batch.created, batch.corrected, batch.revoked, batch.unchanged, batch.rows_refused) == (
        BatchStatus.AWAITING_RELEASE, 2, 1, 1, 1, 1
    )
    assert [(e["line"], e["code"]) for e in batch.errors] == [(5, "not_found")]
