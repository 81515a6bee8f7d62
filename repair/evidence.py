"""Evidence files: recognized by their content, never by their name or the browser's claim."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

ACCEPTED_TYPES = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
}


@dataclass(frozen=True)
class InspectedFile:
    upload: object  # an UploadedFile
    original_name: str
    content_type: str
    extension: str
    size: int
    sha256: str


def inspect(upload) -> InspectedFile:
    """Check one uploaded file: its size, and that its bytes are a PDF, JPEG or PNG."""
    name = upload.name or "?"
    if upload.size > settings.REPAIR_MAX_FILE_BYTES:
        raise ValidationError(
            _("“%(name)s” is %(size)s; each file may be at most %(limit)s."),
            code="too_large",
            params={
                "name": name,
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(settings.REPAIR_MAX_FILE_BYTES),
            },
        )
    if upload.size == 0:
        raise ValidationError(_("“%(name)s” is empty."), code="empty", params={"name": name})
    upload.seek(0)
    head = upload.read(8192)
    kind = filetype.guess(head)
    content_type = kind.mime if kind else None
    if content_type not in ACCEPTED_TYPES:
        raise ValidationError(
            _("“%(name)s” is not a PDF, JPEG or PNG file (its content was checked, not its name)."),
            code="file_type",
            params={"name": name},
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return InspectedFile(
        upload=upload,
        original_name=name[:255],
        content_type=content_type,
        extension=ACCEPTED_TYPES[content_type],
        size=upload.size,
        sha256=digest.hexdigest(),
    )


def inspect_all(uploads, *, already_stored: int = 0) -> list[InspectedFile]:
    """Check a batch; every problem is reported at once."""
    limit = settings.REPAIR_MAX_FILES
    errors, inspected = [], []
    if already_stored + len(uploads) > limit:
        errors.append(
            ValidationError(
                _("At most %(limit)d files per application; this would make %(count)d."),
                code="too_many",
                params={"limit": limit, "count": already_stored + len(uploads)},
            )
        )
    for upload in uploads:
        try:
            inspected.append(inspect(upload))
        except ValidationError as exc:
            errors.append(exc)
    if errors:
        raise ValidationError(errors)
    return inspected
