import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, connections
from django.utils import translation

from disclosure.models import CreditRecord, EventKind, RecordEvent, RecordStatus
from repair import services
from repair.models import Application, ApplicationStatus, RepairBar, StepKind
from tests.conftest import SHANGHAI
from tests.factories import CreditRecordFactory, UserFactory
from tests.repair.conftest import pdf

D = dt.date
S = ApplicationStatus


def at(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def application(submit):
    return submit().application


def steps(application):
    return list(application.steps.values_list("kind", "status_after", "actor_label", "reason", "due_on"))


def test_accept_then_approve_withdraws_the_record_in_the_same_step(application, reviewer, record, english):
    with at(D(2026, 11, 30)):
        services.repair_accept(application=application, reviewer=reviewer)
    application.refresh_from_db()
    # Accepted Monday 30 November: seven working days, to Wednesday 9 December.
    assert (application.status, application.due_on) == (S.UNDER_REVIEW, D(2026, 12, 9))
    with at(D(2026, 12, 3)):
        services.repair_approve(application=application, reviewer=reviewer)
    application.refresh_from_db()
    record.refresh_from_db()
    assert application.status == S.APPROVED
    assert (application.decided_on, application.decision_working_days, application.due_on) == (
        D(2026, 12, 3),
        4,
        None,
    )
    assert record.status == RecordStatus.WITHDRAWN
    assert record.status_reason == f"Credit repair application {application.number}"
    assert not CreditRecord.objects.disclosed(on=D(2026, 12, 3)).filter(pk=record.pk).exists()
    event = RecordEvent.objects.filter(record=record).latest("id")
    assert (event.kind, event.reference, event.actor) == (EventKind.WITHDRAWN, application.number, reviewer)
    assert steps(application) == [
        (StepKind.SUBMITTED, S.SUBMITTED, "applicant", "", D(2026, 12, 2)),
        (StepKind.ACCEPTED, S.UNDER_REVIEW, "reviewer", "", D(2026, 12, 9)),
        (StepKind.APPROVED, S.APPROVED, "reviewer", "", None),
    ]


def test_every_step_mails_the_applicant_after_commit(
    english, application, reviewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.repair_accept(application=application, reviewer=reviewer)
        services.repair_reject(application=application, reviewer=reviewer, reason="罚款尚未缴清。")
    assert len(callbacks) == 2
    assert [m.subject for m in mail.outbox] == [
        f"Credit repair application {application.number}: Accepted for review",
        f"Credit repair application {application.number}: Rejected",
    ]
    assert "罚款尚未缴清。" in mail.outbox[1].body


def test_mail_is_in_the_language_the_applicant_used(submit, reviewer, django_capture_on_commit_callbacks):
    with translation.override("zh-hans"):  # applied on the Chinese site
        application = submit().application
    assert application.language == "zh-hans"
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):  # reviewed in English
        services.repair_accept(application=application, reviewer=reviewer)
    assert [m.subject for m in mail.outbox] == [f"信用修复申请{application.number}：已受理"]


def test_nothing_is_mailed_when_the_step_fails(application, reviewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.repair_approve(application=application, reviewer=reviewer)  # not accepted yet
    assert mail.outbox == []


def test_refuse_needs_a_reason_and_keeps_the_record(application, reviewer, record, english):
    with pytest.raises(ValidationError) as caught:
        services.repair_refuse(application=application, reviewer=reviewer, reason="  ")
    assert caught.value.message_dict == {"reason": ["Give a reason: the applicant is told why."]}
    services.repair_refuse(application=application, reviewer=reviewer, reason="申请人并非该决定书的当事人。")
    application.refresh_from_db()
    record.refresh_from_db()
    assert (application.status, application.reason, application.decided_on) == (
        S.NOT_ACCEPTED,
        "申请人并非该决定书的当事人。",
        D(2026, 11, 28),
    )
    assert record.status == RecordStatus.DISCLOSED


def test_only_the_reviewing_departments_staff_may_act(application, english):
    stranger = UserFactory(username="stranger")
    with pytest.raises(PermissionDenied) as caught:
        services.repair_accept(application=application, reviewer=stranger)
    assert str(caught.value) == (
        f"You do not act for {application.department.name_en}, which reviews this application."
    )
    with pytest.raises(PermissionDenied):
        services.repair_accept(application=application, reviewer=None)
    root = UserFactory(username="root", is_superuser=True)
    services.repair_accept(application=application, reviewer=root)
    assert Application.objects.get().status == S.UNDER_REVIEW


def test_a_step_from_the_wrong_state_is_refused_plainly(application, reviewer, english):
    services.repair_accept(application=application, reviewer=reviewer)
    with pytest.raises(ValidationError) as caught:
        services.repair_accept(application=application, reviewer=reviewer)
    assert caught.value.messages == [
        f"Somebody else was faster: application {application.number} is now “Accepted, under review”, "
        "so this step is no longer possible."
    ]


def test_extension_adds_ten_working_days_once(application, reviewer, english):
    with at(D(2026, 11, 30)):
        services.repair_accept(application=application, reviewer=reviewer)
    with at(D(2026, 12, 4)):
        services.repair_extend(
            application=application, reviewer=reviewer, reason="需向税务部门核实缴款情况。"
        )
    application.refresh_from_db()
    # 7 + 10 working days from 30 November: 23 December.
    assert (application.extended, application.due_on) == (True, D(2026, 12, 23))
    with at(D(2026, 12, 7)), pytest.raises(ValidationError) as caught:
        services.repair_extend(application=application, reviewer=reviewer, reason="again")
    assert caught.value.messages == [
        "The time limit has already been extended once; it cannot be extended again."
    ]


def test_an_overdue_review_cannot_be_extended(application, reviewer, english):
    with at(D(2026, 11, 30)):
        services.repair_accept(application=application, reviewer=reviewer)
    with at(D(2026, 12, 10)), pytest.raises(ValidationError) as caught:
        services.repair_extend(application=application, reviewer=reviewer, reason="太晚了")
    assert caught.value.messages == [
        "The time limit ended on 2026-12-09; an overdue review cannot be extended."
    ]
    assert list(Application.objects.overdue(on=D(2026, 12, 10))) == [application]
    assert list(Application.objects.overdue(on=D(2026, 12, 9))) == []


def test_requesting_material_stops_the_review_clock(application, reviewer, english):
    with at(D(2026, 11, 30)):
        services.repair_accept(application=application, reviewer=reviewer)  # due 9 December
    with at(D(2026, 12, 2)):
        services.repair_request_material(
            application=application, reviewer=reviewer, reason="请补充缴款凭证原件扫描件。"
        )
    application.refresh_from_db()
    # 5 working days were left (3, 4, 7, 8, 9 December); the applicant has 10 to answer.
    assert (application.status, application.review_days_left, application.due_on) == (
        S.AWAITING_MATERIAL,
        5,
        D(2026, 12, 16),
    )
    assert application.is_overdue(on=D(2026, 12, 20)) is False  # the applicant's turn
    with at(D(2026, 12, 14)):
        services.repair_supply_material(application=application, files=[pdf("original.pdf")], note="已补充。")
    application.refresh_from_db()
    # The review restarts on 14 December with its 5 days: 15, 16, 17, 18, 21 December.
    assert (application.status, application.review_days_left, application.due_on) == (
        S.UNDER_REVIEW,
        None,
        D(2026, 12, 21),
    )
    assert list(application.evidence.filter(kind="supplement").values_list("original_name", flat=True)) == [
        "original.pdf"
    ]
    assert steps(application)[-1] == (
        StepKind.MATERIAL_SUPPLIED,
        S.UNDER_REVIEW,
        "applicant",
        "已补充。",
        D(2026, 12, 21),
    )


def test_material_after_its_deadline_is_refused(application, reviewer, english, private_storage):
    with at(D(2026, 11, 30)):
        services.repair_accept(application=application, reviewer=reviewer)
        services.repair_request_material(application=application, reviewer=reviewer, reason="补充材料")
    with at(D(2026, 12, 15)), pytest.raises(ValidationError) as caught:
        services.repair_supply_material(application=Application.objects.get(), files=[pdf("late.pdf")])
    assert caught.value.messages == ["The period for supplying material ended on 2026-12-14."]
    assert application.evidence.filter(kind="supplement").count() == 0
    assert sorted(p.name for p in private_storage.rglob("*.*") if "late" in p.name) == []
    assert len(list(private_storage.rglob("*.*"))) == 2  # the original two files only
    # The reviewer can still reject it.
    with at(D(2026, 12, 15)):
        services.repair_reject(application=application, reviewer=reviewer, reason="逾期未补充材料。")
    assert Application.objects.get().status == S.REJECTED


def test_a_deadline_across_new_year_is_provisional_and_recomputed(submit, reviewer, english):
    with at(D(2026, 12, 29)):
        application = submit().application
    assert (application.due_on, application.due_provisional) == (D(2027, 1, 4), True)
    # The calendar library learns 2027 (simulated here by the schedule it would publish: 4
    # January declared a holiday); recomputing picks it up.
    import chinese_calendar

    from repair import workdays

    original = chinese_calendar.is_workday

    def knows_2027(day):
        if day.year == 2027:
            return day.weekday() < 5 and day not in (D(2027, 1, 1), D(2027, 1, 4))
        return original(day)

    workdays.is_working_day.cache_clear()
    chinese_calendar.is_workday = knows_2027
    try:
        assert services.repair_recompute_deadlines() == 1
    finally:
        chinese_calendar.is_workday = original
        workdays.is_working_day.cache_clear()
    application.refresh_from_db()
    assert (application.due_on, application.due_provisional) == (D(2027, 1, 5), False)


def test_revoking_an_approval_discloses_the_record_again_and_bars_the_entity(application, reviewer, record):
    services.repair_accept(application=application, reviewer=reviewer)
    services.repair_approve(application=application, reviewer=reviewer)
    with pytest.raises(ValidationError):
        services.repair_revoke_approval(application=application, reviewer=reviewer, reason="")
    services.repair_revoke_approval(application=application, reviewer=reviewer, reason="缴款凭证系伪造。")
    application.refresh_from_db()
    record.refresh_from_db()
    assert application.status == S.APPROVAL_REVOKED
    assert record.status == RecordStatus.DISCLOSED
    assert CreditRecord.objects.disclosed().filter(pk=record.pk).exists()
    kinds = list(RecordEvent.objects.filter(record=record).order_by("id").values_list("kind", "reference"))
    assert kinds == [
        (EventKind.CREATED, ""),
        (EventKind.WITHDRAWN, application.number),
        (EventKind.REDISCLOSED, application.number),
    ]
    bar = RepairBar.objects.get()
    assert (bar.entity, bar.barred_from, bar.barred_until) == (
        record.entity,
        D(2026, 11, 28),
        D(2029, 11, 28),
    )


@pytest.mark.parametrize(
    ("revoked_on", "barred_through"),
    [
        (D(2026, 11, 30), D(2029, 11, 30)),
        # A leap day has no corresponding day three years on: the month's last day.
        (D(2028, 2, 29), D(2031, 2, 28)),
        (D(2027, 12, 31), D(2030, 12, 31)),
    ],
)
def test_the_bar_is_counted_like_every_other_period(application, reviewer, submit, revoked_on, barred_through):
    services.repair_accept(application=application, reviewer=reviewer)
    services.repair_approve(application=application, reviewer=reviewer)
    with at(revoked_on):
        services.repair_revoke_approval(application=application, reviewer=reviewer, reason="材料虚假。")
    bar = RepairBar.objects.get()
    assert (bar.barred_from, bar.barred_until) == (revoked_on, barred_through)


# --- one transaction: failure injected mid-way ----------------------------------------------


def test_approval_that_cannot_withdraw_the_record_leaves_nothing_approved(
    application, reviewer, record, inject_failure
):
    services.repair_accept(application=application, reviewer=reviewer)
    inject_failure("disclosure_recordevent")  # the withdrawal's event cannot be written
    with pytest.raises(DatabaseError):
        services.repair_approve(application=application, reviewer=reviewer)
    application.refresh_from_db()
    record.refresh_from_db()
    assert application.status == S.UNDER_REVIEW
    assert record.status == RecordStatus.DISCLOSED
    assert application.steps.count() == 2
    assert RecordEvent.objects.filter(record=record).count() == 1


def test_withdrawal_is_undone_when_the_approval_cannot_be_recorded(
    application, reviewer, record, inject_failure
):
    services.repair_accept(application=application, reviewer=reviewer)
    inject_failure("repair_step")  # the record is withdrawn first, then the history row fails
    with pytest.raises(DatabaseError):
        services.repair_approve(application=application, reviewer=reviewer)
    application.refresh_from_db()
    record.refresh_from_db()
    assert (application.status, record.status) == (S.UNDER_REVIEW, RecordStatus.DISCLOSED)
    assert CreditRecord.objects.disclosed().filter(pk=record.pk).exists()
    assert list(RecordEvent.objects.filter(record=record).values_list("kind", flat=True)) == [
        EventKind.CREATED
    ]


# --- two reviewers at once ---------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the in-memory SQLite test database has no busy wait"
)
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_at_once_exactly_one_wins(
    shipped_rule_sets, frozen_today, private_storage, applicant_data
):
    record = CreditRecordFactory(decision_date=D(2026, 6, 15))
    applicant_data.update(entity_code=record.entity.code, entity_name=record.entity.name)
    application = services.repair_submit(
        record=record, fulfilment_files=[pdf()], representation_files=[pdf()], **applicant_data
    ).application
    first, second = UserFactory(username="first"), UserFactory(username="second")
    record.department.staff.add(first, second)
    services.repair_accept(application=application, reviewer=first)

    barrier = threading.Barrier(2)
    outcomes = {}

    def approve(user):
        try:
            barrier.wait(5)
            with translation.override("en"):
                services.repair_approve(application=application, reviewer=user)
            outcomes[user.username] = "approved"
        except ValidationError as exc:
            with translation.override("en"):
                outcomes[user.username] = exc.messages[0]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(user,)) for user in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes.values()) == [
        f"Somebody else was faster: application {application.number} is now “Approved: record withdrawn”, "
        "so this step is no longer possible.",
        "approved",
    ]
    assert list(application.steps.filter(kind=StepKind.APPROVED).values_list("kind", flat=True)) == [
        StepKind.APPROVED
    ]
    assert list(
        RecordEvent.objects.filter(record=record, kind=EventKind.WITHDRAWN).values_list(
            "reference", flat=True
        )
    ) == [application.number]


