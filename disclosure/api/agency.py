"""Agency endpoints: API key authentication, per-agency throttling, every call logged."""

import csv
import re

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DEFAULT_DB_ALIAS
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import authentication, exceptions, permissions, serializers
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from disclosure import agencies, feed, selectors
from disclosure.models import TOMBSTONES, Agency, FeedType
from ops import replicas

from .errors import AGENCY_ERROR_RESPONSES, HELD_BACK_RESPONSE, StreamedBodyMixin, error_body


class BearerKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>`` (or ``X-Api-Key: <key>``). Subclasses say how a key is
    found (``lookup``: the live key row, or None) and whom it acts for (``principal``)."""

    keyword = "Bearer"

    def lookup(self, raw: str):
        raise NotImplementedError

    def principal(self, key):
        return key

    def authenticate(self, request):
        raw = request.headers.get("X-Api-Key", "")
        header = request.headers.get("Authorization", "")
        if header.startswith(f"{self.keyword} "):
            raw = header[len(self.keyword) + 1 :].strip()
        if not raw:
            return None
        key = self.lookup(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("This API key is not valid, or has been revoked."))
        return self.principal(key), key

    def authenticate_header(self, request):
        return self.keyword


class AgencyKeyAuthentication(BearerKeyAuthentication):
    """An agency's key (``cc_…``): the request acts for the agency."""

    def lookup(self, raw: str):
        return agencies.agency_key_authenticate(raw)

    def principal(self, key):
        return key.agency


class AgencyKeyScheme(OpenApiAuthenticationExtension):
    target_class = AgencyKeyAuthentication
    name = "agencyKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key issued to the agency by staff.",
        }


class IsAgency(permissions.BasePermission):
    message = _("This endpoint is for authorized credit service agencies: send your API key.")

    def has_permission(self, request, view):
        return isinstance(request.user, Agency)


class AgencyThrottle(SimpleRateThrottle):
    scope = "agency"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, Agency):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}

    def allow_request(self, request, view):
        if not settings.RATELIMIT_ENABLE:
            return True
        return super().allow_request(request, view)


# What the agency endpoints answer, for the OpenAPI schema (the views build the JSON
# themselves, from the feed module, to keep large pages cheap).
RecordDocument = inline_serializer(
    "RecordDocument",
    {
        "id": serializers.IntegerField(),
        "entity": serializers.CharField(
            help_text="Unified Social Credit Code, or a natural person's masked number."
        ),
        "entity_name": serializers.CharField(),
        "catalog_item": serializers.CharField(),
        "category": serializers.CharField(),
        "department": serializers.CharField(),
        "decision_number": serializers.CharField(),
        "decision_date": serializers.DateField(),
        "facts": serializers.CharField(),
        "legal_basis_cited": serializers.CharField(),
        "outcome": serializers.CharField(),
        "penalty_amount": serializers.CharField(allow_null=True, help_text="Yuan, as a decimal string."),
        "severity": serializers.CharField(),
        "valid_from": serializers.DateField(allow_null=True),
        "valid_until": serializers.DateField(allow_null=True),
        "disclosure_start": serializers.DateField(help_text="Show the record from this day..."),
        "disclosure_end": serializers.DateField(help_text="...to this day, inclusive."),
        "earliest_repair_on": serializers.DateField(allow_null=True),
        "version": serializers.CharField(
            help_text="A hash of the document's content: changes whenever any field of it changes."
        ),
    },
)
DOCUMENT_TYPES = [t.value for t in FeedType if t not in TOMBSTONES]
TOMBSTONE_TYPES = [t.value for t in FeedType if t in TOMBSTONES]
DocumentEvent = inline_serializer(
    "DocumentEvent",
    {
        "cursor": serializers.IntegerField(),
        "type": serializers.ChoiceField(
            choices=DOCUMENT_TYPES, help_text="Put the document in the copy (insert or replace)."
        ),
        "record_id": serializers.IntegerField(),
        "time": serializers.DateTimeField(),
        "record": RecordDocument,
    },
)
TombstoneEvent = inline_serializer(
    "TombstoneEvent",
    {
        "cursor": serializers.IntegerField(),
        "type": serializers.ChoiceField(
            choices=TOMBSTONE_TYPES,
            help_text=(
                "Remove the record from the copy. withdrawn: after an approved credit repair; "
                "revoked: the decision was revoked or superseded; expired: its period ended; "
                "removed: it is no longer published for another reason (a correction, a "
                "catalog item that is no longer public)."
            ),
        ),
        "record_id": serializers.IntegerField(),
        "time": serializers.DateTimeField(),
        "reason": serializers.CharField(allow_blank=True),
        "effective_on": serializers.DateField(help_text="The first day the record is no longer shown."),
        "repair_application": serializers.CharField(required=False, help_text="withdrawn only."),
    },
)
FeedEvent = PolymorphicProxySerializer(
    component_name="FeedEvent",
    serializers={
        **dict.fromkeys(DOCUMENT_TYPES, DocumentEvent),
        **dict.fromkeys(TOMBSTONE_TYPES, TombstoneEvent),
    },
    resource_type_field_name="type",
    many=True,
)
ChangesPage = inline_serializer(
    "ChangesPage",
    {
        "events": FeedEvent,
        "next": serializers.IntegerField(help_text="Send this as `after` next time."),
        "has_more": serializers.BooleanField(),
        "expiries_written_through": serializers.DateField(
            allow_null=True,
            help_text=(
                "The last day whose expiry events are all in the feed (null before the site's first "
                "daily run). The feed shows no event of a later day: see the endpoint's description."
            ),
        ),
    },
)
DIGEST_BUCKET_FIELDS = {
    "bucket": serializers.IntegerField(),
    "first_id": serializers.IntegerField(),
    "count": serializers.IntegerField(),
    "hash": serializers.CharField(),
}
DigestAnswer = inline_serializer(
    "Digest",
    {
        "as_of": serializers.DateField(),
        "count": serializers.IntegerField(),
        "hash": serializers.CharField(
            help_text='Sum mod 2**64 of the first 8 bytes of md5("{id}:{version}"), hex.'
        ),
        "bucket_size": serializers.IntegerField(required=False),
        "buckets": inline_serializer("DigestBucket", DIGEST_BUCKET_FIELDS, many=True, required=False),
    },
)
AcknowledgementState = inline_serializer(
    "AcknowledgementState",
    {
        "cursor": serializers.IntegerField(allow_null=True),
        "reported_at": serializers.DateTimeField(allow_null=True),
        "events_behind": serializers.IntegerField(),
        "behind_since": serializers.DateTimeField(allow_null=True),
        "late_after_days": serializers.IntegerField(),
    },
)


