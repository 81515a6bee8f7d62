import datetime as dt
import re

import pytest

from disclosure.models import RecordStatus
from repair import services
from repair.models import Application, ApplicationStatus, Evidence
from tests.factories import CreditRecordFactory, DepartmentFactory, UserFactory
from tests.repair.conftest import PDF, jpeg, pdf

D = dt.date
S = ApplicationStatus


@pytest.fixture
def form_data(applicant_data):
    return {**applicant_data, "commitment_confirmed": "on"}


def apply_url(record):
    return f"/en/repair/apply/{record.pk}/"


def test_record_page_links_to_the_form_when_repair_is_open(client, record):
    page = client.get(f"/en/records/{record.pk}/").content.decode()
    assert f'<a class="action-link" href="/en/repair/apply/{record.pk}/">Apply for repair</a>' in page


def test_record_page_says_from_when_otherwise(client, record):
    recent = CreditRecordFactory(entity=record.entity, decision_date=D(2026, 9, 1))
    page = client.get(f"/en/records/{recent.pk}/").content.decode()
    assert "Credit repair possible from 2026-12-02." in page
    assert "Apply for repair" not in page


def test_the_form_shows_the_commitment_to_sign(client, record):
    response = client.get(apply_url(record))
    assert response.status_code == 200
    commitment = response.context["commitment"]
    assert commitment.startswith(
        "北京华为数字技术有限公司 (Unified Social Credit Code 91110000600037341L) solemnly commits"
    )
    assert commitment in response.content.decode()


def test_an_ineligible_record_shows_why(client, record):
    recent = CreditRecordFactory(entity=record.entity, decision_date=D(2026, 9, 1))
    response = client.get(apply_url(recent))
    assert response.status_code == 200
    assert response.context["refusals"] == [
        "The minimum disclosure period has not passed yet: repair is possible from 2026-12-02."
    ]
    assert client.post(apply_url(recent), {}).status_code == 409


def test_a_record_no_longer_published_is_gone(client, record, reviewer):
    from disclosure import services as disclosure_services

    disclosure_services.record_revoke(record=record, actor=reviewer, reason="复议撤销")
    assert client.get(apply_url(record)).status_code == 410
    assert client.get("/en/repair/apply/999999/").status_code == 404


def test_apply_then_see_the_receipt_once_then_the_status(client, record, form_data, private_storage):
    response = client.post(
        apply_url(record), {**form_data, "fulfilment_files": [pdf()], "representation_files": [jpeg()]}
    )
    assert response.status_code == 302
    assert response["Location"] == "/en/repair/submitted/"
    application = Application.objects.get()
    receipt = client.get("/en/repair/submitted/")
    page = receipt.content.decode()
    number = re.search(r'id="application-number">([^<]+)<', page).group(1)
    code = re.search(r'id="query-code">([^<]+)<', page).group(1)
    assert number == application.number
    assert services.query_code_matches(application, code)
    assert "Keep both: the query code is shown only this once." in page
    # Shown once: the next visit goes to the status form.
    assert client.get("/en/repair/submitted/")["Location"] == "/en/repair/status/"
    # This browser may follow its own application straight away.
    status = client.get(f"/en/repair/status/{number}/")
    assert status.status_code == 200
    assert status.context["application"] == application
    assert "Acceptance due by 2026-12-02." in status.content.decode()


def test_a_bad_file_is_shown_in_the_form_and_the_good_one_kept(client, record, form_data, private_storage):
    fake = pdf(name="fine-receipt.pdf", content=b"<html>not a pdf</html>" * 4)
    response = client.post(
        apply_url(record), {**form_data, "fulfilment_files": [fake], "representation_files": [jpeg()]}
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "fulfilment_files": [
            "“fine-receipt.pdf” is not a PDF, JPEG or PNG file (its content was checked, not its name)."
        ]
    }
    assert Application.objects.count() == 0
    # The good file is kept for the next try, so the applicant need not choose it again.
    kept = response.context["kept"]
    assert kept["fulfilment_files"] == []
    assert [item["name"] for item in kept["representation_files"]] == ["authorization.jpg"]
    assert [path.parent.name for path in private_storage.rglob("*.*")] == ["pending"]
    assert "Already attached: authorization.jpg" in response.content.decode()
    # Sent again with only the fulfilment proof: the kept file goes with it, then is gone.
    response = client.post(
        apply_url(record),
        {**form_data, "fulfilment_files": [pdf()], "keep_file": [kept["representation_files"][0]["id"]]},
    )
    assert response.status_code == 302
    application = Application.objects.get()
    assert sorted(e.kind for e in application.evidence.all()) == ["fulfilment", "representation"]
    assert [path.parent.name for path in private_storage.rglob("*.*")] == [application.number] * 2


