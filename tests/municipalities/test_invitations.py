"""Invitations: appointing someone who has no login e-mails them a one-time link; the link
sets a password (or binds the first OpenID Connect login), once, within its days; the
appointment page shows each person's way in and can send a new link or withdraw it.

``admin`` administers Statsforvalteren i Vestland (tests/municipalities/conftest.py)."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.db import connection
from django.utils import timezone

from audit.models import AccessEvent
from municipalities import invitations
from municipalities.models import Appointment, Invitation, User
from tests import factories

STRONG = "Blåbærsyltetøy-på-brødskiva-42"
LINK = re.compile(r"https?://\S+/invitasjon/[A-Za-z0-9_-]+/")


def appoint_data(**overrides):
    data = {
        "role": Appointment.Role.CASEWORKER,
        "username": "nina.ny",
        "first_name": "Nina",
        "last_name": "Nysaksbehandler",
        "email": "nina.ny@test.invalid",
        "reason": "Ny saksbehandler.",
    }
    data.update(overrides)
    return data


@pytest.fixture
def appointed(world, admin, client, django_capture_on_commit_callbacks):
    """Nina, appointed caseworker through the page; her link, from the e-mail."""
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/myndigheter/{world.authority.pk}/utnevn/", appoint_data())
    assert response.status_code == 302
    client.logout()
    (message,) = mail.outbox
    return User.objects.get(username="nina.ny"), LINK.search(message.body).group(0)


def path_of(link):
    """The link without the site: the test client asks for the path."""
    return "/" + link.split("://", 1)[1].partition("/")[2]


def refused_uses():
    return AccessEvent.objects.filter(action="invitation_use", outcome="refused")


def open_link(client, link):
    return client.get(path_of(link))


def set_password(client, link, password=STRONG):
    assert open_link(client, link).status_code == 302
    return client.post("/invitasjon/", {"new_password1": password, "new_password2": password})


# --- sending ------------------------------------------------------------------------------


def test_appointing_a_new_person_emails_a_content_free_link(world, admin, client, appointed):
    user, link = appointed
    (message,) = mail.outbox
    assert message.to == ["nina.ny@test.invalid"]
    text = message.subject + message.body
    for private in ("Nina", "Nysaksbehandler", "nina.ny", world.authority.name, "Vestland"):
        assert private not in text
    assert not user.has_usable_password()
    invitation = Invitation.objects.get(user=user)
    assert invitation.state == Invitation.State.SENT
    assert invitation.created_by == admin
    lifetime = invitation.expires_at - invitation.created_at
    assert abs(lifetime - timedelta(days=7)) < timedelta(minutes=1)  # settings.INVITATION_DAYS


def test_the_success_message_names_the_address(world, admin, client_for):
    response = client_for(admin).post(
        f"/myndigheter/{world.authority.pk}/utnevn/", appoint_data(), follow=True
    )
    assert "En invitasjon til å logge inn er sendt på e-post til nina.ny@test.invalid" in (
        response.content.decode()
    )


def test_only_the_hash_of_the_token_is_stored(appointed):
    _user, link = appointed
    token = link.rstrip("/").rsplit("/", 1)[1]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                assert not any(token in str(value) for value in row), table


def test_an_existing_user_who_never_logged_in_is_invited_and_one_who_has_is_not(
    world, admin, client_for, django_capture_on_commit_callbacks
):
    never = factories.UserFactory(username="aldri", email="aldri@test.invalid")
    never.set_unusable_password()
    never.save()
    veteran = factories.UserFactory(username="veteran", email="veteran@test.invalid")
    client = client_for(admin)
    url = f"/myndigheter/{world.authority.pk}/utnevn/"
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("aldri", "veteran"):
            assert client.post(url, appoint_data(username=name)).status_code == 302
    assert [m.to for m in mail.outbox] == [["aldri@test.invalid"]]
    assert not Invitation.objects.filter(user=veteran).exists()
    # Appointed to a second role while the link still works: no second link.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, appoint_data(username="aldri", role=Appointment.Role.SECURITY_OFFICER))
    assert len(mail.outbox) == 1 and Invitation.objects.filter(user=never).count() == 1


def test_a_new_municipal_leader_is_invited(world, admin, client_for):
    data = appoint_data(role=Appointment.Role.LEADER, username="leo.leder")
    response = client_for(admin).post(f"/kommuner/{world.municipality.number}/ledere/utnevn/", data)
    assert response.status_code == 302
    assert Invitation.objects.get(user__username="leo.leder").state == "sent"


# --- using the link -----------------------------------------------------------------------


def test_the_link_redirects_to_a_token_free_page_that_names_the_person(appointed, client):
    user, link = appointed
    response = open_link(client, link)
    assert response.status_code == 302 and response["Location"] == "/invitasjon/"
    assert response["Referrer-Policy"] == "no-referrer"
    page = client.get("/invitasjon/")
    assert page["Referrer-Policy"] == "no-referrer"
    body = page.content.decode()
    assert "Nina Nysaksbehandler" in body and "nina.ny" in body
    assert link.rsplit("/", 2)[1] not in body
    assert 'name="new_password1"' in body
    assert not page.wsgi_request.user.is_authenticated


def test_setting_a_password_logs_in_and_lands_on_the_tasks(appointed, client):
    user, link = appointed
    response = set_password(client, link)
    assert response.status_code == 302 and response["Location"] == "/oppgaver/"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.session["palegg_login_method"] == "password"
    invitation = Invitation.objects.get(user=user)
    assert invitation.state == "used" and invitation.used_for == "password"
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert AccessEvent.objects.filter(action="invitation_use", outcome="shown", user=user).exists()


def test_a_weak_password_is_refused_by_the_validators_in_norwegian(appointed, client):
    user, link = appointed
    response = set_password(client, link, "123")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="alert"' in body and "Dette passordet er for vanlig" in body
    assert not response.wsgi_request.user.is_authenticated
    assert Invitation.objects.get(user=user).state == "sent"


def test_the_link_works_only_once(appointed, client):
    _user, link = appointed
    set_password(client, link)
    client.logout()
    before = refused_uses().count()
    response = open_link(client, link)
    assert response.status_code == 410
    assert "allerede brukt" in response.content.decode()
    assert refused_uses().count() == before + 1
    assert not response.wsgi_request.user.is_authenticated
    assert client.post("/invitasjon/", {"new_password1": STRONG}).status_code == 404


def test_the_link_expires_after_the_configured_days(appointed, client, time_machine):
    _user, link = appointed
    time_machine.move_to(timezone.now() + timedelta(days=7, minutes=1))
    response = open_link(client, link)
    assert response.status_code == 410 and "utløpt" in response.content.decode()
    assert refused_uses().filter(detail="expired").exists()


def test_an_opened_link_that_expires_before_the_password_is_set_lets_nobody_in(
    appointed, client, time_machine
):
    _user, link = appointed
    open_link(client, link)
    time_machine.move_to(timezone.now() + timedelta(days=8))
    response = client.post("/invitasjon/", {"new_password1": STRONG, "new_password2": STRONG})
    assert response.status_code == 404
    assert SESSION_KEY not in client.session


def test_an_unknown_link_is_404_with_a_logged_refusal(db, client):
    response = client.get("/invitasjon/" + "A" * 43 + "/")
    assert response.status_code == 404
    assert "ikke gyldig" in response.content.decode()
    assert refused_uses().filter(detail="unknown").exists()


def test_the_page_offers_each_configured_provider_and_no_other(appointed, client, settings):
    _user, link = appointed
    settings.OIDC_PROVIDERS = {"entra": {"label": "Log in with Microsoft Entra ID", "kind": "entra"}}
    open_link(client, link)
    page = client.get("/invitasjon/").content.decode()
    assert 'href="/logg-inn/oidc/entra/"' in page
    assert "/logg-inn/oidc/helseid/" not in page


def test_without_local_accounts_there_is_no_password_form(appointed, client, settings):
    _user, link = appointed
    settings.LOCAL_ACCOUNTS = False
    open_link(client, link)
    response = client.post("/invitasjon/", {"new_password1": STRONG, "new_password2": STRONG})
    assert 'name="new_password1"' not in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert Invitation.objects.get().state == "sent"


# --- the appointment page: states, resend, revoke -----------------------------------------


def authority_page(client, world):
    return client.get(f"/myndigheter/{world.authority.pk}/").content.decode()


def test_the_page_shows_each_state(world, admin, client_for, appointed, time_machine):
    user, link = appointed
    client = client_for(admin)
    assert "Invitasjon sendt til nina.ny@test.invalid" in authority_page(client, world)
    assert "Har logget inn" in authority_page(client, world)  # the admin and the caseworker
    time_machine.move_to(timezone.now() + timedelta(days=8))
    # A week on, the old session has long ended: the administrator logs in again.
    assert "Invitasjonen utløp" in authority_page(client_for(admin), world)


def test_resend_makes_the_old_link_fail(world, admin, client_for, appointed, client):
    user, old_link = appointed
    invitation = Invitation.objects.get(user=user)
    admin_client = client_for(admin)
    response = admin_client.post(f"/invitasjoner/{invitation.pk}/send-igjen/")
    assert response.status_code == 302
    admin_client.logout()
    assert open_link(client, old_link).status_code == 410
    (new,) = Invitation.objects.filter(user=user, revoked_at__isnull=True)
    assert new.pk != invitation.pk and new.state == "sent"


def test_revoke_stops_the_link(world, admin, client_for, appointed, client):
    user, link = appointed
    invitation = Invitation.objects.get(user=user)
    admin_client = client_for(admin)
    admin_client.post(f"/invitasjoner/{invitation.pk}/trekk-tilbake/")
    assert "Invitasjonen er trukket tilbake" in authority_page(admin_client, world)
    admin_client.logout()
    response = open_link(client, link)
    assert response.status_code == 410 and "trukket tilbake" in response.content.decode()
    assert AccessEvent.objects.filter(action="invitation_revoke", user=admin).exists()


@pytest.mark.parametrize("segment", ["send-igjen", "trekk-tilbake"])
def test_another_authoritys_admin_cannot_resend_or_revoke(world, appointed, client_for, segment):
    user, _link = appointed
    invitation = Invitation.objects.get(user=user)
    other = factories.administrator_for(world.other_authority, username="annen.admin")
    response = client_for(other).post(f"/invitasjoner/{invitation.pk}/{segment}/")
    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.state == "sent" and Invitation.objects.filter(user=user).count() == 1
    event = AccessEvent.objects.filter(user=other, outcome="refused").latest("sequence")
    assert event.target_id == str(invitation.pk)
    assert event.authority_id == world.authority.pk  # the security officer of Vestland sees it


def test_a_caseworker_cannot_resend(world, appointed, client_for):
    user, _link = appointed
    invitation = Invitation.objects.get(user=user)
    response = client_for(world.caseworker).post(f"/invitasjoner/{invitation.pk}/send-igjen/")
    assert response.status_code == 404


def test_needs_invitation_is_the_one_rule(world):
    fresh = factories.UserFactory(username="fersk", email="f@test.invalid")
    fresh.set_unusable_password()
    fresh.save()
    assert invitations.needs_invitation(fresh)
    invitations.issue(acting_user=None, user=fresh)
    assert not invitations.needs_invitation(fresh)
    assert not invitations.needs_invitation(world.caseworker)  # has a password
    fresh.login_identities.create(provider="helseid", subject="abc")
    for invitation in Invitation.objects.filter(user=fresh):
        invitations.revoke(acting_user=None, invitation=invitation)
    assert not invitations.needs_invitation(fresh)
