"""Request-wide guards that run before any view."""

import json

from django.conf import settings
from django.core.exceptions import BadRequest
from django.utils.translation import gettext_lazy as _

NUL = "\x00"


class NulCharacterInRequest(BadRequest):
    """PostgreSQL text cannot hold NUL: a NUL that reached a query would be a 500. No address,
    parameter or form field of this site has a use for one, so it is refused at the door."""

    message = _("The request holds a NUL character, which no address or field may contain.")


def _has_nul(pairs) -> bool:
    return any(NUL in key or NUL in value for key, values in pairs for value in values)


def _json_has_nul(body: bytes) -> bool:
    if b"\x00" in body:
        return True
    if b"\\u0000" not in body:
        return False
    try:
        return NUL in json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        return False  # not JSON after all: the view says so


class RejectNulMiddleware:
    """Answers 400 (the site's page, or JSON on API addresses: see ``creditchina.urls``) to a
    NUL anywhere in the path, the query, the cookies, a form's keys and values, uploaded file
    names or a JSON body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self.holds_nul(request):
            raise NulCharacterInRequest(NulCharacterInRequest.message)
        return self.get_response(request)

    @staticmethod
    def holds_nul(request) -> bool:
        if NUL in request.path_info or _has_nul(request.GET.lists()):
            return True
        if any(NUL in name or NUL in value for name, value in request.COOKIES.items()):
            return True
        if request.method != "POST":
            return False
        content_type = request.content_type or ""
        if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            if _has_nul(request.POST.lists()):
                return True
            return any(
                NUL in key or NUL in (upload.name or "")
                for key, uploads in request.FILES.lists()
                for upload in uploads
            )
        if content_type == "application/json":
            return _json_has_nul(request.body)
        return False


class PermissionsPolicyMiddleware:
    """Django sends the other security headers itself; it has no setting for this one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
