"""Writes for credit repair: submitting an application and every step of its review.

Every step goes through ``_transition``; approval withdraws the record and revocation
discloses it again inside that same transaction, through the disclosure services.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from disclosure import rules, uscc
from disclosure import services as disclosure_services
from disclosure.fold import fold
from disclosure.models import CreditRecord
from ops.logs import current_request_id

from . import evidence as evidence_files
from . import selectors, workdays
from .models import (
    OPEN_STATUSES,
    Application,
    ApplicationStatus,
    Evidence,
    EvidenceKind,
    RepairBar,
    Step,
    StepKind,
)

S = ApplicationStatus
APPLICANT = "applicant"
REVIEWER = "reviewer"

# Unambiguous when read aloud or copied by hand: no 0/O, 1/I/L.
QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
QUERY_CODE_LENGTH = 10


def query_code_digest(code: str) -> str:
    return salted_hmac("repair.query_code", code.strip().upper(), algorithm="sha256").hexdigest()


def query_code_matches(application: Application, code: str) -> bool:
    return constant_time_compare(application.query_code_digest, query_code_digest(code))


def commitment_text(*, record: CreditRecord) -> str:
    """The standard credit commitment (信用承诺书) for this record, in the active language."""
    entity = record.entity
    return _(
        "%(name)s (Unified Social Credit Code %(code)s) solemnly commits: the dishonest conduct "
        "found in decision %(decision)s has been corrected and every obligation the decision "
        "imposed has been fulfilled; the material submitted with this application is true, "
        "accurate and complete; we accept the supervision of the authorities, trade "
        "organisations, the public and the press. If any of it proves false, we accept the "
        "legal consequences, the revocation of the repair and a bar of %(years)d years on "
        "applying for credit repair again. This commitment may be made public."
    ) % {
        "name": entity.name,
        "code": entity.code,
        "decision": record.decision_number,
        "years": settings.REPAIR_BAR_YEARS,
    }


# --- submitting -------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    application: Application
    query_code: str  # shown once and mailed; only its digest is stored


def _check_applicant_matches(*, record: CreditRecord, entity_code: str, entity_name: str) -> None:
    errors = {}
    try:
        code = uscc.validate(entity_code)
    except ValidationError as exc:
        errors["entity_code"] = exc.messages
    else:
        if code != record.entity.code:
            errors["entity_code"] = [_("This code is not the code of the entity the record is about.")]
    if fold(entity_name.strip()) != fold(record.entity.name):
        errors["entity_name"] = [
            _("Give the entity's name exactly as it is registered: “%(name)s”.")
            % {"name": record.entity.name}
        ]
    if errors:
        raise ValidationError(errors)


def _new_number(today: dt.date) -> str:
    return f"XF{today:%Y%m%d}{secrets.randbelow(10**8):08d}"


def _new_query_code() -> str:
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def _store_files(
    application: Application, kind: str, files: list[evidence_files.InspectedFile]
) -> list[Evidence]:
    stored = []
    for inspected in files:
        item = Evidence(
            application=application,
            kind=kind,
            original_name=inspected.original_name,
            content_type=inspected.content_type,
            extension=inspected.extension,
            size=inspected.size,
            sha256=inspected.sha256,
        )
        item.file.save(item.original_name, inspected.upload, save=False)
        stored.append(item)
    return stored


def _delete_files(items: list[Evidence]) -> None:
    for item in items:
        if item.file.name:
            default_storage.delete(item.file.name)


def repair_submit(
    *,
    record: CreditRecord,
    entity_code: str,
    entity_name: str,
    contact_person: str,
    phone: str,
    email: str,
    statement: str,
    signatory: str,
    commitment_confirmed: bool,
    fulfilment_files: list,
    representation_files: list,
) -> Submission:
    """Take a repair application for ``record``.

    Checks, in order: every eligibility rule, that the code and name are the record's
    entity's, the commitment, the files (type by content, size, count), and, with the record
    locked, every eligibility rule again (another application may have come in). The files are
    written to storage before the transaction (slow I/O stays outside it) and deleted again if
    the application is not taken. Mails the number and query code after commit.
    """
    refusals = selectors.eligibility_refusals(record=record)
    if refusals:
        raise ValidationError(refusals)
    _check_applicant_matches(record=record, entity_code=entity_code, entity_name=entity_name)
    if not commitment_confirmed or not signatory.strip():
        raise ValidationError(
            {"signatory": _("Sign the credit commitment: type the representative's name and confirm.")}
        )
    if not fulfilment_files:
        raise ValidationError({"fulfilment_files": _("Attach proof that the obligations are fulfilled.")})
    if not representation_files:
        raise ValidationError(
            {"representation_files": _("Attach proof of representation or a letter of authorization.")}
        )
    errors = {}
    try:
        fulfilment = evidence_files.inspect_all(fulfilment_files)
    except ValidationError as exc:
        errors["fulfilment_files"] = exc.messages
    try:
        representation = evidence_files.inspect_all(
            representation_files, already_stored=len(fulfilment_files)
        )
    except ValidationError as exc:
        errors["representation_files"] = exc.messages
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    today = timezone.localdate(now)
    query_code = _new_query_code()
    application = Application(
        number=_new_number(today),
        query_code_digest=query_code_digest(query_code),
        record=record,
        department=record.department,
        entity=record.entity,
        contact_person=contact_person.strip(),
        phone=phone.strip(),
        email=email.strip(),
        statement=statement.strip(),
        commitment_text=commitment_text(record=record),
        commitment_signatory=signatory.strip(),
        language=translation.get_language() or settings.LANGUAGE_CODE,
        submitted_at=now,
    )
    _set_clock(application, start=today, days=settings.REPAIR_ACCEPT_DAYS)
    stored = _store_files(application, EvidenceKind.FULFILMENT, fulfilment)
    stored += _store_files(application, EvidenceKind.REPRESENTATION, representation)
    try:
        with transaction.atomic():
            locked = CreditRecord.objects.select_for_update(no_key=True, of=("self",)).get(pk=record.pk)
            refusals = selectors.eligibility_refusals(record=locked, on=today)
            if refusals:
                raise ValidationError(refusals)
            for _attempt in range(5):
                try:
                    with transaction.atomic():
                        application.save()
                    break
                except IntegrityError:
                    if Application.objects.open().filter(record=record).exists():
                        raise ValidationError(
                            _("An application for this record is already under way.")
                        ) from None
                    application.pk = None
                    application.number = _new_number(today)  # a number collision: draw again
            else:
                raise RuntimeError("could not draw a free application number")
            for item in stored:
                item.application = application
            Evidence.objects.bulk_create(stored)
            step = _write_step(application, kind=StepKind.SUBMITTED, actor=None, reason="")
            transaction.on_commit(lambda: _mail(application, step, query_code=query_code), robust=True)
    except BaseException:
        _delete_files(stored)
        raise
    return Submission(application=application, query_code=query_code)


# --- the review workflow ------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    allowed_from: tuple[str, ...]
    to_status: str
    step: str
    by: str
    reason_required: bool


TRANSITIONS = {
    "accept": Transition((S.SUBMITTED,), S.UNDER_REVIEW, StepKind.ACCEPTED, REVIEWER, False),
    "refuse": Transition((S.SUBMITTED,), S.NOT_ACCEPTED, StepKind.NOT_ACCEPTED, REVIEWER, True),
    "request_material": Transition(
        (S.UNDER_REVIEW,), S.AWAITING_MATERIAL, StepKind.MATERIAL_REQUESTED, REVIEWER, True
    ),
    "supply_material": Transition(
        (S.AWAITING_MATERIAL,), S.UNDER_REVIEW, StepKind.MATERIAL_SUPPLIED, APPLICANT, False
    ),
    "extend": Transition((S.UNDER_REVIEW,), S.UNDER_REVIEW, StepKind.EXTENDED, REVIEWER, True),
    "approve": Transition((S.UNDER_REVIEW,), S.APPROVED, StepKind.APPROVED, REVIEWER, False),
    "reject": Transition(
        (S.UNDER_REVIEW, S.AWAITING_MATERIAL), S.REJECTED, StepKind.REJECTED, REVIEWER, True
    ),
    "revoke_approval": Transition(
        (S.APPROVED,), S.APPROVAL_REVOKED, StepKind.APPROVAL_REVOKED, REVIEWER, True
    ),
    "withdraw": Transition(OPEN_STATUSES, S.WITHDRAWN, StepKind.WITHDRAWN, APPLICANT, False),
}


def actions_for(application: Application) -> list[str]:
    """The review steps possible in the application's current state."""
    return [
        name
        for name, spec in TRANSITIONS.items()
        if spec.by == REVIEWER
        and application.status in spec.allowed_from
        and not (name == "extend" and application.extended)
    ]


