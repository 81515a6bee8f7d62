import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"
# Mainland mobile numbers, or a landline with an optional area code and extension.
PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?|\d{7,8})$")


class RepairForm(forms.Form):
    # Labels sit above their fields in bold: no trailing colon, in either language.
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (the pattern from Django's file-upload documentation)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ApplicationForm(RepairForm):
    entity_code = forms.CharField(
        label=_("Unified Social Credit Code"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    entity_name = forms.CharField(label=_("Entity name"), max_length=200)
    contact_person = forms.CharField(label=_("Contact person"), max_length=100)
    phone = forms.CharField(
        label=_("Phone"), max_length=30, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})
    )
    email = forms.EmailField(
        label=_("Email"),
        help_text=_("The application number and query code are sent here, and every decision."),
    )
    statement = forms.CharField(
        label=_("How the violation was corrected and the obligations fulfilled"),
        min_length=20,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    fulfilment_files = MultipleFileField(
        label=_("Proof of correction and fulfilment"),
        required=False,
        help_text=_("PDF, JPEG or PNG; for example the receipt for the fine paid."),
    )
    representation_files = MultipleFileField(
        label=_("Proof of representation or letter of authorization"),
        required=False,
        help_text=_("PDF, JPEG or PNG: the representative's identity document or a signed authorization."),
    )
    signatory = forms.CharField(
        label=_("Signed by (the representative's name)"),
        max_length=100,
        required=False,
    )
    commitment_confirmed = forms.BooleanField(
        label=_("I have read the credit commitment above and make it on the entity's behalf."),
        required=False,
    )

    # Not required by the form (the service says what is missing, in the domain's words), but
    # required all the same: marked so.
    SHOWN_REQUIRED = ("fulfilment_files", "representation_files", "signatory", "commitment_confirmed")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.SHOWN_REQUIRED:
            self.fields[name].shown_required = True

    def clean_phone(self):
        phone = re.sub(r"[\s()]", "", self.cleaned_data["phone"])
        if not PHONE.match(phone):
            raise ValidationError(_("Enter a mobile number (11 digits) or a landline such as 010-12345678."))
        return phone


class StatusForm(RepairForm):
    number = forms.CharField(
        label=_("Application number"), max_length=24, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    query_code = forms.CharField(
        label=_("Query code"), max_length=20, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )


class MaterialForm(RepairForm):
    files = MultipleFileField(label=_("Material"), required=False, help_text=_("PDF, JPEG or PNG."))
    note = forms.CharField(
        label=_("Note for the reviewer (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class WithdrawForm(RepairForm):
    note = forms.CharField(
        label=_("Why you withdraw it (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        label=_("I withdraw this application. The record stays disclosed; I may apply again later."),
        error_messages={"required": _("Tick the box to confirm that you withdraw the application.")},
    )


class ReasonForm(RepairForm):
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    # Set by the confirmation page of the steps that decide or change what the public sees.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
