"""Issuing credit reports."""

from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from disclosure.models import Entity

from . import pdf, selectors, signing
from .models import Report, ReportKind
from .selectors import Scope

NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed
NUMBER_PREFIX = {ReportKind.PUBLIC: "PR", ReportKind.SPECIAL: "SR"}


def _new_number(kind: str, day) -> str:
    tail = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
    return f"{NUMBER_PREFIX[kind]}{day:%Y%m%d}-{tail}"


def normalize_number(raw: str) -> str:
    return "".join(raw.split()).upper()


def verify_url(*, site_url: str, number: str, language: str) -> str:
    with translation.override(language):
        path = reverse("reports:verify")
    return f"{site_url.rstrip('/')}{path}?number={number}"


def _check_scope(*, kind: str, departments, categories, window_months) -> None:
    if kind == ReportKind.PUBLIC:
        return
    errors = {}
    if not departments:
        errors["departments"] = _("Choose at least one field.")
    if not categories:
        errors["categories"] = _("Choose at least one kind of record.")
    if window_months not in selectors.WINDOW_CHOICES:
        errors["window_months"] = _("Choose a window of 12, 24 or 36 months.")
    if errors:
        raise ValidationError(errors)


def report_issue(
    *,
    entity: Entity,
    kind: str,
    language: str,
    site_url: str,
    departments: list[str] | tuple = (),
    categories: list[str] | tuple = (),
    window_months: int | None = None,
) -> Report:
    """Issue a report about ``entity`` as of now: read the records and the feed cursor at one
    moment, render the PDF in ``language``, sign it with the site's key, store it through the
    storage API and record what it stated.

    Raises ``signing.SigningUnavailable`` before doing anything when the site cannot sign:
    no report leaves unsigned. The file is written before the row (slow I/O outside the
    transaction) and deleted again if the row cannot be written.
    """
    _check_scope(kind=kind, departments=departments, categories=categories, window_months=window_months)
    key = signing.site_key()
    issued_at = timezone.now().replace(microsecond=0)
    on = timezone.localdate(issued_at)
    if kind == ReportKind.SPECIAL:
        scope = Scope.special(
            departments=departments, categories=categories, window_months=window_months, on=on
        )
    else:
        scope = Scope.public()
    data = selectors.report_data(entity=entity, scope=scope, on=on)
    number = _new_number(kind, on)
    with translation.override(language):
        issue = pdf.Issue(
            number=number,
            title=str(ReportKind(kind).label),
            issued_at=issued_at,
            verify_url=verify_url(site_url=site_url, number=number, language=language),
            certificate_sha256=key.sha256,
            signer=key.subject,
        )
        unsigned = pdf.render(data, issue)
        signed = signing.sign(
            unsigned,
            key=key,
            reason=_("%(title)s %(number)s") % {"title": issue.title, "number": number},
            location=site_url,
        )
    report = Report(
        number=number,
        kind=kind,
        entity=entity,
        language=language,
        issued_at=issued_at,
        disclosed_on=on,
        feed_cursor=data.feed_cursor,
        record_versions=data.record_versions,
        departments=list(scope.departments),
        categories=list(scope.categories),
        window_months=scope.window_months,
        window_start=scope.window_start,
        window_end=scope.window_end,
        pdf_sha256=hashlib.sha256(signed).hexdigest(),
        pdf_size=len(signed),
        signer_certificate_sha256=key.sha256,
    )
    report.pdf.save(f"{number}.pdf", ContentFile(signed), save=False)
    try:
        with transaction.atomic():
            report.save()
    except Exception:
        report.pdf.storage.delete(report.pdf.name)
        raise
    return report
