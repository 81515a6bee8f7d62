from django.urls import path

from . import views

app_name = "intake"

urlpatterns = [path("quality/", views.quality, name="quality")]
