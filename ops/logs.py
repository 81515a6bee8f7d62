"""Request ids and the log of access to non-public data.

Every request gets an id: the front proxy's ``X-Request-ID`` when it looks like one (nginx
sends ``$request_id``), a new one otherwise. It is sent back in ``X-Request-ID`` and written
into every log line the request causes, so one line in nginx's log finds all of the site's.
"""

import contextvars
import logging
import re
import uuid

from django.conf import settings

from .clientip import client_ip

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{8,64}")

access_log = logging.getLogger("ops.access")


def current_request_id() -> str:
    """The id of the request being answered, blank outside one (daily jobs, commands). The
    history rows a request writes carry it (record events, repair steps, agency calls), so a
    row found in the admin leads to the request's log lines and back."""
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = _request_id.get() or "-"
        return True


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-ID", "")
        trusted = settings.TRUSTED_PROXY_COUNT > 0 and _WELL_FORMED.fullmatch(offered)
        request.id = offered if trusted else uuid.uuid4().hex
        token = _request_id.set(request.id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request.id
        return response


# Staff pages show what the public never sees: evidence, full identity numbers, agencies' call
# logs, applications under review. Each such request is logged with who, from where and when
# (the log line's time).
NON_PUBLIC_PREFIXES = ("/admin/", "/repair/review/", "/repair/evidence/")


def _non_public(path: str) -> bool:
    for code, _name in settings.LANGUAGES:
        prefix = f"/{code}/"
        if code != settings.LANGUAGE_CODE and path.startswith(prefix):
            path = path[len(prefix) - 1 :]
    return path.startswith(NON_PUBLIC_PREFIXES)


class AccessLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if _non_public(request.path_info):
            user = getattr(request, "user", None)
            access_log.info(
                "non-public access",
                extra={
                    "user": user.get_username() if user is not None and user.is_authenticated else None,
                    "method": request.method,
                    "path": request.path_info,
                    "status": response.status_code,
                    "client": client_ip(request),
                },
            )
        return response
