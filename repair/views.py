"""Credit repair pages: applying and following an application (no account: the application
number and query code are the key), the reviewers' queue, and the public statistics."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from disclosure import selectors as disclosure_selectors
from disclosure import views as disclosure_views
from disclosure.models import CreditRecord

from . import selectors, services
from .forms import ApplicationForm, MaterialForm, ReasonForm, StatusForm, WithdrawForm
from .models import ApplicationStatus, Evidence
from .pending import FIELDS as FILE_FIELDS
from .pending import PendingFiles

SESSION_KEY = "repair_access"
SUBMITTED_KEY = "repair_submitted"


def _grant(request, number: str) -> None:
    numbers = request.session.get(SESSION_KEY, [])
    if number not in numbers:
        request.session[SESSION_KEY] = [*numbers[-19:], number]


def _has_access(request, number: str) -> bool:
    return number in request.session.get(SESSION_KEY, [])


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _limits() -> dict:
    return {
        "accept": settings.REPAIR_ACCEPT_DAYS,
        "decide": settings.REPAIR_DECIDE_DAYS,
        "extension": settings.REPAIR_EXTENSION_DAYS,
        "bar_years": settings.REPAIR_BAR_YEARS,
        "max_files": settings.REPAIR_MAX_FILES,
        "max_file_bytes": settings.REPAIR_MAX_FILE_BYTES,
    }


@require_safe
def overview(request):
    return render(request, "repair/overview.html", {"status_form": StatusForm(), "limits": _limits()})


@never_cache
@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=settings.REPAIR_APPLY_RATE_LIMIT, method="POST", block=True)
def apply(request, record_id):
    try:
        record = disclosure_selectors.public_record(record_id)
    except CreditRecord.DoesNotExist:
        raise Http404 from None
    except disclosure_selectors.RecordGone:
        return disclosure_views.record_gone(request)
    refusals = selectors.eligibility_refusals(record=record)
    context = {"record": record, "entity": record.entity, "refusals": refusals}
    if refusals:
        return render(
            request, "repair/not_eligible.html", context, status=409 if request.method == "POST" else 200
        )
    commitment = services.commitment_text(record=record)
    form = ApplicationForm(request.POST or None, request.FILES or None)
    pending = PendingFiles(request, record.pk)
    if request.method == "POST":
        pending.keep_only(request.POST.getlist("keep_file"))
        if form.is_valid():
            data = dict(form.cleaned_data)
            for field in FILE_FIELDS:
                data[field] = data[field] + pending.files(field)
            try:
                submission = services.repair_submit(record=record, **data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                pending.clear()
                number = submission.application.number
                _grant(request, number)
                request.session[SUBMITTED_KEY] = {"number": number, "query_code": submission.query_code}
                return redirect("repair:submitted")
        for field in FILE_FIELDS:
            pending.stash(field, request.FILES.getlist(field))
    status = 400 if request.method == "POST" else 200
    kept = {field: pending.for_field(field) for field in FILE_FIELDS}
    context.update(form=form, commitment=commitment, limits=_limits(), kept=kept)
    return render(request, "repair/apply.html", context, status=status)


@never_cache
@sensitive_variables("receipt")
@require_safe
def submitted(request):
    """Shows the number and query code once: they leave the session as the page renders."""
    receipt = request.session.pop(SUBMITTED_KEY, None)
    if receipt is None:
        return redirect("repair:status")
    application = selectors.application_for_status(receipt["number"])
    return render(request, "repair/submitted.html", {"receipt": receipt, "application": application})


@never_cache
@sensitive_post_parameters("query_code")
@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=settings.REPAIR_STATUS_RATE_LIMIT, method="POST", block=True)
def status(request):
    form = StatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        application = selectors.application_for_status(form.cleaned_data["number"])
        if application and services.query_code_matches(application, form.cleaned_data["query_code"]):
            _grant(request, application.number)
            return redirect("repair:status_detail", number=application.number)
        # The same answer whether the number is unknown or the code wrong.
        form.add_error(
            None, _("No application matches this number and query code. Check both and try again.")
        )
    return render(request, "repair/status.html", {"form": form}, status=400 if form.errors else 200)


def _own_application(request, number):
    """The application whose query code this browser has given, or None."""
    if not _has_access(request, number):
        return None
    return selectors.application_for_status(number)


def _status_page(request, application, *, material_form=None, withdraw_form=None, status=200):
    return render(
        request,
        "repair/status_detail.html",
        {
            "application": application,
            "material_form": material_form or MaterialForm(),
            "withdraw_form": withdraw_form or WithdrawForm(),
            "S": ApplicationStatus,
        },
        status=status,
    )


@never_cache
@require_safe
def status_detail(request, number):
    application = _own_application(request, number)
    if application is None:
        return redirect("repair:status")
    return _status_page(request, application)


def _applicant_step(request, number, *, form_class, form_name, step, done):
    """A step the applicant takes on the status page: only with this browser's query code,
    the form checked, then the service; a refusal is shown in the form."""
    application = _own_application(request, number)
    if application is None:
        return redirect("repair:status")
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            step(application, form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("repair:status_detail", number=number)
    return _status_page(request, application, **{form_name: form}, status=400)


@never_cache
@require_POST
def withdraw(request, number):
    return _applicant_step(
        request,
        number,
        form_class=WithdrawForm,
        form_name="withdraw_form",
        step=lambda application, data: services.repair_withdraw(application=application, note=data["note"]),
        done=_("Your application is withdrawn. The record stays as it was."),
    )


@never_cache
@require_POST
@ratelimit(key="ip", rate=settings.REPAIR_APPLY_RATE_LIMIT, method="POST", block=True)
def supply_material(request, number):
    return _applicant_step(
        request,
        number,
        form_class=MaterialForm,
        form_name="material_form",
        step=lambda application, data: services.repair_supply_material(
            application=application, files=data["files"], note=data["note"]
        ),
        done=_("Thank you: the material was received and the review goes on."),
    )


@never_cache
@require_safe
def evidence_download(request, pk):
    """Only the applicant (holding the query code in this session) and the reviewing
    department's staff may download; anyone else gets a 404, as if the file did not exist."""
    item = Evidence.objects.select_related("application__department").filter(pk=pk).first()
    if item is None:
        raise Http404
    allowed = _has_access(request, item.application.number)
    if not allowed and request.user.is_authenticated:
        try:
            services.check_can_review(actor=request.user, application=item.application)
            allowed = True
        except PermissionDenied:
            allowed = False
    if not allowed:
        raise Http404
    response = FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=item.original_name,
        content_type=item.content_type,
    )
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_safe
@ratelimit(key="ip", rate=settings.PAGE_RATE_LIMIT, block=True)
def statistics(request):
    rows, total = selectors.repair_statistics()
    return render(request, "repair/statistics.html", {"rows": rows, "total": total})


