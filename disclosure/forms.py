from django import forms
from django.utils.translation import gettext_lazy as _

from . import divisions
from .models import EntityKind
from .rules import Category

MAX_QUERY = 100


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Unified Social Credit Code or name"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Enter a Unified Social Credit Code or a name"), "autocomplete": "off"}
        ),
    )
    kind = forms.ChoiceField(label=_("Kind of entity"), required=False)
    province = forms.ChoiceField(label=_("Region"), required=False)
    category = forms.ChoiceField(label=_("Has records in"), required=False)
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        anything = [("", _("Any"))]
        self.fields["kind"].choices = anything + list(EntityKind.choices)
        self.fields["province"].choices = anything + divisions.provinces()
        self.fields["category"].choices = anything + list(Category.choices)

    def clean_q(self):
        q = self.cleaned_data["q"].strip()
        if len(q) > MAX_QUERY:
            raise forms.ValidationError(
                _("The search is too long: at most %(max)d characters."), params={"max": MAX_QUERY}
            )
        return q

    def clean_page(self):
        return self.cleaned_data["page"] or 1


class ListFilterForm(forms.Form):
    province = forms.ChoiceField(label=_("Region"), required=False)
    department = forms.ChoiceField(label=_("Department"), required=False)
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        anything = [("", _("Any"))]
        self.fields["province"].choices = anything + divisions.provinces()
        self.fields["department"].choices = anything + [(d.code, d.display_name) for d in departments]
