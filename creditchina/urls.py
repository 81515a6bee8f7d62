from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from disclosure.views import robots_txt

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("robots.txt", robots_txt),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("", include("disclosure.urls")),
    prefix_default_language=False,
)
