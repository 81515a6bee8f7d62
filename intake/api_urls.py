from django.urls import path

from . import api

app_name = "intake-api"

urlpatterns = [
    path("batches/", api.Batches.as_view(), name="batches"),
    path("batches/<str:number>/", api.BatchDetail.as_view(), name="batch"),
    path("batches/<str:number>/errors.csv", api.BatchErrors.as_view(), name="batch-errors"),
]