def test_an_unticked_kept_file_is_dropped(client, record, form_data, private_storage):
    response = client.post(apply_url(record), {**form_data, "phone": "1", "representation_files": [jpeg()]})
    assert response.status_code == 400
    assert len(response.context["kept"]["representation_files"]) == 1
    response = client.post(apply_url(record), {**form_data, "phone": "1"})
    assert response.context["kept"]["representation_files"] == []
    assert list(private_storage.rglob("*.*")) == []


def test_form_errors_for_missing_fields(client, record):
    response = client.post(apply_url(record), {"phone": "12345"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["phone"] == ["Enter a mobile number (11 digits) or a landline such as 010-12345678."]
    assert errors["entity_code"] == ["This field is required."]


@pytest.fixture
def submitted(submit):
    return submit()


def test_status_wrong_pairs_get_the_same_answer(client, submitted):
    message = "No application matches this number and query code. Check both and try again."
    wrong_code = client.post(
        "/en/repair/status/", {"number": submitted.application.number, "query_code": "ABCDEFGHJK"}
    )
    unknown = client.post(
        "/en/repair/status/", {"number": "XF2026112899999999", "query_code": submitted.query_code}
    )
    for response in (wrong_code, unknown):
        assert response.status_code == 400
        assert response.context["form"].non_field_errors() == [message]
    assert (
        client.get(f"/en/repair/status/{submitted.application.number}/")["Location"] == "/en/repair/status/"
    )


def test_status_with_the_right_pair(client, submitted):
    number = submitted.application.number
    response = client.post(
        "/en/repair/status/", {"number": number.lower(), "query_code": submitted.query_code.lower()}
    )
    assert response["Location"] == f"/en/repair/status/{number}/"
    page = client.get(response["Location"])
    assert [step.kind for step in page.context["application"].steps.all()] == ["submitted"]


def test_status_guesses_are_rate_limited(client, submitted, settings):
    for _ in range(10):
        assert client.post("/en/repair/status/", {"number": "XF1", "query_code": "X"}).status_code == 400
    response = client.post("/en/repair/status/", {"number": "XF1", "query_code": "X"})
    assert response.status_code == 429
    assert response["Retry-After"] == "60"


def test_evidence_is_private(client, submitted, reviewer, record):
    item = Evidence.objects.filter(kind="fulfilment").get()
    url = f"/en/repair/evidence/{item.pk}/"
    assert client.get(url).status_code == 404
    other = UserFactory(username="other-department")
    DepartmentFactory().staff.add(other)
    client.force_login(other)
    assert client.get(url).status_code == 404
    client.force_login(reviewer)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="receipt.pdf"'
    assert response["Cache-Control"] == "private, no-store, max-age=0, no-cache, must-revalidate"


def test_the_applicant_downloads_with_the_query_code(client, submitted):
    client.post(
        "/en/repair/status/", {"number": submitted.application.number, "query_code": submitted.query_code}
    )
    item = Evidence.objects.filter(kind="representation").get()
    assert client.get(f"/en/repair/evidence/{item.pk}/").status_code == 200


def test_the_applicant_supplies_material_on_the_status_page(client, submitted, reviewer):
    application = submitted.application
    services.repair_accept(application=application, reviewer=reviewer)
    services.repair_request_material(application=application, reviewer=reviewer, reason="请补充完税证明。")
    client.post("/en/repair/status/", {"number": application.number, "query_code": submitted.query_code})
    page = client.get(f"/en/repair/status/{application.number}/").content.decode()
    assert "Supply the material asked for" in page
    assert "请补充完税证明。" in page
    url = f"/en/repair/status/{application.number}/material/"
    assert client.get(url).status_code == 405
    response = client.post(url, {"files": [pdf("tax.pdf")], "note": "完税证明见附件。"})
    assert response["Location"] == f"/en/repair/status/{application.number}/"
    application.refresh_from_db()
    assert application.status == S.UNDER_REVIEW
    assert list(application.evidence.filter(kind="supplement").values_list("original_name", flat=True)) == [
        "tax.pdf"
    ]


def test_the_applicant_withdraws_an_open_application(
    client, submitted, reviewer, record, mailoutbox, submit, django_capture_on_commit_callbacks
):
    application = submitted.application
    services.repair_accept(application=application, reviewer=reviewer)
    client.post("/en/repair/status/", {"number": application.number, "query_code": submitted.query_code})
    status_url = f"/en/repair/status/{application.number}/"
    url = f"/en/repair/status/{application.number}/withdraw/"
    assert f'action="{url}"' in client.get(status_url).content.decode()
    assert client.get(url).status_code == 405

    unconfirmed = client.post(url, {"note": "材料需重新准备"})
    assert unconfirmed.status_code == 400
    assert unconfirmed.context["withdraw_form"].errors["confirm"] == [
        "Tick the box to confirm that you withdraw the application."
    ]
    application.refresh_from_db()
    assert application.status == S.UNDER_REVIEW

    Application.objects.filter(pk=application.pk).update(language="zh-hans")  # applied on the Chinese site
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"note": "材料需重新准备", "confirm": "on"})
    assert response["Location"] == status_url
    application.refresh_from_db()
    assert (application.status, application.due_on, application.decided_on) == (S.WITHDRAWN, None, None)
    assert [(step.kind, step.reason) for step in application.steps.all()][-1] == (
        "withdrawn",
        "材料需重新准备",
    )
    page = client.get(status_url).content.decode()
    assert "Your application is withdrawn. The record stays as it was." in page
    assert f'action="{url}"' not in page
    assert [m.subject for m in mailoutbox] == [f"信用修复申请{application.number}：申请人已撤回"]
    # Nothing was decided: the record is still shown, the queue no longer lists the
    # application, and the entity may apply again.
    record.refresh_from_db()
    assert record.status == RecordStatus.DISCLOSED
    client.force_login(reviewer)
    assert application.number not in client.get("/en/repair/review/").content.decode()
    assert submit().application.status == S.SUBMITTED


