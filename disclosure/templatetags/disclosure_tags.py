"""What the public pages say about a record, worded for its kind, and the few ways dates,
amounts and places are written the same on every page."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext as _

from disclosure import divisions
from disclosure.rules import Category

register = template.Library()

# What each field of a record means depends on its kind: a licence has no "facts of the
# violation" and a red list no "penalty". (label of: decision number, decision date, facts,
# legal basis, outcome, amount)
_LABELS = {
    Category.ADMINISTRATIVE_PENALTY: (
        pgettext_lazy("penalty", "Penalty decision number"),
        pgettext_lazy("penalty", "Date of the decision"),
        pgettext_lazy("penalty", "Facts of the violation"),
        pgettext_lazy("penalty", "Basis of the penalty"),
        pgettext_lazy("penalty", "Penalty"),
        pgettext_lazy("penalty", "Fine"),
    ),
    Category.ADMINISTRATIVE_LICENCE: (
        pgettext_lazy("licence", "Licence document number"),
        pgettext_lazy("licence", "Date of the licence decision"),
        pgettext_lazy("licence", "What is licensed"),
        pgettext_lazy("licence", "Basis of the licence"),
        pgettext_lazy("licence", "Licence decision"),
        pgettext_lazy("licence", "Amount"),
    ),
    Category.RED_LIST: (
        pgettext_lazy("red list", "Recognition document number"),
        pgettext_lazy("red list", "Date of recognition"),
        pgettext_lazy("red list", "Grounds for the listing"),
        pgettext_lazy("red list", "Basis of the recognition"),
        pgettext_lazy("red list", "Recognition"),
        pgettext_lazy("red list", "Amount"),
    ),
    Category.CREDIT_COMMITMENT: (
        pgettext_lazy("commitment", "Commitment document number"),
        pgettext_lazy("commitment", "Date of the commitment"),
        pgettext_lazy("commitment", "What is committed"),
        pgettext_lazy("commitment", "Basis of the commitment"),
        pgettext_lazy("commitment", "Kind of commitment"),
        pgettext_lazy("commitment", "Amount"),
    ),
    Category.DISHONEST_JUDGMENT_DEBTOR: (
        pgettext_lazy("judgment debtor", "Case number"),
        pgettext_lazy("judgment debtor", "Date of the listing"),
        pgettext_lazy("judgment debtor", "Circumstances of the dishonesty"),
        pgettext_lazy("judgment debtor", "Basis of the enforcement"),
        pgettext_lazy("judgment debtor", "Measure"),
        pgettext_lazy("judgment debtor", "Amount owed"),
    ),
}
# The other lists (serious dishonesty, key attention, abnormal operation) read alike.
_LIST_LABELS = (
    pgettext_lazy("listing", "Listing decision number"),
    pgettext_lazy("listing", "Date of the listing"),
    pgettext_lazy("listing", "Grounds for the listing"),
    pgettext_lazy("listing", "Basis of the listing"),
    pgettext_lazy("listing", "Measure"),
    pgettext_lazy("listing", "Amount"),
)
_KEYS = ("decision_number", "decision_date", "facts", "legal_basis", "outcome", "amount")


def labels_for(category: str) -> dict:
    return dict(zip(_KEYS, _LABELS.get(category, _LIST_LABELS), strict=True))


@register.simple_tag
def record_labels(record) -> dict:
    """The field labels for ``record``'s kind, as a dict: ``{% record_labels record as labels %}``."""
    return labels_for(record.catalog_item.category)


@register.simple_tag
def date_range(start: dt.date | None, end: dt.date | None) -> str:
    """One way to write a period on every page: ``2026-01-01 至 2026-12-31``."""
    if start is None and end is None:
        return ""
    return _("%(start)s to %(end)s") % {
        "start": start.isoformat() if start else "…",
        "end": end.isoformat() if end else "…",
    }


@register.filter
def yuan(amount) -> str:
    """``4,569,400.00 元`` / ``CNY 4,569,400.00``."""
    if amount is None:
        return ""
    return _("%(amount)s yuan") % {"amount": f"{amount:,.2f}"}


@register.filter
def region_name(entity) -> str:
    """The entity's region in the page's language."""
    if (get_language() or "").startswith("en"):
        return divisions.region_en(entity.division_code) or entity.region
    return entity.region


@register.filter
def province_name(code: str) -> str:
    return divisions.province_display(code)


ELLIPSIS = None


@register.simple_tag
def page_range(number: int, num_pages: int, on_each_side: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and a few around the current one; ``None``
    where numbers are left out."""
    shown = {1, num_pages, *range(max(1, number - on_each_side), min(num_pages, number + on_each_side) + 1)}
    pages: list[int | None] = []
    for n in sorted(shown):
        if pages and n - pages[-1] > 1:
            pages.append(ELLIPSIS)
        pages.append(n)
    return pages


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def after_colon() -> str:
    """What follows a label's colon: a space after an English colon, nothing after a
    full-width one."""
    return " " if (get_language() or "").startswith("en") else ""


@register.simple_tag
def colon() -> str:
    """A label's colon: ``: `` in English, ``：`` (full width, nothing after) in Chinese."""
    return ": " if (get_language() or "").startswith("en") else "："
