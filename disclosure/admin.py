"""The staff admin: each department's staff see and edit only their department's records,
inside its business scope; superusers see everything. Writes go through the services."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from . import agencies, search, selectors, services
from .models import (
    Agency,
    AgencyCall,
    AgencyKey,
    CatalogItem,
    CreditRecord,
    Department,
    DisclosureRule,
    DisclosureRuleSet,
    Entity,
    FormerName,
    RecordEvent,
    RecordStatus,
)
from .rules import Severity

admin.site.site_header = _("Credit Disclosure administration")
admin.site.site_title = _("Credit Disclosure administration")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en"]
    search_fields = ["code", "name", "name_en"]
    filter_horizontal = ["scope", "staff"]

    def get_readonly_fields(self, request, obj=None):
        # The code is in every published document of the department's records.
        return ["code"] if obj else []


class CatalogItemForm(forms.ModelForm):
    def clean(self):
        """The service's own check, so narrowing the subjects under existing records is a form
        error, not a failed save."""
        cleaned = super().clean()
        if self.instance.pk and "subjects" in self.changed_data and cleaned.get("subjects"):
            try:
                services.check_subjects_keep_records(item=self.instance, subjects=cleaned["subjects"])
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


@admin.register(CatalogItem)
class CatalogItemAdmin(admin.ModelAdmin):
    form = CatalogItemForm
    list_display = [
        "code",
        "name",
        "category",
        "subjects",
        "legal_basis_level",
        "provider",
        "disclosure_attribute",
        "severity",
        "repairable",
        "minor_disclosure_necessary",
    ]
    list_filter = [
        "category",
        "subjects",
        "disclosure_attribute",
        "severity",
        "minor_disclosure_necessary",
        "legal_basis_level",
    ]
    search_fields = ["code", "name", "name_en", "legal_basis"]

    def save_model(self, request, obj, form, change):
        """Through the service: a change to what the item's records publish (its code, its
        category, whether it is public) reaches agencies' copies in the same transaction."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        services.catalog_item_update(item=obj, actor=request.user, changes=changes)


class DisclosureRuleFormSet(forms.BaseInlineFormSet):
    def clean(self):
        """A set judges every severity: one missing would make publishing such a record fail."""
        super().clean()
        if any(self.errors):
            return
        present = {
            form.cleaned_data.get("severity")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        }
        missing = [str(severity.label) for severity in Severity if severity not in present]
        if missing:
            raise ValidationError(
                _("A rule set needs a rule for every severity; missing: %(missing)s.")
                % {"missing": ", ".join(missing)}
            )


class DisclosureRuleInline(admin.TabularInline):
    model = DisclosureRule
    formset = DisclosureRuleFormSet
    fields = ["severity", "disclosure", "repair_after_months", "disclosure_months", "provision"]
    extra = 0


class RecomputeForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        required=False,  # the service says what is missing
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the periods change, e.g. the document and the figure corrected; kept in each record’s history."),
    )


@admin.register(DisclosureRuleSet)
class DisclosureRuleSetAdmin(admin.ModelAdmin):
    list_display = ["name", "document_number", "effective_from", "in_force_until"]
    readonly_fields = ["in_force_until"]
    fieldsets = [
        (_("Document"), {"fields": ["document_title", "document_number", "issuing_authority", "published_on"]}),
        (None, {"fields": ["name", "effective_from", "in_force_until", "source"]}),
    ]
    inlines = [DisclosureRuleInline]

    @admin.display(description=_("in force until"))
    def in_force_until(self, rule_set):
        until = rule_set.in_force_until() if rule_set.pk else None
        return until.isoformat() if until else _("still in force")

    def get_urls(self):
        recompute = path(
            "<path:object_id>/recompute/",
            self.admin_site.admin_view(self.recompute_view),
            name="disclosure_disclosureruleset_recompute",
        )
        return [recompute, *super().get_urls()]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            self.message_user(
                request,
                _("Existing records keep their dates until you recompute them from this page."),
                messages.WARNING,
            )

    def recompute_view(self, request, object_id):
        """Recompute the periods of the records a rule set judges (``records_recompute_periods``),
        with a reason kept in each changed record's history."""
        rule_set = self.get_object(request, object_id)
        if rule_set is None or not self.has_change_permission(request, rule_set):
            raise Http404
        form = RecomputeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            reason = form.cleaned_data["reason"]
            try:
                changed = services.records_recompute_periods(rule_set=rule_set, actor=request.user, reason=reason)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.log_change(request, rule_set, f"Recomputed the periods of {changed} record(s): {reason}")
                self.message_user(
                    request,
                    _("%(count)d record(s) got new dates; each change is in the record’s history.")
                    % {"count": changed},
                    messages.SUCCESS,
                )
                return redirect("admin:disclosure_disclosureruleset_change", rule_set.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Recompute the records’ periods"),
            "opts": self.model._meta,
            "original": rule_set,
            "form": form,
        }
        return TemplateResponse(request, "admin/disclosure/disclosureruleset/recompute.html", context)


