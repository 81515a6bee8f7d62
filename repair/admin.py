"""Read-only: applications change only through the review pages, which go through the one
transition function."""

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Application, RepairBar, Step


class StepInline(admin.TabularInline):
    model = Step
    fields = ("step_at", "step_kind", "step_by", "step_reason", "step_due", "request_id")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("at", "id")

    # Step's fields carry no verbose names (and changing them is a migration): labelled here.
    @admin.display(description=_("time"))
    def step_at(self, step):
        return date_format(timezone.localtime(step.at), "Y-m-d H:i")

    @admin.display(description=_("step"))
    def step_kind(self, step):
        return step.get_kind_display()

    @admin.display(description=_("by"))
    def step_by(self, step):
        return step.actor_label if step.actor_id else _("applicant")

    @admin.display(description=_("reason"))
    def step_reason(self, step):
        return step.reason or "—"

    @admin.display(description=_("next step due"))
    def step_due(self, step):
        return step.due_on or "—"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("number", "entity", "department", "status", "due_on", "submitted_at", "review_link")
    list_filter = ("status", "department")
    ordering = ("-submitted_at",)
    search_fields = ("number", "entity__name", "entity__code")
    readonly_fields = [f.name for f in Application._meta.fields if f.name != "query_code_digest"]
    exclude = ("query_code_digest",)
    inlines = [StepInline]

    def get_queryset(self, request):
        return super().get_queryset(request).for_reviewer(request.user).select_related("entity", "department")

    @admin.display(description=_("review"))
    def review_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("repair:review_detail", args=[obj.number]), _("open")
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff


@admin.register(RepairBar)
class RepairBarAdmin(admin.ModelAdmin):
    list_display = ("entity", "barred_from", "barred_until", "application")
    readonly_fields = ("entity", "application", "barred_from", "barred_until")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