class AgencyView(APIView):
    """Base of agency endpoints: key required, throttled per agency, each call logged."""

    authentication_classes = [AgencyKeyAuthentication]
    permission_classes = [IsAgency]
    throttle_classes = [AgencyThrottle]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        key = request.auth
        if key is not None:
            agencies.agency_call_log(
                key=key,
                method=request.method,
                endpoint=request.get_full_path()[:300],
                status=response.status_code,
            )
        return response


class Whoami(AgencyView):
    @extend_schema(
        summary="The agency the key belongs to",
        responses={
            200: inline_serializer("Agency", {"code": serializers.CharField(), "name": serializers.CharField()}),
            **AGENCY_ERROR_RESPONSES,
        },
    )
    def get(self, request):
        return Response({"code": request.user.code, "name": request.user.name})


class Changes(AgencyView):
    """The change feed, in commit order, from any cursor."""

    @extend_schema(
        summary="Record events after a cursor, in commit order",
        description=(
            "Apply the events in order: `disclosed` and `updated` put the `record` document in "
            "the copy, every other type removes the record. Each event is served the same way "
            "at its cursor forever. A cursor beyond the feed's head is refused (400, with "
            "`error.head`), so a corrupt cursor never skips events silently.\n\n"
            "Expiries and days: the `expired` events of day D (the records whose last day was "
            "D - 1) are written by the site's daily job just after midnight of D (China time). "
            "Until they all are, the feed ends at the last event written before D began: no "
            "event of D is served before the expiries of D are in the feed, and none of D + 1 "
            "before those of D + 1. Once they are, the events of D follow in cursor order "
            "(those written between midnight and the job, the expiries, the rest of the day). "
            "`expiries_written_through` and the `X-Expiries-Written-Through` header (on every "
            "feed, snapshot and digest answer) give the last day whose expiries are written; "
            "when it is before today, the feed is holding back. A cursor the site has served is "
            "never refused, even while the feed holds back."
        ),
        parameters=[
            OpenApiParameter("after", int, description="The last cursor applied (0 to start)."),
            OpenApiParameter("limit", int, description=f"At most this many events (1 to {feed.MAX_LIMIT})."),
        ],
        responses={200: ChangesPage, 304: OpenApiResponse(description="Nothing new (If-None-Match)."),
                   **AGENCY_ERROR_RESPONSES},
    )  # fmt: skip
    def get(self, request):
        after = _int_param(request, "after", 0, minimum=0)
        limit = _int_param(request, "limit", 1000, minimum=1, maximum=feed.MAX_LIMIT)
        head = feed.head()
        if after > head.latest and replicas.reading_from() != DEFAULT_DB_ALIAS:
            # A cursor from the primary, or from a replica further ahead than this one: the
            # primary knows the event.
            replicas.read_from_primary()
            head = feed.head()
        headers = expiries_header(head)
        if after > head.latest:
            body = error_body(
                400,
                _("The cursor %(after)d is beyond the feed's head, %(head)d: no such event was ever served.")
                % {"after": after, "head": head.cursor},
                field="after",
            )
            body["error"]["head"] = head.cursor
            return Response(body, status=400, headers=headers)
        etag = f'"{after}-{limit}-{head.cursor}"'
        headers.update({"ETag": etag, "Cache-Control": "no-cache"})
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers=headers)
        if after >= head.cursor:
            # Nothing new (or, past the head while the feed holds back, nothing to serve yet).
            body = {"events": [], "next": after, "has_more": False}
        else:
            body = feed.changes(after=after, limit=limit, until=head.cursor)
        body["expiries_written_through"] = head.expiries_through
        return Response(body, headers=headers)


