"""What intake gives back as files: the error report of a batch, and the templates a
department fills in. Every cell of submitted text is escaped against formula injection
(``csv_cell``, the same function as the agency snapshot's)."""

from __future__ import annotations

import csv
import io
import json

from django.utils.translation import gettext as _

from disclosure.api.agency import csv_cell

from .models import Batch
from .pipeline import FIELDS


class _Echo:
    def write(self, value):
        return value


def error_report_lines(batch: Batch):
    """The batch's refused rows as CSV lines (UTF-8 with a byte-order mark, so spreadsheets
    open the Chinese right)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([_("line"), _("column"), _("error"), _("message")])
    if batch.file_error:
        yield writer.writerow(["", "", "file", csv_cell(batch.file_error)])
    for error in batch.errors:
        yield writer.writerow(
            [error["line"], csv_cell(error["column"]), csv_cell(error["code"]), csv_cell(error["message"])]
        )


EXAMPLE = {field.name: field.example for field in FIELDS}


def template_bytes(file_format: str, *, language: str) -> bytes:
    """An empty template with one example row, headers in Chinese (``zh``) or English."""
    headers = [field.zh if language == "zh" else field.name for field in FIELDS]
    example = [EXAMPLE[field.name] for field in FIELDS]
    if file_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerow(example)
        return ("\ufeff" + out.getvalue()).encode()
    if file_format == "jsonl":
        return (json.dumps(dict(zip(headers, example, strict=True)), ensure_ascii=False) + "\n").encode()
    if file_format == "xlsx":
        import openpyxl

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("records")
        sheet.append(headers)
        sheet.append(example)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    raise ValueError(file_format)


TEMPLATE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
