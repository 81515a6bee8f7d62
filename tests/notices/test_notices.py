import datetime as dt

import pytest

from notices.models import Notice, NoticeKind
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
D = dt.date


def test_published_notices_only_from_their_day(client, frozen_today, english):
    shown = Notice.objects.create(
        title="关于开展信用修复专项行动的通知", title_en="On a credit repair campaign", body="第一段。\n\n第二段。",
        published_on=D(2026, 11, 1), is_published=True,
    )  # fmt: skip
    Notice.objects.create(title="草稿", body="x", published_on=D(2026, 11, 1), is_published=False)
    Notice.objects.create(title="明天", body="x", published_on=D(2026, 11, 29), is_published=True)
    response = client.get("/en/notices/")
    assert list(response.context["page"]) == [shown]
    detail = client.get(f"/en/notices/{shown.pk}/").content.decode()
    assert "<h1 id=\"notice-title\">On a credit repair campaign</h1>" in detail
    assert "<p>第一段。</p>" in detail and "<p>第二段。</p>" in detail
    zh = client.get(f"/notices/{shown.pk}/").content.decode()
    assert "关于开展信用修复专项行动的通知" in zh
    draft = Notice.objects.get(title="草稿")
    assert client.get(f"/notices/{draft.pk}/").status_code == 404
    assert "On a credit repair campaign" in client.get("/en/").content.decode()


def test_policy_documents_have_their_own_list(client, frozen_today):
    policy = Notice.objects.create(
        kind=NoticeKind.POLICY, title="信用修复管理办法", body="全文", document_number="国家发展改革委令2025年第36号",
        published_on=D(2026, 1, 1), is_published=True,
    )  # fmt: skip
    assert list(client.get("/policies/").context["page"]) == [policy]
    assert list(client.get("/notices/").context["page"]) == []
    assert client.get("/policies/", {"page": "x"}).status_code == 400


def test_help_rules_and_repair_guidance(client, db, english):
    assert client.get("/en/help/").status_code == 200
    rules = client.get("/en/help/disclosure-rules/")
    assert rules.status_code == 200
    template = client.get("/en/help/credit-repair/commitment.txt")
    assert template["Content-Disposition"] == 'attachment; filename="credit-commitment.txt"'
    assert "[entity name] (Unified Social Credit Code [18-character code]) solemnly commits" in (
        template.content.decode()
    )


def test_staff_publish_notices_in_the_admin(client, db):
    admin = UserFactory(is_superuser=True)
    client.force_login(admin)
    response = client.post(
        "/en/admin/notices/notice/add/",
        {"kind": "notice", "title": "通知", "body": "正文", "title_en": "Notice", "body_en": "Text",
         "published_on": "2026-11-28", "is_published": "on", "issuer": "", "document_number": ""},
    )  # fmt: skip
    assert response.status_code == 302
    assert Notice.objects.get().title_en == "Notice"
