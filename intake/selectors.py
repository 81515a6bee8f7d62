"""Reads for intake: which batches a user sees, what a batch says in a sentence, and the
collection-quality figures (how many records, how fast, how many rows refused and why)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from disclosure.models import CreditRecord, Department, EventKind, RecordEvent
from disclosure.rules import Category
from repair import workdays

from .models import WAITING, Batch, BatchStatus, RecordAction, RecordBatch

# "Double publicity" (双公示): licence and penalty decisions published within this many
# working days of the decision.
PUBLISH_WITHIN_WORKING_DAYS = 7
DOUBLE_PUBLICITY = (Category.ADMINISTRATIVE_LICENCE, Category.ADMINISTRATIVE_PENALTY)


def batches_for(user, queryset: QuerySet[Batch] | None = None) -> QuerySet[Batch]:
    queryset = Batch.objects.all() if queryset is None else queryset
    if user.is_superuser:
        return queryset
    return queryset.filter(department__staff=user)


def batch_summary(batch: Batch) -> str:
    if batch.file_error:
        return _("Batch %(number)s refused: %(error)s") % {"number": batch.number, "error": batch.file_error}
    if batch.status == BatchStatus.REJECTED:
        return _("Batch %(number)s refused: %(refused)d of %(rows)d rows have errors; nothing was imported.") % {
            "number": batch.number, "refused": batch.rows_refused, "rows": batch.rows_total,
        }  # fmt: skip
    if batch.status == BatchStatus.AWAITING_RELEASE:
        return _("Batch %(number)s is checked and waits for a second clerk to release it.") % {"number": batch.number}
    if batch.status == BatchStatus.FAILED:
        return _("Batch %(number)s failed: %(failure)s") % {"number": batch.number, "failure": batch.failure}
    if batch.status in WAITING:
        return _("Batch %(number)s: %(status)s.") % {"number": batch.number, "status": batch.get_status_display()}
    return _(
        "Batch %(number)s imported: %(created)d created, %(corrected)d corrected, %(revoked)d revoked, "
        "%(unchanged)d unchanged, %(refused)d rows refused."
    ) % {
        "number": batch.number, "created": batch.created, "corrected": batch.corrected, "revoked": batch.revoked,
        "unchanged": batch.unchanged, "refused": batch.rows_refused,
    }  # fmt: skip


@dataclass
class Timeliness:
    """Licences and penalties received, and how many working days after the decision."""

    received: int = 0
    double_publicity: int = 0
    on_time: int = 0
    delays: list[int] = field(default_factory=list)  # one entry per licence or penalty
    refused_rows: int = 0
    refusals: Counter = field(default_factory=Counter)

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.double_publicity if self.double_publicity else None

    @property
    def on_time_percent(self) -> str:
        share = self.on_time_share
        return "" if share is None else f"{share * 100:.1f}%"

    @property
    def refusal_reasons(self) -> list[tuple[str, int]]:
        return self.refusals.most_common()

    @property
    def median_delay(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None

    def add(self, *, category: str, decided: dt.date, published: dt.date, count: int) -> None:
        self.received += count
        if category in DOUBLE_PUBLICITY:
            delay = workdays.working_days_between(decided, published)
            self.double_publicity += count
            self.on_time += count if delay <= PUBLISH_WITHIN_WORKING_DAYS else 0
            self.delays.extend([delay] * count)


def _published_day():
    return TruncDate("occurred_at", tzinfo=timezone.get_current_timezone())


def batch_timeliness(batch: Batch) -> Timeliness:
    """The same figures as the quality page, for the records one batch created."""
    result = Timeliness(refused_rows=batch.rows_refused, refusals=Counter(batch.error_counts))
    rows = (
        RecordBatch.objects.filter(batch=batch, action=RecordAction.CREATED)
        .values("record__catalog_item__category", "record__decision_date")
        .annotate(count=Count("id"))
    )
    published = timezone.localtime(batch.imported_at).date() if batch.imported_at else None
    if published:
        for row in rows:
            result.add(category=row["record__catalog_item__category"], decided=row["record__decision_date"],
                       published=published, count=row["count"])  # fmt: skip
    return result


@dataclass
class QualityRow:
    department: Department
    month: str
    figures: Timeliness


def collection_quality(*, months: int = 12, today: dt.date | None = None) -> list[QualityRow]:
    """Per department and month of publication (the ``created`` event), for the last
    ``months`` months: records received, the share of licences and penalties published within
    7 working days of the decision, the median delay in working days, and the rows refused in
    intake, by reason. Counted in the database per (department, category, decision date,
    publication day), so the working days are worked out once per distinct pair."""
    today = today or timezone.localdate()
    first = (today.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    since = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    rows = (
        RecordEvent.objects.filter(kind=EventKind.CREATED, occurred_at__gte=since)
        .annotate(published=_published_day())
        .values("record__department_id", "record__catalog_item__category", "record__decision_date", "published")
        .annotate(count=Count("id"))
        .order_by()
    )
    table: dict[tuple[int, str], Timeliness] = defaultdict(Timeliness)
    for row in rows:
        published = row["published"]
        key = (row["record__department_id"], f"{published:%Y-%m}")
        table[key].add(category=row["record__catalog_item__category"], decided=row["record__decision_date"],
                       published=published, count=row["count"])  # fmt: skip
    for batch in Batch.objects.filter(submitted_at__gte=since, rows_refused__gt=0).values(
        "department_id", "submitted_at", "rows_refused", "error_counts"
    ):
        key = (batch["department_id"], f"{timezone.localtime(batch['submitted_at']):%Y-%m}")
        table[key].refused_rows += batch["rows_refused"]
        table[key].refusals.update(batch["error_counts"])
    departments = Department.objects.in_bulk({department_id for department_id, _month in table})
    return sorted(
        (QualityRow(departments[d], month, figures) for (d, month), figures in table.items()),
        key=lambda row: (row.department.code, row.month),
        reverse=False,
    )


def records_of_batch(batch: Batch) -> QuerySet[CreditRecord]:
    return CreditRecord.objects.filter(intake_links__batch=batch)
