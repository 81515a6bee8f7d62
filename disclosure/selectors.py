"""Reads for pages, exports and the API. Public reads start from ``disclosed()``."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from .models import CreditRecord, Entity


def entity_by_code(code: str) -> Entity | None:
    return Entity.objects.filter(code=code).prefetch_related("former_names").first()


def disclosed_records(*, on: dt.date | None = None) -> QuerySet[CreditRecord]:
    return CreditRecord.objects.disclosed(on=on).select_related("entity", "catalog_item", "department")


def entity_disclosed_records(*, entity: Entity, on: dt.date | None = None) -> QuerySet[CreditRecord]:
    return (
        CreditRecord.objects.disclosed(on=on)
        .filter(entity=entity)
        .select_related("catalog_item", "department")
        .order_by("catalog_item__category", "-decision_date", "-id")
    )
