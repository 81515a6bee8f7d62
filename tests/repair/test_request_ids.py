"""Repair steps carry the id of the request that wrote them (#12)."""

from django.urls import reverse

from disclosure.models import EventKind
from repair.models import Application, StepKind
from tests.factories import UserFactory
from tests.ops.test_request_ids import shown_request_ids
from tests.repair.conftest import jpeg, pdf


def test_a_repair_application_and_its_approval_carry_their_requests_ids(
    client, record, reviewer, applicant_data, private_storage
):
    form = {**applicant_data, "commitment_confirmed": "on"}
    applied = client.post(
        f"/en/repair/apply/{record.pk}/",
        {**form, "fulfilment_files": [pdf()], "representation_files": [jpeg()]},
    )
    assert applied.status_code == 302
    application = Application.objects.get()
    client.force_login(reviewer)
    accepted = client.post(f"/en/repair/review/{application.number}/accept/")
    approved = client.post(f"/en/repair/review/{application.number}/approve/", {"confirmed": "1"})
    assert (accepted.status_code, approved.status_code) == (302, 302)
    assert list(application.steps.values_list("kind", "request_id")) == [
        (StepKind.SUBMITTED, applied["X-Request-ID"]),
        (StepKind.ACCEPTED, accepted["X-Request-ID"]),
        (StepKind.APPROVED, approved["X-Request-ID"]),
    ]
    # The approval's withdrawal of the record is the same request.
    assert record.events.get(kind=EventKind.WITHDRAWN).request_id == approved["X-Request-ID"]
    # The admin's step inline shows them.
    admin = UserFactory(username="admin-user", is_superuser=True)
    client.force_login(admin)
    page = client.get(reverse("admin:repair_application_change", args=[application.pk]))
    assert shown_request_ids(page) == [
        applied["X-Request-ID"],
        accepted["X-Request-ID"],
        approved["X-Request-ID"],
    ]
