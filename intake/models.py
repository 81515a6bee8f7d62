"""Department data intake (归集): batches of records submitted by departments, the keys their
systems submit with, each department's intake policy, and which records each batch touched.

Nothing here is a credit record: records are written only through ``disclosure.services``
(or ``intake.bulk``, which keeps the same guarantees); a batch links to the records it
created, corrected or revoked through ``RecordBatch``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from disclosure.models import CreditRecord, Department


class Channel(models.TextChoices):
    ADMIN = "admin", _("Admin upload")
    API = "api", _("Department API")
    COMMAND = "command", _("Command")


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("Queued: waiting for the intake worker")
    CHECKING = "checking", _("Checking the rows")
    IMPORTING = "importing", _("Importing")
    REJECTED = "rejected", _("Rejected: nothing written")
    AWAITING_RELEASE = "awaiting_release", _("Awaiting release by a second clerk")
    IMPORTED = "imported", _("Imported")
    UNDONE = "undone", _("Undone")
    FAILED = "failed", _("Failed: nothing written")


# A batch sent through the department API waits for a worker (``intake.queue``), which runs it
# through these states to a final one.
RUNNING = (BatchStatus.CHECKING, BatchStatus.IMPORTING)
WAITING = (BatchStatus.QUEUED, *RUNNING)


class DepartmentIntakePolicy(models.Model):
    """How a department's batches are handled. No row: the defaults."""

    department = models.OneToOneField(
        Department, on_delete=models.CASCADE, related_name="intake_policy", verbose_name=_("department")
    )
    requires_release = models.BooleanField(
        _("a second clerk releases each batch"),
        default=False,
        help_text=_(
            "Two-person review (双人复核): a checked batch waits until another clerk of the "
            "department releases it; nothing is published before."
        ),
    )

    class Meta:
        verbose_name = _("intake policy")
        verbose_name_plural = _("intake policies")

    def __str__(self):
        return str(self.department)


class DepartmentKey(models.Model):
    """A key a department's own system submits batches with: shown once when issued, stored
    only as its SHA-256 digest, good for its department only."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="intake_keys", verbose_name=_("department")
    )
    prefix = models.CharField(_("key prefix"), max_length=12, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("department API key")
        verbose_name_plural = _("department API keys")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.department})"

    # What DRF asks of request.user: the key stands for its department's system.
    is_authenticated = True
    is_anonymous = False


class Batch(models.Model):
    """One submitted file: who, when, by which path, what it was, what came of it."""

    number = models.CharField(_("batch number"), max_length=32, unique=True, editable=False)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="intake_batches", verbose_name=_("department")
    )
    channel = models.CharField(_("submitted through"), max_length=16, choices=Channel.choices)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    key = models.ForeignKey(
        DepartmentKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="batches",
        verbose_name=_("API key"),
    )  # fmt: skip
    submitted_label = models.CharField(_("submitted by"), max_length=200)
    submitted_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    file_size = models.BigIntegerField(_("file size (bytes)"))
    file_format = models.CharField(_("format"), max_length=8, blank=True)
    encoding = models.CharField(_("encoding"), max_length=16, blank=True)
    stored_file = models.CharField(max_length=300, blank=True, editable=False)
    import_valid_rows = models.BooleanField(
        _("import the valid rows"),
        default=False,
        help_text=_("Unticked (the default): one bad row and nothing is imported."),
    )
    status = models.CharField(_("status"), max_length=20, choices=BatchStatus.choices)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_refused = models.PositiveIntegerField(_("rows refused"), default=0)
    created = models.PositiveIntegerField(_("records created"), default=0)
    corrected = models.PositiveIntegerField(_("records corrected"), default=0)
    revoked = models.PositiveIntegerField(_("records revoked"), default=0)
    unchanged = models.PositiveIntegerField(_("rows unchanged"), default=0)
    entities_created = models.PositiveIntegerField(_("entities created"), default=0)
    entities_renamed = models.PositiveIntegerField(_("entities renamed"), default=0)
    file_error = models.TextField(_("file error"), blank=True)
    errors = models.JSONField(
        _("row errors"), default=list, blank=True, help_text="[{line, column, code, message}], every bad row."
    )
    error_counts = models.JSONField(default=dict, blank=True, help_text="Rows refused per error code.")
    imported_at = models.DateTimeField(_("imported"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("released by"),
    )  # fmt: skip
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("undone by"),
    )  # fmt: skip
    undo_reason = models.TextField(_("reason for undoing"), blank=True)
    seconds = models.FloatField(_("seconds taken"), default=0)
    # The worker's side, for batches sent through the API (``intake.queue``).
    language = models.CharField(
        max_length=16, blank=True, editable=False, help_text="The submitter's language: the report is written in it."
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, editable=False)
    worker = models.CharField(_("worker"), max_length=200, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(_("worker last seen"), null=True, blank=True, editable=False)
    failure = models.TextField(_("failure"), blank=True, editable=False)

    class Meta:
        verbose_name = _("intake batch")
        verbose_name_plural = _("intake batches")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["department", "-submitted_at"], name="batch_department_newest"),
            # The queue: the few batches waiting for a worker, oldest first.
            models.Index(fields=["submitted_at", "id"], condition=Q(status__in=[status.value for status in WAITING]), name="batch_waiting"),
        ]

    def __str__(self):
        return self.number


class RecordAction(models.TextChoices):
    CREATED = "created", _("Created")
    CORRECTED = "corrected", _("Corrected")
    REVOKED = "revoked", _("Revoked")


class RecordBatch(models.Model):
    """A record a batch created, corrected or revoked, from which line of its file, with what
    the department had stated before (to undo a correction)."""

    record = models.ForeignKey(CreditRecord, on_delete=models.PROTECT, related_name="intake_links")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="links")
    action = models.CharField(max_length=16, choices=RecordAction.choices)
    line = models.PositiveIntegerField()
    before = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("record of a batch")
        verbose_name_plural = _("records of a batch")
        constraints = [models.UniqueConstraint(fields=["batch", "record"], name="one_link_per_record_and_batch")]

    def __str__(self):
        return f"{self.batch_id} {self.action} {self.record_id}"
