"""The department API: a department's own system submits a file (or JSON lines) with its
department key, gets ``202 Accepted`` with a queued batch at once, and polls the batch for its
status and error report while the intake worker runs it (``intake.queue``)."""

from __future__ import annotations

from django.conf import settings
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, permissions, serializers
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from disclosure.api.agency import BearerKeyAuthentication
from disclosure.api.errors import ERROR_RESPONSES, ErrorAnswer, StreamedBodyMixin, error_body

from . import exports, pipeline, queue, selectors, services
from .models import Batch, DepartmentKey
from .uploads import SizeLimitedUploadHandler, TooLarge, spool_body


class DepartmentKeyAuthentication(BearerKeyAuthentication):
    """A department's intake key (``dk_…``): the request acts as that key, scoped to its
    department."""

    def lookup(self, raw: str):
        return services.department_key_authenticate(raw)


class DepartmentKeyScheme(OpenApiAuthenticationExtension):
    target_class = DepartmentKeyAuthentication
    name = "departmentKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A department's intake key, issued by staff."}


class IsDepartmentSystem(permissions.BasePermission):
    message = _("This endpoint is for departments' systems: send your department's intake key.")

    def has_permission(self, request, view):
        return isinstance(request.user, DepartmentKey)


class RawBodyParser(BaseParser):
    """CSV or JSON lines sent as the body itself: read by the view as a stream, not here."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


STATES = """A batch goes through these states:

- `queued`: stored, waiting for the intake worker (nothing is checked yet);
- `checking`: the worker reads and checks every row (nothing is written);
- `importing`: every row passed (or `import_valid_rows`), the records are being written, in one
  transaction: nothing is visible before it ends;
- then one final state: `imported` (the counts say what changed), `rejected` (a broken file,
  `file_error`, or refused rows, `errors`: nothing written), `awaiting_release` (checked; the
  department requires a second clerk to release it in the admin), or `failed` (the import
  stopped with an error on each of its attempts: nothing written, `failure` says why; submit
  the file again). An imported batch a clerk undoes later is `undone`.

