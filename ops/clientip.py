"""The client's address, decided in one place for the pages' limits (django-ratelimit's
``key="ip"``), the API's throttles and the logs.

``X-Forwarded-For`` is whatever the client chose to send, plus one address appended by each
proxy it passed. Only the addresses our own proxies appended can be believed: with
``TRUSTED_PROXY_COUNT`` = N, the client is the N-th address from the right (``REMOTE_ADDR``
being the nearest proxy). With 0, the default, the header is ignored and ``REMOTE_ADDR`` is
the client: trusting a header nobody in front of the site writes would let anyone pick a new
address for each request and never meet a limit.
"""

import ipaddress

from django.conf import settings


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    # Fewer entries than proxies: the request did not come through all of them; the left-most
    # is still one that a trusted proxy wrote.
    candidate = forwarded[-trusted] if len(forwarded) >= trusted else forwarded[0]
    return _address(candidate) or remote
