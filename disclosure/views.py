"""The public pages: free, no login, server-rendered, in Chinese and English."""

from __future__ import annotations

import csv
import re
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from django_ratelimit.decorators import ratelimit
from django_ratelimit.exceptions import Ratelimited

from notices.models import Notice

from . import identity, pagecache, search, selectors, uscc
from .api.agency import csv_cell
from .filters import EntitySearchFilter, RecordListFilter
from .forms import SearchForm
from .models import CreditRecord, Entity, EntityKind
from .rules import Category

SEARCH_RATE = settings.SEARCH_RATE_LIMIT
CODE_CHARACTERS = re.compile(r"[0-9A-Z]+")
PAGE_RATE = settings.PAGE_RATE_LIMIT
# The public pages' rate limit: by address, under each view's own counter.
PAGE_LIMIT = {"key": "ip", "rate": PAGE_RATE}


def page_limited(view):
    """``PAGE_LIMIT`` on ``view``, counted once a request: by ``KeptPageMiddleware`` when it
    served or refused the page from the cache (``request.page_limit_counted``), else here."""
    counting = ratelimit(**PAGE_LIMIT, block=True)(view)

    @wraps(view)
    def limited(request, *args, **kwargs):
        if not getattr(request, "page_limit_counted", False):
            return counting(request, *args, **kwargs)
        if request.limited:
            raise Ratelimited()
        return view(request, *args, **kwargs)

    return limited


def _conditional(request, render_page, *, etag: str, last_modified):
    """Answer 304 when the client's copy is current; otherwise render, with validators
    (``pagecache.validate``: ``no-cache``, so a withdrawal shows at once)."""
    etag = f'"{etag}"'
    timestamp = int(last_modified.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=timestamp)
    if response is None:
        response = render_page()
    pagecache.validate(response, etag, timestamp)
    return response


