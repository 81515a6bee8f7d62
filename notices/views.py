"""Notices, policy documents and the help pages."""

from types import SimpleNamespace

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from disclosure.models import DisclosureRuleSet
from repair.services import commitment_text

from .models import Notice, NoticeKind

KINDS = {"notices": NoticeKind.NOTICE, "policies": NoticeKind.POLICY}


@require_safe
def notice_list(request, kind="notices"):
    notices = Notice.objects.published().filter(kind=KINDS[kind])
    paginator = Paginator(notices, 20)
    errors = []
    page = None
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        errors = [_("The page number must be a whole number.")]
    except EmptyPage:
        errors = [
            _("There is no page %(page)s: the list has %(pages)d pages.")
            % {"page": request.GET.get("page"), "pages": paginator.num_pages}
        ]
    title = _("Notices") if kind == "notices" else _("Policy documents")
    return render(
        request,
        "notices/list.html",
        {"page": page, "title": title, "kind": kind, "errors": errors, "querystring": ""},
        status=400 if errors else 200,
    )


@require_safe
def notice_detail(request, pk):
    notice = Notice.objects.published().filter(pk=pk).first()
    if notice is None:
        raise Http404
    kind = "notices" if notice.kind == NoticeKind.NOTICE else "policies"
    return render(request, "notices/detail.html", {"notice": notice, "kind": kind})


@require_safe
def help_page(request):
    return render(request, "notices/help.html")


@require_safe
def rules_page(request):
    rule_sets = DisclosureRuleSet.objects.prefetch_related("rules").order_by("-effective_from")
    return render(request, "notices/rules.html", {"rule_sets": rule_sets})


@require_safe
def repair_guide(request):
    return render(request, "notices/repair_guide.html")


@require_safe
def commitment_template(request):
    """The credit commitment an applicant signs, as a text file to read and prepare offline."""
    blank = SimpleNamespace(
        entity=SimpleNamespace(name=_("[entity name]"), code=_("[18-character code]")),
        decision_number=_("[decision document number]"),
    )
    text = render_to_string(
        "notices/commitment_template.txt", {"commitment": commitment_text(record=blank)}, request
    )
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="credit-commitment.txt"'
    return response