EXPIRIES_HEADER = "X-Expiries-Written-Through"


def expiries_header(head) -> dict:
    """The last day whose expiry events are written, on every feed answer: the feed shows
    nothing of a later day ("none" before the daily job's first run)."""
    return {EXPIRIES_HEADER: head.expiries_through.isoformat() if head.expiries_through else "none"}


def held_back_response(exc: feed.FeedHeldBack) -> Response:
    body = error_body(
        503,
        _(
            "The day's expiry events are being written: the feed shows nothing after %(day)s until they "
            "are. Try again in a few minutes."
        )
        % {"day": exc.head.expiries_through.isoformat() if exc.head.expiries_through else "—"},
    )
    headers = {"Retry-After": str(HELD_BACK_RETRY_SECONDS), **expiries_header(exc.head)}
    return Response(body, status=503, headers=headers)


HELD_BACK_RETRY_SECONDS = 300


WHOLE_NUMBER = re.compile(r"-?[0-9]{1,30}", re.ASCII)


def _int_param(request, name, default, *, minimum=None, maximum=None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    # ASCII digits only: Python's int() also reads "１２", "٣" and " 1", which no client
    # generated from the schema sends on purpose.
    if not WHOLE_NUMBER.fullmatch(raw):
        raise exceptions.ValidationError({name: [_("Enter a whole number.")]})
    value = int(raw)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise exceptions.ValidationError(
            {name: [_("Out of range: %(min)s to %(max)s.") % {"min": minimum, "max": maximum or "∞"}]}
        )
    return value


SNAPSHOT_COLUMNS = [
    "id", "entity", "entity_name", "catalog_item", "category", "department", "decision_number", "decision_date",
    "facts", "legal_basis_cited", "outcome", "penalty_amount", "severity", "valid_from", "valid_until",
    "disclosure_start", "disclosure_end", "earliest_repair_on", "version",
]  # fmt: skip


def closing_body(first: bytes, rest, *resources):
    """``first``, then ``rest``, as a generator: when the response is closed (the client left)
    Django closes it, and so, at once and in this request, the database read behind ``rest``
    (``itertools.chain`` has no ``close``: the read was left to the garbage collector, which
    ended it mid-COPY after the request had finished, leaving the worker a dead connection)."""
    try:
        yield first
        yield from rest
    finally:
        for resource in (rest, *resources):
            resource.close()


class _Echo:
    def write(self, value):
        return value


class Snapshot(StreamedBodyMixin, AgencyView):
    """Every disclosed record, streamed, with the cursor to follow the feed from (the body's
    type is the address's, .ndjson or .csv)."""

    @extend_schema(
        summary="Every disclosed record (NDJSON or CSV) with its feed cursor",
        description=(
            "The documents agencies' copies hold, consistent with the feed cursor in the "
            "`X-Feed-Cursor` header (and in the NDJSON's first line). In the CSV, a text cell "
            "that starts with `=`, `+`, `-`, `@`, a tab, a carriage return or an apostrophe is "
            "prefixed with an apostrophe (OWASP's advice against formula injection); strip one "
            "leading apostrophe when reading the file with a program. The NDJSON carries the "
            "text unchanged. While the feed holds back events written after the last day whose "
            "expiries are written (see the changes endpoint), the snapshot answers 503 with "
            "`Retry-After`: it would hold changes the feed does not yet show."
        ),
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            **AGENCY_ERROR_RESPONSES,
            **HELD_BACK_RESPONSE,
        },
        parameters=[OpenApiParameter("fmt", exclude=True)],
    )
    def get(self, request, fmt):
        try:
            return self._stream(fmt)
        except feed.FeedHeldBack as exc:
            return held_back_response(exc)

    def _stream(self, fmt):
        if fmt == "ndjson":
            cursor_id, blocks = feed.snapshot_ndjson()
            header = feed.to_json_line({"cursor": cursor_id, "as_of": timezone.localdate().isoformat()})
            response = StreamingHttpResponse(
                closing_body(header.encode(), blocks), content_type="application/x-ndjson; charset=utf-8"
            )
            response["X-Feed-Cursor"] = str(cursor_id)
            response["Content-Disposition"] = f'attachment; filename="snapshot-{cursor_id}.ndjson"'
            return response
        cursor_id, documents = feed.snapshot()
        writer = csv.writer(_Echo())
        rows = (writer.writerow([csv_cell(doc[c]) for c in SNAPSHOT_COLUMNS]) for doc in documents)
        lines = (line.encode() for line in rows)
        response = StreamingHttpResponse(
            closing_body(writer.writerow(SNAPSHOT_COLUMNS).encode(), feed.in_blocks(lines), documents),
            content_type="text/csv; charset=utf-8",
        )
        response["X-Feed-Cursor"] = str(cursor_id)
        response["Content-Disposition"] = f'attachment; filename="snapshot-{cursor_id}.csv"'
        return response


