"""Every way an OpenID Connect login is refused: a clear Norwegian page (400 or 403, never a
500), the refusal in the access log with its reason code, and nobody logged in."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AccessEvent
from config.settings import parse_oidc_providers
from municipalities.models import LoginIdentity
from tests import factories
from tests.municipalities.oidc_support import (
    assert_refused,
    authorize,
    environment,
    log_in,
    logged_in_user,
    start,
)

HPR = "helseid://claims/hpr/hpr_number"
LEVEL = "helseid://claims/identity/security_level"


@pytest.mark.parametrize(
    "scenario, reason",
    [
        ("tampered", "bad_signature"),
        ("wrong_aud", "wrong_audience"),
        ("wrong_iss", "wrong_issuer"),
        ("expired", "expired"),
        ("wrong_nonce", "nonce_mismatch"),
        ("down", "provider_error"),
        ("garbage", "provider_error"),
    ],
)
def test_a_bad_id_token_or_token_answer_is_refused(client, provider, world, scenario, reason):
    provider.claims = {"sub": "helseid-lege", HPR: world.gp.hpr_number, LEVEL: "4"}
    provider.scenario = scenario
    response, _callback = log_in(client)
    assert_refused(client, response, reason)
    assert not LoginIdentity.objects.exists()


def test_a_replayed_callback_is_refused(client, provider, world):
    provider.claims = {"sub": "helseid-lege", HPR: world.gp.hpr_number, LEVEL: "4"}
    response, callback = log_in(client)
    assert response.status_code == 302
    # Someone who got hold of the callback URL, in their own browser.
    other = Client()
    assert_refused(other, other.get(callback), "state_replayed")
    # The same browser again: refused too, and the session is still its own.
    response = client.get(callback)
    assert response.status_code == 400
    assert AccessEvent.objects.order_by("-sequence").first().detail == "state_replayed"
    assert logged_in_user(client) == str(world.gp_user.pk)


def test_a_state_this_browser_never_started_is_refused(client, provider, world):
    provider.claims = {"sub": "helseid-lege", HPR: world.gp.hpr_number, LEVEL: "4"}
    callback = authorize(start(Client()))  # started in another browser
    assert_refused(client, client.get(callback), "state_unknown")
    assert provider.token_requests == []  # the code was never even exchanged


def test_a_state_started_for_another_provider_is_refused(client, provider, world):
    provider.claims = {"sub": "helseid-lege", HPR: world.gp.hpr_number, LEVEL: "4"}
    callback = authorize(start(client, "entra"))
    callback = callback.replace("/oidc/entra/", "/oidc/helseid/")
    assert_refused(client, client.get(callback), "state_unknown")


def test_hpr_number_not_in_the_register_is_refused(client, provider, world):
    provider.claims = {"sub": "helseid-x", HPR: "9999999", LEVEL: "4"}
    response, _callback = log_in(client)
    assert_refused(client, response, "hpr_unknown")
    assert not LoginIdentity.objects.exists()


def test_helseid_login_without_hpr_number_or_invitation_is_refused(client, provider, world):
    provider.claims = {"sub": "helseid-x", LEVEL: "4"}
    response, _callback = log_in(client)
    assert_refused(client, response, "no_hpr")


@pytest.mark.parametrize("level", ["3", "", "fire"])
def test_security_level_below_4_is_refused(client, provider, world, level):
    provider.claims = {"sub": "helseid-lege", HPR: world.gp.hpr_number, LEVEL: level}
    response, _callback = log_in(client)
    assert_refused(client, response, "security_level")


def test_security_level_below_4_is_refused_also_for_a_bound_identity(client, provider, world):
    LoginIdentity.objects.create(user=world.gp_user, provider="helseid", subject="helseid-lege")
    provider.claims = {"sub": "helseid-lege", HPR: world.gp.hpr_number, LEVEL: "3"}
    response, _callback = log_in(client)
    assert_refused(client, response, "security_level")


def test_idporten_without_the_high_level_acr_is_refused(
    client, provider, oidc_server, client_key, settings, world
):
    settings.OIDC_PROVIDERS = parse_oidc_providers(
        environment(
            oidc_server,
            client_key[1],
            PALEGG_OIDC_PROVIDERS="idporten",
            PALEGG_OIDC_IDPORTEN_ISSUER=oidc_server.issuer,
            PALEGG_OIDC_IDPORTEN_CLIENT_ID=oidc_server.client_id,
            PALEGG_OIDC_IDPORTEN_CLIENT_SECRET="s",
        )
    )
    LoginIdentity.objects.create(user=world.caseworker, provider="idporten", subject="idp-cw")
    provider.claims = {"sub": "idp-cw", "acr": "idporten-loa-substantial"}
    response, _callback = log_in(client, "idporten")
    assert provider.authorize_requests[0]["acr_values"] == "idporten-loa-high"
    assert_refused(client, response, "security_level")
    provider.claims = {"sub": "idp-cw", "acr": "idporten-loa-high"}
    response, _callback = log_in(client, "idporten")
    assert logged_in_user(client) == str(world.caseworker.pk)


def test_a_login_nobody_invited_or_bound_is_refused(client, provider, world):
    provider.claims = {"sub": "entra-stranger", "email": "x@example.org"}
    response, _callback = log_in(client, "entra")
    assert_refused(client, response, "not_invited")
    assert not LoginIdentity.objects.exists()


def test_a_deactivated_person_is_refused(client, provider, world):
    LoginIdentity.objects.create(user=world.caseworker, provider="entra", subject="entra-cw")
    world.caseworker.is_active = False
    world.caseworker.save()
    provider.claims = {"sub": "entra-cw"}
    response, _callback = log_in(client, "entra")
    assert_refused(client, response, "deactivated")
    assert AccessEvent.objects.order_by("-sequence").first().user == world.caseworker


def test_a_deactivated_gp_is_refused_by_hpr_too(client, provider, world):
    world.gp_user.is_active = False
    world.gp_user.save()
    provider.claims = {"sub": "helseid-lege", HPR: world.gp.hpr_number, LEVEL: "4"}
    response, _callback = log_in(client)
    assert_refused(client, response, "deactivated")


def test_access_denied_at_the_provider_is_refused_and_spends_the_state(client, provider):
    location = start(client)
    state = provider_state(location)
    url = reverse("oidc_callback", kwargs={"provider": "helseid"})
    response = client.get(url, {"error": "access_denied", "state": state})
    assert_refused(client, response, "provider_denied")
    response = client.get(url, {"code": "stolen", "state": state})
    assert_refused(client, response, "state_replayed")


@pytest.mark.parametrize("query", [{}, {"code": "abc"}, {"state": ""}])
def test_a_callback_without_state_is_refused(client, provider, query):
    response = client.get(reverse("oidc_callback", kwargs={"provider": "helseid"}), query)
    assert_refused(client, response, "missing_parameters")


def test_a_callback_without_code_is_refused(client, provider):
    state = provider_state(start(client))
    response = client.get(
        reverse("oidc_callback", kwargs={"provider": "helseid"}), {"state": state}
    )
    assert_refused(client, response, "missing_parameters")


def test_a_provider_that_is_down_is_refused_at_the_start(client, provider, settings):
    settings.OIDC_PROVIDERS = {
        name: {**config, "issuer": "http://127.0.0.1:9"}
        for name, config in settings.OIDC_PROVIDERS.items()
    }
    response = client.get(reverse("oidc_login", kwargs={"provider": "helseid"}))
    assert_refused(client, response, "provider_error")


def test_a_discovery_document_for_another_issuer_is_refused(client, provider, settings):
    settings.OIDC_PROVIDERS = {
        name: {**config, "issuer": provider.issuer + "/tenant"}
        for name, config in settings.OIDC_PROVIDERS.items()
    }
    response = client.get(reverse("oidc_login", kwargs={"provider": "entra"}))
    assert_refused(client, response, "provider_error")


def test_a_refused_login_does_not_spend_an_invitation(client, provider, world):
    from municipalities import invitations

    person = factories.UserFactory(username="ny.saksbehandler", email="ny@example.org")
    invitation, link = invitations.issue(acting_user=world.caseworker, user=person)
    client.get(link.removeprefix("http://127.0.0.1:8000"))
    provider.claims = {"sub": "entra-new"}
    provider.scenario = "wrong_aud"
    response, _callback = log_in(client, "entra")
    assert_refused(client, response, "wrong_audience")
    invitation.refresh_from_db()
    assert invitation.used_at is None
    provider.scenario = "good"
    log_in(client, "entra")
    assert logged_in_user(client) == str(person.pk)


def provider_state(location):
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(location).query)["state"][0]
