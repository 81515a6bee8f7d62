"""Import a department's file of records from the command line: millions of rows, with a
progress bar and a summary. The same pipeline as the admin upload and the department API."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from disclosure.models import Department
from intake import services
from intake.models import BatchStatus, Channel


class Command(BaseCommand):
    help = "Import a department's records (CSV, XLSX or JSON lines) through the intake pipeline."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--department", required=True, help="The department's code.")
        parser.add_argument(
            "--import-valid-rows", action="store_true",
            help="Import the valid rows and report the rest (default: one bad row and nothing is imported).",
        )  # fmt: skip
        parser.add_argument("--bulk", choices=["auto", "yes", "no"], default="auto",
                            help="Write new records in bulk (auto: from INTAKE_BULK_FROM new records).")  # fmt: skip
        parser.add_argument("--errors", type=Path, help="Write the error report (CSV) to this file.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file, department, import_valid_rows, bulk, errors, no_progress, **options):
        try:
            dept = Department.objects.get(code=department)
        except Department.DoesNotExist:
            raise CommandError(f"No department has the code {department!r}.") from None
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        bars = {}

        def progress(stage, rows):
            if no_progress:
                return
            if stage not in bars:
                for bar in bars.values():
                    bar.close()
                bars[stage] = tqdm(desc=stage, unit=" rows", unit_scale=True, file=self.stderr._out)
            bars[stage].update(rows)

        with file.open("rb") as stream:
            batch = services.batch_submit(
                department=dept, upload=services.Upload(stream, file.name), channel=Channel.COMMAND,
                import_valid_rows=import_valid_rows, bulk={"auto": None, "yes": True, "no": False}[bulk],
                progress=progress,
            )  # fmt: skip
        for bar in bars.values():
            bar.close()
        self.stdout.write(
            f"batch {batch.number}: {batch.get_status_display()}\n"
            f"  rows {batch.rows_total:,}, refused {batch.rows_refused:,}\n"
            f"  created {batch.created:,}, corrected {batch.corrected:,}, revoked {batch.revoked:,}, "
            f"unchanged {batch.unchanged:,}\n"
            f"  entities created {batch.entities_created:,}, renamed {batch.entities_renamed:,}\n"
            f"  {batch.seconds:.1f} s"
        )
        if batch.file_error:
            self.stdout.write(f"  {batch.file_error}")
        for error in batch.errors[:20]:
            self.stdout.write(f"  line {error['line']}, {error['column']}: {error['message']}")
        if len(batch.errors) > 20:
            self.stdout.write(f"  … and {len(batch.errors) - 20:,} more (--errors FILE writes them all)")
        if errors:
            from intake.exports import error_report_lines

            errors.write_text("".join(error_report_lines(batch)), encoding="utf-8")
        if batch.status == BatchStatus.REJECTED:
            raise CommandError("Nothing was imported.")
