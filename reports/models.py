"""Issued credit reports: what was given to whom, provable afterwards.

Every issued PDF is kept, byte for byte, through Django's storage API; its row says what it
stated: the entity, the moment of issue, the feed cursor, and the exact (record id, published
version) pairs it showed, so "changed since" is a comparison, not a guess.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from disclosure.models import Entity


class ReportKind(models.TextChoices):
    PUBLIC = "public", _("Public credit information report")
    SPECIAL = "special", _("Special credit report")


def report_path(instance: Report, filename: str) -> str:
    return f"reports/{instance.issued_at:%Y/%m/%d}/{instance.number}.pdf"


class Report(models.Model):
    number = models.CharField(_("report number"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ReportKind.choices)
    entity = models.ForeignKey(
        Entity, on_delete=models.PROTECT, related_name="credit_reports", verbose_name=_("entity")
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    issued_at = models.DateTimeField(_("issued at"))
    disclosed_on = models.DateField(
        _("disclosure as of"), help_text=_("The day whose disclosed records the report states.")
    )
    feed_cursor = models.BigIntegerField(
        _("feed cursor"), help_text=_("The agency feed's head when the records were read.")
    )
    record_versions = models.JSONField(
        _("records shown"),
        default=list,
        help_text=_("[record id, published version] of every record in the report, by id."),
    )
    # Special reports only: the fields (departments), the kinds of record and the window of
    # decision dates they state.
    departments = models.JSONField(_("fields"), default=list, blank=True)
    categories = models.JSONField(_("categories"), default=list, blank=True)
    window_months = models.PositiveSmallIntegerField(_("window (months)"), null=True, blank=True)
    window_start = models.DateField(_("decided from"), null=True, blank=True)
    window_end = models.DateField(_("decided until"), null=True, blank=True)

    pdf = models.FileField(upload_to=report_path, max_length=200)
    pdf_sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64, unique=True)
    pdf_size = models.PositiveIntegerField(_("size (bytes)"))
    signer_certificate_sha256 = models.CharField(_("signing certificate (SHA-256)"), max_length=64)

    class Meta:
        verbose_name = _("credit report")
        verbose_name_plural = _("credit reports")
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["entity", "-issued_at"], name="report_entity_issued")]
        constraints = [
            models.CheckConstraint(
                name="report_window_only_for_special",
                condition=(
                    Q(
                        kind=ReportKind.SPECIAL,
                        window_start__isnull=False,
                        window_end__isnull=False,
                        window_start__lte=models.F("window_end"),
                    )
                    | Q(kind=ReportKind.PUBLIC, window_start__isnull=True, window_end__isnull=True)
                ),
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_special(self) -> bool:
        return self.kind == ReportKind.SPECIAL
