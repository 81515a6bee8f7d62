from django import forms
from django.utils.translation import gettext_lazy as _

MAX_QUERY = 100


class SearchForm(forms.Form):
    """What to search for, and which page; the filters are ``filters.EntitySearchFilter``."""

    q = forms.CharField(
        label=_("Unified Social Credit Code or name"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Enter a Unified Social Credit Code or a name"), "autocomplete": "off"}
        ),
    )
    page = forms.IntegerField(label=_("Page"), required=False, min_value=1, widget=forms.HiddenInput)

    def clean_q(self):
        q = self.cleaned_data["q"].strip()
        if len(q) > MAX_QUERY:
            raise forms.ValidationError(
                _("The search is too long: at most %(max)d characters."), params={"max": MAX_QUERY}
            )
        return q

    def clean_page(self):
        return self.cleaned_data["page"] or 1
