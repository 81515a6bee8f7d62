"""Credit repair applications, their evidence, their history, and the bar on entities whose
approval was revoked because the material proved false."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from disclosure.models import CreditRecord, Department, Entity
from ops.fields import request_id_field


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted, awaiting acceptance")
    UNDER_REVIEW = "under_review", _("Accepted, under review")
    AWAITING_MATERIAL = "awaiting_material", _("More material requested")
    NOT_ACCEPTED = "not_accepted", _("Not accepted")
    APPROVED = "approved", _("Approved: record withdrawn")
    REJECTED = "rejected", _("Rejected")
    APPROVAL_REVOKED = "approval_revoked", _("Approval revoked")
    WITHDRAWN = "withdrawn", _("Withdrawn by the applicant")


OPEN_STATUSES = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.UNDER_REVIEW,
    ApplicationStatus.AWAITING_MATERIAL,
)
# Whose move it is while an application is open: the department's, except while the
# applicant is asked for material.
DEPARTMENT_TURN = (ApplicationStatus.SUBMITTED, ApplicationStatus.UNDER_REVIEW)


class ApplicationQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, *, on: dt.date | None = None):
        """Applications waiting on the department past their due date."""
        return self.filter(status__in=DEPARTMENT_TURN, due_on__lt=on or timezone.localdate())

    def for_reviewer(self, user):
        if user.is_superuser:
            return self
        return self.filter(department__staff=user)


class Application(models.Model):
    number = models.CharField(_("application number"), max_length=24, unique=True, editable=False)
    query_code_digest = models.CharField(max_length=64, editable=False)
    record = models.ForeignKey(
        CreditRecord,
        on_delete=models.PROTECT,
        related_name="repair_applications",
        verbose_name=_("record"),
    )
    # Copied from the record when the application is made: who reviews it, and whom a bar hits.
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="repair_applications",
        verbose_name=_("reviewing department"),
    )
    entity = models.ForeignKey(
        Entity, on_delete=models.PROTECT, related_name="repair_applications", verbose_name=_("entity")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )

    contact_person = models.CharField(_("contact person"), max_length=100)
    phone = models.CharField(_("phone"), max_length=30)
    email = models.EmailField(_("email"))
    statement = models.TextField(_("statement of correction"))
    commitment_text = models.TextField(_("credit commitment signed"))
    commitment_signatory = models.CharField(_("signed by"), max_length=100)
    language = models.CharField(max_length=10, default="zh-hans", editable=False)

    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    # The clock: the due date is `clock_days` working days after `clock_from`. Kept apart so
    # a provisional due date can be computed again when the holiday schedule is published.
    clock_from = models.DateField(null=True, blank=True, editable=False)
    clock_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    due_on = models.DateField(_("next step due"), null=True, blank=True, editable=False)
    due_provisional = models.BooleanField(default=False, editable=False)
    # While the applicant is asked for material the review clock stops; this is what is left.
    review_days_left = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    extended = models.BooleanField(_("time limit extended"), default=False, editable=False)
    accepted_late = models.BooleanField(_("accepted late"), default=False, editable=False)
    decided_on = models.DateField(_("decided on"), null=True, blank=True, editable=False)
    decision_working_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    reason = models.TextField(_("reason given"), blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("repair application")
        verbose_name_plural = _("repair applications")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["record"],
                condition=Q(status__in=OPEN_STATUSES),
                name="one_open_application_per_record",
                violation_error_message=_("An application for this record is already under way."),
            ),
            models.CheckConstraint(
                name="application_due_with_clock",
                condition=Q(due_on__isnull=True) | Q(clock_from__isnull=False, clock_days__isnull=False),
            ),
        ]
        indexes = [
            models.Index(
                fields=["department", "due_on"],
                condition=Q(status__in=OPEN_STATUSES),
                name="application_queue",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_departments_turn(self) -> bool:
        return self.status in DEPARTMENT_TURN

    def is_overdue(self, on: dt.date | None = None) -> bool:
        return (
            self.is_departments_turn
            and self.due_on is not None
            and self.due_on < (on or timezone.localdate())
        )


class EvidenceKind(models.TextChoices):
    FULFILMENT = "fulfilment", _("Proof of correction and fulfilment")
    REPRESENTATION = "representation", _("Proof of representation or letter of authorization")
    SUPPLEMENT = "supplement", _("Further material")


def evidence_path(instance: Evidence, filename: str) -> str:
    # Never the applicant's file name: it is kept in `original_name` for display only.
    return f"repair/{instance.application.number}/{uuid.uuid4().hex}.{instance.extension}"


class Evidence(models.Model):
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(_("kind"), max_length=20, choices=EvidenceKind.choices)
    file = models.FileField(upload_to=evidence_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=50)
    extension = models.CharField(max_length=5)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class StepKind(models.TextChoices):
    SUBMITTED = "submitted", _("Application submitted")
    ACCEPTED = "accepted", _("Accepted for review")
    NOT_ACCEPTED = "not_accepted", _("Not accepted")
    MATERIAL_REQUESTED = "material_requested", _("More material requested")
    MATERIAL_SUPPLIED = "material_supplied", _("Material supplied")
    EXTENDED = "extended", _("Time limit extended")
    APPROVED = "approved", _("Approved: record withdrawn")
    REJECTED = "rejected", _("Rejected")
    APPROVAL_REVOKED = "approval_revoked", _("Approval revoked: record disclosed again")
    WITHDRAWN = "withdrawn", _("Withdrawn by the applicant")


class Step(models.Model):
    """One step in an application's history: append-only, shown to the applicant."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    status_after = models.CharField(max_length=20, choices=ApplicationStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    due_on = models.DateField(null=True, blank=True)
    due_provisional = models.BooleanField(default=False)
    request_id = request_id_field()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.application.number} {self.kind}"


class RepairBar(models.Model):
    """An entity whose approval was revoked for false material may not apply again until
    ``barred_until`` (inclusive)."""

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="repair_bars")
    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="bar")
    barred_from = models.DateField()
    barred_until = models.DateField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="bar_in_order", condition=Q(barred_from__lte=models.F("barred_until"))
            )
        ]

    def __str__(self):
        return f"{self.entity} until {self.barred_until}"