class FormerNameInline(admin.TabularInline):
    model = FormerName
    extra = 0


class EntityForm(forms.ModelForm):
    code = forms.CharField(
        label=_("unified social credit code"),
        required=False,
        max_length=40,  # as typed: spaces, hyphens and full-width characters are folded away
        help_text=_("18 characters (GB 32100-2015). Empty only for natural persons."),
    )
    identity_number = forms.CharField(
        label=_("identity number"),
        required=False,
        help_text=_("Natural persons only. Stored as a fingerprint and a masked form, never in full."),
    )

    class Meta:
        model = Entity
        fields = ["code", "name", "kind", "legal_representative"]


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    form = EntityForm
    list_display = ["name", "identifier", "kind", "region"]
    list_filter = ["kind", "province_code"]
    search_fields = ["code", "name", "search_name"]
    ordering = ["name"]
    readonly_fields = [
        "registration_authority",
        "entity_type",
        "division_code",
        "region",
        "id_number_masked",
    ]
    inlines = [FormerNameInline]

    @admin.display(description=_("code or identity number"), ordering="code")
    def identifier(self, entity):
        return entity.public_identifier

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "code"] if obj else fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return form if obj else AddEntityForm

    def save_model(self, request, obj, form, change):
        """A new name goes through the rename service: the former name is kept (and still
        found by search) and every published document of the entity's records changes with
        its event. Only staff whose role covers entity registration may change an entity
        (the ``change_entity`` permission); other clerks see it read-only."""
        if change:
            others = [name for name in form.changed_data if name != "name"]
            if others:
                obj.save(update_fields=[*others, "updated_at"])
            if "name" in form.changed_data:
                services.entity_rename(
                    entity=obj, new_name=obj.name, changed_on=timezone.localdate(), actor=request.user
                )
            return
        created = services.entity_create(**form.entity_fields())
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        search.index_entity(form.instance)  # names may have changed, here or in the inline


