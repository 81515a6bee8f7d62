"""Every error on an API URL is JSON: a type, a human message, and the field at fault."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

TYPES = {
    400: "invalid",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    410: "gone",
    413: "too_large",
    414: "too_long",
    429: "throttled",
    500: "server_error",
    503: "held_back",
}


ErrorAnswer = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorDetail",
            {
                "type": serializers.ChoiceField(choices=sorted(set(TYPES.values()))),
                "message": serializers.CharField(help_text="In the language asked for."),
                "field": serializers.CharField(allow_null=True, help_text="The parameter at fault."),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    required=False,
                    help_text="Every parameter at fault, with its messages.",
                ),
                "head": serializers.IntegerField(
                    required=False, help_text="The feed's head, when a cursor is beyond it."
                ),
            },
        )
    },
)
ERROR_DESCRIPTIONS = {
    400: "A parameter is not valid: `error.field` names it.",
    401: "No API key, or a key that is not valid or has been revoked.",
    403: "The key's agency is not authorized for this.",
    404: "Nothing at this address.",
    414: "The address is too long (answered by the HTTP server, as plain text).",
    429: "Too many requests: wait for the seconds in `Retry-After`.",
    503: (
        "The day's expiry events are being written (just after midnight, China time): the feed "
        "holds back past the day in `X-Expiries-Written-Through`, and a snapshot or digest now "
        "would already show changes it holds back. Try again after `Retry-After` seconds."
    ),
}
# Every error an endpoint can answer, for its OpenAPI description.
# (A 414 comes from the HTTP server in front of the site, before it: described, no body.)
ERROR_RESPONSES = {
    code: OpenApiResponse(None if code == 414 else ErrorAnswer, description=text)
    for code, text in ERROR_DESCRIPTIONS.items()
}
PUBLIC_ERROR_RESPONSES = {code: ERROR_RESPONSES[code] for code in (400, 404, 414, 429)}
AGENCY_ERROR_RESPONSES = {code: ERROR_RESPONSES[code] for code in (400, 401, 403, 414, 429)}
NOT_MODIFIED_RESPONSE = {
    304: OpenApiResponse(description="Unchanged since the answer whose ETag the request sent (If-None-Match).")
}
HELD_BACK_RESPONSE = {503: ERROR_RESPONSES[503]}
GONE_RESPONSE = {410: OpenApiResponse(ErrorAnswer, description="The record is no longer disclosed.")}


class StreamedBodyMixin:
    """For a view whose success is a file streamed in the type its address names (CSV, JSON
    lines), whatever ``Accept`` says: its errors are JSON like every other answer, and a client
    asking for the type the schema describes (``text/csv``, ``application/x-ndjson``) is not
    refused with 406 by the content negotiation made for JSON answers."""

    def perform_content_negotiation(self, request, force=False):
        renderer = JSONRenderer()
        return renderer, renderer.media_type


def error_body(status_code: int, message: str, field: str | None = None, fields: dict | None = None) -> dict:
    body = {"type": TYPES.get(status_code, "error"), "message": str(message), "field": field}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            key: [str(item) for item in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
    return {}


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real server error: Django's handler500 answers (in JSON for API URLs)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        field = next(iter(fields), None)
        message = fields[field][0] if field else " ".join(str(d) for d in exc.detail)
        if field == "non_field_errors":
            field = None
        response.data = error_body(response.status_code, message, field, fields)
    else:
        response.data = error_body(response.status_code, exc.detail if hasattr(exc, "detail") else exc)
    return response


def gone(message: str | None = None) -> Response:
    return Response(
        error_body(410, message or _("This record is no longer published.")), status=status.HTTP_410_GONE
    )


def json_bad_request(request, message=None):
    return JsonResponse(
        error_body(400, message or _("The request could not be understood. Check it and try again.")),
        status=400,
    )


def json_not_found(request, exception=None):
    return JsonResponse(error_body(404, _("There is nothing at this address.")), status=404)


def json_server_error(request):
    return JsonResponse(
        error_body(500, _("Something went wrong on our side. Please try again later.")), status=500
    )
