from django.http import HttpResponse
from django.urls import path

from creditchina.urls import urlpatterns as site_urlpatterns

# The size of a kept entity page (bench/hitpath.py: 5,043-5,081 bytes).
PAGE_BYTES = 5067


def hello(request):
    return HttpResponse("hello")


def hello_page(request):
    """Hello with an answer the size of an entity page: the floor of any such page here."""
    return HttpResponse(b"x" * PAGE_BYTES)


urlpatterns = [path("hello/", hello), path("hello/page/", hello_page), *site_urlpatterns]
