from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from disclosure.rules import Category

from . import selectors
from .models import ReportKind


class IssueForm(forms.Form):
    kind = forms.ChoiceField(choices=ReportKind.choices, widget=forms.HiddenInput)
    language = forms.ChoiceField(label=_("Language of the report"), choices=settings.LANGUAGES)
    departments = forms.MultipleChoiceField(
        label=_("Fields"), required=False, widget=forms.CheckboxSelectMultiple
    )
    categories = forms.MultipleChoiceField(
        label=_("Kinds of record"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(c, Category(c).label) for c in selectors.CATEGORY_ORDER],
        initial=list(selectors.SPECIAL_DEFAULT_CATEGORIES),
    )
    window_months = forms.TypedChoiceField(
        label=_("Window"),
        coerce=int,
        required=False,
        widget=forms.RadioSelect,
        choices=[(m, _("the last %(months)s months") % {"months": m}) for m in selectors.WINDOW_CHOICES],
        initial=36,
    )

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].choices = [(d.code, d.display_name) for d in departments]


class VerifyNumberForm(forms.Form):
    number = forms.CharField(label=_("Report number"), max_length=40)


class VerifyFileForm(forms.Form):
    file = forms.FileField(label=_("The report's PDF file"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.REPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is too large to be a report issued here."))
        return upload