# --- reviewers --------------------------------------------------------------------------------

ACTIONS = {
    "accept": (services.repair_accept, gettext_lazy("Accepted for review.")),
    "refuse": (services.repair_refuse, gettext_lazy("The application was not accepted.")),
    "request_material": (
        services.repair_request_material,
        gettext_lazy("The applicant was asked for more material."),
    ),
    "extend": (services.repair_extend, gettext_lazy("The time limit was extended.")),
    "approve": (services.repair_approve, gettext_lazy("Approved: the record is no longer disclosed.")),
    "reject": (services.repair_reject, gettext_lazy("The application was rejected.")),
    "revoke_approval": (
        services.repair_revoke_approval,
        gettext_lazy("Approval revoked: the record is disclosed again."),
    ),
}


@staff_member_required
@require_safe
def review_queue(request):
    show = "decided" if request.GET.get("show") == "decided" else "open"
    applications = list(selectors.review_queue(user=request.user, show=show))
    any_provisional = show == "open" and any(a.due_provisional for a in applications)
    return render(
        request,
        "repair/review_queue.html",
        {"applications": applications, "show": show, "any_provisional": any_provisional},
    )


# Steps that decide the application, or take a record out of public view or put it back:
# the reviewer confirms them on a second page.
CONFIRM = {"refuse", "approve", "reject", "revoke_approval"}


def _review_page(request, application, *, form=None, status=200):
    return render(
        request,
        "repair/review_detail.html",
        {
            "application": application,
            "form": form or ReasonForm(),
            "actions": services.actions_for(application),
            "record_public": CreditRecord.objects.disclosed().filter(pk=application.record_id).exists(),
        },
        status=status,
    )


@staff_member_required
@require_safe
def review_detail(request, number):
    application = selectors.application_for_review(user=request.user, number=number)
    if application is None:
        raise Http404
    return _review_page(request, application)


@staff_member_required
@require_POST
def review_act(request, number, action):
    if action not in ACTIONS:
        raise Http404
    application = selectors.application_for_review(user=request.user, number=number)
    if application is None:
        raise Http404
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _review_page(request, application, form=form, status=400)
    reason = form.cleaned_data["reason"]
    if action in CONFIRM and not form.cleaned_data["confirmed"]:
        if services.TRANSITIONS[action].reason_required and not reason.strip():
            form.add_error("reason", _("Give a reason: the applicant is told why."))
            return _review_page(request, application, form=form, status=400)
        return render(
            request,
            "repair/review_confirm.html",
            {"application": application, "action": action, "reason": reason, "label": ACTION_LABELS[action]},
        )
    service, done = ACTIONS[action]
    kwargs = {"application": application, "reviewer": request.user}
    if action != "accept":
        kwargs["reason"] = reason
    try:
        service(**kwargs)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            _add_errors(form, exc)
            return _review_page(request, application, form=form, status=400)
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("repair:review_detail", number=number)


ACTION_LABELS = {
    "accept": gettext_lazy("Accept"),
    "refuse": gettext_lazy("Refuse to accept"),
    "request_material": gettext_lazy("Ask for more material"),
    "extend": gettext_lazy("Extend the time limit"),
    "approve": gettext_lazy("Approve and withdraw the record"),
    "reject": gettext_lazy("Reject"),
    "revoke_approval": gettext_lazy("Revoke the approval (material false)"),
}
