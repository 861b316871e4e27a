"""Sessions: a new key at login, an end after idling and after the longest login, and every
session of a person ended when they are deactivated or their last appointment ends."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from municipalities import appointments
from municipalities.models import Appointment, UserSession
from tests import factories
from tests.municipalities.login_helpers import events_since, last_sequence, log_in, logged_in_as

TASKS = "/oppgaver/"


def still_logged_in(client) -> bool:
    return client.get(TASKS).status_code == 200


def test_the_session_key_changes_at_login(world, client):
    session = client.session
    session["before_login"] = True
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    old_key = session.session_key

    log_in(client, world.caseworker.username)

    assert logged_in_as(client) == str(world.caseworker.pk)
    assert client.session.session_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    assert UserSession.objects.filter(
        user=world.caseworker, session_key=client.session.session_key
    ).exists()


def test_logging_out_forgets_the_session_and_is_logged(world, client):
    log_in(client, world.caseworker.username)
    before = last_sequence()
    client.post("/logg-ut/")
    assert not UserSession.objects.filter(user=world.caseworker).exists()
    assert events_since(before) == [
        ("logout", "shown", "municipalities.user", str(world.caseworker.pk), "")
    ]


def test_an_idle_session_ends_with_a_page_that_says_why(world, client):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        log_in(client, world.caseworker.username)
        traveller.shift(timedelta(minutes=29))
        assert still_logged_in(client)
        traveller.shift(timedelta(minutes=31))
        before = last_sequence()
        response = client.get(TASKS, follow=True)
    assert response.redirect_chain[0][0] == "/okten-er-avsluttet/?grunn=idle"
    page = response.content.decode()
    assert "Økten er avsluttet" in page and "30 minutter" in page and 'href="/logg-inn/"' in page
    assert events_since(before) == [
        ("session_end", "shown", "municipalities.user", str(world.caseworker.pk), "idle")
    ]
    assert client.get(TASKS)["Location"].startswith("/logg-inn/")


def test_a_session_ends_after_the_longest_login_however_busy(world, client):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        log_in(client, world.caseworker.username)
        for _step in range(29):
            traveller.shift(timedelta(minutes=20))
            assert still_logged_in(client)  # 9 h 40 min
        traveller.shift(timedelta(minutes=21))
        before = last_sequence()
        response = client.get(TASKS, follow=True)
    assert response.redirect_chain[0][0] == "/okten-er-avsluttet/?grunn=lifetime"
    assert "10 timer" in response.content.decode()
    assert events_since(before) == [
        ("session_end", "shown", "municipalities.user", str(world.caseworker.pk), "lifetime")
    ]


def test_deactivating_a_person_ends_all_their_sessions(world):
    phone, laptop = Client(), Client()
    log_in(phone, world.caseworker.username)
    log_in(laptop, world.caseworker.username)
    before = last_sequence()

    world.caseworker.is_active = False
    world.caseworker.save()

    assert not still_logged_in(phone) and not still_logged_in(laptop)
    assert events_since(before, "session_end") == [
        ("session_end", "shown", "municipalities.user", str(world.caseworker.pk), "deactivated")
    ]


@pytest.fixture
def appointed(world, admin):
    user = factories.UserFactory(username="ny.saksbehandler")
    caseworker = appointments.appoint(
        acting_user=admin,
        user=user,
        role=Appointment.Role.CASEWORKER,
        organisation=world.authority,
        reason="Ny.",
    )
    officer = appointments.appoint(
        acting_user=admin,
        user=user,
        role=Appointment.Role.SECURITY_OFFICER,
        organisation=world.other_authority,
        reason="Også sikkerhetsansvarlig der.",
        system=True,
    )
    return user, caseworker, officer


def test_the_last_appointment_ending_ends_the_sessions(admin, appointed):
    user, caseworker, officer = appointed
    phone, laptop = Client(), Client()
    phone.force_login(user)
    laptop.force_login(user)

    appointments.end_appointment(acting_user=admin, appointment=caseworker, reason="Sluttet.")
    assert still_logged_in(phone), "one appointment is left: the sessions stay"

    before = last_sequence()
    other_admin = factories.administrator_for(officer.authority, username="admin.b")
    appointments.end_appointment(acting_user=other_admin, appointment=officer, reason="Sluttet.")
    assert not still_logged_in(phone) and not still_logged_in(laptop)
    assert events_since(before, "session_end") == [
        ("session_end", "shown", "municipalities.user", str(user.pk), "appointment_ended")
    ]


def test_a_gp_without_appointments_keeps_the_session(world, client):
    client.force_login(world.gp_user)
    world.gp_user.first_name = "Nytt"
    world.gp_user.save()
    assert still_logged_in(client)


def test_a_session_that_ran_out_without_logout_is_forgotten_at_the_next_login(world):
    closed_browser, new_browser = Client(), Client()
    log_in(closed_browser, world.caseworker.username)
    gone_key = closed_browser.session.session_key
    # What `manage.py clearsessions` does to a session past its age: the row in the store goes.
    Session.objects.filter(session_key=gone_key).delete()

    log_in(new_browser, world.caseworker.username)

    assert list(
        UserSession.objects.filter(user=world.caseworker).values_list("session_key", flat=True)
    ) == [new_browser.session.session_key]