@pytest.mark.parametrize(
    ("before", "from_status"),
    [
        ([], ApplicationStatus.SUBMITTED),
        (["accept"], ApplicationStatus.UNDER_REVIEW),
        (["accept", "request_material"], ApplicationStatus.AWAITING_MATERIAL),
    ],
)
def test_the_applicant_may_withdraw_while_the_application_is_open(
    application, reviewer, submit, before, from_status
):
    for action in before:
        services._transition(application=application, action=action, actor=reviewer, reason="请补充材料")
    application.refresh_from_db()
    assert application.status == from_status
    withdrawn = services.repair_withdraw(application=application, note="重新准备材料")
    assert (withdrawn.status, withdrawn.due_on, withdrawn.review_days_left) == (
        ApplicationStatus.WITHDRAWN,
        None,
        None,
    )
    assert steps(withdrawn)[-1] == (StepKind.WITHDRAWN, "withdrawn", "applicant", "重新准备材料", None)
    assert CreditRecord.objects.get(pk=application.record_id).status == RecordStatus.DISCLOSED
    assert submit().application.status == ApplicationStatus.SUBMITTED  # the record is free again


def test_a_withdrawn_application_stays_withdrawn(application, english):
    services.repair_withdraw(application=application)
    with pytest.raises(ValidationError, match="is now “Withdrawn by the applicant”"):
        services.repair_withdraw(application=application)