def test_a_decided_application_cannot_be_withdrawn(client, submitted, reviewer):
    application = submitted.application
    services.repair_accept(application=application, reviewer=reviewer)
    services.repair_reject(application=application, reviewer=reviewer, reason="未缴清罚款")
    client.post("/en/repair/status/", {"number": application.number, "query_code": submitted.query_code})
    response = client.post(f"/en/repair/status/{application.number}/withdraw/", {"confirm": "on"})
    assert response.status_code == 400
    assert response.context["withdraw_form"].non_field_errors() == [
        f"Somebody else was faster: application {application.number} is now “Rejected”, "
        "so this step is no longer possible."
    ]
    application.refresh_from_db()
    assert application.status == S.REJECTED


def test_only_the_query_code_holder_withdraws(client, submitted):
    url = f"/en/repair/status/{submitted.application.number}/withdraw/"
    response = client.post(url, {"confirm": "on"})
    assert response["Location"] == "/en/repair/status/"
    submitted.application.refresh_from_db()
    assert submitted.application.status == S.SUBMITTED


# --- reviewers ---------------------------------------------------------------------------------


def test_the_queue_needs_a_staff_login(client, submitted):
    response = client.get("/en/repair/review/")
    assert response.status_code == 302
    assert response["Location"].startswith("/en/admin/login/?next=")