@require_safe
def home(request):
    counts = selectors.site_counts()
    by_category = [
        (Category(code).label, count, selectors.CATEGORY_SLUGS[code]) for code, count in counts["by_category"]
    ]
    return render(
        request,
        "disclosure/home.html",
        {
            "form": SearchForm(),
            "counts": counts,
            "by_category": by_category,
            "lists": _lists(),
            "notices": Notice.objects.published()[:5],
        },
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
    filterset = EntitySearchFilter(request.GET or None, queryset=Entity.objects.none())
    context = {
        "form": form,
        "filter_form": filterset.form,
        "page": None,
        "code_error": None,
        "message": None,
        "did_you_mean": None,
    }
    if not request.GET:
        return render(request, "disclosure/search.html", context)
    if not (form.is_valid() and filterset.is_valid()):
        # One behaviour for every page: a parameter the site cannot read is a 400 that says
        # which and why, and lists nothing.
        context["errors"] = _form_errors(form, filterset.form)
        return render(request, "disclosure/search.html", context, status=400)
    q = form.cleaned_data["q"]
    if not q:
        context["message"] = _("Enter a Unified Social Credit Code or a name to search.")
        return render(request, "disclosure/search.html", context)

    normalized = uscc.normalize(q)
    if len(normalized) == 18 and normalized[:17].isdigit():
        try:
            number = identity.validate(normalized)
        except ValidationError:
            number = None
        if number:
            # A resident identity number: never a code, never a name.
            person = selectors.person_by_identity_number(number)
            if person:
                return redirect("disclosure:person", pk=person.pk)
            context["message"] = _(
                "No natural person with this identity number is published here. Only natural persons "
                "in key professions with a disclosed record are."
            )
            return render(request, "disclosure/search.html", context)
    if uscc.looks_like_code(q):
        try:
            code = uscc.validate(q)
        except ValidationError as exc:
            context["code_error"] = exc.messages[0]
            context["did_you_mean"] = _corrected_code(normalized)
        else:
            # The commonest search: a code someone copied. Where it leads is kept too (an
            # entity created with the code renews the code's token).
            kept, fill = pagecache.lookup(pagecache.page_key("search-code", code), pagecache.code_token_key(code))
            if kept is not None:
                return kept.page(request)
            entity = selectors.entity_by_code(code)
            if entity:
                response = redirect("disclosure:entity", code=entity.code)
                fill.keep(pagecache.Entry(etag="", modified=None, status=302, location=response["Location"]))
                return response
            context["message"] = _(
                "No entity with the code %(code)s is published here. Check the code against the "
                "business licence, or search by the entity's name."
            ) % {"code": code}
            return render(request, "disclosure/search.html", context)

    data = filterset.form.cleaned_data
    filters = search.Filters(
        kind=data.get("kind") or "", province=data.get("province") or "", category=data.get("category") or ""
    )
    page = search.search(q, page=form.cleaned_data["page"], filters=filters)
    if page.total and form.cleaned_data["page"] > page.pages:
        context["errors"] = [
            _("There is no page %(page)d: the results have %(pages)d pages.")
            % {"page": form.cleaned_data["page"], "pages": page.pages}
        ]
        return render(request, "disclosure/search.html", context, status=400)
    context["page"] = page
    context["summaries"] = selectors.record_summaries([hit.entity.pk for hit in page.hits])
    context["filters_active"] = bool(filters)
    query = request.GET.copy()
    query.pop("page", None)
    context["querystring"] = query.urlencode()
    return render(request, "disclosure/search.html", context)


def _form_errors(*forms) -> list[str]:
    """Every error of ``forms`` as "Label: message", for the summary above a form."""
    from .templatetags.disclosure_tags import colon

    found = []
    for form in forms:
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            found.extend(f"{label}{colon()}{error}" if label else str(error) for error in errors)
    return found


def _corrected_code(normalized: str) -> str | None:
    """The code with its check character put right, when an entity has it: people mistype the
    last character more than any other."""
    if len(normalized) != uscc.LENGTH or not CODE_CHARACTERS.fullmatch(normalized):
        return None
    try:
        corrected = normalized[:17] + uscc.check_character(normalized[:17])
    except (KeyError, ValueError):
        return None
    if corrected == normalized:
        return None
    return corrected if selectors.entity_by_code(corrected) else None


PAGE_CACHE_SECONDS = 600


def _profile_response(request, entity: Entity, fill: pagecache.Filling):
    """An entity's page. With the shared page cache it is kept there (``pagecache``: dropped
    by the next write to the entity or its records). Without it, the rendered page is kept in
    the process under its ETag, which changes with every change to the entity or its records
    and at midnight: a kept page is never stale either way."""
    etag, modified = selectors.entity_version(entity)

    def render_page():
        if pagecache.enabled():
            html = _render_profile(request, entity)
            fill.keep(pagecache.Entry(etag=f'"{etag}"', modified=int(modified.timestamp()), body=html.encode()))
            return HttpResponse(html)
        if request.GET:
            # The page's language links carry the query string: another visitor's page must not.
            return HttpResponse(_render_profile(request, entity))
        key = f"page:entity:{etag}:{get_language()}"
        html = cache.get(key)
        if html is None:
            html = _render_profile(request, entity)
            cache.set(key, html, PAGE_CACHE_SECONDS)
        return HttpResponse(html)

    return _conditional(request, render_page, etag=etag, last_modified=modified)


def _render_profile(request, entity: Entity) -> str:
    profile = selectors.entity_profile(entity)
    return render_to_string("disclosure/entity.html", {"profile": profile, "entity": entity}, request)


def _canonical_code(code: str) -> str | None:
    """The code as its page's address spells it (``entity_detail`` redirects other spellings
    there), or None if no code is spelt so."""
    canonical = uscc.normalize(code)
    return canonical if CODE_CHARACTERS.fullmatch(canonical) else None


def _entity_lookup(request, code):
    return pagecache.lookup(pagecache.page_key("entity", code), pagecache.code_token_key(code), request=request)


def _entity_kept(request, code):
    """``KeptPageMiddleware``'s look: only at the page's own address."""
    return _entity_lookup(request, code) if _canonical_code(code) == code else None


@require_safe
@page_limited
def entity_detail(request, code):
    canonical = _canonical_code(code)
    if canonical is None:
        # Folded to nothing ("-", an ideographic space) or to something no code holds (a
        # full-width slash becomes "/"): no entity has it, and there is no address to send
        # the visitor to.
        raise Http404
    if canonical != code:
        return redirect("disclosure:entity", code=canonical, permanent=True)
    kept, fill = _entity_lookup(request, code)
    if kept is not None:
        return kept.page(request)
    entity = selectors.entity_by_code(code)
    if entity is None:
        raise Http404
    return _profile_response(request, entity, fill)


def _numbered(request, pk) -> bool:
    """Whether the page was asked for at its own address: ``/persons/7/``, not ``/persons/07/``
    (the same page, whose language links would carry the zero)."""
    return request.path_info.endswith(f"/{pk}/")


def _person_kept(request, pk):
    if not _numbered(request, pk):
        return None
    return pagecache.lookup(pagecache.page_key("person", pk), pagecache.entity_token_key(pk), request=request)


@require_safe
@page_limited
def person_detail(request, pk):
    if not _numbered(request, pk):
        return redirect("disclosure:person", pk=pk, permanent=True)
    kept, fill = _person_kept(request, pk)
    if kept is not None:
        return kept.page(request)
    entity = get_object_or_404(Entity.objects, pk=pk, kind=EntityKind.NATURAL_PERSON)
    return _profile_response(request, entity, fill)


def record_gone(request):
    """410 for a record no longer published: say so, and nothing else (not why, not what it
    said). Also what the repair form answers for such a record."""
    response = render(request, "disclosure/record_gone.html", status=410)
    patch_cache_control(response, no_cache=True)
    return response


def read_public_record(fill: pagecache.Filling, pk: int) -> CreditRecord:
    """``selectors.public_record``, read after the token of the record's entity is taken (a
    record's page and API answer are dropped with its entity's token)."""
    entity_id = None if fill.spoiled else selectors.record_entity_id(pk)
    if entity_id is not None:
        fill.depend(pagecache.entity_token_key(entity_id))
    record = selectors.public_record(pk)
    if record.entity_id != entity_id:
        # Moved to another entity by a correction in between: serve it, keep nothing.
        fill.spoiled = True
    return record


def _record_kept(request, pk):
    if not _numbered(request, pk):
        return None
    return pagecache.lookup(pagecache.page_key("record", pk), request=request)


@require_safe
@page_limited
def record_detail(request, pk):
    if not _numbered(request, pk):
        return redirect("disclosure:record", pk=pk, permanent=True)
    kept, fill = _record_kept(request, pk)
    if kept is not None:
        return kept.page(request)
    try:
        record = read_public_record(fill, pk)
    except CreditRecord.DoesNotExist:
        raise Http404 from None
    except selectors.RecordGone:
        return record_gone(request)
    etag, modified = selectors.record_version(record)

    def render_page():
        response = render(request, "disclosure/record.html", {"record": record, "entity": record.entity})
        fill.keep(pagecache.Entry(etag=f'"{etag}"', modified=int(modified.timestamp()), body=response.content))
        return response

    return _conditional(request, render_page, etag=etag, last_modified=modified)


PER_PAGE = 20
CSV_COLUMNS = [
    ("entity", "entity__name"),
    ("identifier", None),
    ("kind_of_record", None),
    ("category", None),
    ("department", None),
    ("decision_number", "decision_number"),
    ("decision_date", "decision_date"),
    ("disclosed_until", "disclosure_end"),
    ("url", None),
]


def _list_kept(request, kind, slug):
    key = pagecache.page_key("list", kind, slug, request.META.get("QUERY_STRING", ""))
    return pagecache.lookup(key, pagecache.LISTS, request=request, query_in_key=True)


def _list_page(request, *, slug, title, categories, kind):
    """A public list or a category page: filters, numbered pages, CSV export. The first
    pages without filters, the ones most people open, are kept in the shared page cache."""
    page_number = request.GET.get("page", "1")
    if pagecache.enabled() and set(request.GET) <= {"page"} and page_number in pagecache.LIST_PAGE_NUMBERS_KEPT:
        kept, fill = _list_kept(request, kind, slug)
        if kept is not None:
            return kept.page(request)
        response = _render_list_page(request, slug=slug, title=title, categories=categories, kind=kind)
        if response.status_code == 200:
            etag = pagecache.body_etag(response.content)
            fill.keep(pagecache.Entry(etag=etag, modified=None, body=response.content))
            # The browser's copy may be current although the cache had none.
            response = get_conditional_response(request, etag=etag) or response
            pagecache.validate(response, etag, None)
        return response
    return _render_list_page(request, slug=slug, title=title, categories=categories, kind=kind)


def _render_list_page(request, *, slug, title, categories, kind):
    filterset = RecordListFilter(request.GET or None, queryset=selectors.list_entries(categories), categories=categories)
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "title": title,
        "slug": slug,
        "kind": kind,
        "page": None,
        "errors": [],
    }
    query = request.GET.copy()
    query.pop("page", None)
    context["querystring"] = query.urlencode()
    if filterset.is_bound and not filterset.is_valid():
        context["errors"] = _form_errors(filterset.form)
        return render(request, "disclosure/list.html", context, status=400)
    paginator = Paginator(filterset.qs, PER_PAGE)
    try:
        context["page"] = paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        context["errors"] = [_("The page number must be a whole number.")]
    except EmptyPage:
        context["errors"] = [
            _("There is no page %(page)s: the list has %(pages)d pages.")
            % {"page": request.GET.get("page"), "pages": paginator.num_pages}
        ]
    status = 400 if context["errors"] else 200
    return render(request, "disclosure/list.html", context, status=status)


