"""Reads for credit repair: who may apply, the reviewer's queue, the public statistics."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field, fields

from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from disclosure.models import CreditRecord, Department

from .models import DEPARTMENT_TURN, Application, ApplicationStatus, RepairBar, Step


def active_bar(entity, *, on: dt.date | None = None) -> RepairBar | None:
    on = on or timezone.localdate()
    return entity.repair_bars.filter(barred_until__gte=on).order_by("-barred_until").first()


def eligibility_refusals(*, record: CreditRecord, on: dt.date | None = None) -> list[str]:
    """Every reason ``record`` cannot be repaired online on ``on``, in plain words; an empty
    list means an application may be made."""
    on = on or timezone.localdate()
    if not CreditRecord.objects.disclosed(on=on).filter(pk=record.pk).exists():
        return [_("This record is not disclosed, so there is nothing to repair.")]
    refusals = []
    if not record.entity.code:
        refusals.append(
            _(
                "Online repair is for organisations with a Unified Social Credit Code; a natural "
                "person applies to the department that made the decision."
            )
        )
    if record.earliest_repair_on is None:
        refusals.append(
            _("Records of this kind cannot be repaired: they are disclosed for their whole period.")
        )
    elif on < record.earliest_repair_on:
        refusals.append(
            _("The minimum disclosure period has not passed yet: repair is possible from %(date)s.")
            % {"date": record.earliest_repair_on.isoformat()}
        )
    if Application.objects.open().filter(record=record).exists():
        refusals.append(
            _(
                "An application for this record is already under way; follow it on the status "
                "page with its number and query code."
            )
        )
    bar = active_bar(record.entity, on=on)
    if bar:
        refusals.append(
            _(
                "This entity may not apply for credit repair before %(date)s: an earlier approval "
                "was revoked because the material proved false."
            )
            % {"date": (bar.barred_until + dt.timedelta(days=1)).isoformat()}
        )
    return refusals


def application_for_status(number: str) -> Application | None:
    return (
        Application.objects.select_related("record__entity", "record__catalog_item", "department")
        .prefetch_related("steps", "evidence")
        .filter(number=number.strip().upper())
        .first()
    )


def application_for_review(*, user, number: str) -> Application | None:
    return (
        Application.objects.for_reviewer(user)
        .select_related("record__entity", "record__catalog_item", "department", "entity")
        .prefetch_related(Prefetch("steps", queryset=Step.objects.select_related("actor")), "evidence")
        .filter(number=number)
        .first()
    )


def review_queue(*, user, show: str = "open"):
    """The user's departments' applications, the most urgent first: open ones by due date,
    then decided ones, newest first."""
    applications = Application.objects.for_reviewer(user).select_related("entity", "department", "record")
    if show == "open":
        return applications.open().order_by("due_on", "submitted_at")
    return applications.exclude(status__in=[*DEPARTMENT_TURN, ApplicationStatus.AWAITING_MATERIAL]).order_by(
        "-decided_on", "-submitted_at"
    )


@dataclass
class DepartmentStatistics:
    department: Department
    received: int = 0
    accepted: int = 0
    approved: int = 0
    rejected: int = 0
    not_accepted: int = 0
    open: int = 0
    overdue: int = 0
    accepted_late: int = 0
    withdrawn: int = 0
    decision_days: list[int] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.decision_days) if self.decision_days else None


# Every count a row carries; the overall row adds them up.
COUNTS = tuple(f.name for f in fields(DepartmentStatistics) if f.name not in ("department", "decision_days"))


def repair_statistics(
    *, on: dt.date | None = None
) -> tuple[list[DepartmentStatistics], DepartmentStatistics]:
    """Per department and overall: applications received, accepted (including those decided
    since), approved, rejected, not accepted, open, overdue, accepted after the acceptance
    time limit, withdrawn by the applicant, and the median working days from submission to
    decision."""
    on = on or timezone.localdate()
    S = ApplicationStatus
    counts = (
        Application.objects.values("department")
        .annotate(
            received=Count("id"),
            accepted=Count(
                "id",
                filter=Q(
                    status__in=[
                        S.UNDER_REVIEW,
                        S.AWAITING_MATERIAL,
                        S.APPROVED,
                        S.REJECTED,
                        S.APPROVAL_REVOKED,
                    ]
                ),
            ),
            approved=Count("id", filter=Q(status__in=[S.APPROVED, S.APPROVAL_REVOKED])),
            rejected=Count("id", filter=Q(status=S.REJECTED)),
            not_accepted=Count("id", filter=Q(status=S.NOT_ACCEPTED)),
            open=Count("id", filter=Q(status__in=[S.SUBMITTED, S.UNDER_REVIEW, S.AWAITING_MATERIAL])),
            overdue=Count("id", filter=Q(status__in=DEPARTMENT_TURN, due_on__lt=on)),
            accepted_late=Count("id", filter=Q(accepted_late=True)),
            withdrawn=Count("id", filter=Q(status=S.WITHDRAWN)),
        )
        .order_by()
    )
    departments = {d.pk: d for d in Department.objects.filter(pk__in=[row["department"] for row in counts])}
    rows = {}
    for row in counts:
        pk = row.pop("department")
        rows[pk] = DepartmentStatistics(department=departments[pk], **row)
    for pk, days in Application.objects.filter(decision_working_days__isnull=False).values_list(
        "department", "decision_working_days"
    ):
        rows[pk].decision_days.append(days)
    total = DepartmentStatistics(department=None)
    for row in rows.values():
        for name in COUNTS:
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.decision_days += row.decision_days
    ordered = sorted(rows.values(), key=lambda r: (-r.received, r.department.code))
    return ordered, total