def test_the_queue_lists_the_departments_applications_by_due_date(
    client, submit, reviewer, record, django_assert_num_queries, applicant_data, another_record
):
    first = submit().application
    second = submit(record=another_record(D(2026, 5, 1))).application
    services.repair_accept(application=second, reviewer=reviewer)  # due 9 December
    elsewhere = CreditRecordFactory(decision_date=D(2026, 5, 1))
    services.repair_submit(
        record=elsewhere,
        fulfilment_files=[pdf()],
        representation_files=[pdf()],
        **{**applicant_data, "entity_code": elsewhere.entity.code, "entity_name": elsewhere.entity.name},
    )
    Application.objects.filter(pk=first.pk).update(due_on=D(2026, 11, 27))  # overdue
    client.force_login(reviewer)
    with django_assert_num_queries(3):  # session, user, applications
        response = client.get("/en/repair/review/")
    assert [a.number for a in response.context["applications"]] == [first.number, second.number]
    assert [a.is_overdue() for a in response.context["applications"]] == [True, False]
    assert response.content.decode().count("Overdue</strong>") == 1


def test_another_departments_reviewer_sees_nothing(client, submitted):
    other = UserFactory(username="other-department")
    DepartmentFactory().staff.add(other)
    client.force_login(other)
    assert list(client.get("/en/repair/review/").context["applications"]) == []
    assert client.get(f"/en/repair/review/{submitted.application.number}/").status_code == 404
    response = client.post(f"/en/repair/review/{submitted.application.number}/accept/")
    assert response.status_code == 404
    assert Application.objects.get().status == S.SUBMITTED


def test_review_steps_are_post_only(client, submitted, reviewer):
    client.force_login(reviewer)
    assert client.get(f"/en/repair/review/{submitted.application.number}/accept/").status_code == 405


