"""The clerks' side of intake: upload a file, read its report, release or undo a batch,
download templates and the field guide; staff issue and revoke department keys. Every
action goes through ``intake.services``; clerks see only their departments' batches."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from disclosure.admin import DepartmentAdmin
from disclosure.models import Department

from . import exports, pipeline, selectors, services
from .models import Batch, BatchStatus, Channel, DepartmentIntakePolicy, DepartmentKey
from .uploads import SizeLimitedUploadHandler


class UploadForm(forms.Form):
    department = forms.ModelChoiceField(queryset=Department.objects.none(), label=_("department"))
    file = forms.FileField(
        label=_("file"),
        help_text=_("CSV, XLSX or JSON lines, UTF-8 or GB18030, headers in Chinese or English."),
    )
    import_valid_rows = forms.BooleanField(
        label=_("import the valid rows and report the rest"),
        required=False,
        help_text=_("Unticked (the default): one bad row and nothing is imported."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        departments = Department.objects.all() if user.is_superuser else Department.objects.filter(staff=user)
        self.fields["department"].queryset = departments
        if departments.count() == 1:
            self.fields["department"].initial = departments.first()


class UndoForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the batch is undone; kept in each record's history."),
    )  # fmt: skip


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = [
        "number", "department", "channel", "status", "submitted_label", "submitted_at", "file_name",
        "rows_total", "created", "corrected", "revoked", "unchanged", "rows_refused",
    ]  # fmt: skip
    list_filter = ["status", "channel", "department"]
    search_fields = ["number", "file_name", "file_sha256"]
    date_hierarchy = "submitted_at"

    def get_queryset(self, request):
        return selectors.batches_for(request.user, super().get_queryset(request).select_related("department"))

    def has_add_permission(self, request):
        return False  # a batch is made by uploading a file: see the "Upload a file" button

    def has_delete_permission(self, request, obj=None):
        return False  # a batch is undone, never deleted

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="intake_batch_upload"),
            path("guide/", wrap(self.guide_view), name="intake_batch_guide"),
            path("template.<str:fmt>", wrap(self.template_view), name="intake_batch_template"),
            path("<int:pk>/errors.csv", wrap(self.errors_view), name="intake_batch_errors"),
            path("<int:pk>/release/", wrap(self.release_view), name="intake_batch_release"),
            path("<int:pk>/undo/", wrap(self.undo_view), name="intake_batch_undo"),
            *super().get_urls(),
        ]

    def _batch(self, request, pk) -> Batch:
        batch = self.get_queryset(request).filter(pk=pk).first()
        if batch is None:
            raise Http404
        return batch

    def _context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **extra}

    def changelist_view(self, request, extra_context=None):
        extra = {"upload_url": reverse("admin:intake_batch_upload"), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self._batch(request, object_id)
        page = Paginator(batch.errors, 200).get_page(request.GET.get("page"))
        context = self._context(
            request, title=_("Batch %(number)s") % {"number": batch.number}, batch=batch, original=batch,
            errors_page=page, quality=selectors.batch_timeliness(batch),
            can_release=batch.status == BatchStatus.AWAITING_RELEASE and batch.submitted_by_id != request.user.pk,
            can_undo=batch.status == BatchStatus.IMPORTED,
        )  # fmt: skip
        return TemplateResponse(request, "intake/admin/batch.html", context)

    @csrf_exempt
    def upload_view(self, request):
        """The size limit is set before the body is read: a larger Content-Length is refused
        at once, and a body that grows past the limit stops being read."""
        limit = settings.INTAKE_MAX_UPLOAD_BYTES
        too_large = int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024
        handler = getattr(request, "upload_limit", None) or SizeLimitedUploadHandler(request, limit=limit)
        return csrf_protect(self._upload)(request, too_large or handler)

    def _upload(self, request, limit):
        too_large = limit is True or getattr(limit, "exceeded", False)
        upload = request.FILES.get("file") if request.method == "POST" and not too_large else None
        too_large = too_large or (upload is not None and upload.size > settings.INTAKE_MAX_UPLOAD_BYTES)
        if request.method == "POST" and too_large:
            messages.error(request, services.too_large_message())
            return redirect("admin:intake_batch_upload")
        form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = services.batch_submit(
                    department=form.cleaned_data["department"], upload=services.Upload(upload, upload.name),
                    channel=Channel.ADMIN, actor=request.user, import_valid_rows=form.cleaned_data["import_valid_rows"],
                )  # fmt: skip
            except PermissionDenied as exc:
                form.add_error("department", str(exc))
            else:
                level = messages.SUCCESS if batch.status != BatchStatus.REJECTED else messages.ERROR
                self.message_user(request, selectors.batch_summary(batch), level)
                return redirect("admin:intake_batch_change", batch.pk)
        return TemplateResponse(request, "intake/admin/upload.html", self._context(
            request, title=_("Upload records"), form=form, formats=exports.TEMPLATE_TYPES,
            max_mb=settings.INTAKE_MAX_UPLOAD_BYTES // 2**20,
        ))  # fmt: skip

    def guide_view(self, request):
        return TemplateResponse(request, "intake/admin/guide.html", self._context(
            request, title=_("Field guide"), fields=pipeline.FIELDS, formats=exports.TEMPLATE_TYPES,
            max_mb=settings.INTAKE_MAX_UPLOAD_BYTES // 2**20,
        ))  # fmt: skip

    def template_view(self, request, fmt):
        if fmt not in exports.TEMPLATE_TYPES:
            raise Http404
        language = "en" if request.GET.get("headers") == "en" else "zh"
        response = HttpResponse(exports.template_bytes(fmt, language=language), content_type=exports.TEMPLATE_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="records-template-{language}.{fmt}"'
        return response

    def errors_view(self, request, pk):
        batch = self._batch(request, pk)
        response = StreamingHttpResponse(exports.error_report_lines(batch), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.number}-errors.csv"'
        return response

    def release_view(self, request, pk):
        batch = self._batch(request, pk)
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        try:
            batch = services.batch_release(batch=batch, actor=request.user)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            self.message_user(request, selectors.batch_summary(batch), messages.SUCCESS)
        return redirect("admin:intake_batch_change", batch.pk)

    def undo_view(self, request, pk):
        batch = self._batch(request, pk)
        form = UndoForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.batch_undo(batch=batch, actor=request.user, reason=form.cleaned_data["reason"])
            except (ValidationError, PermissionDenied) as exc:
                form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
            else:
                self.message_user(request, _("Batch %(number)s is undone: its records are back as they were, with their events.")
                                  % {"number": batch.number}, messages.SUCCESS)  # fmt: skip
                return redirect("admin:intake_batch_change", batch.pk)
        return TemplateResponse(request, "intake/admin/undo.html", self._context(
            request, title=_("Undo batch %(number)s") % {"number": batch.number}, batch=batch, original=batch, form=form,
        ))  # fmt: skip


@admin.register(DepartmentKey)
class DepartmentKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "department", "label", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["department"]
    fields = ["department", "prefix", "label", "created_at", "created_by", "last_used_at", "revoked_at"]
    readonly_fields = ["department", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # issued from the department's page, so the key can be shown once

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        for key in queryset:
            services.department_key_revoke(key=key)
        self.message_user(request, _("Revoked: they stop working at once."), messages.SUCCESS)


class DepartmentKeyInline(admin.TabularInline):
    model = DepartmentKey
    extra = 0
    can_delete = False
    fields = ["prefix", "label", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class IntakePolicyInline(admin.StackedInline):
    model = DepartmentIntakePolicy
    can_delete = False
    max_num = 1


admin.site.unregister(Department)


@admin.register(Department)
class DepartmentWithIntakeAdmin(DepartmentAdmin):
    """The department's page, with its intake keys and its two-person review setting."""

    inlines = [*DepartmentAdmin.inlines, IntakePolicyInline, DepartmentKeyInline]
    actions = ["issue_intake_key"]

    @admin.action(description=_("Issue a department API key for intake (shown once)"), permissions=["change"])
    def issue_intake_key(self, request, queryset):
        for department in queryset:
            _key, raw = services.department_key_issue(department=department, actor=request.user)
            self.message_user(
                request,
                _("New intake key for %(department)s — copy it now, it will not be shown again: %(key)s")
                % {"department": department.name, "key": raw},
                messages.WARNING,
            )