class AddEntityForm(EntityForm):
    """Adding runs the service's own validation, so its errors land in the form."""

    def entity_fields(self):
        return {
            name: self.cleaned_data.get(name)
            for name in ("name", "kind", "code", "identity_number", "legal_representative")
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            built = services.entity_build(**self.entity_fields())
        except ValidationError as exc:
            self.add_error(None, exc)
            return cleaned
        self.instance = built
        cleaned["code"] = built.code
        return cleaned


# Fields whose history holds an id: shown by what the id names.
_REFERENCED = {"entity": Entity, "catalog_item": CatalogItem, "department": Department, "rule_set": DisclosureRuleSet}


def _field_label(name: str) -> str:
    try:
        return str(CreditRecord._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def _value_label(name: str, value) -> str:
    if value is None or value == "":
        return "—"
    if name in _REFERENCED and isinstance(value, int):
        found = _REFERENCED[name].objects.filter(pk=value).first()
        return str(found) if found else f"#{value}"
    if name == "status":
        return str(dict(RecordStatus.choices).get(value, value))
    if name == "severity":
        return str(dict(Severity.choices).get(value, value))
    return str(value)


def readable_changes(event: RecordEvent):
    """An event's ``changes`` as a table of fields, before and after: ``[before, after]``
    pairs for a change, a single value for what a new record or an expiry set."""
    if not event.changes:
        return "—"
    rows = []
    for name, value in event.changes.items():
        if isinstance(value, list) and len(value) == 2:
            before, after = value
        else:
            before, after = None, value
        rows.append((_field_label(name), _value_label(name, before), _value_label(name, after)))
    return format_html(
        '<table class="history-changes"><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
        '<th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>',
        _("field"),
        _("before"),
        _("after"),
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
    )


class RecordEventInline(admin.TabularInline):
    model = RecordEvent
    extra = 0
    can_delete = False
    fields = ["occurred_at", "kind", "actor_label", "reason", "reference", "what_changed", "effective_on", "request_id"]
    readonly_fields = fields
    ordering = ["id"]

    @admin.display(description=_("what changed"))
    def what_changed(self, event):
        return readable_changes(event)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # A record's history goes with the record: whoever may see the record sees it.
        return request.user.has_perm("disclosure.view_creditrecord") or request.user.has_perm(
            "disclosure.change_creditrecord"
        )


class CreditRecordForm(forms.ModelForm):
    reason = forms.CharField(
        label=_("reason for this change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when correcting a record; kept in its history."),
    )

    class Meta:
        model = CreditRecord
        fields = [*services.STATED_FIELDS, "department"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if self.instance.pk and not cleaned.get("reason", "").strip():
            self.add_error("reason", _("Give a reason: every change to a record is traceable."))
        department = cleaned.get("department") or getattr(self.instance, "department", None)
        item = cleaned.get("catalog_item")
        entity = cleaned.get("entity")
        try:
            if department and item:
                services.check_in_scope(department=department, catalog_item=item)
            if entity and item:
                services.check_applies_to(catalog_item=item, entity=entity)
            probe = CreditRecord(**{name: cleaned.get(name) for name in services.STATED_FIELDS})
            probe.severity = probe.severity or ""
            services.record_apply_rules(probe)
        except ValidationError as exc:
            self.add_error(None, exc)
        return cleaned


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        required=False,  # the service says what is missing, in the same words as for corrections
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "The decision that revoked it (reconsideration, judgment) and its number; kept in the record’s history."
        ),
    )


@admin.register(CreditRecord)
class CreditRecordAdmin(admin.ModelAdmin):
    form = CreditRecordForm
    list_display = [
        "decision_number",
        "entity",
        "catalog_item",
        "department",
        "decision_date",
        "severity",
        "disclosure_end",
        "status",
    ]
    list_filter = ["status", "catalog_item__category", "severity", "department"]
    search_fields = ["decision_number", "entity__name", "entity__code"]
    date_hierarchy = "decision_date"
    # Clerks find the entity by its code or its name as they type (EntityAdmin.search_fields).
    autocomplete_fields = ["entity"]
    list_select_related = ["entity", "catalog_item", "department"]
    ordering = ["-decision_date", "-id"]
    readonly_fields = [
        *services.COMPUTED_FIELDS,
        "status",
        "status_reason",
        "status_changed_at",
        "superseded_by",
    ]
    inlines = [RecordEventInline]

    def get_queryset(self, request):
        return super().get_queryset(request).for_department_staff(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "department"] if obj else fields

    def get_changeform_initial_data(self, request):
        """A clerk who acts for one department starts with it chosen."""
        initial = super().get_changeform_initial_data(request)
        departments = list(Department.objects.filter(staff=request.user).values_list("pk", flat=True)[:2])
        if len(departments) == 1:
            initial.setdefault("department", departments[0])
        return initial

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        user = request.user
        if not user.is_superuser:
            if db_field.name == "department":
                kwargs["queryset"] = Department.objects.filter(staff=user)
            elif db_field.name == "catalog_item":
                kwargs["queryset"] = CatalogItem.objects.filter(departments_in_scope__staff=user).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # Nothing is deleted: records are revoked or superseded, with history.

    def get_urls(self):
        revoke = path(
            "<path:object_id>/revoke/",
            self.admin_site.admin_view(self.revoke_view),
            name="disclosure_creditrecord_revoke",
        )
        return [revoke, *super().get_urls()]

    def revoke_view(self, request, object_id):
        """The decision behind a record was revoked: the record leaves every page, list,
        export and feed at once (``services.record_revoke``) and is never shown again."""
        record = self.get_object(request, object_id)  # only the staff's own department's records
        if record is None or not self.has_change_permission(request, record):
            raise Http404
        form = RevokeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.record_revoke(record=record, actor=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(
                    request,
                    _("%(number)s is revoked: it is no longer shown, and agencies’ feeds carry its removal.")
                    % {"number": record.decision_number},
                    messages.SUCCESS,
                )
                return redirect("admin:disclosure_creditrecord_change", record.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke %(number)s") % {"number": record.decision_number},
            "opts": self.model._meta,
            "original": record,
            "form": form,
        }
        return TemplateResponse(request, "admin/disclosure/creditrecord/revoke.html", context)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name) for name in services.STATED_FIELDS}
        data["severity"] = data["severity"] or ""
        if change:
            changed = {name: data[name] for name in form.changed_data if name in data}
            saved = services.record_correct(
                record=obj, actor=request.user, reason=form.cleaned_data["reason"], changes=changed
            )
        else:
            saved = services.record_create(
                actor=request.user, department=form.cleaned_data["department"], **data
            )
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(RecordEvent)
class RecordEventAdmin(admin.ModelAdmin):
    list_display = ["id", "occurred_at", "kind", "record_label", "actor_label", "reference"]
    list_filter = ["kind"]
    search_fields = ["reference", "record__decision_number", "request_id"]
    ordering = ["-id"]
    fields = ["record_label", "kind", "occurred_at", "effective_on", "actor_label", "reason", "reference", "what_changed", "request_id"]
    readonly_fields = fields

    @admin.display(description=_("credit record"), ordering="record_id")
    def record_label(self, event):
        return str(event.record)

    @admin.display(description=_("what changed"))
    def what_changed(self, event):
        return readable_changes(event)

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("record__entity")
        if request.user.is_superuser:
            return qs
        return qs.filter(record__department__staff=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AgencyKeyInline(admin.TabularInline):
    model = AgencyKey
    extra = 0
    can_delete = False
    fields = ["prefix", "label", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # keys are issued with the action, so the key can be shown once


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active", "contact_email", "applied_cursor", "applied_at", "lag"]
    search_fields = ["code", "name"]
    readonly_fields = ["applied_cursor", "applied_at", "lag"]
    inlines = [AgencyKeyInline]
    actions = ["issue_key"]

    @admin.display(description=_("lag"))
    def lag(self, agency):
        lag = selectors.agency_lag(agency)
        if not lag.events_behind:
            return _("up to date")
        return _("%(events)d events behind, the oldest since %(since)s (%(days)d days)") % {
            "events": lag.events_behind,
            "since": timezone.localtime(lag.behind_since).strftime("%Y-%m-%d %H:%M"),
            "days": lag.days_behind(timezone.now()),
        }

    @admin.action(description=_("Issue a new API key (shown once)"), permissions=["change"])
    def issue_key(self, request, queryset):
        for agency in queryset:
            _key, raw = agencies.agency_key_issue(agency=agency, actor=request.user)
            self.message_user(
                request,
                _("New API key for %(agency)s — copy it now, it will not be shown again: %(key)s")
                % {"agency": agency.name, "key": raw},
                messages.WARNING,
            )


@admin.register(AgencyKey)
class AgencyKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "agency", "label", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["agency"]
    readonly_fields = ["agency", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    fields = ["agency", "prefix", "label", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        for key in queryset:
            agencies.agency_key_revoke(key=key)
        self.message_user(request, _("Revoked: they stop working at once."), messages.SUCCESS)


@admin.register(AgencyCall)
class AgencyCallAdmin(admin.ModelAdmin):
    list_display = ["at", "agency", "key", "method", "endpoint", "status", "request_id"]
    list_filter = ["agency", "status"]
    search_fields = ["request_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
