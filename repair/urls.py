from django.urls import path

from . import views

app_name = "repair"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("apply/<int:record_id>/", views.apply, name="apply"),
    path("submitted/", views.submitted, name="submitted"),
    path("status/", views.status, name="status"),
    path("status/<str:number>/", views.status_detail, name="status_detail"),
    path("status/<str:number>/material/", views.supply_material, name="supply_material"),
    path("status/<str:number>/withdraw/", views.withdraw, name="withdraw"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence"),
    path("statistics/", views.statistics, name="statistics"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<str:number>/", views.review_detail, name="review_detail"),
    path("review/<str:number>/<slug:action>/", views.review_act, name="review_act"),
]
