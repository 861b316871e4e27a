"""What the product sends to and keeps from the provider: the private_key_jwt assertion, the
provider's keys (cached, fetched again when they rotate), and nothing of the fødselsnummer
(``pid``) anywhere, database and logs included."""

import logging
import time

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from joserfc import jwt
from joserfc.jwk import ECKey

from municipalities import invitations, oidc
from tests import factories
from tests.municipalities.oidc_support import (
    assert_refused,
    log_in,
    logged_in_user,
)

HPR = "helseid://claims/hpr/hpr_number"
LEVEL = "helseid://claims/identity/security_level"
PID = "24068512345"  # a synthetic fødselsnummer


def gp_claims(world, sub="helseid-lege"):
    return {"sub": sub, HPR: world.gp.hpr_number, LEVEL: "4"}


def test_the_private_key_jwt_assertion_is_what_helseid_requires(provider, client_key, world):
    public = client_key[0]
    provider.claims = gp_claims(world)
    log_in(Client())
    log_in(Client())
    seen = set()
    for sent in provider.token_requests:
        assert sent["client_assertion_type"] == (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
        assert "client_secret" not in sent
        token = jwt.decode(sent["client_assertion"], public, algorithms=["RS256"])
        claims = token.claims
        assert token.header["alg"] == "RS256" and token.header["kid"] == "palegg-key-1"
        assert claims["iss"] == claims["sub"] == provider.client_id
        assert claims["aud"] == provider.token_endpoint
        assert claims["exp"] - claims["iat"] <= 60
        assert claims["exp"] <= time.time() + 60
        assert len(claims["jti"]) >= 32
        seen.add(claims["jti"])
    assert len(seen) == 2  # a fresh jti every time


def test_the_assertion_is_refused_by_another_key(provider, world):
    from joserfc.errors import BadSignatureError
    from joserfc.jwk import RSAKey

    provider.claims = gp_claims(world)
    log_in(Client())
    stranger = RSAKey.generate_key(2048)
    with pytest.raises(BadSignatureError):
        jwt.decode(provider.token_requests[0]["client_assertion"], stranger)


def test_an_ec_key_signs_its_assertion_with_es256(provider, tmp_path, settings):
    key = ECKey.generate_key("P-256")
    path = tmp_path / "ec.pem"
    path.write_bytes(key.as_pem(private=True))
    config = {**settings.OIDC_PROVIDERS["helseid"], "private_key_file": str(path), "key_id": ""}
    token = jwt.decode(oidc.client_assertion(config, "https://t.example/token"), key)
    assert token.header["alg"] == "ES256" and "kid" not in token.header
    assert token.claims["aud"] == "https://t.example/token"


def test_the_code_is_exchanged_with_its_pkce_verifier(provider, world):
    provider.claims = gp_claims(world)
    response, _callback = log_in(Client())
    assert response.status_code == 302  # the provider checked S256(verifier) == challenge
    assert len(provider.token_requests[0]["code_verifier"]) >= 43


def test_keys_are_cached_and_fetched_again_once_when_the_provider_rotates(provider, world):
    provider.claims = gp_claims(world)
    log_in(Client())
    log_in(Client())
    assert provider.jwks_fetches == 1  # the second login used the cached key set

    provider.rotate()  # signs with key-2, which the cached set does not have
    client = Client()
    response, _callback = log_in(client)
    assert response.status_code == 302 and logged_in_user(client) == str(world.gp_user.pk)
    assert provider.jwks_fetches == 2

    log_in(Client())
    assert provider.jwks_fetches == 2  # the refreshed set is cached in turn


def test_a_kid_still_unknown_after_one_refetch_is_refused(provider, world):
    provider.claims = gp_claims(world)
    log_in(Client())
    provider.scenario = "new_key"  # signed with a key that is not published
    client = Client()
    response, _callback = log_in(client)
    assert_refused(client, response, "bad_signature")
    assert provider.jwks_fetches == 2  # fetched again once, not in a loop


def _all_stored_text() -> str:
    """Every value in every table, and every session decoded (session data is signed and
    compressed, so a pid in it would not show in the raw column)."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            found += [repr(row) for row in cursor.fetchall()]
    found += [repr(session.get_decoded()) for session in Session.objects.all()]
    return "\n".join(found)


def test_the_pid_claim_is_stored_nowhere_and_logged_nowhere(provider, world, caplog):
    caplog.set_level(logging.DEBUG)
    # A GP by HPR number, and a caseworker through an invitation, both with a pid claim.
    provider.claims = {**gp_claims(world), "pid": PID}
    gp_client = Client()
    response, _callback = log_in(gp_client)
    assert response.status_code == 302
    person = factories.UserFactory(username="ny.saksbehandler", email="ny@example.org")
    _invitation, link = invitations.issue(acting_user=world.caseworker, user=person)
    staff_client = Client()
    staff_client.get(link.removeprefix("http://127.0.0.1:8000"))
    provider.claims = {"sub": "entra-new", "pid": PID}
    response, _callback = log_in(staff_client, "entra")
    assert response.status_code == 302
    # And a refused one, which is logged.
    provider.claims = {"sub": "entra-stranger", "pid": PID}
    refused, _callback = log_in(Client(), "entra")
    assert refused.status_code == 403

    assert apps.get_model("sessions", "Session").objects.count() >= 2
    assert PID not in _all_stored_text()
    assert PID not in caplog.text
    assert PID not in refused.content.decode()
    for session in Session.objects.all():
        data = repr(session.get_decoded())
        assert "id_token" not in data and "access_token" not in data