def _list_csv(request, *, slug, categories):
    filterset = RecordListFilter(request.GET or None, queryset=selectors.list_entries(categories), categories=categories)
    if filterset.is_bound and not filterset.is_valid():
        return HttpResponse(
            "\n".join(_form_errors(filterset.form)) + "\n", status=400, content_type="text/plain; charset=utf-8"
        )
    base = request.build_absolute_uri("/")[:-1]

    def rows():
        writer = csv.writer(_Echo())
        # A byte order mark: spreadsheet programs then read the file as UTF-8.
        yield "\ufeff" + writer.writerow([name for name, _field in CSV_COLUMNS])
        for record in filterset.qs.iterator(chunk_size=2000):
            values = [
                record.entity.name,
                record.entity.public_identifier,
                record.catalog_item.name,
                record.catalog_item.category,
                record.department.name,
                record.decision_number,
                record.decision_date.isoformat(),
                record.disclosure_end.isoformat(),
                base + f"/records/{record.pk}/",
            ]
            yield writer.writerow([csv_cell(value) for value in values])

    today = timezone.localdate().isoformat()
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-{today}.csv"'
    patch_cache_control(response, no_cache=True)
    return response


class _Echo:
    def write(self, value):
        return value


def _public_list(slug):
    if slug not in selectors.PUBLIC_LISTS:
        raise Http404
    return dict(_lists())[slug], selectors.PUBLIC_LISTS[slug]


