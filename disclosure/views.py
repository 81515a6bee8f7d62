"""The public pages: free, no login, server-rendered, in Chinese and English."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from django_ratelimit.decorators import ratelimit

from . import identity, search, selectors, uscc
from .forms import ListFilterForm, SearchForm
from .models import CreditRecord, Entity, EntityKind
from .rules import Category

SEARCH_RATE = settings.SEARCH_RATE_LIMIT
CODE_CHARACTERS = re.compile(r"[0-9A-Z]+")
PAGE_RATE = settings.PAGE_RATE_LIMIT


def _conditional(request, render_page, *, etag: str, last_modified):
    """Answer 304 when the client's copy is current; otherwise render, with validators.
    ``no-cache``: caches must ask again every time, so a withdrawal shows at once."""
    etag = f'"{etag}"'
    timestamp = int(last_modified.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=timestamp)
    if response is None:
        response = render_page()
    response["ETag"] = etag
    response["Last-Modified"] = http_date(timestamp)
    patch_cache_control(response, no_cache=True)
    return response


@require_safe
def home(request):
    counts = selectors.site_counts()
    by_category = [(Category(code).label, count) for code, count in counts["by_category"]]
    return render(
        request,
        "disclosure/home.html",
        {"form": SearchForm(), "counts": counts, "by_category": by_category, "lists": _lists()},
    )


def _lists():
    return [
        ("serious-dishonesty", _("Serious-dishonesty lists")),
        ("red", _("Red lists")),
        ("abnormal-operation", _("Abnormal-operation list")),
    ]


@require_safe
@ratelimit(key="ip", rate=SEARCH_RATE, block=True)
def search_view(request):
    form = SearchForm(request.GET or None)
    context = {"form": form, "page": None, "code_error": None, "message": None}
    if not request.GET:
        return render(request, "disclosure/search.html", context)
    if not form.is_valid():
        context["message"] = " ".join(form.errors.get("q", [])) or _("Check the filters.")
        return render(request, "disclosure/search.html", context, status=400)
    q = form.cleaned_data["q"]
    if not q:
        context["message"] = _("Enter a Unified Social Credit Code or a name to search.")
        return render(request, "disclosure/search.html", context)

    normalized = uscc.normalize(q)
    if len(normalized) == 18:
        try:
            number = identity.validate(normalized)
        except ValidationError:
            number = None
        if number:
            person = selectors.person_by_identity_number(number)
            if person:
                return redirect("disclosure:person", pk=person.pk)
    if uscc.looks_like_code(q):
        try:
            code = uscc.validate(q)
        except ValidationError as exc:
            context["code_error"] = exc.messages[0]
        else:
            entity = selectors.entity_by_code(code)
            if entity:
                return redirect("disclosure:entity", code=entity.code)
            context["message"] = _("No entity with the code %(code)s is published here.") % {"code": code}

    filters = search.Filters(
        kind=form.cleaned_data["kind"],
        province=form.cleaned_data["province"],
        category=form.cleaned_data["category"],
    )
    context["page"] = search.search(q, page=form.cleaned_data["page"], filters=filters)
    context["filters_active"] = bool(filters)
    query = request.GET.copy()
    query.pop("page", None)
    context["querystring"] = query.urlencode()
    return render(request, "disclosure/search.html", context)


PAGE_CACHE_SECONDS = 600


def _profile_response(request, entity: Entity):
    """An entity's page. The rendered page is cached under its ETag, which changes with
    every change to the entity or its records and at midnight: a cached page is never stale."""
    etag, modified = selectors.entity_version(entity)

    def render_page():
        key = f"page:entity:{etag}:{get_language()}"
        html = cache.get(key)
        if html is None:
            profile = selectors.entity_profile(entity)
            html = render_to_string("disclosure/entity.html", {"profile": profile, "entity": entity}, request)
            cache.set(key, html, PAGE_CACHE_SECONDS)
        return HttpResponse(html)

    return _conditional(request, render_page, etag=etag, last_modified=modified)


@require_safe
@ratelimit(key="ip", rate=PAGE_RATE, block=True)
def entity_detail(request, code):
    canonical = uscc.normalize(code)
    if not CODE_CHARACTERS.fullmatch(canonical):
        # Folded to nothing ("-", an ideographic space) or to something no code holds (a
        # full-width slash becomes "/"): no entity has it, and there is no address to send
        # the visitor to.
        raise Http404
    if canonical != code:
        return redirect("disclosure:entity", code=canonical, permanent=True)
    entity = selectors.entity_by_code(code)
    if entity is None:
        raise Http404
    return _profile_response(request, entity)


@require_safe
@ratelimit(key="ip", rate=PAGE_RATE, block=True)
def person_detail(request, pk):
    entity = get_object_or_404(Entity.objects, pk=pk, kind=EntityKind.NATURAL_PERSON)
    return _profile_response(request, entity)


def record_gone(request):
    """410 for a record no longer published: say so, and nothing else (not why, not what it
    said). Also what the repair form answers for such a record."""
    response = render(request, "disclosure/record_gone.html", status=410)
    patch_cache_control(response, no_cache=True)
    return response


@require_safe
@ratelimit(key="ip", rate=PAGE_RATE, block=True)
def record_detail(request, pk):
    try:
        record = selectors.public_record(pk)
    except CreditRecord.DoesNotExist:
        raise Http404 from None
    except selectors.RecordGone:
        return record_gone(request)
    etag, modified = selectors.record_version(record)
    return _conditional(
        request,
        lambda: render(request, "disclosure/record.html", {"record": record, "entity": record.entity}),
        etag=etag,
        last_modified=modified,
    )


@require_safe
@ratelimit(key="ip", rate=PAGE_RATE, block=True)
def list_view(request, slug):
    if slug not in selectors.PUBLIC_LISTS:
        raise Http404
    departments = list(selectors.list_departments(slug))
    form = ListFilterForm(request.GET or None, departments=departments)
    province = department = ""
    page_number = 1
    if form.is_valid():
        province = form.cleaned_data["province"]
        department = form.cleaned_data["department"]
        page_number = form.cleaned_data["page"] or 1
    entries = selectors.list_entries(slug, province=province, department=department)
    page = Paginator(entries, 20).get_page(page_number)
    query = request.GET.copy()
    query.pop("page", None)
    title = dict(_lists())[slug]
    return render(
        request,
        "disclosure/list.html",
        {"form": form, "page": page, "title": title, "slug": slug, "querystring": query.urlencode()},
        status=200 if form.is_valid() or not request.GET else 400,
    )


@require_safe
@ratelimit(key="ip", rate=PAGE_RATE, block=True)
def late_agencies(request):
    """Credit service agencies whose copies lag: the rules allow naming them."""
    days = settings.AGENCY_LATE_DAYS
    now = timezone.now()
    lags = [(lag, lag.days_behind(now)) for lag in selectors.agencies_late(days=days, now=now)]
    return render(request, "disclosure/late_agencies.html", {"lags": lags, "days": days})


def rate_limited(request, exception):
    """Past the per-client limit: a plain 429 that says when to come back."""
    response = render(request, "429.html", status=429)
    response["Retry-After"] = "60"
    return response


def robots_txt(request):
    lines = ["User-agent: *", "Disallow: /search/", "Disallow: /en/search/", "Disallow: /admin/"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