def _set_clock(application: Application, *, start: dt.date, days: int) -> None:
    application.clock_from = start
    application.clock_days = days
    deadline = workdays.add_working_days(start, days)
    application.due_on = deadline.due_on
    application.due_provisional = deadline.provisional


def _stop_clock(application: Application) -> None:
    application.clock_from = application.clock_days = application.due_on = None
    application.due_provisional = False


def _write_step(application: Application, *, kind: str, actor, reason: str) -> Step:
    return Step.objects.create(
        application=application,
        kind=kind,
        status_after=application.status,
        actor=actor,
        actor_label=actor.get_username() if actor is not None else APPLICANT,
        reason=reason,
        due_on=application.due_on,
        due_provisional=application.due_provisional,
        request_id=current_request_id(),
    )


def check_can_review(*, actor, application: Application) -> None:
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(_("Only the reviewing department's staff can do this."))
    if actor.is_superuser:
        return
    if not application.department.staff.filter(pk=actor.pk).exists():
        raise PermissionDenied(
            _("You do not act for %(department)s, which reviews this application.")
            % {"department": application.department.display_name}
        )


def _check_deadline(action: str, application: Application, today: dt.date) -> None:
    if action == "extend":
        if application.extended:
            raise ValidationError(
                _("The time limit has already been extended once; it cannot be extended again.")
            )
        if application.due_on < today:
            raise ValidationError(
                _("The time limit ended on %(date)s; an overdue review cannot be extended.")
                % {"date": application.due_on.isoformat()}
            )
    if action == "supply_material" and application.due_on < today:
        raise ValidationError(
            _("The period for supplying material ended on %(date)s.")
            % {"date": application.due_on.isoformat()}
        )


