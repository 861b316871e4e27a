"""No way in by guessing: ten wrong passwords lock the account, the right one is then refused
until an administrator opens it or the cool-off has passed; an address has a limit of its
own; every step is in the access log, and no password is."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from municipalities import appointments
from municipalities.models import Appointment
from tests import factories
from tests.factories import PASSWORD
from tests.municipalities.login_helpers import (
    assert_chain_holds_and_no_password,
    events_since,
    last_sequence,
    log_in,
    logged_in_as,
)

WRONG = "feil-passord-987"


@pytest.fixture
def person(world, admin):
    user = factories.UserFactory(username="kari.saksbehandler")
    appointments.appoint(
        acting_user=admin,
        user=user,
        role=Appointment.Role.CASEWORKER,
        organisation=world.authority,
        reason="Ny saksbehandler.",
    )
    return user


def lock(client, user):
    for _attempt in range(9):
        assert log_in(client, user.username, WRONG).status_code == 200
    return log_in(client, user.username, WRONG)


def test_ten_wrong_passwords_lock_the_account_until_an_administrator_opens_it(
    world, admin, person, client
):
    before = last_sequence()
    response = lock(client, person)
    assert response.status_code == 429
    assert "Kontoen er låst" in response.content.decode()

    refused = log_in(client, person.username, PASSWORD)
    assert refused.status_code == 429
    assert logged_in_as(client) is None

    admin_client = Client()
    admin_client.force_login(admin)
    page = admin_client.get(f"/myndigheter/{world.authority.pk}/")
    assert f'name="username" value="{person.username}"' in page.content.decode()
    opened = admin_client.post(
        f"/myndigheter/{world.authority.pk}/apne-konto/", {"username": person.username}
    )
    assert opened.status_code == 302
    page = admin_client.get(f"/myndigheter/{world.authority.pk}/")
    assert f'name="username" value="{person.username}"' not in page.content.decode()

    assert log_in(client, person.username, PASSWORD).status_code == 302
    assert logged_in_as(client) == str(person.pk)

    target = ("municipalities.user", str(person.pk))
    assert events_since(before, "login", "lockout", "unlock") == [
        *[("login", "refused", *target, "wrong_credentials")] * 9,
        # axes counts the tenth failure (and locks) before that failure's own event.
        ("lockout", "shown", *target, ""),
        ("login", "refused", *target, "wrong_credentials"),
        ("login", "refused", *target, "locked"),
        ("login", "shown", "municipalities.user", str(admin.pk), ""),
        ("unlock", "shown", *target, ""),
        ("login", "shown", *target, ""),
    ]
    assert_chain_holds_and_no_password(PASSWORD, WRONG)
    assert not any(WRONG in a.post_data or PASSWORD in a.post_data for a in AccessAttempt.objects.all())


def test_the_account_opens_again_after_the_cool_off(person, client, settings):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert lock(client, person).status_code == 429
        traveller.shift(timedelta(minutes=29))
        assert log_in(client, person.username, PASSWORD).status_code == 429
        # Attempts while locked do not push the opening further away.
        traveller.shift(timedelta(minutes=2))
        assert log_in(client, person.username, PASSWORD).status_code == 302
    assert logged_in_as(client) == str(person.pk)


def test_an_address_that_guesses_many_accounts_is_locked_for_every_account(
    world, person, client, settings
):
    settings.LOCKOUT_ADDRESS_FAILURES = 5
    before = last_sequence()
    for n in range(4):
        assert log_in(client, f"gjetning{n}", WRONG, address="10.0.0.9").status_code == 200
    assert log_in(client, "gjetning4", WRONG, address="10.0.0.9").status_code == 429
    # From that address even the right password of someone else is refused ...
    assert log_in(client, person.username, PASSWORD, address="10.0.0.9").status_code == 429
    assert logged_in_as(client) is None
    # ... while the account itself is not locked: from elsewhere it logs in.
    assert log_in(client, person.username, PASSWORD, address="10.0.0.10").status_code == 302
    events = events_since(before, "login", "lockout")
    assert ("login", "refused", "account", "gjetning0", "wrong_credentials") in events
    assert ("lockout", "shown", "account", "gjetning4", "") in events
    assert ("login", "refused", "municipalities.user", str(person.pk), "locked") in events


def test_only_an_administrator_of_the_authority_opens_an_account(world, person, client):
    assert lock(client, person).status_code == 429
    caseworker = Client()
    caseworker.force_login(world.other_caseworker)
    before = last_sequence()
    response = caseworker.post(
        f"/myndigheter/{world.authority.pk}/apne-konto/", {"username": person.username}
    )
    assert response.status_code == 404
    assert events_since(before, "unlock") == [
        ("unlock", "refused", "authority", str(world.authority.pk), "")
    ]
    assert log_in(client, person.username, PASSWORD).status_code == 429


def test_the_test_clients_login_is_not_a_counted_attempt(person, client):
    """client.login() passes no request: nothing to count, and it still works."""
    assert client.login(username=person.username, password=PASSWORD)


def test_a_successful_login_forgets_only_ones_own_mistakes(world, person, client):
    guesser = Client()
    for _attempt in range(8):
        log_in(guesser, person.username, WRONG, address="10.0.0.66")
    log_in(client, person.username, WRONG, address="10.0.0.1")
    assert log_in(client, person.username, PASSWORD, address="10.0.0.1").status_code == 302
    # The eight guesses from the other address still count: two more lock the account.
    assert log_in(guesser, person.username, WRONG, address="10.0.0.66").status_code == 200
    assert log_in(guesser, person.username, WRONG, address="10.0.0.66").status_code == 429
