from django.http import HttpResponse
from django.urls import path

from creditchina.urls import urlpatterns as site_urlpatterns


def hello(request):
    return HttpResponse("hello")


urlpatterns = [path("hello/", hello), *site_urlpatterns]
