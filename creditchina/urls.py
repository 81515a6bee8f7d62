from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from disclosure.api import errors as api_errors
from disclosure.views import favicon, robots_txt
from ops.views import healthz, readyz

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("robots.txt", robots_txt),
    path("favicon.ico", favicon),
    path("healthz", healthz),
    path("readyz", readyz),
    path("api/v1/intake/", include("intake.api_urls")),
    path("api/v1/", include("disclosure.api.urls")),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("repair/", include("repair.urls")),
    path("", include("intake.urls")),
    path("reports/", include("reports.urls")),
    path("", include("notices.urls")),
    path("", include("disclosure.urls")),
    prefix_default_language=False,
)


def handler400(request, exception):
    """A request the site cannot read (a NUL character, a bad host, a broken upload): JSON on
    API addresses, the site's page elsewhere; the message only when it is one of ours."""
    from django.shortcuts import render

    from ops.middleware import NulCharacterInRequest

    message = NulCharacterInRequest.message if isinstance(exception, NulCharacterInRequest) else None
    if request.path.startswith("/api/"):
        return api_errors.json_bad_request(request, message)
    return render(request, "400.html", {"message": message}, status=400)


def handler404(request, exception):
    if request.path.startswith("/api/"):
        return api_errors.json_not_found(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return api_errors.json_server_error(request)
    from django.views.defaults import server_error

    return server_error(request)
