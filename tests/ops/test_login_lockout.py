"""Staff sign-in is locked out by account and by address after repeated failures (#12)."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command

from tests.factories import UserFactory

LOGIN = "/admin/login/"


@pytest.fixture
def clerk(db):
    user = UserFactory(username="clerk", is_staff=True)
    user.set_password("right-password-1")
    user.save()
    return user


def sign_in(client, username, password, address="198.51.100.1"):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/repair/review/"}, REMOTE_ADDR=address
    )


def fail(client, times, username="clerk", address="198.51.100.1"):
    return [sign_in(client, username, "wrong", address).status_code for _ in range(times)]


def test_fifty_wrong_passwords_then_the_right_one_does_not_sign_in(client, clerk, settings):
    statuses = fail(client, 50)
    assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(statuses[settings.AXES_FAILURE_LIMIT - 1 :]) == {429}
    response = sign_in(client, "clerk", "right-password-1")
    assert response.status_code == 429
    assert "locked_out.html" in [template.name for template in response.templates]
    assert "_auth_user_id" not in client.session
    assert client.get("/repair/review/").status_code == 302


def test_the_account_is_locked_from_every_address(client, clerk, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clerk", "wrong", address=f"203.0.113.{n}")
    assert sign_in(client, "clerk", "right-password-1", address="192.0.2.200").status_code == 429


def test_the_address_is_locked_for_every_account(client, clerk, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess{n}", "wrong")
    assert sign_in(client, "clerk", "right-password-1").status_code == 429
    assert sign_in(client, "clerk", "right-password-1", address="192.0.2.200").status_code == 302


def test_a_rotating_forwarded_for_does_not_escape_the_lockout(client, clerk, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": f"g{n}", "password": "x"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert AccessAttempt.objects.values_list("ip_address", flat=True).distinct().count() == 1


def test_staff_see_the_lockouts_and_an_administrator_unlocks(client, clerk, settings, superuser):
    fail(client, settings.AXES_FAILURE_LIMIT)
    admin = client.__class__()
    admin.force_login(superuser)
    page = admin.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "clerk" in page.content.decode()
    call_command("axes_reset_username", "clerk")
    call_command("axes_reset_ip", "198.51.100.1")
    assert sign_in(client, "clerk", "right-password-1").status_code == 302
    assert client.get("/repair/review/").status_code == 200


def test_a_good_sign_in_forgets_earlier_failures(client, clerk, settings):
    fail(client, settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, "clerk", "right-password-1").status_code == 302
    client.logout()
    assert fail(client, settings.AXES_FAILURE_LIMIT - 1) == [200] * (settings.AXES_FAILURE_LIMIT - 1)
