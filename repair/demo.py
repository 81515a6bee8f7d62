"""Demo repair applications in every state, made through the services themselves, then moved
back in time so the queue has due dates behind and ahead of today."""

from __future__ import annotations

import datetime as dt
import random

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from disclosure.models import CreditRecord

from . import selectors, services, workdays
from .models import Application, Step

DEMO_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# (steps to take, working days ago the application came in)
PLANS = [
    ([], 1),
    ([], 2),
    ([], 6),  # overdue for acceptance
    (["accept"], 3),
    (["accept"], 12),  # overdue for a decision
    (["accept", "extend"], 9),
    (["accept", "request_material"], 4),
    (["accept", "approve"], 8),
    (["accept", "approve"], 15),
    (["accept", "reject"], 10),
    (["refuse"], 5),
    (["accept", "withdraw"], 7),
]
REASONS = {
    "refuse": "申请人提交的授权委托书未加盖单位公章，请重新申请。",
    "extend": "需向税务部门核实罚款缴纳情况，延长审核期限。",
    "request_material": "请补充罚款缴纳凭证的银行回单。",
    "reject": "经核查，行政处罚决定书确定的整改义务尚未全部履行。",
    "approve": "",
    "withdraw": "我单位需补充完整的整改材料，先撤回申请，整改完成后重新提交。",
}


def _files(name: str):
    return [SimpleUploadedFile(f"{name}.pdf", DEMO_PDF, content_type="application/pdf")]


def seed_applications(*, seed: int, reviewer_for) -> int:
    """``reviewer_for(department)`` names the user who acts for a department. Demo
    applicants have example.com addresses: nothing is mailed."""
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
        transaction.atomic(),
    ):
        return _seed(seed=seed, reviewer_for=reviewer_for)


def _seed(*, seed: int, reviewer_for) -> int:
    rng = random.Random(seed)
    today = timezone.localdate()
    candidates = [
        record
        for record in CreditRecord.objects.disclosed()
        .filter(earliest_repair_on__lte=today, entity__code__isnull=False)
        .select_related("entity", "department")
        .order_by("id")
        if not selectors.eligibility_refusals(record=record)
    ]
    chosen = rng.sample(candidates, min(len(PLANS), len(candidates)))
    for (actions, days_ago), record in zip(PLANS, chosen, strict=False):
        entity = record.entity
        submission = services.repair_submit(
            record=record,
            entity_code=entity.code,
            entity_name=entity.name,
            contact_person=rng.choice(["王磊", "李静", "张伟", "刘洋", "陈芳"]),
            phone=f"13{rng.randrange(10**9):09d}",
            email=f"credit{rng.randrange(1000):03d}@example.com",
            statement="本单位已按行政处罚决定书要求足额缴纳罚款，完成整改并建立合规审核制度，特申请信用修复。",
            signatory=entity.legal_representative or "王磊",
            commitment_confirmed=True,
            fulfilment_files=_files("罚款缴纳凭证"),
            representation_files=_files("授权委托书"),
        )
        application = submission.application
        reviewer = reviewer_for(record.department)
        for action in actions:
            if action == "withdraw":  # the applicant's step, not the reviewer's
                services.repair_withdraw(application=application, note=REASONS[action])
                continue
            getattr(services, f"repair_{action}")(
                application=application,
                reviewer=reviewer,
                **({"reason": REASONS[action]} if action != "accept" else {}),
            )
        _move_back(application, days_ago)
    return len(chosen)


def _move_back(application: Application, working_days: int) -> None:
    """Shift an application's history back by ``working_days``, keeping its clock consistent."""
    start = timezone.localdate()
    day = start
    while workdays.working_days_between(day, start) < working_days:
        day -= dt.timedelta(days=1)
    shift = start - day
    application.refresh_from_db()
    steps = list(application.steps.order_by("id"))
    for index, step in enumerate(steps):
        # The steps keep their order, a working day or so apart.
        step.at = step.at - shift + dt.timedelta(days=min(index * 2, shift.days))
        if step.at > timezone.now():
            step.at = timezone.now()
    Step.objects.bulk_update(steps, ["at"])
    application.submitted_at = steps[0].at
    # The number carries the day the application came in, as a real one does.
    application.number = f"XF{timezone.localtime(application.submitted_at):%Y%m%d}{application.number[10:]}"
    if application.clock_from is not None:
        application.clock_from = timezone.localtime(steps[-1].at).date()
        deadline = workdays.add_working_days(application.clock_from, application.clock_days)
        application.due_on, application.due_provisional = deadline.due_on, deadline.provisional
    if application.decided_on is not None:
        application.decided_on = timezone.localtime(steps[-1].at).date()
        application.decision_working_days = workdays.working_days_between(
            timezone.localtime(application.submitted_at).date(), application.decided_on
        )
    application.save()
