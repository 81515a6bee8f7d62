"""The public collection-quality page (归集质效): how much each department sends and how fast."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import selectors

CHART_WIDTH = 600


@require_safe
def quality(request):
    rows = selectors.collection_quality()
    for row in rows:
        share = row.figures.on_time_share
        row.bar = round(CHART_WIDTH * share) if share is not None else 0
    return render(request, "intake/quality.html", {
        "rows": rows, "within": selectors.PUBLISH_WITHIN_WORKING_DAYS, "chart_width": CHART_WIDTH,
        "chart_height": 24 * len(rows) + 8,
    })  # fmt: skip
