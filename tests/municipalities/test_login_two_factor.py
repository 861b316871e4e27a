"""TOTP two-factor: an administrator or security officer who logs in with a password reaches
no page before the second factor; the first time they set it up (key, QR code, ten recovery
codes shown once). A provider login (OpenID Connect) is not asked again."""

import re
from base64 import b32decode

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from municipalities import appointments, login
from municipalities.models import Appointment
from tests import factories
from tests.municipalities.login_helpers import events_since, last_sequence, log_in
from tests.two_factor import code_for, give_totp

CODE_PAGE = "/logg-inn/kode/"
ENROL_PAGE = "/logg-inn/kode/ny/"


@pytest.fixture
def officer(world, admin):
    user = factories.UserFactory(username="sikkerhet")
    appointments.appoint(
        acting_user=admin,
        user=user,
        role=Appointment.Role.SECURITY_OFFICER,
        organisation=world.authority,
        reason="Sikkerhetsansvarlig.",
    )
    return user


def test_first_password_login_sets_up_two_factor_and_shows_ten_recovery_codes_once(
    admin, client
):
    before = last_sequence()
    assert log_in(client, admin.username).status_code == 302
    response = client.get("/oppgaver/")
    assert response.status_code == 302
    assert response["Location"].startswith(CODE_PAGE)
    response = client.get(response["Location"], follow=True)
    assert response.redirect_chain[-1][0].startswith(ENROL_PAGE)
    page = response.content.decode()
    assert "<svg" in page and 'id="totp-secret"' in page
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert b32decode(secret) == device.bin_key

    wrong = client.post(ENROL_PAGE, {"code": "000000", "next": "/oppgaver/"})
    assert wrong.status_code == 200 and "error-summary" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong code above slowed the device down
    device.throttling_failure_timestamp = None
    device.save()

    response = client.post(ENROL_PAGE, {"code": code_for(device), "next": "/oppgaver/"})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>(\w+)</code></li>", response.content.decode())
    assert len(codes) == 10
    assert client.get("/oppgaver/").status_code == 200
    assert TOTPDevice.objects.get(user=admin).confirmed
    assert events_since(before, "two_factor_enrol") == [
        ("two_factor_enrol", "refused", "municipalities.user", str(admin.pk), "wrong_code"),
        ("two_factor_enrol", "shown", "municipalities.user", str(admin.pk), ""),
    ]
    # Shown once: the setup page is not there any more.
    assert client.get(ENROL_PAGE).status_code == 404


def test_an_administrator_reaches_no_page_before_the_code(world, admin, client):
    device = give_totp(admin)
    log_in(client, admin.username)
    for url in ("/oppgaver/", f"/myndigheter/{world.authority.pk}/", "/kommuner/", "/logg-inn/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(CODE_PAGE), url
    # Setting up a new device instead is not a way round the one set up.
    assert client.get(ENROL_PAGE)["Location"].startswith(CODE_PAGE)

    before = last_sequence()
    wrong = client.post(CODE_PAGE, {"code": "123456", "next": "/kommuner/"})
    assert wrong.status_code == 200 and "error-summary" in wrong.content.decode()
    assert client.get("/oppgaver/").status_code == 302
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = client.post(CODE_PAGE, {"code": code_for(device), "next": "/kommuner/"})
    assert response.status_code == 302 and response["Location"] == "/kommuner/"
    assert client.get(f"/myndigheter/{world.authority.pk}/").status_code == 200
    assert events_since(before, "two_factor") == [
        ("two_factor", "refused", "municipalities.user", str(admin.pk), "wrong_code"),
        ("two_factor", "shown", "municipalities.user", str(admin.pk), "totp"),
    ]


def test_a_recovery_code_works_once(officer, client):
    give_totp(officer)
    recovery = StaticDevice.objects.create(user=officer, name="recovery")
    StaticToken.objects.create(device=recovery, token="abcd2345")
    log_in(client, officer.username)
    response = client.post(CODE_PAGE, {"code": "ABCD 2345"})
    assert response.status_code == 302 and client.get("/oppgaver/").status_code == 200

    again = Client()
    log_in(again, officer.username)
    refused = again.post(CODE_PAGE, {"code": "abcd2345"})
    assert refused.status_code == 200 and again.get("/oppgaver/").status_code == 302


def test_a_caseworker_with_a_password_is_not_asked(world, client):
    log_in(client, world.caseworker.username)
    assert client.get("/oppgaver/").status_code == 200
    assert client.get(CODE_PAGE).status_code == 404


def test_a_provider_login_is_not_asked_again(admin, client):
    client.force_login(admin)
    session = client.session
    session[login.LOGIN_METHOD] = login.oidc_method("entra")
    session.save()
    assert client.get("/oppgaver/").status_code == 200


def test_the_code_of_the_right_time_step_is_what_the_helper_computes(admin):
    device = give_totp(admin)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    assert device.verify_token(code_for(device)) and int(code_for(device)) == totp.token()
