"""Files an applicant already chose, kept across a form that came back with an error.

A browser cannot refill a file input, so without this every error would cost the applicant
every file. Files that pass the evidence check are kept in the private storage under a
random name and listed in the session; the next submission uses them unless unticked. They
are deleted once the application is taken or dropped."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile

from . import evidence

SESSION_KEY = "repair_pending_files"
# Where kept files wait; ``repair_purge_pending`` deletes the ones an applicant abandoned.
PENDING_DIR = "repair/pending"
FIELDS = ("fulfilment_files", "representation_files")


class PendingFiles:
    def __init__(self, request, record_id: int):
        self.session = request.session
        self.key = str(record_id)

    @property
    def entries(self) -> list[dict]:
        return self.session.get(SESSION_KEY, {}).get(self.key, [])

    def _save(self, entries: list[dict]) -> None:
        pending = dict(self.session.get(SESSION_KEY, {}))
        if entries:
            pending[self.key] = entries
        else:
            pending.pop(self.key, None)
        self.session[SESSION_KEY] = pending

    def stash(self, field: str, uploads) -> None:
        entries = list(self.entries)
        for upload in uploads:
            try:
                inspected = evidence.inspect(upload)
            except ValidationError:
                continue  # the form says what is wrong with it; nothing to keep
            token = secrets.token_hex(16)
            upload.seek(0)
            path = default_storage.save(f"{PENDING_DIR}/{token}.{inspected.extension}", upload)
            entries.append(
                {
                    "id": token,
                    "field": field,
                    "name": inspected.original_name,
                    "path": path,
                    "size": inspected.size,
                    "content_type": inspected.content_type,
                }
            )
        self._save(entries)

    def keep_only(self, ids) -> None:
        """Drop the kept files the applicant unticked."""
        keep = set(ids)
        entries = []
        for entry in self.entries:
            if entry["id"] in keep:
                entries.append(entry)
            else:
                default_storage.delete(entry["path"])
        self._save(entries)

    def files(self, field: str) -> list[UploadedFile]:
        return [
            UploadedFile(
                default_storage.open(entry["path"], "rb"),
                name=entry["name"],
                content_type=entry["content_type"],
                size=entry["size"],
            )
            for entry in self.entries
            if entry["field"] == field
        ]

    def for_field(self, field: str) -> list[dict]:
        return [entry for entry in self.entries if entry["field"] == field]

    def clear(self) -> None:
        for entry in self.entries:
            default_storage.delete(entry["path"])
        self._save([])
