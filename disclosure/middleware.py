import inspect

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import DisallowedHost
from django.urls import Resolver404, get_resolver, resolve
from django.utils import translation
from django_ratelimit.core import is_ratelimited

from ops.middleware import RejectNulMiddleware

from . import pagecache


def stateful_cookies() -> set[str]:
    """The cookies the session, CSRF and messages layers read."""
    return {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, CookieStorage.cookie_name}


class ApiLanguageMiddleware:
    """Pages carry their language in the URL (``/en/…``); the API has one URL per resource,
    so there the client's Accept-Language chooses the language of messages (default: the
    site's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            language = translation.get_language_from_request(request, check_path=False)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


class KeptPageMiddleware:
    """Serves a page kept in the shared page cache (``disclosure.pagecache``) before the
    layers below it run: the session, language, CSRF, authentication and messages layers
    cost a page served from the cache more than the cache itself. Only for the pages in
    ``views.KEPT_EARLY``, asked for with GET or HEAD and no query string (``plain``), and only
    entries kept with the headers those layers added to the page when it was made
    (``pagecache.Capture``): the answer is the one the view would have given, headers
    included. The view's rate limit counts the page once, as if the view had served it
    (``views.page_limited``).

    On a miss the request goes on: the view uses the look made here (one round trip to the
    cache, not two) and its page is kept on the way back, with the headers added below."""

    # Addresses whose view this process remembers (``route``): the pages most asked for.
    ROUTES_KEPT = 10_000

    def __init__(self, get_response):
        from . import views

        self.get_response = get_response
        self.early, self.limit = views.KEPT_EARLY, views.PAGE_LIMIT
        self.routes, self.resolver = {}, None

    def __call__(self, request):
        if not self.plain(request):
            return self.get_response(request)
        path = request.path_info
        language = translation.get_language_from_path(path) or settings.LANGUAGE_CODE
        with translation.override(language):
            route = self.route(path, language)
            if route is None:
                return self.get_response(request)
            view, look, args, kwargs = route
            looked = look(request, *args, **kwargs)
        if looked is None:  # not the page's own address: the view sends the visitor there
            return self.get_response(request)
        kept, fill = looked
        if kept is None:
            request._pagecache_missed = fill
            return self.captured(request, pagecache.Capture(fill.key))
        if not kept.headers:
            # Kept by a request that came the whole way (a browser with a session, say): the
            # view serves it, and it is kept again with this answer's headers.
            return self.captured(request, pagecache.Capture(fill.key, entry=kept))
        if self.limited(request, view):
            return self.get_response(request)  # the view refuses it, without counting it again
        response = kept.page(request)
        if not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response

    def captured(self, request, capture):
        request._pagecache_capture = capture
        response = self.get_response(request)
        capture.finish(response)
        return response

    def route(self, path: str, language: str):
        """The view of ``path`` (in ``language``, active), its look in the cache and its
        arguments, if it is one of ``views.KEPT_EARLY``; otherwise None. ``resolve`` costs
        about a tenth of a kept page: its answers are remembered, per URLconf."""
        resolver = get_resolver()
        if resolver is not self.resolver or len(self.routes) >= self.ROUTES_KEPT:
            self.routes, self.resolver = {}, resolver
        key = (language, path)
        try:
            return self.routes[key]
        except KeyError:
            pass
        try:
            match = resolve(path)
        except Resolver404:
            route = None
        else:
            early = self.early.get(match.view_name)
            route = None if early is None else (*early, match.args, match.kwargs)
        self.routes[key] = route
        return route

    @staticmethod
    def plain(request) -> bool:
        """Whether the layers this middleware leaves out would do nothing to this request but
        what the kept headers say: a GET or HEAD with no query string, for a host the site
        serves, without a NUL, and without the cookies those layers read (a session, a CSRF
        token, messages), which they may renew, delete or show."""
        if request.method not in ("GET", "HEAD") or request.META.get("QUERY_STRING") or not pagecache.enabled():
            return False
        if stateful_cookies() & request.COOKIES.keys() or RejectNulMiddleware.holds_nul(request):
            return False
        try:
            request.get_host()
        except DisallowedHost:
            return False  # refused below, and logged
        return True

    def limited(self, request, view) -> bool:
        """Counts this request against the view's rate limit (``views.PAGE_LIMIT``, under the
        view's counter) and says whether it is over it. The view then counts nothing more."""
        limited = is_ratelimited(request, fn=inspect.unwrap(view), increment=True, **self.limit)
        request.limited = limited
        request.page_limit_counted = True
        return limited
