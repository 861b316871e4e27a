"""Password reset by e-mail (content-free, one link that works once, Django's password rules)
and local accounts switched off: then no password form, no password login, no reset."""

import re

import pytest
from django.core import mail

from tests.municipalities.login_helpers import (
    assert_chain_holds_and_no_password,
    events_since,
    last_sequence,
    log_in,
    logged_in_as,
)

RESET = "/logg-inn/glemt-passord/"
NEW_PASSWORD = "Fjelltur-i-regnet-42"


def link_in(message) -> str:
    return re.search(r"http://[^/\s]+(/logg-inn/nytt-passord/\S+/)", message.body).group(1)


def test_a_forgotten_password_is_set_anew_through_the_link_in_the_email(world, client):
    user = world.caseworker
    before = last_sequence()
    response = client.post(RESET, {"email": user.email})
    assert response.status_code == 302 and response["Location"] == "/logg-inn/glemt-passord/sendt/"
    [message] = mail.outbox
    assert message.to == [user.email]
    # Content-free: the link, nothing about the person or the service's cases.
    assert user.username not in message.body and user.last_name not in message.body

    form = client.get(link_in(message), follow=True)
    assert form.status_code == 200 and 'name="new_password1"' in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200 and "error-summary" in weak.content.decode()
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/logg-inn/nytt-passord/ferdig/"

    again = client.get(link_in(message))
    assert again.status_code == 404 and 'id="reset-link-refused"' in again.content.decode()

    assert log_in(client, user.username, NEW_PASSWORD).status_code == 302
    assert logged_in_as(client) == str(user.pk)
    target = ("municipalities.user", str(user.pk))
    assert events_since(before, "password_reset_request", "password_reset") == [
        ("password_reset_request", "shown", *target, ""),
        ("password_reset", "shown", *target, ""),
        ("password_reset", "refused", "account", "reset-link", "invalid_or_used_link"),
    ]
    assert_chain_holds_and_no_password(NEW_PASSWORD, "12345678")


def test_an_unknown_address_gets_the_same_answer_and_no_mail(db, client):
    before = last_sequence()
    response = client.post(RESET, {"email": "ingen@test.invalid"})
    assert response.status_code == 302 and response["Location"] == "/logg-inn/glemt-passord/sendt/"
    assert mail.outbox == []
    assert events_since(before) == [
        ("password_reset_request", "shown", "account", "unknown", "")
    ]


@pytest.fixture
def no_local_accounts(settings):
    settings.LOCAL_ACCOUNTS = False


def test_without_local_accounts_there_is_no_password_form_and_no_password_login(
    world, client, no_local_accounts
):
    page = client.get("/logg-inn/").content.decode()
    assert 'name="password"' not in page and RESET not in page
    before = last_sequence()
    response = log_in(client, world.caseworker.username)
    assert response.status_code == 403
    assert logged_in_as(client) is None
    assert events_since(before) == [
        (
            "login",
            "refused",
            "municipalities.user",
            str(world.caseworker.pk),
            "local_accounts_off",
        )
    ]
    assert client.get(RESET).status_code == 404
    assert client.post(RESET, {"email": world.caseworker.email}).status_code == 404
    assert mail.outbox == []


def test_with_local_accounts_the_login_page_links_to_the_reset(db, client):
    page = client.get("/logg-inn/").content.decode()
    assert 'name="password"' in page and f'href="{RESET}"' in page
