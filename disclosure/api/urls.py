from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from . import agency, views

app_name = "api"

# Swagger UI (its script in a file of its own: the "split" view) and ReDoc write inline styles
# as they render, and ReDoc searches in a worker it starts from a blob. Still no inline script
# and nothing from another host.
DOCS_CSP = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})

urlpatterns = [
    path("entities/", views.entity_search, name="entity-search"),
    path("entities/<str:code>/", views.entity_detail, name="entity"),
    path("entities/<str:code>/records/", views.entity_records, name="entity-records"),
    path("records/", views.RecordList.as_view(), name="records"),
    path("records/<int:pk>/", views.record_detail, name="record"),
    path("agency/", agency.Whoami.as_view(), name="agency"),
    path("changes/", agency.Changes.as_view(), name="changes"),
    path("snapshot.ndjson", agency.Snapshot.as_view(), {"fmt": "ndjson"}, name="snapshot-ndjson"),
    path("snapshot.csv", agency.Snapshot.as_view(), {"fmt": "csv"}, name="snapshot-csv"),
    path("digest/", agency.Digest.as_view(), name="digest"),
    path("acknowledgement/", agency.Acknowledgement.as_view(), name="acknowledgement"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DOCS_CSP(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", DOCS_CSP(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
]
