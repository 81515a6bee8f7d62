"""The public API: the same content as the pages, from the same selectors, rate limited
like them. No key needed."""

import json

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, throttle_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from disclosure import divisions, pagecache, search, selectors, uscc
from disclosure.filters import EntitySearchFilter, RecordApiFilter
from disclosure.models import CreditRecord, Entity, EntityKind
from disclosure.rules import Category
from disclosure.views import read_public_record
from ops.clientip import client_ip

from .errors import GONE_RESPONSE, NOT_MODIFIED_RESPONSE, PUBLIC_ERROR_RESPONSES, gone
from .serializers import EntitySerializer, RecordSerializer, SearchHitSerializer


class PublicThrottle(AnonRateThrottle):
    """Per-client limit, like the pages'; off where the pages' limits are off."""

    scope = "public"

    def get_ident(self, request):
        # The same address as the pages' limits, by the same rule (never DRF's own reading of
        # X-Forwarded-For, which any client can rotate).
        return client_ip(request)

    def allow_request(self, request, view):
        if not settings.RATELIMIT_ENABLE:
            return True
        return super().allow_request(request, view)


class SearchParams(serializers.Serializer):
    q = serializers.CharField(
        max_length=100, help_text="A name fragment of any length (1 character or more)."
    )
    page = serializers.IntegerField(min_value=1, required=False, default=1)


class SearchQuery(SearchParams):
    """The parameters as documented; the filters are validated by ``EntitySearchFilter``."""

    kind = serializers.ChoiceField(choices=EntityKind.choices, required=False)
    province = serializers.ChoiceField(choices=[], required=False, help_text="Two-digit province code.")
    category = serializers.ChoiceField(choices=Category.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["province"].choices = divisions.provinces()


class SearchPage(serializers.Serializer):
    query = serializers.CharField()
    total = serializers.IntegerField(help_text="The exact number of entities found.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = SearchHitSerializer(many=True)


@extend_schema(
    parameters=[SearchQuery],
    responses={200: SearchPage, **PUBLIC_ERROR_RESPONSES},
    summary="Search entities by name",
    operation_id="entities_search",
)
@api_view(["GET"])
@throttle_classes([PublicThrottle])
def entity_search(request):
    params = SearchParams(data=request.query_params)
    params.is_valid(raise_exception=True)
    data = params.validated_data
    filterset = EntitySearchFilter(request.query_params, queryset=Entity.objects.none())
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    chosen = filterset.form.cleaned_data
    filters = search.Filters(
        kind=chosen.get("kind") or "", province=chosen.get("province") or "", category=chosen.get("category") or ""
    )
    page = search.search(data["q"], page=data["page"], filters=filters)
    return Response(
        {
            "query": data["q"],
            "total": page.total,
            "page": page.page,
            "pages": page.pages,
            "results": SearchHitSerializer(page.hits, many=True).data,
        }
    )


def _kept_or(request, key: str, make, *tokens: str) -> Response:
    """The answer kept in the shared page cache under ``key``, or ``make(fill)``'s data, kept
    there for the next request. With an ETag either way (and 304 when the client's copy is
    current); ``no-cache``, like the pages."""
    kept, fill = pagecache.lookup(key, *tokens)
    hit = kept is not None
    if kept is None:
        data = make(fill)
        etag = pagecache.body_etag(json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode())
        kept = pagecache.Entry(etag=etag, modified=None, data=data)
        fill.keep(kept)
    response = kept.conditional(request)
    if response is None:
        response = Response(kept.data)
        pagecache.validate(response, kept.etag, None)
    if hit:
        response[pagecache.HIT_HEADER] = "hit"
    return response


def _canonical(code: str) -> str:
    try:
        return uscc.validate(code)
    except DjangoValidationError as exc:
        raise ValidationError({"code": exc.messages}) from None


def _entity_or_404(code: str):
    entity = selectors.entity_by_code(code)
    if entity is None:
        raise NotFound
    return entity


@extend_schema(
    responses={200: EntitySerializer, **NOT_MODIFIED_RESPONSE, **PUBLIC_ERROR_RESPONSES},
    summary="An entity by its Unified Social Credit Code")
@api_view(["GET"])
@throttle_classes([PublicThrottle])
def entity_detail(request, code):
    code = _canonical(code)
    return _kept_or(
        request,
        pagecache.page_key("api-entity", code),
        lambda fill: EntitySerializer(_entity_or_404(code)).data,
        pagecache.code_token_key(code),
    )


@extend_schema(
    responses={200: RecordSerializer(many=True), **NOT_MODIFIED_RESPONSE, **PUBLIC_ERROR_RESPONSES},
    summary="The records disclosed today about an entity")
@api_view(["GET"])
@throttle_classes([PublicThrottle])
def entity_records(request, code):
    code = _canonical(code)

    def make(fill):
        records = selectors.entity_disclosed_records(entity=_entity_or_404(code))
        return RecordSerializer(records, many=True).data

    return _kept_or(request, pagecache.page_key("api-entity-records", code), make, pagecache.code_token_key(code))


@extend_schema(
    responses={200: RecordSerializer, **NOT_MODIFIED_RESPONSE, **GONE_RESPONSE, **PUBLIC_ERROR_RESPONSES},
    summary="A record; 410 once no longer disclosed")
@api_view(["GET"])
@throttle_classes([PublicThrottle])
def record_detail(request, pk):
    def make(fill):
        return RecordSerializer(read_public_record(fill, pk)).data

    try:
        return _kept_or(request, pagecache.page_key("api-record", pk), make)
    except CreditRecord.DoesNotExist:
        raise NotFound from None
    except selectors.RecordGone:
        return gone()


class RecordPages(PageNumberPagination):
    page_size = 50


class RecordList(ListAPIView):
    """The records disclosed today, newest first, filtered like the site's lists: by the
    entity's name or code, region, department, kind of record, category and decision date."""

    serializer_class = RecordSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = RecordApiFilter
    pagination_class = RecordPages
    throttle_classes = [PublicThrottle]

    def get_queryset(self):
        return selectors.list_entries(Category.values)

    @extend_schema(summary="The records disclosed today, filtered")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
