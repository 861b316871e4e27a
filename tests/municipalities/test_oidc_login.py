"""OpenID Connect logins that succeed: a GP by the HPR claim with nobody having set anything
up, a returning login by its bound identity, staff through an invitation, and the login page's
buttons. Against the real test provider in its own server thread (tests/oidc_provider.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from config.settings import parse_oidc_providers
from municipalities import invitations, login
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


def test_gp_in_the_register_logs_in_by_hpr_and_sees_exactly_their_orders(
    client, provider, world, order
):
    # A GP with no login at all: only the register knows them.
    newcomer = factories.HealthPersonnelFactory(
        municipality=world.municipality, hpr_number="9000077", name="Nils Nykommer", user=None
    )
    own = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=newcomer, number=4321
    )
    provider.claims = {"sub": "helseid-nils", HPR: "9000077", LEVEL: "4"}

    response, _callback = log_in(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("orders:my_tasks")
    newcomer.refresh_from_db()
    assert newcomer.user is not None
    assert logged_in_user(client) == str(newcomer.user.pk)
    assert (newcomer.user.first_name, newcomer.user.last_name) == ("Nils", "Nykommer")
    assert client.session[login.LOGIN_METHOD] == "oidc:helseid"
    identity = LoginIdentity.objects.get(provider="helseid", subject="helseid-nils")
    assert identity.user == newcomer.user and identity.last_login_at is not None
    page = client.get(reverse("orders:case_list")).content.decode()
    assert own.case_number in page
    assert order.case_number not in page  # another GP's order


def test_a_gp_with_a_login_gets_that_login(client, provider, world, order):
    provider.claims = {"sub": "helseid-lege", HPR: world.gp.hpr_number, LEVEL: "4"}
    response, _callback = log_in(client)
    assert response.status_code == 302
    assert logged_in_user(client) == str(world.gp_user.pk)
    assert order.case_number in client.get(reverse("orders:case_list")).content.decode()


def test_a_bound_identity_logs_in_again_and_goes_to_next(client, provider, world):
    LoginIdentity.objects.create(user=world.caseworker, provider="entra", subject="entra-cw")
    provider.claims = {"sub": "entra-cw"}
    response, _callback = log_in(client, "entra", next_url=reverse("orders:case_list"))
    assert response["Location"] == reverse("orders:case_list")
    assert logged_in_user(client) == str(world.caseworker.pk)
    assert client.session[login.LOGIN_METHOD] == "oidc:entra"


def test_next_to_another_site_is_not_followed(client, provider, world):
    LoginIdentity.objects.create(user=world.caseworker, provider="entra", subject="entra-cw")
    provider.claims = {"sub": "entra-cw"}
    response, _callback = log_in(client, "entra", next_url="https://evil.example/")
    assert response["Location"] == reverse("orders:my_tasks")


def test_staff_log_in_through_an_invitation_which_binds_their_login(client, provider, world):
    person = factories.UserFactory(username="ny.saksbehandler", email="ny@example.org")
    _invitation, link = invitations.issue(acting_user=world.caseworker, user=person)
    client.get(link.removeprefix("http://127.0.0.1:8000"))
    provider.claims = {"sub": "entra-new"}

    response, _callback = log_in(client, "entra")

    assert response.status_code == 302
    assert logged_in_user(client) == str(person.pk)
    assert LoginIdentity.objects.get(provider="entra", subject="entra-new").user == person
    _invitation.refresh_from_db()
    assert _invitation.used_for == "oidc:entra"
    # Next time the bound identity is enough; the invitation is spent.
    client.logout()
    log_in(client, "entra")
    assert logged_in_user(client) == str(person.pk)


def test_second_use_of_an_invitation_is_refused(client, provider, world):
    person = factories.UserFactory(username="ny.saksbehandler", email="ny@example.org")
    invitation, link = invitations.issue(acting_user=world.caseworker, user=person)
    client.get(link.removeprefix("http://127.0.0.1:8000"))
    # Another tab spends it first (a password, say) while this one is at the provider.
    location = start(client, "entra")
    invitations.use(invitation, used_for="password")
    provider.claims = {"sub": "entra-late"}
    callback = authorize(location)
    # pending() drops a spent invitation, so the login is simply not invited.
    assert_refused(client, client.get(callback), "not_invited")
    assert not LoginIdentity.objects.filter(subject="entra-late").exists()


def test_client_secret_post_sends_the_secret_and_no_assertion(client, provider, world):
    LoginIdentity.objects.create(user=world.caseworker, provider="entra", subject="entra-cw")
    provider.claims = {"sub": "entra-cw"}
    log_in(client, "entra")
    (sent,) = provider.token_requests
    assert sent["client_secret"] == "entra-test-secret"
    assert "client_assertion" not in sent


def test_the_authorization_request_asks_for_pkce_state_nonce_and_the_scopes(client, provider):
    authorize(start(client))
    (asked,) = provider.authorize_requests
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32
    assert asked["scope"].split() == [
        "openid",
        "profile",
        "helseid://scopes/hpr/hpr_number",
        "helseid://scopes/identity/security_level",
    ]
    assert asked["redirect_uri"].endswith("/logg-inn/oidc/helseid/callback/")


def test_the_login_page_shows_a_button_per_configured_provider(client, provider, settings):
    page = client.get(reverse("login") + "?next=/saker/").content.decode()
    assert "Logg inn med HelseID" in page
    assert "Logg inn med Microsoft Entra ID" in page
    assert 'href="/logg-inn/oidc/helseid/?next=%2Fsaker%2F"' in page
    assert 'name="password"' in page  # the password form stays
    settings.OIDC_PROVIDERS = {}
    page = client.get(reverse("login")).content.decode()
    assert "/logg-inn/oidc/" not in page


def test_an_unconfigured_provider_is_not_found(client, provider):
    assert client.get("/logg-inn/oidc/idporten/").status_code == 404
    assert client.get("/logg-inn/oidc/idporten/callback/?state=x&code=y").status_code == 404


def test_a_logged_in_user_starting_a_login_goes_on_to_next(client, provider, world):
    client.force_login(world.caseworker)
    response = client.get(reverse("oidc_login", kwargs={"provider": "helseid"}))
    assert response.status_code == 302 and response["Location"] == reverse("orders:my_tasks")


# ---------------------------------------------------------------------- settings


def test_settings_give_each_kind_its_defaults(oidc_server, client_key):
    env = environment(
        oidc_server,
        client_key[1],
        PALEGG_OIDC_PROVIDERS="helseid,idporten,entra,intern",
        PALEGG_OIDC_IDPORTEN_ISSUER="https://idporten.example/",
        PALEGG_OIDC_IDPORTEN_CLIENT_ID="id",
        PALEGG_OIDC_IDPORTEN_CLIENT_SECRET="s",
        PALEGG_OIDC_INTERN_KIND="generic",
        PALEGG_OIDC_INTERN_ISSUER="https://login.example",
        PALEGG_OIDC_INTERN_CLIENT_ID="id",
        PALEGG_OIDC_INTERN_CLIENT_SECRET="s",
        PALEGG_OIDC_INTERN_LABEL="Log in with the intranet",
        PALEGG_OIDC_INTERN_SCOPES="openid email",
    )
    providers = parse_oidc_providers(env)
    assert list(providers) == ["helseid", "idporten", "entra", "intern"]
    assert providers["helseid"]["min_security_level"] == 4
    assert "helseid://scopes/identity/security_level" in providers["helseid"]["scopes"]
    assert providers["helseid"]["key_id"] == "palegg-key-1"
    assert providers["idporten"]["acr_values"] == "idporten-loa-high"
    assert providers["idporten"]["issuer"] == "https://idporten.example"
    assert providers["entra"]["scopes"] == "openid profile email"
    assert providers["intern"]["label"] == "Log in with the intranet"
    assert providers["intern"]["scopes"] == "openid email"
    assert parse_oidc_providers({}) == {}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"PALEGG_OIDC_PROVIDERS": "HelseID"}, "not a provider name"),
        ({"PALEGG_OIDC_PROVIDERS": "mystery"}, "PALEGG_OIDC_MYSTERY_KIND"),
        ({"PALEGG_OIDC_HELSEID_ISSUER": ""}, "PALEGG_OIDC_HELSEID_ISSUER is required"),
        ({"PALEGG_OIDC_HELSEID_CLIENT_ID": ""}, "PALEGG_OIDC_HELSEID_CLIENT_ID is required"),
        ({"PALEGG_OIDC_HELSEID_ISSUER": "ftp://x"}, "http(s) URL"),
        ({"PALEGG_OIDC_ENTRA_CLIENT_SECRET": ""}, "exactly one of"),
        ({"PALEGG_OIDC_HELSEID_PRIVATE_KEY_FILE": "/nonexistent.pem"}, "cannot be read"),
        (
            {"PALEGG_OIDC_ENTRA_KIND": "generic"},
            "PALEGG_OIDC_ENTRA_LABEL is required",
        ),
    ],
)
def test_bad_provider_settings_stop_startup_with_a_clear_message(
    oidc_server, client_key, change, message
):
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_oidc_providers(environment(oidc_server, client_key[1], **change))
