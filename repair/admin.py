"""Read-only: applications change only through the review pages, which go through the one
transition function."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Application, RepairBar, Step


class StepInline(admin.TabularInline):
    model = Step
    fields = ("at", "kind", "actor_label", "reason", "due_on", "request_id")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("number", "entity", "department", "status", "due_on", "submitted_at", "review_link")
    list_filter = ("status", "department")
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
