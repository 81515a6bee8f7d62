from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Notice


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "published_on", "is_published", "updated_at"]
    list_filter = ["kind", "is_published"]
    search_fields = ["title", "title_en", "body", "document_number"]
    date_hierarchy = "published_on"
    ordering = ["-published_on", "-id"]
    fieldsets = [
        (None, {"fields": ["kind", "issuer", "document_number", "published_on", "is_published"]}),
        (_("Chinese"), {"fields": ["title", "body"]}),
        (_("English"), {"fields": ["title_en", "body_en"]}),
    ]