# --- the applicant hears back within 10 working days overall ------------------------------------


@pytest.mark.parametrize(
    ("accepted_on", "due_on", "late"),
    [
        # Submitted Monday 30 November 2026: acceptance due 3 December, decision 14 December at the latest.
        (D(2026, 12, 1), D(2026, 12, 10), False),  # accepted early: 7 working days after acceptance
        (D(2026, 12, 3), D(2026, 12, 14), False),  # the acceptance limit's last day: both clocks end together
        (D(2026, 12, 4), D(2026, 12, 14), True),  # one day late: 7 more would be 15 December
        (D(2026, 12, 7), D(2026, 12, 14), True),  # the case: not 16 December (12 working days)
        (D(2026, 12, 15), D(2026, 12, 14), True),  # after the overall limit: overdue at once
    ],
)
def test_the_decision_is_due_within_10_working_days_of_submission(
    submit, reviewer, english, accepted_on, due_on, late
):
    with at(D(2026, 11, 30)):
        application = submit().application
    assert application.due_on == D(2026, 12, 3)
    with at(accepted_on):
        services.repair_accept(application=application, reviewer=reviewer)
    application.refresh_from_db()
    assert (application.due_on, application.accepted_late) == (due_on, late)
    assert application.is_overdue(on=accepted_on) is (due_on < accepted_on)


