"""The filters of the public lists, the search and the API, declared once with django-filter.

A filter value the site cannot read (an unknown province, a date that is not one) makes the
filter set invalid: pages answer 400 and say which filter and why, and list nothing rather
than a list the visitor did not ask for; the API answers 400 with the field.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from . import divisions, uscc
from .fold import fold
from .models import CatalogItem, CreditRecord, Department, Entity, EntityKind
from .rules import Category

MAX_QUERY = 100


def _province_choices():
    return [(code, divisions.province_display(code)) for code, _name in divisions.provinces()]


class _LazyChoices:
    """Choices worked out when the form is built, so province names follow the page's language."""

    def __init__(self, make):
        self.make = make

    def __iter__(self):
        return iter(self.make())


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class RecordListFilter(django_filters.FilterSet):
    """A public list's filters: by the entity's name or code, region, department, kind of record
    and decision date. The queryset given is already ``disclosed()`` and scoped to the list."""

    q = django_filters.CharFilter(
        label=_("Name or code"), method="filter_name_or_code", max_length=MAX_QUERY
    )
    province = django_filters.ChoiceFilter(
        label=_("Region"), field_name="entity__province_code", choices=_LazyChoices(_province_choices),
        empty_label=_("Any"),
    )  # fmt: skip
    department = django_filters.ChoiceFilter(
        label=_("Department"), field_name="department__code", empty_label=_("Any")
    )
    item = django_filters.ChoiceFilter(
        label=_("Kind of record"), field_name="catalog_item__code", empty_label=_("Any")
    )
    decided_from = django_filters.DateFilter(
        label=_("Decided from"), field_name="decision_date", lookup_expr="gte", widget=DateInput()
    )
    decided_to = django_filters.DateFilter(
        label=_("Decided until"), field_name="decision_date", lookup_expr="lte", widget=DateInput()
    )

    class Meta:
        model = CreditRecord
        fields = []

    def __init__(self, data=None, queryset=None, *, categories=tuple(Category.values), **kwargs):
        super().__init__(data, queryset, **kwargs)
        departments = Department.objects.filter(
            provided_items__category__in=categories, provided_items__disclosure_attribute="public"
        ).distinct()
        self.filters["department"].extra["choices"] = [(d.code, d.display_name) for d in departments]
        items = CatalogItem.objects.filter(category__in=categories, disclosure_attribute="public")
        self.filters["item"].extra["choices"] = [(i.code, i.display_name) for i in items]
        self.form.label_suffix = ""

    def filter_name_or_code(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        code = uscc.normalize(value)
        return queryset.filter(Q(entity__code=code) | Q(entity__search_name__contains=fold(value)))

    @property
    def active(self) -> bool:
        return self.is_bound and any(self.form.cleaned_data.get(name) for name in self.filters)


class RecordApiFilter(RecordListFilter):
    """The API's list of disclosed records: a list's filters, and the category."""

    category = django_filters.ChoiceFilter(
        label=_("Category"), field_name="catalog_item__category", choices=Category.choices
    )

    def __init__(self, data=None, queryset=None, **kwargs):
        kwargs.pop("categories", None)
        super().__init__(data, queryset, **kwargs)


class EntitySearchFilter(django_filters.FilterSet):
    """The search page's and the search API's filters on entities."""

    kind = django_filters.ChoiceFilter(label=_("Kind of entity"), choices=EntityKind.choices, empty_label=_("Any"))
    province = django_filters.ChoiceFilter(
        label=_("Region"), field_name="province_code", choices=_LazyChoices(_province_choices), empty_label=_("Any")
    )
    category = django_filters.ChoiceFilter(
        label=_("Has records in"), choices=Category.choices, method="filter_category", empty_label=_("Any")
    )

    class Meta:
        model = Entity
        fields = []

    def filter_category(self, queryset, name, value):
        # The search applies it itself (search.Filters), inside its ranked segments.
        return queryset

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form.label_suffix = ""