def _apply(action: str, application: Application, *, actor, reason: str, today: dt.date) -> None:
    """What each step does besides changing the status."""
    record_reason = _("Credit repair application %(number)s") % {"number": application.number}
    if action == "accept":
        application.accepted_late = today > application.due_on
        # The decision is due 7 working days after acceptance, but never later than 10 after
        # submission: a late acceptance does not buy the department more time.
        submitted_on = timezone.localdate(application.submitted_at)
        review = workdays.add_working_days(today, settings.REPAIR_DECIDE_DAYS)
        overall = workdays.add_working_days(submitted_on, settings.REPAIR_OVERALL_DAYS)
        if overall.due_on < review.due_on:
            _set_clock(application, start=submitted_on, days=settings.REPAIR_OVERALL_DAYS)
        else:
            _set_clock(application, start=today, days=settings.REPAIR_DECIDE_DAYS)
    elif action == "request_material":
        application.review_days_left = workdays.working_days_between(today, application.due_on)
        _set_clock(application, start=today, days=settings.REPAIR_MATERIAL_DAYS)
    elif action == "supply_material":
        # The review clock restarts with what was left when material was asked for.
        _set_clock(application, start=today, days=application.review_days_left or 0)
        application.review_days_left = None
    elif action == "extend":
        application.extended = True
        _set_clock(
            application,
            start=application.clock_from,
            days=application.clock_days + settings.REPAIR_EXTENSION_DAYS,
        )
    elif action == "withdraw":
        # No decision is made: the record stays as it is, and a new application may be made.
        _stop_clock(application)
        application.review_days_left = None
    elif action in ("approve", "reject", "refuse"):
        _stop_clock(application)
        application.review_days_left = None
        application.decided_on = today
        application.decision_working_days = workdays.working_days_between(
            timezone.localdate(application.submitted_at), today
        )
        if action == "approve":
            disclosure_services.record_withdraw(
                record=application.record, actor=actor, reason=record_reason, reference=application.number
            )
    elif action == "revoke_approval":
        disclosure_services.record_redisclose(
            record=application.record,
            actor=actor,
            reason=_("Approval of %(number)s revoked: %(reason)s")
            % {"number": application.number, "reason": reason},
            reference=application.number,
        )
        RepairBar.objects.create(
            entity=application.entity,
            application=application,
            barred_from=today,
            # Counted like every other period (Civil Code Arts. 201-202): the day of revocation
            # is not counted, and the bar runs through the corresponding day.
            barred_until=rules.add_months(today, settings.REPAIR_BAR_YEARS * 12),
        )