def test_a_late_acceptance_is_overdue_in_the_queue_and_the_statistics(client, submit, reviewer, english):
    with at(D(2026, 11, 30)):
        application = submit().application
    with at(D(2026, 12, 15)):
        services.repair_accept(application=application, reviewer=reviewer)
        client.force_login(reviewer)
        page = client.get("/en/repair/review/").content.decode()
        (row,) = client.get("/en/repair/statistics/").context["rows"]
    assert page.count("Overdue</strong>") == 1
    assert page.count("Accepted late</strong>") == 1
    assert (row.overdue, row.accepted_late) == (1, 1)


def test_an_extension_and_the_material_time_come_on_top_of_the_overall_limit(submit, reviewer, english):
    with at(D(2026, 11, 30)):
        application = submit().application
    with at(D(2026, 12, 7)):
        services.repair_accept(application=application, reviewer=reviewer)  # due 14 December
        services.repair_extend(application=application, reviewer=reviewer, reason="需核实。")
    application.refresh_from_db()
    # 10 + 10 working days from submission: 28 December.
    assert (application.due_on, application.extended) == (D(2026, 12, 28), True)
    with at(D(2026, 12, 8)):
        services.repair_request_material(application=application, reviewer=reviewer, reason="补充材料")
    application.refresh_from_db()
    assert application.review_days_left == 14  # 9 December to 28 December
    with at(D(2026, 12, 10)):
        services.repair_supply_material(application=application, files=[pdf("more.pdf")])
    application.refresh_from_db()
    # The two days spent supplying material are added: 30 December.
    assert application.due_on == D(2026, 12, 30)


