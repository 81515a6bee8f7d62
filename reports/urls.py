from django.urls import path, re_path

from . import views

app_name = "reports"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    re_path(r"^certificate\.(?P<fmt>pem|cer)$", views.certificate, name="certificate"),
    path("entities/<str:code>/", views.issue_for_entity, name="issue"),
    path("persons/<int:pk>/", views.issue_for_person, name="issue_person"),
    path("<str:number>.pdf", views.report_pdf, name="pdf"),
]