def _transition(*, application: Application, action: str, actor, reason: str = "") -> Application:
    """The one transition of a repair application. In one transaction it:

    1. locks the application row (``select_for_update``) and reads its current state;
    2. checks that the action starts from that state (a second reviewer acting at once gets
       "somebody else was faster"), who may act (the reviewing department's staff, or the
       applicant holding the query code), that a reason is given where one is required, and
       the deadline the action must keep;
    3. runs the step's effect: the clock, the record's withdrawal or re-disclosure through the
       disclosure services (which write the agency feed event), the bar;
    4. saves the application with ``update_fields`` and writes a ``Step`` history row;
    5. after commit, mails the applicant.
    """
    spec = TRANSITIONS[action]
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if spec.by == REVIEWER:
            check_can_review(actor=actor, application=locked)
        if locked.status not in spec.allowed_from:
            raise ValidationError(
                _(
                    "Somebody else was faster: application %(number)s is now “%(status)s”, "
                    "so this step is no longer possible."
                )
                % {"number": locked.number, "status": locked.get_status_display()},
                code="state",
            )
        if spec.reason_required and not reason:
            raise ValidationError({"reason": _("Give a reason: the applicant is told why.")})
        today = timezone.localdate()
        _check_deadline(action, locked, today)
        locked.status = spec.to_status
        # The application's reason is its latest step's: an approval after a request for
        # material must not show the applicant that request as its reason.
        locked.reason = reason
        _apply(action, locked, actor=actor, reason=reason, today=today)
        locked.save(
            update_fields=[
                "status",
                "reason",
                "clock_from",
                "clock_days",
                "due_on",
                "due_provisional",
                "review_days_left",
                "extended",
                "accepted_late",
                "decided_on",
                "decision_working_days",
                "updated_at",
            ]
        )
        step = _write_step(
            locked, kind=spec.step, actor=actor if spec.by == REVIEWER else None, reason=reason
        )
        transaction.on_commit(lambda: _mail(locked, step), robust=True)
    return locked


def repair_accept(*, application: Application, reviewer) -> Application:
    return _transition(application=application, action="accept", actor=reviewer)


def repair_refuse(*, application: Application, reviewer, reason: str) -> Application:
    return _transition(application=application, action="refuse", actor=reviewer, reason=reason)


def repair_request_material(*, application: Application, reviewer, reason: str) -> Application:
    return _transition(application=application, action="request_material", actor=reviewer, reason=reason)


def repair_extend(*, application: Application, reviewer, reason: str) -> Application:
    return _transition(application=application, action="extend", actor=reviewer, reason=reason)


def repair_approve(*, application: Application, reviewer, reason: str = "") -> Application:
    return _transition(application=application, action="approve", actor=reviewer, reason=reason)


def repair_reject(*, application: Application, reviewer, reason: str) -> Application:
    return _transition(application=application, action="reject", actor=reviewer, reason=reason)


def repair_revoke_approval(*, application: Application, reviewer, reason: str) -> Application:
    return _transition(application=application, action="revoke_approval", actor=reviewer, reason=reason)


def repair_withdraw(*, application: Application, note: str = "") -> Application:
    """The applicant (holding the query code) withdraws an application that is still open.
    Nothing is decided: the record stays disclosed, and the entity may apply again."""
    return _transition(application=application, action="withdraw", actor=None, reason=note)


def repair_supply_material(*, application: Application, files: list, note: str = "") -> Application:
    """The applicant sends what was asked for. The files are checked and stored before the
    transaction and removed again if the step is refused."""
    if not files:
        raise ValidationError({"files": _("Attach the material that was asked for.")})
    try:
        inspected = evidence_files.inspect_all(files, already_stored=application.evidence.count())
    except ValidationError as exc:
        raise ValidationError({"files": exc.messages}) from None
    stored = _store_files(application, EvidenceKind.SUPPLEMENT, inspected)
    try:
        with transaction.atomic():
            updated = _transition(application=application, action="supply_material", actor=None, reason=note)
            Evidence.objects.bulk_create(stored)
    except BaseException:
        _delete_files(stored)
        raise
    return updated


# --- deadlines and mail ----------------------------------------------------------------------


def repair_recompute_deadlines() -> int:
    """Compute provisional due dates again (after a calendar library update that knows the
    new year's schedule). Returns how many changed."""
    changed = 0
    for application in Application.objects.open().filter(due_provisional=True):
        with transaction.atomic():
            locked = Application.objects.select_for_update().get(pk=application.pk)
            if not locked.due_provisional or locked.clock_from is None:
                continue
            before = (locked.due_on, locked.due_provisional)
            _set_clock(locked, start=locked.clock_from, days=locked.clock_days)
            if (locked.due_on, locked.due_provisional) != before:
                locked.save(update_fields=["due_on", "due_provisional", "updated_at"])
                changed += 1
    return changed


def _mail(application: Application, step: Step, *, query_code: str | None = None) -> None:
    with translation.override(application.language):
        context = {"application": application, "step": step, "query_code": query_code}
        subject = _("Credit repair application %(number)s: %(step)s") % {
            "number": application.number,
            "step": step.get_kind_display(),
        }
        body = render_to_string("repair/mail/step.txt", context)
    send_mail(subject, body, None, [application.email], fail_silently=False)