# --- deadlines at their last day ------------------------------------------------------------------


def test_material_may_be_supplied_on_the_last_day(application, reviewer, english):
    with at(D(2026, 11, 30)):
        services.repair_accept(application=application, reviewer=reviewer)
        services.repair_request_material(application=application, reviewer=reviewer, reason="补充材料")
    assert Application.objects.get().due_on == D(2026, 12, 14)
    with at(D(2026, 12, 14)):
        services.repair_supply_material(application=application, files=[pdf("in-time.pdf")])
    assert Application.objects.get().status == S.UNDER_REVIEW


def test_the_review_may_be_extended_on_its_last_day(application, reviewer, english):
    with at(D(2026, 11, 30)):
        services.repair_accept(application=application, reviewer=reviewer)  # due 9 December
    with at(D(2026, 12, 9)):
        services.repair_extend(application=application, reviewer=reviewer, reason="需核实。")
    application.refresh_from_db()
    assert (application.extended, application.due_on) == (True, D(2026, 12, 23))


def test_extension_is_no_longer_offered_once_used(application, reviewer):
    services.repair_accept(application=application, reviewer=reviewer)
    application.refresh_from_db()
    assert services.actions_for(application) == ["request_material", "extend", "approve", "reject"]
    services.repair_extend(application=application, reviewer=reviewer, reason="需核实。")
    application.refresh_from_db()
    assert services.actions_for(application) == ["request_material", "approve", "reject"]
