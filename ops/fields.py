"""Model fields the operations side adds to rows that requests write."""

from django.db import models
from django.utils.translation import gettext_lazy as _


def request_id_field() -> models.CharField:
    """The X-Request-ID of the request that wrote the row (``ops.logs``), to find a row's
    request in the logs and the other way round; empty for jobs and commands."""
    return models.CharField(
        _("request id"),
        max_length=64,
        blank=True,
        default="",
        db_default="",  # rows written by raw SQL (the dataset generator's COPY) stay valid
        editable=False,
        help_text=_("The X-Request-ID of the request that wrote this row; empty for jobs and commands."),
    )
