"""A person's password is written by a service (municipalities.accounts), not by the form that
checked it, on the invitation page and through a reset link alike: only the person's own
password, only the password, and the person stays logged in with it."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from municipalities import accounts
from municipalities.models import User
from tests.municipalities.test_invitations import STRONG, appointed, set_password  # noqa: F401
from tests.municipalities.test_login_password_reset import NEW_PASSWORD, RESET, link_in


def test_the_service_sets_only_the_password(world):
    user = world.caseworker
    stale = User.objects.get(pk=user.pk)
    User.objects.filter(pk=user.pk).update(first_name="Oppdatert")

    saved = accounts.set_own_password(user=stale, raw_password=NEW_PASSWORD, acting_user=user)

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and saved.check_password(NEW_PASSWORD)
    assert stale.password == user.password  # the caller's copy can log in with it
    assert user.first_name == "Oppdatert"  # the stale copy's other fields were not written


@pytest.mark.parametrize("acting", ["other_caseworker", "leader", None])
def test_nobody_sets_another_persons_password(world, acting):
    user = world.caseworker
    before = User.objects.get(pk=user.pk).password
    with pytest.raises(PermissionDenied):
        accounts.set_own_password(
            user=user,
            raw_password=NEW_PASSWORD,
            acting_user=getattr(world, acting) if acting else None,
        )
    assert User.objects.get(pk=user.pk).password == before


def test_a_password_set_through_the_invitation_keeps_the_person_logged_in(
    appointed,  # noqa: F811
    client,
):
    user, link = appointed
    response = set_password(client, link)
    assert response.status_code == 302

    user.refresh_from_db()
    assert user.check_password(STRONG)
    # The session was made with the new password's hash: the next page keeps the person in.
    assert client.get("/oppgaver/").wsgi_request.user == user


def _reset_page(client, user):
    client.post(RESET, {"email": user.email})
    [message] = mail.outbox
    return message, client.get(link_in(message), follow=True).redirect_chain[-1][0]


def test_a_password_set_through_a_reset_link_spends_the_link(world, client):
    user = world.caseworker
    message, set_url = _reset_page(client, user)

    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done.status_code == 302 and done["Location"] == "/logg-inn/nytt-passord/ferdig/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    # The link's token left the session with the password set: the link cannot be used again.
    assert "_password_reset_token" not in client.session
    assert client.get(link_in(message)).status_code == 404


@pytest.mark.parametrize("password", ["123", "passord"])
def test_a_weak_password_through_a_reset_link_writes_nothing(world, client, password):
    user = world.caseworker
    _message, set_url = _reset_page(client, user)
    before = User.objects.get(pk=user.pk).password

    response = client.post(set_url, {"new_password1": password, "new_password2": password})

    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).password == before
