from django.urls import path

from . import views

app_name = "notices"

urlpatterns = [
    path("notices/", views.notice_list, {"kind": "notices"}, name="notices"),
    path("policies/", views.notice_list, {"kind": "policies"}, name="policies"),
    path("notices/<int:pk>/", views.notice_detail, name="notice"),
    path("help/", views.help_page, name="help"),
    path("help/disclosure-rules/", views.rules_page, name="rules"),
    path("help/credit-repair/", views.repair_guide, name="repair_guide"),
    path("help/credit-repair/commitment.txt", views.commitment_template, name="commitment_template"),
]
