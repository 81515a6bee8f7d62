"""Credit report pages: issue (free, no login, rate limited), download, verify."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe
from django_ratelimit.decorators import ratelimit

from disclosure import selectors as disclosure_selectors
from disclosure.models import Entity, EntityKind

from . import selectors, services, signing
from .forms import IssueForm, VerifyFileForm, VerifyNumberForm
from .models import ReportKind

PAGE_RATE = settings.PAGE_RATE_LIMIT


# Read on each request, so a changed setting (and a test's) takes effect without a restart.
def _issue_rate(group, request):
    return settings.REPORT_RATE_LIMIT


def _verify_rate(group, request):
    return settings.REPORT_VERIFY_RATE_LIMIT


def _site_url(request) -> str:
    return settings.SITE_URL or request.build_absolute_uri("/")


def _signing_unavailable(request):
    response = render(request, "reports/unavailable.html", status=503)
    response["Retry-After"] = "3600"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(key="ip", rate=PAGE_RATE, method=["GET", "HEAD"], block=True)
@ratelimit(key="ip", rate=_issue_rate, method="POST", block=True)
def issue_for_entity(request, code):
    entity = disclosure_selectors.entity_by_code(code)
    if entity is None:
        raise Http404
    return _issue(request, entity)


@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(key="ip", rate=PAGE_RATE, method=["GET", "HEAD"], block=True)
@ratelimit(key="ip", rate=_issue_rate, method="POST", block=True)
def issue_for_person(request, pk):
    return _issue(request, get_object_or_404(Entity.objects, pk=pk, kind=EntityKind.NATURAL_PERSON))


def _issue(request, entity: Entity):
    """The report choices for an entity; POST issues one and goes to its verification page."""
    departments = list(selectors.report_departments())
    language = get_language()
    if request.method == "POST":
        form = IssueForm(request.POST, departments=departments)
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = services.report_issue(
                    entity=entity,
                    kind=data["kind"],
                    language=data["language"],
                    site_url=_site_url(request),
                    departments=data["departments"],
                    categories=data["categories"],
                    window_months=data["window_months"],
                )
            except signing.SigningUnavailable:
                return _signing_unavailable(request)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Report %(number)s is issued.") % {"number": report.number})
                return redirect(f"{reverse('reports:verify')}?{urlencode({'number': report.number})}")
        special = form if form.data.get("kind") == ReportKind.SPECIAL else None
        public = form if special is None else None
        status = 400
    else:
        public = special = None
        status = 200
    public = public or IssueForm(
        initial={"kind": ReportKind.PUBLIC, "language": language}, departments=departments
    )
    special = special or IssueForm(
        initial={"kind": ReportKind.SPECIAL, "language": language}, departments=departments
    )
    return render(
        request,
        "reports/issue.html",
        {
            "entity": entity,
            "public_form": public,
            "special_form": special,
            "recent": selectors.entity_reports(entity, limit=5),
        },
        status=status,
    )


@require_safe
@ratelimit(key="ip", rate=PAGE_RATE, block=True)
def report_pdf(request, number):
    """Exactly the file that was issued."""
    report = selectors.report_by_number(number)
    if report is None:
        raise Http404
    response = FileResponse(
        report.pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"{report.number}.pdf",
    )
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def _key_or_none():
    try:
        return signing.site_key()
    except signing.SigningUnavailable:
        return None


@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(key="ip", rate=_verify_rate, block=True)
def verify(request):
    """By number: what was issued and whether the records have changed since. With the file:
    whether it is exactly the one issued and its signature is the site's and intact."""
    context = {
        "number_form": VerifyNumberForm(request.GET or None),
        "file_form": VerifyFileForm(),
        "report": None,
        "key": _key_or_none(),
    }
    status = 200
    if request.method == "POST":
        file_form = VerifyFileForm(request.POST, request.FILES)
        context["file_form"] = file_form
        if not file_form.is_valid():
            return render(request, "reports/verify.html", context, status=400)
        content = file_form.cleaned_data["file"].read()
        digest = hashlib.sha256(content).hexdigest()
        report = selectors.report_by_sha256(digest)
        context["upload"] = {
            "sha256": digest,
            "size": len(content),
            "report": report,
            "signature": signing.check_signature(content, key=context["key"]) if context["key"] else None,
        }
        if report is not None:
            context["report"] = report
    elif context["number_form"].is_valid():
        number = services.normalize_number(context["number_form"].cleaned_data["number"])
        report = selectors.report_by_number(number)
        if report is None:
            context["unknown_number"] = number
            status = 404
        context["report"] = report
    if context["report"] is not None:
        context["changes"] = selectors.report_changes(context["report"], on=timezone.localdate())
        if context["report"].is_special:
            context["departments"], context["category_labels"] = selectors.report_scope_labels(
                context["report"]
            )
    return render(request, "reports/verify.html", context, status=status)


@require_safe
def certificate(request, fmt):
    """The site's signing certificate, to validate reports offline."""
    key = _key_or_none()
    if key is None:
        raise Http404
    if fmt == "pem":
        body, content_type = key.certificate_pem, "application/x-pem-file"
    else:
        body, content_type = key.certificate_der, "application/pkix-cert"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="credit-report-signing.{fmt}"'
    return response