A worker that stops in the middle of a batch leaves nothing written, and the batch is taken
up again (`attempts` counts the attempts)."""

BatchAnswer = inline_serializer(
    "IntakeBatch",
    {
        "number": serializers.CharField(),
        "url": serializers.CharField(help_text="Poll this for the status."),
        "errors_url": serializers.CharField(help_text="Every refused row, as CSV."),
        "status": serializers.ChoiceField(
            choices=["queued", "checking", "importing", "imported", "rejected", "awaiting_release", "failed", "undone"],
            help_text=STATES,
        ),
        "department": serializers.CharField(),
        "submitted_at": serializers.DateTimeField(),
        "file_name": serializers.CharField(),
        "file_sha256": serializers.CharField(),
        "file_format": serializers.CharField(),
        "encoding": serializers.CharField(),
        "file_error": serializers.CharField(allow_blank=True, help_text="Why the whole file was refused."),
        "failure": serializers.CharField(
            allow_blank=True, help_text="Why an attempt to import the batch stopped (`failed`, or `queued` again)."
        ),
        "attempts": serializers.IntegerField(help_text="How many times the worker has taken the batch up."),
        "rows": serializers.IntegerField(),
        "rows_refused": serializers.IntegerField(),
        "created": serializers.IntegerField(),
        "corrected": serializers.IntegerField(),
        "revoked": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "errors": inline_serializer(
            "IntakeRowError",
            {
                "line": serializers.IntegerField(),
                "column": serializers.CharField(),
                "code": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
            help_text="The first 1,000 refused rows; errors_url has them all.",
        ),
    },
)
INTAKE_ERROR_RESPONSES = {
    **{code: ERROR_RESPONSES[code] for code in (400, 401, 403, 404, 429)},
    413: OpenApiResponse(ErrorAnswer, description="The file is larger than the site accepts; nothing was read."),
}
SUBMIT_ERROR_RESPONSES = {
    **INTAKE_ERROR_RESPONSES,
    400: OpenApiResponse(
        ErrorAnswer,
        description=(
            "No file (`error.field` is `file`), or a file whose first bytes already show it cannot be read "
            "(empty, not CSV, XLSX or JSON lines, neither UTF-8 nor GB18030): nothing is kept, no batch is made."
        ),
    ),
}


def batch_json(request, batch: Batch) -> dict:
    url = request.build_absolute_uri(reverse("intake-api:batch", args=[batch.number]))
    return {
        "number": batch.number,
        "url": url,
        "errors_url": request.build_absolute_uri(reverse("intake-api:batch-errors", args=[batch.number])),
        "status": batch.status,
        "department": batch.department.code,
        "submitted_at": batch.submitted_at.isoformat(),
        "file_name": batch.file_name,
        "file_sha256": batch.file_sha256,
        "file_format": batch.file_format,
        "encoding": batch.encoding,
        "file_error": batch.file_error,
        "failure": batch.failure,
        "attempts": batch.attempts,
        "rows": batch.rows_total,
        "rows_refused": batch.rows_refused,
        "created": batch.created,
        "corrected": batch.corrected,
        "revoked": batch.revoked,
        "unchanged": batch.unchanged,
        "errors": batch.errors[:1000],
    }


class DepartmentView(APIView):
    authentication_classes = [DepartmentKeyAuthentication]
    permission_classes = [IsDepartmentSystem]

    def batch(self, request, number) -> Batch:
        batch = Batch.objects.select_related("department").filter(number=number, department=request.user.department).first()
        if batch is None:
            raise exceptions.NotFound()
        return batch


def _too_large():
    return Response(error_body(413, services.too_large_message()), status=413)


class Batches(DepartmentView):
    parser_classes = [MultiPartParser, RawBodyParser]

    @extend_schema(
        summary="Submit a file of records (CSV, XLSX or JSON lines)",
        description=(
            "Either `multipart/form-data` with the file in `file` (and `import_valid_rows`), or the "
            "CSV or JSON lines themselves as the body (`Content-Type: text/csv` or "
            "`application/x-ndjson`; `?name=` and `?import_valid_rows=1`).\n\n"
            "The file is kept and the answer comes at once: `202 Accepted`, the batch `queued`, "
            "its address in `Location` (and `url`). The intake worker then checks every row before "
            "anything is written (by default one refused row and nothing is imported) and imports; "
            "poll the batch (every few seconds) until its status is final. The same file again "
            "changes nothing.\n\n" + STATES
        ),
        parameters=[
            OpenApiParameter("name", str, description="The file's name, for a body sent as is."),
            OpenApiParameter("import_valid_rows", bool, description="Import the valid rows and report the rest."),
            OpenApiParameter("Location", str, location=OpenApiParameter.HEADER, response=[202],
                             description="The batch's address: poll it."),  # fmt: skip
        ],
        request={
            "multipart/form-data": inline_serializer("IntakeUpload", {
                "file": serializers.FileField(), "import_valid_rows": serializers.BooleanField(required=False),
            }),
            "text/csv": OpenApiTypes.STR,
            "application/x-ndjson": OpenApiTypes.STR,
        },
        responses={202: OpenApiResponse(BatchAnswer, description="Queued: poll `Location`."), **SUBMIT_ERROR_RESPONSES},
    )  # fmt: skip
    def post(self, request):
        limit = settings.INTAKE_MAX_UPLOAD_BYTES
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
            return _too_large()
        key: DepartmentKey = request.user
        options = request.query_params
        if request.content_type.startswith("multipart/"):
            handler = getattr(request._request, "upload_limit", None) or SizeLimitedUploadHandler(
                request._request, limit=limit
            )
            upload = request.FILES.get("file")
            if handler.exceeded or (upload is not None and upload.size > limit):
                return _too_large()
            if upload is None:
                raise exceptions.ValidationError({"file": [_("Send the file in the “file” field.")]})
            valid_rows = str(request.data.get("import_valid_rows", options.get("import_valid_rows", ""))).lower()
            return self.submit(request, key, services.Upload(upload, upload.name), valid_rows in ("1", "true", "yes", "on"))
        try:
            body = spool_body(request._request, limit=limit)
        except TooLarge:
            return _too_large()
        with body:
            name = options.get("name") or ("records.jsonl" if "json" in request.content_type else "records.csv")
            valid_rows = options.get("import_valid_rows", "").lower() in ("1", "true", "yes", "on")
            return self.submit(request, key, services.Upload(body, name), valid_rows)

    def submit(self, request, key, upload, import_valid_rows):
        try:
            batch = queue.batch_queue(department=key.department, upload=upload, key=key,
                                      import_valid_rows=import_valid_rows)  # fmt: skip
        except services.FileTooLarge:
            return _too_large()
        except pipeline.FileRefused as exc:
            raise exceptions.ValidationError({"file": [str(exc)]}) from None
        body = batch_json(request, batch)
        return Response(body, status=202, headers={"Location": body["url"]})


class BatchDetail(DepartmentView):
    @extend_schema(
        summary="A batch: its status, counts and first errors",
        description=STATES,
        responses={200: BatchAnswer, **INTAKE_ERROR_RESPONSES},
    )
    def get(self, request, number):
        return Response(batch_json(request, self.batch(request, number)))


class BatchErrors(StreamedBodyMixin, DepartmentView):
    @extend_schema(
        summary="Every refused row of a batch, as CSV",
        description="Columns: line, column, error, message. Cells starting like a formula are prefixed with an apostrophe.",
        responses={(200, "text/csv"): OpenApiTypes.STR, **INTAKE_ERROR_RESPONSES},
    )
    def get(self, request, number):
        batch = self.batch(request, number)
        response = StreamingHttpResponse(exports.error_report_lines(batch), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.number}-errors.csv"'
        return response


__all__ = ["Batches", "BatchDetail", "BatchErrors", "selectors"]