# A cell a spreadsheet would read as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Text that already starts with the escape gets one too, so that stripping one leading
# apostrophe always gives the text back.
ESCAPED_STARTS = (*FORMULA_STARTS, "'")


def csv_cell(value) -> str:
    """A value as a CSV cell that no spreadsheet runs: text starting like a formula gets a
    leading apostrophe (OWASP's advice), which spreadsheets show as text and hide; so does
    text starting with an apostrophe, so a program strips exactly one to read the text back.
    Numbers, dates and codes never start that way."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(ESCAPED_STARTS) else text


class Digest(AgencyView):
    """Count and hash of the disclosed set, to find where a copy differs."""

    @extend_schema(
        summary="Count and hash of the disclosed set, overall, per bucket of ids or per entity",
        description=(
            "Over the records disclosed today (`as_of`). While the feed holds back events "
            "written after the last day whose expiries are written (see the changes endpoint), "
            "answers 503 with `Retry-After`: a copy that has applied the whole feed could not "
            "match a set that already shows them."
        ),
        parameters=[
            OpenApiParameter("bucket_size", int, description="Also give each bucket of this many ids."),
            OpenApiParameter(
                "entity",
                str,
                description=(
                    "Only the records whose documents carry this `entity`: an organisation's code, "
                    "or a natural person's masked number (which several persons may share: the "
                    "digest then covers all their records, as a copy grouping by `entity` does)."
                ),
            ),
        ],
        responses={200: DigestAnswer, **AGENCY_ERROR_RESPONSES, **HELD_BACK_RESPONSE},
    )
    def get(self, request):
        bucket_size = _int_param(request, "bucket_size", 0, minimum=0, maximum=10_000_000) or None
        entity = request.query_params.get("entity") or None
        try:
            return Response(feed.digest(bucket_size=bucket_size, entity_code=entity))
        except feed.FeedHeldBack as exc:
            return held_back_response(exc)


class AcknowledgementSerializer(serializers.Serializer):
    cursor = serializers.IntegerField(
        min_value=0, help_text="The last feed cursor applied to the agency's copy."
    )


class Acknowledgement(AgencyView):
    """The agency reports the cursor its copy has applied; the site measures its lag by it."""

    def _state(self, agency: Agency) -> dict:
        lag = selectors.agency_lag(agency)
        return {
            "cursor": agency.applied_cursor,
            "reported_at": agency.applied_at.isoformat() if agency.applied_at else None,
            "events_behind": lag.events_behind,
            "behind_since": lag.behind_since.isoformat() if lag.behind_since else None,
            "late_after_days": settings.AGENCY_LATE_DAYS,
        }

    @extend_schema(summary="The cursor last reported and the lag it means", responses={200: AcknowledgementState, **AGENCY_ERROR_RESPONSES})
    def get(self, request):
        return Response(self._state(request.user))

    @extend_schema(
        summary="Report the cursor applied to the agency's copy",
        request=AcknowledgementSerializer,
        responses={200: AcknowledgementState, **AGENCY_ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = AcknowledgementSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            agency = agencies.agency_acknowledge(
                agency=request.user, cursor=serializer.validated_data["cursor"]
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response(self._state(agency))
