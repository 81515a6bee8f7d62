"""Notices and policy documents that staff publish on the site, in both languages."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class NoticeKind(models.TextChoices):
    NOTICE = "notice", _("Notice")
    POLICY = "policy", _("Policy document")


class NoticeQuerySet(models.QuerySet):
    def published(self, *, on=None):
        """What the public sees: published, from its publication day on."""
        return self.filter(is_published=True, published_on__lte=on or timezone.localdate())


class Notice(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=NoticeKind.choices, default=NoticeKind.NOTICE)
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(
        _("English title"), max_length=200, blank=True, help_text=_("Shown on the English pages; the Chinese title when empty.")
    )
    body = models.TextField(_("text"), help_text=_("Plain text; an empty line starts a new paragraph."))
    body_en = models.TextField(_("English text"), blank=True, help_text=_("Shown on the English pages; the Chinese text when empty."))
    issuer = models.CharField(_("issued by"), max_length=200, blank=True)
    document_number = models.CharField(
        _("document number"), max_length=100, blank=True, help_text=_("For policy documents, e.g. 国家发展改革委令2025年第36号.")
    )
    published_on = models.DateField(_("published on"), default=timezone.localdate)
    is_published = models.BooleanField(
        _("published"), default=False, help_text=_("Only published notices are shown, from their publication day.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("notice or policy document")
        verbose_name_plural = _("notices and policy documents")
        ordering = ["-published_on", "-id"]
        indexes = [
            models.Index(fields=["-published_on", "-id"], condition=Q(is_published=True), name="notice_published")
        ]

    def __str__(self):
        return self.title

    def _english(self) -> bool:
        return (get_language() or "").startswith("en")

    @property
    def display_title(self) -> str:
        return self.title_en if self._english() and self.title_en else self.title

    @property
    def display_body(self) -> str:
        return self.body_en if self._english() and self.body_en else self.body

    @property
    def paragraphs(self) -> list[str]:
        return [part.strip() for part in self.display_body.replace("\r\n", "\n").split("\n\n") if part.strip()]
