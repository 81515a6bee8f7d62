from django.urls import path

from . import views

app_name = "disclosure"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search_view, name="search"),
    path("entities/<str:code>/", views.entity_detail, name="entity"),
    path("persons/<int:pk>/", views.person_detail, name="person"),
    path("records/<int:pk>/", views.record_detail, name="record"),
    path("lists/<slug:slug>/", views.list_view, name="list"),
    path("agencies/late/", views.late_agencies, name="late_agencies"),
]
