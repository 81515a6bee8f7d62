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
    path("lists/<slug:slug>/export.csv", views.list_csv, name="list_csv"),
    path("browse/", views.browse, name="browse"),
    path("browse/<slug:slug>/", views.category_view, name="category"),
    path("browse/<slug:slug>/export.csv", views.category_csv, name="category_csv"),
    path("agencies/late/", views.late_agencies, name="late_agencies"),
]