def test_approve_from_the_review_page(client, submitted, reviewer, record):
    number = submitted.application.number
    client.force_login(reviewer)
    detail = client.get(f"/en/repair/review/{number}/")
    assert detail.context["actions"] == ["accept", "refuse"]
    client.post(f"/en/repair/review/{number}/accept/")
    assert client.get(f"/en/repair/review/{number}/").context["actions"] == [
        "request_material",
        "extend",
        "approve",
        "reject",
    ]
    # Withdrawing a record from public view is confirmed on a second page first.
    confirm = client.post(f"/en/repair/review/{number}/approve/")
    assert confirm.status_code == 200
    assert confirm.templates[0].name == "repair/review_confirm.html"
    assert Application.objects.get().status == S.UNDER_REVIEW
    response = client.post(f"/en/repair/review/{number}/approve/", {"confirmed": "on"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Approved: the record is no longer disclosed."]
    record.refresh_from_db()
    assert record.status == RecordStatus.WITHDRAWN
    assert client.get(f"/en/records/{record.pk}/").status_code == 410
    # The reviewer's page no longer links to the record, which answers 410.
    after = client.get(f"/en/repair/review/{number}/").content.decode()
    assert f'href="/en/records/{record.pk}/"' not in after
    assert "The record is no longer published." in after
    # A second click, or a second reviewer: a plain message, not an error page.
    again = client.post(f"/en/repair/review/{number}/approve/", {"confirmed": "on"}, follow=True)
    assert again.status_code == 200
    assert [str(m) for m in again.context["messages"]] == [
        f"Somebody else was faster: application {number} is now “Approved: record withdrawn”, so this step is no longer possible."
    ]


def test_a_refusal_without_a_reason_is_explained(client, submitted, reviewer):
    number = submitted.application.number
    client.force_login(reviewer)
    response = client.post(f"/en/repair/review/{number}/refuse/", {"reason": ""})
    assert response.status_code == 400
    assert response.context["form"].errors == {"reason": ["Give a reason: the applicant is told why."]}
    assert Application.objects.get().status == S.SUBMITTED
    confirmed = client.post(f"/en/repair/review/{number}/refuse/", {"reason": "", "confirmed": "on"})
    assert confirmed.status_code == 400
    assert confirmed.context["form"].errors == {"reason": ["Give a reason: the applicant is told why."]}


def test_the_review_form_is_validated(client, submitted, reviewer):
    number = submitted.application.number
    client.force_login(reviewer)
    response = client.post(f"/en/repair/review/{number}/refuse/", {"reason": "x" * 2001})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "reason": ["Ensure this value has at most 2000 characters (it has 2001)."]
    }
    assert Application.objects.get().status == S.SUBMITTED


def test_a_refusal_is_confirmed_with_its_reason(client, submitted, reviewer):
    number = submitted.application.number
    client.force_login(reviewer)
    confirm = client.post(f"/en/repair/review/{number}/refuse/", {"reason": "材料不全"})
    assert confirm.status_code == 200
    assert '<input type="hidden" name="reason" value="材料不全">' in confirm.content.decode()
    assert Application.objects.get().status == S.SUBMITTED
    client.post(f"/en/repair/review/{number}/refuse/", {"reason": "材料不全", "confirmed": "on"})
    assert Application.objects.get().status == S.NOT_ACCEPTED


def test_statistics(client, submit, reviewer, record, another_record):
    first = submit().application
    services.repair_accept(application=first, reviewer=reviewer)
    services.repair_approve(application=first, reviewer=reviewer)
    second = submit(record=another_record(D(2026, 5, 1))).application
    services.repair_refuse(application=second, reviewer=reviewer, reason="材料不全")
    third = submit(record=another_record(D(2026, 4, 1))).application
    Application.objects.filter(pk=third.pk).update(due_on=D(2026, 11, 25))
    Application.objects.filter(pk=second.pk).update(decision_working_days=4)
    fourth = submit(record=another_record(D(2026, 3, 1))).application
    services.repair_withdraw(application=fourth)
    response = client.get("/en/repair/statistics/")
    (row,) = response.context["rows"]
    total = response.context["total"]
    values = (
        "received",
        "accepted",
        "approved",
        "rejected",
        "not_accepted",
        "open",
        "overdue",
        "withdrawn",
        "median_days",
    )
    assert [getattr(row, name) for name in values] == [4, 1, 1, 0, 1, 1, 1, 1, 2]
    assert [getattr(total, name) for name in values] == [4, 1, 1, 0, 1, 1, 1, 1, 2]
    assert row.department == record.department


def test_record_page_says_when_repair_does_not_apply(client, entity, frozen_today):
    from disclosure.rules import Category, Severity
    from tests.factories import CatalogItemFactory

    item = CatalogItemFactory(
        category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS, repairable=False
    )
    listing = CreditRecordFactory(entity=entity, catalog_item=item, decision_date=D(2026, 1, 10))
    page = client.get(f"/en/records/{listing.pk}/").content.decode()
    assert (
        "Credit repair does not apply to records of this kind: they are disclosed for their whole period."
        in page
    )
    assert "Apply for repair" not in page


def test_the_record_page_says_an_application_is_under_way(client, submitted, record):
    page = client.get(f"/en/records/{record.pk}/").content.decode()
    assert "An application for this record is under way." in page
    assert "Apply for repair" not in page


def test_each_step_shows_its_own_reason(client, submitted, reviewer, settings):
    """An approval after a request for material does not show the request as its reason."""
    from repair.models import Application

    application = submitted.application
    services.repair_accept(application=application, reviewer=reviewer)
    services.repair_request_material(application=application, reviewer=reviewer, reason="请补充罚款缴纳凭证。")
    client.post(
        "/en/repair/status/", {"number": application.number, "query_code": submitted.query_code}
    )
    asked = client.get(f"/en/repair/status/{application.number}/").content.decode()
    assert "Reason given: 请补充罚款缴纳凭证。" in asked
    services.repair_supply_material(application=Application.objects.get(), files=[pdf()], note="")
    services.repair_approve(application=Application.objects.get(), reviewer=reviewer)
    approved = Application.objects.get()
    assert approved.reason == ""
    page = client.get(f"/en/repair/status/{application.number}/").content.decode()
    assert "Reason given" not in page
    assert [s.reason for s in approved.steps.all()] == ["", "", "请补充罚款缴纳凭证。", "", ""]