def _category(slug):
    if slug not in selectors.CATEGORY_PAGES:
        raise Http404
    category = selectors.CATEGORY_PAGES[slug]
    return Category(category).label, (category,)


@require_safe
@page_limited
def list_view(request, slug):
    title, categories = _public_list(slug)
    return _list_page(request, slug=slug, title=title, categories=categories, kind="list")


@require_safe
@page_limited
def list_csv(request, slug):
    _title, categories = _public_list(slug)
    return _list_csv(request, slug=slug, categories=categories)


@require_safe
@page_limited
def category_view(request, slug):
    title, categories = _category(slug)
    return _list_page(request, slug=slug, title=title, categories=categories, kind="category")


@require_safe
@page_limited
def category_csv(request, slug):
    _title, categories = _category(slug)
    return _list_csv(request, slug=slug, categories=categories)


@require_safe
def browse(request):
    """Every category and list, with today's counts: browsing without typing."""
    counts = selectors.site_counts()
    categories = [
        (Category(code).label, count, selectors.CATEGORY_SLUGS[code]) for code, count in counts["by_category"]
    ]
    return render(request, "disclosure/browse.html", {"categories": categories, "lists": _lists(), "counts": counts})


FAVICON = settings.BASE_DIR / "static" / "favicon.ico"


@require_safe
def favicon(request):
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/x-icon")
    patch_cache_control(response, public=True, max_age=86400)
    return response


@require_safe
@page_limited
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


# The pages ``KeptPageMiddleware`` serves from the shared page cache before the session, CSRF,
# authentication and messages layers run: the URL's name, the view (whose rate limit a page
# served there counts against) and how the view looks for its page in the cache.
KEPT_EARLY = {
    "disclosure:entity": (entity_detail, _entity_kept),
    "disclosure:person": (person_detail, _person_kept),
    "disclosure:record": (record_detail, _record_kept),
    "disclosure:list": (list_view, lambda request, slug: _list_kept(request, "list", slug)),
    "disclosure:category": (category_view, lambda request, slug: _list_kept(request, "category", slug)),
}
